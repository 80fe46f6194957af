/*
 * Copyright (C) nginx-hoop authors
 *
 * hoop_audit: one event per HTTP request, through the shared audit sink
 * (shared/ngx/ngx_hoop_audit.c), chained to the previous event of its
 * session (the client connection) so that an edited, reordered or deleted
 * event shows.  Events are written in the log phase, when status and
 * sizes are known; with hoop_audit_fail closed (the default) a request is
 * refused with 503 up front when neither Redis nor the spool can take
 * events.  A session that had events ends with http.session.end when its
 * connection closes, so that its last event is known.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "hoop_json.h"
#include "ngx_http_hoop.h"


/* A client connection's session: the data of its pool cleanup. */
typedef struct {
    ngx_hoop_audit_session_t    sess;        /* first: cln->data is both */
    ngx_hoop_audit_t           *audit;
    ngx_str_t                   client;      /* in the connection's pool */
    ngx_msec_t                  start;
    ngx_uint_t                  requests;
} ngx_http_hoop_audit_conn_t;


static ngx_int_t ngx_http_hoop_audit_access(ngx_http_request_t *r);
static ngx_int_t ngx_http_hoop_audit_log(ngx_http_request_t *r);
static ngx_hoop_audit_session_t *ngx_http_hoop_audit_session(
    ngx_http_request_t *r);
static void ngx_http_hoop_audit_event(void *data, hoop_json_t *j,
    ngx_hoop_audit_session_t *sess);
static void ngx_http_hoop_audit_session_cleanup(void *data);
static void ngx_http_hoop_audit_end_event(void *data, hoop_json_t *j,
    ngx_hoop_audit_session_t *sess);
static void ngx_http_hoop_audit_path(ngx_http_request_t *r, hoop_json_t *j);
static void ngx_http_hoop_audit_text(ngx_http_request_t *r, hoop_json_t *j,
    const char *key, ngx_str_t *text);
static void ngx_http_hoop_audit_masked(ngx_http_request_t *r,
    hoop_json_t *j);
static ngx_int_t ngx_http_hoop_audit_add(ngx_http_request_t *r,
    ngx_hoop_audit_build_pt build, void *data);
static void ngx_http_hoop_audit_review_event(void *data, hoop_json_t *j,
    ngx_hoop_audit_session_t *sess);
static void ngx_http_hoop_audit_held_event(void *data, hoop_json_t *j,
    ngx_hoop_audit_session_t *sess);


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

    if (ngx_hoop_audit_available(&hmcf->audit)) {
        return NGX_DECLINED;
    }

    if (ngx_hoop_audit_starting(&hmcf->audit)) {
        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "hoop audit: request waits for this worker's first"
                       " Redis connection");
        return ngx_http_hoop_delay(r, NGX_HOOP_AUDIT_START_POLL);
    }

    /* said here, once: the log phase does not try to store this event */

    ctx = ngx_http_hoop_ctx_create(r);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->audit_unavailable = 1;

    if (ngx_hoop_audit_admit(&hmcf->audit, r->connection->log, "request")
        == NGX_OK)
    {
        return NGX_DECLINED;
    }

    return NGX_HTTP_SERVICE_UNAVAILABLE;
}


