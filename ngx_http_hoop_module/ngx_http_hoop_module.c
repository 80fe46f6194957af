/*
 * Copyright (C) nginx-hoop authors
 *
 * ngx_http_hoop_module: the HTTP side of the gateway (OIDC bearer auth, Git
 * smart-HTTP, Kubernetes exec, the reviewers' API).  This file holds the
 * module definition and its configuration.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "hoop_json.h"
#include "hoop_rule.h"
#include "ngx_hoop_sanitizer.h"
#include "ngx_http_hoop.h"


static ngx_int_t ngx_http_hoop_preconfiguration(ngx_conf_t *cf);
static ngx_int_t ngx_http_hoop_postconfiguration(ngx_conf_t *cf);
static void *ngx_http_hoop_create_main_conf(ngx_conf_t *cf);
static void *ngx_http_hoop_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_hoop_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_http_hoop_flag_used(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_hoop_default(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_http_hoop_init_process(ngx_cycle_t *cycle);
static void ngx_http_hoop_exit_process(ngx_cycle_t *cycle);




/* how the upstream matches paths: what a path= condition must do too */
static ngx_conf_enum_t  ngx_http_hoop_path_cases[] = {
    { ngx_string("sensitive"), 0 },
    { ngx_string("insensitive"), 1 },
    { ngx_null_string, 0 }
};


