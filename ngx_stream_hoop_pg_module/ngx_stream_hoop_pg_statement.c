/*
 * Copyright (C) nginx-hoop authors
 *
 * The objects a statement lives in: its SQL as classified and decided
 * (shared, counted: a prepared statement, its portals and its executions
 * point to one), and each run of it awaiting its answer and its event.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_stream.h>

#include "ngx_stream_hoop_pg.h"
#include "hoop_sql_redact.h"


static char *ngx_stream_hoop_pg_sql_detect(ngx_stream_session_t *s,
    const char *text, size_t *len);


/*
 * The SQL object of a statement: classification, and the text the audit
 * trail keeps, with literals replaced by $n (hoop_sql_normalize()) unless
 * hoop_pg_audit_literals is on.  Text the parser refused is not kept
 * (it may hold anything): its size and the parser's message are.
 */
ngx_stream_hoop_pg_sql_t *
ngx_stream_hoop_pg_sql_new(ngx_stream_session_t *s, const char *text,
    size_t len, hoop_sql_stmt_t *cls, const char *parse_error,
    const char *normalized)
{
    char                            *copy, *norm, *red, *det;
    size_t                           size, elen, slen;
    const char                      *keep;
    ngx_stream_hoop_pg_sql_t        *sql;
    ngx_stream_hoop_pg_srv_conf_t   *pscf;
    ngx_stream_hoop_pg_main_conf_t  *pmcf;

    pscf = ngx_stream_get_module_srv_conf(s, ngx_stream_hoop_pg_module);
    pmcf = ngx_stream_get_module_main_conf(s, ngx_stream_hoop_pg_module);

    /* a reviewer is shown it, its protected literals masked */
    slen = (pmcf->review_used && text != NULL && parse_error == NULL)
           ? len + 1 : 0;

    keep = NULL;
    size = 0;
    elen = parse_error ? ngx_strlen(parse_error) + 1 : 0;
    copy = NULL;
    norm = NULL;
    red = NULL;
    det = NULL;
    sql = NULL;

    if (pscf->audit && text != NULL && cls->kind != HOOP_SQL_UNKNOWN) {

        if (pscf->audit_literals) {
            keep = text;
            size = len;

        } else if (normalized != NULL) {
            keep = normalized;

        } else {
            copy = ngx_alloc(len + 1, s->connection->log);
            if (copy == NULL) {
                return NULL;
            }

            ngx_memcpy(copy, text, len);
            copy[len] = '\0';

            /* one statement of several: normalized on its own */

            norm = ngx_stream_hoop_pg_normalize(copy, &size,
                                                s->connection->log);
            if (norm == NULL && size) {
                goto done;
            }

            keep = norm;
        }

        /*
         * what the normalizer left, the trail does not keep either: the
         * strings (a NOTIFY's payload, a file name), and the numbers of
         * statements it does not walk (EXECUTE's, CALL's arguments); a
         * text that cannot be scanned is not kept at all
         */

        if (keep != NULL && !pscf->audit_literals) {
            red = ngx_stream_hoop_pg_redact(keep,
                               !hoop_sql_normalized_command(cls->command),
                               &size, s->connection->log);
            if (red == NULL && size) {
                goto done;
            }

            keep = red;
        }

        /* a value in a name ("AS \"...\"", a channel) is not kept */

        if (keep != NULL && pscf->mask.enabled
            && hoop_mask_could_match(&pscf->mask, (u_char *) keep, size))
        {
            det = ngx_stream_hoop_pg_sql_detect(s, keep, &size);
            if (det == NULL) {
                goto done;
            }

            keep = det;
        }

    } else if (text != NULL) {
        /* unknown: only its size */
        cls->length = len;
    }

    if (keep == NULL) {
        size = 0;
    }

    sql = ngx_alloc(sizeof(ngx_stream_hoop_pg_sql_t) + size + 1 + elen
                    + slen, s->connection->log);
    if (sql == NULL) {
        goto done;
    }

    ngx_memzero(sql, sizeof(ngx_stream_hoop_pg_sql_t));

    sql->refs = 1;
    sql->cls = *cls;
    sql->cls.length = len;

    if (keep != NULL) {
        sql->text = (u_char *) (sql + 1);
        sql->len = size;
        ngx_memcpy(sql->text, keep, size);
        sql->text[size] = '\0';
    }

    if (parse_error != NULL) {
        sql->parse_error = (char *) (sql + 1) + size + 1;
        ngx_memcpy((char *) sql->parse_error, parse_error, elen);
    }

    if (slen) {
        sql->source = (u_char *) (sql + 1) + size + 1 + elen;
        sql->source_len = len;
        ngx_memcpy(sql->source, text, len);
        sql->source[len] = '\0';
    }

    /* which of its outputs carry a masked column's value */

    ngx_stream_hoop_pg_mask_lineage(s, sql, text, len);

done:

    if (copy != NULL) {
        ngx_free(copy);
    }

    if (norm != NULL) {
        ngx_free(norm);
    }

    if (red != NULL) {
        ngx_free(red);
    }

    if (det != NULL) {
        ngx_free(det);
    }

    return sql;
}


/*
 * The text kept of a statement with the detectors run over it:
 * ngx_alloc'd, *len its new length; NULL when memory ran out.
 */
static char *
ngx_stream_hoop_pg_sql_detect(ngx_stream_session_t *s, const char *text,
    size_t *len)
{
    char                           *out;
    size_t                          n, cap;
    ngx_stream_hoop_pg_srv_conf_t  *pscf;

    pscf = ngx_stream_get_module_srv_conf(s, ngx_stream_hoop_pg_module);

    /* a mask may be longer than what it hides: "a@b.c" is "[EMAIL]" */

    for (cap = 2 * *len + 64; /* void */; cap *= 2) {
        out = ngx_alloc(cap, s->connection->log);
        if (out == NULL) {
            return NULL;
        }

        n = hoop_mask_string(&pscf->mask, (u_char *) text, *len,
                             (u_char *) out, cap, NULL);

        if (n != (size_t) -1) {
            *len = n;
            return out;
        }

        ngx_free(out);
    }
}


void
ngx_stream_hoop_pg_sql_release(ngx_stream_hoop_pg_sql_t *sql)
{
    if (sql != NULL && --sql->refs == 0) {
        ngx_free(sql);
    }
}


ngx_stream_hoop_pg_query_t *
ngx_stream_hoop_pg_query_new(ngx_uint_t n)
{
    ngx_uint_t                   i;
    ngx_stream_hoop_pg_query_t  *q;

    q = ngx_alloc(sizeof(ngx_stream_hoop_pg_query_t)
                  + (n - 1) * sizeof(ngx_stream_hoop_pg_run_t),
                  ngx_cycle->log);
    if (q == NULL) {
        return NULL;
    }

    ngx_memzero(q, sizeof(ngx_stream_hoop_pg_query_t)
                   + (n - 1) * sizeof(ngx_stream_hoop_pg_run_t));

    q->n = n;
    q->start = ngx_current_msec;

    for (i = 0; i < n; i++) {
        q->run[i].rows = -1;
    }

    return q;
}


void
ngx_stream_hoop_pg_query_free(ngx_stream_hoop_pg_query_t *q)
{
    ngx_uint_t  i;

    for (i = 0; i < q->n; i++) {
        ngx_stream_hoop_pg_sql_release(q->run[i].sql);

        if (q->run[i].captured != NULL) {
            ngx_free(q->run[i].captured);
        }
    }

    ngx_free(q);
}

