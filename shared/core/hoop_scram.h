/*
 * Copyright (C) nginx-hoop authors
 *
 * The client side of SCRAM-SHA-256 (RFC 5802, RFC 7677), as PostgreSQL
 * asks for it, and PostgreSQL's MD5 password hash: how the gateway logs in
 * to a database with credentials of its own.  The server's signature is
 * checked: a server that does not know the password cannot pass for the
 * database.  Randomness comes from the caller (the client nonce), so
 * every function is deterministic and testable alone.
 */

#ifndef HOOP_SCRAM_H
#define HOOP_SCRAM_H

#include <stddef.h>


#define HOOP_SCRAM_NONCE_MAX     64
#define HOOP_SCRAM_MESSAGE_MAX   1024
#define HOOP_SCRAM_ITERATIONS_MAX  1000000


typedef struct {
    char           client_first_bare[HOOP_SCRAM_MESSAGE_MAX];
    size_t         client_first_bare_len;
    char           nonce[HOOP_SCRAM_NONCE_MAX + 1];
    unsigned char  server_signature[32];
    int            state;           /* 0 new, 1 first sent, 2 final sent */
} hoop_scram_t;


/*
 * client-first-message "n,,n=<user>,r=<nonce>" into out; returns its
 * length, or 0 (nonce empty, too long or not printable, out too small).
 * PostgreSQL takes the user from the startup packet: user may be "".
 */
size_t hoop_scram_client_first(hoop_scram_t *s, const char *user,
    const char *nonce, char *out, size_t out_size);

/*
 * client-final-message (with the proof) from the server-first-message;
 * returns its length, or 0 if the server's message is not acceptable: a
 * nonce that does not extend ours, a bad salt, an iteration count of 0 or
 * above HOOP_SCRAM_ITERATIONS_MAX, an unexpected attribute.
 */
size_t hoop_scram_client_final(hoop_scram_t *s, const char *password,
    size_t password_len, const char *server_first, size_t server_first_len,
    char *out, size_t out_size);

/* 0 when the server-final-message carries the expected signature. */
int hoop_scram_server_final(hoop_scram_t *s, const char *server_final,
    size_t len);

/*
 * PostgreSQL's MD5 password response: "md5" followed by the hex of
 * md5(hex(md5(password || user)) || salt); out takes 36 bytes (NUL
 * included).  Returns 0, or -1 if OpenSSL fails.
 */
int hoop_pg_md5_password(const char *user, size_t user_len,
    const char *password, size_t password_len, const unsigned char salt[4],
    char out[36]);

#endif /* HOOP_SCRAM_H */
