/*
 * Copyright (C) nginx-hoop authors
 *
 * hoop_rule / hoop_default for HTTP: the shared rule engine, with the
 * request's method, path and headers as the operation's attributes.  A
 * denial is a 403 with a JSON body naming the rule and its reason, and
 * goes into the audit event.
 *
 * A request is decided as every operation the upstream may run it as:
 * its method (HEAD also as GET, whose handler answers it), and each
 * method an override asks for (X-HTTP-Method-Override, X-HTTP-Method,
 * X-Method-Override, a _method argument), which frameworks honour; the
 * strictest verdict wins.  Paths match in either
 * case where the upstream does (hoop_rule_path_case insensitive).
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "hoop_json.h"
#include "hoop_rule.h"
#include "ngx_hoop_conf_file.h"
#include "ngx_hoop_rule_conf.h"
#include "ngx_http_hoop.h"


#define NGX_HTTP_HOOP_OVERRIDES_MAX  8


/* the operation the rules look at: the request, as one method */
typedef struct {
    ngx_http_request_t  *request;
    ngx_str_t            method;
    ngx_uint_t           fold;          /* paths in either case */
} ngx_http_hoop_rules_op_t;


static ngx_int_t ngx_http_hoop_rules_handler(ngx_http_request_t *r);
static const hoop_rule_t *ngx_http_hoop_rules_decide(ngx_http_request_t *r,
    ngx_http_hoop_loc_conf_t *hlcf, ngx_http_hoop_ctx_t *ctx,
    ngx_uint_t *action, ngx_str_t *method);
static ngx_uint_t ngx_http_hoop_rules_overrides(ngx_http_request_t *r,
    ngx_str_t *methods, ngx_uint_t max);
static ngx_uint_t ngx_http_hoop_rules_override_args(ngx_http_request_t *r,
    ngx_str_t *methods, ngx_uint_t n, ngx_uint_t max);
static ngx_uint_t ngx_http_hoop_rules_strictness(ngx_uint_t action);
static int ngx_http_hoop_rules_header(ngx_http_request_t *r,
    const char *cond, int all);
static int ngx_http_hoop_rules_attr(void *data, const hoop_rule_t *rule,
    const hoop_rule_cond_t *c);
static ngx_int_t ngx_http_hoop_rules_deny(ngx_http_request_t *r,
    const char *rule, const char *reason);


static const char  *ngx_http_hoop_rule_keys[] = {
    "groups", "sub", "client", "method", "path", "header", "arg", NULL
};


static const ngx_hoop_rule_syntax_t  ngx_http_hoop_rule_syntax = {
    ngx_http_hoop_rule_keys,
    "groups, sub, client, method, path, header and arg",
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

    ctx = ngx_http_hoop_ctx_create(r);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rule = ngx_http_hoop_rules_decide(r, hlcf, ctx, &action, &ctx->method);

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
                  "hoop_rule: request denied by rule \"%s\" (as %V)",
                  ctx->rule, &ctx->method);

    return ngx_http_hoop_rules_deny(r, ctx->rule,
                                    rule == NULL
                                    ? "no rule allows this request"
                                    : rule->reason ? rule->reason
                                    : "denied by this rule");
}


/*
 * The strictest verdict over the request's method and every method an
 * override asks for; *method is the one it was decided on.
 */
static const hoop_rule_t *
ngx_http_hoop_rules_decide(ngx_http_request_t *r,
    ngx_http_hoop_loc_conf_t *hlcf, ngx_http_hoop_ctx_t *ctx,
    ngx_uint_t *action, ngx_str_t *method)
{
    ngx_uint_t                 i, n, verdict;
    ngx_str_t                  methods[NGX_HTTP_HOOP_OVERRIDES_MAX + 2];
    const hoop_rule_t         *rule, *decided;
    ngx_http_hoop_rules_op_t   op;

    methods[0] = r->method_name;
    n = 1;

    /* HEAD runs what GET runs, in every framework that answers it */

    if (r->method == NGX_HTTP_HEAD) {
        ngx_str_set(&methods[n], "GET");
        n++;
    }

    if (hlcf->method_override) {
        n += ngx_http_hoop_rules_overrides(r, &methods[1],
                                           NGX_HTTP_HOOP_OVERRIDES_MAX);
    }

    op.request = r;
    op.fold = hlcf->path_case;

    decided = NULL;
    *action = HOOP_RULE_ALLOW;

    for (i = 0; i < n; i++) {
        op.method = methods[i];

        rule = hlcf->rules
               ? hoop_rule_match(hlcf->rules->elts, hlcf->rules->nelts,
                                 ctx->authenticated ? &ctx->identity : NULL,
                                 ngx_http_hoop_rules_attr, &op)
               : NULL;

        verdict = rule ? (ngx_uint_t) rule->action
                       : hlcf->default_action == NGX_CONF_UNSET_UINT
                         ? HOOP_RULE_DENY : hlcf->default_action;

        if (i == 0 || ngx_http_hoop_rules_strictness(verdict)
                      > ngx_http_hoop_rules_strictness(*action))
        {
            decided = rule;
            *action = verdict;
            *method = methods[i];
        }
    }

    return decided;
}


