/*
 * Copyright (C) nginx-hoop authors
 */

#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "hoop_pg_msg.h"
#include "hoop_mask_unescape.h"
#include "hoop_pg_row.h"


static size_t hoop_pg_error_rewrite(const unsigned char *msg, size_t len,
    const hoop_mask_conf_t *detect, const char *withheld, unsigned char *out,
    size_t cap, uint64_t counts[HOOP_PG_MASKED_KINDS]);
static size_t hoop_pg_text_mask(const hoop_mask_conf_t *detect,
    const unsigned char *in, size_t len, unsigned char *out, size_t cap,
    uint64_t counts[HOOP_PG_MASKED_KINDS], int *found);


/* types whose text form is what a person reads: masked values stay text */
static const uint32_t  hoop_pg_text_types[] = {
    25,         /* text */
    1043,       /* varchar */
    1042,       /* bpchar */
    19,         /* name */
    18,         /* char */
    114,        /* json */
    3802,       /* jsonb */
    142,        /* xml */
    705,        /* unknown (literals) */
    0
};


int
hoop_pg_cell_is_text(uint32_t type_oid, int format)
{
    size_t  i;

    for (i = 0; hoop_pg_text_types[i]; i++) {
        if (hoop_pg_text_types[i] == type_oid) {
            /* binary json(b), xml and "char" are not plain text */
            return format == 0 || type_oid == 25 || type_oid == 1043
                   || type_oid == 1042 || type_oid == 19;
        }
    }

    return 0;
}


/* binary forms of fixed size that hold no text */
static const uint32_t  hoop_pg_plain_types[] = {
    16,         /* bool */
    21,         /* int2 */
    23,         /* int4 */
    26,         /* oid */
    28,         /* xid */
    700,        /* float4 */
    701,        /* float8 */
    790,        /* money */
    1082,       /* date */
    1083,       /* time */
    1114,       /* timestamp */
    1184,       /* timestamptz */
    1186,       /* interval */
    1266,       /* timetz */
    2950,       /* uuid */
    3220,       /* pg_lsn */
    0
};


hoop_pg_cell_e
hoop_pg_binary_action(uint32_t type_oid, uint32_t enabled)
{
    size_t  i;

    for (i = 0; hoop_pg_plain_types[i]; i++) {
        if (hoop_pg_plain_types[i] == type_oid) {
            return HOOP_PG_CELL_PASS;
        }
    }

    if (type_oid == 869 || type_oid == 650) {      /* inet, cidr */
        return (enabled & (1u << HOOP_MASK_IPV4 | 1u << HOOP_MASK_IPV6))
               ? HOOP_PG_CELL_NULL : HOOP_PG_CELL_PASS;
    }

    return HOOP_PG_CELL_DETECT_NULL;
}


int
hoop_pg_rowdesc_parse(const unsigned char *msg, size_t len,
    hoop_pg_field_t *fields, size_t max)
{
    size_t                i, n;
    const unsigned char  *p, *end, *nul;

    if (len < 7 || msg[0] != 'T' || hoop_pg_get32(msg + 1) + 1 != len) {
        return -1;
    }

    n = (size_t) (msg[5] << 8 | msg[6]);
    p = msg + 7;
    end = msg + len;

    for (i = 0; i < n; i++) {
        nul = memchr(p, '\0', (size_t) (end - p));

        if (nul == NULL || end - (nul + 1) < 18) {
            return -1;
        }

        if (i < max) {
            fields[i].name = (const char *) p;
            fields[i].table_oid = hoop_pg_get32(nul + 1);
            fields[i].attnum = (int16_t) (nul[5] << 8 | nul[6]);
            fields[i].type_oid = hoop_pg_get32(nul + 7);
            fields[i].format = (int16_t) (nul[17] << 8 | nul[18]);
        }

        p = nul + 19;
    }

    return (p == end) ? (int) n : -1;
}


