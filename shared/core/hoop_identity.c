/*
 * Copyright (C) nginx-hoop authors
 */

#include <stdio.h>
#include <string.h>

#include "hoop_identity.h"
#include "hoop_json.h"


static void hoop_identity_member(hoop_json_t *j, const char *name,
    const hoop_str_t *v);
static char *hoop_identity_copy_str(hoop_str_t *dst, const hoop_str_t *src,
    char *buf);


size_t
hoop_identity_json(const hoop_identity_t *id, char *buf, size_t cap)
{
    hoop_json_t  j;

    hoop_json_init(&j, buf, cap);
    hoop_identity_json_write(id, &j, NULL);

    return hoop_json_finish(&j);
}


size_t
hoop_identity_json_size(const hoop_identity_t *id)
{
    hoop_json_t  j;

    hoop_json_init(&j, NULL, 0);
    hoop_identity_json_write(id, &j, NULL);

    return j.len;
}


void
hoop_identity_json_write(const hoop_identity_t *id, hoop_json_t *j,
    const char *key)
{
    size_t       i, start;
    const char  *g;

    hoop_json_object(j, key);
    hoop_identity_member(j, "sub", &id->sub);
    hoop_identity_member(j, "email", &id->email);

    hoop_json_array(j, "groups");

    g = id->groups.data;
    start = 0;

    for (i = 0; i <= id->groups.len; i++) {
        if (i < id->groups.len && g[i] != ',') {
            continue;
        }

        if (i > start) {
            hoop_json_string(j, NULL, g + start, i - start);
        }

        start = i + 1;
    }

    hoop_json_end(j);
    hoop_identity_member(j, "client_id", &id->client_id);
    hoop_identity_member(j, "jti", &id->jti);
    hoop_identity_member(j, "iss", &id->iss);
    hoop_json_end(j);
}


static void
hoop_identity_member(hoop_json_t *j, const char *name, const hoop_str_t *v)
{
    if (v->len) {
        hoop_json_string(j, name, v->data, v->len);
    }
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
