/*
 * Copyright (C) nginx-hoop authors
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include <jansson.h>
#include <openssl/rand.h>

#include "hoop_audit.h"
#include "hoop_json.h"
#include "ngx_hoop_audit.h"
#include "ngx_hoop_audit_recall.h"
#include "ngx_hoop_audit_seal.h"
#include "ngx_hoop_secret.h"


#define NGX_HOOP_AUDIT_EVENT_MAX    8192        /* most events fit */
#define NGX_HOOP_AUDIT_EVENT_LIMIT  (4 * 1024 * 1024)   /* none is larger */
#define NGX_HOOP_AUDIT_DRAIN_EVERY  200         /* ms */
#define NGX_HOOP_AUDIT_DRAIN_BATCH  (256 * 1024)

/* the longest spool record: the longest event, every byte escaped */
#define NGX_HOOP_AUDIT_RECORD_MAX   (6 * NGX_HOOP_AUDIT_EVENT_LIMIT + 512)
#define NGX_HOOP_AUDIT_ADOPT_EVERY  25          /* drain ticks */

/*
 * Events gather this long (ms) before one write sends them: under load,
 * Redis then wakes once for dozens of XADDs instead of a few, which
 * halves what each event costs it; nothing waits for an event's reply.
 */
#define NGX_HOOP_AUDIT_FLUSH_DELAY  10


/*
 * One event on its way: what the XADD callback needs, since nothing of the
 * request or session survives it, and what the spool record is made of if
 * Redis does not take the event.
 */
typedef struct {
    ngx_hoop_audit_t           *audit;
    char                        session[33];
    ngx_uint_t                  seq;
    char                        prev[HOOP_AUDIT_HASH_LEN + 1];
    char                        hash[HOOP_AUDIT_HASH_LEN + 1];
    char                        sig[HOOP_AUDIT_SIG_LEN + 1];  /* or "" */
    size_t                      len;
    char                       *event;       /* len bytes, in the XADD */
} ngx_hoop_audit_pending_t;


/* room before the event for the XADD's other arguments, and after it */
#define NGX_HOOP_AUDIT_RESP_HEAD   128
#define NGX_HOOP_AUDIT_RESP_TAIL   (64 + 2 * HOOP_AUDIT_HASH_LEN            \
                                    + HOOP_AUDIT_SIG_LEN)


/* One delivery of spooled records. */
typedef struct {
    ngx_hoop_audit_t           *audit;
    size_t                      len;          /* bytes of the batch */
    ngx_uint_t                  sent;
    ngx_uint_t                  replied;
    ngx_uint_t                  failed;
} ngx_hoop_audit_batch_t;


static ngx_hoop_audit_pending_t *ngx_hoop_audit_pending(ngx_hoop_audit_t *a,
    size_t len, ngx_log_t *log);
static ngx_int_t ngx_hoop_audit_xadd(ngx_hoop_audit_t *a,
    ngx_hoop_audit_pending_t *ev, ngx_hoop_redis_reply_pt cb, void *data);
static size_t ngx_hoop_audit_xadd_format(ngx_hoop_audit_t *a,
    ngx_hoop_audit_pending_t *ev, u_char **cmd);
static void ngx_hoop_audit_send_last(ngx_hoop_audit_t *a,
    ngx_hoop_audit_pending_t *ev, ngx_log_t *log);
static ngx_int_t ngx_hoop_audit_xadd_start(ngx_hoop_audit_t *a,
    ngx_pool_t *pool);
static u_char *ngx_hoop_audit_bulk(u_char *p, const u_char *data,
    size_t len);
static u_char *ngx_hoop_audit_decimal(u_char *p, size_t n);
static void ngx_hoop_audit_stored(ngx_hoop_redis_t *rd, redisReply *reply,
    void *data);
static ngx_uint_t ngx_hoop_audit_taken(ngx_hoop_redis_t *rd,
    redisReply *reply);
static void ngx_hoop_audit_spool(ngx_hoop_audit_pending_t *ev,
    ngx_log_t *log);
static void ngx_hoop_audit_drain(ngx_event_t *ev);
static ssize_t ngx_hoop_audit_drain_read(ngx_hoop_audit_t *a, u_char **buf,
    ngx_log_t *log);
static ngx_int_t ngx_hoop_audit_drain_record(ngx_hoop_audit_batch_t *batch,
    u_char *rec, size_t len);
static void ngx_hoop_audit_drained(ngx_hoop_redis_t *rd, redisReply *reply,
    void *data);


void
ngx_hoop_audit_conf_create(ngx_hoop_audit_t *a)
{
    /* the rest is zeroed by the main conf's ngx_pcalloc() */

    a->maxlen = NGX_CONF_UNSET_UINT;
    a->fail_closed = NGX_CONF_UNSET_UINT;
    a->seal_every = NGX_CONF_UNSET_MSEC;
}


