/*
 * Copyright (C) nginx-hoop authors
 */

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "hoop_sql.h"
#include "hoop_sql_lineage.h"
#include "hoop_sql_redact.h"
#include "hoop_sql_review.h"


#define HOOP_SQL_REVIEW_SPANS    1024
#define HOOP_SQL_REVIEW_BOUND    512

#define HOOP_SQL_REVIEW_MASKED_LEN  (sizeof(HOOP_SQL_REVIEW_MASKED) - 1)


/*
 * Where the statement binds literals to columns: to a masked one, or
 * provably to an unmasked one.  With masked columns configured, only the
 * latter are shown: a literal in any other place (a function's argument,
 * an INSERT without a column list, a VALUES list in FROM, an EXECUTE's
 * parameter) may reach a masked column in ways the text does not show.
 */
typedef struct {
    const char  *columns;
    size_t       nmasked;
    size_t       nshown;
    int          overflow;          /* too many: show none */
    long         masked[HOOP_SQL_REVIEW_BOUND];
    long         shown[HOOP_SQL_REVIEW_BOUND];
} hoop_sql_rv_t;


/* output into a buffer that may be too small: what it needs is counted */
typedef struct {
    char    *p;
    size_t   cap;
    size_t   len;
} hoop_sql_rv_out_t;


static int hoop_sql_rv_replace(const char *sql, hoop_sql_span_t *spans,
    int n, hoop_sql_rv_t *rv, int guarded, const hoop_mask_conf_t *mask,
    hoop_sql_rv_out_t *o);
static void hoop_sql_rv_walk(hoop_sql_rv_t *rv, json_t *v);
static void hoop_sql_rv_bind(hoop_sql_rv_t *rv, const char *name,
    json_t *v);
static void hoop_sql_rv_consts(hoop_sql_rv_t *rv, json_t *v, int masked);
static const char *hoop_sql_rv_column(json_t *v);
static long hoop_sql_rv_owner(const long *at, size_t n, const char *sql,
    const hoop_sql_span_t *spans, int i);
static int hoop_sql_rv_plain(const char *lit, size_t len);
static void hoop_sql_rv_put(hoop_sql_rv_out_t *o, const char *s,
    size_t len);
static int hoop_sql_rv_literal(hoop_sql_rv_out_t *o, const char *lit,
    size_t len, const hoop_mask_conf_t *mask);
static int hoop_sql_rv_mask(const hoop_mask_conf_t *mask, const char *in,
    size_t len, char **out, size_t *olen);


long
hoop_sql_review_text(const char *sql, const char *columns,
    const hoop_mask_conf_t *mask, char *out, size_t cap)
{
    int                 n, params, guarded;
    char               *masked;
    size_t              len, mlen;
    json_t             *root;
    hoop_sql_rv_t       rv;
    hoop_sql_span_t    *spans;
    hoop_sql_rv_out_t   o;

    memset(&rv, 0, sizeof(rv));
    rv.columns = columns;
    guarded = (columns != NULL && columns[0] != '\0');

    if (guarded) {
        root = hoop_sql_parse_tree(sql);
        if (root == NULL) {
            return -1;
        }

        hoop_sql_rv_walk(&rv, root);
        json_decref(root);
    }

    spans = malloc(HOOP_SQL_REVIEW_SPANS * sizeof(hoop_sql_span_t));
    if (spans == NULL) {
        return -1;
    }

    n = hoop_sql_scan_literals(sql, spans, HOOP_SQL_REVIEW_SPANS, &params);
    if (n < 0) {
        free(spans);
        return -1;
    }

    /*
     * the text with its literals replaced: into a buffer of a guessed
     * size, and again at the size counted when the guess was short
     */

    len = strlen(sql);
    o.cap = 2 * len + 256;

    for ( ;; ) {
        o.p = malloc(o.cap);
        o.len = 0;

        if (o.p == NULL
            || hoop_sql_rv_replace(sql, spans, n, &rv, guarded, mask, &o)
               != 0)
        {
            goto failed;
        }

        if (o.len <= o.cap) {
            break;
        }

        free(o.p);
        o.cap = o.len;
    }

    free(spans);
    spans = NULL;

    /* the detectors over the whole text: comments and names too */

    if (hoop_sql_rv_mask(mask, o.p, o.len, &masked, &mlen) != 0) {
        free(o.p);
        return -1;
    }

    if (masked == NULL) {
        masked = o.p;
        mlen = o.len;
        o.p = NULL;
    }

    if (mlen < cap) {
        memcpy(out, masked, mlen);
        out[mlen] = '\0';
    }

    free(masked);
    free(o.p);

    return (long) mlen;

failed:

    free(spans);
    free(o.p);

    return -1;
}


