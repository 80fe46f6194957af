/*
 * Copyright (C) nginx-hoop authors
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "hoop_base64url.h"
#include "hoop_jwk.h"


#define HOOP_JWK_MEMBER_MAX  1024      /* an 8192-bit modulus is 683 chars */
#define HOOP_RSA_MIN_BITS    2048


typedef struct {
    const char  *crv;
    const char  *group;
    size_t       coord_len;
    int          alg;
} hoop_jwk_curve_t;


static const hoop_jwk_curve_t  hoop_jwk_curves[] = {
    { "P-256", "P-256", 32, HOOP_JWT_ES256 },
    { "P-384", "P-384", 48, HOOP_JWT_ES384 },
    { "P-521", "P-521", 66, HOOP_JWT_ES512 },
};


static int hoop_jwk_load_one(hoop_jwk_t *key, json_t *jwk);
static struct evp_pkey_st *hoop_jwk_rsa(json_t *jwk);
static struct evp_pkey_st *hoop_jwk_ec(json_t *jwk, unsigned *algs);
static struct evp_pkey_st *hoop_jwk_okp(json_t *jwk);
static size_t hoop_jwk_member(json_t *jwk, const char *name,
    unsigned char *dst, size_t cap);
static struct evp_pkey_st *hoop_jwk_fromdata(const char *type,
    OSSL_PARAM_BLD *bld);
static void hoop_jwk_error(char *err, size_t errlen, const char *reason);


int
hoop_jwks_load(hoop_jwks_t *jwks, const char *json, size_t len, char *err,
    size_t errlen)
{
    size_t        i;
    json_t       *root, *keys;
    json_error_t  jerr;

    jwks->nkeys = 0;
    jwks->skipped = 0;

    if (len > HOOP_JWKS_MAX_SIZE) {
        hoop_jwk_error(err, errlen, "key set too large");
        return -1;
    }

    root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);

    if (root == NULL) {
        hoop_jwk_error(err, errlen, "key set is not valid JSON");
        return -1;
    }

    keys = json_object_get(root, "keys");

    if (!json_is_array(keys)) {
        json_decref(root);
        hoop_jwk_error(err, errlen, "no \"keys\" array");
        return -1;
    }

    for (i = 0; i < json_array_size(keys); i++) {

        if (jwks->nkeys == HOOP_JWKS_MAX_KEYS) {
            jwks->skipped += json_array_size(keys) - i;
            break;
        }

        if (hoop_jwk_load_one(&jwks->keys[jwks->nkeys],
                              json_array_get(keys, i))
            == 0)
        {
            jwks->nkeys++;

        } else {
            jwks->skipped++;
        }
    }

    json_decref(root);

    /* rejected keys leave errors nginx would later report as its own */

    ERR_clear_error();

    if (jwks->nkeys == 0) {
        hoop_jwk_error(err, errlen, "no usable signing key");
        return -1;
    }

    return 0;
}


void
hoop_jwks_clear(hoop_jwks_t *jwks)
{
    size_t  i;

    for (i = 0; i < jwks->nkeys; i++) {
        EVP_PKEY_free(jwks->keys[i].pkey);
        jwks->keys[i].pkey = NULL;
    }

    jwks->nkeys = 0;
    jwks->skipped = 0;
}


const hoop_jwk_t *
hoop_jwks_find(const hoop_jwks_t *jwks, const char *kid, size_t kid_len,
    int alg)
{
    size_t             i;
    const hoop_jwk_t  *key, *found;

    if (kid != NULL) {
        for (i = 0; i < jwks->nkeys; i++) {
            key = &jwks->keys[i];

            if (key->has_kid && key->kid_len == kid_len
                && memcmp(key->kid, kid, kid_len) == 0)
            {
                return key;
            }
        }

        return NULL;
    }

    if (alg < 0 || alg >= HOOP_JWT_ALG_COUNT) {
        return NULL;
    }

    found = NULL;

    for (i = 0; i < jwks->nkeys; i++) {
        key = &jwks->keys[i];

        if (key->algs & hoop_jwt_alg_bit(alg)) {
            if (found != NULL) {
                return NULL;
            }

            found = key;
        }
    }

    return found;
}


