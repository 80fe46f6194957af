/*
 * Copyright (C) nginx-hoop authors
 *
 * libFuzzer target: the masking stream on any text, under every strategy,
 * cut into pieces chosen by the input, read as it is or through its
 * escapes (as UTF-8, or as a single-byte charset).  However the text is
 * cut, the output is the same as for the whole text, and nothing reads or
 * writes outside the window.
 */

#include <stdlib.h>
#include <string.h>

#include "hoop_mask.h"
#include "hoop_mask_unescape.h"


int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);


typedef struct {
    unsigned char  *p;
    size_t          len;
    size_t          size;
} out_t;


static int
collect(void *data, const unsigned char *p, size_t n)
{
    out_t  *o = data;

    if (o->len + n > o->size) {
        o->size = (o->len + n) * 2;
        o->p = realloc(o->p, o->size);

        if (o->p == NULL) {
            abort();
        }
    }

    memcpy(o->p + o->len, p, n);
    o->len += n;

    return 0;
}


static out_t
run(const hoop_mask_conf_t *conf, const unsigned char *text, size_t len,
    size_t piece, int unescape)
{
    out_t                   o = { NULL, 0, 0 };
    size_t                  off, n;
    hoop_mask_stream_t     *s;
    hoop_mask_unescaped_t  *u;

    s = malloc(sizeof(hoop_mask_stream_t));
    u = malloc(sizeof(hoop_mask_unescaped_t));

    if (s == NULL || u == NULL) {
        abort();
    }

    hoop_mask_stream_init(s, conf, collect, &o);

    if (unescape) {
        hoop_mask_stream_unescape(s, u);
    }

    if (unescape & 2) {
        hoop_mask_stream_single_byte(s, HOOP_MASK_UNESCAPE_SINGLE_BYTE
                                        | ((unescape & 4)
                                           ? HOOP_MASK_UNESCAPE_KOI8 : 0));
    }

    for (off = 0; off < len; off += n) {
        n = (len - off < piece) ? len - off : piece;

        if (hoop_mask_stream_feed(s, text + off, n) != 0) {
            abort();
        }
    }

    if (hoop_mask_stream_finish(s) != 0) {
        abort();
    }

    free(s);
    free(u);

    return o;
}


int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    int               i, strategy, unescape;
    out_t             whole, pieces;
    size_t            piece;
    hoop_mask_conf_t  conf;

    if (size < 2) {
        return 0;
    }

    memset(&conf, 0, sizeof(conf));
    conf.enabled = HOOP_MASK_ALL;
    strategy = data[0] % 3;
    piece = 1 + data[1] % 64;
    /* 1: through escapes; 3: so, in a single-byte charset; 7: KOI8 */
    unescape = (data[1] >> 7) ? 1 | ((data[1] >> 5) & 2) : 0;
    unescape |= (unescape & 2) && (data[0] & 0x80) ? 4 : 0;

    for (i = 0; i < HOOP_MASK_NTYPES; i++) {
        conf.strategy[i] = hoop_mask_strategy_supported(i, strategy)
                           ? strategy : HOOP_MASK_REDACT;
    }

    memcpy(conf.key, "fuzz", 4);
    conf.key_len = 4;

    whole = run(&conf, data + 2, size - 2, size, unescape);
    pieces = run(&conf, data + 2, size - 2, piece, unescape);

    if (whole.len != pieces.len
        || (whole.len && memcmp(whole.p, pieces.p, whole.len) != 0))
    {
        abort();
    }

    free(whole.p);
    free(pieces.p);

    /* a text no detector of a subset could match is left as it is */

    conf.enabled = (uint32_t) (data[0] << 8 | data[1]) & HOOP_MASK_ALL;

    if (!hoop_mask_could_match(&conf, data + 2, size - 2)) {
        whole = run(&conf, data + 2, size - 2, size, 0);

        if (whole.len != size - 2
            || (whole.len && memcmp(whole.p, data + 2, whole.len) != 0))
        {
            abort();
        }

        free(whole.p);
    }

    return 0;
}