static ngx_command_t  ngx_http_hoop_commands[] = {

    { ngx_string("hoop_redis"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_hoop_redis_conf_set,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_hoop_main_conf_t, redis),
      NULL },

    NGX_HOOP_OIDC_COMMANDS(NGX_HTTP_MAIN_CONF, NGX_HTTP_MAIN_CONF_OFFSET,
                           offsetof(ngx_http_hoop_main_conf_t, oidc)),

    { ngx_string("hoop_auth"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_http_hoop_flag_used,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_hoop_loc_conf_t, auth),
      NULL },

    { ngx_string("hoop_audit"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_http_hoop_flag_used,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_hoop_loc_conf_t, audit),
      NULL },

    NGX_HOOP_AUDIT_COMMANDS(NGX_HTTP_MAIN_CONF, NGX_HTTP_MAIN_CONF_OFFSET,
                            offsetof(ngx_http_hoop_main_conf_t, audit)),

    { ngx_string("hoop_rule"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_2MORE,
      ngx_http_hoop_rule,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("hoop_default"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_hoop_default,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("hoop_rule_path_case"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_hoop_loc_conf_t, path_case),
      &ngx_http_hoop_path_cases },

    { ngx_string("hoop_rule_method_override"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_hoop_loc_conf_t, method_override),
      NULL },

    { ngx_string("hoop_rule_body_max"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_hoop_loc_conf_t, body_max),
      NULL },

    { ngx_string("hoop_git"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_hoop_loc_conf_t, git),
      NULL },

    { ngx_string("hoop_kube"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_hoop_loc_conf_t, kube),
      NULL },

    { ngx_string("hoop_kube_spdy"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_hoop_loc_conf_t, kube_spdy),
      NULL },

    { ngx_string("hoop_kube_record_max"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_hoop_loc_conf_t, kube_record_max),
      NULL },

    { ngx_string("hoop_git_secrets"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_hoop_git_secrets,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("hoop_upstream_credentials"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE12,
      ngx_http_hoop_upstream_credentials,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("hoop_review_webhook"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_hoop_review_webhook_set,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_hoop_main_conf_t, webhook),
      NULL },

    { ngx_string("hoop_review_api"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS|NGX_CONF_TAKE1,
      ngx_http_hoop_review_api,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("hoop_auth_realm"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_hoop_loc_conf_t, realm),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_hoop_module_ctx = {
    ngx_http_hoop_preconfiguration,        /* preconfiguration */
    ngx_http_hoop_postconfiguration,       /* postconfiguration */

    ngx_http_hoop_create_main_conf,        /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_hoop_create_loc_conf,         /* create location configuration */
    ngx_http_hoop_merge_loc_conf           /* merge location configuration */
};


ngx_module_t  ngx_http_hoop_module = {
    NGX_MODULE_V1,
    &ngx_http_hoop_module_ctx,             /* module context */
    ngx_http_hoop_commands,                /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_hoop_init_process,            /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_hoop_exit_process,            /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_int_t
ngx_http_hoop_preconfiguration(ngx_conf_t *cf)
{
    return ngx_http_hoop_add_variables(cf);
}


/*
 * The identity provider is checked here rather than in init main conf:
 * only now is it known whether any location turned hoop_auth on.
 */
static ngx_int_t
ngx_http_hoop_postconfiguration(ngx_conf_t *cf)
{
    ngx_http_hoop_main_conf_t  *hmcf;

    hmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_hoop_module);

    if (ngx_hoop_oidc_conf_init(cf, &hmcf->oidc,
                                hmcf->auth_used ? "\"hoop_auth\"" : NULL,
                                "hoop_oidc_http", &ngx_http_hoop_module)
        != NGX_CONF_OK)
    {
        return NGX_ERROR;
    }

    if (ngx_hoop_audit_conf_init(cf, &hmcf->audit, hmcf->redis,
                                 "http", &ngx_http_hoop_module)
        != NGX_CONF_OK)
    {
        return NGX_ERROR;
    }

    if (hmcf->review_used && hmcf->redis == NULL) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"review\" rules and \"hoop_review_api\" need "
                      "\"hoop_redis\": reviews live there");
        return NGX_ERROR;
    }

    /*
     * access handlers run in the reverse order of registration: audit's
     * check first, then hoop_auth, then the rules, which need identity,
     * then the upstream's credentials, for what the rules let through
     */

    if (ngx_http_hoop_upstream_auth_init(cf) != NGX_OK
        || ngx_http_hoop_rules_init(cf) != NGX_OK
        || ngx_http_hoop_auth_init(cf) != NGX_OK
        || ngx_http_hoop_git_filter_init(cf) != NGX_OK
        || ngx_http_hoop_kube_relay_init(cf) != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_http_hoop_audit_init(cf);
}


static void *
ngx_http_hoop_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_hoop_main_conf_t  *hmcf;

    /*
     * set by ngx_pcalloc():
     *
     *     hmcf->redis = NULL;
     *     hmcf->auth_used = 0;
     */

    hmcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_hoop_main_conf_t));
    if (hmcf == NULL) {
        return NULL;
    }

    ngx_hoop_oidc_conf_create(&hmcf->oidc);

    ngx_hoop_audit_conf_create(&hmcf->audit);

    return hmcf;
}


static void *
ngx_http_hoop_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_hoop_loc_conf_t  *hlcf;

    /*
     * set by ngx_pcalloc():
     *
     *     hlcf->realm = { 0, NULL };
     */

    hlcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_hoop_loc_conf_t));
    if (hlcf == NULL) {
        return NULL;
    }

    hlcf->auth = NGX_CONF_UNSET;
    hlcf->audit = NGX_CONF_UNSET;
    hlcf->rules = NGX_CONF_UNSET_PTR;
    hlcf->default_action = NGX_CONF_UNSET_UINT;
    hlcf->review_api = NGX_CONF_UNSET;
    hlcf->path_case = NGX_CONF_UNSET_UINT;
    hlcf->method_override = NGX_CONF_UNSET;
    hlcf->body_max = NGX_CONF_UNSET_SIZE;
    hlcf->git = NGX_CONF_UNSET;
    hlcf->kube = NGX_CONF_UNSET;
    hlcf->kube_spdy = NGX_CONF_UNSET;
    hlcf->kube_record_max = NGX_CONF_UNSET_SIZE;
    hlcf->secrets = NGX_CONF_UNSET_UINT;
    hlcf->secrets_rule = NGX_CONF_UNSET_PTR;

    return hlcf;
}


