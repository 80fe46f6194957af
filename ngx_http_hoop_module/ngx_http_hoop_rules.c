/*
 * Copyright (C) nginx-hoop authors
 *
 * hoop_rule / hoop_default for HTTP: the shared rule engine, with the
 * request's method, path, headers, arguments and JSON body as the
 * operation's attributes.  A denial is a 403 with a JSON body naming the
 * rule and its reason, and goes into the audit event.
 *
 * A request is decided as every operation the upstream may run it as:
 * its method (HEAD also as GET, whose handler answers it), and each
 * method an override asks for (X-HTTP-Method-Override, X-HTTP-Method,
 * X-Method-Override, a _method argument or body field), which
 * frameworks honour; the strictest verdict wins.  Its path as nginx
 * normalised it and as the laxest upstream reads it; in either case
 * where the upstream matches paths so (hoop_rule_path_case insensitive).
 * A body the rules need is read first, bounded (hoop_rule_body_max).
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "hoop_casefold.h"
#include "hoop_json.h"
#include "hoop_rule.h"
#include "ngx_hoop_conf_file.h"
#include "ngx_hoop_rule_conf.h"
#include "ngx_http_hoop.h"


#define NGX_HTTP_HOOP_OVERRIDES_MAX  8


/* what a request body is, by its Content-Type: what reads arguments in it */
typedef enum {
    NGX_HTTP_HOOP_BODY_OTHER = 0,
    NGX_HTTP_HOOP_BODY_FORM,            /* x-www-form-urlencoded, or none */
    NGX_HTTP_HOOP_BODY_MULTIPART,       /* multipart/form-data; boundary */
    NGX_HTTP_HOOP_BODY_UNKNOWN,         /* multipart/..., two types: may
                                           carry arguments, not read */
    NGX_HTTP_HOOP_BODY_JSON             /* a subtype naming json */
} ngx_http_hoop_body_kind_e;


/* the operation the rules look at: the request, as one method */
typedef struct {
    ngx_http_request_t  *request;
    ngx_str_t            method;
    ngx_str_t            path;          /* r->uri, folded where paths fold */
    ngx_str_t            lax;           /* its laxest reading, likewise */
    ngx_str_t            body;          /* read for the rules, or empty */
    ngx_uint_t           fold;          /* paths in either case */
    ngx_uint_t           kind;          /* ngx_http_hoop_body_kind_e */
    hoop_rule_json_t    *json;          /* the body parsed, if JSON */
    ngx_str_t            boundary;      /* of a multipart body */
    ngx_http_hoop_git_t *git;           /* a git request (hoop_git) */
    ngx_http_hoop_kube_t *kube;         /* a Kubernetes one (hoop_kube) */
    ngx_str_t            ref;           /* the ref update decided, if any */
    const char          *action;        /* ... what it does */
    ngx_uint_t           forward;       /* ... proven a fast-forward */
    unsigned             has_body:1;
    unsigned             unread:1;      /* a body was sent, not read */
    unsigned             json_unreadable:1;
} ngx_http_hoop_rules_op_t;


/* the methods an override asks for */
typedef struct {
    ngx_str_t           *methods;
    ngx_uint_t           n;
    ngx_uint_t           max;
    ngx_pool_t          *pool;
    unsigned             over:1;        /* more than max, or no memory */
} ngx_http_hoop_overrides_t;


static ngx_int_t ngx_http_hoop_rule_named_values(ngx_conf_t *cf,
    hoop_rule_t *rule);
static ngx_int_t ngx_http_hoop_rules_handler(ngx_http_request_t *r);
static void ngx_http_hoop_rules_body_done(ngx_http_request_t *r);
static ngx_uint_t ngx_http_hoop_rules_body_wanted(ngx_http_request_t *r,
    ngx_http_hoop_loc_conf_t *hlcf);
static ngx_uint_t ngx_http_hoop_rules_body_kind(ngx_http_request_t *r);
static ngx_int_t ngx_http_hoop_rules_boundary(ngx_http_request_t *r,
    ngx_str_t *boundary);
static ngx_uint_t ngx_http_hoop_rules_type_char(u_char c);
static int ngx_http_hoop_rules_override_part(void *data, const char *name,
    size_t nlen, const char *value, size_t vlen);
static ngx_uint_t ngx_http_hoop_rules_override_name(const char *name,
    size_t nlen, size_t alt, size_t alt_len);
static ngx_uint_t ngx_http_hoop_rules_body_plain(ngx_http_request_t *r);
static void ngx_http_hoop_rules_json_cleanup(void *data);
static ngx_int_t ngx_http_hoop_rules_op_init(ngx_http_request_t *r,
    ngx_http_hoop_loc_conf_t *hlcf, ngx_http_hoop_ctx_t *ctx,
    ngx_http_hoop_rules_op_t *op);
static ngx_int_t ngx_http_hoop_rules_body_text(ngx_http_request_t *r,
    size_t max, ngx_str_t *body);
static const hoop_rule_t *ngx_http_hoop_rules_decide(ngx_http_request_t *r,
    ngx_http_hoop_loc_conf_t *hlcf, ngx_http_hoop_ctx_t *ctx,
    ngx_uint_t *action, ngx_str_t *method);
static void ngx_http_hoop_rules_overrides(ngx_http_hoop_rules_op_t *op,
    ngx_http_hoop_overrides_t *o);
static void ngx_http_hoop_rules_override_args(ngx_http_hoop_overrides_t *o,
    u_char *args, size_t len);
static void ngx_http_hoop_rules_override_add(void *data, const char *value,
    size_t len);
static ngx_uint_t ngx_http_hoop_rules_strictness(ngx_uint_t action);
static ngx_int_t ngx_http_hoop_rules_fold(ngx_pool_t *pool, u_char *data,
    size_t len, ngx_str_t *out);
static int ngx_http_hoop_rules_path(ngx_http_hoop_rules_op_t *op,
    const char *glob, int all);
static int ngx_http_hoop_rules_header(ngx_http_request_t *r,
    const char *cond, int all);
static void ngx_http_hoop_rules_body_tally(ngx_http_hoop_rules_op_t *op,
    const char *cond, int all, ngx_uint_t as_arg, hoop_rule_tally_t *t);
static void ngx_http_hoop_rules_cookie_tally(ngx_http_request_t *r,
    const char *cond, int all, hoop_rule_tally_t *t);
static int ngx_http_hoop_rules_attr(void *data, const hoop_rule_t *rule,
    const hoop_rule_cond_t *c);
static int ngx_http_hoop_rules_git(ngx_http_hoop_rules_op_t *op,
    const char *key, const char *glob, int all);
