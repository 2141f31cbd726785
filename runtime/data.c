/* data.c: loading a model's data set from files, for the analyzer and for programs.
 *
 * In: "NAME=FILE" per data array of a model. Out: the model's data struct (M_data), filled
 * through the model's own data_bind, so this file needs no knowledge of its layout.
 * Formats, by the file's name:
 *   - NAME.f64 or NAME.bin: raw little-endian IEEE float64, row-major, nothing else; the
 *     number of rows is the file's size over 8 * (values per row);
 *   - anything else: CSV, one row per line, values separated by commas, blank lines skipped;
 *     a first line in which no field is a number is a header and is skipped.
 * Every problem is one message that names the file and, where there is one, the line and
 * the column (1-based, counted in fields): a missing file, a cell that is not a finite
 * number, a row with the wrong number of values, arrays that should share a row count and
 * do not, a raw file whose size is not a whole number of rows.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "hessrt.h"

struct hessrt_data {
    const hessgen_model *m;
    void *data;      /* the model's M_data, data_bytes long */
    double **arrays; /* one per data array, owned */
    size_t *counts;  /* one per size name */
};

static int fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

int hessrt_data_is_raw(const char *path)
{
    return ends_with(path, ".f64") || ends_with(path, ".bin");
}

/* A raw little-endian float64 file's size, as whole rows of `width` values. */
static int raw_rows(FILE *f, const char *path, int width, size_t *rows, char *err, size_t errlen)
{
    if (fseek(f, 0, SEEK_END) != 0)
        return fail(err, errlen, "%s: cannot seek: %s", path, strerror(errno));
    long size = ftell(f);
    if (size < 0 || fseek(f, 0, SEEK_SET) != 0)
        return fail(err, errlen, "%s: cannot tell its size: %s", path, strerror(errno));
    size_t row_bytes = 8 * (size_t)width;
    if ((size_t)size % row_bytes != 0)
        return fail(err, errlen, "%s: %ld bytes is not a whole number of rows of %d float64 value%s (%zu bytes each)",
                    path, size, width, width == 1 ? "" : "s", row_bytes);
    *rows = (size_t)size / row_bytes;
    return 0;
}

/* Rows [first, first + count) of a raw file into v (count * width values): read from their
 * offset, so that a process reads its own rows only. */
static int raw_read_rows(FILE *f, const char *path, int width, size_t first, size_t count, double *v, char *err,
                         size_t errlen)
{
    enum { CHUNK = 8192 }; /* values decoded at a time */
    unsigned char bytes[8 * CHUNK];
    size_t n = count * (size_t)width, base = first * (size_t)width;
    if (n && fseeko(f, (off_t)(8 * base), SEEK_SET) != 0)
        return fail(err, errlen, "%s: cannot seek to row %zu: %s", path, first + 1, strerror(errno));
    for (size_t done = 0; done < n;) {
        size_t k = n - done < CHUNK ? n - done : CHUNK;
        if (fread(bytes, 8, k, f) != k)
            return fail(err, errlen, "%s: read error at row %zu (the file is shorter than it was)", path,
                        (base + done) / (size_t)width + 1);
        for (size_t i = 0; i < k; i++) {
            uint64_t u = 0;
            for (int b = 7; b >= 0; b--)
                u = u << 8 | bytes[8 * i + (size_t)b];
            double x;
            memcpy(&x, &u, sizeof u);
            if (!isfinite(x)) {
                size_t at = base + done + i;
                return fail(err, errlen, "%s: row %zu, column %zu: the value is not a finite number", path,
                            at / (size_t)width + 1, at % (size_t)width + 1);
            }
            v[done + i] = x;
        }
        done += k;
    }
    return 0;
}

