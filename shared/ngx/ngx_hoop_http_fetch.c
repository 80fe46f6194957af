/*
 * Copyright (C) nginx-hoop authors
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_event_connect.h>

#include "ngx_hoop_conf_file.h"
#include "ngx_hoop_http_fetch.h"


#define NGX_HOOP_HTTP_HEADER_MAX  8192


typedef struct {
    ngx_pool_t                   *pool;
    ngx_log_t                    *log;
    ngx_peer_connection_t         peer;
    ngx_hoop_http_target_t       *target;
    ngx_buf_t                    *request;
    ngx_buf_t                    *response;
    ngx_hoop_http_fetch_done_pt   done;
    void                         *data;
} ngx_hoop_http_fetch_t;


static ngx_int_t ngx_hoop_http_request(ngx_hoop_http_target_t *target,
    ngx_ssl_t *ssl, ngx_msec_t timeout, size_t max_size, ngx_str_t *json,
    ngx_log_t *log, ngx_hoop_http_fetch_done_pt done, void *data);
static void ngx_hoop_http_fetch_connected(ngx_event_t *ev);
static void ngx_hoop_http_fetch_tls_done(ngx_connection_t *c);
static void ngx_hoop_http_fetch_start_io(ngx_hoop_http_fetch_t *f);
static void ngx_hoop_http_fetch_write(ngx_event_t *ev);
static void ngx_hoop_http_fetch_read(ngx_event_t *ev);
static void ngx_hoop_http_fetch_response(ngx_hoop_http_fetch_t *f);
static void ngx_hoop_http_fetch_finish(ngx_hoop_http_fetch_t *f, ngx_int_t rc,
    ngx_uint_t status, ngx_str_t *body, const char *reason);
static void ngx_hoop_http_fetch_dummy(ngx_event_t *ev);
static void ngx_hoop_http_fetch_waiting(ngx_event_t *ev);


char *
ngx_hoop_http_target_parse(ngx_pool_t *pool, ngx_str_t *url,
    ngx_uint_t resolve, ngx_hoop_http_target_t *target)
{
    ngx_url_t  u;

    ngx_memzero(&u, sizeof(ngx_url_t));
    ngx_memzero(target, sizeof(ngx_hoop_http_target_t));

    if (url->len > 8 && ngx_strncasecmp(url->data, (u_char *) "https://", 8)
                        == 0)
    {
        u.url.data = url->data + 8;
        u.url.len = url->len - 8;
        u.default_port = 443;
        target->tls = 1;

    } else if (url->len > 7
               && ngx_strncasecmp(url->data, (u_char *) "http://", 7) == 0)
    {
        u.url.data = url->data + 7;
        u.url.len = url->len - 7;
        u.default_port = 80;

    } else {
        return "is not an http:// or https:// URL";
    }

    u.uri_part = 1;
    u.no_resolve = !resolve;

    if (ngx_parse_url(pool, &u) != NGX_OK) {
        return u.err ? u.err : "is not a valid URL";
    }

    if (resolve && u.naddrs == 0) {
        return "has a host without addresses";
    }

    target->url = *url;
    target->addrs = u.addrs;
    target->naddrs = u.naddrs;
    target->host = u.host;
    target->name = u.host;

    if (!u.no_port) {
        /* "host:port", as the Host header wants it */
        target->host.len = u.url.len - u.uri.len;
        target->host.data = u.url.data;

        if (u.uri.len == 0) {
            target->host.len = u.url.len;
        }
    }

    if (u.uri.len == 0) {
        ngx_str_set(&target->uri, "/");

    } else {
        target->uri = u.uri;
    }

    return NULL;
}


ngx_int_t
ngx_hoop_http_fetch(ngx_hoop_http_target_t *target, ngx_ssl_t *ssl,
    ngx_msec_t timeout, size_t max_size, ngx_log_t *log,
    ngx_hoop_http_fetch_done_pt done, void *data)
{
    return ngx_hoop_http_request(target, ssl, timeout, max_size, NULL, log,
                                 done, data);
}


ngx_int_t
ngx_hoop_http_post(ngx_hoop_http_target_t *target, ngx_ssl_t *ssl,
    ngx_msec_t timeout, ngx_str_t *json, ngx_log_t *log,
    ngx_hoop_http_fetch_done_pt done, void *data)
{
    return ngx_hoop_http_request(target, ssl, timeout, 65536, json, log,
                                 done, data);
}


