/*
 * Copyright (C) nginx-hoop authors
 *
 * The rule engine: first match wins, identity and operation conditions,
 * globs, and what an unauthenticated caller matches (nothing by identity).
 */

#include "tap.h"
#include "hoop_casefold.h"
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


static int
json_holds(const char *cond, const char *body, size_t len, int all)
{
    hoop_rule_tally_t  t;

    memset(&t, 0, sizeof(t));
    hoop_rule_json_tally(cond, body, len, all, &t);

    return hoop_rule_tally_holds(&t, all);
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
    ok(!hoop_rule_glob("/api/admin*", "/api/Admin/x", 12),
       "a glob is exact: another case is another path");

    /* folding: every spelling a case-insensitive server takes as ASCII */
    {
        static const struct {
            const char  *in, *want;
        } folds[] = {
            { "/API/Admin", "/api/admin" },
            { "/api/\xe2\x84\xaa" "ey", "/api/key" },    /* Kelvin sign */
            { "/adm\xc4\xb1n", "/admin" },             /* dotless i */
            { "/ADM\xc4\xb0N", "/admin" },             /* dotted I */
            { "/\xc5\xbf" "ecret", "/secret" },           /* long s */
            { "/\xef\xac\x81le", "/file" },           /* fi ligature */
            { "/STRA\xc3\x9f" "E", "/strasse" },       /* sharp s */
            { "/\xc3\x89T\xc3\x89", "/\xc3\xa9t\xc3\xa9" },  /* Latin-1 */
            { "\xd0\x90\xd0\x94\xd0\x9c", "\xd0\xb0\xd0\xb4\xd0\xbc" },
            { "\xce\xa3\xcf\x82", "\xcf\x83\xcf\x83" },     /* sigma */
            { "\xef\xbc\xa1", "\xef\xbd\x81" },         /* fullwidth A */
            { "a\xff\xc3(", "a\xff\xc3(" },             /* not UTF-8 */
        };
        char    out[64];
        size_t  i, n;
        int     good;

        good = 1;

        for (i = 0; i < sizeof(folds) / sizeof(folds[0]); i++) {
            n = hoop_casefold(folds[i].in, strlen(folds[i].in), out);

            if (n != strlen(folds[i].want)
                || memcmp(out, folds[i].want, n) != 0)
            {
                printf("# fold %zu: got %.*s\n", i, (int) n, out);
                good = 0;
            }
        }

        ok(good, "casefold: ASCII, the characters that fold to ASCII"
           " letters, Latin-1, Cyrillic, Greek, fullwidth; bytes that are"
           " not UTF-8 as they are");
    }

    /* the laxest server's reading of a path */
    {
        static const struct {
            const char  *in, *want;
        } paths[] = {
            { "/api/admin", "/api/admin" },
            { "/api/%61dmin", "/api/admin" },            /* twice encoded */
            { "/api/%2561dmin", "/api/admin" },          /* three times */
            { "/api/\xc0\xaf" "admin", "/api/admin" },      /* overlong / */
            { "/api/x/\xc0\xae\xc0\xae/admin", "/api/admin" },
            { "/api/\xe0\x81\xa1" "dmin", "/api/admin" },  /* 3-byte a */
            { "/api\\admin", "/api/admin" },            /* backslash */
            { "/api/..;/admin", "/admin" },              /* Tomcat */
            { "/api/x/..%3b/admin", "/api/admin" },
            { "/api/admin;jsessionid=1/x", "/api/admin/x" },
            { "/api/admin./x", "/api/admin/x" },         /* Windows */
            { "/api/admin%20%20/x", "/api/admin/x" },
            { "//api/./admin/", "/api/admin/" },
            { "/api/x/..", "/api/" },
            { "/../..", "/" },
            { "", "" },
            { ".", "/" },
            { "a/../b", "/b" },
            { "/caf\xc3\xa9", "/caf\xc3\xa9" },          /* UTF-8 kept */
            { "/git/secret.git/info/refs\n", "/git/secret.git/info/refs" },
            { "/api/admin%0a", "/api/admin" },           /* regex "$" */
        };
        char    out[64];
        size_t  i, n;
        int     good;

        good = 1;

        for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
            n = hoop_rule_path_lax(paths[i].in, strlen(paths[i].in), out);

            if (n != strlen(paths[i].want)
                || memcmp(out, paths[i].want, n) != 0)
            {
                printf("# path %zu: %s got %.*s\n", i, paths[i].in,
                       (int) n, out);
                good = 0;
            }
        }

        ok(good, "path_lax: decoded again, overlong UTF-8, '\\', ;params,"
           " trailing dots, dot segments");
    }

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
        ok(hoop_rule_args_match("my_action:drop", "my.action=drop", 14, 0)
           && hoop_rule_args_match("my_action:drop", "my+action=drop", 14, 0)
           && hoop_rule_args_match("my_action:drop", "my[action=drop", 14,
                                   0)
           && hoop_rule_args_match("action:drop", "action[]=drop", 13, 0)
           && hoop_rule_args_match("action:drop", "action[x]=drop", 14, 0)
           && hoop_rule_args_match("action:drop", "+action=drop", 12, 0),
           "arg: names keyed as PHP and Rails key them");
        ok(hoop_rule_args_match("action:drop", "Action=DROP", 11, 0)
           && !hoop_rule_args_match("action:read", "action=READ", 11, 1)
           && !hoop_rule_args_match("action:read", "action=read&ACTION=x",
                                    20, 1),
           "arg: a deny in either case; an allow exact, but over every"
           " occurrence in any case");
    }

    /* JSON bodies */
    {
        static const char  rpc[] =
            "{\"jsonrpc\":\"2.0\",\"method\":\"read\"}";
        static const char  batch[] =
            "[{\"method\":\"read\"},{\"method\":\"drop_table\"}]";
        static const char  cased[] =
            "{\"method\":\"read\",\"Method\":\"drop\"}";
        static const char  dup[] = "{\"method\":\"read\",\"method\":\"drop\"}";
        static const char  esc[] =
            "\xef\xbb\xbf {\"meth\\u006fd\":\"dr\\u006fp\"}";
        static const char  arr[] = "{\"method\":[\"read\",\"drop\"]}";
        static const char  obj[] = "{\"method\":{\"name\":\"drop\"}}";
        static const char  lax[] = "{\"method\":\"drop\",}";
        static const char  num[] = "{\"limit\":100,\"dry\":true}";

#define JSON_HOLDS(cond, body, all)                                         \
        json_holds(cond, body, sizeof(body) - 1, all)

        ok(JSON_HOLDS("method:read", rpc, 1)
           && !JSON_HOLDS("method:drop*", rpc, 0)
           && JSON_HOLDS("jsonrpc", rpc, 0),
           "json: a top-level member, its value and its presence");
        ok(JSON_HOLDS("method:drop*", batch, 0)
           && !JSON_HOLDS("method:read", batch, 1),
           "json: a batch is each of its calls");
        ok(JSON_HOLDS("method:drop", cased, 0)
           && !JSON_HOLDS("method:read", cased, 1),
           "json: a member in another case is another occurrence");
        ok(JSON_HOLDS("method:read", dup, 0)
           && !JSON_HOLDS("method:read", dup, 1),
           "json: a member twice is unreadable: denied, never allowed");
        ok(JSON_HOLDS("method:drop", esc, 0),
           "json: escapes decoded, a byte order mark skipped");
        ok(JSON_HOLDS("method:drop", arr, 0)
           && !JSON_HOLDS("method:read", arr, 1),
           "json: an array value is each of its elements");
        ok(JSON_HOLDS("method:x", obj, 0) && !JSON_HOLDS("method:*", obj, 1),
           "json: an object value is unreadable");
        ok(JSON_HOLDS("method:x", lax, 0) && !JSON_HOLDS("method:*", lax, 1),
           "json: what only a lenient parser reads is unreadable");
        ok(JSON_HOLDS("limit:100", num, 1) && JSON_HOLDS("dry:TRUE", num, 0),
           "json: numbers and literals as their JSON text");
        {
            static const char  mp[] =
                "--b\r\nContent-Disposition: form-data; name=\"Action\"\r\n\r\n"
                "drop\r\n--b\r\nContent-Disposition: form-data; name=f;"
                " filename=\"a\"\r\n\r\nx\r\n--b--\r\n";
            static const char  star[] =
                "--b\r\nContent-Disposition: form-data; name*=utf-8''a\r\n"
                "\r\ndrop\r\n--b--\r\n";
            hoop_rule_tally_t  t;

            memset(&t, 0, sizeof(t));
            hoop_rule_multipart_tally("action:drop", mp, sizeof(mp) - 1,
                                      "b", 1, 0, &t);
            ok(hoop_rule_tally_holds(&t, 0) && t.seen == 1,
               "multipart: a field, its name keyed; a file is not one");

            memset(&t, 0, sizeof(t));
            hoop_rule_multipart_tally("f", mp, sizeof(mp) - 1, "b", 1, 0, &t);
            ok(!hoop_rule_tally_holds(&t, 0), "multipart: files skipped");

            memset(&t, 0, sizeof(t));
            hoop_rule_multipart_tally("action", star, sizeof(star) - 1, "b",
                                      1, 1, &t);
            ok(t.unreadable && !hoop_rule_tally_holds(&t, 1),
               "multipart: name* is unreadable");

            memset(&t, 0, sizeof(t));
            hoop_rule_multipart_tally("action", mp, sizeof(mp) - 8, "b", 1, 0,
                                      &t);
            ok(hoop_rule_tally_holds(&t, 0) && t.unreadable,
               "multipart: no close delimiter is unreadable");
        }
        ok(!JSON_HOLDS("method:*", "method=drop", 0)
           && !JSON_HOLDS("method", "\"x\"", 0),
           "json: a body that is not an object or array has no members");
    }
    ok(!hoop_rule_glob("*.sql", "x.sqlx", 6), "anchored at the end");
    ok(hoop_rule_glob("a?c", "abc", 3), "?");
    ok(!hoop_rule_glob("abc", "ab", 2), "shorter input");
    ok(hoop_rule_glob("a*b*c*d", "aXbYcZd", 7), "several stars");
    ok(!hoop_rule_glob("a*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 30),
       "no exponential backtracking on a hostile pattern");

    return done_testing();
}