/* A raw little-endian float64 file, whole. */
static int read_raw(FILE *f, const char *path, int width, double **values, size_t *rows, size_t *count, char *err,
                    size_t errlen)
{
    if (raw_rows(f, path, width, rows, err, errlen) != 0)
        return -1;
    size_t n = *rows * (size_t)width;
    double *v = malloc(sizeof(double) * (n ? n : 1));
    if (!v)
        return fail(err, errlen, "%s: out of memory for %zu values", path, n);
    if (raw_read_rows(f, path, width, 0, *rows, v, err, errlen) != 0) {
        free(v);
        return -1;
    }
    *values = v;
    *count = n;
    return 0;
}

int hessrt_raw_rows(const char *path, int width, size_t first, size_t count, double *values, size_t *rows, char *err,
                    size_t errlen)
{
    if (width <= 0)
        return fail(err, errlen, "%s: rows need at least one value", path);
    FILE *f = fopen(path, "rb");
    if (!f)
        return fail(err, errlen, "%s: cannot open: %s", path, strerror(errno));
    size_t total;
    int rc = raw_rows(f, path, width, &total, err, errlen);
    if (rc == 0 && rows)
        *rows = total;
    if (rc == 0 && values && count) {
        if (first > total || count > total - first)
            rc = fail(err, errlen, "%s: rows %zu to %zu asked, but the file has %zu", path, first + 1, first + count,
                      total);
        else
            rc = raw_read_rows(f, path, width, first, count, values, err, errlen);
    }
    fclose(f);
    return rc;
}

/* The fields of one CSV line, trimmed, in place. Returns their number. */
static size_t split_fields(char *line, char ***fields, size_t *cap)
{
    size_t n = 0;
    char *p = line;
    for (;;) {
        char *comma = strchr(p, ',');
        if (comma)
            *comma = 0;
        while (*p == ' ' || *p == '\t')
            p++;
        char *end = p + strlen(p);
        while (end > p && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r' || end[-1] == '\n'))
            *--end = 0;
        if (n == *cap) {
            *cap = *cap ? 2 * *cap : 16;
            *fields = realloc(*fields, sizeof(char *) * *cap);
        }
        (*fields)[n++] = p;
        if (!comma)
            return n;
        p = comma + 1;
    }
}

static bool parse_cell(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end || !isfinite(v))
        return false;
    if (errno == ERANGE && fabs(v) > 1) /* overflow; underflow to a subnormal or 0 is a value */
        return false;
    *out = v;
    return true;
}

/* A CSV file with `width` values per line (width 0: any, the same on every line), row by row:
 * row(ctx, values, width, index) for each, in order (a non-zero return stops the reading with
 * that value, its message in err). The rows into *rows and the width into *width_out. */
typedef int RowSink(void *ctx, const double *values, size_t width, size_t index);
static int csv_rows(FILE *f, const char *path, int width, RowSink *row, void *ctx, size_t *rows, int *width_out,
                    char *err, size_t errlen)
{
    char *line = NULL, **fields = NULL;
    size_t line_cap = 0, fields_cap = 0, cap = 0, nrows = 0, lineno = 0;
    double *v = NULL;
    ssize_t len;
    int rc = 0;
    bool first = true;
    while ((len = getline(&line, &line_cap, f)) >= 0) {
        lineno++;
        if (strlen(line) != (size_t)len) {
            rc = fail(err, errlen,
                      "%s: line %zu: a NUL byte: this is not a CSV text file (raw float64 files end in .f64)", path,
                      lineno);
            break;
        }
        char *p = line;
        while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
            p++;
        if (*p == 0)
            continue; /* a blank line */
        size_t k = split_fields(line, &fields, &fields_cap);
        if (first) {
            first = false;
            bool any_number = false;
            double dummy;
            for (size_t i = 0; i < k; i++)
                any_number |= parse_cell(fields[i], &dummy);
            if (!any_number)
                continue; /* a header */
        }
        if (width == 0 && nrows == 0)
            width = (int)k;
        if (k != (size_t)width) {
            rc = fail(err, errlen, "%s: line %zu: %zu value%s, but each row needs %d", path, lineno, k,
                      k == 1 ? "" : "s", width);
            break;
        }
        if (k > cap) {
            cap = k;
            double *grown = realloc(v, sizeof(double) * cap);
            if (!grown) {
                rc = fail(err, errlen, "%s: out of memory at line %zu", path, lineno);
                break;
            }
            v = grown;
        }
        for (size_t i = 0; i < k && rc == 0; i++) {
            if (fields[i][0] == 0)
                rc = fail(err, errlen, "%s: line %zu, column %zu: the cell is empty", path, lineno, i + 1);
            else if (!parse_cell(fields[i], &v[i]))
                rc = fail(err, errlen, "%s: line %zu, column %zu: '%.40s' is not a finite number", path, lineno, i + 1,
                          fields[i]);
        }
        if (rc == 0 && row)
            rc = row(ctx, v, k, nrows);
        if (rc)
            break;
        nrows++;
    }
    if (rc == 0 && ferror(f))
        rc = fail(err, errlen, "%s: read error", path);
    free(line);
    free(fields);
    free(v);
    *rows = nrows;
    *width_out = width;
    return rc;
}

