/*
 * Copyright (C) nginx-hoop authors
 *
 * Classifications remembered per worker, keyed by the statement's text
 * with its literals replaced by $n (pg_query_normalize): statements that
 * differ only in their values have the same classification, since kinds,
 * commands, tables and functions are never literals.  Parsing a statement
 * into a tree and walking it costs ten times the normalization; agents
 * repeat their statements with other values all the time.
 *
 * Direct-mapped, a fixed number of slots: a new statement takes the slot
 * of whatever was there.  Memory is bounded; no eviction bookkeeping.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_stream.h>

#include "ngx_stream_hoop_pg.h"


#define NGX_STREAM_HOOP_PG_CACHE_SLOTS  1024
#define NGX_STREAM_HOOP_PG_CACHE_TEXT   2048    /* longer: not cached */


typedef struct {
    uint32_t          hash;
    size_t            len;
    u_char           *text;                 /* ngx_alloc'd, with cls */
    hoop_sql_stmt_t  *cls;
} ngx_stream_hoop_pg_cache_slot_t;


static ngx_stream_hoop_pg_cache_slot_t  *ngx_stream_hoop_pg_cache;


const hoop_sql_stmt_t *
ngx_stream_hoop_pg_cache_get(const char *text, size_t len)
{
    uint32_t                          hash;
    ngx_stream_hoop_pg_cache_slot_t  *slot;

    if (ngx_stream_hoop_pg_cache == NULL) {
        return NULL;
    }

    hash = ngx_murmur_hash2((u_char *) text, len);
    slot = &ngx_stream_hoop_pg_cache[hash % NGX_STREAM_HOOP_PG_CACHE_SLOTS];

    if (slot->text == NULL || slot->hash != hash || slot->len != len
        || ngx_memcmp(slot->text, text, len) != 0)
    {
        return NULL;
    }

    return slot->cls;
}


void
ngx_stream_hoop_pg_cache_put(const char *text, size_t len,
    const hoop_sql_stmt_t *cls)
{
    u_char                           *p;
    uint32_t                          hash;
    ngx_stream_hoop_pg_cache_slot_t  *slot;

    if (len > NGX_STREAM_HOOP_PG_CACHE_TEXT) {
        return;
    }

    if (ngx_stream_hoop_pg_cache == NULL) {
        ngx_stream_hoop_pg_cache = ngx_calloc(NGX_STREAM_HOOP_PG_CACHE_SLOTS
                                     * sizeof(ngx_stream_hoop_pg_cache_slot_t),
                                     ngx_cycle->log);
        if (ngx_stream_hoop_pg_cache == NULL) {
            return;
        }
    }

    hash = ngx_murmur_hash2((u_char *) text, len);
    slot = &ngx_stream_hoop_pg_cache[hash % NGX_STREAM_HOOP_PG_CACHE_SLOTS];

    p = ngx_alloc(sizeof(hoop_sql_stmt_t) + len, ngx_cycle->log);
    if (p == NULL) {
        return;
    }

    if (slot->text != NULL) {
        ngx_free(slot->cls);
    }

    slot->cls = (hoop_sql_stmt_t *) p;
    ngx_memcpy(slot->cls, cls, sizeof(hoop_sql_stmt_t));

    slot->text = p + sizeof(hoop_sql_stmt_t);
    ngx_memcpy(slot->text, text, len);

    slot->hash = hash;
    slot->len = len;
}


void
ngx_stream_hoop_pg_cache_free(void)
{
    ngx_uint_t  i;

    if (ngx_stream_hoop_pg_cache == NULL) {
        return;
    }

    for (i = 0; i < NGX_STREAM_HOOP_PG_CACHE_SLOTS; i++) {
        if (ngx_stream_hoop_pg_cache[i].text != NULL) {
            ngx_free(ngx_stream_hoop_pg_cache[i].cls);
        }
    }

    ngx_free(ngx_stream_hoop_pg_cache);
    ngx_stream_hoop_pg_cache = NULL;
}
