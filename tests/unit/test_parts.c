/* test_parts.c: the generated code over parts of its rows (M_data_part), without MPI.
 *
 * Each part runs on a thread of its own and holds only its rows; the reduce callback adds the
 * parts' arrays through shared memory and two barriers, as an allreduce would. Every part must
 * get the whole data set's loss, gradient, Hessian and HVP (to 1e-13), for a loss linear in its
 * sums (least squares, unrolled: P_hess_whole's one message), losses that are not (a ratio of
 * means, and a variance: a mean inside a mean), and array loops (logistic regression, split:
 * one message per Hessian; the variance), and pairs of rows (kde, RankNet: the other parts' rows visit each
 * part in turn). Uneven parts and a part with no rows; and the data readers of a
 * process's rows (hessrt_raw_rows, hessrt_csv_rows). */
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "hessrt.h"

extern const hessgen_model pls_model, prm_model, pvar_model, pvara_model, plr_model, pkde_model, prank_model,
    pkdea_model, pranka_model;

static int last_visits;                      /* check_parts: how often the first part was visited (pairs of rows) */
static int last_grad_calls, last_hess_calls; /* and its reduce calls in a gradient, a Hessian */

enum { MAXP = 4, MAXV = 4096 };

/* an allreduce over threads: each part adds its arrays into the shared sum, then reads it back */
typedef struct {
    pthread_barrier_t in, out, done, bound;
    pthread_mutex_t lock;
    double sum[MAXV];
    int calls[MAXP];
    int nparts;
    const void *data[MAXP]; /* each part's data struct, which visits the others (pairs of rows) */
    int visits[MAXP];
} Group;

typedef struct {
    Group *g;
    int part;
} Member;

static void thread_reduce(void *ctx, int count, double *const *values, const size_t *length)
{
    Member *me = ctx;
    Group *g = me->g;
    size_t n = 0;
    for (int k = 0; k < count; k++)
        n += values[k] ? length[k] : 0;
    assert_true(n <= MAXV);
    pthread_barrier_wait(&g->in); /* every part is here: the last call's readers are done */
    pthread_mutex_lock(&g->lock);
    size_t at = 0;
    for (int k = 0; k < count; k++)
        for (size_t i = 0; values[k] && i < length[k]; i++)
            g->sum[at++] += values[k][i];
    pthread_mutex_unlock(&g->lock);
    pthread_barrier_wait(&g->out); /* every part has added */
    at = 0;
    for (int k = 0; k < count; k++)
        for (size_t i = 0; values[k] && i < length[k]; i++)
            values[k][i] = g->sum[at++];
    g->calls[me->part]++;
    if (pthread_barrier_wait(&g->done) == PTHREAD_BARRIER_SERIAL_THREAD) /* every part has read */
        memset(g->sum, 0, sizeof(double) * n);
}

/* pairs of rows: part p + k's rows visit part p at step k, read in place (threads share memory) */
static const void *thread_visit(void *ctx, size_t k)
{
    Member *me = ctx;
    Group *g = me->g;
    if (k >= (size_t)g->nparts)
        return NULL;
    g->visits[me->part]++;
    return g->data[(me->part + (int)k) % g->nparts];
}

typedef struct {
    const hessgen_model *m;
    Group *g;
    Member me;
    const double *theta, *v;
    const size_t *counts, *total;
    const double *const *arrays; /* this part's rows */
    double loss, grad[64], hess[64 * 64], hv[64];
    double sparse_loss, sparse_grad[64], values[64 * 65 / 2], values_alone[64 * 65 / 2], loss_alone;
    int grad_calls, hess_calls; /* reduce calls made by a gradient and by a Hessian */
} Part;

