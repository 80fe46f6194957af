/*
 * Copyright (C) nginx-hoop authors
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include <openssl/rand.h>

#include "hoop_json.h"
#include "ngx_hoop_review.h"


#define NGX_HOOP_REVIEW_RECHECK    5000     /* re-read waiting reviews */
#define NGX_HOOP_REVIEW_RETAIN     "604800" /* keep decided ones 7 days */
#define NGX_HOOP_REVIEW_CHANNEL    "hoop:reviews:decided"
#define NGX_HOOP_REVIEW_ARGS       17


struct ngx_hoop_reviews_s {
    ngx_hoop_review_webhook_t *webhook;
    ngx_hoop_redis_t          *cmd;
    ngx_hoop_redis_t          *sub;
    ngx_queue_t                waits;
    ngx_event_t                recheck;
    ngx_log_t                 *log;
};


/*
 * A command in flight.  Its reply may come after the one who asked is
 * gone (a client closed while a review was being read): the asker clears
 * "data" through its own cleanup, and the reply is then dropped.
 */
typedef struct {
    ngx_hoop_review_wait_t    *wait;
    ngx_hoop_review_reply_pt   cb;
    void                      *data;
} ngx_hoop_review_call_t;


/*
 * Every gateway asks Redis the time: one clock decides expiry, whatever
 * the gateways' clocks say (a reviewer's gateway and the requester's may
 * differ).  Scripts are replicated by their effects (Redis 7), so TIME is
 * allowed in them.
 */
#define NGX_HOOP_REVIEW_NOW_LUA                                              \
    "local t0 = redis.call('TIME')\n"                                         \
    "local now = tonumber(t0[1]) * 1000"                                     \
    " + math.floor(tonumber(t0[2]) / 1000)\n"


/*
 * ARGV: id, the gateway's time (recorded, for clock forensics), timeout,
 * requester, identity, operation, rule, approvers, required, gateway,
 * retention (s), grant (ms).
 */
static const char  ngx_hoop_review_create_lua[] =
    NGX_HOOP_REVIEW_NOW_LUA
    "redis.call('HSET', KEYS[1], 'id', ARGV[1], 'status', 'pending',"
    " 'created', now, 'expires', now + tonumber(ARGV[3]),"
    " 'gateway_time', ARGV[2], 'requester', ARGV[4],"
    " 'identity', ARGV[5], 'operation', ARGV[6], 'rule', ARGV[7],"
    " 'approvers', ARGV[8], 'required', ARGV[9], 'gateway', ARGV[10],"
    " 'approvals', 0, 'approved_by', '[]', 'grant', ARGV[12])\n"
    "redis.call('EXPIRE', KEYS[1], ARGV[11])\n"
    "redis.call('ZADD', KEYS[2], now, ARGV[1])\n"
    "redis.call('ZADD', 'hoop:reviews:pending', now, ARGV[1])\n"
    "redis.call('XADD', KEYS[3], 'MAXLEN', '~', '10000', '*',"
    " 'type', 'review.requested', 'id', ARGV[1], 'requester', ARGV[4],"
    " 'rule', ARGV[7], 'approvers', ARGV[8], 'operation', ARGV[6])\n"
    "return 1\n";


/* status, reason, decided_by; a pending review past its time expires */
static const char  ngx_hoop_review_status_lua[] =
    NGX_HOOP_REVIEW_NOW_LUA
    "local r = redis.call('HMGET', KEYS[1], 'status', 'reason',"
    " 'decided_by', 'expires')\n"
    "if not r[1] then return {'gone', '', ''} end\n"
    "if r[1] == 'pending' and now >= tonumber(r[4]) then\n"
    "  redis.call('HSET', KEYS[1], 'status', 'expired', 'decided_at', now)\n"
    "  redis.call('ZREM', 'hoop:reviews:pending', ARGV[2])\n"
    "  redis.call('PUBLISH', ARGV[1], ARGV[2] .. ' expired')\n"
    "  return {'expired', '', ''}\n"
    "end\n"
    "return {r[1], r[2] or '', r[3] or ''}\n";


/* a grant: the approving review's id and the time left, or nothing */
static const char  ngx_hoop_review_grant_lua[] =
    "local id = redis.call('GET', KEYS[1])\n"
    "if not id then return {} end\n"
    "return {id, redis.call('PTTL', KEYS[1])}\n";


/* the waiting operation is gone: a pending review is cancelled */
static const char  ngx_hoop_review_cancel_lua[] =
    NGX_HOOP_REVIEW_NOW_LUA
    "if redis.call('HGET', KEYS[1], 'status') == 'pending' then\n"
    "  redis.call('HSET', KEYS[1], 'status', 'cancelled',"
    " 'decided_at', now)\n"
    "  redis.call('ZREM', 'hoop:reviews:pending', ARGV[2])\n"
    "  redis.call('PUBLISH', ARGV[1], ARGV[2] .. ' cancelled')\n"
    "end\n"
    "return 1\n";


/*
 * The review a tag names (a Postgres session's cancel key, say) is
 * cancelled as above: KEYS[1] the tag, ARGV[1] the channel.
 */
static const char  ngx_hoop_review_cancel_tag_lua[] =
    NGX_HOOP_REVIEW_NOW_LUA
    "local id = redis.call('GET', KEYS[1])\n"
    "if not id then return 0 end\n"
    "local key = 'hoop:review:' .. id\n"
    "if redis.call('HGET', key, 'status') == 'pending' then\n"
    "  redis.call('HSET', key, 'status', 'cancelled', 'decided_at', now)\n"
    "  redis.call('ZREM', 'hoop:reviews:pending', id)\n"
    "  redis.call('PUBLISH', ARGV[1], id .. ' cancelled')\n"
    "end\n"
    "return 1\n";


