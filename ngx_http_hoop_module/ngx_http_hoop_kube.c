/*
 * Copyright (C) nginx-hoop authors
 *
 * hoop_kube: a location in front of the Kubernetes API server.  Each
 * request is read as the API server reads it (namespace, resource, name,
 * subresource, verb) for the rules; a pod's exec, attach and portforward
 * also by what they ask to run (container, command, tty, stdin), decided
 * before the connection is upgraded.  Refusals are the API's own Status
 * objects, which kubectl prints as "Error from server (Forbidden): ...".
 *
 * What the gateway could not read the same way as the server is refused
 * here, whatever the rules say: a path that is not plain, an upgrade to
 * anything but a pod's stream, SPDY (unless hoop_kube_spdy), a token in
 * the WebSocket subprotocols.  WebSocket compression is never offered to
 * the server, so that what it sends stays readable.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <ngx_sha1.h>

#include "hoop_base64url.h"
#include "hoop_kube.h"
#include "hoop_ws.h"
#include "ngx_http_hoop.h"


static ngx_int_t ngx_http_hoop_kube_upgrade(ngx_http_request_t *r,
    ngx_http_hoop_kube_t *kube);
static ngx_int_t ngx_http_hoop_kube_readable_only(ngx_http_request_t *r,
    ngx_http_hoop_kube_t *kube);
static void ngx_http_hoop_kube_tunnel_ports(ngx_http_request_t *r,
    ngx_http_hoop_kube_t *kube);
static u_char *ngx_http_hoop_kube_protocols_room(ngx_http_request_t *r);
static ngx_int_t ngx_http_hoop_kube_set_protocols(ngx_http_request_t *r,
    u_char *list, size_t len);
static ngx_int_t ngx_http_hoop_kube_args(ngx_http_request_t *r,
    ngx_http_hoop_kube_t *kube);
static void ngx_http_hoop_kube_refuse(ngx_http_hoop_kube_t *kube,
    ngx_uint_t status, const char *why);
static int ngx_http_hoop_kube_flag(ngx_uint_t seen, const char *glob,
    int all);
static int ngx_http_hoop_kube_glob(const hoop_rule_cond_t *c,
    const char *text, size_t len);
static int ngx_http_hoop_kube_any(const hoop_rule_cond_t *c);
static int ngx_http_hoop_kube_value(ngx_http_hoop_kube_t *kube,
    const char *key, const char *glob, int all);
static int ngx_http_hoop_kube_verb(ngx_http_hoop_kube_t *kube,
    const hoop_rule_cond_t *c, int all);
static int ngx_http_hoop_kube_port(ngx_http_hoop_kube_t *kube,
    const hoop_rule_cond_t *c, int all);
static ngx_int_t ngx_http_hoop_kube_protocol(ngx_http_request_t *r,
    ngx_str_t *protocol);
static ngx_int_t ngx_http_hoop_kube_status_json(ngx_http_request_t *r,
    ngx_uint_t status, const char *reason, const char *message,
    const char *rule, ngx_str_t *json);
static ngx_uint_t ngx_http_hoop_kube_token(u_char **p, u_char *last,
    ngx_str_t *known, ngx_uint_t n, ngx_str_t *token);
static ngx_int_t ngx_http_hoop_kube_add_header(ngx_http_request_t *r,
    char *name, char *value, size_t len);
static void ngx_http_hoop_kube_json_part(hoop_json_t *j, const char *key,
    hoop_kube_str_t *s);
static void ngx_http_hoop_kube_json_flag(hoop_json_t *j, const char *key,
    ngx_uint_t seen);
static void ngx_http_hoop_kube_json_tunnel(ngx_http_request_t *r,
    hoop_json_t *j, ngx_http_hoop_kube_t *kube);
static void ngx_http_hoop_kube_json_session(hoop_json_t *j,
    ngx_http_hoop_kube_session_t *s);
static void ngx_http_hoop_kube_json_code(hoop_json_t *j, const char *key,
    ngx_uint_t code);


static ngx_str_t  ngx_http_hoop_kube_upgrade_header[] = {
    ngx_string("Upgrade")
};

static ngx_str_t  ngx_http_hoop_kube_extensions_header[] = {
    ngx_string("Sec-WebSocket-Extensions")
};

static ngx_str_t  ngx_http_hoop_kube_protocol_header[] = {
    ngx_string("Sec-WebSocket-Protocol")
};

/*
 * the channel protocols the relay reads: binary frames, and the base64
 * text frames of browsers (no v5 among them, so no close of stdin)
 */
#define NGX_HTTP_HOOP_KUBE_READABLE  5

static ngx_str_t  ngx_http_hoop_kube_readable[] = {
    ngx_string("v5.channel.k8s.io"),
    ngx_string("v4.channel.k8s.io"),
    ngx_string("channel.k8s.io"),
    ngx_string("v4.base64.channel.k8s.io"),
    ngx_string("base64.channel.k8s.io")
};

/* a token in the subprotocols (k8s.io/apiserver .../request/websocket) */
static ngx_str_t  ngx_http_hoop_kube_bearer =
    ngx_string("base64url.bearer.authorization.k8s.io.");

static const char  *ngx_http_hoop_kube_kinds[] = {
    NULL, "kube.exec", "kube.attach", "kube.portforward"
};


/* The Kubernetes request r is: its parts, and what it may not do here. */
ngx_int_t
ngx_http_hoop_kube_request(ngx_http_request_t *r, ngx_http_hoop_ctx_t *ctx)
{
    size_t                 raw;
    ngx_http_hoop_kube_t  *kube;

    kube = ngx_pcalloc(r->pool, sizeof(ngx_http_hoop_kube_t));
    if (kube == NULL) {
        return NGX_ERROR;
    }

    ctx->kube = kube;

    /*
     * the path as it was sent is what the server reads (proxy_pass
     * without a URI sends it so); nginx's reading of it (r->uri) must be
     * the same, and plain
     */

    raw = (r->uri_start == NULL) ? 0
          : r->args_start ? (size_t) (r->args_start - 1 - r->uri_start)
                          : (size_t) (r->uri_end - r->uri_start);

    if (raw == 0 || raw != r->uri.len
        || ngx_strncmp(r->uri_start, r->uri.data, raw) != 0
        || hoop_kube_path((char *) r->uri.data, r->uri.len, &kube->path)
           != 0)
    {
        /* no verb: refused before the rules, which could not read it */

        ngx_memzero(&kube->path, sizeof(hoop_kube_path_t));
        ngx_http_hoop_kube_refuse(kube, NGX_HTTP_BAD_REQUEST,
                                  "the path is not in its plain form"
                                  " (escapes, empty or dot segments)");
        return NGX_OK;
    }

    kube->stream = hoop_kube_stream(&kube->path);

    if (ngx_http_hoop_kube_args(r, kube) != NGX_OK) {
        return NGX_ERROR;
    }

    if (kube->verb == NULL) {
        return NGX_OK;          /* refused: the query was not readable */
    }

    return ngx_http_hoop_kube_upgrade(r, kube);
}


