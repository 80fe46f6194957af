/*
 * Copyright (C) nginx-hoop authors
 *
 * hoop_auth: the access-phase check that every request carries a valid
 * OIDC access token, as "Authorization: Bearer <jwt>" or as the password
 * of Basic auth (what git credential helpers send).  The token is removed
 * from the request once verified, so no upstream ever receives it, and is
 * never logged.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_hoop.h"


static ngx_int_t ngx_http_hoop_auth_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_hoop_auth_wait(ngx_http_request_t *r,
    ngx_str_t *token, const char *scheme, ngx_hoop_oidc_wait_t *wait);
static void ngx_http_hoop_delay_resume(ngx_http_request_t *r);
static ngx_int_t ngx_http_hoop_auth_token(ngx_http_request_t *r,
    ngx_str_t *token, const char **scheme);
static ngx_int_t ngx_http_hoop_auth_challenge(ngx_http_request_t *r,
    ngx_http_hoop_loc_conf_t *hlcf, const char *reason);
static ngx_int_t ngx_http_hoop_auth_www_authenticate(ngx_http_request_t *r,
    ngx_str_t *value);
static ngx_int_t ngx_http_hoop_auth_accept(ngx_http_request_t *r,
    hoop_identity_t *identity);
static void ngx_http_hoop_ctx_cleanup(void *data);


ngx_int_t
ngx_http_hoop_auth_init(ngx_conf_t *cf)
{
    return ngx_http_hoop_add_handler(cf, NGX_HTTP_ACCESS_PHASE,
                                     ngx_http_hoop_auth_handler);
}


/*
 * The request's identity.  Module contexts are wiped by internal
 * redirects (error_page, try_files), but the token is gone from the
 * request by then, so the identity is also found through the pool
 * cleanup that owns it, as the realip module does.  Subrequests share the
 * main request's pool and so its identity.
 */
ngx_http_hoop_ctx_t *
ngx_http_hoop_get_ctx(ngx_http_request_t *r)
{
    ngx_pool_cleanup_t   *cln;
    ngx_http_hoop_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_hoop_module);

    if (ctx != NULL) {
        return ctx;
    }

    for (cln = r->pool->cleanup; cln; cln = cln->next) {
        if (cln->handler == ngx_http_hoop_ctx_cleanup) {
            ctx = cln->data;
            ngx_http_set_ctx(r, ctx, ngx_http_hoop_module);
            return ctx;
        }
    }

    return NULL;
}


static ngx_int_t
ngx_http_hoop_auth_handler(ngx_http_request_t *r)
{
    ngx_int_t                   rc;
    ngx_str_t                   token;
    const char                 *scheme;
    hoop_identity_t             identity;
    hoop_jwt_status_t           status;
    ngx_http_hoop_ctx_t        *ctx;
    ngx_hoop_oidc_wait_t        wait, *w;
    ngx_http_hoop_loc_conf_t   *hlcf;
    ngx_http_hoop_main_conf_t  *hmcf;

    hlcf = ngx_http_get_module_loc_conf(r, ngx_http_hoop_module);

    if (!hlcf->auth) {
        return NGX_DECLINED;
    }

    ctx = ngx_http_hoop_get_ctx(r);

    if (ctx != NULL && ctx->authenticated) {
        return NGX_OK;
    }

    if (ctx != NULL && ctx->waiting) {

        /* back after waiting for keys: the token was taken off already */

        token = ctx->token;
        scheme = ctx->scheme;
        w = &ctx->wait;

    } else {
        scheme = "";

        rc = ngx_http_hoop_auth_token(r, &token, &scheme);

        if (rc == NGX_ERROR) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (rc == NGX_DECLINED) {
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "hoop_auth: no access token in the request");
            return ngx_http_hoop_auth_challenge(r, hlcf, NULL);
        }

        /*
         * From here the token lives only in our variables: not in
         * $http_authorization (access logs), not in what upstreams
         * receive, accepted or not.  Basic credentials go with it
         * ($remote_user).
         */

        ngx_http_hoop_hide_request_header(r, r->headers_in.authorization);
        r->headers_in.authorization = NULL;
        r->headers_in.user.data = (u_char *) "";
        r->headers_in.user.len = 0;
        ngx_str_null(&r->headers_in.passwd);

        ngx_memzero(&wait, sizeof(ngx_hoop_oidc_wait_t));
        w = &wait;
    }

    hmcf = ngx_http_get_module_main_conf(r, ngx_http_hoop_module);

    rc = ngx_hoop_oidc_verify(&hmcf->oidc, &token, r->pool, r->connection->log,
                              &identity, &status, w);

    if (rc == NGX_AGAIN) {
        return ngx_http_hoop_auth_wait(r, &token, scheme, w);
    }

    if (ctx != NULL) {
        ctx->waiting = 0;
    }

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc == NGX_DECLINED) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "hoop_auth: %s token refused: %s",
                      scheme, hoop_jwt_status_text(status));
        return ngx_http_hoop_auth_challenge(r, hlcf,
                                            hoop_jwt_status_text(status));
    }

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "hoop_auth: %s token of \"%*s\" accepted", scheme,
                   identity.sub.len, identity.sub.data);

    return ngx_http_hoop_auth_accept(r, &identity);
}


