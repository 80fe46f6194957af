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
#include "ngx_stream_hoop_pg.h"


typedef struct {
    ngx_stream_session_t  *session;
    const char            *type;
} ngx_stream_hoop_pg_audit_ev_t;


static ngx_int_t ngx_stream_hoop_pg_audit_end(ngx_stream_session_t *s);
static void ngx_stream_hoop_pg_audit_build(void *data, hoop_json_t *j,
    ngx_hoop_audit_session_t *sess);


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


/* NGX_OK, or NGX_DECLINED when logins must be refused (fail closed). */
ngx_int_t
ngx_stream_hoop_pg_audit_available(ngx_stream_session_t *s)
{
    ngx_stream_hoop_pg_srv_conf_t   *pscf;
    ngx_stream_hoop_pg_main_conf_t  *pmcf;

    pscf = ngx_stream_get_module_srv_conf(s, ngx_stream_hoop_pg_module);
    pmcf = ngx_stream_get_module_main_conf(s, ngx_stream_hoop_pg_module);

    if (!pscf->audit) {
        return NGX_OK;
    }

    return ngx_hoop_audit_admit(&pmcf->audit, s->connection->log, "login");
}


void
ngx_stream_hoop_pg_audit_event(ngx_stream_session_t *s, const char *type)
{
    ngx_stream_hoop_pg_ctx_t        *ctx;
    ngx_stream_hoop_pg_srv_conf_t   *pscf;
    ngx_stream_hoop_pg_main_conf_t  *pmcf;
    ngx_stream_hoop_pg_audit_ev_t    ev;

    pscf = ngx_stream_get_module_srv_conf(s, ngx_stream_hoop_pg_module);
    pmcf = ngx_stream_get_module_main_conf(s, ngx_stream_hoop_pg_module);
    ctx = ngx_stream_get_module_ctx(s, ngx_stream_hoop_pg_module);

    if (!pscf->audit || ctx == NULL || ctx->cancel
        || !ngx_hoop_audit_available(&pmcf->audit))
    {
        return;
    }

    if (!ctx->audited) {
        if (ngx_hoop_audit_session_init(&ctx->audit) != NGX_OK) {
            return;
        }

        ctx->audited = 1;
    }

    ev.session = s;
    ev.type = type;

    (void) ngx_hoop_audit_emit(&pmcf->audit, &ctx->audit,
                               ngx_stream_hoop_pg_audit_build, &ev,
                               s->connection->log);
}


static ngx_int_t
ngx_stream_hoop_pg_audit_end(ngx_stream_session_t *s)
{
    ngx_stream_hoop_pg_ctx_t  *ctx;

    ctx = ngx_stream_get_module_ctx(s, ngx_stream_hoop_pg_module);

    /* sessions that never logged in have their auth.failure, or nothing */

    if (ctx != NULL && ctx->audited && ctx->authenticated) {
        ngx_stream_hoop_pg_audit_event(s, "pg.session.end");
    }

    return NGX_OK;
}


static void
ngx_stream_hoop_pg_audit_build(void *data, hoop_json_t *j,
    ngx_hoop_audit_session_t *sess)
{
    ngx_stream_hoop_pg_audit_ev_t *ev = data;

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

    if (ngx_strcmp(ev->type, "pg.session.end") == 0) {
        tp = ngx_timeofday();
        ms = (ngx_msec_int_t) ((tp->sec - s->start_sec) * 1000
                               + (tp->msec - s->start_msec));

        hoop_json_object(j, "session_end");
        hoop_json_int(j, "bytes_from_client", (long long) s->received);
        hoop_json_int(j, "bytes_to_client", (long long) c->sent);
        hoop_json_int(j, "duration_ms", (long long) ngx_max(ms, 0));
        hoop_json_end(j);
    }

    hoop_json_object(j, "decision");

    if (ctx->refusal != NULL) {
        hoop_json_string(j, "result", "deny", 4);
        hoop_json_string(j, "reason", ctx->refusal,
                         ngx_strlen(ctx->refusal));

    } else {
        hoop_json_string(j, "result", "allow", 5);
    }

    hoop_json_null(j, "rule");
    hoop_json_end(j);

    hoop_json_end(j);
}
