/*
 * Copyright (C) nginx-hoop authors
 */

#include <string.h>
#include <strings.h>

#include "hoop_pg_msg.h"


/*
 * Settings a client may choose at startup: how values are presented to
 * it and how long it waits.  None changes what the session may do.
 * standard_conforming_strings is not here: it changes how SQL is lexed,
 * and the classifier reads SQL as the server does with it on.
 */
static const char  *hoop_pg_param_pass[] = {
    "application_name",
    "fallback_application_name",
    "client_encoding",
    "DateStyle",
    "TimeZone",
    "IntervalStyle",
    "extra_float_digits",
    "search_path",
    "statement_timeout",
    "lock_timeout",
    "idle_in_transaction_session_timeout",
    "bytea_output",
    NULL
};


uint32_t
hoop_pg_get32(const unsigned char *p)
{
    return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16
           | (uint32_t) p[2] << 8 | (uint32_t) p[3];
}


unsigned char *
hoop_pg_put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char) (v >> 24);
    p[1] = (unsigned char) (v >> 16);
    p[2] = (unsigned char) (v >> 8);
    p[3] = (unsigned char) v;

    return p + 4;
}


int
hoop_pg_datarow(const unsigned char *msg, size_t len, hoop_pg_cell_t *cells,
    size_t max)
{
    size_t                n, i;
    uint32_t              clen;
    const unsigned char  *p, *end;

    if (len < 7 || msg[0] != 'D' || hoop_pg_get32(msg + 1) != len - 1) {
        return -1;
    }

    n = (size_t) (msg[5] << 8 | msg[6]);

    if (n > max) {
        return -1;
    }

    p = msg + 7;
    end = msg + len;

    for (i = 0; i < n; i++) {
        if (end - p < 4) {
            return -1;
        }

        clen = hoop_pg_get32(p);
        p += 4;

        if (clen == 0xffffffffu) {
            cells[i].data = NULL;
            cells[i].len = 0;
            continue;
        }

        if (clen > (size_t) (end - p)) {
            return -1;
        }

        cells[i].data = p;
        cells[i].len = clen;
        p += clen;
    }

    return (p == end) ? (int) n : -1;
}


int
hoop_pg_startup_params(const unsigned char *pkt, size_t len,
    hoop_pg_param_t *params, size_t max)
{
    size_t                n, left;
    const unsigned char  *p, *end, *nul;

    if (len < 9 || hoop_pg_get32(pkt) != len) {
        return -1;
    }

    p = pkt + 8;
    end = pkt + len;
    n = 0;

    for ( ;; ) {
        left = (size_t) (end - p);

        if (left == 0) {
            return -1;                  /* no terminating NUL */
        }

        if (*p == '\0') {
            return (p + 1 == end) ? (int) n : -1;
        }

        if (n == max) {
            return -1;
        }

        nul = memchr(p, '\0', left);
        if (nul == NULL) {
            return -1;
        }

        params[n].name = (const char *) p;
        p = nul + 1;

        nul = memchr(p, '\0', (size_t) (end - p));
        if (nul == NULL) {
            return -1;
        }

        params[n].value = (const char *) p;
        p = nul + 1;
        n++;
    }
}


/* UTF8 or SQL_ASCII, as the server spells them, quoted or not ('utf-8') */
static int
hoop_pg_encoding_safe(const char *value)
{
    size_t       i, len;
    char         name[16];
    const char  *safe[] = { "UTF8", "UTF-8", "UNICODE", "SQL_ASCII", NULL };

    len = strlen(value);

    if (len >= 2 && value[0] == '\'' && value[len - 1] == '\'') {
        value++;
        len -= 2;
    }

    if (len >= sizeof(name)) {
        return 0;
    }

    memcpy(name, value, len);
    name[len] = '\0';

    for (i = 0; safe[i]; i++) {
        if (strcasecmp(name, safe[i]) == 0) {
            return 1;
        }
    }

    return 0;
}


