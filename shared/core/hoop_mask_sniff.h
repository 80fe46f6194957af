/*
 * Copyright (C) nginx-hoop authors
 *
 * Whether a body is text the masker can read: the detectors look for
 * values spelled in ASCII, so a body that is compressed (whether or not
 * it says so), in UTF-16 or UTF-32, or binary, would pass unread.  Such
 * a body is told by its first bytes (a compression format's magic, a
 * byte-order mark) or by a control byte no text holds, wherever it is.
 */

#ifndef HOOP_MASK_SNIFF_H
#define HOOP_MASK_SNIFF_H

#include <stddef.h>


typedef enum {
    HOOP_MASK_SNIFF_TEXT = 0,
    HOOP_MASK_SNIFF_NOT_TEXT,
    HOOP_MASK_SNIFF_MORE        /* the first bytes may begin a magic */
} hoop_mask_sniff_rc_t;


/* the most first bytes hoop_mask_sniff() looks at */
#define HOOP_MASK_SNIFF_LEN  16

/*
 * Looks at a body's first bytes (len of them; final: the body has no
 * more).  *what names the format found ("gzip", "UTF-16", "a control
 * byte", ...) when the body is not text.
 */
hoop_mask_sniff_rc_t hoop_mask_sniff(const unsigned char *p, size_t len,
    int final, const char **what);

/*
 * The offset of the first byte no text holds (a C0 control other than
 * tab, newline, vertical tab, form feed, carriage return and escape), or
 * len.
 */
size_t hoop_mask_text_end(const unsigned char *p, size_t len);

/*
 * Whether a declared charset spells ASCII as ASCII, so that the
 * detectors read it: UTF-8, US-ASCII, ISO-8859-*, Windows-125*, KOI8-*
 * and the like.  Unknown names are not.
 */
int hoop_mask_charset_readable(const unsigned char *name, size_t len);

/*
 * Whether a readable charset is a single-byte one, which the detectors
 * read so: 0 if not, else the flags of hoop_mask_stream_single_byte().
 * ISO-8859-*, Windows-125* and US-ASCII (which browsers read as
 * windows-1252) are one family, KOI8-* the other.
 */
unsigned hoop_mask_charset_single_byte(const unsigned char *name,
    size_t len);

#endif /* HOOP_MASK_SNIFF_H */
