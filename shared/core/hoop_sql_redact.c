/*
 * Copyright (C) nginx-hoop authors
 *
 * pg_query_scan() returns its tokens as a protobuf ScanResult:
 *
 *     message ScanResult { int32 version = 1; repeated ScanToken tokens = 2; }
 *     message ScanToken  { int32 start = 1; int32 end = 2;
 *                          Token token = 4; KeywordKind keyword_kind = 5; }
 *
 * read here with a few lines of wire format rather than with protobuf-c
 * (its headers are not packaged with libpg_query).  The fast scanner of
 * hoop_sql_literal.c is tried first: it is exact for what it accepts,
 * and it accepts most statements.
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pg_query.h>

#include "hoop_sql_redact.h"


/* pg_query.proto's Token values */
#define HOOP_SQL_TOKEN_FCONST   260
#define HOOP_SQL_TOKEN_SCONST   261
#define HOOP_SQL_TOKEN_USCONST  262
#define HOOP_SQL_TOKEN_BCONST   263
#define HOOP_SQL_TOKEN_XCONST   264
#define HOOP_SQL_TOKEN_ICONST   266
#define HOOP_SQL_TOKEN_PARAM    267

#define HOOP_SQL_REDACT_SPANS   1024


static int hoop_sql_varint(const unsigned char **p, const unsigned char *end,
    uint64_t *v);
static int hoop_sql_skip_field(const unsigned char **p,
    const unsigned char *end, unsigned wire);
static size_t hoop_sql_continued(const char *sql, size_t len, size_t i);
static size_t hoop_sql_quoted_end(const char *sql, size_t len,
    size_t start);
static int hoop_sql_scan_token(const unsigned char *p, const unsigned char *end,
    uint64_t *start, uint64_t *stop, uint64_t *token);


/* statements pg_query_normalize() walks whole */
static const char  *hoop_sql_normalized_commands[] = {
    "select", "insert", "update", "delete", "merge", "explain",
    "declare cursor", "copy", "set", "show", "do", NULL
};


int
hoop_sql_scan_literals(const char *sql, hoop_sql_span_t *spans, int max,
    int *params)
{
    int                   n;
    long                  v;
    size_t                len;
    uint64_t              key, flen, start, stop, token;
    PgQueryScanResult     r;
    const unsigned char  *p, *end, *field;

    r = pg_query_scan(sql);

    if (r.error != NULL) {
        pg_query_free_scan_result(r);
        return -1;
    }

    p = (const unsigned char *) r.pbuf.data;
    end = p + r.pbuf.len;
    len = strlen(sql);
    n = 0;
    *params = 0;

    while (p < end) {
        if (hoop_sql_varint(&p, end, &key) != 0) {
            goto failed;
        }

        if (key != ((2 << 3) | 2)) {
            if (hoop_sql_skip_field(&p, end, (unsigned) (key & 7)) != 0) {
                goto failed;
            }

            continue;
        }

        /* a ScanToken */

        if (hoop_sql_varint(&p, end, &flen) != 0
            || flen > (uint64_t) (end - p))
        {
            goto failed;
        }

        field = p;
        p += flen;

        if (hoop_sql_scan_token(field, p, &start, &stop, &token) != 0
            || start > stop || stop > len)
        {
            goto failed;
        }

        if (token == HOOP_SQL_TOKEN_PARAM) {
            if (stop - start > 1 && stop - start < 10) {
                v = strtol(sql + start + 1, NULL, 10);
                *params = (v > *params) ? (int) v : *params;
            }

            continue;
        }

        if (token != HOOP_SQL_TOKEN_SCONST && token != HOOP_SQL_TOKEN_USCONST
            && token != HOOP_SQL_TOKEN_BCONST && token != HOOP_SQL_TOKEN_XCONST
            && token != HOOP_SQL_TOKEN_ICONST && token != HOOP_SQL_TOKEN_FCONST)
        {
            continue;
        }

        /* libpg_query gives a U&'' string no length: it is found here */

        if (token == HOOP_SQL_TOKEN_USCONST && stop == start) {
            stop = hoop_sql_quoted_end(sql, len, start);

            if (stop == 0) {
                goto failed;
            }
        }

        if (n == max) {
            goto failed;
        }

        spans[n].start = (uint32_t) start;
        spans[n].len = (uint32_t) (stop - start);
        n++;
    }

    pg_query_free_scan_result(r);

    return n;

failed:

    pg_query_free_scan_result(r);

    return -1;
}


int
hoop_sql_normalized_command(const char *command)
{
    size_t  i;

    for (i = 0; hoop_sql_normalized_commands[i]; i++) {
        if (strcmp(command, hoop_sql_normalized_commands[i]) == 0) {
            return 1;
        }
    }

    return 0;
}


