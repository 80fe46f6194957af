/*
 * Copyright (C) nginx-hoop authors
 *
 * The masking stream: a fixed window the text passes through, the
 * replacements each strategy writes, and the long tokens (private key
 * blocks, JWTs, bearer tokens) that are swallowed as they arrive rather
 * than held, so no value length can make the window overflow.
 */

#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "hoop_mask.h"
#include "hoop_mask_scan.h"
#include "hoop_mask_unescape.h"


/* a held tail that could still become a value once more text arrives */
#define TAIL_HOLD_MAX     96

#define HASH_HEX          16

/* what goes on with a key block in base64 after a line's end */
#define B64_SEPARATOR_MAX  16
#define B64_RUN_MIN        16

/* how far before a candidate a validator may look */
#define MORE_CONTEXT      3



static size_t mask_string(const hoop_mask_conf_t *conf,
    const unsigned char *in, size_t len, unsigned char *out, size_t out_size,
    uint64_t counts[HOOP_MASK_NTYPES], hoop_mask_unescaped_t *u);


/*
 * What the detectors read of the window: the window itself, or its
 * decoded text, each byte with the offset in the window its spelling
 * starts at; raw[len] is where the decoded part of the window ends (an
 * escape cut by the end of the window waits for the rest).
 */
typedef struct {
    const unsigned char  *text;
    size_t                len;
    const uint16_t       *raw;          /* NULL: text is the window */
    size_t                end;          /* of the part read, in the window */
} mask_view_t;


static size_t raw_at(const mask_view_t *v, size_t i);


static const char  *type_names[HOOP_MASK_NTYPES] = {
    "email", "credit_card", "iban", "us_ssn", "phone", "ipv4", "ipv6",
    "aws_key", "private_key", "jwt", "bearer_token"
};

static const char  *type_labels[HOOP_MASK_NTYPES] = {
    "EMAIL", "CREDIT_CARD", "IBAN", "US_SSN", "PHONE", "IPV4", "IPV6",
    "AWS_KEY", "PRIVATE_KEY", "JWT", "BEARER_TOKEN"
};

static const char  *strategy_names[] = { "redact", "partial", "hash" };


const char *
hoop_mask_type_name(hoop_mask_type_t type)
{
    return (unsigned) type < HOOP_MASK_NTYPES ? type_names[type] : "unknown";
}


static int
name_index(const char **names, size_t n, const char *name, size_t len)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if (strlen(names[i]) == len && memcmp(names[i], name, len) == 0) {
            return (int) i;
        }
    }

    return -1;
}


int
hoop_mask_type_parse(const char *name, size_t len)
{
    return name_index(type_names, HOOP_MASK_NTYPES, name, len);
}


int
hoop_mask_strategy_parse(const char *name, size_t len)
{
    return name_index(strategy_names, 3, name, len);
}


int
hoop_mask_strategy_supported(hoop_mask_type_t type,
    hoop_mask_strategy_t strategy)
{
    switch (type) {

    case HOOP_MASK_PRIVATE_KEY:
    case HOOP_MASK_JWT:
    case HOOP_MASK_BEARER_TOKEN:
        return strategy == HOOP_MASK_REDACT;

    default:
        return (unsigned) strategy <= HOOP_MASK_HASH;
    }
}


static int
is_digit(int c)
{
    return c >= '0' && c <= '9';
}


static int
is_alnum(int c)
{
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}


static size_t
put_label(unsigned char *out, hoop_mask_type_t type)
{
    size_t  n;

    n = strlen(type_labels[type]);
    memcpy(out, type_labels[type], n);

    return n;
}


/* digits hide but the last four; separators and punctuation stay */
static size_t
partial_digits(const unsigned char *p, size_t n, unsigned char *out)
{
    size_t  i, digits, seen;

    for (digits = 0, i = 0; i < n; i++) {
        digits += is_digit(p[i]);
    }

    for (seen = 0, i = 0; i < n; i++) {
        if (is_digit(p[i])) {
            seen++;
            out[i] = (seen + 4 > digits) ? p[i] : '*';

        } else {
            out[i] = p[i];
        }
    }

    return n;
}


