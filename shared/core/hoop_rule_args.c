/*
 * Copyright (C) nginx-hoop authors
 *
 * arg= conditions: query strings and form bodies read as servers read
 * them.
 */

#include <string.h>

#include "hoop_casefold.h"
#include "hoop_rule.h"


static long arg_decode(const char *p, size_t len, char *out);
static size_t arg_key(char *name, size_t len);
static int hex_digit(int c);


int
hoop_rule_args_match(const char *cond, const char *args, size_t len,
    int all)
{
    hoop_rule_tally_t  t;

    memset(&t, 0, sizeof(t));
    hoop_rule_args_tally(cond, args, len, all, &t);

    return hoop_rule_tally_holds(&t, all);
}


void
hoop_rule_args_tally(const char *cond, const char *args, size_t len,
    int all, hoop_rule_tally_t *t)
{
    int          rc;
    size_t       pos, want, glen, nlen, vlen;
    const char  *colon;
    char         key[HOOP_RULE_ARG_MAX], glob[HOOP_RULE_ARG_MAX + 1];
    char         name[HOOP_RULE_ARG_MAX], value[HOOP_RULE_ARG_MAX];

    colon = strchr(cond, ':');
    want = colon ? (size_t) (colon - cond) : strlen(cond);
    glen = colon ? strlen(colon + 1) : 0;

    if (want > HOOP_RULE_ARG_MAX || glen > HOOP_RULE_ARG_MAX) {
        t->unreadable++;                    /* not a rule nginx -t passes */
        return;
    }

    memcpy(key, cond, want);
    want = arg_key(key, want);

    /* a deny matches values in either case: the strict way for it */

    if (colon != NULL) {
        glen = all ? (memcpy(glob, colon + 1, glen), glen)
                   : hoop_casefold(colon + 1, glen, glob);
        glob[glen] = '\0';
    }

    pos = 0;

    for ( ;; ) {
        rc = hoop_rule_args_next(args, len, &pos, name, &nlen, value, &vlen);

        if (rc == 0) {
            return;
        }

        if (rc < 0) {
            t->unreadable++;                /* a name past the bound */
            return;
        }

        if (nlen != want || memcmp(name, key, want) != 0) {
            continue;
        }

        if (rc == 2) {
            t->unreadable++;                /* its value is */
            continue;
        }

        t->seen++;

        if (!all) {
            vlen = hoop_casefold(value, vlen, value);
        }

        if (colon == NULL || hoop_rule_glob(glob, value, vlen)) {
            t->matched++;
        }
    }
}


int
hoop_rule_args_next(const char *args, size_t len, size_t *pos, char *name,
    size_t *nlen, char *value, size_t *vlen)
{
    long    n, v;
    size_t  i, end, eq;

    for (i = *pos; i < len; i = end + 1) {

        /* ';' separates too, where servers read it so (Rack, Go < 1.17) */

        for (end = i; end < len && args[end] != '&' && args[end] != ';';
             end++)
        {
            /* void */
        }

        if (end == i) {
            continue;                       /* "a=1&&b=2" */
        }

        for (eq = i; eq < end && args[eq] != '='; eq++) {
            /* void */
        }

        *pos = end + 1;

        n = arg_decode(args + i, eq - i, name);

        if (n < 0) {
            return -1;
        }

        *nlen = arg_key(name, (size_t) n);

        v = (eq < end) ? arg_decode(args + eq + 1, end - eq - 1, value) : 0;
        *vlen = (v < 0) ? HOOP_RULE_ARG_MAX : (size_t) v;

        return (v < 0) ? 2 : 1;
    }

    *pos = len;

    return 0;
}


/*
 * A decoded name keyed as the laxest frameworks key it: in either case,
 * leading spaces dropped, "a[...]" as "a", '.', ' ' and an unclosed '['
 * as '_' (PHP turns "a.b" and "a b" into "a_b").
 */
static size_t
arg_key(char *name, size_t len)
{
    size_t  i, s;
    char   *open;

    len = hoop_casefold(name, len, name);

    for (s = 0; s < len && name[s] == ' '; s++) {
        /* void */
    }

    memmove(name, name + s, len - s);
    len -= s;

    open = memchr(name, '[', len);

    if (open != NULL && open > name
        && memchr(open, ']', len - (size_t) (open - name)) != NULL)
    {
        len = (size_t) (open - name);
    }

    for (i = 0; i < len; i++) {
        if (name[i] == '.' || name[i] == ' ' || name[i] == '[') {
            name[i] = '_';
        }
    }

    return len;
}


static int
hex_digit(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }

    c |= 0x20;

    return (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}


/* p[0, len) as a server decodes it into out (HOOP_RULE_ARG_MAX bytes of
 * it); -1: longer */
static long
arg_decode(const char *p, size_t len, char *out)
{
    size_t  i, n;

    for (i = 0, n = 0; i < len; i++, n++) {
        if (n == HOOP_RULE_ARG_MAX) {
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
