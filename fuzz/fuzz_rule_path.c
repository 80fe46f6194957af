/*
 * Copyright (C) nginx-hoop authors
 *
 * libFuzzer target: the lax reading of a request path and case folding,
 * on any bytes.  Neither writes past its input's length, folding twice
 * is folding once, and a rooted path stays rooted.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hoop_casefold.h"
#include "hoop_rule.h"


int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);


int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    char    *a, *b;
    size_t   n, m;

    a = malloc(size + (size == 0));
    b = malloc(size + (size == 0));

    if (a == NULL || b == NULL) {
        abort();
    }

    /* exactly size bytes each: ASan sees a write past them */

    n = hoop_rule_path_lax((const char *) data, size, a);

    if (n > size || (size > 0 && data[0] == '/' && (n == 0 || a[0] != '/')))
    {
        abort();
    }

    n = hoop_casefold((const char *) data, size, a);
    m = hoop_casefold(a, n, b);

    if (n > size || m != n || memcmp(a, b, n) != 0) {
        abort();
    }

    free(a);
    free(b);

    return 0;
}
