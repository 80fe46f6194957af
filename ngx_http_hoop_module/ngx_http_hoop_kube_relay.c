/*
 * Copyright (C) nginx-hoop authors
 *
 * A pod's exec or attach over WebSocket, after the 101: the gateway
 * reads every frame.  nginx relays an upgraded connection in static
 * functions without a hook, so the relay is taken over at the flush that
 * follows the 101 (its handlers are in place by then) and its buffers
 * are emptied into ours before nginx would read them.
 *
 * What the client sends goes to the server as it came, read on the way
 * (stdin, resizes, the closing of stdin).  What the server sends is
 * decoded and written anew: stdout and stderr through the masking
 * detectors of the location (a value cut across frames still found: a
 * tail that could begin one is held back until more output decides, or
 * briefly, since a terminal must see its prompt), everything else as it
 * was.  In the base64 protocols browsers speak (text frames: the
 * channel as a digit, the bytes in base64) the bytes are decoded as they
 * come and written anew in base64.  Each message is recorded as the
 * client saw it (kube.exec.data
 * events, bounded per session), and the session's end says how it ended:
 * the exit code from the error channel, the bytes, what was masked.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <jansson.h>

#include "hoop_base64.h"
#include "hoop_ws.h"
#include "ngx_hoop_flow.h"
#include "ngx_http_hoop.h"


#define NGX_HTTP_HOOP_RELAY_BUF     (128 * 1024)
#define NGX_HTTP_HOOP_RELAY_PIECE   4096
#define NGX_HTTP_HOOP_RELAY_HELD    (16 * 1024)     /* a whole message */
#define NGX_HTTP_HOOP_RELAY_SCRATCH (64 * 1024)     /* ... masked */
#define NGX_HTTP_HOOP_RELAY_JOIN    4096            /* bytes a record */
#define NGX_HTTP_HOOP_RELAY_JOIN_MS 10              /* ... joins within */
#define NGX_HTTP_HOOP_RELAY_RECORD  (16 * 1024)     /* per event */
#define NGX_HTTP_HOOP_RELAY_RELEASE 200             /* ms a tail is held */
#define NGX_HTTP_HOOP_RELAY_TICK    1000            /* ms between events */

/*
 * the room the client's buffer needs for what n bytes of output become:
 * in base64 4/3 of them, and a few frame headers more
 */
#define NGX_HTTP_HOOP_RELAY_ROOM(rl, n)                                     \
    ((rl)->base64 ? (n) / 3 * 4 + 4 * HOOP_WS_HEADER_MAX : (n))

/* what the frame being read from the server is */
#define NGX_HTTP_HOOP_DOWN_START    0       /* a message's first byte due */
#define NGX_HTTP_HOOP_DOWN_OUTPUT   1       /* stdout / stderr: masked */
#define NGX_HTTP_HOOP_DOWN_HELD     2       /* kept whole, then sent */

/* the channels (k8s.io/apimachinery/pkg/util/remotecommand) */
#define NGX_HTTP_HOOP_CH_STDIN      0
#define NGX_HTTP_HOOP_CH_STDOUT     1
#define NGX_HTTP_HOOP_CH_STDERR     2
#define NGX_HTTP_HOOP_CH_ERROR      3
#define NGX_HTTP_HOOP_CH_RESIZE     4
#define NGX_HTTP_HOOP_CH_CLOSE      255


typedef struct ngx_http_hoop_kube_relay_s  ngx_http_hoop_kube_relay_t;

/* one channel's masking: the stream and where it writes */
typedef struct {
    ngx_http_hoop_kube_relay_t  *relay;
    ngx_uint_t                   channel;       /* 0: stdin, recorded only */
    ngx_uint_t                   opcode;        /* of the message fed */
    hoop_mask_stream_t           stream;
} ngx_http_hoop_kube_out_t;


struct ngx_http_hoop_kube_relay_s {
    ngx_http_request_t          *request;
    ngx_http_upstream_handler_pt nginx_read;    /* to end as nginx does */

    /* client to server: forwarded as read; [pos, scan) decoded */
    ngx_hoop_flow_t              up;
    hoop_ws_reader_t             up_ws;
    ngx_int_t                    up_channel;    /* -1 before its byte */
    u_char                       up_msg[128];   /* a resize, stdin's close */
    size_t                       up_len;
    u_char                       up_ctl[HOOP_WS_CONTROL_MAX];
    size_t                       up_ctl_len;

    /* server to client: read, decoded, written anew */
    ngx_hoop_flow_t              down_in;       /* scan: its last */
    ngx_hoop_flow_t              down_out;      /* scan: its last */
    hoop_ws_reader_t             down_ws;
    ngx_uint_t                   down_state;
    ngx_int_t                    down_channel;
    u_char                      *held;          /* a message kept whole */
    size_t                       held_len;
    ngx_uint_t                   held_opcode;
    u_char                       down_ctl[HOOP_WS_CONTROL_MAX];
    size_t                       down_ctl_len;
    const hoop_mask_conf_t      *mask;
    ngx_http_hoop_kube_out_t    *out[3];        /* stdin, stdout, stderr
                                                   masked; NULL: not */
    ngx_event_t                  release;

    /* the recording */
    ngx_buf_t                   *rec;           /* the next event's */
    u_char                       join[NGX_HTTP_HOOP_RELAY_JOIN];
    size_t                       join_len;      /* a record being made */
    const char                  *join_kind;
    ngx_msec_t                   join_ms;
    ngx_event_t                  tick;
    ngx_msec_t                   start;

    /* a base64 protocol: text frames, "<channel digit><base64>" */
    hoop_base64_t                up_b64;
    u_char                      *up_stdin;      /* a message's, decoded */
    size_t                       up_stdin_len;
    hoop_base64_t                down_b64;
    u_char                      *scratch;       /* a held message masked */

    ngx_http_hoop_kube_session_t  *session;
    unsigned                     base64:1;
    unsigned                     ended:1;
};


static ngx_int_t ngx_http_hoop_kube_relay_filter(ngx_http_request_t *r,
    ngx_chain_t *in);
static ngx_http_hoop_kube_t *ngx_http_hoop_kube_of(ngx_http_request_t *r);
static ngx_uint_t ngx_http_hoop_kube_tunnels(ngx_http_request_t *r);
static ngx_int_t ngx_http_hoop_kube_tunnel_start(ngx_http_request_t *r,
    ngx_http_hoop_ctx_t *ctx);
static ngx_int_t ngx_http_hoop_kube_relay_start(ngx_http_request_t *r,
    ngx_http_hoop_ctx_t *ctx);
static void ngx_http_hoop_kube_relay_upstream(ngx_http_request_t *r,
    ngx_http_upstream_t *u);
static void ngx_http_hoop_kube_relay_client(ngx_http_request_t *r);
static void ngx_http_hoop_kube_relay_run(ngx_http_hoop_kube_relay_t *rl);
static ngx_int_t ngx_http_hoop_kube_relay_io(ngx_http_hoop_kube_relay_t *rl,
    ngx_connection_t *src, ngx_hoop_flow_t *in, ngx_connection_t *dst,
    ngx_hoop_flow_t *out, ngx_uint_t *moved);
static ngx_int_t ngx_http_hoop_kube_relay_up(ngx_http_hoop_kube_relay_t *rl,
    ngx_uint_t *moved);
static void ngx_http_hoop_kube_relay_up_piece(ngx_http_hoop_kube_relay_t *rl,
    u_char *p, size_t n);
static void ngx_http_hoop_kube_relay_stdin(ngx_http_hoop_kube_relay_t *rl,
    u_char *p, size_t n);
