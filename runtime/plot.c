/* plot.c: `plot surface|paths|convergence|slice`, the loss surface drawn by gnuplot.
 *
 * Each plot computes its numbers here (loss evaluations on a grid or a line, Newton runs,
 * the critical-point search), writes them as a gnuplot data file and a script that reads it,
 * and runs gnuplot on the two. The image is the output file's extension: .png (pngcairo) or
 * .svg. With --keep-script the data and script stay beside the image as NAME.dat and NAME.gp,
 * and `gnuplot NAME.gp` in that directory draws it again. Everything is written to temporary
 * files in the output's directory and renamed into place only when gnuplot has succeeded, so
 * an interrupted or failed plot leaves no partial file. Data and script depend on nothing
 * but the input: the same command writes the same bytes.
 *
 * A surface is drawn over two axes through a point P. An axis is a parameter (its coordinate
 * is that parameter's value) or a unit direction d (its coordinate is the offset t along d):
 *   theta(x, y) = P + (x - x0) dx + (y - y0) dy,
 * with x0 = P[i] for a parameter axis and 0 for a direction. The grid uses loss evaluations
 * only, so a 2-D slice of a model with many parameters costs grid^2 evaluations of the loss.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"

extern char **environ;

static const char plot_usage[] =
    "usage: %s plot surface -o FILE.png|FILE.svg [--box LO:HI[,LO:HI]] [--at POINT] [--x AXIS --y AXIS]\n"
    "              [--grid N] [--starts K] [--seed S] [--method M] [--log] [--keep-script]\n"
    "       %s plot paths -o FILE [--from POINT]... [--methods M,M,...] [--box LO:HI[,LO:HI]]\n"
    "              [--x AXIS --y AXIS] [--grid N] [--max-iter N] [--step S] [--log] [--keep-script]\n"
    "       %s plot convergence -o FILE [--from POINT] [--methods M,M,...] [--max-iter N] [--step S]\n"
    "              [--keep-script]\n"
    "       %s plot slice -o FILE [--along AXIS] [--at POINT] [--range LO:HI] [--points N] [--keep-script]\n"
    "POINT: w1=0,w2=0 or 0,0 as for classify; by name, parameters left out keep their start values.\n"
    "AXIS: a parameter's name (the axis is its value), escape (the eigenvector of the Hessian's most\n"
    "negative eigenvalue at the point), lowest (of its lowest eigenvalue), gradient (the gradient's\n"
    "direction there), or a direction: w1=1,w2=1 (parameters not named are 0) or 1,1 (every value).\n"
    "Methods: pure, damped, saddle-free, trust-region, gd. --log colours and contours log10 of the loss.\n"
    "--keep-script also writes FILE's .dat and .gp beside it.\n";

/* Dense Hessians above this size are not taken for an axis (escape, lowest) or a verdict. */
enum { DENSE_LIMIT = 2000 };

/* ---- text buffers ---- */

typedef struct {
    char *s;
    size_t len, cap;
} Text;

static void put(Text *t, const char *fmt, ...)
{
    va_list ap, aq;
    va_start(ap, fmt);
    va_copy(aq, ap);
    /* formatted once where it fits (nearly always), twice when the buffer must grow */
    size_t room = t->cap - t->len;
    int need = vsnprintf(t->s ? t->s + t->len : NULL, t->s ? room : 0, fmt, ap);
    va_end(ap);
    if (need < 0)
        abort();
    if ((size_t)need + 1 > room) {
        t->cap = (t->len + (size_t)need + 1) * 2;
        t->s = realloc(t->s, t->cap);
        if (!t->s)
            abort();
        vsnprintf(t->s + t->len, (size_t)need + 1, fmt, aq);
    }
    va_end(aq);
    t->len += (size_t)need;
}

/* a number in a data file: NaN and infinities as gnuplot reads them */
static void put_number(Text *t, const char *sep, double v)
{
    if (isnan(v))
        put(t, "%sNaN", sep);
    else if (isinf(v))
        put(t, "%s%sInf", sep, v < 0 ? "-" : "");
    else
        put(t, "%s%.17g", sep, v + 0.0);
}

/* a gnuplot string literal in single quotes ('' stands for a quote) */
static void put_gp_string(Text *t, const char *s)
{
    put(t, "'");
    for (; *s; s++)
        put(t, *s == '\'' ? "''" : "%c", *s);
    put(t, "'");
}

/* ---- the plot's settings ---- */

typedef struct {
    char label[160];
    int param;     /* >= 0: a parameter axis */
    double *dir;   /* unit direction, n values */
    double origin; /* the coordinate at the point */
} Axis;

typedef struct {
    const hessgen_model *m;
    const void *data;
    const char *prog, *kind;
    int n;
    const char *out;     /* the image */
    FILE *report, *diag; /* where the summary and the diagnostics go (stdout and stderr, or memory) */
    bool svg, keep;
    long loss_evaluations;
    char cmdline[1024]; /* the plot's arguments, for the script's header */
} Plot;

static int refuse(const Plot *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(p->diag, "%s: plot %s: ", p->prog, p->kind);
    vfprintf(p->diag, fmt, ap);
    fprintf(p->diag, "\n");
    va_end(ap);
    return 2;
}

static double *vec(int n)
{
    double *v = calloc((size_t)(n > 0 ? n : 1), sizeof(double));
    if (!v)
        abort();
    return v;
}

static double dot(const double *a, const double *b, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++)
        s += a[i] * b[i];
    return s;
}

static double loss_at(Plot *p, const double *theta)
{
    p->loss_evaluations++;
    return p->m->loss(theta, p->data);
}

/* The unit eigenvector of the lowest eigenvalue of the Hessian at theta into d (largest
 * component positive, as the runtime's escape direction); its eigenvalue into *lambda. */
static int lowest_eigenvector(const Plot *p, const double *theta, double *d, double *lambda)
{
    int n = p->n;
    double *g = vec(n), *h = malloc(sizeof(double) * (size_t)n * (size_t)n), *w = vec(n),
           *z = malloc(sizeof(double) * (size_t)n * (size_t)n);
    if (!h || !z)
        abort();
    p->m->hess(theta, p->data, g, h);
    int info = hessrt_eigen_inplace(n, h, w, z);
    int big = 0;
    for (int i = 0; i < n; i++) {
        d[i] = z[(size_t)i * n];
        if (fabs(d[i]) > fabs(d[big]))
            big = i;
    }
    if (d[big] < 0)
        for (int i = 0; i < n; i++)
            d[i] = -d[i];
    /* an eigenvalue classify counts as zero is 0 here too: no escape along a flat direction */
    double scale = fmax(fabs(w[0]), fabs(w[n - 1]));
    *lambda = fabs(w[0]) <= hessrt_default_options().eig_tol * scale ? 0 : w[0];
    free(g);
    free(h);
    free(w);
    free(z);
    return info;
}

static bool is_direction_text(const char *s)
{
    return strchr(s, '=') || strchr(s, ',') || isdigit((unsigned char)s[0]) || s[0] == '-' || s[0] == '+' ||
           s[0] == '.';
}

