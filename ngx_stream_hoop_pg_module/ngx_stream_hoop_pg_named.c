/*
 * Copyright (C) nginx-hoop authors
 *
 * Prepared statements and portals by name, as the server knows them: a
 * Parse or Close takes effect at once for what follows in the batch, and
 * is undone if the server did not take it.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_stream.h>

#include "ngx_stream_hoop_pg.h"


/* the server's identifier length (NAMEDATALEN - 1) */
#define NGX_STREAM_HOOP_PG_NAMEDATALEN     63

#define NGX_STREAM_HOOP_PG_STATEMENTS_MAX  1024


ngx_stream_hoop_pg_named_t **
ngx_stream_hoop_pg_named_find(ngx_stream_hoop_pg_named_t **list,
    u_char *name, size_t len)
{
    ngx_stream_hoop_pg_named_t  **pp;

    /* the server keeps names to NAMEDATALEN - 1 bytes: so do we */

    len = ngx_min(len, NGX_STREAM_HOOP_PG_NAMEDATALEN);

    for (pp = list; *pp; pp = &(*pp)->next) {
        if ((*pp)->len == len && ngx_memcmp((*pp)->name, name, len) == 0) {
            return pp;
        }
    }

    return NULL;
}


/* name -> sql (a reference is taken); replaces what the name had */
ngx_int_t
ngx_stream_hoop_pg_named_set(ngx_stream_hoop_pg_named_t **list,
    u_char *name, size_t len, ngx_stream_hoop_pg_sql_t *sql)
{
    ngx_uint_t                    n;
    ngx_stream_hoop_pg_named_t   *e, **pp, **last;

    len = ngx_min(len, NGX_STREAM_HOOP_PG_NAMEDATALEN);

    pp = ngx_stream_hoop_pg_named_find(list, name, len);

    if (pp != NULL) {
        e = *pp;
        ngx_stream_hoop_pg_sql_release(e->sql);

    } else {
        e = ngx_alloc(sizeof(ngx_stream_hoop_pg_named_t) + len,
                      ngx_cycle->log);
        if (e == NULL) {
            return NGX_ERROR;
        }

        e->len = len;
        ngx_memcpy(e->name, name, len);

        e->next = *list;
        *list = e;

        /* a client that never closes its statements: forget the oldest */

        n = 0;
        last = NULL;

        for (pp = list; *pp; pp = &(*pp)->next) {
            n++;
            last = pp;
        }

        if (n > NGX_STREAM_HOOP_PG_STATEMENTS_MAX && last != NULL) {
            ngx_stream_hoop_pg_sql_release((*last)->sql);
            ngx_free(*last);
            *last = NULL;
        }
    }

    e->sql = sql;

    if (sql != NULL) {
        sql->refs++;
    }

    return NGX_OK;
}


void
ngx_stream_hoop_pg_named_remove(ngx_stream_hoop_pg_named_t **list,
    u_char *name, size_t len)
{
    ngx_stream_hoop_pg_named_t  *e, **pp;

    pp = ngx_stream_hoop_pg_named_find(list, name,
                                       ngx_min(len,
                                               NGX_STREAM_HOOP_PG_NAME_MAX));
    if (pp == NULL) {
        return;
    }

    e = *pp;
    *pp = e->next;

    ngx_stream_hoop_pg_sql_release(e->sql);
    ngx_free(e);
}


void
ngx_stream_hoop_pg_named_free(ngx_stream_hoop_pg_named_t **list)
{
    ngx_stream_hoop_pg_named_t  *e, *next;

    for (e = *list; e; e = next) {
        next = e->next;
        ngx_stream_hoop_pg_sql_release(e->sql);
        ngx_free(e);
    }

    *list = NULL;
}


/*
 * A Parse or Close the server did not take: its name means what it meant
 * before.  Several in one failed batch are undone last first.
 */
void
ngx_stream_hoop_pg_revert(ngx_stream_hoop_pg_ctx_t *ctx,
    ngx_stream_hoop_pg_pending_t *p)
{
    ngx_stream_hoop_pg_named_t  **list;

    if (!p->revert) {
        return;
    }

    list = (p->revert == 'P') ? &ctx->portals : &ctx->statements;

    if (p->sql != NULL) {
        (void) ngx_stream_hoop_pg_named_set(list, p->text,
                                            ngx_strlen(p->text), p->sql);
    } else {
        ngx_stream_hoop_pg_named_remove(list, p->text, ngx_strlen(p->text));
    }

    p->revert = 0;
}