/*
 * How the connection is to be upgraded: WebSocket (read after the 101),
 * SPDY (decided, never read), or nothing else.
 */
static ngx_int_t
ngx_http_hoop_kube_upgrade(ngx_http_request_t *r, ngx_http_hoop_kube_t *kube)
{
    ngx_table_elt_t           *h, *next;
    ngx_http_hoop_loc_conf_t  *hlcf;

    hlcf = ngx_http_get_module_loc_conf(r, ngx_http_hoop_module);

    /* compression is never offered: what the server sends stays plain */

    while ((h = ngx_http_hoop_find_header(r,
                                  ngx_http_hoop_kube_extensions_header, 1))
           != NULL)
    {
        ngx_http_hoop_hide_request_header(r, h);
    }

    /*
     * a browser's token in the subprotocols is taken by hoop_auth; one
     * still here (hoop_auth off, or an Authorization header too) would
     * reach the server (on any request: it goes upstream as it is)
     */

    for (h = NULL;
         (h = ngx_http_hoop_next_header(r, ngx_http_hoop_kube_protocol_header,
                                        1, h))
         != NULL;
         /* void */)
    {
        if (ngx_strlcasestrn(h->value.data, h->value.data + h->value.len,
                             ngx_http_hoop_kube_bearer.data,
                             ngx_http_hoop_kube_bearer.len - 1)
            != NULL)
        {
            ngx_http_hoop_kube_refuse(kube, NGX_HTTP_BAD_REQUEST,
                                      "a token in Sec-WebSocket-Protocol"
                                      " next to Authorization, or where"
                                      " hoop_auth is off");
            return NGX_OK;
        }
    }

    h = ngx_http_hoop_find_header(r, ngx_http_hoop_kube_upgrade_header, 1);

    if (h == NULL) {
        return NGX_OK;
    }

    next = ngx_http_hoop_next_header(r, ngx_http_hoop_kube_upgrade_header,
                                     1, h);

    if (kube->stream == HOOP_KUBE_NONE) {
        ngx_http_hoop_kube_refuse(kube, NGX_HTTP_FORBIDDEN,
                                  "only a pod's exec, attach and"
                                  " portforward upgrade the connection"
                                  " here");
        return NGX_OK;
    }

    if (next != NULL) {
        ngx_http_hoop_kube_refuse(kube, NGX_HTTP_BAD_REQUEST,
                                  "more than one Upgrade header");
        return NGX_OK;
    }

    /*
     * as the servers tell them: SPDY where "spdy/3.1" is in the value
     * (the kubelet's upgrader), WebSocket where the value is "websocket"
     * and nothing else (x/net/websocket's handshake)
     */

    if (ngx_strlcasestrn(h->value.data, h->value.data + h->value.len,
                         (u_char *) "spdy/3.1", 8 - 1)
        != NULL)
    {
        kube->spdy = 1;

    } else if (h->value.len == 9
               && ngx_strncasecmp(h->value.data, (u_char *) "websocket", 9)
                  == 0)
    {
        kube->websocket = 1;

    } else {
        ngx_http_hoop_kube_refuse(kube, NGX_HTTP_BAD_REQUEST,
                                  "an upgrade to neither WebSocket nor"
                                  " SPDY/3.1");
        return NGX_OK;
    }

    if (kube->spdy && !hlcf->kube_spdy) {
        ngx_http_hoop_kube_refuse(kube, NGX_HTTP_FORBIDDEN,
                                  "streams over SPDY are not served here"
                                  " (the gateway cannot record them);"
                                  " kubectl 1.30 and later use WebSocket");
        return NGX_OK;
    }

    /* a port-forward's tunnel is not read: its protocols stay */

    if (kube->stream == HOOP_KUBE_PORTFORWARD) {
        ngx_http_hoop_kube_tunnel_ports(r, kube);
        return NGX_OK;
    }

    if (kube->websocket) {
        return ngx_http_hoop_kube_readable_only(r, kube);
    }

    return NGX_OK;
}


/*
 * Whether the ports= of a port-forward are the ports it reaches.  The
 * kubelet reads them for a WebSocket speaking a channel protocol; SPDY,
 * and a WebSocket that also offers a tunnel (kubectl's
 * SPDY/3.1+portforward.k8s.io, which the API server serves once it is
 * offered), name each port inside, whatever the query says.  Anything
 * offered but the channel protocols is taken for such a tunnel.
 */
static void
ngx_http_hoop_kube_tunnel_ports(ngx_http_request_t *r,
    ngx_http_hoop_kube_t *kube)
{
    u_char           *p, *last;
    ngx_str_t         token;
    ngx_table_elt_t  *h;

    static ngx_str_t  channels[] = {
        ngx_string("v5.channel.k8s.io"),
        ngx_string("v4.channel.k8s.io"),
        ngx_string("v3.channel.k8s.io"),
        ngx_string("v2.channel.k8s.io"),
        ngx_string("channel.k8s.io"),
        ngx_string("v4.base64.channel.k8s.io"),
        ngx_string("base64.channel.k8s.io")
    };

    if (!kube->websocket) {
        kube->ports_unread = 1;
        return;
    }

    for (h = NULL;
         (h = ngx_http_hoop_next_header(r, ngx_http_hoop_kube_protocol_header,
                                        1, h))
         != NULL;
         /* void */)
    {
        p = h->value.data;
        last = p + h->value.len;

        while (p < last) {
            if (ngx_http_hoop_kube_token(&p, last, channels, 7, &token) == 7
                && token.len)
            {
                kube->ports_unread = 1;
                return;
            }
        }
    }
}


