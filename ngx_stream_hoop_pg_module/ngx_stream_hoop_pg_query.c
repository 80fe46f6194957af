/*
 * Copyright (C) nginx-hoop authors
 *
 * Every statement, in both protocols, classified and decided before it
 * reaches the server, and every answer matched to the message it answers.
 *
 * A statement the policy denies is not dropped: the gateway sends the
 * server, in its place, text that fails to parse, and rewrites the
 * server's ErrorResponse into its own (42501, naming the rule).  The
 * server thereby does what it does for any failed statement, exactly:
 * a Query runs none of its statements, an extended-protocol batch is
 * discarded up to Sync, a transaction block is aborted, and ReadyForQuery
 * carries the true transaction status.  Answers keep their order behind
 * whatever the client pipelined before.
 *
 * Client messages awaiting an answer wait in a ring (pending); an answer
 * that completes one ("1" for Parse, "C" for Execute, "Z" for Sync, ...)
 * takes it off, and a statement's end becomes its audit event.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_stream.h>

#include <pg_query.h>

#include "ngx_stream_hoop_pg.h"
#include "hoop_pg_error.h"
#include "hoop_pg_msg.h"


#define NGX_STREAM_HOOP_PG_NAME_MAX        1024

#define NGX_STREAM_HOOP_PG_ONE_AT_A_TIME                                     \
    "hoop: a statement that needs a review must be sent alone, not in a"      \
    " string of several"

/* the server's identifier length (NAMEDATALEN - 1) */
#define NGX_STREAM_HOOP_PG_NAMEDATALEN     63

/* pending slots only a Sync may take */
#define NGX_STREAM_HOOP_PG_RESERVED        8
#define NGX_STREAM_HOOP_PG_STATEMENTS_MAX  1024



static ngx_int_t ngx_stream_hoop_pg_query_simple(ngx_stream_session_t *s,
    u_char *msg, size_t *len);
static ngx_int_t ngx_stream_hoop_pg_query_parse(ngx_stream_session_t *s,
    u_char *msg, size_t *len);
static ngx_int_t ngx_stream_hoop_pg_query_bind(ngx_stream_session_t *s,
    u_char *msg, size_t len);
static ngx_int_t ngx_stream_hoop_pg_query_execute(ngx_stream_session_t *s,
    u_char *msg, size_t *len);
static ngx_int_t ngx_stream_hoop_pg_query_close(ngx_stream_session_t *s,
    u_char *msg, size_t len);
static ngx_int_t ngx_stream_hoop_pg_query_describe(ngx_stream_session_t *s,
    u_char *portal);
static ngx_int_t ngx_stream_hoop_pg_query_fastpath(ngx_stream_session_t *s,
    u_char *msg, size_t *len);
static ngx_uint_t ngx_stream_hoop_pg_query_undoes(
    ngx_stream_hoop_pg_query_t *q);
static ngx_int_t ngx_stream_hoop_pg_query_deny(ngx_stream_session_t *s,
    ngx_stream_hoop_pg_pending_t *p, u_char *msg, size_t *len,
    ngx_uint_t why, u_char *text);
static ngx_stream_hoop_pg_sql_t *ngx_stream_hoop_pg_sql_new(
    ngx_stream_session_t *s, const char *text, size_t len,
    hoop_sql_stmt_t *cls, const char *parse_error, const char *normalized);
static int ngx_stream_hoop_pg_classify(const char *text,
    hoop_sql_stmt_t *cls, size_t max, char *error, size_t error_len,
    char **normalized, ngx_log_t *log);
static void ngx_stream_hoop_pg_sql_release(ngx_stream_hoop_pg_sql_t *sql);
static ngx_stream_hoop_pg_query_t *ngx_stream_hoop_pg_query_new(
    ngx_uint_t n);
static void ngx_stream_hoop_pg_query_free(ngx_stream_hoop_pg_query_t *q);
static ngx_stream_hoop_pg_named_t **ngx_stream_hoop_pg_named_find(
    ngx_stream_hoop_pg_named_t **list, u_char *name, size_t len);
static ngx_int_t ngx_stream_hoop_pg_named_set(
    ngx_stream_hoop_pg_named_t **list, u_char *name, size_t len,
    ngx_stream_hoop_pg_sql_t *sql);
static void ngx_stream_hoop_pg_named_remove(
    ngx_stream_hoop_pg_named_t **list, u_char *name, size_t len);
static void ngx_stream_hoop_pg_named_free(ngx_stream_hoop_pg_named_t **list);
static ngx_stream_hoop_pg_pending_t *ngx_stream_hoop_pg_push(
    ngx_stream_session_t *s, u_char type, ngx_stream_hoop_pg_query_t *q,
    ngx_stream_hoop_pg_sql_t *sql);
static ngx_stream_hoop_pg_pending_t *ngx_stream_hoop_pg_head(
    ngx_stream_hoop_pg_ctx_t *ctx);
static void ngx_stream_hoop_pg_pop(ngx_stream_session_t *s);
static void ngx_stream_hoop_pg_revert(ngx_stream_hoop_pg_ctx_t *ctx,
    ngx_stream_hoop_pg_pending_t *p);
static ngx_int_t ngx_stream_hoop_pg_server_error(ngx_stream_session_t *s,
    u_char *msg, size_t *len);
static ngx_int_t ngx_stream_hoop_pg_denial(ngx_stream_session_t *s,
    ngx_stream_hoop_pg_pending_t *p, size_t *len);
static ngx_stream_hoop_pg_run_t *ngx_stream_hoop_pg_current_run(
    ngx_stream_hoop_pg_ctx_t *ctx);
static const char *ngx_stream_hoop_pg_denial_state(ngx_uint_t why);
static ngx_int_t ngx_stream_hoop_pg_query_wait(ngx_stream_session_t *s);
static void ngx_stream_hoop_pg_copy_in(ngx_stream_session_t *s);
static ngx_int_t ngx_stream_hoop_pg_capture(ngx_stream_session_t *s,
    ngx_stream_hoop_pg_run_t *run, u_char *row, size_t len);


/* what the server is sent in place of a denied message: it cannot parse */
static u_char  ngx_stream_hoop_pg_fail_query[] = "Q\0\0\0\x10HOOP DENIED\0";
static u_char  ngx_stream_hoop_pg_fail_parse[] =
    "P\0\0\0\x13\0HOOP DENIED\0\0\0";

/*
 * an Execute's: a Parse too, but of a named statement, which a syntax
 * error leaves as it was (an unnamed one is dropped first), and like the
 * Execute's own error it makes the server skip to the Sync
 */
static u_char  ngx_stream_hoop_pg_fail_execute[] =
    "P\0\0\0\x1ehoop denied\0HOOP DENIED\0\0\0";


/*
 * A client message about to be sent on; *len bytes of it are at msg (all
 * of it for Query, Parse and FunctionCall; the names for the others).
 * NGX_OK: send it (*len may have changed: it was replaced); NGX_AGAIN:
 * not now, too many answers pending; NGX_DONE; NGX_ERROR.
 */
