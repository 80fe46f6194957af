/*
 * Copyright (C) nginx-hoop authors
 *
 * The first packets a PostgreSQL client sends, before any message has a
 * type byte: SSLRequest, GSSENCRequest, CancelRequest, StartupMessage.
 */

#ifndef HOOP_PG_STARTUP_H
#define HOOP_PG_STARTUP_H

#include <stddef.h>
#include <stdint.h>


/* PostgreSQL refuses longer startup packets (MAX_STARTUP_PACKET_LENGTH) */
#define HOOP_PG_STARTUP_MAX       10000

#define HOOP_PG_SSL_REQUEST_CODE     80877103
#define HOOP_PG_GSSENC_REQUEST_CODE  80877104
#define HOOP_PG_CANCEL_REQUEST_CODE  80877102


typedef enum {
    HOOP_PG_STARTUP_INCOMPLETE = 0,   /* fewer than 8 bytes so far */
    HOOP_PG_STARTUP_SSL,              /* SSLRequest */
    HOOP_PG_STARTUP_GSSENC,           /* GSSENCRequest */
    HOOP_PG_STARTUP_CANCEL,           /* CancelRequest */
    HOOP_PG_STARTUP_MESSAGE,          /* StartupMessage, protocol 3.x */
    HOOP_PG_STARTUP_INVALID           /* anything else: refuse it */
} hoop_pg_startup_kind_e;


/*
 * Classifies the packet at the start of buf (n bytes received so far) from
 * its 8-byte header.  For every kind but INCOMPLETE and INVALID, *packet_len
 * is the whole packet's length, which may exceed n: the caller reads until
 * it has that many bytes.  *version gets the requested protocol version
 * (major << 16 | minor) for a StartupMessage.
 */
hoop_pg_startup_kind_e hoop_pg_startup_classify(const unsigned char *buf,
    size_t n, size_t *packet_len, uint32_t *version);

#endif /* HOOP_PG_STARTUP_H */