/*
 * A browser's token, in the WebSocket subprotocols as the API server
 * takes it: "base64url.bearer.authorization.k8s.io.<base64url>" among the
 * comma-separated protocols.  It is taken off the list whatever follows
 * (the server never sees it); NGX_OK with it decoded, NGX_DECLINED when
 * there is none, NGX_ABORT when the server would refuse it too (two
 * tokens, not base64url, no other protocol left to answer with).
 */
ngx_int_t
ngx_http_hoop_kube_ws_token(ngx_http_request_t *r, ngx_str_t *token)
{
    u_char           *p, *last, *start, *out, *o;
    ngx_int_t         rc;
    ngx_str_t         tok;
    ngx_table_elt_t  *h;

    if (ngx_http_hoop_find_header(r, ngx_http_hoop_kube_protocol_header, 1)
        == NULL)
    {
        return NGX_DECLINED;
    }

    out = ngx_http_hoop_kube_protocols_room(r);
    if (out == NULL) {
        return NGX_ERROR;
    }

    o = out;
    rc = NGX_DECLINED;

    while ((h = ngx_http_hoop_find_header(r,
                                  ngx_http_hoop_kube_protocol_header, 1))
           != NULL)
    {
        p = h->value.data;
        last = p + h->value.len;

        while (p < last) {
            (void) ngx_http_hoop_kube_token(&p, last, NULL, 0, &tok);

            if (tok.len == 0) {
                continue;
            }

            start = tok.data;

            if ((size_t) (p - start) <= ngx_http_hoop_kube_bearer.len
                || ngx_strncmp(start, ngx_http_hoop_kube_bearer.data,
                               ngx_http_hoop_kube_bearer.len)
                   != 0)
            {
                if (o != out) {
                    *o++ = ',';
                    *o++ = ' ';
                }

                o = ngx_cpymem(o, start, p - start);
                continue;
            }

            /* the token: one only, base64url without padding */

            if (rc != NGX_DECLINED) {
                rc = NGX_ABORT;
                continue;
            }

            start += ngx_http_hoop_kube_bearer.len;

            token->data = ngx_pnalloc(r->pool,
                                      hoop_base64url_decoded_max(p - start));
            if (token->data == NULL) {
                return NGX_ERROR;
            }

            token->len = hoop_base64url_decode(token->data, (char *) start,
                                               p - start);

            rc = (token->len == (size_t) -1 || token->len == 0) ? NGX_ABORT
                                                                : NGX_OK;
        }

        ngx_http_hoop_hide_request_header(r, h);
    }

    if (o != out) {
        if (ngx_http_hoop_kube_set_protocols(r, out, o - out) != NGX_OK) {
            return NGX_ERROR;
        }

    } else if (rc == NGX_OK) {
        rc = NGX_ABORT;         /* no protocol to answer with */
    }

    return rc;
}


/*
 * The server is offered only the channel protocols whose frames the
 * relay reads: a client that offers none of them is refused.
 */
static ngx_int_t
ngx_http_hoop_kube_readable_only(ngx_http_request_t *r,
    ngx_http_hoop_kube_t *kube)
{
    u_char           *p, *last, *out, *o;
    ngx_uint_t        i;
    ngx_table_elt_t  *h;

    out = ngx_http_hoop_kube_protocols_room(r);
    if (out == NULL) {
        return NGX_ERROR;
    }

    o = out;

    while ((h = ngx_http_hoop_find_header(r,
                                  ngx_http_hoop_kube_protocol_header, 1))
           != NULL)
    {
        p = h->value.data;
        last = p + h->value.len;

        while (p < last) {
            i = ngx_http_hoop_kube_token(&p, last,
                                         ngx_http_hoop_kube_readable,
                                         NGX_HTTP_HOOP_KUBE_READABLE, NULL);

            if (i == NGX_HTTP_HOOP_KUBE_READABLE) {
                continue;
            }

            if (o != out) {
                *o++ = ',';
                *o++ = ' ';
            }

            o = ngx_cpymem(o, ngx_http_hoop_kube_readable[i].data,
                           ngx_http_hoop_kube_readable[i].len);
        }

        ngx_http_hoop_hide_request_header(r, h);
    }

    if (o == out) {
        ngx_http_hoop_kube_refuse(kube, NGX_HTTP_BAD_REQUEST,
                                  "none of the channel protocols read"
                                  " here (v5.channel.k8s.io,"
                                  " v4.channel.k8s.io, channel.k8s.io and"
                                  " their base64 variants) was offered");
        return NGX_OK;
    }

    return ngx_http_hoop_kube_set_protocols(r, out, o - out);
}


/*
 * Room for the Sec-WebSocket-Protocol lists rewritten as one: each
 * separator may become ", ", so twice their length, and one ", " more a
 * header.
 */
static u_char *
ngx_http_hoop_kube_protocols_room(ngx_http_request_t *r)
{
    u_char           *room;
    size_t            len;
    ngx_table_elt_t  *h;

    len = 1;

    for (h = NULL;
         (h = ngx_http_hoop_next_header(r, ngx_http_hoop_kube_protocol_header,
                                        1, h))
         != NULL;
         /* void */)
    {
        len += 2 * h->value.len + 2;
    }

    room = ngx_pnalloc(r->pool, len);
    if (room == NULL) {
        return NULL;
    }

    return room;
}


/* The one Sec-WebSocket-Protocol the server is sent (the others gone). */
static ngx_int_t
ngx_http_hoop_kube_set_protocols(ngx_http_request_t *r, u_char *list,
    size_t len)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_in.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Sec-WebSocket-Protocol");
    h->lowcase_key = (u_char *) "sec-websocket-protocol";
    h->value.data = list;
    h->value.len = len;

    return NGX_OK;
}


/*
 * The query as the API server reads it (Go's url.ParseQuery, exact names,
 * the first value of each where the server takes one): watch= and a list's
 * fieldSelector for the verb and the object; for a pod's stream, every
 * command= in order (joined by spaces for the rules), container=, tty=
 * and stdin=.  A query with a pair Go would drop, or a value too long to
 * read here, is refused: the gateway would not know what ran.
 */
