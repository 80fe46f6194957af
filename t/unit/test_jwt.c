/*
 * Copyright (C) nginx-hoop authors
 *
 * Token verification, table-driven: every token an honest issuer signs is
 * accepted with the right identity, and every hostile or broken one gets
 * the status that names what is wrong with it.
 */

#include "tap.h"
#include "jose_test_keys.h"

#include <openssl/err.h>

#include "hoop_jwk.h"
#include "hoop_jwt.h"


#define NOW      1700000000
#define ISS      "https://idp.test"
#define AUD      "hoop-gateway"
#define EXP      "1700000300"
#define GOOD     "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\","                  \
                 "\"sub\":\"agent-7\","                                      \
                 "\"exp\":" EXP ",\"email\":\"a7@example.com\","              \
                 "\"groups\":[\"dev\",\"ops\"],\"client_id\":\"cli-1\","      \
                 "\"jti\":\"j-1\"}"
#define CLAIMS(extra)                                                         \
    "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"agent-7\"," extra "}"


enum { RSA1, RSA2, RSA_PS, EC256, EC384, EC521, ED, OTHER_RSA, NKEYS };

static EVP_PKEY  *keys[NKEYS];


typedef struct {
    const char  *name;
    const char  *header;     /* NULL: {"alg":sign_alg,"kid":kid,"typ":..} */
    const char  *claims;
    int          key;        /* which key signs */
    const char  *alg;        /* JWS alg used to sign */
    const char  *kid;
    int          want;
    size_t       max_len;    /* 0: 8192 */
    unsigned     algs;       /* 0: all */
} jwt_case_t;


static char  big_claims[20000];
static char  bomb_claims[12000];
static char  dup_claims[] = "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\","
                            "\"sub\":\"agent-7\",\"exp\":" EXP ","
                            "\"sub\":\"admin\"}";


