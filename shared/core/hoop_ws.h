/*
 * Copyright (C) nginx-hoop authors
 *
 * WebSocket frames (RFC 6455, section 5) read as they stream, for a relay
 * that looks at every message: headers parsed whatever the pieces they
 * arrive in, payloads handed on in pieces (unmasked by the caller, into
 * its own memory, when it needs them), the rules of the protocol checked
 * (no extension bits, known opcodes, control frames whole and short,
 * continuations only inside a message, masking by clients only).
 */

#ifndef HOOP_WS_H
#define HOOP_WS_H

#include <stddef.h>
#include <stdint.h>


#define HOOP_WS_CONT       0x0
#define HOOP_WS_TEXT       0x1
#define HOOP_WS_BINARY     0x2
#define HOOP_WS_CLOSE      0x8
#define HOOP_WS_PING       0x9
#define HOOP_WS_PONG       0xa

/* a frame header: 2 bytes, 8 of length, 4 of mask key, at most */
#define HOOP_WS_HEADER_MAX 14

#define HOOP_WS_CONTROL_MAX 125


typedef enum {
    HOOP_WS_MORE = 0,           /* all of data used: feed more */
    HOOP_WS_FRAME,              /* a frame's header: ws->frame */
    HOOP_WS_PAYLOAD,            /* a piece of its payload: data[0, used) */
    HOOP_WS_FRAME_END,          /* ... its payload is all there */
    HOOP_WS_ERROR               /* not the protocol: ws->error says why */
} hoop_ws_e;


typedef struct {
    unsigned             fin:1;
    unsigned             masked:1;
    unsigned             opcode:4;
    unsigned             first:1;       /* the first frame of a message
                                           (or a control frame) */
    uint64_t             length;        /* of its payload */
    unsigned char        key[4];
} hoop_ws_frame_t;


typedef struct {
    hoop_ws_frame_t      frame;         /* the frame being read */
    unsigned char        head[HOOP_WS_HEADER_MAX];
    size_t               hlen;          /* of head, while it comes */
    uint64_t             left;          /* payload bytes still to come */
    uint64_t             offset;        /* of the piece just handed on */
    unsigned             client:1;      /* frames come from a client */
    unsigned             in_frame:1;    /* the header was read */
    unsigned             message:4;     /* the data message in progress:
                                           its opcode, 0 if none */
    const char          *error;
} hoop_ws_reader_t;


/* client: the frames are a client's (masked), else a server's (not) */
void hoop_ws_reader_init(hoop_ws_reader_t *ws, int client);

/*
 * The next thing in data (len bytes): consumes *used of them.  After
 * FRAME, ws->frame describes the frame; its payload follows as PAYLOAD
 * pieces (the bytes are data[0, *used), at ws->offset in the payload,
 * still masked if the frame is), then FRAME_END (at once for an empty
 * payload).  MORE when data ran out first.  After ERROR the stream is
 * not read further.
 */
hoop_ws_e hoop_ws_read(hoop_ws_reader_t *ws, const unsigned char *data,
    size_t len, size_t *used);

/* Unmasks n bytes at offset of a payload masked with key, into out. */
void hoop_ws_unmask(const unsigned char key[4], uint64_t offset,
    const unsigned char *in, unsigned char *out, size_t n);

/*
 * An unmasked frame's header (a server's) into out (HOOP_WS_HEADER_MAX
 * bytes): returns its length.
 */
size_t hoop_ws_header(unsigned char *out, int fin, int opcode,
    uint64_t length);

/*
 * A close frame's status code, from its unmasked payload: 1005 (none)
 * for an empty one, 0 for a payload that is not a close's (one byte, a
 * code the protocol forbids on the wire).
 */
unsigned hoop_ws_close_code(const unsigned char *payload, size_t len);

#endif /* HOOP_WS_H */
