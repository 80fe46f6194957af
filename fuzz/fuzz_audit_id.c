/*
 * Copyright (C) nginx-hoop authors
 *
 * libFuzzer target: Redis stream ids as Redis replies give them, split
 * where the input says, compared: never read past their length, and a
 * comparison is antisymmetric.
 */

#include <stdlib.h>
#include <string.h>

#include "hoop_audit.h"


int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);


int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    int          ab, ba;
    size_t       cut;
    char        *a, *b;

    if (size < 1) {
        return 0;
    }

    cut = data[0] % size;

    /* exact-size copies: ASan sees any read past either */

    a = malloc(cut ? cut : 1);
    b = malloc(size - 1 - cut ? size - 1 - cut : 1);

    if (a == NULL || b == NULL) {
        abort();
    }

    memcpy(a, data + 1, cut);
    memcpy(b, data + 1 + cut, size - 1 - cut);

    ab = hoop_audit_stream_id_cmp(a, cut, b, size - 1 - cut);
    ba = hoop_audit_stream_id_cmp(b, size - 1 - cut, a, cut);

    if ((ab == -2) != (ba == -2) || (ab != -2 && ab != -ba)) {
        abort();
    }

    free(a);
    free(b);

    return 0;
}
