/*
 * Copyright (C) nginx-hoop authors
 */

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "hoop_scram.h"


static size_t
b64_encode(const unsigned char *in, size_t len, char *out, size_t out_size)
{
    if (out_size < 4 * ((len + 2) / 3) + 1) {
        return 0;
    }

    return (size_t) EVP_EncodeBlock((unsigned char *) out, in, (int) len);
}


/* strict: whole quads, padding only at the end; returns -1 if bad */
static long
b64_decode(const char *in, size_t len, unsigned char *out, size_t out_size)
{
    int            n;
    size_t         pad;
    unsigned char  again[256];

    if (len == 0 || len % 4 != 0 || out_size < len / 4 * 3) {
        return -1;
    }

    pad = (in[len - 1] == '=') + (in[len - 2] == '=');

    n = EVP_DecodeBlock(out, (const unsigned char *) in, (int) len);

    if (n < 0 || (size_t) n < pad || len > sizeof(again)) {
        return -1;
    }

    /* one spelling per value: unused bits set are not the same text */

    if ((size_t) EVP_EncodeBlock(again, out, n - (int) pad) != len
        || memcmp(again, in, len) != 0)
    {
        return -1;
    }

    return n - (long) pad;
}


static int
hmac256(const unsigned char *key, size_t key_len, const void *msg,
    size_t msg_len, unsigned char out[32])
{
    unsigned int  n;

    return HMAC(EVP_sha256(), key, (int) key_len, msg, msg_len, out, &n)
           != NULL ? 0 : -1;
}


/* the value of attribute "a=" at *p, up to the next ',' or the end */
static int
attribute(const char **p, const char *end, char name, const char **v,
    size_t *len)
{
    const char  *q;

    if (end - *p < 2 || (*p)[0] != name || (*p)[1] != '=') {
        return -1;
    }

    *v = *p + 2;

    for (q = *v; q < end && *q != ','; q++) {
        /* void */
    }

    *len = (size_t) (q - *v);
    *p = (q < end) ? q + 1 : q;

    return 0;
}


size_t
hoop_scram_client_first(hoop_scram_t *s, const char *user,
    const char *nonce, char *out, size_t out_size)
{
    char        *b;
    size_t       i, n, len;
    const char  *u;

    memset(s, 0, sizeof(hoop_scram_t));

    n = strlen(nonce);

    if (n == 0 || n > HOOP_SCRAM_NONCE_MAX) {
        return 0;
    }

    /* printable, without ',' (RFC 5802 "printable") */

    for (i = 0; i < n; i++) {
        if (nonce[i] < 0x21 || nonce[i] > 0x7e || nonce[i] == ',') {
            return 0;
        }
    }

    memcpy(s->nonce, nonce, n + 1);

    /* client-first-message-bare: n=<saslname>,r=<nonce> */

    b = s->client_first_bare;
    len = 0;
    memcpy(b, "n=", 2);
    len = 2;

    for (u = user; *u; u++) {
        if (len + 3 + n + 3 >= sizeof(s->client_first_bare)) {
            return 0;
        }

        if (*u == ',') {
            memcpy(b + len, "=2C", 3);
            len += 3;

        } else if (*u == '=') {
            memcpy(b + len, "=3D", 3);
            len += 3;

        } else {
            b[len++] = *u;
        }
    }

    memcpy(b + len, ",r=", 3);
    len += 3;
    memcpy(b + len, nonce, n);
    len += n;

    s->client_first_bare_len = len;

    if (out_size < len + 3) {
        return 0;
    }

    memcpy(out, "n,,", 3);
    memcpy(out + 3, b, len);
    s->state = 1;

    return len + 3;
}


