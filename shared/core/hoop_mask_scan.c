/*
 * Copyright (C) nginx-hoop authors
 *
 * Detectors and their validators.  Every validator reads the buffer
 * through peek(), which answers -1 past the end and remembers that it
 * did: a verdict that needed unseen bytes becomes HOOP_MASK_SCAN_MORE,
 * so a value split across two pieces of a stream is judged whole.
 */

#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#if defined(__x86_64__) && defined(__GNUC__)
#define HOOP_MASK_AVX2  1
#include <immintrin.h>
#endif

#include "hoop_base64.h"
#include "hoop_mask.h"
#include "hoop_mask_scan.h"


#define UNKNOWN           0x100     /* a byte before what we can see */

#define EMAIL_LOCAL_MAX   64
#define EMAIL_DOMAIN_MAX  253
#define JWT_HEADER_MAX    2048
#define IPV6_TEXT_MAX     45
#define PEM_LABEL_MAX     40
/* enough base64 for "-----BEGIN <label> PRIVATE KEY-----" at any shift */
#define PEM_B64_READ      96
#define BEARER_MIN        8
#define BEARER_WORD_MAX   40


typedef struct {
    const unsigned char  *buf;
    size_t                len;
    size_t                floor;        /* no value starts before this */
    uint32_t              enabled;
    int                   prev;
    int                   final;
    int                   more;         /* a read went past the end */
    size_t                colons_done;  /* colons before this: judged */
} scan_view_t;


static int card_separator(int c);


static int
peek(scan_view_t *v, size_t i)
{
    if (i < v->len) {
        return v->buf[i];
    }

    if (!v->final) {
        v->more = 1;
    }

    return -1;
}


/* the byte before position i, which may lie before the buffer */
static int
peek_back(scan_view_t *v, size_t i, size_t n)
{
    if (i >= n) {
        return v->buf[i - n];
    }

    return (i + 1 == n) ? v->prev : UNKNOWN;
}


static int
is_digit(int c)
{
    return c >= '0' && c <= '9';
}


static int
is_upper(int c)
{
    return c >= 'A' && c <= 'Z';
}


static int
is_alpha(int c)
{
    return (c >= 'a' && c <= 'z') || is_upper(c);
}


static int
is_alnum(int c)
{
    return is_digit(c) || is_alpha(c);
}


static int
is_hex(int c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}


/* part of a word: a value next to one is not a value of its own */
static int
is_word(int c)
{
    return is_alnum(c) || c == '_' || c == UNKNOWN || c >= 0x80;
}


static int
is_b64url(int c)
{
    return is_alnum(c) || c == '-' || c == '_';
}


static int
is_email_local(int c)
{
    return is_alnum(c) || c == '.' || c == '_' || c == '%' || c == '+'
           || c == '-';
}


/* a number ends here: not a word, an address or a decimal going on */
static int
number_ends(scan_view_t *v, size_t i)
{
    int  c;

    c = peek(v, i);

    if (is_word(c) || c == '@') {
        return 0;
    }

    /*
     * a decimal point or a dash goes on; a comma does not: it separates
     * CSV fields, a record's text, a list ("078-05-1120,1")
     */

    if ((c == '.' || c == '-') && is_digit(peek(v, i + 1))) {
        return 0;
    }

    return 1;
}


static size_t
digit_run(scan_view_t *v, size_t i, size_t max)
{
    size_t  n;

    for (n = 0; n <= max && is_digit(peek(v, i + n)); n++) {
        /* void */
    }

    return n;
}


static int
luhn_valid(const unsigned char *p, const unsigned char *end)
{
    int       d, sum, odd;

    sum = 0;
    odd = 0;

    while (end > p) {
        end--;

        if (!is_digit(*end)) {
            continue;
        }

        d = *end - '0';

        if (odd) {
            d *= 2;
            d -= (d > 9) ? 9 : 0;
        }

        sum += d;
        odd = !odd;
    }

    return sum % 10 == 0;
}


/* issuer prefixes and the lengths each issuer uses */
static int
card_issuer_valid(const char *d, size_t n)
{
    int  p2, p4;

    p2 = (d[0] - '0') * 10 + (d[1] - '0');
    p4 = p2 * 100 + (d[2] - '0') * 10 + (d[3] - '0');

    switch (d[0]) {

    case '4':
        return n == 13 || n == 16 || n == 19;

    case '5':
        return p2 >= 51 && p2 <= 55 && n == 16;

    case '2':
        return p4 >= 2221 && p4 <= 2720 && n == 16;

    case '3':
        if (p2 == 34 || p2 == 37) {
            return n == 15;
        }

        if (p4 >= 3528 && p4 <= 3589) {
            return n >= 16;
        }

        return (p2 == 36 || p2 == 38 || p2 == 39 || (p4 >= 3000 && p4 <= 3059))
               && n >= 14;

    case '6':
        return (p4 == 6011 || p2 == 65 || p2 == 62
                || (p4 >= 6440 && p4 <= 6499))
               && n >= 16;
    }

    return 0;
}


static int
card_groups_valid(const size_t *g, size_t ng)
{
    size_t  i;

    if (ng == 1) {
        return 1;
    }

    if (ng == 3 && g[0] == 4 && g[1] == 6 && (g[2] == 5 || g[2] == 4)) {
        return 1;
    }

    for (i = 0; i + 1 < ng; i++) {
        if (g[i] != 4) {
            return 0;
        }
    }

    return g[ng - 1] >= 1 && g[ng - 1] <= 4;
}


/*
 * Digit groups with separators, as numbers are written: "4111 1111",
 * "(415) 555-2671".  Collection stops where the text stops looking like
 * the number or holds more digits than max; the caller then tries the
 * groups from the longest prefix down, so a value followed by another
 * number ("4111... 2026-11-15") is still found.
 */
typedef struct {
    size_t   n;                 /* groups */
    size_t   len[6];            /* digits in each */
    size_t   end[6];            /* where each ends in the buffer */
    size_t   ndigits[6];        /* digits up to and including each */
    int      closed[6];         /* no "(" left open up to each */
    char     sep[6];            /* the separator after each, or 0 */
    char     digits[20];
} digit_groups_t;


