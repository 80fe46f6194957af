/*
 * Copyright (C) nginx-hoop authors
 *
 * SQL classification with the real PostgreSQL parser (libpg_query, the
 * PostgreSQL 15 grammar).  A query string becomes its statements, each
 * with a kind (read, write, call, ddl, dcl, admin, unknown) and the facts
 * rules look at: the command, the tables and functions it names, a DELETE
 * or UPDATE without WHERE, COPY to or from a program or a server file.
 *
 * The whole parse tree is walked, not only the top statement: a DELETE in
 * a CTE, SELECT ... INTO, SELECT ... FOR UPDATE, a DO block, BEGIN READ
 * WRITE each raise the kind.  A statement's kind is the highest of all it
 * contains (read < write < call < ddl < dcl < admin).  Text the parser
 * refuses is one statement of kind unknown.
 *
 * What the syntax alone cannot say, the database's catalog does: every
 * name a statement may end up calling (a function, also when written as
 * an attribute, (x).name; an operator; a cast; a view or a row security
 * policy that calls one) is collected as a reference
 * (hoop_sql_classify_refs()), and hoop_sql_resolve() (hoop_sql_catalog.h)
 * raises the kind by what each resolves to.
 */

#ifndef HOOP_SQL_H
#define HOOP_SQL_H

#include <stddef.h>


typedef enum {
    HOOP_SQL_READ = 0,
    HOOP_SQL_WRITE,
    HOOP_SQL_CALL,          /* may call what the gateway cannot see into */
    HOOP_SQL_DDL,
    HOOP_SQL_DCL,
    HOOP_SQL_ADMIN,
    HOOP_SQL_UNKNOWN
} hoop_sql_kind_e;


#define HOOP_SQL_COMMAND_LEN    48
#define HOOP_SQL_NAMES_LEN      512
#define HOOP_SQL_CAUSE_LEN      128
#define HOOP_SQL_REFS_LEN       2048


/* what a reference names (hoop_sql_refs_t) */
#define HOOP_SQL_REF_FUNCTION   'f'     /* a call: f(...) */
#define HOOP_SQL_REF_ATTRIBUTE  'a'     /* x.name: a column, or name(x) */
#define HOOP_SQL_REF_OPERATOR   'o'
#define HOOP_SQL_REF_TYPE       't'     /* a cast to it */
#define HOOP_SQL_REF_RELATION   'r'     /* read */
#define HOOP_SQL_REF_SETTING    's'     /* changed */
#define HOOP_SQL_REF_SCHEMA     'p'     /* put in the search path ("*":
                                           not known which) */


typedef struct {
    hoop_sql_kind_e  kind;
    hoop_sql_kind_e  commands_kind;   /* its commands', by themselves: no
                                         clause (INTO, FOR UPDATE, COPY
                                         FROM, a lock mode, a guarded
                                         setting) and no call counted */
    char             command[HOOP_SQL_COMMAND_LEN];   /* "delete", ... */
    char             commands[HOOP_SQL_NAMES_LEN];    /* all, nested too */
    char             tables[HOOP_SQL_NAMES_LEN];      /* "a,s.b", deduped */
    char             functions[HOOP_SQL_NAMES_LEN];
    char             cause[HOOP_SQL_CAUSE_LEN];       /* why call, admin,
                                                         by the catalog */
    char             name[64];        /* the prepared statement a PREPARE,
                                         EXECUTE or DEALLOCATE names */
    size_t           offset;                          /* in the query */
    size_t           length;
    unsigned         no_where:1;      /* DELETE/UPDATE/TRUNCATE, all rows */
    unsigned         copy_program:1;  /* COPY ... PROGRAM */
    unsigned         copy_file:1;     /* COPY ... a server-side file */
    unsigned         truncated:1;     /* names did not all fit */
    unsigned         undo:1;          /* ROLLBACK, ABORT, ROLLBACK TO:
                                         only undoes */
    unsigned         lifts_read_only:1;  /* BEGIN READ WRITE, ... */
    unsigned         executes:1;      /* EXECUTE name: what it runs is the
                                         caller's to add (its kind here is
                                         its parameters') */
    unsigned         calls_beyond:1;  /* what it calls (by the catalog)
                                         does more than its commands do:
                                         an allow by command or table
                                         does not vouch for it */
    unsigned         by_value:1;      /* its kind depends on a literal's
                                         value (SET, set_config): a
                                         statement of the same shape may
                                         be of another kind */
} hoop_sql_stmt_t;


