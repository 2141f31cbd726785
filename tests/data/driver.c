/* Driver for check_data.py: reads one data set and some points, calls every function of the
 * generated API of a model with data (prefix M) and prints what they return, with %.17g.
 *
 * Compiled with -DNPARAM=N -DNSIZES=S -DNDATA=D -DDATA_BYTES=sizeof(M_data) -DHAS_ROW_RANGE=0|1
 * against the generated file compiled separately (as C, C++, with -fopenmp or under
 * AddressSanitizer). M_data stays an incomplete type here: the struct is filled by M_data_bind
 * in a buffer of exactly DATA_BYTES bytes, each data array is a buffer of exactly its length
 * (NULL when empty), so a read out of bounds shows under AddressSanitizer.
 *
 * stdin:   MODE                      0: a data set, 1: the NULL struct and other API edges
 *          S counts (decimal)        one per row count, in the struct's order
 *          for each array: L, then L values (anything strtod reads: %a hex floats)
 *          P, then P lines of 2*N values: theta, then v (for the HVP)
 * stdout:  "check CODE", "message TEXT", the pattern, then per point the outputs; "end".
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct M_data M_data;
int M_data_check(const M_data *data);
const char *M_data_error(int code);
int M_data_bind(M_data *data, const size_t *counts, const double *const *arrays);
double M_loss(const double *theta, const M_data *data);
double M_grad(const double *theta, const M_data *data, double *grad);
double M_hess(const double *theta, const M_data *data, double *grad, double *hess);
void M_hvp(const double *theta, const M_data *data, const double *v, double *hv);
double M_hess_sparse(const double *theta, const M_data *data, double *grad, double *values);
void M_hess_values(const double *theta, const M_data *data, double *values);
#if HAS_ROW_RANGE
double M_hess_row_range(const double *theta, const M_data *data, size_t begin, size_t end,
                        double *grad, double *hess);
#endif
extern const int M_hess_nnz;
#if !HESS_DENSE
extern const int M_hess_rows[];
extern const int M_hess_cols[];
#endif

#define CANARY 1234.5678

static double *alloc(size_t n)
{
    double *a = (double *)malloc((n + 1) * sizeof *a);
    size_t k;
    if (!a) exit(3);
    for (k = 0; k < n; k++) a[k] = 777.25;   /* an entry left unwritten shows as 777.25 */
    a[n] = CANARY;                           /* a write past the end shows too */
    return a;
}

static void put(const char *tag, const double *a, size_t n)
{
    size_t k;
    printf("%s", tag);
    for (k = 0; k < n; k++) printf(" %.17g", a[k]);
    printf("\n");
    if (a[n] != CANARY) printf("overflow %s\n", tag);
}

#if HAS_ROW_RANGE
static void put1(const char *tag, double x)
{
    printf("%s %.17g\n", tag, x);
}
#endif

static double rd(void)
{
    char buf[128];
    if (scanf("%127s", buf) != 1) exit(2);
    return strtod(buf, NULL);
}

/* every evaluation function at theta (v for the HVP); with ranges, the row ranges too */
static void evaluate(const M_data *data, const double *theta, const double *v, size_t rows)
{
    const size_t n = NPARAM, nnz = (size_t)M_hess_nnz;
    double *g1 = alloc(n), *g2 = alloc(n), *g3 = alloc(n), *h1 = alloc(n * n);
    double *h2 = alloc(n * n), *hv = alloc(n), *sv = alloc(nnz), *sv2 = alloc(nnz);
    double r[5];
    r[0] = M_loss(theta, data);
    r[1] = M_grad(theta, data, g1);
    r[2] = M_hess(theta, data, g2, h1);
    r[3] = M_hess(theta, data, NULL, h2);
    M_hvp(theta, data, v, hv);
    r[4] = M_hess_sparse(theta, data, g3, sv);
    M_hess_values(theta, data, sv2);
    printf("loss %.17g %.17g %.17g %.17g %.17g\n", r[0], r[1], r[2], r[3], r[4]);
    put("grad_grad", g1, n);
    put("grad_hess", g2, n);
    put("grad_sparse", g3, n);
    put("hess_grad", h1, n * n);
    put("hess_null", h2, n * n);
    put("hvp", hv, n);
    put("sparse", sv, nnz);
    put("values", sv2, nnz);
#if HAS_ROW_RANGE
    {
        /* up to three non-empty parts [0,a) [a,b) [b,rows) (a single [0,0) when there are no
           rows: a part that starts at 0 carries the row-free terms, so empty parts at 0 would
           count them again), summed; the whole range; an empty range at the end; a range
           past the end and a reversed one (NaN) */
        size_t cut[4], np = 0, p, k;
        double *pg = alloc(n), *ph = alloc(n * n), *sg = alloc(n), *sh = alloc(n * n);
        double sl = 0, l;
        cut[np++] = 0;
        for (p = 1; p <= 3; p++) {
            size_t c = (p * rows) / 3;
            if (c > cut[np - 1]) cut[np++] = c;
        }
        if (np == 1) cut[np++] = 0;
        for (k = 0; k < n; k++) sg[k] = 0;
        for (k = 0; k < n * n; k++) sh[k] = 0;
        for (p = 0; p + 1 < np; p++) {
            /* the second part without grad: its gradient comes from a second call */
            l = M_hess_row_range(theta, data, cut[p], cut[p + 1], p == 1 ? NULL : pg, ph);
            sl += l;
            for (k = 0; k < n * n; k++) sh[k] += ph[k];
            if (p == 1) {
                M_hess_row_range(theta, data, cut[p], cut[p + 1], pg, ph);
            }
            for (k = 0; k < n; k++) sg[k] += pg[k];
        }
        printf("parts");
        for (p = 0; p < np; p++) printf(" %lu", (unsigned long)cut[p]);
        printf("\n");
        put1("range_loss", sl);
        put("range_grad", sg, n);
        put("range_hess", sh, n * n);
        l = M_hess_row_range(theta, data, 0, rows, pg, ph);
        put1("whole_loss", l);
        put("whole_grad", pg, n);
        put("whole_hess", ph, n * n);
        l = M_hess_row_range(theta, data, rows, rows, pg, ph);
        put1("empty_loss", l);
        put("empty_grad", pg, n);
        put("empty_hess", ph, n * n);
        l = M_hess_row_range(theta, data, 0, rows + 1, pg, ph);
        put1("past_loss", l);
        put("past_grad", pg, n);
        put("past_hess", ph, n * n);
        if (rows > 0) {
            l = M_hess_row_range(theta, data, 1, 0, pg, ph);
            put1("reversed_loss", l);
            put("reversed_hess", ph, n * n);
        }
        free(pg); free(ph); free(sg); free(sh);
    }
#else
    (void)rows;
#endif
    free(g1); free(g2); free(g3); free(h1); free(h2); free(hv); free(sv); free(sv2);
}