size_t
hoop_pg_row_mask_bound(size_t len, size_t ncols)
{
    /* each cell: at worst every value a replacement; NULLs only shrink */

    return len + len / 4 * HOOP_MASK_REPLACEMENT_MAX
           + ncols * (64 + HOOP_MASK_REPLACEMENT_MAX) + 64;
}


size_t
hoop_pg_row_mask(const unsigned char *msg, size_t len,
    const hoop_pg_cell_plan_t *plan, size_t ncols,
    const hoop_mask_conf_t *detect, unsigned char *out, size_t cap,
    uint64_t counts[HOOP_PG_MASKED_KINDS])
{
    int                   found;
    size_t                i, n, cell, w;
    uint32_t              clen;
    unsigned char        *o, digits[48], masked[48 * 8];
    const unsigned char  *p, *end;

    if (len < 7 || msg[0] != 'D' || hoop_pg_get32(msg + 1) + 1 != len) {
        return 0;
    }

    n = (size_t) (msg[5] << 8 | msg[6]);

    if (n != ncols || cap < 7) {
        return (n != ncols) ? 0 : (size_t) -1;
    }

    memcpy(out, msg, 7);
    o = out + 7;
    p = msg + 7;
    end = msg + len;

    for (i = 0; i < n; i++) {
        if (end - p < 4) {
            return 0;
        }

        clen = hoop_pg_get32(p);
        p += 4;

        if (clen == 0xffffffff) {               /* NULL stays NULL */
            if ((size_t) (out + cap - o) < 4) {
                return (size_t) -1;
            }

            o = hoop_pg_put32(o, clen);
            continue;
        }

        if (clen > (size_t) (end - p)) {
            return 0;
        }

        cell = clen;

        switch (plan[i].action) {

        case HOOP_PG_CELL_NULL:
            if ((size_t) (out + cap - o) < 4) {
                return (size_t) -1;
            }

            o = hoop_pg_put32(o, 0xffffffff);

            if (counts) {
                counts[HOOP_PG_MASKED_COLUMN]++;
            }

            break;

        case HOOP_PG_CELL_COLUMN:
            if ((size_t) (out + cap - o) < 4 + 64 + cell) {
                return (size_t) -1;
            }

            w = hoop_pg_cell_mask(detect, plan[i].strategy, p, cell, o + 4);
            o = hoop_pg_put32(o, (uint32_t) w) + w;

            if (counts) {
                counts[HOOP_PG_MASKED_COLUMN]++;
            }

            break;

        case HOOP_PG_CELL_DETECT_INT8:
        case HOOP_PG_CELL_DETECT_NUMERIC:
            if ((size_t) (out + cap - o) < 4 + cell) {
                return (size_t) -1;
            }

            w = hoop_pg_binary_digits(plan[i].action
                                      == HOOP_PG_CELL_DETECT_INT8 ? 20 : 1700,
                                      p, cell, digits);
            found = 0;

            if (w > 0
                && hoop_pg_text_mask(detect, digits, w, masked,
                                     sizeof(masked), counts, &found)
                   == (size_t) -1)
            {
                found = 1;          /* could not tell: not passed */
            }

            if (found) {
                o = hoop_pg_put32(o, 0xffffffff);

            } else {
                o = hoop_pg_put32(o, (uint32_t) cell);
                memcpy(o, p, cell);
                o += cell;
            }

            break;

        case HOOP_PG_CELL_DETECT:
        case HOOP_PG_CELL_DETECT_NULL:
            if ((size_t) (out + cap - o) < 4) {
                return (size_t) -1;
            }

            w = hoop_pg_text_mask(detect, p, cell, o + 4,
                                  (size_t) (out + cap - o) - 4, counts,
                                  &found);
            if (w == (size_t) -1) {
                return w;
            }

            if (found && plan[i].action == HOOP_PG_CELL_DETECT_NULL) {
                o = hoop_pg_put32(o, 0xffffffff);   /* no half-masked int */

            } else {
                o = hoop_pg_put32(o, (uint32_t) w) + w;
            }

            break;

        default: /* HOOP_PG_CELL_PASS */
            if ((size_t) (out + cap - o) < 4 + cell) {
                return (size_t) -1;
            }

            o = hoop_pg_put32(o, (uint32_t) cell);
            memcpy(o, p, cell);
            o += cell;
        }

        p += cell;
    }

    if (p != end) {
        return 0;
    }

    (void) hoop_pg_put32(out + 1, (uint32_t) (o - out - 1));

    return (size_t) (o - out);
}


