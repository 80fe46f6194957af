/*
 * Copyright (C) nginx-hoop authors
 */

#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_hoop_conf_file.h"
#include "ngx_hoop_oidc.h"


#define NGX_HOOP_OIDC_LEEWAY          30
#define NGX_HOOP_OIDC_MAX_TOKEN       8192
#define NGX_HOOP_OIDC_CACHE_SIZE      1024
#define NGX_HOOP_OIDC_CACHE_TTL       60
#define NGX_HOOP_OIDC_REFRESH         900
#define NGX_HOOP_OIDC_REFETCH         30
#define NGX_HOOP_OIDC_FETCH_TIMEOUT   5000


static char *ngx_hoop_oidc_load_jwks_file(ngx_conf_t *cf,
    ngx_hoop_oidc_conf_t *oidc);
static void ngx_hoop_oidc_jwks_cleanup(void *data);
static ngx_int_t ngx_hoop_oidc_wait_keys(ngx_hoop_oidc_keys_t *ks,
    ngx_hoop_oidc_wait_t *wait);
static ngx_int_t ngx_hoop_oidc_identity_dup(ngx_pool_t *pool,
    hoop_identity_t *dst, const hoop_identity_t *src);


void
ngx_hoop_oidc_conf_create(ngx_hoop_oidc_conf_t *oidc)
{
    /* the rest is zeroed by the main conf's ngx_pcalloc() */

    oidc->leeway = NGX_CONF_UNSET;
    oidc->max_token_size = NGX_CONF_UNSET_SIZE;
    oidc->cache_size = NGX_CONF_UNSET_UINT;
    oidc->cache_ttl = NGX_CONF_UNSET;
    oidc->refresh = NGX_CONF_UNSET;
    oidc->refetch_interval = NGX_CONF_UNSET;
    oidc->fetch_timeout = NGX_CONF_UNSET_MSEC;
}


char *
ngx_hoop_oidc_conf_init(ngx_conf_t *cf, ngx_hoop_oidc_conf_t *oidc,
    const char *required_by, const char *zone_name, void *tag)
{
    ngx_str_t  zone;

    ngx_conf_init_value(oidc->leeway, NGX_HOOP_OIDC_LEEWAY);
    ngx_conf_init_size_value(oidc->max_token_size, NGX_HOOP_OIDC_MAX_TOKEN);
    ngx_conf_init_uint_value(oidc->cache_size, NGX_HOOP_OIDC_CACHE_SIZE);
    ngx_conf_init_value(oidc->cache_ttl, NGX_HOOP_OIDC_CACHE_TTL);
    ngx_conf_init_value(oidc->refresh, NGX_HOOP_OIDC_REFRESH);
    ngx_conf_init_value(oidc->refetch_interval, NGX_HOOP_OIDC_REFETCH);
    ngx_conf_init_msec_value(oidc->fetch_timeout,
                             NGX_HOOP_OIDC_FETCH_TIMEOUT);

    if (oidc->algs == 0) {
        oidc->algs = HOOP_JWT_ALGS_ALL;
    }

    if (oidc->issuer.len == 0 && oidc->jwks_file.len == 0) {
        if (required_by != NULL) {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "%s needs \"hoop_oidc_issuer\" (and"
                          " \"hoop_oidc_jwks_file\" where the issuer"
                          " cannot be reached)", required_by);
            return NGX_CONF_ERROR;
        }

        return NGX_CONF_OK;
    }

    if (oidc->issuer.len == 0) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"hoop_oidc_jwks_file\" needs \"hoop_oidc_issuer\":"
                      " tokens of any issuer would be accepted");
        return NGX_CONF_ERROR;
    }

    if (oidc->audience.len == 0) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"hoop_oidc_issuer\" needs \"hoop_oidc_audience\":"
                      " tokens issued for any other application of the"
                      " same issuer would be accepted");
        return NGX_CONF_ERROR;
    }

    oidc->issuer_z = ngx_hoop_pstrz(cf->pool, &oidc->issuer);
    oidc->audience_z = ngx_hoop_pstrz(cf->pool, &oidc->audience);
    oidc->groups_claim_z = oidc->groups_claim.len
                           ? ngx_hoop_pstrz(cf->pool, &oidc->groups_claim)
                           : "groups";

    if (oidc->issuer_z == NULL || oidc->audience_z == NULL
        || oidc->groups_claim_z == NULL)
    {
        return NGX_CONF_ERROR;
    }

    if (oidc->jwks_file.len) {
        if (ngx_hoop_oidc_load_jwks_file(cf, oidc) != NGX_CONF_OK) {
            return NGX_CONF_ERROR;
        }

    } else {
        zone.data = (u_char *) zone_name;
        zone.len = ngx_strlen(zone_name);

        oidc->keys = ngx_hoop_oidc_keys_create(cf, &oidc->issuer,
                                               &oidc->jwks_uri,
                                               &oidc->trusted_certificate,
                                               &zone, tag);
        if (oidc->keys == NULL) {
            return NGX_CONF_ERROR;
        }

        oidc->keys->refresh = oidc->refresh;
        oidc->keys->refetch_interval = oidc->refetch_interval;
        oidc->keys->fetch_timeout = oidc->fetch_timeout;
    }

    oidc->cache = ngx_hoop_token_cache_create(cf, oidc->cache_size,
                                              oidc->cache_ttl);
    if (oidc->cache == NULL) {
        return NGX_CONF_ERROR;
    }

    oidc->configured = 1;

    return NGX_CONF_OK;
}


