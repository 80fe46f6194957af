/*
 * Copyright (C) nginx-hoop authors
 *
 * The client leg before any upstream exists: read the client's first
 * packets, answer SSLRequest and GSSENCRequest ourselves, refuse garbage,
 * and hand a complete StartupMessage (or CancelRequest) to the upstream leg.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_stream.h>

#include "ngx_stream_hoop_pg.h"
#include "hoop_pg_startup.h"


static void ngx_stream_hoop_pg_startup_handler(ngx_event_t *ev);
static ngx_int_t ngx_stream_hoop_pg_startup_parse(ngx_stream_session_t *s);
static void ngx_stream_hoop_pg_write_nothing(ngx_event_t *ev);
static ngx_int_t ngx_stream_hoop_pg_startup_peek(ngx_stream_session_t *s);
static ngx_int_t ngx_stream_hoop_pg_startup_ssl(ngx_stream_session_t *s,
    size_t have);


void
ngx_stream_hoop_pg_startup(ngx_stream_session_t *s)
{
    ngx_connection_t               *c;
    ngx_stream_hoop_pg_srv_conf_t  *pscf;

    c = s->connection;
    pscf = ngx_stream_get_module_srv_conf(s, ngx_stream_hoop_pg_module);

    c->log->action = "reading the Postgres startup packet";

    c->read->handler = ngx_stream_hoop_pg_startup_handler;
    c->write->handler = ngx_stream_hoop_pg_write_nothing;

    ngx_add_timer(c->read, pscf->startup_timeout);

    ngx_stream_hoop_pg_startup_handler(c->read);
}


/* after the TLS handshake: the startup packet, now inside TLS */
void
ngx_stream_hoop_pg_startup_resume(ngx_stream_session_t *s)
{
    ngx_connection_t  *c;

    c = s->connection;

    c->read->handler = ngx_stream_hoop_pg_startup_handler;
    c->write->handler = ngx_stream_hoop_pg_write_nothing;

    ngx_stream_hoop_pg_startup_handler(c->read);
}


static void
ngx_stream_hoop_pg_startup_handler(ngx_event_t *ev)
{
    ngx_int_t                       rc;
    ngx_connection_t               *c;
    ngx_stream_session_t           *s;
    ngx_stream_hoop_pg_ctx_t       *ctx;
    ngx_stream_hoop_pg_srv_conf_t  *pscf;

    c = ev->data;
    s = c->data;
    ctx = ngx_stream_get_module_ctx(s, ngx_stream_hoop_pg_module);

    if (c->close) {
        ngx_stream_finalize_session(s, NGX_STREAM_OK);   /* shutting down */
        return;
    }

    if (ev->timedout) {
        ngx_log_error(NGX_LOG_INFO, c->log, NGX_ETIMEDOUT,
                      "hoop pg: client sent no startup packet in time");
        ngx_stream_hoop_pg_fatal(s, NGX_STREAM_OK, "08P01",
                                 "hoop: startup packet not received in time",
                                 NULL);
        return;
    }

    /* a TLS ClientHello as the first byte: direct TLS (PostgreSQL 17) */

    if (!ctx->tls_peeked) {
        rc = ngx_stream_hoop_pg_startup_peek(s);

        if (rc != NGX_OK) {
            return;
        }
    }

    for ( ;; ) {
        rc = ngx_stream_hoop_pg_startup_parse(s);

        if (rc == NGX_DONE) {
            return;
        }

        if (rc == NGX_OK) {
            pscf = ngx_stream_get_module_srv_conf(s,
                                                  ngx_stream_hoop_pg_module);

            /* a CancelRequest carries its own secret, the backend key */

            if (ctx->cancel) {
                if (ngx_stream_hoop_pg_login_cancel(s) != NGX_OK) {
                    return;
                }

            } else {
                if (ngx_stream_hoop_pg_login_prepare(s) != NGX_OK) {
                    return;
                }

                if (pscf->auth || pscf->audit) {
                    ngx_stream_hoop_pg_auth(s);
                    return;
                }
            }

            if (c->read->timer_set) {
                ngx_del_timer(c->read);
            }

            ngx_stream_hoop_pg_proxy_connect(s);
            return;
        }

        /* NGX_AGAIN: the packet is not complete yet */

        if (ngx_stream_hoop_pg_login_recv(s) != NGX_OK) {
            return;
        }
    }
}


