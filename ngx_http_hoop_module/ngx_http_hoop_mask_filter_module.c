/*
 * Copyright (C) nginx-hoop authors
 *
 * ngx_http_hoop_mask_filter_module: masks sensitive values in response
 * bodies (hoop_mask) with the shared masking engine, as they stream
 * through; the response loses its Content-Length, as with sub_filter.
 *
 * It sits after the copy filter (bodies in memory) and before gzip (the
 * client may still get a compressed response).  Upstreams are asked for
 * identity encoding: Accept-Encoding is taken out of the request sent
 * upstream; an encoded response that comes anyway is refused (502), as
 * unmasked bytes must never pass.
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


typedef struct {
    hoop_mask_conf_t     mask;
    ngx_flag_t           enable;        /* NGX_CONF_UNSET: not set here */
    ngx_str_t            key;           /* hoop_mask_key */
    ngx_hash_t           types;
    ngx_array_t         *types_keys;
} ngx_http_hoop_mask_loc_conf_t;


typedef struct {
    hoop_mask_stream_t  *stream;
    ngx_http_request_t  *request;
    ngx_chain_t         *in;
    ngx_chain_t         *out;
    ngx_chain_t        **last_out;
    ngx_chain_t         *free;
    ngx_chain_t         *busy;
    ngx_buf_t           *buf;           /* being filled */
    unsigned             done:1;
    unsigned             failed:1;      /* nothing may pass any more */
} ngx_http_hoop_mask_ctx_t;


static ngx_int_t ngx_http_hoop_mask_header_filter(ngx_http_request_t *r);
static ngx_int_t ngx_http_hoop_mask_body_filter(ngx_http_request_t *r,
    ngx_chain_t *in);
static ngx_uint_t ngx_http_hoop_mask_busy(ngx_http_hoop_mask_ctx_t *ctx);
static ngx_int_t ngx_http_hoop_mask_take(ngx_http_request_t *r,
    ngx_http_hoop_mask_ctx_t *ctx);
static int ngx_http_hoop_mask_emit(void *data, const unsigned char *p,
    size_t len);
static ngx_int_t ngx_http_hoop_mask_get_buf(ngx_http_request_t *r,
    ngx_http_hoop_mask_ctx_t *ctx);
static ngx_int_t ngx_http_hoop_mask_last_buf(ngx_http_request_t *r,
    ngx_http_hoop_mask_ctx_t *ctx);
static ngx_int_t ngx_http_hoop_mask_request(ngx_http_request_t *r);
static char *ngx_http_hoop_mask(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static void *ngx_http_hoop_mask_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_hoop_mask_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static ngx_int_t ngx_http_hoop_mask_init(ngx_conf_t *cf);


static ngx_str_t  ngx_http_hoop_mask_default_types[] = {
    ngx_string("text/plain"),
    ngx_string("text/html"),
    ngx_string("text/csv"),
    ngx_string("text/xml"),
    ngx_string("application/json"),
    ngx_string("application/problem+json"),
    ngx_string("application/x-ndjson"),
    ngx_string("application/xml"),
    ngx_null_string
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
      &ngx_http_hoop_mask_default_types[0] },

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


static ngx_int_t
ngx_http_hoop_mask_header_filter(ngx_http_request_t *r)
{
    ngx_table_elt_t                *ce;
    ngx_http_hoop_mask_ctx_t       *ctx;
    ngx_http_hoop_mask_loc_conf_t  *mlcf;

    mlcf = ngx_http_get_module_loc_conf(r, ngx_http_hoop_mask_filter_module);

    if (mlcf->enable != 1 || r->header_only) {
        return ngx_http_next_header_filter(r);
    }

    /*
     * a part of a body cannot be masked: values may be cut at its ends,
     * and several parts come as multipart/byteranges, a type not masked
     */

    if (r->headers_out.status == NGX_HTTP_PARTIAL_CONTENT) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "hoop_mask: partial response (206) cannot be masked;"
                      " refused");

        return ngx_http_filter_finalize_request(r,
                                            &ngx_http_hoop_mask_filter_module,
                                            NGX_HTTP_BAD_GATEWAY);
    }

    if (r->headers_out.content_length_n == 0
        || ngx_http_test_content_type(r, &mlcf->types) == NULL)
    {
        return ngx_http_next_header_filter(r);
    }

    ce = r->headers_out.content_encoding;

    if (ce != NULL && ce->hash != 0 && ce->value.len != 0
        && !(ce->value.len == 8
             && ngx_strncasecmp(ce->value.data, (u_char *) "identity", 8)
                == 0))
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "hoop_mask: response is \"%V\"-encoded and cannot be "
                      "masked; refused", &ce->value);

        return ngx_http_filter_finalize_request(r,
                                            &ngx_http_hoop_mask_filter_module,
                                            NGX_HTTP_BAD_GATEWAY);
    }

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_hoop_mask_ctx_t));
    if (ctx == NULL) {
        return NGX_ERROR;
    }

    ctx->stream = ngx_palloc(r->pool, sizeof(hoop_mask_stream_t));
    if (ctx->stream == NULL) {
        return NGX_ERROR;
    }

    ctx->request = r;
    ctx->last_out = &ctx->out;

    hoop_mask_stream_init(ctx->stream, &mlcf->mask, ngx_http_hoop_mask_emit,
                          ctx);

    ngx_http_set_ctx(r, ctx, ngx_http_hoop_mask_filter_module);

    r->filter_need_in_memory = 1;

    ngx_http_clear_content_length(r);
    ngx_http_clear_accept_ranges(r);
    ngx_http_weak_etag(r);

    return ngx_http_next_header_filter(r);
}


