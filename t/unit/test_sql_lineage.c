/*
 * Copyright (C) nginx-hoop authors
 *
 * Lineage of output columns: a value computed from a masked column is
 * tainted whatever the expression and however the statement reaches it
 * (aliases, subqueries, CTEs, UNION arms, whole rows, RETURNING); a
 * value computed from none is not.
 */

#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "hoop_sql_lineage.h"


static const char          columns[] = "ssn\0email\0";
static const char          relations[] = "customers\0";
static hoop_sql_catalog_t  *cat;


/* what the operator defined: a view that renames, SQL functions */
static const hoop_sql_object_t  objects[] = {
    { 'v', "public", "contacts", NULL, NULL, 0,
      " SELECT customers.id, customers.ssn AS tax_id FROM customers;" },
    { 'm', "public", "mv_tax", NULL, NULL, 0,
      " SELECT customers.id, customers.ssn AS tax FROM customers;" },
    { 's', "public", "get_ssn", NULL, NULL, 0,
      "SELECT ssn FROM customers WHERE id = $1" },
    { 's', "public", "get_name", NULL, NULL, 0,
      "SELECT name FROM customers WHERE id = $1" },
    { 'f', "public", "get_ssn", NULL, NULL, 4, NULL },
    { 'f', "public", "get_name", NULL, NULL, 4, NULL },
};


static hoop_sql_catalog_t *
build(void *mem, size_t *size)
{
    size_t               i, text;
    hoop_sql_catalog_t  *c;

    text = 0;

    for (i = 0; i < sizeof(objects) / sizeof(objects[0]); i++) {
        text += hoop_sql_object_text(&objects[i]);
    }

    *size = hoop_sql_catalog_size(sizeof(objects) / sizeof(objects[0]),
                                  text);
    if (mem == NULL) {
        return NULL;
    }

    c = hoop_sql_catalog_init(mem, *size,
                              sizeof(objects) / sizeof(objects[0]), NULL);

    for (i = 0; c != NULL && i < sizeof(objects) / sizeof(objects[0]); i++) {
        if (hoop_sql_catalog_add(c, &objects[i]) != 0) {
            return NULL;
        }
    }

    if (c != NULL) {
        hoop_sql_catalog_build(c);
    }

    return c;
}


/* the outputs of sql as a string: 'c' clean, 't' tainted, '*' star */
static const char *
outs(const char *sql, int *reads)
{
    size_t               i;
    static char          buf[HOOP_SQL_LINEAGE_MAX + 8];
    hoop_sql_lineage_t   l;

    if (hoop_sql_lineage(sql, columns, relations, cat, &l) != 0) {
        return "error";
    }

    *reads = l.reads;

    if (!l.known) {
        return "unknown";
    }

    for (i = 0; i < l.n; i++) {
        buf[i] = "ct*"[l.out[i]];
    }

    buf[i] = '\0';

    return buf;
}