static int
hoop_sql_rv_replace(const char *sql, hoop_sql_span_t *spans, int n,
    hoop_sql_rv_t *rv, int guarded, const hoop_mask_conf_t *mask,
    hoop_sql_rv_out_t *o)
{
    int     i;
    long    at;
    size_t  pos, from, len;

    len = strlen(sql);
    pos = 0;

    for (i = 0; i < n; i++) {
        if (spans[i].start < pos || spans[i].start + spans[i].len > len) {
            /* spans that overlap (a continued string): not shown */
            return -1;
        }

        from = spans[i].start;
        at = hoop_sql_rv_owner(rv->masked, rv->nmasked, sql, spans, i);

        if (at >= 0 && (size_t) at >= pos) {
            from = (size_t) at;     /* a negated number goes whole */
        }

        hoop_sql_rv_put(o, sql + pos, from - pos);

        if (guarded
            && (at >= 0 || rv->overflow
                || hoop_sql_rv_owner(rv->shown, rv->nshown, sql, spans, i)
                   < 0))
        {
            hoop_sql_rv_put(o, HOOP_SQL_REVIEW_MASKED,
                            HOOP_SQL_REVIEW_MASKED_LEN);

        } else if (hoop_sql_rv_literal(o, sql + spans[i].start,
                                       spans[i].len, mask)
                   != 0)
        {
            return -1;
        }

        pos = spans[i].start + spans[i].len;
    }

    hoop_sql_rv_put(o, sql + pos, len - pos);

    return 0;
}


/* every node: the places where a literal meets a column */
static void
hoop_sql_rv_walk(hoop_sql_rv_t *rv, json_t *v)
{
    size_t       i, j, ncols;
    json_t      *x, *cols, *lists, *items, *col;
    const char  *key, *name;

    if (json_is_array(v)) {
        for (i = 0; i < json_array_size(v); i++) {
            hoop_sql_rv_walk(rv, json_array_get(v, i));
        }

        return;
    }

    if (!json_is_object(v)) {
        return;
    }

    /* SET col = ... (and a select list's alias: shown only if unmasked) */

    x = json_object_get(v, "ResTarget");
    if (x != NULL) {
        name = json_string_value(json_object_get(x, "name"));

        if (name != NULL) {
            hoop_sql_rv_bind(rv, name, json_object_get(x, "val"));
        }
    }

    /* INSERT (a, b) VALUES (1, '...'), ...: by position */

    x = json_object_get(v, "InsertStmt");
    if (x != NULL) {
        cols = json_object_get(x, "cols");
        lists = json_object_get(json_object_get(json_object_get(x,
                    "selectStmt"), "SelectStmt"), "valuesLists");
        ncols = json_array_size(cols);

        for (i = 0; i < json_array_size(lists); i++) {
            items = json_object_get(json_object_get(json_array_get(lists, i),
                                                    "List"), "items");

            for (j = 0; j < json_array_size(items) && j < ncols; j++) {
                col = json_object_get(json_array_get(cols, j), "ResTarget");
                name = json_string_value(json_object_get(col, "name"));

                if (name != NULL) {
                    hoop_sql_rv_bind(rv, name, json_array_get(items, j));
                }
            }
        }
    }

    /* col = ..., col IN (...), col LIKE ...: a bare column on one side */

    x = json_object_get(v, "A_Expr");
    if (x != NULL) {
        name = hoop_sql_rv_column(json_object_get(x, "lexpr"));

        if (name != NULL) {
            hoop_sql_rv_bind(rv, name, json_object_get(x, "rexpr"));
        }

        name = hoop_sql_rv_column(json_object_get(x, "rexpr"));

        if (name != NULL) {
            hoop_sql_rv_bind(rv, name, json_object_get(x, "lexpr"));
        }
    }

    json_object_foreach(v, key, x) {
        hoop_sql_rv_walk(rv, x);
    }
}


