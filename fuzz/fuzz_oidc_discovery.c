/*
 * Copyright (C) nginx-hoop authors
 *
 * libFuzzer target: any document a provider (or whoever answers in its
 * place) serves as discovery is read or refused without a crash or leak,
 * and what is accepted names an http(s) jwks_uri.
 */

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hoop_oidc_discovery.h"


int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);


int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    char  uri[512], err[128];

    if (hoop_oidc_discovery_parse((const char *) data, size,
                                  "https://idp.test", uri, sizeof(uri), err,
                                  sizeof(err))
        == 0
        && strncasecmp(uri, "http", 4) != 0)
    {
        abort();
    }

    return 0;
}
