/*
 * Copyright (C) nginx-hoop authors
 *
 * Lineage of a statement's output columns: which of them carry a value
 * computed from a masked column, whatever the expression, through
 * aliases, subqueries, CTEs, set operations and whole-row references.
 */

#ifndef HOOP_SQL_LINEAGE_H
#define HOOP_SQL_LINEAGE_H

#include <stddef.h>

#include "hoop_sql_catalog.h"


/* output columns described one by one, at most */
#define HOOP_SQL_LINEAGE_MAX  64

/* room for the names of tainted columns, NUL-separated */
#define HOOP_SQL_LINEAGE_TAINTED  512

typedef enum {
    HOOP_SQL_OUT_CLEAN = 0,     /* computed from no masked value */
    HOOP_SQL_OUT_TAINTED,       /* may carry one */
    HOOP_SQL_OUT_STAR           /* a "*": columns of a relation, unknown */
} hoop_sql_out_e;


typedef struct {
    int            reads;       /* it reads a masked column somewhere */
    int            known;       /* out[] are its output columns in order */
    int            returning;   /* not a SELECT: its outputs are what it
                                   wrote, a table's columns though they
                                   be */
    int            stores;      /* an INSERT or UPDATE (a CTE's too)
                                   writes a value computed from a masked
                                   column */
    size_t         n;
    unsigned char  out[HOOP_SQL_LINEAGE_MAX];   /* hoop_sql_out_e */

    /*
     * The names of the columns found tainted ("ssn\0tax_id\0\0"): what a
     * "*" expands to is told by name (a view's column computed from a
     * masked one); tainted_all when they did not fit, or are not known
     */
    int            tainted_all;
    char           tainted[HOOP_SQL_LINEAGE_TAINTED];
} hoop_sql_lineage_t;


/*
 * The lineage of the first statement of sql.  columns: the masked column
 * names, relations: the relations that have one, each a list of names
 * separated and ended by NUL ("ssn\0email\0\0"), as the parser folds them
 * (lower case unless quoted).  With cat (may be NULL), a view's
 * definition and a non-volatile SQL function's body are read where the
 * statement names them: a view or a call that returns a masked value is
 * tainted.  Names are matched in any scope, so what it
 * says is conservative: a column of another table that has a masked
 * column's name is tainted too.  A SELECT (or a statement's RETURNING)
 * has its outputs known; other statements only reads.  Returns 0, or -1
 * when sql cannot be read (out then says: reads, nothing known).
 */
int hoop_sql_lineage(const char *sql, const char *columns,
    const char *relations, const hoop_sql_catalog_t *cat,
    hoop_sql_lineage_t *out);

/* Whether a NUL-separated list of names has one that appears in text. */
int hoop_sql_lineage_mentions(const char *text, size_t len,
    const char *names);

/* Whether a NUL-separated list of names has name (len bytes). */
int hoop_sql_lineage_listed(const char *names, const char *name,
    size_t len);

#endif /* HOOP_SQL_LINEAGE_H */
