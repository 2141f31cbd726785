/* hessrt_mpi.c: a model's data set split across MPI ranks (hessrt_mpi.h says what each rank
 * holds and when the sums are added). Three parts: loading each rank's rows with a collective
 * check after every phase; the reduce that the generated code calls after its loops over rows;
 * and rank 0 driving the others through a proxy descriptor (hessrt_mpi_model). */
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hessrt_mpi.h"

enum { MSG = 1024 };       /* a message's room, the same on every rank (it is broadcast) */
enum { CHUNK = 1 << 27 };  /* doubles per MPI call: counts are ints */
enum { TAG_ROWS = 7201 };  /* a CSV block sent by rank 0 */
enum { TAG_VISIT = 7202 }; /* a block passed round the ring (pairs of rows) */

struct hessrt_mpi_data {
    const hessgen_model *m;
    MPI_Comm comm;
    int rank, ranks;
    void *data;      /* the model's M_data, bound to this rank's rows */
    double **arrays; /* per data array, owned */
    size_t *rows;    /* per row count: this rank's rows */
    size_t *first;   /* per row count: the first of them */
    size_t *total;   /* per row count: the whole data set's (at least one entry) */
    double *pack;    /* the reduce's buffer when it adds several arrays */
    size_t pack_cap;
    unsigned long long reductions, doubles;
    /* pairs of rows (hessgen_visit): the blocks of the other ranks pass round the ring, packed
     * (every array over rows, in order); ring[held] is the block visiting now */
    void *visit_data; /* the model's M_data bound to it */
    double *ring[2];
    size_t ring_cap[2];
    int held;
    double **visit_arrays; /* per data array: into ring[held], or this rank's own when it has no rows */
    size_t *visit_rows;
    unsigned long long shifts, shifted; /* blocks passed on, and their doubles */
    /* rank 0 driving (hessrt_mpi_model) */
    hessgen_model proxy;
    double *order;                     /* what rank 0 broadcasts: operation, gradient wanted, theta, v */
    double *grad, *hess, *values, *hv; /* a serving rank's outputs, which it drops */
};

static void *need(size_t bytes)
{
    void *p = calloc(1, bytes ? bytes : 1);
    if (!p) {
        fprintf(stderr, "hessrt-mpi: out of memory (%zu bytes)\n", bytes);
        abort();
    }
    return p;
}

/* ---- loading ---- */

/* Collective: whether every rank's phase succeeded. If not, every rank gets the message of the
 * lowest rank that failed, named when there is more than one rank. */
static bool all_ok(const hessrt_mpi_data *d, bool ok, const char *msg, char *err, size_t errlen)
{
    int mine = ok ? INT_MAX : d->rank, lowest;
    MPI_Allreduce(&mine, &lowest, 1, MPI_INT, MPI_MIN, d->comm);
    if (lowest == INT_MAX)
        return true;
    char text[MSG];
    if (d->rank == lowest)
        snprintf(text, sizeof text, "%s", msg);
    MPI_Bcast(text, MSG, MPI_CHAR, lowest, d->comm);
    text[MSG - 1] = 0;
    if (d->ranks > 1)
        snprintf(err, errlen, "rank %d of %d: %s", lowest, d->ranks, text);
    else
        snprintf(err, errlen, "%s", text);
    return false;
}

/* Rank r's first row of T over P ranks: floor(T r / P) without overflow. */
static size_t block_start(size_t total, int r, int ranks)
{
    size_t q = total / (size_t)ranks, rem = total % (size_t)ranks;
    return q * (size_t)r + ((size_t)r < rem ? (size_t)r : rem);
}

/* Large arrays in pieces: MPI counts are ints. */
static void send_doubles(const double *v, size_t n, int to, MPI_Comm comm)
{
    for (size_t at = 0; at < n; at += CHUNK)
        MPI_Send(v + at, (int)(n - at < CHUNK ? n - at : CHUNK), MPI_DOUBLE, to, TAG_ROWS, comm);
}

