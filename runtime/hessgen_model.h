#ifndef HESSGEN_MODEL_DEFINED
#define HESSGEN_MODEL_DEFINED
/* What libhessrt takes: declared identically in runtime/hessrt.h. */
typedef struct hessgen_param_array {
    const char *name;                 /* as declared */
    int base, size;                   /* it is theta[base .. base + size), row-major */
    int rank;                         /* 0: a scalar */
    int dims[8];                      /* its dimensions, rank of them */
} hessgen_param_array;
/* Version 5: the rows a data struct holds may be a part of the data set's (one process's share
   under MPI, hessrt-mpi). The data struct's member hessgen_part says so; all zero, as
   M_data_bind leaves it, means the rows bound are the whole data set. */
/* Adds count arrays (values[k], length[k] doubles; a NULL with length 0 is skipped) over every
   part, in place, the same sums in every part. */
typedef void hessgen_reduce(void *ctx, int count, double *const *values, const size_t *length);
/* Version 6, pairs of rows (a sum over rows inside a loop over rows): visit(ctx, k) for k = 1,
   2, ... returns a data struct of the same model bound to the rows of another part, or NULL once
   every other part's rows have come; every part calls it at the same points, the same number of
   times. The struct it returns is valid until the next call. */
typedef const void *hessgen_visit(void *ctx, size_t k);
typedef struct hessgen_rows_part {
    const size_t *total; /* per row count (size_names' order): the whole data set's rows; NULL:
                            the rows bound are all of them */
    int first;           /* 1 in the one part that adds the terms free of rows */
    /* the generated code calls it after each loop over rows, at the same points in every part */
    hessgen_reduce *reduce;
    hessgen_visit *visit; /* NULL: a loss with pairs of rows cannot be evaluated over parts */
    void *ctx;
} hessgen_rows_part;
typedef struct hessgen_model {
    int version;                      /* 6 (5: data_part without visit; 4: without data_part) */
    const char *name;                 /* the model's prefix */
    int nparam;                       /* N, the length of theta */
    int hess_nnz;                     /* nonzeros of the Hessian's lower triangle */
    const int *hess_rows, *hess_cols; /* their coordinates, row-major order (NULL: all of the
                                         lower triangle, entry r*(r+1)/2 + c at (r, c)) */
    int nparam_arrays;                /* the parameters as declared, in theta's order */
    const hessgen_param_array *param_arrays;
    int name_max;                     /* the longest coordinate name's length, plus 1 */
    int (*param_name)(int k, char *buf, size_t cap); /* theta[k]'s name: "w1", "M[1][2]" */
    void (*start)(double *theta);     /* writes the start point */
    double (*loss)(const double *theta, const void *data);
    double (*grad)(const double *theta, const void *data, double *grad);
    double (*hess)(const double *theta, const void *data, double *grad, double *hess);
    void (*hvp)(const double *theta, const void *data, const double *v, double *hv);
    double (*hess_sparse)(const double *theta, const void *data, double *grad, double *values);
    void (*hess_values)(const double *theta, const void *data, double *values);
    /* the data set (ndata 0: the loss reads none, and data may be NULL) */
    int ndata;                        /* data arrays */
    const char *const *data_names;    /* their names */
    const int *data_width;            /* values per row (all values when not row-indexed) */
    const int *data_size;             /* the row count of each (index into size_names), or -1 */
    int nsizes;                       /* row counts */
    const char *const *size_names;
    const int *size_needed;           /* 1 where the loss needs at least one row (a mean) */
    size_t data_bytes;                /* sizeof the model's data struct */
    int (*data_bind)(void *data, const size_t *counts, const double *const *arrays);
    int (*data_check)(const void *data);
    const char *(*data_error)(int code);
    /* version 3: with hessgen --checked, the last evaluation's fault as a sentence (NULL: none) */
    const char *(*fault_text)(void);
    /* version 6: makes a bound data struct a part of a larger data set (M_data_part); NULL when
       the loss cannot be evaluated over parts (no_part says why). Version 5's had no visit. */
    int (*data_part)(void *data, const size_t *total, int first, hessgen_reduce *reduce, hessgen_visit *visit,
                     void *ctx);
    const char *no_part; /* why data_part is NULL (a model with data), else NULL */
    /* version 5, with --checked: how many places where values that were not finite began the
       last evaluation saw (0: none, or its fault came in through a part's sums); NULL otherwise */
    int (*fault_sources)(void);
} hessgen_model;
#endif