static void *run_part(void *arg)
{
    Part *p = arg;
    const hessgen_model *m = p->m;
    void *data = calloc(1, m->data_bytes);
    (void)m->data_bind(data, p->counts, p->arrays);
    assert_int_equal(m->data_part(data, p->total, p->me.part == 0, thread_reduce, thread_visit, &p->me), 0);
    p->g->data[p->me.part] = data;
    pthread_barrier_wait(&p->g->bound); /* every part's struct is there to visit */
    int calls = p->g->calls[p->me.part];
    p->loss = m->hess(p->theta, data, p->grad, p->hess);
    p->hess_calls = p->g->calls[p->me.part] - calls;
    calls = p->g->calls[p->me.part];
    (void)m->grad(p->theta, data, p->sparse_grad);
    p->grad_calls = p->g->calls[p->me.part] - calls;
    m->hvp(p->theta, data, p->v, p->hv);
    p->sparse_loss = m->hess_sparse(p->theta, data, p->sparse_grad, p->values);
    m->hess_values(p->theta, data, p->values_alone);
    p->loss_alone = m->loss(p->theta, data);
    pthread_barrier_wait(&p->g->bound); /* no part visits this one any more */
    free(data);
    return NULL;
}

/* The model's values over the whole data set, and over nparts parts of its rows (boundaries
 * at cut[0..nparts]), on one thread each. */
static void check_parts(const hessgen_model *m, size_t rows, const double *const *arrays, const int *width, int nparts,
                        const size_t *cut)
{
    int n = m->nparam;
    assert_true(n <= 64 && m->nsizes == 1);
    double theta[64], v[64];
    for (int k = 0; k < n; k++) {
        theta[k] = 0.3 * sin(k + 1.0);
        v[k] = cos(2.0 * k);
    }
    void *whole = calloc(1, m->data_bytes);
    size_t counts[1] = {rows};
    assert_int_equal(m->data_bind(whole, counts, arrays), 0);
    double grad[64], hess[64 * 64], hv[64];
    double loss = m->hess(theta, whole, grad, hess);
    m->hvp(theta, whole, v, hv);
    free(whole);

    Group g;
    memset(&g, 0, sizeof g);
    pthread_barrier_init(&g.in, NULL, (unsigned)nparts);
    pthread_barrier_init(&g.out, NULL, (unsigned)nparts);
    pthread_barrier_init(&g.done, NULL, (unsigned)nparts);
    pthread_barrier_init(&g.bound, NULL, (unsigned)nparts);
    g.nparts = nparts;
    pthread_mutex_init(&g.lock, NULL);
    Part parts[MAXP];
    size_t pcounts[MAXP][1], total[1] = {rows};
    const double *parrays[MAXP][4];
    pthread_t threads[MAXP];
    for (int p = 0; p < nparts; p++) {
        pcounts[p][0] = cut[p + 1] - cut[p];
        for (int a = 0; a < m->ndata; a++) /* this part's rows: a pointer into the array */
            parrays[p][a] = m->data_size[a] < 0 ? arrays[a] : arrays[a] + cut[p] * (size_t)width[a];
        parts[p] =
            (Part){m, &g, {&g, p}, theta, v, pcounts[p], total, parrays[p], 0, {0}, {0}, {0}, 0, {0}, {0}, {0}, 0};
        pthread_create(&threads[p], NULL, run_part, &parts[p]);
    }
    for (int p = 0; p < nparts; p++)
        pthread_join(threads[p], NULL);
    pthread_barrier_destroy(&g.in);
    pthread_barrier_destroy(&g.out);
    pthread_barrier_destroy(&g.done);
    pthread_barrier_destroy(&g.bound);
    pthread_mutex_destroy(&g.lock);
    for (int p = 0; p < nparts; p++) {
        assert_true(g.calls[p] == g.calls[0] && g.calls[p] > 0);
        assert_true(g.visits[p] == g.visits[0]);
        last_visits = g.visits[0];
        last_grad_calls = parts[0].grad_calls;
        last_hess_calls = parts[0].hess_calls;
        assert_true(fabs(parts[p].loss - loss) <= 1e-13 * (1 + fabs(loss)));
        assert_true(fabs(parts[p].sparse_loss - loss) <= 1e-13 * (1 + fabs(loss)));
        assert_true(fabs(parts[p].loss_alone - loss) <= 1e-13 * (1 + fabs(loss)));
        for (int t = 0; t < m->hess_nnz; t++) { /* the lower triangle, in the pattern's order */
            int i = m->hess_rows ? m->hess_rows[t] : 0, j = m->hess_cols ? m->hess_cols[t] : 0;
            if (!m->hess_rows) /* dense: entry r*(r+1)/2 + c */
                for (i = 0; (i + 1) * (i + 2) / 2 <= t; i++)
                    ;
            if (!m->hess_rows)
                j = t - i * (i + 1) / 2;
            double want = hess[i * n + j];
            assert_true(fabs(parts[p].values[t] - want) <= 1e-13 * (1 + fabs(want)));
            assert_true(fabs(parts[p].values_alone[t] - want) <= 1e-13 * (1 + fabs(want)));
        }
        for (int i = 0; i < n; i++) {
            assert_true(fabs(parts[p].grad[i] - grad[i]) <= 1e-13 * (1 + fabs(grad[i])));
            assert_true(fabs(parts[p].hv[i] - hv[i]) <= 1e-13 * (1 + fabs(hv[i])));
            assert_true(fabs(parts[p].sparse_grad[i] - grad[i]) <= 1e-13 * (1 + fabs(grad[i])));
            for (int j = 0; j < n; j++)
                assert_true(fabs(parts[p].hess[i * n + j] - hess[i * n + j]) <= 1e-13 * (1 + fabs(hess[i * n + j])));
        }
    }
}

