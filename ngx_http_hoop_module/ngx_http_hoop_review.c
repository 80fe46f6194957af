/*
 * Copyright (C) nginx-hoop authors
 *
 * hoop_rule review ...: the request is held in the access phase while a
 * human decides.  No worker blocks: the request is parked (its read
 * handler only watches for the client going away) and resumed from the
 * Redis callback that brings the decision.  Approved, it goes on to its
 * content handler as if nothing had happened; rejected, it gets a 403
 * with the reviewer's reason; expired, a 504; a client that leaves
 * cancels the review.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "hoop_json.h"
#include "ngx_http_hoop.h"


#define NGX_HTTP_HOOP_REVIEW_JSON  8192


static void ngx_http_hoop_review_done(ngx_hoop_review_wait_t *w);
static void ngx_http_hoop_review_resume(ngx_hoop_review_wait_t *w);
static void ngx_http_hoop_review_grant_cleanup(void *data);
static void ngx_http_hoop_review_cleanup(void *data);
static ngx_int_t ngx_http_hoop_review_verdict(ngx_http_request_t *r,
    ngx_hoop_review_wait_t *w);
static ngx_int_t ngx_http_hoop_review_spec(ngx_http_request_t *r,
    ngx_http_hoop_ctx_t *ctx, const hoop_rule_t *rule,
    ngx_hoop_review_spec_t *spec);


/*
 * The rule said review.  Returns NGX_AGAIN while the request is held,
 * NGX_DECLINED once approved, or the response already sent (NGX_DONE).
 */
ngx_int_t
ngx_http_hoop_review_hold(ngx_http_request_t *r, ngx_http_hoop_ctx_t *ctx,
    const hoop_rule_t *rule)
{
    ngx_pool_cleanup_t         *cln;
    ngx_hoop_review_wait_t     *w;
    ngx_hoop_review_spec_t      spec;
    ngx_http_hoop_loc_conf_t   *hlcf;
    ngx_http_hoop_main_conf_t  *hmcf;

    hlcf = ngx_http_get_module_loc_conf(r, ngx_http_hoop_module);

    if (ctx->review != NULL && ctx->review_conf == hlcf) {
        return ngx_http_hoop_review_verdict(r, ctx->review);
    }

    hmcf = ngx_http_get_module_main_conf(r, ngx_http_hoop_module);

    w = ngx_pcalloc(r->pool, sizeof(ngx_hoop_review_wait_t));
    if (w == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_hoop_review_spec(r, ctx, rule, &spec) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    w->pool = r->pool;
    w->handler = ngx_http_hoop_review_done;
    w->data = r;

    if (hmcf->reviews == NULL
        || ngx_hoop_review_request(hmcf->reviews, w, &spec) != NGX_OK)
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "hoop_rule: request needs a review by rule \"%s\", "
                      "but Redis cannot take it", rule->name);

        return ngx_http_hoop_send_json_error(r,
                                             NGX_HTTP_SERVICE_UNAVAILABLE,
                                             "review_unavailable",
                                             "the review store is"
                                             " unreachable; try again later");
    }

    cln->handler = ngx_http_hoop_review_cleanup;
    cln->data = w;
    ctx->review = w;
    ctx->review_conf = hlcf;

    ngx_log_error(NGX_LOG_NOTICE, r->connection->log, 0,
                  "hoop_rule: request held for review %s by rule \"%s\"",
                  w->id, rule->name);

    ngx_http_hoop_audit_review_requested(r, w, rule);

    /* a push: git is told what it waits for, and kept waiting */

    ngx_http_hoop_git_held(r, ctx, w, rule);

    /* parked: only a client going away is watched for */

    r->read_event_handler = ngx_http_test_reading;
    r->write_event_handler = ngx_http_request_empty_handler;

    return NGX_AGAIN;
}


