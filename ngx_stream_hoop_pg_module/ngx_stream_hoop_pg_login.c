/*
 * Copyright (C) nginx-hoop authors
 *
 * The gateway's own login to the database.  The client's startup packet
 * is not forwarded: the gateway checks its parameters (a whitelist; see
 * hoop_pg_param_verdict()), then sends a startup packet of its own with
 * the role named by hoop_pg_login, and answers the server's password
 * request itself: SCRAM-SHA-256 (the server's signature verified),
 * MD5 or cleartext.  The client sees only AuthenticationOk, the server's
 * ParameterStatus messages, and a BackendKeyData the gateway enciphered
 * (hoop_pg_cancel.h), so neither the password nor the real cancel key
 * ever reaches it.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_stream.h>

#include <openssl/rand.h>

#include "ngx_stream_hoop_pg.h"
#include "ngx_hoop_conf_file.h"
#include "ngx_hoop_secret.h"
#include "hoop_pg_cancel.h"
#include "hoop_pg_msg.h"
#include "hoop_pg_startup.h"
#include "hoop_scram.h"


#define NGX_STREAM_HOOP_PG_AUTH_OK         0
#define NGX_STREAM_HOOP_PG_AUTH_CLEARTEXT  3
#define NGX_STREAM_HOOP_PG_AUTH_MD5        5
#define NGX_STREAM_HOOP_PG_AUTH_SASL       10
#define NGX_STREAM_HOOP_PG_AUTH_SASL_CONT  11
#define NGX_STREAM_HOOP_PG_AUTH_SASL_FINAL 12


static ngx_int_t ngx_stream_hoop_pg_login_auth(ngx_stream_session_t *s,
    u_char *msg, size_t len);
static ngx_int_t ngx_stream_hoop_pg_login_password(ngx_stream_session_t *s,
    ngx_uint_t code, u_char *body, size_t len);
static ngx_int_t ngx_stream_hoop_pg_login_sasl(ngx_stream_session_t *s,
    ngx_uint_t code, u_char *body, size_t len);
static ngx_int_t ngx_stream_hoop_pg_login_send(ngx_stream_session_t *s,
    u_char *data, size_t len);
static ngx_int_t ngx_stream_hoop_pg_login_refused(ngx_stream_session_t *s,
    u_char *msg, size_t len);
static ngx_int_t ngx_stream_hoop_pg_login_key(ngx_stream_session_t *s,
    u_char *msg, size_t len);
static ngx_int_t ngx_stream_hoop_pg_login_failed(ngx_stream_session_t *s,
    const char *why);
static ngx_stream_hoop_pg_login_t *ngx_stream_hoop_pg_login_find(
    ngx_stream_hoop_pg_srv_conf_t *pscf, const char *database);


/* hoop_pg_login role file=path [dbname=name] */
char *
ngx_stream_hoop_pg_login(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_stream_hoop_pg_srv_conf_t  *pscf = conf;

    ngx_str_t                   *value, path;
    ngx_uint_t                   i;
    ngx_stream_hoop_pg_login_t  *login, *l;

    value = cf->args->elts;

    if (pscf->logins == NULL) {
        pscf->logins = ngx_array_create(cf->pool, 2,
                                        sizeof(ngx_stream_hoop_pg_login_t));
        if (pscf->logins == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    login = ngx_array_push(pscf->logins);
    if (login == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(login, sizeof(ngx_stream_hoop_pg_login_t));
    ngx_str_null(&path);

    login->user = ngx_hoop_pstrz(cf->pool, &value[1]);
    if (login->user == NULL) {
        return NGX_CONF_ERROR;
    }

    for (i = 2; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "file=", 5) == 0) {
            path.data = value[i].data + 5;
            path.len = value[i].len - 5;
            continue;
        }

        if (ngx_strncmp(value[i].data, "dbname=", 7) == 0
            && value[i].len > 7)
        {
            value[i].data += 7;
            value[i].len -= 7;

            login->dbname = ngx_hoop_pstrz(cf->pool, &value[i]);
            if (login->dbname == NULL) {
                return NGX_CONF_ERROR;
            }

            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\" in the \"%V\" directive,"
                           " expected file= or dbname=", &value[i],
                           &cmd->name);
        return NGX_CONF_ERROR;
    }

    if (path.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" needs file=path: the password is never"
                           " written in nginx.conf", &cmd->name);
        return NGX_CONF_ERROR;
    }

    if (ngx_hoop_secret_read(cf, &path, &login->password) != NGX_CONF_OK) {
        return NGX_CONF_ERROR;
    }

    /* one login per database, and one without dbname= at most */

    l = pscf->logins->elts;

    for (i = 0; i + 1 < pscf->logins->nelts; i++) {
        if ((l[i].dbname == NULL && login->dbname == NULL)
            || (l[i].dbname && login->dbname
                && ngx_strcmp(l[i].dbname, login->dbname) == 0))
        {
            return "is duplicate for this database";
        }
    }

    return NGX_CONF_OK;
}


