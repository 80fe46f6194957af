/*
 * Copyright (C) nginx-hoop authors
 *
 * SQL classification: the kinds, the facts, and the ways SQL has to write
 * while starting with SELECT.
 */

#include <string.h>

#include "tap.h"
#include "hoop_sql.h"


static hoop_sql_stmt_t  st[8];


static int
classify(const char *sql)
{
    return hoop_sql_classify(sql, st, 8, NULL, 0);
}


static void
kind(const char *sql, hoop_sql_kind_e want)
{
    int  n;

    n = classify(sql);
    ok(n == 1 && st[0].kind == want, "%s: %s", sql, hoop_sql_kind_name(want));
}


int
main(void)
{
    int   n;
    char  err[128];

    kind("SELECT 1", HOOP_SQL_READ);
    kind("SELECT * FROM customers WHERE id = 1", HOOP_SQL_READ);
    kind("SHOW server_version", HOOP_SQL_READ);
    kind("BEGIN", HOOP_SQL_READ);
    kind("SET statement_timeout = 5000", HOOP_SQL_READ);
    kind("COPY customers TO STDOUT", HOOP_SQL_READ);
    kind("EXPLAIN SELECT 1", HOOP_SQL_READ);

    kind("INSERT INTO t VALUES (1)", HOOP_SQL_WRITE);
    kind("UPDATE t SET a = 1 WHERE id = 2", HOOP_SQL_WRITE);
    kind("DELETE FROM t WHERE id = 2", HOOP_SQL_WRITE);
    kind("MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE",
         HOOP_SQL_WRITE);
    kind("COPY t FROM STDIN", HOOP_SQL_WRITE);
    kind("TRUNCATE t", HOOP_SQL_WRITE);
    kind("CALL p()", HOOP_SQL_WRITE);

    /* writes that start like reads */
    kind("WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d",
         HOOP_SQL_WRITE);
    kind("EXPLAIN ANALYZE DELETE FROM t", HOOP_SQL_WRITE);
    kind("SELECT * FROM t FOR UPDATE", HOOP_SQL_WRITE);
    kind("SELECT nextval('s')", HOOP_SQL_WRITE);
    kind("SELECT * INTO t2 FROM t", HOOP_SQL_DDL);
    kind("DO $$ BEGIN DELETE FROM t; END $$", HOOP_SQL_WRITE);
    kind("SELECT set_config('default_transaction_read_only', 'off', false)",
         HOOP_SQL_WRITE);
    ok(st[0].lifts_read_only && st[0].by_value,
       "set_config() lifting read-only, by its arguments' values");
    kind("SELECT set_config(current_user, 'x', false)", HOOP_SQL_ADMIN);
    kind("SELECT pg_catalog.set_config('search_path', '', false)",
         HOOP_SQL_READ);
    kind("SELECT app.set_config('role', 'x', false)", HOOP_SQL_READ);

    /* pg_dump's: the row of pg_settings is pinned by the WHERE */

    kind("SELECT set_config(name, 'view, foreign-table', false) FROM"
         " pg_settings WHERE name = 'restrict_nonsystem_relation_kind'",
         HOOP_SQL_READ);
    kind("SELECT set_config(name, 'off', false) FROM pg_settings WHERE"
         " name = 'default_transaction_read_only'", HOOP_SQL_WRITE);
    kind("SELECT set_config(name, 'x', false) FROM pg_settings WHERE"
         " name LIKE 'restrict%'", HOOP_SQL_ADMIN);
    kind("SELECT set_config(name, 'x', false) FROM pg_settings WHERE"
         " name = 'work_mem' OR true", HOOP_SQL_ADMIN);
    kind("SELECT set_config(name, 'x', false) FROM app.pg_settings WHERE"
         " name = 'work_mem'", HOOP_SQL_ADMIN);
    kind("SELECT set_config(name, 'x', false) FROM pg_settings s WHERE"
         " name = 'work_mem'", HOOP_SQL_ADMIN);
    kind("SELECT set_config(setting, 'x', false) FROM pg_settings WHERE"
         " name = 'work_mem'", HOOP_SQL_ADMIN);
    kind("SELECT pg_terminate_backend(42)", HOOP_SQL_ADMIN);
    kind("SELECT (SELECT pg_catalog.pg_read_file('/etc/passwd'))",
         HOOP_SQL_ADMIN);

    kind("CREATE TABLE x (a int)", HOOP_SQL_DDL);
    kind("ALTER TABLE x ADD COLUMN b int", HOOP_SQL_DDL);
    kind("DROP TABLE x", HOOP_SQL_DDL);
    kind("CREATE INDEX ON x (a)", HOOP_SQL_DDL);
    kind("CREATE TABLE y AS SELECT 1", HOOP_SQL_DDL);

    kind("GRANT SELECT ON x TO bob", HOOP_SQL_DCL);
    kind("CREATE ROLE eve LOGIN", HOOP_SQL_DCL);
    kind("ALTER ROLE app SUPERUSER", HOOP_SQL_DCL);

    kind("VACUUM x", HOOP_SQL_ADMIN);
    kind("ALTER SYSTEM SET work_mem = '1GB'", HOOP_SQL_ADMIN);
    kind("SET ROLE postgres", HOOP_SQL_ADMIN);
    kind("SET SESSION AUTHORIZATION postgres", HOOP_SQL_ADMIN);
    kind("COPY t TO PROGRAM 'sh -c id'", HOOP_SQL_ADMIN);
    kind("COPY t FROM '/etc/passwd'", HOOP_SQL_ADMIN);
    kind("EXECUTE p(1)", HOOP_SQL_READ);
    ok(st[0].executes && strcmp(st[0].name, "p") == 0,
       "EXECUTE: what it runs is the caller's to add");
    kind("EXECUTE p(nextval('s'))", HOOP_SQL_WRITE);
    classify("PREPARE q(int) AS DELETE FROM t WHERE id = $1");
    ok(st[0].kind == HOOP_SQL_WRITE && strcmp(st[0].name, "q") == 0
       && !st[0].executes, "PREPARE: its statement's kind, and its name");
    {
        hoop_sql_stmt_t  prepared;

        prepared = st[0];
        classify("EXECUTE q(1)");
        hoop_sql_stmt_runs(&st[0], &prepared);
        ok(st[0].kind == HOOP_SQL_WRITE
           && strcmp(st[0].tables, "t") == 0
           && strcmp(st[0].commands, "execute,prepare,delete") == 0,
           "EXECUTE runs it: a write on t: %s", st[0].commands);
    }

    /* what lifts a read-only transaction, in every syntax */

    kind("BEGIN READ WRITE", HOOP_SQL_WRITE);
    ok(st[0].lifts_read_only, "BEGIN READ WRITE lifts read-only");
    kind("START TRANSACTION ISOLATION LEVEL SERIALIZABLE, READ WRITE",
         HOOP_SQL_WRITE);
    kind("SET TRANSACTION READ WRITE", HOOP_SQL_WRITE);
    kind("SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE",
         HOOP_SQL_WRITE);
    ok(st[0].lifts_read_only, "and SET SESSION CHARACTERISTICS");
    kind("SET default_transaction_read_only = off", HOOP_SQL_WRITE);
    kind("SET LOCAL transaction_read_only TO 0", HOOP_SQL_WRITE);
    kind("SET default_transaction_read_only = 'f'", HOOP_SQL_WRITE);
    kind("BEGIN READ ONLY", HOOP_SQL_READ);
    ok(!st[0].lifts_read_only, "BEGIN READ ONLY does not lift it");
    kind("START TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY",
         HOOP_SQL_READ);
    kind("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE", HOOP_SQL_READ);
    kind("SET default_transaction_read_only = on", HOOP_SQL_READ);
    kind("SET default_transaction_read_only TO DEFAULT", HOOP_SQL_READ);
    kind("RESET transaction_read_only", HOOP_SQL_READ);
    kind("RESET ALL", HOOP_SQL_READ);
    kind("PREPARE TRANSACTION 'x'", HOOP_SQL_WRITE);
    kind("COMMIT PREPARED 'x'", HOOP_SQL_WRITE);

    /* settings: by what they change */

    kind("SET search_path = app, public", HOOP_SQL_READ);
    kind("SET row_security = off", HOOP_SQL_READ);
    kind("SET standard_conforming_strings = on", HOOP_SQL_READ);
    ok(st[0].by_value, "SET's kind depends on its value");
    kind("SET standard_conforming_strings = off", HOOP_SQL_ADMIN);
    kind("SET client_encoding = 'UTF8'", HOOP_SQL_READ);
    kind("SET NAMES 'SJIS'", HOOP_SQL_ADMIN);
    kind("SET app.tenant_id = '42'", HOOP_SQL_ADMIN);
    kind("SET session_replication_role = replica", HOOP_SQL_ADMIN);
    kind("RESET ROLE", HOOP_SQL_ADMIN);

    /* LOCK: ACCESS SHARE is what a SELECT takes */

    kind("LOCK TABLE t IN ACCESS SHARE MODE", HOOP_SQL_READ);
    kind("LOCK TABLE t IN ROW EXCLUSIVE MODE", HOOP_SQL_WRITE);
    kind("LOCK t", HOOP_SQL_WRITE);

    classify("ANALYZE t");
    ok(strcmp(st[0].command, "analyze") == 0, "ANALYZE is analyze: %s",
       st[0].command);
    classify("VACUUM ANALYZE t");
    ok(strcmp(st[0].command, "vacuum") == 0, "VACUUM ANALYZE is vacuum");
    classify("CHECKPOINT");
    ok(strcmp(st[0].command, "checkpoint") == 0, "CHECKPOINT: %s",
       st[0].command);

    /* the schemas SET search_path puts a bare name in */

    {
        hoop_sql_refs_t   r[1];
        size_t            pos;
        const char       *schema, *name;
        char              got[256];
        int               type;

        n = hoop_sql_classify_refs("SET search_path = Sales, \"HR\","
                                   " 'a, \"B\"'", st, r, 1, NULL, 0);
        got[0] = '\0';
        pos = 0;

        while ((type = hoop_sql_ref_next(&r[0], &pos, &schema, &name)) != 0) {
            if (type == HOOP_SQL_REF_SCHEMA) {
                snprintf(got + strlen(got), sizeof(got) - strlen(got),
                         "%s ", name);
            }
        }

        ok(strcmp(got, "sales HR hr a B ") == 0, "search_path schemas: %s",
           got);

        hoop_sql_classify_refs("SELECT set_config('search_path', v, false)"
                               " FROM t", st, r, 1, NULL, 0);
        pos = 0;
        got[0] = '\0';

        while ((type = hoop_sql_ref_next(&r[0], &pos, &schema, &name)) != 0) {
            if (type == HOOP_SQL_REF_SCHEMA) {
                strcat(got, name);
            }
        }

        ok(strcmp(got, "*") == 0, "set_config of a value not known: any");
    }

    /* the references a statement's kind depends on */

    {
        hoop_sql_refs_t   r[2];
        size_t            pos;
        const char       *schema, *name;
        char              got[512];
        int               type;

        n = hoop_sql_classify_refs("SELECT a.b.c, (x).f, s.g(1), 1 === 2,"
                                   " y::pg_catalog.int4, z BETWEEN 1 AND 2"
                                   " FROM app.t a ORDER BY 1 USING <",
                                   st, r, 2, NULL, 0);
        got[0] = '\0';
        pos = 0;

        while ((type = hoop_sql_ref_next(&r[0], &pos, &schema, &name))
               != 0)
        {
            snprintf(got + strlen(got), sizeof(got) - strlen(got),
                     "%c:%s%s%s ", type, schema, schema[0] ? "." : "",
                     name);
        }

        ok(n == 1 && strcmp(got, "a:b a:c a:f f:s.g o:=== t:pg_catalog.int4"
                                 " o:>= o:<= r:app.t o:< ") == 0,
           "references: %s", got);
    }

    n = hoop_sql_classify("SELEC 1", st, 8, err, sizeof(err));
    ok(n == 1 && st[0].kind == HOOP_SQL_UNKNOWN,
       "what the parser refuses is unknown");
    ok(strstr(err, "syntax error") != NULL, "with the parser's message");

    {
        static char  deep[40000];
        size_t       k, o;

        o = (size_t) sprintf(deep, "SELECT 1");

        for (k = 0; k < 3000; k++) {
            o += (size_t) sprintf(deep + o, " + %zu", k);
        }

        n = hoop_sql_classify(deep, st, 8, err, sizeof(err));
        ok(n == 1 && st[0].kind == HOOP_SQL_UNKNOWN,
           "a tree too deep to walk is unknown, not an error: %s", err);
    }

    n = classify("SELECT 1; DROP TABLE users; -- ';'");
    is_int(n, 2, "a multi-statement string: two statements");
    ok(st[0].kind == HOOP_SQL_READ && st[1].kind == HOOP_SQL_DDL,
       "each with its own kind");
    is_int(st[1].offset, 10, "the second starts where it starts");
    ok(strcmp(st[1].command, "drop") == 0, "command of DROP: drop");
    classify("CREATE TABLE z (a int)");
    ok(strcmp(st[0].command, "create table") == 0, "CREATE TABLE: %s",
       st[0].command);
    ok(strcmp(st[1].tables, "users") == 0, "and its table");

    is_int(classify(""), 0, "an empty query: no statement");
    is_int(classify(" ; ; "), 0, "only semicolons: none");

    classify("DELETE FROM t");
    ok(st[0].no_where, "DELETE without WHERE");
    classify("UPDATE t SET a = 1");
    ok(st[0].no_where, "UPDATE without WHERE");
    classify("DELETE FROM t WHERE a = 1");
    ok(!st[0].no_where, "DELETE with WHERE");

    classify("ROLLBACK");
    ok(st[0].undo, "ROLLBACK only undoes");
    classify("abort");
    ok(st[0].undo, "so does ABORT");
    classify("ROLLBACK TO SAVEPOINT s");
    ok(st[0].undo, "and ROLLBACK TO SAVEPOINT");
    classify("COMMIT");
    ok(!st[0].undo, "COMMIT does not");
    classify("BEGIN");
    ok(!st[0].undo, "nor BEGIN");
    classify("ROLLBACK PREPARED 'x'");
    ok(!st[0].undo, "nor ROLLBACK PREPARED (another transaction's)");
    classify("SELECT 1");
    ok(!st[0].undo, "nor a SELECT");
    {
        int   k;
        char  many[512];

        /* past the statements counted one by one, the last takes the rest */

        many[0] = '\0';

        for (k = 0; k < 20; k++) {
            strcat(many, "ROLLBACK; ");
        }

        strcat(many, "DROP TABLE victim");
        classify(many);

        for (k = 0; k < 7 && st[k].undo; k++) {
            /* void */
        }

        ok(k == 7 && !st[7].undo,
           "twenty ROLLBACKs then a DROP: the entry that takes in the DROP"
           " does not only undo");
    }
    classify("COPY t TO PROGRAM 'x'");
    ok(st[0].copy_program && !st[0].copy_file, "COPY PROGRAM");

    classify("SELECT c.email, lower(o.x) FROM public.customers c"
             " JOIN orders o ON o.cid = c.id JOIN orders o2 ON true");
    ok(strcmp(st[0].tables, "public.customers,orders") == 0,
       "tables, schema kept, once each: %s", st[0].tables);
    ok(strcmp(st[0].functions, "lower") == 0, "functions: %s",
       st[0].functions);
    ok(strcmp(st[0].command, "select") == 0, "command select");
    ok(hoop_sql_names_match(st[0].tables, "customers", NULL),
       "public.customers answers to customers");
    ok(hoop_sql_names_match(st[0].tables, "public.*", NULL),
       "and to public.*");
    ok(!hoop_sql_names_match(st[0].tables, "order", NULL),
       "order is not orders");

    /* a bare name is in a schema of the search path */

    ok(hoop_sql_names_match("orders", "sales.orders", "pg_temp,sales"),
       "orders, with sales on the search path: may be sales.orders");
    ok(!hoop_sql_names_match("orders", "sales.orders", "pg_temp,public"),
       "without it: is not");
    ok(hoop_sql_names_match("orders", "sales.orders", NULL),
       "with a search path not known: may be");
    ok(hoop_sql_names_match("orders", "sa*.ord*", "pg_temp,sales"),
       "globs in both parts");
    {
        const char  *pub[] = { "public.*" };

        ok(!hoop_sql_names_all("orders", pub, 1, "pg_catalog,public"),
           "allow public.*: a bare name that may be in pg_catalog is not"
           " allowed by it");
        ok(hoop_sql_names_all("orders", pub, 1, "public"),
           "one whose only schema is public is");
        ok(!hoop_sql_names_all("orders", pub, 1, NULL),
           "nor with a search path not known");
    }
    {
        const char  *both[] = { "customers", "orders" };
        const char  *one[] = { "customers" };

        ok(hoop_sql_names_all(st[0].tables, both, 2, NULL),
           "every table is one of customers, orders");
        ok(!hoop_sql_names_all(st[0].tables, one, 1, NULL),
           "not every table is customers");
        ok(!hoop_sql_names_all("", both, 2, NULL),
           "no table is not all of them");
    }

    classify("WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d");
    ok(strcmp(st[0].command, "select") == 0
       && strcmp(st[0].commands, "select,delete") == 0 && st[0].no_where,
       "a DELETE in a CTE: among the commands, without WHERE: %s",
       st[0].commands);

    classify("CREATE TABLE x AS SELECT 1");
    ok(strcmp(st[0].command, "create table as") == 0,
       "command names: %s", st[0].command);

    n = hoop_sql_classify("SELECT 1; SELECT 2; DELETE FROM t", st, 2, NULL,
                          0);
    ok(n == 2 && st[1].kind == HOOP_SQL_WRITE,
       "past max, the last entry takes in the rest");

    n = hoop_sql_classify("SELECT 1; EXECUTE w; PREPARE x AS SELECT 1", st,
                          2, NULL, 0);
    ok(n == 2 && st[1].executes && st[1].kind == HOOP_SQL_UNKNOWN,
       "an EXECUTE taken in with another named statement: unknown (%s)",
       hoop_sql_kind_name(st[1].kind));

    n = hoop_sql_classify("SELECT 1; SELECT 2; EXECUTE w", st, 2, NULL, 0);
    ok(n == 2 && st[1].executes && strcmp(st[1].name, "w") == 0
       && st[1].kind == HOOP_SQL_READ,
       "one EXECUTE taken in: what it runs is followed");

    is_int(hoop_sql_kind_parse("ddl"), HOOP_SQL_DDL, "kind names parse");
    is_int(hoop_sql_kind_parse("drop"), -1, "and others do not");

    /* commands that by themselves only read (allow sql.select pins) */
    ok(hoop_sql_command_reads("select") && hoop_sql_command_reads("show")
       && hoop_sql_command_reads("explain") && hoop_sql_command_reads("copy")
       && hoop_sql_command_reads("fetch"),
       "select, show, explain, copy, fetch: by themselves, reads");
    ok(!hoop_sql_command_reads("delete") && !hoop_sql_command_reads("do")
       && !hoop_sql_command_reads("create table")
       && !hoop_sql_command_reads("call") && !hoop_sql_command_reads("sel*")
       && !hoop_sql_command_reads("nonsense"),
       "delete, do, create table, call, a pattern, an unknown: not");

    return done_testing();
}
