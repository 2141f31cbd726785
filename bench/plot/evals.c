/* evals.c: the peer of `plot surface` in bench/plot/run.sh: the same GRID*GRID loss
 * evaluations over the same plane of theta values, and nothing else (no data file, no
 * script, no gnuplot).
 *
 *   hessgen MODEL.hl --prefix bench -o m.c --header m.h
 *   cc -O1 -I. evals.c m.c -lm -o evals        (-O1: what `hessgen run` compiles the analyzer with)
 *   ./evals GRID LO:HI XAXIS YAXIS
 *
 * XAXIS, YAXIS: a parameter's name (x[0]) or a direction of named parameters
 * (x[0]=1,x[5000]=1), as `plot surface --x/--y` takes them, through the model's start values.
 * theta at grid point (s, t) is computed by runtime/plot.c's formula
 *     theta[k] = P[k] + (s - x0) d[k] + (t - y0) e[k]
 * (d, e unit; x0 = P[i] for a parameter axis i, 0 for a direction), but only at the
 * coordinates the two axes touch: the others stay P[k], which is what the formula gives them,
 * bit for bit. So the values are the plot's exactly (run.sh checks the sum of the losses
 * against the plot's data file) while the per-point cost is the loss alone: whatever more
 * the plot spends on theta at each point counts as its overhead.
 *
 * Prints the number of evaluations and the sum of the losses (%.17g, in the plot's order). */
#define _POSIX_C_SOURCE 200809L /* strdup, strtok_r */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "m.h"

enum { MAXNZ = 64 };

typedef struct {
    int nz, idx[MAXNZ];
    double dir[MAXNZ], origin;
} Axis;

static int param_index(const char *name)
{
    char buf[bench_NAME_MAX];
    for (int i = 0; i < bench_NPARAM; i++)
        if (bench_param_name(i, buf, sizeof buf) >= 0 && strcmp(buf, name) == 0)
            return i;
    fprintf(stderr, "evals: '%s' is not a parameter\n", name);
    exit(2);
}

static void parse_axis(const char *text, Axis *a)
{
    a->nz = 0;
    a->origin = 0;
    if (!strchr(text, '=')) { /* a parameter axis */
        a->idx[0] = param_index(text);
        a->dir[0] = 1;
        a->nz = 1;
        double start[bench_NPARAM];
        bench_start(start);
        a->origin = start[a->idx[0]];
        return;
    }
    char *copy = strdup(text), *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(tok, '=');
        if (!eq || a->nz == MAXNZ) {
            fprintf(stderr, "evals: cannot read the direction '%s'\n", text);
            exit(2);
        }
        *eq = 0;
        a->idx[a->nz] = param_index(tok);
        a->dir[a->nz++] = strtod(eq + 1, NULL);
    }
    free(copy);
    /* in index order, so that the length is summed as plot.c's dot product over all N sums it */
    for (int i = 1; i < a->nz; i++)
        for (int j = i; j > 0 && a->idx[j - 1] > a->idx[j]; j--) {
            int ti = a->idx[j];
            double td = a->dir[j];
            a->idx[j] = a->idx[j - 1], a->dir[j] = a->dir[j - 1];
            a->idx[j - 1] = ti, a->dir[j - 1] = td;
        }
    double len2 = 0;
    for (int i = 0; i < a->nz; i++)
        len2 += a->dir[i] * a->dir[i];
    double len = sqrt(len2);
    for (int i = 0; i < a->nz; i++)
        a->dir[i] /= len;
}

/* the direction's component at k (0 off its support) */
static double component(const Axis *a, int k)
{
    for (int i = 0; i < a->nz; i++)
        if (a->idx[i] == k)
            return a->dir[i];
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: evals GRID LO:HI XAXIS YAXIS\n");
        return 2;
    }
    int grid = atoi(argv[1]);
    double lo, hi;
    if (grid < 2 || sscanf(argv[2], "%lf:%lf", &lo, &hi) != 2) {
        fprintf(stderr, "evals: bad GRID or LO:HI\n");
        return 2;
    }
    Axis x, y;
    parse_axis(argv[3], &x);
    parse_axis(argv[4], &y);
    double dot = 0;
    for (int i = 0; i < x.nz; i++)
        dot += x.dir[i] * component(&y, x.idx[i]);
    if (dot != 0) { /* plot.c would orthogonalize y; this peer does not */
        fprintf(stderr, "evals: the axes are not orthogonal: give orthogonal ones\n");
        return 2;
    }
    /* the coordinates the plane moves, each with its two components */
    int nk = 0, ks[2 * MAXNZ];
    double dk[2 * MAXNZ], ek[2 * MAXNZ];
    for (int pass = 0; pass < 2; pass++) {
        const Axis *a = pass ? &y : &x;
        for (int i = 0; i < a->nz; i++) {
            int k = a->idx[i], seen = 0;
            for (int j = 0; j < nk; j++)
                seen |= ks[j] == k;
            if (!seen) {
                ks[nk] = k, dk[nk] = component(&x, k), ek[nk] = component(&y, k);
                nk++;
            }
        }
    }
    double *point = malloc(sizeof(double) * bench_NPARAM), *theta = malloc(sizeof(double) * bench_NPARAM);
    bench_start(point);
    memcpy(theta, point, sizeof(double) * bench_NPARAM);
    double sum = 0;
    long evaluations = 0;
    for (int i = 0; i < grid; i++) {
        double s = lo + (hi - lo) * i / (grid - 1);
        for (int j = 0; j < grid; j++) {
            double t = lo + (hi - lo) * j / (grid - 1);
            for (int q = 0; q < nk; q++)
                theta[ks[q]] = point[ks[q]] + (s - x.origin) * dk[q] + (t - y.origin) * ek[q];
            sum += bench_loss(theta);
            evaluations++;
        }
    }
    printf("%ld %.17g\n", evaluations, sum);
    free(point);
    free(theta);
    return 0;
}
