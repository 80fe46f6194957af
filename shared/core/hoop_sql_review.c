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
#define HOOP_SQL_REVIEW_BOUND    256
#define HOOP_SQL_REVIEW_VALUE    4096


/* the locations of literals bound to a masked column */
typedef struct {
    const char  *columns;
    size_t       n;
    int          all;               /* too many: every literal is bound */
    long         at[HOOP_SQL_REVIEW_BOUND];
} hoop_sql_rv_t;


static void hoop_sql_rv_walk(hoop_sql_rv_t *rv, json_t *v);
static void hoop_sql_rv_consts(hoop_sql_rv_t *rv, json_t *v);
static int hoop_sql_rv_masked_ref(hoop_sql_rv_t *rv, json_t *v);
static int hoop_sql_rv_masked(hoop_sql_rv_t *rv, const char *name);
static int hoop_sql_rv_bound(hoop_sql_rv_t *rv, const char *sql,
    size_t start, size_t *from);
static long hoop_sql_rv_literal(const char *lit, size_t len,
    const hoop_mask_conf_t *mask, char *out, size_t cap);
static long hoop_sql_rv_detect(const char *text, size_t len,
    const hoop_mask_conf_t *mask, char *out, size_t cap);


long
hoop_sql_review_text(const char *sql, const char *columns,
    const hoop_mask_conf_t *mask, char *out, size_t cap)
{
    int                n, i, params;
    long               o, m;
    char              *tmp;
    size_t             pos, room, from;
    json_t            *root;
    hoop_sql_rv_t      rv;
    hoop_sql_span_t   *spans;

    memset(&rv, 0, sizeof(rv));
    rv.columns = columns;

    if (columns != NULL && columns[0] != '\0') {
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

    /* the text with its literals replaced, then the detectors over all */

    room = 4 * strlen(sql) + 64 * (size_t) n + 256;
    tmp = malloc(room);
    if (tmp == NULL) {
        free(spans);
        return -1;
    }

    pos = 0;
    o = 0;

    for (i = 0; i < n; i++) {
        memcpy(tmp + o, sql + pos, spans[i].start - pos);
        o += spans[i].start - pos;

        if (hoop_sql_rv_bound(&rv, sql, spans[i].start, &from)) {
            /* a negated number goes whole, its sign too */
            o -= spans[i].start - from;
            memcpy(tmp + o, HOOP_SQL_REVIEW_MASKED,
                   sizeof(HOOP_SQL_REVIEW_MASKED) - 1);
            o += sizeof(HOOP_SQL_REVIEW_MASKED) - 1;

        } else {
            m = hoop_sql_rv_literal(sql + spans[i].start, spans[i].len, mask,
                                    tmp + o, room - o);
            if (m < 0) {
                free(tmp);
                free(spans);
                return -1;
            }

            o += m;
        }

        pos = spans[i].start + spans[i].len;
    }

    memcpy(tmp + o, sql + pos, strlen(sql) - pos);
    o += strlen(sql) - pos;

    free(spans);

    m = hoop_sql_rv_detect(tmp, (size_t) o, mask, out, cap);
    free(tmp);

    return m;
}


/* every node: the places where a literal meets a masked column */
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

    /* SET col = ...; a target named as a masked column */

    x = json_object_get(v, "ResTarget");
    if (x != NULL) {
        name = json_string_value(json_object_get(x, "name"));

        if (name != NULL && hoop_sql_rv_masked(rv, name)) {
            hoop_sql_rv_consts(rv, json_object_get(x, "val"));
        }
    }

    /* INSERT (a, masked, c) VALUES (1, '...', 3), ... */

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

                if (name != NULL && hoop_sql_rv_masked(rv, name)) {
                    hoop_sql_rv_consts(rv, json_array_get(items, j));
                }
            }
        }
    }

    /* masked = ..., ... IN (...), LIKE, BETWEEN: either side */

    x = json_object_get(v, "A_Expr");
    if (x != NULL) {
        if (hoop_sql_rv_masked_ref(rv, json_object_get(x, "lexpr"))) {
            hoop_sql_rv_consts(rv, json_object_get(x, "rexpr"));
        }

        if (hoop_sql_rv_masked_ref(rv, json_object_get(x, "rexpr"))) {
            hoop_sql_rv_consts(rv, json_object_get(x, "lexpr"));
        }
    }

    json_object_foreach(v, key, x) {
        hoop_sql_rv_walk(rv, x);
    }
}


/* every constant in v is bound */
static void
hoop_sql_rv_consts(hoop_sql_rv_t *rv, json_t *v)
{
    size_t       i;
    json_t      *x;
    const char  *key;

    if (json_is_array(v)) {
        for (i = 0; i < json_array_size(v); i++) {
            hoop_sql_rv_consts(rv, json_array_get(v, i));
        }

        return;
    }

    if (!json_is_object(v)) {
        return;
    }

    x = json_object_get(v, "A_Const");
    if (x != NULL && json_is_integer(json_object_get(x, "location"))) {
        if (rv->n < HOOP_SQL_REVIEW_BOUND) {
            rv->at[rv->n++] = (long) json_integer_value(
                                        json_object_get(x, "location"));
        } else {
            rv->all = 1;
        }
    }

    json_object_foreach(v, key, x) {
        hoop_sql_rv_consts(rv, x);
    }
}


