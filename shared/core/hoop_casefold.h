/*
 * Copyright (C) nginx-hoop authors
 *
 * Case folding for text a server compares in either case (paths on IIS
 * and ASP.NET, argument names in ASP.NET model binding, JSON member
 * names in System.Text.Json and Jackson): ASCII, Latin-1, Latin
 * Extended-A, Greek, Cyrillic and fullwidth Latin letters fold to their
 * small letters, and so does every character whose case mapping is an
 * ASCII letter or that folds to ASCII letters, since those are the ones
 * that let a request past an ASCII rule: U+212A KELVIN SIGN is "k", the
 * dotless and dotted i are "i", the long s is "s", U+00DF and U+1E9E are
 * "ss", the Latin ligatures U+FB00..FB06 are "ff", "fi", "fl", "ffi",
 * "ffl", "st".  Bytes that are not well-formed UTF-8 are copied.  Folded
 * text is never longer than its text, so out may be in.
 */

#ifndef HOOP_CASEFOLD_H
#define HOOP_CASEFOLD_H

#include <stddef.h>


/* in[0, len) folded into out (room for len bytes); the folded length */
size_t hoop_casefold(const char *in, size_t len, char *out);

#endif /* HOOP_CASEFOLD_H */