static double uniform(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return (double)(*s >> 11) * 0x1.0p-53;
}

/* rows of every model's arrays (X[n][3] or x[n], y[n]), in (lo, hi) */
static void fill(double *v, size_t n, double lo, double hi, uint64_t seed)
{
    uint64_t s = seed;
    for (size_t i = 0; i < n; i++)
        v[i] = lo + (hi - lo) * uniform(&s);
}

/* Two, three and four parts, uneven, one of them empty; returns how often the first part was
 * visited in the last (pairs of rows: the other parts' rows, once per loop evaluated). */
static int splits(const hessgen_model *m, size_t rows, const double *const *arrays, const int *width)
{
    size_t two[3] = {0, rows / 3, rows}, three[4] = {0, rows / 3, 2 * rows / 3 + 1, rows};
    size_t empty[4] = {0, 0, rows / 2, rows};          /* the first part holds no rows */
    size_t four[5] = {0, 1, rows / 2, rows / 2, rows}; /* one row, and an empty part inside */
    check_parts(m, rows, arrays, width, 2, two);
    check_parts(m, rows, arrays, width, 3, three);
    check_parts(m, rows, arrays, width, 3, empty);
    check_parts(m, rows, arrays, width, 4, four);
    return last_visits;
}

static void least_squares_linear_in_its_sums(void **state)
{
    (void)state;
    double X[101 * 3], y[101];
    fill(X, 303, -2, 2, 1);
    fill(y, 101, -3, 3, 2);
    const double *arrays[2] = {X, y};
    int width[2] = {3, 1};
    splits(&pls_model, 101, arrays, width);
}

static void ratio_of_means_and_variance(void **state)
{
    (void)state;
    double x[97], y[97];
    fill(x, 97, 0.2, 2, 3);
    fill(y, 97, -1, 1, 4);
    const double *arrays[2] = {x, y};
    int width[2] = {1, 1};
    assert_int_equal(splits(&prm_model, 97, arrays, width), 0);
    assert_int_equal(splits(&pvar_model, 97, arrays, width), 0); /* its one array: x */
    /* in array loops: the sums over the inner mean's rows that the Hessian scatters are passes
     * of their own, added over the parts, then multiplied by this part's outer sums */
    assert_int_equal(splits(&pvara_model, 97, arrays, width), 0);
    /* and its columns are arrays in the passes over rows: a stage's sums go in one message for
     * every column, not one per column (which would be at least 2 per column here) */
    assert_true(last_hess_calls <= last_grad_calls + 3);
}

/* Pairs of rows: a log of an inner mean for every row (kde) and a mean over pairs (RankNet):
 * the other parts' rows visit each part in turn, in unrolled and array-loop code. */
