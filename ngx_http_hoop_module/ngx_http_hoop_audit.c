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

#include <jansson.h>
#include <openssl/rand.h>

#include "hoop_audit.h"
#include "hoop_json.h"
#include "ngx_http_hoop.h"


#define NGX_HTTP_HOOP_AUDIT_EVENT_MAX  8192
#define NGX_HTTP_HOOP_AUDIT_DRAIN_EVERY  200         /* ms */
#define NGX_HTTP_HOOP_AUDIT_DRAIN_BATCH  (256 * 1024)
#define NGX_HTTP_HOOP_AUDIT_ADOPT_EVERY  25          /* drain ticks */


/* Per client connection: the session its events chain in. */
typedef struct {
    char                  id[33];
    ngx_uint_t            seq;
    char                  prev[HOOP_AUDIT_HASH_LEN + 1];
} ngx_http_hoop_audit_session_t;


/*
 * What the XADD callback needs: nothing of the request survives it, so
 * the spool record is kept here, to be spooled if Redis does not take it.
 */
typedef struct {
    ngx_http_hoop_main_conf_t  *hmcf;
    size_t                      len;
    u_char                      record[1];
} ngx_http_hoop_audit_pending_t;


/* One delivery of spooled records. */
typedef struct {
    ngx_http_hoop_main_conf_t  *hmcf;
    size_t                      len;          /* bytes of the batch */
    ngx_uint_t                  sent;
    ngx_uint_t                  replied;
    ngx_uint_t                  failed;
} ngx_http_hoop_audit_batch_t;


static ngx_int_t ngx_http_hoop_audit_access(ngx_http_request_t *r);
static ngx_int_t ngx_http_hoop_audit_log(ngx_http_request_t *r);
static ngx_http_hoop_audit_session_t *ngx_http_hoop_audit_session(
    ngx_http_request_t *r);
static size_t ngx_http_hoop_audit_event(ngx_http_request_t *r,
    ngx_http_hoop_audit_session_t *sess, char *buf, size_t cap);
static void ngx_http_hoop_audit_stored(ngx_hoop_redis_t *rd,
    redisReply *reply, void *data);
static ngx_int_t ngx_http_hoop_audit_xadd(ngx_http_hoop_main_conf_t *hmcf,
    ngx_str_t *fields, ngx_hoop_redis_reply_pt cb, void *data);
static void ngx_http_hoop_audit_spool(ngx_http_hoop_main_conf_t *hmcf,
    u_char *rec, size_t len, ngx_log_t *log);
static void ngx_http_hoop_audit_drain(ngx_event_t *ev);
static ngx_int_t ngx_http_hoop_audit_drain_record(
    ngx_http_hoop_audit_batch_t *batch, u_char *rec, size_t len);
static void ngx_http_hoop_audit_drained(ngx_hoop_redis_t *rd,
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
    ngx_http_hoop_ctx_t        *ctx;
    ngx_http_hoop_loc_conf_t   *hlcf;
    ngx_http_hoop_main_conf_t  *hmcf;

    hlcf = ngx_http_get_module_loc_conf(r, ngx_http_hoop_module);

    if (!hlcf->audit || r != r->main) {
        return NGX_DECLINED;
    }

    hmcf = ngx_http_get_module_main_conf(r, ngx_http_hoop_module);

    if (ngx_hoop_redis_ready(hmcf->redis_conn)
        || ngx_hoop_spool_writable(hmcf->spool))
    {
        return NGX_DECLINED;
    }

    /* said here, once: the log phase does not try to store this event */

    ctx = ngx_http_hoop_ctx_create(r);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->audit_unavailable = 1;

    if (!hmcf->audit_fail_closed) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "hoop_audit: neither Redis nor the spool can take"
                      " events, request served without its audit event"
                      " (hoop_audit_fail open)");
        return NGX_DECLINED;
    }

    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                  "hoop_audit: neither Redis nor the spool can take"
                  " events, request refused (hoop_audit_fail closed)");

    return NGX_HTTP_SERVICE_UNAVAILABLE;
}


