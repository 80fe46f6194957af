/*
 * Copyright (C) nginx-hoop authors
 *
 * ngx_http_hoop_mask_filter_module: masks sensitive values in response
 * headers and bodies (hoop_mask) with the shared masking engine, reading
 * through JSON, URL and HTML escapes, as they stream through; a masked
 * body loses its Content-Length, as with sub_filter.
 *
 * It sits after every filter that writes text into a response
 * (add_header, sub_filter, addition, SSI), after postpone, which passes
 * the subrequests' output (an SSI include, the addition module) in its
 * place as the main request's, and before gzip (the client may still get
 * a compressed response): it masks the response as the client gets it,
 * one stream, as the main request's location says.  A request that passed
 * through a masking location has its response masked as that location
 * says wherever it goes on to (X-Accel-Redirect, error_page, a named
 * location).  Every response is
 * masked whatever type it says it is (a type is the upstream's word, and
 * some APIs let the caller choose it); the header waits for the body's
 * first bytes, which say whether it is text the detectors can read.  A
 * body that is not (compressed without saying so, UTF-16, binary) is
 * refused (502) or passed as it is, as hoop_mask_unreadable says; a
 * control byte later in the body cuts the response off.  Upstreams are
 * asked for plain text: Accept-Encoding, Accept-Charset and TE are taken
 * out of the request sent upstream; an encoded response that comes anyway
 * is refused (502), as unmasked bytes must never pass.
 *
 * Memory per response: the engine's window, plus at most
 * NGX_HTTP_HOOP_MASK_BUSY output buffers waiting for the client; past
 * that the filter stops taking input, and the upstream waits, as with
 * gzip_buffers.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "hoop_mask.h"
#include "hoop_mask_sniff.h"
#include "hoop_mask_unescape.h"
#include "ngx_hoop_mask_conf.h"
#include "ngx_hoop_secret.h"
#include "ngx_http_hoop.h"


#define NGX_HTTP_HOOP_MASK_BUFFER   16384
#define NGX_HTTP_HOOP_MASK_BUSY     16
#define NGX_HTTP_HOOP_MASK_SLICE    4096

/*
 * r->buffered has four bits, all taken by nginx's own filters; the image
 * filter's (0x08, defined in its .c) is borrowed: it only works on
 * images, this filter never does.
 */
#define NGX_HTTP_HOOP_MASK_BUFFERED  0x08

#define NGX_HTTP_HOOP_MASK_REFUSE    0
#define NGX_HTTP_HOOP_MASK_PASS      1


/* where a response is: its header waits for the body's first bytes */
typedef enum {
    NGX_HTTP_HOOP_MASK_SNIFF = 0,       /* the header waits for the body */
    NGX_HTTP_HOOP_MASK_BODY,            /* masked as it streams */
    NGX_HTTP_HOOP_MASK_AS_IS,           /* headers masked, body passed */
    NGX_HTTP_HOOP_MASK_REFUSED          /* our error page follows */
} ngx_http_hoop_mask_phase_e;


typedef struct {
    hoop_mask_conf_t             mask;
    ngx_flag_t                   enable;    /* NGX_CONF_UNSET: not set */
    ngx_str_t                    key;       /* hoop_mask_key */
    ngx_hash_t                   types;
    ngx_array_t                 *types_keys;
    ngx_uint_t                   unreadable;
    ngx_array_t                 *header_exempt;     /* lowercase names */
} ngx_http_hoop_mask_loc_conf_t;


typedef struct {
    ngx_http_hoop_mask_loc_conf_t  *conf;
    hoop_mask_stream_t             *stream;
    hoop_mask_unescaped_t          *unescaped;
    ngx_http_request_t             *request;
    /* what was masked, but what the stream holds in its own counts */
    uint64_t                        counts[HOOP_MASK_NTYPES];
    const char                     *unmasked;  /* why the body was not */
    const char                     *action;    /* "refused", "passed", "cut" */
    ngx_http_hoop_mask_phase_e      phase;
    ngx_chain_t                    *in;
    ngx_chain_t                    *out;
    ngx_chain_t                   **last_out;
    ngx_chain_t                    *free;
    ngx_chain_t                    *busy;
    ngx_buf_t                      *buf;       /* being filled */
    unsigned                        done:1;
    unsigned                        failed:1;  /* nothing may pass now */
    unsigned                        text_only:1;   /* control bytes cut */
    unsigned                        trailer_done:1;
} ngx_http_hoop_mask_ctx_t;


/* a header value masked into a buffer of the request's pool */
typedef struct {
    u_char                      *data;
    size_t                       len;
    size_t                       size;
} ngx_http_hoop_mask_value_t;


static ngx_http_hoop_mask_loc_conf_t *ngx_http_hoop_mask_applied(
    ngx_http_request_t *r);
static ngx_pool_cleanup_t *ngx_http_hoop_mask_remembered(
    ngx_http_request_t *r);
static ngx_http_hoop_mask_loc_conf_t *ngx_http_hoop_mask_both(
    ngx_http_request_t *r, ngx_http_hoop_mask_loc_conf_t *first,
    ngx_http_hoop_mask_loc_conf_t *other);
static void ngx_http_hoop_mask_passed(void *data);
static ngx_int_t ngx_http_hoop_mask_header_filter(ngx_http_request_t *r);
static ngx_table_elt_t *ngx_http_hoop_mask_encoded(ngx_http_request_t *r);
static ngx_int_t ngx_http_hoop_mask_refuse(ngx_http_request_t *r,
    ngx_http_hoop_mask_ctx_t *ctx, const char *reason);
static ngx_int_t ngx_http_hoop_mask_fields(ngx_http_request_t *r,
    ngx_http_hoop_mask_ctx_t *ctx, ngx_list_t *fields);
static ngx_int_t ngx_http_hoop_mask_headers(ngx_http_request_t *r,
    ngx_http_hoop_mask_loc_conf_t *mlcf, ngx_http_hoop_mask_ctx_t *ctx);
static ngx_int_t ngx_http_hoop_mask_name(ngx_http_request_t *r,
    ngx_http_hoop_mask_ctx_t *ctx, hoop_mask_conf_t *conf,
    ngx_str_t *key);
static ngx_int_t ngx_http_hoop_mask_holds(ngx_http_hoop_mask_ctx_t *ctx,
    hoop_mask_conf_t *conf, ngx_str_t *text);
static ngx_uint_t ngx_http_hoop_mask_exempt(
    ngx_http_hoop_mask_loc_conf_t *mlcf, ngx_table_elt_t *h);
static ngx_int_t ngx_http_hoop_mask_value_as(ngx_http_hoop_mask_ctx_t *ctx,
    hoop_mask_conf_t *mask, ngx_str_t *value, unsigned charset);