ngx_int_t
ngx_stream_hoop_pg_query_client(ngx_stream_session_t *s, u_char *msg,
    size_t *len)
{
    ngx_stream_hoop_pg_ctx_t  *ctx;

    ctx = ngx_stream_get_module_ctx(s, ngx_stream_hoop_pg_module);

    if (ctx->pending == NULL) {
        return NGX_OK;                  /* nothing to decide or record */
    }

    /*
     * room in the ring: the last slots are kept for Sync, so a batch
     * longer than the ring waits for answers instead of for ever; the
     * server answers before a Sync only when flushed, so it is flushed
     */

    switch (msg[0]) {

    case 'S':
        if (ctx->pending_count == NGX_STREAM_HOOP_PG_PENDING) {
            return ngx_stream_hoop_pg_query_wait(s);
        }

        break;

    case 'Q':
    case 'P':
    case 'B':
    case 'E':
    case 'C':
    case 'D':
    case 'F':
        if (ctx->pending_count + NGX_STREAM_HOOP_PG_RESERVED
            >= NGX_STREAM_HOOP_PG_PENDING)
        {
            return ngx_stream_hoop_pg_query_wait(s);
        }

        break;

    default:
        break;
    }

    /*
     * what the server will not answer is not awaited: all after an error
     * until Sync (extended protocol), and Sync and Flush during COPY FROM
     * STDIN; the policy applies all the same
     */

    ctx->no_push = 0;

    if (ctx->sync_skip) {
        if (msg[0] == 'S') {
            ctx->sync_skip = 0;

        } else {
            ctx->no_push = 1;
        }
    }

    if (ctx->copy_in) {
        if (msg[0] == 'c' || msg[0] == 'f') {
            ctx->copy_in = 0;

        } else if (msg[0] == 'S' || msg[0] == 'H') {
            ctx->no_push = 1;
        }
    }

    switch (msg[0]) {

    case 'Q':
        return ngx_stream_hoop_pg_query_simple(s, msg, len);

    case 'P':
        return ngx_stream_hoop_pg_query_parse(s, msg, len);

    case 'B':
        return ngx_stream_hoop_pg_query_bind(s, msg, *len);

    case 'E':
        return ngx_stream_hoop_pg_query_execute(s, msg, len);

    case 'C':
        return ngx_stream_hoop_pg_query_close(s, msg, *len);

    case 'F':
        return ngx_stream_hoop_pg_query_fastpath(s, msg, len);

    case 'D':
        if (*len < 7 || (msg[5] != 'S' && msg[5] != 'P')
            || ngx_strlchr(msg + 6, msg + *len, '\0') != msg + *len - 1)
        {
            ngx_stream_hoop_pg_fatal(s, NGX_STREAM_BAD_REQUEST, "08P01",
                                     "hoop: malformed Describe message",
                                     NULL);
            return NGX_DONE;
        }

        (void) ngx_stream_hoop_pg_push(s, msg[0], NULL, NULL);
        return NGX_OK;

    case 'S':
        (void) ngx_stream_hoop_pg_push(s, msg[0], NULL, NULL);
        return NGX_OK;

    default:                            /* H, X, d, c, f: no answer */
        return NGX_OK;
    }
}


static ngx_int_t
ngx_stream_hoop_pg_query_simple(ngx_stream_session_t *s, u_char *msg,
    size_t *len)
{
    int                              n, i;
    char                            *sql, error[160];
    u_char                          *text;
    ngx_int_t                        rc;
    ngx_uint_t                       deny;
    char                            *norm;
    hoop_sql_stmt_t                  cls[NGX_STREAM_HOOP_PG_STMTS];
    ngx_stream_hoop_pg_run_t        *review;
    ngx_stream_hoop_pg_pending_t    *pending;
    ngx_stream_hoop_pg_sql_t        *stmt;
    ngx_stream_hoop_pg_query_t      *q;

    /* the query string: NUL-terminated, and the message ends there */

    if (*len < 6 || msg[*len - 1] != '\0'
        || ngx_strlen(msg + 5) != *len - 6)
    {
        ngx_stream_hoop_pg_fatal(s, NGX_STREAM_BAD_REQUEST, "08P01",
                                 "hoop: malformed Query message", NULL);
        return NGX_DONE;
    }

    sql = (char *) msg + 5;
    error[0] = '\0';

    n = ngx_stream_hoop_pg_classify(sql, cls, NGX_STREAM_HOOP_PG_STMTS,
                                    error, sizeof(error), &norm,
                                    s->connection->log);
    if (n < 0) {
        ngx_free(norm);
        return NGX_ERROR;
    }

    q = ngx_stream_hoop_pg_query_new(n ? n : 1);
    if (q == NULL) {
        ngx_free(norm);
        return NGX_ERROR;
    }

    /* an empty query is still answered: one run, of nothing */

    if (n == 0) {
        ngx_memzero(&cls[0], sizeof(hoop_sql_stmt_t));
        ngx_cpystrn((u_char *) cls[0].command, (u_char *) "empty",
                    sizeof(cls[0].command));
    }

    deny = 0;
    review = NULL;

    for (i = 0; i < (n ? n : 1); i++) {
        /* one statement: the whole text's normalization is its own */

        stmt = ngx_stream_hoop_pg_sql_new(s, sql + cls[i].offset,
                                          cls[i].length, &cls[i],
                                          error[0] ? error : NULL,
                                          n == 1 ? norm : NULL);
        if (stmt == NULL) {
            ngx_free(norm);
            ngx_stream_hoop_pg_query_free(q);
            return NGX_ERROR;
        }

        ngx_stream_hoop_pg_policy_decide(s, stmt);

        q->run[i].sql = stmt;

        if (stmt->action == HOOP_RULE_DENY && !deny) {
            q->run[i].denied = 1;
            deny = NGX_STREAM_HOOP_PG_DENIED_POLICY;

        } else if (stmt->action == HOOP_RULE_REVIEW && review == NULL) {
            review = &q->run[i];
        }
    }

    ngx_free(norm);

    /* one held statement holds the whole Query; one denied denies it */

    text = NULL;

    if (!deny && review != NULL && n > 1) {
        /* a reviewer sees one statement: one is what runs when approved */

        deny = NGX_STREAM_HOOP_PG_DENIED_REJECTED;
        review->denied = 1;
        text = ngx_alloc(sizeof(NGX_STREAM_HOOP_PG_ONE_AT_A_TIME),
                         s->connection->log);
        if (text == NULL) {
            ngx_stream_hoop_pg_query_free(q);
            return NGX_ERROR;
        }

        ngx_memcpy(text, NGX_STREAM_HOOP_PG_ONE_AT_A_TIME,
                   sizeof(NGX_STREAM_HOOP_PG_ONE_AT_A_TIME));

    } else if (!deny && review != NULL) {
        rc = ngx_stream_hoop_pg_review(s, review->sql, q, &deny, &text);

        if (rc != NGX_OK) {
            if (rc != NGX_DECLINED) {
                ngx_stream_hoop_pg_query_free(q);
                return rc;              /* NGX_AGAIN: held */
            }

            review->denied = 1;
        }
    }

    if (!deny
        && !ngx_stream_hoop_pg_query_undoes(q)
        && ngx_stream_hoop_pg_audit_refuses(s, "statement"))
    {
        deny = NGX_STREAM_HOOP_PG_DENIED_AUDIT;

        /* none runs: none has an event to keep room for */

        for (i = 0; i < (int) q->n; i++) {
            q->run[i].denied = 1;
            q->run[i].unaudited = 1;
        }
    }

    pending = ngx_stream_hoop_pg_push(s, 'Q', q, NULL);

    if (deny) {
        return ngx_stream_hoop_pg_query_deny(s, pending, msg, len, deny,
                                             text);
    }

    return NGX_OK;
}


