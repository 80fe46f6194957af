/*
 * Copyright (C) nginx-hoop authors
 *
 * TLS on the client leg, terminated by the gateway (it must read the
 * traffic): after an SSLRequest answered "S" on the same connection, as
 * every libpq client does, or directly from the first byte (PostgreSQL
 * 17's sslnegotiation=direct, ALPN "postgresql" required).  Listeners
 * with "listen ... ssl" are not needed and cannot serve the first way.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_stream.h>

#include "ngx_stream_hoop_pg.h"


#define NGX_STREAM_HOOP_PG_ALPN  "\x0apostgresql"


static int ngx_stream_hoop_pg_tls_alpn(ngx_ssl_conn_t *ssl_conn,
    const unsigned char **out, unsigned char *outlen,
    const unsigned char *in, unsigned int inlen, void *arg);
static void ngx_stream_hoop_pg_tls_handshaked(ngx_connection_t *c);


/* the server's TLS context, made from hoop_pg_certificate(_key) */
char *
ngx_stream_hoop_pg_tls_conf(ngx_conf_t *cf,
    ngx_stream_hoop_pg_srv_conf_t *conf)
{
    ngx_pool_cleanup_t  *cln;

    if (conf->certificate.len == 0) {
        return NGX_CONF_OK;
    }

    if (conf->certificate_key.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "no \"hoop_pg_certificate_key\" for the"
                           " \"hoop_pg_certificate\" \"%V\"",
                           &conf->certificate);
        return NGX_CONF_ERROR;
    }

    conf->ssl = ngx_pcalloc(cf->pool, sizeof(ngx_ssl_t));
    if (conf->ssl == NULL) {
        return NGX_CONF_ERROR;
    }

    conf->ssl->log = cf->log;

    if (ngx_ssl_create(conf->ssl, NGX_SSL_TLSv1_2 | NGX_SSL_TLSv1_3, NULL)
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        ngx_ssl_cleanup_ctx(conf->ssl);
        return NGX_CONF_ERROR;
    }

    cln->handler = ngx_ssl_cleanup_ctx;
    cln->data = conf->ssl;

    if (ngx_ssl_certificate(cf, conf->ssl, &conf->certificate,
                            &conf->certificate_key, NULL)
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    SSL_CTX_set_alpn_select_cb(conf->ssl->ctx, ngx_stream_hoop_pg_tls_alpn,
                               NULL);

    /* the relay moves unsent bytes about: a retried write may move too */

    SSL_CTX_set_mode(conf->ssl->ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);

    return NGX_CONF_OK;
}


/* "postgresql" when the client offers it; nothing otherwise */
static int
ngx_stream_hoop_pg_tls_alpn(ngx_ssl_conn_t *ssl_conn,
    const unsigned char **out, unsigned char *outlen,
    const unsigned char *in, unsigned int inlen, void *arg)
{
    if (SSL_select_next_proto((unsigned char **) out, outlen,
                              (unsigned char *) NGX_STREAM_HOOP_PG_ALPN,
                              sizeof(NGX_STREAM_HOOP_PG_ALPN) - 1, in, inlen)
        != OPENSSL_NPN_NEGOTIATED)
    {
        return SSL_TLSEXT_ERR_NOACK;
    }

    return SSL_TLSEXT_ERR_OK;
}


/*
 * Starts the handshake; the startup timer on c->read still runs and
 * bounds it.  NGX_OK when the startup packet may be read (now or after
 * the handshake completes), NGX_ERROR when the session was ended.
 */
ngx_int_t
ngx_stream_hoop_pg_tls_start(ngx_stream_session_t *s, ngx_uint_t direct)
{
    ngx_int_t                       rc;
    ngx_connection_t               *c;
    ngx_stream_hoop_pg_ctx_t       *ctx;
    ngx_stream_hoop_pg_srv_conf_t  *pscf;

    c = s->connection;
    ctx = ngx_stream_get_module_ctx(s, ngx_stream_hoop_pg_module);
    pscf = ngx_stream_get_module_srv_conf(s, ngx_stream_hoop_pg_module);

    c->log->action = "TLS handshaking with the Postgres client";

    ctx->tls_direct = direct;

    if (ngx_ssl_create_connection(pscf->ssl, c, 0) != NGX_OK) {
        ngx_stream_finalize_session(s, NGX_STREAM_INTERNAL_SERVER_ERROR);
        return NGX_ERROR;
    }

    rc = ngx_ssl_handshake(c);

    if (rc == NGX_AGAIN) {
        c->ssl->handler = ngx_stream_hoop_pg_tls_handshaked;
        return NGX_OK;
    }

    ngx_stream_hoop_pg_tls_handshaked(c);

    return c->destroyed ? NGX_ERROR : NGX_OK;
}


static void
ngx_stream_hoop_pg_tls_handshaked(ngx_connection_t *c)
{
    unsigned int               len;
    const unsigned char       *alpn;
    ngx_stream_session_t      *s;
    ngx_stream_hoop_pg_ctx_t  *ctx;

    s = c->data;
    ctx = ngx_stream_get_module_ctx(s, ngx_stream_hoop_pg_module);

    if (c->read->timedout) {
        ngx_log_error(NGX_LOG_INFO, c->log, NGX_ETIMEDOUT,
                      "hoop pg: client TLS handshake timed out");
        ngx_stream_finalize_session(s, NGX_STREAM_OK);
        return;
    }

    if (!c->ssl->handshaked) {
        ngx_stream_finalize_session(s, NGX_STREAM_BAD_REQUEST);
        return;
    }

    /*
     * direct TLS skips the SSLRequest, so only ALPN tells that the client
     * speaks Postgres (and not, say, HTTPS sent to the wrong port)
     */

    if (ctx->tls_direct) {
        SSL_get0_alpn_selected(c->ssl->connection, &alpn, &len);

        if (len == 0) {
            ngx_log_error(NGX_LOG_INFO, c->log, 0,
                          "hoop pg: direct TLS without ALPN \"postgresql\","
                          " session closed");
            ngx_stream_finalize_session(s, NGX_STREAM_BAD_REQUEST);
            return;
        }
    }

    ngx_log_debug1(NGX_LOG_DEBUG_STREAM, c->log, 0, "hoop pg: client TLS %s",
                   SSL_get_version(c->ssl->connection));

    /*
     * a session the gateway ends (a FATAL, a timeout) sends its
     * close_notify and is gone: no waiting for the client's
     */

    c->ssl->no_wait_shutdown = 1;

    c->log->action = "reading the Postgres startup packet";

    ngx_stream_hoop_pg_startup_resume(s);
}