static void ngx_http_hoop_kube_relay_up_end(ngx_http_hoop_kube_relay_t *rl);
static ngx_int_t ngx_http_hoop_kube_relay_down(
    ngx_http_hoop_kube_relay_t *rl, ngx_uint_t *moved);
static ngx_int_t ngx_http_hoop_kube_relay_decode(
    ngx_http_hoop_kube_relay_t *rl, ngx_buf_t *in, ngx_buf_t *out);
static ngx_int_t ngx_http_hoop_kube_relay_down_piece(
    ngx_http_hoop_kube_relay_t *rl, u_char *p, size_t n);
static ngx_int_t ngx_http_hoop_kube_relay_down_end(
    ngx_http_hoop_kube_relay_t *rl);
static ngx_int_t ngx_http_hoop_kube_relay_flush_masks(
    ngx_http_hoop_kube_relay_t *rl);
static int ngx_http_hoop_kube_relay_emit(void *data, const unsigned char *p,
    size_t len);
static void ngx_http_hoop_kube_relay_held(ngx_http_hoop_kube_relay_t *rl);
static void ngx_http_hoop_kube_relay_held_base64(
    ngx_http_hoop_kube_relay_t *rl);
static void ngx_http_hoop_kube_relay_message(ngx_http_hoop_kube_relay_t *rl,
    ngx_uint_t opcode, ngx_uint_t channel, const u_char *p, size_t len);
static ngx_uint_t ngx_http_hoop_kube_relay_base64(ngx_http_request_t *r);
static void ngx_http_hoop_kube_relay_up_bytes(ngx_http_hoop_kube_relay_t *rl,
    u_char *p, size_t k);
static void ngx_http_hoop_kube_relay_stdin_flush(
    ngx_http_hoop_kube_relay_t *rl);
static void ngx_http_hoop_kube_relay_frame(ngx_http_hoop_kube_relay_t *rl,
    ngx_uint_t opcode, ngx_int_t channel, const u_char *p, size_t len);
static void ngx_http_hoop_kube_relay_exit(ngx_http_hoop_kube_relay_t *rl,
    const u_char *p, size_t len);
static void ngx_http_hoop_kube_relay_record(ngx_http_hoop_kube_relay_t *rl,
    const char *kind, const u_char *p, size_t len);
static void ngx_http_hoop_kube_relay_record_flush(
    ngx_http_hoop_kube_relay_t *rl);
static void ngx_http_hoop_kube_relay_emit_records(
    ngx_http_hoop_kube_relay_t *rl);
static void ngx_http_hoop_kube_relay_data_event(void *data, hoop_json_t *j,
    ngx_hoop_audit_session_t *sess);
static void ngx_http_hoop_kube_relay_tick(ngx_event_t *ev);
static void ngx_http_hoop_kube_relay_release(ngx_event_t *ev);
static void ngx_http_hoop_kube_relay_end(ngx_http_hoop_kube_relay_t *rl,
    const char *error);
static void ngx_http_hoop_kube_relay_finish(ngx_http_hoop_kube_relay_t *rl);
static void ngx_http_hoop_kube_relay_cleanup(void *data);


static ngx_http_output_body_filter_pt  ngx_http_hoop_kube_next_body;


ngx_int_t
ngx_http_hoop_kube_relay_init(ngx_conf_t *cf)
{
    ngx_http_hoop_kube_next_body = ngx_http_top_body_filter;
    ngx_http_top_body_filter = ngx_http_hoop_kube_relay_filter;

    return NGX_OK;
}


/* r's Kubernetes request, if r is one in a hoop_kube location. */
static ngx_http_hoop_kube_t *
ngx_http_hoop_kube_of(ngx_http_request_t *r)
{
    ngx_http_hoop_ctx_t       *ctx;
    ngx_http_hoop_loc_conf_t  *hlcf;

    hlcf = ngx_http_get_module_loc_conf(r, ngx_http_hoop_module);
    ctx = ngx_http_hoop_get_ctx(r);

    return (hlcf->kube && r == r->main && ctx != NULL) ? ctx->kube : NULL;
}


/*
 * Whether r's connection, once upgraded, carries only what the gateway
 * reads (this relay) or writes (a refusal inside the stream).
 */
ngx_uint_t
ngx_http_hoop_kube_relays(ngx_http_request_t *r)
{
    ngx_http_hoop_kube_t  *kube;

    kube = ngx_http_hoop_kube_of(r);

    return kube != NULL && kube->websocket
           && (kube->stream == HOOP_KUBE_EXEC
               || kube->stream == HOOP_KUBE_ATTACH);
}


/* Whether r is a port-forward whose tunnel nginx relays, unread. */
static ngx_uint_t
ngx_http_hoop_kube_tunnels(ngx_http_request_t *r)
{
    ngx_http_hoop_kube_t  *kube;

    kube = ngx_http_hoop_kube_of(r);

    return kube != NULL && kube->stream == HOOP_KUBE_PORTFORWARD;
}


/*
 * A port-forward's 101: the counters as they are now, to tell the
 * tunnel's bytes when it ends.  Of what was read from the server, the
 * bytes past the 101's headers are already the tunnel's.
 */
static ngx_int_t
ngx_http_hoop_kube_tunnel_start(ngx_http_request_t *r,
    ngx_http_hoop_ctx_t *ctx)
{
    ngx_http_upstream_t          *u;
    ngx_http_hoop_kube_tunnel_t  *t;

    if (ctx->kube->tunnel != NULL) {
        return NGX_OK;
    }

    u = r->upstream;

    t = ngx_pcalloc(r->pool, sizeof(ngx_http_hoop_kube_tunnel_t));
    if (t == NULL) {
        return NGX_ERROR;
    }

    t->up_sent = u->peer.connection->sent;
    t->down_read = u->state->bytes_received
                   - (u->buffer.last - u->buffer.pos);
    t->start = ngx_current_msec;

    ctx->kube->tunnel = t;

    return NGX_OK;
}


/*
 * The flush ngx_http_upstream_upgrade() sends after the 101: the 101
 * goes on, then the relay is ours.
 */
static ngx_int_t
ngx_http_hoop_kube_relay_filter(ngx_http_request_t *r, ngx_chain_t *in)
{
    ngx_int_t             rc;
    ngx_http_hoop_ctx_t  *ctx;

    rc = ngx_http_hoop_kube_next_body(r, in);

    if (rc == NGX_ERROR || r->upstream == NULL || !r->upstream->upgrade
        || r->headers_out.status != NGX_HTTP_SWITCHING_PROTOCOLS)
    {
        return rc;
    }

    ctx = ngx_http_hoop_get_ctx(r);

    if (ngx_http_hoop_kube_tunnels(r)) {
        return ngx_http_hoop_kube_tunnel_start(r, ctx) == NGX_OK ? rc
                                                                  : NGX_ERROR;
    }

    if (!ngx_http_hoop_kube_relays(r)) {
        return rc;
    }

    if (ctx->kube->in_stream) {
        return rc;
    }

    if (ctx->kube->session != NULL) {
        return rc;                      /* taken over already */
    }

    if (ngx_http_hoop_kube_relay_start(r, ctx) != NGX_OK) {
        return NGX_ERROR;
    }

    return rc;
}