static ngx_stream_hoop_pg_login_t *
ngx_stream_hoop_pg_login_find(ngx_stream_hoop_pg_srv_conf_t *pscf,
    const char *database)
{
    ngx_uint_t                   i;
    ngx_stream_hoop_pg_login_t  *l, *any;

    if (pscf->logins == NULL) {
        return NULL;
    }

    l = pscf->logins->elts;
    any = NULL;

    for (i = 0; i < pscf->logins->nelts; i++) {
        if (l[i].dbname == NULL) {
            any = &l[i];

        } else if (ngx_strcmp(l[i].dbname, database) == 0) {
            return &l[i];
        }
    }

    return any;
}


/*
 * The client's StartupMessage (startup_len bytes at up.buf->pos):
 * its parameters checked, its user and database kept for the audit
 * trail, and the upstream's startup packet built.  NGX_OK, or NGX_DONE
 * when the session was refused.
 */
ngx_int_t
ngx_stream_hoop_pg_login_prepare(ngx_stream_session_t *s)
{
    int                             n, i, j, k, next;
    u_char                         *pkt;
    size_t                          len;
    const char                     *user, *database;
    ngx_connection_t               *c;
    hoop_pg_param_t                 params[HOOP_PG_PARAMS_MAX];
    hoop_pg_param_t                 out[HOOP_PG_PARAMS_MAX + 2];
    const char                     *ext[HOOP_PG_PARAMS_MAX];
    ngx_stream_hoop_pg_ctx_t       *ctx;
    ngx_stream_hoop_pg_srv_conf_t  *pscf;
    u_char                          msg[160];

    c = s->connection;
    ctx = ngx_stream_get_module_ctx(s, ngx_stream_hoop_pg_module);
    pscf = ngx_stream_get_module_srv_conf(s, ngx_stream_hoop_pg_module);

    n = hoop_pg_startup_params(ctx->up.buf->pos, ctx->startup_len,
                               params, HOOP_PG_PARAMS_MAX);
    if (n < 0) {
        ngx_log_error(NGX_LOG_INFO, c->log, 0,
                      "hoop pg: malformed startup packet");
        ngx_stream_hoop_pg_fatal(s, NGX_STREAM_BAD_REQUEST, "08P01",
                                 "hoop: malformed startup packet", NULL);
        return NGX_DONE;
    }

    user = NULL;
    database = NULL;
    k = 2;                                  /* user and database first */
    next = 0;

    for (i = 0; i < n; i++) {

        /* a parameter twice: the server keeps the last, we read the first */

        for (j = 0; j < i; j++) {
            if (ngx_strcmp(params[j].name, params[i].name) == 0) {
                ngx_stream_hoop_pg_fatal(s, NGX_STREAM_BAD_REQUEST, "08P01",
                                         "hoop: a startup parameter given"
                                         " twice", NULL);
                return NGX_DONE;
            }
        }

        switch (hoop_pg_param_verdict(params[i].name, params[i].value)) {

        case HOOP_PG_PARAM_SESSION:
            if (params[i].name[0] == 'u') {
                user = params[i].value;
            } else {
                database = params[i].value;
            }
            break;

        case HOOP_PG_PARAM_PASS:
            out[k++] = params[i];
            break;

        case HOOP_PG_PARAM_EXTENSION:
            ext[next++] = params[i].name;
            break;

        default: /* HOOP_PG_PARAM_REFUSE */
            ngx_log_error(NGX_LOG_INFO, c->log, 0,
                          "hoop pg: startup parameter \"%s\" refused",
                          params[i].name);

            ngx_snprintf(msg, sizeof(msg) - 1,
                         "hoop: startup parameter \"%s\" is not allowed"
                         " through the gateway%Z", params[i].name);
            msg[sizeof(msg) - 1] = '\0';

            ngx_stream_hoop_pg_fatal(s, NGX_STREAM_BAD_REQUEST, "28000",
                                     (char *) msg,
                                     "Session settings that change roles,"
                                     " replication or server options are"
                                     " decided by the gateway's policy.");
            return NGX_DONE;
        }
    }

    if (user == NULL || user[0] == '\0') {
        ngx_stream_hoop_pg_fatal(s, NGX_STREAM_BAD_REQUEST, "28000",
                                 "hoop: no user name in the startup packet",
                                 NULL);
        return NGX_DONE;
    }

    if (database == NULL || database[0] == '\0') {
        database = user;                    /* as the server does */
    }

    /* the packet itself is about to be replaced: keep copies */

    ctx->client_user.len = ngx_strlen(user);
    ctx->client_user.data = (u_char *) user;
    ctx->client_user.data = ngx_pstrdup(c->pool, &ctx->client_user);

    ctx->client_database.len = ngx_strlen(database);
    ctx->client_database.data = (u_char *) database;
    ctx->client_database.data = ngx_pstrdup(c->pool, &ctx->client_database);

    if (ctx->client_user.data == NULL || ctx->client_database.data == NULL) {
        ngx_stream_finalize_session(s, NGX_STREAM_INTERNAL_SERVER_ERROR);
        return NGX_DONE;
    }

    ctx->login = ngx_stream_hoop_pg_login_find(pscf, database);

    if (pscf->logins != NULL && ctx->login == NULL) {
        ngx_log_error(NGX_LOG_INFO, c->log, 0,
                      "hoop pg: no hoop_pg_login for database \"%s\"",
                      database);

        ngx_snprintf(msg, sizeof(msg) - 1,
                     "hoop: database \"%*s\" is not served by this"
                     " gateway%Z", ngx_min(ctx->client_database.len, 64),
                     database);
        msg[sizeof(msg) - 1] = '\0';

        ngx_stream_hoop_pg_fatal(s, NGX_STREAM_BAD_REQUEST, "3D000",
                                 (char *) msg, NULL);
        return NGX_DONE;
    }

    out[0].name = "user";
    out[0].value = ctx->login ? ctx->login->user : user;
    out[1].name = "database";
    out[1].value = database;

    pkt = ngx_pnalloc(c->pool, HOOP_PG_STARTUP_MAX);
    if (pkt == NULL) {
        ngx_stream_finalize_session(s, NGX_STREAM_INTERNAL_SERVER_ERROR);
        return NGX_DONE;
    }

    len = hoop_pg_startup_build(pkt, HOOP_PG_STARTUP_MAX, out, k);
    if (len == 0) {
        ngx_stream_hoop_pg_fatal(s, NGX_STREAM_BAD_REQUEST, "08P01",
                                 "hoop: startup packet too large", NULL);
        return NGX_DONE;
    }

    ctx->upstream_startup.data = pkt;
    ctx->upstream_startup.len = len;

    /*
     * protocol 3.0 it is, upstream and here (3.2's longer cancel keys
     * would not fit the gateway's): a client that asked for more, or
     * for extensions, is told so before anything else
     */

    if (ctx->client_minor > 0 || next > 0) {
        pkt = ngx_pnalloc(c->pool, HOOP_PG_STARTUP_MAX);
        if (pkt == NULL) {
            ngx_stream_finalize_session(s, NGX_STREAM_INTERNAL_SERVER_ERROR);
            return NGX_DONE;
        }

        ctx->negotiate.data = pkt;
        ctx->negotiate.len = hoop_pg_negotiate_encode(pkt,
                                                      HOOP_PG_STARTUP_MAX, 0,
                                                      ext, next);
    }

    return NGX_OK;
}


