/*
 * Copyright (C) nginx-hoop authors
 *
 * libFuzzer target: strict base64url decoding never writes past
 * hoop_base64url_decoded_max(), and what it accepts re-encodes to the
 * same text (one spelling per value).
 */

#include <stdlib.h>
#include <string.h>

#include "hoop_base64url.h"


int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);


static size_t
encode(char *dst, const unsigned char *src, size_t len)
{
    static const char  alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

    size_t  i, n;

    n = 0;

    for (i = 0; i + 3 <= len; i += 3) {
        dst[n++] = alphabet[src[i] >> 2];
        dst[n++] = alphabet[(src[i] & 3) << 4 | src[i + 1] >> 4];
        dst[n++] = alphabet[(src[i + 1] & 15) << 2 | src[i + 2] >> 6];
        dst[n++] = alphabet[src[i + 2] & 63];
    }

    if (len - i == 1) {
        dst[n++] = alphabet[src[i] >> 2];
        dst[n++] = alphabet[(src[i] & 3) << 4];

    } else if (len - i == 2) {
        dst[n++] = alphabet[src[i] >> 2];
        dst[n++] = alphabet[(src[i] & 3) << 4 | src[i + 1] >> 4];
        dst[n++] = alphabet[(src[i + 1] & 15) << 2];
    }

    return n;
}


int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    char           *text, *again;
    size_t          n, m;
    unsigned char  *out;

    text = malloc(size + 1);
    out = malloc(hoop_base64url_decoded_max(size));
    again = malloc(size + 4);

    if (text == NULL || out == NULL || again == NULL) {
        abort();
    }

    memcpy(text, data, size);

    n = hoop_base64url_decode(out, text, size);

    if (n != (size_t) -1) {
        m = encode(again, out, n);

        if (m != size || memcmp(again, text, size) != 0) {
            abort();
        }
    }

    free(text);
    free(out);
    free(again);

    return 0;
}
