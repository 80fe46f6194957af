/*
 * Copyright (C) nginx-hoop authors
 *
 * Masking engine throughput, recall and false positives.
 *
 * A seeded corpus (default 64 MiB) of JSON records, log lines, result
 * rows and prose, with about one sensitive value per 2 KiB and as many
 * near misses (Luhn-invalid cards, impossible SSNs, version strings,
 * timestamps, order numbers, hashes, MAC addresses, file names such as
 * icon@2x.png, signed decimal amounts, "bearer" in prose), and one
 * address in eight written with an escape (\u0040, %40, &#64;) as JSON,
 * URLs and HTML write them.  The engine masks it as a stream in 8 KiB
 * pieces, output copied out as a filter would, as Postgres reads text
 * and as HTTP does (through escapes); the baseline is memchr() for an
 * absent byte over the same buffer, in the same run.  Recall and false
 * positives come from the detectors' match spans compared with where
 * values were planted; escaped values are counted by the HTTP stream.
 *
 *   build/bench/mask_throughput [MiB]
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hoop_mask.h"
#include "hoop_mask_scan.h"


#define PIECE  8192


typedef struct {
    size_t    start;
    size_t    end;
    unsigned  type;
} planted_t;


typedef struct {
    char       *buf;
    size_t      len;
    size_t      size;
    planted_t  *planted;
    size_t      nplanted;
    size_t      near;
    size_t      escaped;        /* planted, not in planted[] */
} corpus_t;


static unsigned long long  rng = 88172645463325252ULL;


static unsigned
rnd(unsigned n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;

    return (unsigned) (rng % n);
}


static void
put(corpus_t *c, const char *s)
{
    size_t  n;

    n = strlen(s);

    if (c->len + n < c->size) {
        memcpy(c->buf + c->len, s, n);
        c->len += n;
    }
}


static void
card(char *out, int valid)
{
    int   i, sum, d, odd;
    char  digits[17];

    static const char  *prefixes[] = { "4", "51", "55", "37", "6011" };

    strcpy(digits, prefixes[rnd(5)]);

    for (i = (int) strlen(digits); i < 15; i++) {
        digits[i] = (char) ('0' + rnd(10));
    }

    if (digits[0] == '3') {
        digits[14] = '\0';          /* amex: 15 digits */
    } else {
        digits[15] = '\0';
    }

    /* the check digit */
    for (sum = 0, odd = 1, i = (int) strlen(digits) - 1; i >= 0; i--) {
        d = digits[i] - '0';

        if (odd) {
            d *= 2;
            d -= (d > 9) ? 9 : 0;
        }

        sum += d;
        odd = !odd;
    }

    d = (10 - sum % 10) % 10;

    if (!valid) {
        d = (d + 1 + (int) rnd(9)) % 10;
    }

    i = (int) strlen(digits);
    digits[i] = (char) ('0' + d);
    digits[i + 1] = '\0';

    if (i + 1 == 16 && rnd(2)) {
        sprintf(out, "%.4s %.4s %.4s %.4s", digits, digits + 4, digits + 8,
                digits + 12);
    } else {
        strcpy(out, digits);
    }
}


static void
value(char *out, unsigned *type)
{
    static const char  *ibans[] = {
        "DE89370400440532013000", "GB29NWBK60161331926819",
        "FR1420041010050500013M02606", "DE89 3704 0044 0532 0130 00",
        "NL91ABNA0417164300",
    };

    static const char  *names[] = {
        "alice", "bob.smith", "c.jones+billing", "dana_k", "eve99",
    };

    static const char  *domains[] = {
        "example.com", "corp.example.org", "mail.example.co.uk",
    };

    switch (*type = rnd(9)) {

    case 0:
        *type = HOOP_MASK_EMAIL;
        sprintf(out, "%s@%s", names[rnd(5)], domains[rnd(3)]);
        break;

    case 1:
        *type = HOOP_MASK_CREDIT_CARD;
        card(out, 1);
        break;

    case 2:
        *type = HOOP_MASK_IBAN;
        strcpy(out, ibans[rnd(5)]);
        break;

    case 3:
        *type = HOOP_MASK_US_SSN;
        sprintf(out, "%03u-%02u-%04u", 1 + rnd(665), 1 + rnd(98),
                1 + rnd(9998));
        break;

    case 4:
        *type = HOOP_MASK_PHONE;
        sprintf(out, "(%u%02u) %u%02u-%04u", 2 + rnd(8), rnd(100), 2 + rnd(8),
                rnd(100), rnd(10000));
        break;

    case 5:
        *type = HOOP_MASK_IPV4;
        sprintf(out, "10.%u.%u.%u", rnd(256), rnd(256), 1 + rnd(254));
        break;

    case 6:
        *type = HOOP_MASK_IPV6;
        sprintf(out, "2001:db8:%x::%x", rnd(65536), 1 + rnd(65535));
        break;

    case 7:
        *type = HOOP_MASK_AWS_KEY;
        sprintf(out, "AKIA%016llX", (unsigned long long) rnd(1u << 30)
                                    * 1000003ULL);
        out[20] = '\0';
        break;

    default:
        *type = HOOP_MASK_JWT;
        sprintf(out, "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1c2VyLSV1In0.%08x%08x",
                rnd(1u << 31), rnd(1u << 31));
        break;
    }
}