/* AXIS text -> axis through the point; false after a message. */
static bool parse_axis(Plot *p, const char *text, const double *point, Axis *a)
{
    int n = p->n;
    a->dir = vec(n);
    a->param = -1;
    a->origin = 0;
    snprintf(a->label, sizeof a->label, "%s", text);
    if (strcmp(text, "escape") == 0 || strcmp(text, "lowest") == 0) {
        if (n > DENSE_LIMIT) {
            refuse(p,
                   "'%s' needs the Hessian's eigenvectors, and the model has %d parameters (the limit is %d): "
                   "give a direction instead",
                   text, n, DENSE_LIMIT);
            return false;
        }
        double lambda;
        if (lowest_eigenvector(p, point, a->dir, &lambda) != 0 || !isfinite(lambda)) {
            refuse(p, "the Hessian at the point is not finite or its eigen-solver failed");
            return false;
        }
        if (text[0] == 'e' && !(lambda < 0)) { /* lambda is 0 where classify would count it as 0 */
            refuse(p,
                   "the Hessian at the point has no negative eigenvalue (the lowest is %.6g): there is no "
                   "escape direction; 'lowest' is its eigenvector",
                   lambda);
            return false;
        }
        snprintf(a->label, sizeof a->label, "t along the %s direction (eigenvalue %.4g)", text, lambda);
        return true;
    }
    if (strcmp(text, "gradient") == 0) {
        p->m->grad(point, p->data, a->dir);
        snprintf(a->label, sizeof a->label, "t along the gradient");
    } else if (is_direction_text(text)) {
        snprintf(a->label, sizeof a->label, "t along (%.120s)/length", text);
        char msg[256];
        if (!cli_parse_point(p->m, text, true, a->dir, msg, sizeof msg)) {
            refuse(p, "the direction '%s': %s", text, msg);
            return false;
        }
    } else {
        a->param = cli_param_index(p->m, text);
        if (a->param < 0) {
            refuse(p, "'%s' is not a parameter of %s, nor escape, lowest, gradient or a direction", text, p->m->name);
            return false;
        }
        a->dir[a->param] = 1;
        a->origin = point[a->param];
        return true;
    }
    double big = 0; /* scaled first, so that 1e200,1e200 and 1e-200,1e-200 have a length */
    bool finite = true;
    for (int i = 0; i < n; i++) {
        finite = finite && isfinite(a->dir[i]);
        big = fmax(big, fabs(a->dir[i]));
    }
    if (!finite) {
        refuse(p, "the gradient at the point is not finite: there is no gradient direction to draw along");
        return false;
    }
    for (int i = 0; big > 0 && i < n; i++)
        a->dir[i] /= big;
    double len = big > 0 ? sqrt(dot(a->dir, a->dir, n)) : 0;
    if (!(len > 0)) {
        if (strcmp(text, "gradient") == 0)
            refuse(p, "the gradient at the point has length zero: there is no gradient direction to draw along (it "
                      "is a critical point)");
        else
            refuse(p, "the direction '%s' has length zero", text);
        return false;
    }
    for (int i = 0; i < n; i++)
        a->dir[i] /= len;
    return true;
}

/* Two axes of a plane: the second made orthogonal to the first if it is not. */
static bool plane_axes(Plot *p, Axis *x, Axis *y)
{
    int n = p->n;
    double c = dot(x->dir, y->dir, n);
    if (fabs(c) > 1 - 1e-9) {
        refuse(p, "the axes '%s' and '%s' are parallel: they span no plane", x->label, y->label);
        return false;
    }
    if (fabs(c) > 1e-12) {
        for (int i = 0; i < n; i++)
            y->dir[i] -= c * x->dir[i];
        double len = sqrt(dot(y->dir, y->dir, n));
        for (int i = 0; i < n; i++)
            y->dir[i] /= len;
        y->param = -1;
        y->origin = 0;
        size_t l = strlen(y->label);
        snprintf(y->label + l, sizeof y->label - l, ", orthogonal to x");
    }
    return true;
}

static void point_on_plane(int n, const double *point, const Axis *x, const Axis *y, double s, double t, double *theta)
{
    for (int i = 0; i < n; i++)
        theta[i] = point[i] + (s - x->origin) * x->dir[i] + (t - y->origin) * y->dir[i];
}

/* theta's coordinates on the plane, and its distance from it */
static double plane_coordinates(int n, const double *point, const Axis *x, const Axis *y, const double *theta,
                                double *s, double *t)
{
    double a = 0, b = 0, r2 = 0;
    for (int i = 0; i < n; i++) {
        a += (theta[i] - point[i]) * x->dir[i];
        b += (theta[i] - point[i]) * y->dir[i];
    }
    for (int i = 0; i < n; i++) {
        double r = theta[i] - point[i] - a * x->dir[i] - b * y->dir[i];
        r2 += r * r;
    }
    *s = x->origin + a;
    *t = y->origin + b;
    return sqrt(r2);
}

/* ---- the common options ---- */

typedef struct {
    const char *out, *at, *xaxis, *yaxis, *box, *range, *along, *methods, *from[64];
    int nfrom;
    double grid, starts, seed, max_iter, step, points;
    hessrt_method method;
    bool keep, have_grid, have_starts, have_seed, have_method, log;
} Options;

static bool whole(const char *s, double lo, double hi, double *out)
{
    return cli_parse_double(s, out) && *out >= lo && *out <= hi && *out == floor(*out);
}

/* Parses the options every plot kind knows; which it takes is checked by the caller. */
static int parse_options(Plot *p, int argc, char **argv, Options *o)
{
    memset(o, 0, sizeof *o);
    o->seed = 1;
    o->max_iter = -1;
    o->step = -1;
    o->method = HESSRT_PURE;
    /* the arguments for the script's comment: control characters (a newline would end the
     * comment) shown as '?', and "..." where they do not fit */
    size_t used = 0, room = sizeof p->cmdline - 5;
    for (int i = 0; i < argc && used < room; i++) {
        p->cmdline[used++] = ' ';
        for (const char *c = argv[i]; *c && used < room; c++)
            p->cmdline[used++] = iscntrl((unsigned char)*c) ? '?' : *c;
    }
    strcpy(p->cmdline + used, used == room ? " ..." : "");
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--keep-script") == 0 || strcmp(a, "--log") == 0) {
            if (a[2] == 'k')
                o->keep = true;
            else
                o->log = true;
            continue;
        }
        if (!v)
            return refuse(p, "'%s' is unknown or needs a value", a);
        i++;
        if (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0)
            o->out = v;
        else if (strcmp(a, "--at") == 0)
            o->at = v;
        else if (strcmp(a, "--x") == 0)
            o->xaxis = v;
        else if (strcmp(a, "--y") == 0)
            o->yaxis = v;
        else if (strcmp(a, "--box") == 0)
            o->box = v;
        else if (strcmp(a, "--range") == 0)
            o->range = v;
        else if (strcmp(a, "--along") == 0)
            o->along = v;
        else if (strcmp(a, "--methods") == 0)
            o->methods = v;
        else if (strcmp(a, "--from") == 0) {
            if (o->nfrom == 64)
                return refuse(p, "at most 64 start points");
            o->from[o->nfrom++] = v;
        } else if (strcmp(a, "--grid") == 0) {
            if (!whole(v, 2, 1000, &o->grid))
                return refuse(p, "--grid takes a whole number from 2 to 1000, not '%s'", v);
            o->have_grid = true;
        } else if (strcmp(a, "--points") == 0) {
            if (!whole(v, 2, 1000000, &o->points))
                return refuse(p, "--points takes a whole number from 2 to 1000000, not '%s'", v);
        } else if (strcmp(a, "--starts") == 0) {
            if (!whole(v, 0, 100000, &o->starts))
                return refuse(p, "--starts takes a whole number from 0 to 100000, not '%s'", v);
            o->have_starts = true;
        } else if (strcmp(a, "--seed") == 0) {
            if (!whole(v, 0, 1e15, &o->seed))
                return refuse(p, "--seed takes a whole number, not '%s'", v);
            o->have_seed = true;
        } else if (strcmp(a, "--method") == 0) {
            if (hessrt_method_parse(v, &o->method) != 0 || o->method == HESSRT_GD)
                return refuse(p, "--method takes pure, damped, saddle-free or trust-region, not '%s'", v);
            o->have_method = true;
        } else if (strcmp(a, "--max-iter") == 0) {
            if (!whole(v, 0, 1e7, &o->max_iter))
                return refuse(p, "--max-iter takes a whole number up to 10000000, not '%s'", v);
        } else if (strcmp(a, "--step") == 0) {
            if (!cli_parse_double(v, &o->step) || o->step < 0)
                return refuse(p, "--step takes a non-negative number, not '%s'", v);
        } else {
            return refuse(p, "unknown argument '%s'", a);
        }
    }
    if (!o->out)
        return refuse(p, "-o FILE.png or -o FILE.svg is required");
    for (const char *c = o->out; *c; c++)
        if (iscntrl((unsigned char)*c))
            return refuse(p, "the output file's name has a control character (such as a newline) in it");
    const char *dot_ = strrchr(o->out, '.');
    const char *slash = strrchr(o->out, '/');
    if (!dot_ || (slash && dot_ < slash) || (strcasecmp(dot_, ".png") != 0 && strcasecmp(dot_, ".svg") != 0))
        return refuse(p, "-o takes a file ending in .png or .svg, not '%s'", o->out);
    p->out = o->out;
    p->svg = strcasecmp(dot_, ".svg") == 0;
    p->keep = o->keep;
    return 0;
}