/*
 * Reads more of what the client sends while it logs in (startup packet,
 * password) into ctx->up.buf.  NGX_OK: bytes arrived; NGX_AGAIN:
 * none yet, the read event is armed; NGX_DONE: the session is over.
 */
ngx_int_t
ngx_stream_hoop_pg_login_recv(ngx_stream_session_t *s)
{
    ssize_t                    n;
    ngx_buf_t                 *b;
    ngx_connection_t          *c;
    ngx_stream_hoop_pg_ctx_t  *ctx;

    c = s->connection;
    ctx = ngx_stream_get_module_ctx(s, ngx_stream_hoop_pg_module);
    b = ctx->up.buf;

    if (b->last == b->end) {
        ngx_log_error(NGX_LOG_INFO, c->log, 0,
                      "hoop pg: login message larger than the buffer");
        ngx_stream_hoop_pg_fatal(s, NGX_STREAM_BAD_REQUEST, "08P01",
                                 "hoop: login message too large", NULL);
        return NGX_DONE;
    }

    n = c->recv(c, b->last, b->end - b->last);

    if (n == NGX_AGAIN) {
        if (ngx_handle_read_event(c->read, 0) != NGX_OK) {
            ngx_stream_finalize_session(s, NGX_STREAM_INTERNAL_SERVER_ERROR);
            return NGX_DONE;
        }

        return NGX_AGAIN;
    }

    if (n == NGX_ERROR || n == 0) {
        ngx_log_error(NGX_LOG_INFO, c->log, 0,
                      "hoop pg: client closed the connection while"
                      " logging in");
        ngx_stream_finalize_session(s, NGX_STREAM_OK);
        return NGX_DONE;
    }

    s->received += n;
    b->last += n;

    return NGX_OK;
}


/*
 * NGX_OK: a whole StartupMessage or CancelRequest is buffered;
 * NGX_AGAIN: more bytes are needed; NGX_DONE: the session was finalized.
 */

static ngx_int_t
ngx_stream_hoop_pg_startup_parse(ngx_stream_session_t *s)
{
    size_t                     len, have;
    ssize_t                    n;
    uint32_t                   version;
    hoop_pg_startup_kind_e     kind;
    ngx_buf_t                 *b;
    ngx_connection_t          *c;
    ngx_stream_hoop_pg_ctx_t  *ctx;

    c = s->connection;
    ctx = ngx_stream_get_module_ctx(s, ngx_stream_hoop_pg_module);
    b = ctx->up.buf;

    for ( ;; ) {
        have = b->last - b->pos;

        kind = hoop_pg_startup_classify(b->pos, have, &len, &version);

        switch (kind) {

        case HOOP_PG_STARTUP_INCOMPLETE:
            return NGX_AGAIN;

        case HOOP_PG_STARTUP_SSL:
            if (ngx_stream_hoop_pg_startup_ssl(s, have) != NGX_OK) {
                return NGX_DONE;
            }

            continue;

        case HOOP_PG_STARTUP_GSSENC:

            /* "N": no GSSAPI encryption here; TLS or plain text follows */

            b->pos += 8;
            have -= 8;
            b->last = ngx_movemem(b->start, b->pos, have);
            b->pos = b->start;

            n = c->send(c, (u_char *) "N", 1);

            if (n != 1) {
                ngx_stream_finalize_session(s, NGX_STREAM_OK);
                return NGX_DONE;
            }

            continue;

        case HOOP_PG_STARTUP_CANCEL:
        case HOOP_PG_STARTUP_MESSAGE:

            if (have < len) {
                return NGX_AGAIN;
            }

            ctx->startup_len = len;
            ctx->cancel = (kind == HOOP_PG_STARTUP_CANCEL);
            ctx->client_minor = version & 0xffff;

            return NGX_OK;

        default: /* HOOP_PG_STARTUP_INVALID */
            ngx_log_error(NGX_LOG_INFO, c->log, 0,
                          "hoop pg: invalid startup packet from client");
            ngx_stream_hoop_pg_fatal(s, NGX_STREAM_BAD_REQUEST, "08P01",
                                     "hoop: invalid startup packet"
                                     " (is this a PostgreSQL client?)",
                                     NULL);
            return NGX_DONE;
        }
    }
}


