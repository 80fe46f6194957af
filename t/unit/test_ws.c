/*
 * Copyright (C) nginx-hoop authors
 *
 * WebSocket frames read as they stream: whole or a byte at a time, the
 * same frames and payloads; the protocol's rules refused.
 */

#include <string.h>

#include "hoop_ws.h"
#include "tap.h"


typedef struct {
    int            frames, ends;
    int            opcodes[16];
    int            first[16];
    unsigned char  payload[1 << 17];
    size_t         plen;
} seen_t;


/* feeds data in pieces of step bytes; returns 0, or -1 on an error */
static int
feed(hoop_ws_reader_t *ws, const unsigned char *data, size_t len,
    size_t step, seen_t *s)
{
    size_t     at, n, off, used;
    hoop_ws_e  rc;

    memset(s, 0, sizeof(seen_t));

    for (at = 0; at < len; at += n) {
        n = (len - at < step) ? len - at : step;
        off = 0;


        for ( ;; ) {
            rc = hoop_ws_read(ws, data + at + off, n - off, &used);
            off += used;

            if (rc == HOOP_WS_ERROR) {
                return -1;
            }

            if (rc == HOOP_WS_FRAME) {
                s->opcodes[s->frames & 15] = ws->frame.opcode;
                s->first[s->frames & 15] = ws->frame.first;
                s->frames++;

            } else if (rc == HOOP_WS_PAYLOAD) {
                if (ws->frame.masked) {
                    hoop_ws_unmask(ws->frame.key, ws->offset,
                                   data + at + off - used,
                                   s->payload + s->plen, used);
                } else {
                    memcpy(s->payload + s->plen, data + at + off - used,
                           used);
                }
                s->plen += used;

            } else if (rc == HOOP_WS_FRAME_END) {
                s->ends++;

            } else if (rc == HOOP_WS_MORE) {
                break;
            }
        }
    }

    /* a frame whose payload ended with the data: its end is due */

    for ( ;; ) {
        rc = hoop_ws_read(ws, data, 0, &used);
        if (rc == HOOP_WS_FRAME_END) {
            s->ends++;
            continue;
        }
        break;
    }

    return 0;
}


/* a client's frame: masked with key */
static size_t
masked(unsigned char *out, int fin, int opcode, const char *text,
    size_t len)
{
    size_t               n;
    static const unsigned char  key[4] = { 0x37, 0xfa, 0x21, 0x3d };

    n = hoop_ws_header(out, fin, opcode, len);
    out[1] |= 0x80;
    memcpy(out + n, key, 4);
    n += 4;
    hoop_ws_unmask(key, 0, (const unsigned char *) text, out + n, len);
    return n + len;
}


