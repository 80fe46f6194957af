/*
 * Copyright (C) nginx-hoop authors
 *
 * arg= conditions: query strings and form bodies read as servers read
 * them.
 */

#include <string.h>

#include "hoop_casefold.h"
#include "hoop_hex.h"
#include "hoop_rule.h"


static long arg_decode(const char *p, size_t len, char *out);
static size_t arg_key(char *name, size_t len, size_t *alt);
static size_t arg_code_point(char *out, size_t n, unsigned cp);


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
    size_t       pos, want, glen, nlen, vlen, alt;
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
    want = arg_key(key, want, &alt);

    /* a deny matches values in either case: the strict way for it */

    if (colon != NULL) {
        glen = all ? (memcpy(glob, colon + 1, glen), glen)
                   : hoop_casefold(colon + 1, glen, glob);
        glob[glen] = '\0';
    }

    pos = 0;

    for ( ;; ) {
        rc = hoop_rule_args_next(args, len, &pos, name, &nlen, &alt, value,
                                 &vlen);

        if (rc == 0) {
            return;
        }

        if (rc < 0) {
            t->unreadable++;                /* a name past the bound */
            return;
        }

        /* the name, or its last dotted part (ASP.NET Core's prefixes) */

        if ((nlen != want || memcmp(name, key, want) != 0)
            && (nlen - alt != want || memcmp(name + alt, key, want) != 0))
        {
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
    size_t *nlen, size_t *alt, char *value, size_t *vlen)
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

        *nlen = arg_key(name, (size_t) n, alt);

        v = (eq < end) ? arg_decode(args + eq + 1, end - eq - 1, value) : 0;
        *vlen = (v < 0) ? HOOP_RULE_ARG_MAX : (size_t) v;

        return (v < 0) ? 2 : 1;
    }

    *pos = len;

    return 0;
}


/*
 * A decoded name keyed as the laxest frameworks key it: cut at a NUL
 * (PHP), in either case (ASP.NET model binding), leading spaces, '!'
 * (Spring's default marker) and brackets dropped and trailing brackets
 * too ("[action]", "[[action]]": Rack, qs), "a[...]" as "a" (PHP, Rails,
 * qs), '.', ' ' and an unclosed '[' as '_' (PHP turns "a.b" into "a_b").
 * *alt is where the part after the last '.' starts (ASP.NET Core binds
 * "cmd.action" to action), 0 without one.
 */
static size_t
arg_key(char *name, size_t len, size_t *alt)
{
    size_t  i, s;
    char   *p;

    p = memchr(name, '\0', len);
    len = p ? (size_t) (p - name) : len;

    len = hoop_casefold(name, len, name);

    for (s = 0; s < len && memchr(" ![]", name[s], 4) != NULL; s++) {
        /* void */
    }

    memmove(name, name + s, len - s);
    len -= s;

    p = memchr(name, '[', len);

    if (p != NULL && memchr(p, ']', len - (size_t) (p - name)) != NULL) {
        len = (size_t) (p - name);
    }

    while (len > 0 && name[len - 1] == ']') {
        len--;
    }

    *alt = 0;

    for (i = 0; i < len; i++) {
        if (name[i] == '.') {
            *alt = i + 1;
        }

        if (name[i] == '.' || name[i] == ' ' || name[i] == '[') {
            name[i] = '_';
        }
    }

    return len;
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

        } else if (p[i] == '%' && i + 5 < len && (p[i + 1] | 0x20) == 'u'
                   && hoop_hex_value(p[i + 2]) >= 0 && hoop_hex_value(p[i + 3]) >= 0
                   && hoop_hex_value(p[i + 4]) >= 0 && hoop_hex_value(p[i + 5]) >= 0)
        {
            /* %uXXXX, which ASP.NET (Framework) and IIS decode */

            n = arg_code_point(out, n,
                               (unsigned) (hoop_hex_value(p[i + 2]) << 12
                                           | hoop_hex_value(p[i + 3]) << 8
                                           | hoop_hex_value(p[i + 4]) << 4
                                           | hoop_hex_value(p[i + 5])));
            if (n == (size_t) -1) {
                return -1;
            }

            n--;
            i += 5;

        } else if (p[i] == '%' && i + 2 < len && hoop_hex_value(p[i + 1]) >= 0
                   && hoop_hex_value(p[i + 2]) >= 0)
        {
            out[n] = (char) (hoop_hex_value(p[i + 1]) * 16 + hoop_hex_value(p[i + 2]));
            i += 2;

        } else {
            out[n] = p[i];
        }
    }

    return (long) n;
}


/* cp as UTF-8 at out + n (room to HOOP_RULE_ARG_MAX): the new n, or -1 */
static size_t
arg_code_point(char *out, size_t n, unsigned cp)
{
    size_t  k;

    k = (cp < 0x80) ? 1 : (cp < 0x800) ? 2 : 3;

    if (n + k > HOOP_RULE_ARG_MAX) {
        return (size_t) -1;
    }

    if (k == 1) {
        out[n] = (char) cp;

    } else if (k == 2) {
        out[n] = (char) (0xc0 | (cp >> 6));
        out[n + 1] = (char) (0x80 | (cp & 0x3f));

    } else {
        out[n] = (char) (0xe0 | (cp >> 12));
        out[n + 1] = (char) (0x80 | ((cp >> 6) & 0x3f));
        out[n + 2] = (char) (0x80 | (cp & 0x3f));
    }

    return n + k;
}
