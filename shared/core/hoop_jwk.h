/*
 * Copyright (C) nginx-hoop authors
 *
 * JSON Web Key Sets (RFC 7517) as published by an identity provider's
 * jwks_uri, turned into OpenSSL public keys once, when the set is loaded,
 * so that verifying a token costs one signature check and no parsing.
 *
 * Each key is pinned to the algorithms its type allows (RSA: RS* and PS*,
 * EC: the ES* of its curve, OKP: EdDSA) and, when the JWK names an "alg",
 * to that one algorithm.  Keys the gateway must not use are skipped, not
 * fatal: "use" other than "sig", symmetric ("oct") keys, unknown types and
 * curves, RSA moduli under 2048 bits.
 */

#ifndef HOOP_JWK_H
#define HOOP_JWK_H

#include <stddef.h>

#include "hoop_jwt_alg.h"


#define HOOP_JWKS_MAX_KEYS  32
#define HOOP_JWK_KID_MAX    128
#define HOOP_JWKS_MAX_SIZE  (256 * 1024)


struct evp_pkey_st;


typedef struct {
    char                 kid[HOOP_JWK_KID_MAX + 1];
    size_t               kid_len;
    unsigned             has_kid;
    unsigned             algs;      /* bit set of hoop_jwt_alg_t */
    struct evp_pkey_st  *pkey;
} hoop_jwk_t;


typedef struct {
    hoop_jwk_t           keys[HOOP_JWKS_MAX_KEYS];
    size_t               nkeys;
    size_t               skipped;   /* JWKs present but not usable */
} hoop_jwks_t;


/*
 * Loads a JWKS document ({"keys":[...]}) into jwks, which must be zeroed or
 * cleared.  Returns 0, or -1 with a short reason in err (NUL-terminated,
 * truncated to errlen) when the document is not a key set at all or holds
 * no usable key.  On failure jwks holds no keys.
 */
int hoop_jwks_load(hoop_jwks_t *jwks, const char *json, size_t len,
    char *err, size_t errlen);

/* Frees the keys' OpenSSL objects; jwks may be loaded again afterwards. */
void hoop_jwks_clear(hoop_jwks_t *jwks);

/*
 * The key a token's header designates.  With a kid: the key with that kid
 * (NULL when none has it).  Without one: the only key able to verify alg,
 * and NULL when there is no such key or more than one (a token must not
 * get to try keys until one fits).
 */
const hoop_jwk_t *hoop_jwks_find(const hoop_jwks_t *jwks, const char *kid,
    size_t kid_len, int alg);

#endif /* HOOP_JWK_H */
