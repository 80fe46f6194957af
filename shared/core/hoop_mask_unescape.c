/*
 * Copyright (C) nginx-hoop authors
 *
 * Decoding escapes for the detectors: JSON, URL and HTML spellings of a
 * character, as the client's decoder reads them.
 */

#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "hoop_hex.h"
#include "hoop_mask_unescape.h"


/* significant digits of a numeric reference: more is past Unicode */
#define NUMERIC_DIGITS_MAX  8

#define NAMED_MAX           16

/* how far back from the end an escape may begin and still be cut */
#define UNESCAPE_TAIL       32

/* what an escape of a code point past ASCII decodes to */
#define NON_ASCII           0x80

/* what a zero-width character decodes to: nothing (never an output byte) */
#define ZERO_WIDTH          0x81

/* the longest terminal escape sequence read as one */
#define ESC_MAX             24

#define ESCAPE_LITERAL      0
#define ESCAPE_CUT          (-1)


typedef struct {
    const char     *name;
    unsigned char   c;
} named_ref_t;


static size_t next_introducer(const unsigned char *p, size_t i, size_t len);


/*
 * The HTML named references that spell a byte some detector reads:
 * value characters and the separators between their parts.  A no-break
 * space reads as a space, which it looks like.
 */
static const named_ref_t  named_refs[] = {
    { "amp", '&' }, { "lt", '<' }, { "gt", '>' }, { "quot", '"' },
    { "apos", '\'' }, { "nbsp", ' ' }, { "commat", '@' }, { "period", '.' },
    { "hyphen", '-' }, { "dash", '-' }, { "plus", '+' }, { "colon", ':' },
    { "lpar", '(' }, { "rpar", ')' }, { "lowbar", '_' }, { "comma", ',' },
    { "num", '#' }, { "sol", '/' }, { "bsol", '\\' }, { "equals", '=' },
    { "percnt", '%' }, { "semi", ';' }, { "Tab", '\t' }, { "NewLine", '\n' },
    { "lsqb", '[' }, { "rsqb", ']' }, { "lbrack", '[' }, { "rbrack", ']' },
    { "excl", '!' }, { "quest", '?' }, { "ast", '*' }, { "dollar", '$' },
    { "shy", ZERO_WIDTH }, { "zwnj", ZERO_WIDTH }, { "zwj", ZERO_WIDTH },
    { "ZeroWidthSpace", ZERO_WIDTH }, { "NoBreak", ZERO_WIDTH },
    { "lrm", ZERO_WIDTH }, { "rlm", ZERO_WIDTH },
    { "InvisibleTimes", ZERO_WIDTH }, { "InvisibleComma", ZERO_WIDTH },
    { "ApplyFunction", ZERO_WIDTH }, { "it", ZERO_WIDTH },
    { "ic", ZERO_WIDTH }, { "af", ZERO_WIDTH },
    { "thinsp", ' ' }, { "ensp", ' ' }, { "emsp", ' ' }, { "hairsp", ' ' },
    { "numsp", ' ' }, { "puncsp", ' ' }, { "MediumSpace", ' ' },
    { "ThinSpace", ' ' }, { "emsp13", ' ' }, { "emsp14", ' ' },
    { "minus", '-' }, { "ndash", '-' }, { "mdash", '-' },
    { NULL, 0 }
};


int
hoop_mask_unescape_could(const unsigned char *p, size_t len)
{
    return next_introducer(p, 0, len) < len;
}



/*
 * A code point as the detectors read it: spaces that look like one are
 * one, dashes that look like '-' are '-', and what a reader does not see
 * (Unicode's default ignorable code points: zero-width spaces and
 * joiners, direction marks and isolates, the word joiner, invisible
 * operators, variation selectors, tags, the byte order mark, the soft
 * hyphen, Hangul fillers) is not there, so that digits it separates read
 * as the number they show.
 */
