/* emit.c: writes the generated C.
 *
 * In: the Model and its derivatives (graph nodes). Out: the text of one C99 file that needs
 * only <math.h> and <stddef.h>: the loss, gradient, dense and sparse Hessian and
 * Hessian-vector product of DESIGN.md, the parameter tables, and the hessgen_model
 * descriptor that libhessrt takes. What stays true of the text:
 *   - it carries no date and no path, so the same input gives the same bytes;
 *   - every constant is printed with the fewest digits that read back as the same double;
 *   - evaluation functions allocate nothing and touch no global that can change, so they are
 *     reentrant; each is one straight-line schedule of `const double` temporaries;
 *   - sigmoid and softplus go through small overflow-safe helpers; log1p and expm1 are C's.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hessgen.h"


static struct {
    const char *P;      /* prefix */
    uint32_t *temp;     /* node -> temporary number + 1, for the function being written */
    uint32_t *stamp;
    uint32_t cur, ntemps, limit;
    const char *indent;   /* of a step's line */
} E;

/* The shortest decimal that reads back as exactly d. */
static void put_double(Buf *b, double d)
{
    if (isinf(d)) {
        buf_puts(b, d > 0 ? "HUGE_VAL" : "(-HUGE_VAL)");
        return;
    }
    char s[40];
    if (d == floor(d) && fabs(d) < 1e15) {
        snprintf(s, sizeof s, "%.0f", d); /* 100.0, not 1e+02 */
    } else {
        for (int prec = 1; prec <= 17; prec++) {
            snprintf(s, sizeof s, "%.*g", prec, d);
            if (strtod(s, NULL) == d)
                break;
        }
    }
    bool has_point = strpbrk(s, ".e") != NULL;
    if (d < 0)
        buf_puts(b, "(");
    buf_puts(b, s);
    if (!has_point)
        buf_puts(b, ".0");
    if (d < 0)
        buf_puts(b, ")");
}

static void put_node(Buf *b, Node n)
{
    switch (dag_op(n)) {
    case OP_CONST:
        put_double(b, rat_to_double(dag_rat(n)));
        return;
    case OP_PI:
        buf_puts(b, "3.141592653589793");
        return;
    case OP_PARAM:
        buf_printf(b, "theta[%u]", dag_rec(n)->aux);
        return;
    case OP_DIR:
        buf_printf(b, "v[%u]", dag_rec(n)->aux);
        return;
    default:
        if (n < E.limit && E.stamp[n] == E.cur) {
            buf_printf(b, "t%u", E.temp[n] - 1);
            return;
        }
        fatal("emit: node %u used before it is computed", n);
    }
}

/* x^k for a small positive integer k, by repeated squaring. */
static void put_ipow(Buf *b, Node x, long k)
{
    if (k == 1) {
        put_node(b, x);
        return;
    }
    buf_puts(b, "(");
    put_ipow(b, x, k / 2);
    buf_puts(b, " * ");
    put_ipow(b, x, k / 2);
    if (k % 2) {
        buf_puts(b, " * ");
        put_node(b, x);
    }
    buf_puts(b, ")");
}

static void put_pow(Buf *b, Node x, mpq_srcptr q)
{
    long k = 0;
    if (mpz_cmp_ui(mpq_denref(q), 1) == 0 && mpz_fits_slong_p(mpq_numref(q)))
        k = mpz_get_si(mpq_numref(q));
    if (k != 0 && labs(k) <= 8) {
        if (k < 0)
            buf_puts(b, "1.0 / ");
        if (labs(k) == 1)
            put_node(b, x);
        else
            put_ipow(b, x, labs(k));
        return;
    }
    if (mpz_cmp_ui(mpq_denref(q), 2) == 0 && mpz_cmpabs_ui(mpq_numref(q), 3) <= 0) {
        /* x^(+-1/2), x^(+-3/2) through sqrt, which is correctly rounded */
        bool neg = mpq_sgn(q) < 0, three = mpz_cmpabs_ui(mpq_numref(q), 3) == 0;
        if (neg)
            buf_puts(b, "1.0 / (");
        if (three) {
            put_node(b, x);
            buf_puts(b, " * ");
        }
        buf_puts(b, "sqrt(");
        put_node(b, x);
        buf_puts(b, ")");
        if (neg)
            buf_puts(b, ")");
        return;
    }
    buf_puts(b, "pow(");
    put_node(b, x);
    buf_puts(b, ", ");
    put_double(b, rat_to_double(q));
    buf_puts(b, ")");
}

