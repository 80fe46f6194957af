/*
 * Copyright (C) nginx-hoop authors
 *
 * Classification of the first packet a Postgres client sends.
 */

#include <stdint.h>

#include "tap.h"
#include "hoop_pg_startup.h"


static void
put32(unsigned char *p, uint32_t v)
{
    p[0] = v >> 24;
    p[1] = v >> 16;
    p[2] = v >> 8;
    p[3] = v;
}


static hoop_pg_startup_kind_e
classify(uint32_t len, uint32_t code, size_t have, size_t *plen)
{
    uint32_t       version;
    unsigned char  buf[8];

    put32(buf, len);
    put32(buf + 4, code);

    return hoop_pg_startup_classify(buf, have, plen, &version);
}


int
main(void)
{
    size_t         len;
    uint32_t       version;
    unsigned char  buf[64];

    is_int(classify(8, 80877103, 7, &len), HOOP_PG_STARTUP_INCOMPLETE,
           "7 bytes are not enough to tell");
    is_int(classify(8, 80877103, 8, &len), HOOP_PG_STARTUP_SSL,
           "SSLRequest");
    is_int(classify(12, 80877103, 8, &len), HOOP_PG_STARTUP_INVALID,
           "SSLRequest with a body is invalid");
    is_int(classify(8, 80877104, 8, &len), HOOP_PG_STARTUP_GSSENC,
           "GSSENCRequest");
    is_int(classify(16, 80877102, 8, &len), HOOP_PG_STARTUP_CANCEL,
           "CancelRequest");
    is_int(len, 16, "its length is reported before it is all read");
    is_int(classify(8, 80877102, 8, &len), HOOP_PG_STARTUP_INVALID,
           "CancelRequest without a key is invalid");
    is_int(classify(300, 80877102, 8, &len), HOOP_PG_STARTUP_INVALID,
           "CancelRequest with an overlong key is invalid");

    memset(buf, 0, sizeof(buf));
    put32(buf, 23);
    put32(buf + 4, 3 << 16);
    memcpy(buf + 8, "user\0bob\0\0", 10);
    is_int(hoop_pg_startup_classify(buf, 23, &len, &version),
           HOOP_PG_STARTUP_MESSAGE, "StartupMessage 3.0");
    is_int(version, 3 << 16, "its version is reported");
    is_int(len, 23, "and its length");

    is_int(classify(40, 3 << 16 | 2, 8, &len), HOOP_PG_STARTUP_MESSAGE,
           "protocol 3.2 is still a StartupMessage");
    is_int(classify(40, 2 << 16, 8, &len), HOOP_PG_STARTUP_INVALID,
           "protocol 2.0 is refused");
    is_int(classify(8, 3 << 16, 8, &len), HOOP_PG_STARTUP_INVALID,
           "a StartupMessage without its terminator is invalid");
    is_int(classify(10001, 3 << 16, 8, &len), HOOP_PG_STARTUP_INVALID,
           "a StartupMessage over 10000 bytes is refused");
    is_int(classify(0xffffffff, 3 << 16, 8, &len), HOOP_PG_STARTUP_INVALID,
           "a length of 4 GB does not wrap around");
    is_int(classify(0x47455420, 0x2f204854, 8, &len),
           HOOP_PG_STARTUP_INVALID, "\"GET / HT\" is not Postgres");

    return done_testing();
}
