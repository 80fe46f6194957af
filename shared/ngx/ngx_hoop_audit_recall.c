/*
 * Copyright (C) nginx-hoop authors
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_hoop_audit_recall.h"


static void ngx_hoop_audit_recall_ready(ngx_hoop_redis_t *rd, void *data);
static void ngx_hoop_audit_recall_run_id(ngx_hoop_redis_t *rd,
    redisReply *reply, void *data);
static void ngx_hoop_audit_recall_newest(ngx_hoop_redis_t *rd,
    redisReply *reply, void *data);
static void ngx_hoop_audit_recall_lost(ngx_hoop_audit_t *a,
    const char *newest, size_t len);


void
ngx_hoop_audit_recall_start(ngx_hoop_audit_t *a)
{
    ngx_hoop_redis_on_ready(a->redis_conn, ngx_hoop_audit_recall_ready, a);
}


void
ngx_hoop_audit_recall_stored(ngx_hoop_audit_t *a, redisReply *reply)
{
    /* one connection's replies come in order: each id is the newest */

    if (reply->type == REDIS_REPLY_STRING
        && reply->len < NGX_HOOP_AUDIT_ID_LEN)
    {
        ngx_memcpy(a->stored_id, reply->str, reply->len);
        a->stored_id[reply->len] = '\0';
    }
}


/*
 * A new connection: which Redis (its run id tells a restart, or another
 * server, from the same one), and whether its stream still reaches the
 * newest event it took from this worker.  Both go before any event.
 */
static void
ngx_hoop_audit_recall_ready(ngx_hoop_redis_t *rd, void *data)
{
    ngx_hoop_audit_t *a = data;

    size_t       len[3];
    const char  *argv[3];

    argv[0] = "INFO";
    len[0] = 4;
    argv[1] = "server";
    len[1] = 6;

    if (ngx_hoop_redis_read(rd, ngx_hoop_audit_recall_run_id, a, 2, argv, len)
        != NGX_OK)
    {
        return;
    }

    if (a->stored_id[0] == '\0' || a->recall_refused) {
        return;                 /* nothing stored yet, or not allowed */
    }

    argv[0] = "XINFO";
    len[0] = 5;
    argv[1] = "STREAM";
    len[1] = 6;
    argv[2] = (char *) a->stream.data;
    len[2] = a->stream.len;

    (void) ngx_hoop_redis_read(rd, ngx_hoop_audit_recall_newest, a, 3, argv,
                               len);
}


static void
ngx_hoop_audit_recall_run_id(ngx_hoop_redis_t *rd, redisReply *reply,
    void *data)
{
    ngx_hoop_audit_t *a = data;

    char  *p;

    a->redis_restarted = 0;

    if (reply == NULL || reply->type != REDIS_REPLY_STRING) {
        return;
    }

    p = ngx_strstr(reply->str, "\nrun_id:");

    if (p == NULL || ngx_strlen(p + 8) < NGX_HOOP_AUDIT_RUN_ID_LEN - 1) {
        return;
    }

    p += 8;

    if (a->run_id[0] != '\0'
        && ngx_strncmp(a->run_id, p, NGX_HOOP_AUDIT_RUN_ID_LEN - 1) != 0)
    {
        a->redis_restarted = 1;
    }

    ngx_memcpy(a->run_id, p, NGX_HOOP_AUDIT_RUN_ID_LEN - 1);
    a->run_id[NGX_HOOP_AUDIT_RUN_ID_LEN - 1] = '\0';
}


/* XINFO STREAM: pairs of a name and a value; a stream gone is an error */
static void
ngx_hoop_audit_recall_newest(ngx_hoop_redis_t *rd, redisReply *reply,
    void *data)
{
    ngx_hoop_audit_t *a = data;

    size_t       i;
    redisReply  *name, *value;

    if (reply == NULL) {
        return;                 /* the connection went: asked again */
    }

    if (reply->type == REDIS_REPLY_ERROR) {
        if (ngx_strstr(reply->str, "no such key") != NULL) {
            ngx_hoop_audit_recall_lost(a, "0-0", 3);
            return;
        }

        /* an ACL that does not allow XINFO: said once, not asked again */

        a->recall_refused = 1;

        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "hoop_audit: XINFO STREAM refused (%s): whether Redis"
                      " keeps what it took is not checked", reply->str);
        return;
    }

    if (reply->type != REDIS_REPLY_ARRAY) {
        return;
    }

    for (i = 0; i + 1 < reply->elements; i += 2) {
        name = reply->element[i];
        value = reply->element[i + 1];

        if (name->type == REDIS_REPLY_STRING
            && ngx_strcmp(name->str, "last-generated-id") == 0
            && value->type == REDIS_REPLY_STRING)
        {
            ngx_hoop_audit_recall_lost(a, value->str, value->len);
            return;
        }
    }
}


/*
 * Redis's newest id, against the newest this worker had stored: still the
 * one it had when it asked, as this reply comes before any event's on the
 * new connection
 */
static void
ngx_hoop_audit_recall_lost(ngx_hoop_audit_t *a, const char *newest,
    size_t len)
{
    ngx_time_t  *tp;

    if (len >= NGX_HOOP_AUDIT_ID_LEN
        || hoop_audit_stream_id_cmp(newest, len, a->stored_id,
                                    ngx_strlen(a->stored_id))
           != -1)
    {
        return;
    }

    ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, 0,
                  "hoop_audit: Redis came back without audit events it had"
                  " stored: its stream \"%V\" ends at %*s, before %s, the"
                  " newest this worker had stored%s; the next checkpoint"
                  " says so", &a->stream, len, newest, a->stored_id,
                  a->redis_restarted ? " (Redis restarted, or another"
                  " server took its place)" : " (the same Redis: the stream"
                  " was deleted or replaced)");

    /* the oldest point a loss reached, and the newest event it took */

    if (a->lost.stored[0] == '\0'
        || hoop_audit_stream_id_cmp(newest, len, a->lost.newest,
                                    ngx_strlen(a->lost.newest))
           == -1)
    {
        ngx_memcpy(a->lost.newest, newest, len);
        a->lost.newest[len] = '\0';
    }

    ngx_memcpy(a->lost.stored, a->stored_id, NGX_HOOP_AUDIT_ID_LEN);
    a->lost.restarted |= a->redis_restarted;

    tp = ngx_timeofday();
    a->lost.seen_ms = (int64_t) tp->sec * 1000 + tp->msec;
}


void
ngx_hoop_audit_recall_json(ngx_hoop_audit_t *a, hoop_json_t *j)
{
    if (a->lost.stored[0] == '\0') {
        return;
    }

    hoop_json_object(j, "redis_lost");
    hoop_json_string(j, "stored", a->lost.stored,
                     ngx_strlen(a->lost.stored));
    hoop_json_string(j, "newest", a->lost.newest,
                     ngx_strlen(a->lost.newest));
    hoop_json_value(j, "restarted", a->lost.restarted ? "true" : "false",
                    a->lost.restarted ? 4 : 5);
    hoop_json_int(j, "seen_ms", (long long) a->lost.seen_ms);
    hoop_json_end(j);
}


void
ngx_hoop_audit_recall_sealed(ngx_hoop_audit_t *a)
{
    ngx_memzero(&a->lost, sizeof(ngx_hoop_audit_lost_t));
}
