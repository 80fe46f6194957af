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
static size_t arg_key(char *name, size_t len, size_t *alt,
    size_t *alt_len);
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


/* a condition read once: its name keyed, its glob folded for a deny */
typedef struct {
    char                 key[HOOP_RULE_ARG_MAX];
    size_t               want;
    char                 glob[HOOP_RULE_ARG_MAX + 1];
    int                  has_glob;
    int                  all;
    hoop_rule_tally_t   *tally;
} arg_cond_t;


static int
arg_cond_init(arg_cond_t *ac, const char *cond, int all, hoop_rule_tally_t *t)
{
    size_t       glen, alt, alt_len;
    const char  *colon;

    colon = strchr(cond, ':');
    ac->want = colon ? (size_t) (colon - cond) : strlen(cond);
    glen = colon ? strlen(colon + 1) : 0;

    if (ac->want > HOOP_RULE_ARG_MAX || glen > HOOP_RULE_ARG_MAX) {
        t->unreadable++;                    /* not a rule nginx -t passes */
        return -1;
    }

    memcpy(ac->key, cond, ac->want);
    ac->want = arg_key(ac->key, ac->want, &alt, &alt_len);
    ac->has_glob = (colon != NULL);
    ac->all = all;
    ac->tally = t;

    /* a deny matches values in either case: the strict way for it */

    if (colon != NULL) {
        glen = all ? (memcpy(ac->glob, colon + 1, glen), glen)
                   : hoop_casefold(colon + 1, glen, ac->glob);
        ac->glob[glen] = '\0';
    }

    return 0;
}


/*
 * One argument, its name keyed: counted if it is the condition's name,
 * or the part ASP.NET Core binds ("cmd.action"); a value cut short
 * (cut) is unreadable
 */
static void
arg_cond_tally(arg_cond_t *ac, const char *name, size_t nlen, size_t alt,
    size_t alt_len, char *value, size_t vlen, int cut)
{
    if ((nlen != ac->want || memcmp(name, ac->key, ac->want) != 0)
        && (alt_len != ac->want || memcmp(name + alt, ac->key, ac->want) != 0))
    {
        return;
    }

    if (cut) {
        ac->tally->unreadable++;
        return;
    }

    ac->tally->seen++;

    if (!ac->all) {
        vlen = hoop_casefold(value, vlen, value);
    }

    if (!ac->has_glob || hoop_rule_glob(ac->glob, value, vlen)) {
        ac->tally->matched++;
    }
}


void
hoop_rule_args_tally(const char *cond, const char *args, size_t len,
    int all, hoop_rule_tally_t *t)
{
    int          rc, semicolon;
    size_t       pos, nlen, vlen, alt, alt_len;
    arg_cond_t   ac;
    char         name[HOOP_RULE_ARG_MAX], value[HOOP_RULE_ARG_MAX];

    if (arg_cond_init(&ac, cond, all, t) != 0) {
        return;
    }

    /*
     * ';' separates arguments for some servers (Rack, Go < 1.17), not for
     * others (PHP, Werkzeug, qs): both readings count
     */

    for (semicolon = 1; semicolon >= 0; semicolon--) {

        if (!semicolon && (len == 0 || memchr(args, ';', len) == NULL)) {
            break;                          /* the same reading again */
        }

        pos = 0;

        for ( ;; ) {
            rc = hoop_rule_args_next(args, len, semicolon, &pos, name, &nlen,
                                     &alt, &alt_len, value, &vlen);

            if (rc == 0) {
                break;
            }

            if (rc < 0) {
                t->unreadable++;            /* a name past the bound */
                return;
            }

            arg_cond_tally(&ac, name, nlen, alt, alt_len, value, vlen,
                           rc == 2);
        }
    }
}


/* a multipart field: its name keyed, then the condition */
static int
arg_cond_part(void *data, const char *name, size_t nlen, const char *value,
    size_t vlen)
{
    arg_cond_t *ac = data;

    size_t  alt, alt_len, klen;
    char    key[HOOP_RULE_ARG_MAX], text[HOOP_RULE_ARG_MAX];

    if (nlen > HOOP_RULE_ARG_MAX) {
        return -1;
    }

    memcpy(key, name, nlen);
    klen = arg_key(key, nlen, &alt, &alt_len);

    memcpy(text, value, vlen < HOOP_RULE_ARG_MAX ? vlen : HOOP_RULE_ARG_MAX);

    arg_cond_tally(ac, key, klen, alt, alt_len, text,
                   vlen < HOOP_RULE_ARG_MAX ? vlen : HOOP_RULE_ARG_MAX,
                   vlen > HOOP_RULE_ARG_MAX);

    return 0;
}


