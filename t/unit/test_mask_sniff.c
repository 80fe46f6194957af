/*
 * Copyright (C) nginx-hoop authors
 *
 * Telling text from what the masker cannot read: compressed bodies, with
 * or without a Content-Encoding, UTF-16 and UTF-32, binary data, and the
 * charsets a response may declare.
 */

#include <stdio.h>

#include "tap.h"
#include "hoop_mask_sniff.h"
#include "hoop_mask_unescape.h"


static hoop_mask_sniff_rc_t
sniff(const char *p, size_t len, int final, const char **what)
{
    *what = "";

    return hoop_mask_sniff((const unsigned char *) p, len, final, what);
}


static void
test_formats(void)
{
    size_t       i, n;
    const char  *what;

    static const char  text[] =
        "{\"email\":\"ada@example.com\"}\r\n\tplain \x1b[1mbold\x1b[0m\f";

    is_int(sniff(text, sizeof(text) - 1, 1, &what), HOOP_MASK_SNIFF_TEXT,
           "JSON, whitespace, ANSI colours and a form feed are text");
    is_int(sniff("\xef\xbb\xbf{}", 5, 1, &what), HOOP_MASK_SNIFF_TEXT,
           "a UTF-8 byte-order mark is text");
    is_int(sniff("caf\xc3\xa9 \xe9t\xe9", 9, 1, &what), HOOP_MASK_SNIFF_TEXT,
           "UTF-8 and Latin-1 letters are text");

    /* zlib's header, then deflate's first bytes of "{\"email..." */
    is_int(sniff("\x78\x9c\xab\x56\x4a", 5, 1, &what),
           HOOP_MASK_SNIFF_NOT_TEXT, "zlib is not text");
    is_mem(what, strlen(what), "zlib", 4, "and is named");

    is_int(sniff("\x1f\x8b\x08\x00", 4, 0, &what), HOOP_MASK_SNIFF_NOT_TEXT,
           "gzip is not text");
    is_int(sniff("\x28\xb5\x2f\xfd\x24", 5, 0, &what),
           HOOP_MASK_SNIFF_NOT_TEXT, "zstd is not text");
    is_mem(what, strlen(what), "zstd", 4, "named zstd");
    is_int(sniff("\x28\xb5", 2, 0, &what), HOOP_MASK_SNIFF_MORE,
           "two bytes of zstd's magic: more is needed");
    is_int(sniff("(x", 2, 0, &what), HOOP_MASK_SNIFF_TEXT,
           "a '(' alone is text");
    is_int(sniff("BZh91AY&SY", 10, 0, &what), HOOP_MASK_SNIFF_NOT_TEXT,
           "bzip2 is not text");
    is_int(sniff("BZhello", 7, 1, &what), HOOP_MASK_SNIFF_TEXT,
           "a word starting BZh is");
    is_int(sniff("\xff\xfe{\0\"\0", 6, 1, &what), HOOP_MASK_SNIFF_NOT_TEXT,
           "UTF-16 with a byte-order mark is not text");
    is_mem(what, strlen(what), "UTF-16", 6, "named UTF-16");
    is_int(sniff("{\0\"\0e\0", 6, 1, &what), HOOP_MASK_SNIFF_NOT_TEXT,
           "UTF-16 without one is not either");
    is_int(sniff("\xff\xfe\0\0{\0\0\0", 8, 1, &what),
           HOOP_MASK_SNIFF_NOT_TEXT, "UTF-32 is not text");
    is_mem(what, strlen(what), "UTF-32", 6, "named UTF-32");

    /* every control but the whitespace ones and ESC */
    for (n = 0, i = 0; i < 0x20; i++) {
        char  c[3] = { 'a', (char) i, 'b' };

        n += (hoop_mask_text_end((unsigned char *) c, 3) == 1);
    }

    is_int(n, 26, "26 control bytes end text");
}


static void
test_text_end(void)
{
    size_t         i, at;
    unsigned char  buf[1000];

    for (i = 0; i < sizeof(buf); i++) {
        buf[i] = (unsigned char) ("abc \n\t\r\x1b\x80\xff"[i % 10]);
    }

    is_int(hoop_mask_text_end(buf, sizeof(buf)), sizeof(buf),
           "1000 bytes of text: no end");

    for (at = 0; at < 40; at++) {
        buf[at] = 0;

        if (hoop_mask_text_end(buf, sizeof(buf)) != at) {
            break;
        }

        buf[at] = 'a';
    }

    ok(at == 40, "a NUL found wherever it is in the first 40 bytes");

    buf[997] = 0x01;
    is_int(hoop_mask_text_end(buf, sizeof(buf)), 997, "and near the end");
}


static void
test_charsets(void)
{
    size_t       i;
    const char  *name;

    static const char  *readable[] = {
        "utf-8", "UTF-8", "\"utf-8\"", "iso-8859-1", "ISO-8859-15",
        "windows-1252", "us-ascii", "koi8-r", "Shift_JIS", "latin1"
    };

    static const char  *unreadable[] = {
        "utf-16", "UTF-16LE", "utf-32", "ucs-2", "utf-7", "ibm037", "cp037",
        "ebcdic-us", "", "iso-8859-", "x-unknown", "iso-2022-jp"
    };

    for (i = 0; i < sizeof(readable) / sizeof(readable[0]); i++) {
        name = readable[i];
        ok(hoop_mask_charset_readable((const unsigned char *) name,
                                      strlen(name)), "%s is read", name);
    }

    for (i = 0; i < sizeof(unreadable) / sizeof(unreadable[0]); i++) {
        name = unreadable[i];
        ok(!hoop_mask_charset_readable((const unsigned char *) name,
                                       strlen(name)), "'%s' is not", name);
    }

    ok(hoop_mask_charset_single_byte((const unsigned char *) "Windows-1251",
                                     12) == HOOP_MASK_UNESCAPE_SINGLE_BYTE,
       "windows-1251 is read as a single-byte charset");
    ok(hoop_mask_charset_single_byte((const unsigned char *) "us-ascii", 8)
       == HOOP_MASK_UNESCAPE_SINGLE_BYTE,
       "so is US-ASCII, which browsers read as windows-1252");
    ok(hoop_mask_charset_single_byte((const unsigned char *) "koi8-r", 6)
       == (HOOP_MASK_UNESCAPE_SINGLE_BYTE | HOOP_MASK_UNESCAPE_KOI8),
       "KOI8-R as KOI8");
    ok(hoop_mask_charset_single_byte((const unsigned char *) "utf-8", 5) == 0
       && hoop_mask_charset_single_byte((const unsigned char *) "gbk", 3) == 0,
       "UTF-8 and multi-byte charsets are not");
}


int
main(void)
{
    test_formats();
    test_text_end();
    test_charsets();

    return done_testing();
}