char *
ngx_hoop_oidc_set_algorithms(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    char  *p = conf;

    unsigned    *algs, set;
    ngx_str_t   *value;
    ngx_uint_t   i;

    algs = (unsigned *) (p + cmd->offset);

    if (*algs != 0) {
        return "is duplicate";
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {
        set = hoop_jwt_algs_parse((char *) value[i].data, value[i].len);

        if (set == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "unsupported algorithm \"%V\" in \"%V\":"
                               " RS256, RS384, RS512, PS256, PS384, PS512,"
                               " ES256, ES384, ES512 and EdDSA are",
                               &value[i], &cmd->name);
            return NGX_CONF_ERROR;
        }

        *algs |= set;
    }

    return NGX_CONF_OK;
}


char *
ngx_hoop_oidc_set_token_cache(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    char  *p = conf;

    ngx_int_t              n;
    ngx_str_t             *value;
    ngx_hoop_oidc_conf_t  *oidc;

    oidc = (ngx_hoop_oidc_conf_t *) (p + cmd->offset);

    if (oidc->cache_size != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        oidc->cache_size = 0;
        return NGX_CONF_OK;
    }

    n = ngx_atoi(value[1].data, value[1].len);

    if (n == NGX_ERROR || n == 0) {
        return "has an invalid number of entries";
    }

    oidc->cache_size = n;

    if (cf->args->nelts == 3) {
        oidc->cache_ttl = ngx_parse_time(&value[2], 1);

        if (oidc->cache_ttl == (time_t) NGX_ERROR || oidc->cache_ttl == 0) {
            return "has an invalid time";
        }
    }

    return NGX_CONF_OK;
}


ngx_int_t
ngx_hoop_oidc_init_process(ngx_hoop_oidc_conf_t *oidc, ngx_cycle_t *cycle)
{
    if (oidc->keys == NULL) {
        return NGX_OK;
    }

    return ngx_hoop_oidc_keys_init_process(oidc->keys, cycle);
}