static ngx_int_t ngx_http_hoop_mask_value(ngx_http_hoop_mask_ctx_t *ctx,
    hoop_mask_conf_t *mask, ngx_str_t *value);
static int ngx_http_hoop_mask_value_emit(void *data, const unsigned char *p,
    size_t len);
static ngx_int_t ngx_http_hoop_mask_body_filter(ngx_http_request_t *r,
    ngx_chain_t *in);
static ngx_int_t ngx_http_hoop_mask_sniff(ngx_http_request_t *r,
    ngx_http_hoop_mask_ctx_t *ctx);
static void ngx_http_hoop_mask_unvalidated(ngx_http_request_t *r);
static ngx_int_t ngx_http_hoop_mask_start(ngx_http_request_t *r,
    ngx_http_hoop_mask_ctx_t *ctx, ngx_http_hoop_mask_phase_e phase);
static ngx_uint_t ngx_http_hoop_mask_busy(ngx_http_hoop_mask_ctx_t *ctx);
static ngx_int_t ngx_http_hoop_mask_take(ngx_http_request_t *r,
    ngx_http_hoop_mask_ctx_t *ctx);
static ngx_int_t ngx_http_hoop_mask_trailer(ngx_http_request_t *r,
    ngx_http_hoop_mask_ctx_t *ctx);
static void ngx_http_hoop_mask_count(ngx_http_hoop_mask_ctx_t *ctx);
static int ngx_http_hoop_mask_emit(void *data, const unsigned char *p,
    size_t len);
static ngx_int_t ngx_http_hoop_mask_get_buf(ngx_http_request_t *r,
    ngx_http_hoop_mask_ctx_t *ctx);
static ngx_int_t ngx_http_hoop_mask_last_buf(ngx_http_request_t *r,
    ngx_http_hoop_mask_ctx_t *ctx);
