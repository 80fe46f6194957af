/*
 * Copyright (C) nginx-hoop authors
 *
 * libFuzzer target: the lineage of any SQL text the parser takes stays
 * within its bounds, says what it read, and never claims to know more
 * outputs than it can hold; text it cannot read is the worst case.
 */

#include <stdlib.h>
#include <string.h>

#include "hoop_sql_lineage.h"


int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);


int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    int                  rc;
    char                *sql;
    size_t               i;
    hoop_sql_lineage_t   l;

    sql = malloc(size + 1);
    if (sql == NULL) {
        return 0;
    }

    memcpy(sql, data, size);
    sql[size] = '\0';

    rc = hoop_sql_lineage(sql, "ssn\0email\0a\0", "customers\0t\0", NULL,
                          &l);

    if ((rc != 0 && (!l.reads || l.known))
        || l.n > HOOP_SQL_LINEAGE_MAX || (!l.known && l.n != 0))
    {
        abort();
    }

    for (i = 0; i < l.n; i++) {
        if (l.out[i] > HOOP_SQL_OUT_STAR) {
            abort();
        }
    }

    (void) hoop_sql_lineage_mentions(sql, strlen(sql), "ssn\0email\0");

    free(sql);

    return 0;
}