/*
 * A reviewer's decision.  ARGV: verdict (approve|reject), sub, groups
 * (comma-separated), reason, channel, id.  Returns
 * {result, status, approvals, required}.
 */
static const char  ngx_hoop_review_decide_lua[] =
    NGX_HOOP_REVIEW_NOW_LUA
    "local r = redis.call('HMGET', KEYS[1], 'status', 'requester',"
    " 'approvers', 'required', 'approved_by', 'expires', 'rule', 'grant')\n"
    "if not r[1] then return {'not_found', '', 0, 0} end\n"
    "local need = tonumber(r[4])\n"
    "local by = cjson.decode(r[5])\n"
    "if r[1] ~= 'pending' then return {'decided', r[1], #by, need} end\n"
    "if now >= tonumber(r[6]) then\n"
    "  redis.call('HSET', KEYS[1], 'status', 'expired',"
    " 'decided_at', now)\n"
    "  redis.call('ZREM', 'hoop:reviews:pending', ARGV[6])\n"
    "  redis.call('PUBLISH', ARGV[5], ARGV[6] .. ' expired')\n"
    "  return {'decided', 'expired', #by, need}\n"
    "end\n"
    "if ARGV[2] == r[2] then return {'self', r[1], #by, need} end\n"
    "local ok = false\n"
    "for g in string.gmatch(r[3], '[^,]+') do\n"
    "  for h in string.gmatch(ARGV[3], '[^,]+') do\n"
    "    if g == h then ok = true end\n"
    "  end\n"
    "end\n"
    "if not ok then return {'not_approver', r[1], #by, need} end\n"
    "for _, s in ipairs(by) do\n"
    "  if s == ARGV[2] then return {'already', r[1], #by, need} end\n"
    "end\n"
    "if ARGV[1] == 'reject' then\n"
    "  redis.call('HSET', KEYS[1], 'status', 'rejected', 'reason', ARGV[4],"
    " 'decided_by', ARGV[2], 'decided_at', now)\n"
    "  redis.call('ZREM', 'hoop:reviews:pending', ARGV[6])\n"
    "  redis.call('PUBLISH', ARGV[5], ARGV[6] .. ' rejected')\n"
    "  return {'rejected', 'rejected', #by, need}\n"
    "end\n"
    "table.insert(by, ARGV[2])\n"
    "redis.call('HSET', KEYS[1], 'approvals', #by,"
    " 'approved_by', cjson.encode(by))\n"
    "if #by < need then return {'recorded', 'pending', #by, need} end\n"
    "redis.call('HSET', KEYS[1], 'status', 'approved', 'reason', ARGV[4],"
    " 'decided_by', ARGV[2], 'decided_at', now)\n"
    "local grant = tonumber(r[8] or '0') or 0\n"
    "if grant > 0 and r[2] ~= '' then\n"
    "  redis.call('SET', 'hoop:grant:' .. r[7] .. ':' .. r[2], ARGV[6],"
    " 'PX', grant)\n"
    "  redis.call('HSET', KEYS[1], 'grant_expires',"
    " now + grant)\n"
    "end\n"
    "redis.call('ZREM', 'hoop:reviews:pending', ARGV[6])\n"
    "redis.call('PUBLISH', ARGV[5], ARGV[6] .. ' approved')\n"
    "return {'approved', 'approved', #by, need}\n";


/*
 * A review as JSON, its JSON fields as JSON, pending past time: expired.
 * cjson writes an empty table as {}: the fields that are lists are set
 * right by arrays().
 */
#define NGX_HOOP_REVIEW_JSON_LUA                                             \
    "local function review(key, now)\n"                                     \
    "  local h = redis.call('HGETALL', key)\n"                               \
    "  if #h == 0 then return nil end\n"                                     \
    "  local t = {}\n"                                                       \
    "  for i = 1, #h, 2 do t[h[i]] = h[i + 1] end\n"                         \
    "  if t.status == 'pending' and now >= tonumber(t.expires) then\n"       \
    "    t.status = 'expired'\n"                                             \
    "  end\n"                                                                \
    "  for _, k in ipairs({'identity', 'operation', 'approved_by'}) do\n"    \
    "    local ok, v = pcall(cjson.decode, t[k])\n"                          \
    "    if ok then t[k] = v end\n"                                          \
    "  end\n"                                                                \
    "  for _, k in ipairs({'created', 'expires', 'required', 'approvals',"  \
    " 'decided_at', 'grant', 'grant_expires'}) do\n"                        \
    "    if t[k] then t[k] = tonumber(t[k]) end\n"                           \
    "  end\n"                                                                \
    "  return t\n"                                                           \
    "end\n"                                                                  \
    "local function member(list, groups)\n"                                 \
    "  for g in string.gmatch(list or '', '[^,]+') do\n"                     \
    "    for h in string.gmatch(groups, '[^,]+') do\n"                      \
    "      if g == h then return true end\n"                                 \
    "    end\n"                                                              \
    "  end\n"                                                                \
    "  return false\n"                                                       \
    "end\n"                                                                  \
    "local function visible(t, sub, groups, auditors)\n"                    \
    "  return (t.requester ~= '' and t.requester == sub)\n"                 \
    "    or member(t.approvers, groups) or member(auditors, groups)\n"      \
    "end\n"                                                                  \
    "local function arrays(s)\n"                                             \
    "  s = string.gsub(s, '\"approved_by\":{}', '\"approved_by\":[]')\n"       \
    "  return (string.gsub(s, '\"groups\":{}', '\"groups\":[]'))\n"            \
    "end\n"

