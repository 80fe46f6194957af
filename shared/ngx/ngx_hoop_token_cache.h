/*
 * Copyright (C) nginx-hoop authors
 *
 * The verified-token cache: a busy agent sends the same access token with
 * every request, and a signature check costs far more than the request.
 * Per worker (no lock on the hot path), bounded in entries, least recently
 * used evicted first; an entry lives at most ttl and never past the
 * token's exp.  Entries are found by the SHA-256 of the token.
 */

#ifndef NGX_HOOP_TOKEN_CACHE_H
#define NGX_HOOP_TOKEN_CACHE_H

#include <ngx_config.h>
#include <ngx_core.h>

#include "hoop_identity.h"


typedef struct {
    ngx_rbtree_t        rbtree;
    ngx_rbtree_node_t   sentinel;
    ngx_queue_t         lru;           /* most recently used first */
    ngx_uint_t          count;
    ngx_uint_t          max;
    time_t              ttl;
    void               *sha256;        /* EVP_MD, fetched once */
} ngx_hoop_token_cache_t;


/* Created at configuration time; entries are allocated in the workers. */
ngx_hoop_token_cache_t *ngx_hoop_token_cache_create(ngx_conf_t *cf,
    ngx_uint_t max, time_t ttl);

/* The cached identity of token, valid until the next insert. */
const hoop_identity_t *ngx_hoop_token_cache_get(ngx_hoop_token_cache_t *tc,
    ngx_str_t *token, time_t now);

void ngx_hoop_token_cache_put(ngx_hoop_token_cache_t *tc, ngx_str_t *token,
    const hoop_identity_t *identity, time_t now, ngx_log_t *log);

#endif /* NGX_HOOP_TOKEN_CACHE_H */
