/*
 * Copyright (C) nginx-hoop authors
 *
 * The database's catalog, read when a session logs in and before the
 * client may say anything: what statements' names resolve to
 * (hoop_sql_catalog.h), and the masked columns' table OIDs.
 *
 * Reading the whole catalog costs the database tens of milliseconds, so
 * a session first asks for its fingerprint (a couple of milliseconds, more
 * in a backend whose caches are cold): each worker keeps the catalogs it
 * built, by fingerprint and by the hoop_pg_read_safe list they were built
 * with, and sessions of the same database share one.  Only a fingerprint
 * not seen yet (the first session, or one after a CREATE, ALTER, DROP,
 * GRANT or REVOKE of what the catalog holds) reads the rows.  And a
 * session logging in within a second of another of the same server,
 * database and role that asked takes that answer: connection storms
 * (a login per statement) ask once a second.
 *
 *   AuthenticationOk (or the login's ReadyForQuery)
 *      -> Q: schemas; SET LOCAL search_path; [masked columns;] fingerprint
 *      -> (not known) Q: SET LOCAL jit, search_path; the catalog
 *      -> ReadyForQuery to the client
 *
 * The session's search path is read first; the gateway's own queries
 * then run with pg_catalog alone on it, so that no operator or function
 * the session's path could put before the built-in ones answers them.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_stream.h>

#include "ngx_stream_hoop_pg.h"
#include "ngx_hoop_conf_file.h"
#include "hoop_pg_msg.h"
#include "hoop_sql_catalog.h"


/* catalogs no session uses that a worker keeps, at most */
#define NGX_STREAM_HOOP_PG_SNAPSHOTS_IDLE  4

#define NGX_STREAM_HOOP_PG_KEY_LEN         32

/* the schemas a bare name may resolve to, as the session begins */
#define NGX_STREAM_HOOP_PG_SCHEMAS_QUERY                                     \
    "SELECT pg_catalog.array_to_string(pg_catalog.current_schemas(true),"    \
    " ','); "

/* for the gateway's own queries: names resolve to the built-in ones */
#define NGX_STREAM_HOOP_PG_OWN_PATH                                          \
    "SET LOCAL search_path = pg_catalog, pg_temp; "

/* the catalog query is planned as costly: JIT would compile it (a tenth
   of a second) for what runs in a few milliseconds */
#define NGX_STREAM_HOOP_PG_NO_JIT  "SET LOCAL jit = off; "

/* CommandCompletes before the catalog's rows */
#define NGX_STREAM_HOOP_PG_FETCH_ROWS  2


/* a fingerprint this recent is trusted for another session's login */
#define NGX_STREAM_HOOP_PG_RECHECK         1000

#define NGX_STREAM_HOOP_PG_NAME_LEN        64


struct ngx_stream_hoop_pg_snapshot_s {
    ngx_queue_t                  queue;
    u_char                       key[NGX_STREAM_HOOP_PG_KEY_LEN];
    const char                 **read_safe;
    ngx_uint_t                   refs;
    hoop_sql_catalog_t          *cat;

    /* who last saw this fingerprint, and when; its search path then */
    void                        *server;
    ngx_msec_t                   checked;
    size_t                       database_len;
    size_t                       role_len;
    size_t                       schemas_len;
    u_char                       database[NGX_STREAM_HOOP_PG_NAME_LEN];
    u_char                       role[NGX_STREAM_HOOP_PG_NAME_LEN];
    u_char                       schemas[256];
};


static ngx_int_t ngx_stream_hoop_pg_catalog_message_of(ngx_conf_t *cf,
    ngx_str_t *parts, ngx_uint_t n, ngx_str_t *msg);
static ngx_int_t ngx_stream_hoop_pg_catalog_row(ngx_stream_session_t *s,
    u_char *msg, size_t len);
static ngx_int_t ngx_stream_hoop_pg_catalog_schemas(ngx_stream_session_t *s,
    const u_char *list, size_t len);
static ngx_int_t ngx_stream_hoop_pg_catalog_ready(ngx_stream_session_t *s);
static ngx_int_t ngx_stream_hoop_pg_catalog_send(ngx_stream_session_t *s,
    ngx_str_t *query);
static ngx_stream_hoop_pg_snapshot_t *ngx_stream_hoop_pg_snapshot_find(
    u_char *key, const char **read_safe);
static ngx_stream_hoop_pg_snapshot_t *ngx_stream_hoop_pg_snapshot_build(
    ngx_stream_session_t *s);
