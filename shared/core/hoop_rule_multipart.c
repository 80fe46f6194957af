/*
 * Copyright (C) nginx-hoop authors
 *
 * The fields of a multipart/form-data body (RFC 7578), read strictly:
 * what one parser could read otherwise than another is unreadable, and
 * a rule decides on it as such (a deny holds, an allow does not).
 */

#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "hoop_rule.h"


#define PART_HEADERS_MAX  1024


static const char *find(const char *p, const char *end, const char *s,
    size_t n);
static int part_headers(const char *p, const char *end, const char **name,
    size_t *nlen, int *file);
static int disposition(const char *p, const char *end, const char **name,
    size_t *nlen, int *file);
static int header_is(const char *p, const char *end, const char *name);


int
hoop_rule_multipart_fields(const char *body, size_t len,
    const char *boundary, size_t blen, hoop_rule_part_pt each, void *data)
{
    int          file;
    size_t       nlen;
    const char  *p, *end, *headers, *hend, *content, *next, *name;
    char         delim[2 + 70 + 2];

    /* "--" boundary; RFC 2046 boundaries are 1 to 70 characters */

    if (blen == 0 || blen > 70) {
        return -1;
    }

    delim[0] = '\r';
    delim[1] = '\n';
    delim[2] = '-';
    delim[3] = '-';
    memcpy(delim + 4, boundary, blen);

    end = body + len;

    /* the first delimiter, at the start or after a preamble's CRLF */

    if (len >= blen + 2 && memcmp(body, delim + 2, blen + 2) == 0) {
        p = body + blen + 2;

    } else {
        p = find(body, end, delim, blen + 4);

        if (p == NULL) {
            return -1;
        }

        p += blen + 4;
    }

    for ( ;; ) {
        if (end - p >= 2 && p[0] == '-' && p[1] == '-') {
            return 0;                       /* the close delimiter */
        }

        if (end - p < 2 || p[0] != '\r' || p[1] != '\n') {
            return -1;                      /* padding, LF alone, the end */
        }

        headers = p + 2;

        if (end - headers >= 2 && headers[0] == '\r' && headers[1] == '\n') {
            name = NULL;                    /* a part without headers */
            file = 0;
            content = headers + 2;

        } else {
            hend = find(headers, end, "\r\n\r\n", 4);

            /* headers that a delimiter cuts short are read two ways */

            if (hend == NULL || hend - headers > PART_HEADERS_MAX
                || find(headers, hend + 2, delim, blen + 4) != NULL)
            {
                return -1;
            }

            if (part_headers(headers, hend + 2, &name, &nlen, &file) != 0) {
                return -1;
            }

            content = hend + 4;
        }

        next = find(content - 2, end, delim, blen + 4);

        if (next == NULL) {
            return -1;                      /* no delimiter closes it */
        }

        if (name != NULL && !file
            && each(data, name, nlen, content,
                    (size_t) (next > content ? next - content : 0))
               != 0)
        {
            return -1;
        }

        p = next + blen + 4;
    }
}


/* the first s[0, n) in [p, end), or NULL */
static const char *
find(const char *p, const char *end, const char *s, size_t n)
{
    const char  *q;

    while (end - p >= (ptrdiff_t) n) {
        q = memchr(p, s[0], (size_t) (end - p) - n + 1);

        if (q == NULL) {
            return NULL;
        }

        if (memcmp(q, s, n) == 0) {
            return q;
        }

        p = q + 1;
    }

    return NULL;
}


/*
 * A part's header lines, [p, end) each ending in CRLF: its field name
 * from Content-Disposition, whether it is a file; -1 for what parsers
 * read differently (a bare LF, a folded line, a transfer encoding, two
 * dispositions)
 */
static int
part_headers(const char *p, const char *end, const char **name,
    size_t *nlen, int *file)
{
    int          seen;
    const char  *eol;

    *name = NULL;
    *nlen = 0;
    *file = 0;
    seen = 0;

    for ( /* void */ ; p < end; p = eol + 2) {
        eol = find(p, end, "\r\n", 2);

        if (eol == NULL || memchr(p, '\n', (size_t) (eol - p)) != NULL
            || *p == ' ' || *p == '\t')
        {
            return -1;
        }

        if (header_is(p, eol, "content-transfer-encoding")) {
            return -1;                      /* some decode base64 */
        }

        if (header_is(p, eol, "content-disposition")) {
            if (seen++) {
                return -1;
            }

            if (disposition(p + 20, eol, name, nlen, file) != 0) {
                return -1;
            }
        }
    }

    return 0;
}


/* "name:" in either case at p */
static int
header_is(const char *p, const char *end, const char *name)
{
    size_t  i, n;

    n = strlen(name);

    if ((size_t) (end - p) <= n || p[n] != ':') {
        return 0;
    }

    for (i = 0; i < n; i++) {
        if ((p[i] | 0x20) != name[i] && p[i] != name[i]) {
            return 0;
        }
    }

    return 1;
}


/*
 * " form-data; name="x"; filename="y"": one name, quoted without '\\'
 * or a token; name* or filename* (RFC 5987 encodings) are unreadable
 */
static int
disposition(const char *p, const char *end, const char **name,
    size_t *nlen, int *file)
{
    size_t       klen;
    const char  *key, *v, *vend;

    while (p < end && (*p == ' ' || *p == '\t')) {
        p++;
    }

    if (end - p < 9 || strncasecmp(p, "form-data", 9) != 0) {
        return -1;
    }

    p += 9;

    for ( ;; ) {
        while (p < end && (*p == ' ' || *p == '\t')) {
            p++;
        }

        if (p == end) {
            return 0;
        }

        if (*p++ != ';') {
            return -1;
        }

        while (p < end && (*p == ' ' || *p == '\t')) {
            p++;
        }

        for (key = p; p < end && *p != '=' && *p != ';' && *p != ' '; p++) {
            /* void */
        }

        klen = (size_t) (p - key);

        if (p == end || *p != '=') {
            return -1;
        }

        p++;

        if (p < end && *p == '"') {
            v = ++p;
            vend = memchr(p, '"', (size_t) (end - p));

            if (vend == NULL || memchr(v, '\\', (size_t) (vend - v)) != NULL)
            {
                return -1;
            }

            p = vend + 1;

        } else {
            for (v = p; p < end && *p != ';' && *p != ' ' && *p != '\t';
                 p++)
            {
                /* void */
            }

            vend = p;
        }

        if (klen == 4 && strncasecmp(key, "name", 4) == 0) {
            if (*name != NULL) {
                return -1;
            }

            *name = v;
            *nlen = (size_t) (vend - v);

        } else if (klen == 8 && strncasecmp(key, "filename", 8) == 0) {
            *file = 1;

        } else if (klen > 0 && key[klen - 1] == '*') {
            return -1;
        }
    }
}