static void recv_doubles(double *v, size_t n, MPI_Comm comm)
{
    for (size_t at = 0; at < n; at += CHUNK)
        MPI_Recv(v + at, (int)(n - at < CHUNK ? n - at : CHUNK), MPI_DOUBLE, 0, TAG_ROWS, comm, MPI_STATUS_IGNORE);
}

/* Rank 0's second reading of a CSV file: each row into the block of the rank that holds it, a
 * block sent when it is whole (rank 0 keeps its own). */
typedef struct {
    hessrt_mpi_data *d;
    size_t total, width;
    int to;        /* the rank whose block is being filled */
    size_t lo, hi; /* its rows */
    double *block, *own;
} Scatter;

static void next_block(Scatter *s)
{
    for (;;) {
        s->lo = block_start(s->total, s->to, s->d->ranks);
        s->hi = block_start(s->total, s->to + 1, s->d->ranks);
        if (s->hi > s->lo || s->to == s->d->ranks - 1)
            return;
        s->to++; /* a rank with no rows gets no message */
    }
}

static int scatter_row(void *ctx, const double *values, size_t width, size_t index)
{
    Scatter *s = ctx;
    if (index >= s->total || width != s->width)
        return -1; /* the file changed since it was counted */
    while (index >= s->hi) {
        s->to++;
        next_block(s);
    }
    double *block = s->to == 0 ? s->own : s->block;
    memcpy(block + (index - s->lo) * width, values, sizeof(double) * width);
    if (index + 1 == s->hi && s->to != 0)
        send_doubles(s->block, (s->hi - s->lo) * width, s->to, s->d->comm);
    return 0;
}

/* This rank's rows of a data array over row count s (already counted: total rows), into a new
 * array. Rank 0 reads a CSV file and sends the blocks; after it counted the file without an
 * error, a failure here means the file changed under it, and the job is aborted (the other
 * ranks wait for their blocks). */
static int read_block(hessrt_mpi_data *d, const char *path, int width, int s, double **out, char *msg)
{
    size_t lo = d->first[s], n = d->rows[s];
    double *v = need(sizeof(double) * n * (size_t)width);
    *out = v;
    if (hessrt_data_is_raw(path))
        return hessrt_raw_rows(path, width, lo, n, v, NULL, msg, MSG);
    if (d->rank != 0) {
        recv_doubles(v, n * (size_t)width, d->comm);
        return 0;
    }
    Scatter sc = {d, d->total[s], (size_t)width, 0, 0, 0, NULL, v};
    size_t biggest = 0;
    for (int r = 1; r < d->ranks; r++) {
        size_t k = block_start(sc.total, r + 1, d->ranks) - block_start(sc.total, r, d->ranks);
        biggest = k > biggest ? k : biggest;
    }
    sc.block = need(sizeof(double) * biggest * (size_t)width);
    next_block(&sc);
    size_t rows = 0;
    int rc = hessrt_csv_rows(path, width, scatter_row, &sc, &rows, msg, MSG);
    free(sc.block);
    if (rc != 0 || rows != sc.total) {
        fprintf(stderr, "hessrt-mpi: %s changed while it was read (%s); stopping every rank\n", path,
                rc != 0 ? msg : "another row count");
        MPI_Abort(d->comm, 2);
    }
    return 0;
}

/* The row count of one array's file: every rank sizes a raw file itself (and must agree with
 * rank 0); rank 0 reads a CSV file through once, which checks every cell, and broadcasts its
 * count. */
static bool count_rows(hessrt_mpi_data *d, const char *path, int width, size_t *rows, char *err, size_t errlen)
{
    char msg[MSG] = "";
    bool ok = true;
    unsigned long long n = 0;
    if (hessrt_data_is_raw(path)) {
        size_t k = 0;
        ok = hessrt_raw_rows(path, width, 0, 0, NULL, &k, msg, MSG) == 0;
        n = k;
    } else if (d->rank == 0) {
        size_t k = 0;
        ok = hessrt_csv_rows(path, width, NULL, NULL, &k, msg, MSG) == 0;
        n = k;
    }
    if (!all_ok(d, ok, msg, err, errlen))
        return false;
    unsigned long long at0 = n;
    MPI_Bcast(&at0, 1, MPI_UNSIGNED_LONG_LONG, 0, d->comm);
    ok = !hessrt_data_is_raw(path) || n == at0;
    if (!ok)
        snprintf(msg, MSG, "%s has %llu rows here but %llu on rank 0: every rank must see the same file", path, n, at0);
    if (!all_ok(d, ok, msg, err, errlen))
        return false;
    *rows = (size_t)at0;
    return true;
}

