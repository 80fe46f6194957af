/*
 * Copyright (C) nginx-hoop authors
 *
 * OIDC discovery documents: the issuer must be the one configured, the
 * jwks_uri an http(s) URL; everything else is refused with a reason.
 */

#include "tap.h"
#include "hoop_oidc_discovery.h"


static int
parse(const char *doc, const char *issuer, char *uri, char *err)
{
    return hoop_oidc_discovery_parse(doc, strlen(doc), issuer, uri, 256, err,
                                     128);
}


int
main(void)
{
    char    uri[256], err[128], url[128];
    size_t  n;

    is_int(parse("{\"issuer\":\"https://idp.test/realms/a\","
                 "\"jwks_uri\":\"https://idp.test/realms/a/certs\"}",
                 "https://idp.test/realms/a", uri, err), 0,
           "a Keycloak-shaped document");
    ok(strcmp(uri, "https://idp.test/realms/a/certs") == 0, "its jwks_uri");

    is_int(parse("{\"issuer\":\"https://evil.test\",\"jwks_uri\":"
                 "\"https://evil.test/keys\"}", "https://idp.test", uri, err),
           -1, "another issuer's document is refused");
    ok(strcmp(err, "discovery document names another issuer") == 0,
       "saying so");
    is_int(parse("{\"issuer\":\"https://idp.test/\",\"jwks_uri\":"
                 "\"https://idp.test/keys\"}", "https://idp.test", uri, err),
           -1, "a trailing slash makes another issuer");
    is_int(parse("{\"issuer\":\"https://idp.test\"}", "https://idp.test",
                 uri, err), -1, "no jwks_uri");
    is_int(parse("{\"issuer\":\"https://idp.test\",\"jwks_uri\":"
                 "\"file:///etc/passwd\"}", "https://idp.test", uri, err),
           -1, "a jwks_uri that is not http(s)");
    ok(strcmp(err, "discovery document has no http(s) jwks_uri") == 0,
       "saying so");
    is_int(parse("[]", "https://idp.test", uri, err), -1, "not an object");
    is_int(parse("{\"issuer\":\"https://idp.test\",\"issuer\":\"x\","
                 "\"jwks_uri\":\"https://idp.test/k\"}", "https://idp.test",
                 uri, err), -1, "duplicate issuer members");

    n = hoop_oidc_discovery_url("https://idp.test/realms/a/", url,
                                sizeof(url));
    is_mem(url, n, "https://idp.test/realms/a/.well-known/openid-"
           "configuration", 58, "discovery URL, trailing slash dropped");
    n = hoop_oidc_discovery_url("https://idp.test", url, sizeof(url));
    is_mem(url, n, "https://idp.test/.well-known/openid-configuration", 49,
           "discovery URL of a bare host");
    is_int(hoop_oidc_discovery_url("https://idp.test", url, 20), 0,
           "too small a buffer");

    return done_testing();
}