/* Parse: name, query, parameter types */
static ngx_int_t
ngx_stream_hoop_pg_query_parse(ngx_stream_session_t *s, u_char *msg,
    size_t *len)
{
    int                              n;
    char                             error[160];
    u_char                          *name, *query, *end, *text, *types;
    size_t                           name_len, query_len;
    ngx_int_t                        rc;
    ngx_uint_t                       why;
    ngx_stream_hoop_pg_sql_t        *before;
    ngx_stream_hoop_pg_pending_t    *pending;
    ngx_stream_hoop_pg_named_t     **found;
    char                            *norm;
    hoop_sql_stmt_t                  cls[2];
    ngx_stream_hoop_pg_ctx_t        *ctx;
    ngx_stream_hoop_pg_sql_t        *stmt;
    ngx_stream_hoop_pg_query_t      *q;

    ctx = ngx_stream_get_module_ctx(s, ngx_stream_hoop_pg_module);

    end = msg + *len;
    name = msg + 5;
    query = ngx_strlchr(name, end, '\0');

    /* after the query's NUL: the parameter types */

    types = (query == NULL) ? NULL : ngx_strlchr(query + 1, end, '\0');

    if (types == NULL
        || !hoop_pg_parse_types_valid(types + 1, end - (types + 1)))
    {
        ngx_stream_hoop_pg_fatal(s, NGX_STREAM_BAD_REQUEST, "08P01",
                                 "hoop: malformed Parse message", NULL);
        return NGX_DONE;
    }

    name_len = query - name;
    query++;
    query_len = ngx_strlen(query);
    error[0] = '\0';

    n = ngx_stream_hoop_pg_classify((char *) query, cls, 2, error,
                                    sizeof(error), &norm,
                                    s->connection->log);
    if (n < 0) {
        ngx_free(norm);
        return NGX_ERROR;
    }

    if (n == 0) {
        ngx_memzero(&cls[0], sizeof(hoop_sql_stmt_t));
        ngx_cpystrn((u_char *) cls[0].command, (u_char *) "empty",
                    sizeof(cls[0].command));

    } else if (n > 1) {
        /* the server refuses several commands in one Parse itself */
        cls[0].kind = HOOP_SQL_UNKNOWN;
        cls[0].length = query_len;
        cls[0].undo = 0;
    }

    stmt = ngx_stream_hoop_pg_sql_new(s, (char *) query, query_len, &cls[0],
                                      error[0] ? error : NULL,
                                      n == 1 ? norm : NULL);

    ngx_free(norm);

    if (stmt == NULL) {
        return NGX_ERROR;
    }

    ngx_stream_hoop_pg_policy_decide(s, stmt);

    q = ngx_stream_hoop_pg_query_new(1);
    if (q == NULL) {
        ngx_stream_hoop_pg_sql_release(stmt);
        return NGX_ERROR;
    }

    q->extended = 1;
    q->run[0].sql = stmt;                /* the reference is q's now */

    why = (stmt->action == HOOP_RULE_DENY) ? NGX_STREAM_HOOP_PG_DENIED_POLICY
                                           : 0;
    text = NULL;

    if (stmt->action == HOOP_RULE_REVIEW) {
        rc = ngx_stream_hoop_pg_review(s, stmt, q, &why, &text);

        if (rc != NGX_OK && rc != NGX_DECLINED) {
            ngx_stream_hoop_pg_query_free(q);
            return rc;                  /* NGX_AGAIN: held */
        }
    }

    if (!why
        && !stmt->cls.undo
        && ngx_stream_hoop_pg_audit_refuses(s, "statement"))
    {
        why = NGX_STREAM_HOOP_PG_DENIED_AUDIT;
        q->run[0].unaudited = 1;
    }

    if (why) {
        /* the denial is recorded now: the statement will never run */

        q->run[0].denied = 1;

        ngx_stream_hoop_pg_audit_query(s, q);

        stmt->refs++;                   /* one for the pending entry */

        pending = ngx_stream_hoop_pg_push(s, 'P', NULL, stmt);
        rc = ngx_stream_hoop_pg_query_deny(s, pending, msg, len, why, text);

        ngx_stream_hoop_pg_query_free(q);
        return rc;
    }

    /* an approved statement's review is in its executions' events */

    stmt->refs++;
    ngx_stream_hoop_pg_query_free(q);

    /*
     * the name means this statement from now on, for the Binds that follow
     * at once; should the server refuse the Parse ("already exists", an
     * error earlier in the batch), it means again what it meant before
     */

    if (ctx->no_push) {
        /* discarded by the server after an earlier error: defines nothing */
        ngx_stream_hoop_pg_sql_release(stmt);
        return NGX_OK;
    }

    found = ngx_stream_hoop_pg_named_find(&ctx->statements, name, name_len);
    before = (found != NULL) ? (*found)->sql : NULL;

    if (before != NULL) {
        before->refs++;
    }

    rc = ngx_stream_hoop_pg_named_set(&ctx->statements, name, name_len,
                                      stmt);
    ngx_stream_hoop_pg_sql_release(stmt);

    if (rc != NGX_OK) {
        ngx_stream_hoop_pg_sql_release(before);
        return NGX_ERROR;
    }

    pending = ngx_stream_hoop_pg_push(s, 'P', NULL, before);

    if (pending != NULL) {
        pending->revert = 'S';
        pending->text = ngx_alloc(name_len + 1, s->connection->log);

        if (pending->text == NULL) {
            return NGX_ERROR;
        }

        ngx_memcpy(pending->text, name, name_len);
        pending->text[name_len] = '\0';
    }

    return NGX_OK;
}


