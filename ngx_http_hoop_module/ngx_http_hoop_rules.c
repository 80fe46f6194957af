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
    ngx_str_t            plain;         /* the path without ";params" */
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
static ngx_uint_t ngx_http_hoop_rules_form(ngx_http_request_t *r);
static ngx_int_t ngx_http_hoop_rules_plain_path(ngx_http_request_t *r,
    ngx_str_t *plain);
static int ngx_http_hoop_rules_path(ngx_http_hoop_rules_op_t *op,
    const char *glob, int all);
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
    ngx_uint_t                 i, k, n, verdict;
    ngx_str_t                  methods[NGX_HTTP_HOOP_OVERRIDES_MAX + 5];
    const hoop_rule_t         *rule, *decided;
    ngx_http_hoop_rules_op_t   op;

    static ngx_str_t  form_methods[] = {
        ngx_string("PUT"), ngx_string("PATCH"), ngx_string("DELETE")
    };

    methods[0] = r->method_name;
    n = 1;

    /* HEAD runs what GET runs, in every framework that answers it */

    if (r->method == NGX_HTTP_HEAD) {
        ngx_str_set(&methods[n], "GET");
        n++;
    }

    if (hlcf->method_override) {
        k = ngx_http_hoop_rules_overrides(r, &methods[n],
                                          NGX_HTTP_HOOP_OVERRIDES_MAX);

        if (k > NGX_HTTP_HOOP_OVERRIDES_MAX) {
            /* more than are looked at: any of them could be the one */
            *action = HOOP_RULE_DENY;
            ngx_str_set(method, "(too many overrides)");
            return NULL;
        }

        n += k;

        /* a form's _method field is read by Rails, Laravel, Symfony */

        if (r->method == NGX_HTTP_POST && ngx_http_hoop_rules_form(r)) {
            for (k = 0; k < 3; k++) {
                methods[n++] = form_methods[k];
            }
        }
    }

    op.request = r;
    op.fold = hlcf->path_case;

    if (ngx_http_hoop_rules_plain_path(r, &op.plain) != NGX_OK) {
        *action = HOOP_RULE_DENY;
        ngx_str_set(method, "(no memory)");
        return NULL;
    }

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
 * The methods override headers ask for, each comma-separated token of
 * every one of them, trimmed and upper-cased as frameworks read them
 * (they differ in which they take), then those of _method arguments; at
 * most max, max + 1 when there are more.
 */
static ngx_uint_t
ngx_http_hoop_rules_overrides(ngx_http_request_t *r, ngx_str_t *methods,
    ngx_uint_t max)
{
    u_char           *p, *end, *t;
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
            if (h[i].key.len != names[k].len
                || ngx_strncasecmp(h[i].key.data, names[k].data,
                                   names[k].len) != 0)
            {
                continue;
            }

            p = h[i].value.data;
            end = p + h[i].value.len;

            while (p <= end) {
                t = ngx_strlchr(p, end, ',');
                t = (t == NULL) ? end : t;

                if (n == max) {
                    return max + 1;
                }

                methods[n].data = p;
                methods[n].len = t - p;
                n++;

                p = t + 1;
            }
        }
    }

    n = ngx_http_hoop_rules_override_args(r, methods, n, max);

    if (n > max) {
        return n;
    }

    /* copies: what goes upstream stays as it was sent */

    for (i = 0; i < n; i++) {
        while (methods[i].len
               && (methods[i].data[0] == ' ' || methods[i].data[0] == '\t'))
        {
            methods[i].data++;
            methods[i].len--;
        }

        while (methods[i].len
               && (methods[i].data[methods[i].len - 1] == ' '
                   || methods[i].data[methods[i].len - 1] == '\t'))
        {
            methods[i].len--;
        }

        p = ngx_pnalloc(r->pool, methods[i].len + 1);
        if (p == NULL) {
            return max + 1;
        }

        for (k = 0; k < methods[i].len; k++) {
            p[k] = ngx_toupper(methods[i].data[k]);
        }

        methods[i].data = p;
    }

    return n;
}


/* whether a POST's body is a form, which may carry a _method field */
static ngx_uint_t
ngx_http_hoop_rules_form(ngx_http_request_t *r)
{
    ngx_str_t  *ct;

    if (r->headers_in.content_type == NULL) {
        return 0;
    }

    ct = &r->headers_in.content_type->value;

    return (ct->len >= 33
            && ngx_strncasecmp(ct->data,
                               (u_char *) "application/x-www-form-urlencoded",
                               33) == 0)
           || (ct->len >= 19
               && ngx_strncasecmp(ct->data, (u_char *) "multipart/form-data",
                                  19) == 0);
}


