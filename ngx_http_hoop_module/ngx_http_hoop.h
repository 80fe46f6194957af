/*
 * Copyright (C) nginx-hoop authors
 */

#ifndef NGX_HTTP_HOOP_H
#define NGX_HTTP_HOOP_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "hoop_git.h"
#include "hoop_json.h"
#include "hoop_kube.h"
#include "hoop_mask.h"
#include "hoop_rule.h"
#include "ngx_hoop_audit.h"
#include "ngx_hoop_oidc.h"
#include "ngx_hoop_redis_conf.h"
#include "ngx_hoop_review.h"




typedef struct {
    ngx_hoop_redis_conf_t   *redis;
    ngx_hoop_oidc_conf_t     oidc;
    ngx_hoop_audit_t         audit;
    ngx_hoop_reviews_t      *reviews;       /* per worker */
    ngx_hoop_review_webhook_t  *webhook;    /* hoop_review_webhook */
    ngx_uint_t               auth_used;     /* unsigned:1 */
    ngx_uint_t               review_used;   /* unsigned:1 */
} ngx_http_hoop_main_conf_t;


typedef struct {
    ngx_flag_t               auth;          /* hoop_auth */
    ngx_str_t                realm;         /* hoop_auth_realm */
    ngx_flag_t               audit;         /* hoop_audit */
    ngx_array_t             *rules;         /* hoop_rule, of hoop_rule_t */
    ngx_uint_t               default_action;    /* hoop_default */
    ngx_flag_t               review_api;    /* hoop_review_api */
    ngx_str_t                review_auditors;   /* auditors= */
    ngx_uint_t               path_case;     /* hoop_rule_path_case */
    ngx_flag_t               method_override;   /* hoop_rule_method_... */
    size_t                   body_max;      /* hoop_rule_body_max */
    ngx_flag_t               git;           /* hoop_git */
    ngx_flag_t               kube;          /* hoop_kube */
    ngx_flag_t               kube_spdy;     /* hoop_kube_spdy */
    size_t                   kube_record_max;   /* hoop_kube_record_max */
    ngx_str_t                upstream_auth; /* hoop_upstream_credentials:
                                               the header's value */
    ngx_uint_t               secrets;       /* hoop_git_secrets: types
                                               (HOOP_MASK_* bits), 0 off */
    hoop_rule_t             *secrets_rule;  /* ... its verdict */
} ngx_http_hoop_loc_conf_t;


/* where in a push a secret was found */
typedef enum {
    NGX_HTTP_HOOP_GIT_IN_FILE = 0,          /* a blob */
    NGX_HTTP_HOOP_GIT_IN_CHANGE,            /* text a delta inserts */
    NGX_HTTP_HOOP_GIT_IN_COMMIT,            /* a commit (its message) */
    NGX_HTTP_HOOP_GIT_IN_TAG,               /* an annotated tag */
    NGX_HTTP_HOOP_GIT_IN_NAME,              /* a file or directory name */
    NGX_HTTP_HOOP_GIT_IN_REF                /* a ref's name */
} ngx_http_hoop_git_in_e;


/* a secret found in a push: what, and where (never the value) */
typedef struct {
    ngx_uint_t               type;          /* HOOP_MASK_* */
    ngx_uint_t               in;            /* ngx_http_hoop_git_in_e */
    u_char                   blob[32];      /* in a file: its id */
    ngx_str_t                path;          /* ... its path, masked */
} ngx_http_hoop_git_secret_t;


/* how one ref update of a push was decided */
typedef struct {
    ngx_uint_t               action;        /* HOOP_RULE_* */
    const char              *rule;          /* its name, or "default" */
    const hoop_rule_t       *by;            /* NULL: the default */
} ngx_http_hoop_git_decided_t;