static char *
ngx_http_hoop_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_hoop_loc_conf_t  *prev = parent;
    ngx_http_hoop_loc_conf_t  *conf = child;

    ngx_uint_t                 i;
    ngx_http_core_loc_conf_t  *clcf;

    ngx_conf_merge_value(conf->auth, prev->auth, 0);
    ngx_conf_merge_value(conf->audit, prev->audit, 0);

    /* a location with rules of its own replaces the inherited list */

    ngx_conf_merge_ptr_value(conf->rules, prev->rules, NULL);
    ngx_conf_merge_uint_value(conf->default_action, prev->default_action,
                              NGX_CONF_UNSET_UINT);
    ngx_conf_merge_str_value(conf->realm, prev->realm, "hoop");
    ngx_conf_merge_value(conf->review_api, prev->review_api, 0);
    ngx_conf_merge_str_value(conf->review_auditors, prev->review_auditors,
                             "");
    ngx_conf_merge_uint_value(conf->path_case, prev->path_case, 0);
    ngx_conf_merge_value(conf->method_override, prev->method_override, 1);
    ngx_conf_merge_size_value(conf->body_max, prev->body_max, 64 * 1024);
    ngx_conf_merge_value(conf->git, prev->git, 0);
    ngx_conf_merge_value(conf->kube, prev->kube, 0);
    ngx_conf_merge_value(conf->kube_spdy, prev->kube_spdy, 0);
    ngx_conf_merge_size_value(conf->kube_record_max, prev->kube_record_max,
                              16 * 1024 * 1024);
    ngx_conf_merge_str_value(conf->upstream_auth, prev->upstream_auth, "");

    /* pushes are scanned for private keys, AWS keys and JWTs unless told */

    ngx_conf_merge_uint_value(conf->secrets, prev->secrets,
                              (1u << HOOP_MASK_PRIVATE_KEY)
                              | (1u << HOOP_MASK_AWS_KEY)
                              | (1u << HOOP_MASK_JWT));
    ngx_conf_merge_ptr_value(conf->secrets_rule, prev->secrets_rule, NULL);

    /*
     * under "satisfy any" the first access module that says yes ends the
     * access phase: a valid token would skip every rule after hoop_auth
     */

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    if (clcf->satisfy == NGX_HTTP_SATISFY_ANY
        && (conf->rules != NULL
            || conf->default_action != NGX_CONF_UNSET_UINT))
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"hoop_rule\" and \"hoop_default\" cannot be"
                           " used with \"satisfy any\": a passing access"
                           " check would skip them");
        return NGX_CONF_ERROR;
    }

    /* reviewers are known by their token, or they are not reviewers */

    if (conf->review_api && !conf->auth) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"hoop_review_api\" needs \"hoop_auth on\" in"
                           " its location: decisions are made by verified"
                           " identities");
        return NGX_CONF_ERROR;
    }

    /* the realm is written inside a quoted-string of WWW-Authenticate */

    for (i = 0; i < conf->realm.len; i++) {
        if (conf->realm.data[i] == '"' || conf->realm.data[i] == '\\'
            || conf->realm.data[i] < 0x20 || conf->realm.data[i] == 0x7f)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"hoop_auth_realm\" \"%V\" may not contain"
                               " quotes, backslashes or control characters",
                               &conf->realm);
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;
}


/*
 * A location flag (hoop_auth, hoop_audit) that, once on anywhere, tells
 * the main configuration what it must provide.
 */
static char *
ngx_http_hoop_flag_used(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    char                       *rv;
    ngx_flag_t                 *flag;
    ngx_http_hoop_main_conf_t  *hmcf;

    rv = ngx_conf_set_flag_slot(cf, cmd, conf);
    flag = (ngx_flag_t *) ((char *) conf + cmd->offset);

    if (rv != NGX_CONF_OK || !*flag) {
        return rv;
    }

    hmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_hoop_module);

    if (cmd->offset == offsetof(ngx_http_hoop_loc_conf_t, auth)) {
        hmcf->auth_used = 1;

    } else {
        hmcf->audit.used = 1;
    }

    return rv;
}


ngx_int_t
ngx_http_hoop_add_handler(ngx_conf_t *cf, ngx_http_phases phase,
    ngx_http_handler_pt handler)
{
    ngx_http_handler_pt        *h;
    ngx_http_core_main_conf_t  *cmcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[phase].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = handler;

    return NGX_OK;
}


static char *
ngx_http_hoop_default(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_hoop_loc_conf_t  *hlcf = conf;

    ngx_str_t  *value;

    if (hlcf->default_action != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "allow") == 0) {
        hlcf->default_action = HOOP_RULE_ALLOW;

    } else if (ngx_strcmp(value[1].data, "deny") == 0) {
        hlcf->default_action = HOOP_RULE_DENY;

    } else {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid value \"%V\" in the \"%V\" directive,"
                           " it must be \"allow\" or \"deny\"",
                           &value[1], &cmd->name);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_hoop_init_process(ngx_cycle_t *cycle)
{
    ngx_http_hoop_main_conf_t  *hmcf;

    ngx_hoop_sanitizer_init_process(cycle);

    /* the cache manager and loader serve no requests: nothing to start */

    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return NGX_OK;
    }

    hmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_hoop_module);

    if (hmcf == NULL) {
        return NGX_OK;          /* no http{} block */
    }

    if (ngx_hoop_audit_init_process(&hmcf->audit, cycle, "http") != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (hmcf->review_used) {
        hmcf->reviews = ngx_hoop_reviews_start(cycle, hmcf->redis,
                                               hmcf->webhook, "http");
        if (hmcf->reviews == NULL) {
            return NGX_ERROR;
        }
    }

    return ngx_hoop_oidc_init_process(&hmcf->oidc, cycle);
}


