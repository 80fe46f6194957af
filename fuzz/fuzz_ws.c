/*
 * Copyright (C) nginx-hoop authors
 *
 * libFuzzer target: WebSocket frames read as they stream, on any bytes,
 * as a client's and as a server's.  Read whole or in two pieces (cut
 * where the first byte says), the reader sees the same frames, the same
 * payload bytes and the same verdict; payload pieces lie inside what it
 * was given, and never exceed the frame's length.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hoop_ws.h"


int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);


typedef struct {
    unsigned   frames, ends, error;
    uint64_t   payload;
    uint64_t   got;             /* of the frame being read */
    uint32_t   sum;
} trace_t;


static void
run(hoop_ws_reader_t *ws, const unsigned char *data, size_t len,
    trace_t *t)
{
    size_t          at, used;
    hoop_ws_e       rc;
    unsigned char   out[4096];

    at = 0;

    for ( ;; ) {
        rc = hoop_ws_read(ws, data + at, len - at, &used);

        if (used > len - at) {
            abort();
        }

        at += used;

        switch (rc) {
        case HOOP_WS_FRAME:
            t->frames++;
            t->got = 0;
            break;

        case HOOP_WS_PAYLOAD:
            t->got += used;

            if (t->got > ws->frame.length || used == 0) {
                abort();
            }

            if (used <= sizeof(out)) {
                hoop_ws_unmask(ws->frame.key, ws->offset, data + at - used,
                               out, used);
                t->sum = t->sum * 31 + out[0] + out[used - 1];
            }

            t->payload += used;
            break;

        case HOOP_WS_FRAME_END:
            if (t->got != ws->frame.length) {
                abort();
            }

            t->ends++;
            break;

        case HOOP_WS_ERROR:
            t->error = 1;
            return;

        case HOOP_WS_MORE:
            return;
        }
    }
}


int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    int               client;
    size_t            cut;
    trace_t           whole, pieces;
    hoop_ws_reader_t  a, b;

    if (size == 0) {
        return 0;
    }

    for (client = 0; client < 2; client++) {
        memset(&whole, 0, sizeof(trace_t));
        memset(&pieces, 0, sizeof(trace_t));

        hoop_ws_reader_init(&a, client);
        run(&a, data + 1, size - 1, &whole);

        cut = data[0] % size;
        hoop_ws_reader_init(&b, client);
        run(&b, data + 1, cut > 0 ? cut - 1 : 0, &pieces);

        if (!pieces.error) {
            run(&b, data + cut + (cut == 0), size - cut - (cut == 0),
                &pieces);
        }

        /* pieces cut a payload where whole did not: sums differ, the
           frames and bytes do not */

        if (whole.frames != pieces.frames || whole.ends != pieces.ends
            || whole.error != pieces.error
            || whole.payload != pieces.payload)
        {
            abort();
        }
    }

    return 0;
}