char *
ngx_hoop_audit_conf_init(ngx_conf_t *cf, ngx_hoop_audit_t *a,
    ngx_hoop_redis_conf_t *redis, const char *subsystem, void *tag)
{
    a->redis = redis;

    if (a->used && redis == NULL) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"hoop_audit\" needs \"hoop_redis\": the events"
                      " must go somewhere");
        return NGX_CONF_ERROR;
    }

    if (a->stream.len == 0) {
        ngx_str_set(&a->stream, "hoop:audit");
    }

    if (a->maxlen == NGX_CONF_UNSET_UINT) {
        a->maxlen = 1000000;
    }

    if (a->fail_closed == NGX_CONF_UNSET_UINT) {
        a->fail_closed = 1;
    }

    if (a->seal_every == NGX_CONF_UNSET_MSEC) {
        a->seal_every = 60000;
    }

    if (a->seal_every < 1000) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"hoop_audit_checkpoint\" is at least 1s");
        return NGX_CONF_ERROR;
    }

    if (a->gateway.len == 0) {
        a->gateway = cf->cycle->hostname;
    }

    if (a->used && ngx_hoop_audit_seal_conf(cf, a, subsystem, tag) != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    /*
     * a signed trail is checked by anyone with the public key: its chain
     * must be one anyone can recompute, and nothing needs the HMAC key
     */

    if (a->signer != NULL && a->key.len) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"hoop_audit_signing_key\" and"
                      " \"hoop_audit_key_file\" exclude each other: with"
                      " signed checkpoints, auditors check the trail with"
                      " the public key alone, which an HMAC chain would"
                      " not let them do");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/*
 * While the spool has events to deliver, new ones queue behind them (in
 * order): then it is the spool's room that counts, Redis or not.
 */
ngx_uint_t
ngx_hoop_audit_available(ngx_hoop_audit_t *a)
{
    return (ngx_hoop_redis_ready(a->redis_conn)
            && !ngx_hoop_spool_pending(a->spool))
           || ngx_hoop_spool_admits(a->spool);
}


ngx_uint_t
ngx_hoop_audit_starting(ngx_hoop_audit_t *a)
{
    return !ngx_hoop_audit_available(a)
           && ngx_hoop_redis_starting(a->redis_conn);
}


ngx_int_t
ngx_hoop_audit_admit(ngx_hoop_audit_t *a, ngx_log_t *log, const char *what)
{
    if (ngx_hoop_audit_available(a)) {
        return NGX_OK;
    }

    if (!a->fail_closed) {
        ngx_log_error(NGX_LOG_WARN, log, 0,
                      "hoop_audit: neither Redis nor the spool can take"
                      " events, %s served without its audit events"
                      " (hoop_audit_fail open)", what);
        return NGX_OK;
    }

    ngx_log_error(NGX_LOG_ERR, log, 0,
                  "hoop_audit: neither Redis nor the spool can take"
                  " events, %s refused (hoop_audit_fail closed)", what);

    return NGX_DECLINED;
}


void
ngx_hoop_audit_exit_process(ngx_hoop_audit_t *a)
{
    /*
     * events still owed a reply (a fast shutdown) go to the spool first,
     * so that the last checkpoint, which seals them, comes after them
     */

    ngx_hoop_redis_stop(a->redis_conn);

    if (a->hasher != NULL) {
        /* the event loop is over: the last checkpoint is sent as it is */
        a->exiting = 1;
        ngx_hoop_audit_seal_final(a);
    }

    hoop_audit_hasher_free(a->hasher);
    a->hasher = NULL;

    ngx_free(a->scratch);
    a->scratch = NULL;
}


ngx_int_t
ngx_hoop_audit_session_init(ngx_hoop_audit_session_t *sess)
{
    u_char  rnd[16];

    if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
        return NGX_ERROR;
    }

    ngx_hex_dump((u_char *) sess->id, rnd, sizeof(rnd));
    sess->id[32] = '\0';
    sess->seq = 0;
    ngx_memcpy(sess->prev, hoop_audit_genesis, sizeof(sess->prev));
    sess->audit = NULL;
    sess->mark = NULL;
    sess->mark_gen = 0;

    return NGX_OK;
}


/*
 * v, type, time, gateway, instance, session, seq: what every event starts
 * with
 */
