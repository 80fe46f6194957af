/*
 * Copyright (C) nginx-hoop authors
 *
 * The detectors behind hoop_mask: one left-to-right pass over a buffer.
 * Anchor bytes (digits, '@', ':', and the pairs "--", "ey", "AK"/"AS",
 * "Be") are found sixteen at a time with SSE2 where the CPU has it; each
 * anchor then runs the validator of the detectors it can start.
 */

#ifndef HOOP_MASK_SCAN_H
#define HOOP_MASK_SCAN_H

#include <stddef.h>
#include <stdint.h>


typedef enum {
    HOOP_MASK_SCAN_NONE = 0,    /* no value in the rest of the buffer */
    HOOP_MASK_SCAN_FOUND,       /* m holds the leftmost value */
    HOOP_MASK_SCAN_MORE         /* a candidate at m->start needs more text */
} hoop_mask_scan_rc_t;


typedef struct {
    size_t      start;
    size_t      end;
    size_t      keep;           /* leading bytes kept verbatim ("Bearer ") */
    unsigned    type;
    unsigned    open;           /* the token goes on after end: 1, or 2
                                   as base64 text */
} hoop_mask_match_t;


/*
 * Looks for the leftmost value of an enabled type starting at or after
 * from.  prev is the byte before buf (-1: none); final says nothing
 * follows buf.  A candidate whose verdict depends on bytes past the end
 * is reported as HOOP_MASK_SCAN_MORE when final is 0; its extent is at
 * most HOOP_MASK_SCAN_REACH bytes.
 */
hoop_mask_scan_rc_t hoop_mask_scan(uint32_t enabled, const unsigned char *buf,
    size_t len, size_t from, int prev, int final, hoop_mask_match_t *m);

#define HOOP_MASK_SCAN_REACH   2600

/* Whether c belongs to the token a swallowed long value continues with. */
int hoop_mask_token_byte(unsigned type, unsigned char c);

#endif /* HOOP_MASK_SCAN_H */
