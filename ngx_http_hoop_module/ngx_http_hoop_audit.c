/*
 * Copyright (C) nginx-hoop authors
 *
 * hoop_audit: one event per HTTP request, appended to a Redis stream with
 * XADD, chained to the previous event of its session (the client
 * connection) so that an edited, reordered or deleted event shows.
 * Events are written in the log phase, when status and sizes are known;
 * with hoop_audit_fail closed (the default) a request is refused with 503
 * up front when Redis cannot take events.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <openssl/rand.h>

#include "hoop_audit.h"
#include "hoop_json.h"
#include "ngx_http_hoop.h"


#define NGX_HTTP_HOOP_AUDIT_EVENT_MAX  8192


/* Per client connection: the session its events chain in. */
typedef struct {
    char                  id[33];
    ngx_uint_t            seq;
    char                  prev[HOOP_AUDIT_HASH_LEN + 1];
} ngx_http_hoop_audit_session_t;


/* What the XADD callback needs: nothing of the request survives it. */
typedef struct {
    char                  session[33];
    ngx_uint_t            seq;
    ngx_log_t            *log;
} ngx_http_hoop_audit_pending_t;


static ngx_int_t ngx_http_hoop_audit_access(ngx_http_request_t *r);
static ngx_int_t ngx_http_hoop_audit_log(ngx_http_request_t *r);
static ngx_http_hoop_audit_session_t *ngx_http_hoop_audit_session(
    ngx_http_request_t *r);
static size_t ngx_http_hoop_audit_event(ngx_http_request_t *r,
    ngx_http_hoop_audit_session_t *sess, char *buf, size_t cap);
static void ngx_http_hoop_audit_stored(ngx_hoop_redis_t *rd,
    redisReply *reply, void *data);
static void ngx_http_hoop_audit_session_cleanup(void *data);
static void ngx_http_hoop_audit_arg(const char **argv, size_t *argvlen,
    int *n, const char *arg, size_t len);


ngx_int_t
ngx_http_hoop_audit_init(ngx_conf_t *cf)
{
    if (ngx_http_hoop_add_handler(cf, NGX_HTTP_ACCESS_PHASE,
                                  ngx_http_hoop_audit_access)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_http_hoop_add_handler(cf, NGX_HTTP_LOG_PHASE,
                                     ngx_http_hoop_audit_log);
}


/* Compliance first: no event store, no service (unless fail open). */
static ngx_int_t
ngx_http_hoop_audit_access(ngx_http_request_t *r)
{
    ngx_http_hoop_loc_conf_t   *hlcf;
    ngx_http_hoop_main_conf_t  *hmcf;

    hlcf = ngx_http_get_module_loc_conf(r, ngx_http_hoop_module);

    if (!hlcf->audit || r != r->main) {
        return NGX_DECLINED;
    }

    hmcf = ngx_http_get_module_main_conf(r, ngx_http_hoop_module);

    if (ngx_hoop_redis_ready(hmcf->redis_conn)) {
        return NGX_DECLINED;
    }

    if (!hmcf->audit_fail_closed) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "hoop_audit: Redis unavailable, request served"
                      " without its audit event (hoop_audit_fail open)");
        return NGX_DECLINED;
    }

    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                  "hoop_audit: Redis unavailable, request refused"
                  " (hoop_audit_fail closed)");

    return NGX_HTTP_SERVICE_UNAVAILABLE;
}


