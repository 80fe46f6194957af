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

#define ESCAPE_LITERAL      0
#define ESCAPE_CUT          (-1)


typedef struct {
    const char     *name;
    unsigned char   c;
} named_ref_t;


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
    { NULL, 0 }
};


int
hoop_mask_unescape_could(const unsigned char *p, size_t len)
{
    return memchr(p, '\\', len) != NULL || memchr(p, '%', len) != NULL
           || memchr(p, '&', len) != NULL || memchr(p, 0xc2, len) != NULL
           || memchr(p, 0xe2, len) != NULL || memchr(p, 0xef, len) != NULL;
}



/*
 * A code point as the detectors read it: spaces that look like one are
 * one; what a reader does not see (zero-width space, joiners, word
 * joiner, byte order mark, soft hyphen) is not there, so that digits it
 * separates read as the number they show.
 */
static unsigned char
code_byte(unsigned long v)
{
    switch (v) {
    case 0xa0:
    case 0x2007:
    case 0x202f:
        return ' ';
    case 0xad:
    case 0x200b:
    case 0x200c:
    case 0x200d:
    case 0x2060:
    case 0xfeff:
        return ZERO_WIDTH;
    default:
        return (v < 0x80) ? (unsigned char) v : NON_ASCII;
    }
}


/* the length of the UTF-8 sequence lead begins, 1 if it begins none */
static size_t
utf8_length(unsigned long lead)
{
    return (lead >= 0xc2 && lead <= 0xdf) ? 2
           : (lead >= 0xe0 && lead <= 0xef) ? 3 : 1;
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
    v = p[0] & (k == 2 ? 0x1f : 0x0f);

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
    unsigned long      v;
    static const char  simple[] = "n\nt\tr\rb\bf\f\"\"\\\\//";

    if (n < 2) {
        return final ? ESCAPE_LITERAL : ESCAPE_CUT;
    }

    if (p[1] == 'u') {
        rc = hex_digits(p + 2, n - 2, 4, final, &v);

        if (rc != 1) {
            return rc;
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
    v &= (k == 2 ? 0x1f : k == 3 ? 0x0f : 0xff);

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

    case 0xc2:      /* UTF-8: a no-break space reads as a space, ... */
    case 0xe2:
    case 0xef:

        /*
         * raw text, read in the first pass only: later passes see it with
         * what was read as nothing taken out, not as it was sent
         */

        return utf8 ? utf8_raw(p, n, final, c) : ESCAPE_LITERAL;

    default:    /* '&' */
        if (n < 2) {
            return final ? ESCAPE_LITERAL : ESCAPE_CUT;
        }

        return (p[1] == '#') ? numeric_ref(p, n, final, c)
                             : named_ref(p, n, final, c);
    }
}


static int
is_introducer(unsigned char c)
{
    return c == '\\' || c == '%' || c == '&' || c == 0xc2 || c == 0xe2
           || c == 0xef;
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
        hit = _mm_movemask_epi8(
                  _mm_or_si128(
                      _mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('\\')),
                                   _mm_cmpeq_epi8(x, _mm_set1_epi8('%'))),
                      _mm_or_si128(
                          _mm_or_si128(
                              _mm_cmpeq_epi8(x, _mm_set1_epi8('&')),
                              _mm_cmpeq_epi8(x, _mm_set1_epi8((char) 0xc2))),
                          _mm_or_si128(
                              _mm_cmpeq_epi8(x, _mm_set1_epi8((char) 0xe2)),
                              _mm_cmpeq_epi8(x,
                                             _mm_set1_epi8((char) 0xef))))));

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


size_t
hoop_mask_unescape_rounds(const unsigned char *in, size_t len, int final,
    unsigned rounds, unsigned char *out, uint16_t *raw, size_t *used)
{
    int            changed;
    size_t         n, u, j;
    unsigned       r;
    unsigned char  c;

    n = hoop_mask_unescape(in, len, final, out, raw, 0, &u, &changed);

    for (r = 1; r < rounds && changed && hoop_mask_unescape_could(out, n);
         r++)
    {
        n = hoop_mask_unescape(out, n, final, out, raw, 1, &u, &changed);
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
