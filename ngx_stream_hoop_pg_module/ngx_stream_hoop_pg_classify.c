/*
 * Copyright (C) nginx-hoop authors
 *
 * Every statement classified: parsed by the PostgreSQL parser
 * (hoop_sql.c), its references resolved against the session's catalog
 * (hoop_sql_catalog.c).
 *
 * Parses are remembered per worker: statements that differ only in
 * their values have the same parse, since kinds, commands, tables and
 * the names the catalog resolves are never literals (a statement whose
 * kind depends on a value, SET and set_config(), is never remembered).
 * Parsing a statement into a tree and walking it costs ten times its
 * normalization; agents repeat their statements with other values all
 * the time.  What is remembered is independent of the catalog: each
 * statement is resolved against its own session's, a few lookups.
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
#include "hoop_sql_redact.h"


#define NGX_STREAM_HOOP_PG_CACHE_SLOTS  1024

/* more literals than this: not by shape */
#define NGX_STREAM_HOOP_PG_LITERALS     128


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
    u_char           *refs;                 /* its references' names */
    size_t            refs_len;
    ngx_uint_t        refs_truncated;
    hoop_sql_stmt_t  *cls;                  /* the allocation of it all */
} ngx_stream_hoop_pg_cache_slot_t;


static int ngx_stream_hoop_pg_classify_text(const char *text,
    hoop_sql_stmt_t *cls, hoop_sql_refs_t *refs, size_t max, char *error,
    size_t error_len, char **normalized, ngx_log_t *log);
static const hoop_sql_stmt_t *ngx_stream_hoop_pg_cache_get(const char *text,
    size_t len, size_t *tail, hoop_sql_refs_t *refs);
static void ngx_stream_hoop_pg_cache_put(const char *text, size_t len,
    const hoop_sql_stmt_t *cls, const hoop_sql_refs_t *refs, size_t tail);
static const hoop_sql_stmt_t *ngx_stream_hoop_pg_cache_shape_get(
    const char *shape, size_t len, const char *sql,
    const hoop_sql_span_t *spans, ngx_int_t n, const int **ids,
    hoop_sql_refs_t *refs);
static void ngx_stream_hoop_pg_cache_shape_put(const char *shape, size_t len,
    const char *sql, const hoop_sql_span_t *spans, ngx_int_t n,
    const int *ids, const hoop_sql_stmt_t *cls, const hoop_sql_refs_t *refs);
static ngx_stream_hoop_pg_cache_slot_t *ngx_stream_hoop_pg_cache_find(
    ngx_uint_t shape, const char *key, size_t len);
static ngx_stream_hoop_pg_cache_slot_t *ngx_stream_hoop_pg_cache_store(
    ngx_uint_t shape, const char *key, size_t len, const hoop_sql_stmt_t *cls,
    const hoop_sql_refs_t *refs, size_t tail, ngx_int_t literals,
    size_t kept);
static void ngx_stream_hoop_pg_cache_refs(
    const ngx_stream_hoop_pg_cache_slot_t *slot, hoop_sql_refs_t *refs);


static ngx_stream_hoop_pg_cache_slot_t  *ngx_stream_hoop_pg_cache;


/*
 * Classifies text: the statements into cls[] (their number; -1 when
 * memory ran out), each resolved against the session's catalog (an
 * EXECUTE: as what it runs), and
 * *normalized the text with literals as $n (ngx_alloc'd, NULL when the
 * parser refused it), for the caller to free.
 */
int
ngx_stream_hoop_pg_classify(ngx_stream_session_t *s, const char *text,
    hoop_sql_stmt_t *cls, size_t max, char *error, size_t error_len,
    char **normalized)
{
    int                        i, n, type;
    size_t                     pos;
    ngx_str_t                  one;
    const char                *schema, *name;
    hoop_sql_refs_t            refs[NGX_STREAM_HOOP_PG_STMTS];
    ngx_stream_hoop_pg_ctx_t  *ctx;

    ctx = ngx_stream_get_module_ctx(s, ngx_stream_hoop_pg_module);

    max = ngx_min(max, NGX_STREAM_HOOP_PG_STMTS);

    n = ngx_stream_hoop_pg_classify_text(text, cls, refs, max, error,
                                         error_len, normalized,
                                         s->connection->log);

    for (i = 0; i < n && i < (int) max; i++) {
        if (ctx->catalog != NULL) {
            hoop_sql_resolve(&cls[i], &refs[i], ctx->catalog);
        }

        /* EXECUTE: what it runs */

        if (cls[i].executes) {
            ngx_stream_hoop_pg_named_execute(s, cls, i);
        }

        /* SET search_path: where bare names may be from now on */

        pos = 0;

        while ((type = hoop_sql_ref_next(&refs[i], &pos, &schema, &name))
               != 0)
        {
            if (type != HOOP_SQL_REF_SCHEMA) {
                continue;
            }

            one.data = (u_char *) name;
            one.len = ngx_strlen(name);

            if (ngx_stream_hoop_pg_schema_add(s, &one) != NGX_OK) {
                return -1;
            }
        }
    }

    return n;
}


