/* checked.c: what `hessgen --checked` adds to the generated C.
 *
 * Every temporary is tested as it is made. One that is not finite while its operands are is a
 * source: where a NaN or an infinity began (the .hl line:column of the expression the graph
 * node was made for, the operation and the source text; a derivative's nodes are the
 * expression's that was differentiated). The first four sources of an evaluation are kept, as
 * an overflow that is absorbed later (exp inside a sigmoid) may come before the one that
 * reaches the output; the operands are tested only when the result is not finite, so the
 * normal path pays one test per temporary. At the end of each function the outputs are scanned
 * in order, loss, gradient, Hessian, and the first that is not finite is the fault: which
 * quantity and entry, its value, and the sources, or the entry of theta (or v) that was not
 * finite on entry. The fault is kept for P_fault_get and P_fault_text and passed to the handler
 * of P_fault_handler. The state is the file's: checked code is for finding a fault, one thread
 * at a time (it has no OpenMP loops). A data set that M_data_check refuses makes NaN without a
 * fault: that is the data check's to report.
 */
#include <stdlib.h>
#include <string.h>

#include "hessgen.h"

typedef struct {
    Span span;
    uint8_t op;
    bool division; /* a product with divisors: "/" */
} Site;

static struct {
    Site *sites; /* sites[0] is "none" */
    uint32_t n, cap;
    HashIndex index; /* the sites by (span, op) */
} C;

static uint64_t site_hash(Span s, uint8_t op)
{
    uint64_t h = ((uint64_t)s.begin << 32 | s.end) * 0x9E3779B97F4A7C15ull;
    return (h ^ (h >> 29) ^ op) * 0xBF58476D1CE4E5B9ull;
}

static uint64_t site_hash_of(uint32_t i, void *ctx)
{
    (void)ctx;
    return site_hash(C.sites[i].span, C.sites[i].op);
}

static uint32_t checked_site(Node n, bool division)
{
    Span s = dag_span(n);
    uint8_t op = (uint8_t)dag_op(n);
    if (division)
        op = OP__COUNT; /* its own site: "/" */
    if (s.begin == 0 && s.end == 0)
        return 0;   /* made for no source expression (a constant of the derivative rules) */
    if (C.n == 0) { /* sites[0] stands for "none" */
        C.cap = 256;
        C.sites = xcalloc(C.cap, sizeof(Site));
        C.n = 1;
    }
    uint64_t h = site_hash(s, op);
    for (uint32_t k = 0, i; (i = hash_index_next(&C.index, h, &k));) {
        const Site *x = &C.sites[i];
        if (x->span.begin == s.begin && x->span.end == s.end && x->op == op)
            return i;
    }
    if (C.n == C.cap) {
        C.cap = C.cap ? C.cap * 2 : 256;
        C.sites = xrealloc(C.sites, sizeof(Site) * C.cap);
    }
    C.sites[C.n] = (Site){s, op, division};
    hash_index_add(&C.index, h, C.n, site_hash_of, NULL);
    return C.n++;
}

/* Text inside a C string literal: quotes, backslashes and '?' (no trigraph) escaped. */
static void put_c_string_body(Buf *b, const char *text)
{
    for (const char *c = text; *c; c++) {
        if (*c == '"' || *c == '\\' || *c == '?')
            buf_printf(b, "\\%c", *c);
        else if ((unsigned char)*c < 0x20)
            buf_puts(b, " ");
        else
            buf_printf(b, "%c", *c);
    }
}

void checked_declarations(Buf *b, const char *P)
{
    buf_printf(b,
               "/* hessgen --checked: the first value that was not finite in the last evaluation. */\n"
               "typedef struct {\n"
               "    const char *function; /* \"%s_grad\" */\n"
               "    const char *quantity; /* \"loss\", \"gradient\", \"Hessian\" or \"Hessian-vector product\" */\n"
               "    int i, j;             /* its entry: gradient i, Hessian (i, j); -1 where there is none */\n"
               "    double value;         /* NaN or an infinity */\n"
               "    int input;            /* >= 0: theta[input] (v[input] if input_v) was not finite on entry */\n"
               "    int input_v;\n"
               "    int sources;          /* where values that were not finite began (from finite operands), */\n"
               "    const char *file;     /* up to 4; the first: the .hl file, line and column, */\n"
               "    int line, col;\n"
               "    const char *op;       /* the operation (\"log\", \"exp\", \"pow\", \"/\", ...) */\n"
               "    const char *source;   /* and the expression's source text (%s_fault_text lists all) */\n"
               "} %s_fault;\n"
               "/* 1, and the fault into *fault (unless NULL), if the last evaluation produced a value that\n"
               "   is not finite; 0 otherwise (a data set that %s_data_check refuses is not a fault). */\n"
               "int %s_fault_get(%s_fault *fault);\n"
               "/* The last fault as a sentence, or NULL if there is none. */\n"
               "const char *%s_fault_text(void);\n"
               "/* handler(fault, user) after every evaluation with a fault (NULL: none, the default). */\n"
               "void %s_fault_handler(void (*handler)(const %s_fault *fault, void *user), void *user);\n",
               P, P, P, P, P, P, P, P, P);
}

