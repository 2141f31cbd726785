/* util.c: allocation, arenas, growable text, writing a file atomically, and running another
 * program.
 *
 * An allocation failure is a clean fatal error, never a NULL passed on. The syntax tree
 * lives in an arena that is freed once when the compiler is done with it.
 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hessgen.h"

extern char **environ;

_Noreturn void fatal(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("hessgen: fatal: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        fatal("out of memory (%zu bytes)", n);
    return p;
}

void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        fatal("out of memory (%zu x %zu bytes)", n, size);
    return p;
}

void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (!p)
        fatal("out of memory (%zu bytes)", n);
    return p;
}

typedef struct Chunk Chunk;
struct Chunk {
    Chunk *prev;
    size_t used, cap;
    max_align_t data[];
};

struct Arena {
    Chunk *top;
};

Arena *arena_new(void)
{
    return xcalloc(1, sizeof(Arena));
}

void *arena_alloc(Arena *a, size_t n)
{
    n = (n + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
    if (!a->top || a->top->cap - a->top->used < n) {
        size_t cap = n > (1u << 16) ? n : (1u << 16);
        Chunk *c = xmalloc(sizeof(Chunk) + cap);
        c->prev = a->top;
        c->used = 0;
        c->cap = cap;
        a->top = c;
    }
    char *p = (char *)a->top->data + a->top->used;
    a->top->used += n;
    memset(p, 0, n);
    return p;
}

char *arena_strndup(Arena *a, const char *s, size_t n)
{
    char *p = arena_alloc(a, n + 1);
    memcpy(p, s, n);
    p[n] = 0;
    return p;
}

void arena_free(Arena *a)
{
    if (!a)
        return;
    for (Chunk *c = a->top, *prev; c; c = prev) {
        prev = c->prev;
        free(c);
    }
    free(a);
}

void buf_put(Buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        b->data = xrealloc(b->data, cap);
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = 0;
}

void buf_puts(Buf *b, const char *s)
{
    buf_put(b, s, strlen(s));
}

void buf_printf(Buf *b, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        fatal("formatting failed");
    if ((size_t)n < sizeof small) {
        buf_put(b, small, (size_t)n);
        return;
    }
    char *big = xmalloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    buf_put(b, big, (size_t)n);
    free(big);
}

void buf_free(Buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

static void hash_index_put(HashIndex *t, uint64_t h, uint32_t item)
{
    uint32_t mask = t->cap - 1, i = (uint32_t)h & mask;
    while (t->slots[i])
        i = (i + 1) & mask;
    t->slots[i] = item;
    t->used++;
}

void hash_index_add(HashIndex *t, uint64_t h, uint32_t item, uint64_t (*hash_of)(uint32_t item, void *ctx), void *ctx)
{
    if ((uint64_t)(t->used + 1) * 2 > t->cap) {
        if (t->cap >= 1u << 31)
            fatal("a hash index outgrew 2^31 slots");
        HashIndex old = *t;
        t->cap = old.cap ? old.cap * 2 : 256;
        t->slots = xcalloc(t->cap, sizeof(uint32_t));
        t->used = 0;
        for (uint32_t i = 0; i < old.cap; i++)
            if (old.slots[i])
                hash_index_put(t, hash_of(old.slots[i], ctx), old.slots[i]);
        free(old.slots);
    }
    hash_index_put(t, h, item);
}

void hash_index_free(HashIndex *t)
{
    free(t->slots);
    *t = (HashIndex){0};
}

/* (hessgen.h) run.c runs cc and the analyzer with it, sos.c the SDP solver. */
int spawn_program(const char *path, char *const argv[], Buf *out, bool quiet)
{
    int fds[2] = {-1, -1};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    if (out) {
        if (pipe(fds) != 0)
            return -1;
        posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
        posix_spawn_file_actions_addclose(&fa, fds[0]);
    }
    if (quiet)
        posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    pid_t pid;
    int rc = posix_spawnp(&pid, path, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (out) {
        close(fds[1]);
        if (rc == 0) {
            char chunk[4096];
            ssize_t got;
            while ((got = read(fds[0], chunk, sizeof chunk)) > 0)
                buf_put(out, chunk, (size_t)got);
        }
        close(fds[0]);
    }
    if (rc != 0)
        return -1;
    int status;
    if (waitpid(pid, &status, 0) < 0)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

bool write_file_atomically(const char *path, const void *data, size_t len)
{
    size_t n = strlen(path) + sizeof ".tmpXXXXXX";
    char *tmp = xmalloc(n);
    snprintf(tmp, n, "%s.tmpXXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        free(tmp);
        return false;
    }
    mode_t mask = umask(0); /* mkstemp makes 0600; the file gets a new file's permissions */
    umask(mask);
    FILE *f = fdopen(fd, "wb");
    bool ok = f && fchmod(fd, 0666 & ~mask) == 0 && fwrite(data, 1, len, f) == len;
    ok = (f ? fclose(f) == 0 : close(fd) == 0) && ok;
    ok = ok && rename(tmp, path) == 0;
    int saved = errno;
    if (!ok)
        unlink(tmp);
    free(tmp);
    errno = saved;
    return ok;
}

mpq_t *mpq_array(size_t k)
{
    mpq_t *a = xmalloc(sizeof(mpq_t) * (k ? k : 1));
    for (size_t i = 0; i < k; i++)
        mpq_init(a[i]);
    return a;
}

void mpq_array_free(mpq_t *a, size_t k)
{
    for (size_t i = 0; i < k; i++)
        mpq_clear(a[i]);
    free(a);
}
