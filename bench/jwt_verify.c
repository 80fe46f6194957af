/*
 * Copyright (C) nginx-hoop authors
 *
 * The cost of one uncached token verification in shared/core (decode,
 * key lookup, RS256 or ES256/EdDSA signature, claims, identity), in
 * microseconds per token, next to the cost of the signature check alone
 * done directly with OpenSSL in the same run: the difference is ours.
 *
 *   build/bench/jwt_verify [iterations]
 */

#include <stdio.h>
#include <time.h>

#include "jose_test_keys.h"

#include "hoop_base64url.h"
#include "hoop_jwk.h"
#include "hoop_jwt.h"


static double
now_us(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}


static double
bench_core(const hoop_jwks_t *jwks, const char *token, int n)
{
    int                 i;
    char                buf[4096];
    double              t0;
    size_t              len;
    hoop_jwt_t          jwt;
    hoop_identity_t     id;
    hoop_jwt_policy_t   policy;

    memset(&policy, 0, sizeof(policy));
    policy.issuer = "https://idp.test";
    policy.audience = "hoop-gateway";
    policy.algs = HOOP_JWT_ALGS_ALL;
    policy.now = time(NULL);
    policy.max_len = 8192;
    policy.leeway = 30;

    len = strlen(token);
    t0 = now_us();

    for (i = 0; i < n; i++) {
        if (hoop_jwt_decode(&jwt, token, len, &policy) != HOOP_JWT_OK
            || hoop_jwt_verify(&jwt, hoop_jwks_find(jwks, jwt.kid,
                                                     jwt.kid_len, jwt.alg),
                               &policy, &id, buf, sizeof(buf))
               != HOOP_JWT_OK)
        {
            fprintf(stderr, "verification failed\n");
            exit(1);
        }

        hoop_jwt_free(&jwt);
    }

    return (now_us() - t0) / n;
}


/* the floor: OpenSSL's verification of the same RS256 signature */
static double
bench_openssl(EVP_PKEY *pkey, const char *token, int n)
{
    int             i;
    double          t0;
    size_t          siglen;
    const char     *dot;
    EVP_MD_CTX     *ctx;
    unsigned char   sig[512];

    dot = strrchr(token, '.');
    siglen = hoop_base64url_decode(sig, dot + 1, strlen(dot + 1));

    t0 = now_us();

    for (i = 0; i < n; i++) {
        ctx = EVP_MD_CTX_new();

        if (EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, pkey) != 1
            || EVP_DigestVerify(ctx, sig, siglen, (const unsigned char *) token,
                                (size_t) (dot - token)) != 1)
        {
            fprintf(stderr, "openssl verification failed\n");
            exit(1);
        }

        EVP_MD_CTX_free(ctx);
    }

    return (now_us() - t0) / n;
}


int
main(int argc, char **argv)
{
    int           n;
    char          claims[512], doc[8192], err[128];
    double        core, floor_us, es, ed;
    EVP_PKEY     *rsa, *ec, *edk;
    const char   *rs_tok, *es_tok, *ed_tok;
    hoop_jwks_t   jwks;

    n = argc > 1 ? atoi(argv[1]) : 5000;

    rsa = key_rsa(2048);
    ec = key_ec("P-256");
    edk = key_ed25519();

    snprintf(claims, sizeof(claims),
             "{\"iss\":\"https://idp.test\",\"aud\":\"hoop-gateway\","
             "\"sub\":\"agent-7\",\"exp\":%lld,\"groups\":[\"dev\",\"ops\"],"
             "\"client_id\":\"agent-7\",\"jti\":\"8f2c1d\"}",
             (long long) time(NULL) + 3600);

    snprintf(doc, sizeof(doc), "{\"keys\":[%s,%s,%s]}",
             jwk_of(rsa, "rsa", ""), jwk_of(ec, "ec", ""),
             jwk_of(edk, "ed", ""));

    memset(&jwks, 0, sizeof(jwks));

    if (hoop_jwks_load(&jwks, doc, strlen(doc), err, sizeof(err)) != 0) {
        fprintf(stderr, "jwks: %s\n", err);
        return 1;
    }

    rs_tok = sign_token("{\"alg\":\"RS256\",\"kid\":\"rsa\","
                        "\"typ\":\"at+jwt\"}", claims, rsa, "RS256", NULL, 0);
    es_tok = sign_token("{\"alg\":\"ES256\",\"kid\":\"ec\",\"typ\":\"at+jwt\"}",
                        claims, ec, "ES256", NULL, 0);
    ed_tok = sign_token("{\"alg\":\"EdDSA\",\"kid\":\"ed\",\"typ\":\"at+jwt\"}",
                        claims, edk, "EdDSA", NULL, 0);

    floor_us = bench_openssl(rsa, rs_tok, n);
    core = bench_core(&jwks, rs_tok, n);
    es = bench_core(&jwks, es_tok, n);
    ed = bench_core(&jwks, ed_tok, n);

    printf("uncached verification, %d tokens each (one core):\n", n);
    printf("  RS256 signature alone (OpenSSL)   %8.1f us\n", floor_us);
    printf("  RS256 token, hoop_jwt             %8.1f us  (%.2fx the"
           " signature alone)\n", core, core / floor_us);
    printf("  ES256 token, hoop_jwt             %8.1f us\n", es);
    printf("  EdDSA token, hoop_jwt             %8.1f us\n", ed);

    hoop_jwks_clear(&jwks);
    EVP_PKEY_free(rsa);
    EVP_PKEY_free(ec);
    EVP_PKEY_free(edk);

    return 0;
}