/* The rows of a CSV file appended to one array. */
typedef struct {
    double *v;
    size_t n, cap;
    const char *path;
    char *err;
    size_t errlen;
} Appended;

static int append_row(void *ctx, const double *values, size_t width, size_t index)
{
    Appended *a = ctx;
    if (a->n + width > a->cap) {
        size_t cap = a->cap ? 2 * a->cap : 1024;
        while (cap < a->n + width)
            cap *= 2;
        double *grown = realloc(a->v, sizeof(double) * cap);
        if (!grown)
            return fail(a->err, a->errlen, "%s: out of memory at row %zu", a->path, index + 1);
        a->v = grown;
        a->cap = cap;
    }
    memcpy(a->v + a->n, values, sizeof(double) * width);
    a->n += width;
    return 0;
}

static int read_csv(FILE *f, const char *path, int width, double **values, size_t *rows, size_t *count, char *err,
                    size_t errlen)
{
    Appended a = {NULL, 0, 0, path, err, errlen};
    int w;
    if (csv_rows(f, path, width, append_row, &a, rows, &w, err, errlen) != 0) {
        free(a.v);
        return -1;
    }
    *values = a.v ? a.v : malloc(sizeof(double));
    *count = a.n;
    return 0;
}

int hessrt_csv_rows(const char *path, int width,
                    int (*row)(void *ctx, const double *values, size_t width, size_t index), void *ctx, size_t *rows,
                    char *err, size_t errlen)
{
    if (width < 0)
        return fail(err, errlen, "%s: a negative number of values per row", path);
    FILE *f = fopen(path, "rb");
    if (!f)
        return fail(err, errlen, "%s: cannot open: %s", path, strerror(errno));
    size_t n = 0;
    int w;
    int rc = csv_rows(f, path, width, row, ctx, &n, &w, err, errlen);
    fclose(f);
    if (rows)
        *rows = n;
    return rc;
}

static int read_any(const char *path, int width, double **values, size_t *rows, size_t *count, char *err, size_t errlen)
{
    *values = NULL;
    *rows = *count = 0;
    if (width < 0)
        return fail(err, errlen, "%s: a negative number of values per row", path);
    FILE *f = fopen(path, "rb");
    if (!f)
        return fail(err, errlen, "%s: cannot open: %s", path, strerror(errno));
    bool raw = hessrt_data_is_raw(path);
    int rc = raw ? read_raw(f, path, width ? width : 1, values, rows, count, err, errlen)
                 : read_csv(f, path, width, values, rows, count, err, errlen);
    fclose(f);
    return rc;
}

int hessrt_read_array(const char *path, int width, double **values, size_t *rows, char *err, size_t errlen)
{
    size_t count;
    return read_any(path, width, values, rows, &count, err, errlen);
}

void hessrt_data_free(hessrt_data *d)
{
    if (!d)
        return;
    for (int a = 0; d->arrays && a < d->m->ndata; a++)
        free(d->arrays[a]);
    free(d->arrays);
    free(d->counts);
    free(d->data);
    free(d);
}