static ngx_int_t
ngx_http_hoop_kube_args(ngx_http_request_t *r, ngx_http_hoop_kube_t *kube)
{
    int               rc;
    char             *name, *value;
    u_char           *p;
    size_t            pos, nlen, vlen, n;
    ngx_int_t         watch;
    ngx_uint_t        seen;
    hoop_kube_str_t   field;

    name = ngx_pnalloc(r->pool, 2 * HOOP_RULE_ARG_MAX);
    p = ngx_pnalloc(r->pool, r->args.len + 1);

    if (name == NULL || p == NULL) {
        return NGX_ERROR;
    }

    value = name + HOOP_RULE_ARG_MAX;
    kube->command.data = p;
    kube->tty = NGX_HTTP_HOOP_KUBE_ANY_FALSE;
    kube->input = NGX_HTTP_HOOP_KUBE_ANY_FALSE;
    pos = 0;
    seen = 0;
    watch = 0;

    for ( ;; ) {
        rc = hoop_kube_query_next((char *) r->args.data, r->args.len, &pos,
                                  name, &nlen, value, &vlen,
                                  HOOP_RULE_ARG_MAX);
        if (rc == 0) {
            break;
        }

        if (rc < 0) {
            ngx_http_hoop_kube_refuse(kube, NGX_HTTP_BAD_REQUEST,
                                      rc == -1
                                      ? "a query argument the API server"
                                        " would drop (a ';' or a bad"
                                        " escape)"
                                      : "a query argument too long to"
                                        " read");
            kube->verb = NULL;
            return NGX_OK;
        }

        if (nlen == 5 && ngx_strncmp(name, "watch", 5) == 0
            && !(seen & 0x01))
        {
            seen |= 0x01;
            watch = hoop_kube_bool(value, vlen);

        } else if (nlen == 13 && ngx_strncmp(name, "fieldSelector", 13) == 0
                   && !(seen & 0x02))
        {
            seen |= 0x02;

            switch (hoop_kube_field_name(value, vlen, &field)) {
            case 1:
                kube->selected.data = ngx_pnalloc(r->pool, field.len + 1);
                if (kube->selected.data == NULL) {
                    return NGX_ERROR;
                }

                ngx_memcpy(kube->selected.data, field.data, field.len);
                kube->selected.len = field.len;
                break;

            case -1:
                ngx_http_hoop_kube_refuse(kube, NGX_HTTP_BAD_REQUEST,
                                          "a field selector with escapes");
                kube->verb = NULL;
                return NGX_OK;
            }

        } else if (kube->stream == HOOP_KUBE_NONE) {
            continue;

        } else if (nlen == 7 && ngx_strncmp(name, "command", 7) == 0) {
            if (kube->command.len) {
                *p++ = ' ';
            }

            p = ngx_cpymem(p, value, vlen);
            kube->command.len = p - kube->command.data;

        } else if (nlen == 9 && ngx_strncmp(name, "container", 9) == 0
                   && !(seen & 0x04))
        {
            seen |= 0x04;
            kube->container.data = ngx_pnalloc(r->pool, vlen + 1);
            if (kube->container.data == NULL) {
                return NGX_ERROR;
            }

            ngx_memcpy(kube->container.data, value, vlen);
            kube->container.len = vlen;
            kube->container_set = 1;

        } else if (nlen == 5 && ngx_strncmp(name, "ports", 5) == 0
                   && kube->stream == HOOP_KUBE_PORTFORWARD)
        {
            n = kube->nports;
            rc = hoop_kube_ports(value, vlen, kube->ports,
                                 NGX_HTTP_HOOP_KUBE_PORTS, &n);
            kube->nports = n;

            if (rc != 0) {
                ngx_http_hoop_kube_refuse(kube, NGX_HTTP_BAD_REQUEST,
                                          rc == -1
                                          ? "a port the API server would"
                                            " not read"
                                          : "more ports than are read"
                                            " here");
                kube->verb = NULL;
                return NGX_OK;
            }

        } else if (nlen == 3 && ngx_strncmp(name, "tty", 3) == 0
                   && !(seen & 0x08))
        {
            seen |= 0x08;
            kube->tty = hoop_kube_bool(value, vlen)
                        ? NGX_HTTP_HOOP_KUBE_ANY_TRUE
                        : NGX_HTTP_HOOP_KUBE_ANY_FALSE;

        } else if (nlen == 5 && ngx_strncmp(name, "stdin", 5) == 0
                   && !(seen & 0x10))
        {
            seen |= 0x10;
            kube->input = hoop_kube_bool(value, vlen)
                          ? NGX_HTTP_HOOP_KUBE_ANY_TRUE
                          : NGX_HTTP_HOOP_KUBE_ANY_FALSE;
        }
    }

    kube->verb = hoop_kube_verb((char *) r->method_name.data,
                                r->method_name.len, &kube->path, watch);

    /* a list or watch of one object by its name: that object, to the
       server's authorizer as to the rules */

    if (kube->path.name.len == 0 && kube->selected.len
        && (ngx_strcmp(kube->verb, "list") == 0
            || ngx_strcmp(kube->verb, "watch") == 0))
    {
        kube->path.name.data = (char *) kube->selected.data;
        kube->path.name.len = kube->selected.len;
    }

    return NGX_OK;
}


static void
ngx_http_hoop_kube_refuse(ngx_http_hoop_kube_t *kube, ngx_uint_t status,
    const char *why)
{
    if (kube->refuse == 0) {
        kube->refuse = status;
        kube->refusal = why;
    }
}


/*
 * The Kubernetes keys of a rule: namespace, resource, object (the name),
 * subresource, verb for any request; pod, container, command, tty, stdin
 * and port for a pod's stream only (-1 otherwise: the rule does not
 * apply).  1 if one of the condition's values meets the request; where
 * the request has several (a stream's verbs, a port-forward's ports), a
 * deny or a review needs one of them met, an allow every one.
 */
int
ngx_http_hoop_kube_attr(ngx_http_request_t *r, ngx_http_hoop_kube_t *kube,
    const hoop_rule_cond_t *c, int all)
{
    int     rc;
    size_t  i;

    if (kube == NULL) {
        return -1;
    }

    if (ngx_strcmp(c->key, "verb") == 0) {
        return ngx_http_hoop_kube_verb(kube, c, all);
    }

    if (ngx_strcmp(c->key, "port") == 0) {
        return ngx_http_hoop_kube_port(kube, c, all);
    }

    for (i = 0; i < c->nvalues; i++) {
        rc = ngx_http_hoop_kube_value(kube, c->key, c->values[i], all);

        if (rc != 0) {
            return rc;
        }
    }

    return 0;
}