/*
 * The token names a key being fetched: park the request on a timer, as
 * limit_req delays one, and run the access phase again when it fires.
 */
static ngx_int_t
ngx_http_hoop_auth_wait(ngx_http_request_t *r, ngx_str_t *token,
    const char *scheme, ngx_hoop_oidc_wait_t *wait)
{
    ngx_http_hoop_ctx_t  *ctx;

    ctx = ngx_http_hoop_ctx_create(r);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (!ctx->waiting) {
        ctx->token = *token;
        ctx->scheme = scheme;
        ctx->wait = *wait;
        ctx->waiting = 1;
    }

    return ngx_http_hoop_delay(r, NGX_HOOP_OIDC_POLL);
}


/*
 * Parks the request on a timer, as limit_req delays one; the current
 * phase runs again when it fires.  For an access handler: NGX_AGAIN.
 */
ngx_int_t
ngx_http_hoop_delay(ngx_http_request_t *r, ngx_msec_t delay)
{
    r->read_event_handler = ngx_http_test_reading;
    r->write_event_handler = ngx_http_hoop_delay_resume;

    r->connection->write->delayed = 1;
    ngx_add_timer(r->connection->write, delay);

    return NGX_AGAIN;
}


static void
ngx_http_hoop_delay_resume(ngx_http_request_t *r)
{
    ngx_event_t  *wev;

    wev = r->connection->write;

    if (wev->delayed) {
        if (ngx_handle_write_event(wev, 0) != NGX_OK) {
            ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        }

        return;
    }

    if (ngx_handle_read_event(r->connection->read, 0) != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    r->read_event_handler = ngx_http_block_reading;
    r->write_event_handler = ngx_http_core_run_phases;

    ngx_http_core_run_phases(r);
}


/*
 * NGX_OK with the token, NGX_DECLINED when the request carries none in a
 * form we read (no header, another scheme, Basic without a password).
 */
static ngx_int_t
ngx_http_hoop_auth_token(ngx_http_request_t *r, ngx_str_t *token,
    const char **scheme)
{
    u_char                    *p, *last;
    ngx_int_t                  rc;
    ngx_table_elt_t           *h;
    ngx_http_hoop_loc_conf_t  *hlcf;

    h = r->headers_in.authorization;

    /*
     * a browser's WebSocket carries its token in the subprotocols (the
     * API server reads them there on upgrades only)
     */

    hlcf = ngx_http_get_module_loc_conf(r, ngx_http_hoop_module);

    if (h == NULL && hlcf->kube && r->headers_in.upgrade != NULL) {
        rc = ngx_http_hoop_kube_ws_token(r, token);

        if (rc == NGX_OK) {
            *scheme = "Bearer";
            return NGX_OK;
        }

        if (rc == NGX_ABORT) {
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "hoop_auth: a token in Sec-WebSocket-Protocol"
                          " the API server would refuse (two, not"
                          " base64url, or no other protocol)");
        }

        return (rc == NGX_ERROR) ? NGX_ERROR : NGX_DECLINED;
    }

    if (h == NULL) {
        return NGX_DECLINED;
    }

    p = h->value.data;
    last = p + h->value.len;

    if (h->value.len > sizeof("Bearer ") - 1
        && ngx_strncasecmp(p, (u_char *) "Bearer ", sizeof("Bearer ") - 1)
           == 0)
    {
        p += sizeof("Bearer ") - 1;

        while (p < last && *p == ' ') {
            p++;
        }

        while (last > p && last[-1] == ' ') {
            last--;
        }

        if (p == last) {
            return NGX_DECLINED;
        }

        token->data = p;
        token->len = last - p;
        *scheme = "Bearer";

        return NGX_OK;
    }

    rc = ngx_http_auth_basic_user(r);

    if (rc != NGX_OK) {
        return rc;
    }

    if (r->headers_in.passwd.len == 0) {
        return NGX_DECLINED;
    }

    *token = r->headers_in.passwd;
    *scheme = "Basic";

    return NGX_OK;
}


/*
 * 401 with both challenges: Bearer (RFC 6750 3, with the reason when a
 * token was refused) for API clients, Basic so that git asks its
 * credential helper for the token.
 */
