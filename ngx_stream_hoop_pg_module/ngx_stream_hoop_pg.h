/*
 * Copyright (C) nginx-hoop authors
 */

#ifndef NGX_STREAM_HOOP_PG_H
#define NGX_STREAM_HOOP_PG_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_stream.h>

#include "ngx_hoop_audit.h"
#include "ngx_hoop_flow.h"
#include "ngx_hoop_oidc.h"
#include "ngx_hoop_redis_conf.h"
#include "ngx_hoop_review.h"
#include "hoop_pg_cancel.h"
#include "hoop_pg_row.h"
#include "hoop_rule.h"
#include "hoop_scram.h"
#include "hoop_sql.h"
#include "hoop_sql_catalog.h"
#include "hoop_sql_lineage.h"
#include "hoop_sql_literal.h"


/* the largest message a client takes (PostgreSQL's MaxAllocSize - 1) */
#define NGX_STREAM_HOOP_PG_MESSAGE_MAX  0x3fffffff

/* masking room kept between rows; more is released once a row is done */
#define NGX_STREAM_HOOP_PG_SCRATCH_KEEP  (256 * 1024)

/* the text of an error raised by a statement reading a masked column */
#define NGX_STREAM_HOOP_PG_ERROR_WITHHELD                                    \
    "hoop: the error's text is withheld: the statement reads a masked"      \
    " column"

/* client messages sent on whose answers are awaited, at most */
#define NGX_STREAM_HOOP_PG_PENDING  128

/* statements of one simple Query described one by one, at most */
#define NGX_STREAM_HOOP_PG_STMTS    16


/* where a session is: the gateway logs in, then relays messages */
#define NGX_STREAM_HOOP_PG_LOGIN    0   /* the gateway answers the server */
#define NGX_STREAM_HOOP_PG_STARTUP  1   /* ParameterStatus, BackendKeyData */
#define NGX_STREAM_HOOP_PG_READY    2   /* queries */
#define NGX_STREAM_HOOP_PG_CANCEL   3   /* a CancelRequest was passed on */
#define NGX_STREAM_HOOP_PG_CATALOG  4   /* the gateway reads the catalog */


typedef struct {
    ngx_hoop_redis_conf_t   *redis;
    ngx_hoop_oidc_conf_t     oidc;
    ngx_hoop_audit_t         audit;
    ngx_uint_t               auth_used;       /* unsigned:1 */
    ngx_uint_t               review_used;     /* unsigned:1 */
    ngx_hoop_reviews_t      *reviews;         /* per worker */
    ngx_hoop_review_webhook_t  *webhook;      /* hoop_review_webhook */

    /* BackendKeyData is enciphered with it: per configuration load */
    u_char                   cancel_secret[HOOP_PG_CANCEL_SECRET_LEN];
} ngx_stream_hoop_pg_main_conf_t;


/* hoop_mask column=[table.]name: a column masked whole */
typedef struct {
    ngx_str_t                table;           /* empty: any table */
    ngx_str_t                column;
    ngx_uint_t               strategy;
} ngx_stream_hoop_pg_mask_column_t;


/* a masked column as the catalog of this session's database knows it */
typedef struct {
    uint32_t                 table_oid;
    uint32_t                 row_type;        /* the relation's, whole */
    uint32_t                 row_array;       /* an array of those */
    int16_t                  attnum;
    uint8_t                  strategy;
} ngx_stream_hoop_pg_mask_attr_t;


/* hoop_pg_login: the role the gateway logs in as, for a database or all */
typedef struct {
    char                    *user;
    char                    *dbname;          /* NULL: any database */
    ngx_str_t                password;
} ngx_stream_hoop_pg_login_t;


