/*
 * Copyright (C) nginx-hoop authors
 *
 * libFuzzer target: the escape decoder the masker reads HTTP bodies
 * through.  On any text, the map from decoded bytes to their spellings
 * climbs strictly inside the text, a byte that is not an escape decodes
 * to itself, and at the end of the text everything is decoded.  Only an
 * escape (of a zero-width character) may decode to nothing, so text
 * skipped before the first decoded byte begins with one.  The first byte
 * picks the rounds, whether the text is final and whether it is read as
 * a single-byte charset (its bytes past ASCII then introduce too).
 */

#include <stdlib.h>
#include <string.h>

#include "hoop_mask_unescape.h"


int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);


static int
introducer(unsigned char c, unsigned flags)
{
    return c == '\\' || c == '%' || c == '&' || c == 0x1b || c >= 0xc2
           || ((flags & HOOP_MASK_UNESCAPE_SINGLE_BYTE) && c >= 0x80);
}


int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    int             final;
    size_t          i, n, used, len;
    unsigned        rounds, flags;
    uint16_t       *raw;
    unsigned char  *out, c;

    if (size < 1 || size > 16385) {
        return 0;
    }

    final = data[0] & 1;
    rounds = 1 + (data[0] >> 1) % 3;
    flags = (data[0] & 0x80) ? HOOP_MASK_UNESCAPE_SINGLE_BYTE : 0;
    len = size - 1;

    out = malloc(len + 1);
    raw = malloc((len + 1) * sizeof(uint16_t));

    if (out == NULL || raw == NULL) {
        abort();
    }

    n = hoop_mask_unescape_rounds(data + 1, len, final, rounds, flags, out,
                                  raw, &used);

    if (n > len || used > len || raw[n] != used || (final && used != len)) {
        abort();
    }

    for (i = 0; i < n; i++) {
        if (raw[i] >= raw[i + 1]
            || (i == 0 && raw[0] != 0 && !introducer(data[1], flags)))
        {
            abort();
        }

        c = data[1 + raw[i]];

        if (!introducer(c, flags) && out[i] != c) {
            abort();
        }
    }

    free(out);
    free(raw);

    return 0;
}
