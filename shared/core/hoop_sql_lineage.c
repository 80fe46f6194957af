/*
 * Copyright (C) nginx-hoop authors
 *
 * Taint by name, to a fixed point: a name is tainted when it is a masked
 * column, or the output name of a select list entry (in a subquery, a
 * CTE, an arm of a UNION) whose expression reads a tainted name; a
 * relation is tainted when it has a masked column, or is an alias, a
 * subquery or a CTE with a tainted output.  The top statement's outputs
 * are then tainted one by one.  Scopes are ignored on purpose: a name
 * tainted anywhere is tainted everywhere, which can only mask more.
 */

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "hoop_sql.h"
#include "hoop_sql_lineage.h"


#define HOOP_SQL_LINEAGE_NAMES  128
#define HOOP_SQL_LINEAGE_NAME   64
#define HOOP_SQL_LINEAGE_PASSES 16


enum {
    HOOP_SQL_LIN_COLUMN = 0,
    HOOP_SQL_LIN_RELATION
};


#define HOOP_SQL_LINEAGE_DEPTH  4     /* views of views, calls in calls */


typedef struct {
    char                       names[2][HOOP_SQL_LINEAGE_NAMES]
                                    [HOOP_SQL_LINEAGE_NAME];
    size_t                     n[2];
    int                        changed;
    int                        overflow;    /* a name did not fit, or a
                                               definition nested too deep:
                                               all is tainted */
    int                        reads;
    int                        stores;      /* writes a tainted value */
    int                        starred;     /* a FROM has a tainted
                                               relation: "*" reads it */
    int                        opaque;      /* a tainted source whose
                                               column names are not
                                               known: a function in FROM,
                                               INSERT ... SELECT */
    unsigned                   depth;
    const hoop_sql_catalog_t  *cat;
} hoop_sql_lin_t;


static int hoop_sql_lin_has(hoop_sql_lin_t *l, int kind, const char *name);
static void hoop_sql_lin_add(hoop_sql_lin_t *l, int kind, const char *name);
static void hoop_sql_lin_seed(hoop_sql_lin_t *l, int kind,
    const char *names);
static int hoop_sql_lin_export(hoop_sql_lin_t *l, char *buf, size_t size);
static const char *hoop_sql_lin_sval(json_t *node);
static int hoop_sql_lin_expr(hoop_sql_lin_t *l, json_t *v);
static int hoop_sql_lin_columnref(hoop_sql_lin_t *l, json_t *ref);
static int hoop_sql_lin_has_column(json_t *v);
static size_t hoop_sql_lin_select(hoop_sql_lin_t *l, json_t *sel,
    unsigned char *out, size_t max);
static size_t hoop_sql_lin_targets(hoop_sql_lin_t *l, json_t *list,
    unsigned char *out, size_t max);
static void hoop_sql_lin_from(hoop_sql_lin_t *l, json_t *item);
static void hoop_sql_lin_with(hoop_sql_lin_t *l, json_t *with);
static void hoop_sql_lin_copy(hoop_sql_lin_t *l, json_t *copy);
static int hoop_sql_lin_rel_tainted(hoop_sql_lin_t *l, json_t *item);
static void hoop_sql_lin_alias(hoop_sql_lin_t *l, json_t *alias,
    const unsigned char *out, size_t n, int any);
static const char *hoop_sql_lin_figure(json_t *val);
static size_t hoop_sql_lin_stmt(hoop_sql_lin_t *l, json_t *stmt,
    unsigned char *out, size_t max, int *known);
static json_t *hoop_sql_lin_unwrap(json_t *node, const char *type);
static int hoop_sql_lin_defined(hoop_sql_lin_t *l, char type,
    const char *name);