/* The generated code's reduce (hessgen_rows_part): the arrays added over the ranks in place, in
 * one MPI_Allreduce (packed when there are several). */
static void reduce(void *ctx, int count, double *const *values, const size_t *length)
{
    hessrt_mpi_data *d = ctx;
    size_t n = 0;
    int used = 0, last = -1;
    for (int k = 0; k < count; k++)
        if (values[k] && length[k]) {
            n += length[k];
            used++;
            last = k;
        }
    if (n == 0)
        return;
    double *buf = used == 1 ? values[last] : NULL;
    if (!buf) {
        if (n > d->pack_cap) {
            free(d->pack);
            d->pack = need(sizeof(double) * n);
            d->pack_cap = n;
        }
        buf = d->pack;
        size_t at = 0;
        for (int k = 0; k < count; k++)
            if (values[k] && length[k]) {
                memcpy(buf + at, values[k], sizeof(double) * length[k]);
                at += length[k];
            }
    }
    for (size_t at = 0; at < n; at += CHUNK)
        MPI_Allreduce(MPI_IN_PLACE, buf + at, (int)(n - at < CHUNK ? n - at : CHUNK), MPI_DOUBLE, MPI_SUM, d->comm);
    d->reductions++;
    d->doubles += n;
    if (used > 1) {
        size_t at = 0;
        for (int k = 0; k < count; k++)
            if (values[k] && length[k]) {
                memcpy(values[k], buf + at, sizeof(double) * length[k]);
                at += length[k];
            }
    }
}

/* ---- pairs of rows: the blocks visit every rank in turn ---- */

/* Rank j's rows of row count s. */
static size_t block_rows(const hessrt_mpi_data *d, int s, int j)
{
    return block_start(d->total[s], j + 1, d->ranks) - block_start(d->total[s], j, d->ranks);
}

/* The doubles of rank j's block, every array over rows packed. */
static size_t block_doubles(const hessrt_mpi_data *d, int j)
{
    size_t n = 0;
    for (int a = 0; a < d->m->ndata; a++)
        if (d->m->data_size[a] >= 0)
            n += block_rows(d, d->m->data_size[a], j) * (size_t)d->m->data_width[a];
    return n;
}

static void ring_room(hessrt_mpi_data *d, int k, size_t n)
{
    if (n > d->ring_cap[k] || d->ring[k] == NULL) { /* never NULL: an empty block is still an address */
        free(d->ring[k]);
        d->ring[k] = need(sizeof(double) * n);
        d->ring_cap[k] = n;
    }
}

/* The generated code's visit (hessgen_visit): at step k, every rank passes the block it holds to
 * rank r - 1 and takes rank r + k's from rank r + 1 (step 1 starts from its own), so after
 * P - 1 steps every block has visited every rank; at most three blocks are held at once. */
