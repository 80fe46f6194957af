/*
 * Copyright (C) nginx-hoop authors
 */

#ifndef NGX_STREAM_HOOP_PG_H
#define NGX_STREAM_HOOP_PG_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_stream.h>

#include "ngx_hoop_audit.h"
#include "ngx_hoop_oidc.h"
#include "ngx_hoop_redis_conf.h"


typedef struct {
    ngx_hoop_redis_conf_t   *redis;
    ngx_hoop_oidc_conf_t     oidc;
    ngx_hoop_audit_t         audit;
    ngx_uint_t               auth_used;       /* unsigned:1 */
} ngx_stream_hoop_pg_main_conf_t;


typedef struct {
    ngx_addr_t              *upstream;        /* hoop_pg_pass */
    ngx_msec_t               startup_timeout;
    ngx_msec_t               connect_timeout;
    size_t                   buffer_size;
    ngx_flag_t               auth;            /* hoop_pg_auth */
    ngx_flag_t               audit;           /* hoop_audit */
} ngx_stream_hoop_pg_srv_conf_t;


/* One client session and its upstream connection. */
typedef struct {
    ngx_peer_connection_t    peer;
    ngx_buf_t               *to_upstream;
    ngx_buf_t               *to_client;
    size_t                   startup_len;     /* at to_upstream->pos */
    size_t                   password_len;    /* right after it */
    hoop_identity_t          identity;
    ngx_hoop_oidc_wait_t     wait;            /* for keys being fetched */
    ngx_event_t              wait_event;
    ngx_str_t                token;
    ngx_hoop_audit_session_t audit;
    const char              *refusal;         /* why the login failed */
    unsigned                 connected:1;
    unsigned                 audited:1;       /* a session was opened */
    unsigned                 cancel:1;        /* a CancelRequest session */
    unsigned                 authenticated:1;
    unsigned                 upstream_auth_pending:1;
} ngx_stream_hoop_pg_ctx_t;


extern ngx_module_t  ngx_stream_hoop_pg_module;


/* ngx_stream_hoop_pg_module.c */
void ngx_stream_hoop_pg_fatal(ngx_stream_session_t *s, ngx_uint_t rc,
    const char *sqlstate, const char *message, const char *hint);

/* ngx_stream_hoop_pg_startup.c: the client's first packets */
void ngx_stream_hoop_pg_startup(ngx_stream_session_t *s);
ngx_int_t ngx_stream_hoop_pg_login_recv(ngx_stream_session_t *s);

/* ngx_stream_hoop_pg_auth.c: the access token as the password */
void ngx_stream_hoop_pg_auth(ngx_stream_session_t *s);

/* ngx_stream_hoop_pg_audit.c: login, refusal and session-end events */
ngx_int_t ngx_stream_hoop_pg_audit_init(ngx_conf_t *cf);
ngx_int_t ngx_stream_hoop_pg_audit_available(ngx_stream_session_t *s);
void ngx_stream_hoop_pg_audit_event(ngx_stream_session_t *s,
    const char *type);

/* ngx_stream_hoop_pg_proxy.c: the upstream leg and the relay */
void ngx_stream_hoop_pg_proxy_connect(ngx_stream_session_t *s);

#endif /* NGX_STREAM_HOOP_PG_H */