/* Options a kind does not take are refused rather than ignored. */
static int only(Plot *p, const Options *o, const char *allowed)
{
    struct {
        const char *name;
        bool given;
    } all[] = {{"--at", o->at != NULL},           {"--x", o->xaxis != NULL},
               {"--y", o->yaxis != NULL},         {"--box", o->box != NULL},
               {"--range", o->range != NULL},     {"--along", o->along != NULL},
               {"--methods", o->methods != NULL}, {"--from", o->nfrom > 0},
               {"--grid", o->have_grid},          {"--points", o->points > 0},
               {"--starts", o->have_starts},      {"--max-iter", o->max_iter >= 0},
               {"--step", o->step >= 0},          {"--method", o->have_method},
               {"--seed", o->have_seed},          {"--log", o->log}};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        char key[32];
        snprintf(key, sizeof key, "%s ", all[i].name);
        if (all[i].given && !strstr(allowed, key))
            return refuse(p, "%s is not an option of plot %s", all[i].name, p->kind);
    }
    return 0;
}

/* A point: every parameter, or by name those that differ from the start values. */
static int parse_start(Plot *p, const char *text, const char *what, double *theta)
{
    p->m->start(theta);
    char msg[256];
    if (text && !cli_parse_point(p->m, text, true, theta, msg, sizeof msg))
        return refuse(p, "%s: %s", what, msg);
    return 0;
}

/* A range a grid can be laid over: its width finite, and wide enough that neighbouring
 * points of a grid of up to 1000 are distinct doubles. */
static int check_range(Plot *p, const char *what, double lo, double hi)
{
    double width = hi - lo;
    if (isfinite(width) && width > 1e-9 * fmax(fabs(lo), fabs(hi)))
        return 0;
    return refuse(p, "the %s [%g, %g] is %s for double precision: give a %s", what, lo, hi,
                  isfinite(width) ? "too narrow at that magnitude" : "too wide",
                  strcmp(what, "range") == 0 ? "--range" : "--box");
}

/* The box of a plane: LO:HI for both axes or LO:HI,LO:HI; default 2 either side of the point. */
static int parse_box(Plot *p, const char *text, const Axis *x, const Axis *y, double box[4])
{
    box[0] = x->origin - 2, box[1] = x->origin + 2, box[2] = y->origin - 2, box[3] = y->origin + 2;
    if (!text)
        return check_range(p, "box's x range", box[0], box[1]) || check_range(p, "box's y range", box[2], box[3]) ? 2
                                                                                                                  : 0;
    const char *comma = strchr(text, ',');
    bool ok;
    if (comma) {
        char *first = strndup(text, (size_t)(comma - text));
        ok = first && cli_parse_range(first, &box[0], &box[1]) && cli_parse_range(comma + 1, &box[2], &box[3]);
        free(first);
    } else {
        ok = cli_parse_range(text, &box[0], &box[1]);
        box[2] = box[0], box[3] = box[1];
    }
    if (!ok)
        return refuse(p, "--box takes LO:HI (both axes) or LO:HI,LO:HI with LO < HI and finite numbers, not '%s'",
                      text);
    return check_range(p, "box's x range", box[0], box[1]) || check_range(p, "box's y range", box[2], box[3]) ? 2 : 0;
}

/* The plane's axes: --x and --y, or the two parameters of a two-parameter model. */
static int parse_plane(Plot *p, const Options *o, const double *point, Axis *x, Axis *y)
{
    if (p->n < 2)
        return refuse(p, "the model has %d parameter; a surface needs two (plot slice draws the loss along one)", p->n);
    if (!o->xaxis != !o->yaxis)
        return refuse(p, "--x and --y go together");
    if (!o->xaxis && p->n > 2)
        return refuse(p, "the model has %d parameters: name the plane with --x AXIS --y AXIS", p->n);
    char *x0 = cli_param_name(p->m, 0), *y0 = cli_param_name(p->m, 1);
    const char *xs = o->xaxis ? o->xaxis : x0, *ys = o->yaxis ? o->yaxis : y0;
    bool ok = xs && ys && parse_axis(p, xs, point, x) && parse_axis(p, ys, point, y) && plane_axes(p, x, y);
    free(x0);
    free(y0);
    return ok ? 0 : 2;
}

/* ---- running gnuplot ---- */

/* gnuplot's path on PATH, or NULL */
static char *find_gnuplot(void)
{
    const char *path = getenv("PATH");
    if (!path)
        return NULL;
    char *copy = strdup(path), *save = NULL;
    char *found = NULL;
    for (char *dir = strtok_r(copy, ":", &save); dir && !found; dir = strtok_r(NULL, ":", &save)) {
        size_t len = strlen(dir) + sizeof "/gnuplot";
        char *full = malloc(len);
        snprintf(full, len, "%s/gnuplot", *dir ? dir : ".");
        struct stat st;
        if (stat(full, &st) == 0 && S_ISREG(st.st_mode) && access(full, X_OK) == 0)
            found = full;
        else
            free(full);
    }
    free(copy);
    return found;
}

/* out without its extension, plus ext */
static char *beside(const char *out, const char *ext)
{
    size_t base = (size_t)(strrchr(out, '.') - out);
    char *s = malloc(base + strlen(ext) + 1);
    memcpy(s, out, base);
    strcpy(s + base, ext);
    return s;
}

static const char *basename_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* The plot's temporary files: removed if a signal ends the program before they are renamed. */
static char *volatile pending[3];

static void remove_pending(int sig)
{
    for (int i = 0; i < 3; i++)
        if (pending[i])
            unlink(pending[i]); /* async-signal-safe */
    signal(sig, SIG_DFL);
    raise(sig);
}

/* A new temporary file beside final (cli_temporary), registered in pending[slot]; its name into
 * tmp, or -1 and NULL. The signals wait while it is made and registered: one between the two
 * would leave the file behind (a sanitized test's SIGTERM once did). */
static int temporary(const char *final, int slot, char **tmp)
{
    sigset_t block, saved;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGHUP);
    sigprocmask(SIG_BLOCK, &block, &saved);
    int fd = cli_temporary(final, tmp);
    if (fd >= 0)
        pending[slot] = *tmp;
    sigprocmask(SIG_SETMASK, &saved, NULL);
    return fd;
}

/* Removes a temporary file that was not renamed into place. */
static void discard(int slot, char **tmp)
{
    if (*tmp)
        unlink(*tmp);
    pending[slot] = NULL;
    free(*tmp);
    *tmp = NULL;
}

/* Renames a temporary file into place; false (and errno) if it cannot. */
static bool place(int slot, char **tmp, const char *final)
{
    if (rename(*tmp, final) != 0)
        return false;
    pending[slot] = NULL;
    free(*tmp);
    *tmp = NULL;
    return true;
}

static bool write_all(int fd, const Text *t)
{
    size_t done = 0;
    bool ok = true;
    while (ok && done < t->len) {
        ssize_t w = write(fd, t->s + done, t->len - done);
        if (w < 0 && errno == EINTR)
            continue;
        ok = w > 0;
        done += ok ? (size_t)w : 0;
    }
    return close(fd) == 0 && ok;
}

/* Data or script into a temporary file in the output's directory. */
static bool write_temporary(const Plot *p, int slot, const Text *t, char **tmp)
{
    int fd = temporary(p->out, slot, tmp);
    if (fd < 0 || !write_all(fd, t)) {
        fprintf(p->diag, "%s: plot %s: cannot write in the directory of '%s': %s\n", p->prog, p->kind, p->out,
                strerror(errno));
        discard(slot, tmp);
        return false;
    }
    return true;
}

static bool image_is_valid(const char *path, bool svg)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    /* its start and its end: a file cut short is not an image */
    char head[1024] = {0}, tail[64] = {0};
    size_t got = fread(head, 1, sizeof head - 1, f), last = 0;
    if (fseek(f, -(long)(sizeof tail - 1), SEEK_END) == 0 || fseek(f, 0, SEEK_SET) == 0)
        last = fread(tail, 1, sizeof tail - 1, f);
    fclose(f);
    if (svg)
        return got > 0 && strstr(head, "<svg") != NULL && strstr(tail, "</svg>") != NULL;
    static const unsigned char iend[12] = {0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xae, 0x42, 0x60, 0x82};
    return got >= 8 && memcmp(head, "\x89PNG\r\n\x1a\n", 8) == 0 && last >= 12 &&
           memcmp(tail + last - 12, iend, 12) == 0;
}