static const char  ngx_hoop_review_show_lua[] =
    NGX_HOOP_REVIEW_NOW_LUA
    NGX_HOOP_REVIEW_JSON_LUA
    "local t = review(KEYS[1], now)\n"
    "if not t or not visible(t, ARGV[1], ARGV[2], ARGV[3]) then\n"
    "  return ''\n"
    "end\n"
    "return arrays(cjson.encode(t))\n";

/*
 * Newest first, at most 100, optionally of one status; pending ones come
 * from their own index, so none is hidden behind many decided ones.  Only
 * those the caller may see: their requester's, their approvers', the
 * auditors' (ARGV: status, sub, groups, auditor groups).
 */
static const char  ngx_hoop_review_list_lua[] =
    NGX_HOOP_REVIEW_NOW_LUA
    NGX_HOOP_REVIEW_JSON_LUA
    "local out = {}\n"
    "local index = KEYS[1]\n"
    "if ARGV[1] == 'pending' then index = 'hoop:reviews:pending' end\n"
    "local ids = redis.call('ZREVRANGE', index, 0, 999)\n"
    "for _, id in ipairs(ids) do\n"
    "  local t = review('hoop:review:' .. id, now)\n"
    "  if not t then\n"
    "    redis.call('ZREM', index, id)\n"
    "  elseif (ARGV[1] == '' or t.status == ARGV[1])\n"
    "    and visible(t, ARGV[2], ARGV[3], ARGV[4]) then\n"
    "    table.insert(out, t)\n"
    "    if #out >= 100 then break end\n"
    "  end\n"
    "end\n"
    "if #out == 0 then return '[]' end\n"
    "return arrays(cjson.encode(out))\n";


static void ngx_hoop_review_granted(ngx_hoop_redis_t *rd,
    redisReply *reply, void *data);
static ngx_int_t ngx_hoop_review_announce(ngx_hoop_review_wait_t *w,
    ngx_hoop_review_spec_t *spec);
static void ngx_hoop_review_notify(ngx_hoop_review_wait_t *w);
static void ngx_hoop_review_notified(void *data, ngx_int_t rc,
    ngx_uint_t status, ngx_str_t *body, const char *reason);
static void ngx_hoop_review_message(ngx_hoop_redis_t *rd, ngx_str_t *payload,
    void *data);
static void ngx_hoop_review_recheck(ngx_event_t *ev);
static ngx_int_t ngx_hoop_review_read(ngx_hoop_review_wait_t *w);
static void ngx_hoop_review_read_reply(ngx_hoop_redis_t *rd,
    redisReply *reply, void *data);
static void ngx_hoop_review_created(ngx_hoop_redis_t *rd, redisReply *reply,
    void *data);
static void ngx_hoop_review_expire(ngx_event_t *ev);
static void ngx_hoop_review_finish(ngx_hoop_review_wait_t *w,
    ngx_hoop_review_status_e status);
static void ngx_hoop_review_decided(ngx_hoop_redis_t *rd, redisReply *reply,
    void *data);
static void ngx_hoop_review_json_reply(ngx_hoop_redis_t *rd,
    redisReply *reply, void *data);
static void ngx_hoop_review_ignore(ngx_hoop_redis_t *rd, redisReply *reply,
    void *data);
static ngx_int_t ngx_hoop_review_eval(ngx_hoop_reviews_t *rv,
    ngx_uint_t nkeys, ngx_str_t *args, ngx_uint_t nargs,
    ngx_hoop_redis_reply_pt cb, void *data);
static ngx_int_t ngx_hoop_review_send(ngx_hoop_review_wait_t *w,
    ngx_uint_t nkeys, ngx_str_t *args, ngx_uint_t nargs,
    ngx_hoop_redis_reply_pt handler);
static ngx_hoop_review_wait_t *ngx_hoop_review_answered(
    ngx_hoop_review_call_t *call);
static size_t ngx_hoop_review_key(u_char *buf, u_char *id, size_t len);
static size_t ngx_hoop_review_now(u_char *buf, ngx_msec_t plus);
static ngx_int_t ngx_hoop_review_ask(ngx_hoop_reviews_t *rv,
    ngx_str_t *args, ngx_uint_t nargs, ngx_hoop_redis_reply_pt handler,
    ngx_hoop_review_reply_pt cb, void *data);


static const char  *ngx_hoop_review_status_names[] = {
    "pending", "approved", "rejected", "expired", "cancelled", "unavailable"
};


const char *
ngx_hoop_review_status_name(ngx_hoop_review_status_e status)
{
    return ngx_hoop_review_status_names[status];
}


ngx_hoop_reviews_t *
ngx_hoop_reviews_start(ngx_cycle_t *cycle, ngx_hoop_redis_conf_t *conf,
    ngx_hoop_review_webhook_t *webhook, const char *subsystem)
{
    ngx_hoop_reviews_t  *rv;

    rv = ngx_pcalloc(cycle->pool, sizeof(ngx_hoop_reviews_t));
    if (rv == NULL) {
        return NULL;
    }

    rv->webhook = webhook;

    rv->log = cycle->log;
    ngx_queue_init(&rv->waits);

    rv->cmd = ngx_hoop_redis_start(cycle, conf, subsystem);
    if (rv->cmd == NULL) {
        return NULL;
    }

    rv->sub = ngx_hoop_redis_start(cycle, conf, subsystem);
    if (rv->sub == NULL) {
        return NULL;
    }

    ngx_hoop_redis_subscribe(rv->sub, NGX_HOOP_REVIEW_CHANNEL,
                             ngx_hoop_review_message, rv);

    rv->recheck.handler = ngx_hoop_review_recheck;
    rv->recheck.data = rv;
    rv->recheck.log = cycle->log;
    rv->recheck.cancelable = 1;

    ngx_add_timer(&rv->recheck, NGX_HOOP_REVIEW_RECHECK);

    return rv;
}