static void ngx_stream_hoop_pg_snapshot_trim(void);
static ngx_int_t ngx_stream_hoop_pg_catalog_recent(ngx_stream_session_t *s);
static void ngx_stream_hoop_pg_snapshot_seen(ngx_stream_session_t *s,
    ngx_stream_hoop_pg_snapshot_t *snap);
static void ngx_stream_hoop_pg_session_names(ngx_stream_session_t *s,
    ngx_str_t *database, ngx_str_t *role);


static ngx_queue_t  ngx_stream_hoop_pg_snapshots;
static ngx_uint_t   ngx_stream_hoop_pg_snapshots_init;


/*
 * The login queries of a server: the search path, the masked columns'
 * tables (when configured) and the fingerprint, in one Query; and the
 * catalog's, the same for all.
 */
char *
ngx_stream_hoop_pg_catalog_merge(ngx_conf_t *cf,
    ngx_stream_hoop_pg_srv_conf_t *prev, ngx_stream_hoop_pg_srv_conf_t *conf)
{
    ngx_str_t  login[5], fetch[3];

    if (conf->read_safe == NULL) {
        conf->read_safe = prev->read_safe;
    }

    ngx_str_set(&login[0], NGX_STREAM_HOOP_PG_SCHEMAS_QUERY);
    ngx_str_set(&login[1], NGX_STREAM_HOOP_PG_OWN_PATH);
    login[2] = conf->mask_catalog;
    ngx_str_set(&login[3], "; ");
    login[3].len = conf->mask_catalog.len ? login[3].len : 0;
    login[4].data = (u_char *) hoop_sql_catalog_fingerprint_query();
    login[4].len = ngx_strlen(login[4].data);

    ngx_str_set(&fetch[0], NGX_STREAM_HOOP_PG_NO_JIT);
    ngx_str_set(&fetch[1], NGX_STREAM_HOOP_PG_OWN_PATH);
    fetch[2].data = (u_char *) hoop_sql_catalog_query();
    fetch[2].len = ngx_strlen(fetch[2].data);

    if (ngx_stream_hoop_pg_catalog_message_of(cf, login, 5,
                                              &conf->catalog_query)
        != NGX_OK
        || ngx_stream_hoop_pg_catalog_message_of(cf, fetch, 3,
                                                 &conf->catalog_fetch)
           != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* a Query message of the n parts of its text */
static ngx_int_t
ngx_stream_hoop_pg_catalog_message_of(ngx_conf_t *cf, ngx_str_t *parts,
    ngx_uint_t n, ngx_str_t *msg)
{
    u_char      *p;
    size_t       len;
    ngx_uint_t   i;

    len = 5 + 1;

    for (i = 0; i < n; i++) {
        len += parts[i].len;
    }

    p = ngx_pnalloc(cf->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    msg->data = p;
    msg->len = len;

    *p++ = 'Q';
    p = hoop_pg_put32(p, (uint32_t) (len - 1));

    for (i = 0; i < n; i++) {
        if (parts[i].len) {
            p = ngx_cpymem(p, parts[i].data, parts[i].len);
        }
    }

    *p = '\0';

    return NGX_OK;
}


/*
 * The server is ready for the first time: the gateway asks its questions
 * before the client may say anything.  NGX_OK; NGX_DECLINED: nothing to
 * ask (no statement is classified, no column masked).
 */
ngx_int_t
ngx_stream_hoop_pg_catalog_start(ngx_stream_session_t *s)
{
    ngx_stream_hoop_pg_ctx_t       *ctx;
    ngx_stream_hoop_pg_srv_conf_t  *pscf;

    ctx = ngx_stream_get_module_ctx(s, ngx_stream_hoop_pg_module);
    pscf = ngx_stream_get_module_srv_conf(s, ngx_stream_hoop_pg_module);

    /* the policy, the trail's function names, lineage through views */

    ctx->catalog_wanted = (ctx->policy || pscf->audit
                           || (ctx->masking && pscf->mask_catalog.len));

    if (!ctx->catalog_wanted && !(ctx->masking && pscf->mask_catalog.len)) {
        return NGX_DECLINED;
    }

    /* another session's answer of a moment ago: nothing to ask */

    if (!ctx->catalog_sent && ngx_stream_hoop_pg_catalog_recent(s) == NGX_OK)
    {
        return NGX_DECLINED;
    }

    if (ctx->masking && pscf->mask_catalog.len) {
        ctx->mask_attrs = ngx_array_create(s->connection->pool, 8,
                                     sizeof(ngx_stream_hoop_pg_mask_attr_t));
        if (ctx->mask_attrs == NULL) {
            return NGX_ERROR;
        }
    }

    ctx->phase = NGX_STREAM_HOOP_PG_CATALOG;
    ctx->catalog_step = 0;
    ctx->catalog_fetch = 0;

    if (ctx->catalog_sent) {
        return NGX_OK;                  /* asked at AuthenticationOk */
    }

    ctx->catalog_sent = 1;

    return ngx_stream_hoop_pg_catalog_send(s, &pscf->catalog_query);
}


/*
 * AuthenticationOk: the questions go now, and the server answers them
 * right after its ReadyForQuery instead of a round trip later.
 */
ngx_int_t
ngx_stream_hoop_pg_catalog_early(ngx_stream_session_t *s)
{
    ngx_stream_hoop_pg_ctx_t       *ctx;
    ngx_stream_hoop_pg_srv_conf_t  *pscf;

    ctx = ngx_stream_get_module_ctx(s, ngx_stream_hoop_pg_module);
    pscf = ngx_stream_get_module_srv_conf(s, ngx_stream_hoop_pg_module);

    if (ctx->catalog_sent || ctx->pending == NULL
        || (!ctx->policy && !pscf->audit
            && !(ctx->masking && pscf->mask_catalog.len))
        || ngx_stream_hoop_pg_catalog_recent(s) == NGX_OK)
    {
        return NGX_OK;
    }

    ctx->catalog_sent = 1;

    return ngx_stream_hoop_pg_catalog_send(s, &pscf->catalog_query);
}


static ngx_int_t
ngx_stream_hoop_pg_catalog_send(ngx_stream_session_t *s, ngx_str_t *query)
{
    ngx_stream_hoop_pg_ctx_t  *ctx;

    ctx = ngx_stream_get_module_ctx(s, ngx_stream_hoop_pg_module);

    if (ngx_hoop_flow_inject(&ctx->up, s->connection->pool, query->data,
                             query->len)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    /* what is injected is sent with the next write to the upstream */

    ngx_post_event(ctx->peer.connection->write, &ngx_posted_events);

    return NGX_OK;
}


/*
 * The answers: the client sees none of it, only the ReadyForQuery at the
 * end.  NGX_OK (pass), NGX_DECLINED (consumed), NGX_DONE.
 */
ngx_int_t
ngx_stream_hoop_pg_catalog_message(ngx_stream_session_t *s, u_char *msg,
    size_t len)
{
    int                             n;
    ngx_int_t                       step, masks;
    const char                     *text;
    hoop_pg_cell_t                  cell;
    ngx_stream_hoop_pg_ctx_t       *ctx;
    ngx_stream_hoop_pg_srv_conf_t  *pscf;

    ctx = ngx_stream_get_module_ctx(s, ngx_stream_hoop_pg_module);
    pscf = ngx_stream_get_module_srv_conf(s, ngx_stream_hoop_pg_module);

    switch (msg[0]) {

    case 'T':
        return NGX_DECLINED;

    case 'C':
        ctx->catalog_step++;
        return NGX_DECLINED;

    case 'D':
        if (ctx->catalog_fetch) {
            /* the SETs, then the catalog's rows */
            return (ctx->catalog_step == NGX_STREAM_HOOP_PG_FETCH_ROWS)
                   ? ngx_stream_hoop_pg_catalog_row(s, msg, len)
                   : NGX_DECLINED;
        }

        /* the schemas, the SET, the masked columns (if asked), the key */

        masks = (pscf->mask_catalog.len != 0);

        if (masks && ctx->catalog_step == 2) {
            return (ctx->mask_attrs != NULL)
                   ? ngx_stream_hoop_pg_mask_catalog_row(s, msg, len)
                   : NGX_DECLINED;
        }

        if (hoop_pg_datarow(msg, len, &cell, 1) != 1 || cell.data == NULL) {
            return NGX_DECLINED;
        }

        step = ctx->catalog_step;

        if (step == 0) {
            if (ngx_stream_hoop_pg_catalog_schemas(s, cell.data, cell.len)
                != NGX_OK)
            {
                return NGX_ERROR;
            }

        } else if (step == 2 + masks
                   && cell.len == NGX_STREAM_HOOP_PG_KEY_LEN)
        {
            ngx_memcpy(ctx->catalog_key, cell.data,
                       NGX_STREAM_HOOP_PG_KEY_LEN);
            ctx->catalog_keyed = 1;
        }

        return NGX_DECLINED;

    case 'Z':
        return ngx_stream_hoop_pg_catalog_ready(s);

    case 'E':
        n = hoop_pg_error_field(msg + 5, len - 5, 'M', &text);

        ngx_log_error(NGX_LOG_ERR, s->connection->log, 0,
                      "hoop pg: the database's catalog could not be read:"
                      " %*s", n > 0 ? ngx_min(n, 256) : 0, n > 0 ? text : "");

        ngx_stream_hoop_pg_fatal(s, NGX_STREAM_BAD_GATEWAY, "XX000",
                                 "hoop: the gateway could not read this"
                                 " database's catalog, which its policy and"
                                 " masking need", NULL);
        return NGX_DONE;

    default:                    /* notices, parameter changes */
        return NGX_OK;
    }
}


/*
 * The search path as the session begins: the temporary schema (searched
 * first for relations, whether it exists yet or not) and what
 * current_schemas(true) says.
 */
static ngx_int_t
ngx_stream_hoop_pg_catalog_schemas(ngx_stream_session_t *s,
    const u_char *list, size_t len)
{
    u_char     *p, *last, *comma;
    ngx_str_t   one;

    one.data = (u_char *) "pg_temp";
    one.len = sizeof("pg_temp") - 1;

    if (ngx_stream_hoop_pg_schema_add(s, &one) != NGX_OK) {
        return NGX_ERROR;
    }

    p = (u_char *) list;
    last = p + len;

    while (p < last) {
        comma = ngx_strlchr(p, last, ',');
        comma = comma ? comma : last;

        one.data = p;
        one.len = comma - p;

        if (one.len && ngx_stream_hoop_pg_schema_add(s, &one) != NGX_OK) {
            return NGX_ERROR;
        }

        p = comma + 1;
    }

    return NGX_OK;
}


/*
 * A schema a bare relation name may be in, for the rest of the session:
 * what search_path held at any time (a union: a SET in a transaction
 * rolled back, or a SET that failed, may still be counted, which only
 * makes rules on schema.table match more).  "*": any schema.
 */
ngx_int_t
ngx_stream_hoop_pg_schema_add(ngx_stream_session_t *s, ngx_str_t *name)
{
    u_char                    *p, *last, *comma;
    size_t                     size;
    ngx_str_t                  role;
    ngx_stream_hoop_pg_ctx_t  *ctx;

    ctx = ngx_stream_get_module_ctx(s, ngx_stream_hoop_pg_module);

    if (name->len == 1 && name->data[0] == '*') {
        ctx->schemas_gen += !ctx->schemas_any;
        ctx->schemas_any = 1;
        return NGX_OK;
    }

    /* "$user": a schema named for the role the session runs as */

    if (name->len == 5 && ngx_strncmp(name->data, "$user", 5) == 0) {
        if (ctx->login != NULL) {
            role.data = (u_char *) ctx->login->user;
            role.len = ngx_strlen(ctx->login->user);

        } else {
            role = ctx->client_user;
        }

        name = &role;
    }

    /* a name the list cannot hold: any schema, then */

    if (name->len == 0 || name->len > 63
        || ngx_strlchr(name->data, name->data + name->len, ',') != NULL)
    {
        if (name->len != 0 && !ctx->schemas_any) {
            ctx->schemas_any = 1;
            ctx->schemas_gen++;
        }

        return NGX_OK;
    }

    p = ctx->schemas.data;
    last = p + ctx->schemas.len;

    while (p < last) {
        comma = ngx_strlchr(p, last, ',');
        comma = comma ? comma : last;

        if ((size_t) (comma - p) == name->len
            && ngx_strncmp(p, name->data, name->len) == 0)
        {
            return NGX_OK;              /* known already */
        }

        p = comma + 1;
    }

    size = ctx->schemas.len + 1 + name->len + 1;

    p = ngx_pnalloc(s->connection->pool, size);
    if (p == NULL) {
        return NGX_ERROR;
    }

    last = p;

    if (ctx->schemas.len) {
        last = ngx_cpymem(last, ctx->schemas.data, ctx->schemas.len);
        *last++ = ',';
    }

    last = ngx_cpymem(last, name->data, name->len);
    *last = '\0';

    ctx->schemas.data = p;
    ctx->schemas.len = last - p;

    /* what was decided by the schemas before may be decided again */
    ctx->schemas_gen++;

    return NGX_OK;
}


/* a row of the catalog, kept as it came until all have */
static ngx_int_t
ngx_stream_hoop_pg_catalog_row(ngx_stream_session_t *s, u_char *msg,
    size_t len)
{
    u_char                    *p;
    size_t                     size;
    ngx_stream_hoop_pg_ctx_t  *ctx;

    ctx = ngx_stream_get_module_ctx(s, ngx_stream_hoop_pg_module);

    if (ctx->catalog_len + len > ctx->catalog_size) {
        size = ngx_max(2 * ctx->catalog_size, ctx->catalog_len + len);
        size = ngx_max(size, 64 * 1024);

        p = ngx_alloc(size, s->connection->log);
        if (p == NULL) {
            return NGX_ERROR;
        }

        if (ctx->catalog_rows != NULL) {
            ngx_memcpy(p, ctx->catalog_rows, ctx->catalog_len);
            ngx_free(ctx->catalog_rows);
        }

        ctx->catalog_rows = p;
        ctx->catalog_size = size;
    }

    ngx_memcpy(ctx->catalog_rows + ctx->catalog_len, msg, len);
    ctx->catalog_len += len;

    return NGX_DECLINED;
}


/*
 * A ReadyForQuery: after the first query, the catalog is found by its
 * fingerprint or read; after the second, built.  Then the session is
 * the client's.
 */
static ngx_int_t
ngx_stream_hoop_pg_catalog_ready(ngx_stream_session_t *s)
{
    ngx_stream_hoop_pg_ctx_t        *ctx;
    ngx_stream_hoop_pg_srv_conf_t   *pscf;
    ngx_stream_hoop_pg_snapshot_t   *snap;

    ctx = ngx_stream_get_module_ctx(s, ngx_stream_hoop_pg_module);
    pscf = ngx_stream_get_module_srv_conf(s, ngx_stream_hoop_pg_module);

    if (ctx->catalog_wanted && !ctx->catalog_keyed) {
        ngx_log_error(NGX_LOG_ERR, s->connection->log, 0,
                      "hoop pg: the database did not answer the catalog's"
                      " fingerprint");
        ngx_stream_hoop_pg_fatal(s, NGX_STREAM_BAD_GATEWAY, "XX000",
                                 "hoop: the gateway could not read this"
                                 " database's catalog", NULL);
        return NGX_DONE;
    }

    if (ctx->catalog_wanted && ctx->snapshot == NULL) {
        snap = ngx_stream_hoop_pg_snapshot_find(ctx->catalog_key,
                                                pscf->read_safe);

        if (snap == NULL && !ctx->catalog_fetch) {
            ctx->catalog_fetch = 1;
            ctx->catalog_step = 0;

            if (ngx_stream_hoop_pg_catalog_send(s, &pscf->catalog_fetch)
                != NGX_OK)
            {
                return NGX_ERROR;
            }

            return NGX_DECLINED;
        }

        /*
         * the rows are whole only when the query completed: a server (or
         * a pooler) that answered with less leaves nothing to build from
         */

        if (snap == NULL
            && ctx->catalog_step != NGX_STREAM_HOOP_PG_FETCH_ROWS + 1)
        {
            ngx_log_error(NGX_LOG_ERR, s->connection->log, 0,
                          "hoop pg: the database's catalog query did not"
                          " complete");
            ngx_stream_hoop_pg_fatal(s, NGX_STREAM_BAD_GATEWAY, "XX000",
                                     "hoop: the gateway could not read"
                                     " this database's catalog", NULL);
            return NGX_DONE;
        }

        if (snap == NULL) {
            snap = ngx_stream_hoop_pg_snapshot_build(s);

            if (snap == NULL) {
                ngx_stream_hoop_pg_fatal(s, NGX_STREAM_BAD_GATEWAY, "XX000",
                                         "hoop: the gateway could not read"
                                         " this database's catalog", NULL);
                return NGX_DONE;
            }
        }

        snap->refs++;
        ctx->snapshot = snap;
        ctx->catalog = snap->cat;

        ngx_stream_hoop_pg_snapshot_seen(s, snap);
    }

    if (ctx->catalog_rows != NULL) {
        ngx_free(ctx->catalog_rows);
        ctx->catalog_rows = NULL;
        ctx->catalog_len = 0;
        ctx->catalog_size = 0;
    }

    ctx->phase = NGX_STREAM_HOOP_PG_READY;

    /* what the client sent meanwhile waits in its buffer: read it */

    ctx->client_flow = 1;
    ngx_post_event(s->connection->read, &ngx_posted_events);

    ngx_log_debug2(NGX_LOG_DEBUG_STREAM, s->connection->log, 0,
                   "hoop pg: session ready, %ui objects in the catalog,"
                   " %ui masked columns",
                   ctx->catalog ? hoop_sql_catalog_count(ctx->catalog) : 0,
                   ctx->mask_attrs ? ctx->mask_attrs->nelts : 0);

    return NGX_OK;
}


static ngx_stream_hoop_pg_snapshot_t *
ngx_stream_hoop_pg_snapshot_find(u_char *key, const char **read_safe)
{
    ngx_queue_t                    *q;
    ngx_stream_hoop_pg_snapshot_t  *snap;

    if (!ngx_stream_hoop_pg_snapshots_init) {
        return NULL;
    }

    for (q = ngx_queue_head(&ngx_stream_hoop_pg_snapshots);
         q != ngx_queue_sentinel(&ngx_stream_hoop_pg_snapshots);
         q = ngx_queue_next(q))
    {
        snap = ngx_queue_data(q, ngx_stream_hoop_pg_snapshot_t, queue);

        if (snap->read_safe == read_safe
            && ngx_memcmp(snap->key, key, NGX_STREAM_HOOP_PG_KEY_LEN) == 0)
        {
            /* the most recently used first */

            ngx_queue_remove(q);
            ngx_queue_insert_head(&ngx_stream_hoop_pg_snapshots, q);

            return snap;
        }
    }

    return NULL;
}


/*
 * A catalog another session of this server, database and role asked the
 * fingerprint of less than a second ago: this session takes it and its
 * search path, without a query.  Not with masked columns to look up
 * (the session asks anyway), nor for a session that set its own
 * search_path at startup.  NGX_OK: taken; NGX_DECLINED.
 */
static ngx_int_t
ngx_stream_hoop_pg_catalog_recent(ngx_stream_session_t *s)
{
    ngx_str_t                       database, role, schemas;
    ngx_queue_t                    *q;
    ngx_stream_hoop_pg_ctx_t       *ctx;
    ngx_stream_hoop_pg_srv_conf_t  *pscf;
    ngx_stream_hoop_pg_snapshot_t  *snap;

    ctx = ngx_stream_get_module_ctx(s, ngx_stream_hoop_pg_module);
    pscf = ngx_stream_get_module_srv_conf(s, ngx_stream_hoop_pg_module);

    if (ctx->snapshot != NULL) {
        return NGX_OK;
    }

    if (!ngx_stream_hoop_pg_snapshots_init || ctx->own_path
        || (ctx->masking && pscf->mask_catalog.len))
    {
        return NGX_DECLINED;
    }

    ngx_stream_hoop_pg_session_names(s, &database, &role);

    for (q = ngx_queue_head(&ngx_stream_hoop_pg_snapshots);
         q != ngx_queue_sentinel(&ngx_stream_hoop_pg_snapshots);
         q = ngx_queue_next(q))
    {
        snap = ngx_queue_data(q, ngx_stream_hoop_pg_snapshot_t, queue);

        if (snap->server == pscf && snap->read_safe == pscf->read_safe
            && (ngx_msec_int_t) (ngx_current_msec - snap->checked)
               < NGX_STREAM_HOOP_PG_RECHECK
            && snap->database_len == database.len
            && ngx_strncmp(snap->database, database.data, database.len) == 0
            && snap->role_len == role.len
            && ngx_strncmp(snap->role, role.data, role.len) == 0)
        {
            break;
        }
    }

    if (q == ngx_queue_sentinel(&ngx_stream_hoop_pg_snapshots)) {
        return NGX_DECLINED;
    }

    schemas.data = snap->schemas;
    schemas.len = snap->schemas_len;

    if (ngx_stream_hoop_pg_catalog_schemas(s, schemas.data, schemas.len)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    ctx->catalog_wanted = 1;
    ctx->catalog_keyed = 1;
    ngx_memcpy(ctx->catalog_key, snap->key, NGX_STREAM_HOOP_PG_KEY_LEN);

    snap->refs++;
    ctx->snapshot = snap;
    ctx->catalog = snap->cat;

    ngx_log_debug2(NGX_LOG_DEBUG_STREAM, s->connection->log, 0,
                   "hoop pg: catalog %*s of a moment ago",
                   (size_t) NGX_STREAM_HOOP_PG_KEY_LEN, snap->key);
    return NGX_OK;
}


/* this session asked: who, when, and the search path it found */
static void
ngx_stream_hoop_pg_snapshot_seen(ngx_stream_session_t *s,
    ngx_stream_hoop_pg_snapshot_t *snap)
{
    ngx_str_t                       database, role;
    ngx_stream_hoop_pg_ctx_t       *ctx;
    ngx_stream_hoop_pg_srv_conf_t  *pscf;

    ctx = ngx_stream_get_module_ctx(s, ngx_stream_hoop_pg_module);
    pscf = ngx_stream_get_module_srv_conf(s, ngx_stream_hoop_pg_module);

    ngx_stream_hoop_pg_session_names(s, &database, &role);

    /* a name or a path that does not fit: this one is not reused */

    if (database.len >= NGX_STREAM_HOOP_PG_NAME_LEN
        || role.len >= NGX_STREAM_HOOP_PG_NAME_LEN
        || ctx->schemas.len >= sizeof(snap->schemas) || ctx->schemas_any
        || ctx->own_path)
    {
        snap->server = NULL;
        return;
    }

    snap->server = pscf;
    snap->checked = ngx_current_msec;
    snap->database_len = database.len;
    snap->role_len = role.len;
    snap->schemas_len = ctx->schemas.len;
    ngx_memcpy(snap->database, database.data, database.len);
    ngx_memcpy(snap->role, role.data, role.len);
    ngx_memcpy(snap->schemas, ctx->schemas.data, ctx->schemas.len);
}


/* the database and the role the session logs in as */
static void
ngx_stream_hoop_pg_session_names(ngx_stream_session_t *s,
    ngx_str_t *database, ngx_str_t *role)
{
    ngx_stream_hoop_pg_ctx_t  *ctx;

    ctx = ngx_stream_get_module_ctx(s, ngx_stream_hoop_pg_module);

    *database = ctx->client_database;

    if (ctx->login != NULL) {
        role->data = (u_char *) ctx->login->user;
        role->len = ngx_strlen(ctx->login->user);

    } else {
        *role = ctx->client_user;
    }
}


/* the rows read into a catalog, which the worker keeps */
static ngx_stream_hoop_pg_snapshot_t *
ngx_stream_hoop_pg_snapshot_build(ngx_stream_session_t *s)
{
    char                           *buf;
    u_char                         *p, *end, *mem;
    size_t                          n, text, len, longest, size;
    hoop_sql_object_t               obj;
    hoop_sql_catalog_t             *cat;
    ngx_stream_hoop_pg_ctx_t       *ctx;
    ngx_stream_hoop_pg_srv_conf_t  *pscf;
    ngx_stream_hoop_pg_snapshot_t  *snap;

    ctx = ngx_stream_get_module_ctx(s, ngx_stream_hoop_pg_module);
    pscf = ngx_stream_get_module_srv_conf(s, ngx_stream_hoop_pg_module);

    /* first how much: objects, their strings, the longest row */

    n = 0;
    text = 0;
    longest = 0;
    end = ctx->catalog_rows + ctx->catalog_len;

    for (p = ctx->catalog_rows; p < end; p += len) {
        len = (size_t) hoop_pg_get32(p + 1) + 1;
        longest = ngx_max(longest, len);
    }

    buf = ngx_alloc(longest + 1, s->connection->log);
    if (buf == NULL) {
        return NULL;
    }

    for (p = ctx->catalog_rows; p < end; p += len) {
        len = (size_t) hoop_pg_get32(p + 1) + 1;

        if (hoop_sql_catalog_row(p, len, &obj, buf, longest + 1) != 0) {
            ngx_log_error(NGX_LOG_ERR, s->connection->log, 0,
                          "hoop pg: malformed catalog row from the"
                          " database");
            ngx_free(buf);
            return NULL;
        }

        n++;
        text += hoop_sql_object_text(&obj);
    }

    size = sizeof(ngx_stream_hoop_pg_snapshot_t)
           + hoop_sql_catalog_size(n, text);

    mem = ngx_alloc(size, s->connection->log);
    if (mem == NULL) {
        ngx_free(buf);
        return NULL;
    }

    snap = (ngx_stream_hoop_pg_snapshot_t *) mem;

    cat = hoop_sql_catalog_init(mem + sizeof(ngx_stream_hoop_pg_snapshot_t),
                                size - sizeof(ngx_stream_hoop_pg_snapshot_t),
                                n, (const char *const *) pscf->read_safe);
    if (cat == NULL) {
        goto failed;
    }

    for (p = ctx->catalog_rows; p < end; p += len) {
        len = (size_t) hoop_pg_get32(p + 1) + 1;

        if (hoop_sql_catalog_row(p, len, &obj, buf, longest + 1) != 0
            || hoop_sql_catalog_add(cat, &obj) != 0)
        {
            goto failed;
        }
    }

    ngx_free(buf);

    hoop_sql_catalog_build(cat);

    ngx_log_error(NGX_LOG_INFO, s->connection->log, 0,
                  "hoop pg: catalog %*s read: %uz objects, %uz bytes",
                  (size_t) NGX_STREAM_HOOP_PG_KEY_LEN, ctx->catalog_key, n,
                  size);

    snap->cat = cat;
    snap->refs = 0;
    snap->read_safe = pscf->read_safe;
    ngx_memcpy(snap->key, ctx->catalog_key, NGX_STREAM_HOOP_PG_KEY_LEN);

    if (!ngx_stream_hoop_pg_snapshots_init) {
        ngx_queue_init(&ngx_stream_hoop_pg_snapshots);
        ngx_stream_hoop_pg_snapshots_init = 1;
    }

    ngx_queue_insert_head(&ngx_stream_hoop_pg_snapshots, &snap->queue);

    ngx_stream_hoop_pg_snapshot_trim();

    return snap;

failed:

    ngx_log_error(NGX_LOG_ERR, s->connection->log, 0,
                  "hoop pg: the catalog could not be built");
    ngx_free(buf);
    ngx_free(mem);

    return NULL;
}


/* the session no longer uses its catalog */
void
ngx_stream_hoop_pg_catalog_cleanup(ngx_stream_hoop_pg_ctx_t *ctx)
{
    if (ctx->catalog_rows != NULL) {
        ngx_free(ctx->catalog_rows);
        ctx->catalog_rows = NULL;
    }

    if (ctx->snapshot != NULL) {
        ctx->snapshot->refs--;
        ctx->snapshot = NULL;
        ctx->catalog = NULL;

        ngx_stream_hoop_pg_snapshot_trim();
    }
}


/* catalogs no session uses, beyond the few kept, oldest first */
static void
ngx_stream_hoop_pg_snapshot_trim(void)
{
    ngx_uint_t                      idle;
    ngx_queue_t                    *q, *prev;
    ngx_stream_hoop_pg_snapshot_t  *snap;

    idle = 0;

    for (q = ngx_queue_head(&ngx_stream_hoop_pg_snapshots);
         q != ngx_queue_sentinel(&ngx_stream_hoop_pg_snapshots);
         q = ngx_queue_next(q))
    {
        snap = ngx_queue_data(q, ngx_stream_hoop_pg_snapshot_t, queue);

        if (snap->refs == 0) {
            idle++;
        }
    }

    for (q = ngx_queue_last(&ngx_stream_hoop_pg_snapshots);
         idle > NGX_STREAM_HOOP_PG_SNAPSHOTS_IDLE
         && q != ngx_queue_sentinel(&ngx_stream_hoop_pg_snapshots);
         q = prev)
    {
        prev = ngx_queue_prev(q);
        snap = ngx_queue_data(q, ngx_stream_hoop_pg_snapshot_t, queue);

        if (snap->refs == 0) {
            ngx_queue_remove(q);
            ngx_free(snap);
            idle--;
        }
    }
}


/* at the worker's exit: its sessions have ended (a session still open
 * would release its catalog later, and keeps it) */
void
ngx_stream_hoop_pg_catalog_free(void)
{
    ngx_queue_t                    *q, *next;
    ngx_stream_hoop_pg_snapshot_t  *snap;

    if (!ngx_stream_hoop_pg_snapshots_init) {
        return;
    }

    for (q = ngx_queue_head(&ngx_stream_hoop_pg_snapshots);
         q != ngx_queue_sentinel(&ngx_stream_hoop_pg_snapshots);
         q = next)
    {
        next = ngx_queue_next(q);
        snap = ngx_queue_data(q, ngx_stream_hoop_pg_snapshot_t, queue);

        if (snap->refs == 0) {
            ngx_queue_remove(q);
            ngx_free(snap);
        }
    }
}


/* hoop_pg_read_safe name ...: functions whose call the operator vouches for */
char *
ngx_stream_hoop_pg_read_safe(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_stream_hoop_pg_srv_conf_t  *pscf = conf;

    const char  **list;
    ngx_str_t    *value;
    ngx_uint_t    i, n, old;

    value = cf->args->elts;

    old = 0;

    if (pscf->read_safe != NULL) {
        while (pscf->read_safe[old] != NULL) {
            old++;
        }
    }

    n = old + cf->args->nelts - 1;

    list = ngx_pcalloc(cf->pool, (n + 1) * sizeof(char *));
    if (list == NULL) {
        return NGX_CONF_ERROR;
    }

    for (i = 0; i < old; i++) {
        list[i] = pscf->read_safe[i];
    }

    for (i = 1; i < cf->args->nelts; i++) {
        if (value[i].len == 0 || value[i].len > 127
            || ngx_strlchr(value[i].data, value[i].data + value[i].len, ',')
               != NULL)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid function \"%V\" in the \"%V\""
                               " directive, expected name or schema.name",
                               &value[i], &cmd->name);
            return NGX_CONF_ERROR;
        }

        list[old + i - 1] = ngx_hoop_pstrz(cf->pool, &value[i]);
        if (list[old + i - 1] == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    pscf->read_safe = list;

    return NGX_CONF_OK;
}
