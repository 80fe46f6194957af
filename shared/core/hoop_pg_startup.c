/*
 * Copyright (C) nginx-hoop authors
 */

#include "hoop_pg_startup.h"


static uint32_t
hoop_pg_get_u32(const unsigned char *p)
{
    return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16
           | (uint32_t) p[2] << 8 | (uint32_t) p[3];
}


hoop_pg_startup_kind_e
hoop_pg_startup_classify(const unsigned char *buf, size_t n,
    size_t *packet_len, uint32_t *version)
{
    uint32_t  len, code;

    if (n < 8) {
        return HOOP_PG_STARTUP_INCOMPLETE;
    }

    len = hoop_pg_get_u32(buf);
    code = hoop_pg_get_u32(buf + 4);

    *packet_len = len;
    *version = 0;

    if (code == HOOP_PG_SSL_REQUEST_CODE) {
        return len == 8 ? HOOP_PG_STARTUP_SSL : HOOP_PG_STARTUP_INVALID;
    }

    if (code == HOOP_PG_GSSENC_REQUEST_CODE) {
        return len == 8 ? HOOP_PG_STARTUP_GSSENC : HOOP_PG_STARTUP_INVALID;
    }

    if (code == HOOP_PG_CANCEL_REQUEST_CODE) {
        /* PG 18 (protocol 3.2) cancel keys may be up to 256 bytes long */
        return (len >= 16 && len <= 8 + 256) ? HOOP_PG_STARTUP_CANCEL
                                             : HOOP_PG_STARTUP_INVALID;
    }

    /*
     * a StartupMessage holds at least the terminating NUL of an empty
     * parameter list; protocol 2 and earlier are long gone
     */

    if (code >> 16 != 3 || len < 9 || len > HOOP_PG_STARTUP_MAX) {
        return HOOP_PG_STARTUP_INVALID;
    }

    *version = code;

    return HOOP_PG_STARTUP_MESSAGE;
}
