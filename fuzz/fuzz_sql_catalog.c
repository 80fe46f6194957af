/*
 * Copyright (C) nginx-hoop authors
 *
 * libFuzzer target: the catalog query's rows as the database could send
 * them (any bytes, cut into DataRow messages), built into a catalog with
 * definitions parsed and resolved, and a statement resolved against it.
 * Input: the rows' length (4 bytes, big-endian), the rows, the
 * statement.  Whatever they are, nothing reads or writes out of bounds,
 * the kind is a kind and the texts stay terminated.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hoop_pg_msg.h"
#include "hoop_sql_catalog.h"


#define ROWS_MAX  64


int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);


int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    int                  i, n;
    char                *sql, *strings;
    void                *mem;
    size_t               k, rows, pos, len, split, text, cap;
    hoop_sql_refs_t      refs[2];
    hoop_sql_stmt_t      st[2];
    hoop_sql_object_t    objs[ROWS_MAX];
    hoop_sql_catalog_t  *cat;

    const unsigned char  *rows_at;

    if (size < 4) {
        return 0;
    }

    split = hoop_pg_get32(data);
    split = (split > size - 4) ? size - 4 : split;
    rows_at = data + 4;

    /* the rows: each a DataRow, its length from its header */

    strings = malloc(split + 1);
    if (strings == NULL) {
        return 0;
    }

    rows = 0;
    text = 0;
    cap = 0;

    for (pos = 0; pos + 5 <= split && rows < ROWS_MAX; pos += len) {
        len = (size_t) hoop_pg_get32(rows_at + pos + 1) + 1;

        if (len < 5 || len > split - pos) {
            break;
        }

        if (hoop_sql_catalog_row(rows_at + pos, len, &objs[rows],
                                 strings + cap, split + 1 - cap)
            == 0)
        {
            text += hoop_sql_object_text(&objs[rows]);
            cap += len;
            rows++;
        }
    }

    mem = malloc(hoop_sql_catalog_size(rows, text));
    cat = mem ? hoop_sql_catalog_init(mem, hoop_sql_catalog_size(rows, text),
                                      rows, NULL)
              : NULL;

    for (k = 0; cat != NULL && k < rows; k++) {
        if (hoop_sql_catalog_add(cat, &objs[k]) != 0) {
            abort();                /* sized for exactly these */
        }
    }

    if (cat != NULL) {
        hoop_sql_catalog_build(cat);
    }

    /* the statement */

    len = size - 4 - split;
    sql = malloc(len + 1);

    if (sql != NULL && cat != NULL) {
        memcpy(sql, rows_at + split, len);
        sql[len] = '\0';

        n = hoop_sql_classify_refs(sql, st, refs, 2, NULL, 0);

        for (i = 0; i < n && i < 2; i++) {
            hoop_sql_resolve(&st[i], &refs[i], cat);

            if (st[i].kind > HOOP_SQL_UNKNOWN
                || memchr(st[i].cause, '\0', sizeof(st[i].cause)) == NULL
                || memchr(st[i].functions, '\0', sizeof(st[i].functions))
                   == NULL)
            {
                abort();
            }
        }
    }

    free(sql);
    free(mem);
    free(strings);

    return 0;
}
