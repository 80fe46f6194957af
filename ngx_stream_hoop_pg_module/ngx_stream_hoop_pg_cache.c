/*
 * Copyright (C) nginx-hoop authors
 *
 * Classifications remembered per worker: statements that differ only in
 * their values have the same classification, since kinds, commands,
 * tables and functions are never literals.  Parsing a statement into a
 * tree and walking it costs ten times its normalization; agents repeat
 * their statements with other values all the time.
 *
 * Two keys.  A statement whose literals are found without the parser
 * (hoop_sql_literal.c) is remembered by its shape, with which literals
 * pg_query_normalize() replaced by $n and the text of those it kept: a
 * statement of the same shape, with the same kept literals, gets the
 * classification and its normalized text without any parse.  Others are
 * remembered by their normalized text (pg_query_normalize), and get the
 * classification without the walk.
 *
 * Direct-mapped, a fixed number of slots: a new statement takes the slot
 * of whatever was there.  Memory is bounded; no eviction bookkeeping.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_stream.h>

#include "ngx_stream_hoop_pg.h"


#define NGX_STREAM_HOOP_PG_CACHE_SLOTS  1024


typedef struct {
    uint32_t          hash;
    ngx_uint_t        shape;                /* the key is a shape */
    size_t            len;
    u_char           *key;
    ngx_int_t         literals;             /* a shape's */
    int              *ids;                  /* $n per literal, 0: kept */
    uint32_t         *kept_len;             /* a kept literal's length */
    u_char           *kept;                 /* kept literals, in a row */
    size_t            tail;                 /* after the statement (text) */
    hoop_sql_stmt_t  *cls;                  /* the allocation of it all */
} ngx_stream_hoop_pg_cache_slot_t;


static ngx_stream_hoop_pg_cache_slot_t *ngx_stream_hoop_pg_cache_find(
    ngx_uint_t shape, const char *key, size_t len);
static ngx_stream_hoop_pg_cache_slot_t *ngx_stream_hoop_pg_cache_store(
    ngx_uint_t shape, const char *key, size_t len, const hoop_sql_stmt_t *cls,
    size_t tail, ngx_int_t literals, size_t kept);


static ngx_stream_hoop_pg_cache_slot_t  *ngx_stream_hoop_pg_cache;


const hoop_sql_stmt_t *
ngx_stream_hoop_pg_cache_get(const char *text, size_t len, size_t *tail)
{
    ngx_stream_hoop_pg_cache_slot_t  *slot;

    slot = ngx_stream_hoop_pg_cache_find(0, text, len);
    if (slot == NULL) {
        return NULL;
    }

    *tail = slot->tail;

    return slot->cls;
}


void
ngx_stream_hoop_pg_cache_put(const char *text, size_t len,
    const hoop_sql_stmt_t *cls, size_t tail)
{
    (void) ngx_stream_hoop_pg_cache_store(0, text, len, cls, tail, 0, 0);
}


/*
 * The classification of a statement of this shape whose kept literals
 * are sql's (where it starts and ends in the shape's coordinates), and in
 * *ids which of sql's literals become $n.
 */
const hoop_sql_stmt_t *
ngx_stream_hoop_pg_cache_shape_get(const char *shape, size_t len,
    const char *sql, const hoop_sql_span_t *spans, ngx_int_t n,
    const int **ids)
{
    size_t                            off;
    ngx_int_t                         i;
    ngx_stream_hoop_pg_cache_slot_t  *slot;

    slot = ngx_stream_hoop_pg_cache_find(1, shape, len);

    if (slot == NULL || slot->literals != n) {
        return NULL;
    }

    off = 0;

    for (i = 0; i < n; i++) {
        if (slot->ids[i] != 0) {
            continue;
        }

        if (slot->kept_len[i] != spans[i].len
            || ngx_memcmp(slot->kept + off, sql + spans[i].start,
                          spans[i].len)
               != 0)
        {
            return NULL;
        }

        off += spans[i].len;
    }

    *ids = slot->ids;

    return slot->cls;
}