static size_t ngx_http_hoop_rules_repo_base(u_char *p, size_t len);
static ngx_uint_t ngx_http_hoop_rules_kube_key(const char *key);
static const hoop_rule_t *ngx_http_hoop_rules_refs(ngx_http_request_t *r,
    ngx_http_hoop_loc_conf_t *hlcf, ngx_http_hoop_ctx_t *ctx,
    ngx_http_hoop_rules_op_t *op, ngx_uint_t *action);
static ngx_int_t ngx_http_hoop_rules_git_deny(ngx_http_request_t *r,
    ngx_http_hoop_ctx_t *ctx, const char *reason);
static ngx_int_t ngx_http_hoop_rules_deny(ngx_http_request_t *r,
    const char *rule, const char *reason);


static const char  *ngx_http_hoop_rule_keys[] = {
    "groups", "sub", "client", "method", "path", "header", "arg", "json",
    "repo", "service", "ref", "action", "namespace", "resource", "object",
    "subresource", "verb", "pod", "container", "command", "tty", "stdin",
    "port", NULL
};


static const ngx_hoop_rule_syntax_t  ngx_http_hoop_rule_syntax = {
    ngx_http_hoop_rule_keys,
    "groups, sub, client, method, path, header, arg, json, repo, service,"
    " ref, action, namespace, resource, object, subresource, verb, pod,"
    " container, command, tty, stdin and port",
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

    if (ngx_http_hoop_rule_named_values(cf, rule) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    if (rule->action == HOOP_RULE_REVIEW) {
        hmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_hoop_module);
        hmcf->review_used = 1;
    }

    return NGX_CONF_OK;
}


/*
 * "arg=action:read,list": a value without a name after one with a name
 * is another glob for that name (action:list), as it reads; without a
 * name before it, it is a name of its own ("arg=debug,verbose").
 */
static ngx_int_t
ngx_http_hoop_rule_named_values(ngx_conf_t *cf, hoop_rule_t *rule)
{
    u_char            *p;
    size_t             k, v, name;
    const char        *colon;
    hoop_rule_cond_t  *c;

    for (k = 0; k < rule->nconds; k++) {
        c = &rule->conds[k];

        if (ngx_strcmp(c->key, "arg") != 0 && ngx_strcmp(c->key, "json") != 0
            && ngx_strcmp(c->key, "header") != 0)
        {
            continue;
        }

        name = 0;

        for (v = 0; v < c->nvalues; v++) {
            colon = strchr(c->values[v], ':');

            if (colon != NULL) {
                name = colon - c->values[v] + 1;    /* "action:" */
                continue;
            }

            if (name == 0) {
                continue;
            }

            p = ngx_pnalloc(cf->pool, name + ngx_strlen(c->values[v]) + 1);
            if (p == NULL) {
                return NGX_ERROR;
            }

            ngx_sprintf(p, "%*s%s%Z", name, c->values[v - 1], c->values[v]);
            c->values[v] = (char *) p;
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_hoop_rules_handler(ngx_http_request_t *r)
{
    char                      *why;
    ngx_int_t                  rc;
    ngx_uint_t                 action;
    ngx_http_hoop_ctx_t       *ctx;
    const hoop_rule_t         *rule, *srule;
    ngx_http_hoop_loc_conf_t  *hlcf;

    hlcf = ngx_http_get_module_loc_conf(r, ngx_http_hoop_module);

    if (hlcf->rules == NULL && hlcf->default_action == NGX_CONF_UNSET_UINT
        && !hlcf->git && !hlcf->kube)
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

    if (hlcf->git && ngx_http_hoop_git_request(r, ctx) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (hlcf->kube && ngx_http_hoop_kube_request(r, ctx) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /*
     * the dumb protocol serves a repository's files one by one: neither
     * decided nor recorded as a fetch, so not served here
     */

    if (ctx->git && ctx->git->dumb) {
        ctx->rule = "hoop_git";

        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "hoop_git: the dumb protocol refused for %V",
                      &ctx->git->repo);

        return ngx_http_hoop_git_forbidden(r, "hoop_git", "the dumb HTTP"
                                           " protocol is not served here;"
                                           " git uses the smart one");
    }

    /* a Kubernetes path the rules cannot read as the server would */

    if (ctx->kube && ctx->kube->verb == NULL) {
        ctx->rule = "hoop_kube";

        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "hoop_kube: request refused: %s", ctx->kube->refusal);

        return ngx_http_hoop_kube_status(r, ctx->kube->refuse, "BadRequest",
                                         ctx->kube->refusal, NULL);
    }

    /* a body the rules read first, as the mirror module does; then again */

    if (!ctx->body_read
        && (ngx_http_hoop_rules_body_wanted(r, hlcf)
            || (ctx->git && ngx_http_hoop_git_body_wanted(r, ctx))))
    {
        ctx->body_read = 1;

        rc = ngx_http_read_client_request_body(r,
                                             ngx_http_hoop_rules_body_done);
        if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
            return rc;
        }

        ngx_http_finalize_request(r, NGX_DONE);
        return NGX_DONE;
    }

    if (ctx->git && ngx_http_hoop_git_read(r, ctx) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rule = ngx_http_hoop_rules_decide(r, hlcf, ctx, &action, &ctx->method);

    if (hlcf->rules != NULL || hlcf->default_action != NGX_CONF_UNSET_UINT) {
        ctx->rule = rule ? rule->name : "default";
    }

    /* a push that adds a secret: refused, or held, whatever the rules */

    if (action != HOOP_RULE_DENY && ctx->git && ctx->git->nsecrets) {
        srule = ngx_http_hoop_git_secrets_verdict(r, ctx, &why);

        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "hoop_git: push to %V: %s", &ctx->git->repo, why);

        if (srule->action == HOOP_RULE_DENY) {
            ctx->rule = srule->name;
            return ngx_http_hoop_git_refuse(r, ctx, NULL, why);
        }

        if (action == HOOP_RULE_ALLOW) {
            rule = srule;
            action = HOOP_RULE_REVIEW;
            ctx->rule = srule->name;
        }
    }

    /* a push that was not read is not let through: its refs are unknown */

    if (action != HOOP_RULE_DENY && ctx->git && ctx->git->push
        && ctx->git->unread)
    {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "hoop_git: push refused: %s", ctx->git->unread);

        return ngx_http_hoop_git_refuse(r, ctx, NULL, ctx->git->unread);
    }

    /*
     * what the gateway could not read as the server would: refused, once
     * the rules had their say (a deny is the same over WebSocket and
     * over SPDY, which kubectl tries next)
     */

    if (action != HOOP_RULE_DENY && ctx->kube && ctx->kube->refuse) {
        ctx->rule = "hoop_kube";

        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "hoop_kube: request refused: %s", ctx->kube->refusal);

        return ngx_http_hoop_kube_status(r, ctx->kube->refuse,
                                         ctx->kube->refuse
                                         == NGX_HTTP_BAD_REQUEST
                                         ? "BadRequest" : "Forbidden",
                                         ctx->kube->refusal, NULL);
    }

    if (action == HOOP_RULE_ALLOW) {
        return NGX_DECLINED;
    }

    if (action == HOOP_RULE_REVIEW) {

        /* a reviewer approves what they see: the whole command */

        if (ctx->kube
            && (ngx_http_hoop_kube_shown(r, ctx->kube) != NGX_OK
                || ctx->kube->shown.len > NGX_HTTP_HOOP_KUBE_COMMAND_SHOWN))
        {
            ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                          "hoop_kube: a command of %uz bytes cannot be"
                          " shown to a reviewer", ctx->kube->command.len);

            /* said inside the stream: kubectl would retry over SPDY */

            rc = ngx_http_hoop_kube_refuse_in_stream(r, ctx->kube,
                                                NGX_HTTP_FORBIDDEN,
                                                "Forbidden",
                                                "the command is too long to"
                                                " be shown to a reviewer"
                                                " (4 KiB are)");
            if (rc != NGX_DECLINED) {
                return rc;
            }

            return ngx_http_hoop_kube_status(r, NGX_HTTP_FORBIDDEN,
                                             "Forbidden",
                                             "the command is too long to be"
                                             " shown to a reviewer (4 KiB"
                                             " are)", ctx->rule);
        }

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

    if (ctx->git && ctx->git->push) {
        return ngx_http_hoop_rules_git_deny(r, ctx,
                                            rule == NULL
                                            ? "no rule allows this push"
                                            : rule->reason ? rule->reason
                                            : "denied by this rule");
    }

    ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                  "hoop_rule: request denied by rule \"%s\" (as %V)",
                  ctx->rule, &ctx->method);

    if (ctx->git) {
        return ngx_http_hoop_git_forbidden(r, ctx->rule,
                                           rule == NULL
                                           ? "no rule allows this request"
                                           : rule->reason ? rule->reason
                                           : "denied by this rule");
    }

    if (ctx->kube) {
        return ngx_http_hoop_kube_status(r, NGX_HTTP_FORBIDDEN, "Forbidden",
                                         rule == NULL
                                         ? "no rule allows this request"
                                         : rule->reason ? rule->reason
                                         : "denied by this rule",
                                         ctx->rule);
    }

    return ngx_http_hoop_rules_deny(r, ctx->rule,
                                    rule == NULL
                                    ? "no rule allows this request"
                                    : rule->reason ? rule->reason
                                    : "denied by this rule");
}