/* deny over review over allow */
static ngx_uint_t
ngx_http_hoop_rules_strictness(ngx_uint_t action)
{
    return action == HOOP_RULE_DENY ? 2 : action == HOOP_RULE_REVIEW ? 1 : 0;
}


/*
 * The methods override headers ask for, upper-cased as frameworks read
 * them, every one of them (frameworks differ in which they take), then
 * those of _method arguments; at most max.
 */
static ngx_uint_t
ngx_http_hoop_rules_overrides(ngx_http_request_t *r, ngx_str_t *methods,
    ngx_uint_t max)
{
    u_char           *p;
    ngx_uint_t        i, k, n;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    static ngx_str_t  names[] = {
        ngx_string("X-HTTP-Method-Override"),
        ngx_string("X-HTTP-Method"),
        ngx_string("X-Method-Override")
    };

    n = 0;
    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        for (k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
            if (h[i].key.len == names[k].len
                && ngx_strncasecmp(h[i].key.data, names[k].data,
                                   names[k].len) == 0
                && n < max)
            {
                methods[n] = h[i].value;
                n++;
            }
        }
    }

    n = ngx_http_hoop_rules_override_args(r, methods, n, max);

    /* copies: what goes upstream stays as it was sent */

    for (i = 0; i < n; i++) {
        p = ngx_pnalloc(r->pool, methods[i].len);
        if (p == NULL) {
            return i;
        }

        for (k = 0; k < methods[i].len; k++) {
            p[k] = ngx_toupper(methods[i].data[k]);
        }

        methods[i].data = p;
    }

    return n;
}


/* each "_method=" argument, percent-decoded */
static ngx_uint_t
ngx_http_hoop_rules_override_args(ngx_http_request_t *r, ngx_str_t *methods,
    ngx_uint_t n, ngx_uint_t max)
{
    u_char  *p, *end, *v, *dst, *src;
    size_t   len;

    p = r->args.data;
    end = p + r->args.len;

    while (p < end && n < max) {
        v = ngx_strlchr(p, end, '&');
        v = (v == NULL) ? end : v;

        if (v - p > 8 && ngx_strncmp(p, "_method=", 8) == 0) {
            len = v - p - 8;

            dst = ngx_pnalloc(r->pool, len);
            if (dst == NULL) {
                return n;
            }

            methods[n].data = dst;
            src = p + 8;
            ngx_unescape_uri(&dst, &src, len, NGX_UNESCAPE_URI);
            methods[n].len = dst - methods[n].data;
            n++;
        }

        p = v + 1;
    }

    return n;
}


static int
ngx_http_hoop_rules_attr(void *data, const hoop_rule_t *rule,
    const hoop_rule_cond_t *c)
{
    ngx_http_hoop_rules_op_t *op = data;

    size_t               i;
    ngx_http_request_t  *r;

    r = op->request;

    for (i = 0; i < c->nvalues; i++) {

        if (ngx_strcmp(c->key, "method") == 0) {
            if (hoop_rule_glob(c->values[i], (char *) op->method.data,
                               op->method.len))
            {
                return 1;
            }

        } else if (ngx_strcmp(c->key, "path") == 0) {
            if (hoop_rule_glob_fold(c->values[i], (char *) r->uri.data,
                                    r->uri.len, (int) op->fold))
            {
                return 1;
            }

        } else if (ngx_strcmp(c->key, "header") == 0) {
            if (ngx_http_hoop_rules_header(r, c->values[i],
                                           rule->action == HOOP_RULE_ALLOW))
            {
                return 1;
            }

        } else if (ngx_strcmp(c->key, "arg") == 0) {

            /*
             * a repeated argument: one match holds for a deny or a review,
             * an allow needs every one to (servers differ in which they
             * take)
             */

            if (hoop_rule_args_match(c->values[i], (char *) r->args.data,
                                     r->args.len,
                                     rule->action == HOOP_RULE_ALLOW))
            {
                return 1;
            }

        } else {
            return -1;
        }
    }

    return 0;
}


/*
 * header=Name: the request carries the header; header=Name:glob: its
 * value matches, each occurrence for an allow (all), one for the rest.
 */
static int
ngx_http_hoop_rules_header(ngx_http_request_t *r, const char *cond, int all)
{
    size_t            len;
    ngx_uint_t        i, seen;
    const char       *glob;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    glob = strchr(cond, ':');
    len = glob ? (size_t) (glob - cond) : ngx_strlen(cond);
    glob = glob ? glob + 1 : NULL;

    seen = 0;
    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len != len
            || ngx_strncasecmp(h[i].key.data, (u_char *) cond, len) != 0)
        {
            continue;
        }

        seen = 1;

        if (glob == NULL
            || hoop_rule_glob(glob, (char *) h[i].value.data,
                              h[i].value.len))
        {
            if (!all) {
                return 1;
            }

        } else if (all) {
            return 0;
        }
    }

    return all && seen;
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
