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
#include "ngx_http_hoop.h"


static ngx_int_t ngx_http_hoop_rules_handler(ngx_http_request_t *r);
static int ngx_http_hoop_rules_attr(void *op, const char *key,
    const char *pattern);
static ngx_int_t ngx_http_hoop_rules_deny(ngx_http_request_t *r,
    const char *rule, const char *reason);


static ngx_int_t ngx_http_hoop_rule_review_param(ngx_conf_t *cf,
    hoop_rule_t *rule, ngx_str_t *key, ngx_str_t *value);


static const char  *ngx_http_hoop_rule_keys[] = {
    "groups", "sub", "client", "method", "path", "header", NULL
};


ngx_int_t
ngx_http_hoop_rules_init(ngx_conf_t *cf)
{
    return ngx_http_hoop_add_handler(cf, NGX_HTTP_ACCESS_PHASE,
                                     ngx_http_hoop_rules_handler);
}


/* hoop_rule allow|deny [name=N] [reason=TEXT] key=value[,value...] ... */
char *
ngx_http_hoop_rule(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_hoop_loc_conf_t  *hlcf = conf;

    u_char                     *eq, *p, *last;
    ngx_int_t                   rc;
    ngx_str_t                  *value, key, vals;
    ngx_uint_t                  i, k, n;
    hoop_rule_t                *rule;
    const char                **v;
    hoop_rule_cond_t           *cond;
    ngx_http_hoop_main_conf_t  *hmcf;

    value = cf->args->elts;

    if (hlcf->rules == NULL || hlcf->rules == NGX_CONF_UNSET_PTR) {
        hlcf->rules = ngx_array_create(cf->pool, 4, sizeof(hoop_rule_t));
        if (hlcf->rules == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    rule = ngx_array_push(hlcf->rules);
    if (rule == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(rule, sizeof(hoop_rule_t));

    if (ngx_strcmp(value[1].data, "allow") == 0) {
        rule->action = HOOP_RULE_ALLOW;

    } else if (ngx_strcmp(value[1].data, "deny") == 0) {
        rule->action = HOOP_RULE_DENY;

    } else if (ngx_strcmp(value[1].data, "review") == 0) {
        rule->action = HOOP_RULE_REVIEW;
        rule->required = 1;
        rule->timeout_ms = NGX_HTTP_HOOP_REVIEW_TIMEOUT;

    } else {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid action \"%V\" in the \"%V\" directive,"
                           " it must be \"allow\", \"deny\" or \"review\"",
                           &value[1], &cmd->name);
        return NGX_CONF_ERROR;
    }

    rule->conds = ngx_pcalloc(cf->pool,
                              cf->args->nelts * sizeof(hoop_rule_cond_t));
    if (rule->conds == NULL) {
        return NGX_CONF_ERROR;
    }

    for (i = 2; i < cf->args->nelts; i++) {
        eq = ngx_strlchr(value[i].data, value[i].data + value[i].len, '=');

        if (eq == NULL || eq == value[i].data
            || eq + 1 == value[i].data + value[i].len)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid condition \"%V\" in the \"%V\""
                               " directive, expected key=value",
                               &value[i], &cmd->name);
            return NGX_CONF_ERROR;
        }

        key.data = value[i].data;
        key.len = eq - value[i].data;
        vals.data = eq + 1;
        vals.len = value[i].data + value[i].len - vals.data;

        if (key.len == 4 && ngx_strncmp(key.data, "name", 4) == 0) {
            rule->name = ngx_hoop_pstrz(cf->pool, &vals);
            continue;
        }

        if (key.len == 6 && ngx_strncmp(key.data, "reason", 6) == 0) {
            rule->reason = ngx_hoop_pstrz(cf->pool, &vals);
            continue;
        }

        if (rule->action == HOOP_RULE_REVIEW) {
            rc = ngx_http_hoop_rule_review_param(cf, rule, &key, &vals);

            if (rc == NGX_ERROR) {
                return NGX_CONF_ERROR;
            }

            if (rc == NGX_OK) {
                continue;
            }
        }

        for (k = 0; ngx_http_hoop_rule_keys[k]; k++) {
            if (ngx_strlen(ngx_http_hoop_rule_keys[k]) == key.len
                && ngx_strncmp(ngx_http_hoop_rule_keys[k], key.data,
                               key.len) == 0)
            {
                break;
            }
        }

        if (ngx_http_hoop_rule_keys[k] == NULL) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "unknown condition \"%V\" in the \"%V\""
                               " directive: groups, sub, client, method,"
                               " path and header are", &key, &cmd->name);
            return NGX_CONF_ERROR;
        }

        /* comma-separated values: any of them may match */

        n = 1;

        for (p = vals.data; p < vals.data + vals.len; p++) {
            n += (*p == ',');
        }

        v = ngx_pcalloc(cf->pool, n * sizeof(char *));
        if (v == NULL) {
            return NGX_CONF_ERROR;
        }

        cond = &rule->conds[rule->nconds++];
        cond->key = ngx_http_hoop_rule_keys[k];
        cond->values = v;

        p = vals.data;
        last = vals.data + vals.len;

        while (p <= last) {
            eq = ngx_strlchr(p, last, ',');

            if (eq == NULL) {
                eq = last;
            }

            key.data = p;
            key.len = eq - p;

            v[cond->nvalues] = ngx_hoop_pstrz(cf->pool, &key);
            if (v[cond->nvalues] == NULL) {
                return NGX_CONF_ERROR;
            }

            cond->nvalues++;
            p = eq + 1;
        }
    }

    if (rule->action == HOOP_RULE_REVIEW) {
        if (rule->approvers == NULL) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "a \"review\" rule needs approvers=group[,...]"
                               " in the \"%V\" directive", &cmd->name);
            return NGX_CONF_ERROR;
        }

        hmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_hoop_module);
        hmcf->review_used = 1;
    }

    if (rule->name == NULL) {
        p = ngx_pnalloc(cf->pool, sizeof("line ") + NGX_INT_T_LEN);
        if (p == NULL) {
            return NGX_CONF_ERROR;
        }

        ngx_sprintf(p, "line %ui%Z", cf->conf_file->line);
        rule->name = (char *) p;
    }

    return NGX_CONF_OK;
}