static size_t
hoop_pg_text_mask(const hoop_mask_conf_t *detect, const unsigned char *in,
    size_t len, unsigned char *out, size_t cap,
    uint64_t counts[HOOP_PG_MASKED_KINDS], int *found)
{
    size_t    i, w;
    uint64_t  c[HOOP_MASK_NTYPES];

    *found = 0;

    /* a cell that may hold escapes is read through them, as clients do */

    if (detect == NULL || detect->enabled == 0
        || (!hoop_mask_could_match(detect, in, len)
            && !hoop_mask_unescape_could(in, len)))
    {
        if (cap < len) {
            return (size_t) -1;
        }

        memcpy(out, in, len);
        return len;
    }

    w = hoop_mask_string_escaped(detect, in, len, out, cap, c);
    if (w == (size_t) -1) {
        return w;
    }

    for (i = 0; i < HOOP_MASK_NTYPES; i++) {
        if (c[i]) {
            *found = 1;

            if (counts) {
                counts[i] += c[i];
            }
        }
    }

    return w;
}


size_t
hoop_pg_binary_digits(uint32_t type_oid, const unsigned char *cell,
    size_t len, unsigned char *out)
{
    int                   i, ndigits, weight, d;
    size_t                o;
    uint64_t              u;
    unsigned char         tmp[24];
    const unsigned char  *p;

    o = 0;

    if (type_oid == 20) {
        if (len != 8) {
            return 0;
        }

        u = (uint64_t) hoop_pg_get32(cell) << 32 | hoop_pg_get32(cell + 4);

        if (u >> 63) {
            out[o++] = '-';
            u = ~u + 1;
        }

        i = 0;

        do {
            tmp[i++] = (unsigned char) ('0' + u % 10);
            u /= 10;
        } while (u);

        while (i) {
            out[o++] = tmp[--i];
        }

        return o;
    }

    /* numeric: ndigits, weight, sign, dscale, then base-10000 digits */

    if (type_oid != 1700 || len < 8) {
        return 0;
    }

    ndigits = cell[0] << 8 | cell[1];
    weight = (int16_t) (cell[2] << 8 | cell[3]);

    if (len != 8 + 2 * (size_t) ndigits || weight > 9) {
        return 0;
    }

    if ((cell[4] << 8 | cell[5]) == 0x4000) {
        out[o++] = '-';
    }

    p = cell + 8;

    if (weight < 0) {
        out[o++] = '0';
        return o;
    }

    for (i = 0; i <= weight; i++) {
        d = (i < ndigits) ? (p[2 * i] << 8 | p[2 * i + 1]) : 0;

        if (d > 9999) {
            return 0;
        }

        if (i == 0) {
            o += (size_t) snprintf((char *) out + o, 8, "%d", d);

        } else {
            o += (size_t) snprintf((char *) out + o, 8, "%04d", d);
        }
    }

    return o;
}


size_t
hoop_pg_cell_mask(const hoop_mask_conf_t *detect,
    hoop_mask_strategy_t strategy, const unsigned char *in, size_t len,
    unsigned char *out)
{
    size_t              i, keep;
    unsigned int        mdlen;
    unsigned char      *o, md[EVP_MAX_MD_SIZE];
    static const char   hex[] = "0123456789abcdef";

    switch (strategy) {

    case HOOP_MASK_PARTIAL:
        keep = (len > 8) ? 4 : 0;

        /* the kept tail starts on a character, not inside one */

        while (keep > 0 && (in[len - keep] & 0xc0) == 0x80) {
            keep--;
        }

        o = out;

        for (i = 0; i < len - keep; i++) {
            /* UTF-8 continuation bytes go with their character */
            if ((in[i] & 0xc0) != 0x80) {
                *o++ = '*';
            }
        }

        memcpy(o, in + len - keep, keep);

        return (size_t) (o - out) + keep;

    case HOOP_MASK_HASH:
        if (HMAC(EVP_sha256(), detect->key, (int) detect->key_len, in, len,
                 md, &mdlen)
            == NULL)
        {
            memcpy(out, "[MASKED]", 8);
            return 8;
        }

        memcpy(out, "[HASH:", 6);

        for (i = 0; i < 8; i++) {
            out[6 + 2 * i] = hex[md[i] >> 4];
            out[7 + 2 * i] = hex[md[i] & 0xf];
        }

        out[22] = ']';
        return 23;

    default:
        memcpy(out, "[MASKED]", 8);
        return 8;
    }
}


