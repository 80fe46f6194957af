/*
 * Copyright (C) nginx-hoop authors
 *
 * The rule engine every protocol shares: an ordered list of rules, each
 * an action (allow, deny, review) and conditions on who asks (groups, sub,
 * client) and on what is asked (attributes the protocol supplies: for
 * HTTP method, path, header; for Postgres statement kind, table, ...).
 * The first rule whose conditions all hold decides; none: the default.
 */

#ifndef HOOP_RULE_H
#define HOOP_RULE_H

#include <stddef.h>

#include "hoop_identity.h"


typedef enum {
    HOOP_RULE_ALLOW = 0,
    HOOP_RULE_DENY,
    HOOP_RULE_REVIEW
} hoop_rule_action_t;


/* A condition: key, and the values of which any may match (globs). */
typedef struct {
    const char          *key;
    const char         **values;
    size_t               nvalues;
} hoop_rule_cond_t;


typedef struct hoop_rule_s {
    const char          *name;
    hoop_rule_action_t   action;
    const char          *reason;        /* NULL: none given */
    hoop_rule_cond_t    *conds;
    size_t               nconds;

    /* review rules: who decides, how many must approve, for how long */
    const char          *approvers;     /* groups, comma-separated */
    unsigned             required;
    unsigned long        timeout_ms;
    unsigned long        grant_ms;      /* approval grants this long, or 0 */
} hoop_rule_t;


/*
 * Whether condition c of rule holds for the operation (any of c's values;
 * for attributes that are lists, such as a statement's tables, the
 * protocol decides by the rule's action: what an allow rule names must be
 * all there is); the protocol answers for its own keys ("method",
 * "path", "table", ...).  Returns 1 or 0, and -1 for a key it does not
 * know or cannot tell yet (the rule then does not match).
 */
struct hoop_rule_s;

typedef int (*hoop_rule_attr_pt)(void *op, const struct hoop_rule_s *rule,
    const hoop_rule_cond_t *c);


/*
 * The first matching rule, or NULL (the caller applies its default).
 * Identity keys "groups", "sub" and "client" are answered here; an
 * unauthenticated caller (id NULL) matches no identity condition.
 */
const hoop_rule_t *hoop_rule_match(const hoop_rule_t *rules, size_t n,
    const hoop_identity_t *id, hoop_rule_attr_pt attr, void *op);

/*
 * Whether the rules can allow (or review) nothing whose attribute key has
 * one of the values in others (NULL-terminated), for this caller: every
 * allow or review rule that may apply to it has a condition on key and
 * none of that condition's values matches any of others.  A rule may
 * apply when its identity conditions hold and attr says of each other
 * condition that it holds (1) or cannot tell yet (-1).  The caller's
 * default is its own business.
 */
int hoop_rule_excludes(const hoop_rule_t *rules, size_t n,
    const hoop_identity_t *id, hoop_rule_attr_pt attr, void *op,
    const char *key, const char *const *others);

/* Shell-style glob: '*' any run of characters (slashes too), '?' one. */
int hoop_rule_glob(const char *pattern, const char *s, size_t len);

/*
 * A query string condition, "name" (the argument is there) or
 * "name:glob" (its value matches), against args ("a=1&b=2", without the
 * '?'; ';' separates too).  Names and values are read as a server reads
 * them: percent-decoded, '+' a space.  An argument may be repeated, and
 * servers differ in which occurrence they take: with all 0 the condition
 * holds when one matches (what a deny must catch), with all 1 when every
 * one does and there is one (what an allow may rely on).  Decoded text
 * past 1 KiB per name or value holds for a deny and not for an allow.
 */
int hoop_rule_args_match(const char *cond, const char *args, size_t len,
    int all);

/* The same, ASCII letters matched in either case when fold is 1. */
int hoop_rule_glob_fold(const char *pattern, const char *s, size_t len,
    int fold);

/* Whether key is one of the identity keys the engine answers. */
int hoop_rule_identity_key(const char *key);

#endif /* HOOP_RULE_H */
