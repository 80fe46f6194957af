/*
 * Copyright (C) nginx-hoop authors
 *
 * libFuzzer target: any document offered as a JWKS (what a compromised or
 * broken jwks_uri could serve) loads or is refused without a crash or a
 * leak, and every key it yields can be looked up again.
 */

#include <stdlib.h>

#include "hoop_jwk.h"


int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);


int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    char          err[64];
    size_t        i;
    hoop_jwks_t   jwks;
    hoop_jwk_t   *key;

    jwks.nkeys = 0;

    if (hoop_jwks_load(&jwks, (const char *) data, size, err, sizeof(err))
        == 0)
    {
        for (i = 0; i < jwks.nkeys; i++) {
            key = &jwks.keys[i];

            if (key->pkey == NULL || key->algs == 0
                || (key->has_kid
                    && hoop_jwks_find(&jwks, key->kid, key->kid_len, 0)
                       == NULL))
            {
                abort();
            }
        }
    }

    hoop_jwks_clear(&jwks);

    return 0;
}
