/*
 * Copyright (C) nginx-hoop authors
 */

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "hoop_base64url.h"
#include "hoop_jwt.h"


#define HOOP_JWT_HEADER_MAX  2048      /* decoded JOSE header */


static hoop_jwt_status_t hoop_jwt_decode_header(hoop_jwt_t *jwt,
    const char *seg, size_t len, const hoop_jwt_policy_t *policy);
static int hoop_jwt_type_accepted(json_t *typ);
static hoop_jwt_status_t hoop_jwt_decode_signature(hoop_jwt_t *jwt,
    const char *seg, size_t len);
static hoop_jwt_status_t hoop_jwt_check_signature(hoop_jwt_t *jwt,
    const hoop_jwk_t *key);
static int hoop_jwt_ecdsa_to_der(int alg, const unsigned char *sig,
    size_t len, unsigned char *der, size_t *der_len);
static const EVP_MD *hoop_jwt_digest(int alg);
static hoop_jwt_status_t hoop_jwt_decode_claims(hoop_jwt_t *jwt,
    json_t **claims);
static hoop_jwt_status_t hoop_jwt_check_claims(json_t *claims,
    const hoop_jwt_policy_t *policy);
static int hoop_jwt_audience_matches(json_t *aud, const char *audience);
static hoop_jwt_status_t hoop_jwt_extract(json_t *claims,
    const hoop_jwt_policy_t *policy, hoop_identity_t *id, char *buf,
    size_t cap);
static long long hoop_jwt_seconds(json_t *v);
static json_t *hoop_jwt_claim_path(json_t *claims, const char *path);
static int hoop_jwt_copy_claim(json_t *v, hoop_str_t *dst, char **pos,
    char *end);
static void hoop_jwt_copy_groups(json_t *v, hoop_identity_t *id,
    char **pos, char *end);
static int hoop_jwt_group_name_ok(const char *s, size_t len);
static int hoop_jwt_has_control(const char *s, size_t len);


static const char  *hoop_jwt_status_texts[HOOP_JWT_STATUS_COUNT] = {
    "valid",
    "token too large",
    "malformed token",
    "invalid token header",
    "token type not accepted",
    "signature algorithm not allowed",
    "unknown signing key",
    "signing key does not match the algorithm",
    "invalid signature",
    "invalid claims",
    "wrong issuer",
    "wrong audience",
    "token expired",
    "token not yet valid",
    "token has no expiry",
    "token has no subject",
    "internal error"
};


hoop_jwt_status_t
hoop_jwt_decode(hoop_jwt_t *jwt, const char *token, size_t len,
    const hoop_jwt_policy_t *policy)
{
    size_t              dot1, dot2;
    const char         *p;
    hoop_jwt_status_t   rc;

    memset(jwt, 0, sizeof(hoop_jwt_t));

    if (len > policy->max_len) {
        return HOOP_JWT_TOO_LARGE;
    }

    p = memchr(token, '.', len);

    if (p == NULL) {
        return HOOP_JWT_MALFORMED;
    }

    dot1 = (size_t) (p - token);
    p = memchr(token + dot1 + 1, '.', len - dot1 - 1);

    if (p == NULL) {
        return HOOP_JWT_MALFORMED;
    }

    dot2 = (size_t) (p - token);

    /* a fourth segment would be a JWE or garbage; empty parts are neither */

    if (memchr(token + dot2 + 1, '.', len - dot2 - 1) != NULL
        || dot1 == 0 || dot2 == dot1 + 1)
    {
        return HOOP_JWT_MALFORMED;
    }

    jwt->signing_input = token;
    jwt->signing_input_len = dot2;
    jwt->payload = token + dot1 + 1;
    jwt->payload_len = dot2 - dot1 - 1;

    /* the header first: "alg":"none" is reported as such, whatever follows */

    rc = hoop_jwt_decode_header(jwt, token, dot1, policy);

    if (rc == HOOP_JWT_OK) {
        rc = hoop_jwt_decode_signature(jwt, token + dot2 + 1, len - dot2 - 1);
    }

    if (rc != HOOP_JWT_OK) {
        json_decref(jwt->header);
        jwt->header = NULL;
    }

    return rc;
}


