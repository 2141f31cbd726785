/* ast.c: the syntax tree's constructors (the grammar's actions call them; grammar/parse.c drives
 * the scanner and parser), and the --dump=ast printer.
 *
 * Number literals become exact rationals here: "0.1" is 1/10 and "2.5E+4" is 25000, with no
 * floating point anywhere. Exponents are bounded so that a literal cannot ask for a
 * gigabyte-sized integer.
 */
#include <stdlib.h>
#include <string.h>

#include "hessgen.h"

enum { MAX_LITERAL_EXPONENT = 4000 };

void vec_push(Arena *a, Vec *v, void *item)
{
    if (v->n == v->cap) {
        int cap = v->cap ? v->cap * 2 : 4;
        void **items = arena_alloc(a, sizeof(void *) * (size_t)cap);
        if (v->n)
            memcpy(items, v->items, sizeof(void *) * (size_t)v->n);
        v->items = items;
        v->cap = cap;
    }
    v->items[v->n++] = item;
}

/* GMP's rationals own heap memory; every one made for the tree is cleared at the end. */
static mpq_t **tree_rats;
static size_t tree_nrats, tree_rats_cap;

Ast *ast_new(Arena *a, AstKind kind, Span span)
{
    Ast *n = arena_alloc(a, sizeof(Ast));
    n->kind = kind;
    n->span = span;
    return n;
}

/* number = digits ["." digits] [("e"|"E") ["+"|"-"] digits] | "." digits [exponent] */
Ast *ast_number(Arena *a, Span span, const char *text)
{
    Ast *n = ast_new(a, AST_NUM, span);
    mpq_t *q = arena_alloc(a, sizeof(mpq_t));
    mpq_init(*q);
    if (tree_nrats == tree_rats_cap) {
        tree_rats_cap = tree_rats_cap ? 2 * tree_rats_cap : 64;
        tree_rats = xrealloc(tree_rats, sizeof(mpq_t *) * tree_rats_cap);
    }
    tree_rats[tree_nrats++] = q;
    n->num = q;

    size_t len = strlen(text);
    char *digits = xmalloc(len + 1);
    size_t nd = 0;
    long frac = 0, exp10 = 0;
    const char *p = text;
    for (; *p >= '0' && *p <= '9'; p++)
        digits[nd++] = *p;
    if (*p == '.')
        for (p++; *p >= '0' && *p <= '9'; p++, frac++)
            digits[nd++] = *p;
    digits[nd] = 0;
    if (*p == 'e' || *p == 'E') {
        p++;
        int sign = 1;
        if (*p == '+' || *p == '-')
            sign = *p++ == '-' ? -1 : 1;
        for (; *p >= '0' && *p <= '9'; p++) {
            if (exp10 < 100000000)
                exp10 = exp10 * 10 + (*p - '0');
        }
        exp10 *= sign;
    }
    exp10 -= frac;
    if (strspn(digits, "0") == nd) /* zero, whatever its exponent: 0e99999 */
        exp10 = 0;
    if (exp10 > MAX_LITERAL_EXPONENT || exp10 < -MAX_LITERAL_EXPONENT - (long)nd) {
        diag_error(span, "number '%s' is out of range (its decimal exponent must stay within %d)", text,
                   MAX_LITERAL_EXPONENT);
        free(digits);
        return n;
    }
    mpz_t m, t;
    mpz_init_set_str(m, digits, 10);
    mpz_init(t);
    mpz_ui_pow_ui(t, 10, (unsigned long)(exp10 < 0 ? -exp10 : exp10));
    if (exp10 >= 0) {
        mpz_mul(m, m, t);
        mpq_set_z(*q, m);
    } else {
        mpq_set_num(*q, m);
        mpq_set_den(*q, t);
        mpq_canonicalize(*q);
    }
    mpz_clear(m);
    mpz_clear(t);
    free(digits);
    return n;
}

Ast *ast_binary(Arena *a, AstKind kind, Span span, Ast *l, Ast *r)
{
    Ast *n = ast_new(a, kind, span);
    n->a = l;
    n->b = r;
    return n;
}

Ast *ast_named(Arena *a, AstKind kind, Span span, const char *name, Span name_span, Vec *args)
{
    Ast *n = ast_new(a, kind, span);
    n->name = name;
    n->name_span = name_span;
    if (args) {
        n->args = (Ast **)args->items;
        n->nargs = args->n;
    }
    return n;
}

Ast *ast_reduce(Arena *a, Span span, ReduceKind r, const char *var, Span var_span, Ast *lo, Ast *hi, Ast *body)
{
    Ast *n = ast_new(a, AST_REDUCE, span);
    n->reduce = r;
    n->name = var;
    n->name_span = var_span;
    n->a = lo;
    n->b = hi;
    n->body = body;
    return n;
}

Decl *decl_new(Arena *a, const char *name, Span span, Vec *dims, Ast *init)
{
    Decl *d = arena_alloc(a, sizeof(Decl));
    d->name = name;
    d->span = span;
    if (dims) {
        d->dims = (Ast **)dims->items;
        d->ndims = dims->n;
    }
    d->init = init;
    return d;
}

