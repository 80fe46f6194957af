/*
 * Copyright (C) nginx-hoop authors
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include <hiredis/async.h>

#include "ngx_hoop_redis.h"


#define NGX_HOOP_REDIS_BACKOFF_MIN  100
#define NGX_HOOP_REDIS_BACKOFF_MAX  5000


/* how long commands gather before they are written, by default (ms) */
#define NGX_HOOP_REDIS_FLUSH_DELAY  1


struct ngx_hoop_redis_s {
    ngx_hoop_redis_conf_t     *conf;
    const char                *subsystem;
    ngx_log_t                 *log;
    redisAsyncContext         *ac;
    ngx_connection_t          *conn;         /* wraps ac->c.fd */
    ngx_event_t                reconnect;
    ngx_event_t                timeout;
    ngx_event_t                flush;        /* commands are written */
    ngx_msec_t                 backoff;
    ngx_msec_t                 flush_delay;
    ngx_msec_t                 written;      /* when commands last left */
    ngx_uint_t                 pending;      /* commands without reply */
    const char                *channel;      /* a subscriber's */
    ngx_hoop_redis_message_pt  message;
    void                      *message_data;
    ngx_hoop_redis_ready_pt    on_ready;
    void                      *on_ready_data;
    char                       host[NGX_SOCKADDR_STRLEN];
    int                        port;
    unsigned                   ready:1;
    unsigned                   down_logged:1;
    unsigned                   login_failed:1;
    unsigned                   refused:1;    /* a write, since the last
                                                command that succeeded */
    unsigned                   stopping:1;
    unsigned                   flushing:1;
};


typedef struct {
    ngx_hoop_redis_t          *rd;
    ngx_hoop_redis_reply_pt    cb;
    void                      *data;
    ngx_uint_t                 read;    /* says nothing of writes */
} ngx_hoop_redis_call_t;


static ngx_hoop_redis_call_t *ngx_hoop_redis_call(ngx_hoop_redis_t *rd,
    ngx_hoop_redis_reply_pt cb, void *data);
static ngx_int_t ngx_hoop_redis_send(ngx_hoop_redis_t *rd,
    ngx_hoop_redis_reply_pt cb, void *data, int argc, const char **argv,
    const size_t *argvlen, ngx_uint_t read);
static ngx_int_t ngx_hoop_redis_queued(ngx_hoop_redis_t *rd,
    ngx_hoop_redis_call_t *call, int rc);
static void ngx_hoop_redis_connect(ngx_hoop_redis_t *rd);
static void ngx_hoop_redis_probe_reply(redisAsyncContext *ac, void *r,
    void *privdata);
static void ngx_hoop_redis_reconnect_handler(ngx_event_t *ev);
static void ngx_hoop_redis_timeout_handler(ngx_event_t *ev);
static void ngx_hoop_redis_flush_handler(ngx_event_t *ev);
static void ngx_hoop_redis_connected(const redisAsyncContext *ac,
    int status);
static void ngx_hoop_redis_disconnected(const redisAsyncContext *ac,
    int status);
static void ngx_hoop_redis_login_reply(redisAsyncContext *ac, void *r,
    void *privdata);
static void ngx_hoop_redis_reply(redisAsyncContext *ac, void *r,
    void *privdata);
static void ngx_hoop_redis_message(redisAsyncContext *ac, void *r,
    void *privdata);
static void ngx_hoop_redis_failed(ngx_hoop_redis_t *rd, const char *why);
static void ngx_hoop_redis_arm_timeout(ngx_hoop_redis_t *rd);
static ngx_uint_t ngx_hoop_redis_worker_was_late(ngx_hoop_redis_t *rd);
static void ngx_hoop_redis_write(ngx_hoop_redis_t *rd);
static void ngx_hoop_redis_replied(ngx_hoop_redis_t *rd);
static void ngx_hoop_redis_read_handler(ngx_event_t *ev);
static void ngx_hoop_redis_write_handler(ngx_event_t *ev);
static void ngx_hoop_redis_add_read(void *privdata);
static void ngx_hoop_redis_del_read(void *privdata);
static void ngx_hoop_redis_add_write(void *privdata);
static void ngx_hoop_redis_del_write(void *privdata);
static void ngx_hoop_redis_cleanup(void *privdata);


