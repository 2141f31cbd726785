/* diag.c: every error, warning and note goes through here.
 *
 * In: a byte span into the source text kept by diag_set_source. Out, on stderr:
 *   FILE:LINE:COL: error: MESSAGE
 *   the source line
 *   a caret under the span's first character, tildes under the rest of it on that line
 * Lines and columns count from 1; a column counts characters (UTF-8 code points), not bytes,
 * so the caret stands under the right character whatever precedes it. Identical diagnostics
 * (same span, same text) are reported once: unrolled reductions would otherwise repeat them.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hessgen.h"

static struct {
    const char *name, *text;
    size_t len;
    int errors;
    /* hashes of every diagnostic reported, to drop exact repeats */
    uint64_t *seen;
    uint32_t nseen, seen_cap;
    HashIndex seen_index;
    bool last_shown;       /* whether the last error or warning was printed: its notes follow it */
    uint32_t *line_starts; /* offsets of the lines' first bytes, made on the first lookup */
    size_t nlines;
} D;

static uint64_t seen_hash(uint32_t i, void *ctx)
{
    (void)ctx;
    return D.seen[i - 1];
}

/* True if this (place, kind, text) was reported before; remembers it otherwise. */
static bool seen_before(uint32_t begin, const char *kind, const char *msg)
{
    uint64_t h = 1469598103934665603ull ^ begin;
    for (const char *p = kind; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ull;
    for (const char *p = msg; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ull;
    for (uint32_t k = 0, i; (i = hash_index_next(&D.seen_index, h, &k));)
        if (D.seen[i - 1] == h)
            return true;
    if (D.nseen == D.seen_cap) {
        D.seen_cap = D.seen_cap ? D.seen_cap * 2 : 64;
        D.seen = xrealloc(D.seen, sizeof(uint64_t) * D.seen_cap);
    }
    D.seen[D.nseen++] = h;
    hash_index_add(&D.seen_index, h, D.nseen, seen_hash, NULL);
    return false;
}

void diag_release(void)
{
    free(D.seen);
    D.seen = NULL;
    D.nseen = D.seen_cap = 0;
    hash_index_free(&D.seen_index);
    free(D.line_starts);
    D.line_starts = NULL;
    D.nlines = 0;
}

void diag_set_source(const char *name, const char *text, size_t len)
{
    D.name = name;
    D.text = text;
    D.len = len;
    free(D.line_starts);
    D.line_starts = NULL;
    D.nlines = 0;
}

int diag_error_count(void)
{
    return D.errors;
}

static bool is_continuation(unsigned char c)
{
    return (c & 0xC0) == 0x80;
}

/* The line by binary search in an index of line starts (built once: --checked asks for the
 * place of every site), the column by counting characters from the line's start. */
void diag_line_col(uint32_t offset, int *line, int *col)
{
    if (offset > D.len)
        offset = (uint32_t)D.len;
    if (!D.line_starts) {
        size_t n = 1;
        for (size_t i = 0; i < D.len; i++)
            n += D.text[i] == '\n';
        D.line_starts = xmalloc(sizeof(uint32_t) * n);
        D.line_starts[0] = 0;
        D.nlines = 1;
        for (size_t i = 0; i < D.len; i++)
            if (D.text[i] == '\n')
                D.line_starts[D.nlines++] = (uint32_t)(i + 1);
    }
    size_t lo = 0, hi = D.nlines; /* the last line start <= offset */
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if (D.line_starts[mid] <= offset)
            lo = mid;
        else
            hi = mid;
    }
    int c = 1;
    for (uint32_t i = D.line_starts[lo]; i < offset; i++)
        if (!is_continuation((unsigned char)D.text[i]))
            c++;
    *line = (int)lo + 1;
    *col = c;
}

void diag_excerpt(Span at, char *out, size_t cap)
{
    size_t b = at.begin > D.len ? D.len : at.begin, e = at.end > D.len ? D.len : at.end, k = 0;
    if (cap == 0)
        return;
    bool cut = e - b > cap - 1;
    if (cut)
        e = b + (cap > 4 ? cap - 4 : 0);
    while (cut && e > b && is_continuation((unsigned char)D.text[e]))
        e--;
    for (size_t i = b; i < e && k + 1 < cap; i++) {
        unsigned char ch = (unsigned char)D.text[i];
        out[k++] = ch < 0x20 ? ' ' : (char)ch; /* one line: newlines and tabs as spaces */
    }
    for (const char *dots = cut ? "..." : ""; *dots && k + 1 < cap; dots++)
        out[k++] = *dots;
    out[k] = 0;
}

/* Prints the line holding `at.begin` and the caret line under the span. A long line is shown
 * as a window around the caret, its cut ends marked "...". */
static void show_line(Span at)
{
    enum { BEFORE = 80, AFTER = 100 };
    size_t b = at.begin > D.len ? D.len : at.begin;
    size_t start = b, end = b;
    while (start > 0 && D.text[start - 1] != '\n')
        start--;
    while (end < D.len && D.text[end] != '\n')
        end++;
    size_t shown_end = end;
    if (shown_end > start && D.text[shown_end - 1] == '\r')
        shown_end--;
    bool cut_left = b - start > BEFORE, cut_right = shown_end - b > AFTER;
    if (cut_left) {
        start = b - BEFORE;
        while (start < b && is_continuation((unsigned char)D.text[start]))
            start++;
    }
    if (cut_right) {
        shown_end = b + AFTER;
        while (shown_end > b && is_continuation((unsigned char)D.text[shown_end]))
            shown_end--;
    }
    /* The source line, with control bytes (a NUL, say) shown as spaces. */
    if (cut_left)
        fputs("...", stderr);
    for (size_t i = start; i < shown_end; i++) {
        unsigned char ch = (unsigned char)D.text[i];
        fputc(ch < 0x20 && ch != '\t' ? ' ' : ch, stderr);
    }
    fputs(cut_right ? "...\n" : "\n", stderr);
    if (cut_left)
        fputs("   ", stderr);
    for (size_t i = start; i < b; i++) {
        unsigned char ch = (unsigned char)D.text[i];
        if (ch == '\t')
            fputc('\t', stderr);
        else if (!is_continuation(ch))
            fputc(' ', stderr);
    }
    fputc('^', stderr);
    size_t stop = at.end < shown_end ? at.end : shown_end;
    for (size_t i = b + 1; i < stop; i++)
        if (!is_continuation((unsigned char)D.text[i]))
            fputc('~', stderr);
    fputc('\n', stderr);
}

/* Prints the diagnostic unless it was printed before; false if it was. */
static bool muted; /* diag_mute: a second lowering of a checked program says nothing */
static int muted_errors;

void diag_mute(bool on)
{
    muted = on;
    if (on)
        muted_errors = 0;
}

int diag_muted_errors(void)
{
    return muted_errors;
}

static bool report(const char *kind, Span at, const char *fmt, va_list ap)
{
    if (muted) {
        muted_errors += strcmp(kind, "error") == 0;
        return false;
    }
    char msg[1024];
    vsnprintf(msg, sizeof msg, fmt, ap);
    bool note = strcmp(kind, "note") == 0;
    /* a note belongs to the error before it: shown with it, dropped with it, never alone */
    if (note ? !D.last_shown : seen_before(at.begin, kind, msg)) {
        if (!note)
            D.last_shown = false;
        return false;
    }
    if (!note)
        D.last_shown = true;

    int line, col;
    diag_line_col(at.begin, &line, &col);
    fprintf(stderr, "%s:%d:%d: %s: %s\n", D.name, line, col, kind, msg);
    show_line(at);
    return true;
}

void diag_error(Span at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (report("error", at, fmt, ap))
        D.errors++;
    va_end(ap);
}

_Noreturn void diag_fatal(Span at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    muted = false; /* a limit that stops the program is always said */
    report("error", at, fmt, ap);
    va_end(ap);
    fflush(stdout); /* what --print or --dump wrote is whole up to here */
    fflush(stderr);
    _exit(1); /* no output file is written yet (they are renamed into place at the end); what the
                 phases hold is the system's to free */
}

void diag_warning(Span at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report("warning", at, fmt, ap);
    va_end(ap);
}

void diag_note(Span at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report("note", at, fmt, ap);
    va_end(ap);
}
