/*
 * Copyright (C) nginx-hoop authors
 *
 * The BackendKeyData the gateway gives a client: the upstream's real
 * process id and cancel key, enciphered under a secret only the gateway
 * holds.  A CancelRequest may arrive on any worker (it is a new
 * connection); the key itself says which upstream backend to cancel, so
 * no table has to be shared, and the client never learns the real key.
 *
 * The cipher is a 4-round Feistel network over 62 bits (a 30-bit process
 * id and the 32-bit key), with HMAC-SHA-256 as round function, so the
 * output pid is always positive (tools break on negative ones).
 */

#ifndef HOOP_PG_CANCEL_H
#define HOOP_PG_CANCEL_H

#include <stdint.h>


#define HOOP_PG_CANCEL_SECRET_LEN  32


/* 0, or -1 when pid does not fit in 30 bits (the key is then unusable) */
int hoop_pg_cancel_seal(const unsigned char *secret, uint32_t pid,
    uint32_t key, uint32_t *out_pid, uint32_t *out_key);

/* The inverse; -1 when the client's pair cannot be one we issued. */
int hoop_pg_cancel_open(const unsigned char *secret, uint32_t pid,
    uint32_t key, uint32_t *real_pid, uint32_t *real_key);

#endif /* HOOP_PG_CANCEL_H */
