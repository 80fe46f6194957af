/*
 * Copyright (C) nginx-hoop authors
 *
 * Checkpoints: what makes the trail's completeness provable.  A worker's
 * sink notes, for every session it writes to, the first and last event it
 * wrote since its previous checkpoint and the newest hash; every
 * hoop_audit_checkpoint interval (sooner when many sessions wait), and as
 * the worker exits, it writes them all in one audit.checkpoint event of
 * its own chain (the session id is the instance id), signed with
 * hoop_audit_signing_key.  A verifier holding only the public key then
 * knows every event each instance wrote up to its last checkpoint, and
 * which sessions ended where.
 */

#ifndef NGX_HOOP_AUDIT_SEAL_H
#define NGX_HOOP_AUDIT_SEAL_H

#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_hoop_audit.h"


/* a checkpoint is written sooner when this many sessions wait for one */
#define NGX_HOOP_AUDIT_SEAL_SESSIONS  4096


/* The shared memory where instances see each other's checkpoints. */
ngx_int_t ngx_hoop_audit_seal_conf(ngx_conf_t *cf, ngx_hoop_audit_t *a,
    const char *subsystem, void *tag);

/* The worker's instance id, its checkpoint chain and timer. */
ngx_int_t ngx_hoop_audit_seal_start(ngx_hoop_audit_t *a, ngx_cycle_t *cycle);

/*
 * Before the instance's first event: its first checkpoint, sealing
 * nothing, so that the trail shows the instance, and its interval, before
 * anything it writes (an instance's events before any checkpoint of it
 * are then evidence of deletion or forgery).
 */
void ngx_hoop_audit_seal_first(ngx_hoop_audit_t *a, ngx_log_t *log);

/* sess just had an event, whose hash is its sess->prev now. */
void ngx_hoop_audit_seal_note(ngx_hoop_audit_t *a,
    ngx_hoop_audit_session_t *sess);

/* The last checkpoint, as the worker exits (after its last event). */
void ngx_hoop_audit_seal_final(ngx_hoop_audit_t *a);

#endif /* NGX_HOOP_AUDIT_SEAL_H */