size_t
hoop_pg_error_mask(const unsigned char *msg, size_t len,
    const hoop_mask_conf_t *detect, unsigned char *out, size_t cap,
    uint64_t counts[HOOP_PG_MASKED_KINDS])
{
    return hoop_pg_error_rewrite(msg, len, detect, NULL, out, cap, counts);
}


size_t
hoop_pg_error_withhold(const unsigned char *msg, size_t len,
    const char *message, unsigned char *out, size_t cap)
{
    return hoop_pg_error_rewrite(msg, len, NULL, message, out, cap, NULL);
}


/*
 * An ErrorResponse or NoticeResponse field by field: the codes and
 * places copied, the texts through the detectors, or, with withheld, the
 * message replaced by it and the texts quoting values left out.
 */
static size_t
hoop_pg_error_rewrite(const unsigned char *msg, size_t len,
    const hoop_mask_conf_t *detect, const char *withheld, unsigned char *out,
    size_t cap, uint64_t counts[HOOP_PG_MASKED_KINDS])
{
    int                   found;
    size_t                w;
    unsigned char        *o;
    const unsigned char  *p, *end, *nul, *text;

    if (len < 6 || (msg[0] != 'E' && msg[0] != 'N')
        || hoop_pg_get32(msg + 1) + 1 != len || msg[len - 1] != '\0'
        || cap < 6)
    {
        return (len < 6 || cap >= 6) ? 0 : (size_t) -1;
    }

    out[0] = msg[0];
    o = out + 5;
    p = msg + 5;
    end = msg + len - 1;

    while (p < end) {
        nul = memchr(p + 1, '\0', (size_t) (end - p));
        if (nul == NULL) {
            return 0;
        }

        text = p + 1;
        w = (size_t) (nul - text);

        if (withheld != NULL) {
            if (*p == 'D' || *p == 'H' || *p == 'W' || *p == 'q'
                || *p == 'p')
            {
                p = nul + 1;                /* they quote values */
                continue;
            }

            if (*p == 'M') {
                text = (const unsigned char *) withheld;
                w = strlen(withheld);
            }
        }

        if ((size_t) (out + cap - o) < 2) {
            return (size_t) -1;
        }

        *o++ = *p;

        switch (withheld != NULL ? 'S' : *p) {

        case 'S': case 'V': case 'C': case 'P': case 'p':
        case 'F': case 'L': case 'R':
            if ((size_t) (out + cap - o) < w + 1) {
                return (size_t) -1;
            }

            memcpy(o, text, w);
            break;

        default:
            w = hoop_pg_text_mask(detect, text, w, o,
                                  (size_t) (out + cap - o) - 1, counts,
                                  &found);
            if (w == (size_t) -1) {
                return w;
            }
        }

        o += w;
        *o++ = '\0';
        p = nul + 1;
    }

    if ((size_t) (out + cap - o) < 1) {
        return (size_t) -1;
    }

    *o++ = '\0';
    (void) hoop_pg_put32(out + 1, (uint32_t) (o - out - 1));

    return (size_t) (o - out);
}


/*
 * One NUL-terminated text at *in (before end), masked or copied to *o
 * (before oend); both move past it.  0, -1 (no room) or 1 (malformed).
 */
