/*
 * Copyright (C) nginx-hoop authors
 *
 * The upstream leg of a Postgres session: connect to the server named by
 * hoop_pg_pass, log in (ngx_stream_hoop_pg_login.c), then relay messages
 * both ways.  The relay frames every message: the client's are checked
 * (type, length, hoop_pg_max_message) before a byte of them is sent on,
 * so a malformed one ends the session with a protocol error instead of
 * reaching the server.  Message bodies nobody needs to read (rows, COPY
 * data) stream through in buffer-sized pieces: memory per session stays
 * bounded whatever the result size.  If the server cannot be reached,
 * the client gets a Postgres ErrorResponse saying so, not a reset.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_stream.h>

#include "ngx_stream_hoop_pg.h"
#include "hoop_pg_msg.h"


#define NGX_STREAM_HOOP_PG_LOGIN_MAX  65536

/* the names a Bind, Execute, Describe or Close may carry, together */
#define NGX_STREAM_HOOP_PG_NAMES_MAX  2100


static void ngx_stream_hoop_pg_connect_handler(ngx_event_t *ev);
static ngx_int_t ngx_stream_hoop_pg_test_connect(ngx_connection_t *c);
static void ngx_stream_hoop_pg_relay_start(ngx_stream_session_t *s);
static void ngx_stream_hoop_pg_client_handler(ngx_event_t *ev);
static void ngx_stream_hoop_pg_upstream_handler(ngx_event_t *ev);
static void ngx_stream_hoop_pg_shutdown(ngx_stream_session_t *s);
static ngx_int_t ngx_stream_hoop_pg_relay(ngx_stream_session_t *s,
    ngx_uint_t from_upstream);
static ngx_int_t ngx_stream_hoop_pg_scan(ngx_stream_session_t *s,
    ngx_hoop_flow_t *f, ngx_uint_t from_upstream);
static ngx_int_t ngx_stream_hoop_pg_client_need(ngx_stream_session_t *s,
    u_char type, size_t len, size_t *need);
static void ngx_stream_hoop_pg_upstream_failed(ngx_stream_session_t *s);
static void ngx_stream_hoop_pg_idle_handler(ngx_event_t *ev);


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

    /* who the caller is is known now: what the policy lets it set */

    if (!ctx->cancel && ngx_stream_hoop_pg_login_policy(s) != NGX_OK) {
        return;
    }

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


