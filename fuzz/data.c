/* fuzz/data.c: the data loaders on one input. The first byte picks the files' kind (even: CSV,
 * odd: raw float64) and hessrt_read_array's values per row (0: any, 1 to 3); the rest, cut at
 * its first 0xff byte, is two files: one read by hessrt_read_array and as the array X (3
 * features) of examples/logistic.hl, the other as its labels y, both by hessrt_data_load,
 * after which the model's gradient is evaluated once over them.
 *
 *   fuzz_data FILE            one input (AFL++: fuzz_data @@)
 *   fuzz_data FILE FILE...    a replay, each in a child process (replay.h)
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hessrt.h"
#include "replay.h"

extern const hessgen_model fzl_model;

/* the bytes [from, to) of the input into a temporary file named for the kind */
static bool write_part(const char *name, const unsigned char *bytes, size_t from, size_t to)
{
    FILE *out = fopen(name, "wb");
    if (!out)
        return false;
    fwrite(bytes + from, 1, to - from, out);
    return fclose(out) == 0;
}

static int load(const char *path)
{
    static unsigned char bytes[1 << 20];
    FILE *in = fopen(path, "rb");
    if (!in)
        return 2;
    size_t len = fread(bytes, 1, sizeof bytes, in);
    fclose(in);
    int kind = len ? bytes[0] : 0;
    size_t cut = 1;
    while (cut < len && bytes[cut] != 0xff)
        cut++;
    const char *ext = kind & 1 ? "f64" : "csv";
    char xname[64], yname[64];
    snprintf(xname, sizeof xname, "/tmp/fuzz_data_%ld_X.%s", (long)getpid(), ext);
    snprintf(yname, sizeof yname, "/tmp/fuzz_data_%ld_y.%s", (long)getpid(), ext);
    if (!write_part(xname, bytes, len ? 1 : 0, cut) || !write_part(yname, bytes, cut < len ? cut + 1 : len, len))
        return 2;
    char err[1024];
    double *values = NULL;
    size_t rows = 0;
    int rc = hessrt_read_array(xname, (kind >> 1) & 3, &values, &rows, err, sizeof err);
    free(values);
    char x[96], y[96];
    snprintf(x, sizeof x, "X=%s", xname);
    snprintf(y, sizeof y, "y=%s", yname);
    const char *specs[] = {x, y};
    hessrt_data *d = hessrt_data_load(&fzl_model, 2, specs, err, sizeof err);
    if (d) {
        double theta[4] = {0.1, -0.2, 0.3, 0.05}, g[4];
        fzl_model.grad(theta, hessrt_data_struct(d), g);
        hessrt_data_free(d);
    }
    unlink(xname);
    unlink(yname);
    return rc == 0 && d ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: fuzz_data FILE [FILE...]\n");
        return 2;
    }
    return argc == 2 ? load(argv[1]) : replay(argc - 1, argv + 1, load);
}
