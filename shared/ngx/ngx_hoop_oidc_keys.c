/*
 * Copyright (C) nginx-hoop authors
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include <openssl/evp.h>

#include "hoop_oidc_discovery.h"
#include "ngx_hoop_conf_file.h"
#include "ngx_hoop_oidc_keys.h"


struct ngx_hoop_oidc_shm_s {
    u_char          owner[32];        /* SHA-256 of issuer and jwks_uri */
    ngx_uint_t      generation;       /* bumped by every new key set */
    time_t          fetched;          /* last success */
    time_t          attempted;        /* last start */
    time_t          refetched;        /* last start for an unknown key */
    ngx_pid_t       fetcher;          /* worker fetching now, 0: none */
    time_t          deadline;         /* its fetch is abandoned after */
    ngx_uint_t      down;             /* the outage has been logged */
    size_t          len;
    u_char          jwks[HOOP_JWKS_MAX_SIZE];
};


static ngx_int_t ngx_hoop_oidc_keys_init_zone(ngx_shm_zone_t *zone,
    void *data);
static void ngx_hoop_oidc_keys_cleanup(void *data);
static void ngx_hoop_oidc_keys_timer(ngx_event_t *ev);
static ngx_int_t ngx_hoop_oidc_keys_claim(ngx_hoop_oidc_keys_t *ks,
    ngx_uint_t forced);
static void ngx_hoop_oidc_keys_start(ngx_hoop_oidc_keys_t *ks);
static void ngx_hoop_oidc_keys_discovered(void *data, ngx_int_t rc,
    ngx_uint_t status, ngx_str_t *body, const char *reason);
static char *ngx_hoop_oidc_keys_jwks_target(ngx_hoop_oidc_keys_t *ks,
    char *uri);
static void ngx_hoop_oidc_keys_fetch_jwks(ngx_hoop_oidc_keys_t *ks);
static void ngx_hoop_oidc_keys_fetched(void *data, ngx_int_t rc,
    ngx_uint_t status, ngx_str_t *body, const char *reason);
static void ngx_hoop_oidc_keys_failed(ngx_hoop_oidc_keys_t *ks,
    const char *what, const char *reason);


ngx_hoop_oidc_keys_t *
ngx_hoop_oidc_keys_create(ngx_conf_t *cf, ngx_str_t *issuer,
    ngx_str_t *jwks_uri, ngx_str_t *trusted, ngx_str_t *zone_name, void *tag)
{
    char                  *err;
    u_char                 url[2048];
    size_t                 n;
    ngx_str_t              durl;
    EVP_MD_CTX            *md;
    ngx_pool_cleanup_t    *cln;
    ngx_hoop_oidc_keys_t  *ks;

    ks = ngx_pcalloc(cf->pool, sizeof(ngx_hoop_oidc_keys_t));
    if (ks == NULL) {
        return NULL;
    }

    ks->issuer = ngx_hoop_pstrz(cf->pool, issuer);
    if (ks->issuer == NULL) {
        return NULL;
    }

    n = hoop_oidc_discovery_url(ks->issuer, (char *) url, sizeof(url));

    if (n == 0) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"hoop_oidc_issuer\" \"%V\" is too long", issuer);
        return NULL;
    }

    durl.data = ngx_pstrdup(cf->pool, &(ngx_str_t) { n, url });
    durl.len = n;

    if (durl.data == NULL) {
        return NULL;
    }

    /* the provider's address is resolved now, as proxy_pass does */

    err = ngx_hoop_http_target_parse(cf->pool, &durl, 1, &ks->discovery);

    if (err != NULL) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"hoop_oidc_issuer\" \"%V\" %s", issuer, err);
        return NULL;
    }

    if (jwks_uri->len) {
        err = ngx_hoop_http_target_parse(cf->pool, jwks_uri, 1, &ks->jwks);

        if (err != NULL) {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "\"hoop_oidc_jwks_uri\" \"%V\" %s", jwks_uri, err);
            return NULL;
        }

        ks->jwks_fixed = 1;
    }

    ks->ssl = ngx_hoop_http_client_ssl(cf, trusted);
    if (ks->ssl == NULL) {
        return NULL;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        return NULL;
    }

    cln->handler = ngx_hoop_oidc_keys_cleanup;
    cln->data = ks;

    ks->zone = ngx_shared_memory_add(cf, zone_name,
                                     sizeof(ngx_hoop_oidc_shm_t) + 65536,
                                     tag);
    if (ks->zone == NULL) {
        return NULL;
    }

    if (ks->zone->data) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "shared memory zone \"%V\" is already in use",
                      zone_name);
        return NULL;
    }

    ks->zone->init = ngx_hoop_oidc_keys_init_zone;
    ks->zone->data = ks;

    /* whose keys the zone holds: a reload to another provider drops them */

    md = EVP_MD_CTX_new();

    if (md == NULL
        || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1
        || EVP_DigestUpdate(md, issuer->data, issuer->len) != 1
        || EVP_DigestUpdate(md, "\n", 1) != 1
        || EVP_DigestUpdate(md, jwks_uri->data, jwks_uri->len) != 1
        || EVP_DigestFinal_ex(md, ks->owner, NULL) != 1)
    {
        EVP_MD_CTX_free(md);
        return NULL;
    }

    EVP_MD_CTX_free(md);

    return ks;
}


