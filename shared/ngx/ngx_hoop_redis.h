/*
 * Copyright (C) nginx-hoop authors
 *
 * Redis on the nginx event loop: a hiredis async context whose socket is
 * an nginx connection, so no worker ever blocks on Redis.  One per worker
 * and subsystem, connected at worker start, reconnected with backoff, with
 * a timeout on every command (hiredis 0.14 has none: an nginx timer ends
 * a connection whose replies are late, and every pending callback then
 * gets a NULL reply).
 */

#ifndef NGX_HOOP_REDIS_H
#define NGX_HOOP_REDIS_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include <hiredis/hiredis.h>

#include "ngx_hoop_redis_conf.h"


typedef struct ngx_hoop_redis_s  ngx_hoop_redis_t;

/* reply is NULL when the command failed: no connection, timeout, error */
typedef void (*ngx_hoop_redis_reply_pt)(ngx_hoop_redis_t *rd,
    redisReply *reply, void *data);


/*
 * A subscriber's messages: the payload of each PUBLISH on its channel;
 * ready (payload NULL) each time the subscription is (re)established, so
 * the owner re-reads whatever it may have missed while disconnected.
 */
typedef void (*ngx_hoop_redis_message_pt)(ngx_hoop_redis_t *rd,
    ngx_str_t *payload, void *data);


/*
 * Each time the connection is ready (connected, logged in, on its
 * database), before anything else may be sent on it: what the handler
 * sends goes ahead of every other command on the new connection.
 */
typedef void (*ngx_hoop_redis_ready_pt)(ngx_hoop_redis_t *rd, void *data);


/* At worker start; allocated in the cycle pool.  Connects at once. */
ngx_hoop_redis_t *ngx_hoop_redis_start(ngx_cycle_t *cycle,
    ngx_hoop_redis_conf_t *conf, const char *subsystem);

/*
 * A connection that only listens: SUBSCRIBE channel after every connect
 * (a subscribed connection takes no other commands).  Call it right after
 * ngx_hoop_redis_start().
 */
void ngx_hoop_redis_subscribe(ngx_hoop_redis_t *rd, const char *channel,
    ngx_hoop_redis_message_pt handler, void *data);

/* Call it right after ngx_hoop_redis_start(). */
void ngx_hoop_redis_on_ready(ngx_hoop_redis_t *rd,
    ngx_hoop_redis_ready_pt handler, void *data);

/* At worker exit: closes the connection; pending callbacks get NULL. */
void ngx_hoop_redis_stop(ngx_hoop_redis_t *rd);

/* Connected, authenticated and on the right database. */
ngx_uint_t ngx_hoop_redis_ready(ngx_hoop_redis_t *rd);

/* The worker's first connection is still being made (not failed yet). */
ngx_uint_t ngx_hoop_redis_starting(ngx_hoop_redis_t *rd);

/*
 * Redis refused a write (what: the command, why: its error) that the
 * caller cannot do without: the connection is treated as down, and made
 * again with backoff.
 */
void ngx_hoop_redis_refused(ngx_hoop_redis_t *rd, const char *what,
    const char *why);

/* NGX_OK: cb will be called (maybe with NULL); NGX_ERROR: not sent. */
ngx_int_t ngx_hoop_redis_command(ngx_hoop_redis_t *rd,
    ngx_hoop_redis_reply_pt cb, void *data, int argc, const char **argv,
    const size_t *argvlen);

/*
 * The same, for a command that only reads: its success does not show
 * that a Redis which refused writes takes them again.
 */
ngx_int_t ngx_hoop_redis_read(ngx_hoop_redis_t *rd,
    ngx_hoop_redis_reply_pt cb, void *data, int argc, const char **argv,
    const size_t *argvlen);

/*
 * The same, for a command already in the wire format (RESP): the caller
 * formats it once, where it builds it, instead of hiredis copying each
 * argument.
 */
ngx_int_t ngx_hoop_redis_formatted(ngx_hoop_redis_t *rd,
    ngx_hoop_redis_reply_pt cb, void *data, const char *cmd, size_t len);

/*
 * The same, waiting for the reply on a blocking connection of its own
 * (AUTH and SELECT as configured, the hoop_redis timeout for each step):
 * for what a worker writes after its event loop is over, as it exits.
 * NGX_OK when Redis took it; failures are logged.
 */
ngx_int_t ngx_hoop_redis_formatted_sync(ngx_hoop_redis_t *rd,
    const char *cmd, size_t len);

/*
 * How long commands gather before one write takes them all (1 ms unless
 * set): a connection that carries only audit events trades a few
 * milliseconds of delivery for fewer writes, and far fewer wakeups of
 * Redis, per event.
 */
void ngx_hoop_redis_set_flush_delay(ngx_hoop_redis_t *rd, ngx_msec_t delay);

#endif /* NGX_HOOP_REDIS_H */