/* The header every script starts with, and its terminal. */
static void script_head(const Plot *p, Text *gp, const char *what, int width, int height)
{
    char *dat = beside(p->out, ".dat"), *script = beside(p->out, ".gp");
    put(gp, "# %s\n# made by: %s plot %s%s\n", what, p->m->name, p->kind, p->cmdline);
    put(gp, "# To restyle it, edit this file and run `gnuplot %s` in its directory.\n", basename_of(script));
    put(gp, "if (!exists(\"datafile\")) datafile = ");
    put_gp_string(gp, basename_of(dat));
    put(gp, "\nif (!exists(\"outfile\")) outfile = ");
    put_gp_string(gp, basename_of(p->out));
    put(gp, "\n");
    if (p->svg)
        put(gp, "set terminal svg size %d,%d dynamic noenhanced font 'sans,12' background 'white'\n", width, height);
    else
        put(gp, "set terminal pngcairo size %d,%d noenhanced font 'sans,11'\n", width, height);
    put(gp, "set output outfile\nset datafile missing 'NaN'\n");
    free(dat);
    free(script);
}

/* Writes the data and script, runs gnuplot, and renames (with --keep-script) the data and
 * script and then the image into place. 0, or 1 after a message; on failure no temporary file
 * stays, and the image, if one was there, is as it was. */
