/* cli.c: argument parsing and the critical-point search, shared by the analyzer's subcommands. */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

int cli_temporary(const char *final, char **tmp)
{
    size_t len = strlen(final) + sizeof ".tmpXXXXXX";
    *tmp = malloc(len);
    if (!*tmp)
        return -1;
    snprintf(*tmp, len, "%s.tmpXXXXXX", final);
    int fd = mkstemp(*tmp);
    mode_t mask = umask(0);
    umask(mask);
    if (fd < 0 || fchmod(fd, 0666 & ~mask) != 0) {
        if (fd >= 0) {
            close(fd);
            unlink(*tmp);
        }
        free(*tmp);
        *tmp = NULL;
        return -1;
    }
    return fd;
}

bool cli_parse_double(const char *s, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !isfinite(v) || isspace((unsigned char)*s))
        return false; /* an underflow to a tiny value or 0 is still the number meant */
    *out = v;
    return true;
}

bool cli_parse_range(const char *s, double *lo, double *hi)
{
    const char *colon = strchr(s, ':');
    if (!colon)
        return false;
    char *left = strndup(s, (size_t)(colon - s));
    bool ok = left && cli_parse_double(left, lo) && cli_parse_double(colon + 1, hi) && *lo < *hi;
    free(left);
    return ok;
}

char *cli_param_name(const hessgen_model *m, int k)
{
    char *name = malloc((size_t)m->name_max);
    if (name)
        m->param_name(k, name, (size_t)m->name_max);
    return name;
}

int cli_param_index(const hessgen_model *m, const char *name)
{
    /* the array named before the first '[', its indices after; the name the model writes for the
     * coordinate found must then be the text given (no "w[01]", no spaces) */
    size_t stem = strcspn(name, "[");
    for (int a = 0; a < m->nparam_arrays; a++) {
        const hessgen_param_array *p = &m->param_arrays[a];
        if (strlen(p->name) != stem || strncmp(p->name, name, stem) != 0)
            continue;
        const char *c = name + stem;
        long flat = 0;
        for (int r = 0; r < p->rank; r++) {
            if (*c != '[' || !isdigit((unsigned char)c[1]))
                return -1;
            char *end;
            long i = strtol(c + 1, &end, 10);
            if (*end != ']' || i >= p->dims[r])
                return -1;
            flat = flat * p->dims[r] + i;
            c = end + 1;
        }
        if (*c)
            return -1;
        int k = p->base + (int)flat;
        char *canonical = cli_param_name(m, k);
        bool same = canonical && strcmp(canonical, name) == 0;
        free(canonical);
        return same ? k : -1;
    }
    return -1;
}

/* The values of a point's item: a number, or a braced list of values (nested braces are
 * flattened row-major), into out[0..cap); their count into *count, or false with a message. */
typedef struct {
    const char *at;
    char *msg;
    size_t msglen;
    int depth;
} Reader;

/* Spaces around names, values and punctuation are skipped: a point printed as
 * `w1 = 0.1, w2 = 0.05` reads back (quoted, as one argument). */
static void skip_spaces(Reader *r)
{
    while (isspace((unsigned char)*r->at))
        r->at++;
}

static bool read_values(Reader *r, double *out, int cap, int *count)
{
    skip_spaces(r);
    if (*r->at == '{') {
        if (++r->depth > 32) {
            snprintf(r->msg, r->msglen, "braces nested more than 32 deep");
            return false;
        }
        r->at++;
        for (;;) {
            if (!read_values(r, out, cap, count))
                return false;
            skip_spaces(r);
            if (*r->at == '}') {
                r->at++;
                r->depth--;
                return true;
            }
            if (*r->at != ',') {
                snprintf(r->msg, r->msglen, "a '}' or ',' is missing before '%.20s'", *r->at ? r->at : "the end");
                return false;
            }
            r->at++;
        }
    }
    size_t len = strcspn(r->at, ",{}=");
    while (len > 0 && isspace((unsigned char)r->at[len - 1]))
        len--;
    char *word = strndup(r->at, len);
    double v;
    bool ok = word && cli_parse_double(word, &v);
    if (!ok)
        snprintf(r->msg, r->msglen, "'%s' is not a number", word ? word : "?");
    else if (*count >= cap)
        snprintf(r->msg, r->msglen, "more than %d values", cap), ok = false;
    else
        out[(*count)++] = v;
    free(word);
    r->at += len;
    return ok;
}

