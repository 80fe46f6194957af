/*
 * Copyright (C) nginx-hoop authors
 *
 * hoop_pg_auth: the client proves who it is before any upstream exists.
 * After the StartupMessage the gateway asks for a cleartext password
 * (AuthenticationCleartextPassword) and takes the PasswordMessage as an
 * OIDC access token.  Only a verified token opens the upstream leg; the
 * token itself never leaves the gateway.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_stream.h>

#include "ngx_stream_hoop_pg.h"
#include "hoop_pg_error.h"


#define NGX_STREAM_HOOP_PG_AUTH_CLEARTEXT  3


static void ngx_stream_hoop_pg_auth_handler(ngx_event_t *ev);
static ngx_int_t ngx_stream_hoop_pg_auth_parse(ngx_stream_session_t *s,
    ngx_str_t *token);
static void ngx_stream_hoop_pg_auth_verify(ngx_stream_session_t *s);
static void ngx_stream_hoop_pg_auth_waited(ngx_event_t *ev);
static void ngx_stream_hoop_pg_auth_parked(ngx_event_t *ev);
static void ngx_stream_hoop_pg_auth_start_waited(ngx_event_t *ev);


/*
 * ctx->up.buf holds the StartupMessage (startup_len bytes at pos):
 * it stays there, to be forwarded once the token is verified.  An
 * audited session without hoop_pg_auth comes here too: its login waits
 * for, or is refused for want of, the audit trail all the same.
 */
void
ngx_stream_hoop_pg_auth(ngx_stream_session_t *s)
{
    ssize_t                          n;
    ngx_connection_t                *c;
    ngx_stream_hoop_pg_ctx_t        *ctx;
    ngx_stream_hoop_pg_srv_conf_t   *pscf;
    ngx_stream_hoop_pg_main_conf_t  *pmcf;
    static u_char                    request[] = {
        'R', 0, 0, 0, 8, 0, 0, 0, NGX_STREAM_HOOP_PG_AUTH_CLEARTEXT
    };

    c = s->connection;

    pscf = ngx_stream_get_module_srv_conf(s, ngx_stream_hoop_pg_module);

    if (pscf->auth) {
        c->log->action = "authenticating the Postgres client";
    }

    if (pscf->auth && pscf->require_tls && c->ssl == NULL) {
        ngx_log_error(NGX_LOG_INFO, c->log, 0,
                      "hoop pg: client without TLS refused before its"
                      " token");
        ngx_stream_hoop_pg_fatal(s, NGX_STREAM_BAD_REQUEST, "28000",
                                 "hoop: this gateway takes access tokens"
                                 " only over TLS",
                                 "Connect with sslmode=require (or"
                                 " verify-full).");
        return;
    }

    ctx = ngx_stream_get_module_ctx(s, ngx_stream_hoop_pg_module);
    pmcf = ngx_stream_get_module_main_conf(s, ngx_stream_hoop_pg_module);

    if (pscf->audit && ngx_hoop_audit_starting(&pmcf->audit)) {

        /* a worker just started: its Redis connection is being made */

        ngx_log_debug0(NGX_LOG_DEBUG_STREAM, c->log, 0,
                       "hoop pg: login waits for this worker's first Redis"
                       " connection");

        ctx->waiting_audit = 1;
        c->read->handler = ngx_stream_hoop_pg_auth_parked;

        ctx->wait_event.handler = ngx_stream_hoop_pg_auth_start_waited;
        ctx->wait_event.data = s;
        ctx->wait_event.log = c->log;
        ngx_add_timer(&ctx->wait_event, NGX_HOOP_AUDIT_START_POLL);
        return;
    }

    ctx->waiting_audit = 0;

    if (ngx_stream_hoop_pg_audit_refuses(s, "login")) {
        ngx_stream_hoop_pg_fatal(s, NGX_STREAM_SERVICE_UNAVAILABLE, "57P03",
                                 "hoop: the audit trail is unavailable, so"
                                 " no session can start",
                                 "The gateway records every session; ask"
                                 " its operators about Redis.");
        return;
    }

    ctx->admitted = 1;

    if (!pscf->auth) {
        /* audited, without a token: the session starts here */

        if (c->read->timer_set) {
            ngx_del_timer(c->read);
        }

        ngx_stream_hoop_pg_proxy_connect(s);
        return;
    }

    if (ctx->negotiate.len) {
        n = c->send(c, ctx->negotiate.data, ctx->negotiate.len);

        if (n != (ssize_t) ctx->negotiate.len) {
            ngx_stream_finalize_session(s, NGX_STREAM_OK);
            return;
        }

        ctx->negotiate.len = 0;
    }

    n = c->send(c, request, sizeof(request));

    if (n != (ssize_t) sizeof(request)) {
        ngx_stream_finalize_session(s, NGX_STREAM_OK);
        return;
    }

    /* the startup timer still runs: it bounds the whole login */

    c->read->handler = ngx_stream_hoop_pg_auth_handler;

    ngx_stream_hoop_pg_auth_handler(c->read);
}