long
hoop_sql_redact(const char *text, int numbers, char *out, size_t cap)
{
    int              i, n, params, replace;
    char             param[16];
    size_t           len, pos, o, plen;
    hoop_sql_span_t  spans[HOOP_SQL_REDACT_SPANS];

    len = strlen(text);
    params = 0;

    /* the fast scanner first; what it leaves to the parser, the parser's */

    n = hoop_sql_literals(text, len, spans, HOOP_SQL_REDACT_SPANS, &params);

    if (n < 0) {
        n = hoop_sql_scan_literals(text, spans, HOOP_SQL_REDACT_SPANS,
                                   &params);
        if (n < 0) {
            return -1;
        }
    }

    pos = 0;
    o = 0;

    for (i = 0; i < n; i++) {
        switch (hoop_sql_span_mark(text, &spans[i])) {

        case HOOP_SQL_COMMENT_MARK:
            replace = 0;
            break;

        case HOOP_SQL_STRING_MARK:
            replace = 1;
            break;

        default:
            /* a number, or a prefixed string (E'', B'', U&'', $$..$$) */
            replace = numbers
                      || !((text[spans[i].start] >= '0'
                            && text[spans[i].start] <= '9')
                           || text[spans[i].start] == '.');
        }

        if (!replace) {
            continue;
        }

        /* a string continued: what was replaced already is not again */

        if (spans[i].start < pos) {
            if (spans[i].start + spans[i].len <= pos) {
                continue;
            }

            spans[i].len -= (uint32_t) (pos - spans[i].start);
            spans[i].start = (uint32_t) pos;
        }

        plen = (size_t) snprintf(param, sizeof(param), "$%d", ++params);

        if (o + (spans[i].start - pos) + plen < cap) {
            memcpy(out + o, text + pos, spans[i].start - pos);
            memcpy(out + o + (spans[i].start - pos), param, plen);
        }

        o += (spans[i].start - pos) + plen;
        pos = spans[i].start + spans[i].len;
    }

    if (o + (len - pos) < cap) {
        memcpy(out + o, text + pos, len - pos);
        out[o + (len - pos)] = '\0';
    }

    return (long) (o + (len - pos));
}


/*
 * Where U&'...' ends ('' is a quote inside it); 0: it does not.  As in
 * PostgreSQL's scanner, a quote after blanks holding a newline (and
 * comments) continues the string: 'a'<newline>'b' is 'ab'.
 */
static size_t
hoop_sql_quoted_end(const char *sql, size_t len, size_t start)
{
    size_t  i, next;

    i = start;

    while (i < len && sql[i] != '\'') {
        i++;                            /* U& (u&) */
    }

    for (i++; i < len; i++) {
        if (sql[i] != '\'') {
            continue;
        }

        if (i + 1 < len && sql[i + 1] == '\'') {
            i++;
            continue;
        }

        next = hoop_sql_continued(sql, len, i + 1);

        if (next == 0) {
            return i + 1;
        }

        i = next;                       /* the opening quote of the rest */
    }

    return 0;
}


/* the quote continuing a string that ended before i, or 0 */
static size_t
hoop_sql_continued(const char *sql, size_t len, size_t i)
{
    int  newline;

    newline = 0;

    while (i < len) {
        if (sql[i] == '\n' || sql[i] == '\r') {
            newline = 1;
            i++;

        } else if (sql[i] == ' ' || sql[i] == '\t' || sql[i] == '\f'
                   || sql[i] == '\v')
        {
            i++;

        } else if (sql[i] == '-' && i + 1 < len && sql[i + 1] == '-') {
            while (i < len && sql[i] != '\n' && sql[i] != '\r') {
                i++;
            }

        } else {
            break;
        }
    }

    return (newline && i < len && sql[i] == '\'') ? i : 0;
}


/* a protobuf varint */
static int
hoop_sql_varint(const unsigned char **p, const unsigned char *end,
    uint64_t *v)
{
    unsigned  shift;

    *v = 0;

    for (shift = 0; *p < end && shift < 64; shift += 7) {
        *v |= (uint64_t) (**p & 0x7f) << shift;

        if ((*(*p)++ & 0x80) == 0) {
            return 0;
        }
    }

    return -1;
}


static int
hoop_sql_skip_field(const unsigned char **p, const unsigned char *end,
    unsigned wire)
{
    uint64_t  v;

    switch (wire) {

    case 0:
        return hoop_sql_varint(p, end, &v);

    case 1:
        if (end - *p < 8) {
            return -1;
        }

        *p += 8;
        return 0;

    case 2:
        if (hoop_sql_varint(p, end, &v) != 0 || v > (uint64_t) (end - *p)) {
            return -1;
        }

        *p += v;
        return 0;

    case 5:
        if (end - *p < 4) {
            return -1;
        }

        *p += 4;
        return 0;

    default:
        return -1;
    }
}


/* a ScanToken's start, end and token */
static int
hoop_sql_scan_token(const unsigned char *p, const unsigned char *end,
    uint64_t *start, uint64_t *stop, uint64_t *token)
{
    uint64_t  key, v;

    *start = 0;
    *stop = 0;
    *token = 0;

    while (p < end) {
        if (hoop_sql_varint(&p, end, &key) != 0) {
            return -1;
        }

        if ((key & 7) != 0) {
            if (hoop_sql_skip_field(&p, end, (unsigned) (key & 7)) != 0) {
                return -1;
            }

            continue;
        }

        if (hoop_sql_varint(&p, end, &v) != 0) {
            return -1;
        }

        switch (key >> 3) {

        case 1:
            *start = v;
            break;

        case 2:
            *stop = v;
            break;

        case 4:
            *token = v;
            break;

        default:
            break;
        }
    }

    return 0;
}