bool cli_parse_point(const hessgen_model *m, const char *text, bool sparse, double *theta, char *msg, size_t msglen)
{
    int n = m->nparam;
    bool named = strchr(text, '=') != NULL;
    bool *given = calloc((size_t)n, 1);
    double *values = malloc(sizeof(double) * ((size_t)n + 1));
    Reader r = {text, msg, msglen, 0};
    int count = 0; /* positional: values read so far */
    bool ok = given && values;
    while (ok && *r.at) {
        if (!named) { /* values in parameter order, braces or not */
            ok = read_values(&r, theta, n, &count);
        } else {
            skip_spaces(&r);
            size_t len = strcspn(r.at, "=,{}"), end = len;
            while (end > 0 && isspace((unsigned char)r.at[end - 1]))
                end--;
            char *name = strndup(r.at, end);
            r.at += len;
            if (!name || *r.at != '=') {
                snprintf(msg, msglen, "'%s' is not NAME=VALUE", name ? name : "?");
                free(name);
                ok = false;
                break;
            }
            r.at++;
            /* a coordinate by its name, or a whole array: one value fills it, a list gives each */
            int first = cli_param_index(m, name), size = 1;
            for (int a = 0; first < 0 && a < m->nparam_arrays; a++)
                if (strcmp(m->param_arrays[a].name, name) == 0)
                    first = m->param_arrays[a].base, size = m->param_arrays[a].size;
            int got = 0;
            if (first < 0)
                snprintf(msg, msglen, "'%s' is not a parameter of %s", name, m->name), ok = false;
            else if ((ok = read_values(&r, values, n + 1, &got)) && got != 1 && got != size)
                snprintf(msg, msglen, "'%s' has %d value%s, and %d are given", name, size, size == 1 ? "" : "s", got),
                    ok = false;
            for (int k = 0; ok && k < size; k++) {
                if (given[first + k]) {
                    char *dup = cli_param_name(m, first + k);
                    snprintf(msg, msglen, "'%s' is given twice", dup ? dup : name);
                    free(dup);
                    ok = false;
                    break;
                }
                theta[first + k] = values[got == 1 ? 0 : k];
                given[first + k] = true;
            }
            free(name);
        }
        skip_spaces(&r);
        if (ok && *r.at && *r.at != ',') {
            snprintf(msg, msglen, "a ',' is missing before '%.20s'", r.at);
            ok = false;
        } else if (ok && *r.at == ',') {
            r.at++;
            skip_spaces(&r);
            if (!*r.at) {
                snprintf(msg, msglen, "a value is missing after the last ','");
                ok = false;
            }
        }
    }
    for (int i = 0; ok && !named && i < count; i++)
        given[i] = true;
    for (int i = 0; ok && i < n; i++)
        if (!given[i] && !(sparse && named)) {
            if (named) {
                char *name = cli_param_name(m, i);
                snprintf(msg, msglen, "no value for '%s'", name ? name : "?");
                free(name);
            } else {
                snprintf(msg, msglen, "%d values needed, %d given", n, count);
            }
            ok = false;
        }
    free(given);
    free(values);
    return ok;
}

void cli_put_number(FILE *f, double v)
{
    char text[40];
    for (int digits = 6; digits <= 17; digits++) { /* the shortest that reads back as v */
        snprintf(text, sizeof text, "%.*g", digits, v + 0.0);
        if (!isfinite(v) || strtod(text, NULL) == v)
            break;
    }
    fputs(text, f);
}

void cli_text_point(FILE *f, const hessgen_model *m, const double *theta)
{
    int shown = m->nparam > CLI_TEXT_MAX ? CLI_TEXT_MAX : m->nparam;
    for (int i = 0; i < shown; i++) {
        char *name = cli_param_name(m, i);
        fprintf(f, "%s%s = ", i ? ", " : "", name ? name : "?");
        cli_put_number(f, theta[i]);
        free(name);
    }
    if (shown < m->nparam)
        fprintf(f, ", ... (%d of %d coordinates; --json has all)", shown, m->nparam);
}

unsigned long long cli_seed(unsigned long long seed)
{
    return seed * 0x9E3779B97F4A7C15ull + 1;
}

double cli_uniform(unsigned long long *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return (double)((*s * 2685821657736338717ull) >> 11) / 9007199254740992.0;
}