static void
digit_groups(scan_view_t *v, size_t i, size_t max, int phone, int plus,
    digit_groups_t *g)
{
    int     c, paren, twice;
    size_t  n, k, nd, sep;

    g->n = 0;
    nd = 0;
    sep = 0;
    paren = 0;
    twice = 0;

    for ( ;; ) {
        /* "(415)", "+1 (415)", "1 (415)": a parenthesis opens an area */
        if (phone && peek(v, i) == '(' && !paren
            && (g->n == 0 || (g->n == 1 && (plus || g->digits[0] == '1'))))
        {
            paren = 1;
            i++;
        }

        n = digit_run(v, i, max - nd);

        if (n == 0 || nd + n > max) {
            return;
        }

        memcpy(g->digits + nd, v->buf + i, n);
        nd += n;
        i += n;

        g->len[g->n] = n;
        g->end[g->n] = i;
        g->ndigits[g->n] = nd;
        g->closed[g->n] = (paren != 1);
        g->sep[g->n] = 0;
        g->n++;

        if (g->n == 6) {
            return;
        }

        /* a card: one of " -", the same each time; a phone: ")", " -." */
        k = i;
        c = peek(v, k);

        if (phone && c == ')' && paren == 1) {
            paren = 2;
            c = peek(v, ++k);
        }

        if (phone ? (c == ' ' || c == '-' || c == '.')
                  : (card_separator(c) && (sep == 0 || (size_t) c == sep)))
        {
            sep = (size_t) c;
            g->sep[g->n - 1] = (char) c;
            c = peek(v, ++k);

            /* "4111  1111": doubled, if doubled each time */

            if (!phone && c == (int) sep && sep == ' ' && twice != 1) {
                twice = 2;
                c = peek(v, ++k);

            } else if (!phone && twice == 2) {
                return;

            } else {
                twice = 1;
            }
        }

        if (k == i
            || !(is_digit(c)
                 || (phone && c == '(' && !paren && g->n == 1
                     && (plus || g->digits[0] == '1'))))
        {
            return;
        }

        i = k;
    }
}


/*
 * What separates a card's groups: a space or a dash, and what agents
 * re-separate them with (a dot, a slash, an underscore, a plus: a space
 * in a form or a query string)
 */
static int
card_separator(int c)
{
    return c == ' ' || c == '-' || c == '.' || c == '/' || c == '_'
           || c == '+';
}


/* "4111" then a separator (once or twice) and four more digits */
static int
card_first_group(scan_view_t *v, size_t q)
{
    int  c;

    c = peek(v, q + 4);

    if (!card_separator(c) || digit_run(v, q, 4) != 4) {
        return 0;
    }

    if (digit_run(v, q + 5, 6) >= 4) {
        return 1;
    }

    return c == ' ' && peek(v, q + 5) == ' ' && digit_run(v, q + 6, 6) >= 4;
}


/*
 * A number a parser reads as a card's: "4111111111111111.0",
 * "4.111111111111111e15", "41111111111111110e-1", "0.41111...e16" (JSON
 * numbers, floats as Python and Java print them): its value an integer
 * with a card's digits.  The text from q, a number's first digit.
 */
static size_t
number_card_match(scan_view_t *v, size_t q)
{
    int            c, e, neg, fraction;
    long           point, exp;
    size_t         i, k, n, nsig;
    unsigned char  sig[40], card[20];

    i = q;
    nsig = 0;
    point = 0;
    fraction = 0;

    for ( ;; ) {
        c = peek(v, i);

        if (c == '.' && !fraction && is_digit(peek(v, i + 1))) {
            fraction = 1;
            i++;
            continue;
        }

        if (!is_digit(c)) {
            break;
        }

        i++;

        if (nsig == 0 && c == '0') {
            point -= fraction;          /* leading zeros: only the point */
            continue;
        }

        if (nsig == sizeof(sig)) {
            return 0;
        }

        sig[nsig++] = (unsigned char) c;
        point += !fraction;
    }

    exp = 0;
    e = (c == 'e' || c == 'E');

    if (e) {
        k = i + 1;
        c = peek(v, k);
        neg = (c == '-');
        k += (c == '-' || c == '+');

        if (!is_digit(peek(v, k))) {
            return 0;
        }

        while (is_digit(c = peek(v, k))) {
            if (exp > 100) {
                return 0;
            }

            exp = exp * 10 + (c - '0');
            k++;
        }

        point += neg ? -exp : exp;
        i = k;
    }

    if ((!e && !fraction) || !number_ends(v, i) || peek(v, i) == '.'
        || point < 13 || point > 19)
    {
        return 0;
    }

    /* an integer: nothing but zeros past the point */

    for (n = (size_t) point; n < nsig; n++) {
        if (sig[n] != '0') {
            return 0;
        }
    }

    for (n = 0; n < (size_t) point; n++) {
        card[n] = (n < nsig) ? sig[n] : '0';
    }

    if (!card_issuer_valid((char *) card, (size_t) point)
        || !luhn_valid(card, card + point))
    {
        return 0;
    }

    return i;
}


/* from the digits after a point at q, the number's start: a card's? */
static size_t
number_card_before(scan_view_t *v, size_t q, hoop_mask_match_t *m)
{
    size_t  p;

    for (p = q - 1; p > v->floor && is_digit(v->buf[p - 1]); p--) {
        /* void */
    }

    if (p == q - 1 || p < v->floor || is_word(peek_back(v, p, 1))
        || peek_back(v, p, 1) == '.'
        || (peek_back(v, p, 1) == '-'
            && (is_word(peek_back(v, p, 2)) || peek_back(v, p, 2) == '.')))
    {
        return 0;
    }

    m->start = p;
    m->type = HOOP_MASK_CREDIT_CARD;

    return number_card_match(v, p);
}


static size_t
card_match(scan_view_t *v, size_t p)
{
    size_t          k, nd;
    digit_groups_t  g;

    digit_groups(v, p, 19, 0, 0, &g);

    for (k = g.n; k > 0; k--) {
        nd = g.ndigits[k - 1];

        if (nd >= 13 && number_ends(v, g.end[k - 1])
            && card_groups_valid(g.len, k)
            && card_issuer_valid(g.digits, nd)
            && luhn_valid(v->buf + p, v->buf + g.end[k - 1]))
        {
            return g.end[k - 1];
        }
    }

    return 0;
}


static int
digits_value(const unsigned char *p, size_t n)
{
    int  x;

    for (x = 0; n; n--, p++) {
        x = x * 10 + (*p - '0');
    }

    return x;
}


/* ddd-dd-dddd, with the Social Security Administration's rules */
static size_t
ssn_match(scan_view_t *v, size_t p)
{
    int                   area;
    const unsigned char  *d;

    int  sep;

    /* "078-05-1120", and as it is also written: "078 05 1120", dotted */

    sep = peek(v, p + 3);

    if (digit_run(v, p, 3) != 3
        || (sep != '-' && sep != ' ' && sep != '.' && sep != '+')
        || digit_run(v, p + 4, 2) != 2 || peek(v, p + 6) != sep
        || digit_run(v, p + 7, 4) != 4)
    {
        return 0;
    }

    /*
     * spaced out, not the start of a row of numbers ("100 10 1000 7");
     * what came before is not looked at: a stream cut there no longer
     * holds it
     */

    if (sep == ' ' && peek(v, p + 11) == ' ' && is_digit(peek(v, p + 12))) {
        return 0;
    }

    if (!number_ends(v, p + 11)) {
        return 0;
    }

    d = v->buf + p;
    area = digits_value(d, 3);

    if (area == 0 || area == 666 || area >= 900
        || digits_value(d + 4, 2) == 0 || digits_value(d + 7, 4) == 0)
    {
        return 0;
    }

    return p + 11;
}