void
ngx_hoop_reviews_stop(ngx_hoop_reviews_t *rv)
{
    if (rv == NULL) {
        return;
    }

    if (rv->recheck.timer_set) {
        ngx_del_timer(&rv->recheck);
    }

    ngx_hoop_redis_stop(rv->sub);
    ngx_hoop_redis_stop(rv->cmd);
}


ngx_int_t
ngx_hoop_review_request(ngx_hoop_reviews_t *rv, ngx_hoop_review_wait_t *w,
    ngx_hoop_review_spec_t *spec)
{
    u_char                  *p, key[64], now[NGX_INT64_LEN],
                             timeout[NGX_INT64_LEN], required[NGX_INT_T_LEN],
                             grant[NGX_INT64_LEN],
                             rnd[NGX_HOOP_REVIEW_ID_LEN / 2];
    ngx_str_t                args[NGX_HOOP_REVIEW_ARGS];
    ngx_uint_t               i;

    /* 128 random bits: ids are not guessable, so not forgeable */

    if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
        return NGX_ERROR;
    }

    p = ngx_hex_dump(w->id, rnd, sizeof(rnd));
    *p = '\0';

    w->reviews = rv;
    w->status = NGX_HOOP_REVIEW_PENDING;

    ngx_str_set(&args[0], ngx_hoop_review_create_lua);
    args[1].data = key;
    args[1].len = ngx_hoop_review_key(key, w->id, NGX_HOOP_REVIEW_ID_LEN);
    ngx_str_set(&args[2], "hoop:reviews:index");
    ngx_str_set(&args[3], "hoop:reviews");

    args[4].data = w->id;
    args[4].len = NGX_HOOP_REVIEW_ID_LEN;
    args[5].data = now;
    args[5].len = ngx_hoop_review_now(now, 0);
    args[6].data = timeout;
    args[6].len = ngx_sprintf(timeout, "%M", spec->timeout) - timeout;
    args[7] = spec->requester;
    args[8] = spec->identity;
    args[9] = spec->operation;
    args[10] = spec->rule;
    args[11] = spec->approvers;
    args[12].data = required;
    args[12].len = ngx_sprintf(required, "%ui", spec->required) - required;
    args[13] = ngx_cycle->hostname;
    ngx_str_set(&args[14], NGX_HOOP_REVIEW_RETAIN);
    args[15].data = grant;
    args[15].len = ngx_sprintf(grant, "%M", spec->grant) - grant;

    for (i = 7; i < 14; i++) {
        if (args[i].data == NULL) {
            ngx_str_set(&args[i], "");
        }
    }

    if (rv->webhook != NULL
        && ngx_hoop_review_announce(w, spec) != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (ngx_hoop_review_send(w, 3, args, 16, ngx_hoop_review_created)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    /* the operation waits from now; the timer ends the wait at expiry */

    w->expire.handler = ngx_hoop_review_expire;
    w->expire.data = w;
    w->expire.log = rv->log;
    ngx_add_timer(&w->expire, spec->timeout);

    ngx_queue_insert_tail(&rv->waits, &w->queue);
    w->waiting = 1;

    return NGX_OK;
}


static void
ngx_hoop_review_created(ngx_hoop_redis_t *rd, redisReply *reply, void *data)
{
    ngx_hoop_review_call_t  *call = data;

    ngx_hoop_review_wait_t  *w;

    w = ngx_hoop_review_answered(call);
    if (w == NULL) {
        return;                 /* cancelled meanwhile */
    }

    if (reply == NULL || reply->type != REDIS_REPLY_INTEGER) {
        ngx_log_error(NGX_LOG_ERR, w->expire.log, 0,
                      "hoop review: review %s could not be created%s%s",
                      w->id, reply ? ": " : "",
                      reply && reply->type == REDIS_REPLY_ERROR
                      ? reply->str : "");
        ngx_hoop_review_finish(w, NGX_HOOP_REVIEW_UNAVAILABLE);
        w->handler(w);
        return;
    }

    ngx_hoop_review_notify(w);

    if (w->stale) {
        (void) ngx_hoop_review_read(w);
    }
}


/*
 * A command for w, one at a time; finishing or cancelling the wait
 * orphans it (ngx_hoop_review_finish() clears call->wait).
 */
static ngx_int_t
ngx_hoop_review_send(ngx_hoop_review_wait_t *w, ngx_uint_t nkeys,
    ngx_str_t *args, ngx_uint_t nargs, ngx_hoop_redis_reply_pt handler)
{
    ngx_hoop_review_call_t  *call;

    call = ngx_alloc(sizeof(ngx_hoop_review_call_t), w->reviews->log);
    if (call == NULL) {
        return NGX_ERROR;
    }

    call->wait = w;
    call->cb = NULL;
    call->data = NULL;

    if (ngx_hoop_review_eval(w->reviews, nkeys, args, nargs, handler, call)
        != NGX_OK)
    {
        ngx_free(call);
        return NGX_ERROR;
    }

    w->call = call;

    return NGX_OK;
}


/* The wait an answer is for, or NULL if it is gone; frees the call. */
static ngx_hoop_review_wait_t *
ngx_hoop_review_answered(ngx_hoop_review_call_t *call)
{
    ngx_hoop_review_wait_t  *w;

    w = call->wait;
    ngx_free(call);

    if (w != NULL) {
        w->call = NULL;
    }

    return w;
}


/* The webhook's body: what a notification needs to reach a reviewer. */
static ngx_int_t
ngx_hoop_review_announce(ngx_hoop_review_wait_t *w,
    ngx_hoop_review_spec_t *spec)
{
    u_char       expires[NGX_INT64_LEN];
    size_t       cap, len;
    hoop_json_t  j;

    /* as this gateway's clock sees it: Redis's may differ a little */
    len = ngx_hoop_review_now(expires, spec->timeout);

    cap = 512 + 6 * (spec->requester.len + spec->rule.len
                     + spec->approvers.len + ngx_cycle->hostname.len)
          + spec->identity.len + spec->operation.len;

    w->announce.data = ngx_pnalloc(w->pool, cap);
    if (w->announce.data == NULL) {
        return NGX_ERROR;
    }

    hoop_json_init(&j, (char *) w->announce.data, cap);
    hoop_json_object(&j, NULL);
    hoop_json_string(&j, "type", "review.requested", 16);
    hoop_json_string(&j, "id", (char *) w->id, NGX_HOOP_REVIEW_ID_LEN);
    hoop_json_string(&j, "requester", (char *) spec->requester.data,
                     spec->requester.len);
    hoop_json_value(&j, "identity", (char *) spec->identity.data,
                    spec->identity.len);
    hoop_json_value(&j, "operation", (char *) spec->operation.data,
                    spec->operation.len);
    hoop_json_string(&j, "rule", (char *) spec->rule.data, spec->rule.len);
    hoop_json_string(&j, "approvers", (char *) spec->approvers.data,
                     spec->approvers.len);
    hoop_json_int(&j, "required", (long long) spec->required);
    hoop_json_value(&j, "expires", (char *) expires, len);
    hoop_json_string(&j, "gateway", (char *) ngx_cycle->hostname.data,
                     ngx_cycle->hostname.len);
    hoop_json_end(&j);

    w->announce.len = hoop_json_finish(&j);

    return w->announce.len ? NGX_OK : NGX_ERROR;
}


/*
 * Best effort: a failed POST is logged, not retried; the hoop:reviews
 * stream is the reliable announcement.
 */
static void
ngx_hoop_review_notify(ngx_hoop_review_wait_t *w)
{
    ngx_hoop_review_webhook_t  *wh;

    wh = w->reviews->webhook;

    if (wh == NULL || w->announce.len == 0) {
        return;
    }

    if (ngx_hoop_http_post(&wh->target, wh->ssl, wh->timeout, &w->announce,
                           w->reviews->log, ngx_hoop_review_notified, wh)
        != NGX_OK)
    {
        ngx_log_error(NGX_LOG_ERR, w->reviews->log, 0,
                      "hoop review: webhook \"%V\" for review %s could not"
                      " be sent", &wh->url, w->id);
    }
}


static void
ngx_hoop_review_notified(void *data, ngx_int_t rc, ngx_uint_t status,
    ngx_str_t *body, const char *reason)
{
    ngx_hoop_review_webhook_t  *wh = data;

    if (rc != NGX_OK) {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "hoop review: webhook \"%V\" failed: %s", &wh->url,
                      reason);
        return;
    }

    if (status >= 300) {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "hoop review: webhook \"%V\" answered %ui", &wh->url,
                      status);
    }
}


