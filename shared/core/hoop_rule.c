/*
 * Copyright (C) nginx-hoop authors
 */

#include <string.h>

#include "hoop_rule.h"


static int hoop_rule_cond_holds(const hoop_rule_t *rule,
    const hoop_rule_cond_t *c, const hoop_identity_t *id,
    hoop_rule_attr_pt attr, void *op);
static int hoop_rule_str_matches(const hoop_rule_cond_t *c,
    const hoop_str_t *s);
static int hoop_rule_groups_match(const hoop_rule_cond_t *c,
    const hoop_str_t *groups);


const hoop_rule_t *
hoop_rule_match(const hoop_rule_t *rules, size_t n, const hoop_identity_t *id,
    hoop_rule_attr_pt attr, void *op)
{
    size_t  i, k;

    for (i = 0; i < n; i++) {
        for (k = 0; k < rules[i].nconds; k++) {
            if (!hoop_rule_cond_holds(&rules[i], &rules[i].conds[k], id,
                                      attr, op))
            {
                break;
            }
        }

        if (k == rules[i].nconds) {
            return &rules[i];
        }
    }

    return NULL;
}


int
hoop_rule_excludes(const hoop_rule_t *rules, size_t n,
    const hoop_identity_t *id, hoop_rule_attr_pt attr, void *op,
    const char *key, const char *const *others)
{
    int                      r, applies, restricted;
    size_t                   i, k, v;
    const char *const       *o;
    const hoop_rule_cond_t  *c;

    for (i = 0; i < n; i++) {
        if (rules[i].action == HOOP_RULE_DENY) {
            continue;
        }

        applies = 1;
        restricted = 0;

        for (k = 0; applies && k < rules[i].nconds; k++) {
            c = &rules[i].conds[k];

            if (strcmp(c->key, key) == 0) {
                restricted = 1;

                for (v = 0; v < c->nvalues; v++) {
                    for (o = others; *o; o++) {
                        if (hoop_rule_glob(c->values[v], *o, strlen(*o))) {
                            restricted = 0;
                        }
                    }
                }

                continue;
            }

            if (hoop_rule_identity_key(c->key)) {
                applies = hoop_rule_cond_holds(&rules[i], c, id, attr, op);
                continue;
            }

            r = attr(op, &rules[i], c);
            applies = (r != 0);
        }

        if (applies && !restricted) {
            return 0;
        }
    }

    return 1;
}


int
hoop_rule_identity_key(const char *key)
{
    return strcmp(key, "groups") == 0 || strcmp(key, "sub") == 0
           || strcmp(key, "client") == 0;
}


static int
hoop_rule_cond_holds(const hoop_rule_t *rule, const hoop_rule_cond_t *c,
    const hoop_identity_t *id, hoop_rule_attr_pt attr, void *op)
{
    if (hoop_rule_identity_key(c->key)) {
        if (id == NULL) {
            return 0;
        }

        if (strcmp(c->key, "groups") == 0) {
            return hoop_rule_groups_match(c, &id->groups);
        }

        return hoop_rule_str_matches(c, strcmp(c->key, "sub") == 0
                                        ? &id->sub : &id->client_id);
    }

    return attr(op, rule, c) == 1;
}


static int
hoop_rule_str_matches(const hoop_rule_cond_t *c, const hoop_str_t *s)
{
    size_t  i;

    if (s->len == 0) {
        return 0;
    }

    for (i = 0; i < c->nvalues; i++) {
        if (hoop_rule_glob(c->values[i], s->data, s->len)) {
            return 1;
        }
    }

    return 0;
}


/* any of the caller's groups (comma-separated) against any value */
static int
hoop_rule_groups_match(const hoop_rule_cond_t *c, const hoop_str_t *groups)
{
    size_t       i, start;
    hoop_str_t   g;

    start = 0;

    for (i = 0; i <= groups->len; i++) {
        if (i < groups->len && groups->data[i] != ',') {
            continue;
        }

        if (i > start) {
            g.data = groups->data + start;
            g.len = i - start;

            if (hoop_rule_str_matches(c, &g)) {
                return 1;
            }
        }

        start = i + 1;
    }

    return 0;
}


int
hoop_rule_glob(const char *p, const char *s, size_t len)
{
    return hoop_rule_glob_fold(p, s, len, 0);
}


static int
glob_eq(char a, char b, int fold)
{
    if (fold) {
        a = (a >= 'A' && a <= 'Z') ? (char) (a | 0x20) : a;
        b = (b >= 'A' && b <= 'Z') ? (char) (b | 0x20) : b;
    }

    return a == b;
}


/* iterative, with one backtrack point: linear in practice, no recursion */
int
hoop_rule_glob_fold(const char *p, const char *s, size_t len, int fold)
{
    size_t       i, star_i;
    const char  *star_p;

    i = 0;
    star_p = NULL;
    star_i = 0;

    while (i < len) {
        if (*p == '*') {
            star_p = ++p;
            star_i = i;

        } else if (*p != '\0' && (*p == '?' || glob_eq(*p, s[i], fold))) {
            p++;
            i++;

        } else if (star_p != NULL) {
            p = star_p;
            i = ++star_i;

        } else {
            return 0;
        }
    }

    while (*p == '*') {
        p++;
    }

    return *p == '\0';
}


#define ARG_MAX  1024


static int
hex_digit(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }

    c |= 0x20;

    return (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}


/* p[0, len) as a server decodes it into out (ARG_MAX); -1: too long */
static long
arg_decode(const char *p, size_t len, char *out)
{
    size_t  i, n;

    for (i = 0, n = 0; i < len; i++, n++) {
        if (n == ARG_MAX) {
            return -1;
        }

        if (p[i] == '+') {
            out[n] = ' ';

        } else if (p[i] == '%' && i + 2 < len && hex_digit(p[i + 1]) >= 0
                   && hex_digit(p[i + 2]) >= 0)
        {
            out[n] = (char) (hex_digit(p[i + 1]) * 16 + hex_digit(p[i + 2]));
            i += 2;

        } else {
            out[n] = p[i];
        }
    }

    return (long) n;
}


int
hoop_rule_args_match(const char *cond, const char *args, size_t len,
    int all)
{
    long         nlen, vlen;
    size_t       want, i, end, eq;
    const char  *glob;
    char         name[ARG_MAX], value[ARG_MAX];
    int          seen, matched;

    glob = strchr(cond, ':');
    want = glob ? (size_t) (glob - cond) : strlen(cond);
    glob = glob ? glob + 1 : NULL;

    seen = 0;
    matched = 0;

    for (i = 0; i < len; i = end + 1) {
        /* ';' separates too, where servers read it so (Rack, Go < 1.17) */

        for (end = i; end < len && args[end] != '&' && args[end] != ';';
             end++)
        {
            /* void */
        }

        for (eq = i; eq < end && args[eq] != '='; eq++) {
            /* void */
        }

        nlen = arg_decode(args + i, eq - i, name);
        vlen = (eq < end) ? arg_decode(args + eq + 1, end - eq - 1, value)
                          : 0;

        if (nlen < 0 || vlen < 0) {
            return !all;                    /* unreadable: the strict way */
        }

        if ((size_t) nlen != want || memcmp(name, cond, want) != 0) {
            continue;
        }

        seen = 1;

        if (glob == NULL || hoop_rule_glob(glob, value, (size_t) vlen)) {
            matched++;

            if (!all) {
                return 1;
            }

        } else if (all) {
            return 0;
        }
    }

    return all ? seen && matched > 0 : 0;
}
