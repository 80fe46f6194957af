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

#include "ngx_stream_hoop_pg.h"


#define NGX_STREAM_HOOP_PG_PORT  5432


static void *ngx_stream_hoop_pg_create_main_conf(ngx_conf_t *cf);
static void *ngx_stream_hoop_pg_create_srv_conf(ngx_conf_t *cf);
static char *ngx_stream_hoop_pg_merge_srv_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_stream_hoop_pg_pass(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);


static ngx_conf_num_bounds_t  ngx_stream_hoop_pg_buffer_bounds = {
    ngx_conf_check_num_bounds, 1024, 16 * 1024 * 1024
};


static ngx_command_t  ngx_stream_hoop_pg_commands[] = {

    { ngx_string("hoop_redis"),
      NGX_STREAM_MAIN_CONF|NGX_CONF_1MORE,
      ngx_hoop_redis_conf_set,
      NGX_STREAM_MAIN_CONF_OFFSET,
      offsetof(ngx_stream_hoop_pg_main_conf_t, redis),
      NULL },

    { ngx_string("hoop_pg_pass"),
      NGX_STREAM_SRV_CONF|NGX_CONF_TAKE1,
      ngx_stream_hoop_pg_pass,
      NGX_STREAM_SRV_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("hoop_pg_connect_timeout"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_STREAM_SRV_CONF_OFFSET,
      offsetof(ngx_stream_hoop_pg_srv_conf_t, connect_timeout),
      NULL },

    { ngx_string("hoop_pg_buffer_size"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_STREAM_SRV_CONF_OFFSET,
      offsetof(ngx_stream_hoop_pg_srv_conf_t, buffer_size),
      &ngx_stream_hoop_pg_buffer_bounds },

      ngx_null_command
};


static ngx_stream_module_t  ngx_stream_hoop_pg_module_ctx = {
    NULL,                                  /* preconfiguration */
    NULL,                                  /* postconfiguration */

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
    NULL,                                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
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

    return pmcf;
}


static void *
ngx_stream_hoop_pg_create_srv_conf(ngx_conf_t *cf)
{
    ngx_stream_hoop_pg_srv_conf_t  *pscf;

    /*
     * set by ngx_pcalloc():
     *
     *     pscf->upstream = NULL;
     */

    pscf = ngx_pcalloc(cf->pool, sizeof(ngx_stream_hoop_pg_srv_conf_t));
    if (pscf == NULL) {
        return NULL;
    }

    pscf->connect_timeout = NGX_CONF_UNSET_MSEC;
    pscf->buffer_size = NGX_CONF_UNSET_SIZE;

    return pscf;
}


static char *
ngx_stream_hoop_pg_merge_srv_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_stream_hoop_pg_srv_conf_t  *prev = parent;
    ngx_stream_hoop_pg_srv_conf_t  *conf = child;

    ngx_conf_merge_msec_value(conf->connect_timeout,
                              prev->connect_timeout, 5000);

    ngx_conf_merge_size_value(conf->buffer_size,
                              prev->buffer_size, 16384);

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

    cscf = ngx_stream_conf_get_module_srv_conf(cf, ngx_stream_core_module);

    if (cscf->handler != NULL) {
        return "conflicts with another content handler in this server";
    }

    cscf->handler = ngx_stream_hoop_pg_proxy_start;

    return NGX_CONF_OK;
}
