/*
 * Copyright (C) nginx-hoop authors
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "hoop_json.h"
#include "ngx_hoop_audit.h"
#include "ngx_hoop_audit_recall.h"
#include "ngx_hoop_audit_seal.h"


/*
 * What the next checkpoint says of one session: the events from..to were
 * written since the last one, the newest has this hash, and whether the
 * session ended.  Owned by the sink; a session finds its mark only while
 * its mark_gen is the sink's, so a session freed before the checkpoint
 * leaves nothing that points to freed memory, and none that points to it.
 */
struct ngx_hoop_audit_mark_s {
    ngx_queue_t     queue;
    char            id[33];
    ngx_uint_t      from;
    ngx_uint_t      to;
    char            hash[HOOP_AUDIT_HASH_LEN + 1];
    unsigned        ended:1;
};


/*
 * One instance as its peers see it: its newest checkpoint.  A slot is
 * kept after its worker exits (final), for the next generation's
 * checkpoints to name, for three intervals.
 */
typedef struct {
    char            instance[33];
    char            hash[HOOP_AUDIT_HASH_LEN + 1];
    ngx_uint_t      seq;
    time_t          updated;
    ngx_uint_t      final;
    ngx_uint_t      used;
} ngx_hoop_audit_peer_t;

#define NGX_HOOP_AUDIT_PEERS  256

typedef struct {
    ngx_hoop_audit_peer_t   peer[NGX_HOOP_AUDIT_PEERS];
} ngx_hoop_audit_peers_t;


static ngx_int_t ngx_hoop_audit_seal_init_zone(ngx_shm_zone_t *zone,
    void *data);
static void ngx_hoop_audit_seal_claim(ngx_hoop_audit_t *a);
static ngx_uint_t ngx_hoop_audit_seal_peers(ngx_hoop_audit_t *a,
    ngx_hoop_audit_peer_t *out);
static void ngx_hoop_audit_seal_publish(ngx_hoop_audit_t *a,
    ngx_uint_t final);
static ngx_hoop_audit_mark_t *ngx_hoop_audit_seal_mark(ngx_hoop_audit_t *a,
    ngx_hoop_audit_session_t *sess);
static void ngx_hoop_audit_seal_free(ngx_queue_t *marks);
static void ngx_hoop_audit_seal_ranges(hoop_json_t *j, ngx_queue_t *marks);
static void ngx_hoop_audit_seal_handler(ngx_event_t *ev);
static ngx_int_t ngx_hoop_audit_seal_write(ngx_hoop_audit_t *a,
    ngx_uint_t final, ngx_log_t *log);
static void ngx_hoop_audit_seal_build(void *data, hoop_json_t *j,
    ngx_hoop_audit_session_t *sess);


typedef struct {
    ngx_hoop_audit_t       *audit;
    ngx_uint_t              final;
    ngx_uint_t              restates;   /* a lost one's seq, or 0 */
    ngx_uint_t              npeers;
    ngx_hoop_audit_peer_t  *peers;
} ngx_hoop_audit_seal_ctx_t;


