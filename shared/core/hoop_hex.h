/*
 * Copyright (C) nginx-hoop authors
 *
 * A hexadecimal digit's value, for the decoders of percent-escapes and
 * character references.
 */

#ifndef HOOP_HEX_H
#define HOOP_HEX_H


/* 0-15, or -1 when c is not a hexadecimal digit (either case) */
static inline int
hoop_hex_value(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }

    c |= 0x20;

    return (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}

#endif /* HOOP_HEX_H */