static ngx_int_t
ngx_http_hoop_kube_relay_start(ngx_http_request_t *r, ngx_http_hoop_ctx_t *ctx)
{
    size_t                       n;
    ngx_uint_t                   i;
    ngx_buf_t                   *b;
    ngx_pool_cleanup_t          *cln;
    ngx_http_upstream_t         *u;
    ngx_http_hoop_kube_out_t    *out;
    ngx_http_hoop_kube_relay_t  *rl;
    const hoop_mask_conf_t      *mask;

    u = r->upstream;

    rl = ngx_pcalloc(r->pool, sizeof(ngx_http_hoop_kube_relay_t));
    if (rl == NULL) {
        return NGX_ERROR;
    }

    rl->session = ngx_pcalloc(r->pool, sizeof(ngx_http_hoop_kube_session_t));
    rl->held = ngx_pnalloc(r->pool, NGX_HTTP_HOOP_RELAY_HELD);
    rl->rec = ngx_create_temp_buf(r->pool, 2 * NGX_HTTP_HOOP_RELAY_RECORD);

    if (rl->session == NULL || rl->held == NULL || rl->rec == NULL
        || ngx_hoop_flow_init(&rl->up, r->pool, NGX_HTTP_HOOP_RELAY_BUF)
           != NGX_OK
        || ngx_hoop_flow_init(&rl->down_in, r->pool, NGX_HTTP_HOOP_RELAY_BUF)
           != NGX_OK
        || ngx_hoop_flow_init(&rl->down_out, r->pool,
                              NGX_HTTP_HOOP_RELAY_BUF)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    rl->request = r;
    rl->up_channel = -1;
    rl->start = ngx_current_msec;
    rl->session->exit_code = -1;
    hoop_ws_reader_init(&rl->up_ws, 1);
    hoop_ws_reader_init(&rl->down_ws, 0);

    mask = ngx_http_hoop_mask_conf(r);
    rl->mask = mask;
    rl->base64 = ngx_http_hoop_kube_relay_base64(r);

    /* in base64 a client's stdin is kept whole before it is recorded */

    if (rl->base64) {
        rl->up_stdin = ngx_pnalloc(r->pool, NGX_HTTP_HOOP_RELAY_HELD);
        if (rl->up_stdin == NULL) {
            return NGX_ERROR;
        }
    }

    /* in base64 a held message is masked aside, then encoded */

    if (rl->base64 && mask != NULL) {
        rl->scratch = ngx_pnalloc(r->pool, NGX_HTTP_HOOP_RELAY_SCRATCH);
        if (rl->scratch == NULL) {
            return NGX_ERROR;
        }
    }

    if (mask != NULL) {
        for (i = 0; i < 3; i++) {
            out = ngx_pcalloc(r->pool, sizeof(ngx_http_hoop_kube_out_t));
            if (out == NULL) {
                return NGX_ERROR;
            }

            out->relay = rl;
            out->channel = i;
            out->opcode = HOOP_WS_BINARY;
            hoop_mask_stream_init(&out->stream, mask,
                                  ngx_http_hoop_kube_relay_emit, out);
            rl->out[i] = out;
        }
    }

    rl->release.handler = ngx_http_hoop_kube_relay_release;
    rl->release.data = rl;
    rl->release.log = r->connection->log;
    rl->tick.handler = ngx_http_hoop_kube_relay_tick;
    rl->tick.data = rl;
    rl->tick.log = r->connection->log;

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    cln->handler = ngx_http_hoop_kube_relay_cleanup;
    cln->data = rl;

    /*
     * what nginx read past the 101 and past the request: ours to decode,
     * and its buffers left with no room, so that the relay nginx starts
     * next moves nothing
     */

    b = &u->buffer;
    n = b->last - b->pos;
    rl->down_in.buf->last = ngx_cpymem(rl->down_in.buf->last, b->pos, n);
    rl->down_in.scan = rl->down_in.buf->last;
    b->pos = b->end;
    b->last = b->end;

    b = r->header_in;
    n = ngx_min((size_t) (b->last - b->pos), NGX_HTTP_HOOP_RELAY_BUF);
    rl->up.buf->last = ngx_cpymem(rl->up.buf->last, b->pos, n);
    b->pos += n;

    u->from_client.start = rl->held;
    u->from_client.pos = rl->held;
    u->from_client.last = rl->held;
    u->from_client.end = rl->held;

    rl->nginx_read = u->read_event_handler;
    u->read_event_handler = ngx_http_hoop_kube_relay_upstream;
    u->write_event_handler = ngx_http_hoop_kube_relay_upstream;
    r->read_event_handler = ngx_http_hoop_kube_relay_client;
    r->write_event_handler = ngx_http_hoop_kube_relay_client;

    ctx->kube->session = rl->session;
    ctx->kube->relay = rl;

    /* the relay runs from the event loop, never inside nginx's upgrade */

    ngx_post_event(u->peer.connection->read, &ngx_posted_events);

    return NGX_OK;
}


static void
ngx_http_hoop_kube_relay_upstream(ngx_http_request_t *r,
    ngx_http_upstream_t *u)
{
    ngx_http_hoop_ctx_t  *ctx;

    ctx = ngx_http_hoop_get_ctx(r);
    ngx_http_hoop_kube_relay_run(ctx->kube->relay);
}


static void
ngx_http_hoop_kube_relay_client(ngx_http_request_t *r)
{
    ngx_http_hoop_ctx_t  *ctx;

    ctx = ngx_http_hoop_get_ctx(r);
    ngx_http_hoop_kube_relay_run(ctx->kube->relay);
}


/* Whether the protocol the server chose is a base64 one. */
static ngx_uint_t
ngx_http_hoop_kube_relay_base64(ngx_http_request_t *r)
{
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    part = &r->headers_out.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                return 0;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].hash != 0 && h[i].key.len == 22
            && ngx_strncasecmp(h[i].key.data,
                               (u_char *) "Sec-WebSocket-Protocol", 22)
               == 0)
        {
            return ngx_strlcasestrn(h[i].value.data,
                                    h[i].value.data + h[i].value.len,
                                    (u_char *) "base64", 6 - 1)
                   != NULL;
        }
    }
}