static void
ngx_stream_hoop_pg_auth_handler(ngx_event_t *ev)
{
    ngx_int_t                  rc;
    ngx_str_t                  token;
    ngx_connection_t          *c;
    ngx_stream_session_t      *s;
    ngx_stream_hoop_pg_ctx_t  *ctx;

    c = ev->data;
    s = c->data;

    if (ev->timedout) {
        ngx_log_error(NGX_LOG_INFO, c->log, NGX_ETIMEDOUT,
                      "hoop pg: client sent no password in time");
        ngx_stream_hoop_pg_fatal(s, NGX_STREAM_OK, "08P01",
                                 "hoop: password (access token) not received"
                                 " in time", NULL);
        return;
    }

    for ( ;; ) {
        rc = ngx_stream_hoop_pg_auth_parse(s, &token);

        if (rc == NGX_DONE) {
            return;
        }

        if (rc == NGX_OK) {
            ctx = ngx_stream_get_module_ctx(s, ngx_stream_hoop_pg_module);
            ctx->token = token;
            ngx_stream_hoop_pg_auth_verify(s);
            return;
        }

        if (ngx_stream_hoop_pg_login_recv(s) != NGX_OK) {
            return;
        }
    }
}


/*
 * NGX_OK with the token; NGX_AGAIN for more bytes; NGX_DONE when the
 * session was ended over a malformed message.
 */
static ngx_int_t
ngx_stream_hoop_pg_auth_parse(ngx_stream_session_t *s, ngx_str_t *token)
{
    u_char                          *p;
    size_t                           have, len, max;
    ngx_stream_hoop_pg_ctx_t        *ctx;
    ngx_stream_hoop_pg_main_conf_t  *pmcf;

    ctx = ngx_stream_get_module_ctx(s, ngx_stream_hoop_pg_module);
    pmcf = ngx_stream_get_module_main_conf(s, ngx_stream_hoop_pg_module);

    p = ctx->up.buf->pos + ctx->startup_len;
    have = ctx->up.buf->last - p;

    if (have < 1) {
        return NGX_AGAIN;
    }

    if (p[0] != 'p') {
        ngx_log_error(NGX_LOG_INFO, s->connection->log, 0,
                      "hoop pg: client sent message type 0x%02xd instead of"
                      " a password", p[0]);
        ngx_stream_hoop_pg_fatal(s, NGX_STREAM_BAD_REQUEST, "08P01",
                                 "hoop: expected a password message", NULL);
        return NGX_DONE;
    }

    if (have < 5) {
        return NGX_AGAIN;
    }

    len = (size_t) p[1] << 24 | p[2] << 16 | p[3] << 8 | p[4];

    /* a token up to the configured cap, its NUL, and the length itself */

    max = pmcf->oidc.max_token_size + 5;

    if (len < 5 || len > max) {
        ngx_log_error(NGX_LOG_ERR, s->connection->log, 0,
                      "hoop pg: token refused: password message of %uz"
                      " bytes", len);
        ngx_stream_hoop_pg_fatal(s, NGX_STREAM_BAD_REQUEST, "28P01",
                                 len < 5 ? "hoop: malformed password message"
                                 : "hoop: access token refused: token too"
                                   " large", NULL);
        return NGX_DONE;
    }

    if (have < len + 1) {
        return NGX_AGAIN;
    }

    if (p[len] != '\0' || ngx_strlen(p + 5) != len - 5) {
        ngx_stream_hoop_pg_fatal(s, NGX_STREAM_BAD_REQUEST, "08P01",
                                 "hoop: malformed password message", NULL);
        return NGX_DONE;
    }

    token->data = p + 5;
    token->len = len - 5;

    ctx->password_len = len + 1;

    return NGX_OK;
}