int
hoop_sql_lineage(const char *sql, const char *columns,
    const char *relations, const hoop_sql_catalog_t *cat,
    hoop_sql_lineage_t *out)
{
    int                  known, pass;
    size_t               n;
    json_t              *root, *stmts, *stmt;
    hoop_sql_lin_t       l;

    memset(out, 0, sizeof(*out));
    out->reads = 1;             /* until known better */
    out->tainted_all = 1;

    root = hoop_sql_parse_tree(sql);
    if (root == NULL) {
        return -1;
    }

    stmts = json_object_get(root, "stmts");
    stmt = json_object_get(json_array_get(stmts, 0), "stmt");

    if (stmt == NULL) {
        json_decref(root);
        out->reads = 0;
        return 0;                           /* nothing: an empty query */
    }

    memset(&l, 0, sizeof(l));
    l.cat = cat;
    hoop_sql_lin_seed(&l, HOOP_SQL_LIN_COLUMN, columns);
    hoop_sql_lin_seed(&l, HOOP_SQL_LIN_RELATION, relations);

    n = 0;
    known = 0;

    for (pass = 0; pass < HOOP_SQL_LINEAGE_PASSES; pass++) {
        l.changed = 0;
        l.reads = 0;
        l.stores = 0;
        l.starred = 0;
        l.opaque = 0;
        known = 0;

        n = hoop_sql_lin_stmt(&l, stmt, out->out, HOOP_SQL_LINEAGE_MAX,
                              &known);

        if (!l.changed || l.overflow) {
            break;
        }
    }

    out->returning = (hoop_sql_lin_unwrap(stmt, "SelectStmt") == NULL);

    json_decref(root);

    if (l.overflow || l.changed) {
        out->stores = 1;
        return 0;                           /* reads, nothing known */
    }

    out->reads = l.reads;
    out->stores = l.stores;
    out->tainted_all = hoop_sql_lin_export(&l, out->tainted,
                                           sizeof(out->tainted));
    out->known = known && n <= HOOP_SQL_LINEAGE_MAX;
    out->n = out->known ? n : 0;

    return 0;
}


int
hoop_sql_lineage_mentions(const char *text, size_t len, const char *names)
{
    size_t       n, i;
    const char  *name;

    for (name = names; *name; name += n + 1) {
        n = strlen(name);

        for (i = 0; i + n <= len; i++) {
            if (strncasecmp(text + i, name, n) == 0) {
                return 1;
            }
        }
    }

    return 0;
}


int
hoop_sql_lineage_listed(const char *names, const char *name, size_t len)
{
    size_t       n;
    const char  *p;

    for (p = names; *p; p += n + 1) {
        n = strlen(p);

        if (n == len && memcmp(p, name, len) == 0) {
            return 1;
        }
    }

    return 0;
}


/* the top statement: its outputs, when it has a select list */
static size_t
hoop_sql_lin_stmt(hoop_sql_lin_t *l, json_t *stmt, unsigned char *out,
    size_t max, int *known)
{
    json_t  *node;

    if ((node = hoop_sql_lin_unwrap(stmt, "SelectStmt")) != NULL) {
        *known = 1;
        return hoop_sql_lin_select(l, node, out, max);
    }

    if ((node = hoop_sql_lin_unwrap(stmt, "InsertStmt")) != NULL
        || (node = hoop_sql_lin_unwrap(stmt, "UpdateStmt")) != NULL
        || (node = hoop_sql_lin_unwrap(stmt, "DeleteStmt")) != NULL)
    {
        unsigned char  rows[HOOP_SQL_LINEAGE_MAX];
        size_t         i, n;

        hoop_sql_lin_with(l, json_object_get(node, "withClause"));
        hoop_sql_lin_from(l, json_object_get(node, "relation"));
        hoop_sql_lin_from(l, json_object_get(node, "fromClause"));
        hoop_sql_lin_from(l, json_object_get(node, "usingClause"));

        /* what is written from a masked value: the columns it goes to */

        n = hoop_sql_lin_select(l, hoop_sql_lin_unwrap(
                                json_object_get(node, "selectStmt"),
                                "SelectStmt"), rows, HOOP_SQL_LINEAGE_MAX);

        for (i = 0; i < n && i < HOOP_SQL_LINEAGE_MAX; i++) {
            if (rows[i] != HOOP_SQL_OUT_CLEAN) {
                l->opaque = 1;          /* which column: not worth telling */
                l->stores = 1;
            }
        }

        if (hoop_sql_lin_unwrap(stmt, "UpdateStmt") != NULL) {
            n = hoop_sql_lin_targets(l, json_object_get(node, "targetList"),
                                     rows, HOOP_SQL_LINEAGE_MAX);

            for (i = 0; i < n && i < HOOP_SQL_LINEAGE_MAX; i++) {
                l->stores |= (rows[i] != HOOP_SQL_OUT_CLEAN);
            }
        }

        (void) hoop_sql_lin_expr(l, node);

        *known = 1;
        return hoop_sql_lin_targets(l, json_object_get(node,
                                                       "returningList"),
                                    out, max);
    }

    /*
     * COPY table [(columns)] TO: reads those columns, or all of them;
     * a tainted relation (a masked column's, a view over one) copied
     * whole reads one
     */

    if ((node = hoop_sql_lin_unwrap(stmt, "CopyStmt")) != NULL
        && json_object_get(node, "relation") != NULL
        && !json_is_true(json_object_get(node, "is_from")))
    {
        hoop_sql_lin_copy(l, node);
    }

    /* DECLARE, PREPARE, EXPLAIN, COPY (...), ...: what they read */

    (void) hoop_sql_lin_select(l, hoop_sql_lin_unwrap(
                               json_object_get(hoop_sql_lin_unwrap(stmt,
                                   "DeclareCursorStmt"), "query"),
                               "SelectStmt"), NULL, 0);
    (void) hoop_sql_lin_select(l, hoop_sql_lin_unwrap(
                               json_object_get(hoop_sql_lin_unwrap(stmt,
                                   "PrepareStmt"), "query"),
                               "SelectStmt"), NULL, 0);
    (void) hoop_sql_lin_expr(l, stmt);

    return 0;
}


