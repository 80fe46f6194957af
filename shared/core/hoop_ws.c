/*
 * Copyright (C) nginx-hoop authors
 */

#include <string.h>

#include "hoop_ws.h"


static size_t hoop_ws_head_len(const unsigned char *head, size_t have);
static hoop_ws_e hoop_ws_frame(hoop_ws_reader_t *ws);


void
hoop_ws_reader_init(hoop_ws_reader_t *ws, int client)
{
    memset(ws, 0, sizeof(hoop_ws_reader_t));
    ws->client = client ? 1 : 0;
}


hoop_ws_e
hoop_ws_read(hoop_ws_reader_t *ws, const unsigned char *data, size_t len,
    size_t *used)
{
    size_t  need, n;

    *used = 0;

    if (ws->error != NULL) {
        return HOOP_WS_ERROR;
    }

    if (ws->in_frame) {
        if (ws->left == 0) {
            ws->in_frame = 0;
            return HOOP_WS_FRAME_END;
        }

        if (len == 0) {
            return HOOP_WS_MORE;
        }

        n = (len < ws->left) ? len : (size_t) ws->left;
        ws->offset = ws->frame.length - ws->left;
        ws->left -= n;
        *used = n;

        return HOOP_WS_PAYLOAD;
    }

    /* the header, byte by byte until its length is known */

    while (*used < len) {
        need = hoop_ws_head_len(ws->head, ws->hlen);

        if (ws->hlen == need) {
            break;
        }

        n = need - ws->hlen;

        if (n > len - *used) {
            n = len - *used;
        }

        memcpy(ws->head + ws->hlen, data + *used, n);
        ws->hlen += n;
        *used += n;
    }

    if (ws->hlen < 2 || ws->hlen < hoop_ws_head_len(ws->head, ws->hlen)) {
        return HOOP_WS_MORE;
    }

    return hoop_ws_frame(ws);
}


/* how long the header is, as far as its first bytes tell (2 at least) */
static size_t
hoop_ws_head_len(const unsigned char *head, size_t have)
{
    size_t  len;

    if (have < 2) {
        return 2;
    }

    len = 2 + ((head[1] & 0x80) ? 4 : 0);

    switch (head[1] & 0x7f) {
    case 126:
        return len + 2;
    case 127:
        return len + 8;
    default:
        return len;
    }
}


/* a whole header in ws->head: checked, and taken as the frame */
static hoop_ws_e
hoop_ws_frame(hoop_ws_reader_t *ws)
{
    size_t            i, at;
    uint64_t          length;
    unsigned char    *h;
    hoop_ws_frame_t  *f;

    h = ws->head;
    f = &ws->frame;

    f->fin = (h[0] & 0x80) ? 1 : 0;
    f->opcode = h[0] & 0x0f;
    f->masked = (h[1] & 0x80) ? 1 : 0;

    length = h[1] & 0x7f;
    at = 2;

    if (length == 126) {
        length = ((uint64_t) h[2] << 8) | h[3];
        at = 4;

    } else if (length == 127) {
        length = 0;

        for (i = 0; i < 8; i++) {
            length = (length << 8) | h[2 + i];
        }

        at = 10;
    }

    f->length = length;

    if (f->masked) {
        memcpy(f->key, h + at, 4);

    } else {
        memset(f->key, 0, 4);
    }

    ws->hlen = 0;

    if (h[0] & 0x70) {
        ws->error = "reserved bits set (no extension was agreed)";
        return HOOP_WS_ERROR;
    }

    if (length >> 63) {
        ws->error = "a payload length with its top bit set";
        return HOOP_WS_ERROR;
    }

    if (f->masked != ws->client) {
        ws->error = ws->client ? "a client's frame not masked"
                               : "a server's frame masked";
        return HOOP_WS_ERROR;
    }

    switch (f->opcode) {

    case HOOP_WS_CLOSE:
    case HOOP_WS_PING:
    case HOOP_WS_PONG:
        if (!f->fin || length > HOOP_WS_CONTROL_MAX) {
            ws->error = "a control frame fragmented or too long";
            return HOOP_WS_ERROR;
        }

        f->first = 1;
        break;

    case HOOP_WS_TEXT:
    case HOOP_WS_BINARY:
        if (ws->message != 0) {
            ws->error = "a new message inside another";
            return HOOP_WS_ERROR;
        }

        f->first = 1;
        ws->message = f->fin ? 0 : f->opcode;
        break;

    case HOOP_WS_CONT:
        if (ws->message == 0) {
            ws->error = "a continuation outside a message";
            return HOOP_WS_ERROR;
        }

        f->first = 0;

        if (f->fin) {
            ws->message = 0;
        }

        break;

    default:
        ws->error = "an unknown opcode";
        return HOOP_WS_ERROR;
    }

    ws->left = length;
    ws->offset = 0;
    ws->in_frame = 1;

    return HOOP_WS_FRAME;
}


void
hoop_ws_unmask(const unsigned char key[4], uint64_t offset,
    const unsigned char *in, unsigned char *out, size_t n)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        out[i] = in[i] ^ key[(offset + i) & 3];
    }
}


size_t
hoop_ws_header(unsigned char *out, int fin, int opcode, uint64_t length)
{
    size_t  i;

    out[0] = (unsigned char) ((fin ? 0x80 : 0) | (opcode & 0x0f));

    if (length < 126) {
        out[1] = (unsigned char) length;
        return 2;
    }

    if (length <= 0xffff) {
        out[1] = 126;
        out[2] = (unsigned char) (length >> 8);
        out[3] = (unsigned char) length;
        return 4;
    }

    out[1] = 127;

    for (i = 0; i < 8; i++) {
        out[2 + i] = (unsigned char) (length >> (56 - 8 * i));
    }

    return 10;
}


unsigned
hoop_ws_close_code(const unsigned char *payload, size_t len)
{
    unsigned  code;

    if (len == 0) {
        return 1005;
    }

    if (len == 1) {
        return 0;
    }

    code = ((unsigned) payload[0] << 8) | payload[1];

    /* 1005, 1006 and 1015 are never sent; below 1000 is unassigned */

    if (code < 1000 || code == 1005 || code == 1006 || code == 1015
        || (code > 1015 && code < 3000) || code >= 5000)
    {
        return 0;
    }

    return code;
}