/* DE89 **** **** **** **30 00: country and check digits, last four */
static size_t
partial_iban(const unsigned char *p, size_t n, unsigned char *out)
{
    size_t  i, chars, seen;

    for (chars = 0, i = 0; i < n; i++) {
        chars += is_alnum(p[i]);
    }

    for (seen = 0, i = 0; i < n; i++) {
        if (is_alnum(p[i])) {
            seen++;
            out[i] = (seen <= 4 || seen + 4 > chars) ? p[i] : '*';

        } else {
            out[i] = p[i];
        }
    }

    return n;
}


/* keeps the text up to the nth occurrence of c (inclusive), then "*" */
static size_t
partial_prefix(const unsigned char *p, size_t n, int c, int nth,
    unsigned char *out)
{
    size_t  i;

    for (i = 0; i < n && nth > 0; i++) {
        out[i] = p[i];
        nth -= (p[i] == c);
    }

    out[i++] = '*';

    return i;
}


static size_t
partial_value(hoop_mask_type_t type, const unsigned char *p, size_t n,
    unsigned char *out)
{
    const unsigned char  *at;

    switch (type) {

    case HOOP_MASK_EMAIL:
        at = memchr(p, '@', n);
        out[0] = p[0];
        memcpy(out + 1, "***", 3);
        memcpy(out + 4, at, (size_t) (p + n - at));
        return 4 + (size_t) (p + n - at);

    case HOOP_MASK_IBAN:
        return partial_iban(p, n, out);

    case HOOP_MASK_IPV4:
        return partial_prefix(p, n, '.', 2, out);

    case HOOP_MASK_IPV6:
        return partial_prefix(p, n, ':', 2, out);

    case HOOP_MASK_AWS_KEY:
        memcpy(out, p, 4);
        memset(out + 4, '*', 12);
        memcpy(out + 16, p + 16, 4);
        return 20;

    default:    /* credit_card, us_ssn, phone */
        return partial_digits(p, n, out);
    }
}


/*
 * The text a keyed hash is taken of: one spelling per value, so the same
 * card written with spaces or dashes, or an address in another case,
 * hashes the same.
 */
static size_t
hash_input(hoop_mask_type_t type, const unsigned char *p, size_t n,
    unsigned char *out)
{
    size_t  i, k;

    for (i = 0, k = 0; i < n; i++) {
        switch (type) {

        case HOOP_MASK_EMAIL:
        case HOOP_MASK_IPV6:
            out[k++] = (p[i] >= 'A' && p[i] <= 'Z') ? p[i] | 0x20 : p[i];
            break;

        case HOOP_MASK_CREDIT_CARD:
        case HOOP_MASK_US_SSN:
        case HOOP_MASK_PHONE:
            if (is_digit(p[i])) {
                out[k++] = p[i];
            }
            break;

        case HOOP_MASK_IBAN:
            if (is_alnum(p[i])) {
                out[k++] = p[i];
            }
            break;

        default:
            out[k++] = p[i];
        }
    }

    return k;
}


static size_t
hash_value(const hoop_mask_conf_t *conf, hoop_mask_type_t type,
    const unsigned char *p, size_t n, unsigned char *out)
{
    size_t         k, i;
    unsigned int   md_len;
    unsigned char  norm[HOOP_MASK_REPLACEMENT_MAX], md[EVP_MAX_MD_SIZE];

    static const char  hex[] = "0123456789abcdef";

    k = hash_input(type, p, n, norm);

    if (HMAC(EVP_sha256(), conf->key, (int) conf->key_len, norm, k, md,
             &md_len)
        == NULL)
    {
        /* fail closed: no digest, no value */
        memset(md, 0, sizeof(md));
    }

    k = 0;
    out[k++] = '[';
    k += put_label(out + k, type);
    out[k++] = ':';

    for (i = 0; i < HASH_HEX / 2; i++) {
        out[k++] = (unsigned char) hex[md[i] >> 4];
        out[k++] = (unsigned char) hex[md[i] & 0xf];
    }

    out[k++] = ']';

    return k;
}