/* ---- critical sets: is a critical point isolated, and are two on one connected piece? ---- */

static void *need(size_t bytes)
{
    void *p = malloc(bytes ? bytes : 1);
    if (!p)
        abort();
    return p;
}

typedef struct {
    const hessgen_model *m;
    const void *data;
    int n;
    double *g, *h, *w, *z, *q, *x;
} Sets;

/* H and its eigen-decomposition at x (into s->w, s->z, q = V^T g); false if not finite. */
static bool decompose(Sets *s, const double *x, double *loss)
{
    int n = s->n;
    *loss = s->m->hess(x, s->data, s->g, s->h);
    if (!isfinite(*loss) || hessrt_eigen_inplace(n, s->h, s->w, s->z) != 0)
        return false;
    hessrt_to_eigenbasis(n, s->z, s->g, s->q);
    return true;
}

/* Brings x onto the critical set: Newton steps through the pseudo-inverse (the null space's
 * components left alone) until the zero-gradient test holds; false if it does not in 50. */
static bool project(Sets *s, double *x, double *loss)
{
    int n = s->n;
    hessrt_options o = hessrt_default_options();
    for (int it = 0; it < 50; it++) {
        if (!decompose(s, x, loss))
            return false;
        if (hessrt_gradient_is_zero(s->m, s->data, x, s->g, s->w, s->q, o.grad_tol, NULL, NULL))
            return true;
        double scale = 0;
        for (int k = 0; k < n; k++)
            scale = fmax(scale, fabs(s->w[k]));
        for (int i = 0; i < n; i++) {
            double step = 0;
            for (int k = 0; k < n; k++)
                if (fabs(s->w[k]) > o.eig_tol * scale)
                    step += s->z[(size_t)i * n + k] * s->q[k] / s->w[k];
            x[i] -= step;
        }
    }
    return false;
}

/* The null space at p: its eigenvectors' indices into s->z (eigenvalues within the numeric
 * test's zero threshold), how many. */
static int null_space(Sets *s, const double *p, int *idx)
{
    hessrt_report r;
    int count = 0;
    if (hessrt_classify(s->m, s->data, p, NULL, &r) != 0) {
        hessrt_report_free(&r);
        return 0;
    }
    double loss;
    if (decompose(s, p, &loss))
        for (int k = 0; k < s->n; k++)
            if (fabs(s->w[k]) <= r.zero_threshold)
                idx[count++] = k;
    hessrt_report_free(&r);
    return count;
}

static double distance(const double *a, const double *b, int n)
{
    double d = 0;
    for (int i = 0; i < n; i++)
        d += (a[i] - b[i]) * (a[i] - b[i]);
    return sqrt(d);
}

/* The dimension of the critical set at p: of its null directions, how many lead, a step h
 * away and projected back, to another critical point (not back to p: x^4 + y^4 at 0 is
 * isolated though its Hessian is 0). */
static int set_dimension(Sets *s, const double *p)
{
    int n = s->n, *idx = need(sizeof(int) * (size_t)n), dim = 0;
    double loss;
    int k0 = null_space(s, p, idx);
    double *v = need(sizeof(double) * (size_t)n * (size_t)k0); /* the null directions, before project() */
    for (int a = 0; a < k0; a++)
        for (int i = 0; i < n; i++)
            v[(size_t)a * n + i] = s->z[(size_t)i * n + idx[a]];
    double h = 1e-3 * (1 + hessrt_norm2(n, p));
    for (int a = 0; a < k0; a++) {
        for (int i = 0; i < n; i++)
            s->x[i] = p[i] + h * v[(size_t)a * n + i];
        if (project(s, s->x, &loss) && distance(s->x, p, n) >= 0.5 * h)
            dim++;
    }
    free(idx);
    free(v);
    return dim;
}

/* Whether a path of critical points joins a to b: steps of at most |b - a|/20 along the null
 * space's share of the way to b, each projected back onto the critical set; the loss seen on
 * the way widens [lo, hi]. */
