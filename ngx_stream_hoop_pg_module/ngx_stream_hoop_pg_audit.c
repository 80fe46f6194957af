/*
 * Copyright (C) nginx-hoop authors
 *
 * hoop_audit in stream{}: a Postgres session is an audit session.  Its
 * events: pg.login (the verified identity), auth.failure (why a login was
 * refused) and pg.session.end (bytes and duration), through the same sink
 * and chain as HTTP.  Statements come with the message-level gateway.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_stream.h>

#include "hoop_json.h"
#include "hoop_pg_msg.h"
#include "ngx_stream_hoop_pg.h"


typedef struct {
    ngx_stream_session_t        *session;
    const char                  *type;
    ngx_stream_hoop_pg_query_t  *query;      /* pg.query: which */
    ngx_uint_t                   run;
    ngx_hoop_review_wait_t      *review;     /* review.requested */
    ngx_stream_hoop_pg_sql_t    *sql;
} ngx_stream_hoop_pg_audit_ev_t;


static ngx_int_t ngx_stream_hoop_pg_audit_end(ngx_stream_session_t *s);
static void ngx_stream_hoop_pg_audit_emit(ngx_stream_session_t *s,
    ngx_stream_hoop_pg_audit_ev_t *ev);
static ngx_uint_t ngx_stream_hoop_pg_audit_wanted(ngx_stream_session_t *s,
    ngx_stream_hoop_pg_audit_ev_t *ev);
static void ngx_stream_hoop_pg_audit_statement(hoop_json_t *j,
    ngx_stream_hoop_pg_audit_ev_t *ev);
static void ngx_stream_hoop_pg_audit_rule(hoop_json_t *j,
    ngx_stream_hoop_pg_query_t *q, ngx_stream_hoop_pg_sql_t *sql);
static void ngx_stream_hoop_pg_audit_names(hoop_json_t *j, const char *key,
    const char *names);
static void ngx_stream_hoop_pg_audit_rows(hoop_json_t *j,
    ngx_stream_hoop_pg_run_t *run);
/*
 * The most of a statement's text an event keeps: escaped six-fold at
 * worst, it stays under the 4 MB an event may be.
 */
#define NGX_STREAM_HOOP_PG_AUDIT_SQL  (512 * 1024)


static void ngx_stream_hoop_pg_audit_build(void *data, hoop_json_t *j,
    ngx_hoop_audit_session_t *sess);
static void ngx_stream_hoop_pg_audit_sql(hoop_json_t *j,
    ngx_stream_hoop_pg_sql_t *sql);
static void ngx_stream_hoop_pg_audit_who(hoop_json_t *j,
    ngx_stream_session_t *s, ngx_stream_hoop_pg_ctx_t *ctx);
static ngx_int_t ngx_stream_hoop_pg_audit_who_once(ngx_stream_session_t *s,
    ngx_stream_hoop_pg_ctx_t *ctx);


