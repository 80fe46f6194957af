/*
 * Copyright (C) nginx-hoop authors
 *
 * Kubernetes API requests, read as the API server reads them
 * (k8s.io/apiserver/pkg/endpoints/request/requestinfo.go): the group,
 * version, namespace, resource, name and subresource a path names, the
 * verb a method makes of them, and the query's booleans as the
 * parameter codec converts them.  Pure functions over caller memory.
 */

#ifndef HOOP_KUBE_H
#define HOOP_KUBE_H

#include <stddef.h>
#include <stdint.h>


typedef struct {
    const char          *data;
    size_t               len;
} hoop_kube_str_t;


/* the streaming subresources of a pod: what upgrades the connection */
typedef enum {
    HOOP_KUBE_NONE = 0,
    HOOP_KUBE_EXEC,
    HOOP_KUBE_ATTACH,
    HOOP_KUBE_PORTFORWARD
} hoop_kube_stream_e;


typedef struct {
    hoop_kube_str_t      group;         /* "" for the core group (/api) */
    hoop_kube_str_t      version;
    hoop_kube_str_t      ns;            /* the namespace, "" if none */
    hoop_kube_str_t      resource;      /* "" for a non-resource path */
    hoop_kube_str_t      name;
    hoop_kube_str_t      subresource;
    unsigned             resource_request:1;
    unsigned             watch_path:1;  /* /api/v1/watch/... (old) */
} hoop_kube_path_t;


/*
 * The parts of path (without its query) as the API server splits them;
 * a path outside /api and /apis (/version, /healthz, /openapi/v2) is a
 * non-resource request.  Returns 0, or -1 when the path is not plain:
 * an empty, "." or ".." segment, a '%', a control byte or a non-ASCII
 * byte.  Real clients send names as they are (DNS labels, "a:b"); a
 * path that needs reading twice is one the gateway and the server could
 * read differently.
 */
int hoop_kube_path(const char *path, size_t len, hoop_kube_path_t *kp);

/* A pod's exec, attach or portforward: what the path asks to stream. */
hoop_kube_stream_e hoop_kube_stream(const hoop_kube_path_t *kp);

/*
 * The verb the API server's authorizer sees: get, list, watch, create,
 * update, patch, delete, deletecollection (or the method in lower case
 * for a non-resource request).  watch: the query asked ?watch=true.
 */
const char *hoop_kube_verb(const char *method, size_t mlen,
    const hoop_kube_path_t *kp, int watch);

/*
 * A query parameter's value as a bool field of the API's options reads
 * it (runtime.Convert_Slice_string_To_bool): false for "0" and "false"
 * in any case, true for anything else, "" and "f" included.
 */
int hoop_kube_bool(const char *value, size_t len);

/*
 * The ports of a port-forward's ports= value, appended to ports[*n] (of
 * max) as the API server reads them (Convert_Slice_string_To_Slice_int32:
 * split at ',', each strconv.ParseUint(v, 10, 16)).  Returns 0, -1 for a
 * value the server refuses, -2 when there are more than max.
 */
int hoop_kube_ports(const char *value, size_t len, uint16_t *ports,
    size_t max, size_t *n);

/*
 * The next argument of a query as Go's url.ParseQuery reads it (the API
 * server's): pairs split at '&' only, a pair holding ';' dropped, name
 * and value unescaped as QueryUnescape does ('+' a space, %XX; a bad
 * escape drops the pair), names compared exactly by the caller.  Name
 * and value go to the caller's buffers of cap bytes each.  Returns 1 (a
 * pair), 0 (the end), -1 (a pair Go drops), -2 (a name or value longer
 * than cap); *pos is past the pair.
 */
int hoop_kube_query_next(const char *q, size_t len, size_t *pos, char *name,
    size_t *nlen, char *value, size_t *vlen, size_t cap);

/*
 * The object a list or watch names in its field selector, as the API
 * server's RequestInfoFactory takes it (metadata.name=X or ==X among the
 * selector's terms).  Returns 1 and *name (inside sel), 0 if none, -1
 * when the selector uses escapes (read here no further).
 */
int hoop_kube_field_name(const char *sel, size_t len, hoop_kube_str_t *name);

#endif /* HOOP_KUBE_H */