ngx_hoop_redis_t *
ngx_hoop_redis_start(ngx_cycle_t *cycle, ngx_hoop_redis_conf_t *conf,
    const char *subsystem)
{
    size_t             len;
    ngx_hoop_redis_t  *rd;

    rd = ngx_pcalloc(cycle->pool, sizeof(ngx_hoop_redis_t));
    if (rd == NULL) {
        return NULL;
    }

    rd->conf = conf;
    rd->subsystem = subsystem;
    rd->log = cycle->log;
    rd->backoff = NGX_HOOP_REDIS_BACKOFF_MIN;
    rd->flush_delay = NGX_HOOP_REDIS_FLUSH_DELAY;

    if (conf->addr->sockaddr->sa_family == AF_UNIX) {
        len = ngx_sock_ntop(conf->addr->sockaddr, conf->addr->socklen,
                            (u_char *) rd->host, sizeof(rd->host) - 1, 0);

        /* "unix:/path" */
        ngx_memmove(rd->host, rd->host + 5, len - 5);
        rd->host[len - 5] = '\0';
        rd->port = -1;

    } else {
        len = ngx_sock_ntop(conf->addr->sockaddr, conf->addr->socklen,
                            (u_char *) rd->host, sizeof(rd->host) - 1, 0);
        rd->host[len] = '\0';
        rd->port = ngx_inet_get_port(conf->addr->sockaddr);
    }

    rd->reconnect.handler = ngx_hoop_redis_reconnect_handler;
    rd->reconnect.data = rd;
    rd->reconnect.log = cycle->log;
    rd->reconnect.cancelable = 1;

    /*
     * not cancelable: a worker shutting down gracefully waits for the
     * replies it is owed (at most one timeout), so no event is cut off
     */

    rd->timeout.handler = ngx_hoop_redis_timeout_handler;
    rd->timeout.data = rd;
    rd->timeout.log = cycle->log;

    /* not cancelable either: what was queued is written before exit */

    rd->flush.handler = ngx_hoop_redis_flush_handler;
    rd->flush.data = rd;
    rd->flush.log = cycle->log;

    ngx_hoop_redis_connect(rd);

    return rd;
}


void
ngx_hoop_redis_stop(ngx_hoop_redis_t *rd)
{
    redisAsyncContext  *ac;

    if (rd == NULL) {
        return;
    }

    rd->stopping = 1;
    rd->ready = 0;

    if (rd->reconnect.timer_set) {
        ngx_del_timer(&rd->reconnect);
    }

    if (rd->timeout.timer_set) {
        ngx_del_timer(&rd->timeout);
    }

    if (rd->flush.timer_set) {
        ngx_del_timer(&rd->flush);
    }

    ac = rd->ac;

    if (ac != NULL) {
        rd->ac = NULL;
        redisAsyncFree(ac);
    }
}


void
ngx_hoop_redis_subscribe(ngx_hoop_redis_t *rd, const char *channel,
    ngx_hoop_redis_message_pt handler, void *data)
{
    rd->channel = channel;
    rd->message = handler;
    rd->message_data = data;
}


ngx_uint_t
ngx_hoop_redis_ready(ngx_hoop_redis_t *rd)
{
    return rd != NULL && rd->ready;
}


/*
 * Before the first connection of a worker is made or has failed, nothing
 * is known of Redis: a new worker (a reload, a respawn) has just started.
 */
ngx_uint_t
ngx_hoop_redis_starting(ngx_hoop_redis_t *rd)
{
    return rd != NULL && !rd->ready && !rd->down_logged && !rd->stopping;
}


void
ngx_hoop_redis_set_flush_delay(ngx_hoop_redis_t *rd, ngx_msec_t delay)
{
    rd->flush_delay = delay;
}


