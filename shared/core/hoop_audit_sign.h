/*
 * Copyright (C) nginx-hoop authors
 *
 * The signature that makes an audit checkpoint unforgeable by whoever can
 * write to Redis: Ed25519 over the checkpoint's chain hash.  Only the
 * gateway holds the private key; auditors get the public key and check
 * the trail with it alone, so no secret that could forge the trail ever
 * leaves the gateway.
 *
 * The key's id is the SHA-256 of its DER SubjectPublicKeyInfo, which an
 * auditor computes from the public key they were given:
 *
 *     openssl pkey -pubin -in audit.pub -outform DER | sha256sum
 */

#ifndef HOOP_AUDIT_SIGN_H
#define HOOP_AUDIT_SIGN_H

#include <stddef.h>


#define HOOP_AUDIT_SIG_LEN     128      /* hex characters */
#define HOOP_AUDIT_KEY_ID_LEN  64       /* hex characters */


typedef struct hoop_audit_signer_s  hoop_audit_signer_t;


/*
 * A signer from a PEM private key; only Ed25519 is accepted, so the
 * algorithm is pinned by the key.  NULL with a reason in err (a static
 * string) if the text is not such a key.
 */
hoop_audit_signer_t *hoop_audit_signer_new(const char *pem, size_t len,
    const char **err);
void hoop_audit_signer_free(hoop_audit_signer_t *s);

/* The key id (HOOP_AUDIT_KEY_ID_LEN hex characters and a NUL). */
const char *hoop_audit_signer_key_id(const hoop_audit_signer_t *s);

/*
 * Signs msg into out (HOOP_AUDIT_SIG_LEN + 1 bytes, hex, NUL-terminated).
 * Returns 0, or -1 if OpenSSL fails.
 */
int hoop_audit_sign(hoop_audit_signer_t *s, const char *msg, size_t len,
    char *out);

#endif /* HOOP_AUDIT_SIGN_H */