static void
ngx_http_hoop_rules_body_done(ngx_http_request_t *r)
{
    r->preserve_body = 1;

    r->write_event_handler = ngx_http_core_run_phases;
    ngx_http_core_run_phases(r);
}


/*
 * Whether the rules read the body: one within hoop_rule_body_max that a
 * json= condition may look into, or an arg= condition or a _method
 * override where a framework reads arguments from it (a form, JSON).
 * What is not read is decided on as unreadable.
 */
static ngx_uint_t
ngx_http_hoop_rules_body_wanted(ngx_http_request_t *r,
    ngx_http_hoop_loc_conf_t *hlcf)
{
    size_t              i, k;
    ngx_uint_t          kind, args;
    const hoop_rule_t  *rules;

    if (r->headers_in.content_length_n <= 0 && !r->headers_in.chunked) {
        return 0;
    }

    if (r->headers_in.content_length_n > (off_t) hlcf->body_max) {
        return 0;
    }

    kind = ngx_http_hoop_rules_body_kind(r);
    args = (kind == NGX_HTTP_HOOP_BODY_FORM
            || kind == NGX_HTTP_HOOP_BODY_MULTIPART
            || kind == NGX_HTTP_HOOP_BODY_JSON);

    if (!ngx_http_hoop_rules_body_plain(r)) {
        return 0;                           /* unreadable as sent */
    }

    if (hlcf->method_override && r->method == NGX_HTTP_POST && args) {
        return 1;
    }

    if (hlcf->rules == NULL) {
        return 0;
    }

    rules = hlcf->rules->elts;

    for (i = 0; i < hlcf->rules->nelts; i++) {
        for (k = 0; k < rules[i].nconds; k++) {
            if (ngx_strcmp(rules[i].conds[k].key, "json") == 0
                || (args && ngx_strcmp(rules[i].conds[k].key, "arg") == 0))
            {
                return 1;
            }
        }
    }

    return 0;
}


/*
 * The media type as the laxest parser cuts it (PHP at ';', ',' or white
 * space, Rack at ';' or ','): none is a form (Rack reads a POST without
 * one as a form), two lines are two readings (nginx keeps the first,
 * Werkzeug the last), any multipart may carry fields, and a type with a
 * byte no type has (a vertical tab Python strips) is read by none the
 * same way.  JSON is "json" anywhere in the field (Laravel's isJson()
 * looks for "/json" or "+json" in all of it; Rails has text/x-json).
 */
static ngx_uint_t
ngx_http_hoop_rules_body_kind(ngx_http_request_t *r)
{
    u_char     *p, *end, *start;
    ngx_str_t   type;

    static ngx_str_t  content_type = ngx_string("Content-Type");

    if (r->headers_in.content_type == NULL) {
        return NGX_HTTP_HOOP_BODY_FORM;
    }

    if (ngx_http_hoop_next_header(r, &content_type, 1,
                                  r->headers_in.content_type)
        != NULL)
    {
        return NGX_HTTP_HOOP_BODY_UNKNOWN;
    }

    p = r->headers_in.content_type->value.data;
    end = p + r->headers_in.content_type->value.len;
    start = p;

    while (p < end && (*p == ' ' || *p == '\t')) {
        p++;
    }

    type.data = p;

    while (p < end && ngx_http_hoop_rules_type_char(*p)) {
        p++;
    }

    type.len = p - type.data;

    while (p < end && (*p == ' ' || *p == '\t')) {
        p++;
    }

    if (p < end && *p != ';' && *p != ',') {
        return NGX_HTTP_HOOP_BODY_UNKNOWN;
    }

    if (type.len == 0) {
        return (p == end) ? NGX_HTTP_HOOP_BODY_FORM
                          : NGX_HTTP_HOOP_BODY_UNKNOWN;
    }

    if (type.len == 33
        && ngx_strncasecmp(type.data,
                           (u_char *) "application/x-www-form-urlencoded", 33)
           == 0)
    {
        return NGX_HTTP_HOOP_BODY_FORM;
    }

    if (type.len == 19
        && ngx_strncasecmp(type.data, (u_char *) "multipart/form-data", 19)
           == 0
        && ngx_http_hoop_rules_boundary(r, NULL) == NGX_OK)
    {
        return NGX_HTTP_HOOP_BODY_MULTIPART;
    }

    if (type.len >= 10
        && ngx_strncasecmp(type.data, (u_char *) "multipart/", 10) == 0)
    {
        return NGX_HTTP_HOOP_BODY_UNKNOWN;
    }

    if (ngx_strlcasestrn(start, end, (u_char *) "json", 3) != NULL) {
        return NGX_HTTP_HOOP_BODY_JSON;
    }

    return NGX_HTTP_HOOP_BODY_OTHER;
}