/* Bind: portal, statement, ...: the portal runs that statement */
static ngx_int_t
ngx_stream_hoop_pg_query_bind(ngx_stream_session_t *s, u_char *msg,
    size_t len)
{
    u_char                       *portal, *stmt, *end;
    ngx_stream_hoop_pg_ctx_t     *ctx;
    ngx_stream_hoop_pg_named_t  **found;

    ctx = ngx_stream_get_module_ctx(s, ngx_stream_hoop_pg_module);

    end = msg + len;
    portal = msg + 5;
    stmt = ngx_strlchr(portal, end, '\0');

    if (stmt == NULL || ngx_strlchr(stmt + 1, end, '\0') == NULL) {
        ngx_stream_hoop_pg_fatal(s, NGX_STREAM_BAD_REQUEST, "08P01",
                                 "hoop: malformed Bind message (or names"
                                 " over 1 kB)", NULL);
        return NGX_DONE;
    }

    stmt++;

    found = ngx_stream_hoop_pg_named_find(&ctx->statements, stmt,
                                          ngx_strlen(stmt));

    if (ngx_stream_hoop_pg_named_set(&ctx->portals, portal,
                                     stmt - 1 - portal,
                                     found ? (*found)->sql : NULL)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    (void) ngx_stream_hoop_pg_push(s, 'B', NULL, NULL);

    return NGX_OK;
}


static ngx_int_t
ngx_stream_hoop_pg_query_execute(ngx_stream_session_t *s, u_char *msg,
    size_t *len)
{
    u_char                         *portal, *end;
    ngx_stream_hoop_pg_ctx_t       *ctx;
    ngx_stream_hoop_pg_query_t     *q;
    ngx_stream_hoop_pg_named_t    **found;
    ngx_stream_hoop_pg_pending_t   *pending;

    ctx = ngx_stream_get_module_ctx(s, ngx_stream_hoop_pg_module);

    end = msg + *len;
    portal = msg + 5;

    /* portal name, NUL, and the Int32 row limit: nothing else */

    if (ngx_strlchr(portal, end, '\0') != end - 5) {
        ngx_stream_hoop_pg_fatal(s, NGX_STREAM_BAD_REQUEST, "08P01",
                                 "hoop: malformed Execute message", NULL);
        return NGX_DONE;
    }

    q = ngx_stream_hoop_pg_query_new(1);
    if (q == NULL) {
        return NGX_ERROR;
    }

    q->extended = 1;

    found = ngx_stream_hoop_pg_named_find(&ctx->portals, portal,
                                          ngx_strlen(portal));

    if (found != NULL && (*found)->sql != NULL) {
        q->run[0].sql = (*found)->sql;
        q->run[0].sql->refs++;
    }

    /*
     * admitted when prepared, it is admitted again each time it runs
     * (one the server will discard, after an error, is refused all the
     * same: it does not run either way)
     */

    if (!ngx_stream_hoop_pg_query_undoes(q)
        && ngx_stream_hoop_pg_audit_refuses(s, "statement"))
    {
        q->run[0].denied = 1;
        q->run[0].unaudited = 1;

        pending = ngx_stream_hoop_pg_push(s, 'E', q, NULL);

        return ngx_stream_hoop_pg_query_deny(s, pending, msg, len,
                                             NGX_STREAM_HOOP_PG_DENIED_AUDIT,
                                             NULL);
    }

    /*
     * Execute sends no RowDescription: to know the columns (and formats)
     * of the rows coming, the gateway asks for it, and keeps the answer
     * (the message moves: portal is not used after this)
     */

    if (ctx->masking
        && ngx_stream_hoop_pg_query_describe(s, portal) != NGX_OK)
    {
        ngx_stream_hoop_pg_query_free(q);
        return NGX_ERROR;
    }

    (void) ngx_stream_hoop_pg_push(s, 'E', q, NULL);

    return NGX_OK;
}


/*
 * A Describe of the portal, sent before the client's Execute (which sits
 * at the client flow's scan point); its answer is the gateway's.
 */
static ngx_int_t
ngx_stream_hoop_pg_query_describe(ngx_stream_session_t *s, u_char *portal)
{
    u_char                         buf[6 + NGX_STREAM_HOOP_PG_NAME_MAX + 1];
    size_t                         n;
    ngx_stream_hoop_pg_ctx_t      *ctx;
    ngx_stream_hoop_pg_pending_t  *p;

    ctx = ngx_stream_get_module_ctx(s, ngx_stream_hoop_pg_module);

    if (ctx->no_push) {
        return NGX_OK;                  /* the server discards them both */
    }

    n = ngx_min(ngx_strlen(portal), NGX_STREAM_HOOP_PG_NAME_MAX);

    buf[0] = 'D';
    (void) hoop_pg_put32(buf + 1, (uint32_t) (n + 6));
    buf[5] = 'P';
    ngx_memcpy(buf + 6, portal, n);
    buf[6 + n] = '\0';

    if (ngx_stream_hoop_pg_flow_inject(s, &ctx->up, buf, n + 7) != NGX_OK) {
        return NGX_ERROR;
    }

    p = ngx_stream_hoop_pg_push(s, 'D', NULL, NULL);

    if (p != NULL) {
        p->injected = 1;
    }

    return NGX_OK;
}


/* Close: a statement or portal the server forgets, so do we */
static ngx_int_t
ngx_stream_hoop_pg_query_close(ngx_stream_session_t *s, u_char *msg,
    size_t len)
{
    u_char                         *name, *end, *nul;
    ngx_stream_hoop_pg_sql_t       *before;
    ngx_stream_hoop_pg_named_t    **list, **found;
    ngx_stream_hoop_pg_ctx_t       *ctx;
    ngx_stream_hoop_pg_pending_t   *pending;

    ctx = ngx_stream_get_module_ctx(s, ngx_stream_hoop_pg_module);

    end = msg + len;
    name = msg + 6;
    nul = (len > 6) ? ngx_strlchr(name, end, '\0') : NULL;

    if (nul == NULL || (msg[5] != 'S' && msg[5] != 'P')) {
        ngx_stream_hoop_pg_fatal(s, NGX_STREAM_BAD_REQUEST, "08P01",
                                 "hoop: malformed Close message", NULL);
        return NGX_DONE;
    }

    if (ctx->no_push) {
        return NGX_OK;      /* discarded by the server: closes nothing */
    }

    /*
     * closed now, for what follows in the batch; but an error earlier in
     * the batch makes the server skip it: then the name gets back what
     * it had (as for a refused Parse)
     */

    list = (msg[5] == 'S') ? &ctx->statements : &ctx->portals;
    found = ngx_stream_hoop_pg_named_find(list, name, nul - name);
    before = (found != NULL) ? (*found)->sql : NULL;

    if (before != NULL) {
        before->refs++;
    }

    ngx_stream_hoop_pg_named_remove(list, name, nul - name);

    pending = ngx_stream_hoop_pg_push(s, 'C', NULL, before);

    if (pending == NULL || found == NULL) {
        return NGX_OK;
    }

    pending->revert = msg[5];
    pending->text = ngx_alloc(nul - name + 1, s->connection->log);

    if (pending->text == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(pending->text, name, nul - name + 1);

    return NGX_OK;
}


/*
 * FunctionCall calls a function by its number, past any SQL the policy
 * could read: a statement of its own ("fastpath"), denied unless a rule
 * allows it.
 */
static ngx_int_t
ngx_stream_hoop_pg_query_fastpath(ngx_stream_session_t *s, u_char *msg,
    size_t *len)
{
    ngx_uint_t                     deny;
    hoop_sql_stmt_t                cls;
    ngx_stream_hoop_pg_sql_t      *stmt;
    ngx_stream_hoop_pg_query_t    *q;
    ngx_stream_hoop_pg_pending_t  *pending;

    ngx_memzero(&cls, sizeof(hoop_sql_stmt_t));
    cls.kind = HOOP_SQL_ADMIN;
    ngx_cpystrn((u_char *) cls.command, (u_char *) "fastpath",
                sizeof(cls.command));
    ngx_cpystrn((u_char *) cls.commands, (u_char *) "fastpath",
                sizeof(cls.commands));

    if (*len >= 9) {
        ngx_snprintf((u_char *) cls.functions, sizeof(cls.functions) - 1,
                     "oid %uD%Z", hoop_pg_get32(msg + 5));
    }

    stmt = ngx_stream_hoop_pg_sql_new(s, NULL, 0, &cls, NULL, NULL);
    if (stmt == NULL) {
        return NGX_ERROR;
    }

    ngx_stream_hoop_pg_policy_decide(s, stmt);

    q = ngx_stream_hoop_pg_query_new(1);
    if (q == NULL) {
        ngx_stream_hoop_pg_sql_release(stmt);
        return NGX_ERROR;
    }

    q->run[0].sql = stmt;

    /* no review for these */

    deny = (stmt->action != HOOP_RULE_ALLOW)
           ? NGX_STREAM_HOOP_PG_DENIED_POLICY
           : ngx_stream_hoop_pg_audit_refuses(s, "statement")
           ? NGX_STREAM_HOOP_PG_DENIED_AUDIT : 0;

    q->run[0].denied = (deny != 0);
    q->run[0].unaudited = (deny == NGX_STREAM_HOOP_PG_DENIED_AUDIT);

    pending = ngx_stream_hoop_pg_push(s, 'F', q, NULL);

    if (deny) {
        return ngx_stream_hoop_pg_query_deny(s, pending, msg, len, deny,
                                             NULL);
    }

    return NGX_OK;
}


/*
 * ROLLBACK (ABORT, ROLLBACK TO) runs without an audit trail: it only
 * undoes, and a client whose transaction a refusal aborted needs it to
 * get out.  Its event is written if anything can take it, else LOST.
 */
static ngx_uint_t
ngx_stream_hoop_pg_query_undoes(ngx_stream_hoop_pg_query_t *q)
{
    ngx_uint_t  i;

    for (i = 0; i < q->n; i++) {
        if (q->run[i].sql == NULL || !q->run[i].sql->cls.undo) {
            return 0;
        }
    }

    return 1;
}


/*
 * The message at msg (whole, *len bytes) is replaced by one the server
 * cannot parse; its pending entry p (NULL: none, the server discards it)
 * remembers that its ErrorResponse is the gateway's to write.
 */
static ngx_int_t
ngx_stream_hoop_pg_query_deny(ngx_stream_session_t *s,
    ngx_stream_hoop_pg_pending_t *pending, u_char *msg, size_t *len,
    ngx_uint_t why, u_char *text)
{
    u_char                        *fail, *p;
    size_t                         n, name_len;
    ngx_stream_hoop_pg_ctx_t      *ctx;
    u_char                         named[NGX_STREAM_HOOP_PG_NAME_MAX + 32];

    ctx = ngx_stream_get_module_ctx(s, ngx_stream_hoop_pg_module);

    if (pending != NULL) {
        pending->denied = (u_char) why;
        pending->text = text;

    } else if (text != NULL) {
        ngx_free(text);             /* the server discards it anyway */
    }

    /*
     * a Parse fails as a Parse of the same name (discarding to Sync, and
     * leaving other statements alone), an Execute as a Parse of a name of
     * its own; the rest as a Query
     */

    name_len = (msg[0] == 'P') ? ngx_strlen(msg + 5) : 0;

    if (msg[0] == 'P' && name_len <= NGX_STREAM_HOOP_PG_NAME_MAX) {
        named[0] = 'P';
        p = ngx_cpymem(named + 5, msg + 5, name_len + 1);
        p = ngx_cpymem(p, "HOOP DENIED", sizeof("HOOP DENIED"));
        *p++ = 0;
        *p++ = 0;
        n = p - named;
        (void) hoop_pg_put32(named + 1, (uint32_t) (n - 1));
        fail = named;

    } else if (msg[0] == 'P') {
        fail = ngx_stream_hoop_pg_fail_parse;
        n = sizeof(ngx_stream_hoop_pg_fail_parse) - 1;

    } else if (msg[0] == 'E') {
        fail = ngx_stream_hoop_pg_fail_execute;
        n = sizeof(ngx_stream_hoop_pg_fail_execute) - 1;

    } else {
        fail = ngx_stream_hoop_pg_fail_query;
        n = sizeof(ngx_stream_hoop_pg_fail_query) - 1;
    }

    if (ngx_stream_hoop_pg_flow_replace(s, &ctx->up, *len, fail, n)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    *len = n;

    return NGX_OK;
}


/*
 * Classifies text: the statements into cls[] (their number; -1 when
 * memory ran out), and *normalized the text with literals as $n
 * (ngx_alloc'd, NULL when the parser refused it), for the caller to free.
 *
 * A single statement is looked up first by its shape, which needs no
 * parse at all when its literals are found without the parser; else by
 * its normalized text, which needs pg_query_normalize() but not the walk.
 */
static int
ngx_stream_hoop_pg_classify(const char *text, hoop_sql_stmt_t *cls,
    size_t max, char *error, size_t error_len, char **normalized,
    ngx_log_t *log)
{
    int                     n, lit;
    int                     ids[NGX_STREAM_HOOP_PG_LITERALS];
    char                    shape[NGX_STREAM_HOOP_PG_CACHE_TEXT];
    size_t                  len, slen, nlen, tail, start, end;
    const int              *known;
    hoop_sql_span_t         spans[NGX_STREAM_HOOP_PG_LITERALS];
    hoop_sql_stmt_t         where;
    const hoop_sql_stmt_t  *hit;
    PgQueryNormalizeResult  norm;

    *normalized = NULL;

    len = ngx_strlen(text);
    slen = 0;

    /* a text longer than a cached shape can be is not scanned for one */

    lit = len <= sizeof(shape)
          ? hoop_sql_literals(text, len, spans, NGX_STREAM_HOOP_PG_LITERALS,
                              NULL)
          : -1;

    if (lit >= 0) {
        slen = hoop_sql_shape(text, len, spans, lit, shape, sizeof(shape));
    }

    if (slen) {
        hit = ngx_stream_hoop_pg_cache_shape_get(shape, slen, text, spans,
                                                 lit, &known);

        /* where the statement is, in this text's own coordinates */

        if (hit != NULL) {
            start = hoop_sql_text_pos(spans, lit, hit->offset);
            end = hoop_sql_text_pos(spans, lit, hit->offset + hit->length);

            if (start > end || end > len) {
                hit = NULL;             /* never, for one shape: a miss */
            }
        }

        if (hit != NULL) {
            /* $n is at most 6 bytes longer than the literal it replaces */

            *normalized = ngx_alloc(len + 6 * lit + 1, log);
            if (*normalized == NULL) {
                return -1;
            }

            nlen = hoop_sql_literal_normalize(text, len, spans, lit, known,
                                              *normalized, len + 6 * lit);
            (*normalized)[nlen] = '\0';

            cls[0] = *hit;
            cls[0].offset = start;
            cls[0].length = end - start;

            return 1;
        }
    }

    norm = pg_query_normalize(text);

    nlen = (norm.error == NULL && norm.normalized_query != NULL)
           ? ngx_strlen(norm.normalized_query) : 0;

    if (nlen) {
        *normalized = ngx_alloc(nlen + 1, log);
        if (*normalized == NULL) {
            pg_query_free_normalize_result(norm);
            return -1;
        }

        ngx_memcpy(*normalized, norm.normalized_query, nlen + 1);
    }

    pg_query_free_normalize_result(norm);

    if (nlen) {
        hit = ngx_stream_hoop_pg_cache_get(*normalized, nlen, &tail);

        if (hit != NULL && hit->offset + tail <= len) {
            cls[0] = *hit;
            cls[0].length = len - hit->offset - tail;
            return 1;
        }
    }

    n = hoop_sql_classify(text, cls, max, error, error_len);

    if (n != 1 || !nlen || cls[0].kind == HOOP_SQL_UNKNOWN) {
        return n;
    }

    /*
     * by shape when the normalizer replaced only literals found here,
     * with where the statement starts and ends in the shape's
     * coordinates (comments before or after it are of any length); else
     * (TRUE, NULL, a folded minus sign) by the normalized text, in which
     * all that precedes and follows the statement is the same
     */

    end = cls[0].offset + cls[0].length;

    if (slen
        && !hoop_sql_in_span(spans, lit, cls[0].offset)
        && !hoop_sql_in_span(spans, lit, end)
        && hoop_sql_literal_ids(text, len, spans, lit, *normalized, nlen, ids)
           == 0)
    {
        where = cls[0];
        where.offset = hoop_sql_shape_pos(spans, lit, cls[0].offset);
        where.length = hoop_sql_shape_pos(spans, lit, end) - where.offset;

        ngx_stream_hoop_pg_cache_shape_put(shape, slen, text, spans, lit, ids,
                                           &where);

    } else {
        ngx_stream_hoop_pg_cache_put(*normalized, nlen, &cls[0], len - end);
    }

    return n;
}


/*
 * The SQL object of a statement: classification, and the text the audit
 * trail keeps, with literals replaced by $n (pg_query_normalize) unless
 * hoop_pg_audit_literals is on.  Text the parser refused is not kept
 * (it may hold anything): its size and the parser's message are.
 */
static ngx_stream_hoop_pg_sql_t *
ngx_stream_hoop_pg_sql_new(ngx_stream_session_t *s, const char *text,
    size_t len, hoop_sql_stmt_t *cls, const char *parse_error,
    const char *normalized)
{
    char                           *copy;
    size_t                          size, elen;
    const char                     *keep;
    ngx_stream_hoop_pg_sql_t       *sql;
    PgQueryNormalizeResult          norm;
    ngx_stream_hoop_pg_srv_conf_t  *pscf;

    pscf = ngx_stream_get_module_srv_conf(s, ngx_stream_hoop_pg_module);

    keep = NULL;
    size = 0;
    elen = parse_error ? ngx_strlen(parse_error) + 1 : 0;
    copy = NULL;
    norm.normalized_query = NULL;
    norm.error = NULL;

    if (pscf->audit && text != NULL && cls->kind != HOOP_SQL_UNKNOWN) {

        if (pscf->audit_literals) {
            keep = text;
            size = len;

        } else if (normalized != NULL) {
            keep = normalized;
            size = ngx_strlen(keep);

        } else {
            copy = ngx_alloc(len + 1, s->connection->log);
            if (copy == NULL) {
                return NULL;
            }

            ngx_memcpy(copy, text, len);
            copy[len] = '\0';

            norm = pg_query_normalize(copy);

            if (norm.error == NULL && norm.normalized_query != NULL) {
                keep = norm.normalized_query;
                size = ngx_strlen(keep);
            }
        }

    } else if (text != NULL) {
        /* unknown: only its size */
        cls->length = len;
    }

    sql = ngx_alloc(sizeof(ngx_stream_hoop_pg_sql_t) + size + 1 + elen,
                    s->connection->log);
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

done:

    if (copy != NULL) {
        pg_query_free_normalize_result(norm);
        ngx_free(copy);
    }

    return sql;
}


static void
ngx_stream_hoop_pg_sql_release(ngx_stream_hoop_pg_sql_t *sql)
{
    if (sql != NULL && --sql->refs == 0) {
        ngx_free(sql);
    }
}


static ngx_stream_hoop_pg_query_t *
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


/*
 * hoop_pg_audit_rows: the rows sent, kept for the statement's event while
 * the session's budget lasts; a row that does not fit marks the capture
 * truncated and ends it for the session.
 */
static ngx_int_t
ngx_stream_hoop_pg_capture(ngx_stream_session_t *s,
    ngx_stream_hoop_pg_run_t *run, u_char *row, size_t len)
{
    u_char                         *p;
    size_t                          size;
    ngx_stream_hoop_pg_ctx_t       *ctx;
    ngx_stream_hoop_pg_srv_conf_t  *pscf;

    ctx = ngx_stream_get_module_ctx(s, ngx_stream_hoop_pg_module);
    pscf = ngx_stream_get_module_srv_conf(s, ngx_stream_hoop_pg_module);

    if (!pscf->audit || pscf->audit_rows == 0) {
        return NGX_OK;
    }

    if (ctx->captured + len > pscf->audit_rows) {
        run->truncated = 1;
        ctx->captured = pscf->audit_rows;
        return NGX_OK;
    }

    if (run->captured_len + len > run->captured_size) {
        size = ngx_max(2 * run->captured_size, run->captured_len + len);
        size = ngx_max(size, 1024);

        p = ngx_alloc(size, s->connection->log);
        if (p == NULL) {
            return NGX_ERROR;
        }

        if (run->captured != NULL) {
            ngx_memcpy(p, run->captured, run->captured_len);
            ngx_free(run->captured);
        }

        run->captured = p;
        run->captured_size = size;
    }

    ngx_memcpy(run->captured + run->captured_len, row, len);
    run->captured_len += len;
    ctx->captured += len;

    return NGX_OK;
}


static void
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


static ngx_stream_hoop_pg_named_t **
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
static ngx_int_t
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


static void
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


static void
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
 * The client message goes into the pending ring (q and sql with it);
 * its entry is returned.  What the server will not answer (no_push) is
 * not pushed: NULL, and q and sql are done with here.
 */
static ngx_stream_hoop_pg_pending_t *
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


static ngx_stream_hoop_pg_pending_t *
ngx_stream_hoop_pg_head(ngx_stream_hoop_pg_ctx_t *ctx)
{
    if (ctx->pending_count == 0) {
        return NULL;
    }

    return &ctx->pending[ctx->pending_head];
}


/*
 * A Parse or Close the server did not take: its name means what it meant
 * before.  Several in one failed batch are undone last first.
 */
static void
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


/* the head is answered: its statement, if any, is recorded */
static void
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
 * No room for the client's message: it waits (NGX_AGAIN), and the server
 * is asked, once, to send what it has answered so far (a Flush before the
 * waiting message), which frees room.
 */
static ngx_int_t
ngx_stream_hoop_pg_query_wait(ngx_stream_session_t *s)
{
    ngx_stream_hoop_pg_ctx_t  *ctx;
    static u_char              flush[] = { 'H', 0, 0, 0, 4 };

    ctx = ngx_stream_get_module_ctx(s, ngx_stream_hoop_pg_module);

    if (!ctx->room_wait) {
        ctx->room_wait = 1;

        if (ngx_stream_hoop_pg_flow_inject(s, &ctx->up, flush, sizeof(flush))
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        ngx_post_event(ctx->peer.connection->write, &ngx_posted_events);
    }

    return NGX_AGAIN;
}


/*
 * CopyInResponse: until CopyDone or CopyFail the server ignores Sync and
 * Flush; a Sync already awaited after the COPY (libpq sends one with the
 * Execute) will get no answer.
 */
static void
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


static ngx_stream_hoop_pg_run_t *
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
 * How much of a server message the gateway reads before it passes:
 * the whole of CommandComplete, ErrorResponse and ReadyForQuery; the
 * header of the others.
 */
ngx_int_t
ngx_stream_hoop_pg_query_server_whole(ngx_stream_session_t *s, u_char type,
    size_t len)
{
    ngx_uint_t                      whole;
    ngx_stream_hoop_pg_ctx_t       *ctx;
    ngx_stream_hoop_pg_srv_conf_t  *pscf;

    ctx = ngx_stream_get_module_ctx(s, ngx_stream_hoop_pg_module);
    pscf = ngx_stream_get_module_srv_conf(s, ngx_stream_hoop_pg_module);

    if (ctx->pending == NULL) {
        return 0;
    }

    switch (type) {

    case 'C':
    case 'Z':
        return (len <= 65536) ? (ngx_int_t) len : HOOP_PG_HEADER_LEN;

    case 'E':
        whole = 1;
        break;

    case 'T':
        whole = ctx->masking;
        break;

    case 'D':
        whole = (ctx->masking && ctx->plan_active)
                || (pscf->audit && ctx->captured < pscf->audit_rows
                    && len <= pscf->max_message);
        break;

    case 'N':
    case 'd':
        whole = ctx->masking && pscf->mask.enabled;
        break;

    default:
        whole = 0;
    }

    if (!whole) {
        return HOOP_PG_HEADER_LEN;
    }

    if (len <= pscf->max_message) {
        return (ngx_int_t) len;
    }

    if (type == 'E' && !ctx->masking) {
        return HOOP_PG_HEADER_LEN;      /* only its code is missed */
    }

    /* unmasked bytes never pass: the session ends instead */

    ngx_log_error(NGX_LOG_ERR, s->connection->log, 0,
                  "hoop pg: message '%c' of %uz bytes from the database,"
                  " over hoop_pg_max_message, cannot be masked; session"
                  " closed", type, len);

    ngx_stream_hoop_pg_fatal(s, NGX_STREAM_BAD_GATEWAY, "54000",
                             "hoop: a result row is too large to be masked",
                             "The gateway masks rows up to"
                             " hoop_pg_max_message bytes.");
    return NGX_ERROR;
}


/* An answer from the server; *len bytes of it at msg (may be replaced). */
ngx_int_t
ngx_stream_hoop_pg_query_server(ngx_stream_session_t *s, u_char *msg,
    size_t *len)
{
    u_char                          type;
    size_t                          total;
    ngx_uint_t                      injected;
    ngx_stream_hoop_pg_ctx_t       *ctx;
    ngx_stream_hoop_pg_run_t       *run;
    ngx_stream_hoop_pg_pending_t   *p;
    ngx_stream_hoop_pg_query_t     *q;

    ctx = ngx_stream_get_module_ctx(s, ngx_stream_hoop_pg_module);
    p = ngx_stream_hoop_pg_head(ctx);
    total = (size_t) hoop_pg_get32(msg + 1) + 1;

    switch (msg[0]) {

    case 'D':                           /* DataRow, CopyData */
    case 'd':
        run = ngx_stream_hoop_pg_current_run(ctx);

        if (run != NULL) {
            run->bytes += total;
        }

        if (*len != total) {
            return NGX_OK;              /* only its header was read */
        }

        type = msg[0];

        if (ctx->masking
            && ngx_stream_hoop_pg_mask_message(s, len,
                                               run ? run->masked : NULL)
               != NGX_OK)
        {
            return NGX_ERROR;
        }

        /* the row as the client gets it (masked) may go in the trail */

        if (type == 'D' && run != NULL
            && ngx_stream_hoop_pg_capture(s, run, ctx->down.scan, *len)
               != NGX_OK)
        {
            return NGX_ERROR;
        }

        return NGX_OK;

    case 'N':
        if (*len == total && ctx->masking
            && ngx_stream_hoop_pg_mask_message(s, len, NULL) != NGX_OK)
        {
            return NGX_ERROR;
        }

        return NGX_OK;

    case 'C':
        run = ngx_stream_hoop_pg_current_run(ctx);

        if (run != NULL) {
            run->ran = 1;

            if (*len == total && total > 6) {
                run->rows = hoop_pg_command_rows((char *) msg + 5,
                                                 total - 6);
            }

            q = p->query;

            if (q->current + 1 < q->n) {
                q->current++;
            }
        }

        if (p != NULL && p->type == 'E') {
            ngx_stream_hoop_pg_pop(s);
        }

        return NGX_OK;

    case 'I':                           /* EmptyQueryResponse */
    case 's':                           /* PortalSuspended */
        run = ngx_stream_hoop_pg_current_run(ctx);

        if (run != NULL) {
            run->ran = 1;
        }

        if (p != NULL && p->type == 'E') {
            ngx_stream_hoop_pg_pop(s);
        }

        return NGX_OK;

    case '1':
    case '2':
    case '3':
        if (p != NULL && p->type != 'Q' && p->type != 'S') {
            if (msg[0] == '1' || msg[0] == '3') {
                p->revert = 0;          /* the server took Parse, Close */
            }

            ngx_stream_hoop_pg_pop(s);
        }

        return NGX_OK;

    case 'T':                           /* RowDescription, NoData */
    case 'n':
        if (msg[0] == 'n' && total != HOOP_PG_HEADER_LEN) {
            ngx_log_error(NGX_LOG_ERR, s->connection->log, 0,
                          "hoop pg: malformed NoData from the database");
            return NGX_ERROR;
        }

        if (ctx->masking) {
            if (msg[0] == 'n') {
                ctx->plan_active = 0;
                ctx->plan_cols = 0;

            } else if (ngx_stream_hoop_pg_mask_plan(s, msg, *len) != NGX_OK) {
                return NGX_ERROR;
            }
        }

        if (p != NULL && p->type == 'D') {
            injected = p->injected;
            ngx_stream_hoop_pg_pop(s);

            if (injected) {
                return NGX_DECLINED;    /* the gateway asked, not the client */
            }
        }

        return NGX_OK;

    case 'E':
        return ngx_stream_hoop_pg_server_error(s, msg, len);

    case 'G':                           /* CopyInResponse */
        ngx_stream_hoop_pg_copy_in(s);
        return NGX_OK;

    case 'Z':
        if (*len >= 6) {
            ctx->tx_status = msg[5];
        }

        /* whatever was not answered before it never will be */

        while (p != NULL) {
            if (p->type == 'S' || p->type == 'Q' || p->type == 'F') {
                ngx_stream_hoop_pg_pop(s);
                break;
            }

            ngx_stream_hoop_pg_pop(s);
            p = ngx_stream_hoop_pg_head(ctx);
        }

        return NGX_OK;

    default:
        return NGX_OK;
    }
}


/*
 * ErrorResponse: the statement it ends is recorded with its SQLSTATE; if
 * it answers a message the gateway replaced, it becomes the gateway's
 * denial.  In the extended protocol the server now discards everything
 * up to Sync: those messages will get no answer.
 */
static ngx_int_t
ngx_stream_hoop_pg_server_error(ngx_stream_session_t *s, u_char *msg,
    size_t *len)
{
    int                            n;
    size_t                         total;
    ngx_int_t                      rc;
    ngx_uint_t                     i;
    const char                    *state;
    ngx_stream_hoop_pg_ctx_t      *ctx;
    ngx_stream_hoop_pg_run_t      *run;
    ngx_stream_hoop_pg_pending_t  *p, *q;

    ctx = ngx_stream_get_module_ctx(s, ngx_stream_hoop_pg_module);
    p = ngx_stream_hoop_pg_head(ctx);

    total = (size_t) hoop_pg_get32(msg + 1) + 1;

    if (p == NULL) {
        /* not an answer (a FATAL, say): masked all the same */

        if (*len == total && ctx->masking
            && ngx_stream_hoop_pg_mask_message(s, len, NULL) != NGX_OK)
        {
            return NGX_ERROR;
        }

        return NGX_OK;
    }

    run = ngx_stream_hoop_pg_current_run(ctx);

    if (p->denied) {
        rc = ngx_stream_hoop_pg_denial(s, p, len);
        if (rc != NGX_OK) {
            return rc;
        }

        run = ngx_stream_hoop_pg_current_run(ctx);

    } else if (*len == total) {
        n = hoop_pg_error_field(msg + 5, total - 5, 'C', &state);

        if (n == 5 && run != NULL) {
            ngx_memcpy(run->sqlstate, state, 5);
            run->sqlstate[5] = '\0';
        }

        /* error texts quote values: "Key (email)=(...) already exists" */

        if (ctx->masking
            && ngx_stream_hoop_pg_mask_message(s, len,
                                               run ? run->masked : NULL)
               != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    if (run != NULL && p->denied) {
        ngx_memcpy(run->sqlstate, ngx_stream_hoop_pg_denial_state(p->denied),
                   6);
    }

    if (p->type == 'Q' || p->type == 'F') {
        return NGX_OK;                  /* ReadyForQuery follows */
    }

    /*
     * extended: this message and all before the Sync are done with; if
     * the client has not sent its Sync yet, what it sends until then is
     * discarded too.  Names they defined or closed are undone, last first.
     */

    for (i = 0; i < ctx->pending_count; i++) {
        q = &ctx->pending[(ctx->pending_head + i)
                          % NGX_STREAM_HOOP_PG_PENDING];
        if (q->type == 'S') {
            break;
        }
    }

    while (i-- > 0) {
        q = &ctx->pending[(ctx->pending_head + i)
                          % NGX_STREAM_HOOP_PG_PENDING];
        ngx_stream_hoop_pg_revert(ctx, q);
    }

    while (p != NULL && p->type != 'S') {
        ngx_stream_hoop_pg_pop(s);
        p = ngx_stream_hoop_pg_head(ctx);
    }

    if (p == NULL) {
        ctx->sync_skip = 1;
    }

    return NGX_OK;
}


static const char *
ngx_stream_hoop_pg_denial_state(ngx_uint_t why)
{
    switch (why) {

    case NGX_STREAM_HOOP_PG_DENIED_AUDIT:
    case NGX_STREAM_HOOP_PG_DENIED_NO_REVIEW:
        return "57P03";

    case NGX_STREAM_HOOP_PG_DENIED_EXPIRED:
    case NGX_STREAM_HOOP_PG_DENIED_CANCELLED:
        return "57014";

    default:
        return "42501";
    }
}


/* The server's error for a replaced message, rewritten into the denial. */
static ngx_int_t
ngx_stream_hoop_pg_denial(ngx_stream_session_t *s,
    ngx_stream_hoop_pg_pending_t *p, size_t *len)
{
    u_char                     buf[1024], message[256];
    size_t                     n, total;
    ngx_uint_t                 i;
    hoop_pg_error_t            err;
    const hoop_rule_t         *rule;
    ngx_stream_hoop_pg_ctx_t  *ctx;
    ngx_stream_hoop_pg_sql_t  *sql;

    ctx = ngx_stream_get_module_ctx(s, ngx_stream_hoop_pg_module);

    sql = p->sql;

    if (p->query != NULL) {
        for (i = 0; i < p->query->n; i++) {
            if (p->query->run[i].denied) {
                sql = p->query->run[i].sql;
                p->query->current = i;
                break;
            }
        }
    }

    err.severity = "ERROR";
    err.sqlstate = ngx_stream_hoop_pg_denial_state(p->denied);
    err.detail = NULL;
    err.hint = NULL;

    switch (p->denied) {

    case NGX_STREAM_HOOP_PG_DENIED_AUDIT:
        err.message = NGX_STREAM_HOOP_PG_UNAUDITED;
        err.hint = "The gateway records every statement; ask its"
                   " operators about Redis.";
        break;

    case NGX_STREAM_HOOP_PG_DENIED_NO_REVIEW:
        err.message = "hoop: the statement needs a review, and the review"
                      " store is unreachable";
        err.hint = "Try again later.";
        break;

    case NGX_STREAM_HOOP_PG_DENIED_REJECTED:
    case NGX_STREAM_HOOP_PG_DENIED_EXPIRED:
    case NGX_STREAM_HOOP_PG_DENIED_CANCELLED:
        err.message = p->text ? (char *) p->text : "hoop: not approved";
        break;

    default: /* NGX_STREAM_HOOP_PG_DENIED_POLICY */
        rule = sql ? sql->rule : NULL;

        if (rule != NULL) {
            ngx_snprintf(message, sizeof(message) - 1,
                         "hoop: %s statement denied by rule \"%s\"%s%s%Z",
                         sql ? hoop_sql_kind_name(sql->cls.kind) : "the",
                         rule->name, rule->reason ? ": " : "",
                         rule->reason ? rule->reason : "");

        } else {
            ngx_snprintf(message, sizeof(message) - 1,
                         "hoop: %s statement denied: %s%Z",
                         sql ? hoop_sql_kind_name(sql->cls.kind) : "the",
                         sql && ngx_strcmp(sql->cls.command, "fastpath") == 0
                         ? "FunctionCall is not allowed unless a rule"
                           " allows sql.fastpath"
                         : sql && sql->cls.kind == HOOP_SQL_UNKNOWN
                         ? "the gateway cannot parse it"
                         : "no rule allows it");
        }

        message[sizeof(message) - 1] = '\0';

        err.message = (char *) message;
        err.detail = (sql && sql->parse_error) ? sql->parse_error : NULL;
        err.hint = "The gateway's policy decides which statements run;"
                   " ask its operators for access.";
    }

    n = hoop_pg_error_encode(buf, sizeof(buf), HOOP_PG_ERROR_RESPONSE, &err);
    if (n == 0) {
        return NGX_ERROR;
    }

    total = (size_t) hoop_pg_get32(ctx->down.scan + 1) + 1;

    if (*len != total) {
        return NGX_ERROR;               /* an error of ours is never long */
    }

    if (ngx_stream_hoop_pg_flow_replace(s, &ctx->down, total, buf, n)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    *len = n;

    return NGX_OK;
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