static size_t
ipv4_octets(scan_view_t *v, size_t p)
{
    int     k;
    size_t  i, n;

    i = p;

    for (k = 0; k < 4; k++) {
        if (k > 0) {
            if (peek(v, i) != '.') {
                return 0;
            }

            i++;
        }

        n = digit_run(v, i, 3);

        if (n == 0 || n > 3 || (n > 1 && v->buf[i] == '0')
            || digits_value(v->buf + i, n) > 255)
        {
            return 0;
        }

        i += n;
    }

    return i;
}


static size_t
ipv4_match(scan_view_t *v, size_t p)
{
    size_t  end;

    end = ipv4_octets(v, p);

    if (end == 0 || !number_ends(v, end)) {
        return 0;
    }

    return end;
}


/*
 * Telephone numbers: "+" and 8 to 15 digits (E.164, any grouping), or a
 * North American number written with separators: (555) 123-4567,
 * 555-123-4567, 555.123.4567, 1-555-123-4567.  Bare ten-digit runs are
 * left alone: they are more often identifiers than telephone numbers.
 */
static int
phone_groups_valid(const digit_groups_t *g, size_t n, int plus)
{
    size_t       k;
    const char  *d;

    if (!g->closed[n - 1]) {
        return 0;
    }

    d = g->digits;

    if (plus) {
        /* "+25000000.00" is an amount */
        return g->ndigits[n - 1] >= 8 && d[0] != '0'
               && !(n == 2 && g->sep[0] == '.' && g->len[1] <= 2);
    }

    k = (n == 4 && g->len[0] == 1 && d[0] == '1') ? 1 : 0;

    return n - k == 3 && g->len[k] == 3 && g->len[k + 1] == 3
           && g->len[k + 2] == 4 && d[k] >= '2' && d[k + 3] >= '2';
}


static size_t
phone_match(scan_view_t *v, size_t s)
{
    int             plus;
    size_t          k;
    digit_groups_t  g;

    plus = (v->buf[s] == '+');

    digit_groups(v, s + plus, 15, 1, plus, &g);

    for (k = g.n; k > 0; k--) {
        if (phone_groups_valid(&g, k, plus) && number_ends(v, g.end[k - 1])) {
            return g.end[k - 1];
        }
    }

    return 0;
}


/* IBAN lengths by country, from the SWIFT IBAN registry */
static const char  iban_lengths[] =
    "AD24AE23AL28AT20AZ28BA20BE16BG22BH22BI27BR29BY28CH21CR22CY28CZ24"
    "DE22DJ27DK18DO28EE20EG29ES24FI18FK18FO18FR27GB22GE22GI23GL18GR27"
    "GT28HR21HU28IE22IL23IQ23IS26IT27JO30KW30KZ20LB28LC32LI21LT20LU20"
    "LV21LY25MC27MD24ME22MK19MN20MR27MT31MU30NI28NL18NO15OM23PK24PL28"
    "PS29PT25QA29RO24RS22RU33SA24SC31SD18SE24SI19SK24SM27SO23ST25SV28"
    "TL23TN24TR26UA29VA22VG24XK20";


static size_t
iban_length(const unsigned char *cc)
{
    const char  *p;

    for (p = iban_lengths; *p; p += 4) {
        if (p[0] == cc[0] && p[1] == cc[1]) {
            return (size_t) (p[2] - '0') * 10 + (size_t) (p[3] - '0');
        }
    }

    return 0;
}


static int
iban_checksum_valid(const char *s, size_t n)
{
    int       c;
    size_t    i, k;
    unsigned  r;

    r = 0;

    for (i = 0; i < n; i++) {
        k = (i + 4) % n;            /* the first four characters move last */
        c = s[k];

        if (is_digit(c)) {
            r = (r * 10 + (unsigned) (c - '0')) % 97;

        } else {
            r = (r * 100 + (unsigned) (c - 'A' + 10)) % 97;
        }
    }

    return r == 1;
}


/* DE89 3704 0044 0532 0130 00, or without the spaces */
static size_t
iban_match(scan_view_t *v, size_t s)
{
    int       c, grouped;
    char      text[34];
    size_t    i, n, want;

    want = iban_length(v->buf + s);

    if (want == 0 || digit_run(v, s + 2, 2) < 2) {
        return 0;
    }

    memcpy(text, v->buf + s, 4);
    n = 4;
    i = s + 4;
    grouped = (peek(v, i) == ' ');

    while (n < want) {
        if (grouped && (n % 4) == 0) {
            if (peek(v, i) != ' ') {
                return 0;
            }

            i++;
        }

        c = peek(v, i);

        if (!is_digit(c) && !is_upper(c)) {
            return 0;
        }

        text[n++] = (char) c;
        i++;
    }

    if (is_word(peek(v, i)) || !iban_checksum_valid(text, n)) {
        return 0;
    }

    return i;
}


/*
 * "icon@2x.png": a domain of two labels whose first is a digit and an 'x'
 * is an image's scale suffix, the name Apple's and Android's asset
 * catalogs give every high-density image.
 */
static int
scale_suffix(scan_view_t *v, size_t first, size_t first_end, size_t labels)
{
    return labels == 2 && first_end - first == 2
           && is_digit(v->buf[first]) && (v->buf[first + 1] | 0x20) == 'x';
}


static size_t
email_match(scan_view_t *v, size_t q, size_t *start)
{
    int     c, alpha;
    size_t  s, i, label, labels, first_end;

    /*
     * A longer run is text glued before an address: its last 64
     * characters are the local part a reader cuts out of it
     */

    for (s = q; s > v->floor && q - s < EMAIL_LOCAL_MAX; s--) {
        if (!is_email_local(v->buf[s - 1])) {
            break;
        }
    }

    if (s == v->floor && q - s < EMAIL_LOCAL_MAX
        && is_email_local(peek_back(v, s, 1)))
    {
        return 0;
    }

    /* a verdict waiting for more text holds the dots before the address */
    *start = s;

    while (s < q && v->buf[s] == '.') {
        s++;
    }

    if (s == q || v->buf[q - 1] == '.') {
        return 0;
    }

    i = q + 1;
    labels = 0;
    alpha = 0;
    first_end = i;

    for ( ;; ) {
        label = i;
        alpha = 1;

        while (i - q <= EMAIL_DOMAIN_MAX) {
            c = peek(v, i);

            if (!is_alnum(c) && c != '-') {
                break;
            }

            alpha &= is_alpha(c);
            i++;
        }

        /*
         * the last label ends before a '-' that follows it (text, not the
         * domain: "ada@example.com--billing", "ada@example.com-"), and at
         * its letters when more follows them ("com-2024")
         */

        if (labels > 0 && i > label && v->buf[label] != '-'
            && !(peek(v, i) == '.' && is_alnum(peek(v, i + 1)))
            && (v->buf[i - 1] == '-' || !alpha))
        {
            for (c = 0; label + c < i && is_alpha(v->buf[label + c]); c++) {
                /* void */
            }

            if (c >= 2 && label + c < i && v->buf[label + c] == '-') {
                i = label + c;
                alpha = 1;
            }
        }

        if (i == label || i - label > 63 || i - q > EMAIL_DOMAIN_MAX
            || v->buf[label] == '-' || v->buf[i - 1] == '-')
        {
            return 0;
        }

        if (labels++ == 0) {
            first_end = i;
        }

        if (peek(v, i) == '.' && is_alnum(peek(v, i + 1))) {
            i++;
            continue;
        }

        break;
    }

    if (labels < 2 || !alpha || i - label < 2
        || scale_suffix(v, q + 1, first_end, labels))
    {
        return 0;
    }

    if (!v->more) {
        *start = s;
    }

    return i;
}