int
main(void)
{
    size_t             n, step, len;
    seen_t             s;
    unsigned char      buf[1 << 18], big[70000];
    hoop_ws_reader_t   ws;

    /* a server's stdout message, split over a frame and a continuation,
       a ping between them, then a close */

    n = hoop_ws_header(buf, 0, HOOP_WS_BINARY, 4);
    memcpy(buf + n, "\x01hel", 4);
    n += 4;
    n += hoop_ws_header(buf + n, 1, HOOP_WS_PING, 2);
    memcpy(buf + n, "pi", 2);
    n += 2;
    n += hoop_ws_header(buf + n, 1, HOOP_WS_CONT, 3);
    memcpy(buf + n, "lo\n", 3);
    n += 3;
    n += hoop_ws_header(buf + n, 1, HOOP_WS_CLOSE, 2);
    memcpy(buf + n, "\x03\xe8", 2);
    n += 2;
    len = n;

    for (step = 1; step <= len; step += (step < 4) ? 1 : 5) {
        hoop_ws_reader_init(&ws, 0);
        ok(feed(&ws, buf, len, step, &s) == 0, "server frames, %zu at a time",
           step);
        ok(s.frames == 4 && s.ends == 4, "... four frames, four ends");
        ok(s.plen == 11 && memcmp(s.payload, "\x01helpilo\n\x03\xe8", 11)
           == 0, "... their payloads");
        ok(s.opcodes[0] == HOOP_WS_BINARY && s.opcodes[1] == HOOP_WS_PING
           && s.opcodes[2] == HOOP_WS_CONT && s.first[0] && s.first[1]
           && !s.first[2], "... a message, a control frame inside it");
    }

    /* lengths of 126 and 65536 and more: the longer encodings */

    memset(big, 'x', sizeof(big));
    n = hoop_ws_header(buf, 1, HOOP_WS_BINARY, 300);
    is_int(n, 4, "a 300 byte payload: a 16-bit length");
    memcpy(buf + n, big, 300);
    n += 300;
    len = hoop_ws_header(buf + n, 1, HOOP_WS_BINARY, sizeof(big));
    is_int(len, 10, "70000 bytes: a 64-bit length");
    n += len;
    memcpy(buf + n, big, sizeof(big));
    n += sizeof(big);
    hoop_ws_reader_init(&ws, 0);
    ok(feed(&ws, buf, n, 4093, &s) == 0 && s.frames == 2
       && s.plen == 300 + sizeof(big), "both read, in pieces");

    /* a client's masked frames, unmasked */

    n = masked(buf, 1, HOOP_WS_BINARY, "\x00ls -la\r", 8);
    n += masked(buf + n, 1, HOOP_WS_BINARY, "\x04{\"Width\":80}", 13);
    hoop_ws_reader_init(&ws, 1);
    ok(feed(&ws, buf, n, 3, &s) == 0 && s.frames == 2, "client frames");
    ok(s.plen == 21 && memcmp(s.payload, "\x00ls -la\r\x04{\"Width\":80}", 21)
       == 0, "... unmasked");

    /* an empty frame: its end at once */

    n = hoop_ws_header(buf, 1, HOOP_WS_BINARY, 0);
    hoop_ws_reader_init(&ws, 0);
    ok(feed(&ws, buf, n, 1, &s) == 0 && s.frames == 1 && s.ends == 1,
       "an empty frame ends");

    /* what the protocol forbids */

    hoop_ws_reader_init(&ws, 0);
    n = masked(buf, 1, HOOP_WS_BINARY, "x", 1);
    ok(feed(&ws, buf, n, n, &s) == -1, "a server's masked frame: refused");
    ok(ws.error != NULL, "... with a reason");

    hoop_ws_reader_init(&ws, 1);
    n = hoop_ws_header(buf, 1, HOOP_WS_BINARY, 1);
    buf[n++] = 'x';
    ok(feed(&ws, buf, n, n, &s) == -1, "a client's unmasked frame: refused");

    hoop_ws_reader_init(&ws, 0);
    n = hoop_ws_header(buf, 1, HOOP_WS_BINARY, 1);
    buf[0] |= 0x40;
    buf[n++] = 'x';
    ok(feed(&ws, buf, n, n, &s) == -1, "RSV1 (compression): refused");

    hoop_ws_reader_init(&ws, 0);
    n = hoop_ws_header(buf, 1, 0x3, 0);
    ok(feed(&ws, buf, n, n, &s) == -1, "an unknown opcode: refused");

    hoop_ws_reader_init(&ws, 0);
    n = hoop_ws_header(buf, 1, HOOP_WS_CONT, 0);
    ok(feed(&ws, buf, n, n, &s) == -1, "a lone continuation: refused");

    hoop_ws_reader_init(&ws, 0);
    n = hoop_ws_header(buf, 0, HOOP_WS_TEXT, 0);
    n += hoop_ws_header(buf + n, 1, HOOP_WS_BINARY, 0);
    ok(feed(&ws, buf, n, n, &s) == -1, "a message inside a message: refused");

    hoop_ws_reader_init(&ws, 0);
    n = hoop_ws_header(buf, 0, HOOP_WS_PING, 0);
    ok(feed(&ws, buf, n, n, &s) == -1, "a fragmented ping: refused");

    hoop_ws_reader_init(&ws, 0);
    n = hoop_ws_header(buf, 1, HOOP_WS_PING, 126);
    memset(buf + n, 'p', 126);
    ok(feed(&ws, buf, n + 126, n + 126, &s) == -1, "a long ping: refused");

    hoop_ws_reader_init(&ws, 0);
    memcpy(buf, "\x82\x7f\x80\x00\x00\x00\x00\x00\x00\x00", 10);
    ok(feed(&ws, buf, 10, 10, &s) == -1, "a length's top bit: refused");

    is_int(hoop_ws_close_code((const unsigned char *) "\x03\xe8", 2), 1000,
           "close 1000");
    is_int(hoop_ws_close_code(NULL, 0), 1005, "no code: 1005");
    is_int(hoop_ws_close_code((const unsigned char *) "\x03", 1), 0,
           "one byte: not a close");
    is_int(hoop_ws_close_code((const unsigned char *) "\x03\xed", 2), 0,
           "1005 on the wire: not a close");
    is_int(hoop_ws_close_code((const unsigned char *) "\x0f\xa0", 2), 4000,
           "4000 (private use)");

    return done_testing();
}
