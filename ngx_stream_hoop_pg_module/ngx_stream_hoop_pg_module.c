/*
 * Copyright (C) nginx-hoop authors
 *
 * ngx_stream_hoop_pg_module: the PostgreSQL gateway.  This file holds the
 * module definition and its directives; the session itself lives in the
 * files named for each of its concerns.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_stream.h>

#include <openssl/rand.h>

#include "ngx_stream_hoop_pg.h"
#include "ngx_hoop_conf_file.h"
#include "ngx_hoop_mask_conf.h"
#include "ngx_hoop_sanitizer.h"
#include "hoop_pg_error.h"
#include "hoop_pg_startup.h"


#define NGX_STREAM_HOOP_PG_PORT  5432


static ngx_int_t ngx_stream_hoop_pg_postconfiguration(ngx_conf_t *cf);
static void *ngx_stream_hoop_pg_create_main_conf(ngx_conf_t *cf);
static ngx_int_t ngx_stream_hoop_pg_init_process(ngx_cycle_t *cycle);
static void ngx_stream_hoop_pg_exit_process(ngx_cycle_t *cycle);
static void *ngx_stream_hoop_pg_create_srv_conf(ngx_conf_t *cf);
static char *ngx_stream_hoop_pg_merge_srv_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_stream_hoop_pg_pass(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static void ngx_stream_hoop_pg_handler(ngx_stream_session_t *s);
static void ngx_stream_hoop_pg_cleanup(void *data);


static char *ngx_stream_hoop_pg_check_buffer_size(ngx_conf_t *cf,
    void *post, void *data);


static char *ngx_stream_hoop_pg_check_max_message(ngx_conf_t *cf,
    void *post, void *data);


static ngx_conf_enum_t  ngx_stream_hoop_pg_default_actions[] = {
    { ngx_string("allow"), HOOP_RULE_ALLOW },
    { ngx_string("deny"), HOOP_RULE_DENY },
    { ngx_null_string, 0 }
};


static ngx_conf_enum_t  ngx_stream_hoop_pg_read_only_modes[] = {
    { ngx_string("auto"), NGX_STREAM_HOOP_PG_READ_ONLY_AUTO },
    { ngx_string("on"), NGX_STREAM_HOOP_PG_READ_ONLY_ON },
    { ngx_string("off"), NGX_STREAM_HOOP_PG_READ_ONLY_OFF },
    { ngx_null_string, 0 }
};


static ngx_conf_post_handler_pt  ngx_stream_hoop_pg_buffer_size_post =
    ngx_stream_hoop_pg_check_buffer_size;

static ngx_conf_post_handler_pt  ngx_stream_hoop_pg_max_message_post =
    ngx_stream_hoop_pg_check_max_message;


static ngx_command_t  ngx_stream_hoop_pg_commands[] = {

    { ngx_string("hoop_redis"),
      NGX_STREAM_MAIN_CONF|NGX_CONF_1MORE,
      ngx_hoop_redis_conf_set,
      NGX_STREAM_MAIN_CONF_OFFSET,
      offsetof(ngx_stream_hoop_pg_main_conf_t, redis),
      NULL },

    NGX_HOOP_OIDC_COMMANDS(NGX_STREAM_MAIN_CONF, NGX_STREAM_MAIN_CONF_OFFSET,
                           offsetof(ngx_stream_hoop_pg_main_conf_t, oidc)),

    NGX_HOOP_AUDIT_COMMANDS(NGX_STREAM_MAIN_CONF, NGX_STREAM_MAIN_CONF_OFFSET,
                            offsetof(ngx_stream_hoop_pg_main_conf_t, audit)),

    { ngx_string("hoop_review_webhook"),
      NGX_STREAM_MAIN_CONF|NGX_CONF_1MORE,
      ngx_hoop_review_webhook_set,
      NGX_STREAM_MAIN_CONF_OFFSET,
      offsetof(ngx_stream_hoop_pg_main_conf_t, webhook),
      NULL },

    { ngx_string("hoop_audit"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_STREAM_SRV_CONF_OFFSET,
      offsetof(ngx_stream_hoop_pg_srv_conf_t, audit),
      NULL },

    { ngx_string("hoop_pg_auth"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_STREAM_SRV_CONF_OFFSET,
      offsetof(ngx_stream_hoop_pg_srv_conf_t, auth),
      NULL },

    { ngx_string("hoop_pg_pass"),
      NGX_STREAM_SRV_CONF|NGX_CONF_TAKE1,
      ngx_stream_hoop_pg_pass,
      NGX_STREAM_SRV_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("hoop_pg_login"),
      NGX_STREAM_SRV_CONF|NGX_CONF_2MORE,
      ngx_stream_hoop_pg_login,
      NGX_STREAM_SRV_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("hoop_rule"),
      NGX_STREAM_SRV_CONF|NGX_CONF_1MORE,
      ngx_stream_hoop_pg_rule,
      NGX_STREAM_SRV_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("hoop_default"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_TAKE1,
      ngx_hoop_conf_set_enum,
      NGX_STREAM_SRV_CONF_OFFSET,
      offsetof(ngx_stream_hoop_pg_srv_conf_t, default_action),
      &ngx_stream_hoop_pg_default_actions },

    { ngx_string("hoop_pg_read_only"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_TAKE1,
      ngx_hoop_conf_set_enum,
      NGX_STREAM_SRV_CONF_OFFSET,
      offsetof(ngx_stream_hoop_pg_srv_conf_t, read_only),
      &ngx_stream_hoop_pg_read_only_modes },

    { ngx_string("hoop_pg_read_safe"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_1MORE,
      ngx_stream_hoop_pg_read_safe,
      NGX_STREAM_SRV_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("hoop_pg_audit_literals"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_STREAM_SRV_CONF_OFFSET,
      offsetof(ngx_stream_hoop_pg_srv_conf_t, audit_literals),
      NULL },

    { ngx_string("hoop_pg_certificate"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_STREAM_SRV_CONF_OFFSET,
      offsetof(ngx_stream_hoop_pg_srv_conf_t, certificate),
      NULL },

    { ngx_string("hoop_pg_certificate_key"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_STREAM_SRV_CONF_OFFSET,
      offsetof(ngx_stream_hoop_pg_srv_conf_t, certificate_key),
      NULL },

    { ngx_string("hoop_pg_require_tls"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_STREAM_SRV_CONF_OFFSET,
      offsetof(ngx_stream_hoop_pg_srv_conf_t, require_tls),
      NULL },

    { ngx_string("hoop_mask"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_1MORE,
      ngx_stream_hoop_pg_mask,
      NGX_STREAM_SRV_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("hoop_mask_key"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_TAKE1,
      ngx_hoop_mask_key,
      NGX_STREAM_SRV_CONF_OFFSET,
      offsetof(ngx_stream_hoop_pg_srv_conf_t, mask_key),
      NULL },

    { ngx_string("hoop_pg_upstream_tls"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_TAKE1,
      ngx_hoop_conf_set_enum,
      NGX_STREAM_SRV_CONF_OFFSET,
      offsetof(ngx_stream_hoop_pg_srv_conf_t, upstream_tls),
      &ngx_stream_hoop_pg_upstream_tls_modes },

    { ngx_string("hoop_pg_upstream_trusted_certificate"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_STREAM_SRV_CONF_OFFSET,
      offsetof(ngx_stream_hoop_pg_srv_conf_t, upstream_trusted),
      NULL },

    { ngx_string("hoop_pg_audit_rows"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_STREAM_SRV_CONF_OFFSET,
      offsetof(ngx_stream_hoop_pg_srv_conf_t, audit_rows),
      NULL },

    { ngx_string("hoop_pg_max_message"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_STREAM_SRV_CONF_OFFSET,
      offsetof(ngx_stream_hoop_pg_srv_conf_t, max_message),
      &ngx_stream_hoop_pg_max_message_post },

    { ngx_string("hoop_pg_startup_timeout"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_STREAM_SRV_CONF_OFFSET,
      offsetof(ngx_stream_hoop_pg_srv_conf_t, startup_timeout),
      NULL },

    { ngx_string("hoop_pg_connect_timeout"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_STREAM_SRV_CONF_OFFSET,
      offsetof(ngx_stream_hoop_pg_srv_conf_t, connect_timeout),
      NULL },

    { ngx_string("hoop_pg_timeout"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_STREAM_SRV_CONF_OFFSET,
      offsetof(ngx_stream_hoop_pg_srv_conf_t, timeout),
      NULL },

    { ngx_string("hoop_pg_buffer_size"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_STREAM_SRV_CONF_OFFSET,
      offsetof(ngx_stream_hoop_pg_srv_conf_t, buffer_size),
      &ngx_stream_hoop_pg_buffer_size_post },

      ngx_null_command
};


static ngx_stream_module_t  ngx_stream_hoop_pg_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_stream_hoop_pg_postconfiguration,  /* postconfiguration */

    ngx_stream_hoop_pg_create_main_conf,   /* create main configuration */
    NULL,                                  /* init main configuration */

    ngx_stream_hoop_pg_create_srv_conf,    /* create server configuration */
    ngx_stream_hoop_pg_merge_srv_conf      /* merge server configuration */
};