void
ngx_hoop_redis_on_ready(ngx_hoop_redis_t *rd, ngx_hoop_redis_ready_pt handler,
    void *data)
{
    rd->on_ready = handler;
    rd->on_ready_data = data;
}


/*
 * Redis answered, but refused a write its caller cannot do without (out
 * of memory, a read-only replica after a failover, a failed save): as
 * good as gone.  The connection stops taking commands, closes once the
 * replies owed are in, and is made again with the doubling delay of an
 * outage.  Said once, until a command succeeds again.
 */
void
ngx_hoop_redis_refused(ngx_hoop_redis_t *rd, const char *what,
    const char *why)
{
    ngx_uint_t  level;

    if (rd->ac == NULL || !rd->ready) {
        return;                 /* already going */
    }

    level = rd->refused ? NGX_LOG_DEBUG : NGX_LOG_ERR;

    ngx_log_error(level, rd->log, 0,
                  "hoop redis (%s): %s: %s refused: %s; reconnecting",
                  rd->subsystem, rd->host, what, why);

    rd->ready = 0;
    rd->refused = 1;
    rd->down_logged = 1;

    /* from a reply callback too: hiredis closes after the callbacks */

    redisAsyncDisconnect(rd->ac);
}


ngx_int_t
ngx_hoop_redis_command(ngx_hoop_redis_t *rd, ngx_hoop_redis_reply_pt cb,
    void *data, int argc, const char **argv, const size_t *argvlen)
{
    return ngx_hoop_redis_send(rd, cb, data, argc, argv, argvlen, 0);
}


ngx_int_t
ngx_hoop_redis_read(ngx_hoop_redis_t *rd, ngx_hoop_redis_reply_pt cb,
    void *data, int argc, const char **argv, const size_t *argvlen)
{
    return ngx_hoop_redis_send(rd, cb, data, argc, argv, argvlen, 1);
}


static ngx_int_t
ngx_hoop_redis_send(ngx_hoop_redis_t *rd, ngx_hoop_redis_reply_pt cb,
    void *data, int argc, const char **argv, const size_t *argvlen,
    ngx_uint_t read)
{
    int                     rc;
    ngx_hoop_redis_call_t  *call;

    call = ngx_hoop_redis_call(rd, cb, data);
    if (call == NULL) {
        return NGX_ERROR;
    }

    call->read = read;

    rc = redisAsyncCommandArgv(rd->ac, ngx_hoop_redis_reply, call, argc,
                               argv, argvlen);

    return ngx_hoop_redis_queued(rd, call, rc);
}


ngx_int_t
ngx_hoop_redis_formatted(ngx_hoop_redis_t *rd, ngx_hoop_redis_reply_pt cb,
    void *data, const char *cmd, size_t len)
{
    int                     rc;
    ngx_hoop_redis_call_t  *call;

    call = ngx_hoop_redis_call(rd, cb, data);
    if (call == NULL) {
        return NGX_ERROR;
    }

    rc = redisAsyncFormattedCommand(rd->ac, ngx_hoop_redis_reply, call, cmd,
                                    len);

    return ngx_hoop_redis_queued(rd, call, rc);
}


/* what a reply is handed to: NULL when the command cannot be sent */
static ngx_hoop_redis_call_t *
ngx_hoop_redis_call(ngx_hoop_redis_t *rd, ngx_hoop_redis_reply_pt cb,
    void *data)
{
    ngx_hoop_redis_call_t  *call;

    if (!ngx_hoop_redis_ready(rd)) {
        return NULL;
    }

    call = ngx_alloc(sizeof(ngx_hoop_redis_call_t), rd->log);
    if (call == NULL) {
        return NULL;
    }

    call->rd = rd;
    call->cb = cb;
    call->data = data;
    call->read = 0;

    return call;
}


/* rc: hiredis's; a queued command is owed a reply, within the timeout */
static ngx_int_t
ngx_hoop_redis_queued(ngx_hoop_redis_t *rd, ngx_hoop_redis_call_t *call,
    int rc)
{
    if (rc != REDIS_OK) {
        ngx_free(call);
        return NGX_ERROR;
    }

    rd->pending++;
    ngx_hoop_redis_arm_timeout(rd);

    return NGX_OK;
}


