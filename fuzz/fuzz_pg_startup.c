/*
 * Copyright (C) nginx-hoop authors
 *
 * libFuzzer target: the classification of a client's first packet must
 * never read past what it was given, whatever the bytes, and its answers
 * must be self-consistent.
 */

#include <stdlib.h>
#include <string.h>

#include "hoop_pg_startup.h"


int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);


int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    size_t                  len;
    uint32_t                version;
    unsigned char          *copy;
    hoop_pg_startup_kind_e  kind;

    /* an exact-size heap copy, so ASan sees any over-read */

    copy = malloc(size ? size : 1);
    if (copy == NULL) {
        return 0;
    }

    memcpy(copy, data, size);

    kind = hoop_pg_startup_classify(copy, size, &len, &version);

    if (kind == HOOP_PG_STARTUP_INCOMPLETE && size >= 8) {
        abort();
    }

    if (kind == HOOP_PG_STARTUP_MESSAGE
        && (len < 9 || len > HOOP_PG_STARTUP_MAX || version >> 16 != 3))
    {
        abort();
    }

    if ((kind == HOOP_PG_STARTUP_SSL || kind == HOOP_PG_STARTUP_GSSENC)
        && len != 8)
    {
        abort();
    }

    free(copy);

    return 0;
}
