/*
 * Copyright (C) nginx-hoop authors
 *
 * What a database's catalog says the names in a statement resolve to,
 * so that a statement's kind comes from what it may execute and not from
 * how it is spelled.  The gateway reads the catalog when a session logs
 * in (the module's query turns each row into a hoop_sql_object_t), the
 * catalog is built once per content, and every statement's references
 * (hoop_sql_classify_refs()) are resolved against it:
 *
 *   - a function is a call of what the gateway cannot see into ("call")
 *     when PostgreSQL marks it VOLATILE, unless it is a built-in on the
 *     read-safe list (random(), pg_sleep(), pg_table_size(), ...) or one
 *     the operator declared read-safe; a built-in whose EXECUTE is not
 *     granted to PUBLIC is "admin"; built-ins whose effect is known are
 *     what it is (nextval() a write, pg_terminate_backend() admin);
 *     a name the catalog does not know is a call;
 *   - x.name is name(x) when a function of that name takes one argument;
 *   - an operator, a cast or a domain is what its function is;
 *   - an aggregate is what its state and final functions are;
 *   - a view or a row security policy is what its definition calls, and
 *     a non-volatile SQL function what its body calls (both parsed here);
 *   - a built-in table or view whose SELECT is not granted to PUBLIC
 *     (pg_authid, pg_statistic, ...) is "admin" to read;
 *   - changing a setting only a superuser may change is "admin";
 *   - when PostgreSQL may call a volatile function without being asked
 *     (a type's output, an implicit cast, an index's comparison), every
 *     statement is a call.
 *
 * Names are matched in every schema: a statement's kind is the worst of
 * what its names may resolve to, whatever search_path says.
 */

#ifndef HOOP_SQL_CATALOG_H
#define HOOP_SQL_CATALOG_H

#include <stddef.h>

#include "hoop_sql.h"


#define HOOP_SQL_OBJ_FUNCTION   'f'     /* a function name in a schema */
#define HOOP_SQL_OBJ_BODY       's'     /* what a call of a non-volatile
                                           SQL function runs: its body, a
                                           CHECK of its arguments' types */
#define HOOP_SQL_OBJ_OPERATOR   'o'     /* fname: what a user one calls */
#define HOOP_SQL_OBJ_TYPE       't'     /* fname: a cast to it, its input */
#define HOOP_SQL_OBJ_DOMAIN     'd'     /* body: a CHECK expression */
#define HOOP_SQL_OBJ_RELATION   'r'     /* SELECT not granted to PUBLIC */
#define HOOP_SQL_OBJ_VIEW       'v'     /* body: its definition */
#define HOOP_SQL_OBJ_MATVIEW    'm'     /* body: its definition, for
                                           lineage only (reading one runs
                                           nothing of it) */
#define HOOP_SQL_OBJ_POLICY     'p'     /* body: a row security USING */
#define HOOP_SQL_OBJ_SETTING    'g'     /* not settable by any user */
#define HOOP_SQL_OBJ_IMPLICIT   '*'     /* a function called implicitly */

#define HOOP_SQL_FN_VOLATILE    0x01
#define HOOP_SQL_FN_PRIVILEGED  0x02    /* EXECUTE not granted to PUBLIC */
#define HOOP_SQL_FN_ONE_ARG     0x04    /* callable with one argument */
#define HOOP_SQL_FN_OPAQUE      0x08    /* not SQL, outside pg_catalog: a
                                           body the gateway cannot read */
#define HOOP_SQL_REL_FOREIGN    0x10    /* a foreign table, or one that
                                           has one among its children */


/* One row of the catalog query. */
typedef struct {
    char          type;                 /* HOOP_SQL_OBJ_* */
    const char   *schema;               /* NULL: none */
    const char   *name;
    const char   *fschema;              /* the function it calls, if any */
    const char   *fname;
    unsigned      flags;                /* HOOP_SQL_FN_* */
    const char   *body;                 /* SQL: s, d, v, p */
} hoop_sql_object_t;


typedef struct hoop_sql_catalog_s  hoop_sql_catalog_t;


/*
 * The queries the gateway sends at login: the fingerprint (one row, one
 * column: what identifies the catalog's content; it changes with any
 * change of what the catalog query returns), then, when no catalog of
 * that fingerprint is built yet, the catalog query itself (rows of
 * seven text columns, read by hoop_sql_catalog_row()).
 */
const char *hoop_sql_catalog_fingerprint_query(void);
const char *hoop_sql_catalog_query(void);

/*
 * One DataRow of the catalog query (the whole message, type byte
 * included) into obj, its strings copied into buf (cap bytes; the row's
 * length is always enough).  Returns 0, or -1 if the row is malformed.
 */
int hoop_sql_catalog_row(const unsigned char *msg, size_t len,
    hoop_sql_object_t *obj, char *buf, size_t cap);

/* The memory a catalog of n objects with text bytes of strings needs. */
size_t hoop_sql_catalog_size(size_t n, size_t text);

/* The text bytes an object needs (for hoop_sql_catalog_size()). */
size_t hoop_sql_object_text(const hoop_sql_object_t *obj);

/*
 * A catalog in mem (size bytes from hoop_sql_catalog_size()), for up to
 * n objects.  read_safe (NULL-terminated, may be NULL): functions the
 * operator declares read-safe, "name" or "schema.name", globs allowed;
 * it must outlive the catalog.
 */
hoop_sql_catalog_t *hoop_sql_catalog_init(void *mem, size_t size, size_t n,
    const char *const *read_safe);

/* Adds a copy of obj.  Returns 0, or -1 when out of room. */
int hoop_sql_catalog_add(hoop_sql_catalog_t *cat,
    const hoop_sql_object_t *obj);

/*
 * Resolves what every object may call (parsing definitions); after this
 * the catalog is only read.
 */
void hoop_sql_catalog_build(hoop_sql_catalog_t *cat);

/* The number of objects added. */
size_t hoop_sql_catalog_count(const hoop_sql_catalog_t *cat);

/*
 * Raises st's kind by what each of its references resolves to in cat,
 * adds the functions they call to st->functions and says why in
 * st->cause.  A truncated reference list is a call (not all could be
 * looked at).
 */
void hoop_sql_resolve(hoop_sql_stmt_t *st, const hoop_sql_refs_t *refs,
    const hoop_sql_catalog_t *cat);

/*
 * The definitions the catalog holds of objects of a type and a name, in
 * any schema (a view's, an SQL function's body), one per call: *pos is 0
 * at first and is moved on; NULL when there is no other.
 */
const char *hoop_sql_catalog_body(const hoop_sql_catalog_t *cat, char type,
    const char *name, size_t *pos);

/*
 * The names of the views and SQL functions whose definitions mention
 * one of names (a NUL-separated list, ended by an empty name), or
 * mention such a view or function, added to names in out (cap bytes,
 * the same form).  Returns the bytes written, the final NUL included, or
 * 0 when out is too small.
 */
size_t hoop_sql_catalog_mentioning(const hoop_sql_catalog_t *cat,
    const char *names, char *out, size_t cap);

#endif /* HOOP_SQL_CATALOG_H */
