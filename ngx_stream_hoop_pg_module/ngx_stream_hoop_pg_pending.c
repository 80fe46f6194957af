/*
 * Copyright (C) nginx-hoop authors
 *
 * Client messages sent on whose answers are awaited, in the order sent:
 * a ring.  An answer that completes the head ("1" for Parse, "C" for
 * Execute, "Z" for Sync, ...) takes it off, and a statement's end
 * becomes its audit event once the answer has gone to the client.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_stream.h>

#include "ngx_stream_hoop_pg.h"


/*
 * The client message goes into the pending ring (q and sql with it);
 * its entry is returned.  What the server will not answer (no_push) is
 * not pushed: NULL, and q and sql are done with here.
 */
ngx_stream_hoop_pg_pending_t *
ngx_stream_hoop_pg_push(ngx_stream_session_t *s, u_char type,
    ngx_stream_hoop_pg_query_t *q, ngx_stream_hoop_pg_sql_t *sql)
{
    ngx_uint_t                     i;
    ngx_stream_hoop_pg_ctx_t      *ctx;
    ngx_stream_hoop_pg_pending_t  *p;

    ctx = ngx_stream_get_module_ctx(s, ngx_stream_hoop_pg_module);

    if (ctx->no_push) {
        /* never answered: a statement in it is recorded as not run */

        if (q != NULL) {
            ngx_stream_hoop_pg_audit_query(s, q);
            ngx_stream_hoop_pg_query_free(q);
        }

        ngx_stream_hoop_pg_sql_release(sql);

        return NULL;
    }

    /*
     * the client waits for room before its message is looked at
     * (ngx_stream_hoop_pg_query_client()); a full ring here is a bug: the
     * session ends rather than an answer being matched to another message
     */

    if (ctx->pending_count >= NGX_STREAM_HOOP_PG_PENDING) {
        ngx_log_error(NGX_LOG_ALERT, s->connection->log, 0,
                      "hoop pg: %ui messages already await their answers",
                      ctx->pending_count);

        ctx->ring_full = 1;

        if (q != NULL) {
            ngx_stream_hoop_pg_query_free(q);
        }

        ngx_stream_hoop_pg_sql_release(sql);

        return NULL;
    }

    i = (ctx->pending_head + ctx->pending_count)
        % NGX_STREAM_HOOP_PG_PENDING;
    p = &ctx->pending[i];

    p->type = type;
    p->denied = 0;
    p->injected = 0;
    p->revert = 0;
    p->text = NULL;
    p->query = q;
    p->sql = sql;

    ctx->pending_count++;

    return p;
}


ngx_stream_hoop_pg_pending_t *
ngx_stream_hoop_pg_head(ngx_stream_hoop_pg_ctx_t *ctx)
{
    if (ctx->pending_count == 0) {
        return NULL;
    }

    return &ctx->pending[ctx->pending_head];
}


/* the head is answered: its statement, if any, is recorded */
void
ngx_stream_hoop_pg_pop(ngx_stream_session_t *s)
{
    ngx_stream_hoop_pg_ctx_t      *ctx;
    ngx_stream_hoop_pg_pending_t  *p;

    ctx = ngx_stream_get_module_ctx(s, ngx_stream_hoop_pg_module);
    p = ngx_stream_hoop_pg_head(ctx);

    if (p == NULL) {
        return;
    }

    /*
     * recorded once the answer has been sent on (the relay calls
     * ngx_stream_hoop_pg_query_done()): the event is not in the time the
     * client waits
     */

    if (p->query != NULL) {
        p->query->done_next = NULL;
        *ctx->done_last = p->query;
        ctx->done_last = &p->query->done_next;
    }

    ngx_stream_hoop_pg_revert(ctx, p);

    ngx_stream_hoop_pg_sql_release(p->sql);

    if (p->text != NULL) {
        ngx_free(p->text);
    }

    p->query = NULL;
    p->sql = NULL;
    p->text = NULL;
    p->revert = 0;

    ctx->pending_head = (ctx->pending_head + 1) % NGX_STREAM_HOOP_PG_PENDING;

    ctx->pending_count--;

    /* a client stopped for room goes on */

    if (ctx->room_wait) {
        ctx->room_wait = 0;
        ngx_post_event(s->connection->read, &ngx_posted_events);
    }
}