static ngx_int_t ngx_http_hoop_mask_request(ngx_http_request_t *r);
static char *ngx_http_hoop_mask(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_hoop_mask_header_exempt(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static void *ngx_http_hoop_mask_create_loc_conf(ngx_conf_t *cf);
static ngx_array_t *ngx_http_hoop_mask_default_exempt_list(ngx_conf_t *cf);
static char *ngx_http_hoop_mask_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static ngx_int_t ngx_http_hoop_mask_init(ngx_conf_t *cf);


/* every type: ngx_http_hoop_mask_merge_loc_conf() makes it "*" */
static ngx_str_t  ngx_http_hoop_mask_default_types[] = {
    ngx_null_string
};


/*
 * Header fields whose values are the protocol's, not the application's:
 * dates, validators, lengths, codings.
 */
/*
 * Fields whose values nginx itself reads with a fixed grammar; the others
 * (validators, cache fields) are the upstream's text like any.
 */
static ngx_str_t  ngx_http_hoop_mask_default_exempt[] = {
    ngx_string("date"),
    ngx_string("content-length"),
    ngx_string("content-encoding"),
    ngx_string("transfer-encoding"),
    ngx_string("accept-ranges"),
    ngx_string("connection"),
    ngx_string("keep-alive"),
    ngx_null_string
};


static ngx_conf_enum_t  ngx_http_hoop_mask_unreadable_values[] = {
    { ngx_string("refuse"), NGX_HTTP_HOOP_MASK_REFUSE },
    { ngx_string("pass"), NGX_HTTP_HOOP_MASK_PASS },
    { ngx_null_string, 0 }
};


static ngx_command_t  ngx_http_hoop_mask_commands[] = {

    { ngx_string("hoop_mask"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_hoop_mask,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("hoop_mask_key"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_hoop_mask_key,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_hoop_mask_loc_conf_t, key),
      NULL },

    { ngx_string("hoop_mask_types"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_types_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_hoop_mask_loc_conf_t, types_keys),
      NULL },

    { ngx_string("hoop_mask_unreadable"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_hoop_mask_loc_conf_t, unreadable),
      &ngx_http_hoop_mask_unreadable_values },

    { ngx_string("hoop_mask_header_exempt"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_hoop_mask_header_exempt,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_hoop_mask_filter_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_http_hoop_mask_init,               /* postconfiguration */

    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_hoop_mask_create_loc_conf,    /* create location configuration */
    ngx_http_hoop_mask_merge_loc_conf      /* merge location configuration */
};


ngx_module_t  ngx_http_hoop_mask_filter_module = {
    NGX_MODULE_V1,
    &ngx_http_hoop_mask_filter_module_ctx, /* module context */
    ngx_http_hoop_mask_commands,           /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_http_output_header_filter_pt  ngx_http_next_header_filter;
static ngx_http_output_body_filter_pt    ngx_http_next_body_filter;


/*
 * The masking a response gets.  A request that passed through a masking
 * location is masked as the first of them says wherever it goes on to
 * (an X-Accel-Redirect, an error_page, a named location: the response
 * is still the answer to what was asked there), and as the location it
 * ends in says too where that one masks: the detectors of both, each
 * with the stricter strategy.  An internal redirect clears the modules'
 * contexts but not the request's pool: the first masking location is
 * remembered there.
 */
static ngx_http_hoop_mask_loc_conf_t *
ngx_http_hoop_mask_applied(ngx_http_request_t *r)
{
    ngx_pool_cleanup_t             *cln;
    ngx_http_hoop_mask_loc_conf_t  *here;

    here = ngx_http_get_module_loc_conf(r, ngx_http_hoop_mask_filter_module);
    cln = ngx_http_hoop_mask_remembered(r);

    if (cln == NULL || cln->data == here) {
        return here;
    }

    if (here->enable != 1) {
        return cln->data;
    }

    return ngx_http_hoop_mask_both(r, cln->data, here);
}


/*
 * The first location's masking with the other's detectors added, each
 * type with the stricter strategy (redact, then hash, then partial), and
 * a body that cannot be read refused if either says so (with no memory
 * for it, the first's).
 */
static ngx_http_hoop_mask_loc_conf_t *
ngx_http_hoop_mask_both(ngx_http_request_t *r,
    ngx_http_hoop_mask_loc_conf_t *first, ngx_http_hoop_mask_loc_conf_t *other)
{
    ngx_uint_t                      t;
    ngx_http_hoop_mask_loc_conf_t  *both;

    static const ngx_uint_t  rank[] = {
        0,      /* HOOP_MASK_REDACT */
        2,      /* HOOP_MASK_PARTIAL */
        1       /* HOOP_MASK_HASH */
    };

    both = ngx_palloc(r->pool, sizeof(ngx_http_hoop_mask_loc_conf_t));
    if (both == NULL) {
        return first;
    }

    *both = *first;

    for (t = 0; t < HOOP_MASK_NTYPES; t++) {
        if (!(other->mask.enabled & (1u << t))) {
            continue;
        }

        if (!(both->mask.enabled & (1u << t))
            || rank[other->mask.strategy[t]] < rank[both->mask.strategy[t]])
        {
            both->mask.strategy[t] = other->mask.strategy[t];
        }

        both->mask.enabled |= 1u << t;
    }

    if (both->mask.key_len == 0 && other->mask.key_len != 0) {
        ngx_memcpy(both->mask.key, other->mask.key, other->mask.key_len);
        both->mask.key_len = other->mask.key_len;
    }

    both->unreadable = ngx_min(first->unreadable, other->unreadable);

    return both;
}


static ngx_pool_cleanup_t *
ngx_http_hoop_mask_remembered(ngx_http_request_t *r)
{
    ngx_pool_cleanup_t  *cln;

    for (cln = r->pool->cleanup; cln != NULL; cln = cln->next) {
        if (cln->handler == ngx_http_hoop_mask_passed) {
            return cln;
        }
    }

    return NULL;
}


/* the mark of a masking location passed through: nothing to clean */
static void
ngx_http_hoop_mask_passed(void *data)
{
}


static ngx_int_t
ngx_http_hoop_mask_header_filter(ngx_http_request_t *r)
{
    ngx_table_elt_t                *ce;
    ngx_http_hoop_mask_ctx_t       *ctx;
    ngx_http_hoop_mask_loc_conf_t  *mlcf;

    /*
     * a subrequest's output comes here as the main request's, after
     * postpone: its header goes nowhere
     */

    if (r != r->main) {
        return ngx_http_next_header_filter(r);
    }

    mlcf = ngx_http_hoop_mask_applied(r);

    if (mlcf->enable != 1) {
        return ngx_http_next_header_filter(r);
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_hoop_mask_filter_module);

    if (ctx != NULL) {

        /*
         * the error page of a refusal: the gateway's own words, but for
         * what add_header ... always copies into it
         */

        if (ngx_http_hoop_mask_fields(r, ctx, &r->headers_out.headers)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        ngx_http_hoop_mask_unvalidated(r);

        return ngx_http_next_header_filter(r);
    }

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_hoop_mask_ctx_t));
    if (ctx == NULL) {
        return NGX_ERROR;
    }

    ctx->stream = ngx_palloc(r->pool, sizeof(hoop_mask_stream_t));
    ctx->unescaped = ngx_palloc(r->pool, sizeof(hoop_mask_unescaped_t));

    if (ctx->stream == NULL || ctx->unescaped == NULL) {
        return NGX_ERROR;
    }

    ctx->conf = mlcf;
    ctx->request = r;
    ctx->last_out = &ctx->out;
    ctx->phase = NGX_HTTP_HOOP_MASK_AS_IS;
    ctx->text_only = (mlcf->unreadable == NGX_HTTP_HOOP_MASK_REFUSE);

    ngx_http_set_ctx(r, ctx, ngx_http_hoop_mask_filter_module);

    if (ngx_http_hoop_mask_headers(r, mlcf, ctx) != NGX_OK) {
        return NGX_ERROR;
    }

    /* the upstream's reason phrase is its text too */

    if (r->headers_out.status_line.len != 0
        && ngx_http_hoop_mask_value(ctx, &mlcf->mask,
                                    &r->headers_out.status_line)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    hoop_mask_stream_init(ctx->stream, &mlcf->mask, ngx_http_hoop_mask_emit,
                          ctx);
    hoop_mask_stream_unescape(ctx->stream, ctx->unescaped);

    /*
     * the charset the client reads, after the charset filter recoded the
     * text (charset windows-1251, an upstream's X-Accel-Charset)
     */

    hoop_mask_stream_single_byte(ctx->stream,
        hoop_mask_charset_single_byte(r->headers_out.charset.data,
                                      r->headers_out.charset.len));

    /*
     * an upgraded connection (WebSocket) carries frames this filter never
     * sees: refused, rather than passed unmasked, unless it is an exec
     * the Kubernetes relay reads and masks
     */

    if (r->headers_out.status == NGX_HTTP_SWITCHING_PROTOCOLS
        && !ngx_http_hoop_kube_relays(r))
    {
        return ngx_http_hoop_mask_refuse(r, ctx, "upgrade");
    }

    /*
     * nginx takes an interim response (103 Early Hints, 100) or a reply
     * with no status line for the final one: what follows, the real
     * response among it, would pass as its body
     */

    if (r->headers_out.status < NGX_HTTP_OK
        && r->headers_out.status != NGX_HTTP_SWITCHING_PROTOCOLS)
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "hoop_mask: upstream status %ui is not a final "
                      "response; refused", r->headers_out.status);

        return ngx_http_hoop_mask_refuse(r, ctx, "interim");
    }

    /*
     * no body: nothing to wait for (the header filter says so later); a
     * HEAD's length and validators are those of the body a GET would
     * get masked
     */

    if (r->method == NGX_HTTP_HEAD
        || r->headers_out.status == NGX_HTTP_NOT_MODIFIED)
    {
        ngx_http_hoop_mask_unvalidated(r);
    }

    if (r->header_only || r->method == NGX_HTTP_HEAD
        || r->headers_out.content_length_n == 0
        || r->headers_out.status == NGX_HTTP_NO_CONTENT
        || r->headers_out.status == NGX_HTTP_NOT_MODIFIED
        || r->headers_out.status == NGX_HTTP_SWITCHING_PROTOCOLS)
    {
        return ngx_http_next_header_filter(r);
    }

    /*
     * a part of a body cannot be masked: values may be cut at its ends,
     * and several parts come as multipart/byteranges
     */

    if (r->headers_out.status == NGX_HTTP_PARTIAL_CONTENT) {
        return ngx_http_hoop_mask_refuse(r, ctx, "partial");
    }

    if (ngx_http_test_content_type(r, &mlcf->types) == NULL) {
        ctx->unmasked = "type";
        ctx->action = "passed";
        return ngx_http_next_header_filter(r);
    }

    ce = ngx_http_hoop_mask_encoded(r);

    if (ce != NULL) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "hoop_mask: response is \"%V\"-encoded and cannot be "
                      "masked; refused", &ce->value);

        return ngx_http_hoop_mask_refuse(r, ctx, "encoded");
    }

    if (r->headers_out.charset.len != 0
        && !hoop_mask_charset_readable(r->headers_out.charset.data,
                                       r->headers_out.charset.len))
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "hoop_mask: response is in charset \"%V\", which the "
                      "detectors cannot read; %s", &r->headers_out.charset,
                      ctx->text_only ? "refused" : "passed unmasked");

        if (ctx->text_only) {
            return ngx_http_hoop_mask_refuse(r, ctx, "charset");
        }

        ctx->unmasked = "charset";
        ctx->action = "passed";

        return ngx_http_next_header_filter(r);
    }

    /* the header waits for the body's first bytes */

    ctx->phase = NGX_HTTP_HOOP_MASK_SNIFF;
    r->filter_need_in_memory = 1;

    return NGX_OK;
}