/* Connected: TLS first if the database is to be reached in it. */
static void
ngx_stream_hoop_pg_relay_start(ngx_stream_session_t *s)
{
    ngx_connection_t               *c, *pc;
    ngx_stream_hoop_pg_ctx_t       *ctx;
    ngx_stream_hoop_pg_srv_conf_t  *pscf;

    c = s->connection;
    ctx = ngx_stream_get_module_ctx(s, ngx_stream_hoop_pg_module);
    pscf = ngx_stream_get_module_srv_conf(s, ngx_stream_hoop_pg_module);
    pc = ctx->peer.connection;

    if (c->type == SOCK_STREAM && ngx_tcp_nodelay(pc) != NGX_OK) {
        ngx_stream_finalize_session(s, NGX_STREAM_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_log_debug1(NGX_LOG_DEBUG_STREAM, c->log, 0,
                   "hoop pg: connected to %V", ctx->peer.name);

    /* a CancelRequest carries no secret of the gateway's: plain is fine */

    if (pscf->upstream_ssl != NULL && !ctx->cancel) {
        ngx_stream_hoop_pg_upstream_tls_start(s);
        return;
    }

    ngx_stream_hoop_pg_relay_begin(s);
}


/*
 * The client's startup packet (or CancelRequest) is at up.buf->pos; in
 * its place goes the one the gateway built.  What the client sent after
 * it waits until the session is ready.
 */
void
ngx_stream_hoop_pg_relay_begin(ngx_stream_session_t *s)
{
    ngx_buf_t                      *b;
    ngx_connection_t               *c, *pc;
    ngx_stream_hoop_pg_ctx_t       *ctx;
    ngx_stream_hoop_pg_srv_conf_t  *pscf;

    c = s->connection;
    ctx = ngx_stream_get_module_ctx(s, ngx_stream_hoop_pg_module);
    pscf = ngx_stream_get_module_srv_conf(s, ngx_stream_hoop_pg_module);
    pc = ctx->peer.connection;

    ctx->connected = 1;

    c->log->action = "relaying Postgres traffic";

    pc->read->handler = ngx_stream_hoop_pg_upstream_handler;
    pc->write->handler = ngx_stream_hoop_pg_upstream_handler;

    b = ctx->up.buf;

    if (ctx->cancel) {
        ctx->phase = NGX_STREAM_HOOP_PG_CANCEL;
        ctx->up.scan = b->pos + 16;
        b->last = ctx->up.scan;

    } else {
        /* without identity or a login of its own, the client logs in */

        if (pscf->auth || ctx->login != NULL) {
            ctx->phase = NGX_STREAM_HOOP_PG_LOGIN;

        } else {
            ctx->phase = NGX_STREAM_HOOP_PG_STARTUP;
            ctx->client_flow = 1;
        }

        b->pos += ctx->startup_len;
        ctx->up.scan = b->pos;

        if (ngx_hoop_flow_inject(&ctx->up, c->pool,
                                 ctx->upstream_startup.data,
                                 ctx->upstream_startup.len)
            != NGX_OK)
        {
            ngx_stream_finalize_session(s, NGX_STREAM_INTERNAL_SERVER_ERROR);
            return;
        }
    }

    ctx->down.scan = ctx->down.buf->pos;

    /* not told yet (no token asked for): before anything from the server */

    if (ctx->negotiate.len
        && ngx_hoop_flow_inject(&ctx->down, c->pool, ctx->negotiate.data,
                                ctx->negotiate.len)
           != NGX_OK)
    {
        ngx_stream_finalize_session(s, NGX_STREAM_INTERNAL_SERVER_ERROR);
        return;
    }

    /* the idle clock: see ngx_stream_hoop_pg_idle_handler() */

    ctx->idle.handler = ngx_stream_hoop_pg_idle_handler;
    ctx->idle.data = s;
    ctx->idle.log = c->log;

    if (ngx_stream_hoop_pg_relay(s, 0) == NGX_DONE) {
        return;                 /* the session is gone, and its memory */
    }

    (void) ngx_stream_hoop_pg_relay(s, 1);
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

    if (c->close) {
        ngx_stream_hoop_pg_shutdown(s);
        return;
    }

    if (!ctx->connected) {
        /* leave the data queued; relay_start() reads it */
        return;
    }

    /* readable client: client -> upstream; writable: upstream -> client */
    (void) ngx_stream_hoop_pg_relay(s, ev->write);
}


static void
ngx_stream_hoop_pg_upstream_handler(ngx_event_t *ev)
{
    ngx_connection_t          *pc;
    ngx_stream_session_t      *s;
    ngx_stream_hoop_pg_ctx_t  *ctx;

    pc = ev->data;
    s = pc->data;
    ctx = ngx_stream_get_module_ctx(s, ngx_stream_hoop_pg_module);

    if (ctx->finalized) {
        return;
    }

    if (pc->close) {
        ngx_stream_hoop_pg_shutdown(s);
        return;
    }

    (void) ngx_stream_hoop_pg_relay(s, !ev->write);
}


/* worker_shutdown_timeout: this worker is going away, and the session */
static void
ngx_stream_hoop_pg_shutdown(ngx_stream_session_t *s)
{
    ngx_stream_hoop_pg_ctx_t  *ctx;

    ctx = ngx_stream_get_module_ctx(s, ngx_stream_hoop_pg_module);

    ngx_log_error(NGX_LOG_INFO, s->connection->log, 0,
                  "hoop pg: shutdown timeout");

    ctx->ended = "shutdown";
    ngx_stream_finalize_session(s, NGX_STREAM_OK);
}


/* NGX_DONE: the session was finalized (its memory is gone); NGX_OK */
static ngx_int_t
ngx_stream_hoop_pg_relay(ngx_stream_session_t *s, ngx_uint_t from_upstream)
{
    ssize_t                         n;
    ngx_int_t                       rc;
    ngx_uint_t                      flow;
    ngx_hoop_flow_t                *f;
    ngx_connection_t               *c, *src, *dst;
    ngx_stream_hoop_pg_ctx_t       *ctx;
    ngx_stream_hoop_pg_srv_conf_t  *pscf;

    c = s->connection;
    ctx = ngx_stream_get_module_ctx(s, ngx_stream_hoop_pg_module);

    if (from_upstream) {
        src = ctx->peer.connection;
        dst = c;
        f = &ctx->down;

    } else {
        src = c;
        dst = ctx->peer.connection;
        f = &ctx->up;
    }

    for ( ;; ) {

        /* the client's bytes are looked at only once the session is ready */

        flow = from_upstream || ctx->client_flow;

        if (flow && f->scan < f->buf->last) {
            rc = ngx_stream_hoop_pg_scan(s, f, from_upstream);

            if (rc == NGX_DONE) {
                return NGX_DONE;
            }

            if (rc == NGX_ERROR) {
                ngx_stream_finalize_session(s,
                                            NGX_STREAM_INTERNAL_SERVER_ERROR);
                return NGX_DONE;
            }
        }

        if (ngx_hoop_flow_send(f, dst) == NGX_ERROR) {
            if (ctx->ended == NULL) {
                ctx->ended = from_upstream ? "client_closed"
                                           : "server_closed";
            }

            ngx_stream_finalize_session(s, NGX_STREAM_OK);
            return NGX_DONE;
        }

        /* the statements whose answers just went out are recorded now */

        if (ctx->done != NULL) {
            ngx_stream_hoop_pg_query_done(s);
        }

        ngx_hoop_flow_compact(f, 1);

        if (!flow) {
            break;
        }

        n = ngx_hoop_flow_recv(f, src);

        if (n <= 0) {
            break;                      /* NGX_AGAIN, or src ended */
        }

        if (!from_upstream) {
            s->received += n;
        }
    }

    /*
     * Postgres has no half-closed sessions: once either side is gone and
     * what it said has been delivered, the session is over
     */

    if (src->read->eof && f->buf->pos == f->scan) {
        ngx_log_debug1(NGX_LOG_DEBUG_STREAM, c->log, 0,
                       "hoop pg: %s closed the connection",
                       from_upstream ? "upstream" : "client");

        if (ctx->ended == NULL) {
            ctx->ended = from_upstream ? "server_closed" : "client_closed";
        }

        ngx_stream_finalize_session(s, NGX_STREAM_OK);
        return NGX_DONE;
    }

    if (ngx_handle_read_event(src->read, 0) != NGX_OK
        || ngx_handle_write_event(dst->write, 0) != NGX_OK)
    {
        ngx_stream_finalize_session(s, NGX_STREAM_INTERNAL_SERVER_ERROR);
        return NGX_DONE;
    }

    /*
     * Traffic in either direction restarts the session's clock.  A
     * statement held for review has its own (the review's timeout).  The
     * timer also keeps a worker that shuts down gracefully (a reload)
     * alive until its sessions end.
     */

    pscf = ngx_stream_get_module_srv_conf(s, ngx_stream_hoop_pg_module);

    if (ctx->hold == NULL) {
        ngx_add_timer(&ctx->idle, pscf->timeout);

    } else if (ctx->idle.timer_set) {
        ngx_del_timer(&ctx->idle);
    }

    return NGX_OK;
}


/*
 * hoop_pg_timeout passed with nothing moving either way.  A statement the
 * server is still working on (answers awaited, none of it waiting for the
 * client) is not idleness: the clock starts again.  Otherwise the session
 * ends; the client is told, as PostgreSQL's idle_session_timeout tells it,
 * unless that would land inside a message it is being sent.  Sessions whose
 * statements are not followed (no policy, audit or masking) cannot tell: for
 * them it is the time without traffic, as proxy_timeout.
 */
static void
ngx_stream_hoop_pg_idle_handler(ngx_event_t *ev)
{
    ngx_connection_t               *c;
    ngx_stream_session_t           *s;
    ngx_stream_hoop_pg_ctx_t       *ctx;
    ngx_stream_hoop_pg_srv_conf_t  *pscf;

    s = ev->data;
    c = s->connection;
    ctx = ngx_stream_get_module_ctx(s, ngx_stream_hoop_pg_module);
    pscf = ngx_stream_get_module_srv_conf(s, ngx_stream_hoop_pg_module);

    if (ctx->finalized) {
        return;
    }

    if (ctx->phase == NGX_STREAM_HOOP_PG_READY
        && ctx->pending_count > 0
        && ctx->down.buf->pos == ctx->down.buf->last)
    {
        ngx_log_debug0(NGX_LOG_DEBUG_STREAM, c->log, 0,
                       "hoop pg: the server is still working");
        ngx_add_timer(ev, pscf->timeout);
        return;
    }

    ctx->ended = "timeout";

    ngx_log_error(NGX_LOG_INFO, c->log, NGX_ETIMEDOUT,
                  "hoop pg: no traffic for %M ms, session closed%s",
                  pscf->timeout,
                  ctx->phase == NGX_STREAM_HOOP_PG_LOGIN
                  ? " (the database did not complete the login)" : "");

    if (ctx->down.buf->pos == ctx->down.buf->last && ctx->down.pass == 0) {
        ngx_stream_hoop_pg_fatal(s, NGX_STREAM_OK, "57P05",
                                 "hoop: terminating connection due to"
                                 " idle-session timeout", NULL);
        return;
    }

    ngx_stream_finalize_session(s, NGX_STREAM_OK);
}


/*
 * Walks the messages received in one direction.  Of each message, the
 * first "need" bytes are looked at once they are all in the buffer (all
 * of a Query, only the names of a Bind, the header of a DataRow); the
 * rest passes unread.  NGX_OK when all that could be looked at was,
 * NGX_DONE when the session ended, NGX_ERROR.
 */
static ngx_int_t
ngx_stream_hoop_pg_scan(ngx_stream_session_t *s, ngx_hoop_flow_t *f,
    ngx_uint_t from_upstream)
{
    u_char                         *p;
    size_t                          have, len, need, n;
    ngx_int_t                       rc;
    ngx_buf_t                      *b;
    ngx_uint_t                      whole;
    ngx_stream_hoop_pg_ctx_t       *ctx;
    ngx_stream_hoop_pg_srv_conf_t  *pscf;

    ctx = ngx_stream_get_module_ctx(s, ngx_stream_hoop_pg_module);
    pscf = ngx_stream_get_module_srv_conf(s, ngx_stream_hoop_pg_module);

    for ( ;; ) {
        b = f->buf;
        have = b->last - f->scan;

        if (f->pass) {
            n = ngx_min(f->pass, have);
            f->scan += n;
            f->pass -= n;

            if (f->pass) {
                return NGX_OK;
            }

            continue;
        }

        /* between two messages to the client: a notice may go in */

        if (from_upstream && ctx->hold_notice
            && ngx_stream_hoop_pg_review_notice(s) != NGX_OK)
        {
            return NGX_ERROR;
        }

        b = f->buf;
        have = b->last - f->scan;

        if (have < HOOP_PG_HEADER_LEN) {
            return NGX_OK;
        }

        p = f->scan;
        len = (size_t) hoop_pg_get32(p + 1) + 1;

        if (from_upstream) {
            if (len < HOOP_PG_HEADER_LEN) {
                ngx_log_error(NGX_LOG_ERR, s->connection->log, 0,
                              "hoop pg: malformed message from the"
                              " database, session closed");
                return NGX_ERROR;
            }

            if (ctx->phase == NGX_STREAM_HOOP_PG_READY) {
                rc = ngx_stream_hoop_pg_query_server_whole(s, p[0], len);

                if (rc == NGX_ERROR) {
                    return NGX_DONE;        /* refused, session ended */
                }

                need = (size_t) rc;

            } else if (len <= NGX_STREAM_HOOP_PG_LOGIN_MAX
                       || (ctx->phase == NGX_STREAM_HOOP_PG_CATALOG
                           && len <= pscf->max_message))
            {
                /* a catalog row is a view's definition: may be long */
                need = len;

            } else {
                /* login messages are small; a server is not trusted */
                ngx_log_error(NGX_LOG_ERR, s->connection->log, 0,
                              "hoop pg: login message of %uz bytes from the"
                              " database, session closed", len);
                return NGX_ERROR;
            }

        } else {
            rc = ngx_stream_hoop_pg_client_need(s, p[0], len, &need);

            if (rc == NGX_AGAIN) {
                return NGX_OK;          /* posted once it may go */
            }

            if (rc != NGX_OK) {
                return rc;
            }
        }

        if (need == 0) {
            f->pass = len;
            continue;
        }

        if (have < need) {
            /* what is to be read must fit */

            if (ngx_hoop_flow_room(f, s->connection->pool, need - have)
                != NGX_OK)
            {
                return NGX_ERROR;
            }

            return NGX_OK;
        }

        whole = (need == len);

        if (from_upstream) {
            rc = (ctx->phase == NGX_STREAM_HOOP_PG_READY)
                 ? ngx_stream_hoop_pg_query_server(s, p, &need)
                 : ngx_stream_hoop_pg_login_message(s, p, len);

        } else {
            rc = ngx_stream_hoop_pg_query_client(s, p, &need);
        }

        switch (rc) {

        case NGX_OK:
            /* a message read whole may have been replaced: need is new */
            f->pass = whole ? 0 : len - need;
            f->scan += need;
            break;

        case NGX_AGAIN:
            return NGX_OK;              /* not now; posted when it may */

        case NGX_DECLINED:
            /* consumed by the gateway: the message goes, all of it */

            if (!whole) {
                ngx_log_error(NGX_LOG_ALERT, s->connection->log, 0,
                              "hoop pg: a message of %uz bytes consumed"
                              " with only %uz read", len, need);
                return NGX_ERROR;
            }

            b = f->buf;
            n = b->last - (f->scan + len);
            ngx_memmove(f->scan, f->scan + len, n);
            b->last = f->scan + n;
            break;

        default:
            return rc;
        }
    }
}


/*
 * Checks the header of a client message and says how much of it is read
 * before it is sent on (0: none, it streams through).  NGX_OK; NGX_AGAIN
 * when it must wait; NGX_DONE when it was refused and the session ended.
 */
static ngx_int_t
ngx_stream_hoop_pg_client_need(ngx_stream_session_t *s, u_char type,
    size_t len, size_t *need)
{
    const char                     *why;
    ngx_stream_hoop_pg_ctx_t       *ctx;
    ngx_stream_hoop_pg_srv_conf_t  *pscf;

    ctx = ngx_stream_get_module_ctx(s, ngx_stream_hoop_pg_module);
    pscf = ngx_stream_get_module_srv_conf(s, ngx_stream_hoop_pg_module);

    why = NULL;
    *need = len;

    if (len < HOOP_PG_HEADER_LEN) {
        why = "hoop: malformed message";
        goto refused;
    }

    /*
     * before the server is ready only answers to its login may pass; the
     * rest waits (the gateway may still be talking to the server itself)
     */

    if (ctx->phase != NGX_STREAM_HOOP_PG_READY && type != 'p') {
        return NGX_AGAIN;
    }

    switch (type) {

    case 'S':                   /* Sync, Flush, Terminate, CopyDone */
    case 'H':
    case 'X':
    case 'c':
        if (len != HOOP_PG_HEADER_LEN) {
            why = "hoop: malformed message";

        } else if (type == 'X') {
            /* goodbye: whoever closes first, the client ended it */
            ctx->ended = "client_closed";
        }

        break;

    case 'Q':                   /* SQL the policy reads */
    case 'P':
    case 'F':
        if (len > pscf->max_message) {
            why = "hoop: message too large";
        }

        break;

    case 'E':                   /* Execute, Describe, Close: a name */
    case 'D':
    case 'C':
        if (len > HOOP_PG_HEADER_LEN + NGX_STREAM_HOOP_PG_NAMES_MAX) {
            why = "hoop: malformed message";
        }

        break;

    case 'B':                   /* Bind: the names; values stream */
        *need = ngx_min(len, HOOP_PG_HEADER_LEN
                             + NGX_STREAM_HOOP_PG_NAMES_MAX);
        break;

    case 'd':                   /* CopyData, CopyFail */
    case 'f':
        *need = 0;
        break;

    case 'p':                   /* answers to the server's login */
        if (ctx->phase != NGX_STREAM_HOOP_PG_READY) {
            *need = 0;
            break;
        }

        /* fall through */

    default:
        ngx_log_error(NGX_LOG_INFO, s->connection->log, 0,
                      "hoop pg: client sent message type 0x%02xd, session"
                      " closed", type);
        ngx_stream_hoop_pg_fatal(s, NGX_STREAM_BAD_REQUEST, "08P01",
                                 "hoop: unexpected message type", NULL);
        return NGX_DONE;
    }

    if (why == NULL) {
        return NGX_OK;
    }

refused:

    ngx_log_error(NGX_LOG_INFO, s->connection->log, 0,
                  "hoop pg: client message '%c' of %uz bytes refused",
                  type, len);

    ngx_stream_hoop_pg_fatal(s, NGX_STREAM_BAD_REQUEST, "08P01", why,
                             len > pscf->max_message
                             ? "The gateway's hoop_pg_max_message caps"
                               " the size of one SQL message."
                             : NULL);
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
        ngx_stream_hoop_pg_close_upstream(ctx->peer.connection);
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