static ngx_int_t
ngx_http_hoop_audit_log(ngx_http_request_t *r)
{
    char                           *event, hash[HOOP_AUDIT_HASH_LEN + 1];
    u_char                          seq[NGX_INT_T_LEN], maxlen[NGX_INT_T_LEN];
    int                             n;
    size_t                          len, argvlen[16];
    const char                     *argv[16];
    ngx_http_hoop_loc_conf_t       *hlcf;
    ngx_http_hoop_main_conf_t      *hmcf;
    ngx_http_hoop_audit_pending_t  *pending;
    ngx_http_hoop_audit_session_t  *sess;

    hlcf = ngx_http_get_module_loc_conf(r, ngx_http_hoop_module);

    if (!hlcf->audit || r != r->main) {
        return NGX_OK;
    }

    hmcf = ngx_http_get_module_main_conf(r, ngx_http_hoop_module);

    sess = ngx_http_hoop_audit_session(r);
    if (sess == NULL) {
        return NGX_ERROR;
    }

    event = ngx_pnalloc(r->pool, NGX_HTTP_HOOP_AUDIT_EVENT_MAX);
    pending = ngx_alloc(sizeof(ngx_http_hoop_audit_pending_t),
                        r->connection->log);

    if (event == NULL || pending == NULL) {
        ngx_free(pending);
        return NGX_ERROR;
    }

    sess->seq++;

    len = ngx_http_hoop_audit_event(r, sess, event,
                                    NGX_HTTP_HOOP_AUDIT_EVENT_MAX);

    if (len == 0
        || hoop_audit_chain(sess->prev, event, len,
                            hmcf->audit_key.len ? hmcf->audit_key.data : NULL,
                            hmcf->audit_key.len, hash)
           != 0)
    {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "hoop_audit: event %s/%ui could not be built",
                      sess->id, sess->seq);
        ngx_free(pending);
        return NGX_ERROR;
    }

    ngx_memcpy(pending->session, sess->id, sizeof(sess->id));
    pending->seq = sess->seq;
    pending->log = ngx_cycle->log;

    /* XADD stream MAXLEN ~ n * session S seq N event E prev P hash H */

    n = 0;
    ngx_http_hoop_audit_arg(argv, argvlen, &n, "XADD", 4);
    ngx_http_hoop_audit_arg(argv, argvlen, &n,
                            (char *) hmcf->audit_stream.data,
                            hmcf->audit_stream.len);
    ngx_http_hoop_audit_arg(argv, argvlen, &n, "MAXLEN", 6);
    ngx_http_hoop_audit_arg(argv, argvlen, &n, "~", 1);
    ngx_http_hoop_audit_arg(argv, argvlen, &n, (char *) maxlen,
                            ngx_sprintf(maxlen, "%ui", hmcf->audit_maxlen)
                            - maxlen);
    ngx_http_hoop_audit_arg(argv, argvlen, &n, "*", 1);
    ngx_http_hoop_audit_arg(argv, argvlen, &n, "session", 7);
    ngx_http_hoop_audit_arg(argv, argvlen, &n, sess->id, 32);
    ngx_http_hoop_audit_arg(argv, argvlen, &n, "seq", 3);
    ngx_http_hoop_audit_arg(argv, argvlen, &n, (char *) seq,
                            ngx_sprintf(seq, "%ui", sess->seq) - seq);
    ngx_http_hoop_audit_arg(argv, argvlen, &n, "event", 5);
    ngx_http_hoop_audit_arg(argv, argvlen, &n, event, len);
    ngx_http_hoop_audit_arg(argv, argvlen, &n, "prev", 4);
    ngx_http_hoop_audit_arg(argv, argvlen, &n, sess->prev,
                            HOOP_AUDIT_HASH_LEN);
    ngx_http_hoop_audit_arg(argv, argvlen, &n, "hash", 4);
    ngx_http_hoop_audit_arg(argv, argvlen, &n, hash, HOOP_AUDIT_HASH_LEN);

    if (ngx_hoop_redis_command(hmcf->redis_conn, ngx_http_hoop_audit_stored,
                               pending, n, argv, argvlen)
        != NGX_OK)
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "hoop_audit: event %s/%ui not stored: Redis"
                      " unavailable", sess->id, sess->seq);
        ngx_free(pending);
    }

    ngx_memcpy(sess->prev, hash, sizeof(hash));

    return NGX_OK;
}


static void
ngx_http_hoop_audit_stored(ngx_hoop_redis_t *rd, redisReply *reply,
    void *data)
{
    ngx_http_hoop_audit_pending_t  *pending = data;

    if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
        ngx_log_error(NGX_LOG_ERR, pending->log, 0,
                      "hoop_audit: event %s/%ui not stored: %s",
                      pending->session, pending->seq,
                      reply ? reply->str : "no reply from Redis");
    }

    ngx_free(pending);
}


/*
 * {"v":1,"type":"http.request","time":..,"gateway":..,"session":..,
 *  "seq":..,"identity":{..}|null,"request":{..},"response":{..},
 *  "decision":{..}}
 */