/*
 * A Content-Encoding other than identity, in any of the header lines
 * (nginx keeps the last in headers_out.content_encoding; a client may
 * apply them all).
 */
static ngx_table_elt_t *
ngx_http_hoop_mask_encoded(ngx_http_request_t *r)
{
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    part = &r->headers_out.headers.part;
    h = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                return NULL;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].hash != 0 && h[i].value.len != 0
            && h[i].key.len == sizeof("Content-Encoding") - 1
            && ngx_strncasecmp(h[i].key.data, (u_char *) "Content-Encoding",
                               h[i].key.len) == 0
            && !(h[i].value.len == 8
                 && ngx_strncasecmp(h[i].value.data, (u_char *) "identity",
                                    8) == 0))
        {
            return &h[i];
        }
    }
}


/* 502, the reason recorded for the audit event */
static ngx_int_t
ngx_http_hoop_mask_refuse(ngx_http_request_t *r,
    ngx_http_hoop_mask_ctx_t *ctx, const char *reason)
{
    if (ngx_strcmp(reason, "partial") == 0) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "hoop_mask: partial response (206) cannot be masked;"
                      " refused");

    } else if (ngx_strcmp(reason, "upgrade") == 0) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "hoop_mask: an upgraded connection (101) cannot be"
                      " masked; refused");
    }

    ctx->unmasked = reason;
    ctx->action = "refused";
    ctx->phase = NGX_HTTP_HOOP_MASK_REFUSED;

    /* the upstream's body is left unread: the connection cannot go on */
    r->keepalive = 0;

    /*
     * nginx's own 502 page, not an error_page: a redirect from inside a
     * filter is abandoned with the request, and the client would get
     * nothing at all
     */
    r->error_page = 1;

    return ngx_http_filter_finalize_request(r,
                                            &ngx_http_hoop_mask_filter_module,
                                            NGX_HTTP_BAD_GATEWAY);
}


/*
 * Every header field the upstream sent, but the exempt ones, is masked
 * as the body is; a value masked is replaced in place.
 */
static ngx_int_t
ngx_http_hoop_mask_headers(ngx_http_request_t *r,
    ngx_http_hoop_mask_loc_conf_t *mlcf, ngx_http_hoop_mask_ctx_t *ctx)
{
    ngx_str_t  name;

    /* Content-Type is kept apart from the list: its parameters are text */

    if (r->headers_out.content_type.len
        && (hoop_mask_could_match(&mlcf->mask, r->headers_out.content_type.data,
                                  r->headers_out.content_type.len)
            || hoop_mask_unescape_could(r->headers_out.content_type.data,
                                        r->headers_out.content_type.len)))
    {
        name = r->headers_out.content_type;

        if (ngx_http_hoop_mask_value(ctx, &mlcf->mask, &name) != NGX_OK) {
            return NGX_ERROR;
        }

        if (name.data != r->headers_out.content_type.data) {
            r->headers_out.content_type = name;
            r->headers_out.content_type_lowcase = NULL;
            r->headers_out.content_type_len =
                ngx_min(r->headers_out.content_type_len, name.len);
        }
    }

    return ngx_http_hoop_mask_fields(r, ctx, &r->headers_out.headers);
}


/*
 * The fields of a header or of the trailer, but the exempt ones, masked
 * as the body is; a value masked is replaced in place.
 */
