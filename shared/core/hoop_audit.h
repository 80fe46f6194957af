/*
 * Copyright (C) nginx-hoop authors
 *
 * The chain that makes the audit trail tamper-evident.  Every event of a
 * session carries the hash of the one before it:
 *
 *     hash(n) = H(hash(n-1) || "\n" || event(n))
 *
 * with hash(0) = 64 zeros, H = HMAC-SHA-256 under the gateway's audit key
 * when one is configured (an attacker with write access to Redis cannot
 * recompute the chain), plain SHA-256 otherwise (edits, deletions and
 * reorderings are still visible to anyone who kept a later hash).  The
 * event text itself holds its session and sequence number, so moving an
 * event to another place breaks the chain too.
 */

#ifndef HOOP_AUDIT_H
#define HOOP_AUDIT_H

#include <stddef.h>


#define HOOP_AUDIT_HASH_LEN   64        /* hex characters */
#define HOOP_AUDIT_VERSION    1


/*
 * Computes hash(n) into out (HOOP_AUDIT_HASH_LEN + 1 bytes, hex, NUL-
 * terminated) from prev (HOOP_AUDIT_HASH_LEN hex characters) and the
 * event's exact bytes; key may be NULL.  Returns 0, or -1 if OpenSSL
 * fails.
 */
int hoop_audit_chain(const char *prev, const char *event, size_t len,
    const unsigned char *key, size_t key_len, char *out);

/*
 * The same, for a stream of events: the digest (or the keyed HMAC) is
 * looked up and set up once, not per event, which is most of what a link
 * costs for an event of a few hundred bytes.  Owned by the caller; one
 * per thread.
 */
typedef struct hoop_audit_hasher_s  hoop_audit_hasher_t;

/* NULL if OpenSSL fails; key may be NULL (plain SHA-256). */
hoop_audit_hasher_t *hoop_audit_hasher_new(const unsigned char *key,
    size_t key_len);
void hoop_audit_hasher_free(hoop_audit_hasher_t *h);

int hoop_audit_hasher_chain(hoop_audit_hasher_t *h, const char *prev,
    const char *event, size_t len, char *out);

/* len bytes as 2 * len lowercase hex characters and a NUL, into out. */
void hoop_audit_hex(const unsigned char *in, size_t len, char *out);

/*
 * Compares two Redis stream entry ids ("<ms>-<seq>", each a decimal of at
 * most 20 digits): -1, 0 or 1 as a is older, the same or newer; -2 if
 * either is malformed.  Ids order the entries of a stream, so an id
 * Redis says is its newest, older than one it returned earlier, means
 * the entries in between are gone from it.
 */
int hoop_audit_stream_id_cmp(const char *a, size_t alen, const char *b,
    size_t blen);

/* The hash before the first event of a session: 64 '0's. */
extern const char  hoop_audit_genesis[HOOP_AUDIT_HASH_LEN + 1];

#endif /* HOOP_AUDIT_H */