ngx_int_t
ngx_hoop_audit_seal_conf(ngx_conf_t *cf, ngx_hoop_audit_t *a,
    const char *subsystem, void *tag)
{
    ngx_str_t  name;

    name.len = sizeof("hoop_audit_") - 1 + ngx_strlen(subsystem);
    name.data = ngx_pnalloc(cf->pool, name.len);
    if (name.data == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(name.data, "hoop_audit_%s", subsystem);

    a->peers_zone = ngx_shared_memory_add(cf, &name,
                                          sizeof(ngx_hoop_audit_peers_t)
                                          + 16 * ngx_pagesize, tag);
    if (a->peers_zone == NULL) {
        return NGX_ERROR;
    }

    a->peers_zone->init = ngx_hoop_audit_seal_init_zone;
    a->peers_zone->data = a;

    return NGX_OK;
}


/* a reload keeps the zone: the new workers see the old ones' last seals */
static ngx_int_t
ngx_hoop_audit_seal_init_zone(ngx_shm_zone_t *zone, void *data)
{
    ngx_hoop_audit_t  *a = zone->data;

    ngx_slab_pool_t  *shpool;

    shpool = (ngx_slab_pool_t *) zone->shm.addr;

    if (data != NULL || zone->shm.exists) {
        a->peers = shpool->data;
        return NGX_OK;
    }

    a->peers = ngx_slab_calloc(shpool, sizeof(ngx_hoop_audit_peers_t));
    if (a->peers == NULL) {
        return NGX_ERROR;
    }

    shpool->data = a->peers;

    return NGX_OK;
}


ngx_int_t
ngx_hoop_audit_seal_start(ngx_hoop_audit_t *a, ngx_cycle_t *cycle)
{
    if (ngx_hoop_audit_session_init(&a->seal) != NGX_OK) {
        return NGX_ERROR;
    }

    /* the instance is named by its chain of checkpoints */

    ngx_memcpy(a->instance, a->seal.id, sizeof(a->instance));

    ngx_queue_init(&a->marks);
    ngx_queue_init(&a->prev_marks);

    ngx_hoop_audit_seal_claim(a);

    a->seal_event.handler = ngx_hoop_audit_seal_handler;
    a->seal_event.data = a;
    a->seal_event.log = cycle->log;

    /*
     * cancelable: it keeps no worker alive; one shutting down gracefully
     * still seals while it serves, and seals the rest as it exits
     */

    a->seal_event.cancelable = 1;

    ngx_add_timer(&a->seal_event, a->seal_every);

    return NGX_OK;
}


void
ngx_hoop_audit_seal_first(ngx_hoop_audit_t *a, ngx_log_t *log)
{
    if (a->seal.seq == 0 && a->instance[0] != '\0') {
        (void) ngx_hoop_audit_seal_write(a, 0, log);
    }
}


void
ngx_hoop_audit_seal_note(ngx_hoop_audit_t *a, ngx_hoop_audit_session_t *sess)
{
    ngx_hoop_audit_mark_t  *m;

    if (sess == &a->seal) {
        return;
    }

    a->unsealed++;

    m = ngx_hoop_audit_seal_mark(a, sess);
    if (m == NULL) {
        return;
    }

    m->to = sess->seq;
    ngx_memcpy(m->hash, sess->prev, sizeof(m->hash));

    if (a->nmarks >= NGX_HOOP_AUDIT_SEAL_SESSIONS
        && a->seal_event.timer_set
        && !a->seal_event.posted)
    {
        /* a checkpoint of bounded size: this one is due now */
        ngx_del_timer(&a->seal_event);
        ngx_post_event(&a->seal_event, &ngx_posted_events);
    }
}


void
ngx_hoop_audit_session_end(ngx_hoop_audit_t *a, ngx_hoop_audit_session_t *sess)
{
    ngx_hoop_audit_mark_t  *m;

    if (a == NULL || sess->seq == 0 || a->instance[0] == '\0') {
        return;                 /* nothing of it was written */
    }

    m = ngx_hoop_audit_seal_mark(a, sess);
    if (m == NULL) {
        return;
    }

    /* sealed before: the next checkpoint names its last event again */

    if (m->to == 0) {
        m->from = sess->seq;
        m->to = sess->seq;
        ngx_memcpy(m->hash, sess->prev, sizeof(m->hash));
    }

    m->ended = 1;
}


void
ngx_hoop_audit_seal_final(ngx_hoop_audit_t *a)
{
    if (a->instance[0] == '\0') {
        return;
    }

    if (a->seal_event.timer_set) {
        ngx_del_timer(&a->seal_event);
    }

    if (a->seal_event.posted) {
        ngx_delete_posted_event(&a->seal_event);
    }

    (void) ngx_hoop_audit_seal_write(a, 1, ngx_cycle->log);

    ngx_hoop_audit_seal_free(&a->prev_marks);
    ngx_hoop_audit_seal_free(&a->marks);
}


/* The session's mark for the next checkpoint, made if it has none. */
static ngx_hoop_audit_mark_t *
ngx_hoop_audit_seal_mark(ngx_hoop_audit_t *a, ngx_hoop_audit_session_t *sess)
{
    ngx_hoop_audit_mark_t  *m;

    if (sess->mark != NULL && sess->mark_gen == a->mark_gen) {
        return sess->mark;
    }

    m = ngx_calloc(sizeof(ngx_hoop_audit_mark_t), ngx_cycle->log);
    if (m == NULL) {
        /* the checkpoint will not name it: the verifier will say so */
        return NULL;
    }

    ngx_memcpy(m->id, sess->id, sizeof(m->id));
    m->from = sess->seq;

    ngx_queue_insert_tail(&a->marks, &m->queue);
    a->nmarks++;

    sess->mark = m;
    sess->mark_gen = a->mark_gen;

    return m;
}


static void
ngx_hoop_audit_seal_handler(ngx_event_t *ev)
{
    ngx_hoop_audit_t  *a = ev->data;

    /* with nowhere to go it waits: what it would seal is kept for it */

    if (ngx_hoop_audit_available(a)) {
        (void) ngx_hoop_audit_seal_write(a, 0, ev->log);
    }

    if (!ev->timer_set) {
        ngx_add_timer(ev, a->seal_every);
    }
}


/* One checkpoint; its marks are dropped once it is on its way. */
static ngx_int_t
ngx_hoop_audit_seal_write(ngx_hoop_audit_t *a, ngx_uint_t final,
    ngx_log_t *log)
{
    ngx_hoop_audit_peer_t       peers[NGX_HOOP_AUDIT_PEERS];
    ngx_hoop_audit_seal_ctx_t   ctx;

    ctx.audit = a;
    ctx.final = final;
    /* only the one just before can be restated: its ranges are kept */
    ctx.restates = (a->seal_lost == a->seal.seq) ? a->seal_lost : 0;
    a->seal_lost = 0;
    ctx.peers = peers;
    ctx.npeers = ngx_hoop_audit_seal_peers(a, peers);

    if (ngx_hoop_audit_emit(a, &a->seal, ngx_hoop_audit_seal_build, &ctx,
                            log)
        != NGX_OK)
    {
        /* kept for the next one; the gap in the chain says one is lost */
        a->seal_lost = ctx.restates;
        return NGX_ERROR;
    }

    ngx_hoop_audit_seal_publish(a, final);
    ngx_hoop_audit_recall_sealed(a);

    /*
     * what this one sealed is kept until the next is written: if Redis
     * and the spool refuse this one, the next restates it
     */

    ngx_hoop_audit_seal_free(&a->prev_marks);

    if (!ngx_queue_empty(&a->marks)) {
        ngx_queue_add(&a->prev_marks, &a->marks);
        ngx_queue_init(&a->marks);
    }

    a->nmarks = 0;
    a->unsealed = 0;
    a->mark_gen++;

    return NGX_OK;
}


/*
 * {..envelope.., "checkpoint":{"subsystem":"stream","pid":..,"worker":..,
 *  "interval_ms":..,"key":"<id>"|null,"final":false,"events":n,
 *  "sessions":[{"id":..,"from":..,"to":..,"hash":..,"end":true},..]}}
 *
 * Built twice when it is larger than the scratch buffer: it must not
 * change what it reads.
 */
static void
ngx_hoop_audit_seal_build(void *data, hoop_json_t *j,
    ngx_hoop_audit_session_t *sess)
{
    ngx_hoop_audit_seal_ctx_t *ctx = data;

    ngx_uint_t         i;
    const char        *key;
    ngx_hoop_audit_t  *a;

    a = ctx->audit;

    hoop_json_object(j, NULL);
    ngx_hoop_audit_envelope(j, "audit.checkpoint", sess);

    hoop_json_object(j, "checkpoint");
    hoop_json_string(j, "subsystem", a->subsystem, ngx_strlen(a->subsystem));
    hoop_json_int(j, "pid", (long long) ngx_pid);
    hoop_json_int(j, "worker", (long long) ngx_worker);
    hoop_json_int(j, "interval_ms", (long long) a->seal_every);

    if (a->signer != NULL) {
        key = hoop_audit_signer_key_id(a->signer);
        hoop_json_string(j, "key", key, HOOP_AUDIT_KEY_ID_LEN);

    } else {
        hoop_json_null(j, "key");
    }

    hoop_json_value(j, "final", ctx->final ? "true" : "false",
                    ctx->final ? 4 : 5);
    hoop_json_int(j, "events", (long long) a->unsealed);

    if (ctx->restates) {
        /* lost: what it sealed comes first, again */
        hoop_json_int(j, "restates", (long long) ctx->restates);
    }

    ngx_hoop_audit_recall_json(a, j);

    /* the newest checkpoints of the other instances, as last seen */

    hoop_json_array(j, "peers");

    for (i = 0; i < ctx->npeers; i++) {
        hoop_json_object(j, NULL);
        hoop_json_string(j, "instance", ctx->peers[i].instance, 32);
        hoop_json_int(j, "seq", (long long) ctx->peers[i].seq);
        hoop_json_string(j, "hash", ctx->peers[i].hash,
                         HOOP_AUDIT_HASH_LEN);

        if (ctx->peers[i].final) {
            hoop_json_value(j, "final", "true", 4);
        }

        hoop_json_end(j);
    }

    hoop_json_end(j);

    hoop_json_array(j, "sessions");

    if (ctx->restates) {
        ngx_hoop_audit_seal_ranges(j, &a->prev_marks);
    }

    ngx_hoop_audit_seal_ranges(j, &a->marks);

    hoop_json_end(j);
    hoop_json_end(j);
    hoop_json_end(j);
}


/*
 * This instance's slot among its peers: a free one, else one not updated
 * for three intervals (an exited worker's, kept long enough for the next
 * generation to name it, or a killed one's), else the oldest, which takes
 * a live instance's place: said, since it is then named by nobody.
 */
static void
ngx_hoop_audit_seal_claim(ngx_hoop_audit_t *a)
{
    time_t                   keep;
    ngx_uint_t               i, best;
    ngx_slab_pool_t         *shpool;
    ngx_hoop_audit_peer_t   *p;
    ngx_hoop_audit_peers_t  *sh;

    a->peer = -1;
    sh = a->peers;

    if (sh == NULL) {
        return;
    }

    shpool = (ngx_slab_pool_t *) a->peers_zone->shm.addr;
    keep = (time_t) (3 * a->seal_every / 1000);

    ngx_shmtx_lock(&shpool->mutex);

    best = 0;

    for (i = 0; i < NGX_HOOP_AUDIT_PEERS; i++) {
        p = &sh->peer[i];

        if (!p->used) {
            best = i;
            break;
        }

        if (p->updated < sh->peer[best].updated) {
            best = i;
        }
    }

    p = &sh->peer[best];

    if (p->used && ngx_time() - p->updated <= keep) {
        ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, 0,
                      "hoop_audit: more than %d instances of this nginx are"
                      " live: instance %s is no longer named by its peers'"
                      " checkpoints", NGX_HOOP_AUDIT_PEERS, p->instance);
    }

    ngx_memzero(p, sizeof(ngx_hoop_audit_peer_t));
    ngx_memcpy(p->instance, a->instance, sizeof(p->instance));
    p->updated = ngx_time();
    p->used = 1;

    ngx_shmtx_unlock(&shpool->mutex);

    a->peer = best;
}


