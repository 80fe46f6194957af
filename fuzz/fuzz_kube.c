/*
 * Copyright (C) nginx-hoop authors
 *
 * libFuzzer target: a Kubernetes API path read as the API server reads
 * it, on any bytes.  Every part it names lies inside the input, a plain
 * path has no '%' nor empty segment in any part, and a stream is only
 * ever a named pod's.  The same bytes read as a query, as Go reads one:
 * every call moves on, names and values stay within their buffers; as a
 * field selector, whose name lies inside it; and as a port-forward's
 * ports=, accepted only when made of digits and commas, never past the
 * caller's array.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hoop_kube.h"


int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);


static void
check_part(const char *in, size_t size, const hoop_kube_str_t *s)
{
    if (s->len == 0) {
        return;
    }

    if (s->data < in || s->data + s->len > in + size
        || memchr(s->data, '/', s->len) != NULL
        || memchr(s->data, '%', s->len) != NULL)
    {
        abort();
    }
}


static void check_ports(const char *in, size_t size);


static void
check_query(const char *in, size_t size)
{
    int              rc;
    char             name[16], value[16];
    size_t           pos, prev, nlen, vlen;
    hoop_kube_str_t  field;

    pos = 0;

    for ( ;; ) {
        prev = pos;
        nlen = 0;
        vlen = 0;
        rc = hoop_kube_query_next(in, size, &pos, name, &nlen, value, &vlen,
                                  sizeof(name));

        if (rc == 0) {
            break;
        }

        if (pos <= prev || pos > size
            || (rc == 1 && (nlen > sizeof(name) || vlen > sizeof(value))))
        {
            abort();
        }
    }

    if (hoop_kube_field_name(in, size, &field) == 1
        && (field.data < in || field.data + field.len > in + size))
    {
        abort();
    }

    check_ports(in, size);
}


static void
check_ports(const char *in, size_t size)
{
    int       rc;
    size_t    i, n;
    uint16_t  ports[4];

    n = 0;
    rc = hoop_kube_ports(in, size, ports, 4, &n);

    if (n > 4 || (rc == 0 && n == 0)) {
        abort();
    }

    for (i = 0; rc == 0 && i < size; i++) {
        if ((in[i] < '0' || in[i] > '9') && in[i] != ',') {
            abort();
        }
    }
}


int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    char              *in;
    hoop_kube_path_t   kp;

    in = malloc(size + (size == 0));
    if (in == NULL) {
        abort();
    }

    memcpy(in, data, size);

    if (hoop_kube_path(in, size, &kp) == 0) {
        check_part(in, size, &kp.group);
        check_part(in, size, &kp.version);
        check_part(in, size, &kp.ns);
        check_part(in, size, &kp.resource);
        check_part(in, size, &kp.name);
        check_part(in, size, &kp.subresource);

        if (hoop_kube_stream(&kp) != HOOP_KUBE_NONE
            && (kp.name.len == 0 || kp.resource.len != 4))
        {
            abort();
        }

        (void) hoop_kube_verb(in, size < 8 ? size : 8, &kp, size & 1);
    }

    check_query(in, size);

    free(in);

    return 0;
}