void checked_state(Buf *b, const char *P)
{
    buf_printf(
        b,
        "/* --checked (checked.c in hessgen): the evaluation's state, one thread at a time */\n"
        "static int %s_src[4], %s_nsrc; /* the sites where values that were not finite began */\n"
        "static int %s_input, %s_input_v; /* an entry of theta (or v) that was not finite on entry */\n"
        "static void %s_enter(const double *theta, const double *v);\n"
        "static int %s_bad(const char *function, const char *quantity, const double *v, size_t n, int layout);\n\n",
        P, P, P, P, P, P);
}

/* One temporary's test: not finite, from finite operands (operands_finite: "" or a C
 * condition " && isfinite(a) && ..."), it is a source. */
void checked_step(Buf *b, const char *indent, const char *P, const char *value, Node n, bool division,
                  const char *operands_finite)
{
    uint32_t site = checked_site(n, division);
    if (site)
        buf_printf(b, "%sif (!isfinite(%s) && %s_nsrc < 4%s) %s_src[%s_nsrc++] = %u;\n", indent, value, P,
                   operands_finite, P, P, site);
}

static const char *op_text(const Site *site)
{
    if (site->division)
        return "/";
    Op op = (Op)site->op;
    static const char *const unary[OP__COUNT] = {
#define X(e, src, c, helper, d, ...) [OP_##e] = src ? src : c,
        UNARY_OPS(X)
#undef X
    };
    switch (op) {
    case OP_ADD:
        return "+";
    case OP_MUL:
        return "*";
    case OP_POW:
        return "pow";
    case OP_ROWSUM:
        return "sum";
    default:
        return unary[op] ? unary[op] : "?";
    }
}