static const char *const c_names[OP__COUNT] = {
#define X(e, src, c, helper, d) [OP_##e] = c,
    UNARY_OPS(X)
#undef X
};
static const bool has_helper[OP__COUNT] = {
#define X(e, src, c, helper, d) [OP_##e] = helper,
    UNARY_OPS(X)
#undef X
};

static void put_step(Buf *b, const Step *s)
{
    Node n = s->node;
    Op op = dag_op(n);
    buf_printf(b, "%sconst double t%u = ", E.indent, E.ntemps);
    if (op == OP_ADD) {
        /* the constant, first in the graph, goes last: "t1 + t2 - 1.0" reads better */
        bool first = true;
        for (uint32_t i = 0; i < s->nitems; i++) {
            Node x = s->items[i];
            if (!(x & SCHED_INV) && dag_is_const(x))
                continue;
            if (x & SCHED_INV)
                buf_puts(b, first ? "-" : " - ");
            else if (!first)
                buf_puts(b, " + ");
            put_node(b, x & ~SCHED_INV);
            first = false;
        }
        if (!(s->items[0] & SCHED_INV) && dag_is_const(s->items[0])) {
            double c = rat_to_double(dag_rat(s->items[0]));
            buf_puts(b, c < 0 ? " - " : " + ");
            put_double(b, fabs(c));
        }
    } else if (op == OP_MUL) {
        uint32_t i = 0;
        bool any = false;
        if (!(s->items[0] & SCHED_INV) && dag_is_const(s->items[0])) {
            i = 1;
            if (s->items[0] == dag.minus_one) {
                buf_puts(b, "-");
            } else {
                put_node(b, s->items[0]);
                any = true;
            }
        }
        for (uint32_t j = i; j < s->nitems; j++) {
            if (s->items[j] & SCHED_INV)
                continue;
            if (any)
                buf_puts(b, " * ");
            put_node(b, s->items[j]);
            any = true;
        }
        if (!any)
            buf_puts(b, "1.0");
        for (uint32_t j = i; j < s->nitems; j++) {
            if (!(s->items[j] & SCHED_INV))
                continue;
            buf_puts(b, " / ");
            put_node(b, s->items[j] & ~SCHED_INV);
        }
    } else if (op == OP_POW) {
        if (dag_is_const(s->items[1])) {
            put_pow(b, s->items[0], dag_rat(s->items[1]));
        } else { /* x^pi */
            buf_puts(b, "pow(");
            put_node(b, s->items[0]);
            buf_puts(b, ", ");
            put_node(b, s->items[1]);
            buf_puts(b, ")");
        }
    } else {
        if (has_helper[op])
            buf_printf(b, "%s_%s(", E.P, c_names[op]);
        else
            buf_printf(b, "%s(", c_names[op]);
        put_node(b, s->items[0]);
        buf_puts(b, ")");
    }
    buf_puts(b, ";\n");
    if (n >= E.limit)
        fatal("emit: node %u is newer than the tables", n);
    E.stamp[n] = E.cur;
    E.temp[n] = ++E.ntemps;
}

/* The steps of one function body. */
static void put_body(Buf *b, const Schedule *s)
{
    E.cur++;
    E.ntemps = 0;
    for (uint32_t i = 0; i < s->nsteps; i++)
        put_step(b, &s->steps[i]);
}

/* array[i] = node; for each output */
static void put_outputs(Buf *b, const char *indent, const char *array, const Node *nodes, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        buf_printf(b, "%s%s[%u] = ", indent, array, i);
        put_node(b, nodes[i]);
        buf_puts(b, ";\n");
    }
}