static ngx_int_t
ngx_hoop_http_request(ngx_hoop_http_target_t *target, ngx_ssl_t *ssl,
    ngx_msec_t timeout, size_t max_size, ngx_str_t *json, ngx_log_t *log,
    ngx_hoop_http_fetch_done_pt done, void *data)
{
    char                   *name;
    ngx_int_t               rc;
    ngx_buf_t              *b;
    ngx_pool_t             *pool;
    ngx_connection_t       *c;
    ngx_hoop_http_fetch_t  *f;

    if (target->naddrs == 0 || (target->tls && ssl == NULL)) {
        return NGX_ERROR;
    }

    pool = ngx_create_pool(4096, log);
    if (pool == NULL) {
        return NGX_ERROR;
    }

    f = ngx_pcalloc(pool, sizeof(ngx_hoop_http_fetch_t));
    if (f == NULL) {
        goto failed;
    }

    f->pool = pool;
    f->log = log;
    f->target = target;
    f->done = done;
    f->data = data;

    b = ngx_create_temp_buf(pool, sizeof("POST  HTTP/1.0" CRLF "Host: " CRLF
                                         "Accept: application/json" CRLF
                                         "User-Agent: nginx-hoop" CRLF
                                         "Content-Type: application/json"
                                         CRLF "Content-Length: " CRLF CRLF)
                                  + NGX_SIZE_T_LEN + target->uri.len
                                  + target->host.len
                                  + (json ? json->len : 0));
    if (b == NULL) {
        goto failed;
    }

    b->last = ngx_sprintf(b->last, "%s %V HTTP/1.0" CRLF "Host: %V" CRLF
                          "Accept: application/json" CRLF
                          "User-Agent: nginx-hoop" CRLF,
                          json ? "POST" : "GET", &target->uri,
                          &target->host);

    if (json != NULL) {
        b->last = ngx_sprintf(b->last, "Content-Type: application/json"
                              CRLF "Content-Length: %uz" CRLF CRLF "%V",
                              json->len, json);

    } else {
        b->last = ngx_cpymem(b->last, CRLF, 2);
    }

    f->request = b;

    f->response = ngx_create_temp_buf(pool,
                                      max_size + NGX_HOOP_HTTP_HEADER_MAX);
    if (f->response == NULL) {
        goto failed;
    }

    f->peer.sockaddr = target->addrs[0].sockaddr;
    f->peer.socklen = target->addrs[0].socklen;
    f->peer.name = &target->addrs[0].name;
    f->peer.get = ngx_event_get_peer;
    f->peer.log = log;
    f->peer.log_error = NGX_ERROR_ERR;

    rc = ngx_event_connect_peer(&f->peer);

    if (rc == NGX_ERROR || rc == NGX_BUSY || rc == NGX_DECLINED) {
        if (f->peer.connection) {
            ngx_close_connection(f->peer.connection);
        }

        goto failed;
    }

    c = f->peer.connection;
    c->data = f;
    c->pool = pool;
    c->read->handler = ngx_hoop_http_fetch_connected;
    c->write->handler = ngx_hoop_http_fetch_connected;

    /* one timer bounds connect, handshake, request and response */

    ngx_add_timer(c->write, timeout);

    if (target->tls) {
        if (ngx_ssl_create_connection(ssl, c, NGX_SSL_CLIENT) != NGX_OK) {
            ngx_close_connection(c);
            goto failed;
        }

        /* SNI, so that a shared host presents the provider's certificate */

        name = ngx_hoop_pstrz(pool, &target->name);

        if (name == NULL) {
            ngx_close_connection(c);
            goto failed;
        }

        if (SSL_set_tlsext_host_name(c->ssl->connection, name) == 0) {
            ngx_ssl_error(NGX_LOG_ERR, log, 0, "SSL_set_tlsext_host_name()"
                          " failed");
        }
    }

    if (rc == NGX_OK) {
        ngx_post_event(c->write, &ngx_posted_events);
    }

    return NGX_OK;

failed:

    ngx_destroy_pool(pool);

    return NGX_ERROR;
}


