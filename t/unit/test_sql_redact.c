/*
 * Copyright (C) nginx-hoop authors
 *
 * The text the audit trail keeps: what pg_query_normalize() leaves is
 * redacted too, strings of every form always, numbers where the
 * statement is not one the normalizer walks; PostgreSQL's scanner reads
 * what the fast one leaves to it.
 */

#include <string.h>

#include "tap.h"
#include "hoop_sql.h"
#include "hoop_sql_redact.h"


static char  out[4096];


/* the trail's text of sql, a statement of command */
static const char *
trail(const char *sql)
{
    char             norm[4096];
    long             n;
    hoop_sql_stmt_t  st[2];

    if (hoop_sql_classify(sql, st, 2, NULL, 0) != 1
        || hoop_sql_normalize(sql, norm, sizeof(norm)) < 0)
    {
        return "(refused)";
    }

    n = hoop_sql_redact(norm, !hoop_sql_normalized_command(st[0].command),
                        out, sizeof(out));

    return (n < 0 || (size_t) n >= sizeof(out)) ? "(failed)" : out;
}


static void
is_trail(const char *sql, const char *want)
{
    const char  *got;

    got = trail(sql);
    ok(strcmp(got, want) == 0, "%s -> %s (got %s)", sql, want, got);
}


/* sql as the trail keeps a statement the normalizer did not walk */
static void
is_redacted(const char *sql, const char *want)
{
    long         n;
    const char  *got;

    n = hoop_sql_redact(sql, 1, out, sizeof(out));
    got = (n < 0 || (size_t) n >= sizeof(out)) ? "(failed)" : out;

    ok(strcmp(got, want) == 0, "%s -> %s (got %s)", sql, want, got);
}


int
main(void)
{
    hoop_sql_span_t  spans[8];
    int              n, params;

    is_trail("SELECT name FROM t WHERE id = 5 ORDER BY 1 LIMIT 3",
             "SELECT name FROM t WHERE id = $1 ORDER BY 1 LIMIT $2");
    is_trail("SELECT 'x'::varchar(10)", "SELECT $1::varchar(10)");
    is_trail("NOTIFY ch, 'the payload'", "NOTIFY ch, $1");
    is_trail("LOAD '/tmp/evil.so'", "LOAD $1");
    is_trail("COPY t TO '/srv/out.csv'", "COPY t TO $1");
    is_trail("COPY t FROM '/etc/passwd' WITH (FORMAT csv)",
             "COPY t FROM $1 WITH (FORMAT csv)");
    is_trail("ALTER SYSTEM SET work_mem = '1GB'",
             "ALTER SYSTEM SET work_mem = $1");
    is_trail("ALTER SYSTEM SET max_connections = 500",
             "ALTER SYSTEM SET max_connections = $1");
    is_trail("CALL transfer(4111111111111111, 'alice')",
             "CALL transfer($1, $2)");
    is_trail("EXECUTE p(4111111111111111, 'x')", "EXECUTE p($1, $2)");
    is_trail("PREPARE p AS SELECT * FROM t WHERE card = 4111111111111111"
             " ORDER BY 1",
             "PREPARE p AS SELECT * FROM t WHERE card = $1 ORDER BY $2");
    is_trail("COMMENT ON TABLE t IS 'ssn 123-45-6789'",
             "COMMENT ON TABLE t IS $1");
    is_trail("CREATE TABLE x (a int DEFAULT 42, b text DEFAULT 'secret')",
             "CREATE TABLE x (a int DEFAULT $1, b text DEFAULT $2)");
    is_trail("PREPARE TRANSACTION 'tx-7'", "PREPARE TRANSACTION $1");
    is_trail("NOTIFY ch, E'line\\none'", "NOTIFY ch, $1");
    is_trail("NOTIFY ch, $$dollar quoted$$", "NOTIFY ch, $1");
    is_trail("COMMENT ON TABLE t IS U&'d\\0061t\\+000061'",
             "COMMENT ON TABLE t IS $1");
    is_trail("COMMENT ON TABLE t IS U&'it''s'", "COMMENT ON TABLE t IS $1");
    is_trail("SELECT * FROM t WHERE a = $1 AND b = 'x'",
             "SELECT * FROM t WHERE a = $1 AND b = $2");
    is_trail("/* who: 'x' */ NOTIFY ch, 'y'", "/* who: 'x' */ NOTIFY ch, $1");
    is_trail("LOCK t", "LOCK t");

    /* a string continues past a newline: all of it is the one literal */

    is_redacted("NOTIFY ch, U&'secret'\n'more secret'", "NOTIFY ch, $1");
    is_redacted("NOTIFY ch, U&'a' -- why\n  'more secret'",
                "NOTIFY ch, $1");
    is_redacted("NOTIFY ch, U&'a'\n\n'b'\n'c secret'", "NOTIFY ch, $1");
    is_redacted("NOTIFY ch, U&'a' 'b'", "NOTIFY ch, $1 $2");
    is_redacted("NOTIFY ch, 'a'\n'more secret'", "NOTIFY ch, $1");
    is_redacted("NOTIFY ch, E'a\\n'\r\n'more secret'", "NOTIFY ch, $1");
    is_redacted("SELECT B'1'\n'0101', X'f'\n'e'", "SELECT $1, $2");
    is_redacted("SELECT U&'a' UESCAPE '!'", "SELECT $1 UESCAPE $2");

    n = hoop_sql_scan_literals("SELECT $3, E'a''b', B'101', 7, x", spans, 8,
                               &params);
    ok(n == 3 && params == 3 && spans[0].start == 11 && spans[0].len == 7
       && spans[2].len == 1,
       "PostgreSQL's scanner: the literals and the highest $n");
    ok(hoop_sql_scan_literals("SELECT 'unterminated", spans, 8, &params)
       == -1, "a text it refuses: -1");

    {
        long  need;
        char  small[8];

        need = hoop_sql_redact("NOTIFY ch, 'payload'", 1, small,
                               sizeof(small));
        ok(need == (long) strlen("NOTIFY ch, $1"),
           "too small a buffer: the length it needs (%ld)", need);
    }

    return done_testing();
}
