/*
 * Copyright (C) nginx-hoop authors
 *
 * hoop_rule / hoop_default for HTTP: the shared rule engine, with the
 * request's method, path and headers as the operation's attributes.  A
 * denial is a 403 with a JSON body naming the rule and its reason, and
 * goes into the audit event.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "hoop_json.h"
#include "hoop_rule.h"
#include "ngx_hoop_conf_file.h"
#include "ngx_hoop_rule_conf.h"
#include "ngx_http_hoop.h"


static ngx_int_t ngx_http_hoop_rules_handler(ngx_http_request_t *r);
static int ngx_http_hoop_rules_attr(void *op, const hoop_rule_t *rule,
    const hoop_rule_cond_t *c);
static ngx_int_t ngx_http_hoop_rules_deny(ngx_http_request_t *r,
    const char *rule, const char *reason);


static const char  *ngx_http_hoop_rule_keys[] = {
    "groups", "sub", "client", "method", "path", "header", NULL
};


static const ngx_hoop_rule_syntax_t  ngx_http_hoop_rule_syntax = {
    ngx_http_hoop_rule_keys,
    "groups, sub, client, method, path and header",
    NULL
};


ngx_int_t
ngx_http_hoop_rules_init(ngx_conf_t *cf)
{
    return ngx_http_hoop_add_handler(cf, NGX_HTTP_ACCESS_PHASE,
                                     ngx_http_hoop_rules_handler);
}


/* hoop_rule allow|deny|review [name=N] [reason=TEXT] key=value[,...] ... */
char *
ngx_http_hoop_rule(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_hoop_loc_conf_t  *hlcf = conf;

    hoop_rule_t                *rule;
    ngx_http_hoop_main_conf_t  *hmcf;

    if (hlcf->rules == NGX_CONF_UNSET_PTR) {
        hlcf->rules = NULL;
    }

    if (ngx_hoop_rule_conf(cf, cmd, &hlcf->rules, &ngx_http_hoop_rule_syntax)
        != NGX_CONF_OK)
    {
        return NGX_CONF_ERROR;
    }

    rule = (hoop_rule_t *) hlcf->rules->elts + hlcf->rules->nelts - 1;

    if (rule->action == HOOP_RULE_REVIEW) {
        hmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_hoop_module);
        hmcf->review_used = 1;
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_hoop_rules_handler(ngx_http_request_t *r)
{
    ngx_int_t                  rc;
    ngx_uint_t                 action;
    ngx_http_hoop_ctx_t       *ctx;
    const hoop_rule_t         *rule;
    ngx_http_hoop_loc_conf_t  *hlcf;

    hlcf = ngx_http_get_module_loc_conf(r, ngx_http_hoop_module);

    if (hlcf->rules == NULL && hlcf->default_action == NGX_CONF_UNSET_UINT)
    {
        return NGX_DECLINED;
    }

    ctx = ngx_http_hoop_get_ctx(r);

    /*
     * back from a review: its verdict stands, in its location only (an
     * internal redirect elsewhere meets that location's rules)
     */

    if (ctx != NULL && ctx->review != NULL && ctx->review_conf == hlcf) {
        return ngx_http_hoop_review_hold(r, ctx, NULL);
    }

    rule = hlcf->rules
           ? hoop_rule_match(hlcf->rules->elts, hlcf->rules->nelts,
                             ctx && ctx->authenticated ? &ctx->identity
                                                       : NULL,
                             ngx_http_hoop_rules_attr, r)
           : NULL;

    action = rule ? (ngx_uint_t) rule->action
                  : hlcf->default_action == NGX_CONF_UNSET_UINT
                    ? HOOP_RULE_DENY : hlcf->default_action;

    ctx = ngx_http_hoop_ctx_create(r);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->rule = rule ? rule->name : "default";

    if (action == HOOP_RULE_ALLOW) {
        return NGX_DECLINED;
    }

    if (action == HOOP_RULE_REVIEW) {
        if (rule->grant_ms && ctx->authenticated) {
            rc = ngx_http_hoop_review_grant(r, ctx, rule);

            if (rc == NGX_OK) {
                return NGX_DECLINED;    /* let through by a grant */
            }

            if (rc != NGX_DECLINED) {
                return rc;              /* still asking */
            }
        }

        return ngx_http_hoop_review_hold(r, ctx, rule);
    }

    ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                  "hoop_rule: request denied by rule \"%s\"", ctx->rule);

    return ngx_http_hoop_rules_deny(r, ctx->rule,
                                    rule && rule->reason ? rule->reason
                                    : "no rule allows this request");
}


static int
ngx_http_hoop_rules_attr(void *op, const hoop_rule_t *rule,
    const hoop_rule_cond_t *c)
{
    ngx_http_request_t *r = op;

    size_t      i;
    ngx_str_t   name;

    for (i = 0; i < c->nvalues; i++) {

        if (ngx_strcmp(c->key, "method") == 0) {
            if (hoop_rule_glob(c->values[i], (char *) r->method_name.data,
                               r->method_name.len))
            {
                return 1;
            }

        } else if (ngx_strcmp(c->key, "path") == 0) {
            if (hoop_rule_glob(c->values[i], (char *) r->uri.data,
                               r->uri.len))
            {
                return 1;
            }

        } else if (ngx_strcmp(c->key, "header") == 0) {

            /* header=X-Name: the request carries that header */

            name.data = (u_char *) c->values[i];
            name.len = ngx_strlen(c->values[i]);

            if (ngx_http_hoop_find_header(r, &name, 1) != NULL) {
                return 1;
            }

        } else {
            return -1;
        }
    }

    return 0;
}


/* 403 {"error":"denied","rule":..,"reason":..} */
static ngx_int_t
ngx_http_hoop_rules_deny(ngx_http_request_t *r, const char *rule,
    const char *reason)
{
    size_t        len, cap;
    ngx_buf_t    *b;
    hoop_json_t   j;

    cap = 6 * (ngx_strlen(rule) + ngx_strlen(reason)) + 64;

    b = ngx_create_temp_buf(r->pool, cap);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    hoop_json_init(&j, (char *) b->pos, cap);
    hoop_json_object(&j, NULL);
    hoop_json_string(&j, "error", "denied", 6);
    hoop_json_string(&j, "rule", rule, ngx_strlen(rule));
    hoop_json_string(&j, "reason", reason, ngx_strlen(reason));
    hoop_json_end(&j);
    len = hoop_json_finish(&j);

    b->pos[len++] = '\n';
    b->last = b->pos + len;

    return ngx_http_hoop_send_json(r, NGX_HTTP_FORBIDDEN, b);
}