typedef struct {
    ngx_addr_t              *upstream;        /* hoop_pg_pass */
    ngx_msec_t               startup_timeout;
    ngx_msec_t               connect_timeout;
    ngx_msec_t               timeout;         /* hoop_pg_timeout */
    size_t                   buffer_size;
    size_t                   max_message;     /* hoop_pg_max_message */
    ngx_array_t             *logins;          /* of ..._pg_login_t */
    ngx_array_t             *rules;           /* hoop_rule, of hoop_rule_t */
    ngx_uint_t               default_action;  /* hoop_default */
    ngx_uint_t               read_only;       /* hoop_pg_read_only */
    ngx_flag_t               audit_literals;  /* hoop_pg_audit_literals */
    size_t                   audit_rows;      /* hoop_pg_audit_rows */
    ngx_str_t                certificate;     /* hoop_pg_certificate */
    ngx_str_t                certificate_key;
    ngx_flag_t               require_tls;     /* hoop_pg_require_tls */
    ngx_ssl_t               *ssl;             /* NULL: no client TLS */
    ngx_uint_t               upstream_tls;    /* hoop_pg_upstream_tls */
    ngx_str_t                upstream_trusted;
    ngx_str_t                upstream_host;   /* of hoop_pg_pass */
    ngx_ssl_t               *upstream_ssl;
    ngx_int_t                mask_enable;     /* hoop_mask, -1 unset */
    hoop_mask_conf_t         mask;            /* detectors */
    ngx_array_t             *mask_columns;    /* of ..._mask_column_t */
    ngx_str_t                mask_key;        /* hoop_mask_key */
    ngx_str_t                mask_catalog;    /* the SQL resolving them */
    u_char                  *mask_names;      /* their names, NUL-ended */
    const char             **read_safe;       /* hoop_pg_read_safe */
    ngx_str_t                catalog_query;   /* at login: Query message */
    ngx_str_t                catalog_fetch;   /* the catalog's, if new */
    ngx_flag_t               auth;            /* hoop_pg_auth */
    ngx_flag_t               audit;           /* hoop_audit */
} ngx_stream_hoop_pg_srv_conf_t;


/*
 * One statement as the policy saw it: its classification and verdict, and
 * the SQL as the audit trail keeps it (literals masked unless
 * hoop_pg_audit_literals).  Shared, counted: a prepared statement, the
 * portals bound to it and the executions pending all point to it.
 */
typedef struct {
    ngx_uint_t               refs;
    hoop_sql_stmt_t          cls;
    const hoop_rule_t       *rule;            /* NULL: the default */
    ngx_uint_t               action;          /* HOOP_RULE_* */
    ngx_uint_t               decided;         /* ctx->schemas_gen then */
    const char              *parse_error;     /* unknown: why */
    hoop_sql_lineage_t       lineage;         /* of masked columns */
    size_t                   len;
    u_char                  *text;            /* NULL: not recorded */

    /* as sent, kept only where statements may be held for review */
    size_t                   source_len;
    u_char                  *source;

    /* a reviewed Parse's approval: its first execution runs under it */
    u_char                   review[NGX_HOOP_REVIEW_ID_LEN + 1];
    const char              *review_status;   /* NULL: none to use */
    unsigned                 granted:1;
    unsigned                 launders:1;      /* denied: it would write a
                                                 masked column's values */
    unsigned                 copies_masked:1; /* denied: COPY TO of a
                                                 masked column, which
                                                 column masks do not
                                                 follow */
} ngx_stream_hoop_pg_sql_t;


/* A prepared statement or a portal, by name. */
typedef struct ngx_stream_hoop_pg_named_s  ngx_stream_hoop_pg_named_t;

struct ngx_stream_hoop_pg_named_s {
    ngx_stream_hoop_pg_named_t  *next;
    ngx_stream_hoop_pg_sql_t    *sql;
    size_t                       len;
    u_char                       name[1];
};


/* One statement run: what came of it, for its audit event. */
typedef struct {
    ngx_stream_hoop_pg_sql_t  *sql;
    off_t                      rows;          /* -1: no count */
    off_t                      bytes;         /* of its rows */
    u_char                     sqlstate[6];   /* "" : succeeded */
    uint32_t                   masked[HOOP_PG_MASKED_KINDS];
    u_char                    *captured;      /* DataRows as sent, ngx_alloc */
    size_t                     captured_len;
    size_t                     captured_size;
    unsigned                   ran:1;
    unsigned                   truncated:1;   /* rows not captured */
    unsigned                   denied:1;
    unsigned                   unaudited:1;   /* denied: no trail to take
                                                 its event (fail closed) */
    unsigned                   withheld:1;    /* allowed, but refused with
                                                 the Query it was in */
} ngx_stream_hoop_pg_run_t;


