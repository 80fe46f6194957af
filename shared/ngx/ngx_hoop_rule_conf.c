/*
 * Copyright (C) nginx-hoop authors
 *
 * The hoop_rule directive, parsed the same way in http{} and stream{}:
 * an action, an optional operation the protocol defines ("sql.write"),
 * the rule's name and reason, review parameters, and conditions on the
 * keys the protocol knows.
 */

#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_hoop_conf_file.h"
#include "ngx_hoop_rule_conf.h"


static char *ngx_hoop_rule_cond(ngx_conf_t *cf, ngx_command_t *cmd,
    hoop_rule_t *rule, ngx_str_t *arg, const ngx_hoop_rule_syntax_t *syntax);
static ngx_int_t ngx_hoop_rule_review_param(ngx_conf_t *cf,
    hoop_rule_t *rule, ngx_str_t *key, ngx_str_t *value);


char *
ngx_hoop_rule_conf(ngx_conf_t *cf, ngx_command_t *cmd, ngx_array_t **rules,
    const ngx_hoop_rule_syntax_t *syntax)
{
    u_char       *p;
    ngx_str_t    *value;
    ngx_uint_t    i;
    hoop_rule_t  *rule;

    value = cf->args->elts;

    if (*rules == NULL) {
        *rules = ngx_array_create(cf->pool, 4, sizeof(hoop_rule_t));
        if (*rules == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    rule = ngx_array_push(*rules);
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
        rule->timeout_ms = NGX_HOOP_REVIEW_TIMEOUT;

    } else {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid action \"%V\" in the \"%V\" directive,"
                           " it must be \"allow\", \"deny\" or \"review\"",
                           &value[1], &cmd->name);
        return NGX_CONF_ERROR;
    }

    /* room for every argument as a condition, and an operation's two */

    rule->conds = ngx_pcalloc(cf->pool,
                              (cf->args->nelts + 2) * sizeof(hoop_rule_cond_t));
    if (rule->conds == NULL) {
        return NGX_CONF_ERROR;
    }

    i = 2;

    if (i < cf->args->nelts && syntax->operation != NULL
        && ngx_strlchr(value[i].data, value[i].data + value[i].len, '=')
           == NULL)
    {
        if (syntax->operation(cf, rule, &value[i]) != NGX_CONF_OK) {
            return NGX_CONF_ERROR;
        }

        i++;
    }

    for ( /* void */ ; i < cf->args->nelts; i++) {
        if (ngx_hoop_rule_cond(cf, cmd, rule, &value[i], syntax)
            != NGX_CONF_OK)
        {
            return NGX_CONF_ERROR;
        }
    }

    if (rule->action == HOOP_RULE_REVIEW && rule->approvers == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "a \"review\" rule needs approvers=group[,...]"
                           " in the \"%V\" directive", &cmd->name);
        return NGX_CONF_ERROR;
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


static char *
ngx_hoop_rule_cond(ngx_conf_t *cf, ngx_command_t *cmd, hoop_rule_t *rule,
    ngx_str_t *arg, const ngx_hoop_rule_syntax_t *syntax)
{
    u_char             *eq, *p, *last;
    ngx_int_t           rc;
    ngx_str_t           key, vals, one;
    ngx_uint_t          k, n;
    const char        **v;
    hoop_rule_cond_t   *cond;

    eq = ngx_strlchr(arg->data, arg->data + arg->len, '=');

    if (eq == NULL || eq == arg->data || eq + 1 == arg->data + arg->len) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid condition \"%V\" in the \"%V\""
                           " directive, expected key=value", arg, &cmd->name);
        return NGX_CONF_ERROR;
    }

    key.data = arg->data;
    key.len = eq - arg->data;
    vals.data = eq + 1;
    vals.len = arg->data + arg->len - vals.data;

    if (key.len == 4 && ngx_strncmp(key.data, "name", 4) == 0) {
        rule->name = ngx_hoop_pstrz(cf->pool, &vals);
        return rule->name ? NGX_CONF_OK : NGX_CONF_ERROR;
    }

    if (key.len == 6 && ngx_strncmp(key.data, "reason", 6) == 0) {
        rule->reason = ngx_hoop_pstrz(cf->pool, &vals);
        return rule->reason ? NGX_CONF_OK : NGX_CONF_ERROR;
    }

    if (rule->action == HOOP_RULE_REVIEW) {
        rc = ngx_hoop_rule_review_param(cf, rule, &key, &vals);

        if (rc == NGX_ERROR) {
            return NGX_CONF_ERROR;
        }

        if (rc == NGX_OK) {
            return NGX_CONF_OK;
        }
    }

    for (k = 0; syntax->keys[k]; k++) {
        if (ngx_strlen(syntax->keys[k]) == key.len
            && ngx_strncmp(syntax->keys[k], key.data, key.len) == 0)
        {
            break;
        }
    }

    if (syntax->keys[k] == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "unknown condition \"%V\" in the \"%V\""
                           " directive: %s are", &key, &cmd->name,
                           syntax->keys_text);
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
    cond->key = syntax->keys[k];
    cond->values = v;

    p = vals.data;
    last = vals.data + vals.len;

    while (p <= last) {
        eq = ngx_strlchr(p, last, ',');

        if (eq == NULL) {
            eq = last;
        }

        one.data = p;
        one.len = eq - p;

        v[cond->nvalues] = ngx_hoop_pstrz(cf->pool, &one);
        if (v[cond->nvalues] == NULL) {
            return NGX_CONF_ERROR;
        }

        cond->nvalues++;
        p = eq + 1;
    }

    return NGX_CONF_OK;
}


char *
ngx_hoop_rule_add_cond(ngx_conf_t *cf, hoop_rule_t *rule, const char *key,
    ngx_str_t *value)
{
    const char        **v;
    hoop_rule_cond_t   *cond;

    v = ngx_pcalloc(cf->pool, sizeof(char *));
    if (v == NULL) {
        return NGX_CONF_ERROR;
    }

    v[0] = ngx_hoop_pstrz(cf->pool, value);
    if (v[0] == NULL) {
        return NGX_CONF_ERROR;
    }

    cond = &rule->conds[rule->nconds++];
    cond->key = key;
    cond->values = v;
    cond->nvalues = 1;

    return NGX_CONF_OK;
}


/*
 * approvers=sre,dba (groups; any member but the requester may decide),
 * count=N (approvals needed, default 1), timeout=15m (then it expires),
 * grant=30m (approval lets the requester through this rule that long).
 * NGX_OK: taken; NGX_ERROR: bad; NGX_DECLINED: not a review parameter.
 */
static ngx_int_t
ngx_hoop_rule_review_param(ngx_conf_t *cf, hoop_rule_t *rule,
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