static int
hoop_pg_names_text(const hoop_mask_conf_t *detect, int mask,
    const unsigned char **in, const unsigned char *end, unsigned char **o,
    const unsigned char *oend, uint64_t counts[HOOP_PG_MASKED_KINDS])
{
    int                   found;
    size_t                w, n;
    const unsigned char  *nul;

    nul = memchr(*in, '\0', (size_t) (end - *in));
    if (nul == NULL) {
        return 1;
    }

    n = (size_t) (nul - *in);

    if ((size_t) (oend - *o) < 1) {
        return -1;
    }

    if (mask) {
        w = hoop_pg_text_mask(detect, *in, n, *o, (size_t) (oend - *o) - 1,
                              counts, &found);
        if (w == (size_t) -1) {
            return -1;
        }

    } else {
        if ((size_t) (oend - *o) < n + 1) {
            return -1;
        }

        memcpy(*o, *in, n);
        w = n;
    }

    *o += w;
    *(*o)++ = '\0';
    *in = nul + 1;

    return 0;
}


size_t
hoop_pg_names_mask(const unsigned char *msg, size_t len,
    const hoop_mask_conf_t *detect, unsigned char *out, size_t cap,
    uint64_t counts[HOOP_PG_MASKED_KINDS])
{
    int                   rc;
    size_t                fixed, i, n;
    unsigned char        *o;
    const unsigned char  *p, *end, *oend;

    if (len < 5 || hoop_pg_get32(msg + 1) + 1 != len
        || (msg[0] != 'A' && msg[0] != 'S' && msg[0] != 'T'))
    {
        return 0;
    }

    if (cap < len) {
        return (size_t) -1;
    }

    /* the fixed part before the texts, and after each (RowDescription) */

    fixed = (msg[0] == 'A') ? 4 : (msg[0] == 'T') ? 2 : 0;

    if (len < 5 + fixed) {
        return 0;
    }

    memcpy(out, msg, 5 + fixed);
    p = msg + 5 + fixed;
    o = out + 5 + fixed;
    end = msg + len;
    oend = out + cap;

    switch (msg[0]) {

    case 'A':                           /* channel, payload */
        n = 2;
        break;

    case 'S':                           /* name (the server's), value */
        rc = hoop_pg_names_text(detect, 0, &p, end, &o, oend, counts);
        if (rc != 0) {
            return (rc < 0) ? (size_t) -1 : 0;
        }

        n = 1;
        break;

    default:                            /* 'T': name, 18 bytes, each */
        n = (size_t) (msg[5] << 8 | msg[6]);
    }

    for (i = 0; i < n; i++) {
        rc = hoop_pg_names_text(detect, 1, &p, end, &o, oend, counts);
        if (rc != 0) {
            return (rc < 0) ? (size_t) -1 : 0;
        }

        if (msg[0] != 'T') {
            continue;
        }

        if ((size_t) (end - p) < 18) {
            return 0;
        }

        if ((size_t) (oend - o) < 18) {
            return (size_t) -1;
        }

        memcpy(o, p, 18);
        o += 18;
        p += 18;
    }

    if (p != end) {
        return 0;
    }

    (void) hoop_pg_put32(out + 1, (uint32_t) (o - out - 1));

    return (size_t) (o - out);
}


/*
 * Whether detectors find a value in a cell of a type not known, by its
 * bytes and, eight of them, as an int8's digits; scratch (room bytes) is
 * written over.  When there is not room enough to tell, it is found.
 */
static int
hoop_pg_cell_found(const hoop_mask_conf_t *detect, const unsigned char *p,
    size_t len, unsigned char *scratch, size_t room,
    uint64_t counts[HOOP_PG_MASKED_KINDS])
{
    int            found;
    size_t         w;
    unsigned char  digits[48], masked[96];

    if (hoop_pg_text_mask(detect, p, len, scratch, room, counts, &found)
        == (size_t) -1)
    {
        return 1;
    }

    if (found || len != 8) {
        return found;
    }

    w = hoop_pg_binary_digits(20, p, len, digits);

    if (w > 0
        && hoop_pg_text_mask(detect, digits, w, masked, sizeof(masked),
                             counts, &found)
           == (size_t) -1)
    {
        return 1;
    }

    return found;
}


