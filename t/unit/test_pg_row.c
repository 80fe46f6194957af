/*
 * Copyright (C) nginx-hoop authors
 *
 * Masking in Postgres result messages: RowDescription plans, DataRow
 * rewrites (column masks, detectors, NULL for what cannot stay typed),
 * and the text of errors.
 */

#include <string.h>

#include "tap.h"
#include "hoop_pg_msg.h"
#include "hoop_pg_row.h"


static size_t
row(unsigned char *buf, const char **cells, size_t n)
{
    size_t          i, l;
    unsigned char  *p;

    buf[0] = 'D';
    buf[5] = (unsigned char) (n >> 8);
    buf[6] = (unsigned char) n;
    p = buf + 7;

    for (i = 0; i < n; i++) {
        if (cells[i] == NULL) {
            p = hoop_pg_put32(p, 0xffffffff);
            continue;
        }

        l = strlen(cells[i]);
        p = hoop_pg_put32(p, (uint32_t) l);
        memcpy(p, cells[i], l);
        p += l;
    }

    hoop_pg_put32(buf + 1, (uint32_t) (p - buf - 1));

    return (size_t) (p - buf);
}


/* the cells of a DataRow, "|"-joined, NULL as "<null>" */
static const char *
cells(const unsigned char *msg, size_t len)
{
    static char    out[1024];
    size_t         i, n, o;
    uint32_t       l;
    const unsigned char  *p;

    n = (size_t) (msg[5] << 8 | msg[6]);
    p = msg + 7;
    o = 0;

    for (i = 0; i < n && p < msg + len; i++) {
        if (i) {
            out[o++] = '|';
        }

        l = hoop_pg_get32(p);
        p += 4;

        if (l == 0xffffffff) {
            memcpy(out + o, "<null>", 6);
            o += 6;
            continue;
        }

        memcpy(out + o, p, l);
        o += l;
        p += l;
    }

    out[o] = '\0';
    return out;
}