static ngx_int_t
ngx_http_hoop_mask_fields(ngx_http_request_t *r,
    ngx_http_hoop_mask_ctx_t *ctx, ngx_list_t *fields)
{
    ngx_int_t                       rc;
    ngx_uint_t                      i;
    ngx_list_part_t                *part;
    ngx_table_elt_t                *h;
    ngx_http_hoop_mask_loc_conf_t  *mlcf;

    mlcf = ctx->conf;
    part = &fields->part;
    h = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].hash == 0) {
            continue;
        }

        /*
         * a value in a header's name cannot be masked there (the mask's
         * brackets are no name's characters): the header is dropped
         */

        rc = ngx_http_hoop_mask_name(r, ctx, &mlcf->mask, &h[i].key);

        if (rc == NGX_ERROR) {
            return NGX_ERROR;
        }

        if (rc == NGX_DECLINED) {
            h[i].hash = 0;
            continue;
        }

        if (h[i].value.len == 0 || ngx_http_hoop_mask_exempt(mlcf, &h[i])) {
            continue;
        }

        if (!hoop_mask_could_match(&mlcf->mask, h[i].value.data,
                                   h[i].value.len)
            && !hoop_mask_unescape_could(h[i].value.data, h[i].value.len))
        {
            continue;
        }

        if (ngx_http_hoop_mask_value(ctx, &mlcf->mask, &h[i].value)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/*
 * Whether a header's name holds a value: NGX_DECLINED if it does (it is
 * to be dropped), NGX_OK.  The name is read as it is, then, its escapes
 * decoded ("X-Card%2D4111...", "X-Card&#45;4111..."), as words: every
 * byte but letters, digits and '@' a space, then keeping '.' (an address
 * or an email), then keeping '-' (an SSN).  "X-Card-4111111111111111" and
 * "X.Ssn.078-05-1120" hold values a detector would take for parts of an
 * identifier.  A name too long for the decoder's map is dropped.
 */
static ngx_int_t
ngx_http_hoop_mask_name(ngx_http_request_t *r, ngx_http_hoop_mask_ctx_t *ctx,
    hoop_mask_conf_t *conf, ngx_str_t *key)
{
    u_char      c;
    size_t      i, used;
    uint16_t   *raw;
    ngx_int_t   rc;
    ngx_str_t   name, words;
    ngx_uint_t  k;

    static u_char  kept[] = { '@', '.', '-' };

    rc = ngx_http_hoop_mask_holds(ctx, conf, key);

    if (rc != NGX_OK) {
        return rc;
    }

    if (key->len >= 0xffff) {
        return NGX_DECLINED;
    }

    name = *key;
    words.len = key->len;
    words.data = ngx_pnalloc(r->pool, key->len * 2);
    if (words.data == NULL) {
        return NGX_ERROR;
    }

    if (hoop_mask_unescape_could(key->data, key->len)) {
        raw = ngx_palloc(r->pool, (key->len + 1) * sizeof(uint16_t));
        if (raw == NULL) {
            return NGX_ERROR;
        }

        name.data = words.data + key->len;
        name.len = hoop_mask_unescape_rounds(key->data, key->len, 1,
                                             HOOP_MASK_UNESCAPE_ROUNDS, 0,
                                             name.data, raw, &used);
        words.len = name.len;
    }

    for (k = 0; rc == NGX_OK && k < sizeof(kept); k++) {
        for (i = 0; i < name.len; i++) {
            c = name.data[i];
            words.data[i] = ((c >= '0' && c <= '9') || c == '@' || c == kept[k]
                             || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z'))
                            ? c : ' ';
        }

        rc = ngx_http_hoop_mask_holds(ctx, conf, &words);
    }

    return rc;
}


/* NGX_DECLINED if the masking would change the text, NGX_OK if not. */
static ngx_int_t
ngx_http_hoop_mask_holds(ngx_http_hoop_mask_ctx_t *ctx,
    hoop_mask_conf_t *conf, ngx_str_t *text)
{
    ngx_str_t  masked;

    if (!hoop_mask_could_match(conf, text->data, text->len)
        && !hoop_mask_unescape_could(text->data, text->len))
    {
        return NGX_OK;
    }

    masked = *text;

    if (ngx_http_hoop_mask_value(ctx, conf, &masked) != NGX_OK) {
        return NGX_ERROR;
    }

    return (masked.data != text->data) ? NGX_DECLINED : NGX_OK;
}


static ngx_uint_t
ngx_http_hoop_mask_exempt(ngx_http_hoop_mask_loc_conf_t *mlcf,
    ngx_table_elt_t *h)
{
    ngx_str_t   *name;
    ngx_uint_t   i;

    if (mlcf->header_exempt == NULL) {
        return 0;
    }

    name = mlcf->header_exempt->elts;

    for (i = 0; i < mlcf->header_exempt->nelts; i++) {
        if (name[i].len == h->key.len
            && ngx_strncasecmp(name[i].data, h->key.data, h->key.len) == 0)
        {
            return 1;
        }
    }

    return 0;
}


/*
 * One value through the engine, escapes read, as UTF-8 and, if it has
 * bytes past ASCII, as Latin-1 as well.  A replacement is at most
 * eight times the value it replaces ("::1" hashed); a value that grew
 * past that room would stop the stream, and would then be withheld.
 */
static ngx_int_t
ngx_http_hoop_mask_value(ngx_http_hoop_mask_ctx_t *ctx,
    hoop_mask_conf_t *mask, ngx_str_t *value)
{
    size_t  i;

    if (ngx_http_hoop_mask_value_as(ctx, mask, value, 0) != NGX_OK) {
        return NGX_ERROR;
    }

    /*
     * a header's bytes past ASCII are Latin-1 to HTTP clients (Python's,
     * a browser's fetch): read so too, its no-break space a space
     */

    for (i = 0; i < value->len; i++) {
        if (value->data[i] >= 0x80) {
            return ngx_http_hoop_mask_value_as(ctx, mask, value,
                                               HOOP_MASK_UNESCAPE_SINGLE_BYTE);
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_hoop_mask_value_as(ngx_http_hoop_mask_ctx_t *ctx,
    hoop_mask_conf_t *mask, ngx_str_t *value, unsigned charset)
{
    ngx_http_hoop_mask_value_t  out;

    static u_char  withheld[] = "[MASKED]";

    out.len = 0;
    out.size = value->len * 8 + HOOP_MASK_REPLACEMENT_MAX;
    out.data = ngx_pnalloc(ctx->request->pool, out.size);
    if (out.data == NULL) {
        return NGX_ERROR;
    }

    hoop_mask_stream_init(ctx->stream, mask, ngx_http_hoop_mask_value_emit,
                          &out);
    hoop_mask_stream_unescape(ctx->stream, ctx->unescaped);
    hoop_mask_stream_single_byte(ctx->stream, charset);

    if (hoop_mask_stream_feed(ctx->stream, value->data, value->len) != 0
        || hoop_mask_stream_finish(ctx->stream) != 0)
    {
        value->data = withheld;
        value->len = sizeof(withheld) - 1;
        return NGX_OK;
    }

    if (hoop_mask_stream_total(ctx->stream) == 0) {
        return NGX_OK;
    }

    ngx_http_hoop_mask_count(ctx);

    value->data = out.data;
    value->len = out.len;

    return NGX_OK;
}


static int
ngx_http_hoop_mask_value_emit(void *data, const unsigned char *p, size_t len)
{
    ngx_http_hoop_mask_value_t *out = data;

    if (out->size - out->len < len) {
        return -1;
    }

    out->len = ngx_cpymem(out->data + out->len, p, len) - out->data;

    return 0;
}


static ngx_int_t
ngx_http_hoop_mask_body_filter(ngx_http_request_t *r, ngx_chain_t *in)
{
    ngx_int_t                  rc;
    ngx_chain_t               *out;
    ngx_http_hoop_mask_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_hoop_mask_filter_module);

    if (ctx == NULL) {
        return ngx_http_next_body_filter(r, in);
    }

    if (ctx->phase == NGX_HTTP_HOOP_MASK_AS_IS
        || ctx->phase == NGX_HTTP_HOOP_MASK_REFUSED)
    {
        for (out = in; out != NULL; out = out->next) {
            if (out->buf->last_buf
                && ngx_http_hoop_mask_trailer(r, ctx) != NGX_OK)
            {
                return NGX_ERROR;
            }
        }

        return ngx_http_next_body_filter(r, in);
    }

    if (ctx->failed) {
        return NGX_ERROR;
    }

    if (ctx->done) {
        for (out = in; out != NULL; out = out->next) {
            if (ngx_buf_size(out->buf) != 0) {
                ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                              "hoop_mask: response body goes on after its "
                              "end; cut off");
                ctx->unmasked = "after_end";
                ctx->action = "cut";
                ctx->failed = 1;
                return NGX_ERROR;
            }
        }

        return ngx_http_next_body_filter(r, in);
    }

    if (in != NULL && ngx_chain_add_copy(r->pool, &ctx->in, in) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ctx->phase == NGX_HTTP_HOOP_MASK_SNIFF) {
        rc = ngx_http_hoop_mask_sniff(r, ctx);

        if (rc != NGX_OK) {
            return rc;
        }

        if (ctx->phase == NGX_HTTP_HOOP_MASK_AS_IS) {
            out = ctx->in;
            ctx->in = NULL;
            return ngx_http_next_body_filter(r, out);
        }
    }

    /*
     * Until the input is used up or the client falls behind: output the
     * client took at once frees room, and nothing else would call again.
     */

    for ( ;; ) {
        if (ngx_http_hoop_mask_take(r, ctx) != NGX_OK) {
            ctx->failed = 1;
            r->buffered &= ~NGX_HTTP_HOOP_MASK_BUFFERED;
            return NGX_ERROR;
        }

        if (ctx->out == NULL && ctx->busy == NULL) {
            rc = NGX_OK;
            break;
        }

        rc = ngx_http_next_body_filter(r, ctx->out);

        ngx_chain_update_chains(r->pool, &ctx->free, &ctx->busy, &ctx->out,
                             (ngx_buf_tag_t) &ngx_http_hoop_mask_filter_module);
        ctx->last_out = &ctx->out;

        if (rc == NGX_ERROR) {
            ctx->failed = 1;
            r->buffered &= ~NGX_HTTP_HOOP_MASK_BUFFERED;
            return NGX_ERROR;
        }

        if (ctx->in == NULL
            || ngx_http_hoop_mask_busy(ctx) >= NGX_HTTP_HOOP_MASK_BUSY)
        {
            break;
        }
    }

    /* input held while the client is behind: call again when it is not */

    if (ctx->in != NULL) {
        r->buffered |= NGX_HTTP_HOOP_MASK_BUFFERED;
        return NGX_AGAIN;
    }

    r->buffered &= ~NGX_HTTP_HOOP_MASK_BUFFERED;

    return rc;
}


/*
 * The body's first bytes decide: text is masked; what is not is refused
 * or passed as it is.  NGX_OK once decided, the header sent; else what
 * the body filter returns.
 */
static ngx_int_t
ngx_http_hoop_mask_sniff(ngx_http_request_t *r, ngx_http_hoop_mask_ctx_t *ctx)
{
    size_t                 n, k;
    ngx_buf_t             *b;
    ngx_uint_t             last;
    const char            *what;
    ngx_chain_t           *cl;
    hoop_mask_sniff_rc_t   rc;
    u_char                 first[HOOP_MASK_SNIFF_LEN];

    n = 0;
    last = 0;

    for (cl = ctx->in; cl && n < HOOP_MASK_SNIFF_LEN; cl = cl->next) {
        b = cl->buf;

        if (ngx_buf_in_memory(b)) {
            k = ngx_min((size_t) (b->last - b->pos), HOOP_MASK_SNIFF_LEN - n);
            ngx_memcpy(first + n, b->pos, k);
            n += k;
        }

        last |= b->last_buf;
    }

    if (n == 0 && !last) {
        return NGX_OK;      /* nothing to look at yet: the input waits */
    }

    rc = hoop_mask_sniff(first, n, last, &what);

    if (rc == HOOP_MASK_SNIFF_MORE) {
        return NGX_OK;
    }

    /* a control byte anywhere in what came: still time for a 502 */

    for (cl = ctx->in; cl && rc == HOOP_MASK_SNIFF_TEXT; cl = cl->next) {
        b = cl->buf;

        if (ngx_buf_in_memory(b)
            && hoop_mask_text_end(b->pos, b->last - b->pos)
               < (size_t) (b->last - b->pos))
        {
            rc = HOOP_MASK_SNIFF_NOT_TEXT;
            what = "a control byte";
        }
    }

    if (rc == HOOP_MASK_SNIFF_TEXT) {
        return ngx_http_hoop_mask_start(r, ctx, NGX_HTTP_HOOP_MASK_BODY);
    }

    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                  "hoop_mask: response body is not text the detectors can "
                  "read (%s); %s", what,
                  ctx->text_only ? "refused" : "passed unmasked");

    if (ctx->text_only) {
        ctx->in = NULL;
        return ngx_http_hoop_mask_refuse(r, ctx, "not_text");
    }

    ctx->unmasked = "not_text";
    ctx->action = "passed";

    return ngx_http_hoop_mask_start(r, ctx, NGX_HTTP_HOOP_MASK_AS_IS);
}


/*
 * A masked body has no known length, and the upstream's validators and
 * digests are of the body unmasked: an ETag or a Content-MD5 that hashes
 * it lets a client try candidates for a masked value offline.  Dropped:
 * every field whose name says it is a digest (Content-MD5, Digest,
 * Repr-Digest, X-Checksum-Sha256, x-goog-hash, ...).
 */
static void
ngx_http_hoop_mask_unvalidated(ngx_http_request_t *r)
{
    ngx_uint_t        i, k;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    /* ETag: every line of it (nginx points to one) */

    static ngx_str_t  digests[] = {
        ngx_string("etag"),
        ngx_string("digest"),
        ngx_string("checksum"),
        ngx_string("md5"),
        ngx_string("sha1"),
        ngx_string("sha256"),
        ngx_string("sha512"),
        ngx_string("hash")
    };

    ngx_http_clear_content_length(r);
    ngx_http_clear_accept_ranges(r);
    ngx_http_clear_etag(r);

    part = &r->headers_out.headers.part;
    h = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                return;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        for (k = 0; k < sizeof(digests) / sizeof(ngx_str_t); k++) {
            if (ngx_strlcasestrn(h[i].key.data, h[i].key.data + h[i].key.len,
                                 digests[k].data, digests[k].len - 1)
                != NULL)
            {
                h[i].hash = 0;
            }
        }
    }
}


/* sends the header that waited */
static ngx_int_t
ngx_http_hoop_mask_start(ngx_http_request_t *r,
    ngx_http_hoop_mask_ctx_t *ctx, ngx_http_hoop_mask_phase_e phase)
{
    ngx_int_t  rc;

    ctx->phase = phase;

    if (phase == NGX_HTTP_HOOP_MASK_BODY) {
        ngx_http_hoop_mask_unvalidated(r);
    }

    rc = ngx_http_next_header_filter(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        ctx->failed = 1;
        return NGX_ERROR;
    }

    return NGX_OK;
}


static ngx_uint_t
ngx_http_hoop_mask_busy(ngx_http_hoop_mask_ctx_t *ctx)
{
    ngx_uint_t    n;
    ngx_chain_t  *cl;

    for (n = 0, cl = ctx->busy; cl; cl = cl->next) {
        n++;
    }

    return n;
}


/* Feeds input to the engine while the client keeps up with the output. */
static ngx_int_t
ngx_http_hoop_mask_take(ngx_http_request_t *r, ngx_http_hoop_mask_ctx_t *ctx)
{
    size_t      n;
    ngx_buf_t  *b;

    for ( ;; ) {
        if (ctx->in == NULL
            || ngx_http_hoop_mask_busy(ctx) >= NGX_HTTP_HOOP_MASK_BUSY)
        {
            return NGX_OK;
        }

        b = ctx->in->buf;

        if (!ngx_buf_in_memory(b) && ngx_buf_size(b) != 0) {
            ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                          "hoop_mask: response body buffer not in memory");
            return NGX_ERROR;
        }

        if (ngx_buf_in_memory(b) && b->pos < b->last) {
            n = ngx_min((size_t) (b->last - b->pos), NGX_HTTP_HOOP_MASK_SLICE);

            if (ctx->text_only && hoop_mask_text_end(b->pos, n) < n) {
                ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                              "hoop_mask: response body turned into bytes "
                              "that are not text; cut off");
                ctx->unmasked = "not_text";
                ctx->action = "cut";
                return NGX_ERROR;
            }

            if (hoop_mask_stream_feed(ctx->stream, b->pos, n) != 0) {
                return NGX_ERROR;
            }

            b->pos += n;

            if (b->pos < b->last) {
                continue;
            }
        }

        if (b->last_buf) {
            if (hoop_mask_stream_finish(ctx->stream) != 0
                || ngx_http_hoop_mask_last_buf(r, ctx) != NGX_OK)
            {
                return NGX_ERROR;
            }

            ngx_http_hoop_mask_count(ctx);

            if (ngx_http_hoop_mask_trailer(r, ctx) != NGX_OK) {
                return NGX_ERROR;
            }

            ctx->buf->last_buf = b->last_buf;
            ctx->buf->last_in_chain = 1;
            ctx->done = 1;
        }

        if (b->flush && ctx->buf == NULL) {
            /* nothing decided to send: the flush itself still goes on */
            ctx->buf = ngx_calloc_buf(r->pool);
            if (ctx->buf == NULL) {
                return NGX_ERROR;
            }

            ctx->buf->tag = (ngx_buf_tag_t) &ngx_http_hoop_mask_filter_module;
        }

        if ((b->flush || ctx->done) && ctx->buf != NULL) {
            ctx->buf->flush = b->flush;
            *ctx->last_out = ngx_alloc_chain_link(r->pool);
            if (*ctx->last_out == NULL) {
                return NGX_ERROR;
            }

            (*ctx->last_out)->buf = ctx->buf;
            (*ctx->last_out)->next = NULL;
            ctx->last_out = &(*ctx->last_out)->next;
            ctx->buf = NULL;
        }

        ctx->in = ctx->in->next;

        if (ctx->done) {
            ctx->in = NULL;
            return NGX_OK;
        }
    }
}