/*
 * The statements of text as the parser reads them, with their references
 * (not resolved).
 *
 * A single statement is looked up first by its shape, which needs no
 * parse at all when its literals are found without the parser; else by
 * its normalized text, which needs pg_query_normalize() but not the walk.
 */
static int
ngx_stream_hoop_pg_classify_text(const char *text, hoop_sql_stmt_t *cls,
    hoop_sql_refs_t *refs, size_t max, char *error, size_t error_len,
    char **normalized, ngx_log_t *log)
{
    int                     n, lit;
    int                     ids[NGX_STREAM_HOOP_PG_LITERALS];
    char                    shape[NGX_STREAM_HOOP_PG_CACHE_TEXT];
    size_t                  len, slen, nlen, tail, start, end;
    const int              *known;
    hoop_sql_span_t         spans[NGX_STREAM_HOOP_PG_LITERALS];
    hoop_sql_stmt_t         where;
    const hoop_sql_stmt_t  *hit;

    *normalized = NULL;

    len = ngx_strlen(text);
    slen = 0;

    /* a text longer than a cached shape can be is not scanned for one */

    lit = len <= sizeof(shape)
          ? hoop_sql_literals(text, len, spans, NGX_STREAM_HOOP_PG_LITERALS,
                              NULL)
          : -1;

    if (lit >= 0) {
        slen = hoop_sql_shape(text, len, spans, lit, shape, sizeof(shape));
    }

    if (slen) {
        hit = ngx_stream_hoop_pg_cache_shape_get(shape, slen, text, spans,
                                                 lit, &known, &refs[0]);

        /* where the statement is, in this text's own coordinates */

        if (hit != NULL) {
            start = hoop_sql_text_pos(spans, lit, hit->offset);
            end = hoop_sql_text_pos(spans, lit, hit->offset + hit->length);

            if (start > end || end > len) {
                hit = NULL;             /* never, for one shape: a miss */
            }
        }

        if (hit != NULL) {
            /* $n is at most 6 bytes longer than the literal it replaces */

            *normalized = ngx_alloc(len + 6 * lit + 1, log);
            if (*normalized == NULL) {
                return -1;
            }

            nlen = hoop_sql_literal_normalize(text, len, spans, lit, known,
                                              *normalized, len + 6 * lit);
            (*normalized)[nlen] = '\0';

            cls[0] = *hit;
            cls[0].offset = start;
            cls[0].length = end - start;

            return 1;
        }
    }

    *normalized = ngx_stream_hoop_pg_normalize(text, &nlen, log);

    if (*normalized == NULL && nlen) {
        return -1;
    }

    if (nlen) {
        hit = ngx_stream_hoop_pg_cache_get(*normalized, nlen, &tail,
                                           &refs[0]);

        if (hit != NULL && hit->offset + tail <= len) {
            cls[0] = *hit;
            cls[0].length = len - hit->offset - tail;
            return 1;
        }
    }

    n = hoop_sql_classify_refs(text, cls, refs, max, error, error_len);

    /* a statement whose kind depends on a value: not by shape */

    if (n != 1 || !nlen || cls[0].kind == HOOP_SQL_UNKNOWN
        || cls[0].by_value)
    {
        return n;
    }

    /*
     * by shape when the normalizer replaced only literals found here,
     * with where the statement starts and ends in the shape's
     * coordinates (comments before or after it are of any length); else
     * (TRUE, NULL, a folded minus sign) by the normalized text, in which
     * all that precedes and follows the statement is the same
     */

    end = cls[0].offset + cls[0].length;

    if (slen
        && !hoop_sql_in_span(spans, lit, cls[0].offset)
        && !hoop_sql_in_span(spans, lit, end)
        && hoop_sql_literal_ids(text, len, spans, lit, *normalized, nlen, ids)
           == 0)
    {
        where = cls[0];
        where.offset = hoop_sql_shape_pos(spans, lit, cls[0].offset);
        where.length = hoop_sql_shape_pos(spans, lit, end) - where.offset;

        ngx_stream_hoop_pg_cache_shape_put(shape, slen, text, spans, lit, ids,
                                           &where, &refs[0]);

    } else {
        ngx_stream_hoop_pg_cache_put(*normalized, nlen, &cls[0], &refs[0],
                                     len - end);
    }

    return n;
}


