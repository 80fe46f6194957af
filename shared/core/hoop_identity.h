/*
 * Copyright (C) nginx-hoop authors
 *
 * Who is asking: the verified claims of an access token, in the form every
 * policy decision and audit event uses.
 */

#ifndef HOOP_IDENTITY_H
#define HOOP_IDENTITY_H

#include <stddef.h>


typedef struct {
    const char  *data;
    size_t       len;
} hoop_str_t;


typedef struct {
    hoop_str_t   sub;
    hoop_str_t   email;
    hoop_str_t   groups;        /* comma-separated */
    hoop_str_t   client_id;     /* client_id, else azp */
    hoop_str_t   jti;
    hoop_str_t   iss;
    long long    exp;
    size_t       ngroups;
    size_t       groups_dropped;  /* names with ',' or control characters */
} hoop_identity_t;


/*
 * Writes the identity as one JSON object (no trailing newline) into buf:
 * {"sub":..,"email":..,"groups":[..],"client_id":..,"jti":..,"iss":..}.
 * Absent strings are omitted.  Returns the length, or 0 when cap is too
 * small; hoop_identity_json_size() tells how much is enough.
 */
size_t hoop_identity_json(const hoop_identity_t *id, char *buf, size_t cap);

size_t hoop_identity_json_size(const hoop_identity_t *id);

struct hoop_json_s;

/* The same object as a member key (NULL: a value) of a JSON being written. */
void hoop_identity_json_write(const hoop_identity_t *id,
    struct hoop_json_s *j, const char *key);

/* Copies src into dst, its strings into buf (hoop_identity_size() bytes). */
void hoop_identity_copy(hoop_identity_t *dst, const hoop_identity_t *src,
    char *buf);

/* Bytes hoop_identity_copy() needs. */
size_t hoop_identity_size(const hoop_identity_t *id);

#endif /* HOOP_IDENTITY_H */
