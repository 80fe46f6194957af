/*
 * Copyright (C) nginx-hoop authors
 *
 * The rules are PostgreSQL 15's scanner (src/backend/parser/scan.l) with
 * standard_conforming_strings on, as libpg_query scans, for the subset
 * of SQL accepted here.
 */

#include <string.h>

#include "hoop_sql_literal.h"


static int hoop_sql_ident_start(unsigned char c);
static int hoop_sql_ident_char(unsigned char c);
static int hoop_sql_digit(unsigned char c);
static int hoop_sql_int4(const char *p, size_t len);
static int hoop_sql_space(unsigned char c);
static size_t hoop_sql_comment_end(const char *sql, size_t i, size_t len);
static size_t hoop_sql_skip_blank(const char *sql, size_t i, size_t len);
static size_t hoop_sql_string_end(const char *sql, size_t i, size_t len);
static size_t hoop_sql_number_end(const char *sql, size_t i, size_t len);


int
hoop_sql_literals(const char *sql, size_t len, hoop_sql_span_t *spans,
    int max, int *params)
{
    int            n;
    long           param, highest;
    size_t         i, j;
    unsigned char  c, prev, last;

    n = 0;
    i = 0;
    last = ' ';             /* the last character that was not blank */
    highest = 0;

    if (len > UINT32_MAX) {
        return -1;
    }

    while (i < len) {
        c = (unsigned char) sql[i];
        prev = i > 0 ? (unsigned char) sql[i - 1] : ' ';

        if (hoop_sql_space(c)) {
            i++;
            continue;
        }

        /*
         * a comment is blank to the scanner, wherever it starts (inside a
         * run of operator characters too); a span of its own, so that
         * statements apart only in their comments (a trace id, say) are
         * one shape.  "last" stays: a minus, a comment, then a number is
         * still a minus before a number.
         */

        j = hoop_sql_comment_end(sql, i, len);

        if (j == (size_t) -1) {
            return -1;
        }

        if (j != 0) {
            if (n == max) {
                return -1;
            }

            spans[n].start = (uint32_t) i;
            spans[n].len = (uint32_t) (j - i);
            n++;

            i = j;
            continue;
        }

        if (c == '\'') {
            /* E'', B'', X'', N'', U&'', and 'a'b: left to the parser */

            if (hoop_sql_ident_char(prev) || prev == '&' || prev == '"') {
                return -1;
            }

            j = hoop_sql_string_end(sql, i, len);

            if (j == 0 || n == max) {
                return -1;
            }

            spans[n].start = (uint32_t) i;
            spans[n].len = (uint32_t) (j - i);
            n++;

            last = c;
            i = j;
            continue;
        }

        if (c == '"') {
            /* a quoted identifier, "" inside; U&"" is left to the parser */

            if (prev == '&') {
                return -1;
            }

            for (j = i + 1; j < len; j++) {
                if (sql[j] == '"') {
                    if (j + 1 < len && sql[j + 1] == '"') {
                        j++;
                        continue;
                    }

                    break;
                }
            }

            if (j >= len) {
                return -1;
            }

            last = c;
            i = j + 1;
            continue;
        }

        if (c == '$') {
            /* a parameter; a dollar quote is left to the parser */

            param = 0;

            for (j = i + 1; j < len && hoop_sql_digit(sql[j]); j++) {
                param = param * 10 + (sql[j] - '0');

                if (param > 65535) {
                    return -1;
                }
            }

            if (j == i + 1 || (j < len && hoop_sql_ident_char(sql[j]))) {
                return -1;
            }

            if (param > highest) {
                highest = param;
            }

            last = '0';
            i = j;
            continue;
        }

        if (c == '.' && i + 1 < len && sql[i + 1] == '.') {
            /* "..", one token, so "..4" is not "." and ".4" */

            last = c;
            i += 2;
            continue;
        }

        if (hoop_sql_digit(c)
            || (c == '.' && i + 1 < len && hoop_sql_digit(sql[i + 1])))
        {
            /* "- 5" may be one constant, "-5", to the grammar */

            if (last == '-') {
                return -1;
            }

            j = hoop_sql_number_end(sql, i, len);

            if (j == 0 || n == max) {
                return -1;
            }

            spans[n].start = (uint32_t) i;
            spans[n].len = (uint32_t) (j - i);
            n++;

            last = '0';
            i = j;
            continue;
        }

        if (hoop_sql_ident_start(c)) {
            /* keywords and names, digits and $ included after the first */

            for (j = i + 1; j < len && hoop_sql_ident_char(sql[j]); j++) {
                /* void */
            }

            last = 'a';
            i = j;
            continue;
        }

        if (c < 0x20 || c == 0x7f || c == '\\') {
            return -1;
        }

        /* operators and punctuation: comments were seen */

        last = c;
        i++;
    }

    if (params != NULL) {
        *params = (int) highest;
    }

    return n;
}