/*
 * text normalized (ngx_alloc'd, *len its length); NULL with *len 0 when
 * the parser refuses it, NULL with *len > 0 when memory ran out.
 */
char *
ngx_stream_hoop_pg_normalize(const char *text, size_t *len, ngx_log_t *log)
{
    long    n;
    char   *out;
    size_t  size;

    *len = 0;

    /* literals become $n: rarely longer than twice the text */

    size = 2 * ngx_strlen(text) + 64;

    for ( ;; ) {
        out = ngx_alloc(size, log);
        if (out == NULL) {
            *len = 1;
            return NULL;
        }

        n = hoop_sql_normalize(text, out, size);

        if (n < 0) {
            ngx_free(out);
            return NULL;
        }

        if ((size_t) n < size) {
            *len = (size_t) n;
            return out;
        }

        ngx_free(out);
        size = (size_t) n + 1;
    }
}


static const hoop_sql_stmt_t *
ngx_stream_hoop_pg_cache_get(const char *text, size_t len, size_t *tail,
    hoop_sql_refs_t *refs)
{
    ngx_stream_hoop_pg_cache_slot_t  *slot;

    slot = ngx_stream_hoop_pg_cache_find(0, text, len);
    if (slot == NULL) {
        return NULL;
    }

    *tail = slot->tail;
    ngx_stream_hoop_pg_cache_refs(slot, refs);

    return slot->cls;
}


static void
ngx_stream_hoop_pg_cache_put(const char *text, size_t len,
    const hoop_sql_stmt_t *cls, const hoop_sql_refs_t *refs, size_t tail)
{
    (void) ngx_stream_hoop_pg_cache_store(0, text, len, cls, refs, tail, 0,
                                          0);
}


/* a slot's references, back into a reference list */
static void
ngx_stream_hoop_pg_cache_refs(const ngx_stream_hoop_pg_cache_slot_t *slot,
    hoop_sql_refs_t *refs)
{
    ngx_memcpy(refs->names, slot->refs, slot->refs_len + 1);
    refs->len = slot->refs_len;
    refs->truncated = slot->refs_truncated;
}


/*
 * The classification of a statement of this shape whose kept literals
 * are sql's (where it starts and ends in the shape's coordinates), and in
 * *ids which of sql's literals become $n.
 */
static const hoop_sql_stmt_t *
ngx_stream_hoop_pg_cache_shape_get(const char *shape, size_t len,
    const char *sql, const hoop_sql_span_t *spans, ngx_int_t n,
    const int **ids, hoop_sql_refs_t *refs)
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
    ngx_stream_hoop_pg_cache_refs(slot, refs);

    return slot->cls;
}


static void
ngx_stream_hoop_pg_cache_shape_put(const char *shape, size_t len,
    const char *sql, const hoop_sql_span_t *spans, ngx_int_t n,
    const int *ids, const hoop_sql_stmt_t *cls, const hoop_sql_refs_t *refs)
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

    slot = ngx_stream_hoop_pg_cache_store(1, shape, len, cls, refs, 0, n,
                                          kept);
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
    const hoop_sql_stmt_t *cls, const hoop_sql_refs_t *refs, size_t tail,
    ngx_int_t literals, size_t kept)
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
           + literals * (sizeof(int) + sizeof(uint32_t)) + refs->len + 1
           + len + kept;

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

    slot->refs = p;
    slot->refs_len = refs->len;
    slot->refs_truncated = refs->truncated;
    p = ngx_cpymem(p, refs->names, refs->len);
    *p++ = '\0';

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


/*
 * A normalized text with what the normalizer left redacted too
 * (hoop_sql_redact()): ngx_alloc'd, *len its length; NULL with *len 0 when
 * it cannot be scanned, NULL with *len > 0 when memory ran out.
 */
char *
ngx_stream_hoop_pg_redact(const char *text, ngx_uint_t numbers, size_t *len,
    ngx_log_t *log)
{
    long    n;
    char   *out;
    size_t  size;

    *len = 0;
    size = ngx_strlen(text) + 64;

    for ( ;; ) {
        out = ngx_alloc(size, log);
        if (out == NULL) {
            *len = 1;
            return NULL;
        }

        n = hoop_sql_redact(text, (int) numbers, out, size);

        if (n < 0) {
            ngx_free(out);
            return NULL;
        }

        if ((size_t) n < size) {
            *len = (size_t) n;
            return out;
        }

        ngx_free(out);
        size = (size_t) n + 1;
    }
}