static const struct {
    const char  *sql;
    const char  *want;
    int          reads;
} cases[] = {
    /* a "*" in a subquery whose alias renames its columns: the names
     * after it may fall on any column (found by review: z was clean) */
    { "SELECT z || '' FROM (SELECT a.*, 0, 0 FROM (SELECT name, id, ssn"
      " FROM customers) a) b(x, q, z)", "t", 1 },
    { "SELECT 'n ' || translate(z, '-', ' ') FROM (SELECT 1, a.*, 2 FROM"
      " (SELECT id, ssn FROM customers) a) b(w, q, z)", "t", 1 },
    { "SELECT w FROM (SELECT 1, a.*, 2 FROM (SELECT id, ssn FROM"
      " customers) a) b(w, q, z)", "c", 1 },
    /* COPY of a table: the columns it names, or all of them */
    { "COPY customers TO STDOUT", "unknown", 1 },
    { "COPY public.customers (id, ssn) TO STDOUT", "unknown", 1 },
    { "COPY customers (id, name) TO STDOUT", "unknown", 0 },
    { "COPY contacts TO STDOUT", "unknown", 1 },
    { "COPY orders TO STDOUT", "unknown", 0 },
    { "COPY customers FROM STDIN", "unknown", 0 },
    /* reshaped: whatever the expression */
    { "SELECT id, reverse(ssn), ssn || 'x', translate(ssn, '-', '')"
      " FROM customers", "cttt", 1 },
    { "SELECT encode(convert_to(email, 'UTF8'), 'base64'),"
      " length(ssn)::text, upper(name) FROM customers", "ttc", 1 },
    { "SELECT split_part(ssn, '-', 1) || split_part(ssn, '-', 2) AS a,"
      " lpad(email, 40) FROM customers c", "tt", 1 },

    /* qualified, aliased, whole rows */
    { "SELECT c.ssn::int8, c, row_to_json(c.*), c.id FROM customers c",
      "tttc", 1 },
    { "SELECT x FROM customers AS x", "t", 1 },
    { "SELECT t FROM (SELECT id FROM customers) t", "c", 0 },

    /* subqueries and CTEs rename it */
    { "SELECT reverse(s) FROM (SELECT ssn AS s FROM customers) q", "t", 1 },
    { "SELECT q.b FROM (SELECT id, ssn FROM customers) AS q(a, b)", "t",
      1 },
    { "SELECT q.a FROM (SELECT id, ssn FROM customers) AS q(a, b)", "c",
      1 },
    { "WITH w AS (SELECT ssn AS k, id FROM customers)"
      " SELECT md5(k), id FROM w", "tc", 1 },
    { "WITH w(v) AS (SELECT upper(ssn) FROM customers)"
      " SELECT v || '' FROM w", "t", 1 },
    { "WITH w AS (SELECT upper(ssn) FROM customers) SELECT upper FROM w",
      "t", 1 },
    { "SELECT (SELECT max(ssn) FROM customers) AS m, 1", "tc", 1 },
    { "SELECT reverse(x) FROM (SELECT * FROM (SELECT ssn AS x"
      " FROM customers) a) b", "t", 1 },

    /* set operations: either arm */
    { "SELECT 'a', 1 UNION ALL SELECT ssn, 2 FROM customers", "tc", 1 },
    { "SELECT v FROM (SELECT 'a' AS v UNION SELECT email FROM customers) u",
      "t", 1 },

    /* RETURNING, VALUES, a star */
    { "UPDATE customers SET name = name WHERE id = 1"
      " RETURNING id, reverse(ssn)", "ct", 1 },
    { "SELECT * FROM (VALUES (1, 'a')) v(x, y)", "*", 0 },
    { "SELECT *, reverse(ssn) FROM customers", "*t", 1 },

    /* what depends on no masked value is not tainted */
    { "SELECT count(*), max(id) FROM customers WHERE ssn LIKE '1%'", "cc",
      1 },
    { "SELECT id, name FROM customers ORDER BY email", "cc", 1 },
    { "SELECT 1", "c", 0 },

    /* the shapes an agent tries next */
    { "SELECT (SELECT ssn), ARRAY(SELECT email FROM customers)"
      " FROM customers", "tt", 1 },
    { "SELECT string_agg(ssn, ','), jsonb_agg(c), lag(email) OVER ()"
      " FROM customers c", "ttt", 1 },
    { "SELECT r FROM customers c, LATERAL (SELECT reverse(c.ssn) AS r) l",
      "t", 1 },
    { "SELECT u FROM customers c, unnest(ARRAY[c.ssn]) u", "t", 1 },
    { "SELECT (c).ssn, c::text, format('%s', ssn) FROM customers c", "ttt",
      1 },
    { "SELECT CASE WHEN ssn LIKE '1%' THEN 'a' END, ssn IS NULL"
      " FROM customers", "tt", 1 },
    { "SELECT id FROM customers ORDER BY ssn", "c", 1 },
    { "SELECT j, j.id FROM (customers c JOIN cards d USING (id)) AS j",
      "tc", 1 },
    { "INSERT INTO t SELECT ssn FROM customers RETURNING *", "*", 1 },

    /* a fourth review: default names, a "*" under a column list, writes */
    { "SELECT reverse(value) FROM customers c, jsonb_each_text(to_jsonb(c))"
      " WHERE key = 'ssn'", "t", 1 },
    { "SELECT key, translate(value, '0123456789', 'abcdefghij'), 1"
      " FROM customers c, jsonb_each_text(to_jsonb(c))", "ttc", 1 },
    { "SELECT reverse(column1) FROM (VALUES ((SELECT ssn FROM customers"
      " LIMIT 1))) v", "t", 1 },
    { "WITH w(a, b, c, s) AS (SELECT * FROM customers)"
      " SELECT reverse(s) FROM w", "t", 1 },
    { "INSERT INTO t_uniq SELECT reverse(ssn) FROM customers RETURNING v",
      "t", 1 },
    { "UPDATE t_uniq SET v = (SELECT translate(ssn, '1', '2')"
      " FROM customers WHERE id = 1) RETURNING v, id", "tc", 1 },
    { "SELECT id FROM cards, generate_series(1, 3) g", "c", 0 },

    /* through the catalog: a view's definition, a function's body */
    { "SELECT reverse(tax_id), id FROM contacts", "tc", 1 },
    { "SELECT k FROM contacts k", "t", 1 },
    /* a materialized view: its rows are what its definition returned */
    { "SELECT tax, reverse(tax), id FROM mv_tax", "ttc", 1 },
    { "SELECT m FROM mv_tax m", "t", 1 },
    { "SELECT get_ssn(id), get_name(id) FROM customers", "tc", 1 },
    { "SELECT upper(public.get_ssn(1))", "t", 1 },

    /* not a select: only whether it reads one */
    { "DECLARE k CURSOR FOR SELECT reverse(ssn) FROM customers", "unknown",
      1 },
    { "EXPLAIN SELECT id FROM customers", "unknown", 0 },
    { "FETCH 10 FROM k", "unknown", 0 },
};