static const void *visit(void *ctx, size_t k)
{
    hessrt_mpi_data *d = ctx;
    const hessgen_model *m = d->m;
    int P = d->ranks;
    if (k == 0 || k >= (size_t)P)
        return NULL;
    int held = (int)((d->rank + k - 1) % (size_t)P), coming = (int)((d->rank + k) % (size_t)P);
    size_t out = block_doubles(d, held), in = block_doubles(d, coming);
    if (k == 1) { /* its own block, packed */
        d->held = 0;
        ring_room(d, 0, out);
        size_t at = 0;
        for (int a = 0; a < m->ndata; a++)
            if (m->data_size[a] >= 0) {
                size_t n = d->rows[m->data_size[a]] * (size_t)m->data_width[a];
                if (n)
                    memcpy(d->ring[0] + at, d->arrays[a], sizeof(double) * n);
                at += n;
            }
    }
    int next = 1 - d->held;
    ring_room(d, next, in);
    /* in pieces of at most CHUNK doubles, each matched by the neighbour's (MPI counts are ints) */
    size_t nreq = (out + CHUNK - 1) / CHUNK + (in + CHUNK - 1) / CHUNK, q = 0;
    MPI_Request *req = need(sizeof(MPI_Request) * (nreq ? nreq : 1));
    for (size_t at = 0; at < in; at += CHUNK)
        MPI_Irecv(d->ring[next] + at, (int)(in - at < CHUNK ? in - at : CHUNK), MPI_DOUBLE, (d->rank + 1) % P,
                  TAG_VISIT, d->comm, &req[q++]);
    for (size_t at = 0; at < out; at += CHUNK)
        MPI_Isend(d->ring[d->held] + at, (int)(out - at < CHUNK ? out - at : CHUNK), MPI_DOUBLE, (d->rank + P - 1) % P,
                  TAG_VISIT, d->comm, &req[q++]);
    MPI_Waitall((int)q, req, MPI_STATUSES_IGNORE);
    free(req);
    d->held = next;
    d->shifts++;
    d->shifted += out;
    /* the struct over the block now held */
    size_t at = 0;
    for (int s = 0; s < m->nsizes; s++)
        d->visit_rows[s] = block_rows(d, s, coming);
    for (int a = 0; a < m->ndata; a++) {
        if (m->data_size[a] < 0) {
            d->visit_arrays[a] = d->arrays[a];
            continue;
        }
        d->visit_arrays[a] = d->ring[next] + at;
        at += d->visit_rows[m->data_size[a]] * (size_t)m->data_width[a];
    }
    (void)m->data_bind(d->visit_data, d->visit_rows, (const double *const *)d->visit_arrays);
    return d->visit_data;
}

/* An array without rows: all its values, in lines of any one length (as hessrt_data_load). */
typedef struct {
    double *v;
    size_t n, cap;
} Values;

static int keep_values(void *ctx, const double *values, size_t width, size_t index)
{
    Values *x = ctx;
    (void)index;
    for (size_t k = 0; k < width; k++)
        if (x->n < x->cap)
            x->v[x->n++] = values[k];
        else
            x->n++; /* counted: too many */
    return 0;
}

static bool read_fixed(const char *path, int width, const char *name, double **out, char *msg)
{
    Values x = {need(sizeof(double) * (size_t)width), 0, (size_t)width};
    *out = x.v;
    size_t rows = 0;
    if (hessrt_data_is_raw(path)) {
        if (hessrt_raw_rows(path, 1, 0, 0, NULL, &rows, msg, MSG) != 0)
            return false;
        x.n = rows;
        if (rows == (size_t)width && hessrt_raw_rows(path, 1, 0, rows, x.v, NULL, msg, MSG) != 0)
            return false;
    } else if (hessrt_csv_rows(path, 0, keep_values, &x, &rows, msg, MSG) != 0) {
        return false;
    }
    if (x.n != (size_t)width) {
        snprintf(msg, MSG, "%s: %zu values, but '%s' has exactly %d", path, x.n, name, width);
        return false;
    }
    return true;
}

static bool load_arrays(hessrt_mpi_data *d, const char **files, char *err, size_t errlen)
{
    const hessgen_model *m = d->m;
    char msg[MSG] = "";
    /* the row counts: every array over a row count must have as many rows as the first */
    int *from = need(sizeof(int) * ((size_t)m->nsizes + 1));
    for (int s = 0; s < m->nsizes; s++)
        from[s] = -1;
    for (int a = 0; a < m->ndata; a++) {
        int s = m->data_size[a];
        if (s < 0)
            continue;
        size_t rows;
        if (!count_rows(d, files[a], m->data_width[a], &rows, err, errlen)) {
            free(from);
            return false;
        }
        if (from[s] < 0) {
            from[s] = a;
            d->total[s] = rows;
        } else if (d->total[s] != rows) {
            snprintf(err, errlen, "%s has %zu rows but %s has %zu: '%s' and '%s' share the row count '%s'", files[a],
                     rows, files[from[s]], d->total[s], m->data_names[a], m->data_names[from[s]], m->size_names[s]);
            free(from);
            return false; /* the same on every rank: the counts were broadcast */
        }
    }
    free(from);
    for (int s = 0; s < m->nsizes; s++) {
        d->first[s] = block_start(d->total[s], d->rank, d->ranks);
        d->rows[s] = block_start(d->total[s], d->rank + 1, d->ranks) - d->first[s];
    }
    /* each rank's block, a file at a time (a CSV's blocks come from rank 0) */
    for (int a = 0; a < m->ndata; a++) {
        int s = m->data_size[a];
        bool ok;
        if (s < 0) /* no rows: every rank reads it whole */
            ok = read_fixed(files[a], m->data_width[a], m->data_names[a], &d->arrays[a], msg);
        else
            ok = read_block(d, files[a], m->data_width[a], s, &d->arrays[a], msg) == 0;
        if (!all_ok(d, ok, msg, err, errlen))
            return false;
    }
    return true;
}