void
ngx_hoop_audit_envelope(hoop_json_t *j, const char *type,
    ngx_hoop_audit_session_t *sess)
{
    u_char       time[sizeof("1970-01-01T00:00:00.000Z")];
    ngx_tm_t     tm;
    ngx_time_t  *tp;

    /* the date and time to the second, formatted once a second */
    static time_t  second = -1;
    static u_char  prefix[sizeof("1970-01-01T00:00:00.")];

    tp = ngx_timeofday();

    if (tp->sec != second) {
        ngx_gmtime(tp->sec, &tm);
        ngx_sprintf(prefix, "%4d-%02d-%02dT%02d:%02d:%02d.",
                    tm.ngx_tm_year, tm.ngx_tm_mon, tm.ngx_tm_mday,
                    tm.ngx_tm_hour, tm.ngx_tm_min, tm.ngx_tm_sec);
        second = tp->sec;
    }

    ngx_memcpy(time, prefix, sizeof(prefix) - 1);
    time[20] = (u_char) ('0' + tp->msec / 100);
    time[21] = (u_char) ('0' + tp->msec / 10 % 10);
    time[22] = (u_char) ('0' + tp->msec % 10);
    time[23] = 'Z';

    hoop_json_int(j, "v", HOOP_AUDIT_VERSION);
    hoop_json_string(j, "type", type, ngx_strlen(type));
    hoop_json_string(j, "time", (char *) time, sizeof(time) - 1);
    hoop_json_string(j, "gateway", (char *) sess->audit->gateway.data,
                     sess->audit->gateway.len);
    hoop_json_string(j, "instance", sess->audit->instance, 32);
    hoop_json_string(j, "session", sess->id, 32);
    hoop_json_int(j, "seq", (long long) sess->seq);
}


/*
 * The next event of sess: numbered, built by the caller, chained, and sent
 * to Redis or, when Redis cannot take it, to the spool.
 */
ngx_int_t
ngx_hoop_audit_emit(ngx_hoop_audit_t *a, ngx_hoop_audit_session_t *sess,
    ngx_hoop_audit_build_pt build, void *data, ngx_log_t *log)
{
    size_t                     len;
    ngx_uint_t                 fits;
    hoop_json_t                j;
    ngx_hoop_audit_pending_t  *ev;

    if (sess != &a->seal) {
        ngx_hoop_audit_seal_first(a, log);
    }

    sess->seq++;
    sess->audit = a;

    /*
     * Built in the worker's scratch buffer, then copied inside its XADD
     * (in the Redis wire format, between room for the arguments before
     * it and after it): what waits for Redis's reply holds the event's
     * size, not the most an event may be.  A longer event (a long
     * statement) is built again, in place, at the size it said it needs.
     */

    hoop_json_init(&j, a->scratch, NGX_HOOP_AUDIT_EVENT_MAX);
    build(data, &j, sess);
    len = hoop_json_finish(&j);

    fits = (len != 0 || j.len < NGX_HOOP_AUDIT_EVENT_MAX);

    if (!fits) {
        if (j.len >= NGX_HOOP_AUDIT_EVENT_LIMIT) {
            ngx_log_error(NGX_LOG_ALERT, log, 0,
                          "hoop_audit: event %s/%ui is larger than %uz"
                          " bytes, not recorded", sess->id, sess->seq,
                          (size_t) NGX_HOOP_AUDIT_EVENT_LIMIT);
            return NGX_ERROR;
        }

        len = j.len;
    }

    ev = ngx_hoop_audit_pending(a, len, log);
    if (ev == NULL) {
        return NGX_ERROR;
    }

    if (fits) {
        ngx_memcpy(ev->event, a->scratch, len);

    } else {
        hoop_json_init(&j, ev->event, len);
        build(data, &j, sess);
        ev->len = hoop_json_finish(&j);
    }

    if (ev->len == 0
        || hoop_audit_hasher_chain(a->hasher, sess->prev, ev->event, ev->len,
                                   ev->hash)
           != 0)
    {
        ngx_log_error(NGX_LOG_ALERT, log, 0,
                      "hoop_audit: event %s/%ui could not be built",
                      sess->id, sess->seq);
        ngx_free(ev);
        return NGX_ERROR;
    }

    /* a checkpoint is signed: its hash commits to the chain before it */

    if (sess == &a->seal && a->signer != NULL
        && hoop_audit_sign(a->signer, ev->hash, HOOP_AUDIT_HASH_LEN, ev->sig)
           != 0)
    {
        ngx_log_error(NGX_LOG_ALERT, log, 0,
                      "hoop_audit: checkpoint %ui could not be signed",
                      sess->seq);
        ngx_free(ev);
        return NGX_ERROR;
    }

    ev->seq = sess->seq;
    ngx_memcpy(ev->session, sess->id, sizeof(ev->session));
    ngx_memcpy(ev->prev, sess->prev, sizeof(ev->prev));
    ngx_memcpy(sess->prev, ev->hash, sizeof(ev->hash));

    ngx_hoop_audit_seal_note(a, sess);

    if (a->exiting) {
        ngx_hoop_audit_send_last(a, ev, log);
        ngx_free(ev);
        return NGX_OK;
    }

    /* once events are spooled, the next ones queue behind them: in order */

    if (ngx_hoop_spool_pending(a->spool)
        || ngx_hoop_audit_xadd(a, ev, ngx_hoop_audit_stored, ev) != NGX_OK)
    {
        ngx_hoop_audit_spool(ev, log);
        ngx_free(ev);
    }

    return NGX_OK;
}


