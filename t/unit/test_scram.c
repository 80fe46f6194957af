/*
 * Copyright (C) nginx-hoop authors
 *
 * SCRAM-SHA-256 client against the RFC 7677 example exchange, the server
 * messages a client must refuse, and PostgreSQL's MD5 password hash
 * against a value computed independently (Python hashlib).
 */

#include "tap.h"
#include "hoop_scram.h"


#define SERVER_FIRST                                                         \
    "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"                   \
    "s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"

#define CLIENT_FINAL                                                         \
    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"            \
    "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="

#define SERVER_FINAL  "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="


static size_t
final_of(const char *server_first)
{
    char          out[512];
    hoop_scram_t  s;

    if (hoop_scram_client_first(&s, "user", "rOprNGfwEbeRWgbNEkqO", out,
                                sizeof(out))
        == 0)
    {
        return (size_t) -1;
    }

    return hoop_scram_client_final(&s, "pencil", 6, server_first,
                                   strlen(server_first), out, sizeof(out));
}


int
main(void)
{
    char           out[512], md5[36];
    size_t         n;
    hoop_scram_t   s;
    unsigned char  salt[4] = { 0x01, 0x02, 0xfe, 0xff };

    /* RFC 7677, section 3 */

    n = hoop_scram_client_first(&s, "user", "rOprNGfwEbeRWgbNEkqO", out,
                                sizeof(out));
    is_mem(out, n, "n,,n=user,r=rOprNGfwEbeRWgbNEkqO", 32,
           "client-first-message");

    n = hoop_scram_client_final(&s, "pencil", 6, SERVER_FIRST,
                                strlen(SERVER_FIRST), out, sizeof(out));
    is_mem(out, n, CLIENT_FINAL, strlen(CLIENT_FINAL),
           "client-final-message with the RFC's proof");

    is_int(hoop_scram_server_final(&s, SERVER_FINAL, strlen(SERVER_FINAL)),
           0, "the server's signature is accepted");
    is_int(hoop_scram_server_final(&s,
               "v=7rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=", 46),
           -1, "one changed byte is not");
    is_int(hoop_scram_server_final(&s,
               "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G5=", 46),
           -1, "nor another spelling of the same bytes");
    is_int(hoop_scram_server_final(&s, "e=invalid-proof", 15), -1,
           "a server error is a refusal");

    /* PostgreSQL's own: an empty user name (it takes the startup user) */

    n = hoop_scram_client_first(&s, "", "abc", out, sizeof(out));
    is_mem(out, n, "n,,n=,r=abc", 11, "empty user, as libpq sends it");

    n = hoop_scram_client_first(&s, "a,b=c", "abc", out, sizeof(out));
    is_mem(out, n, "n,,n=a=2Cb=3Dc,r=abc", 20, "',' and '=' escaped");

    ok(hoop_scram_client_first(&s, "u", "", out, sizeof(out)) == 0,
       "an empty nonce is refused");
    ok(hoop_scram_client_first(&s, "u", "a,b", out, sizeof(out)) == 0,
       "a nonce with ',' is refused");

    /* what a server may not say */

    is_int(final_of("r=XXXXNGfwEbeRWgbNEkqO%hvYD,s=W22ZaJ0SNY7soEsUEjb6gQ==,"
                    "i=4096"), 0, "a nonce that is not ours extended");
    is_int(final_of("r=rOprNGfwEbeRWgbNEkqO,s=W22ZaJ0SNY7soEsUEjb6gQ==,"
                    "i=4096"), 0, "a nonce the server added nothing to");
    is_int(final_of("r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,"
                    "i=0"), 0, "zero iterations");
    is_int(final_of("r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,"
                    "i=99999999"), 0, "iterations past the cap");
    is_int(final_of("r=rOprNGfwEbeRWgbNEkqOxyz,s=not*base64,i=4096"), 0,
           "a salt that is not base64");
    is_int(final_of("m=ext,r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ"
                    "==,i=4096"), 0, "a mandatory extension");
    is_int(final_of("r=rOprNGfwEbeRWgbNEkqOxyz,i=4096"), 0, "no salt");

    memset(&s, 0, sizeof(s));
    is_int(hoop_scram_client_final(&s, "pencil", 6, SERVER_FIRST,
                                   strlen(SERVER_FIRST), out, sizeof(out)),
           0, "client-final before client-first");
    is_int(hoop_scram_server_final(&s, SERVER_FINAL, strlen(SERVER_FINAL)),
           -1, "server-final before client-final");

    /* MD5, value from Python's hashlib */

    is_int(hoop_pg_md5_password("agent_rw", 8, "correct horse", 13, salt,
                                md5), 0, "md5 password computed");
    is_mem(md5, 35, "md5badf97c2d995eb7f63baec9a702a7827", 35,
           "md5(hex(md5(password || user)) || salt)");

    return done_testing();
}