/*
 * The boundary parameter of a multipart Content-Type, one and only one,
 * quoted (without '\\') or a token, 1 to 70 bytes; NGX_DECLINED if not.
 */
static ngx_int_t
ngx_http_hoop_rules_boundary(ngx_http_request_t *r, ngx_str_t *boundary)
{
    u_char  *p, *end, *v, *vend;

    p = r->headers_in.content_type->value.data;
    end = p + r->headers_in.content_type->value.len;

    p = ngx_strlcasestrn(p, end, (u_char *) "boundary=", 8);

    if (p == NULL
        || ngx_strlcasestrn(p + 9, end, (u_char *) "boundary", 7) != NULL)
    {
        return NGX_DECLINED;
    }

    p += 9;

    if (p < end && *p == '"') {
        v = p + 1;
        vend = ngx_strlchr(v, end, '"');

        if (vend == NULL || ngx_strlchr(v, vend, '\\') != NULL) {
            return NGX_DECLINED;
        }

    } else {
        for (v = p, vend = p; vend < end && *vend != ';' && *vend != ','
                              && *vend != ' ' && *vend != '\t';
             vend++)
        {
            /* void */
        }
    }

    if (vend == v || vend - v > 70) {
        return NGX_DECLINED;
    }

    if (boundary != NULL) {
        boundary->data = v;
        boundary->len = vend - v;
    }

    return NGX_OK;
}


/* a media type's characters: RFC 9110 token characters and '/' */
static ngx_uint_t
ngx_http_hoop_rules_type_char(u_char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
           || (c >= '0' && c <= '9')
           || (c != 0 && ngx_strchr("!#$%&'*+-.^_`|~/", c) != NULL);
}


/*
 * Whether the body reads as it was sent: no Content-Encoding but
 * identity (body-parsers inflate gzip), and every charset parameter,
 * however it is spelled (" charset =x", quoted, repeated), one that reads
 * ASCII as ASCII: a body in UTF-7 or UTF-16 means other names and values
 * to a parser that honours it
 */
static ngx_uint_t
ngx_http_hoop_rules_body_plain(ngx_http_request_t *r)
{
    u_char           *p, *end, *v;
    ngx_uint_t        i, ok;
    ngx_table_elt_t  *h;

    /* charsets that read ASCII as ASCII: a name, or a family's prefix */

    static ngx_str_t  encoding = ngx_string("Content-Encoding");
    static struct {
        ngx_str_t     name;
        ngx_uint_t    prefix;
    } ascii[] = {
        { ngx_string("utf-8"), 0 }, { ngx_string("utf8"), 0 },
        { ngx_string("us-ascii"), 0 }, { ngx_string("ascii"), 0 },
        { ngx_string("iso-8859-"), 1 }, { ngx_string("latin"), 1 },
        { ngx_string("windows-125"), 1 }, { ngx_string("cp125"), 1 }
    };

    h = ngx_http_hoop_find_header(r, &encoding, 1);

    if (h != NULL
        && !(h->value.len == 8
             && ngx_strncasecmp(h->value.data, (u_char *) "identity", 8)
                == 0))
    {
        return 0;
    }

    if (r->headers_in.content_type == NULL) {
        return 1;
    }

    p = r->headers_in.content_type->value.data;
    end = p + r->headers_in.content_type->value.len;

    while ((p = ngx_strlcasestrn(p, end, (u_char *) "charset", 6)) != NULL) {
        p += 7;

        while (p < end && (*p == ' ' || *p == '\t')) {
            p++;
        }

        if (p == end || *p != '=') {
            continue;
        }

        for (p++; p < end && (*p == ' ' || *p == '\t' || *p == '"'); p++) {
            /* void */
        }

        for (v = p; p < end && *p != '"' && *p != ';' && *p != ','
                    && *p != ' ' && *p != '\t';
             p++)
        {
            /* void */
        }

        ok = 0;

        for (i = 0; i < sizeof(ascii) / sizeof(ascii[0]); i++) {
            if ((size_t) (p - v) >= ascii[i].name.len
                && ngx_strncasecmp(v, ascii[i].name.data, ascii[i].name.len)
                   == 0
                && (ascii[i].prefix || (size_t) (p - v) == ascii[i].name.len))
            {
                ok = 1;
            }
        }

        if (!ok) {
            return 0;
        }
    }

    return 1;
}