static void
ngx_hoop_http_fetch_connected(ngx_event_t *ev)
{
    ngx_int_t               rc;
    ngx_connection_t       *c;
    ngx_hoop_http_fetch_t  *f;

    c = ev->data;
    f = c->data;

    if (ev->timedout) {
        ngx_hoop_http_fetch_finish(f, NGX_ERROR, 0, NULL, "timed out");
        return;
    }

    if (!f->target->tls) {
        ngx_hoop_http_fetch_start_io(f);
        return;
    }

    c->read->handler = ngx_hoop_http_fetch_dummy;
    c->write->handler = ngx_hoop_http_fetch_dummy;

    rc = ngx_ssl_handshake(c);

    if (rc == NGX_AGAIN) {
        c->ssl->handler = ngx_hoop_http_fetch_tls_done;
        return;
    }

    ngx_hoop_http_fetch_tls_done(c);
}


static void
ngx_hoop_http_fetch_tls_done(ngx_connection_t *c)
{
    long                    verify;
    ngx_hoop_http_fetch_t  *f;

    f = c->data;

    if (c->write->timedout) {
        ngx_hoop_http_fetch_finish(f, NGX_ERROR, 0, NULL, "timed out");
        return;
    }

    if (!c->ssl->handshaked) {
        ngx_hoop_http_fetch_finish(f, NGX_ERROR, 0, NULL,
                                   "TLS handshake failed");
        return;
    }

    verify = SSL_get_verify_result(c->ssl->connection);

    if (verify != X509_V_OK) {
        ngx_log_error(NGX_LOG_ERR, f->log, 0,
                      "hoop: certificate of \"%V\" not trusted: (%l:%s)",
                      &f->target->url, verify,
                      X509_verify_cert_error_string(verify));
        ngx_hoop_http_fetch_finish(f, NGX_ERROR, 0, NULL,
                                   "certificate not trusted");
        return;
    }

    if (ngx_ssl_check_host(c, &f->target->name) != NGX_OK) {
        ngx_hoop_http_fetch_finish(f, NGX_ERROR, 0, NULL,
                                   "certificate does not match the host");
        return;
    }

    ngx_hoop_http_fetch_start_io(f);
}


static void
ngx_hoop_http_fetch_start_io(ngx_hoop_http_fetch_t *f)
{
    ngx_connection_t  *c;

    c = f->peer.connection;

    c->read->handler = ngx_hoop_http_fetch_read;
    c->write->handler = ngx_hoop_http_fetch_write;

    ngx_hoop_http_fetch_write(c->write);
}


static void
ngx_hoop_http_fetch_write(ngx_event_t *ev)
{
    ssize_t                 n;
    ngx_buf_t              *b;
    ngx_connection_t       *c;
    ngx_hoop_http_fetch_t  *f;

    c = ev->data;
    f = c->data;
    b = f->request;

    if (ev->timedout) {
        ngx_hoop_http_fetch_finish(f, NGX_ERROR, 0, NULL, "timed out");
        return;
    }

    while (b->pos < b->last) {
        n = c->send(c, b->pos, b->last - b->pos);

        if (n == NGX_AGAIN) {
            if (ngx_handle_write_event(ev, 0) != NGX_OK) {
                ngx_hoop_http_fetch_finish(f, NGX_ERROR, 0, NULL,
                                           "write failed");
            }

            return;
        }

        if (n == NGX_ERROR) {
            ngx_hoop_http_fetch_finish(f, NGX_ERROR, 0, NULL,
                                       "connection failed");
            return;
        }

        b->pos += n;
    }

    /* the timer on the write event still bounds the wait for the answer */

    ev->handler = ngx_hoop_http_fetch_waiting;

    ngx_hoop_http_fetch_read(c->read);
}


