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
 * How the occurrences of a value condition (arg=, json=) went over
 * every source it is read from (the query, a form body, a JSON body):
 * hoop_rule_tally_holds() then says whether the condition holds.  A
 * source that cannot be read counts as unreadable: the condition holds
 * for a deny or a review, and not for an allow.
 */
typedef struct {
    unsigned             seen;          /* occurrences */
    unsigned             matched;       /* ... of which matched */
    unsigned             unreadable;
} hoop_rule_tally_t;

/*
 * With all 0 (a deny or a review), when one occurrence matches or a
 * source is unreadable; with all 1 (an allow), when there is one and
 * every one matches.
 */
int hoop_rule_tally_holds(const hoop_rule_tally_t *t, int all);

/*
 * A query string or form body condition, "name" (the argument is there)
 * or "name:glob" (its value matches), over args ("a=1&b=2", without the
 * '?'; ';' separates too), added to t.  Names and values are read as a
 * server reads them: percent-decoded ("%uXXXX" too, as ASP.NET does),
 * '+' a space.  Names are keyed as the frameworks that read the most
 * into one name do (see hoop_rule_args_next), and "prefix.name" counts
 * as name as well (ASP.NET Core).  An argument may be repeated, and
 * servers differ in which occurrence they take, so every one counts.
 * With all 0 values match in either case too.  Decoded text past
 * HOOP_RULE_ARG_MAX per name or value is unreadable.
 */
#define HOOP_RULE_ARG_MAX  1024

void hoop_rule_args_tally(const char *cond, const char *args, size_t len,
    int all, hoop_rule_tally_t *t);

/* The same, for one source: whether it holds. */
int hoop_rule_args_match(const char *cond, const char *args, size_t len,
    int all);

/*
 * The next argument of args from *pos ('&' between arguments, and ';'
 * when semicolon is 1), its name keyed into name and its value decoded
 * into value (HOOP_RULE_ARG_MAX bytes each).  Keyed: cut at a NUL (PHP),
 * in either case (ASP.NET), leading spaces and '!' dropped, a leading
 * "[x]" read as x (qs, Rack), "a[...]" as "a" (PHP, Rails, qs), trailing
 * ']' dropped, '.', ' ' and an unclosed '[' as '_' (PHP).  The name
 * ASP.NET Core binds too ("cmd[action]", "cmd.action": action) is
 * name[*alt, *alt + *alt_len), *alt_len 0 if none.  Returns 1, 0 at the
 * end, 2 when the value decodes past HOOP_RULE_ARG_MAX (its first bytes
 * are there), -1 when the name does.
 */
int hoop_rule_args_next(const char *args, size_t len, int semicolon,
    size_t *pos, char *name, size_t *nlen, size_t *alt, size_t *alt_len,
    char *value, size_t *vlen);

/* A name keyed as hoop_rule_args_next() keys it, in place; its length. */
size_t hoop_rule_arg_key(char *name, size_t len, size_t *alt,
    size_t *alt_len);

/*
 * The fields of a multipart/form-data body whose Content-Type has
 * boundary (1 to 70 bytes): each field that is not a file, its name as
 * written and its content, given to each (which returns 0, or -1 to
 * stop).  Returns 0, or -1 when the body is unreadable: read strictly,
 * since parsers differ (a delimiter with padding, a bare LF, a folded or
 * oversized header, Content-Transfer-Encoding, a second disposition or
 * name, name* or filename*, a quoted name with a '\', no close
 * delimiter).
 */
typedef int (*hoop_rule_part_pt)(void *data, const char *name, size_t nlen,
    const char *value, size_t vlen);

int hoop_rule_multipart_fields(const char *body, size_t len,
    const char *boundary, size_t blen, hoop_rule_part_pt each, void *data);

/* An arg= condition over such a body's fields, added to t. */
void hoop_rule_multipart_tally(const char *cond, const char *body,
    size_t len, const char *boundary, size_t blen, int all,
    hoop_rule_tally_t *t);

/*
 * Whether body is one a JSON parser reads: its first byte past white
 * space and a byte order mark is '{', '[' or '/' (a comment, which
 * lenient parsers skip).
 */
int hoop_rule_json_body(const char *body, size_t len);

/* A JSON body parsed once, for every condition on it. */
typedef struct hoop_rule_json_s  hoop_rule_json_t;

/*
 * 1: body parsed into *doc (hoop_rule_json_free() it); 0: body does not
 * look like JSON, it has no members; -1: it is unreadable (looks like
 * JSON but is not strict JSON, or is UTF-16 or UTF-32, which parsers
 * detect and this one does not read).
 */
int hoop_rule_json_parse(const char *body, size_t len,
    hoop_rule_json_t **doc);
void hoop_rule_json_free(hoop_rule_json_t *doc);

/*
 * A JSON body condition, "field" (a top-level member is there) or
 * "field:glob" (its value matches), over body, added to t.  A top-level
 * array is a batch (JSON-RPC): each object in it one call.  Members are
 * named in either case (System.Text.Json in ASP.NET, Jackson with
 * case-insensitive properties bind them so), each a separate occurrence;
 * a string is matched decoded, a number, true, false or null as its JSON
 * text, an array as each of its elements (frameworks unwrap one), an
 * object is unreadable.  With all 0 values match in either case too.  A
 * body that looks like JSON (hoop_rule_json_body) but is not strict JSON
 * (a member twice in the same case, comments, trailing commas, NUL) is
 * unreadable: lenient parsers read it; one that does not look like JSON
 * has no members.
 */
void hoop_rule_json_tally(const char *cond, const char *body, size_t len,
    int all, hoop_rule_tally_t *t);

/* The same over a parsed body; a batch nested in a batch is unreadable. */
void hoop_rule_json_doc_tally(const char *cond, const hoop_rule_json_t *doc,
    int all, hoop_rule_tally_t *t);

/*
 * Each string value of a top-level member field (named in either case)
 * of a parsed JSON body, in every call of a batch, given to each with
 * data.  Returns 0, or -1 when a batch nests a batch or a value of field
 * is not a string.
 */
typedef void (*hoop_rule_json_each_pt)(void *data, const char *value,
    size_t len);

int hoop_rule_json_doc_strings(const char *field, const hoop_rule_json_t *doc,
    hoop_rule_json_each_pt each, void *data);

/*
 * The path as the laxest server reads it, for rules to decide on it as
 * well as on the path nginx normalised: percent-escapes decoded again
 * (upstreams behind a decoding layer; until nothing changes), overlong
 * UTF-8 forms of ASCII read as the ASCII (old IIS and Java decoders),
 * '\' as '/' (IIS), each segment's ";params" cut (servlet containers:
 * "..;" is ".."), trailing dots and spaces of a segment cut (Windows),
 * then "//", "." and ".." resolved.  out has room for len bytes: the lax
 * path is never longer.  Returns its length.
 */
size_t hoop_rule_path_lax(const char *in, size_t len, char *out);

/* Whether key is one of the identity keys the engine answers. */
int hoop_rule_identity_key(const char *key);

#endif /* HOOP_RULE_H */