/*
 * each "_method" argument ('&' or ';' between them), name and value
 * percent-decoded as frameworks read them; max + 1 when there are more
 */
static ngx_uint_t
ngx_http_hoop_rules_override_args(ngx_http_request_t *r, ngx_str_t *methods,
    ngx_uint_t n, ngx_uint_t max)
{
    u_char  *p, *end, *v, *eq, *dst, *src, name[24];
    size_t   len;

    p = r->args.data;
    end = p + r->args.len;

    while (p < end) {
        for (v = p; v < end && *v != '&' && *v != ';'; v++) {
            /* void */
        }

        eq = ngx_strlchr(p, v, '=');
        eq = (eq == NULL) ? v : eq;

        /* the name decoded: "%5Fmethod" is "_method" (at most 21 bytes) */

        if (eq - p <= 21) {
            dst = name;
            src = p;
            ngx_unescape_uri(&dst, &src, eq - p, NGX_UNESCAPE_URI);

            if (dst - name == 7 && ngx_strncmp(name, "_method", 7) == 0) {
                if (n == max) {
                    return max + 1;
                }

                len = (eq < v) ? (size_t) (v - eq - 1) : 0;

                dst = ngx_pnalloc(r->pool, len + 1);
                if (dst == NULL) {
                    return max + 1;
                }

                methods[n].data = dst;
                src = eq + 1;
                ngx_unescape_uri(&dst, &src, len, NGX_UNESCAPE_URI);
                methods[n].len = dst - methods[n].data;
                n++;
            }
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
            if (ngx_http_hoop_rules_path(op, c->values[i],
                                         rule->action == HOOP_RULE_ALLOW))
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
 * Java servlet containers (and others) route "/api/admin;x/users" as
 * "/api/admin/users": the path with each segment's ";params" cut out, or
 * the path itself when it has none.
 */
static ngx_int_t
ngx_http_hoop_rules_plain_path(ngx_http_request_t *r, ngx_str_t *plain)
{
    u_char  *p, *end, *dst;

    *plain = r->uri;

    if (ngx_strlchr(r->uri.data, r->uri.data + r->uri.len, ';') == NULL) {
        return NGX_OK;
    }

    dst = ngx_pnalloc(r->pool, r->uri.len);
    if (dst == NULL) {
        return NGX_ERROR;
    }

    plain->data = dst;
    p = r->uri.data;
    end = p + r->uri.len;

    while (p < end) {
        if (*p == ';') {
            while (p < end && *p != '/') {
                p++;
            }

            continue;
        }

        *dst++ = *p++;
    }

    plain->len = dst - plain->data;

    return NGX_OK;
}


/*
 * path=glob, on the path and on it without ";params": either for a deny
 * or a review, both for an allow
 */
static int
ngx_http_hoop_rules_path(ngx_http_hoop_rules_op_t *op, const char *glob,
    int all)
{
    int  m1, m2;

    m1 = hoop_rule_glob_fold(glob, (char *) op->request->uri.data,
                             op->request->uri.len, (int) op->fold);
    m2 = hoop_rule_glob_fold(glob, (char *) op->plain.data, op->plain.len,
                             (int) op->fold);

    return all ? m1 && m2 : m1 || m2;
}


/*
 * header=Name: the request carries the header; header=Name:glob: its
 * value matches, each occurrence for an allow (all), one for the rest.
 */
static int
ngx_http_hoop_rules_header(ngx_http_request_t *r, const char *cond, int all)
{
    u_char           *p, *end, *t, *v, *e;
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

        if (glob == NULL) {
            if (!all) {
                return 1;
            }

            continue;
        }

        /* "a, b" is two values, as two header lines would be */

        for (p = h[i].value.data, end = p + h[i].value.len; p <= end;
             p = t + 1)
        {
            t = ngx_strlchr(p, end, ',');
            t = (t == NULL) ? end : t;

            for (v = p; v < t && (*v == ' ' || *v == '\t'); v++) {
                /* void */
            }

            for (e = t; e > v && (e[-1] == ' ' || e[-1] == '\t'); e--) {
                /* void */
            }

            if (hoop_rule_glob(glob, (char *) v, e - v)) {
                if (!all) {
                    return 1;
                }

            } else if (all) {
                return 0;
            }
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
