/*
 * Copyright (C) nginx-hoop authors
 *
 * OpenID Connect discovery (OpenID Connect Discovery 1.0, section 4): the
 * document at <issuer>/.well-known/openid-configuration names the keys.
 */

#ifndef HOOP_OIDC_DISCOVERY_H
#define HOOP_OIDC_DISCOVERY_H

#include <stddef.h>


#define HOOP_OIDC_DISCOVERY_MAX_SIZE  (64 * 1024)


/*
 * Reads a discovery document.  Its "issuer" must equal issuer exactly
 * (section 4.3: otherwise the document may be someone else's); its
 * "jwks_uri" is copied to jwks_uri (cap bytes, NUL-terminated) and must
 * be an http(s) URL.  Returns 0, or -1 with a short reason in err.
 */
int hoop_oidc_discovery_parse(const char *json, size_t len,
    const char *issuer, char *jwks_uri, size_t cap, char *err,
    size_t errlen);

/* The discovery URL of issuer into buf (cap bytes); 0 if too small. */
size_t hoop_oidc_discovery_url(const char *issuer, char *buf, size_t cap);

#endif /* HOOP_OIDC_DISCOVERY_H */