int hessrt_data_files(const hessgen_model *m, int nspecs, const char *const *specs, const char **files, char *err,
                      size_t errlen)
{
    for (int a = 0; a < m->ndata; a++)
        files[a] = NULL;
    for (int k = 0; k < nspecs; k++) {
        const char *eq = strchr(specs[k], '=');
        int a = 0;
        if (eq)
            for (; a < m->ndata; a++)
                if (strlen(m->data_names[a]) == (size_t)(eq - specs[k]) &&
                    strncmp(m->data_names[a], specs[k], (size_t)(eq - specs[k])) == 0)
                    break;
        if (!eq || eq[1] == 0)
            return fail(err, errlen, "--data takes NAME=FILE, not '%s'", specs[k]);
        if (a == m->ndata)
            return fail(err, errlen, "'%.*s' is not a data array of model %s", (int)(eq - specs[k]), specs[k], m->name);
        if (files[a])
            return fail(err, errlen, "data array '%s' is given twice", m->data_names[a]);
        files[a] = eq + 1;
    }
    for (int a = 0; a < m->ndata; a++)
        if (!files[a])
            return fail(err, errlen, "no file for data array '%s': give --data %s=FILE (CSV, or raw float64 as .f64)",
                        m->data_names[a], m->data_names[a]);
    return 0;
}

hessrt_data *hessrt_data_load(const hessgen_model *m, int nspecs, const char *const *specs, char *err, size_t errlen)
{
    if (m->ndata == 0) {
        if (nspecs > 0)
            fail(err, errlen, "model %s reads no data, but %s was given", m->name, specs[0]);
        else
            fail(err, errlen, "model %s reads no data", m->name);
        return NULL;
    }
    hessrt_data *d = calloc(1, sizeof *d);
    d->m = m;
    d->arrays = calloc((size_t)m->ndata, sizeof(double *));
    d->counts = calloc((size_t)m->nsizes + 1, sizeof(size_t));
    d->data = calloc(1, m->data_bytes);
    int *from = malloc(sizeof(int) * ((size_t)m->nsizes + 1)); /* which array set each count */
    for (int s = 0; s < m->nsizes; s++)
        from[s] = -1;
    const char **files = calloc((size_t)m->ndata, sizeof(char *));
    bool ok = hessrt_data_files(m, nspecs, specs, files, err, errlen) == 0;
    for (int a = 0; a < m->ndata && ok; a++) {
        size_t rows, total;
        int s = m->data_size[a];
        /* a fixed array is all its values, in lines of any one length */
        if (read_any(files[a], s < 0 ? 0 : m->data_width[a], &d->arrays[a], &rows, &total, err, errlen) != 0) {
            ok = false;
            break;
        }
        if (s < 0) {
            if (total != (size_t)m->data_width[a]) {
                fail(err, errlen, "%s: %zu values, but '%s' has exactly %d", files[a], total, m->data_names[a],
                     m->data_width[a]);
                ok = false;
            }
        } else if (from[s] < 0) {
            from[s] = a;
            d->counts[s] = rows;
        } else if (d->counts[s] != rows) {
            fail(err, errlen, "%s has %zu rows but %s has %zu: '%s' and '%s' share the row count '%s'", files[a], rows,
                 files[from[s]], d->counts[s], m->data_names[a], m->data_names[from[s]], m->size_names[s]);
            ok = false;
        }
    }
    if (ok) {
        int code = m->data_bind(d->data, d->counts, (const double *const *)d->arrays);
        if (code != 0) {
            fail(err, errlen, "the data set cannot be used: %s", m->data_error(code));
            ok = false;
        }
    }
    free(from);
    free(files);
    if (!ok) {
        hessrt_data_free(d);
        return NULL;
    }
    return d;
}

const void *hessrt_data_struct(const hessrt_data *d)
{
    return d ? d->data : NULL;
}

size_t hessrt_data_rows(const hessrt_data *d, int size)
{
    return d && size >= 0 && size < d->m->nsizes ? d->counts[size] : 0;
}