/*
 * The trailer (add_trailer, a gRPC upstream's) goes after the body's last
 * buffer: its fields are masked as the header's are, whatever became of
 * the body.
 */
static ngx_int_t
ngx_http_hoop_mask_trailer(ngx_http_request_t *r,
    ngx_http_hoop_mask_ctx_t *ctx)
{
    if (ctx->trailer_done) {
        return NGX_OK;
    }

    ctx->trailer_done = 1;

    return ngx_http_hoop_mask_fields(r, ctx, &r->headers_out.trailers);
}


/* what the engine masked, moved to the response's counts */
static void
ngx_http_hoop_mask_count(ngx_http_hoop_mask_ctx_t *ctx)
{
    ngx_uint_t  i;

    for (i = 0; i < HOOP_MASK_NTYPES; i++) {
        ctx->counts[i] += ctx->stream->counts[i];
        ctx->stream->counts[i] = 0;
    }
}


/* The engine's output: copied into buffers of the filter's own. */
static int
ngx_http_hoop_mask_emit(void *data, const unsigned char *p, size_t len)
{
    ngx_http_hoop_mask_ctx_t *ctx = data;

    size_t        n;
    ngx_chain_t  *cl;

    while (len > 0) {
        if (ctx->buf == NULL
            && ngx_http_hoop_mask_get_buf(ctx->request, ctx) != NGX_OK)
        {
            return -1;
        }

        n = ngx_min(len, (size_t) (ctx->buf->end - ctx->buf->last));
        ctx->buf->last = ngx_cpymem(ctx->buf->last, p, n);
        p += n;
        len -= n;

        if (ctx->buf->last == ctx->buf->end) {
            cl = ngx_alloc_chain_link(ctx->request->pool);
            if (cl == NULL) {
                return -1;
            }

            cl->buf = ctx->buf;
            cl->next = NULL;
            *ctx->last_out = cl;
            ctx->last_out = &cl->next;
            ctx->buf = NULL;
        }
    }

    return 0;
}