char *
ngx_hoop_review_webhook_set(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    char  *p = conf;

    char                        *err;
    ngx_str_t                   *value, trusted, v;
    ngx_uint_t                   i;
    ngx_hoop_review_webhook_t  **field, *wh;

    field = (ngx_hoop_review_webhook_t **) (p + cmd->offset);

    if (*field != NULL) {
        return "is duplicate";
    }

    wh = ngx_pcalloc(cf->pool, sizeof(ngx_hoop_review_webhook_t));
    if (wh == NULL) {
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;
    wh->url = value[1];
    wh->timeout = 5000;
    ngx_str_null(&trusted);

    for (i = 2; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "timeout=", 8) == 0) {
            v.data = value[i].data + 8;
            v.len = value[i].len - 8;
            wh->timeout = ngx_parse_time(&v, 0);

            if (wh->timeout == (ngx_msec_t) NGX_ERROR || wh->timeout == 0) {
                goto invalid;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "trusted_certificate=", 20) == 0) {
            trusted.data = value[i].data + 20;
            trusted.len = value[i].len - 20;
            continue;
        }

        goto invalid;
    }

    err = ngx_hoop_http_target_parse(cf->pool, &wh->url, 1, &wh->target);

    if (err != NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"%V\" \"%V\" %s",
                           &cmd->name, &wh->url, err);
        return NGX_CONF_ERROR;
    }

    if (wh->target.tls) {
        wh->ssl = ngx_hoop_http_client_ssl(cf, &trusted);
        if (wh->ssl == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    *field = wh;

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid parameter \"%V\" in the \"%V\" directive",
                       &value[i], &cmd->name);

    return NGX_CONF_ERROR;
}


ngx_int_t
ngx_hoop_review_grant_check(ngx_hoop_reviews_t *rv, ngx_hoop_review_wait_t *w,
    ngx_str_t *rule, ngx_str_t *requester)
{
    u_char                  *key;
    ngx_str_t                args[2];

    key = ngx_pnalloc(w->pool, sizeof("hoop:grant::") + rule->len
                               + requester->len);
    if (key == NULL) {
        return NGX_ERROR;
    }

    w->reviews = rv;

    ngx_str_set(&args[0], ngx_hoop_review_grant_lua);
    args[1].data = key;
    args[1].len = ngx_sprintf(key, "hoop:grant:%V:%V", rule, requester)
                  - key;

    return ngx_hoop_review_send(w, 1, args, 2, ngx_hoop_review_granted);
}


