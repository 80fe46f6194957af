/*
 * Copyright (C) nginx-hoop authors
 *
 * libFuzzer target: the literal finder against PostgreSQL's own scanner
 * and normalizer, for whatever text.  When it accepts a text:
 *
 *   - each literal it found is exactly one literal token of the scanner
 *     (pg_query_scan), each comment one comment token, in order, inside
 *     the text;
 *   - the same text with other values in the literals pg_query_normalize
 *     replaced, and other comments, has the same shape,
 *     pg_query_normalize gives it the text made from the first one's
 *     mapping, and the classifier gives it the same kind, command,
 *     tables and functions, and the statement starts and ends at the
 *     same places of the shape: what the classification cache relies
 *     on.
 */

#include <stdlib.h>
#include <string.h>

#include "pg_scan.h"
#include "hoop_sql.h"
#include "hoop_sql_literal.h"


#define MAX_SPANS   64
#define MAX_TOKENS  1024


int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);


static void
check_tokens(const char *sql, const hoop_sql_span_t *spans, int n)
{
    int               i, k, nt;
    pg_scan_token_t  *tok;

    tok = malloc(MAX_TOKENS * sizeof(pg_scan_token_t));
    if (tok == NULL) {
        return;
    }

    nt = pg_scan_tokens(sql, tok, MAX_TOKENS);

    /*
     * the scanner may refuse what is accepted here (an operator longer
     * than 63 characters, for one): the parser then refuses it too, and a
     * refused statement is never cached
     */

    if (nt < 0) {
        free(tok);
        return;
    }

    k = 0;

    for (i = 0; i < n && nt < MAX_TOKENS; i++) {
        while (k < nt && tok[k].start < (int) spans[i].start) {
            k++;
        }

        if (k == nt
            || tok[k].start != (int) spans[i].start
            || tok[k].end != (int) (spans[i].start + spans[i].len)
            || !(hoop_sql_span_mark(sql, &spans[i]) == HOOP_SQL_COMMENT_MARK
                 ? pg_scan_is_comment(tok[k].token)
                 : pg_scan_is_literal(tok[k].token)))
        {
            abort();
        }
    }

    free(tok);
}


/* the same text, other values in the literals with ids[i] != 0 */
static char *
other_values(const char *sql, size_t len, const hoop_sql_span_t *spans,
    int n, const int *ids)
{
    int          i;
    char        *out;
    size_t       from, o, seg;
    const char  *v;

    out = malloc(len + 40 * (size_t) n + 1);
    if (out == NULL) {
        return NULL;
    }

    from = 0;
    o = 0;

    for (i = 0; i <= n; i++) {
        seg = (i < n ? spans[i].start : len) - from;
        memcpy(out + o, sql + from, seg);
        o += seg;

        if (i == n) {
            break;
        }

        from = spans[i].start + spans[i].len;

        if (ids[i] == 0) {
            v = NULL;

        } else if (ids[i] == HOOP_SQL_COMMENT_ID) {
            v = sql[spans[i].start] == '-'
                ? (i % 2 ? "-- */ ; DELETE FROM t" : "-- other")
                : (i % 3 == 0 ? "/* other */"
                   : i % 3 == 1 ? "/* a /* b */ ; DROP TABLE t; */"
                   : "/* ' \" $1 -- */");

        } else if (sql[spans[i].start] == '\'') {
            v = "'zz'";

        } else if (hoop_sql_span_mark(sql, &spans[i])
                   == HOOP_SQL_NUMBER_MARK)
        {
            v = "7";

        } else if (sql[spans[i].start] == '.') {
            /* "a.4" is a name and .4: "a7.5" would be another name */
            v = ".5";

        } else if (memchr(sql + spans[i].start, 'e', spans[i].len)
                   || memchr(sql + spans[i].start, 'E', spans[i].len))
        {
            v = "7e1";

        } else if (memchr(sql + spans[i].start, '.', spans[i].len)) {
            v = "7.5";

        } else {
            v = "3000000000";           /* digits, but not an int4 */
        }

        if (v == NULL) {
            memcpy(out + o, sql + spans[i].start, spans[i].len);
            o += spans[i].len;

        } else {
            memcpy(out + o, v, strlen(v));
            o += strlen(v);
        }
    }

    out[o] = '\0';

    return out;
}


