/*
 * Copyright (C) nginx-hoop authors
 *
 * hoop_review_api: the reviewers' JSON API, a content handler.
 *
 *     GET  .../reviews[?status=pending]     newest first, at most 100
 *     GET  .../reviews/<id>                 one review
 *
 * (a review is seen by its requester, its approvers and the auditor
 * groups of "hoop_review_api auditors=", by nobody else)
 *     POST .../reviews/<id>/approve         {"reason": "..."} optional
 *     POST .../reviews/<id>/reject          {"reason": "..."}
 *
 * The location must have hoop_auth on: the reviewer is the verified
 * identity, never a name in the body.  Who may decide (the rule's
 * approver groups, never the requester, each approver once, N of M) is
 * checked in the same Redis transition that records the decision.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <jansson.h>

#include "hoop_json.h"
#include "ngx_http_hoop.h"


#define NGX_HTTP_HOOP_REVIEW_BODY_MAX    4096
#define NGX_HTTP_HOOP_REVIEW_REASON_MAX  512


typedef struct {
    ngx_str_t                   id;
    ngx_uint_t                  approve;
    ngx_str_t                   reason;
} ngx_http_hoop_review_call_t;


static ngx_int_t ngx_http_hoop_review_api_handler(ngx_http_request_t *r);
static void ngx_http_hoop_review_api_body(ngx_http_request_t *r);
static ngx_int_t ngx_http_hoop_review_api_reason(ngx_http_request_t *r,
    ngx_str_t *reason);
static void ngx_http_hoop_review_api_decided(void *data,
    ngx_hoop_review_outcome_t *o, ngx_str_t *json);
static void ngx_http_hoop_review_api_json(void *data,
    ngx_hoop_review_outcome_t *o, ngx_str_t *json);
static ngx_int_t ngx_http_hoop_review_api_id(ngx_str_t *id);
static void ngx_http_hoop_review_api_viewer(ngx_http_request_t *r,
    ngx_hoop_review_viewer_t *viewer);


char *
ngx_http_hoop_review_api(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_hoop_loc_conf_t *hlcf = conf;

    ngx_str_t                  *value;
    ngx_http_core_loc_conf_t   *clcf;
    ngx_http_hoop_main_conf_t  *hmcf;

    if (hlcf->review_api != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    hlcf->review_api = 1;

    if (cf->args->nelts == 2) {
        value = cf->args->elts;

        if (ngx_strncmp(value[1].data, "auditors=", 9) != 0
            || value[1].len == 9)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid parameter \"%V\" in \"%V\"",
                               &value[1], &cmd->name);
            return NGX_CONF_ERROR;
        }

        hlcf->review_auditors.data = value[1].data + 9;
        hlcf->review_auditors.len = value[1].len - 9;
    }

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_hoop_review_api_handler;

    hmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_hoop_module);
    hmcf->review_used = 1;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_hoop_review_api_handler(ngx_http_request_t *r)
{
    u_char                       *p, *end, *slash;
    ngx_int_t                     rc;
    ngx_str_t                     rest, status;
    ngx_http_hoop_ctx_t          *ctx;
    ngx_hoop_review_viewer_t      viewer;
    ngx_http_hoop_review_call_t  *call;
    ngx_http_hoop_main_conf_t    *hmcf;

    hmcf = ngx_http_get_module_main_conf(r, ngx_http_hoop_module);
    ctx = ngx_http_hoop_get_ctx(r);

    if (ctx == NULL || !ctx->authenticated) {
        return NGX_HTTP_UNAUTHORIZED;
    }

    if (hmcf->reviews == NULL) {
        return NGX_HTTP_SERVICE_UNAVAILABLE;
    }

    /* what follows the last "/reviews" of the path */

    end = r->uri.data + r->uri.len;
    p = NULL;

    for (slash = r->uri.data; slash + 8 <= end; slash++) {
        if (ngx_strncmp(slash, "/reviews", 8) == 0
            && (slash + 8 == end || slash[8] == '/'))
        {
            p = slash + 8;
        }
    }

    if (p == NULL) {
        return ngx_http_hoop_output_json(r, NGX_HTTP_NOT_FOUND,
                   ngx_http_hoop_json_error(r, "not_found",
                                            "no such resource"));
    }

    rest.data = p;
    rest.len = end - p;

    ngx_http_hoop_review_api_viewer(r, &viewer);

    if (rest.len <= 1) {
        if (r->method != NGX_HTTP_GET) {
            return NGX_HTTP_NOT_ALLOWED;
        }

        if (ngx_http_arg(r, (u_char *) "status", 6, &status) != NGX_OK) {
            ngx_str_null(&status);
        }

        if (ngx_hoop_review_list(hmcf->reviews, &status, &viewer,
                                 ngx_http_hoop_review_api_json, r)
            != NGX_OK)
        {
            return NGX_HTTP_SERVICE_UNAVAILABLE;
        }

        r->main->count++;
        return NGX_DONE;
    }

    call = ngx_pcalloc(r->pool, sizeof(ngx_http_hoop_review_call_t));
    if (call == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    call->id.data = rest.data + 1;
    slash = ngx_strlchr(call->id.data, end, '/');
    call->id.len = (slash ? slash : end) - call->id.data;

    if (ngx_http_hoop_review_api_id(&call->id) != NGX_OK) {
        return ngx_http_hoop_output_json(r, NGX_HTTP_NOT_FOUND,
                   ngx_http_hoop_json_error(r, "not_found", "no such review"));
    }

    if (slash == NULL) {
        if (r->method != NGX_HTTP_GET) {
            return NGX_HTTP_NOT_ALLOWED;
        }

        if (ngx_hoop_review_show(hmcf->reviews, &call->id, &viewer,
                                 ngx_http_hoop_review_api_json, r)
            != NGX_OK)
        {
            return NGX_HTTP_SERVICE_UNAVAILABLE;
        }

        r->main->count++;
        return NGX_DONE;
    }

    if (end - slash == 8 && ngx_strncmp(slash, "/approve", 8) == 0) {
        call->approve = 1;

    } else if (!(end - slash == 7 && ngx_strncmp(slash, "/reject", 7) == 0))
    {
        return ngx_http_hoop_output_json(r, NGX_HTTP_NOT_FOUND,
                   ngx_http_hoop_json_error(r, "not_found",
                                            "no such resource"));
    }

    if (r->method != NGX_HTTP_POST) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    ctx->review_call = call;

    r->request_body_in_single_buf = 1;

    rc = ngx_http_read_client_request_body(r, ngx_http_hoop_review_api_body);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


static void
ngx_http_hoop_review_api_body(ngx_http_request_t *r)
{
    ngx_int_t                     rc;
    ngx_http_hoop_ctx_t          *ctx;
    ngx_hoop_review_viewer_t      viewer;
    ngx_http_hoop_review_call_t  *call;
    ngx_http_hoop_main_conf_t    *hmcf;

    hmcf = ngx_http_get_module_main_conf(r, ngx_http_hoop_module);
    ctx = ngx_http_hoop_get_ctx(r);
    call = ctx->review_call;

    rc = ngx_http_hoop_review_api_reason(r, &call->reason);

    if (rc != NGX_OK) {
        ngx_http_finalize_request(r, rc);
        return;
    }

    ngx_http_hoop_review_api_viewer(r, &viewer);

    if (ngx_hoop_review_decide(hmcf->reviews, &call->id, call->approve,
                               &viewer.sub, &viewer.groups, &call->reason,
                               ngx_http_hoop_review_api_decided, r)
        != NGX_OK)
    {
        ngx_http_finalize_request(r, NGX_HTTP_SERVICE_UNAVAILABLE);
        return;
    }

    /* the request body's reference holds the request until the answer */
}


/* {"reason": "..."}, or no body at all */
static ngx_int_t
ngx_http_hoop_review_api_reason(ngx_http_request_t *r, ngx_str_t *reason)
{
    json_t        *root, *v;
    ngx_buf_t     *b;
    json_error_t   err;

    ngx_str_null(reason);

    if (r->request_body == NULL || r->request_body->bufs == NULL) {
        return NGX_OK;
    }

    b = r->request_body->bufs->buf;

    if (r->request_body->bufs->next != NULL || b->in_file
        || b->last - b->pos > NGX_HTTP_HOOP_REVIEW_BODY_MAX)
    {
        return NGX_HTTP_REQUEST_ENTITY_TOO_LARGE;
    }

    if (b->last == b->pos) {
        return NGX_OK;
    }

    root = json_loadb((char *) b->pos, b->last - b->pos, 0, &err);
    v = json_object_get(root, "reason");

    if (!json_is_object(root) || (v != NULL && !json_is_string(v))) {
        json_decref(root);
        return NGX_HTTP_BAD_REQUEST;
    }

    if (v != NULL) {
        reason->len = ngx_min(json_string_length(v),
                              NGX_HTTP_HOOP_REVIEW_REASON_MAX);

        /* cut before a character, never inside one (UTF-8) */

        while (reason->len > 0
               && reason->len < json_string_length(v)
               && (json_string_value(v)[reason->len] & 0xc0) == 0x80)
        {
            reason->len--;
        }

        reason->data = ngx_pnalloc(r->pool, reason->len);

        if (reason->data == NULL) {
            json_decref(root);
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_memcpy(reason->data, json_string_value(v), reason->len);
    }

    json_decref(root);

    return NGX_OK;
}


static void
ngx_http_hoop_review_api_decided(void *data, ngx_hoop_review_outcome_t *o,
    ngx_str_t *json)
{
    ngx_http_request_t *r = data;

    size_t                        cap, len;
    ngx_buf_t                    *b;
    ngx_uint_t                    status, level;
    hoop_json_t                   j;
    ngx_connection_t             *c;
    ngx_http_hoop_ctx_t          *ctx;
    ngx_http_hoop_review_call_t  *call;

    c = r->connection;
    ctx = ngx_http_hoop_get_ctx(r);
    call = ctx->review_call;

    if (o == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_SERVICE_UNAVAILABLE);
        ngx_http_run_posted_requests(c);
        return;
    }

    ngx_http_hoop_audit_review(r, &call->id, call->approve, o,
                               &call->reason);

    if (ngx_strncmp(o->result.data, "not_found", o->result.len) == 0) {
        status = NGX_HTTP_NOT_FOUND;

    } else if (ngx_strncmp(o->result.data, "decided", o->result.len) == 0
               || ngx_strncmp(o->result.data, "already", o->result.len) == 0)
    {
        status = NGX_HTTP_CONFLICT;

    } else if (ngx_strncmp(o->result.data, "self", o->result.len) == 0
               || ngx_strncmp(o->result.data, "not_approver", o->result.len)
                  == 0)
    {
        status = NGX_HTTP_FORBIDDEN;

    } else {
        status = NGX_HTTP_OK;
    }

    level = (status == NGX_HTTP_OK) ? NGX_LOG_NOTICE : NGX_LOG_WARN;

    ngx_log_error(level, c->log, 0,
                  "hoop_review_api: %s of review %V by \"%*s\": %V",
                  call->approve ? "approval" : "rejection", &call->id,
                  ctx->identity.sub.len, ctx->identity.sub.data, &o->result);

    cap = 256 + o->result.len + o->status.len + call->id.len;

    b = ngx_create_temp_buf(r->pool, cap);
    if (b == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        ngx_http_run_posted_requests(c);
        return;
    }

    hoop_json_init(&j, (char *) b->pos, cap);
    hoop_json_object(&j, NULL);
    hoop_json_string(&j, "review", (char *) call->id.data, call->id.len);
    hoop_json_string(&j, "result", (char *) o->result.data, o->result.len);
    hoop_json_string(&j, "status", (char *) o->status.data, o->status.len);
    hoop_json_int(&j, "approvals", o->approvals);
    hoop_json_int(&j, "required", o->required);
    hoop_json_end(&j);
    len = hoop_json_finish(&j);

    b->pos[len++] = '\n';
    b->last = b->pos + len;

    (void) ngx_http_hoop_send_json(r, status, b);

    ngx_http_run_posted_requests(c);
}


static void
ngx_http_hoop_review_api_json(void *data, ngx_hoop_review_outcome_t *o,
    ngx_str_t *json)
{
    ngx_http_request_t *r = data;

    ngx_buf_t         *b;
    ngx_connection_t  *c;

    c = r->connection;

    if (json == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_SERVICE_UNAVAILABLE);
        ngx_http_run_posted_requests(c);
        return;
    }

    if (json->len == 0) {
        (void) ngx_http_hoop_send_json_error(r, NGX_HTTP_NOT_FOUND,
                                             "not_found", "no such review");
        ngx_http_run_posted_requests(c);
        return;
    }

    b = ngx_create_temp_buf(r->pool, json->len + 1);
    if (b == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        ngx_http_run_posted_requests(c);
        return;
    }

    b->last = ngx_cpymem(b->pos, json->data, json->len);
    *b->last++ = '\n';

    (void) ngx_http_hoop_send_json(r, NGX_HTTP_OK, b);

    ngx_http_run_posted_requests(c);
}


