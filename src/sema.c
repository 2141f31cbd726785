/* sema.c: checks the syntax tree and lowers it to the expression graph.
 *
 * In: the Program. Out: the Model (parameter names and start values, the loss as one graph
 * node, the `at` points with exact coordinates), or errors through diag.
 * What it does, in order:
 *   1. declares every name (a duplicate, or a built-in redefined, is an error), so a name may
 *      be used before the statement that declares it;
 *   2. sizes the parameter arrays and numbers theta's coordinates in declaration order,
 *      arrays row-major;
 *   3. lowers start values, constants, `let`s, the loss and the `at` points. Lowering inlines
 *      every `def` (arguments are passed by name, so one may serve as a value or as an index),
 *      unrolls every reduction over its fixed range, and evaluates every index exactly: an
 *      index is lowered like any expression and must come out an integer constant.
 * Constants, lets and defs are evaluated on first use; a cycle among them is an error.
 */
#include <stdlib.h>
#include <string.h>

#include "hessgen.h"

enum {
    MAX_RANK = 8,
    MAX_PARAMS = 10000000,
    MAX_LOWERED = 50000000, /* lowering steps, reductions unrolled: beyond this, stop */
    /* after a syntax error no output can be made: the checks go on only as far as this, so a
     * broken file that declares a sum over millions of terms is reported at once */
    RECOVERY_LOWERED = 100000,
    MAX_DEF_DEPTH = 200,
    /* array loops: a fixed range of at most this many values is unrolled, since a loop saves
     * little code there and would hide the sparsity and simplifications of its terms */
    ARRAY_UNROLL_MAX = 4,
};

typedef enum { SYM_PARAM, SYM_CONST, SYM_DATA, SYM_SIZE, SYM_LET, SYM_DEF, SYM_FUNC, SYM_PI } SymKind;
typedef enum { EV_TODO, EV_BUSY, EV_DONE, EV_FAILED } EvalState;

typedef struct {
    SymKind kind;
    const char *name;
    Span span;
    const Stmt *stmt;
    const Decl *decl;
    int ndims;
    long dims[MAX_RANK];
    long size;        /* number of scalar values: the product of dims */
    uint32_t base;    /* PARAM: theta index of the first value; DATA: the array's number; SIZE: its number */
    uint32_t rowsize; /* DATA: the size name of its first dimension, or NO_SIZE */
    Node *values;     /* CONST: every value; LET: values[0] */
    EvalState state;
    EvalState size_state; /* arrays are sized on first need: a size may name a later const */
    bool broken;          /* its declaration failed (reported): uses say nothing more */
    bool called;          /* DEF: inlined at least once */
    Op op;                /* FUNC; OP_NONE for pow and OP_POW for sqrt */
    int arity;
    int active; /* DEF: calls being inlined now */
} Sym;

/* A local binding: an index variable's value, or a def argument's value. An argument is
 * lowered once, where the call is; an index expression lowers to an integer constant, so the
 * same binding serves a parameter used as a value and one used as an index. */
typedef struct Env Env;
struct Env {
    const char *name;
    Node value;
    const Env *next;
};

bool sema_const_loops;
bool sema_array_loops;
long sema_max_params = MAX_PARAMS;

/* A loop over a constant table: which const array, at which row of it the loop starts. */
typedef struct {
    const Sym *sym;
    uint32_t size; /* the loop's own size id */
    long lo;
    uint32_t table; /* its data array number */
} TableUse;

/* An index variable of an array loop: the reduction it came from, its range and size. */
typedef struct {
    const Ast *ast;
    long lo, count;
    uint32_t size, var;
} LoopVar;

/* A const array read at a variable index: the table it became. */
typedef struct {
    const Sym *sym;
    uint32_t table;
} TableRead;

/* A def call already lowered: the def, its argument nodes (at args in memo_args), the row
 * depth it was lowered at, and the node. */
typedef struct {
    const Sym *sym;
    uint32_t hash, args, row_depth;
    Node node;
} MemoEntry;

static struct {
    TableUse *tables;
    uint32_t ntables;
    Sym **syms; /* every symbol, in the order declared; found by name through sym_index */
    uint32_t nsyms, syms_cap;
    HashIndex sym_index;
    long lowered;
    bool too_large;
    bool recovering;      /* errors came before sema: nothing will be emitted */
    bool init_irrational; /* lower_init met a value that is not an exact rational */
    Node last_start;      /* const_value's last node and its double */
    double last_start_value;
    int def_depth;
    /* the notes of one error's chain of calls: the innermost few and the outermost */
    int chain_errors, chain_notes, chain_skipped;
    unsigned row_depth; /* row reductions being lowered around the current expression */
    /* array loops: one index variable per reduction of the source and range, the const arrays
     * read at a variable index (as tables), and why the loss cannot keep its loops */
    LoopVar *avars;
    uint32_t navars;
    TableRead *atables;
    uint32_t natables;
    const char *array_fail;
    uint32_t nvsums;
    /* memo of def calls (memo_find): (def, arguments) -> node, found through memo_index */
    MemoEntry *memo;
    uint32_t nmemo, memo_cap;
    HashIndex memo_index;
    Node *memo_args;
    uint32_t memo_nargs, memo_args_cap;
    Model *model;
    const Program *prog;
} S;

/* An undefined name is reported unless a syntax error may have swallowed its declaration. */
static void undefined(Span at, const char *what, const char *name)
{
    if (!program_lost_name(S.prog, name))
        diag_error(at, "undefined %s '%s'", what, name);
}

/* ---- symbol table ---- */

