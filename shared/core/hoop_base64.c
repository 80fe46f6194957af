/*
 * Copyright (C) nginx-hoop authors
 */

#include "hoop_base64.h"


/* a character's value, 64 for '=', 255 for anything else */
static unsigned char
hoop_base64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') {
        return (unsigned char) (c - 'A');
    }

    if (c >= 'a' && c <= 'z') {
        return (unsigned char) (c - 'a' + 26);
    }

    if (c >= '0' && c <= '9') {
        return (unsigned char) (c - '0' + 52);
    }

    switch (c) {
    case '+':
        return 62;
    case '/':
        return 63;
    case '=':
        return 64;
    default:
        return 255;
    }
}


void
hoop_base64_init(hoop_base64_t *b)
{
    b->n = 0;
    b->padded = 0;
    b->error = 0;
}


size_t
hoop_base64_feed(hoop_base64_t *b, const unsigned char *in, size_t n,
    unsigned char *out)
{
    size_t          i, made, pad;
    unsigned char   v, *q;

    made = 0;
    q = b->q;

    for (i = 0; i < n && !b->error; i++) {

        /* Go skips line breaks anywhere */

        if (in[i] == '\r' || in[i] == '\n') {
            continue;
        }

        v = hoop_base64_value(in[i]);

        /* nothing after the padding; '=' only in a quantum's last two */

        if (v == 255 || b->padded || (v == 64 && b->n < 2)
            || (v != 64 && b->n == 3 && q[2] == 64))
        {
            b->error = 1;
            break;
        }

        q[b->n++] = v;

        if (b->n < 4) {
            continue;
        }

        pad = (q[3] == 64) + (q[2] == 64);

        out[made++] = (unsigned char) (q[0] << 2 | q[1] >> 4);

        if (pad < 2) {
            out[made++] = (unsigned char) (q[1] << 4 | q[2] >> 2);
        }

        if (pad < 1) {
            out[made++] = (unsigned char) (q[2] << 6 | q[3]);
        }

        b->n = 0;
        b->padded = (pad > 0);
    }

    return made;
}


int
hoop_base64_end(hoop_base64_t *b)
{
    return (b->error || b->n != 0) ? -1 : 0;
}