ngx_int_t
ngx_stream_hoop_pg_audit_init(ngx_conf_t *cf)
{
    ngx_stream_handler_pt        *h;
    ngx_stream_core_main_conf_t  *cmcf;

    cmcf = ngx_stream_conf_get_module_main_conf(cf, ngx_stream_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_STREAM_LOG_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_stream_hoop_pg_audit_end;

    return NGX_OK;
}


/*
 * Fail closed: a login or a statement whose events neither Redis nor the
 * spool could take now is refused (ngx_hoop_audit_admit() logs why).
 */
ngx_uint_t
ngx_stream_hoop_pg_audit_refuses(ngx_stream_session_t *s, const char *what)
{
    ngx_stream_hoop_pg_srv_conf_t   *pscf;
    ngx_stream_hoop_pg_main_conf_t  *pmcf;

    pscf = ngx_stream_get_module_srv_conf(s, ngx_stream_hoop_pg_module);
    pmcf = ngx_stream_get_module_main_conf(s, ngx_stream_hoop_pg_module);

    return pscf->audit
           && ngx_hoop_audit_admit(&pmcf->audit, s->connection->log, what)
              != NGX_OK;
}


void
ngx_stream_hoop_pg_audit_event(ngx_stream_session_t *s, const char *type)
{
    ngx_stream_hoop_pg_audit_ev_t  ev;

    ngx_memzero(&ev, sizeof(ngx_stream_hoop_pg_audit_ev_t));

    ev.session = s;
    ev.type = type;

    ngx_stream_hoop_pg_audit_emit(s, &ev);
}


/* review.requested: a statement held, in its session's trail */
void
ngx_stream_hoop_pg_audit_review(ngx_stream_session_t *s,
    ngx_hoop_review_wait_t *w, ngx_stream_hoop_pg_sql_t *sql)
{
    ngx_stream_hoop_pg_audit_ev_t  ev;

    ngx_memzero(&ev, sizeof(ngx_stream_hoop_pg_audit_ev_t));

    ev.session = s;
    ev.type = "review.requested";
    ev.review = w;
    ev.sql = sql;

    ngx_stream_hoop_pg_audit_emit(s, &ev);
}


/* One pg.query event per statement of a Query, Execute or FunctionCall. */
void
ngx_stream_hoop_pg_audit_query(ngx_stream_session_t *s,
    ngx_stream_hoop_pg_query_t *q)
{
    ngx_uint_t                     i;
    ngx_stream_hoop_pg_audit_ev_t  ev;

    ngx_memzero(&ev, sizeof(ngx_stream_hoop_pg_audit_ev_t));

    ev.session = s;
    ev.type = "pg.query";
    ev.query = q;

    for (i = 0; i < q->n; i++) {
        ev.run = i;
        ngx_stream_hoop_pg_audit_emit(s, &ev);
    }
}


static void
ngx_stream_hoop_pg_audit_emit(ngx_stream_session_t *s,
    ngx_stream_hoop_pg_audit_ev_t *ev)
{
    ngx_stream_hoop_pg_ctx_t        *ctx;
    ngx_stream_hoop_pg_srv_conf_t   *pscf;
    ngx_stream_hoop_pg_main_conf_t  *pmcf;

    pscf = ngx_stream_get_module_srv_conf(s, ngx_stream_hoop_pg_module);
    pmcf = ngx_stream_get_module_main_conf(s, ngx_stream_hoop_pg_module);
    ctx = ngx_stream_get_module_ctx(s, ngx_stream_hoop_pg_module);

    /*
     * statements answered and not yet recorded go first, so the trail
     * keeps the order things happened in (it is taken off the session
     * before they are recorded: this does not recurse)
     */

    ngx_stream_hoop_pg_query_done(s);

    if (!pscf->audit || ctx == NULL || ctx->cancel
        || !ngx_stream_hoop_pg_audit_wanted(s, ev))
    {
        return;
    }

    if (!ctx->audited) {
        if (ngx_hoop_audit_session_init(&ctx->audit) != NGX_OK) {
            return;
        }

        ctx->audited = 1;
    }

    (void) ngx_hoop_audit_emit(&pmcf->audit, &ctx->audit,
                               ngx_stream_hoop_pg_audit_build, ev,
                               s->connection->log);
}


/*
 * What was admitted has its event, whatever became of Redis and the
 * spool's room since: the spool keeps room for it, and past that the
 * event is LOST, loudly.  What was refused for want of a trail (a login,
 * a statement; a connection refused before its login), or served without
 * one (fail open), is in the error log, not the trail: none may eat the
 * room kept for what was admitted.
 */
static ngx_uint_t
ngx_stream_hoop_pg_audit_wanted(ngx_stream_session_t *s,
    ngx_stream_hoop_pg_audit_ev_t *ev)
{
    ngx_stream_hoop_pg_ctx_t        *ctx;
    ngx_stream_hoop_pg_main_conf_t  *pmcf;

    pmcf = ngx_stream_get_module_main_conf(s, ngx_stream_hoop_pg_module);
    ctx = ngx_stream_get_module_ctx(s, ngx_stream_hoop_pg_module);

    if (ngx_hoop_audit_available(&pmcf->audit)) {
        return 1;
    }

    if (!pmcf->audit.fail_closed || !ctx->admitted) {
        return 0;
    }

    return ev->query == NULL || !ev->query->run[ev->run].unaudited;
}


static ngx_int_t
ngx_stream_hoop_pg_audit_end(ngx_stream_session_t *s)
{
    ngx_stream_hoop_pg_ctx_t        *ctx;
    ngx_stream_hoop_pg_main_conf_t  *pmcf;

    ctx = ngx_stream_get_module_ctx(s, ngx_stream_hoop_pg_module);

    /*
     * the client's TLS close may still take a moment: nothing the server
     * sends meanwhile is relayed, nothing is recorded twice
     */

    if (ctx != NULL) {
        if (ctx->finalized) {
            return NGX_OK;
        }

        ctx->finalized = 1;
    }

    /* statements sent and never answered: their events first */

    ngx_stream_hoop_pg_query_abandon(s);
    ngx_stream_hoop_pg_query_done(s);

    if (ctx == NULL) {
        return NGX_OK;
    }

    if (ctx->refusal != NULL) {
        /* its auth.failure says it all */

    } else if (ctx->authenticated || ctx->audited
               || ctx->phase == NGX_STREAM_HOOP_PG_READY)
    {
        ngx_stream_hoop_pg_audit_event(s, "pg.session.end");

    } else if (ctx->ended_sqlstate != NULL) {
        /* refused before a token was checked: bad input, no TLS, ... */
        ngx_stream_hoop_pg_audit_event(s, "pg.refused");
    }

    if (ctx->audited) {
        pmcf = ngx_stream_get_module_main_conf(s, ngx_stream_hoop_pg_module);
        ngx_hoop_audit_session_end(&pmcf->audit, &ctx->audit);
    }

    return NGX_OK;
}


static void
ngx_stream_hoop_pg_audit_build(void *data, hoop_json_t *j,
    ngx_hoop_audit_session_t *sess)
{
    ngx_stream_hoop_pg_audit_ev_t *ev = data;

    const char                *reason;
    ngx_time_t                *tp;
    ngx_msec_int_t             ms;
    ngx_connection_t          *c;
    ngx_stream_session_t      *s;
    ngx_stream_hoop_pg_ctx_t  *ctx;

    s = ev->session;
    c = s->connection;
    ctx = ngx_stream_get_module_ctx(s, ngx_stream_hoop_pg_module);

    hoop_json_object(j, NULL);
    ngx_hoop_audit_envelope(j, ev->type, sess);

    /* who and what: the same in every statement's event once logged in */

    if (ev->query != NULL && ctx->authenticated
        && (ctx->audit_who.len
            || ngx_stream_hoop_pg_audit_who_once(s, ctx) == NGX_OK))
    {
        hoop_json_members(j, (char *) ctx->audit_who.data,
                          ctx->audit_who.len);

    } else {
        ngx_stream_hoop_pg_audit_who(j, s, ctx);
    }

    if (ngx_strcmp(ev->type, "pg.session.end") == 0) {
        tp = ngx_timeofday();
        ms = (ngx_msec_int_t) ((tp->sec - s->start_sec) * 1000
                               + (tp->msec - s->start_msec));

        hoop_json_object(j, "session_end");
        hoop_json_int(j, "bytes_from_client", (long long) s->received);
        hoop_json_int(j, "bytes_to_client", (long long) c->sent);
        hoop_json_int(j, "duration_ms", (long long) ngx_max(ms, 0));
        reason = ctx->ended ? ctx->ended : "error";
        hoop_json_string(j, "reason", reason, ngx_strlen(reason));

        if (ctx->ended_sqlstate != NULL) {
            hoop_json_string(j, "sqlstate", ctx->ended_sqlstate, 5);
            hoop_json_string(j, "message",
                             (char *) ctx->ended_message.data,
                             ctx->ended_message.len);
        }

        hoop_json_end(j);
    }

    if (ev->query != NULL) {
        ngx_stream_hoop_pg_audit_statement(j, ev);
        hoop_json_end(j);
        return;
    }

    if (ev->review != NULL) {
        hoop_json_object(j, "review");
        hoop_json_string(j, "id", (char *) ev->review->id,
                         ngx_strlen(ev->review->id));
        hoop_json_string(j, "rule", ev->sql->rule->name,
                         ngx_strlen(ev->sql->rule->name));
        hoop_json_string(j, "approvers", ev->sql->rule->approvers,
                         ngx_strlen(ev->sql->rule->approvers));
        hoop_json_end(j);

        hoop_json_object(j, "query");

        ngx_stream_hoop_pg_audit_sql(j, ev->sql);

        hoop_json_string(j, "kind", hoop_sql_kind_name(ev->sql->cls.kind),
                         ngx_strlen(hoop_sql_kind_name(ev->sql->cls.kind)));
        hoop_json_end(j);

        hoop_json_end(j);
        return;
    }

    hoop_json_object(j, "decision");

    if (ctx->refusal != NULL) {
        hoop_json_string(j, "result", "deny", 4);
        hoop_json_string(j, "reason", ctx->refusal,
                         ngx_strlen(ctx->refusal));

    } else if (!ctx->authenticated && ctx->ended_sqlstate != NULL) {
        hoop_json_string(j, "result", "deny", 4);
        hoop_json_string(j, "reason", (char *) ctx->ended_message.data,
                         ctx->ended_message.len);
        hoop_json_string(j, "sqlstate", ctx->ended_sqlstate, 5);

    } else {
        hoop_json_string(j, "result", "allow", 5);
    }

    hoop_json_null(j, "rule");
    hoop_json_end(j);

    hoop_json_end(j);
}


/* identity, client and resource members */
static void
ngx_stream_hoop_pg_audit_who(hoop_json_t *j, ngx_stream_session_t *s,
    ngx_stream_hoop_pg_ctx_t *ctx)
{
    ngx_connection_t  *c;

    c = s->connection;

    if (ctx->authenticated) {
        hoop_identity_json_write(&ctx->identity, j, "identity");

    } else {
        hoop_json_null(j, "identity");
    }

    hoop_json_object(j, "client");
    hoop_json_string(j, "address", (char *) c->addr_text.data,
                     c->addr_text.len);
    hoop_json_string(j, "protocol", "postgresql", 10);
    hoop_json_end(j);

    /* what the client asked for, and whom the gateway logged in as */

    if (ctx->client_database.len) {
        hoop_json_object(j, "resource");
        hoop_json_string(j, "database", (char *) ctx->client_database.data,
                         ctx->client_database.len);
        hoop_json_string(j, "user", (char *) ctx->client_user.data,
                         ctx->client_user.len);

        if (ctx->login != NULL) {
            hoop_json_string(j, "login", ctx->login->user,
                             ngx_strlen(ctx->login->user));

        } else {
            hoop_json_null(j, "login");
        }

        hoop_json_end(j);
    }
}


/*
 * The members above, made once, in the session's pool: measured first,
 * then written (a token may carry hundreds of groups).
 */
static ngx_int_t
ngx_stream_hoop_pg_audit_who_once(ngx_stream_session_t *s,
    ngx_stream_hoop_pg_ctx_t *ctx)
{
    u_char       *p;
    size_t        len;
    hoop_json_t   j;

    if (ctx->audit_who_failed) {
        return NGX_DECLINED;
    }

    hoop_json_init(&j, NULL, 0);
    hoop_json_object(&j, NULL);
    ngx_stream_hoop_pg_audit_who(&j, s, ctx);
    hoop_json_end(&j);

    p = ngx_pnalloc(s->connection->pool, j.len);
    if (p == NULL) {
        ctx->audit_who_failed = 1;
        return NGX_DECLINED;
    }

    hoop_json_init(&j, (char *) p, j.len);
    hoop_json_object(&j, NULL);
    ngx_stream_hoop_pg_audit_who(&j, s, ctx);
    hoop_json_end(&j);

    len = hoop_json_finish(&j);

    if (len < 2) {
        ctx->audit_who_failed = 1;
        return NGX_DECLINED;
    }

    /* without the braces */

    ctx->audit_who.data = p + 1;
    ctx->audit_who.len = len - 2;

    return NGX_OK;
}


/*
 * The statement's text, cut to NGX_STREAM_HOOP_PG_AUDIT_SQL bytes (at a
 * character's start): escaped, the rest of a megabyte statement could
 * make an event too large to keep, and a padded statement would go
 * unrecorded.  sql_bytes keeps the whole length.
 */
static void
ngx_stream_hoop_pg_audit_sql(hoop_json_t *j, ngx_stream_hoop_pg_sql_t *sql)
{
    size_t  len;

    if (sql->text == NULL) {
        hoop_json_null(j, "sql");
        return;
    }

    len = sql->len;

    if (len > NGX_STREAM_HOOP_PG_AUDIT_SQL) {
        len = NGX_STREAM_HOOP_PG_AUDIT_SQL;

        while (len > 0 && (sql->text[len] & 0xc0) == 0x80) {
            len--;
        }
    }

    hoop_json_string(j, "sql", (char *) sql->text, len);

    if (len < sql->len) {
        hoop_json_value(j, "sql_truncated", "true", 4);
    }
}


/* query, decision and result of one statement */
static void
ngx_stream_hoop_pg_audit_statement(hoop_json_t *j,
    ngx_stream_hoop_pg_audit_ev_t *ev)
{
    const char                  *result, *name;
    ngx_uint_t                   i;
    ngx_msec_int_t               ms;
    hoop_sql_stmt_t             *cls;
    ngx_stream_hoop_pg_run_t    *run;
    ngx_stream_hoop_pg_sql_t    *sql;
    ngx_stream_hoop_pg_query_t  *q;

    q = ev->query;
    run = &q->run[ev->run];
    sql = run->sql;

    hoop_json_object(j, "query");
    hoop_json_string(j, "protocol", q->extended ? "extended" : "simple",
                     q->extended ? 8 : 6);

    if (sql == NULL) {
        /* an Execute of a statement prepared before we could see it */
        hoop_json_null(j, "sql");
        hoop_json_string(j, "kind", "unknown", 7);
        hoop_json_end(j);

    } else {
        cls = &sql->cls;

        ngx_stream_hoop_pg_audit_sql(j, sql);

        hoop_json_int(j, "sql_bytes", (long long) cls->length);
        hoop_json_string(j, "kind", hoop_sql_kind_name(cls->kind),
                         ngx_strlen(hoop_sql_kind_name(cls->kind)));
        hoop_json_string(j, "command", cls->command,
                         ngx_strlen(cls->command));
        ngx_stream_hoop_pg_audit_names(j, "tables", cls->tables);
        ngx_stream_hoop_pg_audit_names(j, "functions", cls->functions);

        /* why the catalog made it more than a read */

        if (cls->cause[0] != '\0') {
            hoop_json_string(j, "cause", cls->cause, ngx_strlen(cls->cause));
        }

        if (cls->no_where) {
            hoop_json_value(j, "no_where", "true", 4);
        }

        if (cls->copy_program || cls->copy_file) {
            hoop_json_string(j, "copy", cls->copy_program ? "program" : "file",
                             cls->copy_program ? 7 : 4);
        }

        if (sql->parse_error != NULL) {
            hoop_json_string(j, "parse_error", sql->parse_error,
                             ngx_strlen(sql->parse_error));
        }

        hoop_json_end(j);
    }

    hoop_json_object(j, "decision");

    result = (run->denied || run->withheld) ? "deny" : "allow";
    hoop_json_string(j, "result", result, ngx_strlen(result));

    if (run->withheld) {
        /* allowed itself, refused because another of its Query was */
        hoop_json_string(j, "reason", NGX_STREAM_HOOP_PG_WITHHELD,
                         sizeof(NGX_STREAM_HOOP_PG_WITHHELD) - 1);
        hoop_json_null(j, "rule");

    } else if (run->unaudited) {
        /* recorded after all: the trail came back before its answer */
        hoop_json_string(j, "reason", NGX_STREAM_HOOP_PG_UNAUDITED,
                         sizeof(NGX_STREAM_HOOP_PG_UNAUDITED) - 1);
        hoop_json_null(j, "rule");

    } else {
        ngx_stream_hoop_pg_audit_rule(j, q, sql);
    }

    hoop_json_end(j);

    ms = (ngx_msec_int_t) (ngx_current_msec - q->start);

    hoop_json_object(j, "result");

    if (q->abandoned && !run->ran) {
        /* sent, and the session closed before the answer: not known */
        hoop_json_null(j, "ran");

    } else {
        hoop_json_value(j, "ran", run->ran ? "true" : "false",
                        run->ran ? 4 : 5);
    }

    if (run->rows >= 0) {
        hoop_json_int(j, "rows", (long long) run->rows);

    } else {
        hoop_json_null(j, "rows");
    }

    hoop_json_int(j, "bytes", (long long) run->bytes);
    hoop_json_string(j, "sqlstate",
                     run->sqlstate[0] ? (char *) run->sqlstate : "00000", 5);
    hoop_json_int(j, "duration_ms", (long long) ngx_max(ms, 0));

    if (run->captured != NULL || run->truncated) {
        ngx_stream_hoop_pg_audit_rows(j, run);
    }

    /* what hoop_mask took out of its results, by detector; "column" */

    hoop_json_object(j, "masked");

    for (i = 0; i < HOOP_PG_MASKED_KINDS; i++) {
        if (run->masked[i] == 0) {
            continue;
        }

        name = (i == HOOP_PG_MASKED_COLUMN) ? "column"
                                            : hoop_mask_type_name(i);
        hoop_json_int(j, name, (long long) run->masked[i]);
    }

    hoop_json_end(j);
    hoop_json_end(j);
}


/* a decision's review (or the grant it ran under) and its rule */
static void
ngx_stream_hoop_pg_audit_rule(hoop_json_t *j, ngx_stream_hoop_pg_query_t *q,
    ngx_stream_hoop_pg_sql_t *sql)
{
    if (q->review_status != NULL) {
        hoop_json_object(j, q->granted ? "grant" : "review");
        hoop_json_string(j, "id", (char *) q->review,
                         ngx_strlen(q->review));
        hoop_json_string(j, "status", q->review_status,
                         ngx_strlen(q->review_status));
        hoop_json_end(j);
    }

    if (sql == NULL || sql->rule == NULL) {
        hoop_json_null(j, "rule");

        if (sql != NULL && sql->launders) {
            hoop_json_string(j, "reason", NGX_STREAM_HOOP_PG_LAUNDERS,
                             sizeof(NGX_STREAM_HOOP_PG_LAUNDERS) - 1);

        } else if (sql != NULL && sql->copies_masked) {
            hoop_json_string(j, "reason", NGX_STREAM_HOOP_PG_COPIES_MASKED,
                             sizeof(NGX_STREAM_HOOP_PG_COPIES_MASKED) - 1);
        }

        return;
    }

    hoop_json_string(j, "rule", sql->rule->name,
                     ngx_strlen(sql->rule->name));

    if (sql->rule->reason != NULL) {
        hoop_json_string(j, "reason", sql->rule->reason,
                         ngx_strlen(sql->rule->reason));
    }
}


static void
ngx_stream_hoop_pg_audit_names(hoop_json_t *j, const char *key,
    const char *names)
{
    const char  *p, *end;

    hoop_json_array(j, key);

    for (p = names; *p; p = (*end == ',') ? end + 1 : end) {
        end = p;

        while (*end && *end != ',') {
            end++;
        }

        hoop_json_string(j, NULL, p, end - p);
    }

    hoop_json_end(j);
}


/*
 * "captured": the rows as the client got them (masked), each an array of
 * strings and nulls; a cell that is not UTF-8 text (a binary-format
 * value) is {"bytes": n}.  "captured_truncated": the session's budget
 * (hoop_pg_audit_rows) ran out.
 */
static void
ngx_stream_hoop_pg_audit_rows(hoop_json_t *j, ngx_stream_hoop_pg_run_t *run)
{
    u_char    *p, *end, *cell;
    uint32_t   clen;
    ngx_uint_t  i, n;

    hoop_json_array(j, "captured");

    p = run->captured;
    end = p ? p + run->captured_len : NULL;

    while (p != NULL && end - p >= 7) {
        n = p[5] << 8 | p[6];
        cell = p + 7;
        p += hoop_pg_get32(p + 1) + 1;

        hoop_json_array(j, NULL);

        for (i = 0; i < n && p - cell >= 4; i++) {
            clen = hoop_pg_get32(cell);
            cell += 4;

            if (clen == 0xffffffff) {
                hoop_json_null(j, NULL);
                continue;
            }

            if (clen > (size_t) (p - cell)) {
                break;
            }

            if (ngx_utf8_length(cell, clen) == (size_t) NGX_ERROR) {
                hoop_json_object(j, NULL);
                hoop_json_int(j, "bytes", (long long) clen);
                hoop_json_end(j);

            } else {
                hoop_json_string(j, NULL, (char *) cell, clen);
            }

            cell += clen;
        }

        hoop_json_end(j);
    }

    hoop_json_end(j);

    if (run->truncated) {
        hoop_json_value(j, "captured_truncated", "true", 4);
    }
}