/* A git request (hoop_git): what it asks of which repository. */
typedef struct {
    ngx_str_t                repo;          /* the path before the service */
    ngx_str_t                service;       /* git-upload-pack, ... */
    ngx_uint_t               protocol;      /* 0, or 2 (Git-Protocol) */
    hoop_git_push_t         *push;          /* a push's update requests */
    hoop_git_command_t      *commands;
    char                    *refs;
    hoop_git_fetch_t        *fetch;         /* a fetch's negotiation */
    void                    *gunzip;        /* ... inflated (a z_stream) */
    u_char                  *gunzip_out;
    hoop_git_pack_t         *pack;          /* a push's pack, as read */
    u_char                  *ff;            /* per command: 1 proven a
                                               fast-forward */
    ngx_http_hoop_git_decided_t  *decided;  /* per command */
    const char              *unread;        /* why the body was not read */
    unsigned                 discovery:1;   /* info/refs */
    unsigned                 dumb:1;        /* the dumb protocol's files */
    unsigned                 receive:1;     /* git-receive-pack */
    unsigned                 read:1;
    unsigned                 pushed:1;      /* the update requests read */
    unsigned                 refused:1;     /* answered with "ng" */
    unsigned                 packed:1;      /* the pack was read whole */
    unsigned                 pack_read:1;
    off_t                    pack_at;       /* where the pack starts */
    off_t                    fed;           /* of the body, to the reader */
    unsigned                 progress:1;    /* held: the response began */
    hoop_mask_stream_t      *scan;          /* what a push adds, scanned */
    hoop_mask_conf_t         scan_conf;
    ngx_http_hoop_git_secret_t  *secrets;
    ngx_uint_t               nsecrets;      /* found (listed: at most 16) */
    ngx_uint_t               scanned;       /* objects scanned */
    ngx_event_t              keepalive;     /* ... kept alive while held */
} ngx_http_hoop_git_t;


/* An exec's session after the 101, as the relay saw it: its summary. */
typedef struct {
    off_t                    bytes[3];      /* stdin, stdout, stderr */
    off_t                    recorded;      /* bytes in kube.exec.data */
    off_t                    recorded_size; /* ... as written there */
    ngx_uint_t               events;        /* ... events */
    ngx_int_t                exit_code;     /* -1: none came */
    u_char                   failure[64];   /* a Status's other reason */
    size_t                   failure_len;
    uint64_t                 masked[HOOP_MASK_NTYPES];      /* output */
    uint64_t                 masked_stdin[HOOP_MASK_NTYPES];
    ngx_uint_t               resizes;
    ngx_uint_t               width;         /* the first size */
    ngx_uint_t               height;
    ngx_uint_t               client_close;  /* close codes, 0: none */
    ngx_uint_t               server_close;
    ngx_msec_t               duration;
    const char              *error;         /* why it ended, if not a
                                               close */
    unsigned                 truncated:1;
    unsigned                 stdin_closed:1;
} ngx_http_hoop_kube_session_t;


/*
 * A port-forward's tunnel, relayed by nginx as it is: what the
 * connections' counters said at the 101, to tell the tunnel's bytes.
 */
typedef struct {
    off_t                    up_sent;       /* to the server, at the 101 */
    off_t                    down_read;     /* from it: its header */
    ngx_msec_t               start;
} ngx_http_hoop_kube_tunnel_t;

/* the ports= a port-forward names, at most (the server has no bound) */
#define NGX_HTTP_HOOP_KUBE_PORTS  16


/*
 * A request to the Kubernetes API (hoop_kube): what it names, and for a
 * pod's exec, attach or portforward, what it asks to run and how.
 */
typedef struct {
    hoop_kube_path_t         path;          /* parts of r->uri */
    const char              *verb;
    ngx_uint_t               stream;        /* hoop_kube_stream_e */
    ngx_str_t                command;       /* command= values, joined */
    ngx_str_t                container;     /* the first container= */
    ngx_str_t                shown;         /* the command, masked */
    ngx_str_t                selected;      /* a fieldSelector's name */
    ngx_uint_t               tty;           /* tty=, as ANY_* bits */
    ngx_uint_t               input;         /* stdin= */
    uint16_t                 ports[NGX_HTTP_HOOP_KUBE_PORTS];
    ngx_uint_t               nports;        /* a port-forward's ports= */
    unsigned                 ports_unread:1; /* a tunnel that names its
                                               ports inside: any port */
    ngx_uint_t               refuse;        /* a status, whatever the
                                               rules say; or 0 */
    const char              *refusal;       /* ... why */
    unsigned                 websocket:1;
    unsigned                 spdy:1;
    unsigned                 container_set:1;
    unsigned                 shown_failed:1;
    ngx_http_hoop_kube_session_t  *session; /* after the 101 */
    void                    *relay;
    ngx_http_hoop_kube_tunnel_t   *tunnel;  /* a port-forward's, after
                                               the 101 */
    unsigned                 in_stream:1;   /* refused after a 101 */
} ngx_http_hoop_kube_t;

/* the command an event or a reviewer is shown, at most */
#define NGX_HTTP_HOOP_KUBE_COMMAND_SHOWN  4096

