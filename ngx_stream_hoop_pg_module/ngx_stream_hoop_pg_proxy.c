/*
 * Copyright (C) nginx-hoop authors
 *
 * The upstream leg of a Postgres session: connect to the server named by
 * hoop_pg_pass, forward the client's startup packet, then relay bytes both
 * ways.  If the server cannot be reached, the client gets a Postgres
 * ErrorResponse saying so, not a reset.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_stream.h>

#include "ngx_stream_hoop_pg.h"


static void ngx_stream_hoop_pg_connect_handler(ngx_event_t *ev);
static ngx_int_t ngx_stream_hoop_pg_test_connect(ngx_connection_t *c);
static void ngx_stream_hoop_pg_relay_start(ngx_stream_session_t *s);
static void ngx_stream_hoop_pg_client_handler(ngx_event_t *ev);
static void ngx_stream_hoop_pg_upstream_handler(ngx_event_t *ev);
static void ngx_stream_hoop_pg_relay(ngx_stream_session_t *s,
    ngx_uint_t from_upstream);
static void ngx_stream_hoop_pg_upstream_failed(ngx_stream_session_t *s);
static ngx_int_t ngx_stream_hoop_pg_upstream_auth_check(
    ngx_stream_session_t *s, ngx_buf_t *b);


void
ngx_stream_hoop_pg_proxy_connect(ngx_stream_session_t *s)
{
    ngx_int_t                       rc;
    ngx_connection_t               *c, *pc;
    ngx_stream_hoop_pg_ctx_t       *ctx;
    ngx_stream_hoop_pg_srv_conf_t  *pscf;

    c = s->connection;
    ctx = ngx_stream_get_module_ctx(s, ngx_stream_hoop_pg_module);
    pscf = ngx_stream_get_module_srv_conf(s, ngx_stream_hoop_pg_module);

    c->log->action = "connecting to upstream";

    ctx->peer.sockaddr = pscf->upstream->sockaddr;
    ctx->peer.socklen = pscf->upstream->socklen;
    ctx->peer.name = &pscf->upstream->name;
    ctx->peer.get = ngx_event_get_peer;
    ctx->peer.log = c->log;
    ctx->peer.log_error = NGX_ERROR_ERR;

    rc = ngx_event_connect_peer(&ctx->peer);

    ngx_log_debug1(NGX_LOG_DEBUG_STREAM, c->log, 0,
                   "hoop pg connect: %i", rc);

    if (rc == NGX_ERROR || rc == NGX_BUSY || rc == NGX_DECLINED) {
        ngx_stream_hoop_pg_upstream_failed(s);
        return;
    }

    pc = ctx->peer.connection;

    pc->data = s;
    pc->log = c->log;
    pc->pool = c->pool;
    pc->read->log = c->log;
    pc->write->log = c->log;

    /* the client waits for an answer; nothing to read from it meanwhile */

    c->read->handler = ngx_stream_hoop_pg_client_handler;
    c->write->handler = ngx_stream_hoop_pg_client_handler;

    if (rc == NGX_AGAIN) {
        pc->read->handler = ngx_stream_hoop_pg_connect_handler;
        pc->write->handler = ngx_stream_hoop_pg_connect_handler;

        ngx_add_timer(pc->write, pscf->connect_timeout);
        return;
    }

    ngx_stream_hoop_pg_relay_start(s);
}


static void
ngx_stream_hoop_pg_connect_handler(ngx_event_t *ev)
{
    ngx_connection_t      *c, *pc;
    ngx_stream_session_t  *s;

    pc = ev->data;
    s = pc->data;
    c = s->connection;

    if (ev->timedout) {
        ngx_log_error(NGX_LOG_ERR, c->log, NGX_ETIMEDOUT,
                      "hoop pg: upstream timed out");
        ngx_stream_hoop_pg_upstream_failed(s);
        return;
    }

    if (pc->write->timer_set) {
        ngx_del_timer(pc->write);
    }

    if (ngx_stream_hoop_pg_test_connect(pc) != NGX_OK) {
        ngx_stream_hoop_pg_upstream_failed(s);
        return;
    }

    ngx_stream_hoop_pg_relay_start(s);
}


