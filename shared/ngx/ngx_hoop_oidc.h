/*
 * Copyright (C) nginx-hoop authors
 *
 * OIDC access-token verification for both subsystems: the hoop_oidc_*
 * directives (same syntax in http{} and stream{}), the key set, the
 * verified-token cache, and one call that turns a token into an identity.
 */

#ifndef NGX_HOOP_OIDC_H
#define NGX_HOOP_OIDC_H

#include <ngx_config.h>
#include <ngx_core.h>

#include "hoop_identity.h"
#include "hoop_jwk.h"
#include "hoop_jwt.h"
#include "ngx_hoop_oidc_keys.h"
#include "ngx_hoop_token_cache.h"


typedef struct {
    ngx_str_t                  issuer;
    ngx_str_t                  audience;
    ngx_str_t                  groups_claim;
    ngx_str_t                  jwks_file;
    ngx_str_t                  jwks_uri;
    ngx_str_t                  trusted_certificate;
    time_t                     refresh;
    time_t                     refetch_interval;
    ngx_msec_t                 fetch_timeout;
    time_t                     leeway;
    size_t                     max_token_size;
    ngx_uint_t                 cache_size;
    time_t                     cache_ttl;

    unsigned                   algs;            /* 0: not set */

    /* derived at configuration time */
    char                      *issuer_z;        /* NUL-terminated copies */
    char                      *audience_z;
    char                      *groups_claim_z;
    hoop_jwks_t               *jwks;            /* from jwks_file */
    ngx_hoop_oidc_keys_t      *keys;            /* by discovery */
    ngx_hoop_token_cache_t    *cache;
    ngx_uint_t                 configured;      /* unsigned:1 */
} ngx_hoop_oidc_conf_t;


/*
 * The directives, for a module's command table: conf_type is
 * NGX_HTTP_MAIN_CONF or NGX_STREAM_MAIN_CONF, conf_offset the matching
 * *_MAIN_CONF_OFFSET, and off the offset of an ngx_hoop_oidc_conf_t in
 * that main configuration.
 */
