/* parse_state.h: what the scanner and the parser share while one file is read. */
#ifndef HESSGEN_PARSE_STATE_H
#define HESSGEN_PARSE_STATE_H

#include "hessgen.h"

struct LexState {
    Arena *arena;
    uint32_t offset;   /* bytes consumed so far: the next token's first byte */
    uint32_t last_end; /* where the last token ended: "end of file" is reported there */
    const char *text;  /* the source, to quote tokens in syntax errors */
};

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

#endif