static void
ngx_hoop_review_granted(ngx_hoop_redis_t *rd, redisReply *reply, void *data)
{
    ngx_hoop_review_call_t  *call = data;

    ngx_hoop_review_wait_t  *w;

    w = ngx_hoop_review_answered(call);
    if (w == NULL) {
        return;                 /* the request went away */
    }

    w->done = 1;

    if (reply != NULL && reply->type == REDIS_REPLY_ARRAY
        && reply->elements == 2
        && reply->element[0]->type == REDIS_REPLY_STRING
        && reply->element[0]->len == NGX_HOOP_REVIEW_ID_LEN
        && reply->element[1]->type == REDIS_REPLY_INTEGER
        && reply->element[1]->integer > 0)
    {
        ngx_memcpy(w->id, reply->element[0]->str, NGX_HOOP_REVIEW_ID_LEN);
        w->id[NGX_HOOP_REVIEW_ID_LEN] = '\0';
        w->grant_left = (ngx_msec_t) reply->element[1]->integer;
        w->status = NGX_HOOP_REVIEW_APPROVED;

    } else {
        w->status = (reply == NULL) ? NGX_HOOP_REVIEW_UNAVAILABLE
                                    : NGX_HOOP_REVIEW_PENDING;
    }

    w->handler(w);
}


void
ngx_hoop_review_spec_rule(ngx_hoop_review_spec_t *spec,
    const hoop_rule_t *rule)
{
    spec->rule.data = (u_char *) rule->name;
    spec->rule.len = ngx_strlen(rule->name);
    spec->approvers.data = (u_char *) rule->approvers;
    spec->approvers.len = ngx_strlen(rule->approvers);
    spec->required = rule->required;
    spec->timeout = rule->timeout_ms;
    spec->grant = rule->grant_ms;
}


void
ngx_hoop_review_cancel(ngx_hoop_review_wait_t *w)
{
    u_char       key[64];
    ngx_str_t    args[6];

    if (w->done) {
        return;
    }

    ngx_hoop_review_finish(w, NGX_HOOP_REVIEW_CANCELLED);

    if (w->id[0] == '\0') {
        return;                 /* a grant lookup: no review to cancel */
    }

    ngx_str_set(&args[0], ngx_hoop_review_cancel_lua);
    args[1].data = key;
    args[1].len = ngx_hoop_review_key(key, w->id, NGX_HOOP_REVIEW_ID_LEN);
    ngx_str_set(&args[2], NGX_HOOP_REVIEW_CHANNEL);
    args[3].data = w->id;
    args[3].len = NGX_HOOP_REVIEW_ID_LEN;

    (void) ngx_hoop_review_eval(w->reviews, 1, args, 4,
                                ngx_hoop_review_ignore, NULL);
}


/*
 * Names w's review by a tag for ttl: whoever holds the tag may cancel it
 * (ngx_hoop_review_cancel_tag) without knowing its id.
 */
ngx_int_t
ngx_hoop_review_tag(ngx_hoop_review_wait_t *w, ngx_str_t *tag,
    ngx_msec_t ttl)
{
    u_char       key[128], ms[NGX_INT_T_LEN];
    size_t       argvlen[5];
    const char  *argv[5];

    if (tag->len > 100 || w->id[0] == '\0') {
        return NGX_ERROR;
    }

    argv[0] = "SET";
    argvlen[0] = 3;
    argv[1] = (char *) key;
    argvlen[1] = ngx_sprintf(key, "hoop:review:tag:%V", tag) - key;
    argv[2] = (char *) w->id;
    argvlen[2] = NGX_HOOP_REVIEW_ID_LEN;
    argv[3] = "PX";
    argvlen[3] = 2;
    argv[4] = (char *) ms;
    argvlen[4] = ngx_sprintf(ms, "%M", ttl) - ms;

    return ngx_hoop_redis_command(w->reviews->cmd, ngx_hoop_review_ignore,
                                  NULL, 5, argv, argvlen);
}


ngx_int_t
ngx_hoop_review_cancel_tag(ngx_hoop_reviews_t *rv, ngx_str_t *tag)
{
    u_char     key[128];
    ngx_str_t  args[3];

    if (tag->len > 100) {
        return NGX_ERROR;
    }

    ngx_str_set(&args[0], ngx_hoop_review_cancel_tag_lua);
    args[1].data = key;
    args[1].len = ngx_sprintf(key, "hoop:review:tag:%V", tag) - key;
    ngx_str_set(&args[2], NGX_HOOP_REVIEW_CHANNEL);

    return ngx_hoop_review_eval(rv, 1, args, 3, ngx_hoop_review_ignore,
                                NULL);
}


/* A decision published by any gateway: "<id> <status>". */
static void
ngx_hoop_review_message(ngx_hoop_redis_t *rd, ngx_str_t *payload,
    void *data)
{
    ngx_hoop_reviews_t  *rv = data;

    ngx_queue_t             *q, *next;
    ngx_hoop_review_wait_t  *w;

    for (q = ngx_queue_head(&rv->waits);
         q != ngx_queue_sentinel(&rv->waits);
         q = next)
    {
        next = ngx_queue_next(q);
        w = ngx_queue_data(q, ngx_hoop_review_wait_t, queue);

        /* subscribed (again): whatever was missed is read now */

        if (payload == NULL
            || (payload->len > NGX_HOOP_REVIEW_ID_LEN
                && ngx_strncmp(payload->data, w->id,
                               NGX_HOOP_REVIEW_ID_LEN) == 0))
        {
            (void) ngx_hoop_review_read(w);
        }
    }
}


