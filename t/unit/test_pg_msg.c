/*
 * Copyright (C) nginx-hoop authors
 *
 * Startup parameters (parsed, judged, rebuilt), the fields the gateway
 * reads from server messages, and the enciphered cancel keys.
 */

#include <stdint.h>
#include <string.h>

#include "tap.h"
#include "hoop_pg_cancel.h"
#include "hoop_pg_msg.h"


static size_t
startup(unsigned char *buf, const char *pairs, size_t plen)
{
    size_t  len;

    len = 8 + plen;
    hoop_pg_put32(buf, (uint32_t) len);
    hoop_pg_put32(buf + 4, 3u << 16);
    memcpy(buf + 8, pairs, plen);

    return len;
}


static void
test_params(void)
{
    int              n;
    size_t           len, blen;
    unsigned char    buf[256], out[256];
    hoop_pg_param_t  p[4], q[4];

    len = startup(buf, "user\0agent\0database\0app\0\0", 25);
    n = hoop_pg_startup_params(buf, len, p, 4);
    is_int(n, 2, "two parameters");
    ok(strcmp(p[0].name, "user") == 0 && strcmp(p[0].value, "agent") == 0,
       "user=agent");
    ok(strcmp(p[1].name, "database") == 0 && strcmp(p[1].value, "app") == 0,
       "database=app");

    len = startup(buf, "\0", 1);
    is_int(hoop_pg_startup_params(buf, len, p, 4), 0, "no parameters");

    len = startup(buf, "user\0agent\0", 11);
    is_int(hoop_pg_startup_params(buf, len, p, 4), -1,
           "no terminating NUL: malformed");

    len = startup(buf, "user\0agent\0\0x", 13);
    is_int(hoop_pg_startup_params(buf, len, p, 4), -1,
           "bytes after the terminator: malformed");

    len = startup(buf, "user\0\0", 6);
    is_int(hoop_pg_startup_params(buf, len, p, 4), -1,
           "a name without a value: malformed");

    len = startup(buf, "a\0b\0c\0d\0e\0f\0\0", 13);
    is_int(hoop_pg_startup_params(buf, len, p, 2), -1,
           "more pairs than room: malformed");

    len = startup(buf, "user\0agent\0\0", 12);
    hoop_pg_put32(buf, 99);
    is_int(hoop_pg_startup_params(buf, len, p, 4), -1,
           "length field disagrees: malformed");

    ok(hoop_pg_param_verdict("user", "x") == HOOP_PG_PARAM_SESSION,
       "user is the gateway's to set");
    ok(hoop_pg_param_verdict("application_name", "x") == HOOP_PG_PARAM_PASS,
       "application_name passes");
    ok(hoop_pg_param_verdict("datestyle", "x") == HOOP_PG_PARAM_PASS,
       "GUC names match case-insensitively");
    ok(hoop_pg_param_verdict("options", "x") == HOOP_PG_PARAM_REFUSE,
       "options refused");
    ok(hoop_pg_param_verdict("replication", "x") == HOOP_PG_PARAM_REFUSE,
       "replication refused");
    ok(hoop_pg_param_verdict("role", "x") == HOOP_PG_PARAM_REFUSE,
       "role refused");
    ok(hoop_pg_param_verdict("standard_conforming_strings", "x")
       == HOOP_PG_PARAM_REFUSE,
       "standard_conforming_strings refused (it changes lexing)");
    ok(hoop_pg_param_verdict("_pq_.command_marker", "x")
       == HOOP_PG_PARAM_EXTENSION, "protocol extensions: reported unknown");
    ok(hoop_pg_param_verdict("client_encoding", "UTF8") == HOOP_PG_PARAM_PASS
       && hoop_pg_param_verdict("client_encoding", "sql_ascii")
          == HOOP_PG_PARAM_PASS
       && hoop_pg_param_verdict("client_encoding", "'utf-8'")
          == HOOP_PG_PARAM_PASS,
       "client_encoding UTF8 and SQL_ASCII pass");
    ok(hoop_pg_param_verdict("client_encoding", "SJIS")
       == HOOP_PG_PARAM_REFUSE,
       "client_encoding SJIS refused (a quote can hide in a character)");

    {
        const char  *opts[] = { "_pq_.a", "_pq_.bc" };

        blen = hoop_pg_negotiate_encode(out, sizeof(out), 0, opts, 2);
        is_int(blen, 13 + 7 + 8, "NegotiateProtocolVersion length");
        ok(out[0] == 'v' && hoop_pg_get32(out + 1) == blen - 1
           && hoop_pg_get32(out + 5) == 196608 && hoop_pg_get32(out + 9) == 2
           && memcmp(out + 13, "_pq_.a\0_pq_.bc\0", 15) == 0,
           "3.0 and the two options, named");
        is_int(hoop_pg_negotiate_encode(out, 10, 0, opts, 2), 0,
               "too small: 0");
    }

    q[0].name = "user";
    q[0].value = "app_rw";
    q[1].name = "database";
    q[1].value = "app";
    blen = hoop_pg_startup_build(out, sizeof(out), q, 2);
    is_int(blen, 8 + 26, "rebuilt packet length");
    is_mem(out + 8, blen - 8, "user\0app_rw\0database\0app\0\0", 26,
           "rebuilt pairs, terminated");
    is_int(hoop_pg_get32(out + 4), 196608, "protocol 3.0");
    is_int(hoop_pg_startup_build(out, 20, q, 2), 0, "too small: 0");
}


