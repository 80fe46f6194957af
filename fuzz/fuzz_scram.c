/*
 * Copyright (C) nginx-hoop authors
 *
 * libFuzzer target: a SCRAM-SHA-256 server's messages, as a hostile
 * database (or something pretending to be one) could send them.  The
 * input is "server-first\nserver-final"; the client never reads outside
 * them, never accepts a server-final it did not compute.
 */

#include <stdlib.h>
#include <string.h>

#include "hoop_scram.h"


int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);


int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    char          *text, *nl, out[1024];
    size_t         first_len;
    hoop_scram_t   s;

    text = malloc(size + 1);
    if (text == NULL) {
        abort();
    }

    memcpy(text, data, size);
    text[size] = '\0';

    nl = memchr(text, '\n', size);
    first_len = nl ? (size_t) (nl - text) : size;

    if (hoop_scram_client_first(&s, "", "fuzznonce", out, sizeof(out)) == 0) {
        abort();
    }

    if (hoop_scram_client_final(&s, "pw", 2, text, first_len, out,
                                sizeof(out))
        != 0 && nl != NULL)
    {
        /* a made-up signature must not pass (32 random bytes: never) */
        if (hoop_scram_server_final(&s, nl + 1, size - first_len - 1) == 0
            && memcmp(nl + 1, "v=", 2) != 0)
        {
            abort();
        }
    }

    free(text);

    return 0;
}