void
hoop_rule_multipart_tally(const char *cond, const char *body, size_t len,
    const char *boundary, size_t blen, int all, hoop_rule_tally_t *t)
{
    arg_cond_t  ac;

    if (arg_cond_init(&ac, cond, all, t) != 0) {
        return;
    }

    if (hoop_rule_multipart_fields(body, len, boundary, blen, arg_cond_part,
                                   &ac)
        != 0)
    {
        t->unreadable++;
    }
}


size_t
hoop_rule_arg_key(char *name, size_t len, size_t *alt, size_t *alt_len)
{
    return arg_key(name, len, alt, alt_len);
}


int
hoop_rule_args_next(const char *args, size_t len, int semicolon,
    size_t *pos, char *name, size_t *nlen, size_t *alt, size_t *alt_len,
    char *value, size_t *vlen)
{
    long    n, v;
    size_t  i, end, eq;

    for (i = *pos; i < len; i = end + 1) {

        for (end = i;
             end < len && args[end] != '&' && (!semicolon || args[end] != ';');
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

        *nlen = arg_key(name, (size_t) n, alt, alt_len);

        v = (eq < end) ? arg_decode(args + eq + 1, end - eq - 1, value) : 0;
        *vlen = (v < 0) ? HOOP_RULE_ARG_MAX : (size_t) v;

        return (v < 0) ? 2 : 1;
    }

    *pos = len;

    return 0;
}


/*
 * A decoded name keyed as the laxest frameworks key it: cut at a NUL
 * (PHP), in either case (ASP.NET model binding), leading spaces and '!'
 * (Spring's default marker) dropped, a leading "[x]" read as x ("[x]y",
 * "[[x]]": qs, Rack), "a[...]" as "a" (PHP, Rails, qs), trailing ']'
 * dropped, '.', ' ' and an unclosed '[' as '_' (PHP turns "a.b" into
 * "a_b").  The name ASP.NET Core binds as well, the last "[x]" or the part
 * after the last '.' ("cmd[action]", "cmd.action"), is name[*alt, *alt
 * + *alt_len), past the key's end for a bracket; *alt_len 0 if none.
 */
static size_t
arg_key(char *name, size_t len, size_t *alt, size_t *alt_len)
{
    size_t   i, s;
    char    *p, *close, *open;

    p = memchr(name, '\0', len);
    len = p ? (size_t) (p - name) : len;

    len = hoop_casefold(name, len, name);

    for (s = 0; s < len && (name[s] == ' ' || name[s] == '!'); s++) {
        /* void */
    }

    memmove(name, name + s, len - s);
    len -= s;

    while (len > 0 && name[0] == '[') {
        close = memchr(name, ']', len);
        len = close ? (size_t) (close - name) : len;
        memmove(name, name + 1, len - 1);
        len--;
    }

    *alt = 0;
    *alt_len = 0;

    p = memchr(name, '[', len);

    if (p != NULL && p > name
        && memchr(p, ']', len - (size_t) (p - name)) != NULL)
    {
        /* the last [x] */

        for (open = name + len - 1; *open != '['; open--) {
            /* void */
        }

        close = memchr(open, ']', len - (size_t) (open - name));

        if (close != NULL) {
            *alt = (size_t) (open + 1 - name);
            *alt_len = (size_t) (close - open - 1);
        }

        len = (size_t) (p - name);
    }

    while (len > 0 && name[len - 1] == ']') {
        len--;
    }

    for (i = 0; i < len; i++) {
        if (name[i] == '.' && *alt_len == 0) {
            *alt = i + 1;
        }

        if (name[i] == '.' || name[i] == ' ' || name[i] == '[') {
            name[i] = '_';
        }
    }

    if (*alt_len == 0 && *alt != 0) {
        *alt_len = len - *alt;
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
                   && hoop_hex_value(p[i + 2]) >= 0
                   && hoop_hex_value(p[i + 3]) >= 0
                   && hoop_hex_value(p[i + 4]) >= 0
                   && hoop_hex_value(p[i + 5]) >= 0)
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
            out[n] = (char) (hoop_hex_value(p[i + 1]) * 16
                             + hoop_hex_value(p[i + 2]));
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
