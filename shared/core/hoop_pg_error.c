/*
 * Copyright (C) nginx-hoop authors
 */

#include <string.h>

#include "hoop_pg_error.h"


static int hoop_pg_sqlstate_valid(const char *sqlstate);
static unsigned char *hoop_pg_put_field(unsigned char *p, char code,
    const char *value);


static int
hoop_pg_sqlstate_valid(const char *sqlstate)
{
    size_t  i;

    if (sqlstate == NULL) {
        return 0;
    }

    for (i = 0; i < 5; i++) {
        if (!((sqlstate[i] >= '0' && sqlstate[i] <= '9')
              || (sqlstate[i] >= 'A' && sqlstate[i] <= 'Z')))
        {
            return 0;
        }
    }

    return sqlstate[5] == '\0';
}


size_t
hoop_pg_error_size(const hoop_pg_error_t *err)
{
    size_t  n;

    if (err->severity == NULL || err->message == NULL
        || !hoop_pg_sqlstate_valid(err->sqlstate))
    {
        return 0;
    }

    /*
     * type byte + int32 length; 'S' and 'V' both carry the severity ('V' is
     * the never-localized copy clients since 9.6 rely on); each field is a
     * code byte plus a NUL-terminated string; one NUL ends the list
     */

    n = 1 + 4;
    n += 2 * (1 + strlen(err->severity) + 1);
    n += 1 + 5 + 1;
    n += 1 + strlen(err->message) + 1;

    if (err->detail != NULL) {
        n += 1 + strlen(err->detail) + 1;
    }

    if (err->hint != NULL) {
        n += 1 + strlen(err->hint) + 1;
    }

    return n + 1;
}


static unsigned char *
hoop_pg_put_field(unsigned char *p, char code, const char *value)
{
    size_t  len;

    len = strlen(value) + 1;

    *p++ = (unsigned char) code;
    memcpy(p, value, len);

    return p + len;
}


size_t
hoop_pg_error_encode(unsigned char *buf, size_t cap, char type,
    const hoop_pg_error_t *err)
{
    size_t          n, body;
    unsigned char  *p;

    if (type != HOOP_PG_ERROR_RESPONSE && type != HOOP_PG_NOTICE_RESPONSE) {
        return 0;
    }

    n = hoop_pg_error_size(err);

    if (n == 0 || n > cap) {
        return 0;
    }

    /* the length counts itself but not the type byte */
    body = n - 1;

    p = buf;
    *p++ = (unsigned char) type;
    *p++ = (unsigned char) (body >> 24);
    *p++ = (unsigned char) (body >> 16);
    *p++ = (unsigned char) (body >> 8);
    *p++ = (unsigned char) body;

    p = hoop_pg_put_field(p, 'S', err->severity);
    p = hoop_pg_put_field(p, 'V', err->severity);
    p = hoop_pg_put_field(p, 'C', err->sqlstate);
    p = hoop_pg_put_field(p, 'M', err->message);

    if (err->detail != NULL) {
        p = hoop_pg_put_field(p, 'D', err->detail);
    }

    if (err->hint != NULL) {
        p = hoop_pg_put_field(p, 'H', err->hint);
    }

    *p = '\0';

    return n;
}
