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

#include "ngx_stream_hoop_pg.h"
#include "hoop_pg_msg.h"


#define NGX_STREAM_HOOP_PG_ONE_AT_A_TIME                                     \
    "hoop: a statement that needs a review must be sent alone, not in a"      \
    " string of several"

/* pending slots only a Sync may take */
#define NGX_STREAM_HOOP_PG_RESERVED        8


static ngx_int_t ngx_stream_hoop_pg_query_message(ngx_stream_session_t *s,
    u_char *msg, size_t *len);
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
static ngx_int_t ngx_stream_hoop_pg_query_admit(ngx_stream_session_t *s,
    ngx_stream_hoop_pg_query_t *q, ngx_uint_t *why, u_char **text);
static ngx_int_t ngx_stream_hoop_pg_query_describe(ngx_stream_session_t *s,
    u_char *portal);
static ngx_int_t ngx_stream_hoop_pg_query_fastpath(ngx_stream_session_t *s,
    u_char *msg, size_t *len);
static ngx_uint_t ngx_stream_hoop_pg_query_undoes(
    ngx_stream_hoop_pg_query_t *q);
static ngx_int_t ngx_stream_hoop_pg_query_deny(ngx_stream_session_t *s,
    ngx_stream_hoop_pg_pending_t *p, u_char *msg, size_t *len,
    ngx_uint_t why, u_char *text);
static ngx_int_t ngx_stream_hoop_pg_query_wait(ngx_stream_session_t *s);


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
    ngx_int_t                  rc;
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

    rc = ngx_stream_hoop_pg_query_message(s, msg, len);

    /* NGX_DONE: the session is gone, ctx with it */

    if (rc != NGX_DONE && ctx->ring_full) {
        return NGX_ERROR;
    }

    return rc;
}


static ngx_int_t
ngx_stream_hoop_pg_query_message(ngx_stream_session_t *s, u_char *msg,
    size_t *len)
{
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

    n = ngx_stream_hoop_pg_classify(s, sql, cls, NGX_STREAM_HOOP_PG_STMTS,
                                    error, sizeof(error), &norm);
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

    n = ngx_stream_hoop_pg_classify(s, (char *) query, cls, 2, error,
                                    sizeof(error), &norm);
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
        ngx_memcpy(q->run[0].sqlstate, ngx_stream_hoop_pg_denial_state(why),
                   6);

        ngx_stream_hoop_pg_audit_query(s, q);

        stmt->refs++;                   /* one for the pending entry */

        pending = ngx_stream_hoop_pg_push(s, 'P', NULL, stmt);
        rc = ngx_stream_hoop_pg_query_deny(s, pending, msg, len, why, text);

        ngx_stream_hoop_pg_query_free(q);
        return rc;
    }

    /*
     * an approval (or a grant) covers the statement's first execution,
     * whose event names it; each later one is decided as it comes
     */

    if (q->review_status != NULL) {
        ngx_memcpy(stmt->review, q->review, NGX_HOOP_REVIEW_ID_LEN + 1);
        stmt->review_status = q->review_status;
        stmt->granted = q->granted;
    }

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
    u_char                         *portal, *end, *text;
    ngx_int_t                       rc;
    ngx_uint_t                      why;
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
     * what runs now is decided now: PostgreSQL analyzes a prepared
     * statement again when search_path changed since, and a review's
     * approval was for one run
     */

    if (ctx->policy) {
        why = 0;
        text = NULL;

        rc = ngx_stream_hoop_pg_query_admit(s, q, &why, &text);

        if (rc == NGX_AGAIN || rc == NGX_ERROR) {
            ngx_stream_hoop_pg_query_free(q);
            return rc;                  /* NGX_AGAIN: held */
        }

        if (why) {
            q->run[0].denied = 1;
            pending = ngx_stream_hoop_pg_push(s, 'E', q, NULL);

            return ngx_stream_hoop_pg_query_deny(s, pending, msg, len, why,
                                                 text);
        }
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
 * An Execute of a prepared statement, decided as it comes: again by the
 * policy when the search path grew since the last decision; a review's
 * approval of the Parse for its first run only (grant= for more).
 * NGX_OK: *why says whether it is denied; NGX_AGAIN: held; NGX_ERROR.
 */
static ngx_int_t
ngx_stream_hoop_pg_query_admit(ngx_stream_session_t *s,
    ngx_stream_hoop_pg_query_t *q, ngx_uint_t *why, u_char **text)
{
    ngx_int_t                  rc;
    ngx_stream_hoop_pg_ctx_t  *ctx;
    ngx_stream_hoop_pg_sql_t  *sql;

    ctx = ngx_stream_get_module_ctx(s, ngx_stream_hoop_pg_module);
    sql = q->run[0].sql;

    if (ctx->no_push) {
        return NGX_OK;                  /* the server discards it */
    }

    /* a portal of a statement the gateway does not know (a cursor's) */

    if (sql == NULL) {
        *why = NGX_STREAM_HOOP_PG_DENIED_POLICY;
        return NGX_OK;
    }

    if (sql->decided != ctx->schemas_gen) {
        ngx_stream_hoop_pg_policy_decide(s, sql);
    }

    switch (sql->action) {

    case HOOP_RULE_DENY:
        *why = NGX_STREAM_HOOP_PG_DENIED_POLICY;
        return NGX_OK;

    case HOOP_RULE_REVIEW:
        break;

    default:
        return NGX_OK;
    }

    if (sql->review_status != NULL) {
        ngx_memcpy(q->review, sql->review, NGX_HOOP_REVIEW_ID_LEN + 1);
        q->review_status = sql->review_status;
        q->granted = sql->granted;
        sql->review_status = NULL;      /* used */
        return NGX_OK;
    }

    rc = ngx_stream_hoop_pg_review(s, sql, q, why, text);

    return (rc == NGX_DECLINED) ? NGX_OK : rc;
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

    if (ngx_hoop_flow_inject(&ctx->up, s->connection->pool, buf, n + 7)
        != NGX_OK)
    {
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
    cls.commands_kind = HOOP_SQL_ADMIN;    /* what allow sql.fastpath is */
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

    if (ngx_hoop_flow_replace(&ctx->up, s->connection->pool, *len, fail, n)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    *len = n;

    return NGX_OK;
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

        if (ngx_hoop_flow_inject(&ctx->up, s->connection->pool, flush,
                                 sizeof(flush))
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        ngx_post_event(ctx->peer.connection->write, &ngx_posted_events);
    }

    return NGX_AGAIN;
}