hessrt_mpi_data *hessrt_mpi_data_load(const hessgen_model *m, MPI_Comm comm, int nspecs, const char *const *specs,
                                      char *err, size_t errlen)
{
    hessrt_mpi_data *d = need(sizeof *d);
    d->m = m;
    d->comm = comm;
    MPI_Comm_rank(comm, &d->rank);
    MPI_Comm_size(comm, &d->ranks);
    d->arrays = need(sizeof(double *) * ((size_t)m->ndata + 1));
    d->rows = need(sizeof(size_t) * ((size_t)m->nsizes + 1));
    d->first = need(sizeof(size_t) * ((size_t)m->nsizes + 1));
    d->total = need(sizeof(size_t) * ((size_t)m->nsizes + 1));
    d->data = need(m->data_bytes);
    d->visit_data = need(m->data_bytes);
    d->visit_arrays = need(sizeof(double *) * ((size_t)m->ndata + 1));
    d->visit_rows = need(sizeof(size_t) * ((size_t)m->nsizes + 1));
    const char **files = need(sizeof(char *) * ((size_t)m->ndata + 1));
    char msg[MSG] = "";
    bool ok = true;
    if (m->ndata == 0) {
        snprintf(msg, MSG, "model %s reads no data", m->name);
        ok = false;
    } else if (m->version < 6 || m->data_part == NULL) {
        if (m->version < 6)
            snprintf(msg, MSG,
                     "model %s has descriptor version %d; hessrt-mpi needs version 6 (parts of rows that visit "
                     "each other): generate its C again",
                     m->name, m->version);
        else
            snprintf(msg, MSG, "model %s cannot be split across ranks: %s", m->name,
                     m->no_part ? m->no_part : "its loss cannot be evaluated over parts of its rows");
        ok = false;
    } else if (hessrt_data_files(m, nspecs, specs, files, msg, MSG) != 0) {
        ok = false;
    }
    /* collective even here: mpirun's MPMD form gives ranks arguments of their own */
    ok = all_ok(d, ok, msg, err, errlen) && load_arrays(d, files, err, errlen);
    free(files);
    if (ok) {
        /* bound as a part: its own check (a mean needs rows of the whole data set, not of this
         * part) is M_data_part's */
        (void)m->data_bind(d->data, d->rows, (const double *const *)d->arrays);
        int code = m->data_part(d->data, d->total, d->rank == 0, reduce, visit, d);
        if (code != 0)
            snprintf(msg, MSG, "the data set cannot be used: %s",
                     code > 0 ? m->data_error(code) : "the loss cannot be evaluated over parts of its rows");
        ok = all_ok(d, code == 0, msg, err, errlen);
    }
    if (!ok) {
        hessrt_mpi_data_free(d);
        return NULL;
    }
    return d;
}

const void *hessrt_mpi_data_struct(const hessrt_mpi_data *d)
{
    return d ? d->data : NULL;
}

size_t hessrt_mpi_rows(const hessrt_mpi_data *d, int size, size_t *first, size_t *total)
{
    if (!d || size < 0 || size >= d->m->nsizes)
        return 0;
    if (first)
        *first = d->first[size];
    if (total)
        *total = d->total[size];
    return d->rows[size];
}

