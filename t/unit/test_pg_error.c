/*
 * Copyright (C) nginx-hoop authors
 *
 * ErrorResponse / NoticeResponse encoding, byte for byte.
 */

#include "tap.h"
#include "hoop_pg_error.h"


int
main(void)
{
    size_t           n;
    unsigned char    buf[256];
    hoop_pg_error_t  e;

    static const unsigned char  want[] =
        "E\0\0\0\x2f"
        "SFATAL\0" "VFATAL\0" "C08006\0" "Mno server\0" "Hcheck it\0";

    memset(&e, 0, sizeof(e));
    e.severity = "FATAL";
    e.sqlstate = "08006";
    e.message = "no server";
    e.hint = "check it";

    /* sizeof(want) counts the final NUL the string literal adds: it is
     * the field list terminator */

    n = hoop_pg_error_encode(buf, sizeof(buf), 'E', &e);
    is_mem(buf, n, want, sizeof(want), "FATAL with hint, byte for byte");
    is_int(hoop_pg_error_size(&e), sizeof(want), "size() predicts it");

    is_int(hoop_pg_error_encode(buf, sizeof(want) - 1, 'E', &e), 0,
           "a buffer one byte short is refused");
    is_int(hoop_pg_error_encode(buf, sizeof(want), 'E', &e), sizeof(want),
           "an exact buffer is enough");

    e.detail = "d";
    n = hoop_pg_error_encode(buf, sizeof(buf), 'N', &e);
    ok(n == sizeof(want) + 3 && buf[0] == 'N', "NoticeResponse with detail");
    ok(memmem(buf, n, "Dd\0Hcheck it\0\0", 14) != NULL,
       "detail precedes hint, list ends with NUL");
    is_int((buf[1] << 24 | buf[2] << 16 | buf[3] << 8 | buf[4]), n - 1,
           "length counts itself, not the type byte");

    e.sqlstate = "0800";
    is_int(hoop_pg_error_encode(buf, sizeof(buf), 'E', &e), 0,
           "a four-character SQLSTATE is refused");
    e.sqlstate = "08p01";
    is_int(hoop_pg_error_encode(buf, sizeof(buf), 'E', &e), 0,
           "a lower-case SQLSTATE is refused");
    e.sqlstate = "08P011";
    is_int(hoop_pg_error_encode(buf, sizeof(buf), 'E', &e), 0,
           "a six-character SQLSTATE is refused");
    e.sqlstate = NULL;
    is_int(hoop_pg_error_encode(buf, sizeof(buf), 'E', &e), 0,
           "a missing SQLSTATE is refused");

    e.sqlstate = "42501";
    e.message = NULL;
    is_int(hoop_pg_error_encode(buf, sizeof(buf), 'E', &e), 0,
           "a missing message is refused");

    e.message = "m";
    is_int(hoop_pg_error_encode(buf, sizeof(buf), 'Z', &e), 0,
           "only E and N are error-shaped messages");

    return done_testing();
}
