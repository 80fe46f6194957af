/*
 * Copyright (C) nginx-hoop authors
 */

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "hoop_pg_cancel.h"


#define HOOP_PG_CANCEL_ROUNDS  4
#define HOOP_PG_CANCEL_HALF    0x7fffffffu       /* 31 bits */


static uint32_t
hoop_pg_cancel_round(const unsigned char *secret, unsigned round,
    uint32_t half)
{
    unsigned char  in[5], md[EVP_MAX_MD_SIZE];
    unsigned int   mdlen;

    in[0] = (unsigned char) round;
    in[1] = (unsigned char) (half >> 24);
    in[2] = (unsigned char) (half >> 16);
    in[3] = (unsigned char) (half >> 8);
    in[4] = (unsigned char) half;

    if (HMAC(EVP_sha256(), secret, HOOP_PG_CANCEL_SECRET_LEN, in,
             sizeof(in), md, &mdlen) == NULL)
    {
        return 0;
    }

    return ((uint32_t) md[0] << 24 | (uint32_t) md[1] << 16
            | (uint32_t) md[2] << 8 | md[3]) & HOOP_PG_CANCEL_HALF;
}


int
hoop_pg_cancel_seal(const unsigned char *secret, uint32_t pid, uint32_t key,
    uint32_t *out_pid, uint32_t *out_key)
{
    unsigned  i;
    uint32_t  l, r, t;
    uint64_t  v;

    if (pid >> 30) {
        return -1;
    }

    v = (uint64_t) pid << 32 | key;
    l = (uint32_t) (v >> 31) & HOOP_PG_CANCEL_HALF;
    r = (uint32_t) v & HOOP_PG_CANCEL_HALF;

    for (i = 0; i < HOOP_PG_CANCEL_ROUNDS; i++) {
        t = r;
        r = l ^ hoop_pg_cancel_round(secret, i, r);
        l = t;
    }

    *out_pid = l;
    *out_key = r;

    return 0;
}


int
hoop_pg_cancel_open(const unsigned char *secret, uint32_t pid, uint32_t key,
    uint32_t *real_pid, uint32_t *real_key)
{
    unsigned  i;
    uint32_t  l, r, t;
    uint64_t  v;

    if ((pid | key) > HOOP_PG_CANCEL_HALF) {
        return -1;
    }

    l = pid;
    r = key;

    for (i = HOOP_PG_CANCEL_ROUNDS; i > 0; i--) {
        t = l;
        l = r ^ hoop_pg_cancel_round(secret, i - 1, l);
        r = t;
    }

    v = (uint64_t) l << 31 | r;

    *real_pid = (uint32_t) (v >> 32);
    *real_key = (uint32_t) v;

    return 0;
}