static unsigned char
code_byte(unsigned long v)
{
    if (v < 0x80) {
        return (unsigned char) v;
    }

    if (v == 0xa0 || v == 0x1680 || (v >= 0x2000 && v <= 0x200a)
        || v == 0x202f || v == 0x205f || v == 0x3000)
    {
        return ' ';
    }

    if ((v >= 0x2010 && v <= 0x2015) || v == 0x2212 || v == 0xfe58
        || v == 0xfe63 || v == 0xff0d)
    {
        return '-';
    }

    if (v == 0xad || v == 0x34f || v == 0x61c || v == 0x115f || v == 0x1160
        || v == 0x17b4 || v == 0x17b5 || (v >= 0x180b && v <= 0x180f)
        || (v >= 0x200b && v <= 0x200f) || (v >= 0x202a && v <= 0x202e)
        || (v >= 0x2060 && v <= 0x206f) || v == 0x3164
        || (v >= 0xfe00 && v <= 0xfe0f) || v == 0xfeff || v == 0xffa0
        || (v >= 0xfff0 && v <= 0xfff8) || (v >= 0x1bca0 && v <= 0x1bca3)
        || (v >= 0x1d173 && v <= 0x1d17a) || (v >= 0xe0000 && v <= 0xe0fff))
    {
        return ZERO_WIDTH;
    }

    return NON_ASCII;
}


/* the length of the UTF-8 sequence lead begins, 1 if it begins none */
static size_t
utf8_length(unsigned long lead)
{
    return (lead >= 0xc2 && lead <= 0xdf) ? 2
           : (lead >= 0xe0 && lead <= 0xef) ? 3
           : (lead >= 0xf0 && lead <= 0xf4) ? 4 : 1;
}


/* the bits of the lead byte of a k-byte sequence */
static unsigned long
utf8_lead_bits(unsigned long lead, size_t k)
{
    return lead & (k == 2 ? 0x1f : k == 3 ? 0x0f : k == 4 ? 0x07 : 0xff);
}


/*
 * Raw UTF-8 of a character the detectors read otherwise than as
 * NON_ASCII (a no-break or figure space, a zero-width character): its
 * length; else LITERAL, and CUT when more text may complete it.
 */
static int
utf8_raw(const unsigned char *p, size_t n, int final, unsigned char *c)
{
    size_t         i, k;
    unsigned long  v;

    k = utf8_length(p[0]);
    v = utf8_lead_bits(p[0], k);

    for (i = 1; i < k; i++) {
        if (i == n) {
            return final ? ESCAPE_LITERAL : ESCAPE_CUT;
        }

        if ((p[i] & 0xc0) != 0x80) {
            return ESCAPE_LITERAL;
        }

        v = (v << 6) | (p[i] & 0x3f);
    }

    *c = code_byte(v);

    return (k > 1 && *c != NON_ASCII) ? (int) k : ESCAPE_LITERAL;
}


/*
 * n hex digits at p (avail bytes there) into *v: the escape's verdict if
 * they are not all there (a digit that is not hex, or the end of text),
 * else 1.
 */
static int
hex_digits(const unsigned char *p, size_t avail, size_t n, int final,
    unsigned long *v)
{
    size_t  i;

    for (*v = 0, i = 0; i < n; i++) {
        if (i == avail) {
            return final ? ESCAPE_LITERAL : ESCAPE_CUT;
        }

        if (hoop_hex_value(p[i]) < 0) {
            return ESCAPE_LITERAL;
        }

        *v = *v * 16 + (unsigned long) hoop_hex_value(p[i]);
    }

    return 1;
}