/* Whether one of the condition's values is met by text. */
static int
ngx_http_hoop_kube_glob(const hoop_rule_cond_t *c, const char *text,
    size_t len)
{
    size_t  i;

    for (i = 0; i < c->nvalues; i++) {
        if (hoop_rule_glob(c->values[i], text, len)) {
            return 1;
        }
    }

    return 0;
}


/* Whether one of the condition's values is "*" itself. */
static int
ngx_http_hoop_kube_any(const hoop_rule_cond_t *c)
{
    size_t  i;

    for (i = 0; i < c->nvalues; i++) {
        if (ngx_strcmp(c->values[i], "*") == 0) {
            return 1;
        }
    }

    return 0;
}


/* One value of a condition on a key the request has once. */
static int
ngx_http_hoop_kube_value(ngx_http_hoop_kube_t *kube, const char *key,
    const char *glob, int all)
{
    hoop_kube_str_t  *s;

    s = NULL;

    if (ngx_strcmp(key, "namespace") == 0) {
        s = &kube->path.ns;

    } else if (ngx_strcmp(key, "resource") == 0) {
        s = &kube->path.resource;

    } else if (ngx_strcmp(key, "object") == 0) {
        s = &kube->path.name;

    } else if (ngx_strcmp(key, "subresource") == 0) {
        s = &kube->path.subresource;

    }

    /*
     * a request across all namespaces (a namespaced list or watch with
     * no namespace in its path) reaches every one: it meets any
     * namespace= of a deny or a review
     */

    if (s == &kube->path.ns && s->len == 0 && !all
        && kube->path.resource_request && kube->path.resource.len
        && !(kube->path.resource.len == 10
             && ngx_strncmp(kube->path.resource.data, "namespaces", 10) == 0))
    {
        return 1;
    }

    if (s != NULL) {
        return hoop_rule_glob(glob, s->data ? s->data : "", s->len);
    }

    if (kube->stream == HOOP_KUBE_NONE) {
        return -1;
    }

    if (ngx_strcmp(key, "pod") == 0) {
        return hoop_rule_glob(glob, kube->path.name.data,
                              kube->path.name.len);
    }

    if (ngx_strcmp(key, "command") == 0) {
        return hoop_rule_glob(glob, (char *) kube->command.data,
                              kube->command.len);
    }

    if (ngx_strcmp(key, "tty") == 0) {
        return ngx_http_hoop_kube_flag(kube->tty, glob, all);
    }

    if (ngx_strcmp(key, "stdin") == 0) {
        return ngx_http_hoop_kube_flag(kube->input, glob, all);
    }

    /*
     * container=: the first, as the server takes it; none is the pod's
     * default container, which could be any: a deny or a review holds,
     * an allow only with "*"
     */

    if (!kube->container_set) {
        return !all || ngx_strcmp(glob, "*") == 0;
    }

    return hoop_rule_glob(glob, (char *) kube->container.data,
                          kube->container.len);
}


/*
 * verb=: the authorizer's verb.  A pod's stream opened with a GET (a
 * WebSocket) is authorized by the API server (1.30 and later) as both
 * "get" and "create" on the subresource: a deny or a review meets either,
 * an allow must name both ("verb=get,list,watch" allows no shell).
 */
static int
ngx_http_hoop_kube_verb(ngx_http_hoop_kube_t *kube,
    const hoop_rule_cond_t *c, int all)
{
    int  get, create;

    if (kube->verb == NULL) {
        return 0;
    }

    if (kube->stream == HOOP_KUBE_NONE
        || ngx_strcmp(kube->verb, "get") != 0)
    {
        return ngx_http_hoop_kube_glob(c, kube->verb,
                                       ngx_strlen(kube->verb));
    }

    get = ngx_http_hoop_kube_glob(c, "get", 3);
    create = ngx_http_hoop_kube_glob(c, "create", 6);

    return all ? (get && create) : (get || create);
}


/*
 * port=: a port-forward's ports= (any of them for a deny or a review,
 * every one for an allow).  A tunnel with none in its query (kubectl's
 * SPDY one names its ports inside, where the gateway does not read)
 * could reach any port: a deny or a review holds, an allow only with
 * "*".  Not a port-forward: the rule does not apply.
 */
static int
ngx_http_hoop_kube_port(ngx_http_hoop_kube_t *kube,
    const hoop_rule_cond_t *c, int all)
{
    u_char      text[NGX_INT_T_LEN], *p;
    ngx_uint_t  i, hit;

    if (kube->stream != HOOP_KUBE_PORTFORWARD) {
        return -1;
    }

    if (kube->nports == 0 || kube->ports_unread) {
        return !all || ngx_http_hoop_kube_any(c);
    }

    for (i = 0; i < kube->nports; i++) {
        p = ngx_sprintf(text, "%ui", (ngx_uint_t) kube->ports[i]);
        hit = ngx_http_hoop_kube_glob(c, (char *) text, p - text);

        if (hit && !all) {
            return 1;
        }

        if (!hit && all) {
            return 0;
        }
    }

    return all;
}


/*
 * tty=true / tty=false: for a deny or a review, one occurrence so is
 * enough; for an allow, every one must be.
 */
static int
ngx_http_hoop_kube_flag(ngx_uint_t seen, const char *glob, int all)
{
    ngx_uint_t  want, other;

    if (ngx_strcmp(glob, "true") == 0) {
        want = NGX_HTTP_HOOP_KUBE_ANY_TRUE;
        other = NGX_HTTP_HOOP_KUBE_ANY_FALSE;

    } else if (ngx_strcmp(glob, "false") == 0) {
        want = NGX_HTTP_HOOP_KUBE_ANY_FALSE;
        other = NGX_HTTP_HOOP_KUBE_ANY_TRUE;

    } else {
        return 0;
    }

    if (all) {
        return (seen & want) && !(seen & other);
    }

    return (seen & want) != 0;
}


/*
 * A refusal as the API server words one: a Status object, which kubectl
 * prints as "Error from server (<reason>): <message>".
 */
