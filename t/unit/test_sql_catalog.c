/*
 * Copyright (C) nginx-hoop authors
 *
 * Statements resolved against a catalog: calls in every syntax (function,
 * attribute notation, operator, cast, aggregate), through views, row
 * security policies, domains and SQL function bodies; privileges; names
 * the catalog does not know; the read-safe lists.  The catalog here is
 * what the gateway's query returns for a database with the objects of
 * t/pg_policy_catalog.t.
 */

#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "hoop_pg_msg.h"
#include "hoop_sql_catalog.h"


#define V  HOOP_SQL_FN_VOLATILE
#define P  HOOP_SQL_FN_PRIVILEGED
#define O  HOOP_SQL_FN_ONE_ARG
#define F  HOOP_SQL_REL_FOREIGN


static const hoop_sql_object_t  objects[] = {
    { 'f', "pg_catalog", "nextval", NULL, NULL, V | O, NULL },
    { 'f', "pg_catalog", "random", NULL, NULL, V, NULL },
    { 'f', "pg_catalog", "lower", NULL, NULL, O, NULL },
    { 'f', "pg_catalog", "now", NULL, NULL, 0, NULL },
    { 'f', "pg_catalog", "count", NULL, NULL, O, NULL },
    { 'f', "pg_catalog", "pg_read_file", NULL, NULL, V | P | O, NULL },
    { 'f', "pg_catalog", "pg_terminate_backend", NULL, NULL, V | O, NULL },
    { 'f', "pg_catalog", "pg_config", NULL, NULL, P, NULL },
    { 'f', "pg_catalog", "set_config", NULL, NULL, V, NULL },
    { 'f', "pg_catalog", "pg_table_size", NULL, NULL, V | O, NULL },
    { 'f', "pg_catalog", "pg_stat_get_xact_numscans", NULL, NULL, V | O,
      NULL },
    { 'f', "pg_catalog", "pg_advisory_lock", NULL, NULL, V | O, NULL },
    { 'f', "public", "fx", NULL, NULL, V | O, NULL },
    { 'f', "public", "fx_int", NULL, NULL, V, NULL },
    { 'f', "public", "fx_pair", NULL, NULL, V | O, NULL },
    { 'f', "public", "fx_agg", NULL, NULL, V | O, NULL },
    { 'f', "public", "st", NULL, NULL, O, NULL },
    { 's', "public", "st", NULL, NULL, 0, "SELECT fx($1)" },
    { 'f', "public", "safe_fn", NULL, NULL, O, NULL },
    { 'f', "public", "lower", NULL, NULL, V | O, NULL },
    { 'f', "public", "locked", NULL, NULL, P | O, NULL },
    { 'o', "pg_catalog", "=", NULL, NULL, 0, NULL },
    { 'o', "pg_catalog", "+", NULL, NULL, 0, NULL },
    { 'o', "pg_catalog", "<=", NULL, NULL, 0, NULL },
    { 'o', "pg_catalog", ">=", NULL, NULL, 0, NULL },
    { 'o', "public", "===", "public", "fx_int", 0, NULL },
    { 't', "public", "pair", "public", "fx_pair", 0, NULL },
    { 'd', "public", "dx", NULL, NULL, 0, "(safe_fn(VALUE) = 1)" },
    { 'r', "public", "ft", NULL, NULL, F, NULL },
    { 'r', "pg_catalog", "pg_authid", NULL, NULL, P, NULL },
    { 'v', "public", "v_fx", NULL, NULL, 0, " SELECT fx(1) AS x;" },
    { 'v', "public", "v_v", NULL, NULL, 0, " SELECT v_fx.x FROM v_fx;" },
    { 'v', "public", "v_ok", NULL, NULL, 0, " SELECT now() AS t;" },
    { 'v', "public", "v_loop", NULL, NULL, 0, " SELECT * FROM v_loop;" },
    { 'p', "public", "rls_t", NULL, NULL, 0, "(fx(id) = 1)" },
    { 'g', NULL, "log_statement", NULL, NULL, P, NULL },
};


