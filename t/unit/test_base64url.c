/*
 * Copyright (C) nginx-hoop authors
 *
 * Strict unpadded base64url decoding (RFC 4648 section 5 test vectors).
 */

#include "tap.h"
#include "hoop_base64url.h"


static size_t
dec(unsigned char *out, const char *in)
{
    return hoop_base64url_decode(out, in, strlen(in));
}


int
main(void)
{
    size_t         n;
    unsigned char  out[64];

    is_int(dec(out, ""), 0, "empty decodes to nothing");
    n = dec(out, "Zg");
    is_mem(out, n, "f", 1, "Zg -> f");
    n = dec(out, "Zm8");
    is_mem(out, n, "fo", 2, "Zm8 -> fo");
    n = dec(out, "Zm9v");
    is_mem(out, n, "foo", 3, "Zm9v -> foo");
    n = dec(out, "Zm9vYmFy");
    is_mem(out, n, "foobar", 6, "Zm9vYmFy -> foobar");
    n = dec(out, "-_8");
    is_mem(out, n, "\xfb\xff", 2, "- and _ are the url-safe 62 and 63");
    n = dec(out, "eyJhbGciOiJSUzI1NiJ9");
    is_mem(out, n, "{\"alg\":\"RS256\"}", 15, "a JOSE header");

    is_int(dec(out, "Zg=="), (size_t) -1, "padding is refused");
    is_int(dec(out, "Zm9v+/8"), (size_t) -1, "+ and / are not base64url");
    is_int(dec(out, "Zm9vY"), (size_t) -1, "a length of 1 mod 4 is refused");
    is_int(dec(out, "Zh"), (size_t) -1,
           "non-zero leftover bits are refused (Zh is a second spelling of f)");
    is_int(dec(out, "Zm9"), (size_t) -1, "Zm9 likewise (leftover bits)");
    is_int(dec(out, "Zm 9v"), (size_t) -1, "white space is refused");
    is_int(hoop_base64url_decode(out, "Zm\0v", 4), (size_t) -1,
           "a NUL byte is refused");
    is_int(hoop_base64url_decoded_max(8), 8, "max for 8 chars covers 6 bytes");
    ok(hoop_base64url_decoded_max(7) >= 5, "max for 7 chars covers 5 bytes");

    return done_testing();
}