/* an address as a JSON string, a URL or HTML would spell its '@' */
static void
escaped_email(char *out)
{
    static const char  *at[] = { "\\u0040", "%40", "&#64;", "&commat;" };

    sprintf(out, "user%u%sexample.com", rnd(1000), at[rnd(4)]);
}


static void
near_miss(char *out)
{
    static const char  *prose[] = {
        "the ring bearer returned", "icon@2x.png", "logo@3x.webp",
        "+25000000.00", "-1200.50 EUR", "Bearer realm=\"api\"",
        "50% of 10.5", "R&D budget",
    };

    switch (rnd(10)) {

    case 8:
    case 9:
        strcpy(out, prose[rnd(8)]);
        break;

    case 0:
        card(out, 0);
        break;

    case 1:
        sprintf(out, "%u-%02u-%04u", 900 + rnd(99), rnd(100), rnd(10000));
        break;

    case 2:
        sprintf(out, "v%u.%u.%u.%u", rnd(10), rnd(30), rnd(300), rnd(9999));
        break;

    case 3:
        sprintf(out, "2026-%02u-%02uT%02u:%02u:%02uZ", 1 + rnd(12),
                1 + rnd(28), rnd(24), rnd(60), rnd(60));
        break;

    case 4:
        sprintf(out, "ORD-%08u%08u", rnd(100000000), rnd(100000000));
        break;

    case 5:
        sprintf(out, "%08x%08x%08x%08x", rnd(1u << 31), rnd(1u << 31),
                rnd(1u << 31), rnd(1u << 31));
        break;

    case 6:
        sprintf(out, "%02x:%02x:%02x:%02x:%02x:%02x", rnd(256), rnd(256),
                rnd(256), rnd(256), rnd(256), rnd(256));
        break;

    default:
        sprintf(out, "%u%09u", 1 + rnd(9), rnd(1000000000));
        break;
    }
}


static void
filler(corpus_t *c)
{
    char  line[256];

    switch (rnd(4)) {

    case 0:
        sprintf(line, "{\"id\":%u,\"status\":\"active\",\"amount\":%u.%02u,"
                "\"items\":[%u,%u,%u],\"region\":\"eu-west-%u\"}\n",
                rnd(1000000), rnd(10000), rnd(100), rnd(500), rnd(500),
                rnd(500), rnd(4));
        break;

    case 1:
        sprintf(line, "2026-11-%02u 12:%02u:%02u INFO worker %u handled "
                "request in %u ms (queue %u)\n", 1 + rnd(28), rnd(60),
                rnd(60), rnd(16), rnd(2000), rnd(100));
        break;

    case 2:
        sprintf(line, " %7u | widget-%u | %u | t | 2026-10-%02u\n",
                rnd(10000000), rnd(1000), rnd(100), 1 + rnd(28));
        break;

    default:
        put(c, "The quick brown fox jumps over the lazy dog while they "
               "review the quarterly numbers and because everyone agreed "
               "the report would be shared by the end of the week. ");
        return;
    }

    put(c, line);
}


static void
corpus_build(corpus_t *c, size_t size)
{
    char      v[128];
    size_t    next_value, next_near;
    unsigned  type;

    c->size = size;
    c->buf = malloc(size);
    c->planted = malloc(sizeof(planted_t) * (size / 1000 + 16));
    c->len = 0;
    c->nplanted = 0;
    c->near = 0;
    c->escaped = 0;
    next_value = 1024;
    next_near = 1536;

    while (c->len + 512 < size) {
        filler(c);

        if (c->len >= next_value && rnd(8) == 0) {
            escaped_email(v);
            put(c, " ");
            put(c, v);
            put(c, " ");
            c->escaped++;
            next_value += 1024 + rnd(2048);
        }

        if (c->len >= next_value) {
            value(v, &type);
            put(c, " ");
            c->planted[c->nplanted].start = c->len;
            put(c, v);
            c->planted[c->nplanted].end = c->len;
            c->planted[c->nplanted].type = type;
            c->nplanted++;
            put(c, " ");
            next_value += 1024 + rnd(2048);
        }

        if (c->len >= next_near) {
            near_miss(v);
            put(c, " ");
            put(c, v);
            put(c, " ");
            c->near++;
            next_near += 1024 + rnd(2048);
        }
    }
}


static double
now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}


typedef struct {
    unsigned char  ring[65536];
    size_t         at;
    size_t         total;
} sink_t;


static int
sink(void *data, const unsigned char *p, size_t n)
{
    sink_t  *s = data;

    while (n > 0) {
        size_t  k = sizeof(s->ring) - s->at;

        k = (k < n) ? k : n;
        memcpy(s->ring + s->at, p, k);
        s->at = (s->at + k) % sizeof(s->ring);
        s->total += k;
        p += k;
        n -= k;
    }

    return 0;
}