/* The gradient of a Hessian function: its own steps (those the Hessian does not share) and
 * its stores, all inside `if (grad != NULL)`, so a caller who passes NULL pays for neither. */
static void put_optional_grad(Buf *b, const Schedule *extra, const Deriv *d)
{
    buf_puts(b, "    if (grad != NULL) {\n");
    E.indent = "        ";
    for (uint32_t i = 0; i < extra->nsteps; i++)
        put_step(b, &extra->steps[i]);
    E.indent = "    ";
    put_outputs(b, "        ", "grad", d->grad, d->n);
    buf_puts(b, "    }\n");
}

static void put_return(Buf *b, Node loss)
{
    buf_puts(b, "    return ");
    put_node(b, loss);
    buf_puts(b, ";\n}\n\n");
}

static void put_declarations(Buf *b, const Model *m, const Deriv *d)
{
    const char *P = E.P;
    buf_puts(b,
             "#ifndef HESSGEN_MODEL_DEFINED\n"
             "#define HESSGEN_MODEL_DEFINED\n"
             "/* What libhessrt takes: declared identically in runtime/hessrt.h. */\n"
             "typedef struct hessgen_model {\n"
             "    int version;                      /* 1 */\n"
             "    const char *name;                 /* the model's prefix */\n"
             "    int nparam;                       /* N, the length of theta */\n"
             "    int hess_nnz;                     /* nonzeros of the Hessian's lower triangle */\n"
             "    const int *hess_rows, *hess_cols; /* their coordinates, row-major order */\n"
             "    const char *const *param_names;   /* N names: \"w1\", \"w[0]\", \"M[1][2]\" */\n"
             "    const double *param_start;        /* N start values */\n"
             "    double (*loss)(const double *theta, const void *data);\n"
             "    double (*grad)(const double *theta, const void *data, double *grad);\n"
             "    double (*hess)(const double *theta, const void *data, double *grad, double *hess);\n"
             "    void (*hvp)(const double *theta, const void *data, const double *v, double *hv);\n"
             "    double (*hess_sparse)(const double *theta, const void *data, double *grad, double *values);\n"
             "    void (*hess_values)(const double *theta, const void *data, double *values);\n"
             "} hessgen_model;\n"
             "#endif\n\n");
    buf_printf(b, "#define %s_NPARAM %u\n\n", P, m->nparam);
    buf_printf(b, "/* The loss at theta[0..%s_NPARAM-1]. */\n", P);
    buf_printf(b, "double %s_loss(const double *theta);\n", P);
    buf_printf(b, "/* The gradient into grad[%s_NPARAM]; returns the loss. */\n", P);
    buf_printf(b, "double %s_grad(const double *theta, double *grad);\n", P);
    buf_printf(b, "/* The Hessian into hess[%s_NPARAM*%s_NPARAM], row-major, both triangles; the gradient\n"
                  "   into grad unless it is NULL; returns the loss. */\n", P, P);
    buf_printf(b, "double %s_hess(const double *theta, double *grad, double *hess);\n", P);
    buf_printf(b, "/* The Hessian times v into hv[%s_NPARAM]. */\n", P);
    buf_printf(b, "void %s_hvp(const double *theta, const double *v, double *hv);\n", P);
    buf_printf(b, "/* The Hessian's lower-triangle nonzeros into values[%s_hess_nnz], in the order of\n"
                  "   %s_hess_rows and %s_hess_cols; the gradient into grad unless NULL; returns the loss. */\n",
               P, P, P);
    buf_printf(b, "double %s_hess_sparse(const double *theta, double *grad, double *values);\n", P);
    buf_printf(b, "/* The same nonzeros alone, with no loss or gradient: the least work for the Hessian. */\n");
    buf_printf(b, "void %s_hess_values(const double *theta, double *values);\n", P);
    buf_printf(b, "/* The number of those nonzeros (%u), and their rows and columns (row >= col). */\n", d->nnz);
    buf_printf(b, "extern const int %s_hess_nnz;\n", P);
    buf_printf(b, "extern const int %s_hess_rows[];\n", P);
    buf_printf(b, "extern const int %s_hess_cols[];\n", P);
    buf_printf(b, "/* Each coordinate's name (\"w1\", \"w[0]\", \"M[1][2]\") and start value. */\n");
    buf_printf(b, "extern const char *const %s_param_names[];\n", P);
    buf_printf(b, "extern const double %s_param_start[];\n", P);
    buf_printf(b, "/* All of the above for libhessrt (the data argument is ignored). */\n");
    buf_printf(b, "extern const hessgen_model %s_model;\n", P);
}

