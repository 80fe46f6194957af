/*
 * Copyright (C) nginx-hoop authors
 *
 * The literal finder against PostgreSQL's own scanner (pg_query_scan)
 * and normalizer (pg_query_normalize): every literal it finds is one
 * literal token of the real scanner, and the normalized text it makes
 * from one statement's mapping is the normalizer's for every statement of
 * that shape.
 */

#include <stdlib.h>

#include "tap.h"
#include "pg_scan.h"
#include "hoop_sql.h"
#include "hoop_sql_literal.h"


#define MAX_SPANS  32


/*
 * every span is exactly one token of PostgreSQL's scanner: a literal, or
 * a comment where the span is one
 */
static int
spans_are_tokens(const char *sql, const hoop_sql_span_t *spans, int n)
{
    int              i, k, nt, found;
    pg_scan_token_t  tok[256];

    nt = pg_scan_tokens(sql, tok, 256);

    if (nt < 0) {
        return 0;
    }

    for (i = 0; i < n; i++) {
        found = 0;

        for (k = 0; k < nt; k++) {
            if (tok[k].start == (int) spans[i].start
                && tok[k].end == (int) (spans[i].start + spans[i].len)
                && (hoop_sql_span_mark(sql, &spans[i])
                    == HOOP_SQL_COMMENT_MARK
                    ? pg_scan_is_comment(tok[k].token)
                    : pg_scan_is_literal(tok[k].token)))
            {
                found = 1;
            }
        }

        if (!found) {
            return 0;
        }
    }

    return 1;
}


/* the text, its literals, and pg_query_normalize()'s text made from ids */
static void
normalizes_like_pg(const char *sql, const char *want_norm, const char *name)
{
    int                     n, params, ids[MAX_SPANS];
    char                    out[1024];
    size_t                  len, olen;
    hoop_sql_span_t         spans[MAX_SPANS];
    PgQueryNormalizeResult  r;

    len = strlen(sql);
    n = hoop_sql_literals(sql, len, spans, MAX_SPANS, &params);
    ok(n >= 0, "%s: literals found", name);

    if (n < 0) {
        return;
    }

    ok(spans_are_tokens(sql, spans, n), "%s: each one a scanner token",
       name);

    r = pg_query_normalize(sql);
    ok(r.error == NULL && strcmp(r.normalized_query, want_norm) == 0,
       "%s: pg_query_normalize gives the text expected", name);

    if (r.error == NULL) {
        is_int(hoop_sql_literal_ids(sql, len, spans, n, r.normalized_query,
                                    strlen(r.normalized_query), ids),
               0, "%s: mapping read from it", name);

        olen = hoop_sql_literal_normalize(sql, len, spans, n, ids, out,
                                          sizeof(out));
        is_mem(out, olen, r.normalized_query, strlen(r.normalized_query),
               "%s: made again from the mapping", name);
    }

    pg_query_free_normalize_result(r);
}


/* a second text of the first's shape gets the normalizer's text too */
static void
same_shape(const char *a, const char *b, const char *name)
{
    int                     na, nb, pa, pb, ids[MAX_SPANS];
    char                    sa[512], sb[512], out[512];
    size_t                  la, lb, olen;
    hoop_sql_span_t         spa[MAX_SPANS], spb[MAX_SPANS];
    PgQueryNormalizeResult  ra, rb;

    na = hoop_sql_literals(a, strlen(a), spa, MAX_SPANS, &pa);
    nb = hoop_sql_literals(b, strlen(b), spb, MAX_SPANS, &pb);
    la = hoop_sql_shape(a, strlen(a), spa, na, sa, sizeof(sa));
    lb = hoop_sql_shape(b, strlen(b), spb, nb, sb, sizeof(sb));

    ok(na > 0 && na == nb && la == lb && memcmp(sa, sb, la) == 0,
       "%s: one shape", name);

    ra = pg_query_normalize(a);
    rb = pg_query_normalize(b);

    if (ra.error == NULL && rb.error == NULL && na == nb
        && hoop_sql_literal_ids(a, strlen(a), spa, na, ra.normalized_query,
                                strlen(ra.normalized_query), ids) == 0)
    {
        olen = hoop_sql_literal_normalize(b, strlen(b), spb, nb, ids, out,
                                          sizeof(out));
        is_mem(out, olen, rb.normalized_query, strlen(rb.normalized_query),
               "%s: the second normalized from the first's mapping", name);

    } else {
        ok(0, "%s: normalized", name);
    }

    pg_query_free_normalize_result(ra);
    pg_query_free_normalize_result(rb);
}