/*
 * the others' newest checkpoints, those updated in the last three
 * intervals: live ones seal every interval, exited ones are named by the
 * next generation for that long
 */
static ngx_uint_t
ngx_hoop_audit_seal_peers(ngx_hoop_audit_t *a, ngx_hoop_audit_peer_t *out)
{
    time_t                   keep;
    ngx_uint_t               i, n;
    ngx_slab_pool_t         *shpool;
    ngx_hoop_audit_peer_t   *p;
    ngx_hoop_audit_peers_t  *sh;

    sh = a->peers;

    if (sh == NULL) {
        return 0;
    }

    shpool = (ngx_slab_pool_t *) a->peers_zone->shm.addr;
    keep = (time_t) (3 * a->seal_every / 1000);
    n = 0;

    ngx_shmtx_lock(&shpool->mutex);

    for (i = 0; i < NGX_HOOP_AUDIT_PEERS; i++) {
        p = &sh->peer[i];

        if (!p->used || p->seq == 0 || (ngx_int_t) i == a->peer
            || ngx_time() - p->updated > keep)
        {
            continue;
        }

        out[n++] = *p;
    }

    ngx_shmtx_unlock(&shpool->mutex);

    return n;
}


/* this instance's newest checkpoint, for its peers to name */
static void
ngx_hoop_audit_seal_publish(ngx_hoop_audit_t *a, ngx_uint_t final)
{
    ngx_slab_pool_t         *shpool;
    ngx_hoop_audit_peer_t   *p;
    ngx_hoop_audit_peers_t  *sh;

    sh = a->peers;

    if (sh == NULL || a->peer < 0) {
        return;
    }

    shpool = (ngx_slab_pool_t *) a->peers_zone->shm.addr;

    ngx_shmtx_lock(&shpool->mutex);

    p = &sh->peer[a->peer];

    /* taken over meanwhile (more instances than slots): not ours */

    if (ngx_strcmp(p->instance, a->instance) == 0) {
        p->seq = a->seal.seq;
        ngx_memcpy(p->hash, a->seal.prev, sizeof(p->hash));
        p->updated = ngx_time();
        p->final = final;
    }

    ngx_shmtx_unlock(&shpool->mutex);
}


