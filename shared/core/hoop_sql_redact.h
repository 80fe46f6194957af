/*
 * Copyright (C) nginx-hoop authors
 *
 * The SQL text the audit trail keeps: every value a statement carries
 * replaced by $n.  pg_query_normalize() (hoop_sql_normalize()) replaces
 * the constants of the statements it walks (SELECT, INSERT, UPDATE,
 * DELETE, MERGE, COPY's query, SET, DO and function bodies), keeping
 * ORDER BY positions and type modifiers; it leaves the rest as written:
 * NOTIFY payloads, LOAD and COPY file names, ALTER SYSTEM values, CALL,
 * PREPARE and EXECUTE arguments, COMMENT texts, DDL defaults.
 * hoop_sql_redact() replaces what is left: every string constant of any
 * form (E'', U&'', B'', X'', dollar-quoted), and every number too where
 * the statement is not one the normalizer walks.  Tokens come from
 * PostgreSQL's own scanner (libpg_query's pg_query_scan()).
 */

#ifndef HOOP_SQL_REDACT_H
#define HOOP_SQL_REDACT_H

#include <stddef.h>

#include "hoop_sql_literal.h"


/*
 * The literal constants of sql as PostgreSQL's scanner reads it (strings
 * of every form, numbers; not comments), into spans[] (max); *params the
 * highest $n in it.  Returns their number, or -1 when the scanner refuses
 * the text or there are more than max.
 */
int hoop_sql_scan_literals(const char *sql, hoop_sql_span_t *spans,
    int max, int *params);

/*
 * Whether a statement of this command ("select", "call", ...) is one
 * pg_query_normalize() walks: the numbers it left are positions and type
 * modifiers, not values.
 */
int hoop_sql_normalized_command(const char *command);

/*
 * text (a normalized statement, NUL-terminated) with its remaining string
 * constants, and its numbers when numbers is set, replaced by $n (after
 * the highest $n already in it), into out (cap bytes, NUL-terminated when
 * it fits).  Returns the result's length, which may be cap or more (then
 * call again with room), or -1 when the text cannot be scanned.
 */
long hoop_sql_redact(const char *text, int numbers, char *out, size_t cap);

#endif /* HOOP_SQL_REDACT_H */