/* The sites' table, and the functions that read it. */
void checked_definitions(Buf *b, const char *P, const char *file, uint32_t nparam, bool dense_pattern)
{
    buf_printf(b,
               "static const struct { int line, col; const char *op, *source; } %s_sites[%u] = {\n"
               "    {0, 0, NULL, NULL}",
               P, C.n ? C.n : 1);
    for (uint32_t i = 1; i < C.n; i++) {
        int line, col;
        diag_line_col(C.sites[i].span.begin, &line, &col);
        char text[64];
        diag_excerpt(C.sites[i].span, text, sizeof text);
        buf_printf(b, ",\n    {%d, %d, \"%s\", \"", line, col, op_text(&C.sites[i]));
        put_c_string_body(b, text);
        buf_puts(b, "\"}");
    }
    buf_puts(b, "\n};\n\n");
    buf_printf(b,
               "static %s_fault %s_last;\n"
               "static int %s_faulted;\n"
               "static void (*%s_handler)(const %s_fault *, void *);\n"
               "static void *%s_handler_user;\n"
               "static const char %s_file[] = \"",
               P, P, P, P, P, P, P);
    put_c_string_body(b, file);
    buf_puts(b, "\";\n\n");
    buf_printf(
        b,
        "static void %s_enter(const double *theta, const double *v)\n{\n"
        "    %s_nsrc = 0;\n    %s_faulted = 0;\n    %s_input = -1;\n    %s_input_v = 0;\n"
        "    for (int k = 0; k < %u; k++)\n"
        "        if (!isfinite(theta[k]) || (v && !isfinite(v[k]))) {\n"
        "            %s_input = k;\n            %s_input_v = isfinite(theta[k]);\n            break;\n        }\n}\n\n",
        P, P, P, P, P, nparam, P, P);
    if (dense_pattern) /* the nonzeros are the lower triangle, row by row */
        buf_printf(
            b,
            "/* Nonzero k of the lower triangle stored row by row: row i holds k = i(i+1)/2 .. i(i+1)/2 + i. */\n"
            "static void %s_entry(size_t k, int *i, int *j)\n{\n"
            "    size_t r = (size_t)((sqrt(8.0 * (double)k + 1.0) - 1.0) / 2.0);\n"
            "    while (r * (r + 1) / 2 > k)\n        r--;\n"
            "    while ((r + 1) * (r + 2) / 2 <= k)\n        r++;\n"
            "    *i = (int)r;\n    *j = (int)(k - r * (r + 1) / 2);\n}\n\n",
            P);
    else
        buf_printf(b,
                   "static void %s_entry(size_t k, int *i, int *j)\n{\n"
                   "    *i = %s_hess_rows[k];\n    *j = %s_hess_cols[k];\n}\n\n",
                   P, P, P);
    buf_printf(
        b,
        "/* The first entry of v[0..n) that is not finite becomes the fault; 1 if there is one. layout:\n"
        "   0 the loss, 1 a vector, 2 a dense Hessian, 3 the Hessian's nonzeros. */\n"
        "static int %s_bad(const char *function, const char *quantity, const double *v, size_t n, int layout)\n{\n"
        "    size_t k = 0;\n"
        "    while (k < n && isfinite(v[k]))\n        k++;\n"
        "    if (k == n)\n        return 0;\n"
        "    %s_fault f = {function, quantity, -1, -1, v[k], %s_input, %s_input_v, 0, NULL, 0, 0, NULL, NULL};\n"
        "    if (layout == 1)\n        f.i = (int)k;\n"
        "    else if (layout == 2)\n        f.i = (int)(k / %u), f.j = (int)(k %% %u);\n"
        "    else if (layout == 3)\n        %s_entry(k, &f.i, &f.j);\n"
        "    if (%s_input < 0 && %s_nsrc > 0) {\n"
        "        const int s = %s_src[0];\n"
        "        f.sources = %s_nsrc;\n        f.file = %s_file;\n"
        "        f.line = %s_sites[s].line;\n        f.col = %s_sites[s].col;\n"
        "        f.op = %s_sites[s].op;\n        f.source = %s_sites[s].source;\n"
        "    }\n"
        "    %s_last = f;\n    %s_faulted = 1;\n"
        "    if (%s_handler)\n        %s_handler(&f, %s_handler_user);\n"
        "    return 1;\n}\n\n",
        P, P, P, P, nparam, nparam, P, P, P, P, P, P, P, P, P, P, P, P, P, P, P);
    buf_printf(b,
               "int %s_fault_get(%s_fault *fault)\n{\n"
               "    if (%s_faulted && fault)\n        *fault = %s_last;\n    return %s_faulted;\n}\n\n"
               "void %s_fault_handler(void (*handler)(const %s_fault *fault, void *user), void *user)\n{\n"
               "    %s_handler = handler;\n    %s_handler_user = user;\n}\n\n",
               P, P, P, P, P, P, P, P, P);
    buf_printf(b,
               "const char *%s_fault_text(void)\n{\n"
               "    static char text[1200];\n"
               "    const %s_fault *f = &%s_last;\n"
               "    if (!%s_faulted)\n        return NULL;\n"
               "    char entry[160] = \"\", ni[64], nj[64], nin[64];\n"
               "    %s_param_name(f->i, ni, sizeof ni);\n"
               "    %s_param_name(f->j, nj, sizeof nj);\n"
               "    %s_param_name(f->input, nin, sizeof nin);\n"
               "    if (f->j >= 0)\n"
               "        snprintf(entry, sizeof entry, \" entry (%%d, %%d) (d2L/d%%s d%%s)\", f->i, f->j, ni, nj);\n"
               "    else if (f->i >= 0)\n"
               "        snprintf(entry, sizeof entry, \" entry %%d (%%s%%s)\", f->i, f->quantity[0] == 'g' ? \"dL/d\" "
               ": \"\", ni);\n"
               "    const char *value = isnan(f->value) ? \"NaN\" : f->value > 0 ? \"inf\" : \"-inf\";\n"
               "    size_t at = 0;\n"
               "    int w = snprintf(text, sizeof text, \"the %%s%%s is %%s (in %%s)\", f->quantity, entry, value, "
               "f->function);\n"
               "    at = w > 0 ? (size_t)w : 0;\n"
               "    if (f->input >= 0)\n"
               "        snprintf(text + at, sizeof text - at, \": %%s[%%d] (%%s) was not finite on entry\", f->input_v "
               "? \"v\" : \"theta\",\n"
               "                 f->input, nin);\n"
               "    else if (!f->file)\n"
               "        snprintf(text + at, sizeof text - at, \": where it began could not be traced\");\n"
               "    for (int k = 0, told = 0; f->input < 0 && k < f->sources && at < sizeof text; k++) {\n"
               "        const int s = %s_src[k];\n"
               "        int again = 0; /* two sites of one operation (a value and its derivative's): said once */\n"
               "        for (int q = 0; q < k && !again; q++)\n"
               "            again = %s_sites[%s_src[q]].line == %s_sites[s].line && %s_sites[%s_src[q]].col == "
               "%s_sites[s].col &&\n"
               "                    strcmp(%s_sites[%s_src[q]].op, %s_sites[s].op) == 0;\n"
               "        if (again)\n            continue;\n"
               "        w = snprintf(text + at, sizeof text - at, \"%%s %%s at %%s:%%d:%%d, in '%%s'\",\n"
               "                     told++ == 0 ? \": it began with\" : \"; and with\", %s_sites[s].op, %s_file, "
               "%s_sites[s].line,\n"
               "                     %s_sites[s].col, %s_sites[s].source);\n"
               "        at += w > 0 ? (size_t)w : 0;\n"
               "    }\n"
               "    return text;\n}\n\n",
               P, P, P, P, P, P, P, P, P, P, P, P, P, P, P, P, P, P, P, P, P, P);
}

void checked_release(void)
{
    /* the sites are one file's: emit_c ends with this */
    free(C.sites);
    hash_index_free(&C.index);
    memset(&C, 0, sizeof C);
}
