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
#include "jose_test_keys.h"      /* b64url(), the independent encoder */


int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);


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
        m = b64url(again, out, n);

        if (m != size || memcmp(again, text, size) != 0) {
            abort();
        }
    }

    free(text);
    free(out);
    free(again);

    return 0;
}
