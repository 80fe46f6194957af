/*
 * Copyright (C) nginx-hoop authors
 */

#include <stdio.h>
#include <string.h>

#include "hoop_identity.h"


typedef struct {
    char    *p;
    size_t   len;      /* bytes produced so far (counted even past cap) */
    size_t   cap;
} hoop_json_out_t;


static void hoop_json_raw(hoop_json_out_t *o, const char *s, size_t n);
static void hoop_json_string(hoop_json_out_t *o, const char *s, size_t n);
static void hoop_json_member(hoop_json_out_t *o, const char *name,
    const hoop_str_t *v, int *first);
static size_t hoop_identity_write(const hoop_identity_t *id,
    hoop_json_out_t *o);
static char *hoop_identity_copy_str(hoop_str_t *dst, const hoop_str_t *src,
    char *buf);


size_t
hoop_identity_json(const hoop_identity_t *id, char *buf, size_t cap)
{
    size_t           n;
    hoop_json_out_t  o;

    o.p = buf;
    o.len = 0;
    o.cap = cap;

    n = hoop_identity_write(id, &o);

    return n <= cap ? n : 0;
}


size_t
hoop_identity_json_size(const hoop_identity_t *id)
{
    hoop_json_out_t  o;

    o.p = NULL;
    o.len = 0;
    o.cap = 0;

    return hoop_identity_write(id, &o);
}


size_t
hoop_identity_size(const hoop_identity_t *id)
{
    return id->sub.len + id->email.len + id->groups.len + id->client_id.len
           + id->jti.len + id->iss.len;
}


void
hoop_identity_copy(hoop_identity_t *dst, const hoop_identity_t *src,
    char *buf)
{
    *dst = *src;

    buf = hoop_identity_copy_str(&dst->sub, &src->sub, buf);
    buf = hoop_identity_copy_str(&dst->email, &src->email, buf);
    buf = hoop_identity_copy_str(&dst->groups, &src->groups, buf);
    buf = hoop_identity_copy_str(&dst->client_id, &src->client_id, buf);
    buf = hoop_identity_copy_str(&dst->jti, &src->jti, buf);
    (void) hoop_identity_copy_str(&dst->iss, &src->iss, buf);
}


static char *
hoop_identity_copy_str(hoop_str_t *dst, const hoop_str_t *src, char *buf)
{
    if (src->len == 0) {
        dst->data = NULL;
        dst->len = 0;
        return buf;
    }

    memcpy(buf, src->data, src->len);
    dst->data = buf;

    return buf + src->len;
}


static size_t
hoop_identity_write(const hoop_identity_t *id, hoop_json_out_t *o)
{
    int          first;
    size_t       i, start;
    const char  *g;

    first = 1;

    hoop_json_raw(o, "{", 1);
    hoop_json_member(o, "sub", &id->sub, &first);
    hoop_json_member(o, "email", &id->email, &first);

    hoop_json_raw(o, first ? "\"groups\":[" : ",\"groups\":[", first ? 10 : 11);
    first = 0;

    g = id->groups.data;
    start = 0;

    for (i = 0; i <= id->groups.len; i++) {
        if (i < id->groups.len && g[i] != ',') {
            continue;
        }

        if (i > start) {
            if (start > 0) {
                hoop_json_raw(o, ",", 1);
            }

            hoop_json_string(o, g + start, i - start);
        }

        start = i + 1;
    }

    hoop_json_raw(o, "]", 1);
    hoop_json_member(o, "client_id", &id->client_id, &first);
    hoop_json_member(o, "jti", &id->jti, &first);
    hoop_json_member(o, "iss", &id->iss, &first);
    hoop_json_raw(o, "}", 1);

    return o->len;
}


static void
hoop_json_member(hoop_json_out_t *o, const char *name, const hoop_str_t *v,
    int *first)
{
    if (v->len == 0) {
        return;
    }

    if (!*first) {
        hoop_json_raw(o, ",", 1);
    }

    *first = 0;

    hoop_json_string(o, name, strlen(name));
    hoop_json_raw(o, ":", 1);
    hoop_json_string(o, v->data, v->len);
}


/*
 * The strings come from verified JSON, so they are valid UTF-8; only the
 * characters JSON requires escaped are escaped.
 */
static void
hoop_json_string(hoop_json_out_t *o, const char *s, size_t n)
{
    char           esc[8];
    size_t         i;
    unsigned char  c;

    hoop_json_raw(o, "\"", 1);

    for (i = 0; i < n; i++) {
        c = (unsigned char) s[i];

        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char) c;
            hoop_json_raw(o, esc, 2);

        } else if (c < 0x20 || c == 0x7f) {
            snprintf(esc, sizeof(esc), "\\u%04x", c);
            hoop_json_raw(o, esc, 6);

        } else {
            hoop_json_raw(o, s + i, 1);
        }
    }

    hoop_json_raw(o, "\"", 1);
}


static void
hoop_json_raw(hoop_json_out_t *o, const char *s, size_t n)
{
    if (o->len + n <= o->cap) {
        memcpy(o->p + o->len, s, n);
    }

    o->len += n;
}