static size_t
ipv6_groups(scan_view_t *v, size_t s, int *digit)
{
    int       c, dbl;
    size_t    i, n, groups, end;

    i = s;
    dbl = 0;
    groups = 0;
    end = s;

    if (peek(v, i) == ':') {
        if (peek(v, i + 1) != ':') {
            return 0;
        }

        dbl = 1;
        i += 2;
        end = i;
    }

    for ( ;; ) {
        for (n = 0; n < 5 && is_hex(c = peek(v, i + n)); n++) {
            *digit |= is_digit(c);
        }

        if (n == 0 || n > 4) {
            if (n > 4) {
                return 0;
            }

            break;
        }

        /* a dotted quad ends the address: ::ffff:192.0.2.1 */
        if (peek(v, i + n) == '.' && groups <= 6) {
            n = ipv4_octets(v, i);

            if (n == 0) {
                return 0;
            }

            groups += 2;
            end = n;
            break;
        }

        groups++;
        i += n;
        end = i;

        if (peek(v, i) != ':' || groups == 8) {
            break;
        }

        if (peek(v, i + 1) == ':') {
            if (dbl) {
                return 0;
            }

            dbl = 1;
            i += 2;
            end = i;
            continue;
        }

        if (!is_hex(peek(v, i + 1))) {
            break;
        }

        i++;
    }

    if (groups == 0 || (dbl ? groups > 7 : groups != 8)) {
        return 0;
    }

    return end;
}


/*
 * An address is a whole run of hex digits and colons, so the run's first
 * byte is the only place one can start: the other colons of a failed run
 * need no look (times like 12:28:41 cost one, not one per colon).  Other
 * anchors inside the run still get theirs: "card:4111..." is a card.
 */
static size_t
ipv6_match(scan_view_t *v, size_t q, size_t *start)
{
    int     c, digit;
    size_t  s, end;

    for (s = q; s > v->floor && q - s < IPV6_TEXT_MAX; s--) {
        c = v->buf[s - 1];

        if (!is_hex(c) && c != ':') {
            break;
        }
    }

    for (end = q + 1; end - s <= IPV6_TEXT_MAX && end < v->len; end++) {
        c = v->buf[end];

        if (!is_hex(c) && c != ':') {
            break;
        }
    }

    v->colons_done = end;

    c = peek_back(v, s, 1);

    if (is_word(c) || c == ':' || c == '.') {
        return 0;
    }

    *start = s;
    digit = 0;
    end = ipv6_groups(v, s, &digit);

    if (end == 0 || !digit || end - s > IPV6_TEXT_MAX) {
        return 0;
    }

    c = peek(v, end);

    if (is_word(c) || c == ':' || (c == '.' && is_digit(peek(v, end + 1)))) {
        return 0;
    }

    return end;
}


/* AWS access key ids: AKIA (long-term) or ASIA (temporary) + 16 */
static size_t
aws_key_match(scan_view_t *v, size_t q)
{
    int     c;
    size_t  i;

    if (peek(v, q + 2) != 'I' || peek(v, q + 3) != 'A') {
        return 0;
    }

    for (i = q + 4; i < q + 20; i++) {
        c = peek(v, i);

        if (!is_digit(c) && !is_upper(c)) {
            return 0;
        }
    }

    return is_word(peek(v, i)) ? 0 : i;
}


/* eyJ<header>.ey: a JWS; the rest of it is swallowed as it arrives */
static size_t
jwt_match(scan_view_t *v, size_t q)
{
    size_t  i;

    if (peek(v, q + 2) != 'J') {
        return 0;
    }

    for (i = q + 3; i - q <= JWT_HEADER_MAX && is_b64url(peek(v, i)); i++) {
        /* void */
    }

    if (i - q < 10 || i - q > JWT_HEADER_MAX || peek(v, i) != '.'
        || peek(v, i + 1) != 'e' || peek(v, i + 2) != 'y')
    {
        return 0;
    }

    return i + 3;
}


int
hoop_mask_token_byte(unsigned type, unsigned char c)
{
    if (is_b64url(c) || c == '.') {
        return 1;
    }

    if (type == HOOP_MASK_PRIVATE_KEY) {
        /* a key block in base64 (line breaks: the caller's to judge) */
        return c == '+' || c == '/' || c == '=';
    }

    return type == HOOP_MASK_BEARER_TOKEN
           && (c == '~' || c == '+' || c == '/' || c == '=');
}


/*
 * A token holds a digit, a capital or a sign somewhere early; words of
 * small letters after "bearer" ("the ring bearer returned.", "a bearer
 * well-known") are prose.  A run of them longer than a word is a token
 * all the same.
 */
static int
bearer_not_a_word(scan_view_t *v, size_t t)
{
    int     c;
    size_t  i;

    for (i = t; i < t + BEARER_WORD_MAX; i++) {
        c = peek(v, i);

        if (c < 0
            || !hoop_mask_token_byte(HOOP_MASK_BEARER_TOKEN, (unsigned char) c))
        {
            return 0;
        }

        if ((c < 'a' || c > 'z') && c != '.' && c != '-') {
            return 1;
        }
    }

    return 1;
}


static size_t
bearer_match(scan_view_t *v, size_t q, size_t *keep)
{
    int     c;
    size_t  i, t;

    static const char  word[] = "bearer";

    for (i = 0; i < 6; i++) {
        if ((peek(v, q + i) | 0x20) != word[i]) {
            return 0;
        }
    }

    for (i = q + 6; i < q + 10 && peek(v, i) == ' '; i++) {
        /* void */
    }

    if (i == q + 6) {
        return 0;
    }

    t = i;

    for ( ; i < t + BEARER_MIN; i++) {
        c = peek(v, i);

        if (c < 0 || c == '='
            || !hoop_mask_token_byte(HOOP_MASK_BEARER_TOKEN, (unsigned char) c))
        {
            return 0;
        }
    }

    if (!bearer_not_a_word(v, t)) {
        return 0;
    }

    *keep = t - q;

    return i;
}