int
main(void)
{
    int                  n;
    size_t               len, w;
    uint64_t             counts[HOOP_PG_MASKED_KINDS];
    hoop_pg_field_t      f[4];
    hoop_mask_conf_t     detect;
    hoop_pg_cell_plan_t  plan[4];
    unsigned char        in[512], out[4096];
    const char          *r1[] = { "42", "123-45-6789",
                                  "mail ada@example.com now", NULL };
    const char          *r2[] = { "4111111111111111", "x", "y", "z" };
    static const unsigned char  desc[] =
        "T\0\0\0\x31\0\x02"
        "id\0\0\0\x40\x01\0\x01\0\0\0\x17\0\x04\xff\xff\xff\xff\0\0"
        "ssn\0\0\0\x40\x01\0\x02\0\0\0\x19\xff\xff\xff\xff\xff\xff\0\0";

    n = hoop_pg_rowdesc_parse(desc, sizeof(desc) - 1, f, 4);
    is_int(n, 2, "RowDescription: two fields");
    ok(strcmp(f[1].name, "ssn") == 0 && f[1].table_oid == 0x4001
       && f[1].attnum == 2 && f[1].type_oid == 25 && f[1].format == 0,
       "name, table oid, attnum, type, format");
    is_int(hoop_pg_rowdesc_parse(desc, sizeof(desc) - 2, f, 4), -1,
           "a cut RowDescription is malformed");

    ok(hoop_pg_cell_is_text(25, 0) && hoop_pg_cell_is_text(1043, 1)
       && !hoop_pg_cell_is_text(23, 0), "text types are text, int4 is not");
    ok(hoop_pg_cell_is_text(3802, 0) && !hoop_pg_cell_is_text(3802, 1),
       "jsonb is text in text format only");

    memset(&detect, 0, sizeof(detect));
    detect.enabled = (1u << HOOP_MASK_EMAIL) | (1u << HOOP_MASK_CREDIT_CARD);
    memcpy(detect.key, "0123456789abcdef", 16);
    detect.key_len = 16;

    plan[0].action = HOOP_PG_CELL_PASS;
    plan[1].action = HOOP_PG_CELL_COLUMN;
    plan[1].strategy = HOOP_MASK_REDACT;
    plan[2].action = HOOP_PG_CELL_DETECT;
    plan[3].action = HOOP_PG_CELL_NULL;

    memset(counts, 0, sizeof(counts));
    len = row(in, r1, 4);
    w = hoop_pg_row_mask(in, len, plan, 4, &detect, out, sizeof(out),
                         counts);
    ok(w > 0 && w != (size_t) -1, "a row is rewritten");
    ok(strcmp(cells(out, w), "42|[MASKED]|mail [EMAIL] now|<null>") == 0,
       "column masked whole, detector inside text, NULL kept: %s",
       cells(out, w));
    is_int(hoop_pg_get32(out + 1) + 1, w, "the length field is the new one");
    is_int(counts[HOOP_PG_MASKED_COLUMN], 1, "one masked column cell");
    is_int(counts[HOOP_MASK_EMAIL], 1, "one email");

    plan[0].action = HOOP_PG_CELL_DETECT_NULL;
    plan[1].action = HOOP_PG_CELL_PASS;
    plan[2].action = HOOP_PG_CELL_PASS;
    plan[3].action = HOOP_PG_CELL_NULL;
    len = row(in, r2, 4);
    w = hoop_pg_row_mask(in, len, plan, 4, &detect, out, sizeof(out), NULL);
    ok(strcmp(cells(out, w), "<null>|x|y|<null>") == 0,
       "a card number in a non-text column becomes NULL, a masked column"
       " of another type NULL: %s", cells(out, w));

    is_int(hoop_pg_row_mask(in, len, plan, 3, &detect, out, sizeof(out),
                            NULL), 0,
           "a row with another number of columns is malformed");
    is_int(hoop_pg_row_mask(in, len - 1, plan, 4, &detect, out, sizeof(out),
                            NULL), 0, "a cut row is malformed");
    ok(hoop_pg_row_mask(in, len, plan, 4, &detect, out, 10, NULL)
       == (size_t) -1, "too little room says so");

    {
        /* 4111111111111111 as numeric: 4 digits base 10000, weight 3 */
        static const unsigned char  num[] = {
            0, 4, 0, 3, 0, 0, 0, 0,
            0x10, 0x0f, 0x04, 0x57, 0x04, 0x57, 0x04, 0x57 };
        static const unsigned char  i8[] = {
            0x00, 0x0e, 0x9b, 0x08, 0xa5, 0x68, 0xf1, 0xc7 };
        unsigned char  dg[48];

        w = hoop_pg_binary_digits(1700, num, sizeof(num), dg);
        ok(w == 16 && memcmp(dg, "4111111111111111", 16) == 0,
           "numeric digits: %.*s", (int) w, dg);
        w = hoop_pg_binary_digits(20, i8, sizeof(i8), dg);
        ok(w == 16 && memcmp(dg, "4111111111111111", 16) == 0,
           "int8 digits: %.*s", (int) w, dg);
        is_int(hoop_pg_binary_digits(20, i8, 7, dg), 0, "a cut int8: 0");
    }

    w = hoop_pg_cell_mask(&detect, HOOP_MASK_PARTIAL,
                          (unsigned char *) "123-45-6789", 11, out);
    ok(w == 11 && memcmp(out, "*******6789", 11) == 0, "partial: %.*s",
       (int) w, out);
    w = hoop_pg_cell_mask(&detect, HOOP_MASK_PARTIAL,
                          (unsigned char *) "short", 5, out);
    ok(w == 5 && memcmp(out, "*****", 5) == 0, "partial of short: all");
    w = hoop_pg_cell_mask(&detect, HOOP_MASK_HASH,
                          (unsigned char *) "123-45-6789", 11, out);
    ok(w == 23 && memcmp(out, "[HASH:", 6) == 0, "hash: %.*s", (int) w, out);
    {
        unsigned char  again[64];

        hoop_pg_cell_mask(&detect, HOOP_MASK_HASH,
                          (unsigned char *) "123-45-6789", 11, again);
        ok(memcmp(out, again, 23) == 0, "the same value, the same hash");
    }

    {
        static unsigned char  err[] =
            "E\0\0\0\0SERROR\0C23505\0Mduplicate key\0"
            "DKey (email)=(ada@example.com) exists\0\0";
        uint64_t  c2[HOOP_PG_MASKED_KINDS];
        int       l;
        const char *v;

        hoop_pg_put32(err + 1, sizeof(err) - 2);
        memset(c2, 0, sizeof(c2));
        w = hoop_pg_error_mask(err, sizeof(err) - 1, &detect, out,
                               sizeof(out), c2);
        ok(w > 0 && w != (size_t) -1, "an error is rewritten");
        l = hoop_pg_error_field(out + 5, w - 5, 'D', &v);
        ok(l > 0 && strncmp(v, "Key (email)=([EMAIL]) exists", l) == 0,
           "its detail masked: %.*s", l, v);
        l = hoop_pg_error_field(out + 5, w - 5, 'C', &v);
        ok(l == 5 && strncmp(v, "23505", 5) == 0, "its code kept");
        is_int(c2[HOOP_MASK_EMAIL], 1, "counted");
        is_int(hoop_pg_error_mask(err, sizeof(err) - 2, &detect, out,
                                  sizeof(out), NULL), 0,
               "a cut error is malformed");

        w = hoop_pg_error_withhold(err, sizeof(err) - 1, "withheld", out,
                                   sizeof(out));
        ok(w > 5 && hoop_pg_get32(out + 1) + 1 == w
           && memcmp(out + 5, "SERROR\0C23505\0Mwithheld\0\0", w - 5) == 0,
           "withheld: the message replaced, the detail gone, the code kept");
        is_int(hoop_pg_error_withhold(err, sizeof(err) - 1, "withheld",
                                      out, 12), (size_t) -1,
               "withheld, no room: -1");
    }

    {
        /* NotificationResponse: pid 7, channel, payload */
        static unsigned char  note[] =
            "A\0\0\0\0\0\0\0\7jobs\0ssn 078-05-1120 for ada@example.com\0";
        static unsigned char  param[] =
            "S\0\0\0\0application_name\0bob@example.com\0";
        unsigned char  desc[64], *p;
        uint64_t       c3[HOOP_PG_MASKED_KINDS];

        detect.enabled |= 1u << HOOP_MASK_US_SSN;
        hoop_pg_put32(note + 1, sizeof(note) - 2);
        memset(c3, 0, sizeof(c3));
        w = hoop_pg_names_mask(note, sizeof(note) - 1, &detect, out,
                               sizeof(out), c3);
        ok(w == 5 + 4 + 5 + sizeof("ssn [US_SSN] for [EMAIL]")
           && memcmp(out + 5, "\0\0\0\7jobs\0ssn [US_SSN] for [EMAIL]\0",
                     w - 5) == 0
           && hoop_pg_get32(out + 1) + 1 == w,
           "a notification's payload masked, pid and channel kept");
        is_int(c3[HOOP_MASK_EMAIL] + c3[HOOP_MASK_US_SSN], 2, "counted");
        is_int(hoop_pg_names_mask(note, sizeof(note) - 2, &detect, out,
                                  sizeof(out), NULL), 0,
               "a notification without its last NUL is malformed");

        hoop_pg_put32(param + 1, sizeof(param) - 2);
        w = hoop_pg_names_mask(param, sizeof(param) - 1, &detect, out,
                               sizeof(out), NULL);
        ok(w > 5 && memcmp(out + 5, "application_name\0[EMAIL]\0", w - 5)
           == 0, "a parameter's value masked, its name kept");

        w = hoop_pg_names_withhold(note, sizeof(note) - 1, out, sizeof(out));
        ok(w == 5 + 4 + 5 + 9 && hoop_pg_get32(out + 1) + 1 == w
           && memcmp(out + 5, "\0\0\0\7jobs\0[MASKED]\0", w - 5) == 0,
           "withheld: a notification's payload, its channel kept");
        w = hoop_pg_names_withhold(param, sizeof(param) - 1, out,
                                   sizeof(out));
        ok(w > 5 && memcmp(out + 5, "application_name\0[MASKED]\0", w - 5)
           == 0, "withheld: application_name's value");
        {
            static unsigned char  tz[] = "S\0\0\0\0TimeZone\0UTC\0";

            hoop_pg_put32(tz + 1, sizeof(tz) - 2);
            w = hoop_pg_names_withhold(tz, sizeof(tz) - 1, out, sizeof(out));
            ok(w == sizeof(tz) - 1 && memcmp(out, tz, w) == 0,
               "withheld: other settings kept, clients read them");
        }

        /* RowDescription of one column named after a value */
        desc[0] = 'T';
        desc[5] = 0;
        desc[6] = 1;
        p = (unsigned char *) memcpy(desc + 7, "078-05-1120", 12) + 12;
        memset(p, 0x11, 18);
        p += 18;
        hoop_pg_put32(desc + 1, (uint32_t) (p - desc - 1));
        w = hoop_pg_names_mask(desc, (size_t) (p - desc), &detect, out,
                               sizeof(out), NULL);
        ok(w == 7 + sizeof("[US_SSN]") + 18
           && memcmp(out + 7, "[US_SSN]", 9) == 0 && out[w - 1] == 0x11,
           "a column name masked, its 18 bytes kept");
        is_int(hoop_pg_names_mask(desc, (size_t) (p - desc) - 1, &detect,
                                  out, sizeof(out), NULL), 0,
               "a cut RowDescription is malformed");
        is_int(hoop_pg_names_mask(desc, (size_t) (p - desc), &detect, out,
                                  8, NULL), (size_t) -1,
               "no room: -1, to be asked again with more");
    }

    {
        /* binary COPY: header + (int4 1, '123-45-6789', int8 card, 'Ada') */
        static const unsigned char  tuple[] =
            "PGCOPY\n\377\r\n\0" "\0\0\0\0" "\0\0\0\0"
            "\0\4"
            "\0\0\0\4" "\0\0\0\1"
            "\0\0\0\13" "123-45-6789"
            "\0\0\0\10" "\0\16\233\10\245\150\361\307"
            "\0\0\0\3" "Ada";
        static const unsigned char  want[] =
            "PGCOPY\n\377\r\n\0" "\0\0\0\0" "\0\0\0\0"
            "\0\4"
            "\0\0\0\4" "\0\0\0\1"
            "\377\377\377\377"
            "\377\377\377\377"
            "\0\0\0\3" "Ada";
        unsigned char  copy[128], trailer[7] = "d\0\0\0\6\377\377";
        size_t         tl;

        tl = sizeof(tuple) - 1;
        copy[0] = 'd';
        memcpy(copy + 5, tuple, tl);
        hoop_pg_put32(copy + 1, (uint32_t) (tl + 4));

        w = hoop_pg_copy_binary_mask(copy, tl + 5, &detect, out,
                                     sizeof(out), NULL);
        ok(w == 5 + sizeof(want) - 1
           && memcmp(out + 5, want, sizeof(want) - 1) == 0
           && hoop_pg_get32(out + 1) + 1 == w,
           "binary COPY: an SSN's text and a card's int8 NULL, lengths"
           " right, the header and the rest kept");

        w = hoop_pg_copy_binary_mask(trailer, 7, &detect, out, sizeof(out),
                                     NULL);
        ok(w == 7 && memcmp(out, trailer, 7) == 0, "the trailer passes");

        hoop_pg_put32(copy + 1, (uint32_t) (tl + 3));
        is_int(hoop_pg_copy_binary_mask(copy, tl + 4, &detect, out,
                                        sizeof(out), NULL), 0,
               "a tuple cut short is malformed");
    }

    return done_testing();
}
