/*
 * Copyright (C) nginx-hoop authors
 *
 * libFuzzer target: the readers of client and server messages never read
 * past what they were given, whatever the bytes; a startup packet that
 * parses rebuilds to the same pairs; every cancel key opens and seals
 * back to itself.
 */

#include <stdlib.h>
#include <string.h>

#include "hoop_pg_cancel.h"
#include "hoop_pg_msg.h"


int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);


static void
fuzz_startup(const unsigned char *copy, size_t size)
{
    int              n, m, i;
    size_t           len;
    unsigned char   *out;
    hoop_pg_param_t  p[HOOP_PG_PARAMS_MAX], q[HOOP_PG_PARAMS_MAX];

    n = hoop_pg_startup_params(copy, size, p, HOOP_PG_PARAMS_MAX);
    if (n < 0) {
        return;
    }

    for (i = 0; i < n; i++) {
        (void) hoop_pg_param_verdict(p[i].name, p[i].value);
    }

    out = malloc(size + 16);
    if (out == NULL) {
        return;
    }

    /* the version word may differ; the pairs must survive a rebuild */

    len = hoop_pg_startup_build(out, size + 16, p, (size_t) n);

    if (len != 0) {
        m = hoop_pg_startup_params(out, len, q, HOOP_PG_PARAMS_MAX);

        if (m != n || len != size) {
            abort();
        }

        for (i = 0; i < n; i++) {
            if (strcmp(p[i].name, q[i].name) != 0
                || strcmp(p[i].value, q[i].value) != 0)
            {
                abort();
            }
        }
    }

    free(out);
}


int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    int             n;
    uint32_t        pid, key, sp, sk;
    const char     *v;
    unsigned char  *copy;
    unsigned char   secret[HOOP_PG_CANCEL_SECRET_LEN];

    copy = malloc(size ? size : 1);
    if (copy == NULL) {
        return 0;
    }

    memcpy(copy, data, size);

    fuzz_startup(copy, size);

    n = hoop_pg_error_field(copy, size, 'C', &v);
    if (n >= 0 && (v < (char *) copy || v + n > (char *) copy + size)) {
        abort();
    }

    /* a DataRow's cells lie inside it */

    {
        int             c, k;
        hoop_pg_cell_t  cells[16];

        c = hoop_pg_datarow(copy, size, cells, 16);

        for (k = 0; k < c; k++) {
            if (cells[k].data != NULL
                && (cells[k].data < copy
                    || cells[k].data + cells[k].len > copy + size))
            {
                abort();
            }
        }
    }

    (void) hoop_pg_sasl_offers(copy, size, "SCRAM-SHA-256");
    (void) hoop_pg_command_rows((char *) copy, size);

    /* a Parse's type section: accepted only when it adds up exactly */

    if (hoop_pg_parse_types_valid(copy, size)
        && (size < 2 || size - 2 != 4 * (size_t) ((copy[0] << 8) | copy[1])))
    {
        abort();
    }

    if (size >= 8) {
        memset(secret, 0x5a, sizeof(secret));
        pid = hoop_pg_get32(copy);
        key = hoop_pg_get32(copy + 4);

        if (hoop_pg_cancel_open(secret, pid, key, &sp, &sk) == 0) {
            if (hoop_pg_cancel_seal(secret, sp, sk, &sp, &sk) != 0
                || sp != pid || sk != key)
            {
                abort();
            }
        }
    }

    free(copy);

    return 0;
}
