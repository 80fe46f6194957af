/*
 * Copyright (C) nginx-hoop authors
 */

#include <stdio.h>
#include <string.h>

#include "hoop_json.h"


static void hoop_json_raw(hoop_json_t *j, const char *s, size_t n);
static void hoop_json_quoted(hoop_json_t *j, const char *s, size_t n);
static void hoop_json_key(hoop_json_t *j, const char *key);


void
hoop_json_init(hoop_json_t *j, char *buf, size_t cap)
{
    j->buf = buf;
    j->cap = cap;
    j->len = 0;
    j->depth = 0;
    j->members[0] = 0;
}


void
hoop_json_object(hoop_json_t *j, const char *key)
{
    hoop_json_key(j, key);
    hoop_json_raw(j, "{", 1);

    if (j->depth + 1 < HOOP_JSON_MAX_DEPTH) {
        j->members[++j->depth] = 0;

    } else {
        j->depth = HOOP_JSON_MAX_DEPTH;     /* makes finish() fail */
    }
}


void
hoop_json_array(hoop_json_t *j, const char *key)
{
    hoop_json_key(j, key);
    hoop_json_raw(j, "[", 1);

    if (j->depth + 1 < HOOP_JSON_MAX_DEPTH) {
        j->members[++j->depth] = 0x80;      /* an array: no member names */

    } else {
        j->depth = HOOP_JSON_MAX_DEPTH;
    }
}


void
hoop_json_end(hoop_json_t *j)
{
    if (j->depth <= 0 || j->depth >= HOOP_JSON_MAX_DEPTH) {
        j->depth = HOOP_JSON_MAX_DEPTH;
        return;
    }

    hoop_json_raw(j, (j->members[j->depth] & 0x80) ? "]" : "}", 1);
    j->depth--;
}


void
hoop_json_string(hoop_json_t *j, const char *key, const char *s, size_t n)
{
    hoop_json_key(j, key);
    hoop_json_quoted(j, s, n);
}


void
hoop_json_int(hoop_json_t *j, const char *key, long long v)
{
    char  num[24];
    int   n;

    hoop_json_key(j, key);
    n = snprintf(num, sizeof(num), "%lld", v);
    hoop_json_raw(j, num, (size_t) n);
}


void
hoop_json_null(hoop_json_t *j, const char *key)
{
    hoop_json_key(j, key);
    hoop_json_raw(j, "null", 4);
}


void
hoop_json_value(hoop_json_t *j, const char *key, const char *json, size_t n)
{
    hoop_json_key(j, key);
    hoop_json_raw(j, json, n);
}


size_t
hoop_json_finish(hoop_json_t *j)
{
    if (j->len > j->cap || j->depth != 0) {
        return 0;
    }

    return j->len;
}


/* the comma before every member but the first, and the name in objects */
static void
hoop_json_key(hoop_json_t *j, const char *key)
{
    unsigned char  *m;

    if (j->depth <= 0 || j->depth >= HOOP_JSON_MAX_DEPTH) {
        return;
    }

    m = &j->members[j->depth];

    if (*m & 0x7f) {
        hoop_json_raw(j, ",", 1);
    }

    if ((*m & 0x7f) < 0x7f) {
        (*m)++;
    }

    if (key != NULL && !(*m & 0x80)) {
        hoop_json_quoted(j, key, strlen(key));
        hoop_json_raw(j, ":", 1);
    }
}


static void
hoop_json_quoted(hoop_json_t *j, const char *s, size_t n)
{
    char           esc[8];
    size_t         i, start;
    unsigned char  c;

    if (n == 0) {
        hoop_json_raw(j, "\"\"", 2);     /* s may be NULL */
        return;
    }

    hoop_json_raw(j, "\"", 1);

    start = 0;

    for (i = 0; i < n; i++) {
        c = (unsigned char) s[i];

        if (c != '"' && c != '\\' && c >= 0x20 && c != 0x7f) {
            continue;
        }

        hoop_json_raw(j, s + start, i - start);

        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char) c;
            hoop_json_raw(j, esc, 2);

        } else {
            snprintf(esc, sizeof(esc), "\\u%04x", c);
            hoop_json_raw(j, esc, 6);
        }

        start = i + 1;
    }

    hoop_json_raw(j, s + start, n - start);
    hoop_json_raw(j, "\"", 1);
}


static void
hoop_json_raw(hoop_json_t *j, const char *s, size_t n)
{
    /* an empty value may come as NULL: memcpy() must not see it */

    if (n == 0) {
        return;
    }

    if (j->len + n <= j->cap) {
        memcpy(j->buf + j->len, s, n);
    }

    j->len += n;
}