static hoop_jwt_status_t
hoop_jwt_decode_header(hoop_jwt_t *jwt, const char *seg, size_t len,
    const hoop_jwt_policy_t *policy)
{
    size_t          n;
    json_t         *v;
    json_error_t    err;
    unsigned char   buf[HOOP_JWT_HEADER_MAX + 2];

    if (hoop_base64url_decoded_max(len) > sizeof(buf)) {
        return HOOP_JWT_BAD_HEADER;
    }

    n = hoop_base64url_decode(buf, seg, len);

    if (n == (size_t) -1) {
        return HOOP_JWT_MALFORMED;
    }

    jwt->header = json_loadb((const char *) buf, n, JSON_REJECT_DUPLICATES,
                             &err);

    if (!json_is_object(jwt->header)) {
        return HOOP_JWT_BAD_HEADER;
    }

    /* no extension is understood, so none may be critical (RFC 7515 4.1.11) */

    if (json_object_get(jwt->header, "crit") != NULL) {
        return HOOP_JWT_BAD_HEADER;
    }

    if (!hoop_jwt_type_accepted(json_object_get(jwt->header, "typ"))) {
        return HOOP_JWT_BAD_TYPE;
    }

    v = json_object_get(jwt->header, "alg");

    jwt->alg = json_is_string(v)
               ? hoop_jwt_alg_from_name(json_string_value(v),
                                        json_string_length(v))
               : HOOP_JWT_ALG_UNKNOWN;

    if (jwt->alg == HOOP_JWT_ALG_UNKNOWN
        || (policy->algs & hoop_jwt_alg_bit(jwt->alg)) == 0)
    {
        return HOOP_JWT_ALG_NOT_ALLOWED;
    }

    v = json_object_get(jwt->header, "kid");

    if (v != NULL) {
        if (!json_is_string(v) || json_string_length(v) > HOOP_JWK_KID_MAX) {
            return HOOP_JWT_BAD_HEADER;
        }

        jwt->kid = json_string_value(v);
        jwt->kid_len = json_string_length(v);
    }

    return HOOP_JWT_OK;
}


static hoop_jwt_status_t
hoop_jwt_decode_signature(hoop_jwt_t *jwt, const char *seg, size_t len)
{
    size_t  n;

    if (len == 0) {
        return HOOP_JWT_MALFORMED;
    }

    if (hoop_base64url_decoded_max(len) > sizeof(jwt->sig)) {
        return HOOP_JWT_BAD_SIGNATURE;
    }

    n = hoop_base64url_decode(jwt->sig, seg, len);

    if (n == (size_t) -1) {
        return HOOP_JWT_MALFORMED;
    }

    jwt->sig_len = n;

    return HOOP_JWT_OK;
}


/*
 * RFC 7519 5.1 and RFC 9068 2.1: "JWT" or "at+jwt", optionally with the
 * "application/" prefix, compared without case; or no typ at all.
 */
static int
hoop_jwt_type_accepted(json_t *typ)
{
    const char  *s;

    if (typ == NULL) {
        return 1;
    }

    if (!json_is_string(typ)) {
        return 0;
    }

    s = json_string_value(typ);

    if (strncasecmp(s, "application/", 12) == 0) {
        s += 12;
    }

    return strcasecmp(s, "JWT") == 0 || strcasecmp(s, "at+jwt") == 0;
}


hoop_jwt_status_t
hoop_jwt_verify(hoop_jwt_t *jwt, const hoop_jwk_t *key,
    const hoop_jwt_policy_t *policy, hoop_identity_t *identity, char *buf,
    size_t cap)
{
    json_t             *claims;
    hoop_jwt_status_t   rc;

    if (key == NULL) {
        return HOOP_JWT_UNKNOWN_KEY;
    }

    /* the key, not the token, decides which algorithms may verify with it */

    if ((key->algs & hoop_jwt_alg_bit(jwt->alg)) == 0) {
        return HOOP_JWT_KEY_MISMATCH;
    }

    rc = hoop_jwt_check_signature(jwt, key);

    if (rc != HOOP_JWT_OK) {
        return rc;
    }

    rc = hoop_jwt_decode_claims(jwt, &claims);

    if (rc != HOOP_JWT_OK) {
        return rc;
    }

    rc = hoop_jwt_check_claims(claims, policy);

    if (rc == HOOP_JWT_OK) {
        rc = hoop_jwt_extract(claims, policy, identity, buf, cap);
    }

    json_decref(claims);

    return rc;
}