static ngx_int_t
ngx_http_hoop_review_spec(ngx_http_request_t *r, ngx_http_hoop_ctx_t *ctx,
    const hoop_rule_t *rule, ngx_hoop_review_spec_t *spec)
{
    u_char       *buf;
    size_t        len, size;
    const char   *kind;
    hoop_json_t   j;

    ngx_memzero(spec, sizeof(ngx_hoop_review_spec_t));

    buf = ngx_pnalloc(r->pool, 2 * NGX_HTTP_HOOP_REVIEW_JSON);
    if (buf == NULL) {
        return NGX_ERROR;
    }

    if (ctx->authenticated) {
        spec->requester.data = (u_char *) ctx->identity.sub.data;
        spec->requester.len = ctx->identity.sub.len;

        hoop_json_init(&j, (char *) buf, NGX_HTTP_HOOP_REVIEW_JSON);
        hoop_identity_json_write(&ctx->identity, &j, NULL);
        len = hoop_json_finish(&j);

    } else {
        len = 0;
    }

    spec->identity.data = buf;
    spec->identity.len = len ? len : 4;

    if (len == 0) {
        ngx_memcpy(buf, "null", 4);
    }

    /* what a reviewer needs to decide: never the body, never the query */

    buf += NGX_HTTP_HOOP_REVIEW_JSON;
    size = NGX_HTTP_HOOP_REVIEW_JSON;

    if (ctx->git != NULL && ctx->git->push != NULL) {
        /* a push: its refs too, each name up to 6 times as long escaped */

        size += 6 * ctx->git->push->refs_len
                + 512 * ctx->git->push->ncommands;

        buf = ngx_pnalloc(r->pool, size);
        if (buf == NULL) {
            return NGX_ERROR;
        }
    }

    if (ctx->kube != NULL) {
        /* an exec: its command as shown, escaped */

        if (ngx_http_hoop_kube_shown(r, ctx->kube) != NGX_OK) {
            return NGX_ERROR;
        }

        size += 6 * ngx_min(ctx->kube->shown.len,
                            NGX_HTTP_HOOP_KUBE_COMMAND_SHOWN);

        buf = ngx_pnalloc(r->pool, size);
        if (buf == NULL) {
            return NGX_ERROR;
        }
    }

    hoop_json_init(&j, (char *) buf, size);
    hoop_json_object(&j, NULL);

    kind = ngx_http_hoop_kube_kind(ctx->kube);

    if (ctx->git != NULL && ctx->git->push != NULL) {
        hoop_json_string(&j, "kind", "git.push", 8);

    } else if (kind != NULL) {
        hoop_json_string(&j, "kind", kind, ngx_strlen(kind));

    } else {
        hoop_json_string(&j, "kind", "http.request", 12);
    }

    hoop_json_string(&j, "method", (char *) r->method_name.data,
                     r->method_name.len);
    hoop_json_string(&j, "host", (char *) r->headers_in.server.data,
                     r->headers_in.server.len);
    hoop_json_string(&j, "path", (char *) r->uri.data, r->uri.len);
    hoop_json_string(&j, "client", (char *) r->connection->addr_text.data,
                     r->connection->addr_text.len);
    ngx_http_hoop_git_json(r, &j);
    ngx_http_hoop_kube_json(r, &j);
    hoop_json_end(&j);

    spec->operation.data = buf;
    spec->operation.len = hoop_json_finish(&j);

    if (spec->operation.len == 0) {
        return NGX_ERROR;
    }

    ngx_hoop_review_spec_rule(spec, rule);

    return NGX_OK;
}


/*
 * A rule with grant=: an approval of it lets its requester through for a
 * while.  NGX_OK: a grant lets this request through; NGX_DECLINED: none,
 * review it; NGX_AGAIN: asking Redis.
 */
ngx_int_t
ngx_http_hoop_review_grant(ngx_http_request_t *r, ngx_http_hoop_ctx_t *ctx,
    const hoop_rule_t *rule)
{
    ngx_str_t                   name, sub;
    ngx_pool_cleanup_t         *cln;
    ngx_hoop_review_wait_t     *w;
    ngx_http_hoop_main_conf_t  *hmcf;

    w = (ctx->grant_rule == rule) ? ctx->grant : NULL;

    if (w != NULL) {
        if (!w->done) {
            return NGX_AGAIN;
        }

        if (w->status != NGX_HOOP_REVIEW_APPROVED || w->grant_left == 0) {
            return NGX_DECLINED;
        }

        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "hoop_rule: let through by rule \"%s\" on the grant of"
                      " review %s (%M ms left)", rule->name, w->id,
                      w->grant_left);
        return NGX_OK;
    }

    hmcf = ngx_http_get_module_main_conf(r, ngx_http_hoop_module);

    w = ngx_pcalloc(r->pool, sizeof(ngx_hoop_review_wait_t));
    if (w == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    w->pool = r->pool;
    w->handler = ngx_http_hoop_review_resume;
    w->data = r;

    name.data = (u_char *) rule->name;
    name.len = ngx_strlen(rule->name);
    sub.data = (u_char *) ctx->identity.sub.data;
    sub.len = ctx->identity.sub.len;

    /* not known: no grant; the review that follows fails closed itself */

    if (hmcf->reviews == NULL
        || ngx_hoop_review_grant_check(hmcf->reviews, w, &name, &sub)
           != NGX_OK)
    {
        return NGX_DECLINED;
    }

    cln->handler = ngx_http_hoop_review_grant_cleanup;
    cln->data = w;
    ctx->grant = w;
    ctx->grant_rule = rule;

    r->read_event_handler = ngx_http_test_reading;
    r->write_event_handler = ngx_http_request_empty_handler;

    return NGX_AGAIN;
}


static void
ngx_http_hoop_review_resume(ngx_hoop_review_wait_t *w)
{
    ngx_http_request_t  *r = w->data;

    ngx_connection_t  *c;

    c = r->connection;

    r->write_event_handler = ngx_http_core_run_phases;
    ngx_http_core_run_phases(r);

    ngx_http_run_posted_requests(c);
}


