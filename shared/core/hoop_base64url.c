/*
 * Copyright (C) nginx-hoop authors
 */

#include "hoop_base64url.h"


#define HOOP_B64_BAD  0xff


static unsigned char
hoop_base64url_value(unsigned char ch)
{
    if (ch >= 'A' && ch <= 'Z') {
        return ch - 'A';
    }

    if (ch >= 'a' && ch <= 'z') {
        return ch - 'a' + 26;
    }

    if (ch >= '0' && ch <= '9') {
        return ch - '0' + 52;
    }

    if (ch == '-') {
        return 62;
    }

    if (ch == '_') {
        return 63;
    }

    return HOOP_B64_BAD;
}


size_t
hoop_base64url_decode(unsigned char *dst, const char *src, size_t len)
{
    size_t          i, n, rest;
    unsigned char   v[4];
    unsigned char  *p;

    rest = len % 4;

    if (rest == 1) {
        return (size_t) -1;
    }

    p = dst;

    for (i = 0; i + 4 <= len; i += 4) {
        for (n = 0; n < 4; n++) {
            v[n] = hoop_base64url_value((unsigned char) src[i + n]);

            if (v[n] == HOOP_B64_BAD) {
                return (size_t) -1;
            }
        }

        *p++ = (unsigned char) (v[0] << 2 | v[1] >> 4);
        *p++ = (unsigned char) (v[1] << 4 | v[2] >> 2);
        *p++ = (unsigned char) (v[2] << 6 | v[3]);
    }

    if (rest == 0) {
        return (size_t) (p - dst);
    }

    for (n = 0; n < rest; n++) {
        v[n] = hoop_base64url_value((unsigned char) src[i + n]);

        if (v[n] == HOOP_B64_BAD) {
            return (size_t) -1;
        }
    }

    /* the bits beyond the last whole byte must be zero (RFC 4648 3.5) */

    *p++ = (unsigned char) (v[0] << 2 | v[1] >> 4);

    if (rest == 2) {
        if (v[1] & 0x0f) {
            return (size_t) -1;
        }

    } else {
        if (v[2] & 0x03) {
            return (size_t) -1;
        }

        *p++ = (unsigned char) (v[1] << 4 | v[2] >> 2);
    }

    return (size_t) (p - dst);
}