/*
 * As the worker exits, after its event loop: Redis is written to on a
 * connection of its own, waiting for the reply (at most the hoop_redis
 * timeout), or the event goes to the spool, which a living worker, or the
 * next one, delivers.
 */
static void
ngx_hoop_audit_send_last(ngx_hoop_audit_t *a, ngx_hoop_audit_pending_t *ev,
    ngx_log_t *log)
{
    u_char  *cmd;
    size_t   len;

    if (!ngx_hoop_spool_pending(a->spool)) {
        len = ngx_hoop_audit_xadd_format(a, ev, &cmd);

        if (ngx_hoop_redis_formatted_sync(a->redis_conn, (char *) cmd, len)
            == NGX_OK)
        {
            return;
        }
    }

    ngx_hoop_audit_spool(ev, log);
}


/* an event of len bytes on its way, with room for its XADD around it */
static ngx_hoop_audit_pending_t *
ngx_hoop_audit_pending(ngx_hoop_audit_t *a, size_t len, ngx_log_t *log)
{
    size_t                     head;
    ngx_hoop_audit_pending_t  *ev;

    head = a->xadd.len + NGX_HOOP_AUDIT_RESP_HEAD;

    ev = ngx_alloc(sizeof(ngx_hoop_audit_pending_t) + head + len
                   + NGX_HOOP_AUDIT_RESP_TAIL, log);
    if (ev == NULL) {
        return NULL;
    }

    ev->audit = a;
    ev->len = len;
    ev->event = (char *) (ev + 1) + head;
    ev->sig[0] = '\0';

    return ev;
}


static ngx_int_t
ngx_hoop_audit_xadd(ngx_hoop_audit_t *a, ngx_hoop_audit_pending_t *ev,
    ngx_hoop_redis_reply_pt cb, void *data)
{
    u_char  *cmd;
    size_t   len;

    len = ngx_hoop_audit_xadd_format(a, ev, &cmd);

    return ngx_hoop_redis_formatted(a->redis_conn, cb, data, (char *) cmd,
                                    len);
}


/*
 * XADD stream MAXLEN ~ n * session S seq N event E prev P hash H [sig G],
 * in the wire format around the event already in place: the first
 * arguments are the same for every event and made once
 * (ngx_hoop_audit_xadd_start).  Live events and spooled ones are sent
 * alike.
 */
static size_t
ngx_hoop_audit_xadd_format(ngx_hoop_audit_t *a, ngx_hoop_audit_pending_t *ev,
    u_char **command)
{
    u_char  *p, *cmd, var[NGX_HOOP_AUDIT_RESP_HEAD], seq[NGX_INT_T_LEN];
    size_t   n;

    static u_char  session[] = "$7\r\nsession\r\n";
    static u_char  seqname[] = "$3\r\nseq\r\n";
    static u_char  event[] = "$5\r\nevent\r\n$";
    static u_char  prev[] = "$4\r\nprev\r\n";
    static u_char  hash[] = "$4\r\nhash\r\n";
    static u_char  sig[] = "$3\r\nsig\r\n";

    /* by hand: ngx_sprintf() cost a third of what sending an event did */

    n = ngx_hoop_audit_decimal(seq, ev->seq) - seq;

    p = ngx_cpymem(var, session, sizeof(session) - 1);
    p = ngx_hoop_audit_bulk(p, (u_char *) ev->session, 32);
    p = ngx_cpymem(p, seqname, sizeof(seqname) - 1);
    p = ngx_hoop_audit_bulk(p, seq, n);
    p = ngx_cpymem(p, event, sizeof(event) - 1);
    p = ngx_hoop_audit_decimal(p, ev->len);
    *p++ = CR;
    *p++ = LF;

    n = p - var;
    cmd = (u_char *) ev->event - n - a->xadd.len;

    ngx_memcpy(cmd, a->xadd.data, a->xadd.len);
    ngx_memcpy(cmd + a->xadd.len, var, n);

    p = (u_char *) ev->event + ev->len;
    *p++ = CR;
    *p++ = LF;
    p = ngx_cpymem(p, prev, sizeof(prev) - 1);
    p = ngx_hoop_audit_bulk(p, (u_char *) ev->prev, HOOP_AUDIT_HASH_LEN);
    p = ngx_cpymem(p, hash, sizeof(hash) - 1);
    p = ngx_hoop_audit_bulk(p, (u_char *) ev->hash, HOOP_AUDIT_HASH_LEN);

    if (ev->sig[0] != '\0') {
        /* "*16" becomes "*18": two more arguments */
        cmd[2] = '8';

        p = ngx_cpymem(p, sig, sizeof(sig) - 1);
        p = ngx_hoop_audit_bulk(p, (u_char *) ev->sig, HOOP_AUDIT_SIG_LEN);
    }

    *command = cmd;

    return p - cmd;
}