ngx_module_t  ngx_stream_hoop_pg_module = {
    NGX_MODULE_V1,
    &ngx_stream_hoop_pg_module_ctx,        /* module context */
    ngx_stream_hoop_pg_commands,           /* module directives */
    NGX_STREAM_MODULE,                     /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_stream_hoop_pg_init_process,       /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_stream_hoop_pg_exit_process,       /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static void *
ngx_stream_hoop_pg_create_main_conf(ngx_conf_t *cf)
{
    ngx_stream_hoop_pg_main_conf_t  *pmcf;

    /*
     * set by ngx_pcalloc():
     *
     *     pmcf->redis = NULL;
     */

    pmcf = ngx_pcalloc(cf->pool, sizeof(ngx_stream_hoop_pg_main_conf_t));
    if (pmcf == NULL) {
        return NULL;
    }

    ngx_hoop_oidc_conf_create(&pmcf->oidc);
    ngx_hoop_audit_conf_create(&pmcf->audit);

    /* made before the workers fork, so every worker opens every key */

    if (RAND_bytes(pmcf->cancel_secret, sizeof(pmcf->cancel_secret)) != 1) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "RAND_bytes() failed for the cancel key secret");
        return NULL;
    }

    return pmcf;
}


/* after the merges: only now is it known whether a server needs identity */
static ngx_int_t
ngx_stream_hoop_pg_postconfiguration(ngx_conf_t *cf)
{
    ngx_stream_hoop_pg_main_conf_t  *pmcf;

    pmcf = ngx_stream_conf_get_module_main_conf(cf,
                                                ngx_stream_hoop_pg_module);

    if (ngx_hoop_oidc_conf_init(cf, &pmcf->oidc,
                                pmcf->auth_used
                                ? "\"hoop_pg_auth\" (on by default where"
                                  " \"hoop_pg_pass\" is)"
                                : NULL,
                                "hoop_oidc_stream", &ngx_stream_hoop_pg_module)
        != NGX_CONF_OK)
    {
        return NGX_ERROR;
    }

    if (ngx_hoop_audit_conf_init(cf, &pmcf->audit, pmcf->redis,
                                 "stream", &ngx_stream_hoop_pg_module)
        != NGX_CONF_OK)
    {
        return NGX_ERROR;
    }

    if (pmcf->review_used && pmcf->redis == NULL) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"review\" rules in stream{} need \"hoop_redis\":"
                      " reviews live there");
        return NGX_ERROR;
    }

    return ngx_stream_hoop_pg_audit_init(cf);
}