size_t
hoop_pg_copy_binary_mask(const unsigned char *msg, size_t len,
    const hoop_mask_conf_t *detect, unsigned char *out, size_t cap,
    uint64_t counts[HOOP_PG_MASKED_KINDS])
{
    size_t                i, n, head, field;
    unsigned char        *o;
    const unsigned char  *p, *end;
    static const char     signature[] = "PGCOPY\n\377\r\n";

    if (len < 5 || msg[0] != 'd' || hoop_pg_get32(msg + 1) + 1 != len) {
        return 0;
    }

    if (cap < len) {
        return (size_t) -1;
    }

    p = msg + 5;
    end = msg + len;

    /* the file header: signature, flags, extension area */

    head = 0;

    if ((size_t) (end - p) >= 11 && memcmp(p, signature, 11) == 0) {
        if ((size_t) (end - p) < 19
            || hoop_pg_get32(p + 15) > (size_t) (end - p) - 19)
        {
            return 0;
        }

        head = 19 + hoop_pg_get32(p + 15);
    }

    memcpy(out, msg, 5 + head);
    o = out + 5 + head;
    p += head;

    if (p == end) {
        return len;                         /* the header alone */
    }

    if (end - p < 2) {
        return 0;
    }

    n = (size_t) (p[0] << 8 | p[1]);
    memcpy(o, p, 2);
    o += 2;
    p += 2;

    if (n == 0xffff) {                      /* the trailer */
        return (p == end) ? len : 0;
    }

    for (i = 0; i < n; i++) {
        if (end - p < 4) {
            return 0;
        }

        field = hoop_pg_get32(p);
        p += 4;

        if (field == 0xffffffff) {
            o = hoop_pg_put32(o, 0xffffffff);
            continue;
        }

        if (field > (size_t) (end - p)) {
            return 0;
        }

        /* out has room for the field after o: the output only shrinks */

        if (hoop_pg_cell_found(detect, p, field, o + 4,
                               (size_t) (out + cap - o) - 4, counts))
        {
            o = hoop_pg_put32(o, 0xffffffff);

        } else {
            o = hoop_pg_put32(o, (uint32_t) field);
            memcpy(o, p, field);
            o += field;
        }

        p += field;
    }

    if (p != end) {
        return 0;
    }

    (void) hoop_pg_put32(out + 1, (uint32_t) (o - out - 1));

    return (size_t) (o - out);
}


size_t
hoop_pg_names_withhold(const unsigned char *msg, size_t len,
    unsigned char *out, size_t cap)
{
    size_t                keep;
    const unsigned char  *p, *end, *nul;
    static const char     masked[] = "[MASKED]";

    if (len < 5 || hoop_pg_get32(msg + 1) + 1 != len
        || (msg[0] != 'A' && msg[0] != 'S'))
    {
        return 0;
    }

    /* what is kept: the process ID and channel, or the setting's name */

    p = msg + 5 + (msg[0] == 'A' ? 4 : 0);
    end = msg + len;

    if (p >= end || (nul = memchr(p, '\0', (size_t) (end - p))) == NULL
        || memchr(nul + 1, '\0', (size_t) (end - nul - 1)) == NULL)
    {
        return 0;
    }

    if (msg[0] == 'S'
        && ((size_t) (nul - p) != sizeof("application_name") - 1
            || memcmp(p, "application_name", (size_t) (nul - p)) != 0))
    {
        if (cap < len) {
            return (size_t) -1;
        }

        memcpy(out, msg, len);
        return len;
    }

    keep = (size_t) (nul + 1 - msg);

    if (cap < keep + sizeof(masked)) {
        return (size_t) -1;
    }

    memcpy(out, msg, keep);
    memcpy(out + keep, masked, sizeof(masked));
    (void) hoop_pg_put32(out + 1, (uint32_t) (keep + sizeof(masked) - 1));

    return keep + sizeof(masked);
}
