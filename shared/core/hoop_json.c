/*
 * Copyright (C) nginx-hoop authors
 */

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "hoop_json.h"


static void hoop_json_raw(hoop_json_t *j, const char *s, size_t n);
static void hoop_json_quoted(hoop_json_t *j, const char *s, size_t n);
static size_t hoop_json_plain(const char *s, size_t n);
static int hoop_json_escaped(unsigned char c);
static size_t hoop_json_utf8(const unsigned char *s, size_t n);
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
    char                 num[24], *p;
    unsigned long long   u;

    hoop_json_key(j, key);

    /* digits from the right: snprintf() was most of what this cost */

    p = num + sizeof(num);
    u = v < 0 ? 0ULL - (unsigned long long) v : (unsigned long long) v;

    do {
        *--p = (char) ('0' + u % 10);
        u /= 10;
    } while (u);

    if (v < 0) {
        *--p = '-';
    }

    hoop_json_raw(j, p, (size_t) (num + sizeof(num) - p));
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


void
hoop_json_members(hoop_json_t *j, const char *json, size_t n)
{
    if (n == 0) {
        return;
    }

    /* a comma and a count, as for one member: only none or some matters */

    hoop_json_key(j, NULL);
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
    size_t         i, run;
    unsigned char  c;

    if (n == 0) {
        hoop_json_raw(j, "\"\"", 2);     /* s may be NULL */
        return;
    }

    hoop_json_raw(j, "\"", 1);

    for (i = 0; i < n; i++) {
        run = hoop_json_plain(s + i, n - i);
        hoop_json_raw(j, s + i, run);
        i += run;

        if (i == n) {
            break;
        }

        c = (unsigned char) s[i];

        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char) c;
            hoop_json_raw(j, esc, 2);
            continue;
        }

        if (c >= 0x80) {
            run = hoop_json_utf8((const unsigned char *) s + i, n - i);

            if (run) {
                hoop_json_raw(j, s + i, run);
                i += run - 1;
                continue;
            }

            /*
             * not UTF-8 (a LATIN1 client's text, a binary name): the
             * byte as the character of the same number, so the event
             * stays valid JSON that every reader (and the spool) takes
             */
        }

        snprintf(esc, sizeof(esc), "\\u%04x", c);
        hoop_json_raw(j, esc, 6);
    }

    hoop_json_raw(j, "\"", 1);
}


/*
 * How many bytes from s on are plain ASCII that needs no escaping: eight
 * at a time while none of them does (a control character, DEL, '"', a
 * backslash, or a byte of a non-ASCII character, checked apart), since
 * most strings have none.
 */
static size_t
hoop_json_plain(const char *s, size_t n)
{
    size_t    i;
    uint64_t  w, ctl, del, quote, bslash;

    const uint64_t  ones = 0x0101010101010101ULL;
    const uint64_t  high = 0x8080808080808080ULL;

    for (i = 0; i + 8 <= n; i += 8) {
        memcpy(&w, s + i, 8);

        /* a byte below 0x20, or equal to 0x7f, '"' or '\\' */

        ctl = (w - ones * 0x20) & ~w;
        del = ((w ^ (ones * 0x7f)) - ones) & ~(w ^ (ones * 0x7f));
        quote = ((w ^ (ones * '"')) - ones) & ~(w ^ (ones * '"'));
        bslash = ((w ^ (ones * '\\')) - ones) & ~(w ^ (ones * '\\'));

        if ((ctl | del | quote | bslash | w) & high) {
            break;
        }
    }

    while (i < n && !hoop_json_escaped((unsigned char) s[i])) {
        i++;
    }

    return i;
}


static int
hoop_json_escaped(unsigned char c)
{
    return c < 0x20 || c == '"' || c == '\\' || c >= 0x7f;
}


/*
 * The length of the well-formed UTF-8 character at s (RFC 3629: no
 * overlong forms, no surrogates, nothing past U+10FFFF), or 0.
 */
static size_t
hoop_json_utf8(const unsigned char *s, size_t n)
{
    size_t         len, k;
    unsigned char  lo, hi;

    lo = 0x80;
    hi = 0xbf;

    if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        len = 2;

    } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        len = 3;
        lo = (s[0] == 0xe0) ? 0xa0 : 0x80;
        hi = (s[0] == 0xed) ? 0x9f : 0xbf;

    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        len = 4;
        lo = (s[0] == 0xf0) ? 0x90 : 0x80;
        hi = (s[0] == 0xf4) ? 0x8f : 0xbf;

    } else {
        return 0;
    }

    if (n < len || s[1] < lo || s[1] > hi) {
        return 0;
    }

    for (k = 2; k < len; k++) {
        if (s[k] < 0x80 || s[k] > 0xbf) {
            return 0;
        }
    }

    return len;
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
