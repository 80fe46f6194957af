/*
 * Copyright (C) nginx-hoop authors
 *
 * json= conditions: top-level members of a JSON request body, read the
 * way the laxest binder of RPC-style APIs reads them.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "hoop_casefold.h"
#include "hoop_rule.h"


/* hoop_rule_json_t is opaque: the pointer is jansson's json_t */


/* the condition, folded once */
typedef struct {
    char                 name[HOOP_RULE_ARG_MAX];
    size_t               nlen;
    char                 glob[HOOP_RULE_ARG_MAX + 1];
    int                  has_glob;
    int                  all;
} json_cond_t;


static size_t json_skip_space(const char *body, size_t len);
static void json_object_tally(const json_cond_t *jc, json_t *obj,
    hoop_rule_tally_t *t);
static void json_value_tally(const json_cond_t *jc, json_t *v,
    hoop_rule_tally_t *t);
static int json_text_matches(const json_cond_t *jc, const char *s,
    size_t len);
static int json_name_is(const char *key, const char *name, size_t nlen);


int
hoop_rule_json_body(const char *body, size_t len)
{
    size_t  i;

    i = json_skip_space(body, len);

    /* '/' begins a comment, which lenient parsers (Ruby's) skip */

    return i < len && (body[i] == '{' || body[i] == '[' || body[i] == '/');
}


int
hoop_rule_json_parse(const char *body, size_t len, hoop_rule_json_t **doc)
{
    size_t        head, start;
    json_t       *root;
    json_error_t  err;

    *doc = NULL;

    /*
     * UTF-16 or UTF-32 JSON, which parsers detect: a byte order mark, or
     * NUL bytes among the first ones with a '{' or '[' (after spaces of
     * the same width, too)
     */

    if (len >= 2 && (((unsigned char) body[0] == 0xfe
                      && (unsigned char) body[1] == 0xff)
                     || ((unsigned char) body[0] == 0xff
                         && (unsigned char) body[1] == 0xfe)))
    {
        return -1;
    }

    head = (len < 64) ? len : 64;

    if (memchr(body, '\0', head) != NULL
        && (memchr(body, '{', head) != NULL || memchr(body, '[', head) != NULL))
    {
        return -1;
    }

    if (!hoop_rule_json_body(body, len)) {
        return 0;                           /* no members to bind */
    }

    /* NUL in text that looks like JSON: UTF-16 or UTF-32 after spaces */

    if (memchr(body, '\0', len) != NULL) {
        return -1;
    }

    start = json_skip_space(body, len);

    /* what strict parsers read too: "\u0000", integers past 64 bits */

    root = json_loadb(body + start, len - start,
                      JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL
                      | JSON_DECODE_INT_AS_REAL, &err);

    if (root == NULL) {
        return -1;                          /* lenient parsers read it */
    }

    *doc = (hoop_rule_json_t *) root;

    return 1;
}


void
hoop_rule_json_free(hoop_rule_json_t *doc)
{
    json_decref((json_t *) doc);
}


void
hoop_rule_json_tally(const char *cond, const char *body, size_t len,
    int all, hoop_rule_tally_t *t)
{
    int                rc;
    hoop_rule_json_t  *doc;

    rc = hoop_rule_json_parse(body, len, &doc);

    if (rc < 0) {
        t->unreadable++;
        return;
    }

    if (rc > 0) {
        hoop_rule_json_doc_tally(cond, doc, all, t);
        hoop_rule_json_free(doc);
    }
}


void
hoop_rule_json_doc_tally(const char *cond, const hoop_rule_json_t *doc,
    int all, hoop_rule_tally_t *t)
{
    size_t        i, glen;
    json_t       *root, *item;
    const char   *colon;
    json_cond_t   jc;

    colon = strchr(cond, ':');
    jc.nlen = colon ? (size_t) (colon - cond) : strlen(cond);
    glen = colon ? strlen(colon + 1) : 0;

    if (jc.nlen > HOOP_RULE_ARG_MAX || glen > HOOP_RULE_ARG_MAX) {
        t->unreadable++;
        return;
    }

    jc.nlen = hoop_casefold(cond, jc.nlen, jc.name);
    jc.has_glob = (colon != NULL);
    jc.all = all;

    if (colon != NULL) {
        glen = all ? (memcpy(jc.glob, colon + 1, glen), glen)
                   : hoop_casefold(colon + 1, glen, jc.glob);
        jc.glob[glen] = '\0';
    }

    root = (json_t *) doc;

    if (json_is_object(root)) {
        json_object_tally(&jc, root, t);
        return;
    }

    json_array_foreach(root, i, item) {
        if (json_is_object(item)) {
            json_object_tally(&jc, item, t);

        } else if (json_is_array(item)) {
            t->unreadable++;                /* a batch in a batch */
        }
    }
}