ngx_int_t
ngx_hoop_oidc_verify(ngx_hoop_oidc_conf_t *oidc, ngx_str_t *token,
    ngx_pool_t *pool, ngx_log_t *log, hoop_identity_t *identity,
    hoop_jwt_status_t *status, ngx_hoop_oidc_wait_t *wait)
{
    hoop_jwks_t            *jwks;
    char                   *buf;
    time_t                  now;
    hoop_jwt_t              jwt;
    hoop_identity_t         id;
    const hoop_jwk_t       *key;
    hoop_jwt_policy_t       policy;
    const hoop_identity_t  *cached;

    now = ngx_time();

    cached = ngx_hoop_token_cache_get(oidc->cache, token, now);

    if (cached != NULL) {
        *status = HOOP_JWT_OK;
        return ngx_hoop_oidc_identity_dup(pool, identity, cached);
    }

    policy.issuer = oidc->issuer_z;
    policy.audience = oidc->audience_z;
    policy.groups_claim = oidc->groups_claim_z;
    policy.algs = oidc->algs;
    policy.max_len = oidc->max_token_size;
    policy.now = now;
    policy.leeway = oidc->leeway;

    *status = hoop_jwt_decode(&jwt, (char *) token->data, token->len,
                              &policy);

    if (*status != HOOP_JWT_OK) {
        return NGX_DECLINED;
    }

    jwks = oidc->keys ? ngx_hoop_oidc_keys_get(oidc->keys) : oidc->jwks;
    key = jwks ? hoop_jwks_find(jwks, jwt.kid, jwt.kid_len, jwt.alg) : NULL;

    if (key == NULL && oidc->keys != NULL && wait != NULL
        && ngx_hoop_oidc_wait_keys(oidc->keys, wait) == NGX_AGAIN)
    {
        hoop_jwt_free(&jwt);
        return NGX_AGAIN;
    }

    /* only now: a request polling for keys must not grow its pool */

    buf = ngx_pnalloc(pool, token->len);
    if (buf == NULL) {
        hoop_jwt_free(&jwt);
        return NGX_ERROR;
    }

    *status = hoop_jwt_verify(&jwt, key, &policy, &id, buf, token->len);

    hoop_jwt_free(&jwt);

    if (*status == HOOP_JWT_INTERNAL) {
        return NGX_ERROR;
    }

    if (*status != HOOP_JWT_OK) {
        return NGX_DECLINED;
    }

    ngx_hoop_token_cache_put(oidc->cache, token, &id, now, log);

    *identity = id;

    return NGX_OK;
}


/*
 * An unknown key: the first time, ask for new keys (at most one fetch per
 * refetch interval, whoever asks); then wait while a fetch runs and the
 * keys have not changed.  Once they have, or nothing is fetching, the
 * answer is final.
 */
static ngx_int_t
ngx_hoop_oidc_wait_keys(ngx_hoop_oidc_keys_t *ks, ngx_hoop_oidc_wait_t *wait)
{
    if (!wait->asked) {
        wait->asked = 1;
        wait->generation = ks->generation;

        return ngx_hoop_oidc_keys_refetch(ks);
    }

    if (ks->generation == wait->generation && ngx_hoop_oidc_keys_fetching(ks))
    {
        return NGX_AGAIN;
    }

    return NGX_DECLINED;
}


static char *
ngx_hoop_oidc_load_jwks_file(ngx_conf_t *cf, ngx_hoop_oidc_conf_t *oidc)
{
    char                 err[128];
    ngx_str_t            doc;
    ngx_pool_cleanup_t  *cln;
    static ngx_str_t     directive = ngx_string("hoop_oidc_jwks_file");

    if (ngx_hoop_conf_file_read(cf, &oidc->jwks_file, HOOP_JWKS_MAX_SIZE, 0,
                                &directive, &doc)
        != NGX_CONF_OK)
    {
        return NGX_CONF_ERROR;
    }

    oidc->jwks = ngx_pcalloc(cf->pool, sizeof(hoop_jwks_t));
    if (oidc->jwks == NULL) {
        return NGX_CONF_ERROR;
    }

    if (hoop_jwks_load(oidc->jwks, (char *) doc.data, doc.len, err,
                       sizeof(err))
        != 0)
    {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"hoop_oidc_jwks_file\" \"%V\": %s",
                      &oidc->jwks_file, err);
        return NGX_CONF_ERROR;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        hoop_jwks_clear(oidc->jwks);
        return NGX_CONF_ERROR;
    }

    cln->handler = ngx_hoop_oidc_jwks_cleanup;
    cln->data = oidc->jwks;

    if (oidc->jwks->skipped) {
        ngx_log_error(NGX_LOG_NOTICE, cf->log, 0,
                      "\"hoop_oidc_jwks_file\" \"%V\": %uz keys not usable"
                      " for signatures were skipped",
                      &oidc->jwks_file, oidc->jwks->skipped);
    }

    return NGX_CONF_OK;
}


static void
ngx_hoop_oidc_jwks_cleanup(void *data)
{
    hoop_jwks_clear(data);
}


static ngx_int_t
ngx_hoop_oidc_identity_dup(ngx_pool_t *pool, hoop_identity_t *dst,
    const hoop_identity_t *src)
{
    char  *buf;

    buf = ngx_pnalloc(pool, hoop_identity_size(src) + 1);
    if (buf == NULL) {
        return NGX_ERROR;
    }

    hoop_identity_copy(dst, src, buf);

    return NGX_OK;
}
