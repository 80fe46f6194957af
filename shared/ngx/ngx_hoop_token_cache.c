/*
 * Copyright (C) nginx-hoop authors
 */

#include <ngx_config.h>
#include <ngx_core.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "ngx_hoop_token_cache.h"


/*
 * Entries are keyed by SHA-256 of the token, not the token: the tree never
 * holds a credential, and comparing digests leaks nothing about a token
 * through timing.
 */

typedef struct {
    ngx_rbtree_node_t   node;          /* key: first bytes of the digest */
    ngx_queue_t         queue;
    time_t              expires;
    u_char              digest[SHA256_DIGEST_LENGTH];
    hoop_identity_t     identity;
    char                strings[1];
} ngx_hoop_token_cache_entry_t;


static void ngx_hoop_token_cache_cleanup(void *data);
static void ngx_hoop_token_cache_insert_value(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel);
static ngx_hoop_token_cache_entry_t *ngx_hoop_token_cache_find(
    ngx_hoop_token_cache_t *tc, u_char *digest);
static void ngx_hoop_token_cache_remove(ngx_hoop_token_cache_t *tc,
    ngx_hoop_token_cache_entry_t *e);
static ngx_rbtree_key_t ngx_hoop_token_cache_key(u_char *digest);


ngx_hoop_token_cache_t *
ngx_hoop_token_cache_create(ngx_conf_t *cf, ngx_uint_t max, time_t ttl)
{
    ngx_pool_cleanup_t      *cln;
    ngx_hoop_token_cache_t  *tc;

    tc = ngx_pcalloc(cf->pool, sizeof(ngx_hoop_token_cache_t));
    if (tc == NULL) {
        return NULL;
    }

    ngx_rbtree_init(&tc->rbtree, &tc->sentinel,
                    ngx_hoop_token_cache_insert_value);
    ngx_queue_init(&tc->lru);
    tc->max = max;
    tc->ttl = ttl;

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        return NULL;
    }

    cln->handler = ngx_hoop_token_cache_cleanup;
    cln->data = tc;

    /* SHA256() would look the algorithm up again on every call */

    tc->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    if (tc->sha256 == NULL) {
        return NULL;
    }

    return tc;
}


const hoop_identity_t *
ngx_hoop_token_cache_get(ngx_hoop_token_cache_t *tc, ngx_str_t *token,
    time_t now)
{
    u_char                         digest[SHA256_DIGEST_LENGTH];
    ngx_hoop_token_cache_entry_t  *e;

    if (tc->count == 0) {
        return NULL;
    }

    if (EVP_Digest(token->data, token->len, digest, NULL, tc->sha256, NULL)
        != 1)
    {
        return NULL;
    }

    e = ngx_hoop_token_cache_find(tc, digest);

    if (e == NULL) {
        return NULL;
    }

    if (e->expires <= now) {
        ngx_hoop_token_cache_remove(tc, e);
        return NULL;
    }

    ngx_queue_remove(&e->queue);
    ngx_queue_insert_head(&tc->lru, &e->queue);

    return &e->identity;
}


void
ngx_hoop_token_cache_put(ngx_hoop_token_cache_t *tc, ngx_str_t *token,
    const hoop_identity_t *identity, time_t now, ngx_log_t *log)
{
    u_char                         digest[SHA256_DIGEST_LENGTH];
    time_t                         expires;
    ngx_queue_t                   *q;
    ngx_hoop_token_cache_entry_t  *e;

    if (tc->max == 0) {
        return;
    }

    expires = now + tc->ttl;

    if (identity->exp < expires) {
        expires = (time_t) identity->exp;
    }

    if (expires <= now) {
        return;
    }

    if (EVP_Digest(token->data, token->len, digest, NULL, tc->sha256, NULL)
        != 1)
    {
        return;
    }

    e = ngx_hoop_token_cache_find(tc, digest);

    if (e != NULL) {
        ngx_hoop_token_cache_remove(tc, e);
    }

    if (tc->count == tc->max) {
        q = ngx_queue_last(&tc->lru);
        ngx_hoop_token_cache_remove(tc,
            ngx_queue_data(q, ngx_hoop_token_cache_entry_t, queue));
    }

    e = ngx_alloc(sizeof(ngx_hoop_token_cache_entry_t)
                  + hoop_identity_size(identity), log);
    if (e == NULL) {
        return;
    }

    ngx_memcpy(e->digest, digest, SHA256_DIGEST_LENGTH);
    e->node.key = ngx_hoop_token_cache_key(digest);
    e->expires = expires;
    hoop_identity_copy(&e->identity, identity, e->strings);

    ngx_rbtree_insert(&tc->rbtree, &e->node);
    ngx_queue_insert_head(&tc->lru, &e->queue);
    tc->count++;
}


static ngx_hoop_token_cache_entry_t *
ngx_hoop_token_cache_find(ngx_hoop_token_cache_t *tc, u_char *digest)
{
    ngx_int_t                      rc;
    ngx_rbtree_key_t               key;
    ngx_rbtree_node_t             *node, *sentinel;
    ngx_hoop_token_cache_entry_t  *e;

    key = ngx_hoop_token_cache_key(digest);
    node = tc->rbtree.root;
    sentinel = tc->rbtree.sentinel;

    while (node != sentinel) {

        if (key != node->key) {
            node = (key < node->key) ? node->left : node->right;
            continue;
        }

        e = (ngx_hoop_token_cache_entry_t *) node;
        rc = ngx_memcmp(digest, e->digest, SHA256_DIGEST_LENGTH);

        if (rc == 0) {
            return e;
        }

        node = (rc < 0) ? node->left : node->right;
    }

    return NULL;
}


static void
ngx_hoop_token_cache_insert_value(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel)
{
    ngx_rbtree_node_t             **p;
    ngx_hoop_token_cache_entry_t   *e, *t;

    e = (ngx_hoop_token_cache_entry_t *) node;

    for ( ;; ) {

        if (node->key != temp->key) {
            p = (node->key < temp->key) ? &temp->left : &temp->right;

        } else {
            t = (ngx_hoop_token_cache_entry_t *) temp;
            p = (ngx_memcmp(e->digest, t->digest, SHA256_DIGEST_LENGTH) < 0)
                ? &temp->left : &temp->right;
        }

        if (*p == sentinel) {
            break;
        }

        temp = *p;
    }

    *p = node;
    node->parent = temp;
    node->left = sentinel;
    node->right = sentinel;
    ngx_rbt_red(node);
}


static void
ngx_hoop_token_cache_remove(ngx_hoop_token_cache_t *tc,
    ngx_hoop_token_cache_entry_t *e)
{
    ngx_rbtree_delete(&tc->rbtree, &e->node);
    ngx_queue_remove(&e->queue);
    tc->count--;
    ngx_free(e);
}


static ngx_rbtree_key_t
ngx_hoop_token_cache_key(u_char *digest)
{
    ngx_rbtree_key_t  key;

    ngx_memcpy(&key, digest, sizeof(ngx_rbtree_key_t));

    return key;
}


static void
ngx_hoop_token_cache_cleanup(void *data)
{
    ngx_hoop_token_cache_t  *tc = data;

    ngx_queue_t  *q;

    while (!ngx_queue_empty(&tc->lru)) {
        q = ngx_queue_head(&tc->lru);
        ngx_hoop_token_cache_remove(tc,
            ngx_queue_data(q, ngx_hoop_token_cache_entry_t, queue));
    }

    EVP_MD_free(tc->sha256);
}
