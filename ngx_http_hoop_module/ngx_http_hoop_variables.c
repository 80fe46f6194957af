/*
 * Copyright (C) nginx-hoop authors
 *
 * $hoop_sub, $hoop_email, $hoop_groups, $hoop_client_id, $hoop_jti,
 * $hoop_identity: the verified identity, for log_format, proxy_set_header
 * and map.  Empty (not found) when the request was not authenticated.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_hoop.h"


static ngx_int_t ngx_http_hoop_claim_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_hoop_identity_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);


static ngx_http_variable_t  ngx_http_hoop_vars[] = {

    { ngx_string("hoop_sub"), NULL, ngx_http_hoop_claim_variable,
      offsetof(hoop_identity_t, sub), NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("hoop_email"), NULL, ngx_http_hoop_claim_variable,
      offsetof(hoop_identity_t, email), NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("hoop_groups"), NULL, ngx_http_hoop_claim_variable,
      offsetof(hoop_identity_t, groups), NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("hoop_client_id"), NULL, ngx_http_hoop_claim_variable,
      offsetof(hoop_identity_t, client_id), NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("hoop_jti"), NULL, ngx_http_hoop_claim_variable,
      offsetof(hoop_identity_t, jti), NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("hoop_identity"), NULL, ngx_http_hoop_identity_variable,
      0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


ngx_int_t
ngx_http_hoop_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var, *v;

    for (v = ngx_http_hoop_vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_hoop_claim_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    hoop_str_t           *s;
    ngx_http_hoop_ctx_t  *ctx;

    ctx = ngx_http_hoop_get_ctx(r);

    if (ctx == NULL || !ctx->authenticated) {
        v->not_found = 1;
        return NGX_OK;
    }

    s = (hoop_str_t *) ((char *) &ctx->identity + data);

    if (s->len == 0) {
        v->not_found = 1;
        return NGX_OK;
    }

    v->len = s->len;
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;
    v->data = (u_char *) s->data;

    return NGX_OK;
}


static ngx_int_t
ngx_http_hoop_identity_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    size_t                len;
    u_char               *p;
    ngx_http_hoop_ctx_t  *ctx;

    ctx = ngx_http_hoop_get_ctx(r);

    if (ctx == NULL || !ctx->authenticated) {
        v->not_found = 1;
        return NGX_OK;
    }

    len = hoop_identity_json_size(&ctx->identity);

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    v->len = hoop_identity_json(&ctx->identity, (char *) p, len);
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;
    v->data = p;

    return NGX_OK;
}