/* JSON: \n \t \r \b \f \" \\ \/ and \uXXXX */
static int
json_escape(const unsigned char *p, size_t n, int final, unsigned char *c)
{
    int                rc;
    const char        *e;
    unsigned long      v, lo;
    static const char  simple[] = "n\nt\tr\rb\bf\f\"\"\\\\//";

    if (n < 2) {
        return final ? ESCAPE_LITERAL : ESCAPE_CUT;
    }

    if (p[1] == 'u') {
        rc = hex_digits(p + 2, n - 2, 4, final, &v);

        if (rc != 1) {
            return rc;
        }

        /* a surrogate pair is one character (a tag, U+E0020, is two) */

        if (v >= 0xd800 && v <= 0xdbff) {
            if (n < 12 && !final) {
                return ESCAPE_CUT;
            }

            if (n >= 12 && p[6] == '\\' && p[7] == 'u'
                && hex_digits(p + 8, n - 8, 4, final, &lo) == 1
                && lo >= 0xdc00 && lo <= 0xdfff)
            {
                *c = code_byte(0x10000 + ((v - 0xd800) << 10) + (lo - 0xdc00));
                return 12;
            }
        }

        *c = code_byte(v);
        return 6;
    }

    for (e = simple; *e; e += 2) {
        if (p[1] == (unsigned char) e[0]) {
            *c = (unsigned char) e[1];
            return 2;
        }
    }

    return ESCAPE_LITERAL;
}


/*
 * URL: %XX, and the escapes of one UTF-8 character ("%E2%80%8B") read as
 * that character
 */
static int
percent_escape(const unsigned char *p, size_t n, int final, unsigned char *c)
{
    int            rc;
    size_t         i, k;
    unsigned long  v, b;

    rc = hex_digits(p + 1, n - 1, 2, final, &v);

    if (rc != 1) {
        return rc;
    }

    k = utf8_length(v);
    v = utf8_lead_bits(v, k);

    for (i = 1; i < k; i++) {
        if (3 * i == n) {
            if (!final) {
                return ESCAPE_CUT;
            }

            break;
        }

        if (p[3 * i] != '%') {
            break;
        }

        rc = hex_digits(p + 3 * i + 1, n - 3 * i - 1, 2, final, &b);

        if (rc == ESCAPE_CUT) {
            return ESCAPE_CUT;
        }

        if (rc != 1 || (b & 0xc0) != 0x80) {
            break;
        }

        v = (v << 6) | (b & 0x3f);
    }

    if (k > 1 && i < k) {
        *c = NON_ASCII;                     /* a lead byte alone */
        return 3;
    }

    *c = code_byte(v);

    return (int) (3 * k);
}


/*
 * HTML: &#DDD; &#xHH; (the ';' optional, as browsers read them; leading
 * zeros, any number of them, as browsers read them too)
 */
static int
numeric_ref(const unsigned char *p, size_t n, int final, unsigned char *c)
{
    int            d, base;
    size_t         i, digits;
    unsigned long  v;

    i = 2;
    base = 10;

    if (i < n && (p[i] | 0x20) == 'x') {
        base = 16;
        i++;
    }

    for (v = 0, digits = 0; i < n; i++) {
        d = hoop_hex_value(p[i]);

        if (d < 0 || d >= base) {
            break;
        }

        /* leading zeros count for nothing; past 8 digits, no character */

        if (v == 0 && d == 0) {
            continue;
        }

        v = (++digits > NUMERIC_DIGITS_MAX)
            ? 0x110000 : v * (unsigned long) base + (unsigned long) d;
    }

    if (i == n && !final) {
        return ESCAPE_CUT;
    }

    if (i == 2 + (base == 16)) {
        return ESCAPE_LITERAL;              /* no digit */
    }

    /* a browser reads "&#0;" and what is past Unicode as U+FFFD */
    *c = (v == 0 || v >= 0x110000) ? NON_ASCII : code_byte(v);

    return (int) (i + (i < n && p[i] == ';'));
}


/*
 * The references browsers read without a ';' ("&nbsp", "&amp"), p[1, end)
 * being letters a non-letter follows.
 */