/*
 * Once the caller is known (its token verified): each parameter the
 * client set at startup is the SET statement it would be, decided by the
 * policy.  One the policy would deny is refused when changing it is more
 * than a read (an encoding the classifier cannot read), and dropped when
 * it is only a read (application_name, DateStyle, search_path, ...: the
 * session gets the server's default, and the client reads it from
 * ParameterStatus).  Then the gateway's own parameters go in:
 * standard_conforming_strings on (the classifier reads SQL as the server
 * does with it on), and default_transaction_read_only on when the
 * session is to be read-only (ngx_stream_hoop_pg_policy_read_only()).
 * NGX_OK; NGX_DONE: refused.
 */
ngx_int_t
ngx_stream_hoop_pg_login_policy(ngx_stream_session_t *s)
{
    int                        n, i, k, lifts;
    u_char                    *pkt;
    size_t                     len;
    hoop_pg_param_t            params[HOOP_PG_PARAMS_MAX + 2];
    ngx_stream_hoop_pg_sql_t   set;
    ngx_stream_hoop_pg_ctx_t  *ctx;
    u_char                     msg[200];

    ctx = ngx_stream_get_module_ctx(s, ngx_stream_hoop_pg_module);

    if (ctx->pending == NULL) {
        return NGX_OK;                  /* statements are not followed */
    }

    n = hoop_pg_startup_params(ctx->upstream_startup.data,
                               ctx->upstream_startup.len, params,
                               HOOP_PG_PARAMS_MAX);
    k = 0;

    for (i = 0; i < n; i++) {
        params[k] = params[i];

        if (ngx_strcmp(params[i].name, "user") == 0
            || ngx_strcmp(params[i].name, "database") == 0)
        {
            k++;
            continue;
        }

        /* the statement the parameter is: SET name = value */

        ngx_memzero(&set, sizeof(ngx_stream_hoop_pg_sql_t));
        set.cls.kind = hoop_sql_setting_kind(params[i].name,
                                             params[i].value, &lifts);
        set.cls.lifts_read_only = lifts;
        ngx_cpystrn((u_char *) set.cls.command, (u_char *) "set",
                    sizeof(set.cls.command));
        ngx_cpystrn((u_char *) set.cls.commands, (u_char *) "set",
                    sizeof(set.cls.commands));

        ngx_stream_hoop_pg_policy_decide(s, &set);

        if (set.action == HOOP_RULE_ALLOW) {
            /* the session's search path is its own, not another's */
            ctx->own_path |= (ngx_strcasecmp((u_char *) params[i].name,
                                             (u_char *) "search_path") == 0);
            k++;
            continue;
        }

        ngx_log_error(NGX_LOG_INFO, s->connection->log, 0,
                      "hoop pg: startup parameter \"%s\" %s: the policy"
                      " denies it as SET (%s)", params[i].name,
                      set.cls.kind == HOOP_SQL_READ ? "dropped" : "refused",
                      set.rule ? set.rule->name : "no rule allows it");

        if (set.cls.kind == HOOP_SQL_READ) {
            continue;
        }

        ngx_snprintf(msg, sizeof(msg) - 1,
                     "hoop: startup parameter \"%s\" is not allowed: the"
                     " gateway's policy does not allow this %s SET%Z",
                     params[i].name, hoop_sql_kind_name(set.cls.kind));
        msg[sizeof(msg) - 1] = '\0';

        ngx_stream_hoop_pg_fatal(s, NGX_STREAM_BAD_REQUEST, "28000",
                                 (char *) msg,
                                 "Startup parameters are settings, decided"
                                 " as SET statements are.");
        return NGX_DONE;
    }

    params[k].name = "standard_conforming_strings";
    params[k++].value = "on";

    ctx->read_only = ngx_stream_hoop_pg_policy_read_only(s);

    if (ctx->read_only) {
        params[k].name = "default_transaction_read_only";
        params[k++].value = "on";
    }

    /*
     * the old packet's strings are read while the new one is written; it
     * grows by the gateway's two parameters at most
     */

    len = ctx->upstream_startup.len + 128;

    pkt = ngx_pnalloc(s->connection->pool, len);
    if (pkt == NULL) {
        return NGX_ERROR;
    }

    len = hoop_pg_startup_build(pkt, len, params, (size_t) k);
    if (len == 0) {
        ngx_stream_hoop_pg_fatal(s, NGX_STREAM_BAD_REQUEST, "08P01",
                                 "hoop: startup packet too large", NULL);
        return NGX_DONE;
    }

    ctx->upstream_startup.data = pkt;
    ctx->upstream_startup.len = len;

    return NGX_OK;
}