void
hoop_jwt_free(hoop_jwt_t *jwt)
{
    json_decref(jwt->header);
    jwt->header = NULL;
}


const char *
hoop_jwt_status_text(hoop_jwt_status_t status)
{
    if ((unsigned) status >= HOOP_JWT_STATUS_COUNT) {
        return "unknown status";
    }

    return hoop_jwt_status_texts[status];
}


static hoop_jwt_status_t
hoop_jwt_check_signature(hoop_jwt_t *jwt, const hoop_jwk_t *key)
{
    int             ok;
    size_t          sig_len;
    EVP_MD_CTX     *md_ctx;
    EVP_PKEY_CTX   *pkey_ctx;
    const EVP_MD   *md;
    unsigned char   der[2 * 66 + 16];
    unsigned char  *sig;

    sig = jwt->sig;
    sig_len = jwt->sig_len;

    if (jwt->alg >= HOOP_JWT_ES256 && jwt->alg <= HOOP_JWT_ES512) {
        if (hoop_jwt_ecdsa_to_der(jwt->alg, jwt->sig, jwt->sig_len, der,
                                  &sig_len)
            != 0)
        {
            return HOOP_JWT_BAD_SIGNATURE;
        }

        sig = der;
    }

    md_ctx = EVP_MD_CTX_new();

    if (md_ctx == NULL) {
        return HOOP_JWT_INTERNAL;
    }

    md = hoop_jwt_digest(jwt->alg);
    pkey_ctx = NULL;

    ok = EVP_DigestVerifyInit(md_ctx, &pkey_ctx, md, NULL, key->pkey) == 1;

    if (ok && jwt->alg >= HOOP_JWT_PS256 && jwt->alg <= HOOP_JWT_PS512) {

        /* RFC 7518 3.5: MGF1 with the same hash, salt as long as the hash */

        ok = EVP_PKEY_CTX_set_rsa_padding(pkey_ctx, RSA_PKCS1_PSS_PADDING) > 0
             && EVP_PKEY_CTX_set_rsa_pss_saltlen(pkey_ctx,
                                                 RSA_PSS_SALTLEN_DIGEST) > 0
             && EVP_PKEY_CTX_set_rsa_mgf1_md(pkey_ctx, md) > 0;
    }

    if (!ok) {
        EVP_MD_CTX_free(md_ctx);
        ERR_clear_error();
        return HOOP_JWT_INTERNAL;
    }

    ok = EVP_DigestVerify(md_ctx, sig, sig_len,
                          (const unsigned char *) jwt->signing_input,
                          jwt->signing_input_len) == 1;

    EVP_MD_CTX_free(md_ctx);

    /* a failed check leaves errors nginx would report later as its own */

    ERR_clear_error();

    return ok ? HOOP_JWT_OK : HOOP_JWT_BAD_SIGNATURE;
}


/* JWS carries ECDSA signatures as fixed-size r || s; OpenSSL wants DER. */
static int
hoop_jwt_ecdsa_to_der(int alg, const unsigned char *sig, size_t len,
    unsigned char *der, size_t *der_len)
{
    int             n;
    size_t          half;
    BIGNUM         *r, *s;
    ECDSA_SIG      *ecsig;
    unsigned char  *p;

    half = alg == HOOP_JWT_ES256 ? 32 : alg == HOOP_JWT_ES384 ? 48 : 66;

    if (len != 2 * half) {
        return -1;
    }

    ecsig = ECDSA_SIG_new();
    r = BN_bin2bn(sig, (int) half, NULL);
    s = BN_bin2bn(sig + half, (int) half, NULL);

    if (ecsig == NULL || r == NULL || s == NULL
        || ECDSA_SIG_set0(ecsig, r, s) != 1)
    {
        ECDSA_SIG_free(ecsig);
        BN_free(r);
        BN_free(s);
        return -1;
    }

    p = der;
    n = i2d_ECDSA_SIG(ecsig, &p);
    ECDSA_SIG_free(ecsig);

    if (n <= 0) {
        ERR_clear_error();
        return -1;
    }

    *der_len = (size_t) n;

    return 0;
}