int
main(void)
{
    int                  reads;
    void                *mem;
    size_t               i, size;
    const char          *got;
    hoop_sql_lineage_t   l;

    (void) build(NULL, &size);
    mem = malloc(size);
    cat = build(mem, &size);
    ok(cat != NULL, "a catalog with a view and SQL functions");

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        reads = -1;
        got = outs(cases[i].sql, &reads);
        ok(strcmp(got, cases[i].want) == 0 && reads == cases[i].reads,
           "%s: %s (reads %d)", cases[i].sql, got, reads);
    }

    ok(hoop_sql_lineage("SELECT FROM WHERE (", columns, relations, cat, &l)
       == -1
       && l.reads && !l.known, "unreadable: reads, nothing known");

    /* what an INSERT or UPDATE writes: a masked value, or not */
    {
        static const struct {
            const char  *sql;
            int          stores;
        } writes[] = {
            { "INSERT INTO notes (body) SELECT reverse(ssn) FROM customers",
              1 },
            { "INSERT INTO notes VALUES ((SELECT email FROM customers "
              "LIMIT 1))", 1 },
            { "UPDATE customers SET name = translate(ssn, '-', '')", 1 },
            { "UPDATE orders o SET note = c.email FROM customers c "
              "WHERE c.id = o.customer_id", 1 },
            { "WITH x AS (INSERT INTO log SELECT email FROM customers "
              "RETURNING 1) SELECT count(*) FROM x", 1 },
            { "INSERT INTO notes (body) SELECT name FROM customers", 0 },
            { "UPDATE customers SET status = 'gone' WHERE email = 'a@b.c'",
              0 },
            { "DELETE FROM customers WHERE ssn = '078-05-1120'", 0 },
            { "SELECT reverse(ssn) FROM customers", 0 },
        };

        for (i = 0; i < sizeof(writes) / sizeof(writes[0]); i++) {
            ok(hoop_sql_lineage(writes[i].sql, columns, relations, cat, &l)
               == 0 && l.stores == writes[i].stores,
               "%s: %s a masked value", writes[i].sql,
               writes[i].stores ? "stores" : "does not store");
        }
    }

    ok(hoop_sql_lineage("SELECT reverse(ssn) FROM customers", columns,
                        relations, cat, &l) == 0 && !l.returning
       && hoop_sql_lineage("DELETE FROM customers RETURNING ssn", columns,
                           relations, cat, &l) == 0 && l.returning,
       "a SELECT's outputs are its own; RETURNING's a table's");

    {
        char    list[256];
        size_t  n;

        n = hoop_sql_catalog_mentioning(cat, "ssn\0", list, sizeof(list));
        ok(n > 0 && hoop_sql_lineage_listed(list, "ssn", 3)
           && hoop_sql_lineage_listed(list, "contacts", 8)
           && hoop_sql_lineage_listed(list, "mv_tax", 6)
           && hoop_sql_lineage_listed(list, "get_ssn", 7)
           && !hoop_sql_lineage_listed(list, "get_name", 8),
           "the definitions that mention a masked name, for the prefilter");
        is_int(hoop_sql_catalog_mentioning(cat, "ssn\0", list, 8), 0,
               "no room: 0");
    }

    ok(hoop_sql_lineage_mentions("select SSN from t", 17, columns),
       "mentions: a masked name in any case");
    ok(!hoop_sql_lineage_mentions("select id from t", 16, columns),
       "mentions: none");

    free(mem);

    return done_testing();
}