static void
hoop_sql_lin_copy(hoop_sql_lin_t *l, json_t *copy)
{
    size_t       i;
    json_t      *relation, *attlist;
    const char  *relname, *name;

    relation = json_object_get(copy, "relation");
    attlist = json_object_get(copy, "attlist");

    hoop_sql_lin_from(l, relation);

    if (json_array_size(attlist) == 0) {
        relname = json_string_value(json_object_get(relation, "relname"));

        if (relname != NULL
            && hoop_sql_lin_has(l, HOOP_SQL_LIN_RELATION, relname))
        {
            l->reads = 1;
        }

        return;
    }

    for (i = 0; i < json_array_size(attlist); i++) {
        name = hoop_sql_lin_sval(json_array_get(attlist, i));

        if (name != NULL && hoop_sql_lin_has(l, HOOP_SQL_LIN_COLUMN, name)) {
            l->reads = 1;
        }
    }
}


/*
 * A SelectStmt's fields: its outputs' taint into out (max of them, NULL
 * for none), the names it taints added; returns the number of outputs.
 */
static size_t
hoop_sql_lin_select(hoop_sql_lin_t *l, json_t *sel, unsigned char *out,
    size_t max)
{
    size_t         i, n, m;
    json_t        *item, *from;
    const char    *op;
    unsigned char  left[HOOP_SQL_LINEAGE_MAX], right[HOOP_SQL_LINEAGE_MAX];

    if (sel == NULL) {
        return 0;
    }

    hoop_sql_lin_with(l, json_object_get(sel, "withClause"));

    op = json_string_value(json_object_get(sel, "op"));

    if (op != NULL && strcmp(op, "SETOP_NONE") != 0) {

        /* a column of a UNION is tainted when it is in either arm */

        n = hoop_sql_lin_select(l, json_object_get(sel, "larg"), left,
                                HOOP_SQL_LINEAGE_MAX);
        m = hoop_sql_lin_select(l, json_object_get(sel, "rarg"), right,
                                HOOP_SQL_LINEAGE_MAX);

        for (i = 0; i < n && i < HOOP_SQL_LINEAGE_MAX; i++) {
            if (i < m && right[i] != HOOP_SQL_OUT_CLEAN
                && left[i] == HOOP_SQL_OUT_CLEAN)
            {
                left[i] = HOOP_SQL_OUT_TAINTED;
            }

            if (out != NULL && i < max) {
                out[i] = left[i];
            }
        }

        /* the names are the left arm's: taint them as the right says */

        if (m) {
            (void) hoop_sql_lin_targets(l, json_object_get(
                                        json_object_get(sel, "larg"),
                                        "targetList"), right, 0);
        }

        (void) hoop_sql_lin_expr(l, json_object_get(sel, "sortClause"));

        return n;
    }

    from = json_object_get(sel, "fromClause");

    for (i = 0; i < json_array_size(from); i++) {
        item = json_array_get(from, i);
        hoop_sql_lin_from(l, item);
    }

    /* what the rest reads: WHERE, GROUP BY, HAVING, ORDER BY, VALUES */

    (void) hoop_sql_lin_expr(l, json_object_get(sel, "whereClause"));
    (void) hoop_sql_lin_expr(l, json_object_get(sel, "groupClause"));
    (void) hoop_sql_lin_expr(l, json_object_get(sel, "havingClause"));
    (void) hoop_sql_lin_expr(l, json_object_get(sel, "sortClause"));
    (void) hoop_sql_lin_expr(l, json_object_get(sel, "windowClause"));
    (void) hoop_sql_lin_expr(l, json_object_get(sel, "distinctClause"));

    if (json_object_get(sel, "valuesLists") != NULL) {
        item = json_object_get(sel, "valuesLists");
        n = 0;

        /* VALUES (...), (...): a column is tainted when a row's is */

        for (i = 0; i < json_array_size(item); i++) {
            json_t  *row;
            size_t   j;

            row = json_object_get(json_object_get(json_array_get(item, i),
                                                  "List"), "items");

            for (j = 0; j < json_array_size(row); j++) {
                if (j >= n && j < HOOP_SQL_LINEAGE_MAX) {
                    left[j] = HOOP_SQL_OUT_CLEAN;
                    n = j + 1;
                }

                if (j < HOOP_SQL_LINEAGE_MAX
                    && hoop_sql_lin_expr(l, json_array_get(row, j)))
                {
                    left[j] = HOOP_SQL_OUT_TAINTED;
                }
            }
        }

        for (i = 0; i < n && i < HOOP_SQL_LINEAGE_MAX; i++) {
            char  name[16];

            if (left[i] != HOOP_SQL_OUT_CLEAN) {
                snprintf(name, sizeof(name), "column%zu", i + 1);
                hoop_sql_lin_add(l, HOOP_SQL_LIN_COLUMN, name);
            }

            if (out != NULL && i < max) {
                out[i] = left[i];
            }
        }

        return n;
    }

    return hoop_sql_lin_targets(l, json_object_get(sel, "targetList"), out,
                                max);
}