static int
legacy_ref(const unsigned char *p, size_t end, unsigned char *c)
{
    size_t  k;

    static const named_ref_t  legacy[] = {
        { "amp", '&' }, { "lt", '<' }, { "gt", '>' }, { "quot", '"' },
        { "nbsp", ' ' }, { "shy", ZERO_WIDTH }, { NULL, 0 }
    };

    for (k = 0; legacy[k].name; k++) {
        if (strlen(legacy[k].name) == end - 1
            && memcmp(legacy[k].name, p + 1, end - 1) == 0)
        {
            *c = legacy[k].c;
            return (int) end;
        }
    }

    return ESCAPE_LITERAL;
}


/* HTML: &name; (the ';' required but for legacy_ref()'s) */
static int
named_ref(const unsigned char *p, size_t n, int final, unsigned char *c)
{
    size_t              i;
    const named_ref_t  *r;

    for (i = 1; i < n && i <= NAMED_MAX; i++) {
        if (p[i] == ';') {
            break;
        }

        if (!((p[i] | 0x20) >= 'a' && (p[i] | 0x20) <= 'z')) {
            return legacy_ref(p, i, c);
        }
    }

    if (i == n) {
        return final ? legacy_ref(p, i, c) : ESCAPE_CUT;
    }

    if (p[i] != ';') {
        return ESCAPE_LITERAL;
    }

    for (r = named_refs; r->name; r++) {
        if (strlen(r->name) == i - 1 && memcmp(r->name, p + 1, i - 1) == 0) {
            *c = r->c;
            return (int) i + 1;
        }
    }

    return ESCAPE_LITERAL;
}


/*
 * ECMA-48 escape sequences, which a terminal does not show and ISO-2022
 * text (iso-2022-jp) uses to switch character sets between the digits of
 * a value: CSI (ESC '[' parameters intermediates final), a designation
 * (ESC intermediates final: ESC '(' 'B'), OSC up to BEL or ST, and ESC
 * with one final byte.  They read as nothing; at most ESC_MAX bytes.
 */
static int
esc_sequence(const unsigned char *p, size_t n, int final, unsigned char *c)
{
    size_t  i;

    if (n < 2) {
        return final ? ESCAPE_LITERAL : ESCAPE_CUT;
    }

    *c = ZERO_WIDTH;

    if (p[1] == '[' || (p[1] >= 0x20 && p[1] <= 0x2f)) {
        i = (p[1] == '[') ? 2 : 1;

        while (i < n && i < ESC_MAX
               && ((p[1] == '[' && p[i] >= 0x30 && p[i] <= 0x3f)
                   || (p[i] >= 0x20 && p[i] <= 0x2f)))
        {
            i++;
        }

        if (i == n && n < ESC_MAX) {
            return final ? ESCAPE_LITERAL : ESCAPE_CUT;
        }

        if (i < n && p[i] >= (p[1] == '[' ? 0x40 : 0x30) && p[i] <= 0x7e) {
            return (int) i + 1;
        }

        return ESCAPE_LITERAL;
    }

    if (p[1] == ']') {
        for (i = 2; i < n && i < ESC_MAX; i++) {
            if (p[i] == 0x07) {
                return (int) i + 1;
            }

            if (p[i] == 0x1b) {
                if (i + 1 == n) {
                    break;
                }

                return (p[i + 1] == '\\') ? (int) i + 2 : ESCAPE_LITERAL;
            }
        }

        return (i == n && n < ESC_MAX && !final) ? ESCAPE_CUT
                                                 : ESCAPE_LITERAL;
    }

    return (p[1] >= 0x30 && p[1] <= 0x7e) ? 2 : ESCAPE_LITERAL;
}


