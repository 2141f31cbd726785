/* diag.c: every error, warning and note goes through here.
 *
 * In: a byte span into the source text kept by diag_set_source. Out, on stderr:
 *   FILE:LINE:COL: error: MESSAGE
 *   the source line
 *   a caret under the span's first character, tildes under the rest of it on that line
 * Lines and columns count from 1; a column counts characters (UTF-8 code points), not bytes,
 * so the caret stands under the right character whatever precedes it. Identical diagnostics
 * (same span, same text) are reported once: unrolled reductions would otherwise repeat them.
 */
#include <string.h>

#include "hessgen.h"

static struct {
    const char *name, *text;
    size_t len;
    int errors;
    /* the last few diagnostics, to drop exact repeats */
    struct { uint32_t begin; char msg[160]; } recent[16];
    int nrecent;
} D;

void diag_set_source(const char *name, const char *text, size_t len)
{
    D.name = name;
    D.text = text;
    D.len = len;
}

int diag_error_count(void)
{
    return D.errors;
}

static bool is_continuation(unsigned char c)
{
    return (c & 0xC0) == 0x80;
}

void diag_line_col(uint32_t offset, int *line, int *col)
{
    int l = 1, c = 1;
    if (offset > D.len)
        offset = (uint32_t)D.len;
    for (uint32_t i = 0; i < offset; i++) {
        unsigned char ch = (unsigned char)D.text[i];
        if (ch == '\n') {
            l++;
            c = 1;
        } else if (!is_continuation(ch)) {
            c++;
        }
    }
    *line = l;
    *col = c;
}

/* Prints the line holding `at.begin` and the caret line under the span. */
static void show_line(Span at)
{
    size_t b = at.begin > D.len ? D.len : at.begin;
    size_t start = b, end = b;
    while (start > 0 && D.text[start - 1] != '\n')
        start--;
    while (end < D.len && D.text[end] != '\n')
        end++;
    size_t shown_end = end;
    if (shown_end > start && D.text[shown_end - 1] == '\r')
        shown_end--;
    /* The source line, with control bytes (a NUL, say) shown as spaces. */
    for (size_t i = start; i < shown_end; i++) {
        unsigned char ch = (unsigned char)D.text[i];
        fputc(ch < 0x20 && ch != '\t' ? ' ' : ch, stderr);
    }
    fputc('\n', stderr);
    for (size_t i = start; i < b; i++) {
        unsigned char ch = (unsigned char)D.text[i];
        if (ch == '\t')
            fputc('\t', stderr);
        else if (!is_continuation(ch))
            fputc(' ', stderr);
    }
    fputc('^', stderr);
    size_t stop = at.end < shown_end ? at.end : shown_end;
    for (size_t i = b + 1; i < stop; i++)
        if (!is_continuation((unsigned char)D.text[i]))
            fputc('~', stderr);
    fputc('\n', stderr);
}

static void report(const char *kind, Span at, const char *fmt, va_list ap)
{
    char msg[1024];
    vsnprintf(msg, sizeof msg, fmt, ap);
    for (int i = 0; i < D.nrecent; i++)
        if (D.recent[i].begin == at.begin && strncmp(D.recent[i].msg, msg, sizeof D.recent[i].msg - 1) == 0)
            return;
    int slot = D.nrecent < 16 ? D.nrecent++ : (int)(at.begin % 16);
    D.recent[slot].begin = at.begin;
    size_t keep = strlen(msg);
    if (keep >= sizeof D.recent[slot].msg)
        keep = sizeof D.recent[slot].msg - 1;
    memcpy(D.recent[slot].msg, msg, keep);
    D.recent[slot].msg[keep] = 0;

    int line, col;
    diag_line_col(at.begin, &line, &col);
    fprintf(stderr, "%s:%d:%d: %s: %s\n", D.name, line, col, kind, msg);
    show_line(at);
}

void diag_error(Span at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    D.errors++;
    report("error", at, fmt, ap);
    va_end(ap);
}

void diag_warning(Span at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report("warning", at, fmt, ap);
    va_end(ap);
}

void diag_note(Span at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report("note", at, fmt, ap);
    va_end(ap);
}