static int private_key_tail(scan_view_t *v, size_t at, const char *tail);


/* -----BEGIN ... PRIVATE KEY----- opens a block swallowed up to its END */
static size_t
private_key_match(scan_view_t *v, size_t q)
{
    int     c;
    size_t  i, label;

    static const char  begin[] = "-----BEGIN ";
    static const char  tail[] = "PRIVATE KEY-----";
    static const char  pgp_tail[] = "PRIVATE KEY BLOCK-----";

    for (i = 0; i < sizeof(begin) - 1; i++) {
        if (peek(v, q + i) != begin[i]) {
            return 0;
        }
    }

    label = q + i;

    for (i = label; i - label <= PEM_LABEL_MAX; i++) {
        c = peek(v, i);

        if (!is_upper(c) && !is_digit(c) && c != ' ') {
            break;
        }
    }

    if (i - label < 11 || i - label > PEM_LABEL_MAX) {
        return 0;
    }

    /*
     * the label ends in "PRIVATE KEY" (or "PRIVATE KEY BLOCK": PGP) and the
     * line in "-----"
     */

    if (private_key_tail(v, i - 11, tail)) {
        return i - 11 + sizeof(tail) - 1;
    }

    if (i - label >= 17 && private_key_tail(v, i - 17, pgp_tail)) {
        return i - 17 + sizeof(pgp_tail) - 1;
    }

    return 0;
}


static int
private_key_tail(scan_view_t *v, size_t at, const char *tail)
{
    size_t  k;

    for (k = 0; tail[k] != '\0'; k++) {
        if (peek(v, at + k) != (unsigned char) tail[k]) {
            return 0;
        }
    }

    return 1;
}


static int private_key_b64_line(const unsigned char *plain, size_t d);


/*
 * A key block in base64, as Kubernetes secrets, kubeconfig's
 * client-key-data and `base64 key.pem` carry it: "LS0t" is "---" at a
 * quantum's start, which every shift of "-----BEGIN " has.  What it
 * decodes to is read as a key block's first line, across the line breaks
 * and indents a narrow wrapping puts in it; the rest of the base64 text
 * is swallowed as it arrives.
 */
static size_t
private_key_b64_match(scan_view_t *v, size_t q)
{
    int            c;
    size_t         i, n, d;
    hoop_base64_t  b;
    unsigned char  text[PEM_B64_READ], plain[PEM_B64_READ];

    for (i = q, n = 0; n < PEM_B64_READ; i++) {
        c = peek(v, i);

        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
            continue;
        }

        if (c == '\\' && peek(v, i + 1) == 'n') {
            i++;
            continue;
        }

        if (c < 0 || !(is_alnum(c) || c == '+' || c == '/')) {
            return 0;
        }

        text[n++] = (unsigned char) c;

        if (n % 4 != 0) {
            continue;
        }

        hoop_base64_init(&b);
        d = hoop_base64_feed(&b, text, n, plain);

        /* "-----B", "---BEG" or "----BE" first, or no key block at all */

        if (n == 8
            && memcmp(plain, "-----B", 6) != 0
            && memcmp(plain, "---BEG", 6) != 0
            && memcmp(plain, "----BE", 6) != 0)
        {
            return 0;
        }

        if (n >= 16 && private_key_b64_line(plain, d)) {
            return i + 1;
        }
    }

    return 0;
}


/*
 * Whether decoded text begins as a key block's first line: "---", as many
 * more dashes as the shift left, then "BEGIN ... PRIVATE KEY-----".
 */
static int
private_key_b64_line(const unsigned char *plain, size_t d)
{
    size_t         i;
    scan_view_t    line;
    unsigned char  dashed[PEM_B64_READ];

    for (i = 0; i < d && i < 5 && plain[i] == '-'; i++) {
        /* void */
    }

    if (i < 3) {
        return 0;
    }

    memcpy(dashed, "-----", 5);
    memcpy(dashed + 5, plain + i, d - i);

    memset(&line, 0, sizeof(scan_view_t));
    line.buf = dashed;
    line.len = 5 + d - i;
    line.final = 1;
    line.prev = -1;

    return private_key_match(&line, 0) != 0;
}


/*
 * Most digit runs are plain numbers (ids, amounts, timestamps); the run's
 * length and the bytes around it say so before any validator runs.
 */
static int
digit_run_plain(int before, size_t run, int after, int first)
{
    if (is_upper(before) || before == '+' || before == '(') {
        return 0;                               /* IBAN, phone */
    }

    if (run >= 20 || (run >= 5 && run <= 12)) {
        return 1;
    }

    if (run >= 13) {
        return 0;                               /* card */
    }

    switch (after) {

    case '.':
        return run == 4;                        /* IPv4, phone */

    case ' ':
    case '-':
    case '+':
        return !(run >= 3 || (run == 1 && first == '1'));

    default:
        return 1;
    }
}


