/*
 * Copyright (C) nginx-hoop authors
 *
 * The identity provider's keys, found by OIDC discovery and shared by all
 * workers: the key set lives in shared memory (so it survives reloads and
 * every worker sees a refresh at once), one worker at a time fetches it
 * (single flight, across workers), on a timer and, at most once per
 * interval, when a token names a key nobody has.  Each worker keeps its
 * own parsed copy and re-reads it only when the generation changes.
 * While the provider is unreachable the cached keys stay in use and the
 * outage is logged once.
 */

#ifndef NGX_HOOP_OIDC_KEYS_H
#define NGX_HOOP_OIDC_KEYS_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "hoop_jwk.h"
#include "ngx_hoop_http_fetch.h"


typedef struct ngx_hoop_oidc_shm_s  ngx_hoop_oidc_shm_t;


typedef struct {
    ngx_shm_zone_t            *zone;
    ngx_slab_pool_t           *shpool;
    ngx_hoop_oidc_shm_t       *sh;
    u_char                     owner[32];
    char                      *issuer;           /* NUL-terminated */
    ngx_hoop_http_target_t     discovery;
    ngx_hoop_http_target_t     jwks;             /* fixed or discovered */
    ngx_uint_t                 jwks_fixed;       /* hoop_oidc_jwks_uri */
    ngx_pool_t                *jwks_pool;        /* of a discovered jwks */
    ngx_ssl_t                 *ssl;
    time_t                     refresh;
    time_t                     refetch_interval;
    ngx_msec_t                 fetch_timeout;

    /* this worker */
    hoop_jwks_t               *keys;
    ngx_uint_t                 generation;
    ngx_uint_t                 fetching;         /* unsigned:1 */
    ngx_event_t                refresh_event;
    ngx_log_t                 *log;
} ngx_hoop_oidc_keys_t;


/* What a request that waits for keys remembers between its attempts. */
typedef struct {
    ngx_uint_t                 generation;
    ngx_uint_t                 asked;            /* unsigned:1 */
} ngx_hoop_oidc_wait_t;


ngx_hoop_oidc_keys_t *ngx_hoop_oidc_keys_create(ngx_conf_t *cf,
    ngx_str_t *issuer, ngx_str_t *jwks_uri, ngx_str_t *trusted,
    ngx_str_t *zone_name, void *tag);

ngx_int_t ngx_hoop_oidc_keys_init_process(ngx_hoop_oidc_keys_t *ks,
    ngx_cycle_t *cycle);

/* This worker's current key set (NULL before the first fetch). */
hoop_jwks_t *ngx_hoop_oidc_keys_get(ngx_hoop_oidc_keys_t *ks);

/*
 * A token named a key we do not have.  NGX_AGAIN: new keys may come
 * (a fetch runs, started now or earlier); poll with ngx_hoop_oidc_keys_
 * fetching().  NGX_DECLINED: no fetch now (one ran within the interval).
 */
ngx_int_t ngx_hoop_oidc_keys_refetch(ngx_hoop_oidc_keys_t *ks);

ngx_uint_t ngx_hoop_oidc_keys_fetching(ngx_hoop_oidc_keys_t *ks);

#endif /* NGX_HOOP_OIDC_KEYS_H */
