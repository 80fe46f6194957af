/*
 * Copyright (C) nginx-hoop authors
 *
 * The rule engine: first match wins, identity and operation conditions,
 * globs, and what an unauthenticated caller matches (nothing by identity).
 */

#include "tap.h"
#include "hoop_rule.h"


typedef struct {
    const char  *method;
    const char  *path;
} op_t;


static int
attr(void *data, const hoop_rule_t *rule, const hoop_rule_cond_t *c)
{
    op_t        *op = data;
    size_t       i;
    const char  *v;

    (void) rule;

    if (strcmp(c->key, "method") == 0) {
        v = op->method;

    } else if (strcmp(c->key, "path") == 0) {
        v = op->path;

    } else {
        return -1;
    }

    for (i = 0; i < c->nvalues; i++) {
        if (hoop_rule_glob(c->values[i], v, strlen(v))) {
            return 1;
        }
    }

    return 0;
}


#define V(...)  (const char *[]) { __VA_ARGS__ }
#define N(...)  (sizeof((const char *[]) { __VA_ARGS__ }) / sizeof(char *))
#define COND(k, ...)  { k, V(__VA_ARGS__), N(__VA_ARGS__) }


int
main(void)
{
    op_t              get = { "GET", "/api/items/7" };
    op_t              del = { "DELETE", "/api/items/7" };
    op_t              adm = { "POST", "/admin/reset" };
    hoop_identity_t   dev, sre, anon;
    const hoop_rule_t *m;

    hoop_rule_cond_t  c_del[] = { COND("method", "DELETE"),
                                  COND("groups", "dev", "qa") };
    hoop_rule_cond_t  c_adm[] = { COND("path", "/admin/*") };
    hoop_rule_cond_t  c_sre[] = { COND("groups", "sre") };
    hoop_rule_cond_t  c_bot[] = { COND("client", "ci-*"),
                                  COND("method", "GET", "HEAD") };
    hoop_rule_cond_t  c_bad[] = { COND("color", "blue") };

    hoop_rule_t  rules[] = {
        { "no-deletes-for-dev", HOOP_RULE_DENY, "ask an SRE", c_del, 2,
          NULL, 0, 0, 0 },
        { "sre-admin", HOOP_RULE_ALLOW, NULL, c_sre, 1, NULL, 0, 0, 0 },
        { "admin-closed", HOOP_RULE_DENY, NULL, c_adm, 1, NULL, 0, 0, 0 },
        { "ci-reads", HOOP_RULE_ALLOW, NULL, c_bot, 2, NULL, 0, 0, 0 },
        { "unknown-key", HOOP_RULE_ALLOW, NULL, c_bad, 1, NULL, 0, 0, 0 },
        { "everyone-else", HOOP_RULE_ALLOW, NULL, NULL, 0, NULL, 0, 0, 0 },
    };

    memset(&dev, 0, sizeof(dev));
    dev.sub.data = "alice"; dev.sub.len = 5;
    dev.groups.data = "staff,dev"; dev.groups.len = 9;
    dev.client_id.data = "ci-runner"; dev.client_id.len = 9;

    memset(&sre, 0, sizeof(sre));
    sre.sub.data = "bob"; sre.sub.len = 3;
    sre.groups.data = "sre"; sre.groups.len = 3;

    memset(&anon, 0, sizeof(anon));

    m = hoop_rule_match(rules, 6, &dev, attr, &del);
    ok(m && strcmp(m->name, "no-deletes-for-dev") == 0,
       "dev DELETE: the first rule denies");
    m = hoop_rule_match(rules, 6, &sre, attr, &del);
    ok(m && strcmp(m->name, "sre-admin") == 0, "sre DELETE: not dev, allowed");
    m = hoop_rule_match(rules, 6, &sre, attr, &adm);
    ok(m && strcmp(m->name, "sre-admin") == 0,
       "sre on /admin: an earlier allow wins over a later deny");
    m = hoop_rule_match(rules, 6, &dev, attr, &adm);
    ok(m && strcmp(m->name, "admin-closed") == 0, "dev on /admin: denied");
    m = hoop_rule_match(rules, 6, &dev, attr, &get);
    ok(m && strcmp(m->name, "ci-reads") == 0, "client glob and method list");
    m = hoop_rule_match(rules, 6, NULL, attr, &del);
    ok(m && strcmp(m->name, "everyone-else") == 0,
       "no identity: identity conditions never hold");
    m = hoop_rule_match(rules, 5, &anon, attr, &get);
    ok(m == NULL, "no rule matches: NULL, the caller's default");

    ok(hoop_rule_glob("/api/*", "/api/a/b", 8), "* crosses slashes");
    ok(hoop_rule_glob("*.sql", "x.sql", 5), "leading *");
    ok(!hoop_rule_glob("/api/admin*", "/api/Admin/x", 12)
       && hoop_rule_glob_fold("/api/admin*", "/api/Admin/x", 12, 1)
       && hoop_rule_glob_fold("/API/*", "/api/x", 6, 1)
       && !hoop_rule_glob_fold("/api/admin*", "/api/adm1n", 10, 1),
       "folded: ASCII letters in either case, nothing else");

    {
        static const char  q[] = "action=read&id=7&action=%64elete&x";

        ok(hoop_rule_args_match("action:delete", q, sizeof(q) - 1, 0),
           "arg: one occurrence of a repeated argument, percent-decoded,"
           " holds for a deny");
        ok(!hoop_rule_args_match("action:read", q, sizeof(q) - 1, 1),
           "arg: for an allow every occurrence must match");
        ok(hoop_rule_args_match("id:7", q, sizeof(q) - 1, 1)
           && hoop_rule_args_match("x", q, sizeof(q) - 1, 0)
           && !hoop_rule_args_match("y", q, sizeof(q) - 1, 0)
           && !hoop_rule_args_match("y", q, sizeof(q) - 1, 1),
           "arg: a value, presence, absence");
        ok(hoop_rule_args_match("q:a b*", "q=a+b%2Bc", 9, 0)
           && hoop_rule_args_match("_method:DELETE", "%5Fmethod=DELETE", 16,
                                   0),
           "arg: '+' is a space, an encoded name is the name");
        ok(hoop_rule_args_match("debug", "x=1;debug=1", 11, 0),
           "arg: ';' separates arguments too");
    }
    ok(!hoop_rule_glob("*.sql", "x.sqlx", 6), "anchored at the end");
    ok(hoop_rule_glob("a?c", "abc", 3), "?");
    ok(!hoop_rule_glob("abc", "ab", 2), "shorter input");
    ok(hoop_rule_glob("a*b*c*d", "aXbYcZd", 7), "several stars");
    ok(!hoop_rule_glob("a*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 30),
       "no exponential backtracking on a hostile pattern");

    return done_testing();
}