/*
 * CopyInResponse: until CopyDone or CopyFail the server ignores Sync and
 * Flush; a Sync already awaited after the COPY (libpq sends one with the
 * Execute) will get no answer.
 */
void
ngx_stream_hoop_pg_copy_in(ngx_stream_session_t *s)
{
    ngx_uint_t                     i, k, n;
    ngx_stream_hoop_pg_ctx_t      *ctx;
    ngx_stream_hoop_pg_pending_t  *p;

    ctx = ngx_stream_get_module_ctx(s, ngx_stream_hoop_pg_module);

    ctx->copy_in = 1;

    if (ctx->pending_count < 2) {
        return;
    }

    /* keep the head (the COPY) and all but the Syncs after it */

    n = ctx->pending_count;
    k = 1;

    for (i = 1; i < n; i++) {
        p = &ctx->pending[(ctx->pending_head + i) % NGX_STREAM_HOOP_PG_PENDING];

        if (p->type == 'S') {
            continue;
        }

        ctx->pending[(ctx->pending_head + k) % NGX_STREAM_HOOP_PG_PENDING] = *p;
        k++;
    }

    ctx->pending_count = k;
}


ngx_stream_hoop_pg_run_t *
ngx_stream_hoop_pg_current_run(ngx_stream_hoop_pg_ctx_t *ctx)
{
    ngx_stream_hoop_pg_pending_t  *p;

    p = ngx_stream_hoop_pg_head(ctx);

    if (p == NULL || p->query == NULL) {
        return NULL;
    }

    return &p->query->run[p->query->current];
}


/*
 * The session ends with statements sent and unanswered: the server may
 * well have run them, so they are recorded, as of unknown outcome.
 */
void
ngx_stream_hoop_pg_query_abandon(ngx_stream_session_t *s)
{
    ngx_stream_hoop_pg_ctx_t      *ctx;
    ngx_stream_hoop_pg_pending_t  *p;

    ctx = ngx_stream_get_module_ctx(s, ngx_stream_hoop_pg_module);

    if (ctx == NULL || ctx->pending == NULL) {
        return;
    }

    while (ctx->pending_count) {
        p = &ctx->pending[ctx->pending_head];

        if (p->query != NULL) {
            p->query->abandoned = 1;
        }

        ngx_stream_hoop_pg_pop(s);
    }
}


/*
 * The statements answered since the last call, recorded in order, and
 * freed; before any other event of the session, so that the trail keeps
 * the order things happened in.
 */
void
ngx_stream_hoop_pg_query_done(ngx_stream_session_t *s)
{
    ngx_stream_hoop_pg_ctx_t    *ctx;
    ngx_stream_hoop_pg_query_t  *q, *next;

    ctx = ngx_stream_get_module_ctx(s, ngx_stream_hoop_pg_module);

    if (ctx == NULL || ctx->done == NULL) {
        return;
    }

    /* taken off first: recording one does not record the others again */

    q = ctx->done;
    ctx->done = NULL;
    ctx->done_last = &ctx->done;

    while (q != NULL) {
        next = q->done_next;
        ngx_stream_hoop_pg_audit_query(s, q);
        ngx_stream_hoop_pg_query_free(q);
        q = next;
    }
}


void
ngx_stream_hoop_pg_query_cleanup(ngx_stream_hoop_pg_ctx_t *ctx)
{
    ngx_stream_hoop_pg_query_t    *q;
    ngx_stream_hoop_pg_pending_t  *p;

    /* recorded by then, unless the session ended before its log phase */

    while (ctx->done != NULL) {
        q = ctx->done;
        ctx->done = q->done_next;
        ngx_stream_hoop_pg_query_free(q);
    }

    ctx->done_last = &ctx->done;

    if (ctx->pending != NULL) {
        while (ctx->pending_count) {
            p = &ctx->pending[ctx->pending_head];

            if (p->query != NULL) {
                ngx_stream_hoop_pg_query_free(p->query);
            }

            ngx_stream_hoop_pg_sql_release(p->sql);

            if (p->text != NULL) {
                ngx_free(p->text);
            }

            ctx->pending_head = (ctx->pending_head + 1)
                                % NGX_STREAM_HOOP_PG_PENDING;
            ctx->pending_count--;
        }
    }

    ngx_stream_hoop_pg_named_free(&ctx->statements);
    ngx_stream_hoop_pg_named_free(&ctx->portals);
}

