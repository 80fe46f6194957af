/*
 * Copyright (C) nginx-hoop authors
 */

#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "hoop_audit.h"


const char  hoop_audit_genesis[HOOP_AUDIT_HASH_LEN + 1] =
    "0000000000000000000000000000000000000000000000000000000000000000";


int
hoop_audit_chain(const char *prev, const char *event, size_t len,
    const unsigned char *key, size_t key_len, char *out)
{
    int             ok;
    size_t          i, n;
    EVP_MD_CTX     *md;
    EVP_MAC        *mac;
    EVP_MAC_CTX    *mctx;
    OSSL_PARAM      params[2];
    unsigned char   digest[EVP_MAX_MD_SIZE];
    unsigned int    dlen;

    static const char  hex[] = "0123456789abcdef";

    ok = 0;
    n = 0;

    if (key != NULL) {
        mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
        mctx = mac ? EVP_MAC_CTX_new(mac) : NULL;

        params[0] = OSSL_PARAM_construct_utf8_string("digest",
                                                     (char *) "SHA256", 0);
        params[1] = OSSL_PARAM_construct_end();

        ok = mctx != NULL
             && EVP_MAC_init(mctx, key, key_len, params) == 1
             && EVP_MAC_update(mctx, (const unsigned char *) prev,
                               HOOP_AUDIT_HASH_LEN) == 1
             && EVP_MAC_update(mctx, (const unsigned char *) "\n", 1) == 1
             && EVP_MAC_update(mctx, (const unsigned char *) event, len) == 1
             && EVP_MAC_final(mctx, digest, &n, sizeof(digest)) == 1;

        EVP_MAC_CTX_free(mctx);
        EVP_MAC_free(mac);

    } else {
        md = EVP_MD_CTX_new();

        ok = md != NULL
             && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1
             && EVP_DigestUpdate(md, prev, HOOP_AUDIT_HASH_LEN) == 1
             && EVP_DigestUpdate(md, "\n", 1) == 1
             && EVP_DigestUpdate(md, event, len) == 1
             && EVP_DigestFinal_ex(md, digest, &dlen) == 1;

        n = dlen;
        EVP_MD_CTX_free(md);
    }

    if (!ok || n != 32) {
        ERR_clear_error();
        return -1;
    }

    for (i = 0; i < 32; i++) {
        out[2 * i] = hex[digest[i] >> 4];
        out[2 * i + 1] = hex[digest[i] & 0xf];
    }

    out[HOOP_AUDIT_HASH_LEN] = '\0';

    return 0;
}