/* A Query, an Execute or a FunctionCall awaiting its end. */
typedef struct ngx_stream_hoop_pg_query_s  ngx_stream_hoop_pg_query_t;

struct ngx_stream_hoop_pg_query_s {
    ngx_stream_hoop_pg_query_t *done_next;    /* ended, to be recorded */
    ngx_msec_t                 start;
    u_char                     review[NGX_HOOP_REVIEW_ID_LEN + 1];
    const char                *review_status;  /* NULL: not reviewed */
    unsigned                   granted:1;      /* by an earlier approval */
    unsigned                   abandoned:1;    /* session closed first */
    ngx_uint_t                 n;
    ngx_uint_t                 current;
    unsigned                   extended:1;
    ngx_stream_hoop_pg_run_t   run[1];
};


/* A client message sent on, awaiting its answer. */
typedef struct {
    u_char                       type;
    u_char                       denied;      /* its ErrorResponse: ours */
    u_char                       injected;    /* the gateway's: answer ours */
    u_char                       revert;      /* a Parse: if refused, its
                                                 name gets sql (or none)
                                                 back; text is the name */
    u_char                      *text;        /* the denial's, if not the
                                                 rule's (ngx_alloc) */
    ngx_stream_hoop_pg_query_t  *query;       /* Q, E, F */
    ngx_stream_hoop_pg_sql_t    *sql;         /* a denied Parse's; an
                                                 allowed one's predecessor */
} ngx_stream_hoop_pg_pending_t;


/* A catalog the worker built (ngx_stream_hoop_pg_catalog.c). */
typedef struct ngx_stream_hoop_pg_snapshot_s  ngx_stream_hoop_pg_snapshot_t;


