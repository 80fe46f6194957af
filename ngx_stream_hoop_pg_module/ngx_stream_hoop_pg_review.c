/*
 * Copyright (C) nginx-hoop authors
 *
 * hoop_rule review for Postgres: the statement is held, unsent, while
 * people decide (docs/reviews.md); the client is told with a
 * NoticeResponse naming the review.  What the client pipelined behind it
 * waits; answers to what came before flow on; other sessions are never
 * blocked.  Approved, the statement goes to the server as sent; rejected,
 * expired, or cancelled by the client's CancelRequest (which may reach
 * any worker: the review is tagged with the cancel key the client holds),
 * it is denied like a policy denial, with the reason.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_stream.h>

#include "ngx_stream_hoop_pg.h"
#include "hoop_json.h"
#include "hoop_pg_error.h"
#include "hoop_sql_review.h"


#define NGX_STREAM_HOOP_PG_HOLD_NONE     0
#define NGX_STREAM_HOOP_PG_HOLD_GRANT    1   /* asking for a grant */
#define NGX_STREAM_HOOP_PG_HOLD_WAIT     2   /* the review is open */

#define NGX_STREAM_HOOP_PG_REVIEW_JSON   4096


static ngx_int_t ngx_stream_hoop_pg_review_open(ngx_stream_session_t *s,
    ngx_stream_hoop_pg_sql_t *sql);
static ngx_int_t ngx_stream_hoop_pg_review_spec(ngx_stream_session_t *s,
    ngx_stream_hoop_pg_sql_t *sql, ngx_hoop_review_spec_t *spec);
static ngx_int_t ngx_stream_hoop_pg_review_verdict(ngx_stream_session_t *s,
    ngx_stream_hoop_pg_query_t *q, ngx_uint_t *why, u_char **text);
static void ngx_stream_hoop_pg_review_done(ngx_hoop_review_wait_t *w);
static ngx_hoop_review_wait_t *ngx_stream_hoop_pg_review_wait(
    ngx_stream_session_t *s);
static void ngx_stream_hoop_pg_review_sql(ngx_stream_session_t *s,
    ngx_stream_hoop_pg_sql_t *sql, hoop_json_t *j);


/*
 * The statement sql (of q) needs a review.  NGX_OK: approved, or let
 * through by a grant: send it; NGX_AGAIN: held; NGX_DECLINED: it is
 * denied, *why and *text (ngx_alloc'd, or NULL) say why; NGX_ERROR.
 */
ngx_int_t
ngx_stream_hoop_pg_review(ngx_stream_session_t *s,
    ngx_stream_hoop_pg_sql_t *sql, ngx_stream_hoop_pg_query_t *q,
    ngx_uint_t *why, u_char **text)
{
    ngx_str_t                        name, sub;
    ngx_hoop_review_wait_t          *w;
    ngx_stream_hoop_pg_ctx_t        *ctx;
    ngx_stream_hoop_pg_main_conf_t  *pmcf;

    ctx = ngx_stream_get_module_ctx(s, ngx_stream_hoop_pg_module);
    pmcf = ngx_stream_get_module_main_conf(s, ngx_stream_hoop_pg_module);

    *text = NULL;
    w = ctx->hold;

    if (w != NULL && !w->done) {
        return NGX_AGAIN;
    }

    if (w != NULL && ctx->hold_state == NGX_STREAM_HOOP_PG_HOLD_GRANT) {
        ctx->hold = NULL;
        ctx->hold_state = NGX_STREAM_HOOP_PG_HOLD_NONE;

        if (w->status == NGX_HOOP_REVIEW_APPROVED && w->grant_left) {
            ngx_memcpy(q->review, w->id, NGX_HOOP_REVIEW_ID_LEN + 1);
            q->review_status = "granted";
            q->granted = 1;
            return NGX_OK;
        }

        /* no grant: a review, then */
        return ngx_stream_hoop_pg_review_open(s, sql);
    }

    if (w != NULL) {
        return ngx_stream_hoop_pg_review_verdict(s, q, why, text);
    }
    if (pmcf->reviews == NULL) {
        *why = NGX_STREAM_HOOP_PG_DENIED_NO_REVIEW;
        return NGX_DECLINED;
    }

    /* an approval with grant= may already cover it */

    if (sql->rule->grant_ms && ctx->authenticated) {
        w = ngx_stream_hoop_pg_review_wait(s);
        if (w == NULL) {
            return NGX_ERROR;
        }

        name.data = (u_char *) sql->rule->name;
        name.len = ngx_strlen(sql->rule->name);
        sub.data = (u_char *) ctx->identity.sub.data;
        sub.len = ctx->identity.sub.len;

        if (ngx_hoop_review_grant_check(pmcf->reviews, w, &name, &sub)
            == NGX_OK)
        {
            ctx->hold = w;
            ctx->hold_state = NGX_STREAM_HOOP_PG_HOLD_GRANT;
            return NGX_AGAIN;
        }
    }

    return ngx_stream_hoop_pg_review_open(s, sql);
}


