/*
 * Copyright (C) nginx-hoop authors
 */

#include <string.h>

#include "hoop_jwt_alg.h"


static const char  *hoop_jwt_alg_names[HOOP_JWT_ALG_COUNT] = {
    "RS256", "RS384", "RS512",
    "PS256", "PS384", "PS512",
    "ES256", "ES384", "ES512",
    "EdDSA"
};


int
hoop_jwt_alg_from_name(const char *name, size_t len)
{
    int  i;

    for (i = 0; i < HOOP_JWT_ALG_COUNT; i++) {
        if (strlen(hoop_jwt_alg_names[i]) == len
            && memcmp(hoop_jwt_alg_names[i], name, len) == 0)
        {
            return i;
        }
    }

    return HOOP_JWT_ALG_UNKNOWN;
}


const char *
hoop_jwt_alg_name(int alg)
{
    if (alg < 0 || alg >= HOOP_JWT_ALG_COUNT) {
        return NULL;
    }

    return hoop_jwt_alg_names[alg];
}


unsigned
hoop_jwt_algs_parse(const char *list, size_t len)
{
    int       alg;
    size_t    i, start;
    unsigned  set;

    set = 0;
    start = 0;

    for (i = 0; i <= len; i++) {
        if (i < len && list[i] != ',' && list[i] != ' ') {
            continue;
        }

        if (i > start) {
            alg = hoop_jwt_alg_from_name(list + start, i - start);

            if (alg == HOOP_JWT_ALG_UNKNOWN) {
                return 0;
            }

            set |= hoop_jwt_alg_bit(alg);
        }

        start = i + 1;
    }

    return set;
}