static void put_helpers(Buf *b, const bool used[OP__COUNT])
{
    const char *P = E.P;
    if (used[OP_SIGMOID])
        buf_printf(b,
                   "/* 1/(1+exp(-t)), with no overflow for t of either sign. */\n"
                   "static double %s_sigmoid(double t)\n{\n"
                   "    if (t >= 0)\n        return 1.0 / (1.0 + exp(-t));\n"
                   "    const double e = exp(t);\n    return e / (1.0 + e);\n}\n\n", P);
    if (used[OP_SOFTPLUS])
        buf_printf(b,
                   "/* log(1+exp(t)), with no overflow for large t and no loss of digits for very negative t. */\n"
                   "static double %s_softplus(double t)\n{\n"
                   "    return t > 0 ? t + log1p(exp(-t)) : log1p(exp(t));\n}\n\n", P);
    if (used[OP_SECH2])
        buf_printf(b, "/* 1/cosh(t)^2 as 4e/(1+e)^2 with e = exp(-2|t|): no overflow, no inf/inf. */\n"
                      "static double %s_sech2(double t)\n{\n"
                      "    const double e = exp(-2.0 * fabs(t));\n    return 4.0 * e / ((1.0 + e) * (1.0 + e));\n}\n\n", P);
    if (used[OP_RELU])
        buf_printf(b, "/* max(t, 0); a NaN stays a NaN. */\n"
                      "static double %s_relu(double t)\n{\n    return t > 0 ? t : t <= 0 ? 0.0 : t;\n}\n\n", P);
    if (used[OP_SIGN])
        buf_printf(b, "/* The derivative of fabs: the sign of t, 0 at 0 (the one-sided convention). */\n"
                      "static double %s_sign(double t)\n{\n    return t > 0 ? 1.0 : t < 0 ? -1.0 : t == 0 ? 0.0 : t;\n}\n\n", P);
    if (used[OP_STEP])
        buf_printf(b, "/* The derivative of relu: 1 for t > 0, 0 for t <= 0 (the one-sided convention). */\n"
                      "static double %s_step(double t)\n{\n    return t > 0 ? 1.0 : t <= 0 ? 0.0 : t;\n}\n\n", P);
}

void emit_header(Buf *b, const Model *m, const Deriv *d, const EmitOptions *o)
{
    E.P = o->prefix;
    buf_printf(b, "/* Generated by hessgen %s from %s: do not edit. */\n", HESSGEN_VERSION, o->source_name);
    buf_printf(b, "#ifndef %s_HESS_H\n#define %s_HESS_H\n\n#include <stddef.h>\n\n", o->prefix, o->prefix);
    buf_puts(b, "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n");
    put_declarations(b, m, d);
    buf_puts(b, "\n#ifdef __cplusplus\n}\n#endif\n\n#endif\n");
}

static void put_table_ints(Buf *b, const char *name, const uint32_t *v, uint32_t n)
{
    buf_printf(b, "const int %s_%s[%u] = {", E.P, name, n ? n : 1);
    if (n == 0)
        buf_puts(b, "-1"); /* C has no empty arrays; hess_nnz says there is nothing here */
    for (uint32_t i = 0; i < n; i++)
        buf_printf(b, "%s%u", i == 0 ? "" : i % 16 ? ", " : ",\n    ", v[i]);
    buf_puts(b, "};\n");
}

