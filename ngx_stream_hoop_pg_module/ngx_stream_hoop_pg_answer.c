/*
 * Copyright (C) nginx-hoop authors
 *
 * The server's answers: each matched to the message it answers (the
 * pending ring's head), its rows counted, captured for the trail and
 * masked, its errors recorded; an error answering a message the gateway
 * replaced becomes the gateway's denial (42501 naming the rule, ...).
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_stream.h>

#include "ngx_stream_hoop_pg.h"
#include "hoop_pg_error.h"
#include "hoop_pg_msg.h"


static ngx_int_t ngx_stream_hoop_pg_server_error(ngx_stream_session_t *s,
    u_char *msg, size_t *len);
static ngx_int_t ngx_stream_hoop_pg_denial(ngx_stream_session_t *s,
    ngx_stream_hoop_pg_pending_t *p, size_t *len);
static ngx_int_t ngx_stream_hoop_pg_capture(ngx_stream_session_t *s,
    ngx_stream_hoop_pg_run_t *run, u_char *row, size_t len);


/*
 * How much of a server message the gateway reads before it passes:
 * the whole of CommandComplete, ErrorResponse and ReadyForQuery, of what
 * is masked (rows, notices, notifications, parameter values, column
 * names) when masking; the header of the others.
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

    /* what the server may send unasked is read when detectors need it */

    if (ctx->pending == NULL && type != 'A' && type != 'S' && type != 'N') {
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
    case 'H':                           /* CopyOutResponse: its format */
        whole = ctx->masking;
        break;

    case 'D':
        whole = (ctx->masking && ctx->plan_active)
                || (pscf->audit && ctx->captured < pscf->audit_rows
                    && len <= pscf->max_message);
        break;

    case 'N':
    case 'd':
    case 'A':
    case 'S':
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
    ngx_int_t                       rc;
    ngx_uint_t                      injected;
    ngx_stream_hoop_pg_ctx_t       *ctx;
    ngx_stream_hoop_pg_run_t       *run;
    ngx_stream_hoop_pg_pending_t   *p;
    ngx_stream_hoop_pg_query_t     *q;
    ngx_stream_hoop_pg_srv_conf_t  *pscf;

    ctx = ngx_stream_get_module_ctx(s, ngx_stream_hoop_pg_module);
    pscf = ngx_stream_get_module_srv_conf(s, ngx_stream_hoop_pg_module);
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

        if (ctx->masking) {
            rc = ngx_stream_hoop_pg_mask_message(s, len,
                                                 run ? run->masked : NULL);
            if (rc != NGX_OK) {
                return rc;              /* NGX_DONE: the session ended */
            }
        }

        /* the row as the client gets it (masked) may go in the trail */

        if (type == 'D' && run != NULL
            && ngx_stream_hoop_pg_capture(s, run, ctx->down.scan, *len)
               != NGX_OK)
        {
            return NGX_ERROR;
        }

        return NGX_OK;

    case 'N':                           /* NoticeResponse */
    case 'A':                           /* NotificationResponse */
    case 'S':                           /* ParameterStatus */
        if (*len == total && ctx->masking) {
            return ngx_stream_hoop_pg_mask_message(s, len, NULL);
        }

        return NGX_OK;

    case 'C':
        run = ngx_stream_hoop_pg_current_run(ctx);

        if (run != NULL) {
            run->ran = 1;

            if (*len == total && total > 6) {
                run->rows = hoop_pg_command_rows((char *) msg + 5,
                                                 total - 6);

                /* PREPARE, DEALLOCATE, DISCARD ALL: names change */

                if (ngx_stream_hoop_pg_named_complete(s, run, msg + 5,
                                                      total - 6)
                    != NGX_OK)
                {
                    return NGX_ERROR;
                }
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

        /* a column may be named after a value ("SELECT 1 AS \"...\"") */

        if (msg[0] == 'T' && *len == total && ctx->masking
            && pscf->mask.enabled)
        {
            return ngx_stream_hoop_pg_mask_message(s, len, NULL);
        }

        return NGX_OK;

    case 'E':
        return ngx_stream_hoop_pg_server_error(s, msg, len);

    case 'H':                           /* CopyOutResponse */
        ctx->copy_binary = (*len == total && total > HOOP_PG_HEADER_LEN
                            && msg[HOOP_PG_HEADER_LEN] == 1);
        return NGX_OK;

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

        if (*len == total && ctx->masking) {
            return ngx_stream_hoop_pg_mask_message(s, len, NULL);
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

        if (ctx->masking) {
            rc = ngx_stream_hoop_pg_mask_message(s, len,
                                                 run ? run->masked : NULL);
            if (rc != NGX_OK) {
                return rc;
            }
        }
    }

    if (run != NULL && p->denied) {
        ngx_memcpy(run->sqlstate, ngx_stream_hoop_pg_denial_state(p->denied),
                   6);

        /* the Query's other statements never ran: refused with it */

        for (i = 0; p->query != NULL && i < p->query->n; i++) {
            if (!p->query->run[i].denied) {
                p->query->run[i].withheld = 1;
                ngx_memcpy(p->query->run[i].sqlstate, run->sqlstate, 6);
            }
        }
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


const char *
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
    u_char                     buf[1024], message[256], detail[192];
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
                         sql == NULL
                         ? "it runs a portal of a statement the gateway"
                           " does not know"
                         : ngx_strcmp(sql->cls.command, "fastpath") == 0
                         ? "FunctionCall is not allowed unless a rule"
                           " allows sql.fastpath"
                         : sql && sql->cls.kind == HOOP_SQL_UNKNOWN
                           && sql->cls.executes
                         ? "it runs a prepared statement the gateway does"
                           " not know"
                         : sql && sql->cls.kind == HOOP_SQL_UNKNOWN
                         ? "the gateway cannot parse it"
                         : sql && sql->cls.lifts_read_only && ctx->read_only
                         ? "the gateway keeps this session read-only"
                         : sql && sql->launders
                         ? NGX_STREAM_HOOP_PG_LAUNDERS
                         : sql && sql->copies_masked
                         ? NGX_STREAM_HOOP_PG_COPIES_MASKED
                         : "no rule allows it");
        }

        message[sizeof(message) - 1] = '\0';

        err.message = (char *) message;
        err.detail = (sql && sql->parse_error) ? sql->parse_error : NULL;

        /* what the catalog says it may do: the agent learns why */

        if (err.detail == NULL && sql != NULL && sql->cls.cause[0] != '\0') {
            ngx_snprintf(detail, sizeof(detail) - 1,
                         "It may do more than read: %s.%Z", sql->cls.cause);
            detail[sizeof(detail) - 1] = '\0';
            err.detail = (char *) detail;
        }
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

    if (ngx_hoop_flow_replace(&ctx->down, s->connection->pool, total, buf, n)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    *len = n;

    return NGX_OK;
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

