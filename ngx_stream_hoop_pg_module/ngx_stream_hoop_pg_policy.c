/*
 * Copyright (C) nginx-hoop authors
 *
 * hoop_rule and hoop_default for Postgres: the shared rule engine, with
 * each statement's classification as the operation's attributes.
 *
 *     hoop_rule deny   sql.ddl;
 *     hoop_rule deny   sql.delete where=none;
 *     hoop_rule review sql.write table=customers approvers=dba;
 *
 * "sql.KIND" (read, write, ddl, dcl, admin, unknown) is kind=KIND;
 * "sql.COMMAND" (select, delete, create table, ...: the statement type
 * with spaces as dots is not needed, "sql.fastpath" is a FunctionCall)
 * is command=COMMAND.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_stream.h>

#include "ngx_stream_hoop_pg.h"
#include "ngx_hoop_rule_conf.h"


typedef struct {
    ngx_stream_session_t      *session;
    ngx_stream_hoop_pg_sql_t  *sql;
} ngx_stream_hoop_pg_op_t;


static char *ngx_stream_hoop_pg_rule_operation(ngx_conf_t *cf,
    hoop_rule_t *rule, ngx_str_t *arg);
static ngx_uint_t ngx_stream_hoop_pg_policy_launders(
    ngx_stream_hoop_pg_sql_t *sql);
static ngx_uint_t ngx_stream_hoop_pg_rule_vouches_calls(
    const hoop_rule_t *rule);
static int ngx_stream_hoop_pg_rule_attr(void *op, const hoop_rule_t *rule,
    const hoop_rule_cond_t *c);


static const char  *ngx_stream_hoop_pg_rule_keys[] = {
    "groups", "sub", "client", "kind", "command", "table", "function",
    "where", "copy", "database", "user", NULL
};


static const ngx_hoop_rule_syntax_t  ngx_stream_hoop_pg_rule_syntax = {
    ngx_stream_hoop_pg_rule_keys,
    "groups, sub, client, kind, command, table, function, where, copy,"
    " database and user",
    ngx_stream_hoop_pg_rule_operation
};


char *
ngx_stream_hoop_pg_rule(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_stream_hoop_pg_srv_conf_t  *pscf = conf;

    hoop_rule_t                     *rule;
    ngx_stream_hoop_pg_main_conf_t  *pmcf;

    if (pscf->rules == NGX_CONF_UNSET_PTR) {
        pscf->rules = NULL;
    }

    if (ngx_hoop_rule_conf(cf, cmd, &pscf->rules,
                           &ngx_stream_hoop_pg_rule_syntax)
        != NGX_CONF_OK)
    {
        return NGX_CONF_ERROR;
    }

    rule = (hoop_rule_t *) pscf->rules->elts + pscf->rules->nelts - 1;

    if (rule->action == HOOP_RULE_REVIEW) {
        pmcf = ngx_stream_conf_get_module_main_conf(cf,
                                                    ngx_stream_hoop_pg_module);
        pmcf->review_used = 1;
    }

    return NGX_CONF_OK;
}


/* sql.write: kind=write; sql.delete: command=delete */
static char *
ngx_stream_hoop_pg_rule_operation(ngx_conf_t *cf, hoop_rule_t *rule,
    ngx_str_t *arg)
{
    u_char     *p, name[8];
    ngx_str_t   what;

    if (arg->len < 5 || ngx_strncmp(arg->data, "sql.", 4) != 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid operation \"%V\" in the \"hoop_rule\""
                           " directive, expected sql.KIND (read, write, ddl,"
                           " dcl, admin, unknown) or sql.COMMAND", arg);
        return NGX_CONF_ERROR;
    }

    what.data = ngx_pnalloc(cf->pool, arg->len - 4);
    if (what.data == NULL) {
        return NGX_CONF_ERROR;
    }

    /* sql.create.table names the command "create table" */

    what.len = arg->len - 4;
    ngx_memcpy(what.data, arg->data + 4, what.len);

    for (p = what.data; p < what.data + what.len; p++) {
        if (*p == '.') {
            *p = ' ';
        }
    }

    if (what.len < sizeof(name)) {
        ngx_memcpy(name, what.data, what.len);
        name[what.len] = '\0';

        if (hoop_sql_kind_parse((char *) name) >= 0) {
            return ngx_hoop_rule_add_cond(cf, rule, "kind", &what);
        }
    }

    return ngx_hoop_rule_add_cond(cf, rule, "command", &what);
}


/*
 * Whether a statement that reads a masked column may write what it read:
 * lineage follows the values of an INSERT or an UPDATE (and of one in a
 * CTE) to what they write; a DELETE writes none; anything else that may
 * write (MERGE, a volatile function such as set_config(), DDL such as
 * CREATE TABLE AS, a PREPARE or EXPLAIN of a write) is taken to.
 */