static void
ngx_hoop_http_fetch_read(ngx_event_t *ev)
{
    ssize_t                 n;
    ngx_buf_t              *b;
    ngx_connection_t       *c;
    ngx_hoop_http_fetch_t  *f;

    c = ev->data;
    f = c->data;
    b = f->response;

    if (c->write->timedout) {
        ngx_hoop_http_fetch_finish(f, NGX_ERROR, 0, NULL, "timed out");
        return;
    }

    for ( ;; ) {
        if (b->last == b->end) {
            ngx_hoop_http_fetch_finish(f, NGX_ERROR, 0, NULL,
                                       "response too large");
            return;
        }

        n = c->recv(c, b->last, b->end - b->last);

        if (n == NGX_AGAIN) {
            if (ngx_handle_read_event(ev, 0) != NGX_OK) {
                ngx_hoop_http_fetch_finish(f, NGX_ERROR, 0, NULL,
                                           "read failed");
            }

            return;
        }

        if (n == NGX_ERROR) {
            ngx_hoop_http_fetch_finish(f, NGX_ERROR, 0, NULL,
                                       "connection failed");
            return;
        }

        if (n == 0) {
            ngx_hoop_http_fetch_response(f);
            return;
        }

        b->last += n;
    }
}


/* HTTP/1.0 with no keep-alive: the response is complete at close */
static void
ngx_hoop_http_fetch_response(ngx_hoop_http_fetch_t *f)
{
    u_char      *p, *end, *body;
    ngx_str_t    content;
    ngx_uint_t   status;

    p = f->response->pos;
    end = f->response->last;

    if (end - p < 12 || ngx_strncmp(p, "HTTP/1.", 7) != 0 || p[8] != ' ') {
        ngx_hoop_http_fetch_finish(f, NGX_ERROR, 0, NULL,
                                   "not an HTTP response");
        return;
    }

    status = ngx_atoi(p + 9, 3);

    if (status == (ngx_uint_t) NGX_ERROR) {
        ngx_hoop_http_fetch_finish(f, NGX_ERROR, 0, NULL,
                                   "not an HTTP response");
        return;
    }

    body = ngx_strlcasestrn(p, end, (u_char *) CRLF CRLF, 4 - 1);

    if (body == NULL) {
        ngx_hoop_http_fetch_finish(f, NGX_ERROR, 0, NULL,
                                   "truncated HTTP response");
        return;
    }

    content.data = body + 4;
    content.len = end - content.data;

    ngx_hoop_http_fetch_finish(f, NGX_OK, status, &content, NULL);
}


static void
ngx_hoop_http_fetch_finish(ngx_hoop_http_fetch_t *f, ngx_int_t rc,
    ngx_uint_t status, ngx_str_t *body, const char *reason)
{
    ngx_connection_t  *c;

    c = f->peer.connection;

    if (c->ssl) {
        c->ssl->no_wait_shutdown = 1;
        c->ssl->no_send_shutdown = 1;
        (void) ngx_ssl_shutdown(c);
    }

    ngx_close_connection(c);

    f->done(f->data, rc, status, body, reason);

    ngx_destroy_pool(f->pool);
}


static void
ngx_hoop_http_fetch_waiting(ngx_event_t *ev)
{
    ngx_connection_t  *c = ev->data;

    if (ev->timedout) {
        ngx_hoop_http_fetch_finish(c->data, NGX_ERROR, 0, NULL,
                                   "timed out");
    }
}


static void
ngx_hoop_http_fetch_dummy(ngx_event_t *ev)
{
    /* nothing to do until the other direction is ready */
}


/*
 * A TLS client context that verifies servers against trusted (PEM file),
 * or the system's certificate store when trusted is empty.
 */
ngx_ssl_t *
ngx_hoop_http_client_ssl(ngx_conf_t *cf, ngx_str_t *trusted)
{
    ngx_ssl_t           *ssl;
    ngx_pool_cleanup_t  *cln;

    ssl = ngx_pcalloc(cf->pool, sizeof(ngx_ssl_t));
    if (ssl == NULL) {
        return NULL;
    }

    ssl->log = cf->log;

    if (ngx_ssl_create(ssl, NGX_SSL_TLSv1_2|NGX_SSL_TLSv1_3, NULL) != NGX_OK) {
        return NULL;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        ngx_ssl_cleanup_ctx(ssl);
        return NULL;
    }

    cln->handler = ngx_ssl_cleanup_ctx;
    cln->data = ssl;

    if (trusted->len) {
        if (ngx_ssl_trusted_certificate(cf, ssl, trusted, 10) != NGX_OK) {
            return NULL;
        }

    } else if (SSL_CTX_set_default_verify_paths(ssl->ctx) != 1) {
        ngx_ssl_error(NGX_LOG_EMERG, cf->log, 0,
                      "SSL_CTX_set_default_verify_paths() failed");
        return NULL;
    }

    return ssl;
}
