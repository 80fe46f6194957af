/*
 * Copyright (C) nginx-hoop authors
 *
 * libFuzzer target: whatever the text, classification returns statements
 * that lie inside it, of a valid kind, with terminated name lists, and
 * references that read back within their buffer.
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
    size_t           pos;
    const char      *schema, *name;
    hoop_sql_refs_t  refs[4];
    hoop_sql_stmt_t  st[4];

    sql = malloc(size + 1);
    if (sql == NULL) {
        return 0;
    }

    memcpy(sql, data, size);
    sql[size] = '\0';

    n = hoop_sql_classify_refs(sql, st, refs, 4, err, sizeof(err));

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

        pos = 0;

        while (hoop_sql_ref_next(&refs[i], &pos, &schema, &name) != 0) {
            if (pos > refs[i].len || name < refs[i].names
                || name >= refs[i].names + refs[i].len)
            {
                abort();
            }
        }
    }

    free(sql);

    return 0;
}