static ngx_uint_t
ngx_stream_hoop_pg_policy_launders(ngx_stream_hoop_pg_sql_t *sql)
{
    ngx_uint_t  i;

    static const char  *followed[] = { "insert", "update", "delete", NULL };

    if (sql->lineage.stores) {
        return 1;
    }

    if (sql->cls.kind == HOOP_SQL_READ) {
        return 0;
    }

    if (sql->cls.kind != HOOP_SQL_WRITE) {
        return 1;
    }

    for (i = 0; followed[i] != NULL; i++) {
        if (ngx_strcmp(sql->cls.command, followed[i]) == 0) {
            return 0;
        }
    }

    return 1;
}


/*
 * The rule deciding a statement, and what it decides: the first matching
 * rule; none: hoop_default (deny when unset), except that a statement the
 * parser could not read is denied unless a rule allows it by name.
 */
void
ngx_stream_hoop_pg_policy_decide(ngx_stream_session_t *s,
    ngx_stream_hoop_pg_sql_t *sql)
{
    const hoop_rule_t               *rule;
    ngx_stream_hoop_pg_op_t          op;
    ngx_stream_hoop_pg_ctx_t        *ctx;
    ngx_stream_hoop_pg_srv_conf_t   *pscf;

    ctx = ngx_stream_get_module_ctx(s, ngx_stream_hoop_pg_module);
    pscf = ngx_stream_get_module_srv_conf(s, ngx_stream_hoop_pg_module);

    sql->decided = ctx->schemas_gen;

    /* PostgreSQL keeps the session read-only: nothing may lift it */

    if (ctx->read_only && sql->cls.lifts_read_only) {
        sql->rule = NULL;
        sql->action = HOOP_RULE_DENY;
        return;
    }

    /* a masked value copied elsewhere would be read there unmasked */

    if (sql->lineage.reads && ngx_stream_hoop_pg_policy_launders(sql)) {
        sql->rule = NULL;
        sql->launders = 1;
        sql->action = HOOP_RULE_DENY;
        return;
    }

    /*
     * COPY data is read by detectors only: a masked column copied out
     * would leave whole, or reshaped past them
     */

    if (sql->lineage.reads && ngx_strcmp(sql->cls.command, "copy") == 0) {
        sql->rule = NULL;
        sql->copies_masked = 1;
        sql->action = HOOP_RULE_DENY;
        return;
    }

    op.session = s;
    op.sql = sql;

    rule = pscf->rules
           ? hoop_rule_match(pscf->rules->elts, pscf->rules->nelts,
                             ctx->authenticated ? &ctx->identity : NULL,
                             ngx_stream_hoop_pg_rule_attr, &op)
           : NULL;

    sql->rule = rule;

    if (rule != NULL) {
        sql->action = rule->action;
        return;
    }

    /* the legacy fast path calls any function by number: never by default */

    if (ngx_strcmp(sql->cls.command, "fastpath") == 0) {
        sql->action = HOOP_RULE_DENY;
        return;
    }

    if (!ctx->policy) {
        sql->action = HOOP_RULE_ALLOW;
        return;
    }

    if (sql->cls.kind == HOOP_SQL_UNKNOWN) {
        sql->action = HOOP_RULE_DENY;
        return;
    }

    sql->action = (pscf->default_action == NGX_CONF_UNSET_UINT)
                  ? HOOP_RULE_DENY : pscf->default_action;
}


/*
 * Whether the session is to be read-only in PostgreSQL itself: always
 * with hoop_pg_read_only on; with auto, when no rule that may apply to
 * this caller allows (or reviews) anything but reads (by kind, or by
 * commands that only read: allow sql.select), and the default does not
 * either.  Decided at login, by identity, database and user.
 */
ngx_uint_t
ngx_stream_hoop_pg_policy_read_only(ngx_stream_session_t *s)
{
    ngx_stream_hoop_pg_op_t          op;
    ngx_stream_hoop_pg_ctx_t        *ctx;
    ngx_stream_hoop_pg_srv_conf_t   *pscf;
    static const char               *writes[] = {
        "write", "call", "ddl", "dcl", "admin", "unknown", NULL
    };

    ctx = ngx_stream_get_module_ctx(s, ngx_stream_hoop_pg_module);
    pscf = ngx_stream_get_module_srv_conf(s, ngx_stream_hoop_pg_module);

    if (pscf->read_only != NGX_STREAM_HOOP_PG_READ_ONLY_AUTO) {
        return pscf->read_only == NGX_STREAM_HOOP_PG_READ_ONLY_ON;
    }

    if (!ctx->policy || pscf->default_action == HOOP_RULE_ALLOW) {
        return 0;
    }

    if (pscf->rules == NULL) {
        return 1;                   /* the default denies everything */
    }

    op.session = s;
    op.sql = NULL;                  /* no statement yet */

    return hoop_rule_excludes(pscf->rules->elts, pscf->rules->nelts,
                              ctx->authenticated ? &ctx->identity : NULL,
                              ngx_stream_hoop_pg_rule_attr, &op, "kind",
                              writes);
}


