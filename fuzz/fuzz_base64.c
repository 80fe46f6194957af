/*
 * Copyright (C) nginx-hoop authors
 *
 * libFuzzer target: base64 decoded in pieces (the first byte chooses
 * their size) makes the same bytes, and the same verdict, as decoded
 * whole, never writing past hoop_base64_decoded_max() of a piece.
 */

#include <stdlib.h>
#include <string.h>

#include "hoop_base64.h"


int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);


static size_t
decode(const unsigned char *in, size_t len, size_t step, unsigned char *out,
    int *rc)
{
    size_t          at, n, made, m;
    unsigned char  *piece;
    hoop_base64_t   b;

    hoop_base64_init(&b);
    made = 0;

    for (at = 0; at < len; at += n) {
        n = (len - at < step) ? len - at : step;

        /* exactly the room promised, so that ASan sees an overrun */

        piece = malloc(hoop_base64_decoded_max(n) + 1);
        if (piece == NULL) {
            abort();
        }

        m = hoop_base64_feed(&b, in + at, n, piece);

        if (m > hoop_base64_decoded_max(n)) {
            abort();
        }

        memcpy(out + made, piece, m);
        made += m;
        free(piece);
    }

    *rc = hoop_base64_end(&b);

    return made;
}


int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    int             rc1, rc2;
    size_t          n1, n2, step;
    unsigned char  *whole, *pieces;

    if (size < 1) {
        return 0;
    }

    step = (data[0] % 7) + 1;
    data++;
    size--;

    whole = malloc(size + 3);
    pieces = malloc(size + 3);

    if (whole == NULL || pieces == NULL) {
        abort();
    }

    n1 = decode(data, size, size ? size : 1, whole, &rc1);
    n2 = decode(data, size, step, pieces, &rc2);

    if (rc1 != rc2 || (rc1 == 0 && (n1 != n2 || memcmp(whole, pieces, n1))))
    {
        abort();
    }

    free(whole);
    free(pieces);

    return 0;
}