/*
 * A select (or RETURNING) list: each entry's taint into out; a tainted
 * entry's name is tainted.  With max 0, out is read instead: the names
 * of the entries it marks are tainted (a UNION's left arm's names).
 */
static size_t
hoop_sql_lin_targets(hoop_sql_lin_t *l, json_t *list, unsigned char *out,
    size_t max)
{
    int          tainted, star;
    size_t       i, n, last;
    json_t      *target, *val, *fields;
    const char  *name;

    n = json_array_size(list);

    for (i = 0; i < n; i++) {
        target = json_object_get(json_array_get(list, i), "ResTarget");
        val = json_object_get(target, "val");

        star = 0;
        fields = json_object_get(json_object_get(val, "ColumnRef"),
                                 "fields");
        last = json_array_size(fields);

        if (last
            && json_object_get(json_array_get(fields, last - 1), "A_Star"))
        {
            star = 1;
        }

        if (max == 0) {
            tainted = (out != NULL && i < HOOP_SQL_LINEAGE_MAX
                       && out[i] != HOOP_SQL_OUT_CLEAN);

        } else {
            tainted = hoop_sql_lin_expr(l, val)
                      || (l->opaque && hoop_sql_lin_has_column(val));
        }

        if (tainted) {
            name = json_string_value(json_object_get(target, "name"));

            if (name == NULL) {
                name = hoop_sql_lin_figure(val);
            }

            if (name != NULL) {
                hoop_sql_lin_add(l, HOOP_SQL_LIN_COLUMN, name);
            }
        }

        if (max && out != NULL && i < max) {
            out[i] = star ? HOOP_SQL_OUT_STAR
                          : tainted ? HOOP_SQL_OUT_TAINTED
                                    : HOOP_SQL_OUT_CLEAN;
        }
    }

    return n;
}