static void
ngx_http_hoop_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_hoop_main_conf_t  *hmcf;

    hmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_hoop_module);

    if (hmcf != NULL) {
        ngx_hoop_reviews_stop(hmcf->reviews);
        ngx_hoop_audit_exit_process(&hmcf->audit);
    }
}


/*
 * Sends b (a JSON body) with status, as a content handler does: returns
 * what the caller finalizes the request with.
 */
ngx_int_t
ngx_http_hoop_output_json(ngx_http_request_t *r, ngx_uint_t status,
    ngx_buf_t *b)
{
    static ngx_str_t  json = ngx_string("application/json");

    return ngx_http_hoop_output(r, status, &json, b);
}


/* The same, of any type. */
ngx_int_t
ngx_http_hoop_output(ngx_http_request_t *r, ngx_uint_t status,
    ngx_str_t *type, ngx_buf_t *b)
{
    ngx_int_t    rc;
    ngx_chain_t  out;

    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->last_buf = (r == r->main);
    b->last_in_chain = 1;

    r->headers_out.status = status;
    r->headers_out.content_length_n = b->last - b->pos;
    r->headers_out.content_type = *type;
    r->headers_out.content_type_len = type->len;

    if (ngx_http_discard_request_body(r) != NGX_OK) {
        r->keepalive = 0;
    }

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


/*
 * The same from a phase handler or an event: the request is finalized
 * here; returns NGX_DONE.
 */
ngx_int_t
ngx_http_hoop_send_json(ngx_http_request_t *r, ngx_uint_t status,
    ngx_buf_t *b)
{
    ngx_http_finalize_request(r, ngx_http_hoop_output_json(r, status, b));

    return NGX_DONE;
}


/* {"error": error, "message": message} (NULL: out of memory) */
ngx_buf_t *
ngx_http_hoop_json_error(ngx_http_request_t *r, const char *error,
    const char *message)
{
    size_t        cap, len;
    ngx_buf_t    *b;
    hoop_json_t   j;

    cap = 6 * (ngx_strlen(error) + ngx_strlen(message)) + 64;

    b = ngx_create_temp_buf(r->pool, cap);
    if (b == NULL) {
        return NULL;
    }

    hoop_json_init(&j, (char *) b->pos, cap);
    hoop_json_object(&j, NULL);
    hoop_json_string(&j, "error", error, ngx_strlen(error));
    hoop_json_string(&j, "message", message, ngx_strlen(message));
    hoop_json_end(&j);
    len = hoop_json_finish(&j);

    b->pos[len++] = '\n';
    b->last = b->pos + len;

    return b;
}


ngx_int_t
ngx_http_hoop_send_json_error(ngx_http_request_t *r, ngx_uint_t status,
    const char *error, const char *message)
{
    return ngx_http_hoop_send_json(r, status,
                                   ngx_http_hoop_json_error(r, error,
                                                            message));
}


/* The first request header with one of the names (any case), or NULL. */
ngx_table_elt_t *
ngx_http_hoop_find_header(ngx_http_request_t *r, ngx_str_t *names,
    ngx_uint_t n)
{
    return ngx_http_hoop_next_header(r, names, n, NULL);
}


/*
 * The request header after prev (the first one if prev is NULL) with one
 * of the names (any case), or NULL: every line of a repeated header.
 */
ngx_table_elt_t *
ngx_http_hoop_next_header(ngx_http_request_t *r, ngx_str_t *names,
    ngx_uint_t n, ngx_table_elt_t *prev)
{
    ngx_uint_t        i, k, past;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    part = &r->headers_in.headers.part;
    h = part->elts;
    past = (prev == NULL);

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                return NULL;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (!past) {
            past = (&h[i] == prev);
            continue;
        }

        for (k = 0; k < n; k++) {
            if (h[i].key.len == names[k].len
                && ngx_strncasecmp(h[i].key.data, names[k].data,
                                   names[k].len)
                   == 0)
            {
                return &h[i];
            }
        }
    }
}
