/* hessgen.h: the compiler's one internal header, sectioned by the file that owns each part.
 *
 * The pipeline (main.c): source text -> syntax tree (grammar/) -> checked and lowered to the
 * expression graph (sema.c, dag.c) -> gradient and Hessian as more graph nodes (diff.c) ->
 * straight-line schedules (sched.c) -> C text (emit.c). Readable formulas come from print.c.
 */
#ifndef HESSGEN_H
#define HESSGEN_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <gmp.h>

#include "ops.h"

#define HESSGEN_VERSION "0.1.0"

/* ---- util.c: allocation that never returns NULL, arenas, growable text ---- */

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
/* k rationals, each initialized to 0 (mpq_array_free clears and frees them) */
mpq_t *mpq_array(size_t k);
void mpq_array_free(mpq_t *a, size_t k);
void *xrealloc(void *p, size_t n);
_Noreturn void fatal(const char *fmt, ...);

/* An arena hands out memory that lives until arena_free; nothing is freed one by one. */
typedef struct Arena Arena;
Arena *arena_new(void);
void *arena_alloc(Arena *a, size_t n); /* zeroed */
char *arena_strndup(Arena *a, const char *s, size_t n);
void arena_free(Arena *a);

/* Growable byte buffer; the generated text is built here and written at the end. */
typedef struct {
    char *data;
    size_t len, cap;
} Buf;
void buf_put(Buf *b, const char *s, size_t n);
void buf_puts(Buf *b, const char *s);
void buf_printf(Buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_free(Buf *b);

/* A hash index: open addressing with linear probing over items the caller keeps and numbers
 * from 1 (graph nodes, symbols, memo entries, diagnostics, checked sites). It holds their
 * numbers and finds the candidates for a hash; the caller decides which one matches:
 *     for (uint32_t k = 0, item; (item = hash_index_next(&t, h, &k));)
 *         if (matches(item)) return item;
 *     hash_index_add(&t, h, new_item, hash_of, ctx);   // not found: add it */
typedef struct {
    uint32_t *slots; /* cap of them: an item's number, 0 for none */
    uint32_t cap;    /* 0, or a power of two, at least twice used: a probe always ends */
    uint32_t used;
} HashIndex;
/* The next item on hash h's probe sequence (*k counts the steps, from 0), or 0 at its end. */
static inline uint32_t hash_index_next(const HashIndex *t, uint64_t h, uint32_t *k)
{
    return t->cap ? t->slots[((uint32_t)h + (*k)++) & (t->cap - 1)] : 0;
}
/* Adds item (not 0) under hash h. When the index would be more than half full it first
 * doubles, placing every item again by hash_of(item, ctx). */
void hash_index_add(HashIndex *t, uint64_t h, uint32_t item, uint64_t (*hash_of)(uint32_t item, void *ctx), void *ctx);
void hash_index_free(HashIndex *t);

/* ---- diag.c: diagnostics with file:line:col and a caret under the span ---- */

/* A span is a half-open byte range into the kept source text. */
typedef struct {
    uint32_t begin, end;
} Span;

void diag_set_source(const char *name, const char *text, size_t len);
void diag_error(Span at, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void diag_warning(Span at, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void diag_note(Span at, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* An error after which compiling cannot go on (a resource limit): reported, then exit 1. */
_Noreturn void diag_fatal(Span at, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int diag_error_count(void);
/* While muted, nothing is reported and errors are only counted (diag_muted_errors): sema's second
 * lowering of a program already checked (array loops) must not repeat or add messages. */
void diag_mute(bool on);
int diag_muted_errors(void);
void diag_release(void); /* frees what diag keeps, at exit */
void diag_line_col(uint32_t offset, int *line, int *col);
/* The source text of a span on one line (control characters as spaces), cut with "..." to fit. */
void diag_excerpt(Span at, char *out, size_t cap);

/* ---- ast.c: the syntax tree the parser builds ---- */

typedef enum {
    AST_NUM,   /* num */
    AST_NAME,  /* name */
    AST_INDEX, /* name[args...] */
    AST_CALL,  /* name(args...) */
    AST_NEG,   /* -a */
    AST_ADD,
    AST_SUB,
    AST_MUL,
    AST_DIV,
    AST_POW,    /* a op b */
    AST_REDUCE, /* sum/prod/mean(name = a..b, body) or (name, body) with a, b NULL */
    AST_BRACE,  /* {args...}, only in initializers */
} AstKind;

typedef enum { RED_SUM, RED_PROD, RED_MEAN } ReduceKind;

typedef struct Ast Ast;
struct Ast {
    AstKind kind;
    Span span;
    const char *name; /* NAME, INDEX, CALL, REDUCE (the index variable) */
    Span name_span;
    mpq_t *num; /* NUM */
    Ast *a, *b; /* operands; REDUCE: bounds */
    Ast *body;  /* REDUCE */
    ReduceKind reduce;
    Ast **args; /* INDEX subscripts, CALL arguments, BRACE items */
    int nargs;
};

typedef enum { ST_MODEL, ST_PARAM, ST_CONST, ST_DATA, ST_LET, ST_DEF, ST_LOSS, ST_AT } StmtKind;

/* One declared name: `w[3] = 0.5` in a param/const/data list, or `w = {..}` in an `at`. */
typedef struct {
    const char *name;
    Span span;
    Ast **dims;
    int ndims;
    Ast *init; /* NULL if none */
} Decl;

typedef struct Stmt Stmt;
struct Stmt {
    StmtKind kind;
    Span span;    /* the keyword */
    Decl **decls; /* PARAM, CONST, DATA, AT */
    int ndecls;
    const char *name; /* MODEL, LET, DEF */
    Span name_span;
    const char **params; /* DEF */
    Span *param_spans;
    int nparams;
    Ast *expr;         /* LET, DEF, LOSS */
    const char *label; /* AT */
    Span label_span;
    Stmt *next;
};

typedef struct {
    Arena *arena;
    Stmt *first, *last;
    Span eof;     /* where the end of the file is, for "no loss" */
    Span *broken; /* stretches skipped after syntax errors */
    int nbroken, broken_cap;
    const char *text; /* the source, which the spans index */
    size_t len;
} Program;

/* Whether a syntax error may have swallowed a declaration of this name. */
bool program_lost_name(const Program *p, const char *name);

/* Parses the whole source (grammar/parse.c); every syntax error is reported, the tree holds what
 * parsed. */
void parse_program(Program *prog, const char *text, size_t len);

/* A list the grammar grows one item at a time, in the tree's arena. */
typedef struct {
    void **items;
    int n, cap;
} Vec;
void vec_push(Arena *a, Vec *v, void *item);

/* Tree constructors: the grammar's actions only call these (ast.c). */
Ast *ast_new(Arena *a, AstKind kind, Span span);
Ast *ast_number(Arena *a, Span span, const char *text);
Ast *ast_binary(Arena *a, AstKind kind, Span span, Ast *l, Ast *r);
Ast *ast_named(Arena *a, AstKind kind, Span span, const char *name, Span name_span, Vec *args);
Ast *ast_reduce(Arena *a, Span span, ReduceKind r, const char *var, Span var_span, Ast *lo, Ast *hi, Ast *body);
Decl *decl_new(Arena *a, const char *name, Span span, Vec *dims, Ast *init);
Stmt *stmt_new(Arena *a, Program *p, StmtKind kind, Span span);
void stmt_set_decls(Stmt *s, Vec *decls);
/* Remembers a stretch the parser skipped, so that sema does not report what it lost. */
void program_mark_broken(Program *p, Span span);

void ast_dump(FILE *out, const Program *prog);
void ast_free_numbers(void); /* clears the literals' rationals, at exit */

/* ---- dag.c: the hash-consed expression graph with canonical forms ---- */

typedef uint32_t Node;                                 /* index into the graph; 0 is "no node" */
enum { DAG_ZERO = 1, DAG_ONE = 2, DAG_MINUS_ONE = 3 }; /* the constants dag_init makes first */

/* Node flags: what a node depends on, and whether it heads some sum's or product's operands.
 * NF_DATA: on run-time data (a data value, a row count, a row reduction); NF_ROWSUM: contains a
 * row reduction. */
enum { NF_PARAM = 1, NF_DIR = 2, NF_HEAD_ADD = 4, NF_HEAD_MUL = 8, NF_DATA = 16, NF_ROWSUM = 32, NF_VAR = 64 };

/* Row reductions nest at most this deep; a data value's level says whose row it reads. */
enum { MAX_ROW_LEVELS = 6, DATA_NO_LEVEL = 7, MAX_DATA_ARRAYS = 511, MAX_DATA_WIDTH = 1 << 20 };

typedef struct {
    uint8_t op;
    uint8_t flags;
    uint8_t rows; /* bit L: depends on the current row of the reduction at level L */
    uint32_t nargs;
    uint32_t args; /* offset into dag_graph.args */
    uint32_t aux;  /* CONST: rational pool index; PARAM, DIR: coordinate */
    uint32_t hash;
} NodeRec;

typedef struct {
    NodeRec *nodes;
    Span *spans; /* the source each node was first made for: limits and --checked point at it */
    uint32_t nnodes, cap;
    Node *args;
    size_t nargs, args_cap;
    mpq_t *rats;
    uint32_t nrats, rats_cap;
    uint64_t *vars;  /* the index variables each node depends on (array loops), a bit each */
    HashIndex index; /* the nodes by hash: hash-consing finds an equal node here */
} Dag;

/* The graph's storage: dag.c's own; outside it, read only by the inline accessors below (they
 * are inline because every phase calls them per node). */
extern Dag dag_graph;
/* How many nodes there are (a node number is below it), and operands in all. */
uint32_t dag_node_count(void);
size_t dag_arg_count(void);
/* The span the nodes made from now on are attributed to (the expression sema lowers, the node
 * diff differentiates: limits and --checked point at it); returns the one before, for the
 * caller to restore. */
Span dag_attribute(Span s);
/* The graph's size limit (--max-nodes): past it, an error at the current attribution. */
extern uint32_t dag_max_nodes;
enum { DEFAULT_MAX_NODES = 20000000 };
static inline Span dag_span(Node n)
{
    return dag_graph.spans[n];
}

void dag_init(void);
void dag_free(void);
/* After differentiation the graph is complete: from here on making a node is an internal error,
 * so scheduling and emission provably read the graph and nothing else changes it. */
void dag_freeze(void);
void dag_unfreeze(void); /* an emission given up (emit_c_arrays): the unrolled phases run after it */
static inline const NodeRec *dag_rec(Node n)
{
    return &dag_graph.nodes[n];
}
static inline Op dag_op(Node n)
{
    return (Op)dag_graph.nodes[n].op;
}
static inline const Node *dag_args(Node n)
{
    return dag_graph.args + dag_graph.nodes[n].args;
}
static inline uint32_t dag_nargs(Node n)
{
    return dag_graph.nodes[n].nargs;
}
static inline bool dag_has_param(Node n)
{
    return dag_graph.nodes[n].flags & NF_PARAM;
}
static inline bool dag_has_data(Node n)
{
    return dag_graph.nodes[n].flags & NF_DATA;
}
static inline bool dag_has_rowsum(Node n)
{
    return dag_graph.nodes[n].flags & NF_ROWSUM;
}
static inline unsigned dag_rows(Node n)
{
    return dag_graph.nodes[n].rows;
}
/* A value known at compile time: no coordinate, no direction, no data, no index variable. */
static inline bool dag_is_fixed(Node n)
{
    return !(dag_graph.nodes[n].flags & (NF_PARAM | NF_DIR | NF_DATA | NF_VAR));
}
/* OP_DATA: which array, which value of its row, whose row (DATA_NO_LEVEL: not row-indexed). */
static inline uint32_t dag_data_array(Node n)
{
    return (dag_graph.nodes[n].aux >> 20) & 511;
}
static inline uint32_t dag_data_offset(Node n)
{
    return dag_graph.nodes[n].aux & (MAX_DATA_WIDTH - 1);
}
static inline unsigned dag_data_level(Node n)
{
    return dag_graph.nodes[n].aux >> 29;
}
/* OP_ROWSUM, OP_ROW: the level and the size name; OP_NROWS: the size name. */
static inline unsigned dag_row_level(Node n)
{
    return dag_graph.nodes[n].aux & 7;
}
static inline uint32_t dag_row_size(Node n)
{
    return dag_op(n) == OP_NROWS ? dag_graph.nodes[n].aux : dag_graph.nodes[n].aux >> 3;
}
static inline bool dag_is_const(Node n)
{
    return dag_graph.nodes[n].op == OP_CONST;
}
static inline mpq_srcptr dag_rat(Node n)
{
    return dag_graph.rats[dag_graph.nodes[n].aux];
}
bool dag_is_int_const(Node n, long *out);

Node dag_const(mpq_srcptr q);
Node dag_int(long v);
Node dag_pi(void);
Node dag_param(uint32_t k);
Node dag_dir(uint32_t k);
Node dag_data(uint32_t array, uint32_t offset, unsigned level);
Node dag_nrows(uint32_t size);
/* Makes size a count fixed at compile time: dag_nrows(size) is then that integer. */
void dag_fix_size(uint32_t size, long count);
Node dag_row(unsigned level, uint32_t size);
/* The sum of body over the rows of `size`, body read at `level`: factors and terms that do
 * not depend on that row leave the sum (n*c for a constant c), so the loop does less. */
Node dag_rowsum(Node body, unsigned level, uint32_t size);
Node dag_add(Node a, Node b);
Node dag_add_n(const Node *xs, size_t n);
Node dag_add_scaled(const Node *xs, size_t n, mpq_srcptr scale);
Node dag_sub(Node a, Node b);
Node dag_neg(Node a);
Node dag_mul(Node a, Node b);
Node dag_mul_n(const Node *xs, size_t n);
/* a*b where a, a product of more than KEEP_FACTORS factors, stays one factor (not flattened):
 * derivative chains stay linear in their depth. */
enum { KEEP_FACTORS = 8 };
Node dag_mul_keep(Node a, Node b);
Node dag_powq(Node base, mpq_srcptr e);
Node dag_powi(Node base, long e);
Node dag_recip(Node a);
Node dag_pow_const(Node base, Node e);
Node dag_unary(Op op, Node a);
Node dag_mul_run(Node mul, uint32_t from, uint32_t to);
Node dag_mul_without(Node mul, uint32_t i);
/* n over new operands of equal values, not simplified; a product of exactly these operands. */
Node dag_remake(Node n, const Node *args);
Node dag_mul_group(const Node *xs, size_t n);
/* The existing node with this operation and operand list, or 0: never creates. */
Node dag_find(Op op, const Node *args, size_t n);
Node dag_find_longest(Op op, const Node *args, size_t maxlen, size_t *len);
void dag_find_runs(Op op, const Node *args, size_t maxlen, Node *found);
/* Long-double value of a node that depends on no coordinate. */
long double dag_eval_const(Node n);
/* The correctly rounded double nearest to q (round half to even). */
double rat_to_double(mpq_srcptr q);
void dag_dump(FILE *out, Node root_or_0);
const char *dag_op_name(Op op); /* the name --dump prints: "mul", "tanh", ... */
void dag_dump_nodes(FILE *out, const Node *roots, size_t n);

/* Array loops (sema_array_loops): a sum over a fixed range whose body reads arrays at its index
 * stays one OP_VSUM node over an index variable, and array values are read through index maps,
 * flat indices affine in the variables (W[k][j] of a 8x8 W at theta offset b: b + 8k + j). */
enum { NO_SIZE = UINT32_MAX, MAX_VARS = 64, MAX_MAP_TERMS = 8, MAP_THETA = UINT32_MAX };
typedef struct {
    const char *name; /* the source's name for it, for dumps and comments */
    long lo, count;   /* the range lo .. lo + count - 1; count is -1 for a data-row variable */
    uint32_t size;    /* a data-row variable's size name, or NO_SIZE */
} IndexVar;
typedef struct {
    uint32_t array; /* MAP_THETA (theta, or v), or a data array's number in the model */
    int64_t base;
    uint32_t nterms;
    uint32_t var[MAX_MAP_TERMS]; /* increasing */
    int64_t coef[MAX_MAP_TERMS]; /* nonzero */
} IndexMap;
/* A new index variable, or UINT32_MAX past MAX_VARS. */
uint32_t dag_new_var(const char *name, long lo, long count, uint32_t size);
const IndexVar *dag_var(uint32_t v);
uint32_t dag_nvars(void);
uint32_t dag_map(const IndexMap *m); /* interned: equal maps have one id */
const IndexMap *dag_map_get(uint32_t id);
/* The smallest and largest index a map takes over its variables' ranges. */
void dag_map_range(const IndexMap *map, int64_t *first, int64_t *last);
static inline uint64_t dag_vars(Node n)
{
    return dag_graph.vars[n];
}
Node dag_ivar(uint32_t v);
Node dag_at(Op op, uint32_t map); /* OP_PAT, OP_VAT, OP_DAT, or OP_UNIT (the map's array: the column variable) */
/* n with index variable v replaced by c + off (OP_REINDEX; n itself when it does not depend on v). */
Node dag_reindex(Node n, uint32_t v, uint32_t c, int64_t off);
/* The sum of body over variable v's range; what is free of v leaves the sum, as in dag_rowsum. */
Node dag_vsum(Node body, uint32_t v);
/* The number of values in variable v's range, as a node (a row count for a data-row variable). */
Node dag_var_count(uint32_t v);

/* ---- sema.c: names, shapes, ranges; lowers the tree to the graph ---- */

typedef struct {
    const char *name; /* the point's name in --check output */
    Span span;
    Node *values; /* one exact constant node per coordinate */
    const char *label;
    Span label_span;
} AtPoint;

/* A data array: `X[n][3]` has size name n (its rows) and width 3 (values per row). */
typedef struct {
    const char *name;
    uint32_t size;  /* the size name of its first dimension, or NO_SIZE */
    uint32_t width; /* values per row; with NO_SIZE, all its values */
    int ndims;
    long dims[8];       /* dims[0] is unused when size != NO_SIZE */
    const Node *values; /* a constant table (a const array looped over): its rows' values, else NULL */
} DataArray;

typedef struct {
    const char *name;
    bool needs_rows; /* the loss divides by this count (a mean): 0 rows is an error */
    long count;      /* a fixed count (a loop over a constant table), or -1: known at run time */
} SizeName;

/* A parameter as declared: theta[base .. base + size) is it, row-major (a scalar has rank 0). */
typedef struct {
    const char *name;
    uint32_t base, size;
    int ndims;
    long dims[8];
} ParamArray;

typedef struct {
    const char *name; /* the model prefix */
    uint32_t nparam;
    char **param_names; /* "w1", "w[0]", "M[1][2]" */
    double *param_start;
    Node loss;
    DataArray *data; /* run-time arrays in declaration order (ndata), then constant tables (ntables) */
    uint32_t ndata, ntables;
    SizeName *sizes; /* row counts known at run time (nsizes), then fixed ones (nfixed) */
    uint32_t nsizes, nfixed;
    AtPoint *at;
    int nat;
    /* array loops (sema_array_loops): how many sums stayed loops, or why the loss cannot keep them */
    uint32_t nvsums;
    const char *no_arrays;
    ParamArray *arrays; /* the declared parameters, in order */
    uint32_t narrays;
} Model;

/* Checks the program and lowers it; errors are reported through diag. prefix_given: the
 * command line names the prefix, so the model statement's name need not be a usable one. */
void sema_run(const Program *prog, Model *model, const char *default_name, bool prefix_given);
/* Whether sema keeps a fixed-bound sum over constant arrays as a loop over a table (for code
 * generation; the exact classifier wants every term). Set before sema_run. */
extern bool sema_const_loops;
/* Whether sema keeps every sum over more than a few values whose body reads arrays at its index
 * as one OP_VSUM over an index variable (array loops, issue 15): set for a second lowering of a
 * program the first lowering checked; the diagnostics are muted then. */
extern bool sema_array_loops;
/* The most parameters a model may declare (10 million; the fuzz harness sets fewer). */
extern long sema_max_params;
/* The exact classifier's dense rational Hessian: beyond this many parameters an `at` line is an
 * error (its elimination grows with the cube: 200 parameters of a Hilbert matrix take 2.5 s) */
enum { EXACT_MAX_PARAMS = 200 };
/* Frees what sema_run allocated in model (not the graph: dag_free). */
void model_free(Model *model);

/* ---- diff.c: gradient by reverse accumulation, Hessian forward over it ---- */

typedef struct {
    uint32_t n;   /* number of parameters */
    Node *grad;   /* n nodes */
    uint32_t nnz; /* lower-triangle structural nonzeros, row-major */
    uint32_t *rows, *cols;
    Node *hess;      /* nnz nodes */
    Node *hvp;       /* n nodes, in the direction v = OP_DIR leaves */
    Node *row_range; /* M_hess_row_range's 1 + n + nnz outputs (loss, gradient, Hessian) as
                         rows + w_free * rest, or NULL where the loss does not split by rows */
} Deriv;

void diff_gradient(const Model *m, Deriv *d);
void diff_hessian(const Model *m, Deriv *d);
void diff_hvp(const Model *m, Deriv *d);
/* d->row_range, for a loss over one row count that is linear in its outermost row sums. */
void diff_row_range(const Model *m, Deriv *d);
void deriv_free(Deriv *d);
/* vanish.c: in derivative terms that vanish where a sum of squares u does, u^q (q < 0) becomes
 * nonzero(u)^q, so the generated code returns their limit, 0, at u = 0 instead of NaN. */
void vanish_rewrite(const Model *m, Deriv *d);
/* Reverse accumulation's bookkeeping (diff.c and adiff.c): each node's contributions to its
 * adjoint, as a linked list in a pool (index 0: none). */
typedef struct {
    Node value;
    uint32_t next;
} Contrib;
typedef struct {
    Contrib *pool;
    size_t n, cap;  /* pool[0] is unused */
    uint32_t *head; /* per node: its last contribution */
    Node *list;     /* contrib_gather's output */
    size_t list_cap;
} Contribs;
void contribs_init(Contribs *c, Node root);
void contribs_push(Contribs *c, Node target, Node value);
/* n's contributions into c->list; returns their number. */
size_t contribs_gather(Contribs *c, Node n);
void contribs_free(Contribs *c);
/* The derivative of node n with respect to its i-th operand, as a node. */
Node diff_partial(Node n, uint32_t i);

/* ---- adiff.c: derivatives of array loops, as scatters ---- */

/* out[map] += value for every value of the map's index variables and of `over`, which are
 * summed over; map UINT32_MAX: out[coord] += value. */
typedef struct {
    uint32_t map;
    uint32_t coord;
    Node value;
    uint32_t column; /* the Hessian's columns: the column's index, a map over the column's
                        variables (else UINT32_MAX) */
    uint64_t over;   /* the variables summed over (fixed when the scatter is made: a value's
                      derivative may no longer depend on a variable it is summed over) */
} Scatter;

typedef struct {
    Scatter *grad;
    uint32_t ngrad, grad_cap;
} ArrayDeriv;

void adiff_gradient(const Model *m, ArrayDeriv *d);
/* The Hessian times v: the gradient's scatters differentiated along v (OP_DIR, OP_VAT). */
void adiff_hvp(const ArrayDeriv *g, ArrayDeriv *h);
/* A block of the Hessian's columns [lo, hi): c is one variable (vr is UINT32_MAX), or, for a
 * matrix of rows of `inner` values, c = lo + inner * vr + vc. map: c as an index map. */
typedef struct {
    uint32_t map, vr, vc;
    int64_t lo, hi, inner;
} ColumnBlock;
/* The Hessian's columns of a block: the same along e_c for each c (looped over like data rows),
 * each scatter also over c's variables; a coordinate outside the block seeds nothing, so only
 * what depends on the block's parameters is differentiated. */
void adiff_columns(const ArrayDeriv *g, ArrayDeriv *h, const ColumnBlock *col);
void adiff_free(ArrayDeriv *d);
/* A program lowered a second time in array loops (sema_array_loops, diagnostics muted) and
 * differentiated: the gradient, the HVP and the Hessian's columns. */
typedef struct {
    Model model;
    ArrayDeriv grad, hvp, cols;  /* cols: every block's column scatters */
    uint64_t columns;            /* the columns' variables, one per block of parameters */
    uint32_t nblocks, nmatrices; /* the blocks of columns, and those that are one matrix */
    const char *why;             /* when arrays_build fails: why the sums cannot stay loops */
    /* M_hess_row_range: the outer row variables, whose loops run over [row_begin, row_end),
     * the loss and the gradient's and columns' scatters rewritten as rows + w_free * free;
     * 0 when the loss is not a sum of row terms plus terms free of rows (then no_split says
     * why) */
    uint64_t split_vars;
    const char *no_split;
    const char *no_part; /* why its parts (M_data_part) cannot add up, known before emission */
    /* --loops=auto (adiff.c's estimate_unrolled): the parameters coupled by sums that stayed
     * loops, and whether loops pay */
    uint32_t coupled;
    bool long_product; /* a product of more than KEEP_FACTORS parameter-dependent factors */
    bool loops_pay;
} ArrayModel;
bool arrays_build(const Program *prog, const char *stem, bool prefix_given, ArrayModel *a);
void arrays_free(ArrayModel *a);
/* --dump=arrays: the nodes, the loss, and each scatter as `what[map] += node`. */
void adiff_dump(FILE *out, const Model *m, const ArrayDeriv *g, const char *what);

/* ---- sched.c: straight-line schedules of the nodes that outputs need ---- */

/* SCHED_INV marks an item that enters by its inverse under the node's operation: x | SCHED_INV
 * is 1/x in a product (a division) and -x in a sum (a subtraction). */
#define SCHED_INV 0x80000000u

typedef struct Loop Loop;

/* One emitted assignment: a node computed from `items` (operands, or already scheduled
 * sub-sums and sub-products that the scheduler found in the graph), joined by the node's op.
 * Or, with `loop` set (and node 0), one loop over data rows. */
typedef struct {
    Node node;
    uint32_t nitems;
    const Node *items;
    Loop *loop;
} Step;

typedef struct {
    Step *steps;
    uint32_t nsteps, cap;
} Schedule;

/* One loop over the rows of a size name: it accumulates every row reduction (OP_ROWSUM) of
 * one level that is ready at this point, so their bodies share one pass and their common
 * subexpressions; `body` is the steps of one row (loops of deeper levels included). */
struct Loop {
    unsigned level;
    uint32_t size;
    Node *sums;
    uint32_t nsums;
    Schedule body;
};

/* Creates, before any schedule is built, the nodes the schedules may share: the product
 * without its coefficient of every product the outputs need, so that 2*x*y, -x*y and x*y
 * are all computed from one x*y. */
void sched_prepare(const Node *outputs, size_t n);
/* The steps the outputs need; with `after`, only those that schedule does not already have
 * (what the gradient adds to a Hessian, computed only when the caller asks for it). */
void sched_build(Schedule *s, const Node *outputs, size_t n, const Schedule *after);
/* The same for a loss over data: every row reduction becomes part of a loop, invariants of a
 * row (what depends on no row value) are computed before the loop, and reductions that need
 * the result of another wait for a later loop. */
void sched_build_rows(Schedule *s, const Node *outputs, size_t n);
void sched_free(Schedule *s);
/* Every schedule the generated functions need, built by sched_model (the scheduling phase). */
typedef struct {
    bool loops;         /* sums over rows, run-time or fixed: the schedules hold loops */
    Schedule loss;      /* the loss */
    Schedule grad;      /* loss and gradient */
    Schedule hess;      /* loss and Hessian entries (dense and sparse Hessians) */
    Schedule hess_grad; /* what the gradient adds to hess (straight-line code only) */
    Schedule hval;      /* the Hessian entries alone */
    Schedule hvp;       /* the Hessian times v */
    Schedule rows;      /* M_hess_row_range's outputs, when d->row_range */
} ModelSchedules;
/* The last nodes the graph gets, before it is frozen: the products the schedules may share
 * (sched_prepare over every output). */
void sched_share(const Model *m, const Deriv *d);
void sched_model(const Model *m, const Deriv *d, ModelSchedules *s);
void sched_model_free(ModelSchedules *s);
/* --dump=sched: every schedule as numbered steps, loops indented, in a stable text. */
void sched_dump(FILE *out, const ModelSchedules *s, const Deriv *d);
void sched_release(void); /* frees the plans kept for all schedules, at exit */
/* Which helpers (sigmoid, softplus, ...) a schedule uses, as a bit set over Op. */
void sched_ops_used(const Schedule *s, bool used[OP__COUNT]);

/* ---- reroll.c: families of expressions that are one expression shifted along theta ---- */

/* Members items[members[k]], k < count: member k is member 0 with every coordinate index
 * moved by k * shift, and its keys moved by k times a constant step. */
typedef struct {
    uint32_t *members;
    uint32_t count;
    int64_t shift;
} Family;

/* Computes every node's shape; nodes created after it are not candidates. */
void reroll_init(void);
void reroll_release(void);
/* Families of at least min_count among items[0..n), with nkeys keys per item in keys (the first
 * must be equal within a family: which array a value goes to). */
void reroll_find(const Node *items, uint32_t n, const int64_t *keys, int nkeys, uint32_t min_count, Family **out,
                 uint32_t *nout);
void reroll_free(Family *f, uint32_t n);

/* ---- emit.c: C text of the generated API ---- */

enum { CHECKED_OFF, CHECKED_ON, CHECKED_AUTO }; /* auto: where the code is straight-line anyway */
typedef struct {
    const char *prefix;
    const char *source_name; /* the input's base name, for the provenance line */
    bool with_main;          /* --main: append the analyzer's main(), which needs libhessrt */
    int checked;             /* --checked: trace values that are not finite to their source (checked.c) */
} EmitOptions;

void emit_c(Buf *out, const Model *m, const Deriv *d, const ModelSchedules *s, const EmitOptions *o);
/* The same API for a model in array loops: bodies from aemit.c, the Hessian by columns. */
/* false where array loops cannot compute the loss's derivatives (aemit_failed): out is not C,
 * and the caller writes the unrolled code instead */
bool emit_c_arrays(Buf *out, const ArrayModel *a, const EmitOptions *o);
/* Its header: the pattern (n, nnz) is all of the lower triangle, without tables. */
void emit_header_arrays(Buf *out, const ArrayModel *a, const EmitOptions *o);
/* What aemit.c borrows: a double as the shortest text that reads back, x^q for an expression,
 * a unary operation's C function (a static buffer). */
void emit_put_double(Buf *b, double d);
void emit_put_pow(Buf *b, const char *x, mpq_srcptr q);
/* Whether emit_put_pow writes x^q as 1.0 / (x * ... * x): q an integer in [-8, -1]. */
bool emit_pow_is_division(mpq_srcptr q);
const char *emit_function_name(Op op, const char *prefix);

/* ---- aemit.c: function bodies of array loops ---- */

/* The statements that compute the loss (when not 0) and every scatter, each added to the output
 * as out says; the loss's value is then aemit_loss's text. Where scatters go: store, a format of the index's and the value's C text ("grad[%s] += %s;"),
 * or of the column's, the index's and the value's for a scatter with a column; clipped (or
 * NULL), the same for a column's scatter whose loop stops at the diagonal, without testing it.
 * The column variables are looped over like data rows, as i<var>; the row variables in split
 * over [row_begin, row_end), and w_free is the share of the terms free of rows (adiff.c's
 * split_outputs). */
typedef struct {
    const char *store, *clipped;
    uint64_t columns, split;
    bool checked;       /* --checked: every value tested as it is made (checked.c's checked_step) */
    bool column_arrays; /* the columns' variables as arrays in the passes over rows, not loops
                           around them (emit.c's put_array_body says when) */
} AemitOut;
/* Whether the model reads rows whose count is known only at run time (the loops a part of the
 * rows splits). */
static inline bool model_runtime_rows(const Model *m)
{
    for (uint32_t z = 0; m->ndata > 0 && z < m->nsizes; z++)
        if (m->sizes[z].count < 0)
            return true;
    return false;
}

/* Returns why the body's loops over rows cannot run over parts of the rows (M_data_part), or
 * NULL. In a model with run-time row counts and not split, a scatter outside the passes over
 * rows is made by the first part alone: the caller adds the output over the parts. */
const char *aemit_body(Buf *b, const Model *m, const char *prefix, Node loss, const Scatter *sc, uint32_t nsc,
                       const AemitOut *out);
/* Whether the last aemit_body added sums over parts of the rows (after a pass not split). */
bool aemit_reduced(void);
/* Whether the body aemit_body wrote last has pairs of rows whose parts visit each other (a ring). */
bool aemit_ring(void);
/* Whether it failed: no order of passes over rows computes what it must (its text is not C). */
bool aemit_failed(void);
/* Whether it has a pass over run-time rows inside a loop over the Hessian's columns. */
bool aemit_rows_in_columns(void);
/* The most values of an array it declares. */
size_t aemit_largest_array(void);
void aemit_loss(Buf *b, Node loss);
void aemit_ops_used(Node root, const Scatter *sc, uint32_t nsc, bool used[OP__COUNT]);
void emit_header(Buf *out, const Model *m, const Deriv *d, const EmitOptions *o);

/* ---- checked.c: what --checked adds to the C (the sites of non-finite values) ---- */

void checked_declarations(Buf *b, const char *prefix);
void checked_state(Buf *b, const char *prefix);
void checked_step(Buf *b, const char *indent, const char *prefix, const char *value, Node n, bool division,
                  const char *operands_finite);
void checked_definitions(Buf *b, const char *prefix, const char *file, uint32_t nparam, bool dense_pattern);
void checked_release(void);

/* ---- run.c: hessgen run FILE.hl SUBCOMMAND ... ---- */

/* Runs the program `path` (PATH searched) with argv, waits; its exit status, or -1. With out,
 * its standard output is captured; with quiet, its standard error is dropped. */
int spawn_program(const char *path, char *const argv[], Buf *out, bool quiet);
/* Writes len bytes to path through a temporary file beside it and a rename, so that path holds
 * its old content or all of the new, with a new file's permissions (as the umask leaves them);
 * false, errno set and no file left behind if it cannot. */
bool write_file_atomically(const char *path, const void *data, size_t len);

/* Generates, compiles (cached) and runs the analyzer; returns only on failure. self is this
 * program's path, to generate the C with. */
int run_command(const char *self, int argc, char **argv);

/* ---- print.c: readable formulas for --print ---- */

void print_formulas(FILE *out, const Model *m, const Deriv *d);
/* Writes node n as a formula a student would write, cut after `limit` bytes. */
void print_node(Buf *b, Node n, char *const *param_names, size_t limit);

#endif