/* a FROM item: aliases of tainted relations and subqueries are tainted */
static void
hoop_sql_lin_from(hoop_sql_lin_t *l, json_t *item)
{
    size_t          n;
    json_t         *node;
    const char     *relname;
    unsigned char   out[HOOP_SQL_LINEAGE_MAX];

    if (item == NULL) {
        return;
    }

    if (json_is_array(item)) {
        for (n = 0; n < json_array_size(item); n++) {
            hoop_sql_lin_from(l, json_array_get(item, n));
        }

        return;
    }

    node = json_object_get(item, "RangeVar");

    if (node == NULL && json_object_get(item, "relname") != NULL) {
        node = item;                        /* a statement's relation */
    }

    if (node != NULL) {
        relname = json_string_value(json_object_get(node, "relname"));

        /*
         * a view that returns a masked value is a tainted relation; so is
         * a materialized one, whose rows are what its definition returned
         */

        if (relname != NULL
            && !hoop_sql_lin_has(l, HOOP_SQL_LIN_RELATION, relname)
            && (hoop_sql_lin_defined(l, HOOP_SQL_OBJ_VIEW, relname)
                || hoop_sql_lin_defined(l, HOOP_SQL_OBJ_MATVIEW, relname)))
        {
            hoop_sql_lin_add(l, HOOP_SQL_LIN_RELATION, relname);
        }

        if (relname != NULL
            && hoop_sql_lin_has(l, HOOP_SQL_LIN_RELATION, relname))
        {
            l->starred = 1;
            hoop_sql_lin_alias(l, json_object_get(node, "alias"), NULL, 0,
                               1);
        }

        return;
    }

    if ((node = json_object_get(item, "RangeSubselect")) != NULL) {
        n = hoop_sql_lin_select(l, hoop_sql_lin_unwrap(
                                json_object_get(node, "subquery"),
                                "SelectStmt"), out, HOOP_SQL_LINEAGE_MAX);

        hoop_sql_lin_alias(l, json_object_get(node, "alias"), out, n, 0);
        return;
    }

    if ((node = json_object_get(item, "JoinExpr")) != NULL) {
        hoop_sql_lin_from(l, json_object_get(node, "larg"));
        hoop_sql_lin_from(l, json_object_get(node, "rarg"));
        (void) hoop_sql_lin_expr(l, json_object_get(node, "quals"));

        /* a join's alias stands for both sides: tainted if either is */

        if (json_object_get(node, "alias") != NULL) {
            hoop_sql_lin_alias(l, json_object_get(node, "alias"), NULL, 0,
                               hoop_sql_lin_rel_tainted(l, item));
        }

        return;
    }

    /*
     * a function in FROM, a lateral one: tainted by its arguments; its
     * columns' names are the function's (key, value, unnest, ...): any
     * column read beside it may be one
     */

    if (hoop_sql_lin_expr(l, item)) {
        l->opaque = 1;
        hoop_sql_lin_alias(l, json_object_get(json_object_get(item,
                                              "RangeFunction"), "alias"),
                           NULL, 0, 1);
    }
}


/* whether a FROM item (processed) yields a tainted relation */
static int
hoop_sql_lin_rel_tainted(hoop_sql_lin_t *l, json_t *item)
{
    json_t      *node;
    const char  *name;

    if ((node = json_object_get(item, "JoinExpr")) != NULL) {
        return hoop_sql_lin_rel_tainted(l, json_object_get(node, "larg"))
               || hoop_sql_lin_rel_tainted(l, json_object_get(node, "rarg"));
    }

    node = json_object_get(item, "RangeVar");

    if (node != NULL) {
        name = json_string_value(json_object_get(node, "relname"));

        if (name != NULL && hoop_sql_lin_has(l, HOOP_SQL_LIN_RELATION, name))
        {
            return 1;
        }

    } else if ((node = json_object_get(item, "RangeSubselect")) == NULL
               && (node = json_object_get(item, "RangeFunction")) == NULL)
    {
        return 0;
    }

    name = json_string_value(json_object_get(json_object_get(node, "alias"),
                                             "aliasname"));

    return name != NULL && hoop_sql_lin_has(l, HOOP_SQL_LIN_RELATION, name);
}


/*
 * An alias: tainted as a relation when any output is (any, or out[] of
 * n); its column names tainted as out says (all of them when any).
 */