/* a reload keeps the zone, and with it the keys fetched so far */
static ngx_int_t
ngx_hoop_oidc_keys_init_zone(ngx_shm_zone_t *zone, void *data)
{
    ngx_hoop_oidc_keys_t  *oks = data;

    ngx_hoop_oidc_keys_t  *ks;

    ks = zone->data;
    ks->shpool = (ngx_slab_pool_t *) zone->shm.addr;

    if (oks || zone->shm.exists) {
        ks->sh = oks ? oks->sh : ks->shpool->data;

        if (ngx_memcmp(ks->sh->owner, ks->owner, sizeof(ks->owner)) != 0) {
            ngx_memcpy(ks->sh->owner, ks->owner, sizeof(ks->owner));
            ks->sh->len = 0;
            ks->sh->fetched = 0;
            ks->sh->attempted = 0;
            ks->sh->refetched = 0;
            ks->sh->fetcher = 0;
            ks->sh->down = 0;
            ks->sh->generation++;
        }

        return NGX_OK;
    }

    ks->sh = ngx_slab_calloc(ks->shpool, sizeof(ngx_hoop_oidc_shm_t));
    if (ks->sh == NULL) {
        return NGX_ERROR;
    }

    ks->shpool->data = ks->sh;
    ngx_memcpy(ks->sh->owner, ks->owner, sizeof(ks->owner));

    return NGX_OK;
}


ngx_int_t
ngx_hoop_oidc_keys_init_process(ngx_hoop_oidc_keys_t *ks, ngx_cycle_t *cycle)
{
    /* not the cache manager or loader: they would fetch, and die mid-way */

    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return NGX_OK;
    }

    ks->log = cycle->log;

    ks->refresh_event.handler = ngx_hoop_oidc_keys_timer;
    ks->refresh_event.data = ks;
    ks->refresh_event.log = cycle->log;
    ks->refresh_event.cancelable = 1;

    /* the first worker to get here fetches; the others find it running */

    ngx_add_timer(&ks->refresh_event, 1);

    return NGX_OK;
}


hoop_jwks_t *
ngx_hoop_oidc_keys_get(ngx_hoop_oidc_keys_t *ks)
{
    char         err[128];
    u_char      *copy;
    size_t       len;
    ngx_uint_t   generation;
    hoop_jwks_t *keys;

    /* the common case costs one read of a word of shared memory */

    if (ks->sh->generation == ks->generation) {
        return ks->keys;
    }

    copy = ngx_alloc(HOOP_JWKS_MAX_SIZE, ks->log);
    keys = ngx_calloc(sizeof(hoop_jwks_t), ks->log);

    if (copy == NULL || keys == NULL) {
        ngx_free(copy);
        ngx_free(keys);
        return ks->keys;
    }

    ngx_shmtx_lock(&ks->shpool->mutex);

    generation = ks->sh->generation;
    len = ks->sh->len;
    ngx_memcpy(copy, ks->sh->jwks, len);

    ngx_shmtx_unlock(&ks->shpool->mutex);

    if (hoop_jwks_load(keys, (char *) copy, len, err, sizeof(err)) != 0) {

        /* it was checked before it was stored: this cannot happen */

        ngx_log_error(NGX_LOG_ALERT, ks->log, 0,
                      "hoop oidc: shared key set unreadable: %s", err);
        ngx_free(copy);
        ngx_free(keys);
        ks->generation = generation;
        return ks->keys;
    }

    ngx_free(copy);

    if (ks->keys) {
        hoop_jwks_clear(ks->keys);
        ngx_free(ks->keys);
    }

    ks->keys = keys;
    ks->generation = generation;

    return keys;
}


