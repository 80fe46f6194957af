/*
 * Copyright (C) nginx-hoop authors
 */

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "hoop_oidc_discovery.h"


static int
hoop_oidc_discovery_fail(char *err, size_t errlen, const char *reason)
{
    if (errlen > 0) {
        snprintf(err, errlen, "%s", reason);
    }

    return -1;
}


/* bytes that would end or split the request line it is sent in */
static int
hoop_oidc_discovery_unsafe(const char *s, size_t n)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if ((unsigned char) s[i] <= 0x20 || s[i] == 0x7f) {
            return 1;
        }
    }

    return 0;
}


int
hoop_oidc_discovery_parse(const char *json, size_t len, const char *issuer,
    char *jwks_uri, size_t cap, char *err, size_t errlen)
{
    size_t        n;
    json_t       *root, *iss, *uri;
    const char   *s;
    json_error_t  jerr;

    if (len > HOOP_OIDC_DISCOVERY_MAX_SIZE) {
        return hoop_oidc_discovery_fail(err, errlen,
                                        "discovery document too large");
    }

    root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);

    if (!json_is_object(root)) {
        json_decref(root);
        return hoop_oidc_discovery_fail(err, errlen,
                                        "discovery document is not a JSON"
                                        " object");
    }

    iss = json_object_get(root, "issuer");

    if (!json_is_string(iss) || strcmp(json_string_value(iss), issuer) != 0) {
        json_decref(root);
        return hoop_oidc_discovery_fail(err, errlen,
                                        "discovery document names another"
                                        " issuer");
    }

    uri = json_object_get(root, "jwks_uri");
    s = json_string_value(uri);

    if (s == NULL
        || (strncasecmp(s, "https://", 8) != 0
            && strncasecmp(s, "http://", 7) != 0))
    {
        json_decref(root);
        return hoop_oidc_discovery_fail(err, errlen,
                                        "discovery document has no http(s)"
                                        " jwks_uri");
    }

    n = json_string_length(uri);

    if (n + 1 > cap || hoop_oidc_discovery_unsafe(s, n)) {
        json_decref(root);
        return hoop_oidc_discovery_fail(err, errlen, "jwks_uri not usable");
    }

    memcpy(jwks_uri, s, n + 1);
    json_decref(root);

    return 0;
}


size_t
hoop_oidc_discovery_url(const char *issuer, char *buf, size_t cap)
{
    int     n;
    size_t  len;

    /* "https://idp/realm/" and "https://idp/realm" share one document */

    len = strlen(issuer);

    if (len > 0 && issuer[len - 1] == '/') {
        len--;
    }

    n = snprintf(buf, cap, "%.*s/.well-known/openid-configuration",
                 (int) len, issuer);

    return (n > 0 && (size_t) n < cap) ? (size_t) n : 0;
}
