/*
 * Copyright (C) nginx-hoop authors
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "ngx_hoop_flow.h"


ngx_int_t
ngx_hoop_flow_init(ngx_hoop_flow_t *f, ngx_pool_t *pool, size_t size)
{
    f->buf = ngx_create_temp_buf(pool, size);
    if (f->buf == NULL) {
        return NGX_ERROR;
    }

    f->scan = f->buf->pos;
    f->pass = 0;

    return NGX_OK;
}


ssize_t
ngx_hoop_flow_send(ngx_hoop_flow_t *f, ngx_connection_t *dst)
{
    size_t      size;
    ssize_t     n;
    ngx_buf_t  *b;

    b = f->buf;
    size = f->scan - b->pos;
    n = 0;

    if (size && dst->write->ready && !dst->write->error) {
        n = dst->send(dst, b->pos, size);

        if (n == NGX_ERROR) {
            return NGX_ERROR;
        }

        if (n > 0) {
            b->pos += n;

        } else {
            n = 0;                  /* NGX_AGAIN */
        }
    }

    if (b->pos == b->last) {
        b->pos = b->start;
        b->last = b->start;
        f->scan = b->start;
    }

    return n;
}


ssize_t
ngx_hoop_flow_recv(ngx_hoop_flow_t *f, ngx_connection_t *src)
{
    size_t      size;
    ssize_t     n;
    ngx_buf_t  *b;

    b = f->buf;
    size = b->end - b->last;

    if (size == 0 || !src->read->ready || src->read->eof
        || src->read->error)
    {
        return NGX_AGAIN;
    }

    n = src->recv(src, b->last, size);

    if (n == NGX_AGAIN) {
        return NGX_AGAIN;
    }

    if (n == NGX_ERROR || n == 0) {
        src->read->eof = 1;
        return 0;
    }

    b->last += n;

    return n;
}


void
ngx_hoop_flow_compact(ngx_hoop_flow_t *f, size_t min)
{
    size_t      shift;
    ngx_buf_t  *b;

    b = f->buf;

    if (b->pos == b->last) {
        b->pos = b->start;
        b->last = b->start;
        f->scan = b->start;
        return;
    }

    shift = b->pos - b->start;

    if (shift == 0 || (size_t) (b->end - b->last) >= min) {
        return;
    }

    ngx_memmove(b->start, b->pos, b->last - b->pos);

    b->pos = b->start;
    b->last -= shift;
    f->scan -= shift;
}


/*
 * Makes room for need more bytes after buf->last: first by moving what
 * is unsent to the start, then with a larger buffer (a message to be read
 * whole may be larger than the buffer the relay began with).
 */
ngx_int_t
ngx_hoop_flow_room(ngx_hoop_flow_t *f, ngx_pool_t *pool, size_t need)
{
    size_t      used, size;
    ngx_buf_t  *b, *nb;

    b = f->buf;

    if ((size_t) (b->end - b->last) >= need) {
        return NGX_OK;
    }

    ngx_hoop_flow_compact(f, need);

    if ((size_t) (b->end - b->last) >= need) {
        return NGX_OK;
    }

    used = b->last - b->pos;
    size = ngx_max(used + need, 2 * (size_t) (b->end - b->start));

    nb = ngx_create_temp_buf(pool, size);
    if (nb == NULL) {
        return NGX_ERROR;
    }

    nb->last = ngx_cpymem(nb->pos, b->pos, used);
    f->scan = nb->pos + (f->scan - b->pos);

    ngx_log_debug2(NGX_LOG_DEBUG_CORE, pool->log, 0,
                   "hoop relay buffer grown from %uz to %uz",
                   (size_t) (b->end - b->start), size);

    (void) ngx_pfree(pool, b->start);

    f->buf = nb;

    return NGX_OK;
}


ngx_int_t
ngx_hoop_flow_inject(ngx_hoop_flow_t *f, ngx_pool_t *pool, u_char *data,
    size_t len)
{
    ngx_buf_t  *b;

    if (ngx_hoop_flow_room(f, pool, len) != NGX_OK) {
        return NGX_ERROR;
    }

    b = f->buf;

    ngx_memmove(f->scan + len, f->scan, b->last - f->scan);
    ngx_memcpy(f->scan, data, len);

    f->scan += len;
    b->last += len;

    return NGX_OK;
}


/*
 * What moves to make the difference fit is the smaller side: the bytes
 * waiting to be sent before the scan point, or those not looked at yet
 * after the message (masking rewrites row after row: always moving the
 * rest of the buffer would cost the buffer's size for each row).
 */
ngx_int_t
ngx_hoop_flow_replace(ngx_hoop_flow_t *f, ngx_pool_t *pool, size_t old,
    u_char *data, size_t len)
{
    size_t      before, after, d;
    ngx_buf_t  *b;

    b = f->buf;

    if (len == old) {
        ngx_memcpy(f->scan, data, len);
        return NGX_OK;
    }

    before = f->scan - b->pos;
    after = b->last - (f->scan + old);

    if (len < old && before < after) {
        d = old - len;

        ngx_memmove(b->pos + d, b->pos, before);
        b->pos += d;
        f->scan += d;
        ngx_memcpy(f->scan, data, len);

        return NGX_OK;
    }

    if (len > old && before < after
        && (size_t) (b->pos - b->start) >= len - old)
    {
        d = len - old;

        ngx_memmove(b->pos - d, b->pos, before);
        b->pos -= d;
        f->scan -= d;
        ngx_memcpy(f->scan, data, len);

        return NGX_OK;
    }

    if (len > old && ngx_hoop_flow_room(f, pool, len - old) != NGX_OK) {
        return NGX_ERROR;
    }

    b = f->buf;

    ngx_memmove(f->scan + len, f->scan + old, b->last - (f->scan + old));
    ngx_memcpy(f->scan, data, len);

    b->last = b->last - old + len;

    return NGX_OK;
}
