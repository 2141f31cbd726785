/* parser.y: tokens -> syntax tree (Program: a list of statements).
 *
 * A pure parser with byte-span locations. Actions only call the constructors of ast.c.
 * On a syntax error the parser reports it (bison's detailed message, at the offending token),
 * skips to the next `;` and goes on, so one run shows every statement that is wrong.
 * Nothing here needs a %destructor: every value lives in the tree's arena.
 */
%define api.pure full
%locations
%define api.location.type {Span}
%define parse.error custom
%define parse.lac full
%expect 0
%param {yyscan_t scanner}
%parse-param {struct LexState *ls} {Program *prog}

%code requires {
#include <string.h>
#include "hessgen.h"
#include "parse_state.h"
#ifndef YY_TYPEDEF_YY_SCANNER_T
#define YY_TYPEDEF_YY_SCANNER_T
typedef void *yyscan_t;
#endif
}

%code {
#define YYLLOC_DEFAULT(Cur, Rhs, N)                                  \
    do {                                                             \
        if (N) {                                                     \
            (Cur).begin = YYRHSLOC(Rhs, 1).begin;                    \
            (Cur).end = YYRHSLOC(Rhs, N).end;                        \
        } else {                                                     \
            (Cur).begin = (Cur).end = YYRHSLOC(Rhs, 0).end;          \
        }                                                            \
    } while (0)

/* Deep enough for 10000 nested parentheses; beyond it a clear error, never a crash. */
#define YYMAXDEPTH 200000
#define YYINITDEPTH 1000

int yylex(YYSTYPE *lval, YYLTYPE *lloc, yyscan_t scanner);
static void yyerror(YYLTYPE *loc, yyscan_t scanner, struct LexState *ls, Program *prog, const char *msg);
#define A (prog->arena)
}

%union {
    char *text;
    Ast *ast;
    Vec vec;
    Decl *decl;
    int red;
}

%token END 0 "end of file"
%token MODEL "model" PARAM "param" CONST "const" DATA "data" LET "let" DEF "def"
%token LOSS "loss" AT "at" EXPECT "expect" SUM "sum" MEAN "mean" PROD "prod"
%token DOTDOT ".."
%token <text> NUMBER "number" IDENT "name"

%type <ast> expr term unary power primary init
%type <vec> decls dims inits assigns names names_opt args args_opt subscripts
%type <decl> decl assign
%type <red> reducer

%%

program
    : %empty
    | program stmt
    ;

stmt
    : "model" "name" ';'               { Stmt *s = stmt_new(A, prog, ST_MODEL, @1); s->name = $2; s->name_span = @2; }
    | "param" decls ';'                { stmt_set_decls(stmt_new(A, prog, ST_PARAM, @1), &$2); }
    | "const" decls ';'                { stmt_set_decls(stmt_new(A, prog, ST_CONST, @1), &$2); }
    | "data" decls ';'                 { stmt_set_decls(stmt_new(A, prog, ST_DATA, @1), &$2); }
    | "let" "name" '=' expr ';'        { Stmt *s = stmt_new(A, prog, ST_LET, @1); s->name = $2; s->name_span = @2; s->expr = $4; }
    | "def" "name" '(' names_opt ')' '=' expr ';'
        {
            Stmt *s = stmt_new(A, prog, ST_DEF, @1);
            s->name = $2; s->name_span = @2; s->expr = $7;
            s->nparams = $4.n;
            s->params = arena_alloc(A, sizeof(char *) * (size_t)($4.n + 1));
            s->param_spans = arena_alloc(A, sizeof(Span) * (size_t)($4.n + 1));
            for (int i = 0; i < $4.n; i++) {
                Ast *p = $4.items[i];
                s->params[i] = p->name;
                s->param_spans[i] = p->span;
            }
        }
    | "loss" expr ';'                  { Stmt *s = stmt_new(A, prog, ST_LOSS, @1); s->expr = $2; }
    | "at" assigns "expect" "name" ';'
        {
            Stmt *s = stmt_new(A, prog, ST_AT, @1);
            stmt_set_decls(s, &$2);
            s->label = $4; s->label_span = @4;
        }
    | ';'                              { /* an empty statement, as in C: `param x;;` */ }
    | error ';'                        { yyerrok; program_mark_broken(prog, @$); }
    ;

