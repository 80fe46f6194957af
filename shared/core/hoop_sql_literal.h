/*
 * Copyright (C) nginx-hoop authors
 *
 * The literal constants of a SQL text, found without the parser: what
 * lets a statement that differs from one seen before only in its values
 * skip pg_query_normalize() (a full parse) and the classification.
 *
 * A statement's shape is its text with every literal replaced by one
 * byte: 0x01 for a string, 0x02 for an integer PostgreSQL reads as int4,
 * 0x04 for another number (the grammar treats them apart: ORDER BY 1
 * and ORDER BY 1.5); and every comment by 0x03, since comments are where
 * frameworks put what changes on every request (sqlcommenter's trace
 * ids).  Two texts of the same shape are the same
 * token sequence for PostgreSQL's scanner, literal values and comments
 * apart, because the scanner here is exact for what it accepts (nested
 * block comments included) and refuses the rest (returns -1): a block
 * comment never closed, dollar quotes, backslashes anywhere (E''
 * strings, and the standard_conforming_strings question), prefixed
 * strings (E'', B'', X'', N'', U&''), a string followed by another
 * (PostgreSQL may join them), a minus sign before a number (the grammar
 * may fold it into the constant), numbers with trailing characters,
 * control characters.
 * Those texts go to the parser, as every text did before.
 *
 * Which literals pg_query_normalize() replaces by $n depends on the
 * grammar (not the ones in ORDER BY 1 or varchar(10), for instance):
 * hoop_sql_literal_ids() reads it from that function's output for one
 * text of a shape, so that the others of that shape get the very same
 * normalized text from hoop_sql_literal_normalize(); the literals it
 * kept are part of what must match.
 */

#ifndef HOOP_SQL_LITERAL_H
#define HOOP_SQL_LITERAL_H

#include <stddef.h>
#include <stdint.h>


#define HOOP_SQL_STRING_MARK   '\x01'     /* a literal, in a shape */
#define HOOP_SQL_NUMBER_MARK   '\x02'
#define HOOP_SQL_COMMENT_MARK  '\x03'
#define HOOP_SQL_FLOAT_MARK    '\x04'

#define HOOP_SQL_COMMENT_ID    -1         /* in ids[]: a comment */


typedef struct {
    uint32_t  start;                      /* offset in the text */
    uint32_t  len;
} hoop_sql_span_t;


/*
 * The literals and comments of sql (len bytes), in order, into spans[]
 * (at most max): a span starting with "'" is a string, with "-" or "/" a
 * comment, else a number (hoop_sql_span_mark());
 * *params (unless NULL) the highest $n parameter in the text (0: none).
 * Returns their number, or -1 when the text holds something left to the
 * parser (see above) or more than max literals.
 */
int hoop_sql_literals(const char *sql, size_t len, hoop_sql_span_t *spans,
    int max, int *params);

/* the mark of a span: string, number (int4 or not) or comment */
char hoop_sql_span_mark(const char *sql, const hoop_sql_span_t *span);

/*
 * The shape of sql: the text with each of its n spans replaced by its
 * mark.  Returns its length, or 0 if cap is too small.
 */
size_t hoop_sql_shape(const char *sql, size_t len,
    const hoop_sql_span_t *spans, int n, char *out, size_t cap);

/*
 * A position in sql (pos) in its shape's coordinates, where each of its n
 * spans is one byte, and back from a shape's coordinates to a text's:
 * where a statement starts and ends, kept by shape, is found in every
 * text of that shape whatever the lengths of the literals and comments
 * before it.  A position inside a span (hoop_sql_in_span()) has none.
 */
size_t hoop_sql_shape_pos(const hoop_sql_span_t *spans, int n, size_t pos);
size_t hoop_sql_text_pos(const hoop_sql_span_t *spans, int n, size_t pos);
int hoop_sql_in_span(const hoop_sql_span_t *spans, int n, size_t pos);

/*
 * From pg_query_normalize()'s output for sql (normalized, nlen bytes):
 * ids[i] = k when literal i became $k, 0 when it was kept as it is,
 * HOOP_SQL_COMMENT_ID for a comment (always kept as it is: a statement
 * of the same shape has its own comments in its normalized text).
 * Returns 0, or -1 when that output is not sql with some of its literals
 * replaced (a negative number folded into one constant, for instance).
 */
int hoop_sql_literal_ids(const char *sql, size_t len,
    const hoop_sql_span_t *spans, int n, const char *normalized,
    size_t nlen, int *ids);

/*
 * sql with literal i replaced by $ids[i] (kept when 0, and comments):
 * the text pg_query_normalize() gives for it.  Returns the length written, or 0
 * if cap is too small.
 */
size_t hoop_sql_literal_normalize(const char *sql, size_t len,
    const hoop_sql_span_t *spans, int n, const int *ids, char *out,
    size_t cap);

#endif /* HOOP_SQL_LITERAL_H */