/* One client session and its upstream connection. */
typedef struct {
    ngx_peer_connection_t        peer;
    ngx_hoop_flow_t              up;            /* client to upstream */
    ngx_hoop_flow_t              down;          /* upstream to client */
    ngx_stream_hoop_pg_login_t  *login;         /* NULL: client's user */
    ngx_str_t                    client_user;   /* from its startup */
    ngx_str_t                    client_database;
    ngx_str_t                    upstream_startup;
    ngx_str_t                    negotiate;     /* for the client, if any */
    uint32_t                     client_minor;  /* protocol 3.x asked */
    hoop_scram_t                *scram;
    ngx_uint_t                   phase;
    size_t                       startup_len;   /* at up.buf->pos */
    size_t                       password_len;  /* right after it */
    hoop_identity_t              identity;
    ngx_str_t                    audit_who;     /* identity ... resource */
    ngx_hoop_oidc_wait_t         wait;          /* for keys being fetched */
    ngx_event_t                  wait_event;
    ngx_str_t                    token;
    ngx_hoop_audit_session_t     audit;
    const char                  *refusal;       /* why the login failed */
    const char                  *ended;         /* why the session ended */
    ngx_uint_t                   waiting_audit; /* for Redis, at start */
    ngx_event_t                  idle;          /* hoop_pg_timeout */
    ngx_uint_t                   finalized;     /* logged, closing */
    const char                  *ended_sqlstate; /* the FATAL that ended it */
    ngx_str_t                    ended_message;
    unsigned                     connected:1;
    unsigned                     audited:1;     /* a session was opened */
    unsigned                     audit_who_failed:1;
    unsigned                     cancel:1;      /* a CancelRequest */
    unsigned                     authenticated:1;
    unsigned                     admitted:1;    /* its login passed the
                                                   audit trail's check */
    unsigned                     client_flow:1; /* client bytes relayed */
    unsigned                     policy:1;      /* rules to apply */
    unsigned                     read_only:1;   /* pinned in PostgreSQL */
    unsigned                     tls_direct:1;  /* TLS from the first byte */
    unsigned                     tls_peeked:1;  /* first byte looked at */

    /* the statements and their answers (ngx_stream_hoop_pg_query.c) */
    ngx_stream_hoop_pg_pending_t *pending;
    ngx_uint_t                   pending_head;
    ngx_uint_t                   pending_count;
    ngx_stream_hoop_pg_query_t  *done;          /* answered, not recorded */
    ngx_stream_hoop_pg_query_t **done_last;
    ngx_stream_hoop_pg_named_t  *statements;
    ngx_stream_hoop_pg_named_t  *portals;
    ngx_uint_t                   nstatements;
    u_char                       tx_status;     /* of the last Z */
    size_t                       captured;      /* result bytes recorded */

    /* the catalog (ngx_stream_hoop_pg_catalog.c) */
    ngx_stream_hoop_pg_snapshot_t *snapshot;
    const hoop_sql_catalog_t    *catalog;       /* NULL: none read */
    u_char                      *catalog_rows;  /* while they come */
    size_t                       catalog_len;
    size_t                       catalog_size;
    ngx_uint_t                   catalog_step;  /* result sets ended */
    u_char                       catalog_key[32];
    unsigned                     catalog_wanted:1;
    unsigned                     catalog_keyed:1;
    unsigned                     catalog_fetch:1;  /* its rows asked */
    unsigned                     catalog_sent:1;   /* the questions went */
    unsigned                     schemas_any:1; /* search_path: not known */
    unsigned                     own_path:1;    /* search_path at startup */
    ngx_str_t                    schemas;       /* search_path, ever */
    ngx_uint_t                   schemas_gen;   /* its changes */

    /* masking (ngx_stream_hoop_pg_mask.c) */
    ngx_array_t                 *mask_attrs;    /* of ..._mask_attr_t */
    ngx_str_t                    mask_relations; /* theirs, NUL-ended */
    u_char                      *mask_mentions; /* and definitions naming
                                                   them (the catalog's) */
    unsigned                     lineage_seen:1; /* a masked column read */
    unsigned                     lineage_all:1;  /* lineage_names: too many */
    u_char                      *lineage_names; /* tainted in the session,
                                                   for FETCH and EXECUTE */
    hoop_pg_field_t             *plan_fields;   /* the plan's storage */
    hoop_pg_cell_plan_t         *plan;          /* of the rows to come */
    ngx_uint_t                   plan_cols;
    ngx_uint_t                   plan_size;
    u_char                      *scratch;
    size_t                       scratch_size;
    unsigned                     plan_active:1; /* a cell to rewrite */
    unsigned                     copy_binary:1; /* COPY TO, binary */

    /* a statement held for review (ngx_stream_hoop_pg_review.c) */
    ngx_hoop_review_wait_t      *hold;
    ngx_uint_t                   hold_state;
    uint32_t                     issued_pid;    /* our BackendKeyData */
    uint32_t                     issued_key;
    unsigned                     hold_notice:1; /* a NoticeResponse due */
    unsigned                     masking:1;     /* hoop_mask applies */
    unsigned                     sync_skip:1;   /* server skips to Sync */
    unsigned                     copy_in:1;     /* server reads COPY data */
    unsigned                     no_push:1;     /* this one gets no answer */
    unsigned                     room_wait:1;   /* client waits for room */
    unsigned                     ring_full:1;   /* pushed past the ring */
} ngx_stream_hoop_pg_ctx_t;


extern ngx_module_t  ngx_stream_hoop_pg_module;


/* ngx_stream_hoop_pg_module.c */
void ngx_stream_hoop_pg_fatal(ngx_stream_session_t *s, ngx_uint_t rc,
    const char *sqlstate, const char *message, const char *hint);

/* ngx_stream_hoop_pg_startup.c: the client's first packets */
void ngx_stream_hoop_pg_startup(ngx_stream_session_t *s);
ngx_int_t ngx_stream_hoop_pg_login_recv(ngx_stream_session_t *s);
void ngx_stream_hoop_pg_startup_resume(ngx_stream_session_t *s);