static ngx_hoop_review_wait_t *
ngx_stream_hoop_pg_review_wait(ngx_stream_session_t *s)
{
    ngx_hoop_review_wait_t  *w;

    w = ngx_pcalloc(s->connection->pool, sizeof(ngx_hoop_review_wait_t));
    if (w == NULL) {
        return NULL;
    }

    w->pool = s->connection->pool;
    w->handler = ngx_stream_hoop_pg_review_done;
    w->data = s;

    return w;
}


/* NGX_AGAIN: the review is open; NGX_DECLINED: Redis could not take it */
static ngx_int_t
ngx_stream_hoop_pg_review_open(ngx_stream_session_t *s,
    ngx_stream_hoop_pg_sql_t *sql)
{
    u_char                           tag[64];
    ngx_str_t                        t;
    ngx_hoop_review_wait_t          *w;
    ngx_hoop_review_spec_t           spec;
    ngx_stream_hoop_pg_ctx_t        *ctx;
    ngx_stream_hoop_pg_main_conf_t  *pmcf;

    ctx = ngx_stream_get_module_ctx(s, ngx_stream_hoop_pg_module);
    pmcf = ngx_stream_get_module_main_conf(s, ngx_stream_hoop_pg_module);

    w = ngx_stream_hoop_pg_review_wait(s);
    if (w == NULL) {
        return NGX_ERROR;
    }

    if (ngx_stream_hoop_pg_review_spec(s, sql, &spec) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ngx_hoop_review_request(pmcf->reviews, w, &spec) != NGX_OK) {
        ngx_log_error(NGX_LOG_ERR, s->connection->log, 0,
                      "hoop pg: statement needs a review by rule \"%s\","
                      " but Redis cannot take it", sql->rule->name);

        ctx->hold = w;
        ctx->hold_state = NGX_STREAM_HOOP_PG_HOLD_WAIT;
        w->done = 1;
        w->status = NGX_HOOP_REVIEW_UNAVAILABLE;

        /* the verdict is read at once, on the next turn of the loop */

        ngx_post_event(s->connection->read, &ngx_posted_events);
        return NGX_AGAIN;
    }

    ctx->hold = w;
    ctx->hold_state = NGX_STREAM_HOOP_PG_HOLD_WAIT;

    /* the client's CancelRequest, on any worker, finds it by its key */

    t.data = tag;
    t.len = ngx_sprintf(tag, "pg:%uD:%uD", ctx->issued_pid, ctx->issued_key)
            - tag;

    (void) ngx_hoop_review_tag(w, &t, spec.timeout + 60000);

    ngx_log_error(NGX_LOG_NOTICE, s->connection->log, 0,
                  "hoop pg: statement held for review %s by rule \"%s\"",
                  w->id, sql->rule->name);

    ngx_stream_hoop_pg_audit_review(s, w, sql);

    ctx->hold_notice = 1;

    if (ngx_stream_hoop_pg_review_notice(s) != NGX_OK) {
        return NGX_ERROR;
    }

    return NGX_AGAIN;
}