static const jwt_case_t  cases[] = {
    { "RS256 at+jwt access token", NULL, GOOD, RSA1, "RS256", "rsa1",
      HOOP_JWT_OK, 0, 0 },
    { "RS384", NULL, GOOD, RSA1, "RS384", "rsa1", HOOP_JWT_OK, 0, 0 },
    { "RS512", NULL, GOOD, RSA1, "RS512", "rsa1", HOOP_JWT_OK, 0, 0 },
    { "PS256", NULL, GOOD, RSA1, "PS256", "rsa1", HOOP_JWT_OK, 0, 0 },
    { "PS384", NULL, GOOD, RSA1, "PS384", "rsa1", HOOP_JWT_OK, 0, 0 },
    { "PS512", NULL, GOOD, RSA1, "PS512", "rsa1", HOOP_JWT_OK, 0, 0 },
    { "ES256", NULL, GOOD, EC256, "ES256", "ec256", HOOP_JWT_OK, 0, 0 },
    { "ES384", NULL, GOOD, EC384, "ES384", "ec384", HOOP_JWT_OK, 0, 0 },
    { "ES512 (P-521, 66-byte halves)", NULL, GOOD, EC521, "ES512", "ec521",
      HOOP_JWT_OK, 0, 0 },
    { "EdDSA Ed25519", NULL, GOOD, ED, "EdDSA", "ed1", HOOP_JWT_OK, 0, 0 },
    { "typ JWT", "{\"alg\":\"RS256\",\"kid\":\"rsa1\",\"typ\":\"JWT\"}",
      GOOD, RSA1, "RS256", NULL, HOOP_JWT_OK, 0, 0 },
    { "no typ", "{\"alg\":\"RS256\",\"kid\":\"rsa1\"}", GOOD, RSA1, "RS256",
      NULL, HOOP_JWT_OK, 0, 0 },
    { "typ application/at+JWT", "{\"alg\":\"RS256\",\"kid\":\"rsa1\","
      "\"typ\":\"application/at+JWT\"}", GOOD, RSA1, "RS256", NULL,
      HOOP_JWT_OK, 0, 0 },
    { "typ JOSE is not a JWT", "{\"alg\":\"RS256\",\"kid\":\"rsa1\","
      "\"typ\":\"JOSE\"}", GOOD, RSA1, "RS256", NULL, HOOP_JWT_BAD_TYPE, 0,
      0 },
    { "typ not a string", "{\"alg\":\"RS256\",\"kid\":\"rsa1\",\"typ\":1}",
      GOOD, RSA1, "RS256", NULL, HOOP_JWT_BAD_TYPE, 0, 0 },
    { "no kid, one key does ES256", "{\"alg\":\"ES256\"}", GOOD, EC256,
      "ES256", NULL, HOOP_JWT_OK, 0, 0 },
    { "no kid, two keys do RS256: refused, not tried in turn",
      "{\"alg\":\"RS256\"}", GOOD, RSA1, "RS256", NULL,
      HOOP_JWT_UNKNOWN_KEY, 0, 0 },
    { "jku in the header is ignored, not followed",
      "{\"alg\":\"RS256\",\"kid\":\"rsa1\",\"jku\":\"https://evil/\"}",
      GOOD, RSA1, "RS256", NULL, HOOP_JWT_OK, 0, 0 },

    { "alg none", "{\"alg\":\"none\",\"kid\":\"rsa1\"}", GOOD, RSA1, "RS256",
      NULL, HOOP_JWT_ALG_NOT_ALLOWED, 0, 0 },
    { "alg NONE", "{\"alg\":\"NONE\"}", GOOD, RSA1, "RS256", NULL,
      HOOP_JWT_ALG_NOT_ALLOWED, 0, 0 },
    { "alg missing", "{\"kid\":\"rsa1\"}", GOOD, RSA1, "RS256", NULL,
      HOOP_JWT_ALG_NOT_ALLOWED, 0, 0 },
    { "alg rs256 (case matters)", "{\"alg\":\"rs256\",\"kid\":\"rsa1\"}",
      GOOD, RSA1, "RS256", NULL, HOOP_JWT_ALG_NOT_ALLOWED, 0, 0 },
    { "HS256 keyed with the RSA public key", NULL, GOOD, RSA1, "HS256",
      "rsa1", HOOP_JWT_ALG_NOT_ALLOWED, 0, 0 },
    { "ES256 not in the allow-list", NULL, GOOD, EC256, "ES256", "ec256",
      HOOP_JWT_ALG_NOT_ALLOWED, 0, hoop_jwt_alg_bit(HOOP_JWT_RS256) },
    { "RS256 header naming the EC key", NULL, GOOD, RSA1, "RS256", "ec256",
      HOOP_JWT_KEY_MISMATCH, 0, 0 },
    { "RS256 with a key whose JWK says PS256", NULL, GOOD, RSA_PS, "RS256",
      "rsa-ps", HOOP_JWT_KEY_MISMATCH, 0, 0 },
    { "PS256 with that key", NULL, GOOD, RSA_PS, "PS256", "rsa-ps",
      HOOP_JWT_OK, 0, 0 },
    { "ES384 header naming the P-256 key", NULL, GOOD, EC384, "ES384",
      "ec256", HOOP_JWT_KEY_MISMATCH, 0, 0 },
    { "unknown kid", NULL, GOOD, RSA1, "RS256", "rotated-away",
      HOOP_JWT_UNKNOWN_KEY, 0, 0 },
    { "signed by another key under our kid", NULL, GOOD, OTHER_RSA, "RS256",
      "rsa1", HOOP_JWT_BAD_SIGNATURE, 0, 0 },
    { "ES256 signed by another key under our kid", NULL, GOOD, EC384,
      "ES256", "ec256", HOOP_JWT_BAD_SIGNATURE, 0, 0 },
    { "kid not a string", "{\"alg\":\"RS256\",\"kid\":7}", GOOD, RSA1,
      "RS256", NULL, HOOP_JWT_BAD_HEADER, 0, 0 },
    { "crit extension", "{\"alg\":\"RS256\",\"kid\":\"rsa1\","
      "\"crit\":[\"b64\"],\"b64\":false}", GOOD, RSA1, "RS256", NULL,
      HOOP_JWT_BAD_HEADER, 0, 0 },
    { "duplicate alg in the header", "{\"alg\":\"RS256\",\"kid\":\"rsa1\","
      "\"alg\":\"none\"}", GOOD, RSA1, "RS256", NULL, HOOP_JWT_BAD_HEADER,
      0, 0 },
    { "header is JSON but not an object", "[\"RS256\"]", GOOD, RSA1,
      "RS256", NULL, HOOP_JWT_BAD_HEADER, 0, 0 },
    { "header is not JSON", "alg=RS256", GOOD, RSA1, "RS256", NULL,
      HOOP_JWT_BAD_HEADER, 0, 0 },

    { "wrong issuer", NULL, "{\"iss\":\"https://evil.test\",\"aud\":\"" AUD
      "\",\"sub\":\"a\",\"exp\":" EXP "}", RSA1, "RS256", "rsa1",
      HOOP_JWT_BAD_ISSUER, 0, 0 },
    { "issuer with a trailing slash is another issuer", NULL,
      "{\"iss\":\"" ISS "/\",\"aud\":\"" AUD "\",\"sub\":\"a\",\"exp\":" EXP
      "}", RSA1, "RS256", "rsa1", HOOP_JWT_BAD_ISSUER, 0, 0 },
    { "no issuer", NULL, "{\"aud\":\"" AUD "\",\"sub\":\"a\",\"exp\":" EXP
      "}", RSA1, "RS256", "rsa1", HOOP_JWT_BAD_ISSUER, 0, 0 },
    { "wrong audience", NULL, "{\"iss\":\"" ISS "\",\"aud\":\"other\","
      "\"sub\":\"a\",\"exp\":" EXP "}", RSA1, "RS256", "rsa1",
      HOOP_JWT_BAD_AUDIENCE, 0, 0 },
    { "audience array containing ours", NULL, "{\"iss\":\"" ISS "\","
      "\"aud\":[\"x\",\"" AUD "\"],\"sub\":\"a\",\"exp\":" EXP "}", RSA1,
      "RS256", "rsa1", HOOP_JWT_OK, 0, 0 },
    { "audience array without ours", NULL, "{\"iss\":\"" ISS "\","
      "\"aud\":[\"x\",\"hoop\"],\"sub\":\"a\",\"exp\":" EXP "}", RSA1,
      "RS256", "rsa1", HOOP_JWT_BAD_AUDIENCE, 0, 0 },
    { "no audience", NULL, "{\"iss\":\"" ISS "\",\"sub\":\"a\",\"exp\":" EXP
      "}", RSA1, "RS256", "rsa1", HOOP_JWT_BAD_AUDIENCE, 0, 0 },
    { "expired beyond the leeway", NULL, CLAIMS("\"exp\":1699999939"), RSA1,
      "RS256", "rsa1", HOOP_JWT_EXPIRED, 0, 0 },
    { "expired within the leeway", NULL, CLAIMS("\"exp\":1699999970"), RSA1,
      "RS256", "rsa1", HOOP_JWT_OK, 0, 0 },
    { "exp as a string", NULL, CLAIMS("\"exp\":\"" EXP "\""), RSA1, "RS256",
      "rsa1", HOOP_JWT_BAD_CLAIMS, 0, 0 },
    { "no exp", NULL, CLAIMS("\"jti\":\"x\""), RSA1, "RS256", "rsa1",
      HOOP_JWT_NO_EXPIRY, 0, 0 },
    { "exp 1e300 (no overflow)", NULL, CLAIMS("\"exp\":1e300"), RSA1,
      "RS256", "rsa1", HOOP_JWT_OK, 0, 0 },
    { "not yet valid beyond the leeway", NULL,
      CLAIMS("\"exp\":" EXP ",\"nbf\":1700000120"), RSA1, "RS256", "rsa1",
      HOOP_JWT_NOT_YET_VALID, 0, 0 },
    { "nbf within the leeway", NULL,
      CLAIMS("\"exp\":" EXP ",\"nbf\":1700000030"), RSA1, "RS256", "rsa1",
      HOOP_JWT_OK, 0, 0 },
    { "no sub", NULL, "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"exp\":"
      EXP "}", RSA1, "RS256", "rsa1", HOOP_JWT_NO_SUBJECT, 0, 0 },
    { "sub not a string", NULL, "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\","
      "\"sub\":42,\"exp\":" EXP "}", RSA1, "RS256", "rsa1",
      HOOP_JWT_BAD_CLAIMS, 0, 0 },
    { "newline in sub (log and header injection)", NULL,
      "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"a\\nX-Admin: 1\","
      "\"exp\":" EXP "}", RSA1, "RS256", "rsa1", HOOP_JWT_BAD_CLAIMS, 0, 0 },
    { "NUL in sub", NULL, "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\","
      "\"sub\":\"a\\u0000b\",\"exp\":" EXP "}", RSA1, "RS256", "rsa1",
      HOOP_JWT_BAD_CLAIMS, 0, 0 },
    { "duplicate sub claim", NULL, dup_claims, RSA1, "RS256", "rsa1",
      HOOP_JWT_BAD_CLAIMS, 0, 0 },
    { "claims not an object", NULL, "[1,2,3]", RSA1, "RS256", "rsa1",
      HOOP_JWT_BAD_CLAIMS, 0, 0 },
    { "claims not JSON", NULL, "sub=admin", RSA1, "RS256", "rsa1",
      HOOP_JWT_BAD_CLAIMS, 0, 0 },
    { "oversized token", NULL, big_claims, RSA1, "RS256", "rsa1",
      HOOP_JWT_TOO_LARGE, 0, 0 },
    { "JSON bomb: 5000 nested arrays in the claims", NULL, bomb_claims,
      RSA1, "RS256", "rsa1", HOOP_JWT_BAD_CLAIMS, 65536, 0 },
};


