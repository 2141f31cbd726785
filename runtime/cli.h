/* cli.h: what the analyzer's subcommands share (analyzer.c, plot.c); not installed. */
#ifndef HESSRT_CLI_H
#define HESSRT_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "hessrt.h"

/* A finite number and nothing after it. */
bool cli_parse_double(const char *s, double *out);
/* LO:HI with LO < HI, both finite. */
bool cli_parse_range(const char *s, double *lo, double *hi);
/* theta from `w1=0,w2=0` (every parameter by name) or `0,0` (values in parameter order); with
 * sparse, parameters a named point leaves out keep theta's values instead of being an error.
 * A message into msg otherwise. */
bool cli_parse_point(const hessgen_model *m, const char *text, bool sparse, double *theta, char *msg, size_t msglen);
/* theta[k]'s name ("w1", "W[1][2]"), malloc'd. */
char *cli_param_name(const hessgen_model *m, int k);
/* The index of the parameter called name, or -1. */
int cli_param_index(const hessgen_model *m, const char *name);
/* A number in the fewest digits (6 to 17) that read back as it: a point pastes back exactly. */
void cli_put_number(FILE *f, double v);
/* `w1 = 0.1, w2 = 0.05`: the first CLI_TEXT_MAX coordinates, and how many there are */
enum { CLI_TEXT_MAX = 10 };
void cli_text_point(FILE *f, const hessgen_model *m, const double *theta);

/* A new temporary file beside final (in its directory, so that a rename into place is atomic)
 * with a new file's permissions (as the umask leaves them; mkstemp makes 0600): its descriptor,
 * and its name in *tmp (malloc'd), or -1 and NULL. */
int cli_temporary(const char *final, char **tmp);

/* A small deterministic generator (xorshift64*): a seed gives the same numbers anywhere. */
unsigned long long cli_seed(unsigned long long seed);
double cli_uniform(unsigned long long *state);

/* The critical sets found by Newton (`method`) from `starts` start points that draw() writes
 * into theta; runs that do not converge are counted in failed, those keep() refuses (NULL:
 * none) dropped. Points within 1e-6 (relative) of each other are one; points joined by a path
 * of critical points (cli.c: continuation along the Hessian's null space) are one entry, a
 * connected piece of a curve or surface of critical points, with its dimension (0: an isolated
 * point) and the range of the loss seen on it. The arrays are malloc'd, found entries each:
 * points (n values: a representative), hits, dimension, loss_lo, loss_hi, and samples
 * (CLI_SAMPLES points of n values, nsamples of them used). */
enum { CLI_SAMPLES = 3 };
typedef struct {
    int found, failed;
    double *points;
    int *hits; /* how many starts reached each */
    int *dimension;
    double *loss_lo, *loss_hi;
    double *samples;
    int *nsamples;
} cli_critical_points;
void cli_find_critical(const hessgen_model *m, const void *data, hessrt_method method, int starts,
                       void (*draw)(void *user, unsigned long long *state, double *theta),
                       bool (*keep)(void *user, const double *theta), void *user, unsigned long long seed,
                       cli_critical_points *out);
void cli_critical_points_free(cli_critical_points *c);

/* `plot surface|paths|convergence|slice ...` (plot.c), its summary into report and its
 * diagnostics into diag (with the usage text after a bad kind when usage): the exit status. */
int cli_plot(const hessgen_model *m, const void *data, const char *prog, FILE *report, FILE *diag, bool usage, int argc,
             char **argv);

#endif