static ngx_int_t
ngx_http_hoop_audit_log(ngx_http_request_t *r)
{
    char                           *event, hash[HOOP_AUDIT_HASH_LEN + 1],
                                    prev[HOOP_AUDIT_HASH_LEN + 1];
    u_char                         *rec, seq[NGX_INT_T_LEN];
    size_t                          len, rec_len, cap;
    ngx_str_t                       fields[5];
    hoop_json_t                     j;
    ngx_http_hoop_ctx_t            *ctx;
    ngx_http_hoop_loc_conf_t       *hlcf;
    ngx_http_hoop_main_conf_t      *hmcf;
    ngx_http_hoop_audit_pending_t  *pending;
    ngx_http_hoop_audit_session_t  *sess;

    hlcf = ngx_http_get_module_loc_conf(r, ngx_http_hoop_module);

    if (!hlcf->audit || r != r->main) {
        return NGX_OK;
    }

    hmcf = ngx_http_get_module_main_conf(r, ngx_http_hoop_module);
    ctx = ngx_http_hoop_get_ctx(r);

    if (ctx != NULL && ctx->audit_unavailable) {
        return NGX_OK;
    }

    sess = ngx_http_hoop_audit_session(r);
    if (sess == NULL) {
        return NGX_ERROR;
    }

    event = ngx_pnalloc(r->pool, NGX_HTTP_HOOP_AUDIT_EVENT_MAX);
    if (event == NULL) {
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
        return NGX_ERROR;
    }

    /* the five fields, as a stream entry and as a spool record */

    fields[0].data = (u_char *) sess->id;
    fields[0].len = 32;
    fields[1].data = seq;
    fields[1].len = ngx_sprintf(seq, "%ui", sess->seq) - seq;
    fields[2].data = (u_char *) event;
    fields[2].len = len;
    ngx_memcpy(prev, sess->prev, sizeof(prev));
    ngx_memcpy(sess->prev, hash, sizeof(hash));

    fields[3].data = (u_char *) prev;
    fields[3].len = HOOP_AUDIT_HASH_LEN;
    fields[4].data = (u_char *) hash;
    fields[4].len = HOOP_AUDIT_HASH_LEN;

    cap = 6 * len + 512;

    pending = ngx_alloc(sizeof(ngx_http_hoop_audit_pending_t) + cap,
                        r->connection->log);
    if (pending == NULL) {
        return NGX_ERROR;
    }

    rec = pending->record;

    hoop_json_init(&j, (char *) rec, cap);
    hoop_json_object(&j, NULL);
    hoop_json_string(&j, "session", sess->id, 32);
    hoop_json_int(&j, "seq", (long long) sess->seq);
    hoop_json_string(&j, "event", event, len);
    hoop_json_string(&j, "prev", prev, HOOP_AUDIT_HASH_LEN);
    hoop_json_string(&j, "hash", hash, HOOP_AUDIT_HASH_LEN);
    hoop_json_end(&j);
    rec_len = hoop_json_finish(&j);

    pending->hmcf = hmcf;
    pending->len = rec_len;

    /* once events are spooled, the next ones queue behind them: in order */

    if (ngx_hoop_spool_pending(hmcf->spool)
        || ngx_http_hoop_audit_xadd(hmcf, fields, ngx_http_hoop_audit_stored,
                                    pending)
           != NGX_OK)
    {
        ngx_http_hoop_audit_spool(hmcf, rec, rec_len, r->connection->log);
        ngx_free(pending);
    }

    return NGX_OK;
}


/* XADD stream MAXLEN ~ n * session S seq N event E prev P hash H */
static ngx_int_t
ngx_http_hoop_audit_xadd(ngx_http_hoop_main_conf_t *hmcf, ngx_str_t *fields,
    ngx_hoop_redis_reply_pt cb, void *data)
{
    int          n;
    u_char       maxlen[NGX_INT_T_LEN];
    size_t       argvlen[16];
    ngx_uint_t   i;
    const char  *argv[16];

    static const char  *names[5] = { "session", "seq", "event", "prev",
                                     "hash" };

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

    for (i = 0; i < 5; i++) {
        ngx_http_hoop_audit_arg(argv, argvlen, &n, names[i],
                                ngx_strlen(names[i]));
        ngx_http_hoop_audit_arg(argv, argvlen, &n, (char *) fields[i].data,
                                fields[i].len);
    }

    return ngx_hoop_redis_command(hmcf->redis_conn, cb, data, n, argv,
                                  argvlen);
}


static void
ngx_http_hoop_audit_stored(ngx_hoop_redis_t *rd, redisReply *reply,
    void *data)
{
    ngx_http_hoop_audit_pending_t  *pending = data;

    if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
        ngx_http_hoop_audit_spool(pending->hmcf, pending->record,
                                  pending->len, ngx_cycle->log);
    }

    ngx_free(pending);
}


static void
ngx_http_hoop_audit_spool(ngx_http_hoop_main_conf_t *hmcf, u_char *rec,
    size_t len, ngx_log_t *log)
{
    if (ngx_hoop_spool_append(hmcf->spool, rec, len) == NGX_OK) {
        return;
    }

    /* the one case the contract cannot cover: say it, loudly, once each */

    ngx_log_error(NGX_LOG_ALERT, log, 0,
                  "hoop_audit: event LOST, neither Redis nor the spool took"
                  " it: %*s", ngx_min(len, 120), rec);
}


ngx_int_t
ngx_http_hoop_audit_init_process(ngx_http_hoop_main_conf_t *hmcf,
    ngx_cycle_t *cycle)
{
    hmcf->redis_conn = ngx_hoop_redis_start(cycle, hmcf->redis, "http");
    if (hmcf->redis_conn == NULL) {
        return NGX_ERROR;
    }

    if (hmcf->audit_spool == NULL) {
        return NGX_OK;
    }

    hmcf->spool = ngx_hoop_spool_open(cycle, hmcf->audit_spool);
    if (hmcf->spool == NULL) {
        return NGX_ERROR;
    }

    hmcf->drain_event.handler = ngx_http_hoop_audit_drain;
    hmcf->drain_event.data = hmcf;
    hmcf->drain_event.log = cycle->log;
    hmcf->drain_event.cancelable = 1;

    ngx_add_timer(&hmcf->drain_event, NGX_HTTP_HOOP_AUDIT_DRAIN_EVERY);

    return NGX_OK;
}