static void
build_big_claims(void)
{
    size_t  n;

    n = (size_t) snprintf(big_claims, sizeof(big_claims),
                          CLAIMS("\"exp\":" EXP ",\"pad\":\""));
    memset(big_claims + n - 1, 'x', 9000);
    strcpy(big_claims + n - 1 + 9000, "\"}");
}


static void
build_bomb_claims(void)
{
    size_t  n;

    n = (size_t) snprintf(bomb_claims, sizeof(bomb_claims),
                          "{\"sub\":\"a\",\"x\":");
    memset(bomb_claims + n, '[', 5000);
    memset(bomb_claims + n + 5000, ']', 5000);
    strcpy(bomb_claims + n + 10000, "}");
}


static char *
jwks_json(void)
{
    static char  buf[65536];

    snprintf(buf, sizeof(buf), "{\"keys\":[%s,%s,%s,%s,%s,%s,%s,"
             "{\"kty\":\"oct\",\"kid\":\"hs\",\"k\":\"c2VjcmV0\"},"
             "%s]}",
             jwk_of(keys[RSA1], "rsa1", ""),
             jwk_of(keys[RSA2], "rsa2", "\"use\":\"sig\","),
             jwk_of(keys[RSA_PS], "rsa-ps", "\"alg\":\"PS256\","),
             jwk_of(keys[EC256], "ec256", ""),
             jwk_of(keys[EC384], "ec384", ""),
             jwk_of(keys[EC521], "ec521", ""),
             jwk_of(keys[ED], "ed1", ""),
             jwk_of(keys[OTHER_RSA], "enc-only", "\"use\":\"enc\","));

    return buf;
}


