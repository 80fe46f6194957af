/*
 * Copyright (C) nginx-hoop authors
 *
 * libFuzzer target: PostgreSQL's scanner read through pg_query_scan()'s
 * protobuf (hoop_sql_scan_literals()) gives spans inside the text; the
 * trail's redaction writes within its buffer, says the length it needs
 * when the buffer is short, and writes exactly that.
 */

#include <stdlib.h>
#include <string.h>

#include "hoop_sql_redact.h"


int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);


int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    int              i, n, params;
    char            *sql, *out, small[8];
    long             len;
    hoop_sql_span_t  spans[64];

    sql = malloc(size + 1);
    if (sql == NULL) {
        return 0;
    }

    memcpy(sql, data, size);
    sql[size] = '\0';
    size = strlen(sql);

    n = hoop_sql_scan_literals(sql, spans, 64, &params);

    for (i = 0; i < n; i++) {
        if (spans[i].start + spans[i].len > size || params < 0) {
            abort();
        }
    }

    len = hoop_sql_redact(sql, size & 1, small, sizeof(small));

    if (len >= 0) {
        out = malloc((size_t) len + 1);

        if (out != NULL
            && (hoop_sql_redact(sql, size & 1, out, (size_t) len + 1) != len
                || strlen(out) != (size_t) len))
        {
            abort();
        }

        free(out);
    }

    free(sql);

    return 0;
}