static ngx_int_t
ngx_http_hoop_mask_get_buf(ngx_http_request_t *r,
    ngx_http_hoop_mask_ctx_t *ctx)
{
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    cl = ngx_chain_get_free_buf(r->pool, &ctx->free);
    if (cl == NULL) {
        return NGX_ERROR;
    }

    b = cl->buf;

    if (b->start == NULL) {
        b->start = ngx_palloc(r->pool, NGX_HTTP_HOOP_MASK_BUFFER);
        if (b->start == NULL) {
            return NGX_ERROR;
        }

        b->end = b->start + NGX_HTTP_HOOP_MASK_BUFFER;
    }

    b->pos = b->start;
    b->last = b->start;
    b->temporary = 1;
    b->recycled = 1;
    b->tag = (ngx_buf_tag_t) &ngx_http_hoop_mask_filter_module;

    ctx->buf = b;

    return NGX_OK;
}


/* the buffer that ends the response: data, or none (a special buffer) */
static ngx_int_t
ngx_http_hoop_mask_last_buf(ngx_http_request_t *r,
    ngx_http_hoop_mask_ctx_t *ctx)
{
    if (ctx->buf != NULL) {
        if (ctx->buf->pos == ctx->buf->last) {
            ctx->buf->temporary = 0;
        }

        return NGX_OK;
    }

    ctx->buf = ngx_calloc_buf(r->pool);
    if (ctx->buf == NULL) {
        return NGX_ERROR;
    }

    ctx->buf->tag = (ngx_buf_tag_t) &ngx_http_hoop_mask_filter_module;

    return NGX_OK;
}


/*
 * Masked counts of the response so far, headers and body, by type, and
 * why the body was not masked (NULL: it was, or it had none) and what
 * became of it; NGX_DECLINED when masking is not applied to the response.
 * The audit event records them.
 */
ngx_int_t
ngx_http_hoop_mask_result(ngx_http_request_t *r,
    uint64_t counts[HOOP_MASK_NTYPES], const char **unmasked,
    const char **action)
{
    ngx_uint_t                 i;
    ngx_http_hoop_mask_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_hoop_mask_filter_module);

    if (ctx == NULL) {
        return NGX_DECLINED;
    }

    for (i = 0; i < HOOP_MASK_NTYPES; i++) {
        counts[i] = ctx->counts[i] + ctx->stream->counts[i];
    }

    *unmasked = ctx->unmasked;
    *action = ctx->action;

    return NGX_OK;
}


/* The response's masking, for text recorded about the request. */
const hoop_mask_conf_t *
ngx_http_hoop_mask_conf(ngx_http_request_t *r)
{
    ngx_http_hoop_mask_loc_conf_t  *mlcf;

    mlcf = ngx_http_hoop_mask_applied(r);

    return (mlcf->enable == 1) ? &mlcf->mask : NULL;
}