static void
ngx_http_hoop_review_grant_cleanup(void *data)
{
    ngx_hoop_review_cancel(data);
}


/* The decision came: the request goes on, or gets its answer. */
static void
ngx_http_hoop_review_done(ngx_hoop_review_wait_t *w)
{
    ngx_http_request_t  *r = w->data;

    ngx_int_t          rc;
    ngx_connection_t  *c;

    c = r->connection;

    ngx_log_error(NGX_LOG_NOTICE, c->log, 0,
                  "hoop_rule: review %s %s%s%V", w->id,
                  ngx_hoop_review_status_name(w->status),
                  w->decided_by.len ? " by " : "", &w->decided_by);

    if (w->status == NGX_HOOP_REVIEW_APPROVED) {
        r->write_event_handler = ngx_http_core_run_phases;
        ngx_http_core_run_phases(r);

    } else {
        rc = ngx_http_hoop_review_verdict(r, w);

        if (rc != NGX_DONE) {
            ngx_http_finalize_request(r, rc);
        }
    }

    ngx_http_run_posted_requests(c);
}


static ngx_int_t
ngx_http_hoop_review_verdict(ngx_http_request_t *r, ngx_hoop_review_wait_t *w)
{
    u_char               *p, *msg;
    size_t                len;
    ngx_int_t             rc;
    ngx_uint_t            status;
    const char           *error, *reason;
    ngx_http_hoop_ctx_t  *ctx;

    switch (w->status) {

    case NGX_HOOP_REVIEW_PENDING:
        return NGX_AGAIN;

    case NGX_HOOP_REVIEW_APPROVED:
        return NGX_DECLINED;

    case NGX_HOOP_REVIEW_REJECTED:
        status = NGX_HTTP_FORBIDDEN;
        error = "review_rejected";
        break;

    case NGX_HOOP_REVIEW_EXPIRED:
        status = NGX_HTTP_GATEWAY_TIME_OUT;
        error = "review_expired";
        break;

    default:
        status = NGX_HTTP_SERVICE_UNAVAILABLE;
        error = "review_unavailable";
    }

    /* the longest of the messages below, with its variable parts */

    len = sizeof("review  could not be completed") + NGX_HOOP_REVIEW_ID_LEN
          + sizeof(" rejected by : ") + w->decided_by.len + w->reason.len;

    msg = ngx_pnalloc(r->pool, len);
    if (msg == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (w->status == NGX_HOOP_REVIEW_REJECTED) {
        p = ngx_sprintf(msg, "review %s rejected by %V%s%V", w->id,
                        &w->decided_by, w->reason.len ? ": " : "",
                        &w->reason);

    } else if (w->status == NGX_HOOP_REVIEW_EXPIRED) {
        p = ngx_sprintf(msg, "review %s expired without a decision", w->id);

    } else {
        p = ngx_sprintf(msg, "review %s could not be completed", w->id);
    }

    *p = '\0';

    /* a push: as git shows a refusal, every ref "ng" with the reason */

    ctx = ngx_http_hoop_get_ctx(r);

    if (ctx != NULL && ctx->git != NULL && ctx->git->push != NULL) {
        return ngx_http_hoop_git_refuse(r, ctx, NULL, (char *) msg);
    }

    /* an exec: as the API server words a refusal */

    if (ctx != NULL && ctx->kube != NULL) {
        reason = (status == NGX_HTTP_FORBIDDEN) ? "Forbidden"
                 : (status == NGX_HTTP_GATEWAY_TIME_OUT) ? "Timeout"
                 : "ServiceUnavailable";

        rc = ngx_http_hoop_kube_refuse_in_stream(r, ctx->kube, status,
                                                 reason, (char *) msg);
        if (rc != NGX_DECLINED) {
            return rc;
        }

        return ngx_http_hoop_kube_status(r, status, reason, (char *) msg,
                                         NULL);
    }

    return ngx_http_hoop_send_json_error(r, status, error, (char *) msg);
}


/* The request is going away: a review still pending is cancelled. */
static void
ngx_http_hoop_review_cleanup(void *data)
{
    ngx_hoop_review_wait_t  *w = data;

    if (!w->done) {
        ngx_log_error(NGX_LOG_NOTICE, w->expire.log, 0,
                      "hoop_rule: review %s cancelled: the client left",
                      w->id);
    }

    ngx_hoop_review_cancel(w);
}


/*
 * The request is logged, still held: its client left (or it was ended
 * otherwise).  The review is cancelled now, before its audit event is
 * written, so that the event says "cancelled" as the review does, not
 * "pending".
 */
void
ngx_http_hoop_review_abandon(ngx_http_hoop_ctx_t *ctx)
{
    if (ctx == NULL || ctx->review == NULL || ctx->review->done) {
        return;
    }

    ngx_http_hoop_review_cleanup(ctx->review);
}
