/*
 * Copyright (C) nginx-hoop authors
 *
 * Test-side JOSE: generates keys, publishes them as JWKs and signs tokens
 * with OpenSSL directly, so the unit tests can make any token an issuer
 * (honest or not) could, independently of the code under test.
 */

#ifndef JOSE_TEST_KEYS_H
#define JOSE_TEST_KEYS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>


static size_t __attribute__((unused))
b64url(char *dst, const unsigned char *src, size_t len)
{
    static const char  a[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

    size_t  i, n;

    n = 0;

    for (i = 0; i + 3 <= len; i += 3) {
        dst[n++] = a[src[i] >> 2];
        dst[n++] = a[(src[i] & 3) << 4 | src[i + 1] >> 4];
        dst[n++] = a[(src[i + 1] & 15) << 2 | src[i + 2] >> 6];
        dst[n++] = a[src[i + 2] & 63];
    }

    if (len - i == 1) {
        dst[n++] = a[src[i] >> 2];
        dst[n++] = a[(src[i] & 3) << 4];

    } else if (len - i == 2) {
        dst[n++] = a[src[i] >> 2];
        dst[n++] = a[(src[i] & 3) << 4 | src[i + 1] >> 4];
        dst[n++] = a[(src[i + 1] & 15) << 2];
    }

    dst[n] = '\0';

    return n;
}


static void __attribute__((unused))
b64url_bn(char *dst, const BIGNUM *bn, int pad)
{
    unsigned char  bin[1024];
    int            n;

    n = pad ? BN_bn2binpad(bn, bin, pad) : BN_bn2bin(bn, bin);
    b64url(dst, bin, (size_t) n);
}


static EVP_PKEY * __attribute__((unused))
key_rsa(int bits)
{
    return EVP_RSA_gen((unsigned) bits);
}


static EVP_PKEY * __attribute__((unused))
key_ec(const char *curve)
{
    return EVP_EC_gen(curve);
}


static EVP_PKEY * __attribute__((unused))
key_ed25519(void)
{
    return EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
}


/* The public JWK of pkey; extra is spliced in ("\"alg\":\"RS256\"," ...). */
static char * __attribute__((unused))
jwk_of(EVP_PKEY *pkey, const char *kid, const char *extra)
{
    static char     out[8][4096];
    static int      next;
    char           *buf, a[1400], b[1400], crv[32];
    size_t          rawlen;
    BIGNUM         *x, *y;
    unsigned char   raw[64];
    int             half;

    buf = out[next++ % 8];

    if (EVP_PKEY_is_a(pkey, "RSA")) {
        x = NULL;
        y = NULL;
        EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &x);
        EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &y);
        b64url_bn(a, x, 0);
        b64url_bn(b, y, 0);
        snprintf(buf, 4096, "{%s\"kty\":\"RSA\",\"kid\":\"%s\",\"n\":\"%s\","
                 "\"e\":\"%s\"}", extra, kid, a, b);
        BN_free(x);
        BN_free(y);

    } else if (EVP_PKEY_is_a(pkey, "EC")) {
        x = NULL;
        y = NULL;
        EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, crv,
                                       sizeof(crv), NULL);
        EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_X, &x);
        EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, &y);
        half = (EVP_PKEY_get_bits(pkey) + 7) / 8;
        b64url_bn(a, x, half);
        b64url_bn(b, y, half);
        snprintf(buf, 4096, "{%s\"kty\":\"EC\",\"kid\":\"%s\",\"crv\":\"%s\","
                 "\"x\":\"%s\",\"y\":\"%s\"}", extra, kid,
                 strcmp(crv, "prime256v1") == 0 ? "P-256"
                 : strcmp(crv, "secp384r1") == 0 ? "P-384" : "P-521", a, b);
        BN_free(x);
        BN_free(y);

    } else {
        rawlen = sizeof(raw);
        EVP_PKEY_get_raw_public_key(pkey, raw, &rawlen);
        b64url(a, raw, rawlen);
        snprintf(buf, 4096, "{%s\"kty\":\"OKP\",\"kid\":\"%s\","
                 "\"crv\":\"Ed25519\",\"x\":\"%s\"}", extra, kid, a);
    }

    return buf;
}


/* The SubjectPublicKeyInfo PEM of pkey: what an HS/RS confusion abuses. */
static size_t __attribute__((unused))
public_pem(EVP_PKEY *pkey, char *dst, size_t cap)
{
    BIO     *bio;
    size_t   n;

    bio = BIO_new(BIO_s_mem());
    PEM_write_bio_PUBKEY(bio, pkey);
    n = (size_t) BIO_read(bio, dst, (int) cap - 1);
    BIO_free(bio);
    dst[n] = '\0';

    return n;
}


/*
 * Signs header.payload (both JSON text) with pkey under the JWS algorithm
 * alg ("RS256", "PS384", "ES256", "EdDSA", or "HS256" keyed by hmac).
 * Returns the token in a static buffer.
 */
static char * __attribute__((unused))
sign_token(const char *header, const char *payload, EVP_PKEY *pkey,
    const char *alg, const char *hmac, size_t hmac_len)
{
    static char     tok[4][40000];
    static int      next;
    char           *t;
    size_t          n, siglen;
    unsigned char   sig[1024], raw[140];
    EVP_MD_CTX     *ctx;
    EVP_PKEY_CTX   *pctx;
    const EVP_MD   *md;
    ECDSA_SIG      *es;
    const unsigned char  *p;
    int             half;

    t = tok[next++ % 4];
    n = b64url(t, (const unsigned char *) header, strlen(header));
    t[n++] = '.';
    n += b64url(t + n, (const unsigned char *) payload, strlen(payload));

    md = strstr(alg, "256") ? EVP_sha256()
         : strstr(alg, "384") ? EVP_sha384()
         : strstr(alg, "512") ? EVP_sha512() : NULL;

    siglen = sizeof(sig);

    if (alg[0] == 'H') {
        EVP_Q_mac(NULL, "HMAC", NULL, EVP_MD_get0_name(md), NULL, hmac,
                  hmac_len, (unsigned char *) t, n, sig, sizeof(sig),
                  &siglen);

    } else {
        ctx = EVP_MD_CTX_new();
        pctx = NULL;
        EVP_DigestSignInit(ctx, &pctx, md, NULL, pkey);

        if (alg[0] == 'P') {
            EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
            EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST);
        }

        EVP_DigestSign(ctx, sig, &siglen, (unsigned char *) t, n);
        EVP_MD_CTX_free(ctx);

        if (alg[0] == 'E' && alg[1] == 'S') {
            half = (EVP_PKEY_get_bits(pkey) + 7) / 8;
            p = sig;
            es = d2i_ECDSA_SIG(NULL, &p, (long) siglen);
            BN_bn2binpad(ECDSA_SIG_get0_r(es), raw, half);
            BN_bn2binpad(ECDSA_SIG_get0_s(es), raw + half, half);
            ECDSA_SIG_free(es);
            memcpy(sig, raw, 2 * (size_t) half);
            siglen = 2 * (size_t) half;
        }
    }

    t[n++] = '.';
    b64url(t + n, sig, siglen);

    return t;
}

#endif /* JOSE_TEST_KEYS_H */