void hessrt_mpi_traffic(const hessrt_mpi_data *d, unsigned long long *reductions, unsigned long long *doubles)
{
    if (reductions)
        *reductions = d ? d->reductions : 0;
    if (doubles)
        *doubles = d ? d->doubles : 0;
}

void hessrt_mpi_visits(const hessrt_mpi_data *d, unsigned long long *shifts, unsigned long long *doubles)
{
    if (shifts)
        *shifts = d ? d->shifts : 0;
    if (doubles)
        *doubles = d ? d->shifted : 0;
}

void hessrt_mpi_data_free(hessrt_mpi_data *d)
{
    if (!d)
        return;
    for (int a = 0; a < d->m->ndata; a++)
        free(d->arrays[a]);
    free(d->arrays);
    free(d->rows);
    free(d->first);
    free(d->total);
    free(d->data);
    free(d->visit_data);
    free(d->visit_arrays);
    free(d->visit_rows);
    free(d->ring[0]);
    free(d->ring[1]);
    free(d->pack);
    free(d->order);
    free(d->grad);
    free(d->hess);
    free(d->values);
    free(d->hv);
    free(d);
}

/* ---- rank 0 drives ---- */

enum { OP_STOP, OP_LOSS, OP_GRAD, OP_HESS, OP_HVP, OP_HESS_SPARSE, OP_HESS_VALUES, OP_FAULTS };

/* --checked code keeps the last fault per process, and a value that is not finite on one rank
 * reaches the others through the sums, untraced. After such an evaluation rank 0 gathers every
 * rank's fault and keeps the first that was traced (a descriptor's fault_text takes no
 * argument: the driven model is this file's). */
typedef struct {
    int sources;
    char text[MSG];
} Fault;
static void order(hessrt_mpi_data *d, int op, bool grad, const double *theta, const double *v);
static const hessrt_mpi_data *driven;
static char remote_fault[MSG + 64];
static bool remote_faulted;

static const char *proxy_fault_text(void)
{
    if (remote_faulted)
        return remote_fault;
    return driven && driven->m->fault_text ? driven->m->fault_text() : NULL;
}

static int proxy_fault_sources(void)
{
    return driven && driven->m->fault_sources ? driven->m->fault_sources() : 0;
}

/* Every rank: its fault to rank 0. */
static void gather_faults(hessrt_mpi_data *d)
{
    const hessgen_model *m = d->m;
    Fault mine = {0, ""};
    const char *text = m->fault_text ? m->fault_text() : NULL;
    mine.sources = m->fault_sources ? m->fault_sources() : 0;
    if (text)
        snprintf(mine.text, MSG, "%s", text);
    Fault *all = d->rank == 0 ? need(sizeof(Fault) * (size_t)d->ranks) : NULL;
    MPI_Gather(&mine, (int)sizeof mine, MPI_BYTE, all, (int)sizeof mine, MPI_BYTE, 0, d->comm);
    if (d->rank == 0 && mine.sources == 0) /* not traced here: the first rank where it was */
        for (int r = 1; r < d->ranks; r++)
            if (all[r].sources > 0) {
                snprintf(remote_fault, sizeof remote_fault, "(rank %d of %d) %s", r, d->ranks, all[r].text);
                remote_faulted = true;
                break;
            }
    free(all);
}

static bool all_finite(const double *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        if (!isfinite(v[i]))
            return false;
    return true;
}

/* Rank 0, after an evaluation: where its outputs are not finite and the code is checked, the
 * fault from the rank that traced it. */
static void after(hessrt_mpi_data *d, double loss, const double *a, size_t na, const double *b, size_t nb)
{
    if (d->m->fault_text && (!isfinite(loss) || !all_finite(a, na) || !all_finite(b, nb))) {
        order(d, OP_FAULTS, false, NULL, NULL);
        gather_faults(d);
    }
}

/* Rank 0: the operation, whether a gradient is wanted (the reduces' lengths depend on it),
 * theta and v, to every rank in one message. */