/* the path as nginx and as the laxest upstream read it, and the body */
static ngx_int_t
ngx_http_hoop_rules_op_init(ngx_http_request_t *r,
    ngx_http_hoop_loc_conf_t *hlcf, ngx_http_hoop_ctx_t *ctx,
    ngx_http_hoop_rules_op_t *op)
{
    ngx_pool_cleanup_t  *cln;

    ngx_memzero(op, sizeof(ngx_http_hoop_rules_op_t));

    op->request = r;
    op->fold = hlcf->path_case;
    op->path = r->uri;
    op->git = ctx->git;
    op->kube = ctx->kube;

    op->lax.data = ngx_pnalloc(r->pool, r->uri.len + 1);
    if (op->lax.data == NULL) {
        return NGX_ERROR;
    }

    op->lax.len = hoop_rule_path_lax((char *) r->uri.data, r->uri.len,
                                     (char *) op->lax.data);

    if (op->lax.len != r->uri.len
        || ngx_strncmp(op->lax.data, r->uri.data, r->uri.len) != 0)
    {
        ctx->path_lax = op->lax;            /* for the audit event */
    }

    if (op->fold) {
        if (ngx_http_hoop_rules_fold(r->pool, op->path.data, op->path.len,
                                     &op->path)
            != NGX_OK
            || ngx_http_hoop_rules_fold(r->pool, op->lax.data, op->lax.len,
                                        &op->lax)
               != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    if (r->headers_in.content_length_n <= 0 && !r->headers_in.chunked) {
        return NGX_OK;
    }

    op->has_body = 1;
    op->kind = ngx_http_hoop_rules_body_kind(r);

    if (op->kind == NGX_HTTP_HOOP_BODY_MULTIPART) {
        (void) ngx_http_hoop_rules_boundary(r, &op->boundary);
    }

    if (!ctx->body_read || !ngx_http_hoop_rules_body_plain(r)
        || ngx_http_hoop_rules_body_text(r, hlcf->body_max, &op->body)
           != NGX_OK)
    {
        op->unread = 1;
        op->body.len = 0;
        return NGX_OK;
    }

    /* parsed once for every condition on it */

    switch (hoop_rule_json_parse((char *) op->body.data, op->body.len,
                                 &op->json))
    {
    case 1:
        cln = ngx_pool_cleanup_add(r->pool, 0);
        if (cln == NULL) {
            hoop_rule_json_free(op->json);
            return NGX_ERROR;
        }

        cln->handler = ngx_http_hoop_rules_json_cleanup;
        cln->data = op->json;
        break;

    case -1:
        op->json_unreadable = 1;
        break;

    default:
        break;
    }

    return NGX_OK;
}


static void
ngx_http_hoop_rules_json_cleanup(void *data)
{
    hoop_rule_json_free(data);
}


/*
 * The body read, in one piece: NGX_DECLINED past max (a chunked body's
 * length is known only once read), NGX_ERROR when it cannot be read.
 */
static ngx_int_t
ngx_http_hoop_rules_body_text(ngx_http_request_t *r, size_t max,
    ngx_str_t *body)
{
    u_char       *p;
    off_t         len;
    ssize_t       n;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    if (r->request_body == NULL) {
        return NGX_ERROR;
    }

    len = 0;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        len += ngx_buf_size(cl->buf);
    }

    if (len > (off_t) max) {
        return NGX_DECLINED;
    }

    cl = r->request_body->bufs;

    if (cl != NULL && cl->next == NULL && !cl->buf->in_file) {
        body->data = cl->buf->pos;
        body->len = cl->buf->last - cl->buf->pos;
        return NGX_OK;
    }

    p = ngx_pnalloc(r->pool, (size_t) len + 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    body->data = p;
    body->len = (size_t) len;

    for ( /* void */ ; cl; cl = cl->next) {
        b = cl->buf;

        if (ngx_buf_size(b) == 0) {
            continue;                       /* the last, empty buffer */
        }

        if (!b->in_file) {
            p = ngx_cpymem(p, b->pos, b->last - b->pos);
            continue;
        }

        n = ngx_read_file(b->file, p, (size_t) (b->file_last - b->file_pos),
                          b->file_pos);

        if (n != b->file_last - b->file_pos) {
            return NGX_ERROR;
        }

        p += n;
    }

    return NGX_OK;
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
    ngx_uint_t                 i, verdict;
    ngx_str_t                  methods[2 + NGX_HTTP_HOOP_OVERRIDES_MAX + 3];
    const hoop_rule_t         *rule, *decided;
    ngx_http_hoop_rules_op_t   op;
    ngx_http_hoop_overrides_t  o;

    if (ngx_http_hoop_rules_op_init(r, hlcf, ctx, &op) != NGX_OK) {
        *action = HOOP_RULE_DENY;
        ngx_str_set(method, "(no memory)");
        return NULL;
    }

    methods[0] = r->method_name;

    o.methods = methods;
    o.n = 1;
    o.pool = r->pool;
    o.over = 0;

    /* HEAD runs what GET runs, in every framework that answers it */

    if (r->method == NGX_HTTP_HEAD) {
        ngx_str_set(&methods[o.n], "GET");
        o.n++;
    }

    o.max = o.n + NGX_HTTP_HOOP_OVERRIDES_MAX;

    if (hlcf->method_override) {
        ngx_http_hoop_rules_overrides(&op, &o);

        if (o.over) {
            /* more than are looked at: any of them could be the one */
            *action = HOOP_RULE_DENY;
            ngx_str_set(method, "(too many overrides)");
            return NULL;
        }
    }

    decided = NULL;
    *action = HOOP_RULE_ALLOW;

    for (i = 0; i < o.n; i++) {
        op.method = methods[i];

        rule = hlcf->rules
               ? hoop_rule_match(hlcf->rules->elts, hlcf->rules->nelts,
                                 ctx->authenticated ? &ctx->identity : NULL,
                                 ngx_http_hoop_rules_attr, &op)
               : NULL;

        /* no rules and no default: a git location that only records */

        verdict = rule ? (ngx_uint_t) rule->action
                       : hlcf->default_action == NGX_CONF_UNSET_UINT
                         ? (hlcf->rules ? HOOP_RULE_DENY : HOOP_RULE_ALLOW)
                         : hlcf->default_action;

        if (i == 0 || ngx_http_hoop_rules_strictness(verdict)
                      > ngx_http_hoop_rules_strictness(*action))
        {
            decided = rule;
            *action = verdict;
            *method = methods[i];
        }
    }

    /*
     * a push the request's rules do not refuse: its pack read (proofs,
     * secrets), then each ref update decided
     */

    if (*action != HOOP_RULE_DENY && op.git && op.git->pushed) {
        if (ngx_http_hoop_git_read_pack(r, ctx) != NGX_OK) {
            *action = HOOP_RULE_DENY;
            ngx_str_set(method, "(no memory)");
            return NULL;
        }

        if (*action == HOOP_RULE_ALLOW && op.git->push->ncommands > 0) {
            op.method = r->method_name;
            decided = ngx_http_hoop_rules_refs(r, hlcf, ctx, &op, action);
        }
    }

    return decided;
}


/*
 * Each ref update of a push, as an operation of its own: the request's
 * attributes and the ref, its action, the repository.  The strictest
 * verdict is the push's (with the first ref that had it): git offers no
 * way to update some refs of a push and not others that the gateway
 * could rely on, so one ref refused refuses them all.
 */
static const hoop_rule_t *
ngx_http_hoop_rules_refs(ngx_http_request_t *r,
    ngx_http_hoop_loc_conf_t *hlcf, ngx_http_hoop_ctx_t *ctx,
    ngx_http_hoop_rules_op_t *op, ngx_uint_t *action)
{
    ngx_uint_t                    i, n, verdict;
    const hoop_rule_t            *rule, *decided;
    ngx_http_hoop_git_t          *git;
    ngx_http_hoop_git_decided_t  *d;

    git = op->git;
    n = git->push->ncommands;

    d = ngx_pcalloc(r->pool, n * sizeof(ngx_http_hoop_git_decided_t));
    if (d == NULL) {
        *action = HOOP_RULE_DENY;
        return NULL;
    }

    git->decided = d;
    decided = NULL;
    *action = HOOP_RULE_ALLOW;

    for (i = 0; i < n; i++) {
        ngx_http_hoop_git_ref(git, i, &op->ref);
        op->action = hoop_git_command_action(&git->commands[i],
                                             (char *) op->ref.data,
                                             op->ref.len);
        op->forward = ngx_http_hoop_git_fast_forward(git, i);

        rule = hlcf->rules
               ? hoop_rule_match(hlcf->rules->elts, hlcf->rules->nelts,
                                 ctx->authenticated ? &ctx->identity : NULL,
                                 ngx_http_hoop_rules_attr, op)
               : NULL;

        verdict = rule ? (ngx_uint_t) rule->action
                       : hlcf->default_action == NGX_CONF_UNSET_UINT
                         ? (hlcf->rules ? HOOP_RULE_DENY : HOOP_RULE_ALLOW)
                         : hlcf->default_action;

        d[i].action = verdict;
        d[i].by = rule;
        d[i].rule = rule ? rule->name
                    : (hlcf->rules == NULL
                       && hlcf->default_action == NGX_CONF_UNSET_UINT)
                      ? "none" : "default";

        if (i == 0 || ngx_http_hoop_rules_strictness(verdict)
                      > ngx_http_hoop_rules_strictness(*action))
        {
            decided = rule;
            *action = verdict;
        }
    }

    ngx_str_null(&op->ref);
    op->action = NULL;

    return decided;
}


/* deny over review over allow */
static ngx_uint_t
ngx_http_hoop_rules_strictness(ngx_uint_t action)
{
    return action == HOOP_RULE_DENY ? 2 : action == HOOP_RULE_REVIEW ? 1 : 0;
}


/*
 * The methods an override asks for, as frameworks read them (they
 * differ in which they take): each comma-separated token of every
 * override header, each _method argument, and for a POST each _method
 * field of a form or JSON body (Rails, Laravel, Symfony); a body that
 * was not read may ask for any of PUT, PATCH and DELETE.
 */
static void
ngx_http_hoop_rules_overrides(ngx_http_hoop_rules_op_t *op,
    ngx_http_hoop_overrides_t *o)
{
    u_char              *p, *end, *t;
    ngx_uint_t           blind;
    ngx_table_elt_t     *h;
    ngx_http_request_t  *r;

    static ngx_str_t  names[] = {
        ngx_string("X-HTTP-Method-Override"),
        ngx_string("X-HTTP-Method"),
        ngx_string("X-Method-Override")
    };

    r = op->request;

    for (h = ngx_http_hoop_next_header(r, names, 3, NULL); h != NULL;
         h = ngx_http_hoop_next_header(r, names, 3, h))
    {
        p = h->value.data;
        end = p + h->value.len;

        for ( /* void */ ; p <= end; p = t + 1) {
            t = ngx_strlchr(p, end, ',');
            t = (t == NULL) ? end : t;

            ngx_http_hoop_rules_override_add(o, (char *) p, t - p);
        }
    }

    ngx_http_hoop_rules_override_args(o, r->args.data, r->args.len);

    if (r->method != NGX_HTTP_POST || !op->has_body
        || op->kind == NGX_HTTP_HOOP_BODY_OTHER)
    {
        return;
    }

    blind = op->unread || op->kind == NGX_HTTP_HOOP_BODY_UNKNOWN;

    if (!blind && op->kind == NGX_HTTP_HOOP_BODY_FORM) {
        ngx_http_hoop_rules_override_args(o, op->body.data, op->body.len);
    }

    if (!blind && op->kind == NGX_HTTP_HOOP_BODY_MULTIPART) {
        blind = hoop_rule_multipart_fields((char *) op->body.data,
                                           op->body.len,
                                           (char *) op->boundary.data,
                                           op->boundary.len,
                                           ngx_http_hoop_rules_override_part,
                                           o)
                != 0;
    }

    if (!blind && op->kind == NGX_HTTP_HOOP_BODY_JSON) {
        blind = op->json_unreadable
                || (op->json != NULL
                    && hoop_rule_json_doc_strings("_method", op->json,
                                          ngx_http_hoop_rules_override_add, o)
                       != 0);
    }

    if (blind) {
        o->max += 3;                        /* room kept for these */
        ngx_http_hoop_rules_override_add(o, "PUT", 3);
        ngx_http_hoop_rules_override_add(o, "PATCH", 5);
        ngx_http_hoop_rules_override_add(o, "DELETE", 6);
    }
}


/*
 * each argument named as an override (see
 * ngx_http_hoop_rules_override_name()), keyed as frameworks key names,
 * with ';' between arguments and without
 */
static void
ngx_http_hoop_rules_override_args(ngx_http_hoop_overrides_t *o,
    u_char *args, size_t len)
{
    int     rc, semicolon;
    size_t  pos, nlen, alt, alt_len, vlen;
    char    name[HOOP_RULE_ARG_MAX], value[HOOP_RULE_ARG_MAX];

    for (semicolon = 1; semicolon >= 0; semicolon--) {

        if (!semicolon && ngx_strlchr(args, args + len, ';') == NULL) {
            return;
        }

        pos = 0;

        for ( ;; ) {
            rc = hoop_rule_args_next((char *) args, len, semicolon, &pos,
                                     name, &nlen, &alt, &alt_len, value,
                                     &vlen);

            if (rc == 0) {
                break;
            }

            if (rc < 0) {
                o->over = 1;                /* a name that cannot be read */
                return;
            }

            if (ngx_http_hoop_rules_override_name(name, nlen, alt, alt_len))
            {
                ngx_http_hoop_rules_override_add(o, value, vlen);
            }
        }
    }
}


/* a multipart field: an override if named as one */
static int
ngx_http_hoop_rules_override_part(void *data, const char *name, size_t nlen,
    const char *value, size_t vlen)
{
    size_t  klen, alt, alt_len;
    char    key[HOOP_RULE_ARG_MAX];

    if (nlen > HOOP_RULE_ARG_MAX) {
        return -1;
    }

    ngx_memcpy(key, name, nlen);
    klen = hoop_rule_arg_key(key, nlen, &alt, &alt_len);

    if (ngx_http_hoop_rules_override_name(key, klen, alt, alt_len)) {
        ngx_http_hoop_rules_override_add(data, value, vlen);
    }

    return 0;
}


/*
 * Whether a keyed argument name (or the part ASP.NET Core binds) is
 * _method, or an override header's name: ASP.NET MVC and ServiceStack
 * read X-HTTP-Method-Override from the form and the query too.
 */
static ngx_uint_t
ngx_http_hoop_rules_override_name(const char *name, size_t nlen, size_t alt,
    size_t alt_len)
{
    ngx_uint_t  k;
    ngx_str_t  *key;

    static ngx_str_t  names[] = {
        ngx_string("_method"), ngx_string("x-http-method-override"),
        ngx_string("x-http-method"), ngx_string("x-method-override")
    };

    for (k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
        key = &names[k];

        if ((nlen == key->len
             && ngx_strncmp(name, key->data, key->len) == 0)
            || (alt_len == key->len
                && ngx_strncmp(name + alt, key->data, key->len) == 0))
        {
            return 1;
        }
    }

    return 0;
}


/* a method, trimmed and upper-cased; copied: what goes upstream stays */
static void
ngx_http_hoop_rules_override_add(void *data, const char *value, size_t len)
{
    ngx_http_hoop_overrides_t *o = data;

    u_char  *p;
    size_t   i;

    if (o->n == o->max) {
        o->over = 1;
        return;
    }

    while (len && (value[0] == ' ' || value[0] == '\t')) {
        value++;
        len--;
    }

    while (len && (value[len - 1] == ' ' || value[len - 1] == '\t')) {
        len--;
    }

    if (len == 0) {
        return;                             /* "GET," asks for nothing */
    }

    p = ngx_pnalloc(o->pool, len + 1);
    if (p == NULL) {
        o->over = 1;
        return;
    }

    for (i = 0; i < len; i++) {
        p[i] = ngx_toupper(value[i]);
    }

    o->methods[o->n].data = p;
    o->methods[o->n].len = len;
    o->n++;
}


static int
ngx_http_hoop_rules_attr(void *data, const hoop_rule_t *rule,
    const hoop_rule_cond_t *c)
{
    ngx_http_hoop_rules_op_t *op = data;

    int                  all;
    size_t               i;
    hoop_rule_tally_t    t;
    ngx_http_request_t  *r;

    r = op->request;

    /*
     * what occurs more than once (arguments, headers, JSON members, the
     * readings of a path): one match holds for a deny or a review, an
     * allow needs every one to (servers differ in which they take)
     */

    all = (rule->action == HOOP_RULE_ALLOW);

    if (op->kube != NULL && ngx_http_hoop_rules_kube_key(c->key)) {
        return ngx_http_hoop_kube_attr(r, op->kube, c, all);
    }

    for (i = 0; i < c->nvalues; i++) {

        if (ngx_strcmp(c->key, "method") == 0) {
            if (hoop_rule_glob(c->values[i], (char *) op->method.data,
                               op->method.len))
            {
                return 1;
            }

        } else if (ngx_strcmp(c->key, "path") == 0) {
            if (ngx_http_hoop_rules_path(op, c->values[i], all)) {
                return 1;
            }

        } else if (ngx_strcmp(c->key, "header") == 0) {
            if (ngx_http_hoop_rules_header(r, c->values[i], all)) {
                return 1;
            }

        } else if (ngx_strcmp(c->key, "repo") == 0
                   || ngx_strcmp(c->key, "service") == 0
                   || ngx_strcmp(c->key, "ref") == 0
                   || ngx_strcmp(c->key, "action") == 0)
        {
            switch (ngx_http_hoop_rules_git(op, c->key, c->values[i], all)) {
            case 1:
                return 1;
            case -1:
                return -1;
            default:
                break;
            }

        } else if (ngx_strcmp(c->key, "arg") == 0
                   || ngx_strcmp(c->key, "json") == 0)
        {
            ngx_memzero(&t, sizeof(hoop_rule_tally_t));

            /* servers read a JSON member from the query too (GraphQL) */

            hoop_rule_args_tally(c->values[i], (char *) r->args.data,
                                 r->args.len, all, &t);

            /* PHP's $_REQUEST holds cookies too, without a php.ini */

            if (c->key[0] == 'a') {
                ngx_http_hoop_rules_cookie_tally(r, c->values[i], all, &t);
            }

            ngx_http_hoop_rules_body_tally(op, c->values[i], all,
                                           c->key[0] == 'a', &t);

            if (hoop_rule_tally_holds(&t, all)) {
                return 1;
            }

        } else {
            return -1;
        }
    }

    return 0;
}


/*
 * A condition over the body: the fields of a form (what is not read of
 * one, multipart included, is unreadable), and the members of a JSON
 * body: for arg= when its type says JSON (Rails and Laravel merge them
 * into the request's parameters), for json= whatever its type (RPC
 * servers parse what they are sent).
 */
static void
ngx_http_hoop_rules_body_tally(ngx_http_hoop_rules_op_t *op,
    const char *cond, int all, ngx_uint_t as_arg, hoop_rule_tally_t *t)
{
    if (!op->has_body) {
        return;
    }

    if (op->kind == NGX_HTTP_HOOP_BODY_UNKNOWN
        || (op->unread && (op->kind == NGX_HTTP_HOOP_BODY_FORM
                           || op->kind == NGX_HTTP_HOOP_BODY_MULTIPART)))
    {
        t->unreadable++;
        return;
    }

    if (op->kind == NGX_HTTP_HOOP_BODY_FORM) {
        hoop_rule_args_tally(cond, (char *) op->body.data, op->body.len,
                             all, t);
    }

    if (op->kind == NGX_HTTP_HOOP_BODY_MULTIPART) {
        hoop_rule_multipart_tally(cond, (char *) op->body.data, op->body.len,
                                  (char *) op->boundary.data,
                                  op->boundary.len, all, t);
    }

    if (as_arg && op->kind != NGX_HTTP_HOOP_BODY_JSON) {
        return;
    }

    if (op->unread || op->json_unreadable) {
        t->unreadable++;
        return;
    }

    if (op->json != NULL) {
        hoop_rule_json_doc_tally(cond, op->json, all, t);
    }
}


/* an argument condition over every Cookie line ("a=1; b=2") */
static void
ngx_http_hoop_rules_cookie_tally(ngx_http_request_t *r, const char *cond,
    int all, hoop_rule_tally_t *t)
{
    ngx_table_elt_t  *h;

    static ngx_str_t  cookie = ngx_string("Cookie");

    for (h = ngx_http_hoop_next_header(r, &cookie, 1, NULL); h != NULL;
         h = ngx_http_hoop_next_header(r, &cookie, 1, h))
    {
        hoop_rule_args_tally(cond, (char *) h->value.data, h->value.len, all,
                             t);
    }
}


/* text folded into a copy from the pool, NUL-terminated */
static ngx_int_t
ngx_http_hoop_rules_fold(ngx_pool_t *pool, u_char *data, size_t len,
    ngx_str_t *out)
{
    u_char  *p;

    p = ngx_pnalloc(pool, len + 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    out->len = hoop_casefold((char *) data, len, (char *) p);
    out->data = p;
    p[out->len] = '\0';

    return NGX_OK;
}


/*
 * path=glob, on the path nginx normalised and on the laxest reading of
 * it: either for a deny or a review, both for an allow; in either case
 * where the upstream matches paths so
 */
static int
ngx_http_hoop_rules_path(ngx_http_hoop_rules_op_t *op, const char *glob,
    int all)
{
    int        m1, m2;
    ngx_str_t  folded;

    if (op->fold) {
        if (ngx_http_hoop_rules_fold(op->request->pool, (u_char *) glob,
                                     ngx_strlen(glob), &folded)
            != NGX_OK)
        {
            return !all;
        }

        glob = (char *) folded.data;
    }

    m1 = hoop_rule_glob(glob, (char *) op->path.data, op->path.len);
    m2 = hoop_rule_glob(glob, (char *) op->lax.data, op->lax.len);

    return all ? m1 && m2 : m1 || m2;
}


/*
 * header=Name: the request carries the header; header=Name:glob: its
 * value matches, each occurrence for an allow (all), one for the rest,
 * in either case for them.
 */
static int
ngx_http_hoop_rules_header(ngx_http_request_t *r, const char *cond, int all)
{
    u_char           *p, *end, *t, *v, *e;
    size_t            len;
    ngx_str_t         glob, value, name;
    ngx_uint_t        seen;
    const char       *colon;
    ngx_table_elt_t  *h;

    colon = strchr(cond, ':');
    len = colon ? (size_t) (colon - cond) : ngx_strlen(cond);
    ngx_str_null(&glob);

    if (colon != NULL) {
        glob.data = (u_char *) colon + 1;
        glob.len = ngx_strlen(glob.data);

        if (!all
            && ngx_http_hoop_rules_fold(r->pool, glob.data, glob.len, &glob)
               != NGX_OK)
        {
            return 1;
        }
    }

    seen = 0;
    name.data = (u_char *) cond;
    name.len = len;

    for (h = ngx_http_hoop_next_header(r, &name, 1, NULL); h != NULL;
         h = ngx_http_hoop_next_header(r, &name, 1, h))
    {
        seen = 1;

        if (colon == NULL) {
            if (!all) {
                return 1;
            }

            continue;
        }

        /* "a, b" is two values, as two header lines would be */

        for (p = h->value.data, end = p + h->value.len; p <= end;
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

            value.data = v;
            value.len = e - v;

            if (!all
                && ngx_http_hoop_rules_fold(r->pool, v, e - v, &value)
                   != NGX_OK)
            {
                return 1;
            }

            if (hoop_rule_glob((char *) glob.data, (char *) value.data,
                               value.len))
            {
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


/*
 * The git keys: repo= and service= for any git request, ref= and
 * action= for a ref update only (-1 otherwise: the rule does not apply).
 * A repository or a ref matches in either case too for a deny or a
 * review: on a server whose file system ignores case, "MAIN" is main.
 * action= is "create", "delete", "tag" (a tag created) or "update", and
 * "force" for an update the pack does not prove a fast-forward.
 */
static int
ngx_http_hoop_rules_git(ngx_http_hoop_rules_op_t *op, const char *key,
    const char *glob, int all)
{
    ngx_str_t             text, fglob, ftext;
    ngx_http_hoop_git_t  *git;

    git = op->git;

    if (git == NULL) {
        return -1;
    }

    if (key[0] == 'r' && key[2] == 'p') {          /* repo */
        text = git->repo;

    } else if (key[0] == 's') {                     /* service */
        if (git->service.len == 0) {
            return 0;
        }

        text.data = git->service.data + 4;          /* after "git-" */
        text.len = git->service.len - 4;

    } else if (op->ref.len == 0) {
        return -1;

    } else if (key[0] == 'r') {                     /* ref */
        text = op->ref;

    } else {                                        /* action */
        if (ngx_strcmp(glob, "force") == 0) {
            return ngx_strcmp(op->action, "update") == 0 && !op->forward;
        }

        return hoop_rule_glob(glob, op->action, ngx_strlen(op->action));
    }

    if (hoop_rule_glob(glob, (char *) text.data, text.len)) {
        return 1;
    }

    if (all || key[0] == 's') {
        return 0;
    }

    if (ngx_http_hoop_rules_fold(op->request->pool, (u_char *) glob,
                                 ngx_strlen(glob), &fglob)
        != NGX_OK
        || ngx_http_hoop_rules_fold(op->request->pool, text.data, text.len,
                                    &ftext)
           != NGX_OK)
    {
        return 1;
    }

    /*
     * a repository as git finds it: "x", "x/.git", "x.git" and
     * "x.git/.git" are the same one to http-backend (enter_repo())
     */

    if (key[0] == 'r' && key[2] == 'p') {
        fglob.len = ngx_http_hoop_rules_repo_base(fglob.data, fglob.len);
        fglob.data[fglob.len] = '\0';
        ftext.len = ngx_http_hoop_rules_repo_base(ftext.data, ftext.len);
    }

    return hoop_rule_glob((char *) fglob.data, (char *) ftext.data,
                          ftext.len);
}


/* the keys ngx_http_hoop_kube_attr() decides: those after "action" */
static ngx_uint_t
ngx_http_hoop_rules_kube_key(const char *key)
{
    const char  **k;

    for (k = ngx_http_hoop_rule_keys; *k; k++) {
        if (ngx_strcmp(*k, "namespace") == 0) {
            break;
        }
    }

    for ( /* void */ ; *k; k++) {
        if (ngx_strcmp(*k, key) == 0) {
            return 1;
        }
    }

    return 0;
}


/* a repository's path without "/", "/.git" and ".git" at its end */
static size_t
ngx_http_hoop_rules_repo_base(u_char *p, size_t len)
{
    for ( ;; ) {
        if (len > 1 && p[len - 1] == '/') {
            len--;

        } else if (len > 5 && ngx_strncmp(p + len - 5, "/.git", 5) == 0) {
            len -= 5;

        } else if (len > 4 && ngx_strncmp(p + len - 4, ".git", 4) == 0) {
            len -= 4;

        } else {
            return len;
        }
    }
}


/*
 * A push refused by the rules: a report-status that names, for each ref
 * refused, the rule and its reason.
 */
static ngx_int_t
ngx_http_hoop_rules_git_deny(ngx_http_request_t *r, ngx_http_hoop_ctx_t *ctx,
    const char *reason)
{
    u_char                       *p;
    ngx_str_t                    *reasons;
    ngx_uint_t                    i, n;
    const char                   *why, *name;
    ngx_http_hoop_git_t          *git;
    ngx_http_hoop_git_decided_t  *d;

    git = ctx->git;
    n = git->push->ncommands;
    d = git->decided;

    ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                  "hoop_rule: push to %V denied by rule \"%s\"",
                  &git->repo, ctx->rule);

    if (d == NULL) {
        /* refused as a request, before its refs were decided */

        p = ngx_pnalloc(r->pool, ngx_strlen(reason) + ngx_strlen(ctx->rule)
                                 + sizeof(" (rule \"\")"));
        if (p == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_sprintf(p, "%s (rule \"%s\")%Z", reason, ctx->rule);

        return ngx_http_hoop_git_refuse(r, ctx, NULL, (char *) p);
    }

    reasons = ngx_pcalloc(r->pool, n * sizeof(ngx_str_t));
    if (reasons == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    for (i = 0; i < n; i++) {
        if (d[i].action != HOOP_RULE_DENY) {
            continue;
        }

        why = d[i].by == NULL ? "no rule allows this ref update"
              : d[i].by->reason ? d[i].by->reason : "denied by rule";
        name = d[i].rule;

        p = ngx_pnalloc(r->pool, ngx_strlen(name) + ngx_strlen(why)
                                 + sizeof("hoop:  (rule \"\")"));
        if (p == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        reasons[i].data = p;
        reasons[i].len = ngx_sprintf(p, "hoop: %s (rule \"%s\")", why, name)
                         - p;
    }

    return ngx_http_hoop_git_refuse(r, ctx, reasons, NULL);
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