static ngx_int_t
ngx_stream_hoop_pg_review_spec(ngx_stream_session_t *s,
    ngx_stream_hoop_pg_sql_t *sql, ngx_hoop_review_spec_t *spec)
{
    u_char                    *buf;
    size_t                     len;
    hoop_json_t                j;
    const hoop_rule_t         *rule;
    ngx_stream_hoop_pg_ctx_t  *ctx;

    ctx = ngx_stream_get_module_ctx(s, ngx_stream_hoop_pg_module);
    rule = sql->rule;

    ngx_memzero(spec, sizeof(ngx_hoop_review_spec_t));

    buf = ngx_pnalloc(s->connection->pool, 2 * NGX_STREAM_HOOP_PG_REVIEW_JSON);
    if (buf == NULL) {
        return NGX_ERROR;
    }

    len = 0;

    if (ctx->authenticated) {
        spec->requester.data = (u_char *) ctx->identity.sub.data;
        spec->requester.len = ctx->identity.sub.len;

        hoop_json_init(&j, (char *) buf, NGX_STREAM_HOOP_PG_REVIEW_JSON);
        hoop_identity_json_write(&ctx->identity, &j, NULL);
        len = hoop_json_finish(&j);
    }

    if (len == 0) {
        len = ngx_cpymem(buf, "null", 4) - buf;
    }

    spec->identity.data = buf;
    spec->identity.len = len;

    /* what a reviewer needs: the statement as the audit trail keeps it */

    buf += NGX_STREAM_HOOP_PG_REVIEW_JSON;

    hoop_json_init(&j, (char *) buf, NGX_STREAM_HOOP_PG_REVIEW_JSON);
    hoop_json_object(&j, NULL);
    hoop_json_string(&j, "kind", "pg.query", 8);
    hoop_json_string(&j, "database", (char *) ctx->client_database.data,
                     ctx->client_database.len);
    hoop_json_string(&j, "statement_kind", hoop_sql_kind_name(sql->cls.kind),
                     ngx_strlen(hoop_sql_kind_name(sql->cls.kind)));
    hoop_json_string(&j, "command", sql->cls.command,
                     ngx_strlen(sql->cls.command));

    ngx_stream_hoop_pg_review_sql(s, sql, &j);

    hoop_json_string(&j, "tables", sql->cls.tables,
                     ngx_strlen(sql->cls.tables));
    hoop_json_string(&j, "client", (char *) s->connection->addr_text.data,
                     s->connection->addr_text.len);
    hoop_json_end(&j);

    spec->operation.data = buf;
    spec->operation.len = hoop_json_finish(&j);

    if (spec->operation.len == 0) {
        return NGX_ERROR;
    }

    ngx_hoop_review_spec_rule(spec, rule);

    return NGX_OK;
}


/* A decision (or a grant lookup) came: the held statement is read again. */
static void
ngx_stream_hoop_pg_review_done(ngx_hoop_review_wait_t *w)
{
    ngx_stream_session_t *s = w->data;

    if (w->grant_left) {
        ngx_log_error(NGX_LOG_INFO, s->connection->log, 0,
                      "hoop pg: let through on the grant of review %s"
                      " (%M ms left)", w->id, w->grant_left);

    } else if (w->id[0] != '\0' && w->status != NGX_HOOP_REVIEW_PENDING) {
        ngx_log_error(NGX_LOG_NOTICE, s->connection->log, 0,
                      "hoop pg: review %s %s%s%V", w->id,
                      ngx_hoop_review_status_name(w->status),
                      w->decided_by.len ? " by " : "", &w->decided_by);
    }

    ngx_post_event(s->connection->read, &ngx_posted_events);
}


/*
 * The hold is over; it says what becomes of the statement, and the next
 * one starts afresh.
 */