/* Runs the validators an anchor at q can start; 0: none matched. */
static size_t
digit_anchor(scan_view_t *v, size_t q, hoop_mask_match_t *m, size_t *skip)
{
    int       c, c2;
    size_t    end, run;

    run = digit_run(v, q, 20);
    *skip = q + run;
    c = peek_back(v, q, 1);
    c2 = peek(v, q + run);

    /*
     * a number written as a card's by a parser: a fraction of zeros, an
     * exponent; a sign before it ("-4111...") is not part of a longer
     * number unless a word or a number comes before the sign
     */

    if ((v->enabled & (1u << HOOP_MASK_CREDIT_CARD))
        && !is_word(c) && c != '.'
        && (c != '-' || !(is_word(peek_back(v, q, 2))
                          || peek_back(v, q, 2) == '.')))
    {
        /* (13 digits or more: one run of 7 on either side of the point) */

        if ((c2 == '.' && (run >= 7 || digit_run(v, q + run + 1, 7) >= 7))
            || ((c2 == 'e' || c2 == 'E') && run >= 13))
        {
            m->start = q;
            m->type = HOOP_MASK_CREDIT_CARD;

            if ((end = number_card_match(v, q))) {
                return end;
            }
        }

        if (c == '-' && run >= 13 && run <= 19) {
            m->start = q;
            m->type = HOOP_MASK_CREDIT_CARD;
            return card_match(v, q);
        }
    }

    if ((v->enabled & (1u << HOOP_MASK_CREDIT_CARD)) && run == 4
        && !is_word(c) && c != '.' && c != '-' && card_first_group(v, q))
    {
        m->start = q;
        m->type = HOOP_MASK_CREDIT_CARD;

        if ((end = card_match(v, q))) {
            return end;
        }
    }

    if (digit_run_plain(c, run, c2, v->buf[q])) {
        return 0;
    }

    if (is_alpha(c)) {
        c2 = peek_back(v, q, 2);

        if ((v->enabled & (1u << HOOP_MASK_IBAN)) && q >= v->floor + 2
            && is_upper(c) && is_upper(c2)
            && !is_word(peek_back(v, q, 3)))
        {
            m->start = q - 2;
            m->type = HOOP_MASK_IBAN;
            return iban_match(v, q - 2);
        }

        return 0;
    }

    /*
     * the digits after a point, twelve or more: the number they end may
     * be read as a card's ("4.111111111111111e15"), from its start
     */

    if (c == '.' && run >= 12
        && (v->enabled & (1u << HOOP_MASK_CREDIT_CARD)))
    {
        return number_card_before(v, q, m);
    }

    if (is_word(c) || c == '.') {
        return 0;
    }

    if ((c == '+' || c == '(') && q > v->floor
        && (v->enabled & (1u << HOOP_MASK_PHONE))
        && !is_word(peek_back(v, q, 2)))
    {
        m->start = q - 1;
        m->type = HOOP_MASK_PHONE;

        end = phone_match(v, q - 1);

        /* not "(415) 555-2671": the digits may still be "(078-05-1120," */

        if (end || v->more) {
            return end;
        }
    }

    /*
     * a run after a '-' is part of a longer number ("2024-01-15",
     * "12-078-05-1120"); after a word's '-' only an SSN's shape is looked
     * at ("ID-078-05-1120"): an identifier after one ("ORD-4111...") is
     * not a card
     */

    if (c == '-') {
        if (!(run == 3 && q >= v->floor + 2 && is_alpha(peek_back(v, q, 2))
              && peek(v, q + run) == '-'
              && (v->enabled & (1u << HOOP_MASK_US_SSN))))
        {
            return 0;
        }

        m->start = q;
        m->type = HOOP_MASK_US_SSN;

        return ssn_match(v, q);
    }

    c = peek(v, q + run);
    m->start = q;

    if ((c == '-' || c == ' ' || c == '.' || c == '+') && run == 3
        && (v->enabled & (1u << HOOP_MASK_US_SSN)))
    {
        m->type = HOOP_MASK_US_SSN;

        if ((end = ssn_match(v, q))) {
            return end;
        }
    }

    if (c == '.' && run <= 3 && (v->enabled & (1u << HOOP_MASK_IPV4))) {
        m->type = HOOP_MASK_IPV4;

        if ((end = ipv4_match(v, q))) {
            return end;
        }
    }

    if ((run >= 13
         || (run == 4 && (c == ' ' || c == '-')
             && digit_run(v, q + 5, 6) >= 4))
        && (v->enabled & (1u << HOOP_MASK_CREDIT_CARD)))
    {
        m->type = HOOP_MASK_CREDIT_CARD;

        if ((end = card_match(v, q))) {
            return end;
        }
    }

    if (run <= 3 && (c == ' ' || c == '-' || c == '.')
        && (v->enabled & (1u << HOOP_MASK_PHONE)))
    {
        m->type = HOOP_MASK_PHONE;
        return phone_match(v, q);
    }

    return 0;
}


static size_t
anchor_match(scan_view_t *v, size_t q, hoop_mask_match_t *m, size_t *skip)
{
    int  c;

    c = v->buf[q];
    *skip = q + 1;
    m->start = q;
    m->keep = 0;
    m->open = 0;

    if (is_digit(c)) {
        return digit_anchor(v, q, m, skip);
    }

    switch (c) {

    case '@':
        m->type = HOOP_MASK_EMAIL;
        return email_match(v, q, &m->start);

    case ':':
        m->type = HOOP_MASK_IPV6;
        return ipv6_match(v, q, &m->start);

    case '-':
        m->type = HOOP_MASK_PRIVATE_KEY;
        m->open = 1;
        return private_key_match(v, q);

    case 'L':
        m->type = HOOP_MASK_PRIVATE_KEY;
        m->open = 2;
        return private_key_b64_match(v, q);

    case 'e':
        if (is_b64url(peek_back(v, q, 1))) {
            return 0;
        }

        m->type = HOOP_MASK_JWT;
        m->open = 1;
        return jwt_match(v, q);

    case 'A':
        if (is_word(peek_back(v, q, 1))) {
            return 0;
        }

        m->type = HOOP_MASK_AWS_KEY;
        return aws_key_match(v, q);

    default:    /* 'B', 'b' */
        if (is_word(peek_back(v, q, 1))) {
            return 0;
        }

        m->type = HOOP_MASK_BEARER_TOKEN;
        m->open = 1;
        return bearer_match(v, q, &m->keep);
    }
}


typedef struct {
    int  digit, at, colon, dash, ey, ak, be;
    int  avx2;
} scan_anchors_t;


static void
anchors_init(scan_anchors_t *a, uint32_t enabled)
{
    a->digit = (enabled & ((1u << HOOP_MASK_CREDIT_CARD)
                           | (1u << HOOP_MASK_IBAN) | (1u << HOOP_MASK_US_SSN)
                           | (1u << HOOP_MASK_PHONE)
                           | (1u << HOOP_MASK_IPV4))) != 0;
    a->at = (enabled & (1u << HOOP_MASK_EMAIL)) != 0;
    a->colon = (enabled & (1u << HOOP_MASK_IPV6)) != 0;
    a->dash = (enabled & (1u << HOOP_MASK_PRIVATE_KEY)) != 0;
    a->ey = (enabled & (1u << HOOP_MASK_JWT)) != 0;
    a->ak = (enabled & (1u << HOOP_MASK_AWS_KEY)) != 0;
    a->be = (enabled & (1u << HOOP_MASK_BEARER_TOKEN)) != 0;

#if (HOOP_MASK_AVX2)
    a->avx2 = __builtin_cpu_supports("avx2");
#else
    a->avx2 = 0;
#endif
}


/* whether byte c, or what follows it, may be x (-1: past the end) */
static int
may_be(int c, int x)
{
    return c < 0 || c == x;
}


/*
 * The byte at p[i] as anchors16() judges it, for the ends of the buffer:
 * prev is the byte before p, avail the bytes from p[i] on.
 */
static int
anchor_byte(const scan_anchors_t *a, const unsigned char *p, size_t i,
    size_t avail, int prev)
{
    int  b, c, n, n2;

    b = i ? p[i - 1] : prev;
    c = p[i];
    n = (avail > 1) ? p[i + 1] : -1;
    n2 = (avail > 2) ? p[i + 2] : -1;

    return (a->digit && is_digit(c) && !is_digit(b))
           || (a->at && c == '@')
           || (a->colon && c == ':' && (is_hex(b) || may_be(n, ':')))
           || (a->dash && c == '-' && may_be(n, '-') && may_be(n2, '-'))
           || (a->dash && c == 'L' && may_be(n, 'S') && may_be(n2, '0'))
           || (a->ey && c == 'e' && may_be(n, 'y') && may_be(n2, 'J'))
           || (a->ak && c == 'A' && (may_be(n, 'K') || n == 'S')
               && may_be(n2, 'I'))
           || (a->be && (c | 0x20) == 'b' && (n < 0 || (n | 0x20) == 'e')
               && (n2 < 0 || (n2 | 0x20) == 'a'));
}