static int render(Plot *p, const Text *dat, const Text *gp)
{
    enum { DAT, GP, IMG };
    char *gnuplot = find_gnuplot();
    char *final_dat = beside(p->out, ".dat"), *final_gp = beside(p->out, ".gp");
    char *tmp[3] = {NULL, NULL, NULL};
    int rc = 1;
    struct sigaction cleanup = {0}, old[3];
    static const int sigs[3] = {SIGINT, SIGTERM, SIGHUP};
    cleanup.sa_handler = remove_pending;
    sigemptyset(&cleanup.sa_mask);
    for (int i = 0; i < 3; i++)
        sigaction(sigs[i], &cleanup, &old[i]);
    if (!write_temporary(p, DAT, dat, &tmp[DAT]) || !write_temporary(p, GP, gp, &tmp[GP]))
        goto out;
    if (!gnuplot) {
        fprintf(p->diag,
                "%s: plot %s: gnuplot is not on the PATH, and it draws the plots: install it (on Debian, "
                "`apt-get install gnuplot-nox`) and run this again\n",
                p->prog, p->kind);
        if (p->keep) {
            if (place(DAT, &tmp[DAT], final_dat) && place(GP, &tmp[GP], final_gp))
                fprintf(p->diag, "%s: plot %s: the data and script are written: %s and %s\n", p->prog, p->kind,
                        final_dat, final_gp);
            else
                fprintf(p->diag, "%s: plot %s: cannot write %s: %s\n", p->prog, p->kind,
                        tmp[DAT] ? final_dat : final_gp, strerror(errno));
        }
        goto out;
    }
    int fd = temporary(p->out, IMG, &tmp[IMG]);
    if (fd < 0) {
        fprintf(p->diag, "%s: plot %s: cannot write in the directory of '%s': %s\n", p->prog, p->kind, p->out,
                strerror(errno));
        goto out;
    }
    close(fd);
    Text set = {0};
    put(&set, "datafile = ");
    put_gp_string(&set, tmp[DAT]);
    put(&set, "; outfile = ");
    put_gp_string(&set, tmp[IMG]);
    FILE *err = tmpfile();
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    if (err)
        posix_spawn_file_actions_adddup2(&fa, fileno(err), 2);
    else /* not the caller's stderr: in a binding that is the host program's */
        posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    char *argv[] = {gnuplot, "-e", set.s, tmp[GP], NULL};
    pid_t pid;
    int status = -1, spawned = posix_spawn(&pid, gnuplot, &fa, NULL, argv, environ);
    if (spawned == 0)
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
    posix_spawn_file_actions_destroy(&fa);
    free(set.s);
    bool ok = spawned == 0 && status == 0 && image_is_valid(tmp[IMG], p->svg);
    if (!ok) {
        char why[128];
        if (spawned != 0)
            snprintf(why, sizeof why, "it cannot be started: %s", strerror(spawned));
        else if (WIFSIGNALED(status))
            snprintf(why, sizeof why, "it was ended by signal %d", WTERMSIG(status));
        else if (status != 0)
            snprintf(why, sizeof why, "exit status %d", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        else
            snprintf(why, sizeof why, "what it wrote is not a whole %s image", p->svg ? "SVG" : "PNG");
        fprintf(p->diag, "%s: plot %s: gnuplot failed (%s) and no image was written\n", p->prog, p->kind, why);
        if (err) {
            rewind(err);
            char line[512];
            int lines = 0;
            while (fgets(line, sizeof line, err) && lines++ < 20)
                fprintf(p->diag, "  gnuplot: %s", line);
        }
    }
    if (err)
        fclose(err);
    if (!ok)
        goto out;
    /* the data and script first: if they cannot be placed, the old image is left as it was */
    if (p->keep && !place(DAT, &tmp[DAT], final_dat)) {
        fprintf(p->diag, "%s: plot %s: cannot write '%s': %s\n", p->prog, p->kind, final_dat, strerror(errno));
        goto out;
    }
    if (p->keep && !place(GP, &tmp[GP], final_gp)) {
        fprintf(p->diag, "%s: plot %s: cannot write '%s': %s (%s is written)\n", p->prog, p->kind, final_gp,
                strerror(errno), final_dat);
        goto out;
    }
    if (!place(IMG, &tmp[IMG], p->out)) {
        fprintf(p->diag, "%s: plot %s: cannot write '%s': %s%s\n", p->prog, p->kind, p->out, strerror(errno),
                p->keep ? " (its data and script are written)" : "");
        goto out;
    }
    rc = 0;
out:
    for (int i = 0; i < 3; i++)
        discard(i, &tmp[i]);
    for (int i = 0; i < 3; i++)
        sigaction(sigs[i], &old[i], NULL);
    free(final_dat);
    free(final_gp);
    free(gnuplot);
    return rc;
}

static void report_written(const Plot *p)
{
    fprintf(p->report, "wrote %s", p->out);
    if (p->keep) {
        char *dat = beside(p->out, ".dat"), *gp = beside(p->out, ".gp");
        fprintf(p->report, ", %s and %s", dat, gp);
        free(dat);
        free(gp);
    }
    fprintf(p->report, "\n");
}

/* ---- the loss on a grid (surface, paths) ---- */

/* index block: `x y loss` rows, a blank line after each x; loss evaluations only. Between
 * grid points only the coordinates the axes move change: two for parameter axes. */
static void put_grid(Plot *p, Text *dat, const double *point, const Axis *x, const Axis *y, const double box[4],
                     int grid)
{
    int n = p->n, moved = 0;
    double *theta = vec(n);
    int *support = malloc(sizeof(int) * (size_t)n);
    if (!support)
        abort();
    memcpy(theta, point, sizeof(double) * (size_t)n);
    for (int i = 0; i < n; i++)
        if (x->dir[i] != 0 || y->dir[i] != 0)
            support[moved++] = i;
    put(dat, "# the loss on a %dx%d grid: %s, %s, loss\n", grid, grid, x->label, y->label);
    for (int i = 0; i < grid; i++) {
        double s = box[0] + (box[1] - box[0]) * i / (grid - 1);
        for (int j = 0; j < grid; j++) {
            double t = box[2] + (box[3] - box[2]) * j / (grid - 1);
            for (int k = 0; k < moved; k++) {
                int c = support[k];
                theta[c] = point[c] + (s - x->origin) * x->dir[c] + (t - y->origin) * y->dir[c];
            }
            put_number(dat, "", s);
            put_number(dat, " ", t);
            put_number(dat, " ", loss_at(p, theta));
            put(dat, "\n");
        }
        put(dat, "\n");
    }
    put(dat, "\n");
    free(theta);
    free(support);
}

/* the loss column as drawn: log10 of it with --log (where it is positive) */
static const char *loss_column(bool log)
{
    return log ? "($3 > 0 ? log10($3) : NaN)" : "3";
}

/* contour lines of data block 0 into $contours, for a map */
static void put_contours(Text *gp, int levels, bool log)
{
    put(gp, "set contour base\nset cntrparam levels auto %d\nunset surface\nset view map\n", levels);
    put(gp, "set table $contours\nsplot datafile index 0 using 1:2:%s with lines notitle\nunset table\n",
        loss_column(log));
    put(gp, "unset contour\nset surface\n");
}

static const char *const palette =
    "set palette defined (0 '#30123b', 1 '#4662d7', 2 '#36aaf9', 3 '#1ae4b6', 4 '#72fe5e', 5 '#c8ef34', "
    "6 '#faba39', 7 '#f66b19', 8 '#ca2a04', 9 '#7a0403')\n";

/* ---- plot surface ---- */

typedef struct {
    const Plot *p;
    const double *point;
    const Axis *x, *y;
    const double *box;
} Plane;

static void draw_on_plane(void *user, unsigned long long *state, double *theta)
{
    const Plane *pl = user;
    double s = pl->box[0] + (pl->box[1] - pl->box[0]) * cli_uniform(state);
    double t = pl->box[2] + (pl->box[3] - pl->box[2]) * cli_uniform(state);
    point_on_plane(pl->p->n, pl->point, pl->x, pl->y, s, t, theta);
}

/* a critical point counts if it is on the plane and in the box */
static bool on_plane(void *user, const double *theta)
{
    const Plane *pl = user;
    double s, t, size = sqrt(dot(theta, theta, pl->p->n));
    double off = plane_coordinates(pl->p->n, pl->point, pl->x, pl->y, theta, &s, &t);
    double wx = 1e-9 * (pl->box[1] - pl->box[0]), wy = 1e-9 * (pl->box[3] - pl->box[2]);
    return off <= 1e-6 * (1 + size) && s >= pl->box[0] - wx && s <= pl->box[1] + wx && t >= pl->box[2] - wy &&
           t <= pl->box[3] + wy;
}

static const char *const kinds[] = {"min", "max", "saddle", "degenerate"};
static const char *const kind_style[] = {
    "pt 7 ps 1.6 lc rgb '#1a9850' title 'local minimum'",
    "pt 9 ps 1.8 lc rgb '#d73027' title 'local maximum'",
    "pt 5 ps 1.6 lc rgb '#ff8c00' title 'saddle'",
    "pt 6 ps 1.5 lw 2 lc rgb '#ff00ff' title 'degenerate (a zero eigenvalue)'",
};

static int plot_surface(Plot *p, int argc, char **argv)
{
    Options o;
    int rc = parse_options(p, argc, argv, &o);
    if (rc || (rc = only(p, &o, "--at --x --y --box --grid --starts --seed --method --log ")))
        return rc;
    int n = p->n;
    double *point = vec(n), box[4];
    Axis x = {0}, y = {0};
    if ((rc = parse_start(p, o.at, "--at", point)) || (rc = parse_plane(p, &o, point, &x, &y)) ||
        (rc = parse_box(p, o.box, &x, &y, box)))
        goto done;
    int grid = o.have_grid ? (int)o.grid : 200;
    int starts = o.have_starts ? (int)o.starts : n <= 10 ? 100 : n <= 200 ? 30 : 0;
    if (starts > 0 && n > DENSE_LIMIT) {
        rc = refuse(p,
                    "--starts: the critical-point search runs Newton with dense Hessians, and the model has %d "
                    "parameters (the limit is %d)",
                    n, DENSE_LIMIT);
        goto done;
    }
    Text dat = {0}, gp = {0};
    put(&dat, "# hessgen plot surface of %s: x = %s, y = %s\n", p->m->name, x.label, y.label);
    put(&dat, "# through the point ");
    for (int i = 0; i < n && i < 20; i++) {
        char *name = cli_param_name(p->m, i);
        put(&dat, "%s%s = %.17g", i ? ", " : "", name ? name : "?", point[i] + 0.0);
        free(name);
    }
    put(&dat, n > 20 ? ", ...\n" : "\n");
    put_grid(p, &dat, point, &x, &y, box, grid);
    long grid_evaluations = p->loss_evaluations;

    /* the critical points the search finds on the plane, by kind, and the saddles' escapes */
    Plane plane = {p, point, &x, &y, box};
    cli_critical_points cp = {0};
    if (starts > 0)
        cli_find_critical(p->m, p->data, o.method, starts, draw_on_plane, on_plane, &plane, (unsigned long long)o.seed,
                          &cp);
    int count[4] = {0}, arrows = 0, block = 1, points_block = -1, arrows_block = -1;
    Text pts = {0}, arr = {0};
    for (int k = 0; k < cp.found; k++) {
        const double *theta = cp.points + (size_t)k * n;
        hessrt_report r;
        if (hessrt_classify(p->m, p->data, theta, NULL, &r) != 0) {
            hessrt_report_free(&r);
            continue;
        }
        int kind = r.verdict == HESSRT_MIN          ? 0
                   : r.verdict == HESSRT_MAX        ? 1
                   : r.verdict == HESSRT_SADDLE     ? 2
                   : r.verdict == HESSRT_DEGENERATE ? 3
                                                    : -1;
        if (kind >= 0) {
            double s, t;
            plane_coordinates(n, point, &x, &y, theta, &s, &t);
            count[kind]++;
            put_number(&pts, "", s);
            put_number(&pts, " ", t);
            put_number(&pts, " ", r.loss);
            put(&pts, " %s %d\n", kinds[kind], cp.hits[k]);
            if (r.escape) {
                double ex = dot(r.escape, x.dir, n), ey = dot(r.escape, y.dir, n);
                if (hypot(ex, ey) > 1e-6) { /* an escape across the plane draws no arrow */
                    put_number(&arr, "", s);
                    put_number(&arr, " ", t);
                    put_number(&arr, " ", ex);
                    put_number(&arr, " ", ey);
                    put(&arr, "\n");
                    arrows++;
                }
            }
        }
        hessrt_report_free(&r);
    }
    if (pts.len) {
        points_block = block++;
        put(&dat,
            "# critical points found by %d starts of %s Newton: %s, %s, loss, kind, starts that reached it\n%s\n\n",
            starts, hessrt_method_name(o.method), x.label, y.label, pts.s);
    }
    if (arr.len) {
        arrows_block = block++;
        put(&dat, "# escape directions at the saddles (unit, on the plane): x, y, dx, dy\n%s\n\n", arr.s);
    }
    free(pts.s);
    free(arr.s);

    char what[512];
    snprintf(what, sizeof what, "The loss of %s over %s in [%g, %g] and %s in [%g, %g]", p->m->name, x.label, box[0],
             box[1], y.label, box[2], box[3]);
    script_head(p, &gp, what, 1500, 680);
    put(&gp, "%s", palette);
    put(&gp, "set xrange [%.17g:%.17g]\nset yrange [%.17g:%.17g]\n", box[0], box[1], box[2], box[3]);
    put(&gp, "set xlabel \"%s\"\nset ylabel \"%s\"\n", x.label, y.label);
    put_contours(&gp, 14, o.log);
    put(&gp, "set multiplot layout 1,2 title \"%s\"\n", what);
    /* left: the surface in 3-D, on a coarser mesh so that an SVG stays small */
    int every = grid > 60 ? (grid + 59) / 60 : 1;
    put(&gp,
        "set title 'the loss surface'\nset view 55,35\nset zlabel '%s' rotate\nset pm3d depthorder\n"
        "set style fill solid 1 noborder\nunset colorbox\nset ticslevel 0\n",
        o.log ? "log10 loss" : "loss");
    put(&gp, "splot datafile index 0 every %d:%d using 1:2:%s with pm3d notitle", every, every, loss_column(o.log));
    if (points_block >= 0)
        put(&gp, ", \\\n      datafile index %d using 1:2:%s with points pt 7 ps 1.2 lc rgb 'black' notitle",
            points_block, loss_column(o.log));
    put(&gp, "\n");
    /* right: the map, with the contour lines, the critical points and the escape arrows */
    double arrow = 0.12 * fmin(box[1] - box[0], box[3] - box[2]);
    put(&gp, "set title 'contour map, critical points and escape directions'\nset view map\nset size ratio -1\n"
             "set colorbox\nset key outside bottom center horizontal box samplen 2 spacing 1.2\n");
    put(&gp,
        "set cblabel '%s'\nplot datafile index 0 using 1:2:%s with image notitle, \\\n"
        "     $contours using 1:2 with lines lw 1 lc rgb '#404040' notitle",
        o.log ? "log10 loss" : "loss", loss_column(o.log));
    if (arrows_block >= 0)
        put(&gp,
            ", \\\n     datafile index %d using 1:2:($3*%.6g):($4*%.6g) with vectors head filled size "
            "screen 0.012,20 lw 3 lc rgb '#ff8c00' title 'escape direction', \\\n"
            "     datafile index %d using 1:2:(-$3*%.6g):(-$4*%.6g) with vectors head filled size "
            "screen 0.012,20 lw 3 lc rgb '#ff8c00' notitle",
            arrows_block, arrow, arrow, arrows_block, arrow, arrow);
    for (int k = 0; k < 4; k++)
        if (count[k])
            put(&gp, ", \\\n     datafile index %d using 1:(strcol(4) eq '%s' ? $2 : NaN) with points %s", points_block,
                kinds[k], kind_style[k]);
    put(&gp, "\nunset multiplot\n");
    rc = render(p, &dat, &gp);
    if (rc == 0) {
        report_written(p);
        fprintf(p->report, "%dx%d grid: %ld loss evaluations, no derivatives", grid, grid, grid_evaluations);
        if (starts > 0) {
            static const char *const one[] = {"minimum", "maximum", "saddle", "degenerate point"};
            static const char *const many[] = {"minima", "maxima", "saddles", "degenerate points"};
            fprintf(p->report, "; %d Newton starts found on the plane:", starts);
            int listed = 0;
            for (int k = 0; k < 4; k++)
                if (count[k])
                    fprintf(p->report, "%s %d %s", listed++ ? "," : "", count[k], count[k] == 1 ? one[k] : many[k]);
            fprintf(p->report, listed ? "" : " no critical point");
        }
        fprintf(p->report, "\n");
    }
    cli_critical_points_free(&cp);
    free(dat.s);
    free(gp.s);
done:
    free(point);
    free(x.dir);
    free(y.dir);
    return rc;
}

/* ---- methods: paths and convergence ---- */

static const char *const method_colour[] = {"#d62728", "#ff7f0e", "#1f77b4", "#9467bd", "#2ca02c"};

static int parse_methods(Plot *p, const char *text, hessrt_method *list, int *count)
{
    char *copy = strdup(text ? text : "pure,saddle-free,gd"), *save = NULL;
    *count = 0;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        hessrt_method m;
        if (hessrt_method_parse(tok, &m) != 0) {
            refuse(p, "--methods: '%s' is not a method (pure, damped, saddle-free, trust-region, gd)", tok);
            free(copy);
            return 2;
        }
        for (int k = 0; k < *count; k++)
            if (list[k] == m) {
                refuse(p, "--methods: '%s' is named twice", tok);
                free(copy);
                return 2;
            }
        list[(*count)++] = m;
    }
    free(copy);
    if (*count == 0)
        return refuse(p, "--methods names no method");
    return 0;
}