#define NGX_HOOP_OIDC_COMMANDS(conf_type, conf_offset, off)                  \
                                                                             \
    { ngx_string("hoop_oidc_issuer"),                                        \
      conf_type|NGX_CONF_TAKE1,                                              \
      ngx_conf_set_str_slot,                                                 \
      conf_offset,                                                           \
      (off) + offsetof(ngx_hoop_oidc_conf_t, issuer),                        \
      NULL },                                                                \
                                                                             \
    { ngx_string("hoop_oidc_audience"),                                      \
      conf_type|NGX_CONF_TAKE1,                                              \
      ngx_conf_set_str_slot,                                                 \
      conf_offset,                                                           \
      (off) + offsetof(ngx_hoop_oidc_conf_t, audience),                      \
      NULL },                                                                \
                                                                             \
    { ngx_string("hoop_oidc_groups_claim"),                                  \
      conf_type|NGX_CONF_TAKE1,                                              \
      ngx_conf_set_str_slot,                                                 \
      conf_offset,                                                           \
      (off) + offsetof(ngx_hoop_oidc_conf_t, groups_claim),                  \
      NULL },                                                                \
                                                                             \
    { ngx_string("hoop_oidc_jwks_file"),                                     \
      conf_type|NGX_CONF_TAKE1,                                              \
      ngx_conf_set_str_slot,                                                 \
      conf_offset,                                                           \
      (off) + offsetof(ngx_hoop_oidc_conf_t, jwks_file),                     \
      NULL },                                                                \
                                                                             \
    { ngx_string("hoop_oidc_jwks_uri"),                                      \
      conf_type|NGX_CONF_TAKE1,                                              \
      ngx_conf_set_str_slot,                                                 \
      conf_offset,                                                           \
      (off) + offsetof(ngx_hoop_oidc_conf_t, jwks_uri),                      \
      NULL },                                                                \
                                                                             \
    { ngx_string("hoop_oidc_ssl_trusted_certificate"),                       \
      conf_type|NGX_CONF_TAKE1,                                              \
      ngx_conf_set_str_slot,                                                 \
      conf_offset,                                                           \
      (off) + offsetof(ngx_hoop_oidc_conf_t, trusted_certificate),           \
      NULL },                                                                \
                                                                             \
    { ngx_string("hoop_oidc_refresh"),                                       \
      conf_type|NGX_CONF_TAKE1,                                              \
      ngx_conf_set_sec_slot,                                                 \
      conf_offset,                                                           \
      (off) + offsetof(ngx_hoop_oidc_conf_t, refresh),                       \
      NULL },                                                                \
                                                                             \
    { ngx_string("hoop_oidc_refetch_interval"),                              \
      conf_type|NGX_CONF_TAKE1,                                              \
      ngx_conf_set_sec_slot,                                                 \
      conf_offset,                                                           \
      (off) + offsetof(ngx_hoop_oidc_conf_t, refetch_interval),              \
      NULL },                                                                \
                                                                             \
    { ngx_string("hoop_oidc_fetch_timeout"),                                 \
      conf_type|NGX_CONF_TAKE1,                                              \
      ngx_conf_set_msec_slot,                                                \
      conf_offset,                                                           \
      (off) + offsetof(ngx_hoop_oidc_conf_t, fetch_timeout),                 \
      NULL },                                                                \
                                                                             \
    { ngx_string("hoop_oidc_algorithms"),                                    \
      conf_type|NGX_CONF_1MORE,                                              \
      ngx_hoop_oidc_set_algorithms,                                          \
      conf_offset,                                                           \
      (off) + offsetof(ngx_hoop_oidc_conf_t, algs),                    \
      NULL },                                                                \
                                                                             \
    { ngx_string("hoop_oidc_leeway"),                                        \
      conf_type|NGX_CONF_TAKE1,                                              \
      ngx_conf_set_sec_slot,                                                 \
      conf_offset,                                                           \
      (off) + offsetof(ngx_hoop_oidc_conf_t, leeway),                        \
      NULL },                                                                \
                                                                             \
    { ngx_string("hoop_oidc_max_token_size"),                                \
      conf_type|NGX_CONF_TAKE1,                                              \
      ngx_conf_set_size_slot,                                                \
      conf_offset,                                                           \
      (off) + offsetof(ngx_hoop_oidc_conf_t, max_token_size),                \
      NULL },                                                                \
                                                                             \
    { ngx_string("hoop_oidc_token_cache"),                                   \
      conf_type|NGX_CONF_TAKE12,                                             \
      ngx_hoop_oidc_set_token_cache,                                         \
      conf_offset,                                                           \
      (off),                                                                 \
      NULL }


void ngx_hoop_oidc_conf_create(ngx_hoop_oidc_conf_t *oidc);

/*
 * Applies defaults and loads the key set.  With required_by (what needs
 * identity, quoted as in a message: "\"hoop_auth\""), a missing issuer is
 * a configuration error naming it.
 */
char *ngx_hoop_oidc_conf_init(ngx_conf_t *cf, ngx_hoop_oidc_conf_t *oidc,
    const char *required_by, const char *zone_name, void *tag);

/* Starts this worker's key refresh (discovery only). */
ngx_int_t ngx_hoop_oidc_init_process(ngx_hoop_oidc_conf_t *oidc,
    ngx_cycle_t *cycle);

char *ngx_hoop_oidc_set_algorithms(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_hoop_oidc_set_token_cache(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

/*
 * Verifies token and fills identity (strings allocated in pool).  Returns
 * NGX_OK, NGX_DECLINED with *status saying why the token is refused, or
 * NGX_ERROR.  With discovery, a token signed by a key not yet known may
 * get NGX_AGAIN: keys are being fetched; call again (same wait) a little
 * later.  NGX_HOOP_OIDC_POLL is how much later.
 */
#define NGX_HOOP_OIDC_POLL  50

ngx_int_t ngx_hoop_oidc_verify(ngx_hoop_oidc_conf_t *oidc, ngx_str_t *token,
    ngx_pool_t *pool, ngx_log_t *log, hoop_identity_t *identity,
    hoop_jwt_status_t *status, ngx_hoop_oidc_wait_t *wait);

#endif /* NGX_HOOP_OIDC_H */