/* "$len\r\ndata\r\n": one bulk string of the Redis wire format */
static u_char *
ngx_hoop_audit_bulk(u_char *p, const u_char *data, size_t len)
{
    *p++ = '$';
    p = ngx_hoop_audit_decimal(p, len);
    *p++ = CR;
    *p++ = LF;
    p = ngx_cpymem(p, data, len);
    *p++ = CR;
    *p++ = LF;

    return p;
}


static u_char *
ngx_hoop_audit_decimal(u_char *p, size_t n)
{
    u_char  digits[NGX_INT_T_LEN], *d;

    d = digits + sizeof(digits);

    do {
        *--d = (u_char) ('0' + n % 10);
        n /= 10;
    } while (n);

    return ngx_cpymem(p, d, digits + sizeof(digits) - d);
}


/* "*16 XADD stream MAXLEN ~ n *": once per worker */
static ngx_int_t
ngx_hoop_audit_xadd_start(ngx_hoop_audit_t *a, ngx_pool_t *pool)
{
    u_char  *p, maxlen[NGX_INT_T_LEN];
    size_t   n;

    p = ngx_pnalloc(pool, a->stream.len + 128);
    if (p == NULL) {
        return NGX_ERROR;
    }

    a->xadd.data = p;

    p = ngx_sprintf(p, "*16\r\n$4\r\nXADD\r\n$%uz\r\n%V\r\n"
                    "$6\r\nMAXLEN\r\n$1\r\n~\r\n",
                    a->stream.len, &a->stream);
    n = ngx_sprintf(maxlen, "%ui", a->maxlen) - maxlen;
    p = ngx_sprintf(p, "$%uz\r\n%*s\r\n$1\r\n*\r\n", n, n, maxlen);

    a->xadd.len = p - a->xadd.data;

    return NGX_OK;
}


static void
ngx_hoop_audit_stored(ngx_hoop_redis_t *rd, redisReply *reply,
    void *data)
{
    ngx_hoop_audit_pending_t  *ev = data;

    if (ngx_hoop_audit_taken(rd, reply)) {
        ngx_hoop_audit_recall_stored(ev->audit, reply);

    } else {
        ngx_hoop_audit_spool(ev, ngx_cycle->log);
    }

    ngx_free(ev);
}


/*
 * Whether Redis stored an event; an error instead (out of memory, a
 * read-only replica, the key of another type) means it refuses the
 * trail's writes: the connection counts as down until it takes them.
 */
static ngx_uint_t
ngx_hoop_audit_taken(ngx_hoop_redis_t *rd, redisReply *reply)
{
    if (reply == NULL) {
        return 0;
    }

    if (reply->type == REDIS_REPLY_ERROR) {
        ngx_hoop_redis_refused(rd, "XADD", reply->str);
        return 0;
    }

    return 1;
}


/*
 * The event as a spool record, one JSON line (the shape of an export),
 * made only when Redis did not take the event.
 */
static void
ngx_hoop_audit_spool(ngx_hoop_audit_pending_t *ev, ngx_log_t *log)
{
    u_char       *rec;
    size_t        cap, len;
    hoop_json_t   j;

    cap = 6 * ev->len + 512;        /* every byte escaped, at worst */

    rec = ngx_alloc(cap, log);
    if (rec == NULL) {
        goto lost;
    }

    hoop_json_init(&j, (char *) rec, cap);
    hoop_json_object(&j, NULL);
    hoop_json_string(&j, "session", ev->session, 32);
    hoop_json_int(&j, "seq", (long long) ev->seq);
    hoop_json_string(&j, "event", ev->event, ev->len);
    hoop_json_string(&j, "prev", ev->prev, HOOP_AUDIT_HASH_LEN);
    hoop_json_string(&j, "hash", ev->hash, HOOP_AUDIT_HASH_LEN);

    if (ev->sig[0] != '\0') {
        hoop_json_string(&j, "sig", ev->sig, HOOP_AUDIT_SIG_LEN);
    }

    hoop_json_end(&j);
    len = hoop_json_finish(&j);

    if (ngx_hoop_spool_append(ev->audit->spool, rec, len) == NGX_OK) {
        ngx_free(rec);
        return;
    }

    ngx_free(rec);

lost:

    if (ngx_strcmp(ev->session, ev->audit->instance) == 0) {
        /* the next checkpoint restates what it sealed */
        ev->audit->seal_lost = ev->seq;

        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "hoop_audit: checkpoint %ui not written, neither"
                      " Redis nor the spool took it; the next one restates"
                      " it", ev->seq);
        return;
    }

    /* the one case the contract cannot cover: say it, loudly, once each */

    ngx_log_error(NGX_LOG_ALERT, log, 0,
                  "hoop_audit: event LOST, neither Redis nor the spool took"
                  " it: session %s, event %ui: %*s", ev->session, ev->seq,
                  ngx_min(ev->len, 120), ev->event);
}