static ngx_int_t
ngx_http_hoop_auth_challenge(ngx_http_request_t *r,
    ngx_http_hoop_loc_conf_t *hlcf, const char *reason)
{
    size_t     len;
    ngx_str_t  bearer, basic;

    len = sizeof("Bearer realm=\"\", error=\"invalid_token\","
                 " error_description=\"\"") - 1
          + hlcf->realm.len + (reason ? ngx_strlen(reason) : 0);

    bearer.data = ngx_pnalloc(r->pool, len);
    if (bearer.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (reason == NULL) {
        bearer.len = ngx_sprintf(bearer.data, "Bearer realm=\"%V\"",
                                 &hlcf->realm)
                     - bearer.data;

    } else {
        bearer.len = ngx_sprintf(bearer.data,
                                 "Bearer realm=\"%V\", error=\"invalid_token\","
                                 " error_description=\"%s\"",
                                 &hlcf->realm, reason)
                     - bearer.data;
    }

    len = sizeof("Basic realm=\"\", charset=\"UTF-8\"") - 1 + hlcf->realm.len;

    basic.data = ngx_pnalloc(r->pool, len);
    if (basic.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    basic.len = ngx_sprintf(basic.data, "Basic realm=\"%V\", charset=\"UTF-8\"",
                            &hlcf->realm)
                - basic.data;

    if (ngx_http_hoop_auth_www_authenticate(r, &bearer) != NGX_OK
        || ngx_http_hoop_auth_www_authenticate(r, &basic) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_HTTP_UNAUTHORIZED;
}


static ngx_int_t
ngx_http_hoop_auth_www_authenticate(ngx_http_request_t *r, ngx_str_t *value)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "WWW-Authenticate");
    h->value = *value;

    if (r->headers_out.www_authenticate == NULL) {
        r->headers_out.www_authenticate = h;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_hoop_auth_accept(ngx_http_request_t *r, hoop_identity_t *identity)
{
    ngx_http_hoop_ctx_t  *ctx;

    ctx = ngx_http_hoop_ctx_create(r);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->identity = *identity;
    ctx->authenticated = 1;

    return NGX_OK;
}


/*
 * Upstream modules copy every element of headers_in.headers, and an
 * ngx_list_t cannot delete.  Moving elements would invalidate the
 * headers_in pointers into the list (host, user_agent, ...), so h is cut
 * out by adjusting the parts around it; no element moves.  Two rules of
 * ngx_list_t are kept: only the first part may be empty (iterations step
 * into a next part without checking its count), and the last part must
 * have room for nalloc elements from its base (ngx_list_push() fills it
 * up to that), so nalloc shrinks when the last part's base moves.
 */
void
ngx_http_hoop_hide_request_header(ngx_http_request_t *r, ngx_table_elt_t *h)
{
    ngx_uint_t        i;
    ngx_list_t       *list;
    ngx_table_elt_t  *elts;
    ngx_list_part_t  *part, *prev, *rest;

    list = &r->headers_in.headers;
    prev = NULL;

    for (part = &list->part; part; prev = part, part = part->next) {
        elts = part->elts;

        for (i = 0; i < part->nelts; i++) {
            if (&elts[i] == h) {
                goto found;
            }
        }
    }

    return;

found:

    if (part->nelts == 1 && prev != NULL) {

        /* the part would be empty: unlink it */

        if (part == list->last) {
            if (prev->nelts == 0) {
                goto blank;
            }

            list->last = prev;
            list->nalloc = prev->nelts;
        }

        prev->next = part->next;
        return;
    }

    if (i == part->nelts - 1) {
        part->nelts--;
        return;
    }

    if (i == 0) {
        part->elts = &elts[1];
        part->nelts--;

        if (part == list->last) {
            list->nalloc--;
        }

        return;
    }

    rest = ngx_palloc(r->pool, sizeof(ngx_list_part_t));
    if (rest == NULL) {
        goto blank;
    }

    rest->elts = &elts[i + 1];
    rest->nelts = part->nelts - i - 1;
    rest->next = part->next;

    if (part == list->last) {
        list->last = rest;
        list->nalloc -= i + 1;
    }

    part->nelts = i;
    part->next = rest;

    return;

blank:

    /* the token must not travel: forward an empty value rather than it */

    h->value.len = 0;
    h->value.data = (u_char *) "";
}


/* The request's context, created on first need; see get_ctx() for why a
 * pool cleanup owns it. */
ngx_http_hoop_ctx_t *
ngx_http_hoop_ctx_create(ngx_http_request_t *r)
{
    ngx_pool_cleanup_t   *cln;
    ngx_http_hoop_ctx_t  *ctx;

    ctx = ngx_http_hoop_get_ctx(r);

    if (ctx != NULL) {
        return ctx;
    }

    cln = ngx_pool_cleanup_add(r->pool, sizeof(ngx_http_hoop_ctx_t));
    if (cln == NULL) {
        return NULL;
    }

    ctx = cln->data;
    ngx_memzero(ctx, sizeof(ngx_http_hoop_ctx_t));
    cln->handler = ngx_http_hoop_ctx_cleanup;
    ngx_http_set_ctx(r, ctx, ngx_http_hoop_module);

    return ctx;
}


static void
ngx_http_hoop_ctx_cleanup(void *data)
{
    /* nothing to free: the cleanup only marks where the identity lives */
}