static int
hoop_jwk_load_one(hoop_jwk_t *key, json_t *jwk)
{
    int          alg;
    size_t       len;
    unsigned     algs;
    json_t      *v;
    const char  *kty;

    if (!json_is_object(jwk)) {
        return -1;
    }

    v = json_object_get(jwk, "use");

    if (v != NULL && (!json_is_string(v) || strcmp(json_string_value(v), "sig")
                                            != 0))
    {
        return -1;
    }

    kty = json_string_value(json_object_get(jwk, "kty"));

    if (kty == NULL) {
        return -1;
    }

    algs = 0;
    key->pkey = NULL;

    if (strcmp(kty, "RSA") == 0) {
        algs = hoop_jwt_alg_bit(HOOP_JWT_RS256)
               | hoop_jwt_alg_bit(HOOP_JWT_RS384)
               | hoop_jwt_alg_bit(HOOP_JWT_RS512)
               | hoop_jwt_alg_bit(HOOP_JWT_PS256)
               | hoop_jwt_alg_bit(HOOP_JWT_PS384)
               | hoop_jwt_alg_bit(HOOP_JWT_PS512);
        key->pkey = hoop_jwk_rsa(jwk);

    } else if (strcmp(kty, "EC") == 0) {
        key->pkey = hoop_jwk_ec(jwk, &algs);

    } else if (strcmp(kty, "OKP") == 0) {
        algs = hoop_jwt_alg_bit(HOOP_JWT_EDDSA);
        key->pkey = hoop_jwk_okp(jwk);
    }

    if (key->pkey == NULL) {
        return -1;
    }

    /* a JWK that names its algorithm may be used with that one only */

    v = json_object_get(jwk, "alg");

    if (v != NULL) {
        alg = json_is_string(v)
              ? hoop_jwt_alg_from_name(json_string_value(v),
                                       json_string_length(v))
              : HOOP_JWT_ALG_UNKNOWN;

        if (alg == HOOP_JWT_ALG_UNKNOWN
            || (algs & hoop_jwt_alg_bit(alg)) == 0)
        {
            goto unusable;
        }

        algs = hoop_jwt_alg_bit(alg);
    }

    key->algs = algs;
    key->has_kid = 0;
    key->kid_len = 0;
    key->kid[0] = '\0';

    v = json_object_get(jwk, "kid");

    if (v != NULL) {
        if (!json_is_string(v)) {
            goto unusable;
        }

        len = json_string_length(v);

        if (len > HOOP_JWK_KID_MAX) {
            goto unusable;
        }

        memcpy(key->kid, json_string_value(v), len);
        key->kid[len] = '\0';
        key->kid_len = len;
        key->has_kid = 1;
    }

    return 0;

unusable:

    EVP_PKEY_free(key->pkey);
    key->pkey = NULL;

    return -1;
}


static struct evp_pkey_st *
hoop_jwk_rsa(json_t *jwk)
{
    BIGNUM          *n, *e;
    size_t           nlen, elen;
    EVP_PKEY        *pkey;
    unsigned char    nbuf[HOOP_JWK_MEMBER_MAX], ebuf[16];
    OSSL_PARAM_BLD  *bld;

    nlen = hoop_jwk_member(jwk, "n", nbuf, sizeof(nbuf));
    elen = hoop_jwk_member(jwk, "e", ebuf, sizeof(ebuf));

    if (nlen == 0 || elen == 0) {
        return NULL;
    }

    n = BN_bin2bn(nbuf, (int) nlen, NULL);
    e = BN_bin2bn(ebuf, (int) elen, NULL);
    bld = OSSL_PARAM_BLD_new();
    pkey = NULL;

    if (n != NULL && e != NULL && bld != NULL
        && BN_num_bits(n) >= HOOP_RSA_MIN_BITS
        && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n)
        && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e))
    {
        pkey = hoop_jwk_fromdata("RSA", bld);
    }

    OSSL_PARAM_BLD_free(bld);
    BN_free(n);
    BN_free(e);

    return pkey;
}