static ngx_int_t
ngx_http_hoop_audit_log(ngx_http_request_t *r)
{
    ngx_http_hoop_ctx_t  *ctx;

    /* refused at access for want of an event store: said then, once */

    ctx = ngx_http_hoop_get_ctx(r);

    if (ctx != NULL && ctx->audit_unavailable) {
        return NGX_OK;
    }

    ngx_http_hoop_review_abandon(ctx);
    ngx_http_hoop_kube_relay_log(r);

    if (ngx_http_hoop_audit_add(r, ngx_http_hoop_audit_event, r) != NGX_OK) {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * An event of the request's own (an exec's recorded data), built by build
 * from data; the request's session numbers and chains it.
 */
ngx_int_t
ngx_http_hoop_audit_emit(ngx_http_request_t *r,
    ngx_hoop_audit_build_pt build, void *data)
{
    return ngx_http_hoop_audit_add(r, build, data);
}


/* The next event of the request's session, where the location audits. */
static ngx_int_t
ngx_http_hoop_audit_add(ngx_http_request_t *r, ngx_hoop_audit_build_pt build,
    void *data)
{
    ngx_hoop_audit_session_t   *sess;
    ngx_http_hoop_loc_conf_t   *hlcf;
    ngx_http_hoop_main_conf_t  *hmcf;

    hlcf = ngx_http_get_module_loc_conf(r, ngx_http_hoop_module);

    if (!hlcf->audit || r != r->main) {
        return NGX_OK;
    }

    hmcf = ngx_http_get_module_main_conf(r, ngx_http_hoop_module);

    sess = ngx_http_hoop_audit_session(r);
    if (sess == NULL) {
        return NGX_ERROR;
    }

    if (build == ngx_http_hoop_audit_event) {
        ((ngx_http_hoop_audit_conn_t *) sess)->requests++;
    }

    return ngx_hoop_audit_emit(&hmcf->audit, sess, build, data,
                               r->connection->log);
}


/*
 * {"v":1,"type":"http.request","time":..,"gateway":..,"session":..,
 *  "seq":..,"identity":{..}|null,"request":{..},"response":{..},
 *  "decision":{..}}
 */
static void
ngx_http_hoop_audit_event(void *data, hoop_json_t *j,
    ngx_hoop_audit_session_t *sess)
{
    ngx_http_request_t *r = data;

    ngx_msec_int_t           ms;
    ngx_time_t              *tp;
    ngx_uint_t               status, denied;
    const char              *name, *type;
    ngx_http_hoop_ctx_t     *ctx;
    ngx_hoop_review_wait_t  *w;

    tp = ngx_timeofday();

    ms = (ngx_msec_int_t) ((tp->sec - r->start_sec) * 1000
                           + (tp->msec - r->start_msec));
    ms = ngx_max(ms, 0);

    status = r->err_status ? r->err_status : r->headers_out.status;
    ctx = ngx_http_hoop_get_ctx(r);

    /* a git push or fetch is an event of its own kind, with its refs */

    type = "http.request";

    if (ctx != NULL && ctx->git != NULL && !ctx->git->discovery) {
        type = ctx->git->receive ? "git.push" : "git.fetch";
    }

    /* so is a pod's exec, attach or portforward */

    if (ctx != NULL && ngx_http_hoop_kube_kind(ctx->kube) != NULL) {
        type = ngx_http_hoop_kube_kind(ctx->kube);
    }

    hoop_json_object(j, NULL);
    ngx_hoop_audit_envelope(j, type, sess);

    if (ctx != NULL && ctx->authenticated) {
        hoop_identity_json_write(&ctx->identity, j, "identity");

    } else {
        hoop_json_null(j, "identity");
    }

    /* the path, not the query string: arguments may carry secrets */

    hoop_json_object(j, "request");
    hoop_json_string(j, "method", (char *) r->method_name.data,
                     r->method_name.len);

    /* an override the rules decided on, not the method sent */

    if (ctx != NULL && ctx->method.len != 0
        && ctx->method.data != r->method_name.data)
    {
        hoop_json_string(j, "method_override", (char *) ctx->method.data,
                         ctx->method.len);
    }

    hoop_json_string(j, "host", (char *) r->headers_in.server.data,
                     r->headers_in.server.len);
    ngx_http_hoop_audit_path(r, j);
    hoop_json_string(j, "client", (char *) r->connection->addr_text.data,
                     r->connection->addr_text.len);
    hoop_json_end(j);

    hoop_json_object(j, "response");
    hoop_json_int(j, "status", (long long) status);
    hoop_json_int(j, "bytes_in", (long long) r->request_length);
    hoop_json_int(j, "bytes_out", (long long) r->connection->sent);
    hoop_json_int(j, "duration_ms", (long long) ms);
    ngx_http_hoop_audit_masked(r, j);
    hoop_json_end(j);

    denied = status == NGX_HTTP_UNAUTHORIZED
             || status == NGX_HTTP_FORBIDDEN
             || (ctx != NULL && ctx->review != NULL
                 && ctx->review->status != NGX_HOOP_REVIEW_APPROVED)
             || (ctx != NULL && ctx->git != NULL && ctx->git->refused)
             || (ctx != NULL && ctx->kube != NULL && ctx->kube->in_stream);

    ngx_http_hoop_git_json(r, j);
    ngx_http_hoop_kube_json(r, j);

    hoop_json_object(j, "decision");
    hoop_json_string(j, "result", denied ? "deny" : "allow", denied ? 4 : 5);
    if (ctx != NULL && ctx->rule != NULL) {
        hoop_json_string(j, "rule", ctx->rule, ngx_strlen(ctx->rule));

    } else {
        hoop_json_null(j, "rule");
    }

    if (ctx != NULL && ctx->grant != NULL && ctx->review == NULL
        && ctx->grant->status == NGX_HOOP_REVIEW_APPROVED)
    {
        hoop_json_object(j, "grant");
        hoop_json_string(j, "review", (char *) ctx->grant->id,
                         NGX_HOOP_REVIEW_ID_LEN);
        hoop_json_int(j, "left_ms", (long long) ctx->grant->grant_left);
        hoop_json_end(j);
    }

    if (ctx != NULL && ctx->review != NULL) {
        w = ctx->review;
        name = ngx_hoop_review_status_name(w->status);

        hoop_json_object(j, "review");
        hoop_json_string(j, "id", (char *) w->id, NGX_HOOP_REVIEW_ID_LEN);
        hoop_json_string(j, "status", name, ngx_strlen(name));

        if (w->decided_by.len) {
            hoop_json_string(j, "decided_by", (char *) w->decided_by.data,
                             w->decided_by.len);
        }

        hoop_json_end(j);
    }

    hoop_json_end(j);

    hoop_json_end(j);
}


typedef struct {
    ngx_http_request_t         *request;
    ngx_hoop_review_wait_t     *wait;
    const hoop_rule_t          *rule;
} ngx_http_hoop_audit_held_t;


typedef struct {
    ngx_http_request_t         *request;
    ngx_str_t                  *id;
    ngx_uint_t                  approve;
    ngx_hoop_review_outcome_t  *outcome;
    ngx_str_t                  *reason;
} ngx_http_hoop_audit_review_t;


/* A reviewer's decision, in the reviewer's session: review.decided. */
void
ngx_http_hoop_audit_review(ngx_http_request_t *r, ngx_str_t *id,
    ngx_uint_t approve, ngx_hoop_review_outcome_t *outcome,
    ngx_str_t *reason)
{
    ngx_http_hoop_audit_review_t  rv;

    rv.request = r;
    rv.id = id;
    rv.approve = approve;
    rv.outcome = outcome;
    rv.reason = reason;

    (void) ngx_http_hoop_audit_add(r, ngx_http_hoop_audit_review_event, &rv);
}


static void
ngx_http_hoop_audit_review_event(void *data, hoop_json_t *j,
    ngx_hoop_audit_session_t *sess)
{
    ngx_http_hoop_audit_review_t *rv = data;

    ngx_http_hoop_ctx_t  *ctx;

    ctx = ngx_http_hoop_get_ctx(rv->request);

    hoop_json_object(j, NULL);
    ngx_hoop_audit_envelope(j, "review.decided", sess);
    hoop_identity_json_write(&ctx->identity, j, "identity");

    hoop_json_object(j, "review");
    hoop_json_string(j, "id", (char *) rv->id->data, rv->id->len);
    hoop_json_string(j, "verdict", rv->approve ? "approve" : "reject",
                     rv->approve ? 7 : 6);
    hoop_json_string(j, "result", (char *) rv->outcome->result.data,
                     rv->outcome->result.len);
    hoop_json_string(j, "status", (char *) rv->outcome->status.data,
                     rv->outcome->status.len);
    hoop_json_int(j, "approvals", rv->outcome->approvals);
    hoop_json_int(j, "required", rv->outcome->required);
    hoop_json_string(j, "reason", (char *) rv->reason->data,
                     rv->reason->len);
    hoop_json_end(j);

    hoop_json_end(j);
}


/* A request held for review, in the requester's session. */
void
ngx_http_hoop_audit_review_requested(ngx_http_request_t *r,
    ngx_hoop_review_wait_t *w, const hoop_rule_t *rule)
{
    ngx_http_hoop_audit_held_t  held;

    held.request = r;
    held.wait = w;
    held.rule = rule;

    (void) ngx_http_hoop_audit_add(r, ngx_http_hoop_audit_held_event, &held);
}


static void
ngx_http_hoop_audit_held_event(void *data, hoop_json_t *j,
    ngx_hoop_audit_session_t *sess)
{
    ngx_http_hoop_audit_held_t *held = data;

    ngx_http_request_t   *r;
    ngx_http_hoop_ctx_t  *ctx;

    r = held->request;
    ctx = ngx_http_hoop_get_ctx(r);

    hoop_json_object(j, NULL);
    ngx_hoop_audit_envelope(j, "review.requested", sess);

    if (ctx != NULL && ctx->authenticated) {
        hoop_identity_json_write(&ctx->identity, j, "identity");

    } else {
        hoop_json_null(j, "identity");
    }

    hoop_json_object(j, "request");
    hoop_json_string(j, "method", (char *) r->method_name.data,
                     r->method_name.len);

    /* an override the rules decided on, not the method sent */

    if (ctx != NULL && ctx->method.len != 0
        && ctx->method.data != r->method_name.data)
    {
        hoop_json_string(j, "method_override", (char *) ctx->method.data,
                         ctx->method.len);
    }

    hoop_json_string(j, "host", (char *) r->headers_in.server.data,
                     r->headers_in.server.len);
    ngx_http_hoop_audit_path(r, j);
    hoop_json_end(j);

    hoop_json_object(j, "review");
    hoop_json_string(j, "id", (char *) held->wait->id,
                     NGX_HOOP_REVIEW_ID_LEN);
    hoop_json_string(j, "rule", held->rule->name,
                     ngx_strlen(held->rule->name));
    hoop_json_string(j, "approvers", held->rule->approvers,
                     ngx_strlen(held->rule->approvers));
    hoop_json_int(j, "required", held->rule->required);
    hoop_json_int(j, "timeout_ms", (long long) held->rule->timeout_ms);
    hoop_json_end(j);

    hoop_json_end(j);
}


/*
 * The path as recorded, and the laxest reading of it when the rules saw
 * another one (hoop_rule_path_lax): masked as the location masks its
 * responses.  A request redirected inside nginx (X-Accel-Redirect,
 * error_page, a named location, try_files) ends on another URI: the path
 * is what the client asked for, as its request line spelled it, and
 * redirected_to the URI that answered.
 */
static void
ngx_http_hoop_audit_path(ngx_http_request_t *r, hoop_json_t *j)
{
    u_char               *q;
    ngx_str_t             asked;
    ngx_http_hoop_ctx_t  *ctx;

    asked = r->uri;

    if (r->internal && r->unparsed_uri.len != 0) {
        asked = r->unparsed_uri;
        q = ngx_strlchr(asked.data, asked.data + asked.len, '?');

        if (q != NULL) {
            asked.len = q - asked.data;
        }
    }

    ngx_http_hoop_audit_text(r, j, "path", &asked);

    if (asked.len != r->uri.len
        || ngx_strncmp(asked.data, r->uri.data, asked.len) != 0)
    {
        ngx_http_hoop_audit_text(r, j, "redirected_to", &r->uri);
    }

    ctx = ngx_http_hoop_get_ctx(r);

    if (ctx != NULL && ctx->path_lax.len != 0) {
        ngx_http_hoop_audit_text(r, j, "path_lax", &ctx->path_lax);
    }
}


/* text masked as the location masks its responses */
static void
ngx_http_hoop_audit_text(ngx_http_request_t *r, hoop_json_t *j,
    const char *key, ngx_str_t *text)
{
    size_t                   n, size;
    u_char                  *out;
    const hoop_mask_conf_t  *mask;

    mask = ngx_http_hoop_mask_conf(r);

    if (mask == NULL) {
        hoop_json_string(j, key, (char *) text->data, text->len);
        return;
    }

    size = text->len * 4 + HOOP_MASK_REPLACEMENT_MAX;

    out = ngx_pnalloc(r->pool, size);
    if (out == NULL) {
        hoop_json_null(j, key);
        return;
    }

    n = hoop_mask_string(mask, text->data, text->len, out, size, NULL);

    if (n == (size_t) -1) {
        hoop_json_null(j, key);
        return;
    }

    hoop_json_string(j, key, (char *) out, n);
}


/*
 * "masked": {"email": 2, ...}: the values the response had masked, in
 * its headers and body; "unmasked": {"reason": "not_text", "action":
 * "refused"} when its body was not masked, and why.
 */
static void
ngx_http_hoop_audit_masked(ngx_http_request_t *r, hoop_json_t *j)
{
    uint64_t     counts[HOOP_MASK_NTYPES];
    ngx_uint_t   i;
    const char  *unmasked, *action;

    if (ngx_http_hoop_mask_result(r, counts, &unmasked, &action) != NGX_OK) {
        hoop_json_null(j, "masked");
        return;
    }

    hoop_json_object(j, "masked");

    for (i = 0; i < HOOP_MASK_NTYPES; i++) {
        if (counts[i] != 0) {
            hoop_json_int(j, hoop_mask_type_name(i), (long long) counts[i]);
        }
    }

    hoop_json_end(j);

    if (unmasked != NULL) {
        hoop_json_object(j, "unmasked");
        hoop_json_string(j, "reason", unmasked, ngx_strlen(unmasked));
        hoop_json_string(j, "action", action, ngx_strlen(action));
        hoop_json_end(j);
    }
}


/* The connection's session, found as the realip module finds its ctx. */
static ngx_hoop_audit_session_t *
ngx_http_hoop_audit_session(ngx_http_request_t *r)
{
    ngx_pool_t                  *pool;
    ngx_pool_cleanup_t          *cln;
    ngx_http_hoop_audit_conn_t  *conn;
    ngx_http_hoop_main_conf_t   *hmcf;

    pool = r->connection->pool;

    for (cln = pool->cleanup; cln; cln = cln->next) {
        if (cln->handler == ngx_http_hoop_audit_session_cleanup) {
            return cln->data;
        }
    }

    cln = ngx_pool_cleanup_add(pool, sizeof(ngx_http_hoop_audit_conn_t));
    if (cln == NULL) {
        return NULL;
    }

    conn = cln->data;

    if (ngx_hoop_audit_session_init(&conn->sess) != NGX_OK) {
        cln->data = NULL;
        return NULL;
    }

    hmcf = ngx_http_get_module_main_conf(r, ngx_http_hoop_module);

    conn->audit = &hmcf->audit;
    conn->client = r->connection->addr_text;
    conn->start = ngx_current_msec;
    conn->requests = 0;

    cln->handler = ngx_http_hoop_audit_session_cleanup;

    return &conn->sess;
}


/*
 * The connection closes: its session ends.  The connection is gone (its
 * pool is being destroyed), hence the cycle's log.
 */
static void
ngx_http_hoop_audit_session_cleanup(void *data)
{
    ngx_http_hoop_audit_conn_t  *conn = data;

    if (conn == NULL || conn->sess.seq == 0) {
        return;
    }

    /* the events it had were admitted; an end nobody can take is not */

    if (ngx_hoop_audit_available(conn->audit)) {
        (void) ngx_hoop_audit_emit(conn->audit, &conn->sess,
                                   ngx_http_hoop_audit_end_event, conn,
                                   ngx_cycle->log);
    }

    ngx_hoop_audit_session_end(conn->audit, &conn->sess);
}


/*
 * {..envelope.., "identity":null,"client":{"address":..,"protocol":"http"},
 *  "session_end":{"requests":n,"duration_ms":n}}
 */
static void
ngx_http_hoop_audit_end_event(void *data, hoop_json_t *j,
    ngx_hoop_audit_session_t *sess)
{
    ngx_http_hoop_audit_conn_t  *conn = data;

    hoop_json_object(j, NULL);
    ngx_hoop_audit_envelope(j, "http.session.end", sess);
    hoop_json_null(j, "identity");

    hoop_json_object(j, "client");
    hoop_json_string(j, "address", (char *) conn->client.data,
                     conn->client.len);
    hoop_json_string(j, "protocol", "http", 4);
    hoop_json_end(j);

    hoop_json_object(j, "session_end");
    hoop_json_int(j, "requests", (long long) conn->requests);
    hoop_json_int(j, "duration_ms",
                  (long long) (ngx_current_msec - conn->start));
    hoop_json_end(j);

    hoop_json_end(j);
}
