/*
 * Copyright (C) nginx-hoop authors
 *
 * PostgreSQL's own scanner, as the reference the literal finder
 * (hoop_sql_literal.c) is checked against: the tokens pg_query_scan()
 * returns, read from its protobuf output by hand (the protobuf-c headers
 * are not installed with libpg_query):
 *
 *     message ScanResult { int32 version = 1; repeated ScanToken tokens = 2; }
 *     message ScanToken  { int32 start = 1; int32 end = 2; Token token = 4;
 *                          KeywordKind keyword_kind = 5; }
 */

#ifndef HOOP_PG_SCAN_H
#define HOOP_PG_SCAN_H

#include <stdint.h>
#include <pg_query.h>


/* Token numbers of pg_query.proto's enum Token: the literal constants */
#define PG_SCAN_FCONST   260
#define PG_SCAN_SCONST   261
#define PG_SCAN_USCONST  262
#define PG_SCAN_BCONST   263
#define PG_SCAN_XCONST   264
#define PG_SCAN_ICONST   266
#define PG_SCAN_PARAM    267

/* and the comments, which the parser skips but the scanner reports */
#define PG_SCAN_SQL_COMMENT  275
#define PG_SCAN_C_COMMENT    276


typedef struct {
    int  start;
    int  end;
    int  token;
} pg_scan_token_t;


static int
pg_scan_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    int  shift;

    *v = 0;

    for (shift = 0; *p < end && shift < 64; shift += 7) {
        *v |= (uint64_t) (**p & 0x7f) << shift;

        if ((*(*p)++ & 0x80) == 0) {
            return 0;
        }
    }

    return -1;
}


/* length-delimited fields are skipped over or entered; others read */
static int
pg_scan_field(const uint8_t **p, const uint8_t *end, int *field, int *wire,
    uint64_t *v)
{
    uint64_t  key;

    if (pg_scan_varint(p, end, &key) != 0) {
        return -1;
    }

    *field = (int) (key >> 3);
    *wire = (int) (key & 7);

    if (*wire == 0 || *wire == 2) {
        return pg_scan_varint(p, end, v);
    }

    return -1;
}


static int
pg_scan_token(const uint8_t *p, const uint8_t *end, pg_scan_token_t *t)
{
    int       field, wire;
    uint64_t  v;

    t->start = 0;
    t->end = 0;
    t->token = 0;

    while (p < end) {
        if (pg_scan_field(&p, end, &field, &wire, &v) != 0 || wire != 0) {
            return -1;
        }

        if (field == 1) {
            t->start = (int) v;

        } else if (field == 2) {
            t->end = (int) v;

        } else if (field == 4) {
            t->token = (int) v;
        }
    }

    return 0;
}


/* The tokens of sql into out[] (at most max): their number, -1 on error */
static int
pg_scan_tokens(const char *sql, pg_scan_token_t *out, int max)
{
    int                n, field, wire;
    uint64_t           v;
    const uint8_t     *p, *end;
    PgQueryScanResult  r;

    r = pg_query_scan(sql);

    if (r.error != NULL) {
        pg_query_free_scan_result(r);
        return -1;
    }

    p = (const uint8_t *) r.pbuf.data;
    end = p + r.pbuf.len;
    n = 0;

    while (p < end) {
        if (pg_scan_field(&p, end, &field, &wire, &v) != 0) {
            n = -1;
            break;
        }

        if (wire != 2) {
            continue;
        }

        if (v > (uint64_t) (end - p)) {
            n = -1;
            break;
        }

        if (field == 2 && n < max
            && pg_scan_token(p, p + v, &out[n]) == 0)
        {
            n++;
        }

        p += v;
    }

    pg_query_free_scan_result(r);

    return n;
}


static int
pg_scan_is_literal(int token)
{
    return token == PG_SCAN_FCONST || token == PG_SCAN_SCONST
           || token == PG_SCAN_USCONST || token == PG_SCAN_BCONST
           || token == PG_SCAN_XCONST || token == PG_SCAN_ICONST;
}


static int
pg_scan_is_comment(int token)
{
    return token == PG_SCAN_SQL_COMMENT || token == PG_SCAN_C_COMMENT;
}

#endif /* HOOP_PG_SCAN_H */