static size_t
ngx_http_hoop_audit_event(ngx_http_request_t *r,
    ngx_http_hoop_audit_session_t *sess, char *buf, size_t cap)
{
    u_char                time[32];
    ngx_tm_t              tm;
    ngx_msec_int_t        ms;
    ngx_time_t           *tp;
    hoop_json_t           j;
    ngx_uint_t            status;
    ngx_http_hoop_ctx_t  *ctx;

    tp = ngx_timeofday();
    ngx_gmtime(tp->sec, &tm);

    ngx_sprintf(time, "%4d-%02d-%02dT%02d:%02d:%02d.%03MZ%Z",
                tm.ngx_tm_year, tm.ngx_tm_mon, tm.ngx_tm_mday,
                tm.ngx_tm_hour, tm.ngx_tm_min, tm.ngx_tm_sec, tp->msec);

    ms = (ngx_msec_int_t) ((tp->sec - r->start_sec) * 1000
                           + (tp->msec - r->start_msec));
    ms = ngx_max(ms, 0);

    status = r->err_status ? r->err_status : r->headers_out.status;
    ctx = ngx_http_hoop_get_ctx(r);

    hoop_json_init(&j, buf, cap);
    hoop_json_object(&j, NULL);
    hoop_json_int(&j, "v", HOOP_AUDIT_VERSION);
    hoop_json_string(&j, "type", "http.request", 12);
    hoop_json_string(&j, "time", (char *) time, ngx_strlen(time));
    hoop_json_string(&j, "gateway", (char *) ngx_cycle->hostname.data,
                     ngx_cycle->hostname.len);
    hoop_json_string(&j, "session", sess->id, 32);
    hoop_json_int(&j, "seq", (long long) sess->seq);

    if (ctx != NULL && ctx->authenticated) {
        hoop_identity_json_write(&ctx->identity, &j, "identity");

    } else {
        hoop_json_null(&j, "identity");
    }

    /* the path, not the query string: arguments may carry secrets */

    hoop_json_object(&j, "request");
    hoop_json_string(&j, "method", (char *) r->method_name.data,
                     r->method_name.len);
    hoop_json_string(&j, "host", (char *) r->headers_in.server.data,
                     r->headers_in.server.len);
    hoop_json_string(&j, "path", (char *) r->uri.data, r->uri.len);
    hoop_json_string(&j, "client", (char *) r->connection->addr_text.data,
                     r->connection->addr_text.len);
    hoop_json_end(&j);

    hoop_json_object(&j, "response");
    hoop_json_int(&j, "status", (long long) status);
    hoop_json_int(&j, "bytes_in", (long long) r->request_length);
    hoop_json_int(&j, "bytes_out", (long long) r->connection->sent);
    hoop_json_int(&j, "duration_ms", (long long) ms);
    hoop_json_end(&j);

    hoop_json_object(&j, "decision");
    hoop_json_string(&j, "result",
                     status == NGX_HTTP_UNAUTHORIZED
                     || status == NGX_HTTP_FORBIDDEN ? "deny" : "allow",
                     status == NGX_HTTP_UNAUTHORIZED
                     || status == NGX_HTTP_FORBIDDEN ? 4 : 5);
    hoop_json_null(&j, "rule");
    hoop_json_end(&j);

    hoop_json_end(&j);

    return hoop_json_finish(&j);
}


/* The connection's session, found as the realip module finds its ctx. */
static ngx_http_hoop_audit_session_t *
ngx_http_hoop_audit_session(ngx_http_request_t *r)
{
    u_char                          rnd[16];
    ngx_pool_t                     *pool;
    ngx_pool_cleanup_t             *cln;
    ngx_http_hoop_audit_session_t  *sess;

    pool = r->connection->pool;

    for (cln = pool->cleanup; cln; cln = cln->next) {
        if (cln->handler == ngx_http_hoop_audit_session_cleanup) {
            return cln->data;
        }
    }

    cln = ngx_pool_cleanup_add(pool, sizeof(ngx_http_hoop_audit_session_t));
    if (cln == NULL) {
        return NULL;
    }

    cln->handler = ngx_http_hoop_audit_session_cleanup;
    sess = cln->data;

    if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
        return NULL;
    }

    ngx_hex_dump((u_char *) sess->id, rnd, sizeof(rnd));
    sess->id[32] = '\0';
    sess->seq = 0;
    ngx_memcpy(sess->prev, hoop_audit_genesis, sizeof(sess->prev));

    return sess;
}


static void
ngx_http_hoop_audit_arg(const char **argv, size_t *argvlen, int *n,
    const char *arg, size_t len)
{
    argv[*n] = arg;
    argvlen[*n] = len;
    (*n)++;
}


static void
ngx_http_hoop_audit_session_cleanup(void *data)
{
    /* nothing to free: the cleanup only marks where the session lives */
}
