/*
 * Copyright (C) nginx-hoop authors
 *
 * Standard base64 decoded in pieces: the same bytes whole or a character
 * at a time, and what Go's StdEncoding refuses refused.
 */

#include <string.h>

#include "hoop_base64.h"
#include "tap.h"


/* decodes text in pieces of step characters; -1 if it is not base64 */
static long
decode(const char *text, size_t step, unsigned char *out)
{
    size_t         at, n, made;
    hoop_base64_t  b;

    hoop_base64_init(&b);
    made = 0;

    for (at = 0; at < strlen(text); at += n) {
        n = strlen(text) - at < step ? strlen(text) - at : step;
        made += hoop_base64_feed(&b, (const unsigned char *) text + at, n,
                                 out + made);
    }

    return hoop_base64_end(&b) == 0 ? (long) made : -1;
}


static int
same(const char *text, const char *want)
{
    size_t         step;
    unsigned char  out[256];

    for (step = 1; step <= 5; step++) {
        if (decode(text, step, out) != (long) strlen(want)
            || memcmp(out, want, strlen(want)) != 0)
        {
            return 0;
        }
    }

    return 1;
}


int
main(void)
{
    unsigned char  out[64];

    ok(same("", ""), "nothing");
    ok(same("aGk=", "hi"), "one pad, in any pieces");
    ok(same("aA==", "h"), "two pads");
    ok(same("aGkh", "hi!"), "no pad");
    ok(same("eyJXaWR0aCI6MTAwfQ==", "{\"Width\":100}"), "a resize");
    ok(same("aGkh\r\naGkh", "hi!hi!"), "line breaks skipped, as Go does");
    ok(same("+/+/", "\xfb\xff\xbf"), "+ and /");

    is_int(decode("aGk", 1, out), -1, "a quantum cut short");
    is_int(decode("aGk=aGk=", 3, out), -1, "text after the padding");
    is_int(decode("a===", 2, out), -1, "three pads");
    is_int(decode("aG=k", 1, out), -1, "a character after a pad");
    is_int(decode("aGk-", 4, out), -1, "base64url's '-'");
    is_int(decode("aG k", 4, out), -1, "a space");

    ok(hoop_base64_encoded_len(0) == 0 && hoop_base64_encoded_len(1) == 4
       && hoop_base64_encoded_len(3) == 4 && hoop_base64_encoded_len(4) == 8,
       "encoded lengths, padded");
    ok(hoop_base64_decoded_max(1) == 3 && hoop_base64_decoded_max(4) == 3
       && hoop_base64_decoded_max(5) == 6, "room for what pieces make");

    return done_testing();
}