static void pairs_of_rows_visit_every_part(void **state)
{
    (void)state;
    double x[61], X[61 * 2], r[61];
    fill(x, 61, -2, 2, 7);
    fill(X, 122, -1, 1, 8);
    fill(r, 61, 0, 3, 9);
    const double *one[1] = {x}, *two[2] = {X, r};
    int w1[1] = {1}, w2[2] = {2, 1};
    assert_true(splits(&pkde_model, 61, one, w1) > 0);
    assert_true(splits(&prank_model, 61, two, w2) > 0);
    /* the same in array-loop code: the outer loop runs once per visiting part, then once more */
    assert_true(splits(&pkdea_model, 61, one, w1) > 0);
    assert_true(splits(&pranka_model, 61, two, w2) > 0);
    /* without a visit function a part would sum its own rows alone: refused */
    void *data = calloc(1, pkde_model.data_bytes);
    size_t half[1] = {30}, total[1] = {61};
    (void)pkde_model.data_bind(data, half, one);
    int code = pkde_model.data_part(data, total, 1, NULL, NULL, NULL);
    assert_true(code > 0);
    assert_non_null(strstr(pkde_model.data_error(code), "pairs of rows"));
    free(data);
}

static void logistic_regression_array_loops(void **state)
{
    (void)state;
    enum { R = 3001 };
    static double X[R * 50], y[R];
    fill(X, (size_t)R * 50, -1, 1, 5);
    uint64_t s = 6;
    for (int i = 0; i < R; i++)
        y[i] = uniform(&s) < 0.5 ? -1 : 1;
    const double *arrays[2] = {X, y};
    int width[2] = {50, 1};
    splits(&plr_model, R, arrays, width);
}

/* A process's rows of a file: raw from their offset, CSV row by row. */
typedef struct {
    size_t rows, width, last;
    double first;
    int stop_at;
} Seen;

static int see_row(void *ctx, const double *values, size_t width, size_t index)
{
    Seen *s = ctx;
    if (s->rows == 0)
        s->first = values[0];
    s->rows++;
    s->width = width;
    s->last = index;
    return (int)index + 1 == s->stop_at ? 42 : 0;
}

static void reading_rows_of_a_file(void **state)
{
    (void)state;
    char raw[] = "/tmp/test_parts_XXXXXX";
    int fd = mkstemp(raw);
    assert_true(fd >= 0);
    double v[7 * 3];
    for (int i = 0; i < 21; i++)
        v[i] = i + 0.5;
    assert_true(write(fd, v, sizeof v) == (ssize_t)sizeof v); /* little-endian hosts */
    close(fd);
    char path[64], err[256];
    snprintf(path, sizeof path, "%s.f64", raw);
    assert_int_equal(rename(raw, path), 0);
    size_t rows = 0;
    double got[9];
    assert_int_equal(hessrt_raw_rows(path, 3, 2, 3, got, &rows, err, sizeof err), 0);
    assert_int_equal(rows, 7);
    for (int i = 0; i < 9; i++)
        assert_true(got[i] == v[6 + i]);
    assert_true(hessrt_raw_rows(path, 3, 5, 3, got, NULL, err, sizeof err) != 0);
    assert_non_null(strstr(err, "rows 6 to 8 asked, but the file has 7"));
    assert_true(hessrt_raw_rows(path, 4, 0, 0, NULL, &rows, err, sizeof err) != 0);
    assert_non_null(strstr(err, "is not a whole number of rows of 4 float64 values"));
    unlink(path);

    snprintf(path, sizeof path, "%s.csv", raw);
    FILE *f = fopen(path, "w");
    fputs("a,b\n\n1,2\n3,4\n\n5,6\n", f);
    fclose(f);
    Seen s = {0};
    assert_int_equal(hessrt_csv_rows(path, 2, see_row, &s, &rows, err, sizeof err), 0);
    assert_true(rows == 3 && s.rows == 3 && s.width == 2 && s.last == 2 && s.first == 1);
    Seen stop = {0, 0, 0, 0, 2};
    assert_int_equal(hessrt_csv_rows(path, 2, see_row, &stop, &rows, err, sizeof err), 42);
    assert_true(stop.rows == 2);
    assert_true(hessrt_csv_rows(path, 3, NULL, NULL, &rows, err, sizeof err) != 0);
    assert_non_null(strstr(err, "line 3: 2 values, but each row needs 3"));
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(least_squares_linear_in_its_sums), cmocka_unit_test(ratio_of_means_and_variance),
        cmocka_unit_test(pairs_of_rows_visit_every_part),   cmocka_unit_test(logistic_regression_array_loops),
        cmocka_unit_test(reading_rows_of_a_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
