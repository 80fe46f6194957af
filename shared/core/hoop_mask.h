/*
 * Copyright (C) nginx-hoop authors
 *
 * The masking engine: finds sensitive values in text (content detectors,
 * each with a validator) and rewrites them before they leave the gateway.
 *
 * It is a stream: text arrives in pieces of any size (HTTP body buffers,
 * Postgres DataRow cells, WebSocket frames), a value split across two
 * pieces is still found, and the memory it needs is the fixed-size
 * hoop_mask_stream_t, whatever the length of the text.  Output leaves
 * through a callback, in order, as runs of unchanged input and
 * replacements.
 *
 * Which detector wins where values nest: the leftmost value wins; a
 * candidate that fails its validator does not consume its span, so a
 * valid value overlapping it is still found; "Bearer <token>" is one
 * bearer_token even when the token is a JWT.
 */

#ifndef HOOP_MASK_H
#define HOOP_MASK_H

#include <stddef.h>
#include <stdint.h>


typedef enum {
    HOOP_MASK_EMAIL = 0,
    HOOP_MASK_CREDIT_CARD,
    HOOP_MASK_IBAN,
    HOOP_MASK_US_SSN,
    HOOP_MASK_PHONE,
    HOOP_MASK_IPV4,
    HOOP_MASK_IPV6,
    HOOP_MASK_AWS_KEY,
    HOOP_MASK_PRIVATE_KEY,
    HOOP_MASK_JWT,
    HOOP_MASK_BEARER_TOKEN,
    HOOP_MASK_NTYPES
} hoop_mask_type_t;


typedef enum {
    HOOP_MASK_REDACT = 0,       /* [EMAIL] */
    HOOP_MASK_PARTIAL,          /* j***@example.com, ***-**-6789 */
    HOOP_MASK_HASH              /* [EMAIL:5f1c0e9a7b3d2c18], keyed */
} hoop_mask_strategy_t;


#define HOOP_MASK_ALL          ((1u << HOOP_MASK_NTYPES) - 1)
#define HOOP_MASK_KEY_MAX      64
#define HOOP_MASK_WINDOW       16384

/* the longest replacement any strategy writes */
#define HOOP_MASK_REPLACEMENT_MAX  (320 + 32)


typedef struct {
    uint32_t        enabled;                    /* 1 << type */
    uint8_t         strategy[HOOP_MASK_NTYPES];
    unsigned char   key[HOOP_MASK_KEY_MAX];     /* for HOOP_MASK_HASH */
    size_t          key_len;
} hoop_mask_conf_t;


/*
 * Room for the text as its reader decodes it, for a stream that reads
 * through escapes (hoop_mask_stream_unescape()): the caller keeps it with
 * the stream.
 */
typedef struct {
    unsigned char   text[HOOP_MASK_WINDOW];
    uint16_t        raw[HOOP_MASK_WINDOW + 1];  /* where each byte began */
} hoop_mask_unescaped_t;


/* Receives output; returns 0, or -1 to stop the stream (then sticky). */
typedef int (*hoop_mask_emit_pt)(void *data, const unsigned char *p,
    size_t len);


typedef struct {
    const hoop_mask_conf_t  *conf;
    hoop_mask_emit_pt        emit;
    void                    *data;
    hoop_mask_unescaped_t   *unescaped;         /* NULL: bytes as they are */

    uint64_t                 counts[HOOP_MASK_NTYPES];

    size_t                   len;               /* bytes held in win */
    size_t                   swallowed;         /* in the current token */
    int                      prev;              /* byte before win, -1 */
    unsigned                 swallow;           /* a long token's type+1 */
    unsigned                 pem_state;
    unsigned                 swallow_b64;       /* a key block in base64 */
    unsigned                 single_byte;       /* not UTF-8: its flags */
    int                      failed;

    unsigned char            win[HOOP_MASK_WINDOW];
} hoop_mask_stream_t;


void hoop_mask_stream_init(hoop_mask_stream_t *s,
    const hoop_mask_conf_t *conf, hoop_mask_emit_pt emit, void *data);

/*
 * From now on the detectors read the text through its escapes: JSON
 * ("\u0040", "\n"), URL ("%40") and HTML ("&#64;", "&commat;"), decoded
 * up to twice (a URL in a JSON string); a value found is replaced in its
 * escaped spelling, whole, and a partial mask keeps none of the bytes a
 * JSON string, a URL or HTML would need escaped, so the text stays valid.
 */
void hoop_mask_stream_unescape(hoop_mask_stream_t *s,
    hoop_mask_unescaped_t *u);

/*
 * The text is in a single-byte charset (ISO-8859-*, windows-125*,
 * KOI8-*), not UTF-8: read so through escapes; flags are those of
 * hoop_mask_unescape_rounds() (hoop_mask_unescape.h).
 */
void hoop_mask_stream_single_byte(hoop_mask_stream_t *s, unsigned flags);

/*
 * Masks the next piece of the text.  Returns 0 or -1 (emit failed).
 * Output may lag input: a tail that could be the start of a value is held
 * until more text, or hoop_mask_stream_finish(), decides.
 */
int hoop_mask_stream_feed(hoop_mask_stream_t *s, const unsigned char *in,
    size_t len);

/* End of text: flushes what is held.  Returns 0 or -1. */
int hoop_mask_stream_finish(hoop_mask_stream_t *s);

/* Total masked values in the stream so far. */
uint64_t hoop_mask_stream_total(const hoop_mask_stream_t *s);

/*
 * One-shot: masks in into out (out_size bytes).  Returns the output
 * length, or (size_t) -1 if out is too small.  counts may be NULL.  The
 * stream lives on the caller's stack: callers keep that in mind.
 */
size_t hoop_mask_string(const hoop_mask_conf_t *conf,
    const unsigned char *in, size_t len, unsigned char *out, size_t out_size,
    uint64_t counts[HOOP_MASK_NTYPES]);

/*
 * The same, read through escapes and zero-width characters as a stream
 * with hoop_mask_stream_unescape() reads it: a text a client decodes
 * (a json cell, a COPY line).  About 64 KiB of the caller's stack.  A
 * text without any byte that may begin an escape costs what
 * hoop_mask_string() does.
 */
size_t hoop_mask_string_escaped(const hoop_mask_conf_t *conf,
    const unsigned char *in, size_t len, unsigned char *out, size_t out_size,
    uint64_t counts[HOOP_MASK_NTYPES]);


/*
 * Whether any enabled detector could find a value in the text: 0 only
 * when none could (no '@' for emails, too few digits for cards, SSNs,
 * phones, IBANs and IPv4, ...), so that short texts, such as table cells,
 * skip the scanner.  Conservative: 1 says nothing.
 */
int hoop_mask_could_match(const hoop_mask_conf_t *conf,
    const unsigned char *p, size_t len);


/* "email", "credit_card", ...: the names used in configuration. */
const char *hoop_mask_type_name(hoop_mask_type_t type);

/* -1: not a detector name */
int hoop_mask_type_parse(const char *name, size_t len);

/* -1: not a strategy name ("redact", "partial", "hash") */
int hoop_mask_strategy_parse(const char *name, size_t len);

/*
 * Whether a detector supports a strategy.  Credentials (private keys,
 * JWTs, bearer tokens) are only ever redacted: they can be longer than any
 * window, and neither a prefix nor a digest of a credential is evidence
 * anyone needs.
 */
int hoop_mask_strategy_supported(hoop_mask_type_t type,
    hoop_mask_strategy_t strategy);

#endif /* HOOP_MASK_H */