static void
hoop_sql_lin_alias(hoop_sql_lin_t *l, json_t *alias,
    const unsigned char *out, size_t n, int any)
{
    size_t       i, star;
    json_t      *names;
    const char  *name;

    for (i = 0; !any && out != NULL && i < n && i < HOOP_SQL_LINEAGE_MAX;
         i++)
    {
        any = (out[i] != HOOP_SQL_OUT_CLEAN);
    }

    if (alias == NULL || !any) {
        return;
    }

    name = json_string_value(json_object_get(alias, "aliasname"));

    if (name != NULL) {
        hoop_sql_lin_add(l, HOOP_SQL_LIN_RELATION, name);
    }

    names = json_object_get(alias, "colnames");

    /*
     * a "*" stands for columns of unknown number: the names from its
     * place on may fall on any column after it
     */

    for (star = 0; out != NULL && star < n && star < HOOP_SQL_LINEAGE_MAX;
         star++)
    {
        if (out[star] == HOOP_SQL_OUT_STAR) {
            break;
        }
    }

    for (i = 0; i < json_array_size(names); i++) {
        if (out == NULL || i >= n || i >= HOOP_SQL_LINEAGE_MAX
            || out[i] != HOOP_SQL_OUT_CLEAN || i >= star)
        {
            name = hoop_sql_lin_sval(json_array_get(names, i));

            if (name != NULL) {
                hoop_sql_lin_add(l, HOOP_SQL_LIN_COLUMN, name);
            }
        }
    }
}


/* WITH: a CTE with a tainted output is a tainted relation */
static void
hoop_sql_lin_with(hoop_sql_lin_t *l, json_t *with)
{
    int             star;
    size_t          i, j, n;
    json_t         *ctes, *cte, *query, *names;
    const char     *name;
    unsigned char   out[HOOP_SQL_LINEAGE_MAX];

    ctes = json_object_get(with, "ctes");

    for (i = 0; i < json_array_size(ctes); i++) {
        cte = json_object_get(json_array_get(ctes, i), "CommonTableExpr");
        query = json_object_get(cte, "ctequery");

        if (hoop_sql_lin_unwrap(query, "SelectStmt") != NULL) {
            n = hoop_sql_lin_select(l, hoop_sql_lin_unwrap(query,
                                                           "SelectStmt"),
                                    out, HOOP_SQL_LINEAGE_MAX);
        } else {
            /* a data-modifying CTE: its RETURNING list */
            int  known;

            n = hoop_sql_lin_stmt(l, query, out, HOOP_SQL_LINEAGE_MAX,
                                  &known);
        }

        /* a "*" among them: the column names fall anywhere after it */

        star = 0;

        for (j = 0; j < n && j < HOOP_SQL_LINEAGE_MAX; j++) {
            star |= (out[j] == HOOP_SQL_OUT_STAR);
        }

        names = json_object_get(cte, "aliascolnames");

        for (j = 0; j < n && j < HOOP_SQL_LINEAGE_MAX; j++) {
            if (out[j] == HOOP_SQL_OUT_CLEAN) {
                continue;
            }

            name = json_string_value(json_object_get(cte, "ctename"));

            if (name != NULL) {
                hoop_sql_lin_add(l, HOOP_SQL_LIN_RELATION, name);
            }

            name = hoop_sql_lin_sval(json_array_get(names, j));

            if (name != NULL) {
                hoop_sql_lin_add(l, HOOP_SQL_LIN_COLUMN, name);
            }
        }

        for (j = 0; star && j < json_array_size(names); j++) {
            name = hoop_sql_lin_sval(json_array_get(names, j));

            if (name != NULL) {
                hoop_sql_lin_add(l, HOOP_SQL_LIN_COLUMN, name);
            }
        }
    }
}