static size_t
replacement(const hoop_mask_conf_t *conf, const hoop_mask_match_t *m,
    const unsigned char *p, unsigned char *out)
{
    size_t            k, n;
    hoop_mask_type_t  type;

    type = (hoop_mask_type_t) m->type;
    k = m->keep;
    memcpy(out, p, k);
    p += k;
    n = m->end - m->start - k;

    switch (conf->strategy[type]) {

    case HOOP_MASK_PARTIAL:
        if (!m->open) {
            return k + partial_value(type, p, n, out + k);
        }
        break;

    case HOOP_MASK_HASH:
        if (!m->open) {
            return k + hash_value(conf, type, p, n, out + k);
        }
        break;
    }

    out[k++] = '[';
    k += put_label(out + k, type);
    out[k++] = ']';

    return k;
}


void
hoop_mask_stream_init(hoop_mask_stream_t *s, const hoop_mask_conf_t *conf,
    hoop_mask_emit_pt emit, void *data)
{
    memset(s, 0, offsetof(hoop_mask_stream_t, win));

    s->conf = conf;
    s->emit = emit;
    s->data = data;
    s->prev = -1;
}


void
hoop_mask_stream_unescape(hoop_mask_stream_t *s, hoop_mask_unescaped_t *u)
{
    s->unescaped = u;
}


void
hoop_mask_stream_single_byte(hoop_mask_stream_t *s, unsigned flags)
{
    s->single_byte = flags;
}


static int
emit(hoop_mask_stream_t *s, const unsigned char *p, size_t n)
{
    if (n == 0 || s->failed) {
        return s->failed ? -1 : 0;
    }

    if (s->emit(s->data, p, n) != 0) {
        s->failed = 1;
        return -1;
    }

    return 0;
}


/* "-----END <label>-----": states 0-8 match "-----END", 9-13 the dashes */
static int
pem_end_step(unsigned *state, unsigned char c)
{
    static const char  pat[] = "-----END";

    if (*state < 8) {
        if (c == (unsigned char) pat[*state]) {
            (*state)++;

        } else if (c == '-') {
            *state = (*state == 5) ? 5 : 1;

        } else {
            *state = 0;
        }

        return 0;
    }

    *state = (c == '-') ? *state + 1 : 8;

    return *state == 13;
}


/*
 * The bytes between two lines of a key block in base64 as text carries
 * them: line breaks, a JSON string's "\\n" read as it is, the indent of
 * a YAML block or of XML, spaces, and the quotes, '+' and ',' of lines
 * joined in a program's source ("..." +\n "...").  Their length (at most
 * B64_SEPARATOR_MAX, 0: none), or -1 if more text must say.
 */
static int
b64_separator(const mask_view_t *v, size_t pos, int final)
{
    int     quoted;
    size_t  i;

    quoted = 0;

    for (i = pos; i < v->len && i - pos < B64_SEPARATOR_MAX; i++) {
        switch (v->text[i]) {

        case ' ':
        case '\t':
        case '\r':
        case '\n':
        case ',':
            continue;

        case '"':
        case '\'':
            quoted = 1;
            continue;

        case '+':
            if (quoted) {
                continue;
            }

            break;

        case '\\':
            if (i + 1 == v->len) {
                return final ? (int) (i - pos) : -1;
            }

            if (v->text[i + 1] == 'n' || v->text[i + 1] == 'r'
                || v->text[i + 1] == 't')
            {
                i++;
                continue;
            }

            break;

        default:
            break;
        }

        break;
    }

    if (i == v->len && !final) {
        return -1;
    }

    return (int) (i - pos);
}


/*
 * Whether a key block in base64 goes on after the n bytes of separator
 * at pos: a run of 16 base64 characters or more, or a shorter one its
 * padding ends, follows (base64(1)'s wrapping; a word, a YAML key, a
 * number do not).  1 if so, 0 if not, -1 if more text must say.
 */
static int
b64_goes_on(const mask_view_t *v, size_t pos, size_t n, int final)
{
    int     c;
    size_t  i, k;

    for (k = 0, i = pos + n; i < v->len && k < B64_RUN_MIN; k++, i++) {
        c = v->text[i];

        if (!(is_alnum(c) || c == '+' || c == '/' || c == '=')) {
            return (k >= 4 && v->text[i - 1] == '=') ? 1 : 0;
        }
    }

    if (k == B64_RUN_MIN) {
        return 1;
    }

    return final ? (k >= 4 && v->text[i - 1] == '=') : -1;
}