ngx_int_t
ngx_hoop_oidc_keys_refetch(ngx_hoop_oidc_keys_t *ks)
{
    ngx_int_t  rc;

    rc = ngx_hoop_oidc_keys_claim(ks, 1);

    if (rc == NGX_OK) {
        ngx_hoop_oidc_keys_start(ks);
        return NGX_AGAIN;
    }

    return ngx_hoop_oidc_keys_fetching(ks) ? NGX_AGAIN : NGX_DECLINED;
}


ngx_uint_t
ngx_hoop_oidc_keys_fetching(ngx_hoop_oidc_keys_t *ks)
{
    ngx_uint_t  fetching;

    ngx_shmtx_lock(&ks->shpool->mutex);

    fetching = ks->sh->fetcher != 0 && ngx_time() <= ks->sh->deadline;

    ngx_shmtx_unlock(&ks->shpool->mutex);

    return fetching;
}


static void
ngx_hoop_oidc_keys_timer(ngx_event_t *ev)
{
    time_t                 next;
    ngx_hoop_oidc_keys_t  *ks = ev->data;

    if (ngx_exiting || ngx_terminate || ngx_quit) {
        return;
    }

    if (ngx_hoop_oidc_keys_claim(ks, 0) == NGX_OK) {
        ngx_hoop_oidc_keys_start(ks);
    }

    /* look again when the keys are due, sooner while the IdP is down */

    next = ks->sh->down || ks->sh->fetched == 0
           ? ks->refetch_interval : ks->refresh;

    ngx_add_timer(ev, (ngx_msec_t) next * 1000 + ngx_random() % 1000);
}


/*
 * Single flight across workers: NGX_OK when this worker may fetch now.
 * A fetch is due when the keys are older than the refresh interval, or
 * the provider is down and the last attempt older than the refetch
 * interval; forced by an unknown key, when the last such forced fetch is
 * older than the refetch interval (a stream of tokens with made-up key
 * ids gets one fetch per interval, not one each).
 */
static ngx_int_t
ngx_hoop_oidc_keys_claim(ngx_hoop_oidc_keys_t *ks, ngx_uint_t forced)
{
    time_t                now;
    ngx_int_t             rc;
    ngx_hoop_oidc_shm_t  *sh;

    now = ngx_time();
    sh = ks->sh;
    rc = NGX_DECLINED;

    ngx_shmtx_lock(&ks->shpool->mutex);

    if ((sh->fetcher == 0 || now > sh->deadline)
        && (forced ? now - sh->refetched >= ks->refetch_interval
                   : sh->fetched == 0 || now - sh->fetched >= ks->refresh
                     || (sh->down
                         && now - sh->attempted >= ks->refetch_interval)))
    {
        sh->fetcher = ngx_pid;
        sh->attempted = now;

        if (forced) {
            sh->refetched = now;
        }

        sh->deadline = now + (time_t) (ks->fetch_timeout * 2 / 1000) + 1;
        rc = NGX_OK;
    }

    ngx_shmtx_unlock(&ks->shpool->mutex);

    return rc;
}