/*
 * An allow by command vouches for what those commands do by themselves,
 * and one by table for what is done to those tables, not for what the
 * statement does beyond: allow sql.select is no licence for SELECT
 * nextval(), pg_advisory_lock(), a VOLATILE function that writes, SELECT
 * INTO or FOR UPDATE; allow table=orders none for SELECT f() FROM
 * orders.  That takes a rule that names the kind or the functions.
 */
static ngx_uint_t
ngx_stream_hoop_pg_rule_vouches_calls(const hoop_rule_t *rule)
{
    size_t  i;

    for (i = 0; i < rule->nconds; i++) {
        if (ngx_strcmp(rule->conds[i].key, "kind") == 0
            || ngx_strcmp(rule->conds[i].key, "function") == 0)
        {
            return 1;
        }
    }

    return 0;
}


static int
ngx_stream_hoop_pg_rule_attr(void *data, const hoop_rule_t *rule,
    const hoop_rule_cond_t *c)
{
    ngx_stream_hoop_pg_op_t *op = data;

    size_t                     i;
    ngx_str_t                 *v;
    const char                *names, *kind, *schemas;
    hoop_sql_stmt_t           *cls;
    ngx_stream_hoop_pg_ctx_t  *ctx;

    ctx = ngx_stream_get_module_ctx(op->session, ngx_stream_hoop_pg_module);

    if (ngx_strcmp(c->key, "database") == 0
        || ngx_strcmp(c->key, "user") == 0)
    {
        v = (c->key[0] == 'd') ? &ctx->client_database : &ctx->client_user;

        for (i = 0; i < c->nvalues; i++) {
            if (hoop_rule_glob(c->values[i], (char *) v->data, v->len)) {
                return 1;
            }
        }

        return 0;
    }

    if (op->sql == NULL) {

        /*
         * an allow by commands that by themselves only read allows
         * nothing more (see ngx_stream_hoop_pg_rule_vouches_calls()):
         * no write, whatever the statement
         */

        if (rule->action == HOOP_RULE_ALLOW
            && ngx_strcmp(c->key, "command") == 0
            && !ngx_stream_hoop_pg_rule_vouches_calls(rule))
        {
            for (i = 0; i < c->nvalues; i++) {
                if (!hoop_sql_command_reads(c->values[i])) {
                    return -1;
                }
            }

            return 0;
        }

        return -1;                  /* of a statement, none yet: may hold */
    }

    cls = &op->sql->cls;

    /*
     * lists: any statement in it, nested ones included, any table, any
     * function; but what an allow rule names must be all there is
     * (allow sql.select is no licence for a DELETE in a CTE)
     */

    names = (ngx_strcmp(c->key, "command") == 0) ? cls->commands
            : (ngx_strcmp(c->key, "table") == 0) ? cls->tables
            : (ngx_strcmp(c->key, "function") == 0) ? cls->functions
            : NULL;

    if (names != NULL) {

        /*
         * a bare table name is in whichever schema of the search path
         * has it: any of those the session ever had, for what denies;
         * all of them, for what allows.  A bare function name: any.
         */

        schemas = (names == cls->tables && !ctx->schemas_any)
                  ? (char *) ctx->schemas.data : NULL;

        if (rule->action == HOOP_RULE_ALLOW) {
            if (((names == cls->commands && cls->kind > cls->commands_kind)
                 || (names == cls->tables && cls->calls_beyond))
                && !ngx_stream_hoop_pg_rule_vouches_calls(rule))
            {
                return 0;
            }

            return hoop_sql_names_all(names, c->values, c->nvalues, schemas);
        }

        for (i = 0; i < c->nvalues; i++) {
            if (hoop_sql_names_match(names, c->values[i], schemas)) {
                return 1;
            }
        }

        return 0;
    }

    for (i = 0; i < c->nvalues; i++) {

        if (ngx_strcmp(c->key, "kind") == 0) {
            kind = hoop_sql_kind_name(cls->kind);

            if (hoop_rule_glob(c->values[i], kind, ngx_strlen(kind))) {
                return 1;
            }

        } else if (ngx_strcmp(c->key, "where") == 0) {
            if ((ngx_strcmp(c->values[i], "none") == 0) == cls->no_where) {
                return 1;
            }

        } else if (ngx_strcmp(c->key, "copy") == 0) {
            if ((ngx_strcmp(c->values[i], "program") == 0
                 && cls->copy_program)
                || (ngx_strcmp(c->values[i], "file") == 0 && cls->copy_file))
            {
                return 1;
            }

        } else {
            return -1;
        }
    }

    return 0;
}