static struct evp_pkey_st *
hoop_jwk_ec(json_t *jwk, unsigned *algs)
{
    size_t                   i, xlen, ylen;
    EVP_PKEY                *pkey;
    const char              *crv;
    unsigned char            point[1 + 2 * 66], x[67], y[67];
    OSSL_PARAM_BLD          *bld;
    const hoop_jwk_curve_t  *curve;

    crv = json_string_value(json_object_get(jwk, "crv"));

    if (crv == NULL) {
        return NULL;
    }

    curve = NULL;

    for (i = 0; i < sizeof(hoop_jwk_curves) / sizeof(hoop_jwk_curves[0]);
         i++)
    {
        if (strcmp(hoop_jwk_curves[i].crv, crv) == 0) {
            curve = &hoop_jwk_curves[i];
        }
    }

    if (curve == NULL) {
        return NULL;
    }

    /* RFC 7518 6.2.1.2: coordinates are full length, not minimal */

    xlen = hoop_jwk_member(jwk, "x", x, sizeof(x));
    ylen = hoop_jwk_member(jwk, "y", y, sizeof(y));

    if (xlen != curve->coord_len || ylen != curve->coord_len) {
        return NULL;
    }

    point[0] = 0x04;
    memcpy(point + 1, x, xlen);
    memcpy(point + 1 + xlen, y, ylen);

    bld = OSSL_PARAM_BLD_new();
    pkey = NULL;

    if (bld != NULL
        && OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
                                           curve->group, 0)
        && OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY,
                                            point, 1 + xlen + ylen))
    {
        pkey = hoop_jwk_fromdata("EC", bld);
    }

    OSSL_PARAM_BLD_free(bld);

    *algs = hoop_jwt_alg_bit(curve->alg);

    return pkey;
}


static struct evp_pkey_st *
hoop_jwk_okp(json_t *jwk)
{
    int             type;
    size_t          len, want;
    const char     *crv;
    unsigned char   x[58];

    crv = json_string_value(json_object_get(jwk, "crv"));

    if (crv == NULL) {
        return NULL;
    }

    if (strcmp(crv, "Ed25519") == 0) {
        type = EVP_PKEY_ED25519;
        want = 32;

    } else if (strcmp(crv, "Ed448") == 0) {
        type = EVP_PKEY_ED448;
        want = 57;

    } else {
        return NULL;
    }

    len = hoop_jwk_member(jwk, "x", x, sizeof(x));

    if (len != want) {
        return NULL;
    }

    return EVP_PKEY_new_raw_public_key(type, NULL, x, len);
}


/*
 * Decodes the base64url member name into dst; 0 when it is missing, not a
 * string, not base64url, empty, or longer than cap.
 */
static size_t
hoop_jwk_member(json_t *jwk, const char *name, unsigned char *dst,
    size_t cap)
{
    size_t          len, n;
    json_t         *v;
    unsigned char   buf[hoop_base64url_decoded_max(HOOP_JWK_MEMBER_MAX * 2)];

    v = json_object_get(jwk, name);

    if (!json_is_string(v)) {
        return 0;
    }

    len = json_string_length(v);

    if (len == 0 || len > HOOP_JWK_MEMBER_MAX * 2) {
        return 0;
    }

    n = hoop_base64url_decode(buf, json_string_value(v), len);

    if (n == (size_t) -1 || n == 0 || n > cap) {
        return 0;
    }

    memcpy(dst, buf, n);

    return n;
}


static struct evp_pkey_st *
hoop_jwk_fromdata(const char *type, OSSL_PARAM_BLD *bld)
{
    EVP_PKEY      *pkey;
    OSSL_PARAM    *params;
    EVP_PKEY_CTX  *ctx;

    pkey = NULL;
    params = OSSL_PARAM_BLD_to_param(bld);
    ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);

    if (params == NULL || ctx == NULL
        || EVP_PKEY_fromdata_init(ctx) <= 0
        || EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
    {
        pkey = NULL;
    }

    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);

    return pkey;
}


static void
hoop_jwk_error(char *err, size_t errlen, const char *reason)
{
    if (errlen > 0) {
        snprintf(err, errlen, "%s", reason);
    }
}