ngx_int_t
ngx_hoop_audit_init_process(ngx_hoop_audit_t *a, ngx_cycle_t *cycle,
    const char *subsystem)
{
    if (!a->used) {
        return NGX_OK;
    }

    a->redis_conn = ngx_hoop_redis_start(cycle, a->redis, subsystem);
    if (a->redis_conn == NULL) {
        return NGX_ERROR;
    }

    ngx_hoop_redis_set_flush_delay(a->redis_conn, NGX_HOOP_AUDIT_FLUSH_DELAY);
    ngx_hoop_audit_recall_start(a);

    a->scratch = ngx_alloc(NGX_HOOP_AUDIT_EVENT_MAX, cycle->log);
    if (a->scratch == NULL) {
        return NGX_ERROR;
    }

    a->hasher = hoop_audit_hasher_new(a->key.len ? a->key.data : NULL,
                                      a->key.len);
    if (a->hasher == NULL) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "hoop_audit: OpenSSL cannot make SHA-256%s",
                      a->key.len ? " HMACs" : " digests");
        return NGX_ERROR;
    }

    if (ngx_hoop_audit_xadd_start(a, cycle->pool) != NGX_OK) {
        return NGX_ERROR;
    }

    a->subsystem = subsystem;

    if (ngx_hoop_audit_seal_start(a, cycle) != NGX_OK) {
        return NGX_ERROR;
    }

    if (a->spool_conf == NULL) {
        return NGX_OK;
    }

    a->spool = ngx_hoop_spool_open(cycle, a->spool_conf, subsystem);
    if (a->spool == NULL) {
        return NGX_ERROR;
    }

    a->drain_event.handler = ngx_hoop_audit_drain;
    a->drain_event.data = a;
    a->drain_event.log = cycle->log;
    a->drain_event.cancelable = 1;

    ngx_add_timer(&a->drain_event, NGX_HOOP_AUDIT_DRAIN_EVERY);

    return NGX_OK;
}


/* While Redis is up and the spool holds events: deliver them, in order. */
static void
ngx_hoop_audit_drain(ngx_event_t *ev)
{
    u_char                  *buf, *p, *nl, *end;
    ssize_t                  n;
    ngx_int_t                rc;
    ngx_hoop_audit_t        *a = ev->data;
    ngx_hoop_audit_batch_t  *batch;

    if (ngx_exiting || ngx_terminate || ngx_quit) {
        return;
    }

    ngx_add_timer(ev, NGX_HOOP_AUDIT_DRAIN_EVERY);

    if (++a->drain_ticks % NGX_HOOP_AUDIT_ADOPT_EVERY == 0) {
        ngx_hoop_spool_adopt(a->spool);
    }

    if (a->draining || !ngx_hoop_spool_pending(a->spool)
        || !ngx_hoop_redis_ready(a->redis_conn))
    {
        return;
    }

    batch = ngx_calloc(sizeof(ngx_hoop_audit_batch_t), ev->log);
    if (batch == NULL) {
        return;
    }

    n = ngx_hoop_audit_drain_read(a, &buf, ev->log);

    batch->audit = a;
    batch->len = n > 0 ? n : 0;

    end = buf + batch->len;

    for (p = buf; p < end; p = nl + 1) {
        nl = ngx_strlchr(p, end, '\n');

        rc = ngx_hoop_audit_drain_record(batch, p, nl - p);

        if (rc == NGX_DECLINED) {
            /*
             * not ours, or damaged: it would stop every record after
             * it; the verifier will show the gap in its chain
             */
            ngx_log_error(NGX_LOG_ALERT, ev->log, 0,
                          "hoop_audit: unreadable record in the spool,"
                          " skipped: %*s", ngx_min(nl - p, 120), p);
            continue;
        }

        if (rc != NGX_OK) {
            batch->failed = 1;
            break;
        }
    }

    ngx_free(buf);

    if (n < 0) {
        ngx_log_error(NGX_LOG_ALERT, ev->log, 0,
                      "hoop_audit: the spool cannot be read");
    }

    if (batch->sent == 0) {
        if (!batch->failed && batch->len) {
            ngx_hoop_spool_delivered(a->spool, batch->len);
        }

        ngx_free(batch);
        return;
    }

    if (batch->failed) {
        /* what went out is answered later; nothing is marked delivered */
        batch->len = 0;
    }

    a->draining = 1;
}


