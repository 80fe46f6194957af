/*
 * Copyright (C) nginx-hoop authors
 *
 * libFuzzer target: query-string conditions of hoop_rule (arg=name:glob)
 * on any condition and any query string.  Nothing reads outside either,
 * and what holds for an allow (every occurrence) holds for a deny (one).
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hoop_rule.h"


int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);


int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    char          *cond, *args;
    size_t         split;
    const uint8_t *nl;

    nl = memchr(data, '\n', size);

    if (nl == NULL) {
        return 0;
    }

    split = (size_t) (nl - data);

    cond = malloc(split + 1);
    args = malloc(size - split);

    if (cond == NULL || args == NULL) {
        abort();
    }

    memcpy(cond, data, split);
    cond[split] = '\0';

    if (strlen(cond) == split) {
        memcpy(args, data + split + 1, size - split - 1);

        if (hoop_rule_args_match(cond, args, size - split - 1, 1)
            && !hoop_rule_args_match(cond, args, size - split - 1, 0))
        {
            abort();
        }
    }

    free(cond);
    free(args);

    return 0;
}