static bool connected(Sets *s, const double *a, const double *b, double *lo, double *hi)
{
    int n = s->n, *idx = need(sizeof(int) * (size_t)n);
    double *p = need(sizeof(double) * (size_t)n), *d = need(sizeof(double) * (size_t)n), loss;
    memcpy(p, a, sizeof(double) * (size_t)n);
    double most = distance(a, b, n) / 20;
    bool joined = false;
    for (int step = 0; step < 400; step++) {
        double left = distance(p, b, n);
        if (left <= 1e-6 * (1 + hessrt_norm2(n, b))) {
            joined = true;
            break;
        }
        int k0 = null_space(s, p, idx);
        for (int i = 0; i < n; i++)
            d[i] = 0;
        for (int c = 0; c < k0; c++) { /* (b - p) projected onto the null space */
            double along = 0;
            for (int i = 0; i < n; i++)
                along += s->z[(size_t)i * n + idx[c]] * (b[i] - p[i]);
            for (int i = 0; i < n; i++)
                d[i] += along * s->z[(size_t)i * n + idx[c]];
        }
        double dn = hessrt_norm2(n, d);
        if (k0 == 0 || dn < 0.1 * left) /* b is not along the set from here */
            break;
        double t = fmin(most, dn) / dn;
        for (int i = 0; i < n; i++)
            s->x[i] = p[i] + t * d[i];
        if (!project(s, s->x, &loss) || distance(s->x, p, n) < 1e-3 * t * dn)
            break;
        memcpy(p, s->x, sizeof(double) * (size_t)n);
        *lo = fmin(*lo, loss);
        *hi = fmax(*hi, loss);
    }
    free(idx);
    free(p);
    free(d);
    return joined;
}

typedef struct {
    double d;
    int i, j;
} Pair;

static int pair_order(const void *x, const void *y)
{
    const Pair *a = x, *b = y;
    return a->d < b->d ? -1 : a->d > b->d ? 1 : 0;
}

static int find_root(int *parent, int i)
{
    while (parent[i] != i)
        i = parent[i] = parent[parent[i]];
    return i;
}

/* Merges the distinct points of out into connected pieces (their arrays rewritten). */
static void group_sets(const hessgen_model *m, const void *data, cli_critical_points *out)
{
    int n = m->nparam, found = out->found;
    size_t nn = (size_t)n * (size_t)n;
    Sets s = {m,
              data,
              n,
              need(8 * (size_t)n),
              need(8 * nn),
              need(8 * (size_t)n),
              need(8 * nn),
              need(8 * (size_t)n),
              need(8 * (size_t)n)};
    int *dim = need(sizeof(int) * (size_t)found + 1), *parent = need(sizeof(int) * (size_t)found + 1);
    double *lo = need(sizeof(double) * (size_t)found + 8), *hi = need(sizeof(double) * (size_t)found + 8);
    for (int i = 0; i < found; i++) {
        const double *p = out->points + (size_t)i * n;
        double loss;
        parent[i] = i;
        lo[i] = hi[i] = decompose(&s, p, &loss) ? loss : NAN;
        dim[i] = set_dimension(&s, p);
    }
    /* nearest pairs first (a curve's points join by short walks before any walk between
     * pieces is tried), pairs of pieces (roots) only, a pair of pieces that failed not again,
     * and at most 4 walks per point: past that, pieces stay apart (more entries, never a false
     * merge) */
    size_t npairs = 0, cap = (size_t)found * (size_t)(found > 0 ? found - 1 : 0) / 2;
    Pair *pairs = need(sizeof(Pair) * cap + 1);
    for (int i = 0; i < found; i++)
        for (int j = i + 1; j < found; j++)
            if (dim[i] > 0 && dim[i] == dim[j])
                pairs[npairs++] = (Pair){distance(out->points + (size_t)i * n, out->points + (size_t)j * n, n), i, j};
    qsort(pairs, npairs, sizeof(Pair), pair_order);
    unsigned char *failed = calloc((size_t)found * (size_t)found + 1, 1);
    if (!failed)
        abort();
    long tries = 0, most = 4L * found + 64;
    for (size_t t = 0; t < npairs && tries < most; t++) {
        int a = find_root(parent, pairs[t].i), b = find_root(parent, pairs[t].j);
        if (a == b || failed[(size_t)a * found + b])
            continue;
        tries++;
        double l = lo[a], h = hi[a];
        if (connected(&s, out->points + (size_t)pairs[t].i * n, out->points + (size_t)pairs[t].j * n, &l, &h)) {
            parent[b] = a;
            lo[a] = fmin(fmin(lo[a], lo[b]), l);
            hi[a] = fmax(fmax(hi[a], hi[b]), h);
        } else {
            failed[(size_t)a * found + b] = failed[(size_t)b * found + a] = 1;
        }
    }
    free(pairs);
    free(failed);
    /* one entry per piece: the member reached most often represents it */
    cli_critical_points g = {0,
                             out->failed,
                             need(sizeof(double) * (size_t)n * (size_t)found + 8),
                             need(sizeof(int) * (size_t)found + 1),
                             need(sizeof(int) * (size_t)found + 1),
                             need(sizeof(double) * (size_t)found + 8),
                             need(sizeof(double) * (size_t)found + 8),
                             need(sizeof(double) * (size_t)n * CLI_SAMPLES * (size_t)found + 8),
                             need(sizeof(int) * (size_t)found + 1)};
    for (int i = 0; i < found; i++) {
        if (find_root(parent, i) != i)
            continue;
        int e = g.found++, best = i, hits = 0, ns = 0;
        for (int j = 0; j < found; j++)
            if (find_root(parent, j) == i) {
                hits += out->hits[j];
                if (out->hits[j] > out->hits[best])
                    best = j;
                if (ns < CLI_SAMPLES)
                    memcpy(g.samples + ((size_t)e * CLI_SAMPLES + (size_t)ns++) * n, out->points + (size_t)j * n,
                           sizeof(double) * (size_t)n);
            }
        memcpy(g.points + (size_t)e * n, out->points + (size_t)best * n, sizeof(double) * (size_t)n);
        g.hits[e] = hits;
        g.dimension[e] = dim[i];
        g.loss_lo[e] = lo[i];
        g.loss_hi[e] = hi[i];
        g.nsamples[e] = ns;
    }
    free(out->points);
    free(out->hits);
    *out = g;
    free(dim);
    free(parent);
    free(lo);
    free(hi);
    free(s.g);
    free(s.h);
    free(s.w);
    free(s.z);
    free(s.q);
    free(s.x);
}