/* a column reference (however cast) whose name is a masked column's */
static int
hoop_sql_rv_masked_ref(hoop_sql_rv_t *rv, json_t *v)
{
    json_t      *ref, *fields;
    const char  *name;

    while (json_object_get(v, "TypeCast") != NULL) {
        v = json_object_get(json_object_get(v, "TypeCast"), "arg");
    }

    ref = json_object_get(v, "ColumnRef");
    fields = json_object_get(ref, "fields");

    if (json_array_size(fields) == 0) {
        return 0;
    }

    name = json_string_value(json_object_get(json_object_get(
               json_array_get(fields, json_array_size(fields) - 1), "String"),
               "sval"));

    return name != NULL && hoop_sql_rv_masked(rv, name);
}


static int
hoop_sql_rv_masked(hoop_sql_rv_t *rv, const char *name)
{
    return rv->columns != NULL
           && hoop_sql_lineage_listed(rv->columns, name, strlen(name));
}


/*
 * Whether the literal at start is one of those bound, and where what is
 * masked begins (*from): the parser places a negated number at its minus
 * sign, the scanner at its digits.
 */
static int
hoop_sql_rv_bound(hoop_sql_rv_t *rv, const char *sql, size_t start,
    size_t *from)
{
    size_t  i, at;

    *from = start;

    if (rv->all) {
        return 1;
    }

    for (i = 0; i < rv->n; i++) {
        at = (size_t) rv->at[i];

        if (at == start) {
            return 1;
        }

        if (at < start && sql[at] == '-') {
            *from = at;

            for (at++; at < start && strchr(" \t\r\n\f", sql[at]); at++) {
                /* void */
            }

            if (at == start) {
                return 1;
            }

            *from = start;
        }
    }

    return 0;
}


/*
 * One literal as shown: a plain string or a number through the
 * detectors (a string requoted); another form of string (E'', $$,
 * U&'', B'', X'') is not read here, so it is shown only if no detector
 * could match it, else masked whole.
 */
static long
hoop_sql_rv_literal(const char *lit, size_t len,
    const hoop_mask_conf_t *mask, char *out, size_t cap)
{
    char    *value, *masked;
    long     o;
    size_t   i, n, m;

    if (cap < 2 * len + sizeof(HOOP_SQL_REVIEW_MASKED) + 2) {
        return -1;
    }

    if (mask == NULL || mask->enabled == 0
        || !hoop_mask_could_match(mask, (const unsigned char *) lit, len))
    {
        memcpy(out, lit, len);
        return (long) len;
    }

    if (len < 2 || lit[0] != '\'' || lit[len - 1] != '\'') {
        if (lit[0] == '\'' || lit[0] == '$' || (len > 1 && lit[1] == '\'')
            || (len > 2 && lit[1] == '&'))
        {
            memcpy(out, HOOP_SQL_REVIEW_MASKED,
                   sizeof(HOOP_SQL_REVIEW_MASKED) - 1);
            return sizeof(HOOP_SQL_REVIEW_MASKED) - 1;
        }

        /* a number */
        m = hoop_mask_string(mask, (const unsigned char *) lit, len,
                             (unsigned char *) out, cap, NULL);
        return m == (size_t) -1 ? -1 : (long) m;
    }

    /* 'it''s': the value, masked, quoted again */

    value = malloc(2 * len + 2 * HOOP_SQL_REVIEW_VALUE);
    if (value == NULL) {
        return -1;
    }

    masked = value + len;

    for (i = 1, n = 0; i + 1 < len; i++) {
        value[n++] = lit[i];

        if (lit[i] == '\'') {
            i++;
        }
    }

    m = hoop_mask_string(mask, (unsigned char *) value, n,
                         (unsigned char *) masked,
                         len + 2 * HOOP_SQL_REVIEW_VALUE, NULL);
    if (m == (size_t) -1) {
        free(value);
        return -1;
    }

    if (2 * m + 2 > cap) {
        free(value);
        return -1;
    }

    o = 0;
    out[o++] = '\'';

    for (i = 0; i < m; i++) {
        out[o++] = masked[i];

        if (masked[i] == '\'') {
            out[o++] = '\'';
        }
    }

    out[o++] = '\'';

    free(value);

    return o;
}


/* the detectors over the whole text: comments and names too */
static long
hoop_sql_rv_detect(const char *text, size_t len,
    const hoop_mask_conf_t *mask, char *out, size_t cap)
{
    size_t  m;

    if (mask == NULL || mask->enabled == 0
        || !hoop_mask_could_match(mask, (const unsigned char *) text, len))
    {
        if (len < cap) {
            memcpy(out, text, len);
            out[len] = '\0';
        }

        return (long) len;
    }

    m = hoop_mask_string(mask, (const unsigned char *) text, len,
                         (unsigned char *) out, cap, NULL);

    if (m == (size_t) -1) {
        return (long) (2 * len + 64 > cap ? 2 * len + 64 : cap + 1);
    }

    if (m < cap) {
        out[m] = '\0';
    }

    return (long) m;
}
