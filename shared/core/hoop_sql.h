/*
 * Copyright (C) nginx-hoop authors
 *
 * SQL classification with the real PostgreSQL parser (libpg_query, the
 * PostgreSQL 15 grammar).  A query string becomes its statements, each
 * with a kind (read, write, ddl, dcl, admin, unknown) and the facts rules
 * look at: the command, the tables and functions it names, a DELETE or
 * UPDATE without WHERE, COPY to or from a program or a server file.
 *
 * The whole parse tree is walked, not only the top statement: a DELETE in
 * a CTE, SELECT ... INTO, SELECT ... FOR UPDATE, a DO block, a function
 * known to have effects (set_config, nextval, pg_terminate_backend, ...)
 * each raise the kind.  A statement's kind is the highest of all it
 * contains (read < write < ddl < dcl < admin).  Text the parser refuses is
 * one statement of kind unknown.
 */

#ifndef HOOP_SQL_H
#define HOOP_SQL_H

#include <stddef.h>


typedef enum {
    HOOP_SQL_READ = 0,
    HOOP_SQL_WRITE,
    HOOP_SQL_DDL,
    HOOP_SQL_DCL,
    HOOP_SQL_ADMIN,
    HOOP_SQL_UNKNOWN
} hoop_sql_kind_e;


#define HOOP_SQL_COMMAND_LEN    48
#define HOOP_SQL_NAMES_LEN      512


typedef struct {
    hoop_sql_kind_e  kind;
    char             command[HOOP_SQL_COMMAND_LEN];   /* "delete", ... */
    char             commands[HOOP_SQL_NAMES_LEN];    /* all, nested too */
    char             tables[HOOP_SQL_NAMES_LEN];      /* "a,s.b", deduped */
    char             functions[HOOP_SQL_NAMES_LEN];
    size_t           offset;                          /* in the query */
    size_t           length;
    unsigned         no_where:1;      /* DELETE/UPDATE/TRUNCATE, all rows */
    unsigned         copy_program:1;  /* COPY ... PROGRAM */
    unsigned         copy_file:1;     /* COPY ... a server-side file */
    unsigned         truncated:1;     /* names did not all fit */
    unsigned         undo:1;          /* ROLLBACK, ABORT, ROLLBACK TO:
                                         only undoes */
} hoop_sql_stmt_t;


/*
 * Classifies sql (NUL-terminated).  Returns the number of statements
 * (0 for an empty query), all described in out[] when that many fit; when
 * more than max, out[max - 1] describes the rest taken together.  When the
 * parser refuses the text: 1, with out[0] of kind unknown and *error (if
 * not NULL) its message; the same for a tree too deep to walk.  Returns
 * -1 only when memory ran out.
 */
int hoop_sql_classify(const char *sql, hoop_sql_stmt_t *out, size_t max,
    char *error, size_t error_len);

/* "read", "write", ... */
const char *hoop_sql_kind_name(hoop_sql_kind_e kind);

/* The kind named, or -1. */
int hoop_sql_kind_parse(const char *name);

/*
 * Whether a comma-separated name list (tables or functions) holds a name
 * matching pattern (hoop_rule_glob); a name "schema.table" matches a
 * pattern for either form.
 */
int hoop_sql_names_match(const char *names, const char *pattern);

#endif /* HOOP_SQL_H */