/* ngx_stream_hoop_pg_tls.c: TLS on the client leg */
char *ngx_stream_hoop_pg_tls_conf(ngx_conf_t *cf,
    ngx_stream_hoop_pg_srv_conf_t *conf);
ngx_int_t ngx_stream_hoop_pg_tls_start(ngx_stream_session_t *s,
    ngx_uint_t direct);

/* ngx_stream_hoop_pg_auth.c: the access token as the password */
void ngx_stream_hoop_pg_auth(ngx_stream_session_t *s);

/* ngx_stream_hoop_pg_audit.c: login, refusal and session-end events */
ngx_int_t ngx_stream_hoop_pg_audit_init(ngx_conf_t *cf);
ngx_uint_t ngx_stream_hoop_pg_audit_refuses(ngx_stream_session_t *s,
    const char *what);
void ngx_stream_hoop_pg_audit_event(ngx_stream_session_t *s,
    const char *type);

/* ngx_stream_hoop_pg_login.c: the gateway's own login upstream */
char *ngx_stream_hoop_pg_login(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_stream_hoop_pg_login_prepare(ngx_stream_session_t *s);
ngx_int_t ngx_stream_hoop_pg_login_policy(ngx_stream_session_t *s);
ngx_int_t ngx_stream_hoop_pg_login_cancel(ngx_stream_session_t *s);
ngx_int_t ngx_stream_hoop_pg_login_message(ngx_stream_session_t *s,
    u_char *msg, size_t len);

/* ngx_stream_hoop_pg_query.c: client messages, decided before they go */
ngx_int_t ngx_stream_hoop_pg_query_client(ngx_stream_session_t *s,
    u_char *msg, size_t *len);

/* ngx_stream_hoop_pg_answer.c: the server's answers */
ngx_int_t ngx_stream_hoop_pg_query_server_whole(ngx_stream_session_t *s,
    u_char type, size_t len);
ngx_int_t ngx_stream_hoop_pg_query_server(ngx_stream_session_t *s,
    u_char *msg, size_t *len);
const char *ngx_stream_hoop_pg_denial_state(ngx_uint_t why);

/* ngx_stream_hoop_pg_pending.c: the session's statements end */
void ngx_stream_hoop_pg_query_cleanup(ngx_stream_hoop_pg_ctx_t *ctx);
void ngx_stream_hoop_pg_query_abandon(ngx_stream_session_t *s);
void ngx_stream_hoop_pg_query_done(ngx_stream_session_t *s);

/* ngx_stream_hoop_pg_mask.c: hoop_mask on results */
char *ngx_stream_hoop_pg_mask(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_stream_hoop_pg_mask_merge(ngx_conf_t *cf,
    ngx_stream_hoop_pg_srv_conf_t *prev, ngx_stream_hoop_pg_srv_conf_t *conf);
ngx_int_t ngx_stream_hoop_pg_mask_catalog_row(ngx_stream_session_t *s,
    u_char *msg, size_t len);
ngx_int_t ngx_stream_hoop_pg_mask_plan(ngx_stream_session_t *s, u_char *msg,
    size_t len);
void ngx_stream_hoop_pg_mask_lineage(ngx_stream_session_t *s,
    ngx_stream_hoop_pg_sql_t *sql, const char *text, size_t len);
ngx_stream_hoop_pg_sql_t *ngx_stream_hoop_pg_mask_statement(
    ngx_stream_hoop_pg_ctx_t *ctx);
ngx_int_t ngx_stream_hoop_pg_mask_message(ngx_stream_session_t *s,
    size_t *len, uint32_t *masked);
void ngx_stream_hoop_pg_mask_cleanup(ngx_stream_hoop_pg_ctx_t *ctx);

/* ngx_stream_hoop_pg_catalog.c: the database's catalog, read at login */
char *ngx_stream_hoop_pg_catalog_merge(ngx_conf_t *cf,
    ngx_stream_hoop_pg_srv_conf_t *prev, ngx_stream_hoop_pg_srv_conf_t *conf);
char *ngx_stream_hoop_pg_read_safe(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_stream_hoop_pg_catalog_start(ngx_stream_session_t *s);
ngx_int_t ngx_stream_hoop_pg_catalog_early(ngx_stream_session_t *s);
ngx_int_t ngx_stream_hoop_pg_catalog_message(ngx_stream_session_t *s,
    u_char *msg, size_t len);
void ngx_stream_hoop_pg_catalog_cleanup(ngx_stream_hoop_pg_ctx_t *ctx);
ngx_int_t ngx_stream_hoop_pg_schema_add(ngx_stream_session_t *s,
    ngx_str_t *name);
void ngx_stream_hoop_pg_catalog_free(void);

/* ngx_stream_hoop_pg_review.c: statements held for approval */
#define NGX_STREAM_HOOP_PG_DENIED_POLICY     1
#define NGX_STREAM_HOOP_PG_DENIED_AUDIT      2
#define NGX_STREAM_HOOP_PG_DENIED_REJECTED   3
#define NGX_STREAM_HOOP_PG_DENIED_EXPIRED    4
#define NGX_STREAM_HOOP_PG_DENIED_CANCELLED  5
#define NGX_STREAM_HOOP_PG_DENIED_NO_REVIEW  6

/* why an allowed statement of a refused Query did not run */
#define NGX_STREAM_HOOP_PG_WITHHELD                                          \
    "another statement of the same Query was refused, so none ran"

/* why a statement was refused when the trail could not take its event */
#define NGX_STREAM_HOOP_PG_LAUNDERS                                          \
    "it reads a masked column and could write what it read where masking"    \
    " does not follow"

#define NGX_STREAM_HOOP_PG_COPIES_MASKED                                     \
    "it copies out a masked column, and column masks do not apply to COPY"   \
    " data: SELECT it instead"

#define NGX_STREAM_HOOP_PG_UNAUDITED                                         \
    "hoop: the audit trail is unavailable, so no statement can run"

ngx_int_t ngx_stream_hoop_pg_review(ngx_stream_session_t *s,
    ngx_stream_hoop_pg_sql_t *sql, ngx_stream_hoop_pg_query_t *q,
    ngx_uint_t *why, u_char **text);
ngx_int_t ngx_stream_hoop_pg_review_notice(ngx_stream_session_t *s);
void ngx_stream_hoop_pg_review_cleanup(ngx_stream_hoop_pg_ctx_t *ctx);

/* ngx_stream_hoop_pg_classify.c: statements classified, parses cached */
#define NGX_STREAM_HOOP_PG_CACHE_TEXT  2048     /* longer: not cached */

int ngx_stream_hoop_pg_classify(ngx_stream_session_t *s, const char *text,
    hoop_sql_stmt_t *cls, size_t max, char *error, size_t error_len,
    char **normalized);
char *ngx_stream_hoop_pg_normalize(const char *text, size_t *len,
    ngx_log_t *log);
char *ngx_stream_hoop_pg_redact(const char *text, ngx_uint_t numbers,
    size_t *len, ngx_log_t *log);
void ngx_stream_hoop_pg_cache_free(void);

/* ngx_stream_hoop_pg_statement.c: statements and their runs */
ngx_stream_hoop_pg_sql_t *ngx_stream_hoop_pg_sql_new(ngx_stream_session_t *s,
    const char *text, size_t len, hoop_sql_stmt_t *cls,
    const char *parse_error, const char *normalized);
void ngx_stream_hoop_pg_sql_release(ngx_stream_hoop_pg_sql_t *sql);
ngx_stream_hoop_pg_query_t *ngx_stream_hoop_pg_query_new(ngx_uint_t n);
void ngx_stream_hoop_pg_query_free(ngx_stream_hoop_pg_query_t *q);

/* ngx_stream_hoop_pg_named.c: prepared statements and portals by name */
#define NGX_STREAM_HOOP_PG_NAME_MAX        1024

ngx_stream_hoop_pg_named_t **ngx_stream_hoop_pg_named_find(
    ngx_stream_hoop_pg_named_t **list, u_char *name, size_t len);
ngx_int_t ngx_stream_hoop_pg_named_set(ngx_stream_hoop_pg_named_t **list,
    u_char *name, size_t len, ngx_stream_hoop_pg_sql_t *sql);
void ngx_stream_hoop_pg_named_remove(ngx_stream_hoop_pg_named_t **list,
    u_char *name, size_t len);
void ngx_stream_hoop_pg_named_free(ngx_stream_hoop_pg_named_t **list);
void ngx_stream_hoop_pg_revert(ngx_stream_hoop_pg_ctx_t *ctx,
    ngx_stream_hoop_pg_pending_t *p);
ngx_int_t ngx_stream_hoop_pg_named_complete(ngx_stream_session_t *s,
    ngx_stream_hoop_pg_run_t *run, u_char *tag, size_t len);
void ngx_stream_hoop_pg_named_execute(ngx_stream_session_t *s,
    hoop_sql_stmt_t *cls, ngx_uint_t i);

/* ngx_stream_hoop_pg_pending.c: messages awaiting their answers */
ngx_stream_hoop_pg_pending_t *ngx_stream_hoop_pg_push(ngx_stream_session_t *s,
    u_char type, ngx_stream_hoop_pg_query_t *q,
    ngx_stream_hoop_pg_sql_t *sql);
ngx_stream_hoop_pg_pending_t *ngx_stream_hoop_pg_head(
    ngx_stream_hoop_pg_ctx_t *ctx);
void ngx_stream_hoop_pg_pop(ngx_stream_session_t *s);
void ngx_stream_hoop_pg_copy_in(ngx_stream_session_t *s);
ngx_stream_hoop_pg_run_t *ngx_stream_hoop_pg_current_run(
    ngx_stream_hoop_pg_ctx_t *ctx);

/* ngx_stream_hoop_pg_policy.c: hoop_rule and hoop_default */
#define NGX_STREAM_HOOP_PG_READ_ONLY_AUTO  0
#define NGX_STREAM_HOOP_PG_READ_ONLY_ON    1
#define NGX_STREAM_HOOP_PG_READ_ONLY_OFF   2

char *ngx_stream_hoop_pg_rule(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_uint_t ngx_stream_hoop_pg_policy_read_only(ngx_stream_session_t *s);
void ngx_stream_hoop_pg_policy_decide(ngx_stream_session_t *s,
    ngx_stream_hoop_pg_sql_t *sql);

/* ngx_stream_hoop_pg_audit.c */
void ngx_stream_hoop_pg_audit_query(ngx_stream_session_t *s,
    ngx_stream_hoop_pg_query_t *q);
void ngx_stream_hoop_pg_audit_review(ngx_stream_session_t *s,
    ngx_hoop_review_wait_t *w, ngx_stream_hoop_pg_sql_t *sql);

/* ngx_stream_hoop_pg_upstream_tls.c: TLS to the database */
#define NGX_STREAM_HOOP_PG_UPSTREAM_TLS_OFF      0
#define NGX_STREAM_HOOP_PG_UPSTREAM_TLS_REQUIRE  1
#define NGX_STREAM_HOOP_PG_UPSTREAM_TLS_VERIFY   2

extern ngx_conf_enum_t  ngx_stream_hoop_pg_upstream_tls_modes[];
char *ngx_stream_hoop_pg_upstream_tls_conf(ngx_conf_t *cf,
    ngx_stream_hoop_pg_srv_conf_t *conf);
void ngx_stream_hoop_pg_upstream_tls_start(ngx_stream_session_t *s);
void ngx_stream_hoop_pg_close_upstream(ngx_connection_t *pc);

/* ngx_stream_hoop_pg_proxy.c: the upstream leg and the relay */
void ngx_stream_hoop_pg_relay_begin(ngx_stream_session_t *s);
void ngx_stream_hoop_pg_proxy_connect(ngx_stream_session_t *s);

#endif /* NGX_STREAM_HOOP_PG_H */