int
main(void)
{
    int              n, i, params;
    char             shape[256];
    size_t           len;
    hoop_sql_span_t  spans[MAX_SPANS];

    static const char  *refused[][2] = {
        { "SELECT E'x'", "an E'' string" },
        { "SELECT e'x'", "an e'' string" },
        { "SELECT B'101'", "a bit string" },
        { "SELECT X'1f'", "a hex bit string" },
        { "SELECT N'x'", "a national string" },
        { "SELECT U&'d\\0061t'", "a Unicode string" },
        { "SELECT U&\"x\" FROM t", "a Unicode identifier" },
        { "SELECT $$a'b$$", "a dollar quote" },
        { "SELECT $tag$x$tag$", "a tagged dollar quote" },
        { "SELECT 1 /* c", "a block comment never closed" },
        { "SELECT 1 /* a /* b */", "a nested block comment never closed" },
        { "SELECT 'a' /* c */ 'b'", "two strings around a block comment" },
        { "SELECT 5 - /* c */ 3", "a minus and a block comment, then a "
                                  "number" },
        { "SELECT 'a\\' , 'b'", "a backslash in a string" },
        { "SELECT 1 \\ 2", "a backslash outside" },
        { "SELECT 'a'\n'b'", "a string continued" },
        { "SELECT 'a' -- c\n 'b'", "a string continued after a comment" },
        { "SELECT 'a' 'b'", "two strings in a row" },
        { "SELECT * FROM t WHERE a = -5", "a negative number" },
        { "SELECT * FROM t WHERE a = - 5", "a minus, then a number" },
        { "SELECT 5 - -- c\n 3", "a minus and a comment, then a number" },
        { "SELECT 1..2", "two dots" },
        { "SELECT 12abc", "trailing junk" },
        { "SELECT 1e", "an exponent without digits" },
        { "SELECT 1.2.3", "a number with two dots" },
        { "SELECT $1abc", "a parameter with junk" },
        { "SELECT $", "a lone dollar" },
        { "SELECT 'abc", "an unterminated string" },
        { "SELECT \"abc", "an unterminated identifier" },
        { "SELECT 1\v", "a vertical tab" },
        { "SELECT \x01", "a control character" },
        { "SELECT 5'x'", "a number then a string" },
        { "SELECT \"a\"'x'", "an identifier then a string" },
        { "SELECT $99999", "a parameter out of range" },
    };

    /* what PostgreSQL's scanner has literals, and the normalizer agrees */

    normalizes_like_pg("SELECT abalance FROM pgbench_accounts WHERE aid = "
                       "12345;",
                       "SELECT abalance FROM pgbench_accounts WHERE aid = "
                       "$1;", "pgbench -S");
    normalizes_like_pg("SELECT 'it''s', 1.5e3, .5, 7. FROM \"t\"\"x\" "
                       "WHERE a = $2 AND b IN (1, 2)",
                       "SELECT $3, $4, $5, $6 FROM \"t\"\"x\" "
                       "WHERE a = $2 AND b IN ($7, $8)",
                       "strings, decimals, exponents, a parameter");
    normalizes_like_pg("SELECT a FROM t WHERE b = 'x' ORDER BY 1",
                       "SELECT a FROM t WHERE b = $1 ORDER BY 1",
                       "ORDER BY 1 kept");
    normalizes_like_pg("SELECT 'x'::varchar(10)",
                       "SELECT $1::varchar(10)", "a type modifier kept");
    normalizes_like_pg("UPDATE t SET a = 5 -- a comment with 'quotes'\n"
                       "WHERE id = 10",
                       "UPDATE t SET a = $1 -- a comment with 'quotes'\n"
                       "WHERE id = $2", "a line comment with quotes");
    normalizes_like_pg("SELECT \"wei'rd\", 'é' FROM t$1 WHERE x = 5e-3",
                       "SELECT \"wei'rd\", $1 FROM t$1 WHERE x = $2",
                       "a quote in an identifier, UTF-8, $ in a name");
    normalizes_like_pg("SELECT 5 + 3 * 2",
                       "SELECT $1 + $2 * $3", "operators");
    normalizes_like_pg("INSERT INTO t VALUES ('a', 1), ('b', 2)",
                       "INSERT INTO t VALUES ($1, $2), ($3, $4)",
                       "a multi-row insert");
    normalizes_like_pg("SELECT 'a' FROM t LIMIT 10",
                       "SELECT $1 FROM t LIMIT $2", "LIMIT");

    /* comments: kept as they are, wherever they start */

    normalizes_like_pg("SELECT a FROM t WHERE b = 'x' /*traceparent='00-4bf9"
                       "2f3577b34da6-01',route='%2Fapi'*/",
                       "SELECT a FROM t WHERE b = $1 /*traceparent='00-4bf9"
                       "2f3577b34da6-01',route='%2Fapi'*/", "sqlcommenter");
    normalizes_like_pg("/* a /* nested 'one' */ still 5 */ SELECT 5",
                       "/* a /* nested 'one' */ still 5 */ SELECT $1",
                       "a nested block comment");
    normalizes_like_pg("SELECT 2*/*c*/3 +/* d **/ 4 <--e\n 6",
                       "SELECT $1*/*c*/$2 +/* d **/ $3 <--e\n $4",
                       "comments starting inside operators");
    normalizes_like_pg("SELECT 'a' -- 'b'\r, 7 /**/",
                       "SELECT $1 -- 'b'\r, $2 /**/",
                       "a line comment ended by a carriage return");

    for (i = 0; i < (int) (sizeof(refused) / sizeof(refused[0])); i++) {
        is_int(hoop_sql_literals(refused[i][0], strlen(refused[i][0]), spans,
                                 MAX_SPANS, &params),
               -1, "left to the parser: %s", refused[i][1]);
    }

    is_int(hoop_sql_literals("SELECT 1, 2, 3", 14, spans, 2, &params), -1,
           "more literals than room: left to the parser");

    /* the shape: literals marked, the rest as it is */

    n = hoop_sql_literals("SELECT 'a', 42 FROM t -- x\n", 27, spans,
                          MAX_SPANS, &params);
    len = hoop_sql_shape("SELECT 'a', 42 FROM t -- x\n", 27, spans, n,
                         shape, sizeof(shape));
    is_mem(shape, len, "SELECT \x01, \x02 FROM t \x03\n", 21,
           "the shape of a statement");
    is_int(hoop_sql_shape("SELECT 'a', 42 FROM t -- x\n", 27, spans, n,
                          shape, 10), 0, "a shape too long for the buffer");

    /* statements of one shape, their values apart */

    same_shape("SELECT * FROM t WHERE a = 1 AND b = 'x' ORDER BY 2",
               "SELECT * FROM t WHERE a = 99 AND b = 'other''s' ORDER BY 2",
               "values differ");
    same_shape("SELECT a, 5 FROM t GROUP BY a, 5",
               "SELECT a, 77 FROM t GROUP BY a, 77",
               "GROUP BY matched to the target list");
    same_shape("SELECT * FROM t WHERE id = 5 /*traceparent='00-aa-01'*/",
               "SELECT * FROM t WHERE id = 6 /*traceparent='00-bbbb-01',"
               "route='/x'*/", "comments differ");
    same_shape("UPDATE t SET a = 1 -- by agent-7\nWHERE id = 2",
               "UPDATE t SET a = 3 -- by someone else /* */\nWHERE id = 4",
               "line comments differ");

    /*
     * an int4 and another number are not one shape: ORDER BY 1 is a
     * position the normalizer keeps, ORDER BY 1.5 and ORDER BY 3000000000
     * values it replaces
     */

    normalizes_like_pg("SELECT a FROM t ORDER BY 2147483647",
                       "SELECT a FROM t ORDER BY 2147483647",
                       "the largest int4, a position");
    normalizes_like_pg("SELECT a FROM t ORDER BY 2147483648",
                       "SELECT a FROM t ORDER BY $1", "one more, a value");
    same_shape("SELECT * FROM t WHERE p > 1.5 ORDER BY 2",
               "SELECT * FROM t WHERE p > 22.25 ORDER BY 2", "decimals");

    {
        int              k;
        char             s[3][64];
        size_t           l[3];
        hoop_sql_span_t  sp[4];
        const char      *t[3] = { "SELECT a FROM t ORDER BY 1",
                                  "SELECT a FROM t ORDER BY 1.5",
                                  "SELECT a FROM t ORDER BY 3000000000" };

        for (k = 0; k < 3; k++) {
            n = hoop_sql_literals(t[k], strlen(t[k]), sp, 4, NULL);
            l[k] = hoop_sql_shape(t[k], strlen(t[k]), sp, n, s[k],
                                  sizeof(s[k]));
        }

        ok(l[0] == l[1] && memcmp(s[0], s[1], l[0]) != 0
           && l[1] == l[2] && memcmp(s[1], s[2], l[1]) == 0,
           "ORDER BY 1 is not the shape of ORDER BY 1.5 or 3000000000");
    }

    /*
     * where a statement starts and ends, in its shape's coordinates, is
     * where the parser finds it in another text of that shape, comments
     * of other lengths before and after it
     */

    {
        int              na, nb;
        size_t           start, end;
        hoop_sql_stmt_t  sa[2], sb[2];
        hoop_sql_span_t  pa[8], pb[8];
        const char      *a = "/* a */;\n/* b */;SELECT 8 /* c */; /* d */";
        const char      *b = "/* aa */;\n/* bbb */;SELECT 42 /* cccc */;"
                             " /* ddddd */";

        na = hoop_sql_literals(a, strlen(a), pa, 8, NULL);
        nb = hoop_sql_literals(b, strlen(b), pb, 8, NULL);

        ok(na == 5 && nb == 5
           && hoop_sql_classify(a, sa, 2, NULL, 0) == 1
           && hoop_sql_classify(b, sb, 2, NULL, 0) == 1,
           "a statement after empty ones is one statement");
        ok(!hoop_sql_in_span(pa, na, sa[0].offset)
           && !hoop_sql_in_span(pa, na, sa[0].offset + sa[0].length)
           && hoop_sql_in_span(pa, na, 2),
           "the statement's edges are not inside a span; a comment's are");
        start = hoop_sql_shape_pos(pa, na, sa[0].offset);
        end = hoop_sql_shape_pos(pa, na, sa[0].offset + sa[0].length);

        is_int((int) hoop_sql_text_pos(pb, nb, start), (int) sb[0].offset,
               "the first one's start found in the second");
        is_int((int) hoop_sql_text_pos(pb, nb, end),
               (int) (sb[0].offset + sb[0].length), "and its end");
    }

    /* spans side by side, of one byte, and the text's end */

    {
        int              na, nb;
        hoop_sql_span_t  pa[8], pb[8];
        const char      *a = "SELECT 1,2/*c*/'x'";
        const char      *b = "SELECT 42,7/*longer*/'xyz'";

        na = hoop_sql_literals(a, strlen(a), pa, 8, NULL);
        nb = hoop_sql_literals(b, strlen(b), pb, 8, NULL);

        ok(na == 4 && nb == 4 && pa[2].start == 10 && pa[3].start == 15,
           "four spans, the last two side by side");
        ok(hoop_sql_shape_pos(pa, na, 18) == 12
           && hoop_sql_text_pos(pa, na, 12) == 18
           && hoop_sql_text_pos(pb, nb, 12) == strlen(b),
           "the end of the text");
        ok(hoop_sql_shape_pos(pa, na, 10) == 10
           && hoop_sql_text_pos(pb, nb, 10) == 11,
           "the start of a span after two one-byte ones");
        ok(hoop_sql_shape_pos(pa, na, 15) == 11
           && hoop_sql_text_pos(pb, nb, 11) == 21,
           "the edge between two spans");
        ok(!hoop_sql_in_span(pa, na, 10) && !hoop_sql_in_span(pa, na, 15)
           && !hoop_sql_in_span(pa, na, 18) && hoop_sql_in_span(pa, na, 12)
           && hoop_sql_in_span(pa, na, 16),
           "inside a span, not at its edges");
    }

    /* a comment and the text it hides are not one shape with the text */

    {
        char             s1[64], s2[64];
        size_t           l1, l2;
        hoop_sql_span_t  sp[4];
        const char      *a = "SELECT 1 /* */ DROP TABLE t; */";
        const char      *b = "SELECT 1 /* /* */ DROP TABLE t; */";

        n = hoop_sql_literals(a, strlen(a), sp, 4, NULL);
        l1 = hoop_sql_shape(a, strlen(a), sp, n, s1, sizeof(s1));
        n = hoop_sql_literals(b, strlen(b), sp, 4, NULL);
        l2 = hoop_sql_shape(b, strlen(b), sp, n, s2, sizeof(s2));
        ok(n == 2 && l2 == 10 && memcmp(s2, "SELECT \x02 \x03", 10) == 0
           && (l1 != l2 || memcmp(s1, s2, l1) != 0),
           "a nested comment hides what follows, a closed one does not");
    }

    /* a string and a number are not one shape: date '2020-01-01', date 7 */

    {
        char             s1[64], s2[64];
        size_t           l1, l2;
        hoop_sql_span_t  sp[4];

        n = hoop_sql_literals("SELECT date '2020-01-01'", 24, sp, 4, NULL);
        l1 = hoop_sql_shape("SELECT date '2020-01-01'", 24, sp, n, s1,
                            sizeof(s1));
        n = hoop_sql_literals("SELECT date 7", 13, sp, 4, NULL);
        l2 = hoop_sql_shape("SELECT date 7", 13, sp, n, s2, sizeof(s2));
        ok(l1 == l2 && memcmp(s1, s2, l1) != 0,
           "a string and a number: two shapes");
    }

    /* ORDER BY 1 and ORDER BY 2 share a shape: the caller compares kept
     * literals (ids 0) before it uses a mapping */

    {
        int          ids[MAX_SPANS];
        const char  *a = "SELECT a FROM t WHERE b = 5 ORDER BY 1";
        const char  *norm = "SELECT a FROM t WHERE b = $1 ORDER BY 1";

        n = hoop_sql_literals(a, strlen(a), spans, MAX_SPANS, &params);
        is_int(hoop_sql_literal_ids(a, strlen(a), spans, n, norm,
                                    strlen(norm), ids), 0, "mapping read");
        ok(n == 2 && ids[0] == 1 && ids[1] == 0,
           "a replaced literal and a kept one");
    }

    /* outputs that are not the text with literals replaced */

    {
        int          ids[MAX_SPANS];
        const char  *a = "SELECT a FROM t WHERE b = 5 AND c = true";

        n = hoop_sql_literals(a, strlen(a), spans, MAX_SPANS, &params);
        is_int(hoop_sql_literal_ids(a, strlen(a), spans, n,
                                    "SELECT a FROM t WHERE b = $1 AND c = $2",
                                    39, ids), -1,
               "a constant replaced where no literal was seen");
        is_int(hoop_sql_literal_ids(a, strlen(a), spans, n,
                                    "SELECT a FROM t WHERE b = $1", 28, ids),
               -1, "a shorter output");
        is_int(hoop_sql_literal_ids(a, strlen(a), spans, n,
                                    "SELECT a FROM t WHERE b = 6 AND c = true",
                                    40, ids), -1, "another value kept");
    }

    /* ".." is one token: "..4" is it and 4, not "." and ".4" */

    n = hoop_sql_literals("SELECT a..4", 11, spans, MAX_SPANS, &params);
    ok(n == 1 && spans[0].start == 10 && spans[0].len == 1
       && spans_are_tokens("SELECT a..4", spans, n), "\"..\" then 4");

    is_int(params, 0, "no parameters");
    hoop_sql_literals("SELECT $3, $12 + 1", 18, spans, MAX_SPANS, &params);
    is_int(params, 12, "the highest parameter");

    return done_testing();
}
