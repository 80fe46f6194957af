/*
 * Copyright (C) nginx-hoop authors
 *
 * Masking inside Postgres result messages: a RowDescription read into a
 * plan (what to do with each column), a DataRow rewritten by it, and the
 * text fields of ErrorResponse / NoticeResponse masked.  Whole messages
 * in, whole messages out, in caller-provided buffers.
 */

#ifndef HOOP_PG_ROW_H
#define HOOP_PG_ROW_H

#include <stddef.h>
#include <stdint.h>

#include "hoop_mask.h"


/* what becomes of one column's cells */
typedef enum {
    HOOP_PG_CELL_PASS = 0,      /* as it is */
    HOOP_PG_CELL_DETECT,        /* text: detectors mask values inside */
    HOOP_PG_CELL_DETECT_NULL,   /* not text: NULL if a detector finds one */
    HOOP_PG_CELL_COLUMN,        /* a masked column, text: replaced whole */
    HOOP_PG_CELL_NULL,          /* a masked column, not text: NULL */
    HOOP_PG_CELL_DETECT_INT8,   /* binary int8: NULL if its digits are */
    HOOP_PG_CELL_DETECT_NUMERIC /* binary numeric: the same */
} hoop_pg_cell_e;


typedef struct {
    uint8_t      action;        /* hoop_pg_cell_e */
    uint8_t      strategy;      /* for HOOP_PG_CELL_COLUMN */
} hoop_pg_cell_plan_t;


/* one RowDescription field */
typedef struct {
    const char  *name;          /* NUL-terminated, in the message */
    uint32_t     table_oid;     /* 0: not a table column */
    int16_t      attnum;
    uint32_t     type_oid;
    int16_t      format;        /* 0 text, 1 binary */
} hoop_pg_field_t;


/*
 * The digits of a binary int8 (type 20) or numeric (1700) cell, as text
 * (integer part, sign), into out (at least 48 bytes); 0 when the value is
 * malformed or has more than 40 integer digits (no card or phone).
 */
size_t hoop_pg_binary_digits(uint32_t type_oid, const unsigned char *cell,
    size_t len, unsigned char *out);


/* index 0..NTYPES-1: detectors; this one: whole masked columns */
#define HOOP_PG_MASKED_COLUMN   HOOP_MASK_NTYPES
#define HOOP_PG_MASKED_KINDS    (HOOP_MASK_NTYPES + 1)


/*
 * The fields of a whole RowDescription message (type byte included).
 * Returns their number (at most max are filled in), or -1 if malformed.
 */
int hoop_pg_rowdesc_parse(const unsigned char *msg, size_t len,
    hoop_pg_field_t *fields, size_t max);

/*
 * Whether cells of a type, in a format (0 text, 1 binary), are text a
 * person reads, which masking may rewrite and leave well-typed: text,
 * varchar, ... in either format (their binary form is their text).
 */
int hoop_pg_cell_is_text(uint32_t type_oid, int format);

/*
 * A DataRow rewritten by plan (ncols entries; a row with another number
 * of columns is malformed).  Returns the new message's length; 0 when the
 * row is malformed; (size_t) -1 when out is too small.  counts (may be
 * NULL) gains what was masked, by kind.
 */
size_t hoop_pg_row_mask(const unsigned char *msg, size_t len,
    const hoop_pg_cell_plan_t *plan, size_t ncols,
    const hoop_mask_conf_t *detect, unsigned char *out, size_t cap,
    uint64_t counts[HOOP_PG_MASKED_KINDS]);

/*
 * What detectors (enabled: a hoop_mask_conf_t's bits) do to a binary cell
 * of a type that is not text, int8 or numeric: PASS for fixed-size
 * scalars, which cannot hold text (bool, int2/4, float, date/time, uuid,
 * ...); NULL for an address (inet, cidr) when an IP detector is on;
 * DETECT_NULL for the rest (arrays, records, ranges, bytea, tsvector,
 * types it does not know), whose texts are in their bytes.
 */
hoop_pg_cell_e hoop_pg_binary_action(uint32_t type_oid,
    uint32_t enabled);

/* The room hoop_pg_row_mask() may need for a row of len bytes. */
size_t hoop_pg_row_mask_bound(size_t len, size_t ncols);

/*
 * A whole column value replaced: redact "[MASKED]", partial (all but the
 * last 4 characters as '*'), or hash "[HASH:16 hex]" keyed with
 * detect->key.  Returns the length written (at most 64 + len).
 */
size_t hoop_pg_cell_mask(const hoop_mask_conf_t *detect,
    hoop_mask_strategy_t strategy, const unsigned char *in, size_t len,
    unsigned char *out);

/*
 * ErrorResponse / NoticeResponse with detectors run over its text fields
 * (message, detail, hint, context, ...; not severity, code, position,
 * file, line, routine).  Same returns as hoop_pg_row_mask().
 */
size_t hoop_pg_error_mask(const unsigned char *msg, size_t len,
    const hoop_mask_conf_t *detect, unsigned char *out, size_t cap,
    uint64_t counts[HOOP_PG_MASKED_KINDS]);

/*
 * The texts of a message a client displays that is not a row or an
 * error: a NotificationResponse's channel and payload, a ParameterStatus's
 * value, a RowDescription's column names, with detectors run over them.
 * Same returns as hoop_pg_row_mask().
 */
size_t hoop_pg_names_mask(const unsigned char *msg, size_t len,
    const hoop_mask_conf_t *detect, unsigned char *out, size_t cap,
    uint64_t counts[HOOP_PG_MASKED_KINDS]);

/*
 * A NotificationResponse or ParameterStatus already through
 * hoop_pg_names_mask(), in a session that has read a masked column: what
 * a statement could have computed from one is withheld, the payload of a
 * notification and the value of application_name (the one reported
 * setting that takes any text) become "[MASKED]"; the rest is kept.
 * Same returns as hoop_pg_row_mask().
 */
size_t hoop_pg_names_withhold(const unsigned char *msg, size_t len,
    unsigned char *out, size_t cap);

/*
 * A CopyData of a binary COPY TO STDOUT (PostgreSQL sends the file
 * header with the first tuple, then a tuple per message, then the
 * trailer): a field in whose bytes a detector finds a value, or whose
 * eight bytes read as an int8 are one, becomes NULL (the types are not
 * known: NULL is what every type can be); the lengths stay right.  Same
 * returns as hoop_pg_row_mask(); 0 also for a message that is not one
 * whole tuple.
 */
size_t hoop_pg_copy_binary_mask(const unsigned char *msg, size_t len,
    const hoop_mask_conf_t *detect, unsigned char *out, size_t cap,
    uint64_t counts[HOOP_PG_MASKED_KINDS]);

/*
 * An ErrorResponse or NoticeResponse of a statement that read a masked
 * column, with its texts withheld: the message becomes message, the
 * detail, hint, context and internal query go (they quote values, in any
 * shape: "invalid input syntax for type integer: ..."); severity, code,
 * position and the names of the objects stay.  Same returns as
 * hoop_pg_row_mask().
 */
size_t hoop_pg_error_withhold(const unsigned char *msg, size_t len,
    const char *message, unsigned char *out, size_t cap);

#endif /* HOOP_PG_ROW_H */