static const char *
make_token(const jwt_case_t *c)
{
    char    header[512], pem[4096];
    size_t  pem_len;

    if (c->header != NULL) {
        snprintf(header, sizeof(header), "%s", c->header);

    } else {
        snprintf(header, sizeof(header),
                 "{\"alg\":\"%s\",\"kid\":\"%s\",\"typ\":\"at+jwt\"}",
                 c->alg, c->kid);
    }

    pem_len = public_pem(keys[RSA1], pem, sizeof(pem));

    return sign_token(header, c->claims, keys[c->key], c->alg, pem, pem_len);
}


static void
policy_init(hoop_jwt_policy_t *p)
{
    memset(p, 0, sizeof(hoop_jwt_policy_t));
    p->issuer = ISS;
    p->audience = AUD;
    p->algs = HOOP_JWT_ALGS_ALL;
    p->now = NOW;
    p->leeway = 60;
    p->max_len = 8192;
}


/* decode + find + verify, as the gateway does */
static int
check(const hoop_jwks_t *jwks, const char *token, size_t len,
    const hoop_jwt_policy_t *policy, hoop_identity_t *id, char *buf,
    size_t cap)
{
    int                rc;
    hoop_jwt_t         jwt;
    const hoop_jwk_t  *key;

    rc = hoop_jwt_decode(&jwt, token, len, policy);

    if (rc != HOOP_JWT_OK) {
        return rc;
    }

    key = hoop_jwks_find(jwks, jwt.kid, jwt.kid_len, jwt.alg);
    rc = hoop_jwt_verify(&jwt, key, policy, id, buf, cap);
    hoop_jwt_free(&jwt);

    return rc;
}


