/*
 * Copyright (C) nginx-hoop authors
 *
 * Reviews in Redis: an operation a rule holds for human approval.  Every
 * state change is one Lua script, so it is atomic whichever gateway or
 * reviewer makes it; decisions are published on a channel every worker of
 * every gateway subscribes to, and a waiting operation also re-reads its
 * review after a reconnect and every few seconds, so no decision is
 * missed.  Keys (docs/reviews.md):
 *
 *     hoop:review:<id>         hash: the review
 *     hoop:reviews:index       sorted set: ids by creation time
 *     hoop:reviews             stream: review.requested notifications
 *     hoop:reviews:decided     channel: "<id> <status>"
 */

#ifndef NGX_HOOP_REVIEW_H
#define NGX_HOOP_REVIEW_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "ngx_hoop_http_fetch.h"
#include "ngx_hoop_redis.h"
#include "hoop_rule.h"


#define NGX_HOOP_REVIEW_ID_LEN  32


typedef enum {
    NGX_HOOP_REVIEW_PENDING = 0,
    NGX_HOOP_REVIEW_APPROVED,
    NGX_HOOP_REVIEW_REJECTED,
    NGX_HOOP_REVIEW_EXPIRED,
    NGX_HOOP_REVIEW_CANCELLED,
    NGX_HOOP_REVIEW_UNAVAILABLE         /* Redis could not be asked */
} ngx_hoop_review_status_e;


typedef struct ngx_hoop_reviews_s  ngx_hoop_reviews_t;


/* hoop_review_webhook: a POST to announce each new review */
typedef struct {
    ngx_str_t                  url;
    ngx_hoop_http_target_t     target;
    ngx_ssl_t                 *ssl;
    ngx_msec_t                 timeout;
} ngx_hoop_review_webhook_t;

typedef struct ngx_hoop_review_wait_s  ngx_hoop_review_wait_t;

typedef void (*ngx_hoop_review_done_pt)(ngx_hoop_review_wait_t *w);


/* What is asked: the caller's strings, copied before the call returns. */
typedef struct {
    ngx_str_t                  requester;       /* sub */
    ngx_str_t                  identity;        /* JSON */
    ngx_str_t                  operation;       /* JSON summary */
    ngx_str_t                  rule;
    ngx_str_t                  approvers;       /* groups, comma-separated */
    ngx_uint_t                 required;
    ngx_msec_t                 timeout;
    ngx_msec_t                 grant;           /* 0: none */
} ngx_hoop_review_spec_t;


/* An operation waiting for its review; lives in the caller's pool. */
struct ngx_hoop_review_wait_s {
    ngx_queue_t                queue;
    ngx_hoop_reviews_t        *reviews;
    u_char                     id[NGX_HOOP_REVIEW_ID_LEN + 1];
    ngx_hoop_review_status_e   status;
    ngx_str_t                  reason;          /* the decider's */
    ngx_str_t                  decided_by;
    ngx_event_t                expire;
    ngx_pool_t                *pool;
    ngx_hoop_review_done_pt    handler;
    void                      *data;
    void                      *call;            /* a command in flight */
    ngx_str_t                  announce;        /* the webhook's body */
    ngx_uint_t                 overdue;         /* expiry ticks */
    ngx_msec_t                 grant_left;      /* a grant found: its time */
    unsigned                   waiting:1;       /* in the worker's queue */
    unsigned                   stale:1;         /* news while asking */
    unsigned                   done:1;
};


/* A reviewer's decision and what came of it. */
typedef struct {
    ngx_str_t                  result;  /* approved, recorded, rejected,
                                           not_found, decided, self,
                                           not_approver, already, error */
    ngx_str_t                  status;
    ngx_int_t                  approvals;
    ngx_int_t                  required;
} ngx_hoop_review_outcome_t;

/* reply NULL: Redis could not be asked */
typedef void (*ngx_hoop_review_reply_pt)(void *data,
    ngx_hoop_review_outcome_t *outcome, ngx_str_t *json);


/* What a review rule says: its name, approvers, count, timeout, grant. */
void ngx_hoop_review_spec_rule(ngx_hoop_review_spec_t *spec,
    const hoop_rule_t *rule);

/* At worker start: the command and subscriber connections. */
ngx_hoop_reviews_t *ngx_hoop_reviews_start(ngx_cycle_t *cycle,
    ngx_hoop_redis_conf_t *conf, ngx_hoop_review_webhook_t *webhook,
    const char *subsystem);

/* hoop_review_webhook url [timeout=5s] [trusted_certificate=file] */
char *ngx_hoop_review_webhook_set(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
void ngx_hoop_reviews_stop(ngx_hoop_reviews_t *rv);

/*
 * Creates the review and waits for it: w->handler is called once, with
 * w->status decided, expired, or NGX_HOOP_REVIEW_UNAVAILABLE.  NGX_ERROR:
 * not asked (Redis down), the handler will not be called.
 */
ngx_int_t ngx_hoop_review_request(ngx_hoop_reviews_t *rv,
    ngx_hoop_review_wait_t *w, ngx_hoop_review_spec_t *spec);

/*
 * Whether requester holds a grant of rule (a review of it approved with
 * grant=): w->handler is called with w->grant_left set and w->id the
 * approving review's, or w->grant_left 0.  NGX_ERROR: not asked.
 */
ngx_int_t ngx_hoop_review_grant_check(ngx_hoop_reviews_t *rv,
    ngx_hoop_review_wait_t *w, ngx_str_t *rule, ngx_str_t *requester);

/*
 * A tag for w's review (for ttl), and the cancellation of the review a
 * tag names, from any worker of any gateway.
 */
ngx_int_t ngx_hoop_review_tag(ngx_hoop_review_wait_t *w, ngx_str_t *tag,
    ngx_msec_t ttl);
ngx_int_t ngx_hoop_review_cancel_tag(ngx_hoop_reviews_t *rv,
    ngx_str_t *tag);

/* The operation is gone (client closed): the review is cancelled. */
void ngx_hoop_review_cancel(ngx_hoop_review_wait_t *w);

/*
 * Who asks to see reviews: a review is shown to its requester, to members
 * of its approver groups, and to members of the auditor groups (each list
 * comma-separated), and to nobody else, listing included; to anyone else
 * it does not exist.
 */
typedef struct {
    ngx_str_t                sub;
    ngx_str_t                groups;
    ngx_str_t                auditors;
} ngx_hoop_review_viewer_t;

/* For the reviewer API: decide, list, show. */
ngx_int_t ngx_hoop_review_decide(ngx_hoop_reviews_t *rv, ngx_str_t *id,
    ngx_uint_t approve, ngx_str_t *sub, ngx_str_t *groups,
    ngx_str_t *reason, ngx_hoop_review_reply_pt cb, void *data);
ngx_int_t ngx_hoop_review_list(ngx_hoop_reviews_t *rv, ngx_str_t *status,
    ngx_hoop_review_viewer_t *viewer, ngx_hoop_review_reply_pt cb,
    void *data);
ngx_int_t ngx_hoop_review_show(ngx_hoop_reviews_t *rv, ngx_str_t *id,
    ngx_hoop_review_viewer_t *viewer, ngx_hoop_review_reply_pt cb,
    void *data);

const char *ngx_hoop_review_status_name(ngx_hoop_review_status_e status);

#endif /* NGX_HOOP_REVIEW_H */