/*
 * Before the first read: a TLS record (0x16) means direct TLS.  NGX_OK:
 * go on reading the startup packet; otherwise the session moved on.
 */
static ngx_int_t
ngx_stream_hoop_pg_startup_peek(ngx_stream_session_t *s)
{
    u_char                          byte;
    ssize_t                         n;
    ngx_connection_t               *c;
    ngx_stream_hoop_pg_ctx_t       *ctx;
    ngx_stream_hoop_pg_srv_conf_t  *pscf;

    c = s->connection;
    ctx = ngx_stream_get_module_ctx(s, ngx_stream_hoop_pg_module);
    pscf = ngx_stream_get_module_srv_conf(s, ngx_stream_hoop_pg_module);

    if (pscf->ssl == NULL || c->ssl != NULL
        || ctx->up.buf->last != ctx->up.buf->pos)
    {
        ctx->tls_peeked = 1;
        return NGX_OK;
    }

    n = recv(c->fd, &byte, 1, MSG_PEEK);

    if (n == -1 && ngx_socket_errno == NGX_EAGAIN) {
        if (ngx_handle_read_event(c->read, 0) != NGX_OK) {
            ngx_stream_finalize_session(s, NGX_STREAM_INTERNAL_SERVER_ERROR);
        }

        return NGX_AGAIN;
    }

    ctx->tls_peeked = 1;

    if (n == 1 && byte == 0x16) {
        (void) ngx_stream_hoop_pg_tls_start(s, 1);
        return NGX_DONE;
    }

    return NGX_OK;              /* a startup packet, or EOF: read it */
}


/*
 * SSLRequest: "S" and TLS on this connection when a certificate is
 * configured, "N" otherwise (NGX_OK: read on; NGX_DONE: TLS or the end).
 * Bytes after the request, before the answer, would be plain text the
 * client meant to protect (or an attacker's, CVE-2021-23214): the session
 * is closed instead.
 */
static ngx_int_t
ngx_stream_hoop_pg_startup_ssl(ngx_stream_session_t *s, size_t have)
{
    ssize_t                         n;
    ngx_buf_t                      *b;
    ngx_connection_t               *c;
    ngx_stream_hoop_pg_ctx_t       *ctx;
    ngx_stream_hoop_pg_srv_conf_t  *pscf;

    c = s->connection;
    ctx = ngx_stream_get_module_ctx(s, ngx_stream_hoop_pg_module);
    pscf = ngx_stream_get_module_srv_conf(s, ngx_stream_hoop_pg_module);
    b = ctx->up.buf;

    if (pscf->ssl != NULL && c->ssl == NULL) {

        if (have != 8) {
            ngx_log_error(NGX_LOG_WARN, c->log, 0,
                          "hoop pg: plain bytes after an SSLRequest,"
                          " session closed");
            ngx_stream_finalize_session(s, NGX_STREAM_BAD_REQUEST);
            return NGX_DONE;
        }

        b->pos = b->start;
        b->last = b->start;

        n = c->send(c, (u_char *) "S", 1);

        if (n != 1) {
            ngx_stream_finalize_session(s, NGX_STREAM_OK);
            return NGX_DONE;
        }

        (void) ngx_stream_hoop_pg_tls_start(s, 0);
        return NGX_DONE;
    }

    if (c->ssl != NULL) {
        ngx_log_error(NGX_LOG_INFO, c->log, 0,
                      "hoop pg: SSLRequest inside TLS, session closed");
        ngx_stream_finalize_session(s, NGX_STREAM_BAD_REQUEST);
        return NGX_DONE;
    }

    /* "N": go on in plain text (a client requiring TLS stops here) */

    b->pos += 8;
    have -= 8;
    b->last = ngx_movemem(b->start, b->pos, have);
    b->pos = b->start;

    n = c->send(c, (u_char *) "N", 1);

    if (n != 1) {
        ngx_stream_finalize_session(s, NGX_STREAM_OK);
        return NGX_DONE;
    }

    return NGX_OK;
}


static void
ngx_stream_hoop_pg_write_nothing(ngx_event_t *ev)
{
    /* nothing to write while the client is still talking */
}