static void
ngx_hoop_redis_connect(ngx_hoop_redis_t *rd)
{
    ngx_connection_t   *c;
    redisAsyncContext  *ac;

    /* an IP address or a socket path: hiredis resolves nothing here */

    ac = rd->port == -1 ? redisAsyncConnectUnix(rd->host)
                        : redisAsyncConnect(rd->host, rd->port);

    if (ac == NULL) {
        ngx_hoop_redis_failed(rd, "out of memory");
        return;
    }

    if (ac->err) {
        ngx_hoop_redis_failed(rd, ac->errstr);
        redisAsyncFree(ac);
        return;
    }

    c = ngx_get_connection(ac->c.fd, rd->log);
    if (c == NULL) {
        redisAsyncFree(ac);
        ngx_hoop_redis_failed(rd, "no free connection");
        return;
    }

    c->data = rd;
    c->read->handler = ngx_hoop_redis_read_handler;
    c->write->handler = ngx_hoop_redis_write_handler;
    c->read->log = rd->log;
    c->write->log = rd->log;

    rd->ac = ac;
    rd->conn = c;
    rd->login_failed = 0;

    ac->data = rd;
    ac->ev.data = rd;
    ac->ev.addRead = ngx_hoop_redis_add_read;
    ac->ev.delRead = ngx_hoop_redis_del_read;
    ac->ev.addWrite = ngx_hoop_redis_add_write;
    ac->ev.delWrite = ngx_hoop_redis_del_write;
    ac->ev.cleanup = ngx_hoop_redis_cleanup;

    redisAsyncSetConnectCallback(ac, ngx_hoop_redis_connected);
    redisAsyncSetDisconnectCallback(ac, ngx_hoop_redis_disconnected);

    /* the connect itself completes when the socket becomes writable */

    (void) ngx_add_event(c->write, NGX_WRITE_EVENT, 0);

    ngx_add_timer(&rd->timeout, rd->conf->timeout);
}


static void
ngx_hoop_redis_connected(const redisAsyncContext *ac, int status)
{
    ngx_hoop_redis_t  *rd = ac->data;

    u_char        db[NGX_INT_T_LEN];
    size_t        len[2];
    const char   *argv[2];

    if (status != REDIS_OK) {
        /* hiredis frees the context after this returns */
        rd->ac = NULL;
        ngx_hoop_redis_failed(rd, ac->errstr);
        return;
    }

    /* AUTH and SELECT before anything else may use the connection */

    if (rd->conf->password.len) {
        argv[0] = "AUTH";
        len[0] = 4;
        argv[1] = (char *) rd->conf->password.data;
        len[1] = rd->conf->password.len;

        redisAsyncCommandArgv(rd->ac, ngx_hoop_redis_login_reply, "AUTH",
                              2, argv, len);
        rd->pending++;
    }

    argv[0] = "SELECT";
    len[0] = 6;
    argv[1] = (char *) db;
    len[1] = ngx_sprintf(db, "%ui", rd->conf->db) - db;

    redisAsyncCommandArgv(rd->ac, ngx_hoop_redis_login_reply, "SELECT", 2,
                          argv, len);
    rd->pending++;

    ngx_hoop_redis_arm_timeout(rd);
}


