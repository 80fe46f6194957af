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


/* iterative, with one backtrack point: linear in practice, no recursion */
int
hoop_rule_glob(const char *p, const char *s, size_t len)
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

        } else if (*p != '\0' && (*p == '?' || *p == s[i])) {
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


int
hoop_rule_tally_holds(const hoop_rule_tally_t *t, int all)
{
    if (all) {
        return !t->unreadable && t->seen > 0 && t->matched == t->seen;
    }

    return t->unreadable || t->matched > 0;
}
