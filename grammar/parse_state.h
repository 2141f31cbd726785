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

#endif