/* whether an expression (any subtree) reads a tainted name */
static int
hoop_sql_lin_expr(hoop_sql_lin_t *l, json_t *v)
{
    int          tainted;
    size_t       i;
    json_t      *value, *node;
    const char  *key;

    if (v == NULL) {
        return 0;
    }

    if (l->overflow) {
        return 1;
    }

    tainted = 0;

    if (json_is_array(v)) {
        for (i = 0; i < json_array_size(v); i++) {
            tainted |= hoop_sql_lin_expr(l, json_array_get(v, i));
        }

        return tainted;
    }

    if (!json_is_object(v)) {
        return 0;
    }

    if ((node = json_object_get(v, "ColumnRef")) != NULL) {
        return hoop_sql_lin_columnref(l, node);
    }

    /* a call of an SQL function whose body returns a masked value */

    if ((node = json_object_get(v, "FuncCall")) != NULL && l->cat != NULL) {
        json_t  *names;

        names = json_object_get(node, "funcname");
        key = hoop_sql_lin_sval(json_array_get(names,
                                               json_array_size(names) - 1));

        if (key != NULL && hoop_sql_lin_defined(l, HOOP_SQL_OBJ_BODY, key)) {
            l->reads = 1;
            tainted = 1;
        }
    }

    /* a subquery: tainted by what it returns; its FROM taints aliases */

    if ((node = hoop_sql_lin_unwrap(v, "SelectStmt")) != NULL) {
        unsigned char  out[HOOP_SQL_LINEAGE_MAX];
        size_t         n;

        n = hoop_sql_lin_select(l, node, out, HOOP_SQL_LINEAGE_MAX);

        for (i = 0; i < n && i < HOOP_SQL_LINEAGE_MAX; i++) {
            tainted |= (out[i] != HOOP_SQL_OUT_CLEAN);
        }

        return tainted;
    }

    json_object_foreach(v, key, value) {
        if (strcmp(key, "fromClause") == 0 || strcmp(key, "relation") == 0
            || strcmp(key, "usingClause") == 0)
        {
            hoop_sql_lin_from(l, value);
            continue;
        }

        tainted |= hoop_sql_lin_expr(l, value);
    }

    return tainted;
}


/* whether an expression reads any column at all */
static int
hoop_sql_lin_has_column(json_t *v)
{
    size_t       i;
    json_t      *value;
    const char  *key;

    if (json_is_array(v)) {
        for (i = 0; i < json_array_size(v); i++) {
            if (hoop_sql_lin_has_column(json_array_get(v, i))) {
                return 1;
            }
        }

        return 0;
    }

    if (!json_is_object(v)) {
        return 0;
    }

    json_object_foreach(v, key, value) {
        if (strcmp(key, "ColumnRef") == 0 || hoop_sql_lin_has_column(value))
        {
            return 1;
        }
    }

    return 0;
}


/* a column reference: a tainted name, or a whole row of a tainted one */
static int
hoop_sql_lin_columnref(hoop_sql_lin_t *l, json_t *ref)
{
    int          relation;
    size_t       i, n;
    json_t      *fields;
    const char  *name;

    fields = json_object_get(ref, "fields");
    n = json_array_size(fields);

    for (i = 0; i < n; i++) {
        name = hoop_sql_lin_sval(json_array_get(fields, i));

        if (name == NULL) {
            /* "*" alone: every column in scope, a tainted relation's too */
            l->reads |= (n == 1 && l->starred);
            continue;
        }

        /*
         * "c" or "c.*" alone is the whole row of c, "c.id" is not; the
         * first of several names is a column ("ssn.f") unless it is
         * a relation tainted (its own column names say)
         */

        relation = hoop_sql_lin_has(l, HOOP_SQL_LIN_RELATION, name);

        if ((hoop_sql_lin_has(l, HOOP_SQL_LIN_COLUMN, name)
             && (i > 0 || n == 1 || !relation))
            || (relation
                && (n == 1 || (i + 2 == n && hoop_sql_lin_sval(
                                   json_array_get(fields, i + 1)) == NULL))))
        {
            l->reads = 1;
            return 1;
        }
    }

    return 0;
}


/* the name PostgreSQL gives an unnamed select list entry (FigureColname) */
static const char *
hoop_sql_lin_figure(json_t *val)
{
    size_t   n;
    json_t  *node, *names;

    if ((node = json_object_get(val, "ColumnRef")) != NULL) {
        names = json_object_get(node, "fields");

    } else if ((node = json_object_get(val, "FuncCall")) != NULL) {
        names = json_object_get(node, "funcname");

    } else if ((node = json_object_get(val, "TypeCast")) != NULL) {
        names = NULL;

        if (hoop_sql_lin_figure(json_object_get(node, "arg")) != NULL) {
            return hoop_sql_lin_figure(json_object_get(node, "arg"));
        }

        names = json_object_get(json_object_get(node, "typeName"),
                                "names");

    } else if (json_object_get(val, "CaseExpr") != NULL) {
        return "case";

    } else if (json_object_get(val, "A_ArrayExpr") != NULL) {
        return "array";

    } else if (json_object_get(val, "RowExpr") != NULL) {
        return "row";

    } else {
        return "?column?";
    }

    n = json_array_size(names);

    return n ? hoop_sql_lin_sval(json_array_get(names, n - 1)) : NULL;
}