static void
ngx_hoop_redis_login_reply(redisAsyncContext *ac, void *r, void *privdata)
{
    ngx_hoop_redis_t  *rd = ac->data;
    redisReply        *reply = r;

    ngx_uint_t  level;

    ngx_hoop_redis_replied(rd);

    if (reply == NULL || rd->login_failed) {
        return;                 /* the connection is going away */
    }

    if (reply->type == REDIS_REPLY_ERROR) {
        rd->login_failed = 1;


        /* never the password: only which step and what Redis said */

        ngx_log_error(NGX_LOG_ERR, rd->log, 0,
                      "hoop redis (%s): %s refused: %s", rd->subsystem,
                      (char *) privdata, reply->str);
        redisAsyncDisconnect(ac);
        return;
    }

    if (ngx_strcmp((char *) privdata, "SELECT") == 0) {

        /*
         * a Redis that refused a write is not trusted with events again
         * until it takes one: a short-lived key, which out of memory, a
         * read-only replica and a failed save all refuse
         */

        if (rd->refused) {
            redisAsyncCommand(ac, ngx_hoop_redis_probe_reply, rd,
                              "SET hoop:probe:%d 1 PX 1000", (int) ngx_pid);
            rd->pending++;
            ngx_hoop_redis_arm_timeout(rd);
            return;
        }

        rd->ready = 1;
        rd->backoff = NGX_HOOP_REDIS_BACKOFF_MIN;

        level = rd->down_logged ? NGX_LOG_NOTICE : NGX_LOG_INFO;

        ngx_log_error(level, rd->log, 0, "hoop redis (%s): connected to %s%s",
                      rd->subsystem, rd->host,
                      rd->down_logged ? ", reachable again" : "");

        rd->down_logged = 0;

        if (rd->on_ready) {
            rd->on_ready(rd, rd->on_ready_data);
        }

        /* no timeout on a subscription: it is answered for as long as
         * the connection lives */

        if (rd->channel != NULL) {
            redisAsyncCommand(ac, ngx_hoop_redis_message, rd,
                              "SUBSCRIBE %s", rd->channel);
        }
    }
}


/*
 * The write that shows a Redis that refused one may take them again.  A
 * refusal of writes as such (out of memory, read-only, a failed save)
 * keeps the connection closed; any other error (a user whose ACL does
 * not cover the probe key) says nothing either way, and the connection
 * is tried with events.  Until an event is taken, the connection stays
 * on probation: refused again, it is retried later and later.
 */
static void
ngx_hoop_redis_probe_reply(redisAsyncContext *ac, void *r, void *privdata)
{
    ngx_hoop_redis_t  *rd = privdata;
    redisReply        *reply = r;

    ngx_hoop_redis_replied(rd);

    if (reply == NULL) {
        return;                 /* the connection is going away */
    }

    if (reply->type == REDIS_REPLY_ERROR
        && (ngx_strncmp(reply->str, "OOM", 3) == 0
            || ngx_strncmp(reply->str, "READONLY", 8) == 0
            || ngx_strncmp(reply->str, "MISCONF", 7) == 0))
    {
        ngx_log_error(NGX_LOG_INFO, rd->log, 0,
                      "hoop redis (%s): %s still refuses writes: %s",
                      rd->subsystem, rd->host, reply->str);
        redisAsyncDisconnect(ac);
        return;
    }

    ngx_log_error(NGX_LOG_INFO, rd->log, 0,
                  "hoop redis (%s): %s: probe %s%s, events tried again",
                  rd->subsystem, rd->host,
                  reply->type == REDIS_REPLY_ERROR ? "refused: " : "taken",
                  reply->type == REDIS_REPLY_ERROR ? reply->str : "");

    rd->ready = 1;

    if (rd->on_ready) {
        rd->on_ready(rd, rd->on_ready_data);
    }
}


static void
ngx_hoop_redis_message(redisAsyncContext *ac, void *r, void *privdata)
{
    ngx_hoop_redis_t  *rd = privdata;
    redisReply        *reply = r;

    ngx_str_t     payload;
    redisReply  **e;

    if (reply != NULL && reply->type == REDIS_REPLY_ERROR) {
        ngx_log_error(NGX_LOG_ERR, rd->log, 0,
                      "hoop redis (%s): SUBSCRIBE %s refused: %s",
                      rd->subsystem, rd->channel, reply->str);
        return;
    }

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY
        || reply->elements != 3 || rd->stopping)
    {
        return;                 /* the connection is going away */
    }

    e = reply->element;

    if (e[0]->type != REDIS_REPLY_STRING) {
        return;
    }

    if (ngx_strcmp(e[0]->str, "subscribe") == 0) {
        rd->message(rd, NULL, rd->message_data);
        return;
    }

    if (ngx_strcmp(e[0]->str, "message") == 0
        && e[2]->type == REDIS_REPLY_STRING)
    {
        payload.data = (u_char *) e[2]->str;
        payload.len = e[2]->len;
        rd->message(rd, &payload, rd->message_data);
    }
}


