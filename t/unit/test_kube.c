/*
 * Copyright (C) nginx-hoop authors
 *
 * Kubernetes API paths read as the API server's RequestInfoFactory reads
 * them, and the query booleans of its parameter codec.
 */

#include <string.h>

#include "hoop_kube.h"
#include "tap.h"


static int
part_is(hoop_kube_str_t *s, const char *want)
{
    return s->len == strlen(want)
           && (s->len == 0 || memcmp(s->data, want, s->len) == 0);
}


static int
parse(const char *path, hoop_kube_path_t *kp)
{
    return hoop_kube_path(path, strlen(path), kp);
}


int
main(void)
{
    hoop_kube_path_t  kp;

    ok(parse("/api/v1/namespaces/prod/pods/web/exec", &kp) == 0, "exec");
    ok(kp.resource_request && part_is(&kp.version, "v1")
       && part_is(&kp.group, "") && part_is(&kp.ns, "prod")
       && part_is(&kp.resource, "pods") && part_is(&kp.name, "web")
       && part_is(&kp.subresource, "exec"), "its parts");
    is_int(hoop_kube_stream(&kp), HOOP_KUBE_EXEC, "a stream: exec");
    ok(strcmp(hoop_kube_verb("GET", 3, &kp, 0), "get") == 0,
       "a WebSocket exec is get");
    ok(strcmp(hoop_kube_verb("POST", 4, &kp, 0), "create") == 0,
       "a SPDY exec is create");

    parse("/api/v1/namespaces/prod/pods/web/attach/", &kp);
    is_int(hoop_kube_stream(&kp), HOOP_KUBE_ATTACH, "attach, slash trimmed");
    parse("/api/v1/namespaces/prod/pods/web/portforward", &kp);
    is_int(hoop_kube_stream(&kp), HOOP_KUBE_PORTFORWARD, "portforward");
    parse("/api/v1/namespaces/prod/pods/web/log", &kp);
    is_int(hoop_kube_stream(&kp), HOOP_KUBE_NONE, "log is no stream");
    parse("/apis/x.io/v1/namespaces/prod/pods/web/exec", &kp);
    is_int(hoop_kube_stream(&kp), HOOP_KUBE_NONE,
           "another group's pods are not the core's");
    ok(part_is(&kp.group, "x.io") && part_is(&kp.resource, "pods"),
       "a group's resource");

    parse("/api/v1/namespaces/prod", &kp);
    ok(part_is(&kp.resource, "namespaces") && part_is(&kp.name, "prod")
       && part_is(&kp.ns, "prod"), "a namespace is itself");
    parse("/api/v1/namespaces/prod/status", &kp);
    ok(part_is(&kp.resource, "namespaces")
       && part_is(&kp.subresource, "status"), "a namespace's status");
    parse("/api/v1/namespaces/prod/finalize", &kp);
    ok(part_is(&kp.resource, "namespaces")
       && part_is(&kp.subresource, "finalize"), "... its finalize");

    parse("/api/v1/pods", &kp);
    ok(part_is(&kp.resource, "pods") && kp.ns.len == 0 && kp.name.len == 0,
       "all namespaces' pods");
    ok(strcmp(hoop_kube_verb("GET", 3, &kp, 0), "list") == 0, "list");
    ok(strcmp(hoop_kube_verb("GET", 3, &kp, 1), "watch") == 0,
       "?watch=true: watch");
    ok(strcmp(hoop_kube_verb("DELETE", 6, &kp, 0), "deletecollection")
       == 0, "delete without a name");

    parse("/api/v1/namespaces/prod/secrets/db", &kp);
    ok(strcmp(hoop_kube_verb("GET", 3, &kp, 1), "get") == 0,
       "?watch=true on a named object: still get, as the server reads it");
    parse("/api/v1/namespaces/prod/pods/web/exec", &kp);
    ok(strcmp(hoop_kube_verb("GET", 3, &kp, 1), "get") == 0,
       "... and on a pod's exec");

    parse("/api/v1/watch/namespaces/prod/secrets/db", &kp);
    ok(kp.watch_path && part_is(&kp.resource, "secrets")
       && part_is(&kp.name, "db") && part_is(&kp.ns, "prod"),
       "an old watch path");
    ok(strcmp(hoop_kube_verb("GET", 3, &kp, 0), "watch") == 0,
       "... is watch");

    parse("/apis/apps/v1/namespaces/prod/deployments/web/scale", &kp);
    ok(part_is(&kp.group, "apps") && part_is(&kp.subresource, "scale"),
       "a group's subresource");

    parse("/api/v1/namespaces/prod/services/web/proxy/a/b", &kp);
    ok(part_is(&kp.subresource, "proxy"), "a proxy subresource");

    parse("/version", &kp);
    ok(!kp.resource_request, "/version is not a resource");
    ok(strcmp(hoop_kube_verb("GET", 3, &kp, 0), "get") == 0,
       "non-resource get");
    parse("/api/v1", &kp);
    ok(!kp.resource_request, "discovery is not a resource");
    parse("/apis/apps/v1", &kp);
    ok(!kp.resource_request, "... nor a group's");

    /* what is read twice, or differently, is not plain */

    ok(parse("/api/v1/namespaces/prod//pods/web/exec", &kp) == -1, "//");
    ok(parse("/api/v1/namespaces/prod/./pods/web/exec", &kp) == -1, "/./");
    ok(parse("/api/v1/namespaces/x/../prod/pods/web/exec", &kp) == -1,
       "/../");
    ok(parse("/api/v1/namespaces/prod/pods/w%65b/exec", &kp) == -1, "%");
    ok(parse("/api/v1/namespaces/prod/pods/web/exec\n", &kp) == -1, "LF");
    ok(parse("/api/v1/namespaces/prod/pods/w\xc3\xa9/exec", &kp) == -1,
       "non-ASCII");
    ok(parse("api/v1", &kp) == -1, "relative");
    ok(parse("/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q", &kp) == -1,
       "more segments than read");
    ok(parse("/", &kp) == 0 && !kp.resource_request, "/");
    ok(parse("/api/v1/namespaces/prod/configmaps/a:b.c", &kp) == 0
       && part_is(&kp.name, "a:b.c"), "names as they are");

    ok(!hoop_kube_bool("false", 5), "false");
    ok(!hoop_kube_bool("FaLsE", 5), "FaLsE");
    ok(!hoop_kube_bool("0", 1), "0");
    ok(hoop_kube_bool("", 0), "empty is true");
    ok(hoop_kube_bool("f", 1), "f is true");
    ok(hoop_kube_bool("no", 2), "no is true");
    ok(hoop_kube_bool("00", 2), "00 is true");

    {
        size_t    n;
        uint16_t  ports[4];

        n = 0;
        ok(hoop_kube_ports("5432", 4, ports, 4, &n) == 0 && n == 1
           && ports[0] == 5432, "ports: one");
        ok(hoop_kube_ports("80,0443", 7, ports, 4, &n) == 0 && n == 3
           && ports[1] == 80 && ports[2] == 443,
           "... a list, appended, leading zeros read as the server does");
        is_int(hoop_kube_ports("1,2", 3, ports, 4, &n), -2,
               "... more than the caller holds");
        n = 0;
        is_int(hoop_kube_ports("65536", 5, ports, 4, &n), -1,
               "... out of 16 bits");
        ok(hoop_kube_ports("65535", 5, ports, 4, &n) == 0
           && ports[0] == 65535, "... the last port");
        n = 0;
        is_int(hoop_kube_ports("", 0, ports, 4, &n), -1, "... empty");
        is_int(hoop_kube_ports("80,", 3, ports, 4, &n), -1,
               "... an empty one after a comma");
        is_int(hoop_kube_ports("+80", 3, ports, 4, &n), -1, "... a sign");
        is_int(hoop_kube_ports("8_0", 3, ports, 4, &n), -1,
               "... an underscore");
        is_int(hoop_kube_ports(" 80", 3, ports, 4, &n), -1, "... a space");
        is_int(hoop_kube_ports("00000000000000000000080", 23, ports, 4, &n),
               0, "... any number of leading zeros");
    }

    {
        char             n[64], v[64];
        size_t           pos, nl, vl;
        hoop_kube_str_t  name;
        const char      *q;

        q = "command=ls&Command=x&command%5B%5D=y&command=-l+a%2Fb"
            "&x=1;y=2&bad=%zz&&tty";
        pos = 0;

        ok(hoop_kube_query_next(q, strlen(q), &pos, n, &nl, v, &vl, 64) == 1
           && nl == 7 && memcmp(n, "command", 7) == 0 && vl == 2,
           "query: command=ls");
        ok(hoop_kube_query_next(q, strlen(q), &pos, n, &nl, v, &vl, 64) == 1
           && nl == 7 && memcmp(n, "Command", 7) == 0,
           "... Command is another name (Go compares exactly)");
        ok(hoop_kube_query_next(q, strlen(q), &pos, n, &nl, v, &vl, 64) == 1
           && nl == 9 && memcmp(n, "command[]", 9) == 0,
           "... command%5B%5D is command[]");
        ok(hoop_kube_query_next(q, strlen(q), &pos, n, &nl, v, &vl, 64) == 1
           && vl == 6 && memcmp(v, "-l a/b", 6) == 0,
           "... + a space, %2F a slash");
        is_int(hoop_kube_query_next(q, strlen(q), &pos, n, &nl, v, &vl, 64),
               -1, "... a pair with ';' is dropped");
        is_int(hoop_kube_query_next(q, strlen(q), &pos, n, &nl, v, &vl, 64),
               -1, "... a bad escape drops the pair");
        ok(hoop_kube_query_next(q, strlen(q), &pos, n, &nl, v, &vl, 64) == 1
           && nl == 3 && vl == 0, "... empty pairs skipped, a bare name");
        is_int(hoop_kube_query_next(q, strlen(q), &pos, n, &nl, v, &vl, 64),
               0, "... the end");

        q = "command=aaaaaaaa";
        pos = 0;
        is_int(hoop_kube_query_next(q, strlen(q), &pos, n, &nl, v, &vl, 4),
               -2, "a value past the buffer");

        q = "metadata.namespace=x,metadata.name==db";
        ok(hoop_kube_field_name(q, strlen(q), &name) == 1
           && part_is(&name, "db"), "fieldSelector: metadata.name==db");
        q = "metadata.name=db";
        ok(hoop_kube_field_name(q, strlen(q), &name) == 1
           && part_is(&name, "db"), "... metadata.name=db");
        q = "metadata.name!=db";
        is_int(hoop_kube_field_name(q, strlen(q), &name), 0, "... != names"
               " nothing");
        q = "metadata.name =db";
        is_int(hoop_kube_field_name(q, strlen(q), &name), 0, "... nor a"
               " spaced key (the server takes it as another)");
        q = "metadata.name=a\\,b";
        is_int(hoop_kube_field_name(q, strlen(q), &name), -1, "... escapes"
               " are not read");
    }

    return done_testing();
}