static hessrt_newton_options method_options(const Options *o, hessrt_method m)
{
    hessrt_newton_options no = hessrt_default_newton_options(m);
    if (o->max_iter >= 0)
        no.max_iterations = (int)o->max_iter;
    if (o->step >= 0 && m == HESSRT_GD)
        no.gd_step = o->step;
    no.record_path = 1;
    return no;
}

/* the verdict where a run ended, for the legend ("" where the Hessian is too big to ask) */
static const char *end_verdict(const Plot *p, const hessrt_newton_result *r)
{
    if (p->n > DENSE_LIMIT || !isfinite(r->loss))
        return "";
    hessrt_report rep;
    if (hessrt_classify(p->m, p->data, r->theta, NULL, &rep) != 0) {
        hessrt_report_free(&rep);
        return "";
    }
    hessrt_verdict v = rep.verdict;
    hessrt_report_free(&rep);
    return hessrt_verdict_name(v);
}

/* A run that could not start (a value not finite at the start) still has its start as row 0,
 * so that every run is one block of the data file and the blocks keep their numbers. */
static void ensure_start_row(const Plot *p, hessrt_newton_result *r, const double *start)
{
    if (r->ntrace > 0)
        return;
    r->trace[0] = (hessrt_trace_row){0, p->m->loss(start, p->data), NAN, 0, NAN};
    if (r->path)
        memcpy(r->path, start, sizeof(double) * (size_t)p->n);
    r->ntrace = 1;
}

/* "converged after 3 iterations", or "not finite at the start" */
static void run_outcome(const hessrt_newton_result *r, char *out, size_t len)
{
    if (r->status == HESSRT_DIVERGED && r->iterations == 0)
        snprintf(out, len, "not finite at the start");
    else
        snprintf(out, len, "%s after %d iterations", hessrt_status_name(r->status), r->iterations);
}

static int check_path_memory(Plot *p, const Options *o, int runs)
{
    /* per iterate: its theta, its trace row, and its line of the data file */
    double iters = o->max_iter >= 0 ? o->max_iter + 1 : 10001;
    if (iters * (8.0 * p->n + sizeof(hessrt_trace_row) + 120) * runs > 8e8)
        return refuse(p,
                      "keeping every iterate of %d run%s of %d parameters for up to %.0f iterations could take "
                      "over 800 MB: lower --max-iter",
                      runs, runs > 1 ? "s" : "", p->n, iters - 1);
    return 0;
}