static void order(hessrt_mpi_data *d, int op, bool grad, const double *theta, const double *v)
{
    int n = d->m->nparam;
    if (op != OP_FAULTS)
        remote_faulted = false; /* a new evaluation */
    d->order[0] = op;
    d->order[1] = grad;
    if (theta)
        memcpy(d->order + 2, theta, sizeof(double) * (size_t)n);
    if (v)
        memcpy(d->order + 2 + n, v, sizeof(double) * (size_t)n);
    MPI_Bcast(d->order, 2 + 2 * n, MPI_DOUBLE, 0, d->comm);
}

static double proxy_loss(const double *theta, const void *data)
{
    hessrt_mpi_data *d = (hessrt_mpi_data *)data;
    order(d, OP_LOSS, false, theta, NULL);
    double loss = d->m->loss(theta, d->data);
    after(d, loss, NULL, 0, NULL, 0);
    return loss;
}

static double proxy_grad(const double *theta, const void *data, double *grad)
{
    hessrt_mpi_data *d = (hessrt_mpi_data *)data;
    order(d, OP_GRAD, true, theta, NULL);
    double loss = d->m->grad(theta, d->data, grad);
    after(d, loss, grad, (size_t)d->m->nparam, NULL, 0);
    return loss;
}

static double proxy_hess(const double *theta, const void *data, double *grad, double *hess)
{
    hessrt_mpi_data *d = (hessrt_mpi_data *)data;
    order(d, OP_HESS, grad != NULL, theta, NULL);
    double loss = d->m->hess(theta, d->data, grad, hess);
    size_t n = (size_t)d->m->nparam;
    after(d, loss, grad, grad ? n : 0, hess, n * n);
    return loss;
}

static void proxy_hvp(const double *theta, const void *data, const double *v, double *hv)
{
    hessrt_mpi_data *d = (hessrt_mpi_data *)data;
    order(d, OP_HVP, false, theta, v);
    d->m->hvp(theta, d->data, v, hv);
    after(d, 0, hv, (size_t)d->m->nparam, NULL, 0);
}

static double proxy_hess_sparse(const double *theta, const void *data, double *grad, double *values)
{
    hessrt_mpi_data *d = (hessrt_mpi_data *)data;
    order(d, OP_HESS_SPARSE, grad != NULL, theta, NULL);
    double loss = d->m->hess_sparse(theta, d->data, grad, values);
    after(d, loss, grad, grad ? (size_t)d->m->nparam : 0, values, (size_t)d->m->hess_nnz);
    return loss;
}

static void proxy_hess_values(const double *theta, const void *data, double *values)
{
    hessrt_mpi_data *d = (hessrt_mpi_data *)data;
    order(d, OP_HESS_VALUES, false, theta, NULL);
    d->m->hess_values(theta, d->data, values);
    after(d, 0, values, (size_t)d->m->hess_nnz, NULL, 0);
}

static int proxy_data_check(const void *data)
{
    const hessrt_mpi_data *d = data;
    return d ? d->m->data_check(d->data) : 1;
}

static void prepare_orders(hessrt_mpi_data *d)
{
    if (!d->order)
        d->order = need(sizeof(double) * (2 + 2 * (size_t)d->m->nparam));
}

const hessgen_model *hessrt_mpi_model(hessrt_mpi_data *d)
{
    prepare_orders(d);
    d->proxy = *d->m;
    d->proxy.loss = proxy_loss;
    d->proxy.grad = proxy_grad;
    d->proxy.hess = proxy_hess;
    d->proxy.hvp = proxy_hvp;
    d->proxy.hess_sparse = proxy_hess_sparse;
    d->proxy.hess_values = proxy_hess_values;
    d->proxy.data_check = proxy_data_check;
    driven = d;
    if (d->m->fault_text) {
        d->proxy.fault_text = proxy_fault_text;
        d->proxy.fault_sources = proxy_fault_sources;
    }
    d->proxy.data_bind = NULL; /* the data is bound already, one part per rank */
    d->proxy.data_part = NULL;
    d->proxy.data_bytes = 0;
    return &d->proxy;
}

