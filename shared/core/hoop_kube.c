/*
 * Copyright (C) nginx-hoop authors
 */

#include <string.h>

#include "hoop_kube.h"


#define HOOP_KUBE_PARTS  16


static int hoop_kube_split(const char *path, size_t len,
    hoop_kube_str_t *parts, size_t *n);
static int hoop_kube_is(const hoop_kube_str_t *s, const char *text);
static int hoop_kube_unescape(const char *s, size_t len, char *out,
    size_t *olen, size_t cap);
static int hoop_kube_hex(char c);


int
hoop_kube_path(const char *path, size_t len, hoop_kube_path_t *kp)
{
    size_t            n, at;
    hoop_kube_str_t   parts[HOOP_KUBE_PARTS];

    memset(kp, 0, sizeof(hoop_kube_path_t));

    if (hoop_kube_split(path, len, parts, &n) != 0) {
        return -1;
    }

    /* /api/VERSION/..., /apis/GROUP/VERSION/...; anything else is not
       a resource, nor is a version without anything after it */

    if (n >= 3 && hoop_kube_is(&parts[0], "api")) {
        kp->version = parts[1];
        at = 2;

    } else if (n >= 4 && hoop_kube_is(&parts[0], "apis")) {
        kp->group = parts[1];
        kp->version = parts[2];
        at = 3;

    } else {
        return 0;
    }

    kp->resource_request = 1;

    /* the old watch paths: /api/v1/watch/namespaces/x/pods */

    if (hoop_kube_is(&parts[at], "watch")) {
        kp->watch_path = 1;
        at++;

        if (at == n) {
            return 0;
        }
    }

    if (hoop_kube_is(&parts[at], "namespaces") && n - at > 1) {
        kp->ns = parts[at + 1];

        /* namespaces/x/status and /finalize are the namespace's own */

        if (n - at > 2 && !hoop_kube_is(&parts[at + 2], "status")
            && !hoop_kube_is(&parts[at + 2], "finalize"))
        {
            at += 2;
        }
    }

    kp->resource = parts[at];

    if (n - at > 1) {
        kp->name = parts[at + 1];
    }

    /* the old watch paths take no subresource */

    if (n - at > 2 && !kp->watch_path) {
        kp->subresource = parts[at + 2];
    }

    return 0;
}


hoop_kube_stream_e
hoop_kube_stream(const hoop_kube_path_t *kp)
{
    if (!kp->resource_request || kp->group.len != 0
        || !hoop_kube_is(&kp->resource, "pods") || kp->name.len == 0)
    {
        return HOOP_KUBE_NONE;
    }

    if (hoop_kube_is(&kp->subresource, "exec")) {
        return HOOP_KUBE_EXEC;
    }

    if (hoop_kube_is(&kp->subresource, "attach")) {
        return HOOP_KUBE_ATTACH;
    }

    if (hoop_kube_is(&kp->subresource, "portforward")) {
        return HOOP_KUBE_PORTFORWARD;
    }

    return HOOP_KUBE_NONE;
}


const char *
hoop_kube_verb(const char *method, size_t mlen, const hoop_kube_path_t *kp,
    int watch)
{
    size_t       i;
    const char  *verb;

    static const struct {
        const char  *method;
        const char  *one;           /* with a name */
        const char  *all;           /* without */
        const char  *plain;         /* a non-resource request's */
    } verbs[] = {
        { "GET", "get", "list", "get" },
        { "HEAD", "get", "list", "head" },
        { "POST", "create", "create", "post" },
        { "PUT", "update", "update", "put" },
        { "PATCH", "patch", "patch", "patch" },
        { "DELETE", "delete", "deletecollection", "delete" },
        { "OPTIONS", "options", "options", "options" },
        { "CONNECT", "connect", "connect", "connect" }
    };

    verb = NULL;

    for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
        if (strlen(verbs[i].method) == mlen
            && memcmp(verbs[i].method, method, mlen) == 0)
        {
            verb = !kp->resource_request ? verbs[i].plain
                   : kp->name.len ? verbs[i].one : verbs[i].all;
            break;
        }
    }

    if (verb == NULL) {
        return "unknown";
    }

    if (!kp->resource_request) {
        return verb;            /* the method, in lower case */
    }

    /*
     * a GET that watches: the old paths, or ?watch=true on a list (one
     * that a field selector narrows to an object too); the server reads
     * no watch= on a request that names its object, which stays a get
     */

    if ((mlen == 3 || mlen == 4) && method[0] == 'G'
        && (kp->watch_path || (watch && kp->name.len == 0)))
    {
        return "watch";
    }

    return verb;
}


int
hoop_kube_bool(const char *value, size_t len)
{
    if (len == 1 && value[0] == '0') {
        return 0;
    }

    return !(len == 5 && strncasecmp(value, "false", 5) == 0);
}