#if defined(__SSE2__)

#define eq8(v, c)  _mm_cmpeq_epi8(v, _mm_set1_epi8(c))


static uint32_t
mask16(__m128i v)
{
    return (uint32_t) _mm_movemask_epi8(v);
}


static __m128i
in_range(__m128i v, char lo, char n)
{
    __m128i  t;

    t = _mm_sub_epi8(v, _mm_set1_epi8(lo));

    return _mm_cmpeq_epi8(_mm_min_epu8(t, _mm_set1_epi8(n)), t);
}


/*
 * The rule of digit_anchors16() and digit_anchors32() on their bit masks
 * (bit i: byte i of the window; starts: the bits a run may start at): d
 * digits, pd digits one byte back, one '1', dot '.', sep ' ', '-', '+',
 * csep what separates a card's groups, sp ' ', up a capital, '+' or '('
 * one byte back.
 */
static uint64_t
digit_anchor_bits(uint64_t d, uint64_t pd, uint64_t one, uint64_t dot,
    uint64_t sep, uint64_t csep, uint64_t sp, uint64_t up, uint64_t starts)
{
    uint64_t  s, n, d2, d4, d8;

    s = d & ~pd & starts;
    n = ~d;
    d2 = d & d >> 1;
    d4 = d2 & d2 >> 2;
    d8 = d4 & d4 >> 4;

    return (s & up)
           | (s & n >> 1 & dot >> 1 & d >> 2)               /* 1.2.3.4 */
           | (s & one & n >> 1 & (sep | dot) >> 1)          /* 1 (415) */
           | (s & d >> 1 & n >> 2 & dot >> 2 & d >> 3)      /* 10.0.0.1 */
           | (s & d2 >> 1 & n >> 3 & (dot | sep) >> 3 & d >> 4)
                                                            /* ssn, phone */
           | (s & d4 & n >> 4 & csep >> 4
              & (d4 >> 5 | (sp >> 5 & d4 >> 6)))            /* 4111 1111 */
           | (s & d8 & d4 >> 8 & d >> 12);                  /* 13 and more */
}


/*
 * The digit runs starting in p[0..15] that may be a value, from bit
 * masks over p[-1..31]: the run's length (1-4 or 13 and more), the byte
 * after it, the byte before it.  The rest are plain numbers, the bulk of
 * the digits in JSON, logs and result rows, and never reach a validator.
 * The rule is digit_run_plain()'s, widened where a mask cannot say more.
 */
static uint32_t
digit_anchors16(const unsigned char *p)
{
    __m128i   v, w, x;
    uint32_t  d, pd, sep, csep, sp, dot, up, one;

    v = _mm_loadu_si128((const __m128i *) p);
    w = _mm_loadu_si128((const __m128i *) (p - 1));
    x = _mm_loadu_si128((const __m128i *) (p + 16));

    d = mask16(in_range(v, '0', 9)) | mask16(in_range(x, '0', 9)) << 16;
    pd = mask16(in_range(w, '0', 9));
    one = mask16(eq8(v, '1'));

    dot = mask16(eq8(v, '.')) | mask16(eq8(x, '.')) << 16;
    sp = mask16(eq8(v, ' ')) | mask16(eq8(x, ' ')) << 16;
    sep = sp | mask16(_mm_or_si128(eq8(v, '-'), eq8(v, '+')))
          | mask16(_mm_or_si128(eq8(x, '-'), eq8(x, '+'))) << 16;
    csep = sep | dot
           | mask16(_mm_or_si128(eq8(v, '/'), eq8(v, '_')))
           | mask16(_mm_or_si128(eq8(x, '/'), eq8(x, '_'))) << 16;
    up = mask16(_mm_or_si128(in_range(w, 'A', 25),
                             _mm_or_si128(eq8(w, '+'), eq8(w, '('))));

    return (uint32_t) digit_anchor_bits(d, pd, one, dot, sep, csep, sp, up,
                                        0xffff);
}


/*
 * Anchors among p[0..15]; reads p[-1] to p[31].  Cheap context drops
 * most anchors that cannot start a value: digit runs by their shape,
 * ':' only after a hex digit or before another ':', and the letter
 * anchors by three bytes ("eyJ", "AKI"/"ASI", "bea", "---", "LS0").
 */
static uint32_t
anchors16(const scan_anchors_t *a, const unsigned char *p)
{
    __m128i   v, w, n, n2, t, lv, ln, ln2;
    uint32_t  r;

    v = _mm_loadu_si128((const __m128i *) p);
    w = _mm_loadu_si128((const __m128i *) (p - 1));
    n = _mm_loadu_si128((const __m128i *) (p + 1));
    n2 = _mm_loadu_si128((const __m128i *) (p + 2));

    r = a->digit ? digit_anchors16(p) : 0;

    if (a->at) {
        r |= mask16(eq8(v, '@'));
    }

    if (a->colon) {
        t = _mm_or_si128(in_range(w, '0', 9),
                         in_range(_mm_or_si128(w, _mm_set1_epi8(0x20)),
                                  'a', 5));
        r |= mask16(_mm_and_si128(eq8(v, ':'),
                                  _mm_or_si128(t, eq8(n, ':'))));
    }

    if (a->dash) {
        t = _mm_or_si128(
                _mm_and_si128(eq8(v, '-'),
                              _mm_and_si128(eq8(n, '-'), eq8(n2, '-'))),
                _mm_and_si128(eq8(v, 'L'),
                              _mm_and_si128(eq8(n, 'S'), eq8(n2, '0'))));
        r |= mask16(t);
    }

    if (a->ey) {
        t = _mm_and_si128(eq8(n, 'y'), eq8(n2, 'J'));
        r |= mask16(_mm_and_si128(eq8(v, 'e'), t));
    }

    if (a->ak) {
        t = _mm_and_si128(_mm_or_si128(eq8(n, 'K'), eq8(n, 'S')),
                          eq8(n2, 'I'));
        r |= mask16(_mm_and_si128(eq8(v, 'A'), t));
    }

    if (a->be) {
        lv = _mm_or_si128(v, _mm_set1_epi8(0x20));
        ln = _mm_or_si128(n, _mm_set1_epi8(0x20));
        ln2 = _mm_or_si128(n2, _mm_set1_epi8(0x20));
        t = _mm_and_si128(eq8(ln, 'e'), eq8(ln2, 'a'));
        r |= mask16(_mm_and_si128(eq8(lv, 'b'), t));
    }

    return r;
}

