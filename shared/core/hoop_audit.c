/*
 * Copyright (C) nginx-hoop authors
 */

#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "hoop_audit.h"


const char  hoop_audit_genesis[HOOP_AUDIT_HASH_LEN + 1] =
    "0000000000000000000000000000000000000000000000000000000000000000";


struct hoop_audit_hasher_s {
    EVP_MD         *md;
    EVP_MD_CTX     *md_ctx;
    EVP_MAC        *mac;
    EVP_MAC_CTX    *mac_ctx;
};


hoop_audit_hasher_t *
hoop_audit_hasher_new(const unsigned char *key, size_t key_len)
{
    OSSL_PARAM            params[2];
    hoop_audit_hasher_t  *h;

    h = calloc(1, sizeof(hoop_audit_hasher_t));
    if (h == NULL) {
        return NULL;
    }

    if (key == NULL) {
        h->md = EVP_MD_fetch(NULL, "SHA256", NULL);
        h->md_ctx = EVP_MD_CTX_new();

        if (h->md == NULL || h->md_ctx == NULL) {
            goto failed;
        }

        return h;
    }

    h->mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    h->mac_ctx = h->mac ? EVP_MAC_CTX_new(h->mac) : NULL;

    params[0] = OSSL_PARAM_construct_utf8_string("digest", (char *) "SHA256",
                                                 0);
    params[1] = OSSL_PARAM_construct_end();

    if (h->mac_ctx == NULL
        || EVP_MAC_init(h->mac_ctx, key, key_len, params) != 1)
    {
        goto failed;
    }

    return h;

failed:

    ERR_clear_error();
    hoop_audit_hasher_free(h);

    return NULL;
}


void
hoop_audit_hasher_free(hoop_audit_hasher_t *h)
{
    if (h == NULL) {
        return;
    }

    EVP_MD_CTX_free(h->md_ctx);
    EVP_MD_free(h->md);
    EVP_MAC_CTX_free(h->mac_ctx);
    EVP_MAC_free(h->mac);
    free(h);
}


int
hoop_audit_hasher_chain(hoop_audit_hasher_t *h, const char *prev,
    const char *event, size_t len, char *out)
{
    int             ok;
    size_t          n;
    unsigned int    dlen;
    unsigned char   digest[EVP_MAX_MD_SIZE];

    if (h->mac_ctx != NULL) {
        /* a NULL key starts over with the key set when it was made */

        ok = EVP_MAC_init(h->mac_ctx, NULL, 0, NULL) == 1
             && EVP_MAC_update(h->mac_ctx, (const unsigned char *) prev,
                               HOOP_AUDIT_HASH_LEN) == 1
             && EVP_MAC_update(h->mac_ctx, (const unsigned char *) "\n",
                               1) == 1
             && EVP_MAC_update(h->mac_ctx, (const unsigned char *) event,
                               len) == 1
             && EVP_MAC_final(h->mac_ctx, digest, &n, sizeof(digest)) == 1;

    } else {
        ok = EVP_DigestInit_ex2(h->md_ctx, h->md, NULL) == 1
             && EVP_DigestUpdate(h->md_ctx, prev, HOOP_AUDIT_HASH_LEN) == 1
             && EVP_DigestUpdate(h->md_ctx, "\n", 1) == 1
             && EVP_DigestUpdate(h->md_ctx, event, len) == 1
             && EVP_DigestFinal_ex(h->md_ctx, digest, &dlen) == 1;

        n = dlen;
    }

    if (!ok || n != 32) {
        ERR_clear_error();
        return -1;
    }

    hoop_audit_hex(digest, 32, out);

    return 0;
}


int
hoop_audit_chain(const char *prev, const char *event, size_t len,
    const unsigned char *key, size_t key_len, char *out)
{
    int                   rc;
    hoop_audit_hasher_t  *h;

    h = hoop_audit_hasher_new(key, key_len);
    if (h == NULL) {
        return -1;
    }

    rc = hoop_audit_hasher_chain(h, prev, event, len, out);

    hoop_audit_hasher_free(h);

    return rc;
}


static int
hoop_audit_stream_id_part(const char **p, const char *end,
    unsigned long long *v)
{
    const char          *start;
    unsigned long long   d;

    start = *p;
    *v = 0;

    while (*p < end && **p >= '0' && **p <= '9') {
        d = (unsigned long long) (**p - '0');

        if (*v > (~0ULL - d) / 10) {
            return -1;                  /* past 64 bits */
        }

        *v = *v * 10 + d;
        (*p)++;
    }

    return *p > start ? 0 : -1;
}


static int
hoop_audit_stream_id_parse(const char *s, size_t len,
    unsigned long long id[2])
{
    const char  *p, *end;

    p = s;
    end = s + len;

    if (hoop_audit_stream_id_part(&p, end, &id[0]) != 0
        || p == end || *p++ != '-'
        || hoop_audit_stream_id_part(&p, end, &id[1]) != 0 || p != end)
    {
        return -1;
    }

    return 0;
}


int
hoop_audit_stream_id_cmp(const char *a, size_t alen, const char *b,
    size_t blen)
{
    unsigned long long  x[2], y[2];

    if (hoop_audit_stream_id_parse(a, alen, x) != 0
        || hoop_audit_stream_id_parse(b, blen, y) != 0)
    {
        return -2;
    }

    if (x[0] != y[0]) {
        return x[0] < y[0] ? -1 : 1;
    }

    if (x[1] != y[1]) {
        return x[1] < y[1] ? -1 : 1;
    }

    return 0;
}


void
hoop_audit_hex(const unsigned char *in, size_t len, char *out)
{
    size_t  i;

    static const char  hex[] = "0123456789abcdef";

    for (i = 0; i < len; i++) {
        out[2 * i] = hex[in[i] >> 4];
        out[2 * i + 1] = hex[in[i] & 0xf];
    }

    out[2 * len] = '\0';
}