static void
ngx_hoop_redis_reply(redisAsyncContext *ac, void *r, void *privdata)
{
    ngx_hoop_redis_call_t  *call = privdata;

    ngx_hoop_redis_t  *rd;

    rd = call->rd;
    ngx_hoop_redis_replied(rd);

    if (rd->refused && r != NULL && !call->read
        && ((redisReply *) r)->type != REDIS_REPLY_ERROR)
    {
        rd->refused = 0;
        rd->backoff = NGX_HOOP_REDIS_BACKOFF_MIN;
        rd->down_logged = 0;

        ngx_log_error(NGX_LOG_NOTICE, rd->log, 0,
                      "hoop redis (%s): %s takes writes again",
                      rd->subsystem, rd->host);
    }

    call->cb(rd, r, call->data);

    ngx_free(call);
}


static void
ngx_hoop_redis_disconnected(const redisAsyncContext *ac, int status)
{
    ngx_hoop_redis_t  *rd = ac->data;

    /* hiredis frees the context after this returns */

    rd->ac = NULL;
    rd->ready = 0;

    ngx_hoop_redis_failed(rd, status == REDIS_OK ? "disconnected"
                                                 : ac->errstr);
}


/* Logged once per outage; reconnects with a doubling delay. */
static void
ngx_hoop_redis_failed(ngx_hoop_redis_t *rd, const char *why)
{
    ngx_uint_t  level;

    rd->ready = 0;

    if (rd->timeout.timer_set) {
        ngx_del_timer(&rd->timeout);
    }

    level = (rd->down_logged || rd->stopping) ? NGX_LOG_DEBUG : NGX_LOG_ERR;

    ngx_log_error(level, rd->log, 0,
                  "hoop redis (%s): %s: %s", rd->subsystem, rd->host, why);

    rd->down_logged = 1;

    /*
     * a worker shutting down gracefully may serve its sessions for long
     * (hoop_pg_timeout): it reconnects too, or their events would all go
     * to the spool, or be refused.  The reconnect timer is cancelable: it
     * keeps no worker alive.
     */

    if (rd->stopping || ngx_terminate || ngx_quit) {
        return;
    }

    ngx_add_timer(&rd->reconnect, rd->backoff);

    rd->backoff = ngx_min(rd->backoff * 2, NGX_HOOP_REDIS_BACKOFF_MAX);
}


static void
ngx_hoop_redis_reconnect_handler(ngx_event_t *ev)
{
    ngx_hoop_redis_t  *rd = ev->data;

    if (rd->stopping || ngx_terminate || ngx_quit || rd->ac != NULL) {
        return;
    }

    ngx_hoop_redis_connect(rd);
}


/* A connect or a reply overdue: drop the connection, callbacks get NULL. */
static void
ngx_hoop_redis_timeout_handler(ngx_event_t *ev)
{
    ngx_hoop_redis_t  *rd = ev->data;

    redisAsyncContext  *ac;

    if (rd->ac == NULL || ngx_hoop_redis_worker_was_late(rd)) {
        return;
    }

    ac = rd->ac;

    ngx_log_error(NGX_LOG_ERR, rd->log, 0,
                  "hoop redis (%s): %s timed out", rd->subsystem, rd->host);

    rd->down_logged = 1;
    rd->ac = NULL;
    rd->ready = 0;

    /*
     * replies still owed come back as NULL; the disconnect callback runs
     * if the connection had been established, and schedules the
     * reconnect; a connect that never completed needs it done here
     */

    redisAsyncFree(ac);

    rd->pending = 0;

    if (!rd->reconnect.timer_set) {
        ngx_hoop_redis_failed(rd, "timed out");
    }
}