/*
 * The spool's next records, whole, in *buf (ngx_alloc'd, for the caller
 * to free): a batch of them, or one alone read at its size when it is
 * larger (a long statement's event).  As ngx_hoop_spool_read().
 */
static ssize_t
ngx_hoop_audit_drain_read(ngx_hoop_audit_t *a, u_char **buf, ngx_log_t *log)
{
    size_t   cap;
    ssize_t  n;

    cap = NGX_HOOP_AUDIT_DRAIN_BATCH;

    for ( ;; ) {
        *buf = ngx_alloc(cap, log);
        if (*buf == NULL) {
            return 0;
        }

        n = ngx_hoop_spool_read(a->spool, *buf, cap);

        if (n != NGX_DECLINED) {
            break;
        }

        ngx_free(*buf);
        *buf = NULL;

        if (cap == NGX_HOOP_AUDIT_RECORD_MAX) {
            return -1;              /* larger than any we write */
        }

        cap = ngx_min(cap * 4, NGX_HOOP_AUDIT_RECORD_MAX);
    }

    return n;
}


static ngx_int_t
ngx_hoop_audit_drain_record(ngx_hoop_audit_batch_t *batch,
    u_char *rec, size_t len)
{
    json_t                    *root, *session, *seq, *event, *prev, *hash,
                              *sig;
    ngx_int_t                  rc;
    json_error_t               err;
    ngx_hoop_audit_pending_t  *ev;

    root = json_loadb((char *) rec, len, 0, &err);

    session = json_object_get(root, "session");
    seq = json_object_get(root, "seq");
    event = json_object_get(root, "event");
    prev = json_object_get(root, "prev");
    hash = json_object_get(root, "hash");
    sig = json_object_get(root, "sig");

    if (!json_is_string(session) || json_string_length(session) != 32
        || !json_is_integer(seq) || json_integer_value(seq) < 1
        || !json_is_string(event)
        || !json_is_string(prev)
        || json_string_length(prev) != HOOP_AUDIT_HASH_LEN
        || !json_is_string(hash)
        || json_string_length(hash) != HOOP_AUDIT_HASH_LEN
        || (sig != NULL && (!json_is_string(sig)
                            || json_string_length(sig)
                               != HOOP_AUDIT_SIG_LEN)))
    {
        json_decref(root);
        return NGX_DECLINED;
    }

    ev = ngx_hoop_audit_pending(batch->audit, json_string_length(event),
                                ngx_cycle->log);
    if (ev == NULL) {
        json_decref(root);
        return NGX_ERROR;
    }

    ngx_memcpy(ev->session, json_string_value(session), 33);
    ev->seq = (ngx_uint_t) json_integer_value(seq);
    ngx_memcpy(ev->event, json_string_value(event), ev->len);
    ngx_memcpy(ev->prev, json_string_value(prev), sizeof(ev->prev));
    ngx_memcpy(ev->hash, json_string_value(hash), sizeof(ev->hash));

    if (sig != NULL) {
        ngx_memcpy(ev->sig, json_string_value(sig), sizeof(ev->sig));
    }

    json_decref(root);

    /* the command is copied into the connection's output: ev is done */

    rc = ngx_hoop_audit_xadd(batch->audit, ev, ngx_hoop_audit_drained,
                             batch);
    ngx_free(ev);

    if (rc != NGX_OK) {
        return NGX_ERROR;
    }

    batch->sent++;

    return NGX_OK;
}


static void
ngx_hoop_audit_drained(ngx_hoop_redis_t *rd, redisReply *reply,
    void *data)
{
    ngx_hoop_audit_batch_t  *batch = data;

    ngx_hoop_audit_t  *a;

    if (ngx_hoop_audit_taken(rd, reply)) {
        ngx_hoop_audit_recall_stored(batch->audit, reply);

    } else {
        batch->failed = 1;
    }

    if (++batch->replied < batch->sent) {
        return;
    }

    a = batch->audit;
    a->draining = 0;

    /*
     * all or nothing: a batch is marked delivered only if every entry was
     * stored; a retried batch may store some twice, which the verifier
     * recognises as the same event (same session, seq and hash)
     */

    if (!batch->failed && batch->len) {
        ngx_hoop_spool_delivered(a->spool, batch->len);
    }

    ngx_free(batch);
}


