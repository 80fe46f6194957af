/*
 * Copyright (C) nginx-hoop authors
 *
 * libFuzzer target: JSON body conditions of hoop_rule (json=field:glob)
 * and the same body read as a form and as multipart/form-data with the
 * boundary "b" (arg=name:glob), any condition on any body.  Nothing
 * reads outside either, nothing leaks, and what holds for an allow
 * (every occurrence) holds for a deny (one, in either case).
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hoop_rule.h"


int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);


static int
holds(const char *cond, const char *body, size_t len, int all, int json)
{
    hoop_rule_tally_t  t;

    memset(&t, 0, sizeof(t));

    if (json == 1) {
        hoop_rule_json_tally(cond, body, len, all, &t);

    } else if (json == 2) {
        hoop_rule_multipart_tally(cond, body, len, "b", 1, all, &t);

    } else {
        hoop_rule_args_tally(cond, body, len, all, &t);
    }

    return hoop_rule_tally_holds(&t, all);
}


int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    int             json;
    char           *cond, *body;
    size_t          split, len;
    const uint8_t  *nl;

    nl = memchr(data, '\n', size);

    if (nl == NULL) {
        return 0;
    }

    split = (size_t) (nl - data);
    len = size - split - 1;

    cond = malloc(split + 1);
    body = malloc(len + (len == 0));

    if (cond == NULL || body == NULL) {
        abort();
    }

    memcpy(cond, data, split);
    cond[split] = '\0';
    memcpy(body, data + split + 1, len);

    if (strlen(cond) == split) {
        for (json = 0; json < 3; json++) {
            if (holds(cond, body, len, 1, json)
                && !holds(cond, body, len, 0, json))
            {
                abort();
            }
        }
    }

    free(cond);
    free(body);

    return 0;
}