void
ngx_stream_hoop_pg_cache_shape_put(const char *shape, size_t len,
    const char *sql, const hoop_sql_span_t *spans, ngx_int_t n,
    const int *ids, const hoop_sql_stmt_t *cls)
{
    size_t                            kept;
    u_char                           *p;
    ngx_int_t                         i;
    ngx_stream_hoop_pg_cache_slot_t  *slot;

    kept = 0;

    for (i = 0; i < n; i++) {
        if (ids[i] == 0) {
            kept += spans[i].len;
        }
    }

    slot = ngx_stream_hoop_pg_cache_store(1, shape, len, cls, 0, n, kept);
    if (slot == NULL) {
        return;
    }

    p = slot->kept;

    for (i = 0; i < n; i++) {
        slot->ids[i] = ids[i];
        slot->kept_len[i] = ids[i] == 0 ? spans[i].len : 0;

        if (ids[i] == 0) {
            p = ngx_cpymem(p, sql + spans[i].start, spans[i].len);
        }
    }
}


void
ngx_stream_hoop_pg_cache_free(void)
{
    ngx_uint_t  i;

    if (ngx_stream_hoop_pg_cache == NULL) {
        return;
    }

    for (i = 0; i < NGX_STREAM_HOOP_PG_CACHE_SLOTS; i++) {
        if (ngx_stream_hoop_pg_cache[i].key != NULL) {
            ngx_free(ngx_stream_hoop_pg_cache[i].cls);
        }
    }

    ngx_free(ngx_stream_hoop_pg_cache);
    ngx_stream_hoop_pg_cache = NULL;
}


static ngx_stream_hoop_pg_cache_slot_t *
ngx_stream_hoop_pg_cache_find(ngx_uint_t shape, const char *key, size_t len)
{
    uint32_t                          hash;
    ngx_stream_hoop_pg_cache_slot_t  *slot;

    if (ngx_stream_hoop_pg_cache == NULL) {
        return NULL;
    }

    hash = ngx_murmur_hash2((u_char *) key, len);
    slot = &ngx_stream_hoop_pg_cache[hash % NGX_STREAM_HOOP_PG_CACHE_SLOTS];

    if (slot->key == NULL || slot->hash != hash || slot->shape != shape
        || slot->len != len || ngx_memcmp(slot->key, key, len) != 0)
    {
        return NULL;
    }

    return slot;
}


/* a slot for key, its room for literals and kept text not filled in */
static ngx_stream_hoop_pg_cache_slot_t *
ngx_stream_hoop_pg_cache_store(ngx_uint_t shape, const char *key, size_t len,
    const hoop_sql_stmt_t *cls, size_t tail, ngx_int_t literals, size_t kept)
{
    u_char                           *p;
    size_t                            size;
    uint32_t                          hash;
    ngx_stream_hoop_pg_cache_slot_t  *slot;

    /* kept literals count too: a type modifier may be a megabyte */

    if (len + kept > NGX_STREAM_HOOP_PG_CACHE_TEXT) {
        return NULL;
    }

    if (ngx_stream_hoop_pg_cache == NULL) {
        ngx_stream_hoop_pg_cache = ngx_calloc(NGX_STREAM_HOOP_PG_CACHE_SLOTS
                                     * sizeof(ngx_stream_hoop_pg_cache_slot_t),
                                     ngx_cycle->log);
        if (ngx_stream_hoop_pg_cache == NULL) {
            return NULL;
        }
    }

    hash = ngx_murmur_hash2((u_char *) key, len);
    slot = &ngx_stream_hoop_pg_cache[hash % NGX_STREAM_HOOP_PG_CACHE_SLOTS];

    size = sizeof(hoop_sql_stmt_t)
           + literals * (sizeof(int) + sizeof(uint32_t)) + len + kept;

    p = ngx_alloc(size, ngx_cycle->log);
    if (p == NULL) {
        return NULL;
    }

    if (slot->key != NULL) {
        ngx_free(slot->cls);
    }

    slot->cls = (hoop_sql_stmt_t *) p;
    ngx_memcpy(slot->cls, cls, sizeof(hoop_sql_stmt_t));
    p += sizeof(hoop_sql_stmt_t);

    slot->ids = (int *) p;
    p += literals * sizeof(int);

    slot->kept_len = (uint32_t *) p;
    p += literals * sizeof(uint32_t);

    slot->key = p;
    p = ngx_cpymem(p, key, len);

    slot->kept = p;

    slot->hash = hash;
    slot->shape = shape;
    slot->len = len;
    slot->literals = literals;
    slot->tail = tail;

    return slot;
}