/* white space and a UTF-8 byte order mark */
static size_t
json_skip_space(const char *body, size_t len)
{
    size_t  i;

    i = 0;

    if (len >= 3 && memcmp(body, "\xef\xbb\xbf", 3) == 0) {
        i = 3;
    }

    while (i < len && (body[i] == ' ' || body[i] == '\t' || body[i] == '\n'
                       || body[i] == '\r'))
    {
        i++;
    }

    return i;
}


static void
json_object_tally(const json_cond_t *jc, json_t *obj, hoop_rule_tally_t *t)
{
    size_t       i;
    json_t      *v, *e;
    const char  *key;

    json_object_foreach(obj, key, v) {
        if (!json_name_is(key, jc->name, jc->nlen)) {
            continue;
        }

        if (!jc->has_glob) {
            t->seen++;
            t->matched++;
            continue;
        }

        if (json_is_array(v)) {
            json_array_foreach(v, i, e) {
                json_value_tally(jc, e, t);
            }

            continue;
        }

        json_value_tally(jc, v, t);
    }
}


/* one scalar occurrence; anything else cannot be told */
static void
json_value_tally(const json_cond_t *jc, json_t *v, hoop_rule_tally_t *t)
{
    int          n;
    char         num[64];
    const char  *s;

    switch (json_typeof(v)) {

    case JSON_STRING:
        s = json_string_value(v);
        n = json_text_matches(jc, s, json_string_length(v));
        break;

    case JSON_INTEGER:
        snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
                 json_integer_value(v));
        n = json_text_matches(jc, num, strlen(num));
        break;

    case JSON_REAL:
        snprintf(num, sizeof(num), "%.17g", json_real_value(v));
        n = json_text_matches(jc, num, strlen(num));
        break;

    case JSON_TRUE:
        n = json_text_matches(jc, "true", 4);
        break;

    case JSON_FALSE:
        n = json_text_matches(jc, "false", 5);
        break;

    case JSON_NULL:
        n = json_text_matches(jc, "null", 4);
        break;

    default:
        t->unreadable++;                    /* an object or a nested array */
        return;
    }

    if (n < 0) {
        t->unreadable++;
        return;
    }

    t->seen++;
    t->matched += (unsigned) n;
}


/* 1 or 0; -1 when there is no memory to fold it */
static int
json_text_matches(const json_cond_t *jc, const char *s, size_t len)
{
    int    m;
    char  *folded;

    if (jc->all) {
        return hoop_rule_glob(jc->glob, s, len);
    }

    folded = malloc(len + 1);
    if (folded == NULL) {
        return -1;
    }

    m = hoop_rule_glob(jc->glob, folded, hoop_casefold(s, len, folded));

    free(folded);

    return m;
}


int
hoop_rule_json_doc_strings(const char *field, const hoop_rule_json_t *doc,
    hoop_rule_json_each_pt each, void *data)
{
    int          rc;
    size_t       i, nlen;
    json_t      *root, *obj, *v;
    const char  *key;
    char         name[HOOP_RULE_ARG_MAX];

    nlen = strlen(field);

    if (nlen > HOOP_RULE_ARG_MAX) {
        return -1;
    }

    nlen = hoop_casefold(field, nlen, name);
    root = (json_t *) doc;
    rc = 0;

    for (i = 0; rc == 0; i++) {
        obj = json_is_object(root) ? (i == 0 ? root : NULL)
                                   : json_array_get(root, i);

        if (obj == NULL) {
            break;
        }

        if (json_is_array(obj)) {
            return -1;                      /* a batch in a batch */
        }

        if (!json_is_object(obj)) {
            continue;
        }

        json_object_foreach(obj, key, v) {
            if (!json_name_is(key, name, nlen)) {
                continue;
            }

            if (!json_is_string(v)) {
                rc = -1;
                break;
            }

            each(data, json_string_value(v), json_string_length(v));
        }
    }

    return rc;
}


/* whether a member's name folds to name */
static int
json_name_is(const char *key, const char *name, size_t nlen)
{
    size_t  klen;
    char    folded[3 * HOOP_RULE_ARG_MAX];

    klen = strlen(key);

    /* folding shortens a character to a third at most */

    return klen <= 3 * nlen
           && hoop_casefold(key, klen, folded) == nlen
           && memcmp(folded, name, nlen) == 0;
}