/*
 * A CancelRequest: the key the client holds is the one the gateway
 * issued; the upstream gets the real one.  NGX_OK, or NGX_DONE when the
 * key cannot be ours (the connection is closed, as a server does).
 */
ngx_int_t
ngx_stream_hoop_pg_login_cancel(ngx_stream_session_t *s)
{
    u_char                          *p, buf[32];
    uint32_t                         pid, key;
    ngx_str_t                        tag;
    ngx_stream_hoop_pg_ctx_t        *ctx;
    ngx_stream_hoop_pg_main_conf_t  *pmcf;

    ctx = ngx_stream_get_module_ctx(s, ngx_stream_hoop_pg_module);
    pmcf = ngx_stream_get_module_main_conf(s, ngx_stream_hoop_pg_module);

    p = ctx->up.buf->pos;

    if (ctx->startup_len != 16
        || hoop_pg_cancel_open(pmcf->cancel_secret, hoop_pg_get32(p + 8),
                               hoop_pg_get32(p + 12), &pid, &key)
           != 0)
    {
        ngx_log_error(NGX_LOG_INFO, s->connection->log, 0,
                      "hoop pg: CancelRequest with a key the gateway did"
                      " not issue, ignored");
        ngx_stream_finalize_session(s, NGX_STREAM_OK);
        return NGX_DONE;
    }

    /* a statement of that session held for review: its review ends */

    if (pmcf->reviews != NULL) {
        tag.data = buf;
        tag.len = ngx_sprintf(buf, "pg:%uD:%uD", hoop_pg_get32(p + 8),
                              hoop_pg_get32(p + 12))
                  - buf;

        (void) ngx_hoop_review_cancel_tag(pmcf->reviews, &tag);
    }

    (void) hoop_pg_put32(p + 8, pid);
    (void) hoop_pg_put32(p + 12, key);

    ctx->upstream_startup.data = p;
    ctx->upstream_startup.len = 16;

    return NGX_OK;
}