/*
 * approvers=sre,dba (groups; any member but the requester may decide),
 * count=N (approvals needed, default 1), timeout=15m (then it expires),
 * grant=30m (approval lets the requester through this rule that long).
 * NGX_OK: taken; NGX_ERROR: bad; NGX_DECLINED: not a review parameter.
 */
static ngx_int_t
ngx_http_hoop_rule_review_param(ngx_conf_t *cf, hoop_rule_t *rule,
    ngx_str_t *key, ngx_str_t *value)
{
    ngx_int_t       n;
    ngx_msec_t      ms;
    unsigned long  *field;

    if (key->len == 9 && ngx_strncmp(key->data, "approvers", 9) == 0) {
        rule->approvers = ngx_hoop_pstrz(cf->pool, value);
        return rule->approvers ? NGX_OK : NGX_ERROR;
    }

    if (key->len == 5 && ngx_strncmp(key->data, "count", 5) == 0) {
        n = ngx_atoi(value->data, value->len);

        if (n < 1 || n > 10) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid count=\"%V\" in the \"hoop_rule\""
                               " directive: 1 to 10 approvals", value);
            return NGX_ERROR;
        }

        rule->required = (unsigned) n;
        return NGX_OK;
    }

    if (key->len == 5 && ngx_strncmp(key->data, "grant", 5) == 0) {
        field = &rule->grant_ms;

    } else if (key->len == 7 && ngx_strncmp(key->data, "timeout", 7) == 0) {
        field = &rule->timeout_ms;

    } else {
        return NGX_DECLINED;
    }

    /* grant= and timeout=: a time of at least a second */

    ms = ngx_parse_time(value, 0);

    if (ms == (ngx_msec_t) NGX_ERROR || ms < 1000) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid %V=\"%V\" in the \"hoop_rule\""
                           " directive: at least 1s", key, value);
        return NGX_ERROR;
    }

    *field = ms;

    return NGX_OK;
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
ngx_http_hoop_rules_attr(void *op, const char *key, const char *pattern)
{
    ngx_http_request_t *r = op;

    ngx_str_t  name;

    if (ngx_strcmp(key, "method") == 0) {
        return hoop_rule_glob(pattern, (char *) r->method_name.data,
                              r->method_name.len);
    }

    if (ngx_strcmp(key, "path") == 0) {
        return hoop_rule_glob(pattern, (char *) r->uri.data, r->uri.len);
    }

    if (ngx_strcmp(key, "header") != 0) {
        return -1;
    }

    /* header=X-Name: the request carries that header */

    name.data = (u_char *) pattern;
    name.len = ngx_strlen(pattern);

    return ngx_http_hoop_find_header(r, &name, 1) != NULL;
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
