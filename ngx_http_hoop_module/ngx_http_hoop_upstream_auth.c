/*
 * Copyright (C) nginx-hoop authors
 *
 * hoop_upstream_credentials: what the upstream is told about who asks is
 * the gateway's own credential (Basic "user:password", or a bearer
 * token), read from a file at configuration time, in place of whatever
 * Authorization the client sent.  It is added once the rules let the
 * request through, so that a refused request never carries it.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_hoop_secret.h"
#include "ngx_http_hoop.h"


static ngx_int_t ngx_http_hoop_upstream_auth_handler(ngx_http_request_t *r);


ngx_int_t
ngx_http_hoop_upstream_auth_init(ngx_conf_t *cf)
{
    return ngx_http_hoop_add_handler(cf, NGX_HTTP_ACCESS_PHASE,
                                     ngx_http_hoop_upstream_auth_handler);
}


/* hoop_upstream_credentials basic|bearer FILE | off */
char *
ngx_http_hoop_upstream_credentials(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_hoop_loc_conf_t  *hlcf = conf;

    u_char     *p;
    ngx_str_t  *value, secret, encoded;

    if (hlcf->upstream_auth.data != NULL) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (cf->args->nelts == 2 && ngx_strcmp(value[1].data, "off") == 0) {
        ngx_str_set(&hlcf->upstream_auth, "");
        return NGX_CONF_OK;
    }

    if (cf->args->nelts != 3) {
        return "takes \"basic\" or \"bearer\" and a file, or \"off\"";
    }

    if (ngx_hoop_secret_read(cf, &value[2], &secret) != NGX_CONF_OK) {
        return NGX_CONF_ERROR;
    }

    if (ngx_strcmp(value[1].data, "basic") == 0) {
        if (ngx_strlchr(secret.data, secret.data + secret.len, ':') == NULL)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "the file of \"%V\" holds no \"user:password\"",
                               &cmd->name);
            return NGX_CONF_ERROR;
        }

        encoded.len = ngx_base64_encoded_length(secret.len);
        p = ngx_pnalloc(cf->pool, sizeof("Basic ") - 1 + encoded.len);
        if (p == NULL) {
            return NGX_CONF_ERROR;
        }

        encoded.data = ngx_cpymem(p, "Basic ", sizeof("Basic ") - 1);
        ngx_encode_base64(&encoded, &secret);

        hlcf->upstream_auth.data = p;
        hlcf->upstream_auth.len = sizeof("Basic ") - 1 + encoded.len;

    } else if (ngx_strcmp(value[1].data, "bearer") == 0) {
        p = ngx_pnalloc(cf->pool, sizeof("Bearer ") - 1 + secret.len);
        if (p == NULL) {
            return NGX_CONF_ERROR;
        }

        hlcf->upstream_auth.data = p;
        hlcf->upstream_auth.len = ngx_sprintf(p, "Bearer %V", &secret) - p;

    } else {
        return "takes \"basic\" or \"bearer\" and a file, or \"off\"";
    }

    /* the secret's copy is not needed any more */

    ngx_explicit_memzero(secret.data, secret.len);

    return NGX_CONF_OK;
}


/* runs last in the access phase: the request was let through */
static ngx_int_t
ngx_http_hoop_upstream_auth_handler(ngx_http_request_t *r)
{
    ngx_table_elt_t           *h;
    ngx_http_hoop_loc_conf_t  *hlcf;

    static ngx_str_t  authorization[] = {
        ngx_string("Authorization"),
        ngx_string("Proxy-Authorization")
    };

    hlcf = ngx_http_get_module_loc_conf(r, ngx_http_hoop_module);

    /* the Kubernetes API never sees the agent's token, credentials or not */

    if ((hlcf->upstream_auth.len == 0 && !hlcf->kube) || r != r->main) {
        return NGX_DECLINED;
    }

    /* whatever credentials the client sent go: every line of them */

    while ((h = ngx_http_hoop_find_header(r, authorization, 2)) != NULL) {
        ngx_http_hoop_hide_request_header(r, h);
    }

    if (hlcf->upstream_auth.len == 0) {
        return NGX_DECLINED;    /* a client certificate speaks for it */
    }

    h = ngx_list_push(&r->headers_in.headers);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Authorization");
    h->value = hlcf->upstream_auth;
    h->lowcase_key = (u_char *) "authorization";

    r->headers_in.authorization = h;

    return NGX_DECLINED;
}
