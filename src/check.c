/* check.c: hessgen --check and --classify --at, the compiler's side of the exact classifier.
 *
 * In: the model, its derivatives, the points (the file's `at ... expect` lines, or --at).
 * Out: each point's classification (src/exact/exact.h: exact_decide) rendered as the
 * reasoning's lines or as JSON, and the exit status; --near's text (exact_near_decide).
 * Nothing here decides: the verdict, its flags and its proof come from the library; this file
 * prints them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exact.h"

static void put_point(Buf *b, const Model *m, const mpq_t *p)
{
    for (uint32_t i = 0; i < m->nparam; i++) {
        if (i)
            buf_puts(b, ", ");
        buf_printf(b, "%s = ", m->param_names[i]);
        exact_put_rational(b, p[i]);
    }
}

static void put_indented(FILE *out, const Buf *steps, const char *indent)
{
    const char *s = steps->data ? steps->data : "";
    while (*s) {
        const char *e = strchr(s, '\n');
        size_t len = e ? (size_t)(e - s) : strlen(s);
        fprintf(out, "%s%.*s\n", indent, (int)len, s);
        s += len + (e ? 1 : 0);
    }
}

int exact_check(const Model *m, const Deriv *d, const char *file, int order, bool json)
{
    mpq_t *p = mpq_array(m->nparam);
    Buf out = {0};
    int failed = 0, passed = 0;
    if (json) {
        buf_puts(&out, "{\"file\": ");
        json_string(&out, file);
        buf_printf(&out, ", \"order\": %d, \"results\": [", order);
    }
    for (int a = 0; a < m->nat; a++) {
        const AtPoint *at = &m->at[a];
        for (uint32_t i = 0; i < m->nparam; i++)
            mpq_set(p[i], dag_rat(at->values[i]));
        Classification r;
        exact_decide(m, d, p, order, &r);
        bool ok = classification_holds(&r, at->label);
        if (ok)
            passed++;
        else
            failed++;
        int line, col;
        diag_line_col(at->span.begin, &line, &col);
        if (json) {
            buf_printf(&out, "%s{\"line\": %d, \"expected\": ", a ? ", " : "", line);
            json_string(&out, at->label);
            buf_printf(&out, ", \"ok\": %s, ", ok ? "true" : "false");
            classification_json(&out, m, p, &r);
            buf_puts(&out, "}");
        } else {
            Buf pt = {0};
            put_point(&pt, m, p);
            const char *v = verdict_name[r.verdict];
            printf("line %d  at %s  expect %s  verdict %s%s  %s\n", line, pt.data, at->label, v,
                   (r.verdict == V_MIN || r.verdict == V_MAX) && r.nonstrict ? " (not strict)" : "",
                   ok ? "ok" : "FAILED");
            put_indented(stdout, &r.steps, "    ");
            buf_free(&pt);
        }
        classification_free(&r);
    }
    if (json) {
        buf_printf(&out, "], \"passed\": %d, \"failed\": %d}\n", passed, failed);
        fwrite(out.data, 1, out.len, stdout);
    } else if (m->nat == 0) {
        printf("%s: no 'at ... expect' lines to check\n", file);
    } else {
        printf("%d of %d point%s as expected%s\n", passed, passed + failed, passed + failed == 1 ? "" : "s",
               failed ? "; FAILED" : "");
    }
    buf_free(&out);
    mpq_array_free(p, m->nparam);
    exact_release();
    return failed ? 1 : 0;
}

int exact_classify(const Model *m, const Deriv *d, const char *at, int order, bool json)
{
    if (m->nparam > EXACT_MAX_PARAMS) {
        fprintf(stderr,
                "hessgen: the exact classifier works on the dense Hessian of at most %d parameters, and "
                "this model has %u; classify numerically instead (hessgen run FILE.hl classify --at ...)\n",
                EXACT_MAX_PARAMS, m->nparam);
        return 2;
    }
    mpq_t *p = mpq_array(m->nparam);
    if (!exact_parse_point_q(m, at, "--at", p)) {
        mpq_array_free(p, m->nparam);
        exact_release();
        return 2;
    }
    Classification r;
    exact_decide(m, d, p, order, &r);
    if (json) {
        Buf out = {0};
        buf_printf(&out, "{\"order\": %d, ", order);
        classification_json(&out, m, p, &r);
        buf_puts(&out, "}\n");
        fwrite(out.data, 1, out.len, stdout);
        buf_free(&out);
    } else {
        put_indented(stdout, &r.steps, "");
    }
    classification_free(&r);
    mpq_array_free(p, m->nparam);
    exact_release();
    return 0;
}

int exact_near(const Model *m, const Deriv *d, const char *near, bool json)
{
    Buf out = {0};
    int rc = exact_near_decide(m, d, near, json, &out);
    if (out.len)
        fwrite(out.data, 1, out.len, stdout);
    buf_free(&out);
    return rc;
}
