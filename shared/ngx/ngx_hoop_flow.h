/*
 * Copyright (C) nginx-hoop authors
 *
 * One direction of a relay the gateway reads (the Postgres gateway's
 * sessions, a Kubernetes exec after its 101): a buffer whose bytes in
 * [buf->pos, scan) have been looked at and may be sent on, the rest not
 * yet.  What the gateway writes goes in at the scan point (inject), or
 * in place of what is there (replace); the buffer grows when a message
 * must be read whole.
 */

#ifndef NGX_HOOP_FLOW_H
#define NGX_HOOP_FLOW_H

#include <ngx_config.h>
#include <ngx_core.h>


typedef struct {
    ngx_buf_t               *buf;
    u_char                  *scan;
    size_t                   pass;      /* bytes past scan that go through
                                           without being looked at */
} ngx_hoop_flow_t;


ngx_int_t ngx_hoop_flow_init(ngx_hoop_flow_t *f, ngx_pool_t *pool,
    size_t size);

/*
 * Sends what was looked at to dst, if it can take it: the bytes sent (0:
 * none), or NGX_ERROR.  An emptied buffer starts over at its start.
 */
ssize_t ngx_hoop_flow_send(ngx_hoop_flow_t *f, ngx_connection_t *dst);

/*
 * Reads from src into the room after buf->last: the bytes read, NGX_AGAIN
 * (no room, or nothing to read now), or 0 when src has ended or failed
 * (its read event's eof is set).
 */
ssize_t ngx_hoop_flow_recv(ngx_hoop_flow_t *f, ngx_connection_t *src);

/*
 * An empty buffer starts over; otherwise what is unsent moves to the
 * start when less than min room is left after it.
 */
void ngx_hoop_flow_compact(ngx_hoop_flow_t *f, size_t min);

/* Room for need more bytes after buf->last: compacted, or grown. */
ngx_int_t ngx_hoop_flow_room(ngx_hoop_flow_t *f, ngx_pool_t *pool,
    size_t need);

/* data inserted at the scan point, sent before what follows; scan past */
ngx_int_t ngx_hoop_flow_inject(ngx_hoop_flow_t *f, ngx_pool_t *pool,
    u_char *data, size_t len);

/* the old bytes at the scan point replaced by data */
ngx_int_t ngx_hoop_flow_replace(ngx_hoop_flow_t *f, ngx_pool_t *pool,
    size_t old, u_char *data, size_t len);

#endif /* NGX_HOOP_FLOW_H */