/* the escape at p (n bytes there): its length, LITERAL or CUT */
static int
escape_at(const unsigned char *p, size_t n, int final, int utf8,
    unsigned char *c)
{
    switch (p[0]) {

    case '\\':
        return json_escape(p, n, final, c);

    case '%':
        return percent_escape(p, n, final, c);

    case 0x1b:      /* an escape sequence a terminal does not show */
        return utf8 ? esc_sequence(p, n, final, c) : ESCAPE_LITERAL;

    default:
        break;
    }

    if (p[0] >= 0xc2) {

        /*
         * raw text, read in the first pass only: later passes see it with
         * what was read as nothing taken out, not as it was sent
         */

        return utf8 ? utf8_raw(p, n, final, c) : ESCAPE_LITERAL;
    }

    /* '&' */

    if (n < 2) {
        return final ? ESCAPE_LITERAL : ESCAPE_CUT;
    }

    return (p[1] == '#') ? numeric_ref(p, n, final, c)
                         : named_ref(p, n, final, c);
}


static int
is_introducer(unsigned char c)
{
    return c == '\\' || c == '%' || c == '&' || c == 0x1b || c >= 0xc2;
}


/* the next byte at or after i that may begin an escape, or len */
static size_t
next_introducer(const unsigned char *p, size_t i, size_t len)
{
#if defined(__SSE2__)
    int      hit;
    __m128i  x;

    for ( /* void */ ; i + 16 <= len; i += 16) {
        x = _mm_loadu_si128((const __m128i *) (p + i));
        /* '\\', '%', '&', ESC, and a UTF-8 lead byte (>= 0xc2) */

        hit = _mm_movemask_epi8(
                  _mm_or_si128(
                      _mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('\\')),
                                   _mm_cmpeq_epi8(x, _mm_set1_epi8('%'))),
                      _mm_or_si128(
                          _mm_or_si128(
                              _mm_cmpeq_epi8(x, _mm_set1_epi8('&')),
                              _mm_cmpeq_epi8(x, _mm_set1_epi8(0x1b))),
                          _mm_cmpeq_epi8(
                              _mm_max_epu8(x, _mm_set1_epi8((char) 0xc2)),
                              x))));

        if (hit != 0) {
            return i + (size_t) __builtin_ctz((unsigned) hit);
        }
    }
#endif

    while (i < len && !is_introducer(p[i])) {
        i++;
    }

    return i;
}


/* raw[0, len) = at, at + 1, ...: the map of text that is as it was */
static void
fill_offsets(uint16_t *raw, size_t len, size_t at)
{
    size_t   k;

#if defined(__SSE2__)
    __m128i  v, step;

    v = _mm_add_epi16(_mm_set1_epi16((short) at),
                      _mm_setr_epi16(0, 1, 2, 3, 4, 5, 6, 7));
    step = _mm_set1_epi16(8);

    for (k = 0; k + 8 <= len; k += 8) {
        _mm_storeu_si128((__m128i *) (raw + k), v);
        v = _mm_add_epi16(v, step);
    }
#else
    k = 0;
#endif

    for ( /* void */ ; k < len; k++) {
        raw[k] = (uint16_t) (at + k);
    }
}


/* in[i, end) as it is: out from n, each byte's spelling where it was */
static size_t
copy_run(const unsigned char *in, size_t i, size_t end, unsigned char *out,
    uint16_t *raw, int compose, size_t n)
{
    /* in place, nothing moves until an escape has shortened the text */

    if (out + n != in + i) {
        memmove(out + n, in + i, end - i);
    }

    if (compose) {
        if (n != i) {
            memmove(raw + n, raw + i, (end - i) * sizeof(uint16_t));
        }

    } else {
        fill_offsets(raw + n, end - i, i);
    }

    return n + (end - i);
}