size_t
hoop_scram_client_final(hoop_scram_t *s, const char *password,
    size_t password_len, const char *server_first, size_t server_first_len,
    char *out, size_t out_size)
{
    long           salt_len, iterations;
    size_t         i, nonce_len, len, final_len, auth_len;
    const char    *p, *end, *nonce, *salt64, *iter;
    unsigned char  salt[128], salted[32], client_key[32], stored_key[32],
                   client_sig[32], server_key[32], proof[32];
    char           auth[3 * HOOP_SCRAM_MESSAGE_MAX], final[512];

    if (s->state != 1 || server_first_len >= HOOP_SCRAM_MESSAGE_MAX) {
        return 0;
    }

    p = server_first;
    end = server_first + server_first_len;

    /* r=<nonce>,s=<salt>,i=<iterations>: no mandatory extension (m=) */

    if (attribute(&p, end, 'r', &nonce, &nonce_len) != 0
        || attribute(&p, end, 's', &salt64, &len) != 0)
    {
        return 0;
    }

    salt_len = b64_decode(salt64, len, salt, sizeof(salt));

    if (attribute(&p, end, 'i', &iter, &len) != 0 || len == 0 || len > 9
        || salt_len <= 0)
    {
        return 0;
    }

    for (iterations = 0, i = 0; i < len; i++) {
        if (iter[i] < '0' || iter[i] > '9') {
            return 0;
        }

        iterations = iterations * 10 + (iter[i] - '0');
    }

    if (iterations < 1 || iterations > HOOP_SCRAM_ITERATIONS_MAX) {
        return 0;
    }

    /* the server's nonce must extend ours, and add to it */

    if (nonce_len <= strlen(s->nonce)
        || memcmp(nonce, s->nonce, strlen(s->nonce)) != 0)
    {
        return 0;
    }

    for (i = 0; i < nonce_len; i++) {
        if (nonce[i] < 0x21 || nonce[i] > 0x7e || nonce[i] == ',') {
            return 0;
        }
    }

    /* client-final-message-without-proof: c=biws (gs2 "n,,"),r=<nonce> */

    if (nonce_len + 12 >= sizeof(final)) {
        return 0;
    }

    memcpy(final, "c=biws,r=", 9);
    memcpy(final + 9, nonce, nonce_len);
    final_len = 9 + nonce_len;

    /* AuthMessage = client-first-bare "," server-first "," final-no-proof */

    auth_len = s->client_first_bare_len + 1 + server_first_len + 1
               + final_len;

    if (auth_len > sizeof(auth)) {
        return 0;
    }

    memcpy(auth, s->client_first_bare, s->client_first_bare_len);
    len = s->client_first_bare_len;
    auth[len++] = ',';
    memcpy(auth + len, server_first, server_first_len);
    len += server_first_len;
    auth[len++] = ',';
    memcpy(auth + len, final, final_len);

    /* SaltedPassword, the client's proof, the server's expected signature */

    if (PKCS5_PBKDF2_HMAC(password, (int) password_len, salt, (int) salt_len,
                          (int) iterations, EVP_sha256(), 32, salted)
        != 1
        || hmac256(salted, 32, "Client Key", 10, client_key) != 0
        || SHA256(client_key, 32, stored_key) == NULL
        || hmac256(stored_key, 32, auth, auth_len, client_sig) != 0
        || hmac256(salted, 32, "Server Key", 10, server_key) != 0
        || hmac256(server_key, 32, auth, auth_len, s->server_signature) != 0)
    {
        OPENSSL_cleanse(salted, sizeof(salted));
        return 0;
    }

    for (i = 0; i < 32; i++) {
        proof[i] = client_key[i] ^ client_sig[i];
    }

    OPENSSL_cleanse(salted, sizeof(salted));
    OPENSSL_cleanse(client_key, sizeof(client_key));

    if (out_size < final_len + 3 + 45) {
        return 0;
    }

    memcpy(out, final, final_len);
    memcpy(out + final_len, ",p=", 3);
    len = b64_encode(proof, 32, out + final_len + 3,
                     out_size - final_len - 3);

    if (len == 0) {
        return 0;
    }

    s->state = 2;

    return final_len + 3 + len;
}


int
hoop_scram_server_final(hoop_scram_t *s, const char *server_final,
    size_t len)
{
    long           n;
    size_t         vlen;
    const char    *p, *v;
    unsigned char  sig[64];

    if (s->state != 2) {
        return -1;
    }

    p = server_final;

    /* "e=<error>" is a refusal; "v=<signature>" must be ours exactly */

    if (attribute(&p, server_final + len, 'v', &v, &vlen) != 0
        || p != server_final + len)
    {
        return -1;
    }

    n = b64_decode(v, vlen, sig, sizeof(sig));

    if (n != 32 || CRYPTO_memcmp(sig, s->server_signature, 32) != 0) {
        return -1;
    }

    return 0;
}


int
hoop_pg_md5_password(const char *user, size_t user_len, const char *password,
    size_t password_len, const unsigned char salt[4], char out[36])
{
    size_t         i;
    unsigned int   n;
    unsigned char  md[EVP_MAX_MD_SIZE];
    char           hex[32];
    EVP_MD_CTX    *ctx;

    static const char  digits[] = "0123456789abcdef";

    ctx = EVP_MD_CTX_new();
    if (ctx == NULL) {
        return -1;
    }

    /* inner: md5(password || user), as hex */

    if (EVP_DigestInit_ex(ctx, EVP_md5(), NULL) != 1
        || EVP_DigestUpdate(ctx, password, password_len) != 1
        || EVP_DigestUpdate(ctx, user, user_len) != 1
        || EVP_DigestFinal_ex(ctx, md, &n) != 1)
    {
        EVP_MD_CTX_free(ctx);
        return -1;
    }

    for (i = 0; i < 16; i++) {
        hex[2 * i] = digits[md[i] >> 4];
        hex[2 * i + 1] = digits[md[i] & 0xf];
    }

    /* outer: md5(hex || salt) */

    if (EVP_DigestInit_ex(ctx, EVP_md5(), NULL) != 1
        || EVP_DigestUpdate(ctx, hex, 32) != 1
        || EVP_DigestUpdate(ctx, salt, 4) != 1
        || EVP_DigestFinal_ex(ctx, md, &n) != 1)
    {
        EVP_MD_CTX_free(ctx);
        return -1;
    }

    EVP_MD_CTX_free(ctx);

    memcpy(out, "md5", 3);

    for (i = 0; i < 16; i++) {
        out[3 + 2 * i] = digits[md[i] >> 4];
        out[3 + 2 * i + 1] = digits[md[i] & 0xf];
    }

    out[35] = '\0';

    return 0;
}