static int plot_paths(Plot *p, int argc, char **argv)
{
    Options o;
    int rc = parse_options(p, argc, argv, &o);
    if (rc || (rc = only(p, &o, "--at --x --y --box --grid --methods --from --max-iter --step --log ")))
        return rc;
    int n = p->n, nm = 0, nfrom = o.nfrom ? o.nfrom : 1;
    hessrt_method methods[5];
    double *starts = malloc(sizeof(double) * (size_t)n * (size_t)nfrom), *point = vec(n), box[4];
    Axis x = {0}, y = {0};
    hessrt_newton_result *runs = NULL;
    if (!starts)
        abort();
    if ((rc = parse_methods(p, o.methods, methods, &nm)))
        goto done;
    for (int f = 0; f < nfrom; f++)
        if ((rc = parse_start(p, o.nfrom ? o.from[f] : NULL, "--from", starts + (size_t)f * n)))
            goto done;
    memcpy(point, starts, sizeof(double) * (size_t)n);
    if ((o.at && (rc = parse_start(p, o.at, "--at", point))) || (rc = parse_plane(p, &o, point, &x, &y)) ||
        (rc = check_path_memory(p, &o, nm * nfrom)))
        goto done;
    int nruns = nm * nfrom;
    runs = calloc((size_t)nruns, sizeof *runs);
    double lo[2] = {INFINITY, INFINITY}, hi[2] = {-INFINITY, -INFINITY};
    for (int f = 0; f < nfrom; f++)
        for (int k = 0; k < nm; k++) {
            hessrt_newton_result *r = &runs[f * nm + k];
            hessrt_newton_options no = method_options(&o, methods[k]);
            hessrt_newton(p->m, p->data, starts + (size_t)f * n, &no, r);
            ensure_start_row(p, r, starts + (size_t)f * n);
            for (int it = 0; it < r->ntrace; it++) {
                double s, t;
                plane_coordinates(n, point, &x, &y, r->path + (size_t)it * n, &s, &t);
                if (isfinite(s) && isfinite(t)) {
                    lo[0] = fmin(lo[0], s), hi[0] = fmax(hi[0], s);
                    lo[1] = fmin(lo[1], t), hi[1] = fmax(hi[1], t);
                }
            }
        }
    if (o.box) {
        if ((rc = parse_box(p, o.box, &x, &y, box)))
            goto done;
    } else { /* every iterate, and a tenth more on each side */
        double origin[2] = {x.origin, y.origin};
        for (int a = 0; a < 2; a++) {
            if (!(lo[a] <= hi[a])) /* no finite iterate at all */
                lo[a] = hi[a] = origin[a];
            double w = hi[a] - lo[a];
            if (!(w > 1e-9 * (1 + fabs(lo[a]))))
                w = 1;
            box[2 * a] = lo[a] - 0.1 * w;
            box[2 * a + 1] = hi[a] + 0.1 * w;
        }
        if ((rc = check_range(p, "box around the paths, x", box[0], box[1])) ||
            (rc = check_range(p, "box around the paths, y", box[2], box[3])))
            goto done;
    }
    Text dat = {0}, gp = {0};
    put(&dat, "# hessgen plot paths of %s: x = %s, y = %s\n", p->m->name, x.label, y.label);
    int grid = o.have_grid ? (int)o.grid : 150;
    put_grid(p, &dat, point, &x, &y, box, grid);
    char what[512];
    snprintf(what, sizeof what, "Paths of %d method%s on %s", nm, nm > 1 ? "s" : "", p->m->name);
    script_head(p, &gp, what, 1000, 860);
    put(&gp, "%s", palette);
    put(&gp, "set xrange [%.17g:%.17g]\nset yrange [%.17g:%.17g]\n", box[0], box[1], box[2], box[3]);
    put(&gp, "set xlabel \"%s\"\nset ylabel \"%s\"\n", x.label, y.label);
    put_contours(&gp, 18, o.log);
    put(&gp,
        "set title \"%s\"\nset size ratio -1\nset key outside bottom center vertical box opaque\n"
        "set cblabel '%s'\nplot datafile index 0 using 1:2:%s with image notitle, \\\n"
        "     $contours using 1:2 with lines lw 1 lc rgb '#505050' notitle",
        what, o.log ? "log10 loss" : "loss", loss_column(o.log));
    for (int f = 0; f < nfrom; f++)
        for (int k = 0; k < nm; k++) {
            const hessrt_newton_result *r = &runs[f * nm + k];
            int block = 1 + f * nm + k;
            const char *verdict = end_verdict(p, r);
            char title[256], outcome[64], from[32] = "";
            run_outcome(r, outcome, sizeof outcome);
            if (nfrom > 1)
                snprintf(from, sizeof from, " from start %d", f + 1);
            snprintf(title, sizeof title, "%s%s: %s%s%s", hessrt_method_name(methods[k]), from, outcome,
                     *verdict ? ", " : "", verdict);
            put(&dat, "# %s from start %d: iteration, x, y, loss, gradient norm\n", hessrt_method_name(methods[k]),
                f + 1);
            put(&dat, "# %s (%s)\n", title, r->reason);
            for (int it = 0; it < r->ntrace; it++) {
                double s, t;
                plane_coordinates(n, point, &x, &y, r->path + (size_t)it * n, &s, &t);
                put(&dat, "%d", it);
                put_number(&dat, " ", s);
                put_number(&dat, " ", t);
                put_number(&dat, " ", r->trace[it].loss);
                put_number(&dat, " ", r->trace[it].gradient_norm);
                put(&dat, "\n");
            }
            put(&dat, "\n\n");
            const char *colour = method_colour[methods[k]];
            put(&gp,
                ", \\\n     datafile index %d using 2:3 with linespoints lw 2 pt 7 ps 0.6 lc rgb '%s' title \"%s\"",
                block, colour, title);
            put(&gp,
                ", \\\n     datafile index %d every ::%d::%d using 2:3 with points pt 5 ps 2.2 lc rgb '%s' notitle",
                block, r->ntrace - 1, r->ntrace - 1, colour);
            fprintf(p->report, "%-13s from start %d: %s at ", hessrt_method_name(methods[k]), f + 1, outcome);
            cli_text_point(p->report, p->m, r->theta);
            fprintf(p->report, ", loss %.6g%s%s\n", r->loss, *verdict ? ", " : "", verdict);
        }
    put(&gp,
        ", \\\n     datafile index 1 every ::0::0 using 2:3 with points pt 13 ps 2.2 lc rgb 'black' title 'start'");
    for (int f = 1; f < nfrom; f++)
        put(&gp, ", \\\n     datafile index %d every ::0::0 using 2:3 with points pt 13 ps 2.2 lc rgb 'black' notitle",
            1 + f * nm);
    put(&gp, "\n");
    rc = render(p, &dat, &gp);
    if (rc == 0)
        report_written(p);
    free(dat.s);
    free(gp.s);
done:
    for (int k = 0; runs && k < nm * nfrom; k++)
        hessrt_newton_result_free(&runs[k]);
    free(runs);
    free(starts);
    free(point);
    free(x.dir);
    free(y.dir);
    return rc;
}

/* "log" when the positive values of column col of every run span more than two decades */
static bool spans_decades(const hessrt_newton_result *runs, int nruns, int col)
{
    double lo = INFINITY, hi = 0;
    for (int k = 0; k < nruns; k++)
        for (int it = 0; it < runs[k].ntrace; it++) {
            double v = col == 0 ? runs[k].trace[it].loss : runs[k].trace[it].gradient_norm;
            if (v > 0 && isfinite(v))
                lo = fmin(lo, v), hi = fmax(hi, v);
        }
    return hi > 100 * lo;
}

static int plot_convergence(Plot *p, int argc, char **argv)
{
    Options o;
    int rc = parse_options(p, argc, argv, &o);
    if (rc || (rc = only(p, &o, "--methods --from --max-iter --step ")))
        return rc;
    if (o.nfrom > 1)
        return refuse(p, "one start point (--from) only: plot paths draws several");
    int n = p->n, nm = 0;
    hessrt_method methods[5];
    double *start = vec(n);
    hessrt_newton_result *runs = NULL;
    if ((rc = parse_methods(p, o.methods, methods, &nm)) || (rc = parse_start(p, o.from[0], "--from", start)) ||
        (rc = check_path_memory(p, &o, nm)))
        goto done;
    runs = calloc((size_t)nm, sizeof *runs);
    for (int k = 0; k < nm; k++) {
        hessrt_newton_options no = method_options(&o, methods[k]);
        no.record_path = n <= 200; /* for gd's eigenvalues, below */
        hessrt_newton(p->m, p->data, start, &no, &runs[k]);
        ensure_start_row(p, &runs[k], start);
    }
    int started = 0;
    for (int k = 0; k < nm; k++)
        started += !(runs[k].status == HESSRT_DIVERGED && runs[k].iterations == 0);
    if (started == 0) {
        fprintf(p->diag,
                "%s: plot convergence: the loss, gradient or Hessian is not finite at the start: no method "
                "can start there, and there is nothing to draw\n",
                p->prog);
        rc = 1;
        goto done;
    }
    /* gd does not compute the Hessian; for the picture its lowest eigenvalue is taken at each
     * iterate, where the model is small enough */
    double *g = vec(n), *h = n <= 200 ? malloc(sizeof(double) * (size_t)n * (size_t)n) : NULL, *w = vec(n);
    for (int k = 0; k < nm; k++)
        if (methods[k] == HESSRT_GD && h)
            for (int it = 0; it < runs[k].ntrace; it++) {
                p->m->hess(runs[k].path + (size_t)it * n, p->data, g, h);
                runs[k].trace[it].min_eigenvalue = hessrt_eigen_inplace(n, h, w, NULL) == 0 ? w[0] : NAN;
            }
    free(g);
    free(h);
    free(w);
    Text dat = {0}, gp = {0};
    put(&dat, "# hessgen plot convergence of %s\n", p->m->name);
    for (int k = 0; k < nm; k++) {
        const hessrt_newton_result *r = &runs[k];
        char outcome[64];
        run_outcome(r, outcome, sizeof outcome);
        put(&dat, "# %s: %s (%s)\n# iteration, loss, gradient norm, lowest Hessian eigenvalue, step\n",
            hessrt_method_name(methods[k]), outcome, r->reason);
        for (int it = 0; it < r->ntrace; it++) {
            put(&dat, "%d", it);
            put_number(&dat, " ", r->trace[it].loss);
            put_number(&dat, " ", r->trace[it].gradient_norm);
            put_number(&dat, " ", r->trace[it].min_eigenvalue);
            put_number(&dat, " ", r->trace[it].step);
            put(&dat, "\n");
        }
        put(&dat, "\n\n");
    }
    char what[256];
    snprintf(what, sizeof what, "Convergence on %s", p->m->name);
    script_head(p, &gp, what, 1000, 1100);
    bool log_loss = spans_decades(runs, nm, 0), log_grad = spans_decades(runs, nm, 1);
    put(&gp,
        "set multiplot layout 3,1 title \"%s\"\nset key inside top right box opaque\nset grid\n"
        "set xlabel 'iteration'\n",
        what);
    const char *panel[3] = {"loss", "gradient norm", "lowest Hessian eigenvalue"};
    bool logs[3] = {log_loss, log_grad, false};
    for (int c = 0; c < 3; c++) {
        put(&gp, "set title '%s%s'\nset ylabel '%s'\n%s\n", panel[c],
            logs[c] ? " (log scale; zeros are not drawn)" : "", panel[c],
            logs[c] ? "set logscale y" : "unset logscale y");
        put(&gp, "plot ");
        for (int k = 0; k < nm; k++) {
            const hessrt_newton_result *r = &runs[k];
            if (logs[c])
                put(&gp, "%sdatafile index %d using 1:($%d > 0 ? $%d : NaN)", k ? ", \\\n     " : "", k, c + 2, c + 2);
            else
                put(&gp, "%sdatafile index %d using 1:%d", k ? ", \\\n     " : "", k, c + 2);
            put(&gp, " with linespoints lw 2 pt 7 ps 0.5 lc rgb '%s' ", method_colour[methods[k]]);
            char outcome[64];
            run_outcome(r, outcome, sizeof outcome);
            if (c == 0) /* one legend, in the first panel */
                put(&gp, "title \"%s: %s\"", hessrt_method_name(methods[k]), outcome);
            else
                put(&gp, "notitle");
        }
        if (c == 2)
            put(&gp, ", \\\n     0 with lines dt 2 lc rgb 'black' notitle");
        put(&gp, "\n");
        if (c == 0)
            put(&gp, "unset key\n");
    }
    put(&gp, "unset multiplot\n");
    rc = render(p, &dat, &gp);
    if (rc == 0) {
        for (int k = 0; k < nm; k++) {
            char outcome[64];
            run_outcome(&runs[k], outcome, sizeof outcome);
            fprintf(p->report, "%-13s %s, loss %.6g, gradient norm %.3g\n", hessrt_method_name(methods[k]), outcome,
                    runs[k].loss, runs[k].gradient_norm);
        }
        report_written(p);
    }
    free(dat.s);
    free(gp.s);
done:
    for (int k = 0; runs && k < nm; k++)
        hessrt_newton_result_free(&runs[k]);
    free(runs);
    free(start);
    return rc;
}