/* A safety net under the channel: waiting reviews are re-read. */
static void
ngx_hoop_review_recheck(ngx_event_t *ev)
{
    ngx_hoop_reviews_t  *rv = ev->data;

    /* a worker shutting down gracefully still resolves what it holds */

    if (ngx_terminate || ngx_quit
        || (ngx_exiting && ngx_queue_empty(&rv->waits)))
    {
        return;
    }

    ngx_hoop_review_message(rv->sub, NULL, rv);

    ngx_add_timer(ev, NGX_HOOP_REVIEW_RECHECK);
}


static ngx_int_t
ngx_hoop_review_read(ngx_hoop_review_wait_t *w)
{
    u_char                   key[64];
    ngx_str_t                args[6];

    if (w->call != NULL) {
        w->stale = 1;           /* asked again when it answers */
        return NGX_OK;
    }

    w->stale = 0;

    ngx_str_set(&args[0], ngx_hoop_review_status_lua);
    args[1].data = key;
    args[1].len = ngx_hoop_review_key(key, w->id, NGX_HOOP_REVIEW_ID_LEN);
    ngx_str_set(&args[2], NGX_HOOP_REVIEW_CHANNEL);
    args[3].data = w->id;
    args[3].len = NGX_HOOP_REVIEW_ID_LEN;

    return ngx_hoop_review_send(w, 1, args, 4, ngx_hoop_review_read_reply);
}


static void
ngx_hoop_review_read_reply(ngx_hoop_redis_t *rd, redisReply *reply,
    void *data)
{
    ngx_hoop_review_call_t  *call = data;

    ngx_uint_t               i;
    redisReply             **e;
    ngx_hoop_review_wait_t  *w;

    w = ngx_hoop_review_answered(call);
    if (w == NULL) {
        return;                 /* finished meanwhile */
    }

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY
        || reply->elements != 3)
    {
        return;                 /* asked again at the next recheck */
    }

    e = reply->element;

    for (i = 0; i < 3; i++) {
        if (e[i]->type != REDIS_REPLY_STRING) {
            return;
        }
    }

    if (ngx_strcmp(e[0]->str, "pending") == 0) {
        if (w->stale) {
            (void) ngx_hoop_review_read(w);
        }

        return;
    }

    for (i = NGX_HOOP_REVIEW_APPROVED; i <= NGX_HOOP_REVIEW_CANCELLED; i++) {
        if (ngx_strcmp(e[0]->str, ngx_hoop_review_status_names[i]) == 0) {
            break;
        }
    }

    if (i > NGX_HOOP_REVIEW_CANCELLED) {
        if (ngx_strcmp(e[0]->str, "gone") != 0) {
            return;             /* still pending */
        }

        i = NGX_HOOP_REVIEW_UNAVAILABLE;
    }

    w->reason.data = ngx_pnalloc(w->pool, e[1]->len + 1);
    w->decided_by.data = ngx_pnalloc(w->pool, e[2]->len + 1);

    if (w->reason.data == NULL || w->decided_by.data == NULL) {
        ngx_str_null(&w->reason);
        ngx_str_null(&w->decided_by);

    } else {
        w->reason.len = e[1]->len;
        ngx_memcpy(w->reason.data, e[1]->str, e[1]->len);
        w->decided_by.len = e[2]->len;
        ngx_memcpy(w->decided_by.data, e[2]->str, e[2]->len);
    }

    ngx_hoop_review_finish(w, (ngx_hoop_review_status_e) i);

    w->handler(w);
}


/* The review's time is up: Redis says whether it expired or was decided. */
static void
ngx_hoop_review_expire(ngx_event_t *ev)
{
    ngx_hoop_review_wait_t  *w = ev->data;

    /* and if Redis cannot say, it expired all the same */

    if (w->overdue++ > 0 || ngx_hoop_review_read(w) != NGX_OK) {
        ngx_hoop_review_finish(w, NGX_HOOP_REVIEW_EXPIRED);
        w->handler(w);
        return;
    }

    ngx_add_timer(ev, 2000);
}


static void
ngx_hoop_review_finish(ngx_hoop_review_wait_t *w,
    ngx_hoop_review_status_e status)
{
    ngx_hoop_review_call_t  *call;

    w->status = status;
    w->done = 1;

    /* an answer still owed is dropped when it comes */

    call = w->call;

    if (call != NULL) {
        call->wait = NULL;
        w->call = NULL;
    }

    if (w->expire.timer_set) {
        ngx_del_timer(&w->expire);
    }

    if (w->waiting) {
        ngx_queue_remove(&w->queue);
        w->waiting = 0;
    }
}


ngx_int_t
ngx_hoop_review_decide(ngx_hoop_reviews_t *rv, ngx_str_t *id,
    ngx_uint_t approve, ngx_str_t *sub, ngx_str_t *groups,
    ngx_str_t *reason, ngx_hoop_review_reply_pt cb, void *data)
{
    u_char     key[64];
    ngx_str_t  args[10];

    ngx_str_set(&args[0], ngx_hoop_review_decide_lua);
    args[1].data = key;
    args[1].len = ngx_hoop_review_key(key, id->data, id->len);

    if (approve) {
        ngx_str_set(&args[2], "approve");

    } else {
        ngx_str_set(&args[2], "reject");
    }

    args[3] = *sub;
    args[4] = *groups;
    args[5] = *reason;
    ngx_str_set(&args[6], NGX_HOOP_REVIEW_CHANNEL);
    args[7] = *id;

    return ngx_hoop_review_ask(rv, args, 8, ngx_hoop_review_decided, cb,
                               data);
}


