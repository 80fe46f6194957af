/*
 * Copyright (C) nginx-hoop authors
 *
 * A JSON writer into a caller's buffer, for what the gateway emits
 * (identities, audit events).  Strings are escaped as JSON requires and
 * otherwise copied; a byte that is not part of well-formed UTF-8 is
 * written as \u00XX (the character of its number), so the output is
 * always valid JSON whatever it is given.  Writing past the buffer is
 * counted, not done: hoop_json_finish() then returns 0, and the length
 * that was needed is in len.
 */

#ifndef HOOP_JSON_H
#define HOOP_JSON_H

#include <stddef.h>


#define HOOP_JSON_MAX_DEPTH  16


typedef struct hoop_json_s {
    char           *buf;
    size_t          cap;
    size_t          len;
    int             depth;
    unsigned char   members[HOOP_JSON_MAX_DEPTH];   /* written per level */
} hoop_json_t;


void hoop_json_init(hoop_json_t *j, char *buf, size_t cap);

/* key is the member name inside an object, NULL inside an array or at
 * the top */
void hoop_json_object(hoop_json_t *j, const char *key);
void hoop_json_array(hoop_json_t *j, const char *key);
void hoop_json_end(hoop_json_t *j);           /* closes either */

void hoop_json_string(hoop_json_t *j, const char *key, const char *s,
    size_t n);
void hoop_json_int(hoop_json_t *j, const char *key, long long v);
void hoop_json_null(hoop_json_t *j, const char *key);

/* A value that is JSON already (made by this writer): copied as it is. */
void hoop_json_value(hoop_json_t *j, const char *key, const char *json,
    size_t n);

/*
 * Members made by this writer inside an object of their own, without its
 * braces ("\"a\":1,\"b\":[]"): copied into the current object as they
 * are.  What is the same in every event of a session is made once.
 */
void hoop_json_members(hoop_json_t *j, const char *json, size_t n);

/* The length written, or 0 if the buffer was too small or unbalanced. */
size_t hoop_json_finish(hoop_json_t *j);

#endif /* HOOP_JSON_H */