static hoop_sql_catalog_t  *cat;
static hoop_sql_stmt_t      st[4];
static hoop_sql_refs_t      refs[4];

/* the catalogs' memory, freed at the end */
static void                *built[8];
static size_t               nbuilt;


static hoop_sql_catalog_t *
build(const hoop_sql_object_t *objs, size_t n, const char *const *safe)
{
    void                *mem;
    size_t               i, text, size;
    hoop_sql_catalog_t  *c;

    text = 0;

    for (i = 0; i < n; i++) {
        text += hoop_sql_object_text(&objs[i]);
    }

    size = hoop_sql_catalog_size(n, text);
    mem = malloc(size);

    if (mem == NULL || nbuilt == sizeof(built) / sizeof(built[0])) {
        free(mem);
        return NULL;
    }

    built[nbuilt++] = mem;
    c = hoop_sql_catalog_init(mem, size, n, safe);

    for (i = 0; c != NULL && i < n; i++) {
        if (hoop_sql_catalog_add(c, &objs[i]) != 0) {
            return NULL;
        }
    }

    if (c != NULL) {
        hoop_sql_catalog_build(c);
    }

    return c;
}


static hoop_sql_kind_e
resolve(const char *sql)
{
    int  n;

    n = hoop_sql_classify_refs(sql, st, refs, 4, NULL, 0);

    if (n != 1) {
        return HOOP_SQL_UNKNOWN;
    }

    hoop_sql_resolve(&st[0], &refs[0], cat);

    return st[0].kind;
}


static void
kind(const char *sql, hoop_sql_kind_e want)
{
    hoop_sql_kind_e  got;

    got = resolve(sql);
    ok(got == want, "%s: %s (got %s; %s)", sql, hoop_sql_kind_name(want),
       hoop_sql_kind_name(got), st[0].cause);
}


static int
has_function(const char *name)
{
    return hoop_sql_names_match(st[0].functions, name, NULL);
}