/* the occurrences of a boolean argument: any true, any false (or none) */
#define NGX_HTTP_HOOP_KUBE_ANY_TRUE   0x01
#define NGX_HTTP_HOOP_KUBE_ANY_FALSE  0x02


/* Per request (kept on the main request): who is asking. */
typedef struct {
    hoop_identity_t          identity;
    ngx_str_t                token;         /* while keys are fetched */
    const char              *scheme;
    const char              *rule;          /* the rule that decided */
    ngx_str_t                method;        /* the method it decided on:
                                               an override's, if it won */
    ngx_str_t                path_lax;      /* the laxest reading of the
                                               path, if not the path */
    ngx_hoop_oidc_wait_t     wait;
    ngx_http_hoop_git_t     *git;           /* a git request, or NULL */
    ngx_http_hoop_kube_t    *kube;          /* a Kubernetes API request */
    ngx_hoop_review_wait_t  *review;        /* held for this review */
    void                    *review_conf;   /* in this location */
    void                    *review_call;   /* a reviewer's decision */
    ngx_hoop_review_wait_t  *grant;         /* the grant looked up */
    const hoop_rule_t       *grant_rule;    /* for this rule */
    unsigned                 authenticated:1;
    unsigned                 waiting:1;
    unsigned                 audit_unavailable:1;   /* said at access */
    unsigned                 body_read:1;   /* for the rules: once */
} ngx_http_hoop_ctx_t;


extern ngx_module_t  ngx_http_hoop_module;


/* ngx_http_hoop_module.c */
ngx_int_t ngx_http_hoop_add_handler(ngx_conf_t *cf, ngx_http_phases phase,
    ngx_http_handler_pt handler);
ngx_int_t ngx_http_hoop_output_json(ngx_http_request_t *r, ngx_uint_t status,
    ngx_buf_t *b);
ngx_int_t ngx_http_hoop_output(ngx_http_request_t *r, ngx_uint_t status,
    ngx_str_t *type, ngx_buf_t *b);
ngx_int_t ngx_http_hoop_send_json(ngx_http_request_t *r, ngx_uint_t status,
    ngx_buf_t *b);
ngx_buf_t *ngx_http_hoop_json_error(ngx_http_request_t *r, const char *error,
    const char *message);
ngx_int_t ngx_http_hoop_send_json_error(ngx_http_request_t *r,
    ngx_uint_t status, const char *error, const char *message);
ngx_table_elt_t *ngx_http_hoop_find_header(ngx_http_request_t *r,
    ngx_str_t *names, ngx_uint_t n);
ngx_table_elt_t *ngx_http_hoop_next_header(ngx_http_request_t *r,
    ngx_str_t *names, ngx_uint_t n, ngx_table_elt_t *prev);

/* ngx_http_hoop_auth.c */
ngx_int_t ngx_http_hoop_auth_init(ngx_conf_t *cf);
ngx_http_hoop_ctx_t *ngx_http_hoop_get_ctx(ngx_http_request_t *r);
ngx_http_hoop_ctx_t *ngx_http_hoop_ctx_create(ngx_http_request_t *r);
ngx_int_t ngx_http_hoop_delay(ngx_http_request_t *r, ngx_msec_t delay);
void ngx_http_hoop_hide_request_header(ngx_http_request_t *r,
    ngx_table_elt_t *h);

/* ngx_http_hoop_audit.c */
ngx_int_t ngx_http_hoop_audit_init(ngx_conf_t *cf);
ngx_int_t ngx_http_hoop_audit_emit(ngx_http_request_t *r,
    ngx_hoop_audit_build_pt build, void *data);
void ngx_http_hoop_audit_review_requested(ngx_http_request_t *r,
    ngx_hoop_review_wait_t *w, const hoop_rule_t *rule);
void ngx_http_hoop_audit_review(ngx_http_request_t *r, ngx_str_t *id,
    ngx_uint_t approve, ngx_hoop_review_outcome_t *outcome,
    ngx_str_t *reason);

/* ngx_http_hoop_git.c */
ngx_int_t ngx_http_hoop_git_request(ngx_http_request_t *r,
    ngx_http_hoop_ctx_t *ctx);
ngx_uint_t ngx_http_hoop_git_body_wanted(ngx_http_request_t *r,
    ngx_http_hoop_ctx_t *ctx);
ngx_int_t ngx_http_hoop_git_read(ngx_http_request_t *r,
    ngx_http_hoop_ctx_t *ctx);
ngx_int_t ngx_http_hoop_git_read_pack(ngx_http_request_t *r,
    ngx_http_hoop_ctx_t *ctx);