/*
 * The names a statement's kind depends on beyond its syntax, one after
 * the other: each a type byte (HOOP_SQL_REF_*), the schema as written
 * (empty: none) and the name, both NUL-terminated.  A type byte of 0
 * ends them (hoop_sql_ref_next()).
 */
typedef struct {
    char             names[HOOP_SQL_REFS_LEN];
    size_t           len;
    unsigned         truncated:1;     /* not all fit: assume the worst */
} hoop_sql_refs_t;


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

/* The same, with refs[] (max of them) the references of each statement. */
int hoop_sql_classify_refs(const char *sql, hoop_sql_stmt_t *out,
    hoop_sql_refs_t *refs, size_t max, char *error, size_t error_len);

/*
 * The kind of changing a setting (SET, RESET, set_config(), a startup
 * parameter) to value (NULL: its default, or not known): read for most;
 * write for what lifts a read-only transaction (*lifts set); admin for
 * who the session is (role), how SQL is read (client_encoding other than
 * UTF8 or SQL_ASCII, standard_conforming_strings off) and settings of
 * extensions and applications ("app.tenant", which row security policies
 * read).  Settings only a superuser may change are admin by the catalog.
 */
hoop_sql_kind_e hoop_sql_setting_kind(const char *name, const char *value,
    int *lifts);

/*
 * Iterates refs: from *pos (start at 0), the next reference's type, with
 * *schema ("" when none was written) and *name; 0 after the last.
 */
int hoop_sql_ref_next(const hoop_sql_refs_t *refs, size_t *pos,
    const char **schema, const char **name);

/*
 * sql with its literals replaced by $1, $2, ... as pg_query_normalize()
 * replaces them, into out (cap bytes, NUL-terminated when it fits).
 * Returns the normalized text's length, which may be cap or more (then
 * call again with room for it), or -1 when the parser refuses sql.
 */
long hoop_sql_normalize(const char *sql, char *out, size_t cap);

/*
 * Whether a rule's command name (as hoop_rule writes it, "select",
 * "create table") is a command that by itself only reads: 1, or 0 (it
 * may do more, or it is a pattern, or not a command the table knows).
 */
int hoop_sql_command_reads(const char *command);

/* Raises st's kind to kind (unknown stays unknown). */
void hoop_sql_stmt_raise(hoop_sql_stmt_t *st, hoop_sql_kind_e kind);

/*
 * st, an EXECUTE, runs prepared: it is what prepared is (kind, tables,
 * functions, cause), its parameters added.
 */
void hoop_sql_stmt_runs(hoop_sql_stmt_t *st, const hoop_sql_stmt_t *prepared);

/* Adds a function's name to st->functions (once). */
void hoop_sql_stmt_function(hoop_sql_stmt_t *st, const char *name);

/*
 * The kind a call of the built-in function name is known to have (a
 * write for nextval(), admin for pg_terminate_backend(), ...), or -1.
 */
int hoop_sql_builtin_kind(const char *name);

/* "read", "write", ... */
const char *hoop_sql_kind_name(hoop_sql_kind_e kind);

/* The kind named, or -1. */
int hoop_sql_kind_parse(const char *name);

/*
 * Whether a comma-separated name list (tables or functions, as written)
 * holds a name matching pattern (hoop_rule_glob): "schema.table" matches a
 * pattern for either form; a bare "table" matches "schema.table" when the
 * schema may be one a bare name resolves to (schemas: the search path's,
 * comma-separated; NULL: any).
 */
int hoop_sql_names_match(const char *names, const char *pattern,
    const char *schemas);

/*
 * Whether the list holds at least one name and every one of its names
 * matches one of the n patterns: what an allow rule names must be all a
 * statement touches.  Here a bare name matches "schema.table" only when
 * every schema it may resolve to matches (NULL: not known, so never).
 */
int hoop_sql_names_all(const char *names, const char *const *patterns,
    size_t n, const char *schemas);

/* One name (len bytes) against a pattern: every for the allow side. */
int hoop_sql_name_matches(const char *name, size_t len, const char *pattern,
    const char *schemas, int every);

/*
 * PostgreSQL's parse tree of sql as JSON (jansson; the caller
 * json_decref()s it), or NULL when the parser refuses the text or the
 * tree is too deep for the JSON reader.
 */
struct json_t;

struct json_t *hoop_sql_parse_tree(const char *sql);

#endif /* HOOP_SQL_H */
