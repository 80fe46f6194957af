/*
 * Copyright (C) nginx-hoop authors
 *
 * TLS to the database, as libpq does it: an SSLRequest on the fresh
 * connection, "S", then the handshake; the gateway's own login and every
 * statement then travel encrypted.  With "verify" the server certificate
 * must chain to hoop_pg_upstream_trusted_certificate (or the system's
 * CAs) and name the host of hoop_pg_pass.  A server that answers "N" is
 * refused: a configured TLS requirement never degrades to plain text.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_stream.h>

#include "ngx_stream_hoop_pg.h"
#include "ngx_hoop_conf_file.h"
#include "ngx_hoop_http_fetch.h"
#include "hoop_pg_msg.h"
#include "hoop_pg_startup.h"


static void ngx_stream_hoop_pg_upstream_tls_answer(ngx_event_t *ev);
static void ngx_stream_hoop_pg_upstream_tls_done(ngx_connection_t *pc);
static void ngx_stream_hoop_pg_upstream_tls_failed(ngx_stream_session_t *s,
    const char *why);
static void ngx_stream_hoop_pg_upstream_tls_nothing(ngx_event_t *ev);
static ngx_int_t ngx_stream_hoop_pg_upstream_tls_host(ngx_connection_t *pc,
    ngx_str_t *host);


ngx_conf_enum_t  ngx_stream_hoop_pg_upstream_tls_modes[] = {
    { ngx_string("off"), NGX_STREAM_HOOP_PG_UPSTREAM_TLS_OFF },
    { ngx_string("require"), NGX_STREAM_HOOP_PG_UPSTREAM_TLS_REQUIRE },
    { ngx_string("verify"), NGX_STREAM_HOOP_PG_UPSTREAM_TLS_VERIFY },
    { ngx_null_string, 0 }
};


/* the client TLS context, made when the server's configuration merges */
char *
ngx_stream_hoop_pg_upstream_tls_conf(ngx_conf_t *cf,
    ngx_stream_hoop_pg_srv_conf_t *conf)
{
    if (conf->upstream_tls == NGX_STREAM_HOOP_PG_UPSTREAM_TLS_OFF) {
        return NGX_CONF_OK;
    }

    conf->upstream_ssl = ngx_hoop_http_client_ssl(cf,
                                                  &conf->upstream_trusted);
    if (conf->upstream_ssl == NULL) {
        return NGX_CONF_ERROR;
    }

    /* the relay moves unsent bytes about: a retried write may move too */

    SSL_CTX_set_mode(conf->upstream_ssl->ctx,
                     SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);

    return NGX_CONF_OK;
}


/* Connected: ask for TLS.  The connect timeout also bounds the handshake. */
void
ngx_stream_hoop_pg_upstream_tls_start(ngx_stream_session_t *s)
{
    ssize_t                         n;
    ngx_connection_t               *pc;
    ngx_stream_hoop_pg_ctx_t       *ctx;
    ngx_stream_hoop_pg_srv_conf_t  *pscf;
    u_char                          req[8];

    ctx = ngx_stream_get_module_ctx(s, ngx_stream_hoop_pg_module);
    pscf = ngx_stream_get_module_srv_conf(s, ngx_stream_hoop_pg_module);
    pc = ctx->peer.connection;

    s->connection->log->action = "starting TLS with the database";

    (void) hoop_pg_put32(req, 8);
    (void) hoop_pg_put32(req + 4, HOOP_PG_SSL_REQUEST_CODE);

    n = pc->send(pc, req, sizeof(req));

    if (n != (ssize_t) sizeof(req)) {
        ngx_stream_hoop_pg_upstream_tls_failed(s, "SSLRequest not sent");
        return;
    }

    pc->read->handler = ngx_stream_hoop_pg_upstream_tls_answer;
    pc->write->handler = ngx_stream_hoop_pg_upstream_tls_nothing;

    ngx_add_timer(pc->read, pscf->connect_timeout);

    if (ngx_handle_read_event(pc->read, 0) != NGX_OK) {
        ngx_stream_hoop_pg_upstream_tls_failed(s, "no read event");
    }
}