static void
ngx_hoop_review_decided(ngx_hoop_redis_t *rd, redisReply *reply, void *data)
{
    ngx_hoop_review_call_t  *call = data;

    redisReply                 **e;
    ngx_hoop_review_outcome_t    out;

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY
        || reply->elements != 4
        || reply->element[0]->type != REDIS_REPLY_STRING
        || reply->element[1]->type != REDIS_REPLY_STRING)
    {
        call->cb(call->data, NULL, NULL);
        ngx_free(call);
        return;
    }

    e = reply->element;

    out.result.data = (u_char *) e[0]->str;
    out.result.len = e[0]->len;
    out.status.data = (u_char *) e[1]->str;
    out.status.len = e[1]->len;
    out.approvals = e[2]->type == REDIS_REPLY_INTEGER ? e[2]->integer : 0;
    out.required = e[3]->type == REDIS_REPLY_INTEGER ? e[3]->integer : 0;

    call->cb(call->data, &out, NULL);
    ngx_free(call);
}


ngx_int_t
ngx_hoop_review_list(ngx_hoop_reviews_t *rv, ngx_str_t *status,
    ngx_hoop_review_viewer_t *viewer, ngx_hoop_review_reply_pt cb,
    void *data)
{
    ngx_str_t  args[6];

    ngx_str_set(&args[0], ngx_hoop_review_list_lua);
    ngx_str_set(&args[1], "hoop:reviews:index");
    args[2] = *status;
    args[3] = viewer->sub;
    args[4] = viewer->groups;
    args[5] = viewer->auditors;

    return ngx_hoop_review_ask(rv, args, 6, ngx_hoop_review_json_reply, cb,
                               data);
}


ngx_int_t
ngx_hoop_review_show(ngx_hoop_reviews_t *rv, ngx_str_t *id,
    ngx_hoop_review_viewer_t *viewer, ngx_hoop_review_reply_pt cb,
    void *data)
{
    u_char     key[64];
    ngx_str_t  args[5];

    ngx_str_set(&args[0], ngx_hoop_review_show_lua);
    args[1].data = key;
    args[1].len = ngx_hoop_review_key(key, id->data, id->len);
    args[2] = viewer->sub;
    args[3] = viewer->groups;
    args[4] = viewer->auditors;

    return ngx_hoop_review_ask(rv, args, 5, ngx_hoop_review_json_reply, cb,
                               data);
}


/* A reviewer's question: one key, the answer to cb. */
static ngx_int_t
ngx_hoop_review_ask(ngx_hoop_reviews_t *rv, ngx_str_t *args,
    ngx_uint_t nargs, ngx_hoop_redis_reply_pt handler,
    ngx_hoop_review_reply_pt cb, void *data)
{
    ngx_hoop_review_call_t  *call;

    call = ngx_alloc(sizeof(ngx_hoop_review_call_t), rv->log);
    if (call == NULL) {
        return NGX_ERROR;
    }

    call->wait = NULL;
    call->cb = cb;
    call->data = data;

    if (ngx_hoop_review_eval(rv, 1, args, nargs, handler, call) != NGX_OK) {
        ngx_free(call);
        return NGX_ERROR;
    }

    return NGX_OK;
}


static void
ngx_hoop_review_json_reply(ngx_hoop_redis_t *rd, redisReply *reply,
    void *data)
{
    ngx_hoop_review_call_t  *call = data;

    ngx_str_t  json;

    if (reply == NULL || reply->type != REDIS_REPLY_STRING) {
        call->cb(call->data, NULL, NULL);
        ngx_free(call);
        return;
    }

    json.data = (u_char *) reply->str;
    json.len = reply->len;

    call->cb(call->data, NULL, &json);
    ngx_free(call);
}


static void
ngx_hoop_review_ignore(ngx_hoop_redis_t *rd, redisReply *reply, void *data)
{
    /* a cancellation: nobody waits for its answer */
}


/*
 * EVAL script nkeys key... arg...: args[0] is the script, then the keys,
 * then the arguments.
 */
static ngx_int_t
ngx_hoop_review_eval(ngx_hoop_reviews_t *rv, ngx_uint_t nkeys,
    ngx_str_t *args, ngx_uint_t nargs, ngx_hoop_redis_reply_pt cb,
    void *data)
{
    u_char       n[NGX_INT_T_LEN];
    size_t       argvlen[NGX_HOOP_REVIEW_ARGS + 3];
    ngx_uint_t   i, k;
    const char  *argv[NGX_HOOP_REVIEW_ARGS + 3];

    k = 0;
    argv[k] = "EVAL";
    argvlen[k++] = 4;
    argv[k] = (char *) args[0].data;
    argvlen[k++] = args[0].len;
    argv[k] = (char *) n;
    argvlen[k++] = ngx_sprintf(n, "%ui", nkeys) - n;

    for (i = 1; i < nargs; i++) {
        argv[k] = (char *) args[i].data;
        argvlen[k++] = args[i].len;
    }

    return ngx_hoop_redis_command(rv->cmd, cb, data, (int) k, argv, argvlen);
}


static size_t
ngx_hoop_review_key(u_char *buf, u_char *id, size_t len)
{
    len = ngx_min(len, NGX_HOOP_REVIEW_ID_LEN);

    return ngx_sprintf(buf, "hoop:review:%*s", len, id) - buf;
}


/* milliseconds since the epoch, plus some */
static size_t
ngx_hoop_review_now(u_char *buf, ngx_msec_t plus)
{
    ngx_time_t  *tp;

    tp = ngx_timeofday();

    return ngx_sprintf(buf, "%M", (ngx_msec_t) tp->sec * 1000 + tp->msec
                                  + plus) - buf;
}