/*
 * One message from the server before the session is ready.  NGX_OK: pass
 * it to the client; NGX_DECLINED: the gateway consumed it; NGX_DONE: the
 * session ended.
 */
ngx_int_t
ngx_stream_hoop_pg_login_message(ngx_stream_session_t *s, u_char *msg,
    size_t len)
{
    ngx_int_t                  rc;
    ngx_stream_hoop_pg_ctx_t  *ctx;

    ctx = ngx_stream_get_module_ctx(s, ngx_stream_hoop_pg_module);

    if (ctx->phase == NGX_STREAM_HOOP_PG_CATALOG) {
        return ngx_stream_hoop_pg_catalog_message(s, msg, len);
    }

    switch (msg[0]) {

    case 'R':
        if (ctx->phase != NGX_STREAM_HOOP_PG_LOGIN) {
            /* the client answers the server itself (no gateway login) */

            if (len == 9 && hoop_pg_get32(msg + 5)
                            == NGX_STREAM_HOOP_PG_AUTH_OK
                && ngx_stream_hoop_pg_catalog_early(s) != NGX_OK)
            {
                return NGX_ERROR;
            }

            return NGX_OK;
        }

        return ngx_stream_hoop_pg_login_auth(s, msg, len);

    case 'E':
        return ngx_stream_hoop_pg_login_refused(s, msg, len);

    case 'K':
        return ngx_stream_hoop_pg_login_key(s, msg, len);

    case 'Z':
        if (ctx->phase != NGX_STREAM_HOOP_PG_STARTUP) {
            return ngx_stream_hoop_pg_login_failed(s, "unexpected message");
        }

        /* the catalog is read first; its ReadyForQuery is the client's */

        rc = ngx_stream_hoop_pg_catalog_start(s);

        if (rc == NGX_OK) {
            return NGX_DECLINED;
        }

        if (rc == NGX_ERROR) {
            return NGX_ERROR;
        }

        ctx->phase = NGX_STREAM_HOOP_PG_READY;

        /* what the client sent meanwhile waits in its buffer: read it */

        ctx->client_flow = 1;
        ngx_post_event(s->connection->read, &ngx_posted_events);

        ngx_log_debug0(NGX_LOG_DEBUG_STREAM, s->connection->log, 0,
                       "hoop pg: session ready");
        return NGX_OK;

    case 'S':
    case 'N':
        if (ctx->phase == NGX_STREAM_HOOP_PG_STARTUP) {
            return NGX_OK;
        }

        /* fall through */

    default:
        ngx_log_error(NGX_LOG_ERR, s->connection->log, 0,
                      "hoop pg: unexpected message type 0x%02xd from the"
                      " database during login", msg[0]);
        return ngx_stream_hoop_pg_login_failed(s, "unexpected message");
    }
}