/*
 * Whether a definition the catalog holds of a view or an SQL function of
 * that name returns a masked value: its statements' outputs, tainted in
 * this same context (so the names they taint count here too).
 */
static int
hoop_sql_lin_defined(hoop_sql_lin_t *l, char type, const char *name)
{
    int                  tainted, known;
    size_t               pos, i, j, n;
    json_t              *root, *stmts;
    const char          *body;
    unsigned char        out[HOOP_SQL_LINEAGE_MAX];

    if (l->cat == NULL) {
        return 0;
    }

    tainted = 0;
    pos = 0;

    while ((body = hoop_sql_catalog_body(l->cat, type, name, &pos)) != NULL) {

        if (l->depth >= HOOP_SQL_LINEAGE_DEPTH) {
            l->overflow = 1;                /* too deep to tell: all */
            return 1;
        }

        root = hoop_sql_parse_tree(body);

        if (root == NULL) {
            continue;       /* PL bodies: not SQL (the policy calls them) */
        }

        l->depth++;

        stmts = json_object_get(root, "stmts");

        for (i = 0; i < json_array_size(stmts); i++) {
            known = 0;
            n = hoop_sql_lin_stmt(l, json_object_get(json_array_get(stmts, i),
                                                     "stmt"),
                                  out, HOOP_SQL_LINEAGE_MAX, &known);

            for (j = 0; j < n && j < HOOP_SQL_LINEAGE_MAX; j++) {
                tainted |= (out[j] != HOOP_SQL_OUT_CLEAN);
            }
        }

        l->depth--;
        json_decref(root);
    }

    return tainted;
}


static json_t *
hoop_sql_lin_unwrap(json_t *node, const char *type)
{
    return json_object_get(node, type);
}


static const char *
hoop_sql_lin_sval(json_t *node)
{
    return json_string_value(json_object_get(json_object_get(node,
                                                             "String"),
                                             "sval"));
}


static int
hoop_sql_lin_has(hoop_sql_lin_t *l, int kind, const char *name)
{
    size_t  i;

    for (i = 0; i < l->n[kind]; i++) {
        if (strcmp(l->names[kind][i], name) == 0) {
            return 1;
        }
    }

    return 0;
}


static void
hoop_sql_lin_add(hoop_sql_lin_t *l, int kind, const char *name)
{
    size_t  len;

    if (hoop_sql_lin_has(l, kind, name)) {
        return;
    }

    len = strlen(name);

    if (l->n[kind] == HOOP_SQL_LINEAGE_NAMES
        || len >= HOOP_SQL_LINEAGE_NAME)
    {
        l->overflow = 1;
        return;
    }

    memcpy(l->names[kind][l->n[kind]++], name, len + 1);
    l->changed = 1;
}


/* the tainted column names into buf, NUL-separated; 1: they do not fit */
static int
hoop_sql_lin_export(hoop_sql_lin_t *l, char *buf, size_t size)
{
    size_t  i, len, at;

    for (at = 0, i = 0; i < l->n[HOOP_SQL_LIN_COLUMN]; i++) {
        len = strlen(l->names[HOOP_SQL_LIN_COLUMN][i]);

        if (at + len + 2 > size) {
            buf[0] = '\0';
            return 1;
        }

        memcpy(buf + at, l->names[HOOP_SQL_LIN_COLUMN][i], len + 1);
        at += len + 1;
    }

    buf[at] = '\0';

    return 0;
}


static void
hoop_sql_lin_seed(hoop_sql_lin_t *l, int kind, const char *names)
{
    const char  *name;

    for (name = names; name != NULL && *name; name += strlen(name) + 1) {
        hoop_sql_lin_add(l, kind, name);
    }
}