static void
test_table(const hoop_jwks_t *jwks)
{
    int                 rc;
    char                buf[65536];
    size_t              i;
    const char         *token;
    hoop_identity_t     id;
    hoop_jwt_policy_t   policy;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        policy_init(&policy);

        if (cases[i].max_len) {
            policy.max_len = cases[i].max_len;
        }

        if (cases[i].algs) {
            policy.algs = cases[i].algs;
        }

        token = make_token(&cases[i]);
        rc = check(jwks, token, strlen(token), &policy, &id, buf,
                   strlen(token));

        if (!is_int(rc, cases[i].want, cases[i].name)) {
            printf("#   got \"%s\"\n", hoop_jwt_status_text(rc));
        }

        ok(ERR_peek_error() == 0, "%s: no OpenSSL error left queued",
           cases[i].name);
    }
}


static void
test_identity(const hoop_jwks_t *jwks)
{
    char                buf[4096], json[4096];
    size_t              n;
    const char         *token;
    hoop_identity_t     id;
    jwt_case_t          c;
    hoop_jwt_policy_t   policy;

    policy_init(&policy);
    c = cases[0];
    token = make_token(&c);

    is_int(check(jwks, token, strlen(token), &policy, &id, buf, sizeof(buf)),
           HOOP_JWT_OK, "identity: good token");
    is_mem(id.sub.data, id.sub.len, "agent-7", 7, "sub");
    is_mem(id.email.data, id.email.len, "a7@example.com", 14, "email");
    is_mem(id.groups.data, id.groups.len, "dev,ops", 7, "groups joined");
    is_int(id.ngroups, 2, "two groups");
    is_mem(id.client_id.data, id.client_id.len, "cli-1", 5, "client_id");
    is_mem(id.jti.data, id.jti.len, "j-1", 3, "jti");
    is_mem(id.iss.data, id.iss.len, ISS, strlen(ISS), "iss");
    is_int(id.exp, 1700000300, "exp");

    n = hoop_identity_json(&id, json, sizeof(json));
    is_mem(json, n, "{\"sub\":\"agent-7\",\"email\":\"a7@example.com\","
           "\"groups\":[\"dev\",\"ops\"],\"client_id\":\"cli-1\","
           "\"jti\":\"j-1\",\"iss\":\"" ISS "\"}",
           strlen("{\"sub\":\"agent-7\",\"email\":\"a7@example.com\","
                  "\"groups\":[\"dev\",\"ops\"],\"client_id\":\"cli-1\","
                  "\"jti\":\"j-1\",\"iss\":\"" ISS "\"}"),
           "identity as JSON");
    is_int(hoop_identity_json_size(&id), n, "json size matches");
    is_int(hoop_identity_json(&id, json, n - 1), 0, "too small a buffer");

    /* azp stands in for client_id; groups from a nested path, filtered */

    c.claims = "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"u\\\"q\","
               "\"exp\":" EXP ",\"azp\":\"web\",\"realm_access\":{\"roles\":"
               "[\"admin\",\"x,admin\",7,\"\",\"db\"]}}";
    token = make_token(&c);
    policy.groups_claim = "realm_access.roles";

    is_int(check(jwks, token, strlen(token), &policy, &id, buf, sizeof(buf)),
           HOOP_JWT_OK, "identity: keycloak-style token");
    is_mem(id.groups.data, id.groups.len, "admin,db", 8,
           "nested groups; names with commas, empty or non-strings dropped");
    is_int(id.groups_dropped, 3, "three group entries dropped");
    is_mem(id.client_id.data, id.client_id.len, "web", 3, "azp as client");
    is_int(id.email.len, 0, "no email");

    n = hoop_identity_json(&id, json, sizeof(json));
    is_mem(json, n, "{\"sub\":\"u\\\"q\",\"groups\":[\"admin\",\"db\"],"
           "\"client_id\":\"web\",\"iss\":\"" ISS "\"}",
           strlen("{\"sub\":\"u\\\"q\",\"groups\":[\"admin\",\"db\"],"
                  "\"client_id\":\"web\",\"iss\":\"" ISS "\"}"),
           "quotes escaped, absent members omitted");

    c.claims = "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"u\","
               "\"exp\":" EXP ",\"groups\":\"solo\"}";
    token = make_token(&c);
    policy.groups_claim = NULL;

    is_int(check(jwks, token, strlen(token), &policy, &id, buf, sizeof(buf)),
           HOOP_JWT_OK, "identity: groups as one string");
    is_mem(id.groups.data, id.groups.len, "solo", 4, "one group");

    policy.issuer = NULL;
    policy.audience = NULL;
    c.claims = "{\"sub\":\"u\",\"exp\":" EXP "}";
    token = make_token(&c);
    is_int(check(jwks, token, strlen(token), &policy, &id, buf, sizeof(buf)),
           HOOP_JWT_OK, "no issuer/audience configured: not checked");
}