hoop_pg_param_verdict_e
hoop_pg_param_verdict(const char *name, const char *value)
{
    size_t  i;

    if (strcasecmp(name, "client_encoding") == 0) {
        return hoop_pg_encoding_safe(value) ? HOOP_PG_PARAM_PASS
                                            : HOOP_PG_PARAM_REFUSE;
    }

    if (strcmp(name, "user") == 0 || strcmp(name, "database") == 0) {
        return HOOP_PG_PARAM_SESSION;
    }

    if (strncmp(name, "_pq_.", 5) == 0) {
        return HOOP_PG_PARAM_EXTENSION;
    }

    /* GUC names are case-insensitive in the server */

    for (i = 0; hoop_pg_param_pass[i]; i++) {
        if (strcasecmp(name, hoop_pg_param_pass[i]) == 0) {
            return HOOP_PG_PARAM_PASS;
        }
    }

    return HOOP_PG_PARAM_REFUSE;
}


size_t
hoop_pg_startup_build(unsigned char *buf, size_t cap,
    const hoop_pg_param_t *params, size_t n)
{
    size_t          i, len, nl, vl;
    unsigned char  *p;

    len = 8 + 1;

    for (i = 0; i < n; i++) {
        len += strlen(params[i].name) + 1 + strlen(params[i].value) + 1;
    }

    if (len > cap || len > 10000) {
        return 0;
    }

    p = hoop_pg_put32(buf, (uint32_t) len);
    p = hoop_pg_put32(p, 3u << 16);

    for (i = 0; i < n; i++) {
        nl = strlen(params[i].name) + 1;
        vl = strlen(params[i].value) + 1;

        memcpy(p, params[i].name, nl);
        p += nl;
        memcpy(p, params[i].value, vl);
        p += vl;
    }

    *p = '\0';

    return len;
}


size_t
hoop_pg_negotiate_encode(unsigned char *buf, size_t cap, uint32_t minor,
    const char **options, size_t n)
{
    size_t          i, len, l;
    unsigned char  *p;

    len = 1 + 4 + 4 + 4;

    for (i = 0; i < n; i++) {
        len += strlen(options[i]) + 1;
    }

    if (len > cap) {
        return 0;
    }

    buf[0] = 'v';
    p = hoop_pg_put32(buf + 1, (uint32_t) (len - 1));
    p = hoop_pg_put32(p, 3u << 16 | minor);
    p = hoop_pg_put32(p, (uint32_t) n);

    for (i = 0; i < n; i++) {
        l = strlen(options[i]) + 1;
        memcpy(p, options[i], l);
        p += l;
    }

    return len;
}


int
hoop_pg_sasl_offers(const unsigned char *body, size_t len, const char *mech)
{
    const unsigned char  *p, *end, *nul;

    p = body;
    end = body + len;

    while (p < end && *p != '\0') {
        nul = memchr(p, '\0', (size_t) (end - p));
        if (nul == NULL) {
            return 0;
        }

        if (strcmp((const char *) p, mech) == 0) {
            return 1;
        }

        p = nul + 1;
    }

    return 0;
}


int
hoop_pg_error_field(const unsigned char *body, size_t len, char code,
    const char **value)
{
    const unsigned char  *p, *end, *nul;

    p = body;
    end = body + len;

    while (p < end && *p != '\0') {
        nul = memchr(p + 1, '\0', (size_t) (end - p - 1));
        if (nul == NULL) {
            return -1;
        }

        if (*p == (unsigned char) code) {
            *value = (const char *) p + 1;
            return (int) (nul - p - 1);
        }

        p = nul + 1;
    }

    return -1;
}


long long
hoop_pg_command_rows(const char *tag, size_t len)
{
    size_t     i;
    long long  rows;

    i = len;

    while (i > 0 && tag[i - 1] >= '0' && tag[i - 1] <= '9') {
        i--;
    }

    /* digits after a space, and not the whole tag */

    if (i == len || i == 0 || tag[i - 1] != ' ' || len - i > 18) {
        return -1;
    }

    rows = 0;

    for ( /* void */ ; i < len; i++) {
        rows = rows * 10 + (tag[i] - '0');
    }

    return rows;
}


int
hoop_pg_parse_types_valid(const unsigned char *p, size_t len)
{
    size_t  n;

    if (len < 2) {
        return 0;
    }

    n = ((size_t) p[0] << 8) | p[1];

    return len - 2 == 4 * n;
}