static void
test_fields(void)
{
    int                   n;
    const char           *v;
    static const char     err[] = "SERROR\0C42501\0Mdenied\0\0";
    static const char     mech[] = "SCRAM-SHA-256-PLUS\0SCRAM-SHA-256\0\0";

    n = hoop_pg_error_field((const unsigned char *) err, sizeof(err) - 1,
                            'C', &v);
    is_mem(v, (size_t) n, "42501", 5, "SQLSTATE field");
    n = hoop_pg_error_field((const unsigned char *) err, sizeof(err) - 1,
                            'M', &v);
    is_mem(v, (size_t) n, "denied", 6, "message field");
    is_int(hoop_pg_error_field((const unsigned char *) err, sizeof(err) - 1,
                               'D', &v), -1, "absent field");
    is_int(hoop_pg_error_field((const unsigned char *) "Cxx", 3, 'C', &v),
           -1, "unterminated field");

    ok(hoop_pg_sasl_offers((const unsigned char *) mech, sizeof(mech) - 1,
                           "SCRAM-SHA-256"), "SCRAM-SHA-256 offered");
    ok(!hoop_pg_sasl_offers((const unsigned char *) mech, 18,
                            "SCRAM-SHA-256"), "a cut list offers nothing");

    is_int(hoop_pg_command_rows("SELECT 5", 8), 5, "SELECT 5");
    is_int(hoop_pg_command_rows("INSERT 0 3", 10), 3, "INSERT 0 3");
    is_int(hoop_pg_command_rows("COPY 1000000", 12), 1000000, "COPY");
    is_int(hoop_pg_command_rows("CREATE TABLE", 12), -1, "no count");
    is_int(hoop_pg_command_rows("42", 2), -1, "digits only: no tag");

    ok(hoop_pg_parse_types_valid((const unsigned char *) "\0\0", 2),
       "Parse: no parameter types");
    ok(hoop_pg_parse_types_valid((const unsigned char *) "\0\1\0\0\0\x17",
                                 6), "Parse: one type (int4)");
    ok(!hoop_pg_parse_types_valid((const unsigned char *) "\0\2\0\0\0\x17",
                                  6), "Parse: two types announced, one sent");
    ok(!hoop_pg_parse_types_valid((const unsigned char *) "\0\0\0", 3),
       "Parse: a byte after the types");
    ok(!hoop_pg_parse_types_valid((const unsigned char *) "\0", 1),
       "Parse: the count cut short");
    ok(!hoop_pg_parse_types_valid((const unsigned char *) "\xff\xff", 2),
       "Parse: 65535 types announced, none sent");
}


static void
test_cancel(void)
{
    int            i, roundtrip, positive, changed;
    uint32_t       pid, key, sp, sk, op, ok_;
    unsigned char  secret[HOOP_PG_CANCEL_SECRET_LEN], other[32];

    memset(secret, 7, sizeof(secret));
    memset(other, 8, sizeof(other));

    roundtrip = 1;
    positive = 1;
    changed = 1;

    for (i = 0; i < 2000; i++) {
        pid = (uint32_t) (i * 7919) % 4194304;
        key = (uint32_t) i * 2654435761u;

        if (hoop_pg_cancel_seal(secret, pid, key, &sp, &sk) != 0) {
            roundtrip = 0;
            break;
        }

        positive &= (sp < 0x80000000u && sk < 0x80000000u);
        changed &= (sp != pid || sk != key);

        if (hoop_pg_cancel_open(secret, sp, sk, &op, &ok_) != 0
            || op != pid || ok_ != key)
        {
            roundtrip = 0;
        }
    }

    ok(roundtrip, "sealed keys open to the server's pid and key");
    ok(positive, "issued pids and keys are never negative");
    ok(changed, "and never the server's own");

    (void) hoop_pg_cancel_seal(secret, 4242, 99, &sp, &sk);
    (void) hoop_pg_cancel_open(other, sp, sk, &op, &ok_);
    ok(op != 4242 || ok_ != 99, "another secret opens to something else");

    is_int(hoop_pg_cancel_seal(secret, 1u << 30, 1, &sp, &sk), -1,
           "a pid beyond 30 bits cannot be sealed");
    is_int(hoop_pg_cancel_open(secret, 0x80000000u, 1, &op, &ok_), -1,
           "a negative pid was never issued");
}


int
main(void)
{
    test_params();
    test_fields();
    test_cancel();

    return done_testing();
}
