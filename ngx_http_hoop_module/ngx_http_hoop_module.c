/*
 * Copyright (C) nginx-hoop authors
 *
 * ngx_http_hoop_module: the HTTP side of the gateway (OIDC bearer auth, Git
 * smart-HTTP, Kubernetes exec, the reviewers' API).  This file holds the
 * module definition and the http{}-level configuration shared by them.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_hoop_redis_conf.h"
#include "ngx_hoop_sanitizer.h"


typedef struct {
    ngx_hoop_redis_conf_t  *redis;
} ngx_http_hoop_main_conf_t;


static void *ngx_http_hoop_create_main_conf(ngx_conf_t *cf);
static ngx_int_t ngx_http_hoop_init_process(ngx_cycle_t *cycle);


static ngx_command_t  ngx_http_hoop_commands[] = {

    { ngx_string("hoop_redis"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_hoop_redis_conf_set,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_hoop_main_conf_t, redis),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_hoop_module_ctx = {
    NULL,                                  /* preconfiguration */
    NULL,                                  /* postconfiguration */

    ngx_http_hoop_create_main_conf,        /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    NULL,                                  /* create location configuration */
    NULL                                   /* merge location configuration */
};


ngx_module_t  ngx_http_hoop_module = {
    NGX_MODULE_V1,
    &ngx_http_hoop_module_ctx,             /* module context */
    ngx_http_hoop_commands,                /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_hoop_init_process,            /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static void *
ngx_http_hoop_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_hoop_main_conf_t  *hmcf;

    /*
     * set by ngx_pcalloc():
     *
     *     hmcf->redis = NULL;
     */

    hmcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_hoop_main_conf_t));
    if (hmcf == NULL) {
        return NULL;
    }

    return hmcf;
}


static ngx_int_t
ngx_http_hoop_init_process(ngx_cycle_t *cycle)
{
    ngx_hoop_sanitizer_init_process(cycle);

    return NGX_OK;
}