static ngx_int_t
ngx_stream_hoop_pg_login_auth(ngx_stream_session_t *s, u_char *msg,
    size_t len)
{
    ngx_uint_t                 code;
    ngx_stream_hoop_pg_ctx_t  *ctx;

    ctx = ngx_stream_get_module_ctx(s, ngx_stream_hoop_pg_module);

    if (len < 9) {
        return ngx_stream_hoop_pg_login_failed(s, "malformed request");
    }

    code = hoop_pg_get32(msg + 5);

    if (code == NGX_STREAM_HOOP_PG_AUTH_OK) {
        if (ctx->scram != NULL && ctx->scram->state != 3) {
            /* a server that skips SASLFinal has not proved itself */
            return ngx_stream_hoop_pg_login_failed(s,
                                      "server signature not received");
        }

        ctx->phase = NGX_STREAM_HOOP_PG_STARTUP;

        if (ngx_stream_hoop_pg_catalog_early(s) != NGX_OK) {
            return NGX_ERROR;
        }

        return NGX_OK;
    }

    if (ctx->login == NULL) {
        ngx_log_error(NGX_LOG_ERR, s->connection->log, 0,
                      "hoop pg: the database asks for a password (request"
                      " %ui) and no hoop_pg_login is configured; session"
                      " refused", code);

        ngx_stream_hoop_pg_fatal(s, NGX_STREAM_BAD_GATEWAY, "28000",
                                 "hoop: the database server asks for a"
                                 " password, and the gateway does not pass"
                                 " tokens on",
                                 "Configure hoop_pg_login with the"
                                 " credentials the gateway logs in with.");
        return NGX_DONE;
    }

    switch (code) {

    case NGX_STREAM_HOOP_PG_AUTH_CLEARTEXT:
    case NGX_STREAM_HOOP_PG_AUTH_MD5:
        return ngx_stream_hoop_pg_login_password(s, code, msg + 9, len - 9);

    case NGX_STREAM_HOOP_PG_AUTH_SASL:
    case NGX_STREAM_HOOP_PG_AUTH_SASL_CONT:
    case NGX_STREAM_HOOP_PG_AUTH_SASL_FINAL:
        return ngx_stream_hoop_pg_login_sasl(s, code, msg + 9, len - 9);

    default:
        ngx_log_error(NGX_LOG_ERR, s->connection->log, 0,
                      "hoop pg: the database asks for authentication"
                      " method %ui, which the gateway does not speak", code);
        return ngx_stream_hoop_pg_login_failed(s, "unsupported method");
    }
}


