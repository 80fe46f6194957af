/*
 * Copyright (C) nginx-hoop authors
 *
 * base64url without padding (RFC 4648 section 5, RFC 7515 section 2), the
 * encoding of every JWS segment and JWK number.  Strict on purpose: a
 * token is refused rather than read two ways.
 */

#ifndef HOOP_BASE64URL_H
#define HOOP_BASE64URL_H

#include <stddef.h>


/* The most bytes len characters can decode to. */
#define hoop_base64url_decoded_max(len)  (((len) / 4) * 3 + 2)


/*
 * Decodes src into dst (at least hoop_base64url_decoded_max(len) bytes).
 * Returns the decoded length, or (size_t) -1 when src is not canonical
 * unpadded base64url: a character outside [A-Za-z0-9_-], '=' padding, a
 * length of 1 mod 4, or non-zero bits left over in the last character.
 */
size_t hoop_base64url_decode(unsigned char *dst, const char *src,
    size_t len);

#endif /* HOOP_BASE64URL_H */