Stmt *stmt_new(Arena *a, Program *p, StmtKind kind, Span span)
{
    Stmt *s = arena_alloc(a, sizeof(Stmt));
    s->kind = kind;
    s->span = span;
    if (p->last)
        p->last->next = s;
    else
        p->first = s;
    p->last = s;
    return s;
}

void stmt_set_decls(Stmt *s, Vec *decls)
{
    s->decls = (Decl **)decls->items;
    s->ndecls = decls->n;
}

void ast_free_numbers(void)
{
    for (size_t i = 0; i < tree_nrats; i++)
        mpq_clear(*tree_rats[i]);
    free(tree_rats);
    tree_rats = NULL;
    tree_nrats = tree_rats_cap = 0;
}

void program_mark_broken(Program *p, Span span)
{
    /* the skipped stretch runs to the end of its statement: widen to the next ';' */
    uint32_t end = span.end;
    while (end < p->len && !(end > 0 && p->text[end - 1] == ';'))
        end++;
    /* and back to the start of the statement */
    uint32_t begin = span.begin;
    while (begin > 0 && p->text[begin - 1] != ';')
        begin--;
    if (p->nbroken == p->broken_cap) {
        int cap = p->broken_cap ? 2 * p->broken_cap : 8;
        Span *s = arena_alloc(p->arena, sizeof(Span) * (size_t)cap);
        if (p->nbroken)
            memcpy(s, p->broken, sizeof(Span) * (size_t)p->nbroken);
        p->broken = s;
        p->broken_cap = cap;
    }
    p->broken[p->nbroken++] = (Span){begin, end};
}

static bool ident_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

bool program_lost_name(const Program *p, const char *name)
{
    size_t n = strlen(name);
    for (int k = 0; k < p->nbroken; k++) {
        const char *t = p->text;
        for (uint32_t i = p->broken[k].begin; i + n <= p->broken[k].end; i++)
            if (memcmp(t + i, name, n) == 0 && (i == 0 || !ident_char(t[i - 1])) &&
                (i + n >= p->len || !ident_char(t[i + n])))
                return true;
    }
    return false;
}

/* ---- --dump=ast: one line per node, indented by depth ---- */

static const char *const ast_kind_names[] = {
    [AST_NUM] = "num", [AST_NAME] = "name", [AST_INDEX] = "index",   [AST_CALL] = "call",
    [AST_NEG] = "neg", [AST_ADD] = "add",   [AST_SUB] = "sub",       [AST_MUL] = "mul",
    [AST_DIV] = "div", [AST_POW] = "pow",   [AST_REDUCE] = "reduce", [AST_BRACE] = "brace",
};
static const char *const reduce_names[] = {"sum", "prod", "mean"};

static void dump_ast(FILE *out, const Ast *n, int depth)
{
    if (!n)
        return;
    int line, col;
    diag_line_col(n->span.begin, &line, &col);
    fprintf(out, "%*s%s", 2 * depth, "", ast_kind_names[n->kind]);
    switch (n->kind) {
    case AST_NUM:
        fputc(' ', out);
        mpq_out_str(out, 10, *n->num);
        break;
    case AST_NAME:
    case AST_INDEX:
    case AST_CALL:
        fprintf(out, " %s", n->name);
        break;
    case AST_REDUCE:
        fprintf(out, " %s %s", reduce_names[n->reduce], n->name);
        break;
    default:
        break;
    }
    fprintf(out, " @%d:%d\n", line, col);
    dump_ast(out, n->a, depth + 1);
    dump_ast(out, n->b, depth + 1);
    for (int i = 0; i < n->nargs; i++)
        dump_ast(out, n->args[i], depth + 1);
    dump_ast(out, n->body, depth + 1);
}

static const char *const stmt_names[] = {
    [ST_MODEL] = "model", [ST_PARAM] = "param", [ST_CONST] = "const", [ST_DATA] = "data",
    [ST_LET] = "let",     [ST_DEF] = "def",     [ST_LOSS] = "loss",   [ST_AT] = "at",
};

void ast_dump(FILE *out, const Program *prog)
{
    for (const Stmt *s = prog->first; s; s = s->next) {
        int line, col;
        diag_line_col(s->span.begin, &line, &col);
        fprintf(out, "%s", stmt_names[s->kind]);
        if (s->name)
            fprintf(out, " %s", s->name);
        for (int i = 0; i < s->nparams; i++)
            fprintf(out, "%s%s", i ? ", " : "(", s->params[i]);
        if (s->nparams)
            fputc(')', out);
        if (s->label)
            fprintf(out, " expect %s", s->label);
        fprintf(out, " @%d:%d\n", line, col);
        for (int i = 0; i < s->ndecls; i++) {
            const Decl *d = s->decls[i];
            fprintf(out, "  decl %s rank %d\n", d->name, d->ndims);
            for (int k = 0; k < d->ndims; k++)
                dump_ast(out, d->dims[k], 2);
            dump_ast(out, d->init, 2);
        }
        dump_ast(out, s->expr, 1);
    }
}