static ngx_int_t
ngx_http_hoop_mask_body_filter(ngx_http_request_t *r, ngx_chain_t *in)
{
    ngx_int_t                  rc;
    ngx_http_hoop_mask_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_hoop_mask_filter_module);

    if (ctx == NULL) {
        return ngx_http_next_body_filter(r, in);
    }

    if (ctx->failed) {
        return NGX_ERROR;
    }

    if (ctx->done) {
        return ngx_http_next_body_filter(r, in);
    }

    if (in != NULL && ngx_chain_add_copy(r->pool, &ctx->in, in) != NGX_OK) {
        return NGX_ERROR;
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

            if (hoop_mask_stream_feed(ctx->stream, b->pos, n) != 0) {
                return NGX_ERROR;
            }

            b->pos += n;

            if (b->pos < b->last) {
                continue;
            }
        }

        if (b->last_buf || b->last_in_chain) {
            if (hoop_mask_stream_finish(ctx->stream) != 0
                || ngx_http_hoop_mask_last_buf(r, ctx) != NGX_OK)
            {
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
 * Masked counts of the response so far, by type, or NULL when masking is
 * not applied to it; the audit event records them.
 */
const uint64_t *
ngx_http_hoop_mask_counts(ngx_http_request_t *r)
{
    ngx_http_hoop_mask_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_hoop_mask_filter_module);

    return ctx ? ctx->stream->counts : NULL;
}


/* The location's masking, for text recorded about the request. */
const hoop_mask_conf_t *
ngx_http_hoop_mask_conf(ngx_http_request_t *r)
{
    ngx_http_hoop_mask_loc_conf_t  *mlcf;

    mlcf = ngx_http_get_module_loc_conf(r, ngx_http_hoop_mask_filter_module);

    return (mlcf->enable == 1) ? &mlcf->mask : NULL;
}


/*
 * Upstreams are asked for whole, plain text: no Accept-Encoding (only
 * plain text can be masked), no Range or If-Range (parts of a body would
 * cut values in two, or come as multipart/byteranges).
 */
static ngx_int_t
ngx_http_hoop_mask_request(ngx_http_request_t *r)
{
    ngx_table_elt_t                *h;
    ngx_http_hoop_mask_loc_conf_t  *mlcf;

    static ngx_str_t  hidden[] = {
        ngx_string("Accept-Encoding"),
        ngx_string("Range"),
        ngx_string("If-Range")
    };

    mlcf = ngx_http_get_module_loc_conf(r, ngx_http_hoop_mask_filter_module);

    if (mlcf->enable != 1 || r != r->main) {
        return NGX_DECLINED;
    }

    /* one at a time: cutting one out changes the list being walked */

    while ((h = ngx_http_hoop_find_header(r, hidden, 3)) != NULL) {
        ngx_http_hoop_hide_request_header(r, h);
    }

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

    return conf;
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
    return NGX_CONF_OK;
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
