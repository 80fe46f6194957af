/*
 * Copyright (C) nginx-hoop authors
 *
 * The text as its reader's decoder sees it: JSON string escapes
 * ("\u0040", "\n"), URL percent-escapes ("%40") and HTML character
 * references ("&#64;", "&#x40;", "&commat;") decoded, each decoded byte
 * remembering where its spelling starts in the raw text, so that the
 * detectors look at the decoded text and the masker replaces the raw
 * spelling of a value, whole.
 *
 * A code point past ASCII decodes to one byte, 0x80: no detector looks
 * for one, and a byte per escape keeps the map one entry per byte.  The
 * exceptions are what a reader sees otherwise: spaces (no-break, figure,
 * narrow no-break) decode to ' ', and zero-width characters (U+200B..D,
 * U+2060, U+FEFF, U+00AD), escaped or raw UTF-8, to nothing, so that
 * "4111<ZWSP>1111..." reads as the number a reader sees.
 */

#ifndef HOOP_MASK_UNESCAPE_H
#define HOOP_MASK_UNESCAPE_H

#include <stddef.h>
#include <stdint.h>


/*
 * How many decoders in turn the detectors read through: "%2540" is "%40"
 * read once, "@" read twice (a URL in a JSON string, an HTML attribute in
 * it); past four layers nothing reads text.
 */
#define HOOP_MASK_UNESCAPE_ROUNDS  4


/*
 * Whether the text holds a byte that may begin an escape ('\\', '%',
 * '&'): when it does not, decoding would return it as it is.
 */
int hoop_mask_unescape_could(const unsigned char *p, size_t len);

/*
 * Decodes in[0, len) into out (len bytes at most), raw[i] receiving the
 * offset in in where out[i]'s spelling starts, raw[n] the end of what was
 * decoded.  When final is 0, an escape cut by the end of in is left for
 * more text: *used < len says how much of in was decoded.  Returns n, the
 * decoded length; *changed says whether any escape was decoded.  in and
 * out may be the same buffer; raw may then hold the previous round's map
 * (rounds compose: see hoop_mask_unescape_rounds()).
 */
size_t hoop_mask_unescape(const unsigned char *in, size_t len, int final,
    unsigned char *out, uint16_t *raw, int compose, size_t *used,
    int *changed);

/*
 * Text in a single-byte charset (ISO-8859-*, windows-125*, KOI8-*): its
 * bytes past ASCII are not UTF-8; its no-break space reads as a space,
 * its dashes as '-', its soft hyphen as nothing.
 */
#define HOOP_MASK_UNESCAPE_SINGLE_BYTE  1

/* ... in KOI8, whose no-break space is 0x9A (0x96, 0x97, 0xAD are not) */
#define HOOP_MASK_UNESCAPE_KOI8         2

/* Whether single-byte text holds a byte read otherwise than as it is. */
int hoop_mask_single_byte_could(const unsigned char *p, size_t len,
    unsigned flags);

/*
 * Decodes until nothing changes, at most rounds times ("%2540" is "%40"
 * once, "@" twice): text nested in text, such as a URL in a JSON string,
 * is read by two decoders in turn.  flags: 0 (UTF-8),
 * HOOP_MASK_UNESCAPE_SINGLE_BYTE, or that and HOOP_MASK_UNESCAPE_KOI8.
 * in may be out.  Returns the decoded length; raw and *used as above, in
 * terms of in.
 */
size_t hoop_mask_unescape_rounds(const unsigned char *in, size_t len,
    int final, unsigned rounds, unsigned flags, unsigned char *out,
    uint16_t *raw, size_t *used);

#endif /* HOOP_MASK_UNESCAPE_H */