static ngx_int_t
ngx_stream_hoop_pg_login_password(ngx_stream_session_t *s, ngx_uint_t code,
    u_char *body, size_t len)
{
    u_char                     *p, *out;
    size_t                      plen;
    ngx_int_t                   rc;
    ngx_stream_hoop_pg_ctx_t   *ctx;
    ngx_stream_hoop_pg_login_t *login;
    char                        md5[36];

    ctx = ngx_stream_get_module_ctx(s, ngx_stream_hoop_pg_module);
    login = ctx->login;

    if (code == NGX_STREAM_HOOP_PG_AUTH_MD5) {
        if (len != 4
            || hoop_pg_md5_password(login->user, ngx_strlen(login->user),
                                    (char *) login->password.data,
                                    login->password.len, body, md5)
               != 0)
        {
            return ngx_stream_hoop_pg_login_failed(s, "bad MD5 request");
        }

        p = (u_char *) md5;
        plen = 35;

    } else {
        p = login->password.data;
        plen = login->password.len;
    }

    out = ngx_pnalloc(s->connection->pool, plen + 6);
    if (out == NULL) {
        return NGX_ERROR;
    }

    out[0] = 'p';
    (void) hoop_pg_put32(out + 1, (uint32_t) (plen + 5));
    ngx_memcpy(out + 5, p, plen);
    out[plen + 5] = '\0';

    rc = ngx_stream_hoop_pg_login_send(s, out, plen + 6);

    ngx_explicit_memzero(out, plen + 6);
    ngx_explicit_memzero(md5, sizeof(md5));

    return rc;
}


static ngx_int_t
ngx_stream_hoop_pg_login_sasl(ngx_stream_session_t *s, ngx_uint_t code,
    u_char *body, size_t len)
{
    u_char                      *p;
    size_t                       n;
    ngx_int_t                    rc;
    ngx_str_t                    nonce, raw;
    ngx_stream_hoop_pg_ctx_t    *ctx;
    ngx_stream_hoop_pg_login_t  *login;
    u_char                       out[HOOP_SCRAM_MESSAGE_MAX + 64];
    u_char                       rnd[18], b64[32];

    ctx = ngx_stream_get_module_ctx(s, ngx_stream_hoop_pg_module);
    login = ctx->login;

    if (code == NGX_STREAM_HOOP_PG_AUTH_SASL) {
        if (ctx->scram != NULL
            || !hoop_pg_sasl_offers(body, len, "SCRAM-SHA-256"))
        {
            return ngx_stream_hoop_pg_login_failed(s,
                                      "SCRAM-SHA-256 not offered");
        }

        ctx->scram = ngx_pcalloc(s->connection->pool, sizeof(hoop_scram_t));
        if (ctx->scram == NULL) {
            return NGX_ERROR;
        }

        if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
            return NGX_ERROR;
        }

        raw.data = rnd;
        raw.len = sizeof(rnd);
        nonce.data = b64;
        ngx_encode_base64(&nonce, &raw);
        b64[nonce.len] = '\0';

        /* SASLInitialResponse: mechanism, Int32 length, client-first */

        p = ngx_cpymem(out + 5, "SCRAM-SHA-256", sizeof("SCRAM-SHA-256"));

        n = hoop_scram_client_first(ctx->scram, "", (char *) b64,
                                    (char *) p + 4,
                                    sizeof(out) - (p + 4 - out));
        if (n == 0) {
            return NGX_ERROR;
        }

        (void) hoop_pg_put32(p, (uint32_t) n);
        p += 4 + n;

    } else if (code == NGX_STREAM_HOOP_PG_AUTH_SASL_CONT) {
        if (ctx->scram == NULL || ctx->scram->state != 1) {
            return ngx_stream_hoop_pg_login_failed(s, "unexpected SASL step");
        }

        n = hoop_scram_client_final(ctx->scram, (char *) login->password.data,
                                    login->password.len, (char *) body, len,
                                    (char *) out + 5, sizeof(out) - 5);
        if (n == 0) {
            return ngx_stream_hoop_pg_login_failed(s,
                                      "invalid SCRAM server-first message");
        }

        p = out + 5 + n;

    } else {
        if (ctx->scram == NULL || ctx->scram->state != 2
            || hoop_scram_server_final(ctx->scram, (char *) body, len) != 0)
        {
            return ngx_stream_hoop_pg_login_failed(s,
                                      "server signature does not verify");
        }

        ctx->scram->state = 3;
        return NGX_DECLINED;
    }

    out[0] = 'p';
    (void) hoop_pg_put32(out + 1, (uint32_t) (p - out - 1));

    rc = ngx_stream_hoop_pg_login_send(s, out, p - out);

    ngx_explicit_memzero(out, sizeof(out));

    return rc;
}