static double
time_mask(const hoop_mask_conf_t *conf, const corpus_t *c, int unescape,
    uint64_t *found)
{
    double                  t;
    size_t                  off, n;
    static sink_t           out;
    hoop_mask_stream_t     *s;
    hoop_mask_unescaped_t  *u;

    s = malloc(sizeof(hoop_mask_stream_t));
    u = malloc(sizeof(hoop_mask_unescaped_t));
    hoop_mask_stream_init(s, conf, sink, &out);

    if (unescape) {
        hoop_mask_stream_unescape(s, u);
    }

    t = now();

    for (off = 0; off < c->len; off += n) {
        n = (c->len - off < PIECE) ? c->len - off : PIECE;
        hoop_mask_stream_feed(s, (const unsigned char *) c->buf + off, n);
    }

    hoop_mask_stream_finish(s);
    t = now() - t;

    *found = hoop_mask_stream_total(s);
    free(s);
    free(u);

    return t;
}


static double
time_memchr(const corpus_t *c)
{
    double       t;
    const void  *p;

    t = now();
    p = memchr(c->buf, 0x01, c->len);
    t = now() - t;

    if (p != NULL) {
        printf("corpus holds a 0x01 byte\n");
    }

    return t;
}


/* match spans against planted spans: recall and false positives */
static size_t
accuracy(const hoop_mask_conf_t *conf, const corpus_t *c)
{
    size_t               pos, k, hit, fp, fn;
    size_t               missed[HOOP_MASK_NTYPES] = { 0 };
    hoop_mask_match_t    m;
    hoop_mask_scan_rc_t  rc;

    pos = 0;
    k = 0;
    hit = 0;
    fp = 0;

    for ( ;; ) {
        rc = hoop_mask_scan(conf->enabled, (const unsigned char *) c->buf,
                            c->len, pos, -1, 1, &m);

        if (rc != HOOP_MASK_SCAN_FOUND) {
            break;
        }

        while (k < c->nplanted && c->planted[k].end <= m.start) {
            if (++missed[c->planted[k].type] <= 2) {
                printf("  missed %s: %.*s\n",
                       hoop_mask_type_name(c->planted[k].type),
                       (int) (c->planted[k].end - c->planted[k].start),
                       c->buf + c->planted[k].start);
            }

            k++;
        }

        if (k < c->nplanted && c->planted[k].start == m.start
            && (m.open || c->planted[k].end == m.end)
            && c->planted[k].type == m.type)
        {
            hit++;
            k++;

        } else {
            fp++;
            if (fp <= 5) {
                printf("  false positive: %.*s\n", (int) (m.end - m.start),
                       c->buf + m.start);
            }
        }

        pos = m.end;
    }

    fn = c->nplanted - hit;

    printf("recall      %.4f  (%zu of %zu planted values, %zu missed)\n",
           (double) hit / (double) c->nplanted, hit, c->nplanted, fn);
    printf("false pos.  %zu among %zu near misses\n", fp, c->near);

    return hit + fp;
}


int
main(int argc, char **argv)
{
    int               i;
    double            t, best_mask, best_http, best_memchr;
    size_t            mib, raw_found;
    uint64_t          found, http_found;
    corpus_t          c;
    hoop_mask_conf_t  conf;

    mib = (argc > 1) ? (size_t) atoi(argv[1]) : 64;

    memset(&conf, 0, sizeof(conf));
    conf.enabled = HOOP_MASK_ALL;

    corpus_build(&c, mib << 20);

    printf("masking: %zu MiB mixed text, %zu values (%zu more escaped), "
           "%zu near misses, %d KiB pieces\n", c.len >> 20, c.nplanted,
           c.escaped, c.near, PIECE >> 10);

    best_mask = 1e9;
    best_http = 1e9;
    best_memchr = 1e9;

    /* best of five: this is a shared, noisy machine */
    for (i = 0; i < 5; i++) {
        t = time_mask(&conf, &c, 0, &found);
        best_mask = (t < best_mask) ? t : best_mask;

        t = time_mask(&conf, &c, 1, &http_found);
        best_http = (t < best_http) ? t : best_http;

        t = time_memchr(&c);
        best_memchr = (t < best_memchr) ? t : best_memchr;
    }

    printf("memchr      %8.0f MB/s\n", (double) c.len / best_memchr / 1e6);
    printf("hoop_mask   %8.0f MB/s  (streaming, all 11 detectors, "
           "%llu masked)\n", (double) c.len / best_mask / 1e6,
           (unsigned long long) found);
    printf("  escapes   %8.0f MB/s  (as HTTP reads it: through escapes, "
           "%llu masked)\n", (double) c.len / best_http / 1e6,
           (unsigned long long) http_found);
    printf("ratio       %.3f of memchr; through escapes %.3f  "
           "(target: >= 1000 MB/s, goal 2000)\n", best_memchr / best_mask,
           best_memchr / best_http);

    raw_found = accuracy(&conf, &c);

    printf("escaped     %zu of %zu escaped addresses masked through "
           "escapes, none as text\n",
           (size_t) http_found - raw_found, c.escaped);

    free(c.buf);
    free(c.planted);

    return 0;
}