/*
 * The timer may expire although Redis was never given its time: the
 * worker was busy for longer than the timeout (a long statement parsed,
 * a large body masked), and nginx expires timers before it reads its
 * sockets, and after the flush timer has only now written the commands.
 * The replies that are there are read first; then Redis is owed a reply
 * only a timeout after the commands left.
 */
static ngx_uint_t
ngx_hoop_redis_worker_was_late(ngx_hoop_redis_t *rd)
{
    ngx_uint_t  pending;
    ngx_msec_t  waited;

    if (!(rd->ac->c.flags & REDIS_CONNECTED)) {
        return 0;
    }

    pending = rd->pending;

    redisAsyncHandleRead(rd->ac);

    if (rd->ac == NULL || rd->pending < pending || rd->pending == 0) {
        return 1;           /* answered, or gone: the timer is seen to */
    }

    waited = ngx_current_msec - rd->written;

    if (waited >= rd->conf->timeout) {
        return 0;
    }

    ngx_add_timer(&rd->timeout, rd->conf->timeout - waited);

    return 1;
}


static void
ngx_hoop_redis_replied(ngx_hoop_redis_t *rd)
{
    if (rd->pending) {
        rd->pending--;
    }

    /* while the context is being freed, no timer is wanted any more */

    if (rd->ac && !rd->stopping) {
        ngx_hoop_redis_arm_timeout(rd);
    }
}


static void
ngx_hoop_redis_arm_timeout(ngx_hoop_redis_t *rd)
{
    if (rd->pending == 0) {
        if (rd->timeout.timer_set) {
            ngx_del_timer(&rd->timeout);
        }

        return;
    }

    ngx_add_timer(&rd->timeout, rd->conf->timeout);
}


static void
ngx_hoop_redis_read_handler(ngx_event_t *ev)
{
    ngx_connection_t  *c = ev->data;
    ngx_hoop_redis_t  *rd = c->data;

    if (rd->ac) {
        redisAsyncHandleRead(rd->ac);
    }
}


static void
ngx_hoop_redis_write_handler(ngx_event_t *ev)
{
    ngx_connection_t  *c = ev->data;
    ngx_hoop_redis_t  *rd = c->data;

    if (rd->ac) {
        ngx_hoop_redis_write(rd);
    }
}


static void
ngx_hoop_redis_write(ngx_hoop_redis_t *rd)
{
    rd->written = ngx_current_msec;
    redisAsyncHandleWrite(rd->ac);
}


/* hiredis drives the socket: level-triggered, as its own adapters are */

static void
ngx_hoop_redis_add_read(void *privdata)
{
    ngx_hoop_redis_t  *rd = privdata;

    if (rd->conn && !rd->conn->read->active) {
        (void) ngx_add_event(rd->conn->read, NGX_READ_EVENT, 0);
    }
}


static void
ngx_hoop_redis_del_read(void *privdata)
{
    ngx_hoop_redis_t  *rd = privdata;

    if (rd->conn && rd->conn->read->active) {
        (void) ngx_del_event(rd->conn->read, NGX_READ_EVENT, 0);
    }
}


/*
 * Commands are not written as each is made but a moment later, together:
 * an audited Postgres statement or HTTP request makes one each, and one
 * write (and one wakeup of Redis) for many is most of the cost saved.
 */
static void
ngx_hoop_redis_add_write(void *privdata)
{
    ngx_hoop_redis_t  *rd = privdata;

    if (rd->conn == NULL || rd->conn->write->active) {
        return;
    }

    /* what the flush could not write waits for the socket: no delay */

    if (rd->flushing) {
        (void) ngx_add_event(rd->conn->write, NGX_WRITE_EVENT, 0);
        return;
    }

    if (!rd->flush.timer_set) {
        ngx_add_timer(&rd->flush, rd->flush_delay);
    }
}


/*
 * The socket is written at once: it is nearly always writable, and
 * waiting for epoll to say so costs two epoll_ctl() calls per flush.
 */
