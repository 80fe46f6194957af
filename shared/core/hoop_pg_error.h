/*
 * Copyright (C) nginx-hoop authors
 *
 * PostgreSQL ErrorResponse / NoticeResponse encoding: how the gateway tells
 * a Postgres client, in its own protocol, why something did not happen.
 */

#ifndef HOOP_PG_ERROR_H
#define HOOP_PG_ERROR_H

#include <stddef.h>


#define HOOP_PG_ERROR_RESPONSE   'E'
#define HOOP_PG_NOTICE_RESPONSE  'N'


typedef struct {
    const char  *severity;    /* "ERROR", "FATAL", "NOTICE", ... */
    const char  *sqlstate;    /* exactly five characters [0-9A-Z] */
    const char  *message;     /* primary message, required */
    const char  *detail;      /* optional, NULL to omit */
    const char  *hint;        /* optional, NULL to omit */
} hoop_pg_error_t;


/*
 * Writes the whole message (type byte, length, fields, terminator) into buf.
 * Returns its length, or 0 when cap is too small or a field is invalid
 * (missing severity/message, malformed SQLSTATE); nothing is promised about
 * buf then.  hoop_pg_error_encode(NULL, 0, ...) is not allowed: use
 * hoop_pg_error_size() to size the buffer.
 */
size_t hoop_pg_error_encode(unsigned char *buf, size_t cap, char type,
    const hoop_pg_error_t *err);

/* The length hoop_pg_error_encode() needs, or 0 for an invalid error. */
size_t hoop_pg_error_size(const hoop_pg_error_t *err);

#endif /* HOOP_PG_ERROR_H */
