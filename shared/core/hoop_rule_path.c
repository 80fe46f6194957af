/*
 * Copyright (C) nginx-hoop authors
 *
 * The laxest reading of a request path (see hoop_rule_path_lax).
 */

#include <string.h>

#include "hoop_hex.h"
#include "hoop_rule.h"


#define PATH_DECODE_PASSES  4


static size_t path_decode(char *b, size_t len);
static size_t path_resolve(char *b, size_t len);


size_t
hoop_rule_path_lax(const char *in, size_t len, char *out)
{
    size_t  n, prev, pass;

    memmove(out, in, len);
    n = len;

    for (pass = 0; pass < PATH_DECODE_PASSES; pass++) {
        prev = n;
        n = path_decode(out, n);

        if (n == prev) {
            break;                          /* each decoding shortens */
        }
    }

    /*
     * a final newline: a regex location's "$" matches before it, so
     * "(/.*)$" captures the path without it for the upstream
     */

    if (n > 0 && out[n - 1] == '\n') {
        n--;
    }

    return path_resolve(out, n);
}


/*
 * One decoding, in place: "%XX", overlong UTF-8 forms of ASCII, '\'.
 * Shorter whenever anything was decoded.
 */
static size_t
path_decode(char *b, size_t len)
{
    size_t          i, w;
    unsigned        c;
    unsigned char  *p;

    p = (unsigned char *) b;
    w = 0;

    for (i = 0; i < len; /* void */ ) {

        if (p[i] == '%' && i + 2 < len && hoop_hex_value(p[i + 1]) >= 0
            && hoop_hex_value(p[i + 2]) >= 0)
        {
            c = (unsigned) (hoop_hex_value(p[i + 1]) * 16
                            + hoop_hex_value(p[i + 2]));
            i += 3;

        /* C0/C1 xx, E0 80-81 xx, F0 80 80-81 xx: ASCII written long */

        } else if ((p[i] == 0xc0 || p[i] == 0xc1) && i + 1 < len
                   && (p[i + 1] & 0xc0) == 0x80)
        {
            c = ((unsigned) (p[i] & 1) << 6) | (p[i + 1] & 0x3f);
            i += 2;

        } else if (p[i] == 0xe0 && i + 2 < len && (p[i + 1] & 0xfe) == 0x80
                   && (p[i + 2] & 0xc0) == 0x80)
        {
            c = ((unsigned) (p[i + 1] & 0x3f) << 6) | (p[i + 2] & 0x3f);
            i += 3;

        } else if (p[i] == 0xf0 && i + 3 < len && p[i + 1] == 0x80
                   && (p[i + 2] & 0xfe) == 0x80 && (p[i + 3] & 0xc0) == 0x80)
        {
            c = ((unsigned) (p[i + 2] & 0x3f) << 6) | (p[i + 3] & 0x3f);
            i += 4;

        } else {
            c = p[i++];
        }

        p[w++] = (unsigned char) (c == '\\' ? '/' : c);
    }

    return w;
}


/*
 * Segments in place: ";params" and trailing dots and spaces cut, empty
 * and "." segments dropped, ".." (and "..;x", ".. ") the parent.  Each
 * segment written is preceded by a '/' read, so writing never overtakes
 * reading.
 */
static size_t
path_resolve(char *b, size_t len)
{
    int          dir, dots, trailing;
    size_t       i, s, e, w;
    const char  *semi;

    w = 0;
    dir = 0;
    trailing = (len > 0 && b[len - 1] == '/');

    for (i = 0; i < len; /* void */ ) {
        if (b[i] == '/') {
            i++;
            continue;
        }

        for (s = i; i < len && b[i] != '/'; i++) {
            /* void */
        }

        semi = memchr(b + s, ';', i - s);
        e = semi ? (size_t) (semi - b) : i;

        /* a segment of only dots and spaces: "." or, from "..", ".." */

        for (dots = 1, dir = 1; s + dots - 1 < e; dots++) {
            if (b[s + dots - 1] != '.' && b[s + dots - 1] != ' ') {
                dir = 0;
                break;
            }
        }

        if (dir) {
            if (e - s >= 2 && b[s] == '.' && b[s + 1] == '.') {
                while (w > 0 && b[w - 1] != '/') {
                    w--;
                }

                w -= (w > 0);
            }

            continue;
        }

        while (e > s && (b[e - 1] == '.' || b[e - 1] == ' ')) {
            e--;
        }

        if (s > 0) {
            b[w++] = '/';
        }

        memmove(b + w, b + s, e - s);
        w += e - s;
    }

    if (len > 0 && (dir || trailing || w == 0)) {
        b[w++] = '/';
    }

    return w;
}