int main(void)
{
    const size_t n = NPARAM;
    size_t counts[NSIZES + 1];
    double *arrays[NDATA + 1];
    const double *carrays[NDATA + 1];
    void *buf;
    M_data *data;
    int mode, npts, p, code, k;
    double *theta = alloc(n), *v = alloc(n);

    if (scanf("%d", &mode) != 1) return 2;
    for (k = 0; k < NSIZES; k++) {
        char cb[64];
        if (scanf("%63s", cb) != 1) return 2;
        counts[k] = (size_t)strtoull(cb, NULL, 10);
    }
    for (k = 0; k < NDATA; k++) {
        long len, q;
        if (scanf("%ld", &len) != 1 || len < 0) return 2;
        arrays[k] = len ? (double *)malloc((size_t)len * sizeof(double)) : NULL;
        if (len && !arrays[k]) return 3;
        for (q = 0; q < len; q++) arrays[k][q] = rd();
        carrays[k] = arrays[k];
    }
    if (scanf("%d", &npts) != 1) return 2;

    printf("nnz %d\n", M_hess_nnz);
#if HESS_DENSE /* array loops: all of the lower triangle, row-major */
    for (k = 0; k < M_hess_nnz; k++) {
        int r = 0;
        while ((r + 1) * (r + 2) / 2 <= k) r++;
        printf("entry %d %d\n", r, k - r * (r + 1) / 2);
    }
#else
    for (k = 0; k < M_hess_nnz; k++) printf("entry %d %d\n", M_hess_rows[k], M_hess_cols[k]);
#endif

    buf = malloc(DATA_BYTES);
    if (!buf) return 3;
    memset(buf, 0xA5, DATA_BYTES);
    data = (M_data *)buf;
    code = M_data_bind(data, counts, carrays);
    if (mode == 1) {
        /* the API's edges: a NULL struct, NULL arguments to bind, unknown codes */
        printf("bind_null_struct %d\n", M_data_bind(NULL, counts, carrays));
        printf("bind_null_counts %d\n", M_data_bind(data, NULL, carrays));
        printf("bind_null_arrays %d\n", M_data_bind(data, counts, NULL));
        printf("message_0 %s\n", M_data_error(0) ? M_data_error(0) : "(null)");
        printf("message_unknown %s\n", M_data_error(9999) ? M_data_error(9999) : "(null)");
        printf("message_negative %s\n", M_data_error(-1) ? M_data_error(-1) : "(null)");
        data = NULL;
        code = M_data_check(NULL);
    }
    printf("check %d\n", code);
    printf("recheck %d\n", M_data_check(data));
    printf("message %s\n", M_data_error(code) ? M_data_error(code) : "(null)");
    for (p = 0; p < npts; p++) {
        for (k = 0; k < 2 * (int)n; k++)
            (k < (int)n ? theta : v)[k % n] = rd();
        printf("point %d\n", p);
        evaluate(data, theta, v, NSIZES ? counts[0] : 0);
    }
    printf("end\n");
    for (k = 0; k < NDATA; k++) free(arrays[k]);
    free(buf); free(theta); free(v);
    return 0;
}