/* Moves what can be moved both ways, then waits as nginx's relay does. */
static void
ngx_http_hoop_kube_relay_run(ngx_http_hoop_kube_relay_t *rl)
{
    ngx_uint_t                 moved, flags;
    ngx_connection_t          *c, *up;
    ngx_http_request_t        *r;
    ngx_http_upstream_t       *u;
    ngx_http_core_loc_conf_t  *clcf;

    r = rl->request;
    u = r->upstream;
    c = r->connection;
    up = u->peer.connection;

    if (c->write->timedout || up->read->timedout || up->write->timedout) {
        ngx_http_hoop_kube_relay_end(rl, "timed out");
        return;
    }

    do {
        moved = 0;

        /* the client's frames, read on the way to the server */

        if (ngx_http_hoop_kube_relay_io(rl, c, &rl->up, up, &rl->up, &moved)
            != NGX_OK)
        {
            ngx_http_hoop_kube_relay_end(rl, "the connection failed");
            return;
        }

        if (ngx_http_hoop_kube_relay_up(rl, &moved) != NGX_OK) {

            /*
             * the whole frames before the bad one are the server's, as
             * they are recorded: sent if it can take them now
             */

            (void) ngx_http_hoop_kube_relay_io(rl, NULL, NULL, up, &rl->up,
                                               &moved);
            ngx_http_hoop_kube_relay_end(rl, rl->up_ws.error);
            return;
        }

        /* the server's, decoded and written anew */

        if (ngx_http_hoop_kube_relay_io(rl, up, &rl->down_in, c,
                                        &rl->down_out, &moved)
            != NGX_OK)
        {
            ngx_http_hoop_kube_relay_end(rl, "the connection failed");
            return;
        }

        if (ngx_http_hoop_kube_relay_down(rl, &moved) != NGX_OK) {
            ngx_http_hoop_kube_relay_end(rl, rl->down_ws.error
                                             ? rl->down_ws.error
                                             : "a message too long to"
                                               " hold");
            return;
        }

    } while (moved);

    /* a side that ended, once what it sent is through */

    if (up->read->eof && rl->down_in.buf->pos == rl->down_in.buf->last) {
        if (ngx_http_hoop_kube_relay_flush_masks(rl) != NGX_OK) {
            ngx_http_hoop_kube_relay_end(rl, "masking failed");
            return;
        }

        if (rl->down_out.buf->pos == rl->down_out.buf->last) {
            ngx_http_hoop_kube_relay_end(rl, NULL);
            return;
        }

        ngx_http_hoop_kube_relay_io(rl, NULL, NULL, c, &rl->down_out, &moved);

        if (rl->down_out.buf->pos == rl->down_out.buf->last) {
            ngx_http_hoop_kube_relay_end(rl, NULL);
            return;
        }
    }

    if ((c->read->eof && rl->up.buf->pos == rl->up.buf->last)
        || up->read->error || c->read->error)
    {
        ngx_http_hoop_kube_relay_end(rl, NULL);
        return;
    }

    /* a tail held back by the masking: let go soon if nothing follows */

    if (rl->out[0] != NULL && !rl->release.timer_set
        && (rl->out[0]->stream.len || rl->out[1]->stream.len
            || rl->out[2]->stream.len))
    {
        ngx_add_timer(&rl->release, NGX_HTTP_HOOP_RELAY_RELEASE);
    }

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);
    flags = (up->read->eof || up->read->error) ? NGX_CLOSE_EVENT : 0;

    if (ngx_handle_write_event(up->write, u->conf->send_lowat) != NGX_OK
        || ngx_handle_read_event(up->read, flags) != NGX_OK
        || ngx_handle_write_event(c->write, clcf->send_lowat) != NGX_OK
        || ngx_handle_read_event(c->read,
                                 (c->read->eof || c->read->error)
                                 ? NGX_CLOSE_EVENT : 0)
           != NGX_OK)
    {
        ngx_http_hoop_kube_relay_end(rl, "the event loop failed");
        return;
    }

    if (up->write->active && !up->write->ready) {
        ngx_add_timer(up->write, u->conf->send_timeout);

    } else if (up->write->timer_set) {
        ngx_del_timer(up->write);
    }

    if (up->read->active && !up->read->ready) {
        ngx_add_timer(up->read, u->conf->read_timeout);

    } else if (up->read->timer_set) {
        ngx_del_timer(up->read);
    }

    if (c->write->active && !c->write->ready) {
        ngx_add_timer(c->write, clcf->send_timeout);

    } else if (c->write->timer_set) {
        ngx_del_timer(c->write);
    }
}


/*
 * Writes out to dst, then reads src into in while there is room; *moved
 * is set if anything was.  src NULL: only writes.  The up flow is in and
 * out at once: only what was decoded goes; the server's is sent as made.
 */
static ngx_int_t
ngx_http_hoop_kube_relay_io(ngx_http_hoop_kube_relay_t *rl,
    ngx_connection_t *src, ngx_hoop_flow_t *in, ngx_connection_t *dst,
    ngx_hoop_flow_t *out, ngx_uint_t *moved)
{
    ssize_t               n;
    ngx_http_upstream_t  *u;

    if (out == &rl->down_out) {
        out->scan = out->buf->last;
    }

    n = ngx_hoop_flow_send(out, dst);

    if (n == NGX_ERROR) {
        return NGX_ERROR;
    }

    if (n > 0) {
        *moved = 1;
    }

    ngx_hoop_flow_compact(out, NGX_HTTP_HOOP_RELAY_BUF / 2);

    if (src == NULL) {
        return NGX_OK;
    }

    /* a piece of a frame at the end of the server's: room for the next */

    if (in == &rl->down_in) {
        in->scan = in->buf->last;
        ngx_hoop_flow_compact(in, NGX_HTTP_HOOP_RELAY_PIECE);
    }

    n = ngx_hoop_flow_recv(in, src);

    if (n <= 0) {
        return NGX_OK;              /* NGX_AGAIN, or src ended */
    }

    *moved = 1;

    if (in == &rl->down_in) {
        in->scan = in->buf->last;

        u = rl->request->upstream;
        u->state->bytes_received += n;
    }

    return NGX_OK;
}