void ngx_http_hoop_git_ref(ngx_http_hoop_git_t *git, ngx_uint_t i,
    ngx_str_t *ref);
ngx_uint_t ngx_http_hoop_git_fast_forward(ngx_http_hoop_git_t *git,
    ngx_uint_t i);
ngx_int_t ngx_http_hoop_git_refuse(ngx_http_request_t *r,
    ngx_http_hoop_ctx_t *ctx, ngx_str_t *reasons, const char *why);
void ngx_http_hoop_git_held(ngx_http_request_t *r, ngx_http_hoop_ctx_t *ctx,
    ngx_hoop_review_wait_t *w, const hoop_rule_t *rule);
ngx_int_t ngx_http_hoop_git_filter_init(ngx_conf_t *cf);
/* ngx_http_hoop_git_secrets.c */
char *ngx_http_hoop_git_secrets(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_hoop_git_scan_init(ngx_http_request_t *r,
    ngx_http_hoop_git_t *git);
void ngx_http_hoop_git_scan_done(ngx_http_request_t *r,
    ngx_http_hoop_git_t *git);
const hoop_rule_t *ngx_http_hoop_git_secrets_verdict(ngx_http_request_t *r,
    ngx_http_hoop_ctx_t *ctx, char **why);
ngx_int_t ngx_http_hoop_git_forbidden(ngx_http_request_t *r,
    const char *rule, const char *reason);
void ngx_http_hoop_git_json(ngx_http_request_t *r, hoop_json_t *j);

/* ngx_http_hoop_kube.c */
ngx_int_t ngx_http_hoop_kube_request(ngx_http_request_t *r,
    ngx_http_hoop_ctx_t *ctx);
ngx_int_t ngx_http_hoop_kube_ws_token(ngx_http_request_t *r,
    ngx_str_t *token);
int ngx_http_hoop_kube_attr(ngx_http_request_t *r, ngx_http_hoop_kube_t *kube,
    const hoop_rule_cond_t *c, int all);
ngx_int_t ngx_http_hoop_kube_status(ngx_http_request_t *r,
    ngx_uint_t status, const char *reason, const char *message,
    const char *rule);
void ngx_http_hoop_kube_json(ngx_http_request_t *r, hoop_json_t *j);
ngx_int_t ngx_http_hoop_kube_shown(ngx_http_request_t *r,
    ngx_http_hoop_kube_t *kube);
ngx_int_t ngx_http_hoop_kube_refuse_in_stream(ngx_http_request_t *r,
    ngx_http_hoop_kube_t *kube, ngx_uint_t status, const char *reason,
    const char *message);
const char *ngx_http_hoop_kube_kind(ngx_http_hoop_kube_t *kube);
/* ngx_http_hoop_kube_relay.c */
ngx_int_t ngx_http_hoop_kube_relay_init(ngx_conf_t *cf);
ngx_uint_t ngx_http_hoop_kube_relays(ngx_http_request_t *r);
void ngx_http_hoop_kube_relay_log(ngx_http_request_t *r);

/* ngx_http_hoop_mask_filter_module.c */
ngx_int_t ngx_http_hoop_mask_result(ngx_http_request_t *r,
    uint64_t counts[HOOP_MASK_NTYPES], const char **unmasked,
    const char **action);
const hoop_mask_conf_t *ngx_http_hoop_mask_conf(ngx_http_request_t *r);

/* ngx_http_hoop_review.c */
ngx_int_t ngx_http_hoop_review_hold(ngx_http_request_t *r,
    ngx_http_hoop_ctx_t *ctx, const hoop_rule_t *rule);
ngx_int_t ngx_http_hoop_review_grant(ngx_http_request_t *r,
    ngx_http_hoop_ctx_t *ctx, const hoop_rule_t *rule);
void ngx_http_hoop_review_abandon(ngx_http_hoop_ctx_t *ctx);

/* ngx_http_hoop_review_api.c */
char *ngx_http_hoop_review_api(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

/* ngx_http_hoop_rules.c */
ngx_int_t ngx_http_hoop_rules_init(ngx_conf_t *cf);
char *ngx_http_hoop_rule(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);

/* ngx_http_hoop_upstream_auth.c */
ngx_int_t ngx_http_hoop_upstream_auth_init(ngx_conf_t *cf);
char *ngx_http_hoop_upstream_credentials(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

/* ngx_http_hoop_variables.c */
ngx_int_t ngx_http_hoop_add_variables(ngx_conf_t *cf);

#endif /* NGX_HTTP_HOOP_H */