static ngx_int_t
ngx_stream_hoop_pg_review_verdict(ngx_stream_session_t *s,
    ngx_stream_hoop_pg_query_t *q, ngx_uint_t *why, u_char **text)
{
    u_char                    *p;
    size_t                     len;
    ngx_hoop_review_wait_t    *w;
    ngx_stream_hoop_pg_ctx_t  *ctx;
    u_char                     buf[512];

    ctx = ngx_stream_get_module_ctx(s, ngx_stream_hoop_pg_module);
    w = ctx->hold;

    ctx->hold = NULL;
    ctx->hold_state = NGX_STREAM_HOOP_PG_HOLD_NONE;
    ctx->hold_notice = 0;

    ngx_memcpy(q->review, w->id, NGX_HOOP_REVIEW_ID_LEN + 1);
    q->review_status = ngx_hoop_review_status_name(w->status);

    switch (w->status) {

    case NGX_HOOP_REVIEW_APPROVED:
        return NGX_OK;

    case NGX_HOOP_REVIEW_REJECTED:
        *why = NGX_STREAM_HOOP_PG_DENIED_REJECTED;
        p = ngx_snprintf(buf, sizeof(buf) - 1,
                         "hoop: statement rejected in review %s by %V%s%V",
                         w->id, &w->decided_by, w->reason.len ? ": " : "",
                         &w->reason);
        break;

    case NGX_HOOP_REVIEW_EXPIRED:
        *why = NGX_STREAM_HOOP_PG_DENIED_EXPIRED;
        p = ngx_snprintf(buf, sizeof(buf) - 1,
                         "hoop: statement not approved in time (review %s"
                         " expired)", w->id);
        break;

    case NGX_HOOP_REVIEW_CANCELLED:
        *why = NGX_STREAM_HOOP_PG_DENIED_CANCELLED;
        p = ngx_snprintf(buf, sizeof(buf) - 1,
                         "hoop: statement cancelled while waiting for"
                         " approval (review %s)", w->id);
        break;

    default:
        *why = NGX_STREAM_HOOP_PG_DENIED_NO_REVIEW;
        return NGX_DECLINED;
    }

    len = p - buf;

    *text = ngx_alloc(len + 1, s->connection->log);
    if (*text == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(*text, buf, len);
    (*text)[len] = '\0';

    return NGX_DECLINED;
}


/*
 * "Waiting for approval", as a NoticeResponse, once the flow to the
 * client is between two messages.
 */
ngx_int_t
ngx_stream_hoop_pg_review_notice(ngx_stream_session_t *s)
{
    size_t                     n;
    hoop_pg_error_t            note;
    ngx_stream_hoop_pg_ctx_t  *ctx;
    u_char                     buf[512], msg[160];

    ctx = ngx_stream_get_module_ctx(s, ngx_stream_hoop_pg_module);

    if (!ctx->hold_notice || ctx->down.pass || ctx->hold == NULL) {
        return NGX_OK;
    }

    ctx->hold_notice = 0;

    ngx_snprintf(msg, sizeof(msg) - 1,
                 "hoop: statement held for approval, review %s%Z",
                 ctx->hold->id);
    msg[sizeof(msg) - 1] = '\0';

    note.severity = "NOTICE";
    note.sqlstate = "00000";
    note.message = (char *) msg;
    note.detail = NULL;
    note.hint = "It runs once reviewers approve it; cancel it to give up.";

    n = hoop_pg_error_encode(buf, sizeof(buf), HOOP_PG_NOTICE_RESPONSE,
                             &note);
    if (n == 0) {
        return NGX_ERROR;
    }

    if (ngx_hoop_flow_inject(&ctx->down, s->connection->pool, buf, n)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_post_event(s->connection->write, &ngx_posted_events);

    return NGX_OK;
}


void
ngx_stream_hoop_pg_review_cleanup(ngx_stream_hoop_pg_ctx_t *ctx)
{
    /* the client left: its review is cancelled */

    if (ctx->hold != NULL && !ctx->hold->done) {
        ngx_hoop_review_cancel(ctx->hold);
    }

    ctx->hold = NULL;
}


/*
 * "sql": what reviewers decide on, the statement as sent with the
 * literals masking protects masked (hoop_sql_review_text()); as the
 * trail keeps it (literals as $n) when that cannot be made (too long, or
 * not read); null when neither is safe or fits.
 */
static void
ngx_stream_hoop_pg_review_sql(ngx_stream_session_t *s,
    ngx_stream_hoop_pg_sql_t *sql, hoop_json_t *j)
{
    long                            n;
    u_char                          buf[NGX_STREAM_HOOP_PG_REVIEW_JSON / 4];
    ngx_stream_hoop_pg_srv_conf_t  *pscf;

    pscf = ngx_stream_get_module_srv_conf(s, ngx_stream_hoop_pg_module);

    if (sql->source != NULL && sql->source_len < sizeof(buf) / 2) {
        n = hoop_sql_review_text((char *) sql->source,
                                 (char *) pscf->mask_names,
                                 pscf->mask.enabled ? &pscf->mask : NULL,
                                 (char *) buf, sizeof(buf));

        if (n >= 0 && (size_t) n < sizeof(buf)) {
            hoop_json_string(j, "sql", (char *) buf, n);
            return;
        }
    }

    /* the trail's text: literals as $n, unless hoop_pg_audit_literals */

    if (sql->text != NULL && !pscf->audit_literals
        && sql->len < NGX_STREAM_HOOP_PG_REVIEW_JSON / 8)
    {
        hoop_json_string(j, "sql", (char *) sql->text, sql->len);
        return;
    }

    hoop_json_null(j, "sql");
}
