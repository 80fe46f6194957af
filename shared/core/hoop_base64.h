/*
 * Copyright (C) nginx-hoop authors
 *
 * Standard base64 (RFC 4648 section 4, padded) decoded in pieces, as a
 * message arrives frame by frame: the base64 channel protocols of
 * Kubernetes streams, which Go decodes with base64.StdEncoding (line
 * breaks skipped, padding required, nothing after it).
 */

#ifndef HOOP_BASE64_H
#define HOOP_BASE64_H

#include <stddef.h>


typedef struct {
    unsigned char  q[4];        /* a quantum's characters, as values */
    size_t         n;           /* ... queued */
    int            padded;      /* the padding came: the text is over */
    int            error;       /* not base64 */
} hoop_base64_t;


/* The most bytes n characters (with up to 3 queued) decode to. */
#define hoop_base64_decoded_max(n)  ((((n) + 3) / 4) * 3)

/* The characters n bytes encode to, padded. */
#define hoop_base64_encoded_len(n)  ((((n) + 2) / 3) * 4)


void hoop_base64_init(hoop_base64_t *b);

/*
 * Decodes n more characters into out (hoop_base64_decoded_max(n) bytes);
 * returns the bytes made.  A character outside the alphabet, or one after
 * the padding, sets b->error and ends the decoding.
 */
size_t hoop_base64_feed(hoop_base64_t *b, const unsigned char *in, size_t n,
    unsigned char *out);

/* The text ended: 0 if on a whole quantum and never in error, -1. */
int hoop_base64_end(hoop_base64_t *b);

#endif /* HOOP_BASE64_H */
