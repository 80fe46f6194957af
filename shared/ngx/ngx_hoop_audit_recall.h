/*
 * Copyright (C) nginx-hoop authors
 *
 * Whether Redis still holds what it took: a worker remembers the id of
 * the newest event Redis stored for it, and on every new connection asks
 * the stream for its newest id before it sends anything else.  An older
 * one means Redis came back without events it had taken (restarted
 * without them, a replica promoted before it had them, or the stream
 * deleted); the next checkpoint says so, signed, so that an auditor is
 * told what was lost with Redis rather than only that events are gone.
 */


#ifndef NGX_HOOP_AUDIT_RECALL_H
#define NGX_HOOP_AUDIT_RECALL_H


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_hoop_audit.h"


/* At worker start, once the Redis connection is made. */
void ngx_hoop_audit_recall_start(ngx_hoop_audit_t *a);

/* An XADD's reply: the id Redis gave the event. */
void ngx_hoop_audit_recall_stored(ngx_hoop_audit_t *a, redisReply *reply);

/*
 * "redis_lost":{"stored":..,"newest":..,"restarted":..,"seen_ms":..}
 * into a checkpoint, if a loss is to be reported; then it is kept until
 * the checkpoint is on its way (ngx_hoop_audit_recall_sealed()).
 */
void ngx_hoop_audit_recall_json(ngx_hoop_audit_t *a, hoop_json_t *j);
void ngx_hoop_audit_recall_sealed(ngx_hoop_audit_t *a);


#endif /* NGX_HOOP_AUDIT_RECALL_H */