/*
 * Upstreams are asked for whole, plain text: no Accept-Encoding or TE
 * (only plain text can be masked), no Accept-Charset (UTF-16 cannot be
 * read), no Range or If-Range (parts of a body would cut values in two,
 * or come as multipart/byteranges), no If-None-Match or If-Match (the
 * client never gets the upstream's ETag, which may hash the unmasked
 * body: a 304 would confirm a guess at it).  The first masking location is
 * remembered for the locations the request goes on to.
 */
static ngx_int_t
ngx_http_hoop_mask_request(ngx_http_request_t *r)
{
    ngx_table_elt_t                *h;
    ngx_pool_cleanup_t             *cln;
    ngx_http_hoop_mask_loc_conf_t  *mlcf;

    static ngx_str_t  hidden[] = {
        ngx_string("Accept-Encoding"),
        ngx_string("TE"),
        ngx_string("Accept-Charset"),
        ngx_string("Range"),
        ngx_string("If-Range"),
        ngx_string("If-None-Match"),
        ngx_string("If-Match")
    };

    mlcf = ngx_http_get_module_loc_conf(r, ngx_http_hoop_mask_filter_module);

    if (mlcf->enable != 1 || r != r->main) {
        return NGX_DECLINED;
    }

    if (ngx_http_hoop_mask_remembered(r) == NULL) {
        cln = ngx_pool_cleanup_add(r->pool, 0);
        if (cln == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        cln->handler = ngx_http_hoop_mask_passed;
        cln->data = mlcf;
    }

    /* one at a time: cutting one out changes the list being walked */

    while ((h = ngx_http_hoop_find_header(r, hidden, 7)) != NULL) {
        ngx_http_hoop_hide_request_header(r, h);
    }

    /*
     * nor are they the client's to apply here: the range filter and the
     * slice module read these, and would send a part of a body as 200
     */

    r->headers_in.range = NULL;
    r->headers_in.if_range = NULL;
    r->headers_in.if_match = NULL;
    r->headers_in.if_none_match = NULL;

    return NGX_DECLINED;
}




/*
 * hoop_mask detect=email,credit_card,... [strategy=redact|partial|hash];
 * hoop_mask detect=all;
 * hoop_mask off;
 *
 * Several hoop_mask lines add up, each detector with the strategy of its
 * line; a detector may appear once.
 */
static char *
ngx_http_hoop_mask(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_hoop_mask_loc_conf_t *mlcf = conf;

    int         strategy;
    char       *rv;
    ngx_str_t  *detect;

    rv = ngx_hoop_mask_args(cf, &mlcf->enable, &detect, NULL, &strategy);

    if (rv != NGX_CONF_OK || mlcf->enable == 0) {
        return rv;
    }

    return ngx_hoop_mask_detect(cf, &mlcf->mask, detect,
                                (hoop_mask_strategy_t) strategy);
}


/* hoop_mask_header_exempt name ...; "none": every field is masked */
static char *
ngx_http_hoop_mask_header_exempt(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_hoop_mask_loc_conf_t *mlcf = conf;

    ngx_str_t   *value, *name;
    ngx_uint_t   i;

    if (mlcf->header_exempt != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    mlcf->header_exempt = ngx_array_create(cf->pool, cf->args->nelts,
                                           sizeof(ngx_str_t));
    if (mlcf->header_exempt == NULL) {
        return NGX_CONF_ERROR;
    }

    if (cf->args->nelts == 2 && ngx_strcmp(value[1].data, "none") == 0) {
        return NGX_CONF_OK;
    }

    for (i = 1; i < cf->args->nelts; i++) {
        name = ngx_array_push(mlcf->header_exempt);
        if (name == NULL) {
            return NGX_CONF_ERROR;
        }

        *name = value[i];
    }

    return NGX_CONF_OK;
}


static void *
ngx_http_hoop_mask_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_hoop_mask_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_hoop_mask_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     conf->mask = { 0 };
     *     conf->key = { 0, NULL };
     *     conf->types = { NULL };
     *     conf->types_keys = NULL;
     */

    conf->enable = NGX_CONF_UNSET;
    conf->unreadable = NGX_CONF_UNSET_UINT;
    conf->header_exempt = NGX_CONF_UNSET_PTR;

    return conf;
}


static ngx_array_t *
ngx_http_hoop_mask_default_exempt_list(ngx_conf_t *cf)
{
    ngx_str_t    *name;
    ngx_uint_t    i;
    ngx_array_t  *a;

    a = ngx_array_create(cf->pool, 16, sizeof(ngx_str_t));
    if (a == NULL) {
        return NULL;
    }

    for (i = 0; ngx_http_hoop_mask_default_exempt[i].len; i++) {
        name = ngx_array_push(a);
        if (name == NULL) {
            return NULL;
        }

        *name = ngx_http_hoop_mask_default_exempt[i];
    }

    return a;
}


static char *
ngx_http_hoop_mask_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_hoop_mask_loc_conf_t *prev = parent;
    ngx_http_hoop_mask_loc_conf_t *conf = child;

    if (conf->enable == NGX_CONF_UNSET) {
        conf->enable = prev->enable;
        conf->mask = prev->mask;
    }

    ngx_conf_merge_str_value(conf->key, prev->key, "");
    ngx_conf_merge_uint_value(conf->unreadable, prev->unreadable,
                              NGX_HTTP_HOOP_MASK_REFUSE);

    if (conf->header_exempt == NGX_CONF_UNSET_PTR) {
        conf->header_exempt = prev->header_exempt;
    }

    if (conf->header_exempt == NGX_CONF_UNSET_PTR) {
        conf->header_exempt = ngx_http_hoop_mask_default_exempt_list(cf);
        if (conf->header_exempt == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    /* not listed anywhere: every type, "*" */

    if (conf->types_keys == NULL
        && (prev->types_keys == NULL || prev->types_keys == (void *) -1))
    {
        conf->types_keys = (void *) -1;
    }

    if (ngx_http_merge_types(cf, &conf->types_keys, &conf->types,
                             &prev->types_keys, &prev->types,
                             ngx_http_hoop_mask_default_types)
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    if (conf->enable != 1) {
        return NGX_CONF_OK;
    }

    return ngx_hoop_mask_key_apply(cf, &conf->mask, &conf->key, 0);
}


static ngx_int_t
ngx_http_hoop_mask_init(ngx_conf_t *cf)
{
    ngx_http_next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = ngx_http_hoop_mask_header_filter;

    ngx_http_next_body_filter = ngx_http_top_body_filter;
    ngx_http_top_body_filter = ngx_http_hoop_mask_body_filter;

    /* rewrite, not access: "satisfy any" may end the access phase early */

    return ngx_http_hoop_add_handler(cf, NGX_HTTP_REWRITE_PHASE,
                                     ngx_http_hoop_mask_request);
}