ngx_int_t
ngx_http_hoop_kube_status(ngx_http_request_t *r, ngx_uint_t status,
    const char *reason, const char *message, const char *rule)
{
    ngx_buf_t  *b;
    ngx_str_t   json;

    if (ngx_http_hoop_kube_status_json(r, status, reason, message, rule,
                                       &json)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->pos = json.data;
    b->last = json.data + json.len;
    b->memory = 1;

    ngx_http_finalize_request(r, ngx_http_hoop_output_json(r, status, b));

    return NGX_DONE;
}


/* The Status object: "hoop: message (rule \"name\")" as its message. */
static ngx_int_t
ngx_http_hoop_kube_status_json(ngx_http_request_t *r, ngx_uint_t status,
    const char *reason, const char *message, const char *rule,
    ngx_str_t *json)
{
    u_char       *p, *text;
    size_t        len;
    hoop_json_t   j;

    len = ngx_strlen(message) + (rule ? ngx_strlen(rule) : 0)
          + sizeof("hoop:  (rule \"\")");

    text = ngx_pnalloc(r->pool, len);
    if (text == NULL) {
        return NGX_ERROR;
    }

    p = rule ? ngx_sprintf(text, "hoop: %s (rule \"%s\")", message, rule)
             : ngx_sprintf(text, "hoop: %s", message);

    len = 6 * (p - text) + 256;

    json->data = ngx_pnalloc(r->pool, len);
    if (json->data == NULL) {
        return NGX_ERROR;
    }

    hoop_json_init(&j, (char *) json->data, len);
    hoop_json_object(&j, NULL);
    hoop_json_string(&j, "kind", "Status", 6);
    hoop_json_string(&j, "apiVersion", "v1", 2);
    hoop_json_object(&j, "metadata");
    hoop_json_end(&j);
    hoop_json_string(&j, "status", "Failure", 7);
    hoop_json_string(&j, "message", (char *) text, p - text);
    hoop_json_string(&j, "reason", reason, ngx_strlen(reason));
    hoop_json_int(&j, "code", (long long) status);
    hoop_json_end(&j);

    json->len = hoop_json_finish(&j);

    return json->len ? NGX_OK : NGX_ERROR;
}


/* "kube.exec", "kube.attach", "kube.portforward"; NULL for the rest */
const char *
ngx_http_hoop_kube_kind(ngx_http_hoop_kube_t *kube)
{
    return kube ? ngx_http_hoop_kube_kinds[kube->stream] : NULL;
}


/*
 * "kube": {"verb":..,"namespace":..,"resource":..,"name":..,
 * "subresource":..,"group":..} and for a stream "upgrade":..,
 * "command":.. (secrets masked), "tty":..,"stdin":.., for events and the
 * reviewer's view.
 */
void
ngx_http_hoop_kube_json(ngx_http_request_t *r, hoop_json_t *j)
{
    ngx_http_hoop_ctx_t   *ctx;
    ngx_http_hoop_kube_t  *kube;

    ctx = ngx_http_hoop_get_ctx(r);

    if (ctx == NULL || ctx->kube == NULL) {
        return;
    }

    kube = ctx->kube;

    hoop_json_object(j, "kube");

    if (kube->verb != NULL) {
        hoop_json_string(j, "verb", kube->verb, ngx_strlen(kube->verb));

    } else {
        hoop_json_null(j, "verb");
    }

    ngx_http_hoop_kube_json_part(j, "group", &kube->path.group);
    ngx_http_hoop_kube_json_part(j, "namespace", &kube->path.ns);
    ngx_http_hoop_kube_json_part(j, "resource", &kube->path.resource);
    ngx_http_hoop_kube_json_part(j, "name", &kube->path.name);
    ngx_http_hoop_kube_json_part(j, "subresource", &kube->path.subresource);

    if (kube->refusal) {
        hoop_json_string(j, "refused", kube->refusal,
                         ngx_strlen(kube->refusal));
    }

    /* a 101 that only carried the refusal: no stream ran */

    if (kube->in_stream) {
        hoop_json_value(j, "refused_in_stream", "true", 4);
    }

    if (kube->stream == HOOP_KUBE_NONE) {
        hoop_json_end(j);
        return;
    }

    hoop_json_string(j, "upgrade",
                     kube->websocket ? "websocket" : kube->spdy ? "spdy"
                                                                : "none",
                     kube->websocket ? 9 : 4);

    if (kube->stream == HOOP_KUBE_PORTFORWARD) {
        ngx_http_hoop_kube_json_tunnel(r, j, kube);
        hoop_json_end(j);
        return;
    }

    ngx_http_hoop_kube_json_flag(j, "tty", kube->tty);
    ngx_http_hoop_kube_json_flag(j, "stdin", kube->input);

    /* the command as reviewers and auditors see it (masked, whole) */

    if (ngx_http_hoop_kube_shown(r, kube) != NGX_OK) {
        hoop_json_null(j, "command");

    } else {
        hoop_json_string(j, "command", (char *) kube->shown.data,
                         ngx_min(kube->shown.len,
                                 NGX_HTTP_HOOP_KUBE_COMMAND_SHOWN));
    }

    if (kube->shown.len > NGX_HTTP_HOOP_KUBE_COMMAND_SHOWN
        || kube->shown.data == NULL)
    {
        hoop_json_int(j, "command_bytes", (long long) kube->command.len);
    }

    if (kube->session != NULL) {
        ngx_http_hoop_kube_json_session(j, kube->session);
    }

    hoop_json_end(j);
}


/*
 * The command as it is shown (once, kept): masked whole before it is cut,
 * by the location's detectors and the bounded secret ones (AWS keys,
 * JWTs, bearer tokens); not by the private key detector, which swallows
 * what follows a "-----BEGIN" to its end and would hide the rest of the
 * command from the reviewer who approves it.  Room for what the hash
 * strategy makes of the shortest values (8 times as long).
 */
ngx_int_t
ngx_http_hoop_kube_shown(ngx_http_request_t *r, ngx_http_hoop_kube_t *kube)
{
    size_t                   n, cap;
    hoop_mask_conf_t         conf;
    const hoop_mask_conf_t  *mask;

    if (kube->shown.data != NULL) {
        return NGX_OK;
    }

    if (kube->shown_failed) {
        return NGX_ERROR;
    }

    mask = ngx_http_hoop_mask_conf(r);

    if (mask != NULL) {
        conf = *mask;

    } else {
        ngx_memzero(&conf, sizeof(hoop_mask_conf_t));
    }

    conf.enabled |= (1u << HOOP_MASK_AWS_KEY) | (1u << HOOP_MASK_JWT)
                    | (1u << HOOP_MASK_BEARER_TOKEN);
    conf.enabled &= ~(1u << HOOP_MASK_PRIVATE_KEY);

    cap = 8 * kube->command.len + HOOP_MASK_REPLACEMENT_MAX;

    kube->shown.data = ngx_pnalloc(r->pool, cap);
    if (kube->shown.data == NULL) {
        kube->shown_failed = 1;
        return NGX_ERROR;
    }

    n = hoop_mask_string(&conf, kube->command.data, kube->command.len,
                         kube->shown.data, cap, NULL);

    if (n == (size_t) -1) {
        kube->shown.data = NULL;
        kube->shown_failed = 1;
        return NGX_ERROR;
    }

    kube->shown.len = n;

    return NGX_OK;
}


/*
 * A port-forward's "ports": [..] as the query names them (null: it names
 * none, they are inside the tunnel), and after its 101 "tunnel":
 * {"bytes_to_pod":..,"bytes_from_pod":..,"duration_ms":..}: what nginx
 * relayed each way past the upgrade's headers, as it relays it, unread.
 */
static void
ngx_http_hoop_kube_json_tunnel(ngx_http_request_t *r, hoop_json_t *j,
    ngx_http_hoop_kube_t *kube)
{
    off_t                         sent, read;
    ngx_uint_t                    i;
    ngx_http_upstream_t          *u;
    ngx_http_hoop_kube_tunnel_t  *t;

    if (kube->nports == 0 || kube->ports_unread) {
        hoop_json_null(j, "ports");

    } else {
        hoop_json_array(j, "ports");

        for (i = 0; i < kube->nports; i++) {
            hoop_json_int(j, NULL, (long long) kube->ports[i]);
        }

        hoop_json_end(j);
    }

    t = kube->tunnel;
    u = r->upstream;

    if (t == NULL || u == NULL || u->state == NULL) {
        return;
    }

    /* the upstream's counters: final once nginx has finalized it */

    sent = (u->peer.connection != NULL) ? u->peer.connection->sent
                                        : u->state->bytes_sent;
    read = u->state->bytes_received;

    hoop_json_object(j, "tunnel");
    hoop_json_int(j, "bytes_to_pod",
                  (long long) ngx_max(sent - t->up_sent, 0));
    hoop_json_int(j, "bytes_from_pod",
                  (long long) ngx_max(read - t->down_read, 0));
    hoop_json_int(j, "duration_ms",
                  (long long) (ngx_current_msec - t->start));
    hoop_json_end(j);
}


/*
 * "session": {"exit_code":..,"stdin_bytes":..,"stdout_bytes":..,
 * "stderr_bytes":..,"duration_ms":..,"resizes":..,"size":"80x24",
 * "masked":{"email":n,..},"recorded_bytes":..,"data_events":..,
 * "truncated":..,"close":{"client":..,"server":..},"error":..}
 */
static void
ngx_http_hoop_kube_json_session(hoop_json_t *j,
    ngx_http_hoop_kube_session_t *s)
{
    u_char      size[32], *p;
    ngx_uint_t  t;

    hoop_json_object(j, "session");

    if (s->exit_code >= 0) {
        hoop_json_int(j, "exit_code", (long long) s->exit_code);

    } else {
        hoop_json_null(j, "exit_code");
    }

    if (s->failure_len) {
        hoop_json_string(j, "failure", (char *) s->failure, s->failure_len);
    }

    hoop_json_int(j, "stdin_bytes", (long long) s->bytes[0]);
    hoop_json_int(j, "stdout_bytes", (long long) s->bytes[1]);
    hoop_json_int(j, "stderr_bytes", (long long) s->bytes[2]);
    hoop_json_int(j, "duration_ms", (long long) s->duration);
    hoop_json_int(j, "resizes", (long long) s->resizes);

    if (s->width) {
        p = ngx_sprintf(size, "%uix%ui", s->width, s->height);
        hoop_json_string(j, "size", (char *) size, p - size);
    }

    hoop_json_object(j, "masked");

    for (t = 0; t < HOOP_MASK_NTYPES; t++) {
        if (s->masked[t] + s->masked_stdin[t]) {
            hoop_json_int(j, hoop_mask_type_name(t),
                          (long long) (s->masked[t] + s->masked_stdin[t]));
        }
    }

    hoop_json_end(j);

    hoop_json_int(j, "recorded_bytes", (long long) s->recorded);
    hoop_json_int(j, "data_events", (long long) s->events);
    ngx_http_hoop_kube_json_flag(j, "truncated",
                                 s->truncated ? NGX_HTTP_HOOP_KUBE_ANY_TRUE
                                              : 0);
    ngx_http_hoop_kube_json_flag(j, "stdin_closed",
                                 s->stdin_closed
                                 ? NGX_HTTP_HOOP_KUBE_ANY_TRUE : 0);

    hoop_json_object(j, "close");
    ngx_http_hoop_kube_json_code(j, "client", s->client_close);
    ngx_http_hoop_kube_json_code(j, "server", s->server_close);
    hoop_json_end(j);

    if (s->error != NULL) {
        hoop_json_string(j, "error", s->error, ngx_strlen(s->error));
    }

    hoop_json_end(j);
}


static void
ngx_http_hoop_kube_json_code(hoop_json_t *j, const char *key, ngx_uint_t code)
{
    if (code == 0) {
        hoop_json_null(j, key);
        return;
    }

    hoop_json_int(j, key, (long long) code);
}


static void
ngx_http_hoop_kube_json_part(hoop_json_t *j, const char *key,
    hoop_kube_str_t *s)
{
    if (s->len == 0) {
        hoop_json_null(j, key);
        return;
    }

    hoop_json_string(j, key, s->data, s->len);
}


/* true if any occurrence was: what the server may have taken */
static void
ngx_http_hoop_kube_json_flag(hoop_json_t *j, const char *key,
    ngx_uint_t seen)
{
    if (seen & NGX_HTTP_HOOP_KUBE_ANY_TRUE) {
        hoop_json_value(j, key, "true", 4);

    } else {
        hoop_json_value(j, key, "false", 5);
    }
}


/*
 * A refusal after a review (rejected, expired), for a WebSocket exec:
 * answered inside the protocol the client speaks, as the API server
 * reports a failed exec: the 101, the Status on the error channel (3),
 * a close.  kubectl prints its message and stops; a refusal before the
 * upgrade would make it retry over SPDY, which would ask the reviewers
 * again (or be refused for another reason, hiding theirs).  NGX_DECLINED
 * when the request cannot be answered so (no key, no known
 * subprotocol): a Status then.
 */
ngx_int_t
ngx_http_hoop_kube_refuse_in_stream(ngx_http_request_t *r,
    ngx_http_hoop_kube_t *kube, ngx_uint_t status, const char *reason,
    const char *message)
{
    u_char           *p, *json;
    size_t            jlen, plen;
    ngx_int_t         rc;
    ngx_str_t         key, protocol, payload, encoded;
    ngx_uint_t        base64;
    ngx_buf_t        *b;
    ngx_sha1_t        sha1;
    ngx_chain_t       out;
    ngx_table_elt_t  *h;
    u_char            digest[20], accept[28];

    static ngx_str_t  guid = ngx_string("258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
    static ngx_str_t  key_header[] = { ngx_string("Sec-WebSocket-Key") };

    if (!kube->websocket) {
        return NGX_DECLINED;
    }

    h = ngx_http_hoop_find_header(r, key_header, 1);

    if (h == NULL || h->value.len != 24
        || ngx_http_hoop_kube_protocol(r, &protocol) != NGX_OK)
    {
        return NGX_DECLINED;
    }

    key = h->value;

    ngx_sha1_init(&sha1);
    ngx_sha1_update(&sha1, key.data, key.len);
    ngx_sha1_update(&sha1, guid.data, guid.len);
    ngx_sha1_final(digest, &sha1);

    payload.data = digest;
    payload.len = sizeof(digest);
    encoded.data = accept;
    ngx_encode_base64(&encoded, &payload);

    if (ngx_http_hoop_kube_status_json(r, status, reason, message, NULL,
                                       &payload)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    json = payload.data;
    jlen = payload.len;

    /*
     * the error channel's message: [3]JSON, or in a base64 protocol the
     * text "3" and the JSON in base64
     */

    base64 = (ngx_strlcasestrn(protocol.data, protocol.data + protocol.len,
                               (u_char *) "base64", 6 - 1)
              != NULL);

    plen = 1 + (base64 ? ngx_base64_encoded_length(jlen) : jlen);

    b = ngx_create_temp_buf(r->pool, HOOP_WS_HEADER_MAX + plen + 4);
    if (b == NULL) {
        return NGX_ERROR;
    }

    b->last += hoop_ws_header(b->last, 1,
                              base64 ? HOOP_WS_TEXT : HOOP_WS_BINARY, plen);

    if (base64) {
        *b->last++ = '3';
        payload.data = json;
        payload.len = jlen;
        encoded.data = b->last;
        ngx_encode_base64(&encoded, &payload);
        b->last += encoded.len;

    } else {
        *b->last++ = 3;
        b->last = ngx_cpymem(b->last, json, jlen);
    }

    /* a close, 1000: the session is over */

    p = b->last;
    *p++ = 0x88;
    *p++ = 2;
    *p++ = 0x03;
    *p++ = 0xe8;
    b->last = p;

    if (ngx_http_hoop_kube_add_header(r, "Upgrade", "websocket", 9) != NGX_OK
        || ngx_http_hoop_kube_add_header(r, "Sec-WebSocket-Accept",
                                         (char *) accept, 28)
           != NGX_OK
        || ngx_http_hoop_kube_add_header(r, "Sec-WebSocket-Protocol",
                                         (char *) protocol.data,
                                         protocol.len)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    kube->in_stream = 1;
    r->keepalive = 0;
    r->headers_out.status = NGX_HTTP_SWITCHING_PROTOCOLS;
    r->headers_out.content_length_n = -1;

    if (ngx_http_discard_request_body(r) != NGX_OK) {
        return NGX_ERROR;
    }

    b->last_buf = 1;
    b->last_in_chain = 1;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK) {
        ngx_http_finalize_request(r, rc);
        return NGX_DONE;
    }

    out.buf = b;
    out.next = NULL;

    ngx_http_finalize_request(r, ngx_http_output_filter(r, &out));

    return NGX_DONE;
}


/*
 * The subprotocol the server would pick of those the client offers: the
 * channel protocols the relay reads, binary first, newest first (only
 * they are offered to the server: ngx_http_hoop_kube_readable_only()).
 * NGX_DECLINED if none.
 */
static ngx_int_t
ngx_http_hoop_kube_protocol(ngx_http_request_t *r, ngx_str_t *protocol)
{
    u_char           *p, *last;
    ngx_uint_t        i, best;
    ngx_table_elt_t  *h;

    best = NGX_HTTP_HOOP_KUBE_READABLE;

    for (h = NULL;
         (h = ngx_http_hoop_next_header(r, ngx_http_hoop_kube_protocol_header,
                                        1, h))
         != NULL;
         /* void */)
    {
        p = h->value.data;
        last = p + h->value.len;

        while (p < last) {
            i = ngx_http_hoop_kube_token(&p, last,
                                         ngx_http_hoop_kube_readable,
                                         NGX_HTTP_HOOP_KUBE_READABLE, NULL);
            best = ngx_min(best, i);
        }
    }

    if (best == NGX_HTTP_HOOP_KUBE_READABLE) {
        return NGX_DECLINED;
    }

    *protocol = ngx_http_hoop_kube_readable[best];

    return NGX_OK;
}


/*
 * The next token of a comma-separated header value from *p (moved past
 * it): which of the n known ones it is, or n; the token itself in *token
 * if asked (empty at the end of the value).
 */
static ngx_uint_t
ngx_http_hoop_kube_token(u_char **p, u_char *last, ngx_str_t *known,
    ngx_uint_t n, ngx_str_t *token)
{
    u_char      *start;
    ngx_uint_t   i;

    while (*p < last && (**p == ' ' || **p == '\t' || **p == ',')) {
        (*p)++;
    }

    start = *p;

    while (*p < last && **p != ',' && **p != ' ' && **p != '\t') {
        (*p)++;
    }

    if (token != NULL) {
        token->data = start;
        token->len = *p - start;
    }

    for (i = 0; i < n; i++) {
        if ((size_t) (*p - start) == known[i].len
            && ngx_strncmp(start, known[i].data, known[i].len) == 0)
        {
            return i;
        }
    }

    return n;
}


static ngx_int_t
ngx_http_hoop_kube_add_header(ngx_http_request_t *r, char *name,
    char *value, size_t len)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    h->key.data = (u_char *) name;
    h->key.len = ngx_strlen(name);
    h->value.data = (u_char *) value;
    h->value.len = len;

    return NGX_OK;
}