static void
hoop_sql_rv_bind(hoop_sql_rv_t *rv, const char *name, json_t *v)
{
    hoop_sql_rv_consts(rv, v, hoop_sql_lineage_listed(rv->columns, name,
                                                      strlen(name)));
}


/* every constant in v is bound to a masked column, or shown */
static void
hoop_sql_rv_consts(hoop_sql_rv_t *rv, json_t *v, int masked)
{
    size_t       i;
    json_t      *x, *loc;
    const char  *key;

    if (json_is_array(v)) {
        for (i = 0; i < json_array_size(v); i++) {
            hoop_sql_rv_consts(rv, json_array_get(v, i), masked);
        }

        return;
    }

    if (!json_is_object(v)) {
        return;
    }

    x = json_object_get(v, "A_Const");
    loc = json_object_get(x, "location");

    if (json_is_integer(loc)) {
        if (masked && rv->nmasked < HOOP_SQL_REVIEW_BOUND) {
            rv->masked[rv->nmasked++] = (long) json_integer_value(loc);

        } else if (!masked && rv->nshown < HOOP_SQL_REVIEW_BOUND) {
            rv->shown[rv->nshown++] = (long) json_integer_value(loc);

        } else {
            rv->overflow = 1;
        }
    }

    json_object_foreach(v, key, x) {
        hoop_sql_rv_consts(rv, x, masked);
    }
}


/* the name of a bare column reference, however cast, or NULL */
static const char *
hoop_sql_rv_column(json_t *v)
{
    json_t  *fields;

    while (json_object_get(v, "TypeCast") != NULL) {
        v = json_object_get(json_object_get(v, "TypeCast"), "arg");
    }

    fields = json_object_get(json_object_get(v, "ColumnRef"), "fields");

    if (json_array_size(fields) == 0) {
        return NULL;
    }

    return json_string_value(json_object_get(json_object_get(
               json_array_get(fields, json_array_size(fields) - 1), "String"),
               "sval"));
}


/*
 * The location in at[] that names span i, or -1: the parser places a
 * constant where it starts, and a negated number at its (outer) minus
 * sign, with blanks, comments or more signs before the digits: then the
 * location is a '-' whose first span after it is span i.  (NULL, TRUE
 * and FALSE are constants without a span: never theirs.)
 */
static long
hoop_sql_rv_owner(const long *at, size_t n, const char *sql,
    const hoop_sql_span_t *spans, int i)
{
    size_t  k, a;

    for (k = 0; k < n; k++) {
        if (at[k] < 0 || (size_t) at[k] > spans[i].start) {
            continue;
        }

        a = (size_t) at[k];

        if (a == spans[i].start) {
            return at[k];
        }

        if (sql[a] == '-'
            && (i == 0 || a >= (size_t) spans[i - 1].start
                               + spans[i - 1].len))
        {
            return at[k];
        }
    }

    return -1;
}