/* drops the rest of a long token from pos; returns where text resumes */
static size_t
swallow(hoop_mask_stream_t *s, const mask_view_t *v, size_t pos, int final)
{
    int       wrapped, n;
    size_t    end;
    unsigned  type;

    type = s->swallow - 1;

    while (pos < v->len) {
        if (type == HOOP_MASK_PRIVATE_KEY && !s->swallow_b64) {

            /*
             * a key block is masked to its END line, whatever its length;
             * in a stream read through escapes (JSON), a '"' that is not
             * one ends the string it was in, and the block with it
             */

            if (s->unescaped != NULL && v->text[pos] == '"'
                && s->win[v->raw ? v->raw[pos] : pos] == '"')
            {
                s->swallow = 0;
                return pos;
            }

            if (pem_end_step(&s->pem_state, v->text[pos++])) {
                s->swallow = 0;
                return pos;
            }

            continue;
        }

        /*
         * a key block in base64 goes on past a line break, an indent, a
         * program's string joint if more base64 follows; those are kept
         * (the text around stays whole), the base64 dropped
         */

        if (s->swallow_b64
            && !hoop_mask_token_byte(type, v->text[pos]))
        {
            n = b64_separator(v, pos, final);
            wrapped = (n > 0) ? b64_goes_on(v, pos, n, final) : n;

            if (wrapped <= 0) {
                s->swallow = wrapped ? s->swallow : 0;
                return pos;
            }

            end = pos + n;

            if (emit(s, s->win + raw_at(v, pos),
                     raw_at(v, end) - raw_at(v, pos))
                != 0)
            {
                s->swallow = 0;
                return pos;
            }

            pos = end;
            continue;
        }

        /* a token goes to its last token byte, however long it is */

        if (!hoop_mask_token_byte(type, v->text[pos])) {
            s->swallow = 0;
            return pos;
        }

        s->swallowed++;
        pos++;
    }

    return pos;
}


/* the start of a trailing run that may be the beginning of a value */
static size_t
tail_hold(const mask_view_t *v, size_t from)
{
    int     c;
    size_t  i;

    for (i = v->len; i > from && v->len - i < TAIL_HOLD_MAX; i--) {
        c = v->text[i - 1];

        if (!is_alnum(c) && !memchr("._%+-(:", c, 7)) {
            break;
        }
    }

    return i;
}


/*
 * Where decoded byte i's spelling starts in the window (for i = len,
 * where what was decoded ends); text read as nothing may stand before it.
 */
static size_t
raw_at(const mask_view_t *v, size_t i)
{
    return v->raw ? v->raw[i] : i;
}


/*
 * Bytes of a partial mask that the text around it may need escaped
 * become '*' in a stream read through escapes (whether or not this window
 * held one, so that the output does not depend on where text was cut):
 * copied from decoded text, a '"', a '\\' or a control byte would end a
 * JSON string or break a URL or an HTML attribute.
 */
static void
replacement_safe(unsigned char *p, size_t n)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if (p[i] < 0x20 || p[i] >= 0x7f || memchr("\"\\<>&%'", p[i], 7)) {
            p[i] = '*';
        }
    }
}


/* the value m, after its kept prefix, which leaves as it came */
static int
emit_match(hoop_mask_stream_t *s, const mask_view_t *v,
    const hoop_mask_match_t *m)
{
    size_t             n, keep_end;
    hoop_mask_match_t  value;
    unsigned char      out[HOOP_MASK_REPLACEMENT_MAX];

    keep_end = raw_at(v, m->start + m->keep);

    if (emit(s, s->win + raw_at(v, m->start),
             keep_end - raw_at(v, m->start))
        != 0)
    {
        return -1;
    }

    value = *m;
    value.start += m->keep;
    value.keep = 0;

    n = replacement(s->conf, &value, v->text + value.start, out);

    if (s->unescaped != NULL) {
        replacement_safe(out, n);
    }

    s->counts[m->type]++;

    if (m->open) {
        s->swallow = m->type + 1;
        s->swallowed = 0;
        s->pem_state = 0;
        s->swallow_b64 = (m->open == 2);
    }

    return emit(s, out, n);
}


