/*
 * Copyright (C) nginx-hoop authors
 */

#include <string.h>

#include "hoop_casefold.h"


static const char *fold_to_ascii(unsigned cp);
static unsigned fold_code_point(unsigned cp);
static size_t utf8_decode(const unsigned char *p, size_t len,
    unsigned *cp);
static size_t utf8_encode(unsigned cp, char *out);


size_t
hoop_casefold(const char *in, size_t len, char *out)
{
    size_t                i, n, k, w;
    unsigned              cp;
    const char           *ascii;
    const unsigned char  *p;

    p = (const unsigned char *) in;
    w = 0;

    for (i = 0; i < len; i += n) {
        if (p[i] < 0x80) {
            out[w++] = (char) ((p[i] >= 'A' && p[i] <= 'Z')
                               ? p[i] | 0x20 : p[i]);
            n = 1;
            continue;
        }

        n = utf8_decode(p + i, len - i, &cp);

        if (n == 0) {
            out[w++] = (char) p[i];         /* not UTF-8: as it is */
            n = 1;
            continue;
        }

        ascii = fold_to_ascii(cp);

        if (ascii != NULL) {
            k = strlen(ascii);              /* at most n, by the table */
            memmove(out + w, ascii, k);
            w += k;
            continue;
        }

        w += utf8_encode(fold_code_point(cp), out + w);
    }

    return w;
}


/* the characters whose folding is ASCII letters: each shorter in UTF-8 */
static const char *
fold_to_ascii(unsigned cp)
{
    switch (cp) {
    case 0x00df:                            /* sharp s */
    case 0x1e9e:                            /* capital sharp s */
        return "ss";
    case 0x0130:                            /* I with dot above */
    case 0x0131:                            /* dotless i */
        return "i";
    case 0x017f:                            /* long s */
        return "s";
    case 0x212a:                            /* Kelvin sign */
        return "k";
    case 0xfb00:
        return "ff";
    case 0xfb01:
        return "fi";
    case 0xfb02:
        return "fl";
    case 0xfb03:
        return "ffi";
    case 0xfb04:
        return "ffl";
    case 0xfb05:
    case 0xfb06:
        return "st";
    default:
        return NULL;
    }
}


/* simple case folding of the scripts above; the same UTF-8 length or less */
static unsigned
fold_code_point(unsigned c)
{
    if ((c >= 0xc0 && c <= 0xde && c != 0xd7)          /* Latin-1 */
        || (c >= 0x391 && c <= 0x3ab && c != 0x3a2)     /* Greek */
        || (c >= 0x410 && c <= 0x42f)                   /* Cyrillic */
        || (c >= 0xff21 && c <= 0xff3a))                /* fullwidth */
    {
        return c + 0x20;
    }

    /* Latin Extended-A and Cyrillic pairs: capital, then small */

    if ((c >= 0x100 && c <= 0x12f) || (c >= 0x132 && c <= 0x137)
        || (c >= 0x14a && c <= 0x177) || (c >= 0x460 && c <= 0x481)
        || (c >= 0x48a && c <= 0x4bf))
    {
        return c | 1;
    }

    if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17e)) {
        return (c & 1) ? c + 1 : c;
    }

    if (c >= 0x400 && c <= 0x40f) {
        return c + 0x50;
    }

    switch (c) {
    case 0xb5:
        return 0x3bc;                       /* micro sign: mu */
    case 0x178:
        return 0xff;                        /* Y with diaeresis */
    case 0x386:
        return 0x3ac;
    case 0x388:
    case 0x389:
    case 0x38a:
        return c + 37;
    case 0x38c:
        return 0x3cc;
    case 0x38e:
    case 0x38f:
        return c + 63;
    case 0x3c2:
        return 0x3c3;                       /* final sigma */
    case 0x2126:
        return 0x3c9;                       /* Ohm sign: omega */
    case 0x212b:
        return 0xe5;                        /* Angstrom sign: a ring */
    default:
        return c;
    }
}


/* a well-formed 2- or 3-byte sequence: its length, or 0 */
static size_t
utf8_decode(const unsigned char *p, size_t len, unsigned *cp)
{
    unsigned char  lo, hi;

    if (p[0] >= 0xc2 && p[0] <= 0xdf) {
        if (len < 2 || (p[1] & 0xc0) != 0x80) {
            return 0;
        }

        *cp = ((unsigned) (p[0] & 0x1f) << 6) | (p[1] & 0x3f);
        return 2;
    }

    if (p[0] >= 0xe0 && p[0] <= 0xef) {
        lo = (p[0] == 0xe0) ? 0xa0 : 0x80;
        hi = (p[0] == 0xed) ? 0x9f : 0xbf;

        if (len < 3 || p[1] < lo || p[1] > hi || (p[2] & 0xc0) != 0x80) {
            return 0;
        }

        *cp = ((unsigned) (p[0] & 0x0f) << 12)
              | ((unsigned) (p[1] & 0x3f) << 6) | (p[2] & 0x3f);
        return 3;
    }

    return 0;
}


static size_t
utf8_encode(unsigned cp, char *out)
{
    if (cp < 0x800) {
        out[0] = (char) (0xc0 | (cp >> 6));
        out[1] = (char) (0x80 | (cp & 0x3f));
        return 2;
    }

    out[0] = (char) (0xe0 | (cp >> 12));
    out[1] = (char) (0x80 | ((cp >> 6) & 0x3f));
    out[2] = (char) (0x80 | (cp & 0x3f));
    return 3;
}