static void
ngx_hoop_audit_seal_ranges(hoop_json_t *j, ngx_queue_t *marks)
{
    ngx_queue_t            *q;
    ngx_hoop_audit_mark_t  *m;

    for (q = ngx_queue_head(marks);
         q != ngx_queue_sentinel(marks);
         q = ngx_queue_next(q))
    {
        m = ngx_queue_data(q, ngx_hoop_audit_mark_t, queue);

        hoop_json_object(j, NULL);
        hoop_json_string(j, "id", m->id, 32);
        hoop_json_int(j, "from", (long long) m->from);
        hoop_json_int(j, "to", (long long) m->to);
        hoop_json_string(j, "hash", m->hash, HOOP_AUDIT_HASH_LEN);

        if (m->ended) {
            hoop_json_value(j, "end", "true", 4);
        }

        hoop_json_end(j);
    }
}


static void
ngx_hoop_audit_seal_free(ngx_queue_t *marks)
{
    ngx_queue_t            *q;
    ngx_hoop_audit_mark_t  *m;

    while (!ngx_queue_empty(marks)) {
        q = ngx_queue_head(marks);
        ngx_queue_remove(q);
        m = ngx_queue_data(q, ngx_hoop_audit_mark_t, queue);
        ngx_free(m);
    }
}
