/*
 * Copyright (C) nginx-hoop authors
 *
 * The audit sink both subsystems write to: events numbered and chained
 * per session (shared/core/hoop_audit.c), appended to a Redis stream over
 * this worker's Redis connection, or to its spool while Redis cannot take
 * them, and delivered from the spool, in order, when it can again.  The
 * directives (hoop_audit_stream, _key_file, _fail, _spool, _checkpoint,
 * _signing_key, hoop_gateway_name) have the same syntax and meaning in
 * http{} and stream{}.
 *
 * Each worker's sink is an instance with an id of its own, and seals what
 * it wrote: every hoop_audit_checkpoint interval, and as the worker
 * exits, a checkpoint event (ngx_hoop_audit_seal.c) names, for every
 * session written since the last one, which events it wrote and the hash
 * of the newest, and which sessions ended; checkpoints are chained, and
 * signed with hoop_audit_signing_key.  Whatever is deleted from the trail
 * then shows at the next checkpoint.
 */

#ifndef NGX_HOOP_AUDIT_H
#define NGX_HOOP_AUDIT_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "hoop_audit.h"
#include "hoop_audit_sign.h"
#include "hoop_json.h"
#include "ngx_hoop_redis.h"
#include "ngx_hoop_spool.h"


/* a Redis stream entry id, "<ms>-<seq>", and a Redis run id, with NUL */
#define NGX_HOOP_AUDIT_ID_LEN      48
#define NGX_HOOP_AUDIT_RUN_ID_LEN  41


typedef struct ngx_hoop_audit_s       ngx_hoop_audit_t;
typedef struct ngx_hoop_audit_mark_s  ngx_hoop_audit_mark_t;


typedef struct {
    char                     id[33];
    ngx_uint_t               seq;
    char                     prev[HOOP_AUDIT_HASH_LEN + 1];

    /* set by ngx_hoop_audit_emit(): whose instance the events are */
    ngx_hoop_audit_t        *audit;

    /* what the next checkpoint says of it, valid while mark_gen is */
    ngx_hoop_audit_mark_t   *mark;
    ngx_uint_t               mark_gen;
} ngx_hoop_audit_session_t;


/* Redis came back without events it had taken: for the next checkpoint */
typedef struct {
    char                     stored[NGX_HOOP_AUDIT_ID_LEN]; /* ours */
    char                     newest[NGX_HOOP_AUDIT_ID_LEN]; /* Redis's */
    ngx_uint_t               restarted;     /* a new Redis run id */
    int64_t                  seen_ms;
} ngx_hoop_audit_lost_t;


struct ngx_hoop_audit_s {
    ngx_str_t                stream;        /* hoop_audit_stream */
    ngx_uint_t               maxlen;
    ngx_str_t                key;           /* hoop_audit_key_file */
    ngx_uint_t               fail_closed;   /* hoop_audit_fail */
    ngx_hoop_spool_conf_t   *spool_conf;    /* hoop_audit_spool */
    ngx_uint_t               used;          /* some hoop_audit on */
    ngx_hoop_redis_conf_t   *redis;
    ngx_str_t                gateway;       /* hoop_gateway_name */
    ngx_msec_t               seal_every;    /* hoop_audit_checkpoint */
    hoop_audit_signer_t     *signer;        /* hoop_audit_signing_key */

    /* this worker */
    hoop_audit_hasher_t     *hasher;
    char                    *scratch;       /* an event is built there */
    ngx_str_t                xadd;          /* the start of every XADD */
    ngx_hoop_redis_t        *redis_conn;
    ngx_hoop_spool_t        *spool;
    ngx_event_t              drain_event;
    ngx_uint_t               draining;
    ngx_uint_t               drain_ticks;
    ngx_uint_t               exiting;       /* the event loop is over */

    /* this worker's instance and its checkpoints */
    const char              *subsystem;
    char                     instance[33];
    ngx_hoop_audit_session_t seal;          /* the checkpoints' chain */
    ngx_queue_t              marks;         /* sessions since the last */
    ngx_queue_t              prev_marks;    /* those the last sealed */
    ngx_uint_t               seal_lost;     /* a checkpoint Redis and the
                                               spool refused: restated */
    ngx_uint_t               nmarks;
    ngx_uint_t               mark_gen;      /* checkpoints written */
    ngx_uint_t               unsealed;      /* events since the last */
    ngx_event_t              seal_event;

    /*
     * every instance of this nginx (and the one before a reload) and its
     * newest checkpoint, in shared memory: each checkpoint names the
     * others', so that none can be deleted whole unseen
     */
    ngx_shm_zone_t          *peers_zone;
    void                    *peers;
    ngx_int_t                peer;          /* this one's slot, or -1 */

    /* whether Redis still holds what it took (ngx_hoop_audit_recall.c) */
    char                     stored_id[NGX_HOOP_AUDIT_ID_LEN];
    char                     run_id[NGX_HOOP_AUDIT_RUN_ID_LEN];
    ngx_uint_t               redis_restarted;
    ngx_uint_t               recall_refused;
    ngx_hoop_audit_lost_t    lost;          /* lost.stored[0]: none */
};