#endif


static uint32_t
anchors_scalar(const scan_anchors_t *a, const unsigned char *p, size_t n,
    size_t avail, int prev)
{
    size_t    i;
    uint32_t  bits;

    bits = 0;

    for (i = 0; i < n; i++) {
        if (anchor_byte(a, p, i, avail - i, prev)) {
            bits |= 1u << i;
        }
    }

    return bits;
}


#if (HOOP_MASK_AVX2)

/* anchors16() for 32 bytes at a time, where the CPU has AVX2 */

#define eq32(v, c)  _mm256_cmpeq_epi8(v, _mm256_set1_epi8(c))

__attribute__((target("avx2")))
static uint64_t
mask32(__m256i v)
{
    return (uint32_t) _mm256_movemask_epi8(v);
}


__attribute__((target("avx2")))
static __m256i
in_range32(__m256i v, char lo, char n)
{
    __m256i  t;

    t = _mm256_sub_epi8(v, _mm256_set1_epi8(lo));

    return _mm256_cmpeq_epi8(_mm256_min_epu8(t, _mm256_set1_epi8(n)), t);
}


/* digit_anchors16() over p[-1..63] for runs starting in p[0..31] */
__attribute__((target("avx2")))
static uint64_t
digit_anchors32(const unsigned char *p)
{
    __m256i   v, w, x;
    uint64_t  d, pd, sep, csep, sp, dot, up, one;

    v = _mm256_loadu_si256((const __m256i *) p);
    w = _mm256_loadu_si256((const __m256i *) (p - 1));
    x = _mm256_loadu_si256((const __m256i *) (p + 32));

    d = mask32(in_range32(v, '0', 9)) | mask32(in_range32(x, '0', 9)) << 32;
    pd = mask32(in_range32(w, '0', 9));
    one = mask32(eq32(v, '1'));

    dot = mask32(eq32(v, '.')) | mask32(eq32(x, '.')) << 32;
    sp = mask32(eq32(v, ' ')) | mask32(eq32(x, ' ')) << 32;
    sep = sp | mask32(_mm256_or_si256(eq32(v, '-'), eq32(v, '+')))
          | mask32(_mm256_or_si256(eq32(x, '-'), eq32(x, '+'))) << 32;
    csep = sep | dot
           | mask32(_mm256_or_si256(eq32(v, '/'), eq32(v, '_')))
           | mask32(_mm256_or_si256(eq32(x, '/'), eq32(x, '_'))) << 32;
    up = mask32(_mm256_or_si256(in_range32(w, 'A', 25),
                                _mm256_or_si256(eq32(w, '+'),
                                                eq32(w, '('))));

    return digit_anchor_bits(d, pd, one, dot, sep, csep, sp, up, 0xffffffff);
}


/* anchors among p[0..31]; reads p[-1] to p[63] */
__attribute__((target("avx2")))
static uint32_t
anchors32(const scan_anchors_t *a, const unsigned char *p)
{
    __m256i   v, w, n, n2, t, lc;
    uint64_t  r;

    v = _mm256_loadu_si256((const __m256i *) p);
    w = _mm256_loadu_si256((const __m256i *) (p - 1));
    n = _mm256_loadu_si256((const __m256i *) (p + 1));
    n2 = _mm256_loadu_si256((const __m256i *) (p + 2));
    lc = _mm256_set1_epi8(0x20);

    r = a->digit ? digit_anchors32(p) : 0;

    if (a->at) {
        r |= mask32(eq32(v, '@'));
    }

    if (a->colon) {
        t = _mm256_or_si256(in_range32(w, '0', 9),
                            in_range32(_mm256_or_si256(w, lc), 'a', 5));
        r |= mask32(_mm256_and_si256(eq32(v, ':'),
                                     _mm256_or_si256(t, eq32(n, ':'))));
    }

    if (a->dash) {
        t = _mm256_or_si256(
                _mm256_and_si256(eq32(v, '-'),
                                 _mm256_and_si256(eq32(n, '-'),
                                                  eq32(n2, '-'))),
                _mm256_and_si256(eq32(v, 'L'),
                                 _mm256_and_si256(eq32(n, 'S'),
                                                  eq32(n2, '0'))));
        r |= mask32(t);
    }

    if (a->ey) {
        t = _mm256_and_si256(eq32(n, 'y'), eq32(n2, 'J'));
        r |= mask32(_mm256_and_si256(eq32(v, 'e'), t));
    }

    if (a->ak) {
        t = _mm256_and_si256(_mm256_or_si256(eq32(n, 'K'), eq32(n, 'S')),
                             eq32(n2, 'I'));
        r |= mask32(_mm256_and_si256(eq32(v, 'A'), t));
    }

    if (a->be) {
        t = _mm256_and_si256(eq32(_mm256_or_si256(n, lc), 'e'),
                             eq32(_mm256_or_si256(n2, lc), 'a'));
        r |= mask32(_mm256_and_si256(eq32(_mm256_or_si256(v, lc), 'b'), t));
    }

    return (uint32_t) r;
}

#endif


hoop_mask_scan_rc_t
hoop_mask_scan(uint32_t enabled, const unsigned char *buf, size_t len,
    size_t from, int prev, int final, hoop_mask_match_t *m)
{
    size_t          i, n, q, end, skip;
    uint32_t        bits;
    scan_view_t     v;
    scan_anchors_t  a;

    v.buf = buf;
    v.len = len;
    v.floor = from;
    v.enabled = enabled;
    v.prev = prev;
    v.final = final;
    v.colons_done = 0;

    anchors_init(&a, enabled);
    skip = from;

    for (i = from; i < len; i += n) {
        n = (len - i < 16) ? len - i : 16;

#if (HOOP_MASK_AVX2)
        if (a.avx2 && i > 0 && i + 64 <= len) {
            bits = anchors32(&a, buf + i);
            n = 32;
        } else
#endif
#if defined(__SSE2__)
        if (i > 0 && i + 32 <= len) {
            bits = anchors16(&a, buf + i);
        } else
#endif
        {
            bits = anchors_scalar(&a, buf + i, n, len - i,
                                  i ? buf[i - 1] : prev);
        }

        while (bits) {
            q = i + (size_t) __builtin_ctz(bits);
            bits &= bits - 1;

            if (q < skip || (buf[q] == ':' && q < v.colons_done)) {
                continue;
            }

            v.more = 0;
            end = anchor_match(&v, q, m, &skip);

            if (v.more) {
                return HOOP_MASK_SCAN_MORE;
            }

            if (end && (enabled & (1u << m->type))) {
                m->end = end;
                return HOOP_MASK_SCAN_FOUND;
            }

            /* the anchors a failed candidate covered need no second look */
            bits = (skip - i >= n) ? 0 : bits & (~0u << (skip - i));
        }
    }

    return HOOP_MASK_SCAN_NONE;
}
