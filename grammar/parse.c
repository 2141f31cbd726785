/* parse.c: reads one source file into the tree, driving the scanner (lexer.l) and the parser
 * (parser.y) that flex and bison generate. The grammar's actions build the tree with ast.c's
 * constructors; the tree knows nothing of the grammar.
 */
#include "hessgen.h"
#include "parse_state.h"
#include "parser.h"
#include "lexer.h"

/* Reads the whole source into prog; syntax errors are reported as they are met. */
void parse_program(Program *prog, const char *text, size_t len)
{
    struct LexState ls = {0};
    yyscan_t scanner;
    prog->arena = arena_new();
    ls.arena = prog->arena;
    ls.text = text;
    prog->text = text;
    prog->len = len;
    if (yylex_init_extra(&ls, &scanner))
        fatal("cannot start the scanner");
    YY_BUFFER_STATE buf = yy_scan_bytes(text, (int)len, scanner);
    int rc = yyparse(scanner, &ls, prog);
    if (rc == 2) /* the stack's limit, reported with its place by yyerror: nothing of the parse is kept */
        prog->first = NULL;
    prog->eof = (Span){ls.last_end, ls.last_end};
    yy_delete_buffer(buf, scanner);
    yylex_destroy(scanner);
}