/* The client's frames up to what was read: decoded for the record. */
static ngx_int_t
ngx_http_hoop_kube_relay_up(ngx_http_hoop_kube_relay_t *rl,
    ngx_uint_t *moved)
{
    size_t     used;
    hoop_ws_e  rc;

    if (rl->up.scan < rl->up.buf->last) {
        *moved = 1;                 /* decoded now: sent next */
    }

    while (rl->up.scan < rl->up.buf->last) {
        rc = hoop_ws_read(&rl->up_ws, rl->up.scan,
                          rl->up.buf->last - rl->up.scan, &used);

        switch (rc) {

        case HOOP_WS_FRAME:
            /*
             * each data frame begins with its channel, continuations too:
             * the API server's WebSocket (x/net/websocket, wsstream)
             * hands every frame on as a message of its own
             */

            if (rl->up_ws.frame.opcode >= HOOP_WS_CLOSE) {
                rl->up_ctl_len = 0;

            } else {
                rl->up_channel = -1;
                rl->up_len = 0;
            }

            break;

        case HOOP_WS_PAYLOAD:
            ngx_http_hoop_kube_relay_up_piece(rl, rl->up.scan, used);
            break;

        case HOOP_WS_FRAME_END:
            ngx_http_hoop_kube_relay_up_end(rl);
            break;

        case HOOP_WS_ERROR:
            return NGX_ERROR;

        default: /* HOOP_WS_MORE */
            break;
        }

        /*
         * a message that is not base64 ends the session, as the API
         * server ends it (nothing of it is recorded or run); its rest
         * is not passed on
         */

        if (rl->up_b64.error) {
            rl->up_ws.error = "a client message that is not base64";
            return NGX_ERROR;
        }

        rl->up.scan += used;

        if (rc == HOOP_WS_MORE) {
            break;
        }
    }

    /* a frame whose payload ended with the bytes: its end is due now */

    if (rl->up_ws.in_frame && rl->up_ws.left == 0) {
        (void) hoop_ws_read(&rl->up_ws, rl->up.scan, 0, &used);
        ngx_http_hoop_kube_relay_up_end(rl);

        if (rl->up_b64.error) {
            rl->up_ws.error = "a client message that is not base64";
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


static void
ngx_http_hoop_kube_relay_up_piece(ngx_http_hoop_kube_relay_t *rl, u_char *p,
    size_t n)
{
    u_char  plain[NGX_HTTP_HOOP_RELAY_PIECE];
    size_t  k, at;

    for (at = 0; at < n; at += k) {
        k = ngx_min(n - at, sizeof(plain));
        hoop_ws_unmask(rl->up_ws.frame.key, rl->up_ws.offset + at, p + at,
                       plain, k);

        if (rl->up_ws.frame.opcode >= HOOP_WS_CLOSE) {
            ngx_memcpy(rl->up_ctl + rl->up_ctl_len, plain, k);
            rl->up_ctl_len += k;
            continue;
        }

        ngx_http_hoop_kube_relay_up_bytes(rl, plain, k);
    }
}


/* A piece of a client's message: its channel first, then its bytes. */
static void
ngx_http_hoop_kube_relay_up_bytes(ngx_http_hoop_kube_relay_t *rl,
    u_char *p, size_t k)
{
    u_char                         bytes[hoop_base64_decoded_max(
                                             NGX_HTTP_HOOP_RELAY_PIECE)];
    ngx_http_hoop_kube_session_t  *s;

    s = rl->session;

    /* a message's first byte is its channel (a digit in base64) */

    if (rl->up_channel == -1) {
        rl->up_channel = rl->base64 ? (ngx_int_t) p[0] - '0' : p[0];
        hoop_base64_init(&rl->up_b64);
        p++;
        k--;
    }

    if (rl->base64) {
        k = hoop_base64_feed(&rl->up_b64, p, k, bytes);
        p = bytes;
    }

    if (k == 0) {
        return;
    }

    switch (rl->up_channel) {

    case NGX_HTTP_HOOP_CH_STDIN:

        /*
         * in base64, what a message says is kept until it has all been
         * decoded: the server runs none of one that is not base64
         */

        if (rl->base64) {
            /* (a longer one is recorded in parts of that size) */

            if (rl->up_stdin_len + k > NGX_HTTP_HOOP_RELAY_HELD) {
                ngx_http_hoop_kube_relay_stdin_flush(rl);
            }

            ngx_memcpy(rl->up_stdin + rl->up_stdin_len, p, k);
            rl->up_stdin_len += k;
            break;
        }

        s->bytes[0] += k;
        ngx_http_hoop_kube_relay_stdin(rl, p, k);
        break;

    case NGX_HTTP_HOOP_CH_RESIZE:
    case NGX_HTTP_HOOP_CH_CLOSE:
        k = ngx_min(k, sizeof(rl->up_msg) - rl->up_len);
        ngx_memcpy(rl->up_msg + rl->up_len, p, k);
        rl->up_len += k;
        break;

    default:
        break;
    }
}


/* A base64 message's stdin, whole: counted and recorded now. */
static void
ngx_http_hoop_kube_relay_stdin_flush(ngx_http_hoop_kube_relay_t *rl)
{
    if (rl->up_stdin_len == 0) {
        return;
    }

    rl->session->bytes[0] += rl->up_stdin_len;
    ngx_http_hoop_kube_relay_stdin(rl, rl->up_stdin, rl->up_stdin_len);
    rl->up_stdin_len = 0;
}


/*
 * What the client typed or sent, recorded masked as output is: through a
 * stream of its own, so that a value typed in pieces is still found.
 */
static void
ngx_http_hoop_kube_relay_stdin(ngx_http_hoop_kube_relay_t *rl, u_char *p,
    size_t n)
{
    if (rl->out[0] == NULL) {
        ngx_http_hoop_kube_relay_record(rl, "i", p, n);
        return;
    }

    if (hoop_mask_stream_feed(&rl->out[0]->stream, p, n) != 0) {
        ngx_http_hoop_kube_relay_record(rl, "i", (u_char *) "[STDIN]", 7);
    }
}


/* A client frame's end: a resize, stdin closed, the client's close. */
static void
ngx_http_hoop_kube_relay_up_end(ngx_http_hoop_kube_relay_t *rl)
{
    u_char                        *p, *last, line[32];
    ngx_int_t                      w, h;
    ngx_http_hoop_kube_session_t  *s;

    s = rl->session;

    if (rl->up_ws.frame.opcode == HOOP_WS_CLOSE) {
        s->client_close = hoop_ws_close_code(rl->up_ctl, rl->up_ctl_len);
        return;
    }

    if (rl->up_ws.frame.opcode >= HOOP_WS_CLOSE) {
        return;
    }

    if (rl->base64) {
        if (hoop_base64_end(&rl->up_b64) != 0) {
            rl->up_b64.error = 1;
            rl->up_stdin_len = 0;
            return;
        }

        ngx_http_hoop_kube_relay_stdin_flush(rl);
    }

    if (rl->up_channel == NGX_HTTP_HOOP_CH_CLOSE && rl->up_len > 0
        && rl->up_msg[0] == NGX_HTTP_HOOP_CH_STDIN)
    {
        s->stdin_closed = 1;
        ngx_http_hoop_kube_relay_record(rl, "c", (u_char *) "stdin", 5);
        return;
    }

    if (rl->up_channel != NGX_HTTP_HOOP_CH_RESIZE) {
        return;
    }

    /* {"Width":100,"Height":30}: the numbers are all a replay needs */

    p = rl->up_msg;
    last = p + rl->up_len;
    w = -1;
    h = -1;

    for ( ; p < last; p++) {
        if (*p == 'W' && last - p > 7 && ngx_strncmp(p, "Width\":", 7) == 0) {
            w = ngx_atoi(p + 7, ngx_strlchr(p + 7, last, ',') != NULL
                                ? ngx_strlchr(p + 7, last, ',') - (p + 7)
                                : last - (p + 7) - 1);

        } else if (*p == 'H' && last - p > 8
                   && ngx_strncmp(p, "Height\":", 8) == 0)
        {
            h = ngx_atoi(p + 8, ngx_strlchr(p + 8, last, '}') != NULL
                                ? ngx_strlchr(p + 8, last, '}') - (p + 8)
                                : last - (p + 8));
        }
    }

    if (w <= 0 || h <= 0 || w > 10000 || h > 10000) {
        return;
    }

    s->resizes++;

    if (s->width == 0) {
        s->width = w;
        s->height = h;
    }

    p = ngx_sprintf(line, "%ix%i", w, h);
    ngx_http_hoop_kube_relay_record(rl, "r", line, p - line);
}


/* The server's frames, decoded while there is room for what they make. */
static ngx_int_t
ngx_http_hoop_kube_relay_down(ngx_http_hoop_kube_relay_t *rl,
    ngx_uint_t *moved)
{
    u_char     *made;
    ngx_int_t   rc;

    made = rl->down_out.buf->last;

    rc = ngx_http_hoop_kube_relay_decode(rl, rl->down_in.buf,
                                         rl->down_out.buf);

    if (rl->down_out.buf->last != made) {
        *moved = 1;                 /* written next */
    }

    return rc;
}


static ngx_int_t
ngx_http_hoop_kube_relay_decode(ngx_http_hoop_kube_relay_t *rl,
    ngx_buf_t *in, ngx_buf_t *out)
{
    size_t     used;
    hoop_ws_e  rc;

    while (in->pos < in->last
           && (size_t) (out->end - out->last)
              >= NGX_HTTP_HOOP_RELAY_ROOM(rl, 2 * HOOP_MASK_WINDOW
                                          + 4 * NGX_HTTP_HOOP_RELAY_PIECE))
    {
        rc = hoop_ws_read(&rl->down_ws, in->pos,
                          ngx_min((size_t) (in->last - in->pos),
                                  NGX_HTTP_HOOP_RELAY_PIECE),
                          &used);

        switch (rc) {

        case HOOP_WS_FRAME:

            /* a control frame (inside a message too): kept on its own */

            /* nothing comes after a close (RFC 6455 5.5.1) */

            if (rl->session->server_close) {
                rl->down_ws.error = "a frame after the server's close";
                return NGX_ERROR;
            }

            if (rl->down_ws.frame.opcode >= HOOP_WS_CLOSE) {
                rl->down_ctl_len = 0;

            } else if (rl->down_ws.frame.first) {
                rl->down_state = NGX_HTTP_HOOP_DOWN_START;
                rl->held_len = 0;
                rl->held_opcode = rl->down_ws.frame.opcode;
            }

            break;

        case HOOP_WS_PAYLOAD:
            if (ngx_http_hoop_kube_relay_down_piece(rl, in->pos, used)
                != NGX_OK)
            {
                return NGX_ERROR;
            }

            break;

        case HOOP_WS_FRAME_END:
            if (ngx_http_hoop_kube_relay_down_end(rl) != NGX_OK) {
                return NGX_ERROR;
            }

            break;

        case HOOP_WS_ERROR:
            return NGX_ERROR;

        default:
            break;
        }

        in->pos += used;

        if (rc == HOOP_WS_MORE) {
            break;
        }
    }

    if (rl->down_ws.in_frame && rl->down_ws.left == 0
        && (size_t) (out->end - out->last)
           >= NGX_HTTP_HOOP_RELAY_ROOM(rl, 2 * HOOP_MASK_WINDOW))
    {
        (void) hoop_ws_read(&rl->down_ws, in->pos, 0, &used);

        if (ngx_http_hoop_kube_relay_down_end(rl) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_hoop_kube_relay_down_piece(ngx_http_hoop_kube_relay_t *rl,
    u_char *p, size_t n)
{
    u_char                     bytes[hoop_base64_decoded_max(
                                         NGX_HTTP_HOOP_RELAY_PIECE)];
    ngx_http_hoop_kube_out_t  *out;

    if (rl->down_ws.frame.opcode >= HOOP_WS_CLOSE) {
        ngx_memcpy(rl->down_ctl + rl->down_ctl_len, p, n);
        rl->down_ctl_len += n;
        return NGX_OK;
    }

    if (rl->down_state == NGX_HTTP_HOOP_DOWN_START) {
        rl->down_channel = rl->base64 ? (ngx_int_t) p[0] - '0' : p[0];
        hoop_base64_init(&rl->down_b64);
        p++;
        n--;

        /* stdout and stderr, in whatever frames: masked as they come */

        rl->down_state = (rl->down_channel == NGX_HTTP_HOOP_CH_STDOUT
                          || rl->down_channel == NGX_HTTP_HOOP_CH_STDERR)
                         ? NGX_HTTP_HOOP_DOWN_OUTPUT
                         : NGX_HTTP_HOOP_DOWN_HELD;

        if (rl->down_state == NGX_HTTP_HOOP_DOWN_HELD) {
            rl->held[0] = (u_char) rl->down_channel;
            rl->held_len = 1;
        }
    }

    /* what the client is sent is made anew from the bytes */

    if (rl->base64) {
        n = hoop_base64_feed(&rl->down_b64, p, n, bytes);
        p = bytes;

        if (rl->down_b64.error) {
            rl->down_ws.error = "a message that is not base64";
            return NGX_ERROR;
        }
    }

    if (n == 0) {
        return NGX_OK;
    }

    if (rl->down_state == NGX_HTTP_HOOP_DOWN_HELD) {
        if (rl->held_len + n > NGX_HTTP_HOOP_RELAY_HELD) {
            return NGX_ERROR;
        }

        ngx_memcpy(rl->held + rl->held_len, p, n);
        rl->held_len += n;
        return NGX_OK;
    }

    rl->session->bytes[rl->down_channel] += n;

    out = rl->out[rl->down_channel];

    if (out == NULL) {
        ngx_http_hoop_kube_relay_frame(rl, rl->held_opcode, rl->down_channel,
                                       p, n);
        return NGX_OK;
    }

    out->opcode = rl->held_opcode;

    return hoop_mask_stream_feed(&out->stream, p, n) == 0 ? NGX_OK
                                                         : NGX_ERROR;
}


/* A server frame's end: a message kept whole is sent now. */
static ngx_int_t
ngx_http_hoop_kube_relay_down_end(ngx_http_hoop_kube_relay_t *rl)
{
    ngx_uint_t  opcode;

    opcode = rl->down_ws.frame.opcode;

    if (opcode >= HOOP_WS_CLOSE) {

        /* a close comes after all of the output */

        if (opcode == HOOP_WS_CLOSE) {
            if (ngx_http_hoop_kube_relay_flush_masks(rl) != NGX_OK) {
                return NGX_ERROR;
            }

            rl->session->server_close = hoop_ws_close_code(rl->down_ctl,
                                                      rl->down_ctl_len);

            if (rl->session->server_close == 0) {
                rl->session->server_close = 1002;   /* not a close's */
            }
        }

        ngx_http_hoop_kube_relay_frame(rl, opcode, -1, rl->down_ctl,
                                       rl->down_ctl_len);
        return NGX_OK;
    }

    if (rl->down_ws.message != 0) {
        return NGX_OK;                      /* the message goes on */
    }

    if (rl->base64 && hoop_base64_end(&rl->down_b64) != 0) {
        rl->down_ws.error = "a message that is not base64";
        return NGX_ERROR;
    }

    if (rl->down_state == NGX_HTTP_HOOP_DOWN_OUTPUT) {
        return NGX_OK;
    }

    /* an exit status, too, comes after all of the output */

    if (rl->down_state == NGX_HTTP_HOOP_DOWN_HELD
        && rl->down_channel == NGX_HTTP_HOOP_CH_ERROR)
    {
        if (ngx_http_hoop_kube_relay_flush_masks(rl) != NGX_OK) {
            return NGX_ERROR;
        }

        ngx_http_hoop_kube_relay_exit(rl, rl->held + 1, rl->held_len - 1);
    }

    /* held whole (masked too: a Status carries text), or empty */

    ngx_http_hoop_kube_relay_held(rl);
    rl->down_state = NGX_HTTP_HOOP_DOWN_START;

    return NGX_OK;
}


/*
 * A message kept whole goes on, its payload past the channel byte masked
 * as one text (a Status as JSON); room for twice it was made before.
 */
static void
ngx_http_hoop_kube_relay_held(ngx_http_hoop_kube_relay_t *rl)
{
    u_char   *p, *start;
    size_t    n, cap;
    uint64_t  counts[HOOP_MASK_NTYPES];

    if (rl->base64) {
        ngx_http_hoop_kube_relay_held_base64(rl);
        return;
    }

    if (rl->mask == NULL || rl->held_len < 2) {
        ngx_http_hoop_kube_relay_frame(rl, rl->held_opcode, -1, rl->held,
                                       rl->held_len);
        return;
    }

    /* masked into the output buffer past room for the longest header */

    start = rl->down_out.buf->last + HOOP_WS_HEADER_MAX;
    cap = rl->down_out.buf->end - start - 1;
    *start = rl->held[0];

    ngx_memzero(counts, sizeof(counts));

    n = (rl->down_channel == NGX_HTTP_HOOP_CH_ERROR)
        ? hoop_mask_string_escaped(rl->mask, rl->held + 1, rl->held_len - 1,
                                   start + 1, cap, counts)
        : hoop_mask_string(rl->mask, rl->held + 1, rl->held_len - 1,
                           start + 1, cap, counts);

    /* no room for all it became: the channel byte alone goes, unmasked
       text never */

    n = (n == (size_t) -1) ? 1 : n + 1;

    p = rl->down_out.buf->last;
    p += hoop_ws_header(p, 1, (int) rl->held_opcode, n);
    ngx_memmove(p, start, n);
    rl->down_out.buf->last = p + n;

    for (n = 0; n < HOOP_MASK_NTYPES; n++) {
        rl->session->masked[n] += counts[n];
    }
}


/*
 * The same in a base64 protocol: masked aside, then written in base64 if
 * there is room for all it became (the channel alone otherwise).
 */
static void
ngx_http_hoop_kube_relay_held_base64(ngx_http_hoop_kube_relay_t *rl)
{
    u_char     *text;
    size_t      n, cap;
    uint64_t    counts[HOOP_MASK_NTYPES];
    ngx_uint_t  t;

    text = rl->held + 1;
    n = rl->held_len - 1;

    if (rl->mask != NULL && n > 0) {
        cap = NGX_HTTP_HOOP_RELAY_SCRATCH;

        ngx_memzero(counts, sizeof(counts));

        n = (rl->down_channel == NGX_HTTP_HOOP_CH_ERROR)
            ? hoop_mask_string_escaped(rl->mask, rl->held + 1,
                                       rl->held_len - 1, rl->scratch, cap,
                                       counts)
            : hoop_mask_string(rl->mask, rl->held + 1, rl->held_len - 1,
                               rl->scratch, cap, counts);

        for (t = 0; t < HOOP_MASK_NTYPES; t++) {
            rl->session->masked[t] += counts[t];
        }

        text = rl->scratch;
    }

    if (n == (size_t) -1
        || (size_t) (rl->down_out.buf->end - rl->down_out.buf->last)
           < HOOP_WS_HEADER_MAX + 1 + hoop_base64_encoded_len(n))
    {
        n = 0;
    }

    ngx_http_hoop_kube_relay_message(rl, rl->held_opcode, rl->held[0], text,
                                     n);
}


/* What the masking still holds, let out: the output is over, or idle. */
static ngx_int_t
ngx_http_hoop_kube_relay_flush_masks(ngx_http_hoop_kube_relay_t *rl)
{
    ngx_uint_t                 i, t;
    const hoop_mask_conf_t    *conf;
    ngx_http_hoop_kube_out_t  *out;

    for (i = 0; i < 3; i++) {
        out = rl->out[i];

        if (out == NULL) {
            continue;
        }

        if (out->stream.len && hoop_mask_stream_finish(&out->stream) != 0) {
            return NGX_ERROR;
        }

        /* what it masked moves to the session, as the stream starts anew */

        for (t = 0; t < HOOP_MASK_NTYPES; t++) {
            if (i == 0) {
                rl->session->masked_stdin[t] += out->stream.counts[t];

            } else {
                rl->session->masked[t] += out->stream.counts[t];
            }
        }

        conf = out->stream.conf;
        hoop_mask_stream_init(&out->stream, conf,
                              ngx_http_hoop_kube_relay_emit, out);
    }

    return NGX_OK;
}


/* Masked output: a message of its channel, and a record of it. */
static int
ngx_http_hoop_kube_relay_emit(void *data, const unsigned char *p, size_t len)
{
    ngx_http_hoop_kube_out_t *out = data;

    if (out->channel == NGX_HTTP_HOOP_CH_STDIN) {
        ngx_http_hoop_kube_relay_record(out->relay, "i", p, len);
        return 0;
    }

    ngx_http_hoop_kube_relay_frame(out->relay, out->opcode, out->channel,
                                   p, len);
    return 0;
}


/*
 * A whole frame into the client's buffer (room was made before): a
 * channel's output (channel >= 0) is recorded as the client sees it.
 */
static void
ngx_http_hoop_kube_relay_frame(ngx_http_hoop_kube_relay_t *rl,
    ngx_uint_t opcode, ngx_int_t channel, const u_char *p, size_t len)
{
    ngx_buf_t  *b;

    if (channel >= 0) {
        if (len == 0) {
            return;
        }

        ngx_http_hoop_kube_relay_message(rl, opcode, channel, p, len);
        ngx_http_hoop_kube_relay_record(rl, channel == 1 ? "o" : "e", p, len);
        return;
    }

    b = rl->down_out.buf;
    b->last += hoop_ws_header(b->last, 1, (int) opcode, len);
    b->last = ngx_cpymem(b->last, p, len);
}


/*
 * A channel's message into the client's buffer, in the protocol's form:
 * [channel]bytes, or in a base64 protocol a text frame "<digit><base64>".
 */
static void
ngx_http_hoop_kube_relay_message(ngx_http_hoop_kube_relay_t *rl,
    ngx_uint_t opcode, ngx_uint_t channel, const u_char *p, size_t len)
{
    ngx_str_t   src, dst;
    ngx_buf_t  *b;

    b = rl->down_out.buf;

    if (!rl->base64) {
        b->last += hoop_ws_header(b->last, 1, (int) opcode, len + 1);
        *b->last++ = (u_char) channel;
        b->last = ngx_cpymem(b->last, p, len);
        return;
    }

    b->last += hoop_ws_header(b->last, 1, HOOP_WS_TEXT,
                              1 + ngx_base64_encoded_length(len));
    *b->last++ = (u_char) ('0' + channel);

    src.data = (u_char *) p;
    src.len = len;
    dst.data = b->last;
    ngx_encode_base64(&dst, &src);
    b->last += dst.len;
}


/*
 * The error channel's Status: the exit code, as kubectl reads it
 * (Success: 0; NonZeroExitCode: details.causes[ExitCode].message), or
 * the reason it failed otherwise.
 */
static void
ngx_http_hoop_kube_relay_exit(ngx_http_hoop_kube_relay_t *rl,
    const u_char *p, size_t len)
{
    size_t                         i;
    json_t                        *root, *causes, *cause;
    const char                    *status, *reason, *message;
    ngx_http_hoop_kube_session_t  *s;

    s = rl->session;

    root = json_loadb((const char *) p, len, 0, NULL);
    if (root == NULL) {
        return;
    }

    status = json_string_value(json_object_get(root, "status"));
    reason = json_string_value(json_object_get(root, "reason"));

    if (status != NULL && ngx_strcmp(status, "Success") == 0) {
        s->exit_code = 0;

    } else if (reason != NULL && ngx_strcmp(reason, "NonZeroExitCode") == 0) {
        causes = json_object_get(json_object_get(root, "details"), "causes");

        json_array_foreach(causes, i, cause) {
            reason = json_string_value(json_object_get(cause, "reason"));
            message = json_string_value(json_object_get(cause, "message"));

            if (reason != NULL && message != NULL
                && ngx_strcmp(reason, "ExitCode") == 0)
            {
                s->exit_code = ngx_atoi((u_char *) message,
                                        ngx_strlen(message));
            }
        }

    } else if (reason != NULL) {
        s->failure_len = ngx_min(ngx_strlen(reason), sizeof(s->failure));
        ngx_memcpy(s->failure, reason, s->failure_len);
    }

    json_decref(root);
}


/*
 * One record of the session: [ms, kind, base64 of the bytes].  Bytes of
 * one kind within 10 ms join one record (a terminal sends a key a
 * message); a resize or stdin's close is a record of its own.  Records
 * go into an event when the next would not fit, every second while there
 * are any, and at the end; past hoop_kube_record_max of records (their
 * size as written) the session is recorded as truncated.
 */
static void
ngx_http_hoop_kube_relay_record(ngx_http_hoop_kube_relay_t *rl,
    const char *kind, const u_char *p, size_t len)
{
    size_t      k;
    ngx_msec_t  now;
    ngx_uint_t  alone;

    if (rl->session->truncated) {
        return;
    }

    now = ngx_current_msec - rl->start;
    alone = (kind[0] == 'r' || kind[0] == 'c');

    while (len > 0) {
        if (rl->join_len
            && (alone || rl->join_kind[0] != kind[0]
                || now - rl->join_ms > NGX_HTTP_HOOP_RELAY_JOIN_MS
                || rl->join_len == NGX_HTTP_HOOP_RELAY_JOIN))
        {
            ngx_http_hoop_kube_relay_record_flush(rl);
        }

        if (rl->join_len == 0) {
            rl->join_kind = kind;
            rl->join_ms = now;
        }

        k = ngx_min(len, NGX_HTTP_HOOP_RELAY_JOIN - rl->join_len);
        ngx_memcpy(rl->join + rl->join_len, p, k);
        rl->join_len += k;
        p += k;
        len -= k;
    }

    if (alone) {
        ngx_http_hoop_kube_relay_record_flush(rl);
    }

    if (!rl->tick.timer_set) {
        ngx_add_timer(&rl->tick, NGX_HTTP_HOOP_RELAY_TICK);
    }
}


/* The record being made, written into the next event's records. */
static void
ngx_http_hoop_kube_relay_record_flush(ngx_http_hoop_kube_relay_t *rl)
{
    size_t                         size;
    ngx_str_t                      src, dst;
    ngx_buf_t                     *b;
    ngx_http_hoop_loc_conf_t      *hlcf;
    ngx_http_hoop_kube_session_t  *s;

    if (rl->join_len == 0) {
        return;
    }

    s = rl->session;
    b = rl->rec;
    hlcf = ngx_http_get_module_loc_conf(rl->request, ngx_http_hoop_module);

    size = ngx_base64_encoded_length(rl->join_len)
           + sizeof("[18446744073709551615,\"o\",\"\"],");

    if (s->recorded_size + (off_t) size > (off_t) hlcf->kube_record_max) {
        s->truncated = 1;
        rl->join_len = 0;
        return;
    }

    if ((size_t) (b->end - b->last) < size) {
        ngx_http_hoop_kube_relay_emit_records(rl);
    }

    if (b->last != b->pos) {
        *b->last++ = ',';
    }

    b->last = ngx_sprintf(b->last, "[%M,\"%s\",\"", rl->join_ms,
                          rl->join_kind);

    src.data = rl->join;
    src.len = rl->join_len;
    dst.data = b->last;
    ngx_encode_base64(&dst, &src);
    b->last += dst.len;
    *b->last++ = '"';
    *b->last++ = ']';

    s->recorded += rl->join_len;
    s->recorded_size += size;
    rl->join_len = 0;
}


static void
ngx_http_hoop_kube_relay_emit_records(ngx_http_hoop_kube_relay_t *rl)
{
    if (rl->rec->last == rl->rec->pos) {
        return;
    }

    (void) ngx_http_hoop_audit_emit(rl->request,
                                    ngx_http_hoop_kube_relay_data_event, rl);

    rl->session->events++;
    rl->rec->pos = rl->rec->start;
    rl->rec->last = rl->rec->start;
}


/*
 * {"v":1,"type":"kube.exec.data",...,"records":[[ms,"o","aGk="],...]}:
 * o stdout, e stderr, i stdin, r a resize ("80x24"), c stdin closed;
 * ms from the session's start.
 */
static void
ngx_http_hoop_kube_relay_data_event(void *data, hoop_json_t *j,
    ngx_hoop_audit_session_t *sess)
{
    ngx_http_hoop_kube_relay_t *rl = data;

    u_char     *p, array[2 * NGX_HTTP_HOOP_RELAY_RECORD + 2];
    ngx_buf_t  *b;

    b = rl->rec;

    hoop_json_object(j, NULL);
    ngx_hoop_audit_envelope(j, "kube.exec.data", sess);
    hoop_json_int(j, "part", (long long) rl->session->events + 1);

    p = array;
    *p++ = '[';
    p = ngx_cpymem(p, b->pos, b->last - b->pos);
    *p++ = ']';

    hoop_json_value(j, "records", (char *) array, p - array);
    hoop_json_end(j);
}


static void
ngx_http_hoop_kube_relay_tick(ngx_event_t *ev)
{
    ngx_http_hoop_kube_relay_record_flush(ev->data);
    ngx_http_hoop_kube_relay_emit_records(ev->data);
}


/* A tail the masking held: nothing followed it, so the client sees it. */
static void
ngx_http_hoop_kube_relay_release(ngx_event_t *ev)
{
    ngx_http_hoop_kube_relay_t *rl = ev->data;

    if ((size_t) (rl->down_out.buf->end - rl->down_out.buf->last)
        < NGX_HTTP_HOOP_RELAY_ROOM(rl, 2 * HOOP_MASK_WINDOW
                                   + 4 * NGX_HTTP_HOOP_RELAY_PIECE))
    {
        ngx_add_timer(&rl->release, NGX_HTTP_HOOP_RELAY_RELEASE);
        return;
    }

    if (ngx_http_hoop_kube_relay_flush_masks(rl) != NGX_OK) {
        ngx_http_hoop_kube_relay_end(rl, "masking failed");
        return;
    }

    ngx_http_hoop_kube_relay_run(rl);
}


/*
 * The session is over (error NULL: a side closed): its records written,
 * then nginx's own relay is handed a finished upstream, which ends the
 * request as an upgraded one always ends (its log phase writes the
 * kube.exec event, with the session's summary).
 */
static void
ngx_http_hoop_kube_relay_end(ngx_http_hoop_kube_relay_t *rl,
    const char *error)
{
    ngx_http_request_t   *r;
    ngx_http_upstream_t  *u;

    r = rl->request;
    u = r->upstream;

    if (error != NULL && rl->session->error == NULL) {
        rl->session->error = error;

        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "hoop_kube: exec session ended: %s", error);
    }

    (void) ngx_http_hoop_kube_relay_flush_masks(rl);
    ngx_http_hoop_kube_relay_finish(rl);

    u->buffer.pos = u->buffer.last;
    u->peer.connection->read->eof = 1;
    u->read_event_handler = rl->nginx_read;

    rl->nginx_read(r, u);
}


/*
 * The request is being logged: a session nginx ended itself (a worker's
 * shutdown timeout, a connection closed under it) never reached
 * ngx_http_hoop_kube_relay_end(); what it recorded is written now, and
 * the summary says so.
 */
void
ngx_http_hoop_kube_relay_log(ngx_http_request_t *r)
{
    ngx_http_hoop_ctx_t         *ctx;
    ngx_http_hoop_kube_relay_t  *rl;

    ctx = ngx_http_hoop_get_ctx(r);

    if (ctx == NULL || ctx->kube == NULL || ctx->kube->relay == NULL) {
        return;
    }

    rl = ctx->kube->relay;

    if (rl->ended) {
        return;
    }

    if (rl->session->error == NULL) {
        rl->session->error = "ended by nginx (shutting down, or the"
                             " connection closed under it)";
    }

    ngx_http_hoop_kube_relay_finish(rl);
}


/* The session's last records written, its duration taken, timers gone. */
static void
ngx_http_hoop_kube_relay_finish(ngx_http_hoop_kube_relay_t *rl)
{
    rl->ended = 1;
    rl->session->duration = ngx_current_msec - rl->start;
    ngx_http_hoop_kube_relay_record_flush(rl);
    ngx_http_hoop_kube_relay_emit_records(rl);
    ngx_http_hoop_kube_relay_cleanup(rl);
}


/* The pool goes: no timer of the relay may fire after it. */
static void
ngx_http_hoop_kube_relay_cleanup(void *data)
{
    ngx_http_hoop_kube_relay_t *rl = data;

    if (rl->release.timer_set) {
        ngx_del_timer(&rl->release);
    }

    if (rl->tick.timer_set) {
        ngx_del_timer(&rl->tick);
    }
}