void emit_c(Buf *b, const Model *m, const Deriv *d, const EmitOptions *o)
{
    const char *P = o->prefix;
    uint32_t N = m->nparam;
    E.P = P;
    E.indent = "    ";

    /* schedules: loss; loss and gradient; loss, gradient and Hessian; Hessian times v */
    Node *outs = xmalloc(sizeof(Node) * ((size_t)N + d->nnz + 1));
    Schedule s_loss, s_grad, s_hess, s_hess_grad, s_hvp, s_hval;
    outs[0] = m->loss;
    memcpy(outs + 1, d->grad, sizeof(Node) * N);
    memcpy(outs + 1 + N, d->hess, sizeof(Node) * d->nnz);
    sched_prepare(outs, (size_t)N + 1 + d->nnz);
    sched_prepare(d->hvp, N);
    sched_build(&s_loss, outs, 1, NULL);
    sched_build(&s_grad, outs, (size_t)N + 1, NULL);
    /* the Hessian functions: loss and Hessian, then what the gradient adds */
    memmove(outs + 1, outs + 1 + N, sizeof(Node) * d->nnz);
    sched_build(&s_hess, outs, (size_t)1 + d->nnz, NULL);
    sched_build(&s_hess_grad, d->grad, N, &s_hess);
    sched_build(&s_hval, d->hess, d->nnz, NULL);
    sched_build(&s_hvp, d->hvp, N, NULL);
    free(outs);
    E.limit = dag.nnodes;
    E.temp = xcalloc(E.limit, sizeof(uint32_t));
    E.stamp = xcalloc(E.limit, sizeof(uint32_t));
    E.cur = 0;

    bool used[OP__COUNT] = {0};
    sched_ops_used(&s_hess, used);
    sched_ops_used(&s_hess_grad, used);
    sched_ops_used(&s_hvp, used);

    buf_printf(b, "/* Generated by hessgen %s from %s: do not edit.\n", HESSGEN_VERSION, o->source_name);
    buf_printf(b, " * Model %s: %u parameter%s; the Hessian's lower triangle has %u structural nonzero%s.\n"
                  " * Standalone C99: needs only <math.h> (link with -lm). */\n",
               P, N, N == 1 ? "" : "s", d->nnz, d->nnz == 1 ? "" : "s");
    buf_puts(b, "#include <math.h>\n#include <stddef.h>\n\n#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n");
    put_declarations(b, m, d);
    buf_puts(b, "\n");
    put_helpers(b, used);

    /* loss */
    buf_printf(b, "double %s_loss(const double *theta)\n{\n    (void)theta;\n", P);
    put_body(b, &s_loss);
    put_return(b, m->loss);

    /* gradient */
    buf_printf(b, "double %s_grad(const double *theta, double *grad)\n{\n    (void)theta;\n", P);
    put_body(b, &s_grad);
    put_outputs(b, "    ", "grad", d->grad, N);
    put_return(b, m->loss);

    /* dense Hessian */
    uint64_t full = (uint64_t)N * (N + 1) / 2;
    buf_printf(b, "double %s_hess(const double *theta, double *grad, double *hess)\n{\n    (void)theta;\n", P);
    if (d->nnz < full)
        buf_printf(b, "    for (size_t k = 0; k < (size_t)%u * %u; k++)\n        hess[k] = 0.0;\n", N, N);
    put_body(b, &s_hess);
    put_optional_grad(b, &s_hess_grad, d);
    for (uint32_t t = 0; t < d->nnz; t++) {
        uint32_t i = d->rows[t], j = d->cols[t];
        if (i == j)
            buf_printf(b, "    hess[%llu] = ", (unsigned long long)i * N + j);
        else
            buf_printf(b, "    hess[%llu] = hess[%llu] = ", (unsigned long long)i * N + j,
                       (unsigned long long)j * N + i);
        put_node(b, d->hess[t]);
        buf_puts(b, ";\n");
    }
    put_return(b, m->loss);

    /* Hessian-vector product */
    buf_printf(b, "void %s_hvp(const double *theta, const double *v, double *hv)\n{\n    (void)theta;\n    (void)v;\n", P);
    put_body(b, &s_hvp);
    put_outputs(b, "    ", "hv", d->hvp, N);
    buf_puts(b, "}\n\n");

    /* sparse Hessian: the same schedule as the dense one */
    buf_printf(b, "double %s_hess_sparse(const double *theta, double *grad, double *values)\n{\n    (void)theta;\n    (void)values;\n", P);
    put_body(b, &s_hess);
    put_optional_grad(b, &s_hess_grad, d);
    put_outputs(b, "    ", "values", d->hess, d->nnz);
    put_return(b, m->loss);

    /* the sparse Hessian alone */
    buf_printf(b, "void %s_hess_values(const double *theta, double *values)\n{\n    (void)theta;\n    (void)values;\n", P);
    put_body(b, &s_hval);
    put_outputs(b, "    ", "values", d->hess, d->nnz);
    buf_puts(b, "}\n\n");

    /* tables */
    buf_printf(b, "const int %s_hess_nnz = %u;\n", P, d->nnz);
    put_table_ints(b, "hess_rows", d->rows, d->nnz);
    put_table_ints(b, "hess_cols", d->cols, d->nnz);
    buf_printf(b, "const char *const %s_param_names[%u] = {", P, N);
    for (uint32_t i = 0; i < N; i++)
        buf_printf(b, "%s\"%s\"", i == 0 ? "" : i % 8 ? ", " : ",\n    ", m->param_names[i]);
    buf_puts(b, "};\n");
    buf_printf(b, "const double %s_param_start[%u] = {", P, N);
    for (uint32_t i = 0; i < N; i++) {
        buf_puts(b, i == 0 ? "" : i % 8 ? ", " : ",\n    ");
        put_double(b, m->param_start[i]);
    }
    buf_puts(b, "};\n\n");

    /* the descriptor, through wrappers that take (and ignore) a data pointer */
    buf_printf(b, "static double %s_loss_any(const double *theta, const void *data)\n{\n    (void)data;\n    return %s_loss(theta);\n}\n\n", P, P);
    buf_printf(b, "static double %s_grad_any(const double *theta, const void *data, double *grad)\n{\n    (void)data;\n    return %s_grad(theta, grad);\n}\n\n", P, P);
    buf_printf(b, "static double %s_hess_any(const double *theta, const void *data, double *grad, double *hess)\n{\n    (void)data;\n    return %s_hess(theta, grad, hess);\n}\n\n", P, P);
    buf_printf(b, "static void %s_hvp_any(const double *theta, const void *data, const double *v, double *hv)\n{\n    (void)data;\n    %s_hvp(theta, v, hv);\n}\n\n", P, P);
    buf_printf(b, "static double %s_hess_sparse_any(const double *theta, const void *data, double *grad, double *values)\n{\n    (void)data;\n    return %s_hess_sparse(theta, grad, values);\n}\n\n", P, P);
    buf_printf(b, "static void %s_hess_values_any(const double *theta, const void *data, double *values)\n{\n    (void)data;\n    %s_hess_values(theta, values);\n}\n\n", P, P);
    buf_printf(b, "const hessgen_model %s_model = {\n    1, \"%s\", %u, %u, %s_hess_rows, %s_hess_cols, %s_param_names, %s_param_start,\n"
                  "    %s_loss_any, %s_grad_any, %s_hess_any, %s_hvp_any, %s_hess_sparse_any, %s_hess_values_any\n};\n",
               P, P, N, d->nnz, P, P, P, P, P, P, P, P, P, P);
    buf_puts(b, "\n#ifdef __cplusplus\n}\n#endif\n");
    if (o->with_main)
        buf_printf(b, "\n/* The analyzer (hessgen --main): build with\n"
                      "   cc THIS_FILE.c $(pkg-config --cflags --libs hessrt) -o %s */\n"
                      "#include <hessrt.h>\n\n"
                      "int main(int argc, char **argv)\n{\n    return hessrt_main(&%s_model, argc, argv);\n}\n",
                   P, P);

    sched_free(&s_loss);
    sched_free(&s_grad);
    sched_free(&s_hess);
    sched_free(&s_hess_grad);
    sched_free(&s_hval);
    sched_free(&s_hvp);
    free(E.temp);
    free(E.stamp);
    E.temp = E.stamp = NULL;
}