int
hoop_kube_ports(const char *value, size_t len, uint16_t *ports, size_t max,
    size_t *n)
{
    size_t          i;
    unsigned long   port;
    int             digits;

    port = 0;
    digits = 0;

    for (i = 0; i <= len; i++) {
        if (i == len || value[i] == ',') {
            if (digits == 0) {
                return -1;      /* strconv: an empty number */
            }

            if (*n == max) {
                return -2;
            }

            ports[(*n)++] = (uint16_t) port;
            port = 0;
            digits = 0;
            continue;
        }

        if (value[i] < '0' || value[i] > '9') {
            return -1;          /* no sign, no '_' with base 10 */
        }

        port = port * 10 + (unsigned long) (value[i] - '0');
        digits = 1;

        if (port > 65535) {
            return -1;          /* out of range for 16 bits */
        }
    }

    return 0;
}


/*
 * The path's segments, as strings.Split(strings.Trim(path, "/"), "/")
 * makes them, at most HOOP_KUBE_PARTS; -1 if it is not plain.
 */
static int
hoop_kube_split(const char *path, size_t len, hoop_kube_str_t *parts,
    size_t *n)
{
    size_t          i, start;
    unsigned char   c;

    *n = 0;

    if (len == 0 || path[0] != '/') {
        return -1;
    }

    if (len == 1) {
        return 0;
    }

    /* one trailing slash is the server's to trim, not a segment */

    if (path[len - 1] == '/') {
        len--;
    }

    start = 1;

    for (i = 1; i <= len; i++) {
        c = (i < len) ? (unsigned char) path[i] : '/';

        if (c == '%' || c < 0x21 || c >= 0x7f) {
            return -1;
        }

        if (c != '/') {
            continue;
        }

        if (i == start || *n == HOOP_KUBE_PARTS
            || (i - start == 1 && path[start] == '.')
            || (i - start == 2 && path[start] == '.'
                && path[start + 1] == '.'))
        {
            return -1;
        }

        parts[*n].data = path + start;
        parts[*n].len = i - start;
        (*n)++;
        start = i + 1;
    }

    return 0;
}


static int
hoop_kube_is(const hoop_kube_str_t *s, const char *text)
{
    return s->len == strlen(text) && memcmp(s->data, text, s->len) == 0;
}


int
hoop_kube_query_next(const char *q, size_t len, size_t *pos, char *name,
    size_t *nlen, char *value, size_t *vlen, size_t cap)
{
    int          rc;
    size_t       start, end, eq;
    const char  *amp;

    for ( ;; ) {
        if (*pos >= len) {
            return 0;
        }

        start = *pos;
        amp = memchr(q + start, '&', len - start);
        end = amp ? (size_t) (amp - q) : len;
        *pos = amp ? end + 1 : len;

        if (end > start) {
            break;
        }
    }

    if (memchr(q + start, ';', end - start) != NULL) {
        return -1;
    }

    for (eq = start; eq < end && q[eq] != '='; eq++) { /* void */ }

    rc = hoop_kube_unescape(q + start, eq - start, name, nlen, cap);

    if (rc == 0) {
        rc = (eq < end)
             ? hoop_kube_unescape(q + eq + 1, end - eq - 1, value, vlen, cap)
             : (*vlen = 0, 0);
    }

    return rc == 0 ? 1 : rc;
}


/* QueryUnescape: 0, -1 for a bad escape, -2 past cap */
static int
hoop_kube_unescape(const char *s, size_t len, char *out, size_t *olen,
    size_t cap)
{
    int     hi, lo;
    size_t  i, n;

    for (i = 0, n = 0; i < len; i++) {
        if (n == cap) {
            return -2;
        }

        if (s[i] == '+') {
            out[n++] = ' ';
            continue;
        }

        if (s[i] != '%') {
            out[n++] = s[i];
            continue;
        }

        if (len - i < 3) {
            return -1;
        }

        hi = hoop_kube_hex(s[i + 1]);
        lo = hoop_kube_hex(s[i + 2]);

        if (hi < 0 || lo < 0) {
            return -1;
        }

        out[n++] = (char) (hi << 4 | lo);
        i += 2;
    }

    *olen = n;

    return 0;
}


static int
hoop_kube_hex(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }

    c |= 0x20;

    return (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}


int
hoop_kube_field_name(const char *sel, size_t len, hoop_kube_str_t *name)
{
    size_t       at, end, k;
    const char  *comma;

    static const char  key[] = "metadata.name";

    if (memchr(sel, '\\', len) != NULL) {
        return -1;
    }

    /* terms as fields.ParseSelector splits them: "key=x", "key==x" */

    for (at = 0; at <= len; at = end + 1) {
        comma = memchr(sel + at, ',', len - at);
        end = comma ? (size_t) (comma - sel) : len;

        if (end - at < sizeof(key)
            || memcmp(sel + at, key, sizeof(key) - 1) != 0
            || sel[at + sizeof(key) - 1] != '=')
        {
            continue;
        }

        k = at + sizeof(key);

        if (k < end && sel[k] == '=') {
            k++;
        }

        name->data = sel + k;
        name->len = end - k;

        return 1;
    }

    return 0;
}
