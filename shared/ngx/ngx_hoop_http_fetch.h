/*
 * Copyright (C) nginx-hoop authors
 *
 * A small HTTP(S) client on the nginx event loop, for what the gateway
 * fetches itself (OIDC discovery and key sets) and the notifications it
 * posts (review webhooks): no subrequests, so it works
 * from http{} and stream{} alike, and never blocks a worker.  One request
 * per connection (HTTP/1.0, so no chunked bodies), a bounded response, one
 * timer for the whole exchange, certificates and host names verified.
 */

#ifndef NGX_HOOP_HTTP_FETCH_H
#define NGX_HOOP_HTTP_FETCH_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_event_connect.h>


typedef struct {
    ngx_str_t          url;          /* as configured, for messages */
    ngx_addr_t        *addrs;        /* resolved at configuration time */
    ngx_uint_t         naddrs;
    ngx_str_t          host;         /* Host header: name[:port] */
    ngx_str_t          name;         /* TLS server name, certificate check */
    ngx_str_t          uri;          /* path and query */
    ngx_uint_t         tls;          /* unsigned:1 */
} ngx_hoop_http_target_t;


/*
 * rc NGX_OK: a response arrived (status, body; both valid during the call
 * only).  NGX_ERROR: none did; reason says why in a few words.
 */
typedef void (*ngx_hoop_http_fetch_done_pt)(void *data, ngx_int_t rc,
    ngx_uint_t status, ngx_str_t *body, const char *reason);


/*
 * Parses "http://host[:port]/path" or "https://..." into target, resolving
 * the host (configuration time: this may block).  Returns NULL or an error
 * text.
 */
char *ngx_hoop_http_target_parse(ngx_pool_t *pool, ngx_str_t *url,
    ngx_uint_t resolve, ngx_hoop_http_target_t *target);

/*
 * Starts a GET.  done is called exactly once, later (never from inside
 * this call), unless this returns NGX_ERROR.  ssl is needed for https.
 */
ngx_int_t ngx_hoop_http_fetch(ngx_hoop_http_target_t *target, ngx_ssl_t *ssl,
    ngx_msec_t timeout, size_t max_size, ngx_log_t *log,
    ngx_hoop_http_fetch_done_pt done, void *data);

/* Starts a POST of a JSON body, as ngx_hoop_http_fetch() a GET. */
ngx_int_t ngx_hoop_http_post(ngx_hoop_http_target_t *target, ngx_ssl_t *ssl,
    ngx_msec_t timeout, ngx_str_t *json, ngx_log_t *log,
    ngx_hoop_http_fetch_done_pt done, void *data);

/* At configuration time: a TLS client context (NULL: failed, logged). */
ngx_ssl_t *ngx_hoop_http_client_ssl(ngx_conf_t *cf, ngx_str_t *trusted);

#endif /* NGX_HOOP_HTTP_FETCH_H */
