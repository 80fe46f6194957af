/*
 * Copyright (C) nginx-hoop authors
 *
 * Lineage of output columns: a value computed from a masked column is
 * tainted whatever the expression and however the statement reaches it
 * (aliases, subqueries, CTEs, UNION arms, whole rows, RETURNING); a
 * value computed from none is not.
 */

#include <string.h>

#include "tap.h"
#include "hoop_sql_lineage.h"


static const char  columns[] = "ssn\0email\0";
static const char  relations[] = "customers\0";


/* the outputs of sql as a string: 'c' clean, 't' tainted, '*' star */
static const char *
outs(const char *sql, int *reads)
{
    size_t               i;
    static char          buf[HOOP_SQL_LINEAGE_MAX + 8];
    hoop_sql_lineage_t   l;

    if (hoop_sql_lineage(sql, columns, relations, &l) != 0) {
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
    size_t               i;
    const char          *got;
    hoop_sql_lineage_t   l;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        reads = -1;
        got = outs(cases[i].sql, &reads);
        ok(strcmp(got, cases[i].want) == 0 && reads == cases[i].reads,
           "%s: %s (reads %d)", cases[i].sql, got, reads);
    }

    ok(hoop_sql_lineage("SELECT FROM WHERE (", columns, relations, &l) == -1
       && l.reads && !l.known, "unreadable: reads, nothing known");

    ok(hoop_sql_lineage_mentions("select SSN from t", 17, columns),
       "mentions: a masked name in any case");
    ok(!hoop_sql_lineage_mentions("select id from t", 16, columns),
       "mentions: none");

    return done_testing();
}