int hessrt_mpi_serve(hessrt_mpi_data *d)
{
    prepare_orders(d);
    const hessgen_model *m = d->m;
    size_t n = (size_t)m->nparam;
    for (;;) {
        MPI_Bcast(d->order, 2 + 2 * (int)n, MPI_DOUBLE, 0, d->comm);
        int op = (int)d->order[0];
        bool want = d->order[1] != 0; /* with OP_STOP: rank 0's status */
        const double *theta = d->order + 2, *v = d->order + 2 + n;
        if (op == OP_STOP)
            return (int)d->order[1];
        if (op == OP_FAULTS) {
            gather_faults(d);
            continue;
        }
        if (!d->grad)
            d->grad = need(sizeof(double) * n);
        switch (op) {
        case OP_LOSS:
            (void)m->loss(theta, d->data);
            break;
        case OP_GRAD:
            (void)m->grad(theta, d->data, d->grad);
            break;
        case OP_HESS:
            if (!d->hess)
                d->hess = need(sizeof(double) * n * n);
            (void)m->hess(theta, d->data, want ? d->grad : NULL, d->hess);
            break;
        case OP_HVP:
            if (!d->hv)
                d->hv = need(sizeof(double) * n);
            m->hvp(theta, d->data, v, d->hv);
            break;
        case OP_HESS_SPARSE:
        case OP_HESS_VALUES:
            if (!d->values)
                d->values = need(sizeof(double) * (size_t)m->hess_nnz);
            if (op == OP_HESS_SPARSE)
                (void)m->hess_sparse(theta, d->data, want ? d->grad : NULL, d->values);
            else
                m->hess_values(theta, d->data, d->values);
            break;
        default:
            fprintf(stderr, "hessrt-mpi: rank %d: an unknown order %d from rank 0\n", d->rank, op);
            MPI_Abort(d->comm, 2);
        }
    }
}

void hessrt_mpi_release(hessrt_mpi_data *d, int status)
{
    prepare_orders(d);
    d->order[0] = OP_STOP;
    d->order[1] = status;
    MPI_Bcast(d->order, 2 + 2 * d->m->nparam, MPI_DOUBLE, 0, d->comm);
}

/* ---- the program ---- */

int hessrt_mpi_main(const hessgen_model *m, int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank, ranks, rc = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &ranks);
    /* hessgen run --np names the program by its source (mpirun runs a cached file) */
    const char *named = getenv("HESSRT_PROGRAM_NAME");
    if (named && *named && argc > 0)
        argv[0] = (char *)named;
    const char *slash = argc > 0 && !(named && *named) ? strrchr(argv[0], '/') : NULL;
    const char *prog = argc > 0 ? (slash ? slash + 1 : argv[0]) : "analyzer";
    /* the program's --help, or a model without data: nothing to split, rank 0 alone (a
     * subcommand's --help goes the way of the subcommand) */
    bool alone = m->ndata == 0 || (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0));
    if (alone) {
        if (rank == 0)
            rc = hessrt_main(m, argc, argv);
        MPI_Bcast(&rc, 1, MPI_INT, 0, MPI_COMM_WORLD);
        MPI_Finalize();
        return rc;
    }
    /* --data NAME=FILE (or --data=NAME=FILE): taken out, as hessrt_main does */
    char **rest = need(sizeof(char *) * ((size_t)argc + 1));
    const char **specs = need(sizeof(char *) * ((size_t)argc + 1));
    int nspecs = 0;
    char err[MSG] = "";
    int nrest = hessrt_data_args(argc, argv, rest, specs, &nspecs);
    if (nrest < 0)
        snprintf(err, sizeof err, "--data needs NAME=FILE");
    hessrt_mpi_data *d = NULL;
    if (!err[0])
        d = hessrt_mpi_data_load(m, MPI_COMM_WORLD, nspecs, specs, err, sizeof err);
    if (!d) {
        if (rank == 0)
            fprintf(stderr, "%s: %s\n", prog, err);
        rc = 2;
    } else if (rank == 0) {
        rc = hessrt_main_bound(hessrt_mpi_model(d), d, nrest, rest);
        fflush(stdout);
        hessrt_mpi_release(d, rc);
    } else {
        rc = hessrt_mpi_serve(d);
    }
    hessrt_mpi_data_free(d);
    free(rest);
    free(specs);
    MPI_Finalize();
    return rc;
}