static ngx_int_t
ngx_stream_hoop_pg_test_connect(ngx_connection_t *c)
{
    int        err;
    socklen_t  len;

    err = 0;
    len = sizeof(int);

    /* Linux reports a failed non-blocking connect() in SO_ERROR */

    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, (void *) &err, &len) == -1) {
        err = ngx_socket_errno;
    }

    if (err) {
        (void) ngx_connection_error(c, err, "connect() failed");
        return NGX_ERROR;
    }

    return NGX_OK;
}


static void
ngx_stream_hoop_pg_relay_start(ngx_stream_session_t *s)
{
    ngx_connection_t          *c, *pc;
    ngx_stream_hoop_pg_ctx_t  *ctx;

    c = s->connection;
    ctx = ngx_stream_get_module_ctx(s, ngx_stream_hoop_pg_module);
    pc = ctx->peer.connection;

    ctx->connected = 1;

    /* the upstream must take us in without asking the client anything */

    ctx->upstream_auth_pending = ctx->authenticated;

    if (c->type == SOCK_STREAM && ngx_tcp_nodelay(pc) != NGX_OK) {
        ngx_stream_finalize_session(s, NGX_STREAM_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_log_debug1(NGX_LOG_DEBUG_STREAM, c->log, 0,
                   "hoop pg: connected to %V", ctx->peer.name);

    c->log->action = "relaying Postgres traffic";

    pc->read->handler = ngx_stream_hoop_pg_upstream_handler;
    pc->write->handler = ngx_stream_hoop_pg_upstream_handler;

    /* the server speaks only when spoken to: start with the client side */

    ngx_stream_hoop_pg_relay(s, 0);

    if (c->destroyed) {
        return;
    }

    ngx_stream_hoop_pg_relay(s, 1);
}


static void
ngx_stream_hoop_pg_client_handler(ngx_event_t *ev)
{
    ngx_connection_t          *c;
    ngx_stream_session_t      *s;
    ngx_stream_hoop_pg_ctx_t  *ctx;

    c = ev->data;
    s = c->data;

    ctx = ngx_stream_get_module_ctx(s, ngx_stream_hoop_pg_module);

    if (!ctx->connected) {
        /* leave the data queued; relay_start() reads it */
        return;
    }

    /* readable client: client -> upstream; writable: upstream -> client */
    ngx_stream_hoop_pg_relay(s, ev->write);
}


static void
ngx_stream_hoop_pg_upstream_handler(ngx_event_t *ev)
{
    ngx_connection_t      *pc;
    ngx_stream_session_t  *s;

    pc = ev->data;
    s = pc->data;

    ngx_stream_hoop_pg_relay(s, !ev->write);
}


static void
ngx_stream_hoop_pg_relay(ngx_stream_session_t *s, ngx_uint_t from_upstream)
{
    size_t                     size;
    ssize_t                    n;
    ngx_buf_t                 *b;
    ngx_connection_t          *c, *src, *dst;
    ngx_stream_hoop_pg_ctx_t  *ctx;

    c = s->connection;
    ctx = ngx_stream_get_module_ctx(s, ngx_stream_hoop_pg_module);

    if (from_upstream) {
        src = ctx->peer.connection;
        dst = c;
        b = ctx->to_client;

    } else {
        src = c;
        dst = ctx->peer.connection;
        b = ctx->to_upstream;
    }

    for ( ;; ) {

        if (from_upstream && ctx->upstream_auth_pending
            && ngx_stream_hoop_pg_upstream_auth_check(s, b) == NGX_DONE)
        {
            return;
        }

        size = b->last - b->pos;

        if (size && dst->write->ready
            && !(from_upstream && ctx->upstream_auth_pending))
        {
            n = dst->send(dst, b->pos, size);

            if (n == NGX_ERROR) {
                ngx_stream_finalize_session(s, NGX_STREAM_OK);
                return;
            }

            if (n > 0) {
                b->pos += n;

                if (b->pos == b->last) {
                    b->pos = b->start;
                    b->last = b->start;
                }
            }
        }

        size = b->end - b->last;

        if (size && src->read->ready && !src->read->eof) {
            n = src->recv(src, b->last, size);

            if (n == NGX_AGAIN) {
                break;
            }

            if (n == NGX_ERROR || n == 0) {
                src->read->eof = 1;
                break;
            }

            if (!from_upstream) {
                s->received += n;
            }

            b->last += n;
            continue;
        }

        break;
    }

    /*
     * Postgres has no half-closed sessions: once either side is gone and
     * what it said has been delivered, the session is over
     */

    if (src->read->eof && b->pos == b->last) {
        ngx_log_debug1(NGX_LOG_DEBUG_STREAM, c->log, 0,
                       "hoop pg: %s closed the connection",
                       from_upstream ? "upstream" : "client");

        ngx_stream_finalize_session(s, NGX_STREAM_OK);
        return;
    }

    if (ngx_handle_read_event(src->read, 0) != NGX_OK
        || ngx_handle_write_event(dst->write, 0) != NGX_OK)
    {
        ngx_stream_finalize_session(s, NGX_STREAM_INTERNAL_SERVER_ERROR);
    }
}


/*
 * The client's password was its access token, and it is spent: if the
 * upstream asked the client for a password now, the client would send the
 * token to the database.  Until the gateway logs in with credentials of
 * its own (hoop_pg_login), the upstream must accept the gateway without
 * one: its first message must be AuthenticationOk (or an error).
 */
static ngx_int_t
ngx_stream_hoop_pg_upstream_auth_check(ngx_stream_session_t *s,
    ngx_buf_t *b)
{
    u_char                    *p;
    uint32_t                   code;
    ngx_stream_hoop_pg_ctx_t  *ctx;

    ctx = ngx_stream_get_module_ctx(s, ngx_stream_hoop_pg_module);
    p = b->pos;

    if (b->last - p < 9 && (b->last == p || p[0] == 'R')) {
        return NGX_AGAIN;
    }

    /* an ErrorResponse (too many connections, no such database) passes */

    if (p[0] == 'E') {
        ctx->upstream_auth_pending = 0;
        return NGX_OK;
    }

    code = (p[0] == 'R') ? ((uint32_t) p[5] << 24 | p[6] << 16 | p[7] << 8
                            | p[8])
                         : (uint32_t) -1;

    if (code == 0) {
        ctx->upstream_auth_pending = 0;
        return NGX_OK;
    }

    ngx_log_error(NGX_LOG_ERR, s->connection->log, 0,
                  "hoop pg: upstream answered the login with message"
                  " type 0x%02xd, code %uD, not AuthenticationOk; session"
                  " refused", p[0], code);

    ngx_stream_hoop_pg_fatal(s, NGX_STREAM_BAD_GATEWAY, "28000",
                             "hoop: the database server asks for a password,"
                             " and the gateway does not pass tokens on",
                             "Allow the gateway in without a password"
                             " (pg_hba.conf trust for its address) until"
                             " it logs in with credentials of its own.");
    return NGX_DONE;
}


/*
 * The upstream could not be reached.  The client has sent its startup
 * packet and waits for an authentication request: an ErrorResponse now is
 * shown by every client (libpq prints message and hint).
 */

static void
ngx_stream_hoop_pg_upstream_failed(ngx_stream_session_t *s)
{
    ngx_stream_hoop_pg_ctx_t       *ctx;
    ngx_stream_hoop_pg_srv_conf_t  *pscf;

    ctx = ngx_stream_get_module_ctx(s, ngx_stream_hoop_pg_module);
    pscf = ngx_stream_get_module_srv_conf(s, ngx_stream_hoop_pg_module);

    if (ctx->peer.connection != NULL) {
        ngx_close_connection(ctx->peer.connection);
        ctx->peer.connection = NULL;
    }

    ngx_log_error(NGX_LOG_ERR, s->connection->log, 0,
                  "hoop pg: upstream %V unreachable, session refused",
                  &pscf->upstream->name);

    ngx_stream_hoop_pg_fatal(s, NGX_STREAM_BAD_GATEWAY, "08006",
                             "hoop: the database server behind the gateway"
                             " is not reachable",
                             "The gateway is up; ask its operators to check"
                             " the upstream named by hoop_pg_pass.");
}