static void
check_shape(const char *sql, size_t len, const hoop_sql_span_t *spans,
    int n)
{
    int                     ids[MAX_SPANS], n2, p2, c1, c2;
    char                   *sql2, *norm2;
    size_t                  len2, l1, l2;
    char                   *shape1, *shape2;
    hoop_sql_stmt_t         st1[2], st2[2];
    hoop_sql_span_t         spans2[MAX_SPANS];
    PgQueryNormalizeResult  r1, r2;

    r1 = pg_query_normalize(sql);

    if (r1.error != NULL
        || hoop_sql_literal_ids(sql, len, spans, n, r1.normalized_query,
                                strlen(r1.normalized_query), ids) != 0)
    {
        pg_query_free_normalize_result(r1);
        return;
    }

    pg_query_free_normalize_result(r1);

    sql2 = other_values(sql, len, spans, n, ids);
    if (sql2 == NULL) {
        return;
    }

    len2 = strlen(sql2);
    n2 = hoop_sql_literals(sql2, len2, spans2, MAX_SPANS, &p2);

    shape1 = malloc(len + 1);
    shape2 = malloc(len2 + 1);
    norm2 = malloc(len2 + 16 * MAX_SPANS);

    if (shape1 == NULL || shape2 == NULL || norm2 == NULL) {
        goto done;
    }

    l1 = hoop_sql_shape(sql, len, spans, n, shape1, len + 1);
    l2 = n2 < 0 ? 0 : hoop_sql_shape(sql2, len2, spans2, n2, shape2,
                                     len2 + 1);

    if (n2 != n || l1 != l2 || memcmp(shape1, shape2, l1) != 0) {
        abort();
    }

    r2 = pg_query_normalize(sql2);

    if (r2.error == NULL) {
        l2 = hoop_sql_literal_normalize(sql2, len2, spans2, n2, ids, norm2,
                                        len2 + 16 * MAX_SPANS);

        if (l2 != strlen(r2.normalized_query)
            || memcmp(norm2, r2.normalized_query, l2) != 0)
        {
            abort();
        }
    }

    pg_query_free_normalize_result(r2);

    /* one statement of one shape: one classification */

    /* as the gateway does: room for two, so that two are seen as two */

    c1 = hoop_sql_classify(sql, st1, 2, NULL, 0);
    c2 = hoop_sql_classify(sql2, st2, 2, NULL, 0);

    if (c1 == 1 && st1[0].kind != HOOP_SQL_UNKNOWN
        && (c2 != 1 || st1[0].kind != st2[0].kind
            || strcmp(st1[0].command, st2[0].command) != 0
            || strcmp(st1[0].commands, st2[0].commands) != 0
            || strcmp(st1[0].tables, st2[0].tables) != 0
            || strcmp(st1[0].functions, st2[0].functions) != 0
            || st1[0].no_where != st2[0].no_where
            || st1[0].copy_program != st2[0].copy_program
            || st1[0].copy_file != st2[0].copy_file
            || st1[0].undo != st2[0].undo))
    {
        abort();
    }

    /*
     * where the statement starts and ends, kept in the shape's
     * coordinates, is where it starts and ends in the other text (what
     * the cache relies on unless a position falls inside a span)
     */

    if (c1 == 1 && c2 == 1 && st1[0].kind != HOOP_SQL_UNKNOWN
        && !hoop_sql_in_span(spans, n, st1[0].offset)
        && !hoop_sql_in_span(spans, n, st1[0].offset + st1[0].length)
        && (hoop_sql_text_pos(spans2, n2,
                              hoop_sql_shape_pos(spans, n, st1[0].offset))
            != st2[0].offset
            || hoop_sql_text_pos(spans2, n2,
                                 hoop_sql_shape_pos(spans, n, st1[0].offset
                                                              + st1[0].length))
               != st2[0].offset + st2[0].length))
    {
        abort();
    }

done:

    free(shape1);
    free(shape2);
    free(norm2);
    free(sql2);
}


int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    int              i, n, params;
    char            *sql;
    hoop_sql_span_t  spans[MAX_SPANS];

    if (size > 4096 || memchr(data, '\0', size) != NULL) {
        return 0;
    }

    sql = malloc(size + 1);
    if (sql == NULL) {
        return 0;
    }

    memcpy(sql, data, size);
    sql[size] = '\0';

    n = hoop_sql_literals(sql, size, spans, MAX_SPANS, &params);

    if (n >= 0) {
        for (i = 0; i < n; i++) {
            if (spans[i].len == 0 || spans[i].start + spans[i].len > size
                || (i > 0 && spans[i].start
                             < spans[i - 1].start + spans[i - 1].len))
            {
                abort();
            }
        }

        check_tokens(sql, spans, n);
        check_shape(sql, size, spans, n);
    }

    free(sql);

    return 0;
}