static const EVP_MD *
hoop_jwt_digest(int alg)
{
    switch (alg) {

    case HOOP_JWT_RS256:
    case HOOP_JWT_PS256:
    case HOOP_JWT_ES256:
        return EVP_sha256();

    case HOOP_JWT_RS384:
    case HOOP_JWT_PS384:
    case HOOP_JWT_ES384:
        return EVP_sha384();

    case HOOP_JWT_RS512:
    case HOOP_JWT_PS512:
    case HOOP_JWT_ES512:
        return EVP_sha512();

    default:
        return NULL;           /* EdDSA hashes internally */
    }
}


static hoop_jwt_status_t
hoop_jwt_decode_claims(hoop_jwt_t *jwt, json_t **claims)
{
    size_t          n;
    json_error_t    err;
    unsigned char  *buf;

    buf = malloc(hoop_base64url_decoded_max(jwt->payload_len));

    if (buf == NULL) {
        return HOOP_JWT_INTERNAL;
    }

    n = hoop_base64url_decode(buf, jwt->payload, jwt->payload_len);

    if (n == (size_t) -1) {
        free(buf);
        return HOOP_JWT_MALFORMED;
    }

    *claims = json_loadb((const char *) buf, n, JSON_REJECT_DUPLICATES, &err);
    free(buf);

    if (!json_is_object(*claims)) {
        json_decref(*claims);
        return HOOP_JWT_BAD_CLAIMS;
    }

    return HOOP_JWT_OK;
}


static hoop_jwt_status_t
hoop_jwt_check_claims(json_t *claims, const hoop_jwt_policy_t *policy)
{
    json_t  *v;

    if (policy->issuer != NULL) {
        v = json_object_get(claims, "iss");

        if (!json_is_string(v)
            || strcmp(json_string_value(v), policy->issuer) != 0
            || json_string_length(v) != strlen(policy->issuer))
        {
            return HOOP_JWT_BAD_ISSUER;
        }
    }

    if (policy->audience != NULL
        && !hoop_jwt_audience_matches(json_object_get(claims, "aud"),
                                      policy->audience))
    {
        return HOOP_JWT_BAD_AUDIENCE;
    }

    v = json_object_get(claims, "exp");

    if (v == NULL) {
        return HOOP_JWT_NO_EXPIRY;
    }

    if (!json_is_number(v)) {
        return HOOP_JWT_BAD_CLAIMS;
    }

    /* RFC 7519 4.1.4: the token must not be accepted on or after exp */

    if ((double) policy->now >= json_number_value(v) + (double) policy->leeway)
    {
        return HOOP_JWT_EXPIRED;
    }

    v = json_object_get(claims, "nbf");

    if (v != NULL) {
        if (!json_is_number(v)) {
            return HOOP_JWT_BAD_CLAIMS;
        }

        if ((double) policy->now + (double) policy->leeway
            < json_number_value(v))
        {
            return HOOP_JWT_NOT_YET_VALID;
        }
    }

    v = json_object_get(claims, "sub");

    if (v == NULL || (json_is_string(v) && json_string_length(v) == 0)) {
        return HOOP_JWT_NO_SUBJECT;
    }

    if (!json_is_string(v)) {
        return HOOP_JWT_BAD_CLAIMS;
    }

    return HOOP_JWT_OK;
}


static int
hoop_jwt_audience_matches(json_t *aud, const char *audience)
{
    size_t   i, len;
    json_t  *v;

    len = strlen(audience);

    if (json_is_string(aud)) {
        return json_string_length(aud) == len
               && memcmp(json_string_value(aud), audience, len) == 0;
    }

    if (!json_is_array(aud)) {
        return 0;
    }

    json_array_foreach(aud, i, v) {
        if (json_is_string(v) && json_string_length(v) == len
            && memcmp(json_string_value(v), audience, len) == 0)
        {
            return 1;
        }
    }

    return 0;
}


