/*
 * Copyright (C) nginx-hoop authors
 *
 * The JWS signature algorithms the gateway verifies (RFC 7518 section 3,
 * RFC 8037 for EdDSA).  Only public-key algorithms exist here: tokens are
 * checked against an identity provider's published keys, so "none" and
 * the HMAC family (which would turn a public key into a shared secret) have
 * no name the parser could return.
 */

#ifndef HOOP_JWT_ALG_H
#define HOOP_JWT_ALG_H

#include <stddef.h>


typedef enum {
    HOOP_JWT_RS256 = 0,
    HOOP_JWT_RS384,
    HOOP_JWT_RS512,
    HOOP_JWT_PS256,
    HOOP_JWT_PS384,
    HOOP_JWT_PS512,
    HOOP_JWT_ES256,
    HOOP_JWT_ES384,
    HOOP_JWT_ES512,
    HOOP_JWT_EDDSA,
    HOOP_JWT_ALG_COUNT
} hoop_jwt_alg_t;

#define HOOP_JWT_ALG_UNKNOWN  (-1)

#define hoop_jwt_alg_bit(alg)  (1u << (alg))
#define HOOP_JWT_ALGS_ALL      ((1u << HOOP_JWT_ALG_COUNT) - 1)


/* The algorithm named name (exact, case-sensitive), or -1. */
int hoop_jwt_alg_from_name(const char *name, size_t len);

/* "RS256", ...; NULL for anything else. */
const char *hoop_jwt_alg_name(int alg);

/*
 * Parses a comma- or space-separated list of names ("RS256 ES256") into a
 * bit set.  Returns 0 when a name is unknown (a configuration error, not a
 * silently narrower list).
 */
unsigned hoop_jwt_algs_parse(const char *list, size_t len);

#endif /* HOOP_JWT_ALG_H */