char
hoop_sql_span_mark(const char *sql, const hoop_sql_span_t *span)
{
    switch (sql[span->start]) {

    case '\'':
        return HOOP_SQL_STRING_MARK;

    case '-':
    case '/':
        return HOOP_SQL_COMMENT_MARK;

    default:
        return hoop_sql_int4(sql + span->start, span->len)
               ? HOOP_SQL_NUMBER_MARK : HOOP_SQL_FLOAT_MARK;
    }
}


/*
 * Digits that PostgreSQL's scanner reads as an int4 constant (ICONST);
 * anything else, 1.5 or 3000000000, is a numeric one (FCONST), which the
 * grammar takes elsewhere: ORDER BY 1 is a position, kept by the
 * normalizer, ORDER BY 1.5 a value, replaced.
 */
static int
hoop_sql_int4(const char *p, size_t len)
{
    size_t    i;
    uint64_t  v;

    v = 0;

    for (i = 0; i < len; i++) {
        if (!hoop_sql_digit((unsigned char) p[i])) {
            return 0;
        }

        v = v * 10 + (uint64_t) (p[i] - '0');

        if (v > 2147483647) {
            return 0;
        }
    }

    return 1;
}


size_t
hoop_sql_shape_pos(const hoop_sql_span_t *spans, int n, size_t pos)
{
    int     i;
    size_t  shrink;

    shrink = 0;

    for (i = 0; i < n && spans[i].start + spans[i].len <= pos; i++) {
        shrink += spans[i].len - 1;
    }

    return pos - shrink;
}


size_t
hoop_sql_text_pos(const hoop_sql_span_t *spans, int n, size_t pos)
{
    int     i;
    size_t  grow;

    grow = 0;

    /* span i stands at spans[i].start - grow in the shape */

    for (i = 0; i < n && spans[i].start - grow < pos; i++) {
        grow += spans[i].len - 1;
    }

    return pos + grow;
}


int
hoop_sql_in_span(const hoop_sql_span_t *spans, int n, size_t pos)
{
    int  i;

    for (i = 0; i < n; i++) {
        if (spans[i].start < pos && pos < spans[i].start + spans[i].len) {
            return 1;
        }
    }

    return 0;
}


size_t
hoop_sql_shape(const char *sql, size_t len, const hoop_sql_span_t *spans,
    int n, char *out, size_t cap)
{
    int     i;
    size_t  from, o, seg;

    from = 0;
    o = 0;

    for (i = 0; i <= n; i++) {
        seg = (i < n ? spans[i].start : len) - from;

        if (o + seg + 1 > cap) {
            return 0;
        }

        memcpy(out + o, sql + from, seg);
        o += seg;

        if (i < n) {
            out[o++] = hoop_sql_span_mark(sql, &spans[i]);
            from = spans[i].start + spans[i].len;
        }
    }

    return o;
}


int
hoop_sql_literal_ids(const char *sql, size_t len,
    const hoop_sql_span_t *spans, int n, const char *normalized,
    size_t nlen, int *ids)
{
    int     i;
    long    k;
    size_t  from, p, seg, q;

    from = 0;
    p = 0;

    for (i = 0; i <= n; i++) {
        /* the text before the literal (or the end): the same in both */

        seg = (i < n ? spans[i].start : len) - from;

        if (p + seg > nlen || memcmp(normalized + p, sql + from, seg) != 0) {
            return -1;
        }

        p += seg;

        if (i == n) {
            break;
        }

        from = spans[i].start + spans[i].len;

        /* $k in its place, or the literal as it is (never starting "$") */

        if (hoop_sql_span_mark(sql, &spans[i]) != HOOP_SQL_COMMENT_MARK
            && p + 1 < nlen && normalized[p] == '$'
            && hoop_sql_digit(normalized[p + 1]))
        {
            k = 0;

            for (q = p + 1; q < nlen && hoop_sql_digit(normalized[q]); q++) {
                k = k * 10 + (normalized[q] - '0');

                if (k > 65535) {
                    return -1;
                }
            }

            ids[i] = (int) k;
            p = q;
            continue;
        }

        if (p + spans[i].len > nlen
            || memcmp(normalized + p, sql + spans[i].start, spans[i].len)
               != 0)
        {
            return -1;
        }

        ids[i] = hoop_sql_span_mark(sql, &spans[i]) == HOOP_SQL_COMMENT_MARK
                 ? HOOP_SQL_COMMENT_ID : 0;
        p += spans[i].len;
    }

    return p == nlen ? 0 : -1;
}


