/*
 * Copyright (C) nginx-hoop authors
 *
 * libFuzzer target: whatever the text, classification returns statements
 * that lie inside it, of a valid kind, with terminated name lists.
 */

#include <stdlib.h>
#include <string.h>

#include "hoop_sql.h"


int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);


int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    int              i, n;
    char            *sql, err[128];
    hoop_sql_stmt_t  st[4];

    sql = malloc(size + 1);
    if (sql == NULL) {
        return 0;
    }

    memcpy(sql, data, size);
    sql[size] = '\0';

    n = hoop_sql_classify(sql, st, 4, err, sizeof(err));

    if (n > 4) {
        abort();
    }

    for (i = 0; i < n; i++) {
        if (st[i].kind > HOOP_SQL_UNKNOWN
            || st[i].offset + st[i].length > strlen(sql)
            || memchr(st[i].tables, '\0', sizeof(st[i].tables)) == NULL
            || memchr(st[i].functions, '\0', sizeof(st[i].functions)) == NULL)
        {
            abort();
        }
    }

    free(sql);

    return 0;
}