void cli_find_critical(const hessgen_model *m, const void *data, hessrt_method method, int starts,
                       void (*draw)(void *user, unsigned long long *state, double *theta),
                       bool (*keep)(void *user, const double *theta), void *user, unsigned long long seed,
                       cli_critical_points *out)
{
    int n = m->nparam, cap = 16;
    unsigned long long state = cli_seed(seed);
    double *theta = malloc(sizeof(double) * (size_t)n);
    out->found = out->failed = 0;
    out->points = malloc(sizeof(double) * (size_t)n * (size_t)cap);
    out->hits = calloc((size_t)cap, sizeof(int));
    if (!theta || !out->points || !out->hits)
        abort();
    hessrt_newton_options o = hessrt_default_newton_options(method);
    for (int s = 0; s < starts; s++) {
        draw(user, &state, theta);
        hessrt_newton_result r;
        hessrt_newton(m, data, theta, &o, &r);
        if (r.status != HESSRT_CONVERGED || (keep && !keep(user, r.theta))) {
            out->failed += r.status != HESSRT_CONVERGED;
            hessrt_newton_result_free(&r);
            continue;
        }
        int k = 0;
        for (; k < out->found; k++) {
            double d = 0, size = 0;
            for (int i = 0; i < n; i++) {
                d = fmax(d, fabs(out->points[(size_t)k * n + i] - r.theta[i]));
                size = fmax(size, fabs(r.theta[i]));
            }
            if (d <= 1e-6 * (1 + size))
                break;
        }
        if (k == out->found) {
            if (out->found == cap) {
                cap *= 2;
                out->points = realloc(out->points, sizeof(double) * (size_t)n * (size_t)cap);
                out->hits = realloc(out->hits, sizeof(int) * (size_t)cap);
                if (!out->points || !out->hits)
                    abort();
            }
            memcpy(out->points + (size_t)out->found * n, r.theta, sizeof(double) * (size_t)n);
            out->hits[out->found++] = 0;
        }
        out->hits[k]++;
        hessrt_newton_result_free(&r);
    }
    free(theta);
    group_sets(m, data, out);
}

void cli_critical_points_free(cli_critical_points *c)
{
    free(c->points);
    free(c->hits);
    free(c->dimension);
    free(c->loss_lo);
    free(c->loss_hi);
    free(c->samples);
    free(c->nsamples);
    memset(c, 0, sizeof *c);
}