static void
ngx_hoop_oidc_keys_start(ngx_hoop_oidc_keys_t *ks)
{
    ks->fetching = 1;

    if (ks->jwks_fixed) {
        ngx_hoop_oidc_keys_fetch_jwks(ks);
        return;
    }

    if (ngx_hoop_http_fetch(&ks->discovery, ks->ssl, ks->fetch_timeout,
                            HOOP_OIDC_DISCOVERY_MAX_SIZE, ks->log,
                            ngx_hoop_oidc_keys_discovered, ks)
        != NGX_OK)
    {
        ngx_hoop_oidc_keys_failed(ks, "discovery", "cannot connect");
    }
}


static void
ngx_hoop_oidc_keys_discovered(void *data, ngx_int_t rc, ngx_uint_t status,
    ngx_str_t *body, const char *reason)
{
    ngx_hoop_oidc_keys_t *ks = data;

    char   err[128], uri[2048];
    char  *bad;

    if (rc != NGX_OK) {
        ngx_hoop_oidc_keys_failed(ks, "discovery", reason);
        return;
    }

    if (status != 200) {
        ngx_snprintf((u_char *) err, sizeof(err), "HTTP status %ui%Z",
                     status);
        ngx_hoop_oidc_keys_failed(ks, "discovery", err);
        return;
    }

    if (hoop_oidc_discovery_parse((char *) body->data, body->len, ks->issuer,
                                  uri, sizeof(uri), err, sizeof(err))
        != 0)
    {
        ngx_hoop_oidc_keys_failed(ks, "discovery", err);
        return;
    }

    bad = ngx_hoop_oidc_keys_jwks_target(ks, uri);

    if (bad != NULL) {
        ngx_hoop_oidc_keys_failed(ks, "discovery", bad);
        return;
    }

    ngx_hoop_oidc_keys_fetch_jwks(ks);
}


/*
 * The discovered jwks_uri, as a target.  No DNS lookup may happen in a
 * worker, so its host must be the issuer's (the usual case, whose address
 * is known) or an IP address; otherwise hoop_oidc_jwks_uri names it.
 */
static char *
ngx_hoop_oidc_keys_jwks_target(ngx_hoop_oidc_keys_t *ks, char *uri)
{
    char                    *err;
    ngx_str_t                url;
    ngx_pool_t              *pool;
    ngx_hoop_http_target_t   t;

    url.data = (u_char *) uri;
    url.len = ngx_strlen(uri);

    if (ks->jwks_pool && ks->jwks.url.len == url.len
        && ngx_strncmp(ks->jwks.url.data, url.data, url.len) == 0)
    {
        return NULL;
    }

    pool = ngx_create_pool(1024, ks->log);
    if (pool == NULL) {
        return "out of memory";
    }

    url.data = ngx_pstrdup(pool, &url);
    if (url.data == NULL) {
        ngx_destroy_pool(pool);
        return "out of memory";
    }

    err = ngx_hoop_http_target_parse(pool, &url, 0, &t);

    if (err == NULL && t.tls == ks->discovery.tls
        && t.host.len == ks->discovery.host.len
        && ngx_strncasecmp(t.host.data, ks->discovery.host.data, t.host.len)
           == 0)
    {
        t.addrs = ks->discovery.addrs;
        t.naddrs = ks->discovery.naddrs;

    } else if (err == NULL && t.tls == ks->discovery.tls
               && (ngx_inet_addr(t.name.data, t.name.len) != INADDR_NONE))
    {
        err = ngx_hoop_http_target_parse(pool, &url, 1, &t);

    } else if (err == NULL) {
        err = t.tls != ks->discovery.tls
              ? "jwks_uri does not use the issuer's scheme"
              : "jwks_uri is on another host: set hoop_oidc_jwks_uri";
    }

    if (err != NULL) {
        ngx_destroy_pool(pool);
        return err;
    }

    if (ks->jwks_pool) {
        ngx_destroy_pool(ks->jwks_pool);
    }

    ks->jwks_pool = pool;
    ks->jwks = t;

    return NULL;
}


static void
ngx_hoop_oidc_keys_fetch_jwks(ngx_hoop_oidc_keys_t *ks)
{
    if (ngx_hoop_http_fetch(&ks->jwks, ks->ssl, ks->fetch_timeout,
                            HOOP_JWKS_MAX_SIZE, ks->log,
                            ngx_hoop_oidc_keys_fetched, ks)
        != NGX_OK)
    {
        ngx_hoop_oidc_keys_failed(ks, "key set", "cannot connect");
    }
}