/* hoop_audit_stream name [maxlen=N] */
char *
ngx_hoop_audit_set_stream(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    char  *p = conf;

    ngx_hoop_audit_t  *a;
    ngx_int_t   n;
    ngx_str_t  *value;

    a = (ngx_hoop_audit_t *) (p + cmd->offset);

    if (a->stream.len) {
        return "is duplicate";
    }

    value = cf->args->elts;
    a->stream = value[1];

    if (cf->args->nelts == 3) {
        if (ngx_strncmp(value[2].data, "maxlen=", 7) != 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid parameter \"%V\"", &value[2]);
            return NGX_CONF_ERROR;
        }

        n = ngx_atoi(value[2].data + 7, value[2].len - 7);

        if (n == NGX_ERROR || n < 1000) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid parameter \"%V\": maxlen is at"
                               " least 1000", &value[2]);
            return NGX_CONF_ERROR;
        }

        a->maxlen = n;
    }

    return NGX_CONF_OK;
}

char *
ngx_hoop_audit_set_key_file(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    char  *p = conf;

    ngx_hoop_audit_t  *a;
    ngx_str_t  *value;

    a = (ngx_hoop_audit_t *) (p + cmd->offset);

    if (a->key.len) {
        return "is duplicate";
    }

    value = cf->args->elts;

    return ngx_hoop_secret_read(cf, &value[1], &a->key);
}

char *
ngx_hoop_audit_set_fail(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    char  *p = conf;

    ngx_hoop_audit_t  *a;
    ngx_str_t  *value;

    a = (ngx_hoop_audit_t *) (p + cmd->offset);

    if (a->fail_closed != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "closed") == 0) {
        a->fail_closed = 1;

    } else if (ngx_strcmp(value[1].data, "open") == 0) {
        a->fail_closed = 0;

    } else {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid value \"%V\" in the \"%V\" directive,"
                           " it must be \"closed\" or \"open\"",
                           &value[1], &cmd->name);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}

/* hoop_audit_spool dir [max_size=size] */
char *
ngx_hoop_audit_set_spool(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    char  *p = conf;

    ngx_hoop_audit_t  *a;
    ngx_str_t              *value, size;
    ngx_file_info_t         fi;
    ngx_hoop_spool_conf_t  *sc;

    a = (ngx_hoop_audit_t *) (p + cmd->offset);

    if (a->spool_conf != NULL) {
        return "is duplicate";
    }

    value = cf->args->elts;

    sc = ngx_pcalloc(cf->pool, sizeof(ngx_hoop_spool_conf_t));
    if (sc == NULL) {
        return NGX_CONF_ERROR;
    }

    sc->dir = value[1];
    sc->max_size = 1024 * 1024 * 1024;

    if (ngx_conf_full_name(cf->cycle, &sc->dir, 0) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    if (ngx_file_info(sc->dir.data, &fi) == NGX_FILE_ERROR
        || !ngx_is_dir(&fi))
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "\"%V\" of the \"%V\" directive is not a"
                           " directory", &sc->dir, &cmd->name);
        return NGX_CONF_ERROR;
    }

    if (cf->args->nelts == 3) {
        if (ngx_strncmp(value[2].data, "max_size=", 9) != 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid parameter \"%V\" in the \"%V\""
                               " directive", &value[2], &cmd->name);
            return NGX_CONF_ERROR;
        }

        size.data = value[2].data + 9;
        size.len = value[2].len - 9;
        sc->max_size = ngx_parse_offset(&size);

        if (sc->max_size == NGX_ERROR || sc->max_size < 65536) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid parameter \"%V\" in the \"%V\""
                               " directive: at least 64k", &value[2],
                               &cmd->name);
            return NGX_CONF_ERROR;
        }
    }

    a->spool_conf = sc;

    return NGX_CONF_OK;
}


/* hoop_audit_signing_key file: an Ed25519 private key, PEM */
char *
ngx_hoop_audit_set_signing_key(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    char  *p = conf;

    char                *rv;
    const char          *err;
    ngx_str_t           *value, pem;
    ngx_hoop_audit_t    *a;
    ngx_pool_cleanup_t  *cln;

    a = (ngx_hoop_audit_t *) (p + cmd->offset);

    if (a->signer != NULL) {
        return "is duplicate";
    }

    value = cf->args->elts;

    rv = ngx_hoop_secret_read(cf, &value[1], &pem);
    if (rv != NGX_CONF_OK) {
        return rv;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        return NGX_CONF_ERROR;
    }

    a->signer = hoop_audit_signer_new((char *) pem.data, pem.len, &err);

    /* the key's text is not kept: only OpenSSL's copy of it is */

    ngx_explicit_memzero(pem.data, pem.len);

    if (a->signer == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"%V\" in \"%V\": %s",
                           &value[1], &cmd->name, err);
        return NGX_CONF_ERROR;
    }

    cln->handler = (ngx_pool_cleanup_pt) hoop_audit_signer_free;
    cln->data = a->signer;

    return NGX_CONF_OK;
}
