/*
 * Copyright (C) nginx-hoop authors
 *
 * Prepared statements and portals by name, as the server knows them: a
 * Parse or Close takes effect at once for what follows in the batch, and
 * is undone if the server did not take it.  SQL-level PREPARE, EXECUTE
 * and DEALLOCATE share the server's names with the protocol's: a name
 * PREPAREd is known once the server said so (or, within one Query, to
 * the statements after it), and an EXECUTE is what it runs.
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



/*
 * A statement the server completed (tag: its CommandComplete text, len
 * bytes, NUL-terminated): what it did to the names.
 */
ngx_int_t
ngx_stream_hoop_pg_named_complete(ngx_stream_session_t *s,
    ngx_stream_hoop_pg_run_t *run, u_char *tag, size_t len)
{
    hoop_sql_stmt_t           *cls;
    ngx_stream_hoop_pg_ctx_t  *ctx;

    ctx = ngx_stream_get_module_ctx(s, ngx_stream_hoop_pg_module);

    if (run->sql == NULL) {
        return NGX_OK;
    }

    cls = &run->sql->cls;

    if (len == sizeof("PREPARE") - 1
        && ngx_strncmp(tag, "PREPARE", len) == 0
        && ngx_strcmp(cls->command, "prepare") == 0)
    {
        return ngx_stream_hoop_pg_named_set(&ctx->statements,
                                            (u_char *) cls->name,
                                            ngx_strlen(cls->name), run->sql);
    }

    if (len == sizeof("DEALLOCATE") - 1
        && ngx_strncmp(tag, "DEALLOCATE", len) == 0)
    {
        ngx_stream_hoop_pg_named_remove(&ctx->statements,
                                        (u_char *) cls->name,
                                        ngx_strlen(cls->name));
        return NGX_OK;
    }

    if ((len == sizeof("DEALLOCATE ALL") - 1
         && ngx_strncmp(tag, "DEALLOCATE ALL", len) == 0)
        || (len == sizeof("DISCARD ALL") - 1
            && ngx_strncmp(tag, "DISCARD ALL", len) == 0))
    {
        ngx_stream_hoop_pg_named_free(&ctx->statements);
    }

    return NGX_OK;
}


/*
 * cls[i], an EXECUTE, is what the statement it names is: one PREPAREd
 * earlier in the same Query (cls[0] .. cls[i - 1]), or one the server
 * has; a name of neither runs what the gateway does not know (unknown).
 */
void
ngx_stream_hoop_pg_named_execute(ngx_stream_session_t *s,
    hoop_sql_stmt_t *cls, ngx_uint_t i)
{
    ngx_uint_t                    j;
    const hoop_sql_stmt_t        *prepared;
    ngx_stream_hoop_pg_ctx_t     *ctx;
    ngx_stream_hoop_pg_named_t  **found;

    ctx = ngx_stream_get_module_ctx(s, ngx_stream_hoop_pg_module);

    prepared = NULL;

    for (j = i; j-- > 0; ) {
        if (ngx_strcmp(cls[j].command, "prepare") == 0
            && ngx_strcmp(cls[j].name, cls[i].name) == 0)
        {
            prepared = &cls[j];
            break;
        }
    }

    if (prepared == NULL) {
        found = ngx_stream_hoop_pg_named_find(&ctx->statements,
                                              (u_char *) cls[i].name,
                                              ngx_strlen(cls[i].name));

        if (found != NULL && (*found)->sql != NULL) {
            prepared = &(*found)->sql->cls;
        }
    }

    if (prepared == NULL) {
        hoop_sql_stmt_raise(&cls[i], HOOP_SQL_UNKNOWN);
        return;
    }

    hoop_sql_stmt_runs(&cls[i], prepared);
}