/* the window as the detectors read it: decoded, if it may hold escapes */
static void
view_init(hoop_mask_stream_t *s, int final, mask_view_t *v)
{
    hoop_mask_unescaped_t  *u;

    u = s->unescaped;

    if (u == NULL
        || !(hoop_mask_unescape_could(s->win, s->len)
             || (s->single_byte
                 && hoop_mask_single_byte_could(s->win, s->len,
                                                s->single_byte))))
    {
        v->text = s->win;
        v->len = s->len;
        v->raw = NULL;
        v->end = s->len;
        return;
    }

    v->len = hoop_mask_unescape_rounds(s->win, s->len, final,
                                       HOOP_MASK_UNESCAPE_ROUNDS,
                                       s->single_byte,
                                       u->text, u->raw, &v->end);
    v->text = u->text;
    v->raw = u->raw;
}


/* masks what the window holds; keeps back what more text may change */
static int
mask_window(hoop_mask_stream_t *s, int final)
{
    size_t               pos, cut, raw_cut, raw_out;
    mask_view_t          v;
    hoop_mask_match_t    m;
    hoop_mask_scan_rc_t  rc;

    view_init(s, final, &v);

    /*
     * raw_out: where the text not written yet begins in the window; text
     * read as nothing (zero-width characters) goes with what is before
     * it: written with the text, dropped with a token being swallowed
     */

    pos = 0;
    raw_out = 0;

    for ( ;; ) {
        if (s->swallow) {
            pos = swallow(s, &v, pos, final);
            raw_out = raw_at(&v, pos);

            if (s->swallow) {
                cut = pos;
                break;
            }
        }

        rc = hoop_mask_scan(s->conf->enabled, v.text, v.len, pos, s->prev,
                            final, &m);

        if (rc == HOOP_MASK_SCAN_FOUND) {
            if (emit(s, s->win + raw_out, raw_at(&v, m.start) - raw_out)
                != 0
                || emit_match(s, &v, &m) != 0)
            {
                return -1;
            }

            pos = m.end;
            raw_out = raw_at(&v, pos);
            continue;
        }

        if (final) {
            cut = v.len;

        } else {
            /* a value may begin before the candidate that waits */
            cut = tail_hold(&v, pos);

            /*
             * What waits for more text is held with the bytes before it
             * that its verdict looked at ("(", "+", an IBAN's letters), so
             * the next look sees the same text wherever the text was cut.
             */
            if (rc == HOOP_MASK_SCAN_MORE) {
                m.start = (m.start > pos + MORE_CONTEXT)
                          ? m.start - MORE_CONTEXT : pos;
                cut = (m.start < cut) ? m.start : cut;
            }
        }

        break;
    }

    raw_cut = raw_at(&v, cut);

    if (raw_cut == 0 && s->len == HOOP_MASK_WINDOW && !final) {
        /* cannot happen while candidates reach less than the window */
        return mask_window(s, 1);
    }

    if (raw_cut > raw_out && emit(s, s->win + raw_out, raw_cut - raw_out)
                             != 0)
    {
        return -1;
    }

    if (raw_cut > 0) {
        if (cut > 0) {
            s->prev = v.text[cut - 1];  /* else only what reads as nothing */
        }

        memmove(s->win, s->win + raw_cut, s->len - raw_cut);
        s->len -= raw_cut;
    }

    return 0;
}


int
hoop_mask_stream_feed(hoop_mask_stream_t *s, const unsigned char *in,
    size_t len)
{
    size_t  n;

    while (len > 0) {
        if (s->failed) {
            return -1;
        }

        n = HOOP_MASK_WINDOW - s->len;
        n = (n < len) ? n : len;

        memcpy(s->win + s->len, in, n);
        s->len += n;
        in += n;
        len -= n;

        /* a full window, or the end of the piece: mask what is decided */
        if ((s->len == HOOP_MASK_WINDOW || len == 0)
            && mask_window(s, 0) != 0)
        {
            return -1;
        }
    }

    return s->failed ? -1 : 0;
}


int
hoop_mask_stream_finish(hoop_mask_stream_t *s)
{
    if (s->failed) {
        return -1;
    }

    return mask_window(s, 1);
}