/* 32 hex digits, as the gateway makes them */
static ngx_int_t
ngx_http_hoop_review_api_id(ngx_str_t *id)
{
    ngx_uint_t  i;

    if (id->len != NGX_HOOP_REVIEW_ID_LEN) {
        return NGX_ERROR;
    }

    for (i = 0; i < id->len; i++) {
        if (!((id->data[i] >= '0' && id->data[i] <= '9')
              || (id->data[i] >= 'a' && id->data[i] <= 'f')))
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/* The verified identity that asks, and who may see every review here. */
static void
ngx_http_hoop_review_api_viewer(ngx_http_request_t *r,
    ngx_hoop_review_viewer_t *viewer)
{
    ngx_http_hoop_ctx_t       *ctx;
    ngx_http_hoop_loc_conf_t  *hlcf;

    ctx = ngx_http_hoop_get_ctx(r);
    hlcf = ngx_http_get_module_loc_conf(r, ngx_http_hoop_module);

    viewer->sub.data = (u_char *) ctx->identity.sub.data;
    viewer->sub.len = ctx->identity.sub.len;
    viewer->groups.data = (u_char *) ctx->identity.groups.data;
    viewer->groups.len = ctx->identity.groups.len;
    viewer->auditors = hlcf->review_auditors;

    if (viewer->groups.data == NULL) {
        ngx_str_set(&viewer->groups, "");
    }

    if (viewer->auditors.data == NULL) {
        ngx_str_set(&viewer->auditors, "");
    }
}