size_t
hoop_mask_unescape(const unsigned char *in, size_t len, int final,
    unsigned char *out, uint16_t *raw, int compose, size_t *used,
    int *changed)
{
    int            e;
    size_t         i, j, n;
    uint16_t       at;
    unsigned char  c;

    *changed = 0;

    for (i = 0, n = 0; i < len; /* void */) {

        /* in place, out and raw are written at or before where read */

        j = next_introducer(in, i, len);

        if (j > i) {
            n = copy_run(in, i, j, out, raw, compose, n);
            i = j;

            if (i == len) {
                break;
            }
        }

        e = escape_at(in + i, len - i, final, !compose, &c);

        if (e == ESCAPE_CUT) {
            break;
        }

        at = compose ? raw[i] : (uint16_t) i;

        if (e != ESCAPE_LITERAL && c == ZERO_WIDTH) {
            i += (size_t) e;                /* read as nothing */
            *changed = 1;
            continue;
        }

        if (e == ESCAPE_LITERAL) {
            out[n] = in[i++];

        } else {
            out[n] = c;
            i += (size_t) e;
            *changed = 1;
        }

        raw[n++] = at;
    }

    *used = i;
    raw[n] = compose ? raw[i] : (uint16_t) i;

    return n;
}


/*
 * A byte of a single-byte charset as the detectors read it: the no-break
 * space (0xA0 in ISO-8859 and windows-125x, 0x9A in KOI8) a space, the en
 * and em dashes of windows-125x (0x96, 0x97) '-', the soft hyphen (0xAD)
 * nothing (-1: ZERO_WIDTH is a byte of these charsets); the other bytes
 * past ASCII as they are, which no detector reads.
 */
static int
single_byte_code(unsigned char b, unsigned flags)
{
    if (flags & HOOP_MASK_UNESCAPE_KOI8) {
        return (b == 0x9a) ? ' ' : b;
    }

    switch (b) {

    case 0xa0:
        return ' ';

    case 0x96:
    case 0x97:
        return '-';

    case 0xad:
        return -1;

    default:
        return b;
    }
}


int
hoop_mask_single_byte_could(const unsigned char *p, size_t len,
    unsigned flags)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        if (p[i] >= 0x80 && single_byte_code(p[i], flags) != p[i]) {
            return 1;
        }
    }

    return 0;
}


/* the first pass over text in a single-byte charset: its bytes mapped */
static size_t
single_byte_pass(const unsigned char *in, size_t len, unsigned flags,
    unsigned char *out, uint16_t *raw, int *changed)
{
    int     c;
    size_t  i, n;

    *changed = 0;

    for (i = 0, n = 0; i < len; i++) {
        c = (in[i] < 0x80) ? in[i] : single_byte_code(in[i], flags);

        if (c != in[i]) {
            *changed = 1;
        }

        if (c < 0) {
            continue;
        }

        out[n] = (unsigned char) c;
        raw[n++] = (uint16_t) i;
    }

    raw[n] = (uint16_t) len;

    return n;
}


size_t
hoop_mask_unescape_rounds(const unsigned char *in, size_t len, int final,
    unsigned rounds, unsigned flags, unsigned char *out, uint16_t *raw,
    size_t *used)
{
    int            changed;
    size_t         n, u, j;
    unsigned       r;
    unsigned char  c;

    if (flags & HOOP_MASK_UNESCAPE_SINGLE_BYTE) {

        /*
         * no UTF-8 to read: the bytes are mapped, then every pass reads
         * escapes only, as later passes do
         */

        n = single_byte_pass(in, len, flags, out, raw, &changed);
        changed = 1;
        r = 0;

    } else {
        n = hoop_mask_unescape(in, len, final, out, raw, 0, &u, &changed);
        r = 1;
    }

    while (r < rounds && changed && hoop_mask_unescape_could(out, n)) {
        n = hoop_mask_unescape(out, n, final, out, raw, 1, &u, &changed);
        r++;
    }

    /*
     * What ends the decoded text may begin an escape that text yet to
     * come completes ("\uada" and then "\u0039", a '9', in another pass):
     * it waits with the rest, so that where the text is cut does not
     * change what it reads
     */

    if (!final && rounds > 1) {
        for (j = (n > UNESCAPE_TAIL) ? n - UNESCAPE_TAIL : 0; j < n; j++) {
            if (is_introducer(out[j])
                && escape_at(out + j, n - j, 0, 0, &c) == ESCAPE_CUT)
            {
                n = j;
                break;
            }
        }
    }

    *used = raw[n];

    return n;
}