static void
test_mangled(const hoop_jwks_t *jwks)
{
    char                t[8192], buf[8192];
    size_t              len;
    char               *dot;
    hoop_identity_t     id;
    hoop_jwt_policy_t   policy;

    policy_init(&policy);
    strcpy(t, make_token(&cases[0]));
    len = strlen(t);

#define CHECK(tok, n, want, name)                                            \
    is_int(check(jwks, tok, n, &policy, &id, buf, sizeof(buf)), want, name)

    CHECK(t, len, HOOP_JWT_OK, "untouched token verifies");
    CHECK(t, 0, HOOP_JWT_MALFORMED, "empty token");
    CHECK(t, len - 1, HOOP_JWT_MALFORMED, "signature cut to 1 mod 4");
    CHECK(t, len - 2, HOOP_JWT_BAD_SIGNATURE, "signature cut by a byte");

    dot = strrchr(t, '.');
    CHECK(t, (size_t) (dot - t), HOOP_JWT_MALFORMED, "signature missing");
    CHECK(t, (size_t) (dot - t) + 1, HOOP_JWT_MALFORMED,
          "empty signature");

    t[len] = '.';
    t[len + 1] = 'A';
    CHECK(t, len + 2, HOOP_JWT_MALFORMED, "four segments (JWE-like)");

    t[5] = '!';
    CHECK(t, len, HOOP_JWT_MALFORMED, "garbled header byte");
    strcpy(t, make_token(&cases[0]));

    t[3] = '+';
    CHECK(t, len, HOOP_JWT_MALFORMED, "standard base64 in a segment");
    strcpy(t, make_token(&cases[0]));

    dot = strchr(t, '.');
    dot[10] = dot[10] == 'A' ? 'B' : 'A';
    CHECK(t, len, HOOP_JWT_BAD_SIGNATURE, "one payload character changed");
    strcpy(t, make_token(&cases[0]));

    t[len - 5] = t[len - 5] == 'A' ? 'B' : 'A';
    CHECK(t, len, HOOP_JWT_BAD_SIGNATURE, "one signature character changed");

#undef CHECK
}


