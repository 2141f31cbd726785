/* cli.c: argument parsing and the critical-point search, shared by the analyzer's subcommands. */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

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

bool cli_parse_point(const hessgen_model *m, const char *text, bool sparse, double *theta, char *msg, size_t msglen)
{
    int n = m->nparam;
    bool named = strchr(text, '=') != NULL;
    bool *given = calloc((size_t)n, 1);
    char *copy = strdup(text), *save = NULL;
    int count = 0;
    bool ok = given && copy;
    for (char *tok = strtok_r(copy, ",", &save); ok && tok; tok = strtok_r(NULL, ",", &save)) {
        char *val = tok;
        int which = count;
        if (named) {
            char *eq = strchr(tok, '=');
            if (!eq) {
                snprintf(msg, msglen, "'%s' is not NAME=VALUE", tok);
                ok = false;
                break;
            }
            *eq = 0;
            val = eq + 1;
            which = cli_param_index(m, tok);
            if (which < 0) {
                snprintf(msg, msglen, "'%s' is not a parameter of %s", tok, m->name);
                ok = false;
                break;
            }
            if (given[which]) {
                snprintf(msg, msglen, "'%s' is given twice", tok);
                ok = false;
                break;
            }
        } else if (which >= n) {
            snprintf(msg, msglen, "more than %d values", n);
            ok = false;
            break;
        }
        if (!cli_parse_double(val, &theta[which])) {
            snprintf(msg, msglen, "'%s' is not a number", val);
            ok = false;
            break;
        }
        given[which] = true;
        count++;
    }
    for (int i = 0; ok && i < n; i++)
        if (!given[i] && !(sparse && named)) {
            if (named) {
                char *name = cli_param_name(m, i);
                snprintf(msg, msglen, "no value for '%s'", name ? name : "?");
                free(name);
            } else
                snprintf(msg, msglen, "%d values needed, %d given", n, count);
            ok = false;
        }
    free(given);
    free(copy);
    return ok;
}

void cli_text_point(FILE *f, const hessgen_model *m, const double *theta)
{
    for (int i = 0; i < m->nparam; i++) {
        char *name = cli_param_name(m, i);
        fprintf(f, "%s%s = %.6g", i ? ", " : "", name ? name : "?", theta[i] + 0.0);
        free(name);
    }
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
}

void cli_critical_points_free(cli_critical_points *c)
{
    free(c->points);
    free(c->hits);
    c->points = NULL;
    c->hits = NULL;
}