/* decls = decl ("," decl)* */
decls
    : decl                             { $$ = (Vec){0}; vec_push(A, &$$, $1); }
    | decls ',' decl                   { $$ = $1; vec_push(A, &$$, $3); }
    ;

/* decl = name ("[" expr "]")* ["=" init] */
decl
    : "name" dims                      { $$ = decl_new(A, $1, @1, &$2, NULL); }
    | "name" dims '=' init             { $$ = decl_new(A, $1, @1, &$2, $4); }
    ;

dims
    : %empty                           { $$ = (Vec){0}; }
    | dims '[' expr ']'                { $$ = $1; vec_push(A, &$$, $3); }
    ;

/* init = expr | "{" init ("," init)* "}" */
init
    : expr
    | '{' inits '}'                    { $$ = ast_named(A, AST_BRACE, @$, NULL, @1, &$2); }
    ;

inits
    : init                             { $$ = (Vec){0}; vec_push(A, &$$, $1); }
    | inits ',' init                   { $$ = $1; vec_push(A, &$$, $3); }
    ;

/* assigns = name "=" init ("," name "=" init)* */
assigns
    : assign                           { $$ = (Vec){0}; vec_push(A, &$$, $1); }
    | assigns ',' assign               { $$ = $1; vec_push(A, &$$, $3); }
    ;

assign
    : "name" '=' init                  { $$ = decl_new(A, $1, @1, NULL, $3); }
    ;

names_opt
    : %empty                           { $$ = (Vec){0}; }
    | names
    ;

names
    : "name"                           { $$ = (Vec){0}; vec_push(A, &$$, ast_named(A, AST_NAME, @1, $1, @1, NULL)); }
    | names ',' "name"                 { $$ = $1; vec_push(A, &$$, ast_named(A, AST_NAME, @3, $3, @3, NULL)); }
    ;

/* expr = term (("+" | "-") term)* */
expr
    : term
    | expr '+' term                    { $$ = ast_binary(A, AST_ADD, @$, $1, $3); }
    | expr '-' term                    { $$ = ast_binary(A, AST_SUB, @$, $1, $3); }
    ;

/* term = unary (("*" | "/") unary)* */
term
    : unary
    | term '*' unary                   { $$ = ast_binary(A, AST_MUL, @$, $1, $3); }
    | term '/' unary                   { $$ = ast_binary(A, AST_DIV, @$, $1, $3); }
    ;

/* unary = ("-" | "+") unary | power: looser than "^", so -x^2 is -(x^2) */
unary
    : power
    | '-' unary                        { $$ = ast_binary(A, AST_NEG, @$, $2, NULL); }
    | '+' unary                        { $$ = $2; }
    ;

/* power = primary ["^" unary]: right-associative, and 2^-1 needs no parentheses */
power
    : primary
    | primary '^' unary                { $$ = ast_binary(A, AST_POW, @$, $1, $3); }
    ;

primary
    : "number"                         { $$ = ast_number(A, @1, $1); }
    | "name"                           { $$ = ast_named(A, AST_NAME, @1, $1, @1, NULL); }
    | "name" subscripts                { $$ = ast_named(A, AST_INDEX, @$, $1, @1, &$2); }
    | "name" '(' args_opt ')'              { $$ = ast_named(A, AST_CALL, @$, $1, @1, &$3); }
    | '(' expr ')'                     { $$ = $2; }
    | reducer '(' "name" '=' expr ".." expr ',' expr ')'
        { $$ = ast_reduce(A, @$, (ReduceKind)$1, $3, @3, $5, $7, $9); }
    | reducer '(' "name" ',' expr ')'
        { $$ = ast_reduce(A, @$, (ReduceKind)$1, $3, @3, NULL, NULL, $5); }
    ;

subscripts
    : '[' expr ']'                     { $$ = (Vec){0}; vec_push(A, &$$, $2); }
    | subscripts '[' expr ']'          { $$ = $1; vec_push(A, &$$, $3); }
    ;