size_t
hoop_sql_literal_normalize(const char *sql, size_t len,
    const hoop_sql_span_t *spans, int n, const int *ids, char *out,
    size_t cap)
{
    int     i, k;
    char    param[16], *p;
    size_t  from, o, seg, w;

    from = 0;
    o = 0;

    for (i = 0; i <= n; i++) {
        seg = (i < n ? spans[i].start : len) - from;

        if (o + seg > cap) {
            return 0;
        }

        memcpy(out + o, sql + from, seg);
        o += seg;

        if (i == n) {
            break;
        }

        from = spans[i].start + spans[i].len;

        if (ids[i] <= 0) {
            if (o + spans[i].len > cap) {
                return 0;
            }

            memcpy(out + o, sql + spans[i].start, spans[i].len);
            o += spans[i].len;
            continue;
        }

        /* "$k", its digits from the right */

        p = param + sizeof(param);
        k = ids[i];

        do {
            *--p = (char) ('0' + k % 10);
            k /= 10;
        } while (k);

        *--p = '$';
        w = (size_t) (param + sizeof(param) - p);

        if (o + w > cap) {
            return 0;
        }

        memcpy(out + o, p, w);
        o += w;
    }

    return o;
}


/* [A-Za-z_] and every byte of a multibyte character, as scan.l has it */
static int
hoop_sql_ident_start(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'
           || c >= 0x80;
}


static int
hoop_sql_ident_char(unsigned char c)
{
    return hoop_sql_ident_start(c) || hoop_sql_digit(c) || c == '$';
}


static int
hoop_sql_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}


static int
hoop_sql_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}


/*
 * The end of the comment at i, 0 when none starts there, (size_t) -1
 * for a block comment never closed.  "--" runs to the end of the line;
 * block comments nest, as scan.l's xc state has them: inside one, a
 * slash and a star open another, a star and a slash close the innermost.
 */
static size_t
hoop_sql_comment_end(const char *sql, size_t i, size_t len)
{
    size_t  depth;

    if (i + 1 >= len) {
        return 0;
    }

    if (sql[i] == '-' && sql[i + 1] == '-') {
        while (i < len && sql[i] != '\n' && sql[i] != '\r') {
            i++;
        }

        return i;
    }

    if (sql[i] != '/' || sql[i + 1] != '*') {
        return 0;
    }

    depth = 1;
    i += 2;

    while (i + 1 < len) {
        if (sql[i] == '/' && sql[i + 1] == '*') {
            depth++;
            i += 2;

        } else if (sql[i] == '*' && sql[i + 1] == '/') {
            i += 2;

            if (--depth == 0) {
                return i;
            }

        } else {
            i++;
        }
    }

    return (size_t) -1;
}


/*
 * Past blanks and comments from i: i itself when there are none,
 * (size_t) -1 at a block comment never closed.
 */
static size_t
hoop_sql_skip_blank(const char *sql, size_t i, size_t len)
{
    size_t  j;

    while (i < len) {
        if (hoop_sql_space((unsigned char) sql[i])) {
            i++;
            continue;
        }

        j = hoop_sql_comment_end(sql, i, len);

        if (j == 0 || j == (size_t) -1) {
            return j == 0 ? i : j;
        }

        i = j;
    }

    return i;
}


/*
 * The end of the quoted string at i ('' is a quote inside), or 0: not
 * closed, a backslash in it (its meaning depends on the string's prefix
 * and on standard_conforming_strings), or another string after it, which
 * PostgreSQL joins to it when a newline separates them.
 */
static size_t
hoop_sql_string_end(const char *sql, size_t i, size_t len)
{
    size_t  j, k;

    for (j = i + 1; j < len; j++) {
        if (sql[j] == '\\') {
            return 0;
        }

        if (sql[j] == '\'') {
            if (j + 1 < len && sql[j + 1] == '\'') {
                j++;
                continue;
            }

            break;
        }
    }

    if (j >= len) {
        return 0;
    }

    j++;

    k = hoop_sql_skip_blank(sql, j, len);

    if (k == (size_t) -1 || (k < len && sql[k] == '\'')) {
        return 0;
    }

    return j;
}


/*
 * The end of the number at i: digits, a fraction, an exponent; 0 for
 * what scan.l calls junk or fails ("1..", "1e", "12abc", "1.2.3").
 */
static size_t
hoop_sql_number_end(const char *sql, size_t i, size_t len)
{
    size_t  j;

    for (j = i; j < len && hoop_sql_digit(sql[j]); j++) {
        /* void */
    }

    if (j < len && sql[j] == '.') {
        if (j + 1 < len && sql[j + 1] == '.') {
            return 0;
        }

        for (j++; j < len && hoop_sql_digit(sql[j]); j++) {
            /* void */
        }
    }

    if (j < len && (sql[j] == 'e' || sql[j] == 'E')) {
        j++;

        if (j < len && (sql[j] == '+' || sql[j] == '-')) {
            j++;
        }

        if (j >= len || !hoop_sql_digit(sql[j])) {
            return 0;
        }

        while (j < len && hoop_sql_digit(sql[j])) {
            j++;
        }
    }

    if (j < len && (hoop_sql_ident_char(sql[j]) || sql[j] == '.')) {
        return 0;
    }

    return j;
}