static void
ngx_stream_hoop_pg_upstream_tls_answer(ngx_event_t *ev)
{
    u_char                          answer;
    ssize_t                         n;
    ngx_int_t                       rc;
    ngx_connection_t               *pc;
    ngx_stream_session_t           *s;
    ngx_stream_hoop_pg_srv_conf_t  *pscf;
    u_char                          name[NGX_SOCKADDR_STRLEN + 1];

    pc = ev->data;
    s = pc->data;
    pscf = ngx_stream_get_module_srv_conf(s, ngx_stream_hoop_pg_module);

    if (ev->timedout) {
        ngx_stream_hoop_pg_upstream_tls_failed(s, "no answer in time");
        return;
    }

    n = pc->recv(pc, &answer, 1);

    if (n == NGX_AGAIN) {
        if (ngx_handle_read_event(pc->read, 0) != NGX_OK) {
            ngx_stream_hoop_pg_upstream_tls_failed(s, "no read event");
        }

        return;
    }

    if (n != 1 || answer != 'S') {
        ngx_stream_hoop_pg_upstream_tls_failed(s,
                                      n == 1 ? "the server does not accept"
                                               " TLS"
                                             : "connection closed");
        return;
    }

    if (ngx_ssl_create_connection(pscf->upstream_ssl, pc, NGX_SSL_CLIENT)
        != NGX_OK)
    {
        ngx_stream_hoop_pg_upstream_tls_failed(s, "no TLS connection");
        return;
    }

    /* SNI, for servers behind a TLS-routing proxy */

    if (pscf->upstream_host.len && pscf->upstream_host.len < sizeof(name)) {
        ngx_cpystrn(name, pscf->upstream_host.data,
                    pscf->upstream_host.len + 1);
        (void) SSL_set_tlsext_host_name(pc->ssl->connection, (char *) name);
    }

    rc = ngx_ssl_handshake(pc);

    if (rc == NGX_AGAIN) {
        pc->ssl->handler = ngx_stream_hoop_pg_upstream_tls_done;
        return;
    }

    ngx_stream_hoop_pg_upstream_tls_done(pc);
}


static void
ngx_stream_hoop_pg_upstream_tls_done(ngx_connection_t *pc)
{
    long                            verify;
    ngx_stream_session_t           *s;
    ngx_stream_hoop_pg_srv_conf_t  *pscf;

    s = pc->data;
    pscf = ngx_stream_get_module_srv_conf(s, ngx_stream_hoop_pg_module);

    if (pc->read->timedout) {
        ngx_stream_hoop_pg_upstream_tls_failed(s, "handshake timed out");
        return;
    }

    if (!pc->ssl->handshaked) {
        ngx_stream_hoop_pg_upstream_tls_failed(s, "handshake failed");
        return;
    }

    if (pscf->upstream_tls == NGX_STREAM_HOOP_PG_UPSTREAM_TLS_VERIFY) {
        verify = SSL_get_verify_result(pc->ssl->connection);

        if (verify != X509_V_OK) {
            ngx_log_error(NGX_LOG_ERR, s->connection->log, 0,
                          "hoop pg: the database's certificate is not"
                          " trusted: (%l:%s)", verify,
                          X509_verify_cert_error_string(verify));
            ngx_stream_hoop_pg_upstream_tls_failed(s, NULL);
            return;
        }

        if (ngx_stream_hoop_pg_upstream_tls_host(pc, &pscf->upstream_host)
            != NGX_OK)
        {
            ngx_stream_hoop_pg_upstream_tls_failed(s,
                                      "the certificate does not name the"
                                      " host of hoop_pg_pass");
            return;
        }
    }

    if (pc->read->timer_set) {
        ngx_del_timer(pc->read);
    }

    ngx_log_debug1(NGX_LOG_DEBUG_STREAM, s->connection->log, 0,
                   "hoop pg: database TLS %s",
                   SSL_get_version(pc->ssl->connection));

    ngx_stream_hoop_pg_relay_begin(s);
}


/*
 * The certificate names the host: a DNS name as nginx checks it, an
 * address (hoop_pg_pass 10.0.0.5) against its IP address entries.
 */
static ngx_int_t
ngx_stream_hoop_pg_upstream_tls_host(ngx_connection_t *pc, ngx_str_t *host)
{
    int      ok;
    X509    *cert;
    u_char   ip[NGX_SOCKADDR_STRLEN + 1];

    if (host->len == 0 || host->len >= sizeof(ip)) {
        return NGX_ERROR;
    }

    ngx_cpystrn(ip, host->data, host->len + 1);

    if (ngx_inet_addr(ip, host->len) == INADDR_NONE
        && ngx_strlchr(host->data, host->data + host->len, ':') == NULL)
    {
        return ngx_ssl_check_host(pc, host);
    }

    cert = SSL_get_peer_certificate(pc->ssl->connection);
    if (cert == NULL) {
        return NGX_ERROR;
    }

    ok = X509_check_ip_asc(cert, (char *) ip, 0);
    X509_free(cert);

    return (ok == 1) ? NGX_OK : NGX_ERROR;
}


static void
ngx_stream_hoop_pg_upstream_tls_failed(ngx_stream_session_t *s,
    const char *why)
{
    if (why != NULL) {
        ngx_log_error(NGX_LOG_ERR, s->connection->log, 0,
                      "hoop pg: TLS with the database failed: %s", why);
    }

    ngx_stream_hoop_pg_fatal(s, NGX_STREAM_BAD_GATEWAY, "08006",
                             "hoop: the gateway could not reach the database"
                             " securely",
                             "The gateway requires TLS to the database;"
                             " its operators have the details in the error"
                             " log.");
}


static void
ngx_stream_hoop_pg_upstream_tls_nothing(ngx_event_t *ev)
{
    /* nothing to write until TLS is up */
}


/* The upstream connection closed; its TLS object freed, no goodbye sent. */
void
ngx_stream_hoop_pg_close_upstream(ngx_connection_t *pc)
{
    if (pc->ssl != NULL) {
        pc->ssl->no_wait_shutdown = 1;
        (void) ngx_ssl_shutdown(pc);
    }

    ngx_close_connection(pc);
}
