/*
 * Copyright (C) nginx-hoop authors
 */

#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "hoop_audit.h"
#include "hoop_audit_sign.h"


struct hoop_audit_signer_s {
    EVP_PKEY   *pkey;
    char        key_id[HOOP_AUDIT_KEY_ID_LEN + 1];
};


static int hoop_audit_signer_fingerprint(hoop_audit_signer_t *s);


hoop_audit_signer_t *
hoop_audit_signer_new(const char *pem, size_t len, const char **err)
{
    BIO                  *bio;
    hoop_audit_signer_t  *s;

    s = calloc(1, sizeof(hoop_audit_signer_t));
    if (s == NULL) {
        *err = "out of memory";
        return NULL;
    }

    bio = BIO_new_mem_buf(pem, (int) len);
    if (bio == NULL) {
        *err = "out of memory";
        goto failed;
    }

    s->pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    BIO_free(bio);

    if (s->pkey == NULL) {
        *err = "not a PEM private key (make one with \"openssl genpkey"
               " -algorithm ed25519\")";
        goto failed;
    }

    /* pinned: a key of another type must not quietly change what signs */

    if (EVP_PKEY_get_id(s->pkey) != EVP_PKEY_ED25519) {
        *err = "not an Ed25519 key (make one with \"openssl genpkey"
               " -algorithm ed25519\")";
        goto failed;
    }

    if (hoop_audit_signer_fingerprint(s) != 0) {
        *err = "its public key cannot be encoded";
        goto failed;
    }

    return s;

failed:

    hoop_audit_signer_free(s);

    return NULL;
}


void
hoop_audit_signer_free(hoop_audit_signer_t *s)
{
    if (s == NULL) {
        return;
    }

    EVP_PKEY_free(s->pkey);
    free(s);
}


const char *
hoop_audit_signer_key_id(const hoop_audit_signer_t *s)
{
    return s->key_id;
}


int
hoop_audit_sign(hoop_audit_signer_t *s, const char *msg, size_t len,
    char *out)
{
    int             rc;
    size_t          siglen;
    EVP_MD_CTX     *ctx;
    unsigned char   sig[HOOP_AUDIT_SIG_LEN / 2];

    ctx = EVP_MD_CTX_new();
    if (ctx == NULL) {
        return -1;
    }

    siglen = sizeof(sig);

    /* Ed25519 hashes the message itself: no digest is named */

    rc = EVP_DigestSignInit(ctx, NULL, NULL, NULL, s->pkey) == 1
         && EVP_DigestSign(ctx, sig, &siglen, (const unsigned char *) msg,
                           len) == 1
         && siglen == sizeof(sig);

    EVP_MD_CTX_free(ctx);

    if (!rc) {
        return -1;
    }

    hoop_audit_hex(sig, sizeof(sig), out);

    return 0;
}


/* SHA-256 of the DER SubjectPublicKeyInfo, as openssl pkey -pubout gives */
static int
hoop_audit_signer_fingerprint(hoop_audit_signer_t *s)
{
    int             n;
    unsigned int    dlen;
    unsigned char  *der, *p, digest[32];

    n = i2d_PUBKEY(s->pkey, NULL);
    if (n <= 0) {
        return -1;
    }

    der = malloc((size_t) n);
    if (der == NULL) {
        return -1;
    }

    p = der;

    if (i2d_PUBKEY(s->pkey, &p) != n
        || EVP_Digest(der, (size_t) n, digest, &dlen, EVP_sha256(), NULL)
           != 1)
    {
        free(der);
        return -1;
    }

    free(der);

    hoop_audit_hex(digest, sizeof(digest), s->key_id);

    return 0;
}

