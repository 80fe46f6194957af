/*
 * Copyright (C) nginx-hoop authors
 *
 * Verification of compact JWS access tokens (RFC 7515, RFC 7519, RFC 9068)
 * against an identity provider's key set, and extraction of the identity
 * every later decision and audit event carries.
 *
 * Three steps, so a caller can fetch keys between the first and second:
 *
 *   hoop_jwt_decode()   splits and decodes the token; reads alg, kid, typ
 *   hoop_jwks_find()    (hoop_jwk.h) the key the header designates
 *   hoop_jwt_verify()   signature with the algorithm pinned by the key and
 *                       the allow-list, then iss, aud, exp, nbf, sub, and
 *                       the identity copied out
 *
 * then hoop_jwt_free().  Nothing here reads the clock: "now" is an input.
 */

#ifndef HOOP_JWT_H
#define HOOP_JWT_H

#include <stddef.h>

#include "hoop_identity.h"
#include "hoop_jwk.h"
#include "hoop_jwt_alg.h"


#define HOOP_JWT_SIG_MAX  1024          /* RSA 8192 */


typedef enum {
    HOOP_JWT_OK = 0,
    HOOP_JWT_TOO_LARGE,
    HOOP_JWT_MALFORMED,           /* not three base64url segments */
    HOOP_JWT_BAD_HEADER,          /* header not a JSON object, crit, ... */
    HOOP_JWT_BAD_TYPE,            /* typ other than JWT or at+jwt */
    HOOP_JWT_ALG_NOT_ALLOWED,     /* none, HS*, unknown, or not allowed */
    HOOP_JWT_UNKNOWN_KEY,         /* no key with this kid (refetch) */
    HOOP_JWT_KEY_MISMATCH,        /* the key does not do this alg */
    HOOP_JWT_BAD_SIGNATURE,
    HOOP_JWT_BAD_CLAIMS,          /* payload not a JSON object, bad types */
    HOOP_JWT_BAD_ISSUER,
    HOOP_JWT_BAD_AUDIENCE,
    HOOP_JWT_EXPIRED,
    HOOP_JWT_NOT_YET_VALID,
    HOOP_JWT_NO_EXPIRY,
    HOOP_JWT_NO_SUBJECT,
    HOOP_JWT_INTERNAL,            /* out of memory, OpenSSL failure */
    HOOP_JWT_STATUS_COUNT
} hoop_jwt_status_t;


struct json_t;


typedef struct {
    int                 alg;        /* hoop_jwt_alg_t */
    const char         *kid;        /* NULL when the header has none */
    size_t              kid_len;

    /* private */
    const char         *signing_input;
    size_t              signing_input_len;
    const char         *payload;        /* base64url, not yet decoded */
    size_t              payload_len;
    unsigned char       sig[HOOP_JWT_SIG_MAX + 2];
    size_t              sig_len;
    struct json_t      *header;
} hoop_jwt_t;


typedef struct {
    const char         *issuer;         /* exact match; NULL: not checked */
    const char         *audience;       /* NULL: not checked */
    const char         *groups_claim;   /* dotted path, NULL: "groups" */
    unsigned            algs;           /* allow-list, bit set */
    size_t              max_len;        /* token size cap */
    long long           now;            /* seconds since the epoch */
    long long           leeway;         /* seconds, for exp and nbf */
} hoop_jwt_policy_t;


/*
 * Decodes token (len bytes, no NUL needed) and checks its header against
 * policy (size cap, allow-list, typ).  Only the header is parsed here: the
 * claims are not read before the signature has been verified.  jwt needs
 * hoop_jwt_free() only when this returned OK; on any other status nothing
 * is left allocated.  The token must outlive jwt.
 */
hoop_jwt_status_t hoop_jwt_decode(hoop_jwt_t *jwt, const char *token,
    size_t len, const hoop_jwt_policy_t *policy);

/*
 * Verifies a decoded token with key (from hoop_jwks_find(), NULL gives
 * UNKNOWN_KEY) and policy, and on success fills identity, whose strings
 * are copied into buf (cap bytes; the token length is always enough).
 */
hoop_jwt_status_t hoop_jwt_verify(hoop_jwt_t *jwt, const hoop_jwk_t *key,
    const hoop_jwt_policy_t *policy, hoop_identity_t *identity,
    char *buf, size_t cap);

void hoop_jwt_free(hoop_jwt_t *jwt);

/* A short human reason for a status, fit for a WWW-Authenticate header. */
const char *hoop_jwt_status_text(hoop_jwt_status_t status);

#endif /* HOOP_JWT_H */
