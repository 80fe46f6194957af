/*
 * Copyright (C) nginx-hoop authors
 *
 * libFuzzer target: any byte string offered as a token is decoded and, when
 * its header names a key, verified against a fixed key set, without a
 * crash, a leak, or an accepted signature (no input here was signed).
 */

#include <stdlib.h>
#include <string.h>

#include "hoop_jwk.h"
#include "hoop_jwt.h"


int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);


/* public halves only: the fuzzer can never produce a valid signature */
static const char  fuzz_jwks[] =
    "{\"keys\":["
    "{\"kty\":\"EC\",\"kid\":\"ec\",\"crv\":\"P-256\","
    "\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","
    "\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"},"
    "{\"kty\":\"OKP\",\"kid\":\"ed\",\"crv\":\"Ed25519\","
    "\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}"
    "]}";


int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    char                     *token, *buf;
    hoop_jwt_t                jwt;
    hoop_identity_t           id;
    const hoop_jwk_t         *key;
    hoop_jwt_policy_t         policy;
    static hoop_jwks_t        jwks;
    static int                loaded;
    char                      err[64];

    if (!loaded) {
        if (hoop_jwks_load(&jwks, fuzz_jwks, sizeof(fuzz_jwks) - 1, err,
                           sizeof(err))
            != 0)
        {
            abort();
        }

        loaded = 1;
    }

    memset(&policy, 0, sizeof(policy));
    policy.issuer = "https://idp.test";
    policy.audience = "hoop";
    policy.algs = HOOP_JWT_ALGS_ALL;
    policy.now = 1700000000;
    policy.max_len = 16384;

    token = malloc(size + 1);
    buf = malloc(size + 1);

    if (token == NULL || buf == NULL) {
        abort();
    }

    memcpy(token, data, size);

    if (hoop_jwt_decode(&jwt, token, size, &policy) == HOOP_JWT_OK) {
        key = hoop_jwks_find(&jwks, jwt.kid, jwt.kid_len, jwt.alg);

        if (hoop_jwt_verify(&jwt, key, &policy, &id, buf, size)
            == HOOP_JWT_OK)
        {
            abort();
        }

        hoop_jwt_free(&jwt);
    }

    free(token);
    free(buf);

    return 0;
}