static void *
ngx_stream_hoop_pg_create_srv_conf(ngx_conf_t *cf)
{
    ngx_stream_hoop_pg_srv_conf_t  *pscf;

    /*
     * set by ngx_pcalloc():
     *
     *     pscf->upstream = NULL;
     *     pscf->logins = NULL;
     *     pscf->certificate = { 0, NULL };
     *     pscf->certificate_key = { 0, NULL };
     *     pscf->ssl = NULL;
     */

    pscf = ngx_pcalloc(cf->pool, sizeof(ngx_stream_hoop_pg_srv_conf_t));
    if (pscf == NULL) {
        return NULL;
    }

    pscf->startup_timeout = NGX_CONF_UNSET_MSEC;
    pscf->connect_timeout = NGX_CONF_UNSET_MSEC;
    pscf->timeout = NGX_CONF_UNSET_MSEC;
    pscf->buffer_size = NGX_CONF_UNSET_SIZE;
    pscf->max_message = NGX_CONF_UNSET_SIZE;
    pscf->rules = NGX_CONF_UNSET_PTR;
    pscf->default_action = NGX_CONF_UNSET_UINT;
    pscf->read_only = NGX_CONF_UNSET_UINT;
    pscf->audit_literals = NGX_CONF_UNSET;
    pscf->require_tls = NGX_CONF_UNSET;
    pscf->mask_enable = NGX_CONF_UNSET;
    pscf->upstream_tls = NGX_CONF_UNSET_UINT;
    pscf->audit_rows = NGX_CONF_UNSET_SIZE;
    pscf->auth = NGX_CONF_UNSET;
    pscf->audit = NGX_CONF_UNSET;

    return pscf;
}