static void
ngx_hoop_redis_flush_handler(ngx_event_t *ev)
{
    ngx_hoop_redis_t  *rd = ev->data;

    if (rd->ac == NULL || rd->conn == NULL || rd->conn->write->active) {
        return;
    }

    /* a connect in progress is seen through epoll: hiredis cannot tell */

    if (!(rd->ac->c.flags & REDIS_CONNECTED)) {
        (void) ngx_add_event(rd->conn->write, NGX_WRITE_EVENT, 0);
        return;
    }

    rd->flushing = 1;
    ngx_hoop_redis_write(rd);
    rd->flushing = 0;
}


static void
ngx_hoop_redis_del_write(void *privdata)
{
    ngx_hoop_redis_t  *rd = privdata;

    if (rd->conn && rd->conn->write->active) {
        (void) ngx_del_event(rd->conn->write, NGX_WRITE_EVENT, 0);
    }
}


/* before hiredis closes the socket: forget the nginx side of it */
static void
ngx_hoop_redis_cleanup(void *privdata)
{
    ngx_hoop_redis_t  *rd = privdata;

    ngx_connection_t  *c;

    c = rd->conn;

    if (c == NULL) {
        return;
    }

    ngx_hoop_redis_del_read(rd);
    ngx_hoop_redis_del_write(rd);

    if (rd->flush.timer_set) {
        ngx_del_timer(&rd->flush);
    }

    if (c->read->posted) {
        ngx_delete_posted_event(c->read);
    }

    if (c->write->posted) {
        ngx_delete_posted_event(c->write);
    }

    c->fd = (ngx_socket_t) -1;
    ngx_free_connection(c);
    rd->conn = NULL;
}


ngx_int_t
ngx_hoop_redis_formatted_sync(ngx_hoop_redis_t *rd, const char *cmd,
    size_t len)
{
    u_char           db[NGX_INT_T_LEN];
    size_t           argl[2];
    ngx_uint_t       step;
    const char      *argv[2], *failed;
    redisReply      *reply;
    redisContext    *c;
    struct timeval   tv;

    if (rd == NULL) {
        return NGX_ERROR;
    }

    tv.tv_sec = rd->conf->timeout / 1000;
    tv.tv_usec = (rd->conf->timeout % 1000) * 1000;

    c = rd->port == -1 ? redisConnectUnixWithTimeout(rd->host, tv)
                       : redisConnectWithTimeout(rd->host, rd->port, tv);

    if (c == NULL || c->err || redisSetTimeout(c, tv) != REDIS_OK) {
        failed = c ? c->errstr : "out of memory";
        goto failed;
    }

    /*
     * AUTH, SELECT, then the command, each only once the one before was
     * answered: a command must not land in another database
     */

    for (step = rd->conf->password.len ? 0 : 1; step < 3; step++) {
        switch (step) {

        case 0:
            argv[0] = "AUTH";
            argl[0] = 4;
            argv[1] = (char *) rd->conf->password.data;
            argl[1] = rd->conf->password.len;
            reply = redisCommandArgv(c, 2, argv, argl);
            break;

        case 1:
            argv[0] = "SELECT";
            argl[0] = 6;
            argv[1] = (char *) db;
            argl[1] = ngx_sprintf(db, "%ui", rd->conf->db) - db;
            reply = redisCommandArgv(c, 2, argv, argl);
            break;

        default:
            reply = NULL;

            if (redisAppendFormattedCommand(c, cmd, len) != REDIS_OK
                || redisGetReply(c, (void **) &reply) != REDIS_OK)
            {
                reply = NULL;
            }
        }

        if (reply == NULL) {
            failed = c->err ? c->errstr : "no reply";
            goto failed;
        }

        if (reply->type == REDIS_REPLY_ERROR) {
            freeReplyObject(reply);
            failed = "refused";
            goto failed;
        }

        freeReplyObject(reply);
    }

    redisFree(c);

    return NGX_OK;

failed:

    ngx_log_error(NGX_LOG_ERR, rd->log, 0,
                  "hoop redis (%s): %s: %s, as the worker exits",
                  rd->subsystem, rd->host, failed);

    if (c != NULL) {
        redisFree(c);
    }

    return NGX_ERROR;
}