/* ---- plot slice ---- */

static int plot_slice(Plot *p, int argc, char **argv)
{
    Options o;
    int rc = parse_options(p, argc, argv, &o);
    if (rc || (rc = only(p, &o, "--along --at --range --points ")))
        return rc;
    int n = p->n;
    double *point = vec(n), *g = vec(n), *hv = vec(n), *theta = vec(n), lo, hi;
    Axis a = {0};
    if ((rc = parse_start(p, o.at, "--at", point)))
        goto done;
    if (!o.along && n > 1) {
        rc = refuse(p, "--along AXIS is required: the model has %d parameters", n);
        goto done;
    }
    char *first = cli_param_name(p->m, 0);
    bool parsed = (o.along || first) && parse_axis(p, o.along ? o.along : first, point, &a);
    free(first);
    if (!parsed) {
        rc = 2;
        goto done;
    }
    lo = a.origin - 1, hi = a.origin + 1;
    if (o.range && !cli_parse_range(o.range, &lo, &hi)) {
        rc = refuse(p, "--range takes LO:HI with LO < HI and finite numbers, not '%s'", o.range);
        goto done;
    }
    if ((rc = check_range(p, "range", lo, hi)))
        goto done;
    /* the second-order model L0 + g.d t + d.H.d t^2 / 2 in the offset t from the point */
    double l0 = p->m->grad(point, p->data, g);
    p->m->hvp(point, p->data, a.dir, hv);
    double slope = dot(g, a.dir, n), curvature = dot(hv, a.dir, n);
    int count = o.points > 0 ? (int)o.points : 401;
    Text dat = {0}, gp = {0};
    put(&dat, "# hessgen plot slice of %s along %s through the point ", p->m->name, a.label);
    for (int i = 0; i < n && i < 20; i++) {
        char *name = cli_param_name(p->m, i);
        put(&dat, "%s%s = %.17g", i ? ", " : "", name ? name : "?", point[i] + 0.0);
        free(name);
    }
    put(&dat, n > 20 ? ", ...\n" : "\n");
    put(&dat, "# at the point: loss %.17g, slope %.17g, curvature %.17g\n", l0, slope, curvature);
    put(&dat, "# %s, loss, second-order model\n", a.label);
    for (int k = 0; k < count; k++) {
        double s = lo + (hi - lo) * k / (count - 1), t = s - a.origin;
        for (int i = 0; i < n; i++)
            theta[i] = point[i] + t * a.dir[i];
        put_number(&dat, "", s);
        put_number(&dat, " ", loss_at(p, theta));
        put_number(&dat, " ", l0 + slope * t + 0.5 * curvature * t * t);
        put(&dat, "\n");
    }
    put(&dat, "\n\n# the point: %s, loss\n", a.label);
    put_number(&dat, "", a.origin);
    put_number(&dat, " ", l0);
    put(&dat, "\n");
    char what[512];
    snprintf(what, sizeof what, "The loss of %s along %s", p->m->name, a.label);
    script_head(p, &gp, what, 1000, 640);
    put(&gp, "set title \"%s\"\nset xlabel \"%s\"\nset ylabel 'loss'\nset grid\nset key bottom center box opaque\n",
        what, a.label);
    put(&gp, "set xrange [%.17g:%.17g]\n", lo, hi);
    put(&gp,
        "plot datafile index 0 using 1:2 with lines lw 3 lc rgb '#1f77b4' title 'the loss', \\\n"
        "     datafile index 0 using 1:3 with lines lw 2 dt 2 lc rgb '#d62728' "
        "title \"second-order model %.6g %s %.6g t %s %.6g t^2\", \\\n"
        "     datafile index 1 using 1:2 with points pt 7 ps 1.8 lc rgb 'black' title 'the point'\n",
        l0, slope < 0 ? "-" : "+", fabs(slope), curvature < 0 ? "-" : "+", fabs(0.5 * curvature));
    rc = render(p, &dat, &gp);
    if (rc == 0) {
        fprintf(p->report, "%s%s: loss %.6g at the point, slope %.6g, curvature %.6g; %d loss evaluations\n",
                a.param >= 0 ? "along " : "", a.label, l0, slope, curvature, count);
        report_written(p);
    }
    free(dat.s);
    free(gp.s);
done:
    free(point);
    free(g);
    free(hv);
    free(theta);
    free(a.dir);
    return rc;
}

int cli_plot(const hessgen_model *m, const void *data, const char *prog, FILE *report, FILE *diag, bool usage, int argc,
             char **argv)
{
    Plot p = {m, data, prog, argc > 0 ? argv[0] : "", m->nparam, NULL, report, diag, false, false, 0, ""};
    if (argc < 1 || strcmp(argv[0], "--help") == 0) {
        if (argc < 1 && !usage)
            fprintf(diag, "%s: plot: a kind is needed (surface, paths, convergence, slice)\n", prog);
        else
            fprintf(argc < 1 ? diag : report, plot_usage, prog, prog, prog, prog);
        return argc < 1 ? 2 : 0;
    }
    if (strcmp(argv[0], "surface") == 0)
        return plot_surface(&p, argc - 1, argv + 1);
    if (strcmp(argv[0], "paths") == 0)
        return plot_paths(&p, argc - 1, argv + 1);
    if (strcmp(argv[0], "convergence") == 0)
        return plot_convergence(&p, argc - 1, argv + 1);
    if (strcmp(argv[0], "slice") == 0)
        return plot_slice(&p, argc - 1, argv + 1);
    fprintf(diag, "%s: plot: unknown kind '%s' (surface, paths, convergence, slice)\n", prog, argv[0]);
    if (usage)
        fprintf(diag, plot_usage, prog, prog, prog, prog);
    return 2;
}