static char *
ngx_stream_hoop_pg_merge_srv_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_stream_hoop_pg_srv_conf_t  *prev = parent;
    ngx_stream_hoop_pg_srv_conf_t  *conf = child;

    ngx_stream_hoop_pg_main_conf_t  *pmcf;

    ngx_conf_merge_msec_value(conf->startup_timeout,
                              prev->startup_timeout, 30000);

    ngx_conf_merge_msec_value(conf->connect_timeout,
                              prev->connect_timeout, 5000);

    ngx_conf_merge_msec_value(conf->timeout, prev->timeout, 3600000);

    if (conf->timeout == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"hoop_pg_timeout\" must be more than 0");
        return NGX_CONF_ERROR;
    }

    ngx_conf_merge_size_value(conf->buffer_size,
                              prev->buffer_size, 16384);

    ngx_conf_merge_size_value(conf->max_message,
                              prev->max_message, 1024 * 1024);

    if (conf->rules == NGX_CONF_UNSET_PTR) {
        conf->rules = (prev->rules == NGX_CONF_UNSET_PTR) ? NULL
                                                          : prev->rules;
    }

    if (conf->default_action == NGX_CONF_UNSET_UINT) {
        conf->default_action = prev->default_action;
    }

    ngx_conf_merge_uint_value(conf->read_only, prev->read_only,
                              NGX_STREAM_HOOP_PG_READ_ONLY_AUTO);

    ngx_conf_merge_value(conf->audit_literals, prev->audit_literals, 0);
    ngx_conf_merge_size_value(conf->audit_rows, prev->audit_rows, 0);

    if (ngx_stream_hoop_pg_mask_merge(cf, prev, conf) != NGX_CONF_OK) {
        return NGX_CONF_ERROR;
    }

    if (ngx_stream_hoop_pg_catalog_merge(cf, prev, conf) != NGX_CONF_OK) {
        return NGX_CONF_ERROR;
    }

    ngx_conf_merge_str_value(conf->certificate, prev->certificate, "");
    ngx_conf_merge_str_value(conf->certificate_key, prev->certificate_key,
                             "");
    ngx_conf_merge_value(conf->require_tls, prev->require_tls, 1);


    /* fail closed: a gateway that forgot its identity provider stops at -t */

    ngx_conf_merge_value(conf->auth, prev->auth, 1);
    ngx_conf_merge_value(conf->audit, prev->audit, 0);

    pmcf = ngx_stream_conf_get_module_main_conf(cf, ngx_stream_hoop_pg_module);

    /*
     * tokens are passwords: where they are taken, they travel in TLS,
     * unless the operator says the network is private
     */

    if (conf->upstream != NULL && conf->auth && conf->require_tls
        && conf->certificate.len == 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"hoop_pg_auth\" takes access tokens as"
                           " passwords: configure \"hoop_pg_certificate\""
                           " for TLS, or \"hoop_pg_require_tls off\" on a"
                           " private network");
        return NGX_CONF_ERROR;
    }

    if (conf->upstream != NULL
        && ngx_stream_hoop_pg_tls_conf(cf, conf) != NGX_CONF_OK)
    {
        return NGX_CONF_ERROR;
    }

    ngx_conf_merge_uint_value(conf->upstream_tls, prev->upstream_tls,
                              NGX_STREAM_HOOP_PG_UPSTREAM_TLS_OFF);
    ngx_conf_merge_str_value(conf->upstream_trusted, prev->upstream_trusted,
                             "");

    if (conf->upstream != NULL
        && ngx_stream_hoop_pg_upstream_tls_conf(cf, conf) != NGX_CONF_OK)
    {
        return NGX_CONF_ERROR;
    }

    if (conf->upstream != NULL && conf->auth) {
        pmcf->auth_used = 1;
    }

    if (conf->upstream != NULL && conf->audit) {
        pmcf->audit.used = 1;
    }

    return NGX_CONF_OK;
}