/* Writes the event's body after the envelope (ngx_hoop_audit_envelope). */
typedef void (*ngx_hoop_audit_build_pt)(void *data, hoop_json_t *j,
    ngx_hoop_audit_session_t *sess);


#define NGX_HOOP_AUDIT_COMMANDS(conf_type, conf_offset, off)                 \
                                                                             \
    { ngx_string("hoop_audit_stream"),                                       \
      conf_type|NGX_CONF_TAKE12,                                             \
      ngx_hoop_audit_set_stream,                                             \
      conf_offset,                                                           \
      (off),                                                                 \
      NULL },                                                                \
                                                                             \
    { ngx_string("hoop_audit_key_file"),                                     \
      conf_type|NGX_CONF_TAKE1,                                              \
      ngx_hoop_audit_set_key_file,                                           \
      conf_offset,                                                           \
      (off),                                                                 \
      NULL },                                                                \
                                                                             \
    { ngx_string("hoop_audit_fail"),                                         \
      conf_type|NGX_CONF_TAKE1,                                              \
      ngx_hoop_audit_set_fail,                                               \
      conf_offset,                                                           \
      (off),                                                                 \
      NULL },                                                                \
                                                                             \
    { ngx_string("hoop_audit_spool"),                                        \
      conf_type|NGX_CONF_TAKE12,                                             \
      ngx_hoop_audit_set_spool,                                              \
      conf_offset,                                                           \
      (off),                                                                 \
      NULL },                                                                \
                                                                             \
    { ngx_string("hoop_audit_checkpoint"),                                   \
      conf_type|NGX_CONF_TAKE1,                                              \
      ngx_conf_set_msec_slot,                                                \
      conf_offset,                                                           \
      (off) + offsetof(ngx_hoop_audit_t, seal_every),                        \
      NULL },                                                                \
                                                                             \
    { ngx_string("hoop_audit_signing_key"),                                  \
      conf_type|NGX_CONF_TAKE1,                                              \
      ngx_hoop_audit_set_signing_key,                                        \
      conf_offset,                                                           \
      (off),                                                                 \
      NULL },                                                                \
                                                                             \
    { ngx_string("hoop_gateway_name"),                                       \
      conf_type|NGX_CONF_TAKE1,                                              \
      ngx_conf_set_str_slot,                                                 \
      conf_offset,                                                           \
      (off) + offsetof(ngx_hoop_audit_t, gateway),                           \
      NULL }


void ngx_hoop_audit_conf_create(ngx_hoop_audit_t *a);
char *ngx_hoop_audit_conf_init(ngx_conf_t *cf, ngx_hoop_audit_t *a,
    ngx_hoop_redis_conf_t *redis, const char *subsystem, void *tag);

char *ngx_hoop_audit_set_stream(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_hoop_audit_set_key_file(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_hoop_audit_set_fail(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_hoop_audit_set_spool(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_hoop_audit_set_signing_key(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

/* Worker start and exit; subsystem names logs and spool files. */
ngx_int_t ngx_hoop_audit_init_process(ngx_hoop_audit_t *a,
    ngx_cycle_t *cycle, const char *subsystem);
void ngx_hoop_audit_exit_process(ngx_hoop_audit_t *a);

/* Can an event be taken now (Redis, or room in the spool)? */
ngx_uint_t ngx_hoop_audit_available(ngx_hoop_audit_t *a);

/*
 * Not available yet because this worker has only just started and its
 * connection to Redis is being made: a request or login should wait
 * (polling every NGX_HOOP_AUDIT_START_POLL ms; bounded by the hoop_redis
 * timeout, after which the connection is made or has failed) rather than
 * be refused.  Without it, every reload refuses what reaches a new worker
 * in its first milliseconds under hoop_audit_fail closed.
 */
ngx_uint_t ngx_hoop_audit_starting(ngx_hoop_audit_t *a);

#define NGX_HOOP_AUDIT_START_POLL  10

/*
 * Whether an operation (what: "request", "login") may proceed given
 * hoop_audit_fail: NGX_OK, or NGX_DECLINED to refuse it; logs either way
 * when events cannot be stored.
 */
ngx_int_t ngx_hoop_audit_admit(ngx_hoop_audit_t *a, ngx_log_t *log,
    const char *what);

ngx_int_t ngx_hoop_audit_session_init(ngx_hoop_audit_session_t *sess);

void ngx_hoop_audit_envelope(hoop_json_t *j, const char *type,
    ngx_hoop_audit_session_t *sess);

/*
 * Numbers, builds (build writes the whole object, starting with
 * hoop_json_object() and the envelope), chains and stores the next event
 * of sess.  An event nobody can take is logged as lost, loudly.
 */
ngx_int_t ngx_hoop_audit_emit(ngx_hoop_audit_t *a,
    ngx_hoop_audit_session_t *sess, ngx_hoop_audit_build_pt build,
    void *data, ngx_log_t *log);

/*
 * The session is over (its last event, if any, is written): the next
 * checkpoint says it ended there, so nothing after it can be added and
 * nothing up to it removed unseen.
 */
void ngx_hoop_audit_session_end(ngx_hoop_audit_t *a,
    ngx_hoop_audit_session_t *sess);

#endif /* NGX_HOOP_AUDIT_H */