/* NGX_DECLINED (the request was consumed), or NGX_ERROR */
static ngx_int_t
ngx_stream_hoop_pg_login_send(ngx_stream_session_t *s, u_char *data,
    size_t len)
{
    ngx_stream_hoop_pg_ctx_t  *ctx;

    ctx = ngx_stream_get_module_ctx(s, ngx_stream_hoop_pg_module);

    if (ngx_hoop_flow_inject(&ctx->up, s->connection->pool, data, len)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_DECLINED;
}


/*
 * An ErrorResponse before the session is ready is FATAL.  Refusals of the
 * gateway's own credentials (class 28) are the operators' business: the
 * client learns that the gateway could not log in, the log says why.
 * Others (no such database, too many connections) reach the client.
 */
static ngx_int_t
ngx_stream_hoop_pg_login_refused(ngx_stream_session_t *s, u_char *msg,
    size_t len)
{
    int                        n, m;
    const char                *state, *text;
    ngx_stream_hoop_pg_ctx_t  *ctx;

    ctx = ngx_stream_get_module_ctx(s, ngx_stream_hoop_pg_module);

    if (ctx->phase != NGX_STREAM_HOOP_PG_LOGIN || ctx->login == NULL) {
        return NGX_OK;
    }

    n = hoop_pg_error_field(msg + 5, len - 5, 'C', &state);

    if (n != 5 || state[0] != '2' || state[1] != '8') {
        return NGX_OK;
    }

    m = hoop_pg_error_field(msg + 5, len - 5, 'M', &text);

    ngx_log_error(NGX_LOG_ERR, s->connection->log, 0,
                  "hoop pg: the database refused the gateway's login:"
                  " %*s", m > 0 ? ngx_min(m, 256) : 0, m > 0 ? text : "");

    return ngx_stream_hoop_pg_login_failed(s, NULL);
}


/*
 * BackendKeyData: the client gets the real key enciphered; a pid the
 * cipher cannot take (not on Linux) gets a random key: cancel then does
 * nothing, which is what a stale key does anyway.
 */
static ngx_int_t
ngx_stream_hoop_pg_login_key(ngx_stream_session_t *s, u_char *msg,
    size_t len)
{
    uint32_t                         pid, key;
    ngx_stream_hoop_pg_ctx_t        *ctx;
    ngx_stream_hoop_pg_main_conf_t  *pmcf;

    ctx = ngx_stream_get_module_ctx(s, ngx_stream_hoop_pg_module);
    pmcf = ngx_stream_get_module_main_conf(s, ngx_stream_hoop_pg_module);

    if (len != 13) {
        return ngx_stream_hoop_pg_login_failed(s, "malformed BackendKeyData");
    }

    if (hoop_pg_cancel_seal(pmcf->cancel_secret, hoop_pg_get32(msg + 5),
                            hoop_pg_get32(msg + 9), &pid, &key)
        != 0)
    {
        if (RAND_bytes(msg + 5, 8) != 1) {
            return NGX_ERROR;
        }

        msg[5] &= 0x7f;
        return NGX_OK;
    }

    (void) hoop_pg_put32(msg + 5, pid);
    (void) hoop_pg_put32(msg + 9, key);

    ctx->issued_pid = pid;
    ctx->issued_key = key;

    return NGX_OK;
}


static ngx_int_t
ngx_stream_hoop_pg_login_failed(ngx_stream_session_t *s, const char *why)
{
    if (why != NULL) {
        ngx_log_error(NGX_LOG_ERR, s->connection->log, 0,
                      "hoop pg: login to the database failed: %s", why);
    }

    ngx_stream_hoop_pg_fatal(s, NGX_STREAM_BAD_GATEWAY, "28000",
                             "hoop: the gateway could not log in to the"
                             " database",
                             "The gateway's own database credentials were"
                             " refused; its operators have the details in"
                             " the error log.");
    return NGX_DONE;
}