static char *
ngx_stream_hoop_pg_pass(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_stream_hoop_pg_srv_conf_t  *pscf = conf;

    ngx_str_t                    *value;
    ngx_url_t                     u;
    ngx_stream_core_srv_conf_t   *cscf;

    if (pscf->upstream != NULL) {
        return "is duplicate";
    }

    value = cf->args->elts;

    ngx_memzero(&u, sizeof(ngx_url_t));

    u.url = value[1];
    u.default_port = NGX_STREAM_HOOP_PG_PORT;

    if (ngx_parse_url(cf->pool, &u) != NGX_OK) {
        if (u.err) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "%s in \"%V\" of the \"%V\" directive",
                               u.err, &u.url, &cmd->name);
        }

        return NGX_CONF_ERROR;
    }

    if (u.naddrs == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "no address for \"%V\" in the \"%V\" directive",
                           &u.url, &cmd->name);
        return NGX_CONF_ERROR;
    }

    pscf->upstream = &u.addrs[0];
    pscf->upstream_host = u.host;

    cscf = ngx_stream_conf_get_module_srv_conf(cf, ngx_stream_core_module);

    if (cscf->handler != NULL) {
        return "conflicts with another content handler in this server";
    }

    cscf->handler = ngx_stream_hoop_pg_handler;

    return NGX_CONF_OK;
}


static char *
ngx_stream_hoop_pg_check_buffer_size(ngx_conf_t *cf, void *post, void *data)
{
    size_t  *sp = data;

    if (*sp < 1024 || *sp > 16 * 1024 * 1024) {
        return "must be between 1k and 16m";
    }

    return NGX_CONF_OK;
}


static char *
ngx_stream_hoop_pg_check_max_message(ngx_conf_t *cf, void *post, void *data)
{
    size_t  *sp = data;

    if (*sp < 1024 || *sp > 1024 * 1024 * 1024) {
        return "must be between 1k and 1g";
    }

    return NGX_CONF_OK;
}