static hoop_jwt_status_t
hoop_jwt_extract(json_t *claims, const hoop_jwt_policy_t *policy,
    hoop_identity_t *id, char *buf, size_t cap)
{
    char    *pos, *end;
    json_t  *client;

    memset(id, 0, sizeof(hoop_identity_t));

    pos = buf;
    end = buf + cap;

    client = json_object_get(claims, "client_id");

    if (client == NULL) {
        client = json_object_get(claims, "azp");
    }

    /*
     * These values end up in logs, headers and audit events: a control
     * character in any of them makes the whole token unacceptable.
     */

    if (hoop_jwt_copy_claim(json_object_get(claims, "sub"), &id->sub, &pos,
                            end) != 0
        || hoop_jwt_copy_claim(json_object_get(claims, "email"), &id->email,
                               &pos, end) != 0
        || hoop_jwt_copy_claim(client, &id->client_id, &pos, end) != 0
        || hoop_jwt_copy_claim(json_object_get(claims, "jti"), &id->jti,
                               &pos, end) != 0
        || hoop_jwt_copy_claim(json_object_get(claims, "iss"), &id->iss,
                               &pos, end) != 0)
    {
        return HOOP_JWT_BAD_CLAIMS;
    }

    id->exp = hoop_jwt_seconds(json_object_get(claims, "exp"));

    hoop_jwt_copy_groups(hoop_jwt_claim_path(claims,
                                             policy->groups_claim
                                             ? policy->groups_claim
                                             : "groups"),
                         id, &pos, end);

    return HOOP_JWT_OK;
}


/* A NumericDate as whole seconds, clamped: casting 1e300 is undefined. */
static long long
hoop_jwt_seconds(json_t *v)
{
    double  d;

    d = json_number_value(v);

    if (d >= 9.2e18) {
        return 9200000000000000000LL;
    }

    if (d <= -9.2e18) {
        return -9200000000000000000LL;
    }

    return (long long) d;
}


/* "realm_access.roles" walks nested objects, as Keycloak puts its roles. */
static json_t *
hoop_jwt_claim_path(json_t *claims, const char *path)
{
    json_t      *v;
    const char  *dot;

    v = claims;

    for ( ;; ) {
        dot = strchr(path, '.');

        if (!json_is_object(v)) {
            return NULL;
        }

        if (dot == NULL) {
            return json_object_get(v, path);
        }

        v = json_object_getn(v, path, (size_t) (dot - path));
        path = dot + 1;
    }
}


/* Non-strings are ignored (an absent claim); 0 or -1 for a bad string. */
static int
hoop_jwt_copy_claim(json_t *v, hoop_str_t *dst, char **pos, char *end)
{
    size_t  len;

    if (!json_is_string(v)) {
        return 0;
    }

    len = json_string_length(v);

    if (hoop_jwt_has_control(json_string_value(v), len)
        || len > (size_t) (end - *pos))
    {
        return -1;
    }

    memcpy(*pos, json_string_value(v), len);
    dst->data = *pos;
    dst->len = len;
    *pos += len;

    return 0;
}


static void
hoop_jwt_copy_groups(json_t *v, hoop_identity_t *id, char **pos, char *end)
{
    size_t       i, n, len;
    json_t      *g;
    const char  *s;

    id->groups.data = *pos;
    id->groups.len = 0;

    n = json_is_array(v) ? json_array_size(v) : json_is_string(v) ? 1 : 0;

    for (i = 0; i < n; i++) {
        g = json_is_array(v) ? json_array_get(v, i) : v;

        if (!json_is_string(g)) {
            id->groups_dropped++;
            continue;
        }

        s = json_string_value(g);
        len = json_string_length(g);

        /*
         * A name with a comma would read as two groups in the list, so a
         * group named "x,admins" could pass for "admins": leave it out.
         */

        if (!hoop_jwt_group_name_ok(s, len)
            || len + 1 > (size_t) (end - *pos))
        {
            id->groups_dropped++;
            continue;
        }

        if (id->ngroups > 0) {
            *(*pos)++ = ',';
        }

        memcpy(*pos, s, len);
        *pos += len;
        id->ngroups++;
    }

    id->groups.len = (size_t) (*pos - id->groups.data);

    if (id->groups.len == 0) {
        id->groups.data = NULL;
    }
}


static int
hoop_jwt_group_name_ok(const char *s, size_t len)
{
    return len > 0 && memchr(s, ',', len) == NULL
           && !hoop_jwt_has_control(s, len);
}


static int
hoop_jwt_has_control(const char *s, size_t len)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        if ((unsigned char) s[i] < 0x20 || s[i] == 0x7f) {
            return 1;
        }
    }

    return 0;
}