/* While Redis is up and the spool holds events: deliver them, in order. */
static void
ngx_http_hoop_audit_drain(ngx_event_t *ev)
{
    u_char                       *buf, *p, *nl, *end;
    ssize_t                       n;
    ngx_http_hoop_main_conf_t    *hmcf = ev->data;
    ngx_http_hoop_audit_batch_t  *batch;

    if (ngx_exiting || ngx_terminate || ngx_quit) {
        return;
    }

    ngx_add_timer(ev, NGX_HTTP_HOOP_AUDIT_DRAIN_EVERY);

    if (++hmcf->drain_ticks % NGX_HTTP_HOOP_AUDIT_ADOPT_EVERY == 0) {
        ngx_hoop_spool_adopt(hmcf->spool);
    }

    if (hmcf->draining || !ngx_hoop_spool_pending(hmcf->spool)
        || !ngx_hoop_redis_ready(hmcf->redis_conn))
    {
        return;
    }

    buf = ngx_alloc(NGX_HTTP_HOOP_AUDIT_DRAIN_BATCH, ev->log);
    batch = ngx_calloc(sizeof(ngx_http_hoop_audit_batch_t), ev->log);

    if (buf == NULL || batch == NULL) {
        ngx_free(buf);
        ngx_free(batch);
        return;
    }

    n = ngx_hoop_spool_read(hmcf->spool, buf,
                            NGX_HTTP_HOOP_AUDIT_DRAIN_BATCH);

    batch->hmcf = hmcf;
    batch->len = n > 0 ? n : 0;

    end = buf + batch->len;

    for (p = buf; p < end; p = nl + 1) {
        nl = ngx_strlchr(p, end, '\n');

        if (ngx_http_hoop_audit_drain_record(batch, p, nl - p) != NGX_OK) {
            break;
        }
    }

    ngx_free(buf);

    if (batch->sent == 0) {
        if (n < 0) {
            ngx_log_error(NGX_LOG_ALERT, ev->log, 0,
                          "hoop_audit: the spool cannot be read");
        }

        ngx_free(batch);
        return;
    }

    if (batch->failed) {
        /* what went out is answered later; nothing is marked delivered */
        batch->len = 0;
    }

    hmcf->draining = 1;
}


static ngx_int_t
ngx_http_hoop_audit_drain_record(ngx_http_hoop_audit_batch_t *batch,
    u_char *rec, size_t len)
{
    u_char        seq[NGX_INT_T_LEN];
    json_t       *root, *v;
    ngx_int_t     rc;
    ngx_str_t     fields[5];
    ngx_uint_t    i;
    json_error_t  err;

    static const char  *names[5] = { "session", "seq", "event", "prev",
                                     "hash" };

    root = json_loadb((char *) rec, len, 0, &err);

    if (!json_is_object(root)) {
        json_decref(root);
        batch->failed = 1;
        ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, 0,
                      "hoop_audit: unreadable record in the spool");
        return NGX_ERROR;
    }

    for (i = 0; i < 5; i++) {
        v = json_object_get(root, names[i]);

        if (i == 1 && json_is_integer(v)) {
            fields[i].data = seq;
            fields[i].len = ngx_sprintf(seq, "%L",
                                        (int64_t) json_integer_value(v))
                            - seq;
            continue;
        }

        if (!json_is_string(v)) {
            json_decref(root);
            batch->failed = 1;
            return NGX_ERROR;
        }

        fields[i].data = (u_char *) json_string_value(v);
        fields[i].len = json_string_length(v);
    }

    rc = ngx_http_hoop_audit_xadd(batch->hmcf, fields,
                                  ngx_http_hoop_audit_drained, batch);

    json_decref(root);

    if (rc != NGX_OK) {
        batch->failed = 1;
        return NGX_ERROR;
    }

    batch->sent++;

    return NGX_OK;
}


static void
ngx_http_hoop_audit_drained(ngx_hoop_redis_t *rd, redisReply *reply,
    void *data)
{
    ngx_http_hoop_audit_batch_t  *batch = data;

    ngx_http_hoop_main_conf_t  *hmcf;

    if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
        batch->failed = 1;
    }

    if (++batch->replied < batch->sent) {
        return;
    }

    hmcf = batch->hmcf;
    hmcf->draining = 0;

    /*
     * all or nothing: a batch is marked delivered only if every entry was
     * stored; a retried batch may store some twice, which the verifier
     * recognises as the same event (same session, seq and hash)
     */

    if (!batch->failed && batch->len) {
        ngx_hoop_spool_delivered(hmcf->spool, batch->len);
    }

    ngx_free(batch);
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
    if (ctx != NULL && ctx->rule != NULL) {
        hoop_json_string(&j, "rule", ctx->rule, ngx_strlen(ctx->rule));

    } else {
        hoop_json_null(&j, "rule");
    }

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