static uint32_t name_hash(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

static Sym *sym_find(const char *name)
{
    uint32_t h = name_hash(name);
    for (uint32_t k = 0, i; (i = hash_index_next(&S.sym_index, h, &k));)
        if (strcmp(S.syms[i - 1]->name, name) == 0)
            return S.syms[i - 1];
    return NULL;
}

static uint64_t sym_hash(uint32_t i, void *ctx)
{
    (void)ctx;
    return name_hash(S.syms[i - 1]->name);
}

static Sym *sym_add(const char *name, SymKind kind, Span span)
{
    if (S.nsyms == S.syms_cap) {
        S.syms_cap = S.syms_cap ? S.syms_cap * 2 : 256;
        S.syms = xrealloc(S.syms, sizeof(Sym *) * S.syms_cap);
    }
    Sym *s = xcalloc(1, sizeof(Sym));
    s->kind = kind;
    s->name = name;
    s->span = span;
    S.syms[S.nsyms++] = s;
    hash_index_add(&S.sym_index, name_hash(name), S.nsyms, sym_hash, NULL);
    return s;
}

static void declare_builtins(void)
{
    static const struct {
        const char *name;
        Op op;
        int arity;
    } funcs[] = {
#define X(e, src, c, helper, d, ...) {src, OP_##e, 1},
        UNARY_OPS(X)
#undef X
            {"sqrt", OP_POW, 1},
        {"pow", OP_NONE, 2},
    };
    for (size_t i = 0; i < sizeof funcs / sizeof funcs[0]; i++) {
        if (!funcs[i].name)
            continue; /* internal operations have no source name */
        Sym *s = sym_add(funcs[i].name, SYM_FUNC, (Span){0, 0});
        s->op = funcs[i].op;
        s->arity = funcs[i].arity;
    }
    sym_add("pi", SYM_PI, (Span){0, 0});
}

static bool is_builtin(const char *name)
{
    Sym *s = sym_find(name);
    return s && (s->kind == SYM_FUNC || s->kind == SYM_PI);
}

static const char *kind_word(const Sym *s)
{
    switch (s->kind) {
    case SYM_PARAM:
        return "parameter";
    case SYM_CONST:
        return "constant";
    case SYM_DATA:
        return "data array";
    case SYM_SIZE:
        return "row count";
    case SYM_LET:
        return "let";
    case SYM_DEF:
        return "function";
    default:
        return "built-in";
    }
}

/* Declares a name of the program; a second declaration or a built-in's name is an error. */
static Sym *declare(const char *name, SymKind kind, Span span)
{
    Sym *old = sym_find(name);
    if (old && (old->kind == SYM_FUNC || old->kind == SYM_PI)) {
        diag_error(span, "cannot redefine built-in '%s'", name);
        return NULL;
    }
    if (old) {
        diag_error(span, "duplicate name '%s'", name);
        diag_note(old->span, "'%s' was first declared here as a %s", name, kind_word(old));
        return NULL;
    }
    return sym_add(name, kind, span);
}

/* ---- lowering ---- */

static Node lower(const Ast *e, const Env *env);
static Node lower_kind(const Ast *e, const Env *env);

static const Env *env_find(const Env *env, const char *name)
{
    for (; env; env = env->next)
        if (strcmp(env->name, name) == 0)
            return env;
    return NULL;
}

/* Lowers e and requires an integer constant: an index, a bound or a size. */
static bool lower_int(const Ast *e, const Env *env, const char *what, long *out)
{
    Node n = lower(e, env);
    if (!n)
        return false;
    if (dag_vars(n)) { /* array loops only: a bound or size that depends on an index variable */
        if (!S.array_fail)
            S.array_fail = "a reduction's bound depends on another reduction's variable";
        return false;
    }
    if (dag_op(n) == OP_ROW) {
        diag_error(e->span,
                   "%s must be an integer constant, but this is a row variable, whose range is only known at run time",
                   what);
        return false;
    }
    if (dag_has_data(n)) {
        diag_error(e->span, "%s must be an integer constant, but this depends on run-time data", what);
        return false;
    }
    if (dag_has_param(n)) {
        diag_error(e->span, "%s must be an integer constant, but this depends on a parameter", what);
        return false;
    }
    if (!dag_is_const(n)) {
        diag_error(e->span, "%s must be an integer constant, but this is not rational", what);
        return false;
    }
    if (mpz_cmp_ui(mpq_denref(dag_rat(n)), 1) != 0) {
        char *s = mpq_get_str(NULL, 10, dag_rat(n));
        diag_error(e->span, "%s must be an integer, but this is %s", what, s);
        void (*freefunc)(void *, size_t);
        mp_get_memory_functions(NULL, NULL, &freefunc);
        freefunc(s, strlen(s) + 1);
        return false;
    }
    if (!dag_is_int_const(n, out) || *out > (long)1 << 40 || *out < -((long)1 << 40)) {
        diag_error(e->span, "%s is too large", what);
        return false;
    }
    return true;
}

static void force_const(Sym *s);
static void force_let(Sym *s);
static bool ensure_sized(Sym *s);

static const char *plural(long n)
{
    return n == 1 ? "" : "s";
}

static void require_index(const Ast *e, const Sym *s)
{
    if (s->ndims == 1)
        diag_error(e->span, "'%s' is an array of %ld values: index it, as %s[0]", s->name, s->dims[0], s->name);
    else
        diag_error(e->span, "'%s' is an array of rank %d: give %d indices", s->name, s->ndims, s->ndims);
}

/* The value of a scalar name. */
static Node lower_name(const Ast *e, const Env *env)
{
    const Env *b = env_find(env, e->name);
    if (b)
        return b->value;
    Sym *s = sym_find(e->name);
    if (!s) {
        undefined(e->span, "name", e->name);
        return 0;
    }
    if ((s->kind == SYM_PARAM || s->kind == SYM_CONST) && !ensure_sized(s))
        return 0;
    if (s->broken)
        return 0;
    switch (s->kind) {
    case SYM_PI:
        return dag_pi();
    case SYM_PARAM:
        if (s->ndims) {
            require_index(e, s);
            return 0;
        }
        return dag_param(s->base);
    case SYM_CONST:
        if (s->ndims) {
            require_index(e, s);
            return 0;
        }
        force_const(s);
        return s->state == EV_DONE ? s->values[0] : 0;
    case SYM_LET:
        force_let(s);
        return s->state == EV_DONE ? s->values[0] : 0;
    case SYM_DATA:
        if (s->rowsize != NO_SIZE)
            diag_error(e->span, "'%s' is a data array: index its row with a reduction's variable, as sum(i, %s[i]%s)",
                       s->name, s->name, s->ndims > 1 ? "[0]" : "");
        else
            require_index(e, s);
        return 0;
    case SYM_SIZE:
        return dag_nrows(s->base);
    case SYM_DEF:
    case SYM_FUNC:
        diag_error(e->span, "'%s' is a function: call it with arguments", e->name);
        return 0;
    }
    return 0;
}

/* Whether e gives the array s one index per dimension (reported if not). */
static bool index_count(const Ast *e, const Sym *s)
{
    if (e->nargs == s->ndims)
        return true;
    diag_error(e->span, "'%s' has %d dimension%s but is given %d ind%s", s->name, s->ndims, plural(s->ndims), e->nargs,
               e->nargs == 1 ? "ex" : "ices");
    return false;
}

/* The row-major offset of e's indices from the first-th on, each an integer constant in range. */
static bool flat_index_one(const Ast *e, const Env *env, const Sym *s, int k, long *i)
{
    if (!lower_int(e->args[k], env, "an index", i))
        return false;
    if (*i < 0 || *i >= s->dims[k]) {
        if (s->ndims == 1)
            diag_error(e->args[k]->span, "index %ld is out of range for '%s' of size %ld", *i, s->name, s->dims[k]);
        else
            diag_error(e->args[k]->span, "index %ld is out of range for dimension %d of '%s' (size %ld)", *i, k + 1,
                       s->name, s->dims[k]);
        return false;
    }
    return true;
}

static bool flat_index(const Ast *e, const Env *env, const Sym *s, int first, long *flat)
{
    *flat = 0;
    for (int k = first; k < e->nargs; k++) {
        long i;
        if (!flat_index_one(e, env, s, k, &i))
            return false;
        *flat = *flat * s->dims[k] + i;
    }
    return true;
}

/* ---- array loops: indices affine in index variables ---- */

/* An integer index c + sum coef[t] * var[t]. */
typedef struct {
    int64_t c;
    uint32_t n;
    uint32_t var[MAX_MAP_TERMS];
    int64_t coef[MAX_MAP_TERMS];
} Affine;

static bool affine_add(Node n, int64_t scale, Affine *a)
{
    long v;
    if (dag_is_int_const(n, &v)) {
        a->c += scale * v;
        return true;
    }
    const Node *x = dag_args(n);
    switch (dag_op(n)) {
    case OP_IVAR:
        if (dag_var(dag_rec(n)->aux)->size != NO_SIZE || a->n == MAX_MAP_TERMS)
            return false;
        a->var[a->n] = dag_rec(n)->aux;
        a->coef[a->n++] = scale;
        return true;
    case OP_ADD:
        for (uint32_t i = 0; i < dag_nargs(n); i++)
            if (!affine_add(x[i], scale, a))
                return false;
        return true;
    case OP_MUL:
        return dag_nargs(n) == 2 && dag_is_int_const(x[0], &v) && affine_add(x[1], scale * v, a);
    default:
        return false;
    }
}

static void affine_fail(const char *why)
{
    if (!S.array_fail)
        S.array_fail = why;
}

/* The row-major offset of e's indices from the first-th on, affine in index variables: each
 * index an integer constant in range, or affine in fixed-range variables and in range for all
 * of their values. false after an error (reported) or where loops cannot be kept (array_fail). */
static bool flat_affine(const Ast *e, const Env *env, const Sym *s, int first, Affine *out)
{
    memset(out, 0, sizeof *out);
    for (int k = first; k < e->nargs; k++) {
        Node n = lower(e->args[k], env);
        if (!n)
            return false;
        Affine a = {0};
        if (!dag_vars(n)) {
            long i;
            if (!flat_index_one(e, env, s, k, &i))
                return false;
            a.c = i;
        } else if (!affine_add(n, 1, &a)) {
            affine_fail("an index that is not affine in the reductions' variables");
            return false;
        } else {
            int64_t lo = a.c, hi = a.c;
            for (uint32_t t = 0; t < a.n; t++) {
                const IndexVar *v = dag_var(a.var[t]);
                int64_t x = a.coef[t] * v->lo, y = a.coef[t] * (v->lo + v->count - 1);
                lo += x < y ? x : y;
                hi += x < y ? y : x;
            }
            if (lo < 0 || hi >= s->dims[k]) {
                affine_fail("an index out of range for some value of its variables");
                return false;
            }
        }
        /* out = out * dims[k] + a */
        out->c = out->c * s->dims[k] + a.c;
        for (uint32_t t = 0; t < out->n; t++)
            out->coef[t] *= s->dims[k];
        for (uint32_t t = 0; t < a.n; t++) {
            if (out->n == MAX_MAP_TERMS) {
                affine_fail("an index with too many variables");
                return false;
            }
            out->var[out->n] = a.var[t];
            out->coef[out->n++] = a.coef[t];
        }
    }
    return true;
}

static Node array_at(Op op, uint32_t array, int64_t base, const Affine *a, uint32_t rowvar, int64_t width)
{
    IndexMap map = {.array = array, .base = base, .nterms = a->n};
    memcpy(map.var, a->var, sizeof(uint32_t) * a->n);
    memcpy(map.coef, a->coef, sizeof(int64_t) * a->n);
    if (rowvar != UINT32_MAX) {
        if (map.nterms == MAX_MAP_TERMS) {
            affine_fail("an index with too many variables");
            return 0;
        }
        map.var[map.nterms] = rowvar;
        map.coef[map.nterms++] = width;
    }
    return dag_at(op, dag_map(&map));
}

/* A const array read at a variable index: its values become a table of the model. */
static uint32_t const_table(Sym *s)
{
    for (uint32_t k = 0; k < S.natables; k++)
        if (S.atables[k].sym == s)
            return S.atables[k].table;
    Model *m = S.model;
    uint32_t id = m->ndata + m->ntables;
    m->data = xrealloc(m->data, sizeof(DataArray) * (id + 1));
    DataArray *a = &m->data[id];
    memset(a, 0, sizeof *a);
    a->name = s->name;
    a->size = NO_SIZE;
    a->width = (uint32_t)s->size;
    a->ndims = s->ndims;
    memcpy(a->dims, s->dims, sizeof s->dims);
    Node *values = xmalloc(sizeof(Node) * (size_t)s->size); /* the model keeps its own copy */
    memcpy(values, s->values, sizeof(Node) * (size_t)s->size);
    a->values = values;
    m->ntables++;
    S.atables = xrealloc(S.atables, sizeof *S.atables * (S.natables + 1));
    S.atables[S.natables].sym = s;
    S.atables[S.natables++].table = id;
    return id;
}

/* X[i][j] for a data array: its row must be the variable of a reduction over its rows. */
/* X[i][j] in array loops: the row is a data-row variable, the other indices affine. */
static Node lower_data_array(const Ast *e, const Env *env, const Sym *s)
{
    uint32_t rowvar = UINT32_MAX;
    int first = 0;
    if (s->rowsize != NO_SIZE) {
        const Ast *x = e->args[0];
        const Env *b = x->kind == AST_NAME ? env_find(env, x->name) : NULL;
        if (!b || dag_op(b->value) != OP_IVAR || dag_var(dag_rec(b->value)->aux)->size != s->rowsize) {
            affine_fail("a data row that is not a reduction's variable"); /* reported by the first lowering */
            return 0;
        }
        rowvar = dag_rec(b->value)->aux;
        first = 1;
    }
    Affine a;
    if (!flat_affine(e, env, s, first, &a))
        return 0;
    return array_at(OP_DAT, s->base, a.c, &a, rowvar, (int64_t)S.model->data[s->base].width);
}

static Node lower_data(const Ast *e, const Env *env, const Sym *s)
{
    if (!index_count(e, s))
        return 0;
    if (sema_array_loops)
        return lower_data_array(e, env, s);
    unsigned level = DATA_NO_LEVEL;
    int first = 0;
    if (s->rowsize != NO_SIZE) {
        const Ast *x = e->args[0];
        const Env *b = x->kind == AST_NAME ? env_find(env, x->name) : NULL;
        if (!b || dag_op(b->value) != OP_ROW) {
            diag_error(
                x->span,
                "the row of data array '%s' must be the variable of a reduction over its rows, as in sum(i, %s[i]%s)",
                s->name, s->name, s->ndims > 1 ? "[0]" : "");
            return 0;
        }
        if (dag_row_size(b->value) != s->rowsize) {
            diag_error(x->span, "'%s' runs over the rows of '%s', but '%s' has '%s' rows", x->name,
                       S.model->sizes[dag_row_size(b->value)].name, s->name, S.model->sizes[s->rowsize].name);
            return 0;
        }
        level = dag_row_level(b->value);
        first = 1;
    }
    long flat;
    if (!flat_index(e, env, s, first, &flat))
        return 0;
    return dag_data(s->base, (uint32_t)flat, level);
}

/* X[i][j] for a const array X inside a loop over its rows (sema_const_loops): a value of the
 * loop's table, one per (array, loop), made on first use. */
static Node lower_table(const Ast *e, const Env *env, Sym *s, Node row)
{
    if (!ensure_sized(s))
        return 0;
    force_const(s);
    if (s->state != EV_DONE)
        return 0;
    if (!index_count(e, s))
        return 0;
    uint32_t size = dag_row_size(row);
    long count = S.model->sizes[size].count, first = 0;
    for (uint32_t k = 0; k < S.ntables; k++)
        if (S.tables[k].size == size)
            first = S.tables[k].lo;
    if (first < 0 || first + count > s->dims[0]) {
        long bad = first < 0 ? first : first + count - 1;
        diag_error(e->args[0]->span, "index %ld is out of range for %s'%s' (size %ld)", bad,
                   s->ndims == 1 ? "" : "dimension 1 of ", s->name, s->dims[0]);
        return 0;
    }
    const TableUse *use = NULL;
    for (uint32_t k = 0; k < S.ntables && !use; k++)
        if (S.tables[k].size == size && S.tables[k].sym == s)
            use = &S.tables[k];
    Model *m = S.model;
    if (!use) {
        /* the loop's first row is recorded by lower_table_rows as a use with sym NULL */
        uint32_t id = m->ndata + m->ntables;
        long width = s->size / s->dims[0];
        m->data = xrealloc(m->data, sizeof(DataArray) * (id + 1));
        DataArray *a = &m->data[id];
        memset(a, 0, sizeof *a);
        a->name = s->name;
        a->size = size;
        a->width = (uint32_t)width;
        a->ndims = s->ndims;
        memcpy(a->dims, s->dims, sizeof s->dims);
        Node *rows = xmalloc(sizeof(Node) * (size_t)(count * width)); /* the model keeps its own copy */
        memcpy(rows, s->values + first * width, sizeof(Node) * (size_t)(count * width));
        a->values = rows;
        m->ntables++;
        S.tables = xrealloc(S.tables, sizeof(TableUse) * (S.ntables + 1));
        S.tables[S.ntables++] = (TableUse){s, size, first, id};
        use = &S.tables[S.ntables - 1];
    }
    long flat;
    if (!flat_index(e, env, s, 1, &flat))
        return 0;
    return dag_data(use->table, (uint32_t)flat, dag_row_level(row));
}

/* a[i][j]: a parameter, a constant's value, or an error. */
static Node lower_index(const Ast *e, const Env *env)
{
    if (env_find(env, e->name)) {
        diag_error(e->name_span, "'%s' is not an array", e->name);
        return 0;
    }
    Sym *s = sym_find(e->name);
    if (!s) {
        undefined(e->name_span, "name", e->name);
        return 0;
    }
    if (s->broken)
        return 0;
    if (s->kind == SYM_DATA)
        return lower_data(e, env, s);
    if (s->kind == SYM_CONST && e->nargs >= 1 && e->args[0]->kind == AST_NAME) {
        const Env *b = env_find(env, e->args[0]->name);
        if (b && dag_op(b->value) == OP_ROW && dag_row_size(b->value) >= S.model->nsizes)
            return lower_table(e, env, s, b->value);
    }
    if ((s->kind == SYM_PARAM || s->kind == SYM_CONST) && !ensure_sized(s))
        return 0;
    if ((s->kind != SYM_PARAM && s->kind != SYM_CONST) || s->ndims == 0) {
        diag_error(e->name_span, "'%s' is not an array", e->name);
        return 0;
    }
    if (!index_count(e, s))
        return 0;
    if (sema_array_loops) {
        Affine a;
        if (!flat_affine(e, env, s, 0, &a))
            return 0;
        if (s->kind == SYM_PARAM)
            return a.n ? array_at(OP_PAT, MAP_THETA, (int64_t)s->base + a.c, &a, UINT32_MAX, 0)
                       : dag_param(s->base + (uint32_t)a.c);
        force_const(s);
        if (s->state != EV_DONE)
            return 0;
        return a.n ? array_at(OP_DAT, const_table(s), a.c, &a, UINT32_MAX, 0) : s->values[a.c];
    }
    long flat;
    if (!flat_index(e, env, s, 0, &flat))
        return 0;
    if (s->kind == SYM_PARAM)
        return dag_param(s->base + (uint32_t)flat);
    force_const(s);
    return s->state == EV_DONE ? s->values[flat] : 0;
}

/* Whether n may change at run time: a coordinate or data. Otherwise its value is known now. */
static bool varies(Node n)
{
    return !dag_is_fixed(n);
}

/* A division by a row count (a mean, n in a denominator) needs at least one row: the
 * generated data check refuses zero rows of every count that n depends on. */
static void need_rows_of_depth(Node n, int depth)
{
    if (!dag_has_data(n) || depth > 32)
        return;
    if (dag_op(n) == OP_NROWS) {
        S.model->sizes[dag_row_size(n)].needs_rows = true;
        return;
    }
    if (dag_op(n) == OP_ROWSUM || dag_op(n) == OP_DATA)
        return;
    for (uint32_t i = 0; i < dag_nargs(n); i++)
        need_rows_of_depth(dag_args(n)[i], depth + 1);
}

static void need_rows_of(Node n)
{
    need_rows_of_depth(n, 0);
}

/* A row variable is bound for indexing data arrays; it has no value to compute with. */
static bool row_as_value(Node n, const Ast *at)
{
    if (!n || (dag_op(n) != OP_ROW && !(dag_op(n) == OP_IVAR && dag_var(dag_rec(n)->aux)->size != NO_SIZE)))
        return false;
    diag_error(at->span, "a row variable only indexes the rows of data arrays; it is not a value");
    return true;
}

/* The sign of a constant node (exact for rationals, numeric otherwise). */
static int const_sign(Node n)
{
    if (dag_is_const(n))
        return mpq_sgn(dag_rat(n));
    long double v = dag_eval_const(n);
    return v > 0 ? 1 : v < 0 ? -1 : 0;
}

static Node lower_pow(const Ast *e, Node a, Node b, const Ast *base_ast, const Ast *exp_ast)
{
    if (!a || !b || row_as_value(a, base_ast) || row_as_value(b, exp_ast))
        return 0;
    if (dag_is_const(b) && mpq_sgn(dag_rat(b)) < 0)
        need_rows_of(a);
    if (dag_is_const(b)) {
        mpq_srcptr q = dag_rat(b);
        bool int_q = mpz_cmp_ui(mpq_denref(q), 1) == 0;
        if (!varies(a) && mpq_sgn(q) < 0 && const_sign(a) == 0) {
            diag_error(base_ast->span, "division by zero: 0 raised to a negative power");
            return 0;
        }
        if (!varies(a) && !int_q && const_sign(a) < 0) {
            diag_error(base_ast->span, "a negative constant raised to a non-integer power is not a real number");
            return 0;
        }
        if (varies(a) && int_q && mpz_sizeinbase(mpq_numref(q), 2) > 31) {
            /* an integer power multiplies out; beyond 2^31 its exponents would overflow */
            diag_error(exp_ast->span, "this integer exponent is too large: it must stay below 2^31 in magnitude");
            return 0;
        }
        Node r = dag_powq(a, q);
        if (!r)
            diag_error(e->span, "this constant power is too large to compute exactly");
        return r;
    }
    if (!varies(b)) {
        /* a constant exponent that is not rational (pi, sqrt(2)): pow, as LANGUAGE.md says */
        if (!varies(a) && const_sign(a) < 0) {
            diag_error(base_ast->span, "a negative constant raised to a non-integer power is not a real number");
            return 0;
        }
        if (!varies(a) && const_sign(a) == 0 && const_sign(b) < 0) {
            diag_error(base_ast->span, "division by zero: 0 raised to a negative power");
            return 0;
        }
        return dag_pow_const(a, b);
    }
    /* a^b with b not constant: exp(b*log(a)), defined for a > 0 */
    if (!varies(a) && const_sign(a) <= 0) {
        diag_error(base_ast->span, "a power with a non-constant exponent needs a positive base");
        return 0;
    }
    return dag_unary(OP_EXP, dag_mul(b, dag_unary(OP_LOG, a)));
}

/* The domain of a function at a constant argument: log(0) is an error, not a node. */
static bool check_domain(Op op, Node a, const Ast *arg)
{
    if (varies(a))
        return true;
    int s = const_sign(a);
    if (op == OP_LOG && s <= 0) {
        diag_error(arg->span, s == 0 ? "log(0) is undefined" : "log of a negative constant is undefined");
        return false;
    }
    if (op == OP_LOG1P) {
        Node t = dag_add(a, DAG_ONE);
        if (const_sign(t) <= 0) {
            diag_error(arg->span, "log1p of a constant <= -1 is undefined");
            return false;
        }
    }
    return true;
}

/* ---- the calls of defs already lowered: (def, argument nodes) -> node ---- */

static uint32_t memo_hash(const Sym *s, const Env *binds, int n)
{
    uint64_t h = ((uint64_t)(uintptr_t)s + S.row_depth) * 0x9E3779B97F4A7C15ull;
    for (int i = 0; i < n; i++)
        h = (h ^ binds[i].value) * 0x100000001B3ull;
    return (uint32_t)(h ^ h >> 31);
}

static bool memo_same(uint32_t e, const Sym *s, const Env *binds, int n)
{
    if (S.memo[e].sym != s || S.memo[e].row_depth != S.row_depth)
        return false;
    for (int i = 0; i < n; i++)
        if (S.memo_args[S.memo[e].args + (uint32_t)i] != binds[i].value)
            return false;
    return true;
}

static Node memo_find(const Sym *s, const Env *binds, int n)
{
    uint32_t h = memo_hash(s, binds, n);
    for (uint32_t k = 0, i; (i = hash_index_next(&S.memo_index, h, &k));)
        if (memo_same(i - 1, s, binds, n))
            return S.memo[i - 1].node;
    return 0;
}

static uint64_t memo_entry_hash(uint32_t i, void *ctx)
{
    (void)ctx;
    return S.memo[i - 1].hash;
}

static void memo_add(const Sym *s, const Env *binds, int n, Node r)
{
    if (S.nmemo == S.memo_cap) {
        S.memo_cap = S.memo_cap ? 2 * S.memo_cap : 256;
        S.memo = xrealloc(S.memo, sizeof *S.memo * S.memo_cap);
    }
    if (S.memo_nargs + (uint32_t)n > S.memo_args_cap) {
        S.memo_args_cap = (S.memo_nargs + (uint32_t)n) * 2 + 64;
        S.memo_args = xrealloc(S.memo_args, sizeof(Node) * S.memo_args_cap);
    }
    uint32_t h = memo_hash(s, binds, n);
    S.memo[S.nmemo].sym = s;
    S.memo[S.nmemo].hash = h;
    S.memo[S.nmemo].node = r;
    S.memo[S.nmemo].row_depth = S.row_depth;
    S.memo[S.nmemo].args = S.memo_nargs;
    for (int i = 0; i < n; i++)
        S.memo_args[S.memo_nargs++] = binds[i].value;
    hash_index_add(&S.memo_index, h, ++S.nmemo, memo_entry_hash, NULL);
}

static Node lower_call(const Ast *e, const Env *env)
{
    if (env_find(env, e->name)) {
        diag_error(e->name_span, "'%s' is not a function", e->name);
        return 0;
    }
    Sym *s = sym_find(e->name);
    if (!s) {
        undefined(e->name_span, "function", e->name);
        return 0;
    }
    if (s->kind != SYM_FUNC && s->kind != SYM_DEF) {
        diag_error(e->name_span, "'%s' is a %s, not a function", e->name, kind_word(s));
        return 0;
    }
    if (e->nargs != s->arity) {
        diag_error(e->span, "'%s' takes %d argument%s, but %d %s given", s->name, s->arity, plural(s->arity), e->nargs,
                   e->nargs == 1 ? "is" : "are");
        return 0;
    }
    if (s->kind == SYM_DEF) {
        if (s->active) {
            diag_error(e->name_span, "'%s' calls itself; functions are inlined and cannot be recursive", s->name);
            return 0;
        }
        if (S.def_depth >= MAX_DEF_DEPTH) {
            diag_error(e->name_span, "functions nested more than %d deep", MAX_DEF_DEPTH);
            return 0;
        }
        Env *binds = xcalloc((size_t)s->arity + 1, sizeof(Env));
        for (int i = 0; i < s->arity; i++) {
            binds[i].name = s->stmt->params[i];
            binds[i].value = lower(e->args[i], env);
            binds[i].next = i + 1 < s->arity ? &binds[i + 1] : NULL;
            if (!binds[i].value) {
                free(binds);
                return 0;
            }
        }
        s->called = true;
        /* a def is a function of its arguments: a call with the same argument nodes is the
         * same node, lowered once (a network's layer h(i, j) is called for every unit of the
         * next layer: without this, d layers of width w cost w^d inlinings). The row sums
         * nested around the call are part of the key: a row sum inside takes its level from them. */
        Node memo = memo_find(s, binds, s->arity);
        if (memo) {
            free(binds);
            return memo;
        }
        s->active++;
        S.def_depth++;
        int errors = diag_error_count();
        Node r = lower(s->stmt->expr, s->arity ? binds : NULL);
        if (r && diag_error_count() == errors)
            memo_add(s, binds, s->arity, r);
        if (diag_error_count() > errors) {
            if (diag_error_count() != S.chain_errors) { /* a new error: a new chain */
                S.chain_errors = diag_error_count();
                S.chain_notes = S.chain_skipped = 0;
            }
            if (S.chain_notes < 4 || S.def_depth == 1) {
                if (S.def_depth == 1 && S.chain_skipped)
                    diag_note(e->span, "in this call of '%s' (through %d more nested calls)", s->name, S.chain_skipped);
                else
                    diag_note(e->span, "in this call of '%s'", s->name);
                S.chain_notes++;
            } else {
                S.chain_skipped++;
            }
        }
        S.def_depth--;
        s->active--;
        free(binds);
        return r;
    }
    if (s->op == OP_NONE) /* pow(a, b) */
        return lower_pow(e, lower(e->args[0], env), lower(e->args[1], env), e->args[0], e->args[1]);
    Node a = lower(e->args[0], env);
    if (!a || row_as_value(a, e->args[0]))
        return 0;
    if (s->op == OP_POW) { /* sqrt(a) = a^(1/2) */
        if (!varies(a) && const_sign(a) < 0) {
            diag_error(e->args[0]->span, "square root of a negative constant is not a real number");
            return 0;
        }
        mpq_t half;
        mpq_init(half);
        mpq_set_ui(half, 1, 2);
        Node r = dag_powq(a, half);
        mpq_clear(half);
        return r;
    }
    if (!check_domain(s->op, a, e->args[0]))
        return 0;
    if ((s->op == OP_ABS || s->op == OP_RELU) && dag_has_param(a))
        diag_warning(e->name_span, "'%s' is not differentiable at 0; its derivatives there are taken as 0", s->name);
    return dag_unary(s->op, a);
}

/* ---- reductions ---- */

typedef struct {
    const char *array;
    long size;
    uint32_t rows; /* the size name when the dimension is a run-time row count, else NO_SIZE */
    int dim;
    Span span;
} Use;

typedef struct {
    Use *u;
    int n, cap;
    bool broken; /* an array whose declaration failed: its error stands for this one */
} UseList;

static bool in_list(const char *name, const char *const *names, int n)
{
    for (int i = 0; i < n; i++)
        if (names[i] && strcmp(names[i], name) == 0)
            return true;
    return false;
}

/* Collects the array dimensions that the index variable (any of `alias`) indexes directly
 * inside e, looking through def calls whose argument is the variable itself. `local` names
 * shadow globals in this scope (def parameters, inner index variables). */
static void infer_uses(const Ast *e, const char *const *alias, int nalias, const char *const *local, int nlocal,
                       UseList *uses)
{
    if (!e)
        return;
    switch (e->kind) {
    case AST_INDEX: {
        Sym *s = in_list(e->name, local, nlocal) ? NULL : sym_find(e->name);
        if (s && (s->kind == SYM_PARAM || s->kind == SYM_CONST || s->kind == SYM_DATA) &&
            ((s->kind != SYM_DATA && !ensure_sized(s)) || s->broken))
            uses->broken = true;
        else if (s && (s->kind == SYM_PARAM || s->kind == SYM_CONST || s->kind == SYM_DATA) && s->ndims == e->nargs) {
            for (int k = 0; k < e->nargs; k++) {
                const Ast *x = e->args[k];
                if (x->kind == AST_NAME && in_list(x->name, alias, nalias)) {
                    if (uses->n == uses->cap) {
                        uses->cap = uses->cap ? 2 * uses->cap : 8;
                        uses->u = xrealloc(uses->u, sizeof(Use) * (size_t)uses->cap);
                    }
                    bool row = s->kind == SYM_DATA && k == 0 && s->rowsize != NO_SIZE;
                    uses->u[uses->n++] = (Use){s->name, row ? 0 : s->dims[k], row ? s->rowsize : NO_SIZE, k, x->span};
                }
            }
        }
        for (int k = 0; k < e->nargs; k++)
            infer_uses(e->args[k], alias, nalias, local, nlocal, uses);
        return;
    }
    case AST_CALL: {
        for (int k = 0; k < e->nargs; k++)
            infer_uses(e->args[k], alias, nalias, local, nlocal, uses);
        Sym *s = in_list(e->name, local, nlocal) ? NULL : sym_find(e->name);
        if (!s || s->kind != SYM_DEF || s->arity != e->nargs || s->active)
            return;
        const char **inner = xcalloc((size_t)s->arity + 1, sizeof(char *));
        int ninner = 0;
        for (int k = 0; k < s->arity; k++)
            if (e->args[k]->kind == AST_NAME && in_list(e->args[k]->name, alias, nalias))
                inner[ninner++] = s->stmt->params[k];
        if (ninner) {
            s->active++;
            infer_uses(s->stmt->expr, inner, ninner, s->stmt->params, s->arity, uses);
            s->active--;
        }
        free(inner);
        return;
    }
    case AST_REDUCE: {
        infer_uses(e->a, alias, nalias, local, nlocal, uses);
        infer_uses(e->b, alias, nalias, local, nlocal, uses);
        /* the reduction's own variable shadows an outer one of the same name */
        const char **a2 = xcalloc((size_t)nalias + 1, sizeof(char *));
        const char **l2 = xcalloc((size_t)nlocal + 1, sizeof(char *));
        int na = 0;
        for (int k = 0; k < nalias; k++)
            if (strcmp(alias[k], e->name) != 0)
                a2[na++] = alias[k];
        memcpy(l2, local, sizeof(char *) * (size_t)nlocal);
        l2[nlocal] = e->name;
        if (na)
            infer_uses(e->body, a2, na, l2, nlocal + 1, uses);
        free(a2);
        free(l2);
        return;
    }
    default:
        infer_uses(e->a, alias, nalias, local, nlocal, uses);
        infer_uses(e->b, alias, nalias, local, nlocal, uses);
        for (int k = 0; k < e->nargs; k++)
            infer_uses(e->args[k], alias, nalias, local, nlocal, uses);
        return;
    }
}

/* sum(i, e): the range of i from the arrays it indexes; they must agree. A range over the rows
 * of a data array sets *rows to its size name (else NO_SIZE). */
static bool infer_range(const Ast *e, const Env *env, long *lo, long *hi, uint32_t *rows)
{
    UseList uses = {0};
    int nlocal = 0;
    for (const Env *b = env; b; b = b->next)
        nlocal++;
    const char **local = xcalloc((size_t)nlocal + 1, sizeof(char *));
    nlocal = 0;
    for (const Env *b = env; b; b = b->next)
        if (strcmp(b->name, e->name) != 0)
            local[nlocal++] = b->name;
    const char *alias[1] = {e->name};
    infer_uses(e->body, alias, 1, local, nlocal, &uses);
    free(local);
    bool ok = true;
    if (uses.n == 0 && uses.broken) {
        ok = false;
    } else if (uses.n == 0) {
        diag_error(e->name_span,
                   "cannot infer the range of '%s': it is not itself the index of any array here (data rows are "
                   "indexed by the variable alone, as y[%s]); write %s = lo..hi for fixed bounds",
                   e->name, e->name, e->name);
        ok = false;
    }
    for (int k = 1; ok && k < uses.n; k++) {
        if (uses.u[k].rows != uses.u[0].rows && (uses.u[k].rows == NO_SIZE || uses.u[0].rows == NO_SIZE)) {
            int r = uses.u[0].rows != NO_SIZE ? 0 : k, f = r == 0 ? k : 0;
            diag_error(
                e->name_span,
                "the range of '%s' is ambiguous: it runs over the '%s' rows of '%s' and over %ld entries of '%s'",
                e->name, S.model->sizes[uses.u[r].rows].name, uses.u[r].array, uses.u[f].size, uses.u[f].array);
            diag_note(uses.u[r].span, "'%s' indexes the rows of '%s' here", e->name, uses.u[r].array);
            diag_note(uses.u[f].span, "and '%s' (size %ld) here", uses.u[f].array, uses.u[f].size);
            ok = false;
        } else if (uses.u[k].rows != uses.u[0].rows) {
            diag_error(e->name_span, "the range of '%s' is ambiguous: '%s' has '%s' rows but '%s' has '%s' rows",
                       e->name, uses.u[0].array, S.model->sizes[uses.u[0].rows].name, uses.u[k].array,
                       S.model->sizes[uses.u[k].rows].name);
            diag_note(uses.u[0].span, "'%s' indexes the rows of '%s' here", e->name, uses.u[0].array);
            diag_note(uses.u[k].span, "and the rows of '%s' here", uses.u[k].array);
            ok = false;
        } else if (uses.u[k].size != uses.u[0].size) {
            diag_error(e->name_span,
                       "the range of '%s' is ambiguous: '%s' has %ld entries along dimension %d but '%s' has %ld along "
                       "dimension %d",
                       e->name, uses.u[0].array, uses.u[0].size, uses.u[0].dim + 1, uses.u[k].array, uses.u[k].size,
                       uses.u[k].dim + 1);
            diag_note(uses.u[0].span, "'%s' indexes '%s' (size %ld) here", e->name, uses.u[0].array, uses.u[0].size);
            diag_note(uses.u[k].span, "and '%s' (size %ld) here", uses.u[k].array, uses.u[k].size);
            ok = false;
        }
    }
    if (ok) {
        *lo = 0;
        *hi = uses.u[0].size - 1;
        *rows = uses.u[0].rows;
    }
    free(uses.u);
    return ok;
}

/* The sum over the rows of `size` of e's body, its variable bound to the row at the next
 * level: one OP_ROWSUM node (or 0 after an error). */
static Node lower_row_sum(const Ast *e, const Env *env, uint32_t size)
{
    unsigned level = S.row_depth++;
    Env bind = {.name = e->name, .value = dag_row(level, size), .next = env};
    Node body = lower(e->body, &bind);
    S.row_depth--;
    if (!body || row_as_value(body, e->body))
        return 0;
    return dag_rowsum(body, level, size);
}

/* A reduction over a run-time row count: one graph node whose body reads "the current row",
 * kept as a loop by the scheduler. */
static Node lower_rows(const Ast *e, const Env *env, uint32_t rows)
{
    if (e->reduce == RED_PROD) {
        diag_error(e->span,
                   "a product over the rows of a data set is not supported; write exp(sum(%s, log(...))) "
                   "for a positive body",
                   e->name);
        return 0;
    }
    if (S.row_depth >= MAX_ROW_LEVELS) {
        diag_error(e->span, "reductions over data rows nested more than %d deep", MAX_ROW_LEVELS);
        return 0;
    }
    Node r = lower_row_sum(e, env, rows);
    if (!r)
        return 0;
    if (e->reduce == RED_MEAN) {
        S.model->sizes[rows].needs_rows = true;
        r = dag_mul(r, dag_recip(dag_nrows(rows)));
    }
    return r;
}

/* Counts the uses of the index variable (any of `alias`) in e when every one is the first
 * index of a const array, as in t[i] or X[i][j] (through def calls that take it as an argument);
 * -1 when some use is anything else (arithmetic, a parameter's index, i + 1, a bound). */
static int table_uses(const Ast *e, const char *const *alias, int nalias)
{
    if (!e)
        return 0;
    switch (e->kind) {
    case AST_NAME:
        return in_list(e->name, alias, nalias) ? -1 : 0;
    case AST_INDEX: {
        Sym *s = sym_find(e->name);
        int n = 0, k = 0;
        if (e->nargs >= 1 && e->args[0]->kind == AST_NAME && in_list(e->args[0]->name, alias, nalias)) {
            if (!s || s->kind != SYM_CONST || s->broken || !ensure_sized(s))
                return -1;
            n = 1;
            k = 1;
        }
        for (; k < e->nargs; k++) {
            int u = table_uses(e->args[k], alias, nalias);
            if (u < 0)
                return -1;
            n += u;
        }
        return n;
    }
    case AST_CALL: {
        Sym *s = sym_find(e->name);
        int n = 0;
        const char **inner = xcalloc((size_t)e->nargs + 1, sizeof(char *));
        int ninner = 0;
        for (int k = 0; k < e->nargs && n >= 0; k++) {
            const Ast *x = e->args[k];
            if (x->kind == AST_NAME && in_list(x->name, alias, nalias)) {
                if (!s || s->kind != SYM_DEF || s->arity != e->nargs || s->active)
                    n = -1;
                else
                    inner[ninner++] = s->stmt->params[k];
            } else {
                int u = table_uses(x, alias, nalias);
                n = u < 0 ? -1 : n + u;
            }
        }
        if (n >= 0 && ninner) {
            s->active++;
            int u = table_uses(s->stmt->expr, inner, ninner);
            s->active--;
            n = u < 0 ? -1 : n + u;
        }
        free(inner);
        return n;
    }
    case AST_REDUCE: {
        int a = table_uses(e->a, alias, nalias), b = table_uses(e->b, alias, nalias);
        if (a < 0 || b < 0)
            return -1;
        const char **rest = xcalloc((size_t)nalias + 1, sizeof(char *));
        int nrest = 0;
        for (int k = 0; k < nalias; k++)
            if (strcmp(alias[k], e->name) != 0) /* the reduction's own variable shadows */
                rest[nrest++] = alias[k];
        int c = nrest ? table_uses(e->body, rest, nrest) : 0;
        free(rest);
        return c < 0 ? -1 : a + b + c;
    }
    default: {
        int n = 0;
        const Ast *parts[3] = {e->a, e->b, e->body};
        for (int k = 0; k < 3; k++) {
            int u = table_uses(parts[k], alias, nalias);
            if (u < 0)
                return -1;
            n += u;
        }
        for (int k = 0; k < e->nargs; k++) {
            int u = table_uses(e->args[k], alias, nalias);
            if (u < 0)
                return -1;
            n += u;
        }
        return n;
    }
    }
}

/* sum or mean over i = lo..hi where i only picks rows of const arrays: a loop over a table of
 * those rows, like a loop over data rows but with the count fixed (sema_const_loops). */
static Node lower_table_rows(const Ast *e, const Env *env, long lo, long hi)
{
    Model *m = S.model;
    uint32_t size = m->nsizes + m->nfixed;
    long count = hi - lo + 1;
    m->sizes = xrealloc(m->sizes, sizeof(SizeName) * (size + 1));
    m->sizes[size] = (SizeName){e->name, false, count};
    m->nfixed++;
    dag_fix_size(size, count);
    S.tables = xrealloc(S.tables, sizeof(TableUse) * (S.ntables + 1));
    S.tables[S.ntables++] = (TableUse){NULL, size, lo, 0};
    Node r = lower_row_sum(e, env, size);
    if (!r)
        return 0;
    if (e->reduce == RED_MEAN)
        r = dag_mul(r, dag_recip(dag_int(count)));
    return r;
}

/* Whether the expression mentions the name anywhere (an inner reduction over the same name
 * counts too: the answer only has to be false when the name is surely unused). */
static bool mentions(const Ast *e, const char *name)
{
    if (!e)
        return false;
    if (e->name && strcmp(e->name, name) == 0)
        return true;
    if (mentions(e->a, name) || mentions(e->b, name) || mentions(e->body, name))
        return true;
    for (int k = 0; k < e->nargs; k++)
        if (mentions(e->args[k], name))
            return true;
    return false;
}

/* A sum or mean in array loops: one OP_VSUM over an index variable (one per reduction of the
 * source and range, so that a def's sum inlined twice is one node). */
static Node lower_array_sum(const Ast *e, const Env *env, long lo, long hi, uint32_t rows)
{
    long count = rows != NO_SIZE ? -1 : hi - lo + 1;
    if (rows != NO_SIZE)
        lo = 0;
    uint32_t var = UINT32_MAX;
    for (uint32_t k = 0; k < S.navars && var == UINT32_MAX; k++)
        if (S.avars[k].ast == e && S.avars[k].lo == lo && S.avars[k].count == count && S.avars[k].size == rows)
            var = S.avars[k].var;
    if (var == UINT32_MAX) {
        var = dag_new_var(e->name, lo, count, rows);
        if (var == UINT32_MAX) {
            affine_fail("more reductions than index variables (64)");
            return 0;
        }
        S.avars = xrealloc(S.avars, sizeof *S.avars * (S.navars + 1));
        S.avars[S.navars].ast = e;
        S.avars[S.navars].lo = lo;
        S.avars[S.navars].count = count;
        S.avars[S.navars].size = rows;
        S.avars[S.navars++].var = var;
    }
    Env bind = {.name = e->name, .value = dag_ivar(var), .next = env};
    Node body = lower(e->body, &bind);
    if (!body || row_as_value(body, e->body))
        return 0;
    S.nvsums++;
    Node r = dag_vsum(body, var);
    if (e->reduce == RED_MEAN) {
        if (rows != NO_SIZE)
            S.model->sizes[rows].needs_rows = true;
        r = dag_mul(r, dag_recip(dag_var_count(var)));
    }
    return r;
}

static Node lower_reduce(const Ast *e, const Env *env)
{
    if (is_builtin(e->name)) {
        diag_error(e->name_span, "cannot use built-in '%s' as an index variable", e->name);
        return 0;
    }
    long lo, hi;
    uint32_t rows = NO_SIZE;
    if (e->a) {
        if (!lower_int(e->a, env, "a reduction bound", &lo) || !lower_int(e->b, env, "a reduction bound", &hi))
            return 0;
    } else if (!infer_range(e, env, &lo, &hi, &rows)) {
        return 0;
    }
    if (sema_array_loops && e->reduce != RED_PROD && mentions(e->body, e->name) &&
        (rows != NO_SIZE || (hi >= lo && hi - lo + 1 > ARRAY_UNROLL_MAX)))
        return lower_array_sum(e, env, lo, hi, rows);
    if (rows != NO_SIZE)
        return lower_rows(e, env, rows);
    if (hi < lo && e->reduce == RED_MEAN) {
        diag_error(e->span, "mean over an empty range (%ld..%ld)", lo, hi);
        return 0;
    }
    if (hi >= lo && hi - lo >= MAX_LOWERED) {
        diag_error(e->span, "a reduction over %ld values is too large to unroll", hi - lo + 1);
        return 0;
    }
    size_t n = hi >= lo ? (size_t)(hi - lo + 1) : 0;
    const char *alias[1] = {e->name};
    if (sema_const_loops && e->reduce != RED_PROD && n >= 2 && S.row_depth < MAX_ROW_LEVELS &&
        S.model->ndata + S.model->ntables + 64 < MAX_DATA_ARRAYS && !is_builtin(e->name) &&
        table_uses(e->body, alias, 1) > 0)
        return lower_table_rows(e, env, lo, hi);
    if (n >= 2 && e->reduce != RED_PROD && !mentions(e->body, e->name)) {
        /* a body without the index is the same every time: lowered once and added n times
         * over (the node n copies make, without n lowerings and n index constants: a mean
         * over 33 million of them took 30 s and 2.7 GB) */
        Node t = lower(e->body, env);
        if (!t || row_as_value(t, e->body))
            return 0;
        mpq_t count;
        mpq_init(count);
        mpq_set_ui(count, (unsigned long)n, 1);
        Node r = dag_add_scaled(&t, 1, count);
        mpq_clear(count);
        return e->reduce == RED_MEAN ? dag_mul(r, dag_recip(dag_int((long)n))) : r;
    }
    Node *terms = xmalloc(sizeof(Node) * (n ? n : 1));
    Env bind = {.name = e->name, .next = env};
    bool ok = true;
    for (size_t k = 0; k < n && ok; k++) {
        bind.value = dag_int(lo + (long)k);
        terms[k] = lower(e->body, &bind);
        ok = terms[k] != 0 && !row_as_value(terms[k], e->body);
    }
    Node r = 0;
    if (ok) {
        if (e->reduce == RED_PROD) {
            r = dag_mul_n(terms, n);
        } else {
            r = dag_add_n(terms, n);
            if (e->reduce == RED_MEAN)
                r = dag_mul(r, dag_recip(dag_int((long)n)));
        }
    }
    free(terms);
    return r;
}

/* Lowers an expression to a graph node; 0 after an error (already reported). */
static Node lower(const Ast *e, const Env *env)
{
    if (S.too_large)
        return 0;
    if (S.recovering && ++S.lowered > RECOVERY_LOWERED) {
        diag_note(e->span,
                  "the checks stop here: after a syntax error they expand reductions and functions only "
                  "to %d steps",
                  RECOVERY_LOWERED);
        S.too_large = true;
        return 0;
    }
    if (++S.lowered > MAX_LOWERED) {
        diag_error(e->span, "the loss is too large once reductions and functions are expanded (over %d steps)",
                   MAX_LOWERED);
        S.too_large = true;
        return 0;
    }
    Span outer = dag_attribute(e->span);
    Node r = lower_kind(e, env);
    dag_attribute(outer);
    return r;
}

static Node lower_kind(const Ast *e, const Env *env)
{
    Node a, b;
    switch (e->kind) {
    case AST_NUM:
        return dag_const(*e->num);
    case AST_NAME:
        return lower_name(e, env);
    case AST_INDEX:
        return lower_index(e, env);
    case AST_CALL:
        return lower_call(e, env);
    case AST_NEG:
        a = lower(e->a, env);
        return a && !row_as_value(a, e->a) ? dag_neg(a) : 0;
    case AST_ADD:
    case AST_SUB:
    case AST_MUL:
        a = lower(e->a, env);
        b = lower(e->b, env);
        if (!a || !b || row_as_value(a, e->a) || row_as_value(b, e->b))
            return 0;
        return e->kind == AST_ADD ? dag_add(a, b) : e->kind == AST_SUB ? dag_sub(a, b) : dag_mul(a, b);
    case AST_DIV:
        a = lower(e->a, env);
        b = lower(e->b, env);
        if (!a || !b || row_as_value(a, e->a) || row_as_value(b, e->b))
            return 0;
        need_rows_of(b);
        if (!varies(b) && const_sign(b) == 0) {
            diag_error(e->b->span, "division by zero");
            return 0;
        }
        return dag_mul(a, dag_recip(b));
    case AST_POW:
        return lower_pow(e, lower(e->a, env), lower(e->b, env), e->a, e->b);
    case AST_REDUCE:
        return lower_reduce(e, env);
    case AST_BRACE:
        diag_error(e->span, "a brace list is only allowed as the value of an array");
        return 0;
    }
    return 0;
}

/* ---- declarations and values ---- */

static bool size_dims(Sym *s, const Decl *d)
{
    if (d->ndims > MAX_RANK) {
        diag_error(d->span, "'%s' has %d dimensions; at most %d are supported", d->name, d->ndims, MAX_RANK);
        return false;
    }
    s->ndims = d->ndims;
    s->size = 1;
    for (int k = 0; k < d->ndims; k++) {
        long n;
        if (!lower_int(d->dims[k], NULL, "an array size", &n))
            return false;
        if (n <= 0) {
            diag_error(d->dims[k]->span, "an array size must be positive, but this is %ld", n);
            return false;
        }
        s->dims[k] = n;
        if (s->size > MAX_PARAMS / n) {
            diag_error(d->span, "'%s' has more than %d values", d->name, MAX_PARAMS);
            return false;
        }
        s->size *= n;
    }
    return true;
}

/* The generated M_data's own field (a part of the rows, hessgen_rows_part). */
#define PART_FIELD "hessgen_part"

/* C and C++ keywords: a data array or a row count becomes a field of the generated M_data. */
static bool is_c_keyword(const char *name)
{
    static const char *const words[] = {
        "auto",      "bool",   "break",    "case",     "catch",      "char",     "class",    "const",    "continue",
        "default",   "delete", "do",       "double",   "else",       "enum",     "explicit", "extern",   "false",
        "float",     "for",    "friend",   "goto",     "if",         "inline",   "int",      "long",     "mutable",
        "namespace", "new",    "operator", "private",  "protected",  "public",   "register", "restrict", "return",
        "short",     "signed", "sizeof",   "static",   "struct",     "switch",   "template", "this",     "throw",
        "true",      "try",    "typedef",  "typename", "union",      "unsigned", "using",    "virtual",  "void",
        "volatile",  "while",  "_Bool",    "_Complex", "_Imaginary", "asm",      "export"};
    for (size_t k = 0; k < sizeof words / sizeof words[0]; k++)
        if (strcmp(words[k], name) == 0)
            return true;
    return false;
}

/* A data array's shape: its first dimension may be a row count (a name that is not a
 * constant: the same name in two arrays is the same count); the others are fixed. */
static bool size_data(Sym *s, Model *m)
{
    const Decl *d = s->decl;
    s->rowsize = NO_SIZE;
    if (is_c_keyword(d->name)) {
        diag_error(d->span,
                   "'%s' is a C keyword and cannot name a data array (it is a field of the generated data struct)",
                   d->name);
        return false;
    }
    if (strcmp(d->name, PART_FIELD) == 0) {
        diag_error(d->span, "'%s' cannot name a data array: the generated data struct has a field of that name",
                   d->name);
        return false;
    }
    if (d->ndims == 0) {
        diag_error(d->span, "data '%s' needs a shape, as %s[n] for one value per row", d->name, d->name);
        return false;
    }
    if (d->ndims > MAX_RANK) {
        diag_error(d->span, "'%s' has %d dimensions; at most %d are supported", d->name, d->ndims, MAX_RANK);
        return false;
    }
    s->ndims = d->ndims;
    s->size = 1;
    for (int k = 0; k < d->ndims; k++) {
        const Ast *x = d->dims[k];
        Sym *named = x->kind == AST_NAME ? sym_find(x->name) : NULL;
        if (x->kind == AST_NAME && (!named || named->kind == SYM_SIZE)) {
            if (k != 0) {
                diag_error(x->span,
                           "only the first dimension of a data array can be a row count; '%s' is not a constant",
                           x->name);
                return false;
            }
            if (!named) {
                if (is_c_keyword(x->name)) {
                    diag_error(
                        x->span,
                        "'%s' is a C keyword and cannot name a row count (it is a field of the generated data struct)",
                        x->name);
                    return false;
                }
                if (strcmp(x->name, PART_FIELD) == 0) {
                    diag_error(x->span,
                               "'%s' cannot name a row count: the generated data struct has a field of that name",
                               x->name);
                    return false;
                }
                named = sym_add(x->name, SYM_SIZE, x->span);
                named->base = m->nsizes;
                m->sizes = xrealloc(m->sizes, sizeof(SizeName) * (m->nsizes + 1));
                m->sizes[m->nsizes++] = (SizeName){x->name, false, -1};
            }
            s->rowsize = named->base;
            s->dims[0] = 0;
            continue;
        }
        if (x->kind == AST_NAME && named->kind != SYM_CONST) {
            diag_error(x->span, "'%s' is a %s; a dimension is an integer constant or a row count (a new name)", x->name,
                       kind_word(named));
            return false;
        }
        long n;
        if (!lower_int(x, NULL, "an array size", &n))
            return false;
        if (n <= 0) {
            diag_error(x->span, "an array size must be positive, but this is %ld", n);
            return false;
        }
        s->dims[k] = n;
        if (s->size > MAX_DATA_WIDTH / n) {
            diag_error(d->span, "'%s' has more than %d values per row", d->name, MAX_DATA_WIDTH - 1);
            return false;
        }
        s->size *= n;
    }
    if (s->size >= MAX_DATA_WIDTH) {
        diag_error(d->span, "'%s' has more than %d values per row", d->name, MAX_DATA_WIDTH - 1);
        return false;
    }
    if (m->ndata >= MAX_DATA_ARRAYS) {
        diag_error(d->span, "more than %d data arrays", MAX_DATA_ARRAYS);
        return false;
    }
    s->base = m->ndata;
    m->data = xrealloc(m->data, sizeof(DataArray) * (m->ndata + 1));
    DataArray *a = &m->data[m->ndata++];
    memset(a, 0, sizeof *a);
    a->name = d->name;
    a->size = s->rowsize;
    a->width = (uint32_t)s->size;
    a->ndims = s->ndims;
    memcpy(a->dims, s->dims, sizeof s->dims);
    s->size_state = EV_DONE;
    return true;
}

/* Sizes a parameter or constant array the first time its shape is needed. */
static bool ensure_sized(Sym *s)
{
    if (s->size_state == EV_DONE)
        return true;
    if (s->size_state == EV_FAILED)
        return false;
    if (s->size_state == EV_BUSY) {
        diag_error(s->span, "the size of '%s' depends on itself", s->name);
        s->size_state = EV_FAILED;
        s->broken = true;
        return false;
    }
    s->size_state = EV_BUSY;
    bool ok = size_dims(s, s->decl);
    if (s->size_state == EV_BUSY)
        s->size_state = ok ? EV_DONE : EV_FAILED;
    if (!ok)
        s->broken = true;
    return s->size_state == EV_DONE;
}

/* Lowers an initial value into out[0..size): a brace list of the array's exact shape, or
 * one expression that fills it. Values must not depend on parameters. With out NULL they are
 * checked, not kept (an `at` line when no exact classifier runs, anything after a syntax error). */
static bool lower_init(const Ast *init, const Sym *s, int level, Node *out, long *filled, const char *what)
{
    if (init->kind != AST_BRACE) {
        if (level != 0 && level != s->ndims) {
            diag_error(init->span, "expected a brace list of %ld values here", s->dims[level]);
            return false;
        }
        Node v = lower(init, NULL);
        if (!v)
            return false;
        if (varies(v)) {
            diag_error(init->span, "%s must be a constant, but this depends on %s", what,
                       dag_has_param(v) ? "a parameter" : "run-time data");
            return false;
        }
        if (!dag_is_const(v))
            S.init_irrational = true;
        if (level == 0) {
            for (long k = 0; out && k < s->size; k++)
                out[k] = v;
            *filled = s->size;
        } else {
            if (out)
                out[*filled] = v;
            (*filled)++;
        }
        return true;
    }
    if (level >= s->ndims) {
        diag_error(init->span,
                   s->ndims ? "too many nested braces for '%s' of rank %d"
                            : "'%s' is a scalar: give one value, not a list",
                   s->name, s->ndims);
        return false;
    }
    if (init->nargs != s->dims[level]) {
        diag_error(init->span, "'%s' needs %ld values here, but the list has %d", s->name, s->dims[level], init->nargs);
        return false;
    }
    for (int k = 0; k < init->nargs; k++)
        if (!lower_init(init->args[k], s, level + 1, out, filled, what))
            return false;
    return true;
}

static void force_const(Sym *s)
{
    if (s->state == EV_DONE || s->state == EV_FAILED)
        return;
    if (s->state == EV_BUSY) {
        diag_error(s->span, "the value of '%s' depends on itself", s->name);
        s->state = EV_FAILED;
        return;
    }
    if (!ensure_sized(s)) {
        s->state = EV_FAILED;
        return;
    }
    s->state = EV_BUSY;
    if (!s->decl->init) {
        diag_error(s->span, "constant '%s' has no value", s->name);
        s->state = EV_FAILED;
        return;
    }
    s->values = xcalloc((size_t)s->size, sizeof(Node));
    long filled = 0;
    bool ok = lower_init(s->decl->init, s, 0, s->values, &filled, "the value of a constant");
    if (s->state == EV_BUSY)
        s->state = ok ? EV_DONE : EV_FAILED;
}

static void force_let(Sym *s)
{
    if (s->state == EV_DONE || s->state == EV_FAILED)
        return;
    if (s->state == EV_BUSY) {
        diag_error(s->span, "the value of '%s' depends on itself", s->name);
        s->state = EV_FAILED;
        return;
    }
    s->state = EV_BUSY;
    s->values = xcalloc(1, sizeof(Node));
    s->values[0] = lower(s->stmt->expr, NULL);
    if (s->state == EV_BUSY)
        s->state = s->values[0] ? EV_DONE : EV_FAILED;
}

static char *coordinate_name(const Sym *s, long flat)
{
    Buf b = {0};
    buf_puts(&b, s->name);
    long idx[MAX_RANK];
    for (int k = s->ndims - 1; k >= 0; k--) {
        idx[k] = flat % s->dims[k];
        flat /= s->dims[k];
    }
    for (int k = 0; k < s->ndims; k++)
        buf_printf(&b, "[%ld]", idx[k]);
    return b.data;
}

/* a whole array's start value is usually one node: converted once (rounding a rational costs
 * thousands of instructions, and an array may have millions of entries) */
static double const_value(Node n)
{
    if (n != S.last_start || !n) {
        S.last_start_value = dag_is_const(n) ? rat_to_double(dag_rat(n)) : (double)dag_eval_const(n);
        S.last_start = n;
    }
    return S.last_start_value;
}

static void check_at(const Stmt *st, Sym **params, int nparams, Model *m)
{
    static const char *const labels[] = {"min",    "strict_min",   "max",        "strict_max",
                                         "saddle", "not_critical", "degenerate", "undetermined"};
    bool label_ok = false;
    for (size_t k = 0; k < sizeof labels / sizeof labels[0]; k++)
        label_ok |= strcmp(st->label, labels[k]) == 0;
    if (!label_ok)
        diag_error(st->label_span,
                   "unknown label '%s'; expected min, strict_min, max, strict_max, saddle, not_critical, degenerate or "
                   "undetermined",
                   st->label);
    AtPoint *p = &m->at[m->nat++];
    p->span = st->span;
    p->label = st->label;
    p->label_span = st->label_span;
    /* only the exact classifier (not sema_const_loops) uses the points, on a dense Hessian:
     * beyond its size no point is kept, and compiling keeps none, so that many `at` lines over
     * millions of parameters cost nothing per line */
    bool exact = !sema_const_loops && !sema_array_loops;
    if (exact && m->nparam > EXACT_MAX_PARAMS && m->nat == 1)
        diag_error(st->span,
                   "the exact classifier works on the dense Hessian of at most %d parameters, and this "
                   "model has %u; classify numerically instead (hessgen run FILE.hl classify)",
                   EXACT_MAX_PARAMS, m->nparam);
    bool keep = exact && m->nparam <= EXACT_MAX_PARAMS;
    p->values = keep ? xcalloc(m->nparam ? m->nparam : 1, sizeof(Node)) : NULL;
    bool *given = xcalloc((size_t)nparams + 1, 1);
    for (int k = 0; k < st->ndecls; k++) {
        const Decl *d = st->decls[k];
        Sym *s = sym_find(d->name);
        if (!s || s->kind != SYM_PARAM) {
            diag_error(d->span, "'%s' is not a parameter", d->name);
            continue;
        }
        int which = 0;
        while (which < nparams && params[which] != s)
            which++;
        if (which == nparams)
            continue; /* a parameter whose declaration failed, already reported */
        if (given[which]) {
            diag_error(d->span, "parameter '%s' is given twice", d->name);
            continue;
        }
        given[which] = true;
        long filled = 0;
        S.init_irrational = false;
        if (!lower_init(d->init, s, 0, keep ? p->values + s->base : NULL, &filled, "a point's coordinate"))
            continue;
        /* the exact classifier works in rationals: pi/2 has no exact value it could use */
        if (S.init_irrational)
            diag_error(d->init ? d->init->span : d->span,
                       "the point's coordinates must be exact rationals, and this value of '%s' is irrational",
                       d->name);
    }
    for (int k = 0; k < nparams; k++)
        if (!given[k])
            diag_error(st->span, "this 'at' gives no value for parameter '%s'", params[k]->name);
    free(given);
}

/* A def that is never called is never lowered; its names and calls are still checked, so a
 * typo in it is reported rather than waiting for its first use. */
static void resolve_names(const Ast *e, const char **local, int nlocal)
{
    if (!e)
        return;
    switch (e->kind) {
    case AST_NAME:
        if (!in_list(e->name, local, nlocal) && !sym_find(e->name))
            undefined(e->span, "name", e->name);
        return;
    case AST_INDEX:
    case AST_CALL: {
        if (!in_list(e->name, local, nlocal)) {
            Sym *s = sym_find(e->name);
            if (!s)
                undefined(e->name_span, e->kind == AST_CALL ? "function" : "name", e->name);
            else if (e->kind == AST_CALL && (s->kind == SYM_FUNC || s->kind == SYM_DEF) && e->nargs != s->arity)
                diag_error(e->span, "'%s' takes %d argument%s, but %d %s given", s->name, s->arity, plural(s->arity),
                           e->nargs, e->nargs == 1 ? "is" : "are");
        }
        for (int k = 0; k < e->nargs; k++)
            resolve_names(e->args[k], local, nlocal);
        return;
    }
    case AST_REDUCE: {
        resolve_names(e->a, local, nlocal);
        resolve_names(e->b, local, nlocal);
        const char **inner = xcalloc((size_t)nlocal + 1, sizeof(char *));
        memcpy(inner, local, sizeof(char *) * (size_t)nlocal);
        inner[nlocal] = e->name;
        resolve_names(e->body, inner, nlocal + 1);
        free(inner);
        return;
    }
    default:
        resolve_names(e->a, local, nlocal);
        resolve_names(e->b, local, nlocal);
        resolve_names(e->body, local, nlocal);
        for (int k = 0; k < e->nargs; k++)
            resolve_names(e->args[k], local, nlocal);
        return;
    }
}

void sema_run(const Program *prog, Model *m, const char *default_name, bool prefix_given)
{
    memset(&S, 0, sizeof S);
    S.model = m;
    S.prog = prog;
    S.recovering = diag_error_count() > 0;
    memset(m, 0, sizeof *m);
    m->name = default_name;
    declare_builtins();

    /* 1. every name */
    const Stmt *loss = NULL, *model_stmt = NULL;
    int nat = 0, nparams = 0;
    for (const Stmt *st = prog->first; st; st = st->next) {
        switch (st->kind) {
        case ST_MODEL:
            if (model_stmt) {
                diag_error(st->span, "a second 'model' statement");
                diag_note(model_stmt->span, "the first is here");
            } else if (strcmp(st->name, "hessgen") == 0 && !prefix_given) {
                diag_error(st->name_span, "'hessgen' cannot name a model: its descriptor hessgen_model would clash "
                                          "with the runtime's type of that name");
            } else {
                model_stmt = st;
                m->name = st->name;
            }
            break;
        case ST_PARAM:
        case ST_CONST:
        case ST_DATA:
            for (int k = 0; k < st->ndecls; k++) {
                const Decl *d = st->decls[k];
                SymKind kind = st->kind == ST_PARAM ? SYM_PARAM : st->kind == ST_CONST ? SYM_CONST : SYM_DATA;
                Sym *s = declare(d->name, kind, d->span);
                if (!s)
                    continue;
                s->stmt = st;
                s->decl = d;
                if (kind == SYM_PARAM)
                    nparams++;
            }
            break;
        case ST_LET:
        case ST_DEF: {
            Sym *s = declare(st->name, st->kind == ST_LET ? SYM_LET : SYM_DEF, st->name_span);
            if (s) {
                s->stmt = st;
                s->arity = st->nparams;
            }
            for (int k = 0; k < st->nparams; k++) {
                if (is_builtin(st->params[k]))
                    diag_error(st->param_spans[k], "cannot redefine built-in '%s'", st->params[k]);
                for (int j = 0; j < k; j++)
                    if (strcmp(st->params[j], st->params[k]) == 0)
                        diag_error(st->param_spans[k], "duplicate parameter '%s'", st->params[k]);
            }
            break;
        }
        case ST_LOSS:
            if (loss) {
                diag_error(st->span, "a second 'loss' statement; a file has exactly one");
                diag_note(loss->span, "the first is here");
            } else {
                loss = st;
            }
            break;
        case ST_AT:
            nat++;
            break;
        }
    }

    /* 2. theta's coordinates, in declaration order */
    Sym **params = xcalloc((size_t)nparams + 1, sizeof(Sym *));
    int np = 0;
    long ntheta = 0;
    for (const Stmt *st = prog->first; st; st = st->next) {
        if (st->kind != ST_PARAM && st->kind != ST_CONST && st->kind != ST_DATA)
            continue;
        for (int k = 0; k < st->ndecls; k++) {
            Sym *s = sym_find(st->decls[k]->name);
            if (!s || s->decl != st->decls[k])
                continue;
            if (s->kind == SYM_DATA) {
                if (!size_data(s, m)) {
                    s->broken = true;
                    s->size_state = EV_FAILED;
                }
                continue;
            }
            if (!ensure_sized(s) || s->kind != SYM_PARAM)
                continue;
            if (ntheta + s->size > sema_max_params) {
                diag_error(s->span, "more than %ld parameters", sema_max_params);
                s->broken = true;
                continue;
            }
            s->base = (uint32_t)ntheta;
            ntheta += s->size;
            params[np++] = s;
            m->arrays = xrealloc(m->arrays, sizeof(ParamArray) * (m->narrays + 1));
            ParamArray *a = &m->arrays[m->narrays++];
            *a = (ParamArray){.name = s->name, .base = s->base, .size = (uint32_t)s->size, .ndims = s->ndims};
            memcpy(a->dims, s->dims, sizeof(long) * (size_t)s->ndims);
        }
    }
    m->nparam = (uint32_t)ntheta;
    m->param_names = xcalloc((size_t)ntheta + 1, sizeof(char *));
    m->param_start = xcalloc((size_t)ntheta + 1, sizeof(double));
    for (int k = 0; k < np && !S.recovering; k++) { /* names and start values are for the output */
        Sym *s = params[k];
        for (long j = 0; j < s->size; j++)
            m->param_names[s->base + j] = coordinate_name(s, j);
    }
    if (diag_error_count() == 0 && np == 0 && prog->first)
        diag_error(loss ? loss->span : prog->eof, "no parameters: declare what the loss depends on with 'param'");

    /* 3. values */
    for (int k = 0; k < np; k++) {
        Sym *s = params[k];
        if (!s->decl->init)
            continue;
        Node *v = S.recovering ? NULL : xcalloc((size_t)s->size, sizeof(Node));
        long filled = 0;
        if (lower_init(s->decl->init, s, 0, v, &filled, "a start value") && v)
            for (long j = 0; j < s->size; j++)
                m->param_start[s->base + j] = const_value(v[j]);
        free(v);
    }
    for (const Stmt *st = prog->first; st; st = st->next) {
        if (st->kind == ST_CONST) {
            for (int k = 0; k < st->ndecls; k++) {
                Sym *s = sym_find(st->decls[k]->name);
                if (s && s->decl == st->decls[k] && s->kind == SYM_CONST)
                    force_const(s);
            }
        } else if (st->kind == ST_LET) {
            Sym *s = sym_find(st->name);
            if (s && s->stmt == st)
                force_let(s);
        }
    }
    if (loss)
        m->loss = lower(loss->expr, NULL);
    else if (prog->nbroken == 0) /* after a syntax error, the loss may be what was lost */
        diag_error(prog->eof, "no 'loss' statement: a file must say what to differentiate, as 'loss EXPR;'");

    for (const Stmt *st = prog->first; st; st = st->next) {
        Sym *s = st->kind == ST_DEF ? sym_find(st->name) : NULL;
        if (s && s->stmt == st && !s->called)
            resolve_names(st->expr, st->params, st->nparams);
    }

    m->at = xcalloc((size_t)nat + 1, sizeof(AtPoint));
    for (const Stmt *st = prog->first; st; st = st->next)
        if (st->kind == ST_AT)
            check_at(st, params, np, m);

    m->no_arrays = S.array_fail;
    m->nvsums = S.nvsums;
    free(params);
    free(S.tables);
    free(S.avars);
    free(S.atables);
    free(S.memo);
    free(S.memo_args);
    hash_index_free(&S.memo_index);
    for (uint32_t i = 0; i < S.nsyms; i++) {
        free(S.syms[i]->values);
        free(S.syms[i]);
    }
    free(S.syms);
    hash_index_free(&S.sym_index);
}

void model_free(Model *model)
{
    free(model->arrays);
    for (uint32_t i = 0; i < model->nparam; i++)
        free(model->param_names[i]);
    free(model->param_names);
    free(model->param_start);
    for (int i = 0; i < model->nat; i++)
        free(model->at[i].values);
    free(model->at);
    for (uint32_t t = model->ndata; t < model->ndata + model->ntables; t++)
        free((void *)model->data[t].values);
    free(model->data);
    free(model->sizes);
    memset(model, 0, sizeof *model);
}