static void
ngx_stream_hoop_pg_handler(ngx_stream_session_t *s)
{
    size_t                           preread, size;
    ngx_connection_t                *c;
    ngx_pool_cleanup_t              *cln;
    ngx_stream_hoop_pg_ctx_t        *ctx;
    ngx_stream_hoop_pg_srv_conf_t   *pscf;
    ngx_stream_hoop_pg_main_conf_t  *pmcf;

    c = s->connection;
    pscf = ngx_stream_get_module_srv_conf(s, ngx_stream_hoop_pg_module);

    ctx = ngx_pcalloc(c->pool, sizeof(ngx_stream_hoop_pg_ctx_t));
    if (ctx == NULL) {
        ngx_stream_finalize_session(s, NGX_STREAM_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_stream_set_ctx(s, ctx, ngx_stream_hoop_pg_module);

    ctx->done_last = &ctx->done;

    cln = ngx_pool_cleanup_add(c->pool, 0);
    if (cln == NULL) {
        ngx_stream_finalize_session(s, NGX_STREAM_INTERNAL_SERVER_ERROR);
        return;
    }

    cln->handler = ngx_stream_hoop_pg_cleanup;
    cln->data = ctx;

    /*
     * the client-to-upstream buffer first holds the whole startup packet,
     * then also the password message with the access token
     */

    preread = (c->buffer != NULL) ? c->buffer->last - c->buffer->pos : 0;
    size = HOOP_PG_STARTUP_MAX + preread;

    if (pscf->auth) {
        pmcf = ngx_stream_get_module_main_conf(s, ngx_stream_hoop_pg_module);
        size += pmcf->oidc.max_token_size + 6;
    }

    size = ngx_max(pscf->buffer_size, size);

    ctx->up.buf = ngx_create_temp_buf(c->pool, size);
    if (ctx->up.buf == NULL) {
        ngx_stream_finalize_session(s, NGX_STREAM_INTERNAL_SERVER_ERROR);
        return;
    }

    ctx->down.buf = ngx_create_temp_buf(c->pool, pscf->buffer_size);
    if (ctx->down.buf == NULL) {
        ngx_stream_finalize_session(s, NGX_STREAM_INTERNAL_SERVER_ERROR);
        return;
    }

    /* statements are followed when a policy decides or a trail records */

    ctx->policy = (pscf->rules != NULL
                   || pscf->default_action != NGX_CONF_UNSET_UINT);
    ctx->masking = (pscf->mask_enable == 1);

    if (ctx->policy || pscf->audit || ctx->masking) {
        size = NGX_STREAM_HOOP_PG_PENDING
               * sizeof(ngx_stream_hoop_pg_pending_t);

        ctx->pending = ngx_palloc(c->pool, size);
        if (ctx->pending == NULL) {
            ngx_stream_finalize_session(s, NGX_STREAM_INTERNAL_SERVER_ERROR);
            return;
        }
    }

    /* bytes a preread-phase module (ssl_preread, say) already took */

    if (preread) {
        ctx->up.buf->last = ngx_cpymem(ctx->up.buf->last,
                                            c->buffer->pos, preread);
        c->buffer->pos = c->buffer->last;
    }

    ngx_stream_hoop_pg_startup(s);
}


/*
 * Ends the session with a FATAL ErrorResponse the client can show: the
 * message is the whole explanation a user of psql or a driver will see.
 */

void
ngx_stream_hoop_pg_fatal(ngx_stream_session_t *s, ngx_uint_t rc,
    const char *sqlstate, const char *message, const char *hint)
{
    u_char                     buf[512];
    size_t                     len;
    hoop_pg_error_t            err;
    ngx_connection_t          *c;
    ngx_stream_hoop_pg_ctx_t  *ctx;

    c = s->connection;
    ctx = ngx_stream_get_module_ctx(s, ngx_stream_hoop_pg_module);

    if (ctx != NULL && ctx->ended_sqlstate == NULL) {
        if (ctx->ended == NULL) {
            ctx->ended = "refused";
        }

        /* for the trail: pg.session.end, or pg.refused before a login */

        ctx->ended_sqlstate = sqlstate;
        ctx->ended_message.len = ngx_strlen(message);
        ctx->ended_message.data = ngx_pnalloc(c->pool,
                                              ctx->ended_message.len);
        if (ctx->ended_message.data == NULL) {
            ctx->ended_message.len = 0;

        } else {
            ngx_memcpy(ctx->ended_message.data, message,
                       ctx->ended_message.len);
        }
    }

    err.severity = "FATAL";
    err.sqlstate = sqlstate;
    err.message = message;
    err.detail = NULL;
    err.hint = hint;

    len = hoop_pg_error_encode(buf, sizeof(buf), HOOP_PG_ERROR_RESPONSE,
                               &err);

    /* a best-effort single write: the session ends either way */

    if (len && c->write->ready) {
        (void) c->send(c, buf, len);
    }

    ngx_stream_finalize_session(s, rc);
}


static void
ngx_stream_hoop_pg_cleanup(void *data)
{
    ngx_stream_hoop_pg_ctx_t  *ctx = data;

    if (ctx->idle.timer_set) {
        ngx_del_timer(&ctx->idle);
    }

    if (ctx->peer.connection != NULL) {
        ngx_stream_hoop_pg_close_upstream(ctx->peer.connection);
        ctx->peer.connection = NULL;
    }

    if (ctx->wait_event.timer_set) {
        ngx_del_timer(&ctx->wait_event);
    }

    ngx_stream_hoop_pg_review_cleanup(ctx);
    ngx_stream_hoop_pg_query_cleanup(ctx);
    ngx_stream_hoop_pg_mask_cleanup(ctx);
    ngx_stream_hoop_pg_catalog_cleanup(ctx);
}


static ngx_int_t
ngx_stream_hoop_pg_init_process(ngx_cycle_t *cycle)
{
    ngx_stream_hoop_pg_main_conf_t  *pmcf;

    ngx_hoop_sanitizer_init_process(cycle);

    pmcf = ngx_stream_cycle_get_module_main_conf(cycle,
                                                 ngx_stream_hoop_pg_module);

    if (pmcf == NULL) {
        return NGX_OK;          /* no stream{} block */
    }

    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return NGX_OK;
    }

    if (ngx_hoop_audit_init_process(&pmcf->audit, cycle, "stream")
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (pmcf->review_used) {
        pmcf->reviews = ngx_hoop_reviews_start(cycle, pmcf->redis,
                                               pmcf->webhook, "stream");
        if (pmcf->reviews == NULL) {
            return NGX_ERROR;
        }
    }

    return ngx_hoop_oidc_init_process(&pmcf->oidc, cycle);
}


static void
ngx_stream_hoop_pg_exit_process(ngx_cycle_t *cycle)
{
    ngx_stream_hoop_pg_main_conf_t  *pmcf;

    pmcf = ngx_stream_cycle_get_module_main_conf(cycle,
                                                 ngx_stream_hoop_pg_module);

    ngx_stream_hoop_pg_cache_free();
    ngx_stream_hoop_pg_catalog_free();

    if (pmcf != NULL) {
        if (pmcf->reviews != NULL) {
            ngx_hoop_reviews_stop(pmcf->reviews);
            pmcf->reviews = NULL;
        }

        ngx_hoop_audit_exit_process(&pmcf->audit);
    }
}