/* 'text' with only doubled quotes inside: the value is read here */
static int
hoop_sql_rv_plain(const char *lit, size_t len)
{
    size_t  i;

    if (len < 2 || lit[0] != '\'' || lit[len - 1] != '\'') {
        return 0;
    }

    for (i = 1; i + 1 < len; i++) {
        if (lit[i] == '\'') {
            if (lit[i + 1] != '\'' || i + 2 >= len) {
                return 0;       /* a continued string: not read here */
            }

            i++;
        }
    }

    return 1;
}


static void
hoop_sql_rv_put(hoop_sql_rv_out_t *o, const char *s, size_t len)
{
    if (o->len + len <= o->cap) {
        memcpy(o->p + o->len, s, len);
    }

    o->len += len;
}


/*
 * One literal as shown: a plain string or a number through the
 * detectors (the string quoted again); another form (E'', $$, U&'', B'',
 * X'', a continued string) is not read here, so it is shown only if no
 * detector could match it, else masked whole.
 */
static int
hoop_sql_rv_literal(hoop_sql_rv_out_t *o, const char *lit, size_t len,
    const hoop_mask_conf_t *mask)
{
    char    *value, *masked;
    size_t   i, n, m;

    if (mask == NULL || mask->enabled == 0
        || !hoop_mask_could_match(mask, (const unsigned char *) lit, len))
    {
        hoop_sql_rv_put(o, lit, len);
        return 0;
    }

    if (lit[0] >= '0' && lit[0] <= '9') {
        /* a number */
        if (hoop_sql_rv_mask(mask, lit, len, &masked, &m) != 0) {
            return -1;
        }

        hoop_sql_rv_put(o, masked ? masked : lit, masked ? m : len);
        free(masked);
        return 0;
    }

    if (!hoop_sql_rv_plain(lit, len)) {
        hoop_sql_rv_put(o, HOOP_SQL_REVIEW_MASKED,
                        HOOP_SQL_REVIEW_MASKED_LEN);
        return 0;
    }

    /* 'it''s': the value, masked, quoted again */

    value = malloc(len);
    if (value == NULL) {
        return -1;
    }

    for (i = 1, n = 0; i + 1 < len; i++) {
        value[n++] = lit[i];

        if (lit[i] == '\'') {
            i++;
        }
    }

    if (hoop_sql_rv_mask(mask, value, n, &masked, &m) != 0) {
        free(value);
        return -1;
    }

    hoop_sql_rv_put(o, "'", 1);

    for (i = 0; i < (masked ? m : n); i++) {
        hoop_sql_rv_put(o, masked ? masked + i : value + i, 1);

        if ((masked ? masked[i] : value[i]) == '\'') {
            hoop_sql_rv_put(o, "'", 1);
        }
    }

    hoop_sql_rv_put(o, "'", 1);

    free(masked);
    free(value);

    return 0;
}


/*
 * The detectors over in: *out a malloc'd result and *olen its length,
 * or *out NULL when nothing was masked.  The buffer grows until the
 * result fits.  Returns 0, or -1.
 */
static int
hoop_sql_rv_mask(const hoop_mask_conf_t *mask, const char *in, size_t len,
    char **out, size_t *olen)
{
    char    *buf;
    size_t   cap, m;

    *out = NULL;
    *olen = len;

    if (mask == NULL || mask->enabled == 0
        || !hoop_mask_could_match(mask, (const unsigned char *) in, len))
    {
        return 0;
    }

    for (cap = 2 * len + 64; cap < 64 * len + 4096; cap *= 2) {
        buf = malloc(cap);
        if (buf == NULL) {
            return -1;
        }

        m = hoop_mask_string(mask, (const unsigned char *) in, len,
                             (unsigned char *) buf, cap, NULL);

        if (m != (size_t) -1) {
            if (m == len && memcmp(buf, in, len) == 0) {
                free(buf);
                return 0;
            }

            *out = buf;
            *olen = m;
            return 0;
        }

        free(buf);
    }

    return -1;
}