int
main(void)
{
    static const char  *safe[] = { "public.fx", NULL };
    static const char  *bare[] = { "safe_*", "fx_int", NULL };

    static const hoop_sql_object_t  implicit[] = {
        { 'f', "public", "out_fn", NULL, NULL, V, NULL },
        { '*', "public", "out_fn", NULL, NULL, V, NULL },
    };

    static const hoop_sql_object_t  checked[] = {
        { 'f', "public", "fx", NULL, NULL, V, NULL },
        { 'd', "public", "dy", NULL, NULL, 0, "(fx(VALUE) = 1)" },
    };

    cat = build(objects, sizeof(objects) / sizeof(objects[0]), NULL);
    ok(cat != NULL, "the catalog builds");
    is_int(hoop_sql_catalog_count(cat),
           sizeof(objects) / sizeof(objects[0]), "with every object");

    kind("SELECT 1", HOOP_SQL_READ);
    kind("SELECT now(), count(*) FROM t WHERE a = 1 AND b + 1 = 2",
         HOOP_SQL_READ);
    kind("SELECT c.email, c.ssn FROM customers c", HOOP_SQL_READ);
    ok(st[0].functions[0] == '\0', "columns are not functions: %s",
       st[0].functions);

    /* a built-in whose effect is known */

    kind("SELECT nextval('s')", HOOP_SQL_WRITE);
    kind("SELECT ('s').nextval", HOOP_SQL_WRITE);
    ok(has_function("nextval"), "attribute notation is a call: %s",
       st[0].functions);
    kind("SELECT t.nextval FROM (SELECT 's'::regclass) t(x)",
         HOOP_SQL_WRITE);
    kind("SELECT (pid).pg_terminate_backend FROM pg_stat_activity",
         HOOP_SQL_ADMIN);
    ok(has_function("pg_terminate_backend"), "named: %s", st[0].functions);
    kind("SELECT x.y.pg_terminate_backend FROM t x", HOOP_SQL_ADMIN);

    /* volatile, privileged, read-safe */

    kind("SELECT fx(1)", HOOP_SQL_CALL);
    ok(strcmp(st[0].cause, "public.fx() is VOLATILE") == 0, "why: %s",
       st[0].cause);
    kind("SELECT (1).fx", HOOP_SQL_CALL);
    kind("SELECT * FROM fx(1)", HOOP_SQL_CALL);
    kind("SELECT pg_read_file('/etc/passwd')", HOOP_SQL_ADMIN);
    kind("SELECT * FROM pg_config()", HOOP_SQL_ADMIN);
    ok(strcmp(st[0].cause, "pg_catalog.pg_config() is not executable by"
                           " PUBLIC") == 0, "why: %s", st[0].cause);
    kind("SELECT locked(1)", HOOP_SQL_READ);
    kind("SELECT random(), pg_table_size('t')", HOOP_SQL_READ);
    kind("SELECT pg_stat_get_xact_numscans(1)", HOOP_SQL_READ);
    kind("SELECT pg_advisory_lock(1)", HOOP_SQL_CALL);
    kind("SELECT safe_fn(1)", HOOP_SQL_READ);
    kind("SELECT no_such_function(1)", HOOP_SQL_CALL);
    ok(strstr(st[0].cause, "no_such_function") != NULL, "why: %s",
       st[0].cause);

    /* a volatile function of that name in any schema */

    kind("SELECT lower('X')", HOOP_SQL_CALL);
    kind("SELECT pg_catalog.lower('X')", HOOP_SQL_READ);

    /* operators, casts, aggregates, domains */

    kind("SELECT 1 === 2", HOOP_SQL_CALL);
    ok(has_function("fx_int"), "an operator's function is named: %s",
       st[0].functions);
    kind("SELECT 1 OPERATOR(public.===) 2", HOOP_SQL_CALL);
    kind("SELECT * FROM t WHERE a IN (1, 2) OR b BETWEEN 1 AND 2",
         HOOP_SQL_READ);
    kind("SELECT 1 ##% 2", HOOP_SQL_CALL);
    kind("SELECT 1::pair", HOOP_SQL_CALL);
    kind("SELECT CAST(1 AS public.pair)", HOOP_SQL_CALL);
    kind("SELECT 1::dx", HOOP_SQL_READ);
    kind("SELECT * FROM ft", HOOP_SQL_CALL);
    ok(strstr(st[0].cause, "public.ft is a foreign table") != NULL,
       "why: %s", st[0].cause);
    kind("SELECT pair(1)", HOOP_SQL_CALL);
    kind("SELECT fx_agg(a) FROM t", HOOP_SQL_CALL);

    /* views, policies, bodies */

    kind("SELECT * FROM v_fx", HOOP_SQL_CALL);
    kind("SELECT * FROM public.v_v", HOOP_SQL_CALL);
    ok(strcmp(st[0].cause, "public.v_v: public.fx() is VOLATILE") == 0,
       "a view's call, through another view: %s", st[0].cause);
    ok(has_function("fx"), "named: %s", st[0].functions);
    kind("SELECT * FROM v_ok", HOOP_SQL_READ);
    kind("SELECT * FROM v_loop", HOOP_SQL_READ);
    kind("SELECT * FROM rls_t", HOOP_SQL_CALL);
    kind("SELECT st(1)", HOOP_SQL_CALL);
    kind("SELECT * FROM pg_authid", HOOP_SQL_ADMIN);
    kind("SELECT * FROM pg_catalog.pg_authid", HOOP_SQL_ADMIN);
    kind("SELECT * FROM other.pg_authid", HOOP_SQL_READ);

    /* settings */

    kind("SET log_statement = 'none'", HOOP_SQL_ADMIN);
    kind("SET LOG_STATEMENT = 'none'", HOOP_SQL_ADMIN);
    kind("SET work_mem = '1GB'", HOOP_SQL_READ);
    kind("SELECT set_config('search_path', '', false)", HOOP_SQL_READ);
    kind("SELECT pg_catalog.set_config('log_statement', 'none', false)",
         HOOP_SQL_ADMIN);
    kind("SELECT set_config('default_transaction_read_only', 'off', false)",
         HOOP_SQL_WRITE);
    ok(st[0].lifts_read_only, "set_config() lifting read-only says so");
    kind("SELECT set_config(name, 'off', false) FROM pg_settings",
         HOOP_SQL_ADMIN);

    /* a statement with more names than fit: not all were looked at */

    {
        char    big[16384];
        size_t  o;
        int     k;

        o = (size_t) snprintf(big, sizeof(big), "SELECT 1");

        for (k = 0; k < 600; k++) {
            o += (size_t) snprintf(big + o, sizeof(big) - o,
                                   ", t.column_%d", k);
        }

        snprintf(big + o, sizeof(big) - o, " FROM t");

        kind(big, HOOP_SQL_CALL);
        ok(refs[0].truncated, "the references were truncated");
    }

    /* the operator's list */

    cat = build(objects, sizeof(objects) / sizeof(objects[0]), safe);
    kind("SELECT fx(1)", HOOP_SQL_READ);
    kind("SELECT * FROM v_v", HOOP_SQL_READ);
    kind("SELECT 1 === 2", HOOP_SQL_CALL);

    cat = build(objects, sizeof(objects) / sizeof(objects[0]), bare);
    kind("SELECT 1 === 2", HOOP_SQL_READ);
    kind("SELECT fx(1)", HOOP_SQL_CALL);

    /* a function PostgreSQL calls unasked: every statement may call it */

    cat = build(implicit, 2, NULL);
    kind("SELECT 1", HOOP_SQL_CALL);
    ok(strstr(st[0].cause, "out_fn") != NULL, "why: %s", st[0].cause);

    /* so is a domain's CHECK: a value becomes one unnamed */

    cat = build(checked, 2, NULL);
    kind("SELECT 1", HOOP_SQL_CALL);
    ok(strstr(st[0].cause, "public.dy: public.fx() is VOLATILE") != NULL,
       "why: %s", st[0].cause);

    /* the catalog query's rows, as the database sends them */

    {
        unsigned char       row[256], *p;
        char                buf[256];
        size_t              i, len;
        hoop_sql_object_t   obj;
        const char         *cells[7] = { "f", "public", "fx", NULL, NULL,
                                         "5", NULL };

        p = row + 7;

        for (i = 0; i < 7; i++) {
            if (cells[i] == NULL) {
                p = hoop_pg_put32(p, 0xffffffffu);
                continue;
            }

            p = hoop_pg_put32(p, (uint32_t) strlen(cells[i]));
            memcpy(p, cells[i], strlen(cells[i]));
            p += strlen(cells[i]);
        }

        len = (size_t) (p - row);
        row[0] = 'D';
        hoop_pg_put32(row + 1, (uint32_t) (len - 1));
        row[5] = 0;
        row[6] = 7;

        ok(hoop_sql_catalog_row(row, len, &obj, buf, len) == 0
           && obj.type == 'f' && strcmp(obj.schema, "public") == 0
           && strcmp(obj.name, "fx") == 0 && obj.fname == NULL
           && obj.flags == (V | O) && obj.body == NULL,
           "a catalog row becomes an object");

        ok(hoop_sql_catalog_row(row, len - 1, &obj, buf, len) == -1,
           "a row cut short is refused");

        row[6] = 6;
        ok(hoop_sql_catalog_row(row, len, &obj, buf, len) == -1,
           "so is one of another width");
        row[6] = 7;

        row[12] = 'x';                          /* the type: "x" */
        ok(hoop_sql_catalog_row(row, len, &obj, buf, len) == -1,
           "and one of no known type");
    }

    /* out of room */

    {
        char  small[64];

        ok(hoop_sql_catalog_init(small, sizeof(small), 10, NULL) == NULL,
           "a catalog that does not fit is refused");
    }

    while (nbuilt > 0) {
        free(built[--nbuilt]);
    }

    return done_testing();
}
