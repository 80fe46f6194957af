/*
 * Copyright (C) nginx-hoop authors
 *
 * Telling text the masker reads from bodies it cannot: magics, byte-order
 * marks, control bytes, charsets.
 */

#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "hoop_mask_sniff.h"
#include "hoop_mask_unescape.h"


typedef struct {
    const char  *name;
    const char  *magic;
    size_t       len;
} sniff_magic_t;


/*
 * Formats whose first bytes are not caught by a control byte: the rest
 * (gzip 1f 8b, xz, lz4, zip, UTF-16 of ASCII) begin with one.
 */
static const sniff_magic_t  magics[] = {
    { "zstd", "\x28\xb5\x2f\xfd", 4 },
    { "bzip2", "BZh", 3 },
    { "zlib", "\x78\x9c", 2 },
    { "zlib", "\x78\xda", 2 },
    { "UTF-32", "\xff\xfe\x00\x00", 4 },
    { "UTF-32", "\x00\x00\xfe\xff", 4 },
    { "UTF-16", "\xff\xfe", 2 },
    { "UTF-16", "\xfe\xff", 2 },
    { NULL, NULL, 0 }
};


/* whether a byte is a control no text holds */
static int
not_text_byte(unsigned char c)
{
    return c < 0x20 && !(c >= '\t' && c <= '\r') && c != 0x1b;
}


hoop_mask_sniff_rc_t
hoop_mask_sniff(const unsigned char *p, size_t len, int final,
    const char **what)
{
    size_t                n;
    const sniff_magic_t  *m;

    for (m = magics; m->name; m++) {
        n = (len < m->len) ? len : m->len;

        if (memcmp(p, m->magic, n) != 0) {
            continue;
        }

        /* "BZh" and a block size digit */
        if (m->magic[0] == 'B' && len > 3 && !(p[3] >= '1' && p[3] <= '9')) {
            continue;
        }

        if (n == m->len && !(m->magic[0] == 'B' && len == 3 && !final)) {
            *what = m->name;
            return HOOP_MASK_SNIFF_NOT_TEXT;
        }

        if (!final) {
            return HOOP_MASK_SNIFF_MORE;
        }
    }

    if (hoop_mask_text_end(p, len) < len) {
        *what = "a control byte";
        return HOOP_MASK_SNIFF_NOT_TEXT;
    }

    return HOOP_MASK_SNIFF_TEXT;
}


size_t
hoop_mask_text_end(const unsigned char *p, size_t len)
{
    size_t   i;

#if defined(__SSE2__)
    int      bad;
    __m128i  x, d, low, ws;

    for (i = 0; i + 16 <= len; i += 16) {
        x = _mm_loadu_si128((const __m128i *) (p + i));

        /* x <= 0x1f, and not 0x09-0x0d (x - 9 <= 4), and not ESC */
        low = _mm_cmpeq_epi8(_mm_min_epu8(x, _mm_set1_epi8(0x1f)), x);
        d = _mm_sub_epi8(x, _mm_set1_epi8(9));
        ws = _mm_cmpeq_epi8(_mm_min_epu8(d, _mm_set1_epi8(4)), d);
        ws = _mm_or_si128(ws, _mm_cmpeq_epi8(x, _mm_set1_epi8(0x1b)));
        bad = _mm_movemask_epi8(_mm_andnot_si128(ws, low));

        if (bad != 0) {
            return i + (size_t) __builtin_ctz((unsigned) bad);
        }
    }
#else
    i = 0;
#endif

    for ( /* void */ ; i < len; i++) {
        if (not_text_byte(p[i])) {
            return i;
        }
    }

    return len;
}


/* whether name is one of names ("name*": a family, one of whose members) */
static int
charset_in(const unsigned char *name, size_t len, const char **names)
{
    size_t         i, n;
    unsigned char  lc[32];

    if (len >= 2 && name[0] == '"' && name[len - 1] == '"') {
        name++;
        len -= 2;
    }

    if (len == 0 || len > sizeof(lc)) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        lc[i] = (name[i] >= 'A' && name[i] <= 'Z') ? name[i] | 0x20
                                                   : name[i];
    }

    for (i = 0; names[i]; i++) {
        n = strlen(names[i]);

        if (names[i][n - 1] == '*') {
            if (len > n - 1 && memcmp(lc, names[i], n - 1) == 0) {
                return 1;
            }

        } else if (len == n && memcmp(lc, names[i], n) == 0) {
            return 1;
        }
    }

    return 0;
}


int
hoop_mask_charset_readable(const unsigned char *name, size_t len)
{
    /* not the ISO-2022 family: its escape sequences switch sets */

    static const char  *readable[] = {
        "utf-8", "utf8", "us-ascii", "ascii", "ansi_x3.4-1968",
        "iso-8859-*", "iso8859-*", "iso_8859-*", "latin*", "l1",
        "windows-125*", "cp125*", "koi8-*", "gb2312", "gbk", "gb18030",
        "big5", "shift_jis", "sjis", "euc-jp", "euc-kr", NULL
    };

    return charset_in(name, len, readable);
}


unsigned
hoop_mask_charset_single_byte(const unsigned char *name, size_t len)
{
    static const char  *latin[] = {
        "iso-8859-*", "iso8859-*", "iso_8859-*", "latin*", "l1",
        "windows-125*", "cp125*", "us-ascii", "ascii", "ansi_x3.4-1968",
        NULL
    };

    static const char  *koi8[] = { "koi8-*", NULL };

    if (charset_in(name, len, koi8)) {
        return HOOP_MASK_UNESCAPE_SINGLE_BYTE | HOOP_MASK_UNESCAPE_KOI8;
    }

    return charset_in(name, len, latin) ? HOOP_MASK_UNESCAPE_SINGLE_BYTE : 0;
}
