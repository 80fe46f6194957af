/*
 * Copyright (C) nginx-hoop authors
 *
 * PostgreSQL v3 messages the gateway reads or writes itself: the framing
 * (type byte, length), startup parameters (which pass, how the upstream
 * startup packet is rebuilt), and the small fixed messages it synthesizes.
 */

#ifndef HOOP_PG_MSG_H
#define HOOP_PG_MSG_H

#include <stddef.h>
#include <stdint.h>


#define HOOP_PG_HEADER_LEN   5          /* type byte + Int32 length */
#define HOOP_PG_PARAMS_MAX   64


typedef struct {
    const char  *name;                 /* NUL-terminated, in the packet */
    const char  *value;
} hoop_pg_param_t;


typedef enum {
    HOOP_PG_PARAM_PASS = 0,            /* forwarded to the upstream */
    HOOP_PG_PARAM_SESSION,             /* user, database: the gateway's */
    HOOP_PG_PARAM_REFUSE,              /* would bypass policy: refused */
    HOOP_PG_PARAM_EXTENSION            /* "_pq_.*": reported unknown */
} hoop_pg_param_verdict_e;


/* one cell of a DataRow */
typedef struct {
    const unsigned char  *data;        /* NULL: SQL NULL */
    size_t                len;
} hoop_pg_cell_t;


uint32_t hoop_pg_get32(const unsigned char *p);
unsigned char *hoop_pg_put32(unsigned char *p, uint32_t v);

/*
 * The cells of a whole DataRow message (type byte included).  Returns
 * their number, all described in cells[] (max of them), or -1 when the
 * message is malformed or has more than max.
 */
int hoop_pg_datarow(const unsigned char *msg, size_t len,
    hoop_pg_cell_t *cells, size_t max);

/*
 * The name/value pairs of a whole StartupMessage (len bytes, length and
 * version included).  Returns how many, or -1 when the packet is malformed
 * (unterminated string, missing final NUL, more than max pairs, a value
 * missing).
 */
int hoop_pg_startup_params(const unsigned char *pkt, size_t len,
    hoop_pg_param_t *params, size_t max);

/*
 * What becomes of a client's startup parameter.  Parameters that change
 * who the session runs as or which settings bind it (replication, options,
 * role, session_authorization, any GUC not on the list of client-side
 * presentation settings) are refused rather than dropped, so the client
 * learns why.  Protocol extensions ("_pq_.*") are none the gateway knows:
 * they are named back in NegotiateProtocolVersion, as a server does.
 * client_encoding passes only as UTF8 or SQL_ASCII: in a multi-byte
 * client encoding (SJIS, BIG5, GBK, ...) the server converts before it
 * parses, and a quote hidden in a character would end a string the
 * classifier, reading the bytes, sees going on.
 */
hoop_pg_param_verdict_e hoop_pg_param_verdict(const char *name,
    const char *value);

/*
 * A protocol 3.0 StartupMessage with the given pairs; returns its length,
 * or 0 when cap is too small.
 */
size_t hoop_pg_startup_build(unsigned char *buf, size_t cap,
    const hoop_pg_param_t *params, size_t n);

/*
 * NegotiateProtocolVersion: the newest minor version of protocol 3 the
 * gateway speaks, and the protocol options it did not recognize.  Returns
 * the length, or 0 when cap is too small.
 */
size_t hoop_pg_negotiate_encode(unsigned char *buf, size_t cap,
    uint32_t minor, const char **options, size_t n);

/* Whether an AuthenticationSASL body (after the code) offers mech. */
int hoop_pg_sasl_offers(const unsigned char *body, size_t len,
    const char *mech);

/*
 * The value of field code ('C' SQLSTATE, 'M' message, ...) in an
 * ErrorResponse / NoticeResponse body (after the length).  Returns its
 * length and sets *value, or -1 when absent or malformed.
 */
int hoop_pg_error_field(const unsigned char *body, size_t len, char code,
    const char **value);

/*
 * The row count at the end of a CommandComplete tag ("SELECT 5",
 * "INSERT 0 3", "COPY 10"), or -1 for tags without one ("CREATE TABLE").
 */
long long hoop_pg_command_rows(const char *tag, size_t len);

/*
 * The parameter-type section of a Parse message, the len bytes after the
 * query's NUL: an Int16 count, then exactly that many Int32 type OIDs.
 * 1 when it is well-formed, 0 otherwise (cut short, or bytes after it).
 */
int hoop_pg_parse_types_valid(const unsigned char *p, size_t len);

#endif /* HOOP_PG_MSG_H */