uint64_t
hoop_mask_stream_total(const hoop_mask_stream_t *s)
{
    size_t    i;
    uint64_t  n;

    for (n = 0, i = 0; i < HOOP_MASK_NTYPES; i++) {
        n += s->counts[i];
    }

    return n;
}


typedef struct {
    unsigned char  *p;
    size_t          size;
    size_t          len;
} mask_sink_t;


static int
sink_append(void *data, const unsigned char *p, size_t n)
{
    mask_sink_t  *sink;

    sink = data;

    if (sink->size - sink->len < n) {
        return -1;
    }

    memcpy(sink->p + sink->len, p, n);
    sink->len += n;

    return 0;
}


int
hoop_mask_could_match(const hoop_mask_conf_t *conf, const unsigned char *p,
    size_t len)
{
    size_t                i, digits, need;
    uint32_t              en;
    const unsigned char  *c;

    en = conf->enabled;

    /* memchr() is vectorized: one pass per kind of anchor still wins */

    if ((en & 1u << HOOP_MASK_EMAIL) && memchr(p, '@', len) != NULL) {
        return 1;
    }

    if ((en & 1u << HOOP_MASK_IPV6)
        && (c = memchr(p, ':', len)) != NULL
        && memchr(c + 1, ':', len - (size_t) (c + 1 - p)) != NULL)
    {
        return 1;
    }

    if ((en & 1u << HOOP_MASK_PRIVATE_KEY)
        && (memchr(p, '-', len) != NULL || memchr(p, 'L', len) != NULL))
    {
        return 1;
    }

    if ((en & (1u << HOOP_MASK_AWS_KEY | 1u << HOOP_MASK_JWT
               | 1u << HOOP_MASK_BEARER_TOKEN))
        && (memchr(p, 'e', len) != NULL || memchr(p, 'A', len) != NULL
            || memchr(p, 'b', len) != NULL || memchr(p, 'B', len) != NULL))
    {
        return 1;
    }

    /* the fewest digits a value holds: an IBAN 2, cards to IPv4 4 */

    need = (en & (1u << HOOP_MASK_CREDIT_CARD | 1u << HOOP_MASK_US_SSN
                  | 1u << HOOP_MASK_PHONE | 1u << HOOP_MASK_IPV4))
           ? 4 : 0;

    if (en & 1u << HOOP_MASK_IBAN) {
        need = 2;
    }

    if (need == 0) {
        return 0;
    }

    digits = 0;

    for (i = 0; i < len; i++) {
        digits += (unsigned) (p[i] - '0') < 10;
    }

    return digits >= need;
}


size_t
hoop_mask_string(const hoop_mask_conf_t *conf, const unsigned char *in,
    size_t len, unsigned char *out, size_t out_size,
    uint64_t counts[HOOP_MASK_NTYPES])
{
    return mask_string(conf, in, len, out, out_size, counts, NULL);
}


size_t
hoop_mask_string_escaped(const hoop_mask_conf_t *conf,
    const unsigned char *in, size_t len, unsigned char *out, size_t out_size,
    uint64_t counts[HOOP_MASK_NTYPES])
{
    hoop_mask_unescaped_t  u;

    if (!hoop_mask_unescape_could(in, len)) {
        return mask_string(conf, in, len, out, out_size, counts, NULL);
    }

    return mask_string(conf, in, len, out, out_size, counts, &u);
}


static size_t
mask_string(const hoop_mask_conf_t *conf, const unsigned char *in,
    size_t len, unsigned char *out, size_t out_size,
    uint64_t counts[HOOP_MASK_NTYPES], hoop_mask_unescaped_t *u)
{
    mask_sink_t         sink;
    hoop_mask_stream_t  s;

    sink.p = out;
    sink.size = out_size;
    sink.len = 0;

    hoop_mask_stream_init(&s, conf, sink_append, &sink);

    if (u != NULL) {
        hoop_mask_stream_unescape(&s, u);
    }

    if (hoop_mask_stream_feed(&s, in, len) != 0
        || hoop_mask_stream_finish(&s) != 0)
    {
        return (size_t) -1;
    }

    if (counts) {
        memcpy(counts, s.counts, sizeof(s.counts));
    }

    return sink.len;
}