static void
ngx_hoop_oidc_keys_fetched(void *data, ngx_int_t rc, ngx_uint_t status,
    ngx_str_t *body, const char *reason)
{
    ngx_hoop_oidc_keys_t *ks = data;

    char                  err[128];
    size_t                nkeys;
    ngx_uint_t            was_down, level;
    hoop_jwks_t          *check;
    ngx_hoop_oidc_shm_t  *sh;

    if (rc != NGX_OK) {
        ngx_hoop_oidc_keys_failed(ks, "key set", reason);
        return;
    }

    if (status != 200) {
        ngx_snprintf((u_char *) err, sizeof(err), "HTTP status %ui%Z",
                     status);
        ngx_hoop_oidc_keys_failed(ks, "key set", err);
        return;
    }

    /* only a key set that loads is shared: a broken one keeps the old */

    check = ngx_calloc(sizeof(hoop_jwks_t), ks->log);
    if (check == NULL) {
        ngx_hoop_oidc_keys_failed(ks, "key set", "out of memory");
        return;
    }

    if (hoop_jwks_load(check, (char *) body->data, body->len, err,
                       sizeof(err))
        != 0)
    {
        ngx_free(check);
        ngx_hoop_oidc_keys_failed(ks, "key set", err);
        return;
    }

    nkeys = check->nkeys;
    hoop_jwks_clear(check);
    ngx_free(check);

    sh = ks->sh;

    ngx_shmtx_lock(&ks->shpool->mutex);

    ngx_memcpy(sh->jwks, body->data, body->len);
    sh->len = body->len;
    sh->generation++;
    sh->fetched = ngx_time();
    was_down = sh->down;
    sh->down = 0;

    /* a fetch that outlived its deadline does not release another's claim */

    if (sh->fetcher == ngx_pid) {
        sh->fetcher = 0;
    }

    ngx_shmtx_unlock(&ks->shpool->mutex);

    ks->fetching = 0;

    level = was_down ? NGX_LOG_NOTICE : NGX_LOG_INFO;

    ngx_log_error(level, ks->log, 0,
                  "hoop oidc: %uz signing keys of \"%s\" fetched from"
                  " \"%V\"%s", nkeys, ks->issuer, &ks->jwks.url,
                  was_down ? ", the identity provider is reachable again"
                           : "");
}


/* Logged once per outage: the next success says it is over. */
static void
ngx_hoop_oidc_keys_failed(ngx_hoop_oidc_keys_t *ks, const char *what,
    const char *reason)
{
    ngx_uint_t  was_down, level;

    ngx_shmtx_lock(&ks->shpool->mutex);

    was_down = ks->sh->down;
    ks->sh->down = 1;

    if (ks->sh->fetcher == ngx_pid) {
        ks->sh->fetcher = 0;
    }

    ngx_shmtx_unlock(&ks->shpool->mutex);

    ks->fetching = 0;

    /* try again soon, not at the next regular refresh */

    if (!ngx_exiting && !ngx_terminate && !ngx_quit) {
        ngx_add_timer(&ks->refresh_event, (ngx_msec_t) ks->refetch_interval
                                          * 1000 + ngx_random() % 1000);
    }

    level = was_down ? NGX_LOG_INFO : NGX_LOG_ERR;

    ngx_log_error(level, ks->log, 0,
                  "hoop oidc: cannot fetch the %s of \"%s\": %s; %s",
                  what, ks->issuer, reason,
                  ks->sh->fetched ? "the cached keys stay in use"
                                  : "no token can be verified until it"
                                    " succeeds");
}


static void
ngx_hoop_oidc_keys_cleanup(void *data)
{
    ngx_hoop_oidc_keys_t *ks = data;

    if (ks->keys) {
        hoop_jwks_clear(ks->keys);
        ngx_free(ks->keys);
        ks->keys = NULL;
    }

    if (ks->jwks_pool) {
        ngx_destroy_pool(ks->jwks_pool);
        ks->jwks_pool = NULL;
    }
}