args_opt
    : %empty                           { $$ = (Vec){0}; }
    | args
    ;

args
    : expr                             { $$ = (Vec){0}; vec_push(A, &$$, $1); }
    | args ',' expr                    { $$ = $1; vec_push(A, &$$, $3); }
    ;

reducer
    : "sum"                            { $$ = RED_SUM; }
    | "mean"                           { $$ = RED_MEAN; }
    | "prod"                           { $$ = RED_PROD; }
    ;

%%

static void yyerror(YYLTYPE *loc, yyscan_t scanner, struct LexState *ls, Program *prog, const char *msg)
{
    (void)scanner; (void)ls;
    if (strcmp(msg, "memory exhausted") == 0)
        msg = "the expression is nested too deeply (the parser's stack holds 200000 levels)";
    diag_error(*loc, "%s", msg);
    program_mark_broken(prog, *loc);
}

/* How a token is named in a message: the text of a name or number as written, a keyword
 * or a punctuation mark quoted. */
static void describe(Buf *b, yysymbol_kind_t k, const YYLTYPE *loc, const char *text, bool actual)
{
    switch (k) {
    case YYSYMBOL_YYEOF:
        buf_puts(b, "end of file");
        return;
    case YYSYMBOL_IDENT:
        if (actual)
            buf_printf(b, "name '%.*s'", (int)(loc->end - loc->begin), text + loc->begin);
        else
            buf_puts(b, "a name");
        return;
    case YYSYMBOL_NUMBER:
        if (actual)
            buf_printf(b, "number %.*s", (int)(loc->end - loc->begin), text + loc->begin);
        else
            buf_puts(b, "a number");
        return;
    default:
        if (k >= YYSYMBOL_MODEL && k <= YYSYMBOL_PROD)
            buf_printf(b, "keyword '%s'", yysymbol_name(k));
        else if (k == YYSYMBOL_DOTDOT)
            buf_puts(b, "'..'");
        else
            buf_puts(b, yysymbol_name(k));
        return;
    }
}

/* Tokens that can start an expression: a message says "an expression" for all of them. */
static bool starts_expression(yysymbol_kind_t k)
{
    if (k == YYSYMBOL_NUMBER || k == YYSYMBOL_IDENT || k == YYSYMBOL_SUM || k == YYSYMBOL_MEAN || k == YYSYMBOL_PROD)
        return true;
    const char *name = yysymbol_name(k);
    return strcmp(name, "'('") == 0 || strcmp(name, "'+'") == 0 || strcmp(name, "'-'") == 0 ||
           strcmp(name, "'{'") == 0;
}

/* syntax error: unexpected X, expected A, B or C */
static int yyreport_syntax_error(const yypcontext_t *ctx, yyscan_t scanner, struct LexState *ls, Program *prog)
{
    (void)scanner;
    enum { MAX_EXPECTED = 32 };
    yysymbol_kind_t expected[MAX_EXPECTED];
    int n = yypcontext_expected_tokens(ctx, expected, MAX_EXPECTED);
    const YYLTYPE *loc = yypcontext_location(ctx);
    Buf b = {0};
    buf_puts(&b, "syntax error: unexpected ");
    describe(&b, yypcontext_token(ctx), loc, ls->text, true);
    /* "an expression" stands for every token that starts one */
    bool expr = false;
    int m = 0;
    for (int i = 0; i < n; i++) {
        if (expected[i] == YYSYMBOL_NUMBER)
            expr = true;
    }
    for (int i = 0; i < n; i++)
        if (!expr || !starts_expression(expected[i]))
            expected[m++] = expected[i];
    if (n > 0) {
        buf_puts(&b, ", expected ");
        int total = m + expr;
        for (int i = 0; i < total; i++) {
            if (i > 0)
                buf_puts(&b, i == total - 1 ? " or " : ", ");
            if (expr && i == 0)
                buf_puts(&b, "an expression");
            else
                describe(&b, expected[i - expr], loc, ls->text, false);
        }
    }
    diag_error(*loc, "%s", b.data);
    program_mark_broken(prog, *loc);
    buf_free(&b);
    return 0;
}