static void
ngx_stream_hoop_pg_auth_verify(ngx_stream_session_t *s)
{
    u_char                           msg[128], *tail;
    size_t                           n;
    ngx_int_t                        rc;
    ngx_buf_t                       *b;
    ngx_connection_t                *c;
    hoop_jwt_status_t                status;
    ngx_stream_hoop_pg_ctx_t        *ctx;
    ngx_stream_hoop_pg_main_conf_t  *pmcf;

    c = s->connection;
    ctx = ngx_stream_get_module_ctx(s, ngx_stream_hoop_pg_module);
    pmcf = ngx_stream_get_module_main_conf(s, ngx_stream_hoop_pg_module);
    b = ctx->up.buf;

    rc = ngx_hoop_oidc_verify(&pmcf->oidc, &ctx->token, c->pool, c->log,
                              &ctx->identity, &status, &ctx->wait);

    if (rc == NGX_AGAIN) {

        /*
         * the token names a key being fetched: look again shortly; the
         * client, meanwhile, is only watched for leaving (what it may
         * send is read after the verdict)
         */

        ngx_log_debug0(NGX_LOG_DEBUG_STREAM, c->log, 0,
                       "hoop pg: login waits for signing keys");

        c->log->action = "waiting for the identity provider's keys";
        c->read->handler = ngx_stream_hoop_pg_auth_parked;

        ctx->wait_event.handler = ngx_stream_hoop_pg_auth_waited;
        ctx->wait_event.data = s;
        ctx->wait_event.log = c->log;
        ngx_add_timer(&ctx->wait_event, NGX_HOOP_OIDC_POLL);
        return;
    }

    /*
     * the token is no longer needed: wipe it from the forwarding buffer;
     * what the client sent after it (pipelined) moves up behind the
     * startup packet
     */

    tail = b->pos + ctx->startup_len + ctx->password_len;
    n = b->last - tail;

    ngx_memmove(b->pos + ctx->startup_len, tail, n);
    b->last = b->pos + ctx->startup_len + n;
    ngx_explicit_memzero(b->last, ctx->password_len);
    ngx_str_null(&ctx->token);

    if (rc == NGX_ERROR) {
        ngx_stream_hoop_pg_fatal(s, NGX_STREAM_INTERNAL_SERVER_ERROR, "XX000",
                                 "hoop: internal error while checking the"
                                 " access token", NULL);
        return;
    }

    if (rc == NGX_DECLINED) {
        ngx_log_error(NGX_LOG_ERR, c->log, 0,
                      "hoop pg: token refused: %s",
                      hoop_jwt_status_text(status));

        ctx->refusal = hoop_jwt_status_text(status);
        ngx_stream_hoop_pg_audit_event(s, "auth.failure");

        ngx_snprintf(msg, sizeof(msg) - 1,
                     "hoop: access token refused: %s%Z",
                     hoop_jwt_status_text(status));

        ngx_stream_hoop_pg_fatal(s, NGX_STREAM_OK, "28P01", (char *) msg,
                                 "The password must be an OIDC access token"
                                 " for this gateway.");
        return;
    }

    ctx->authenticated = 1;
    ngx_stream_hoop_pg_audit_event(s, "pg.login");

    ngx_log_error(NGX_LOG_INFO, c->log, 0,
                  "hoop pg: client authenticated as \"%*s\"",
                  ctx->identity.sub.len, ctx->identity.sub.data);

    if (c->read->timer_set) {
        ngx_del_timer(c->read);
    }

    ngx_stream_hoop_pg_proxy_connect(s);
}


static void
ngx_stream_hoop_pg_auth_waited(ngx_event_t *ev)
{
    ngx_stream_session_t  *s = ev->data;

    s->connection->log->action = "authenticating the Postgres client";
    s->connection->read->handler = ngx_stream_hoop_pg_auth_handler;

    ngx_stream_hoop_pg_auth_verify(s);
}


/* The worker's first Redis connection is made or has failed: go on. */
static void
ngx_stream_hoop_pg_auth_start_waited(ngx_event_t *ev)
{
    ngx_stream_session_t  *s = ev->data;

    ngx_stream_hoop_pg_auth(s);
}


/*
 * While keys are fetched, or the audit trail connected: the login
 * timeout, or a client that leaves.
 */
static void
ngx_stream_hoop_pg_auth_parked(ngx_event_t *ev)
{
    u_char                     byte;
    ssize_t                    n;
    ngx_connection_t          *c;
    ngx_stream_session_t      *s;
    ngx_stream_hoop_pg_ctx_t  *ctx;

    c = ev->data;
    s = c->data;

    if (ev->timedout) {

        /* the session's cleanup removes the poll timer */

        ctx = ngx_stream_get_module_ctx(s, ngx_stream_hoop_pg_module);

        if (ctx->waiting_audit) {
            ngx_log_error(NGX_LOG_INFO, c->log, NGX_ETIMEDOUT,
                          "hoop pg: the audit trail was not available in"
                          " time");
            ngx_stream_hoop_pg_fatal(s, NGX_STREAM_OK, "57P03",
                                     "hoop: the audit trail is unavailable,"
                                     " so no session can start", NULL);
            return;
        }

        ngx_log_error(NGX_LOG_INFO, c->log, NGX_ETIMEDOUT,
                      "hoop pg: signing keys not available in time");
        ngx_stream_hoop_pg_fatal(s, NGX_STREAM_OK, "08P01",
                                 "hoop: the access token could not be"
                                 " checked in time", NULL);
        return;
    }

    n = recv(c->fd, &byte, 1, MSG_PEEK);

    if (n == 0 || (n == -1 && ngx_socket_errno != NGX_EAGAIN)) {
        ngx_stream_finalize_session(s, NGX_STREAM_OK);
    }
}