static void
test_jwks(void)
{
    char          err[128], doc[65536];
    size_t        i, n;
    hoop_jwks_t   jwks;
    EVP_PKEY     *small;

    memset(&jwks, 0, sizeof(jwks));

    is_int(hoop_jwks_load(&jwks, "{", 1, err, sizeof(err)), -1,
           "jwks: not JSON");
    ok(strcmp(err, "key set is not valid JSON") == 0, "jwks: says why");
    is_int(hoop_jwks_load(&jwks, "{\"kids\":[]}", 11, err, sizeof(err)), -1,
           "jwks: no keys member");
    is_int(hoop_jwks_load(&jwks, "{\"keys\":[]}", 11, err, sizeof(err)), -1,
           "jwks: empty key set");
    ok(strcmp(err, "no usable signing key") == 0, "jwks: empty says why");

    small = key_rsa(1024);
    n = (size_t) snprintf(doc, sizeof(doc), "{\"keys\":[%s,"
                          "{\"kty\":\"oct\",\"k\":\"c2VjcmV0\"},"
                          "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\","
                          "\"y\":\"%s\"},%s,%s]}",
                          jwk_of(small, "small", ""),
                          "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                          "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE",
                          jwk_of(keys[RSA1], "rsa-as-ec", "\"alg\":\"ES256\","),
                          jwk_of(keys[EC256], "ok", ""));
    is_int(hoop_jwks_load(&jwks, doc, n, err, sizeof(err)), 0,
           "jwks: loads with unusable keys among usable");
    is_int(jwks.nkeys, 1, "jwks: only the P-256 key kept");
    is_int(jwks.skipped, 4, "jwks: RSA-1024, oct, off-curve point, "
           "alg not of its kty skipped");
    ok(hoop_jwks_find(&jwks, "ok", 2, HOOP_JWT_ES256) != NULL,
       "jwks: find by kid");
    ok(hoop_jwks_find(&jwks, "small", 5, HOOP_JWT_RS256) == NULL,
       "jwks: skipped key cannot be found");
    hoop_jwks_clear(&jwks);
    EVP_PKEY_free(small);

    n = (size_t) snprintf(doc, sizeof(doc), "{\"keys\":[");

    for (i = 0; i < HOOP_JWKS_MAX_KEYS + 3; i++) {
        n += (size_t) snprintf(doc + n, sizeof(doc) - n, "%s%s",
                               i ? "," : "", jwk_of(keys[ED], "e", ""));
    }

    n += (size_t) snprintf(doc + n, sizeof(doc) - n, "]}");
    is_int(hoop_jwks_load(&jwks, doc, n, err, sizeof(err)), 0,
           "jwks: more keys than the cap");
    is_int(jwks.nkeys, HOOP_JWKS_MAX_KEYS, "jwks: capped");
    is_int(jwks.skipped, 3, "jwks: the rest counted as skipped");
    hoop_jwks_clear(&jwks);

    ok(ERR_peek_error() == 0, "jwks: no OpenSSL error left queued");
}


static void
test_algs(void)
{
    is_int(hoop_jwt_algs_parse("RS256", 5), hoop_jwt_alg_bit(HOOP_JWT_RS256),
           "algs: one");
    is_int(hoop_jwt_algs_parse("RS256, ES256 EdDSA", 18),
           hoop_jwt_alg_bit(HOOP_JWT_RS256) | hoop_jwt_alg_bit(HOOP_JWT_ES256)
           | hoop_jwt_alg_bit(HOOP_JWT_EDDSA), "algs: list");
    is_int(hoop_jwt_algs_parse("RS256 HS256", 11), 0,
           "algs: HS256 has no name here");
    is_int(hoop_jwt_algs_parse("none", 4), 0, "algs: none neither");
    ok(strcmp(hoop_jwt_alg_name(HOOP_JWT_PS512), "PS512") == 0,
       "algs: name");
    ok(hoop_jwt_alg_name(HOOP_JWT_ALG_COUNT) == NULL, "algs: no name past");
}


int
main(void)
{
    char         err[128];
    const char  *doc;
    hoop_jwks_t  jwks;

    keys[RSA1] = key_rsa(2048);
    keys[RSA2] = key_rsa(2048);
    keys[RSA_PS] = key_rsa(2048);
    keys[EC256] = key_ec("P-256");
    keys[EC384] = key_ec("P-384");
    keys[EC521] = key_ec("P-521");
    keys[ED] = key_ed25519();
    keys[OTHER_RSA] = key_rsa(2048);

    build_big_claims();
    build_bomb_claims();

    memset(&jwks, 0, sizeof(jwks));
    doc = jwks_json();

    is_int(hoop_jwks_load(&jwks, doc, strlen(doc), err, sizeof(err)), 0,
           "test key set loads");
    is_int(jwks.nkeys, 7, "seven usable keys");
    is_int(jwks.skipped, 2, "the oct key and the enc key are skipped");

    test_table(&jwks);
    test_identity(&jwks);
    test_mangled(&jwks);
    test_jwks();
    test_algs();

    hoop_jwks_clear(&jwks);

    for (int i = 0; i < NKEYS; i++) {
        EVP_PKEY_free(keys[i]);
    }

    return done_testing();
}
