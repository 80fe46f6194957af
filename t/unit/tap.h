/*
 * Copyright (C) nginx-hoop authors
 *
 * A minimal TAP producer for the shared/core unit tests, run by prove.
 */

#ifndef HOOP_TAP_H
#define HOOP_TAP_H

#include <stdio.h>
#include <string.h>


static int  tap_n __attribute__((unused));
static int  tap_failed __attribute__((unused));


#define ok(cond, ...)                                                        \
    tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)

#define is_int(got, want, ...)                                               \
    tap_is_int((long long) (got), (long long) (want), __FILE__, __LINE__,    \
               __VA_ARGS__)

#define is_mem(got, glen, want, wlen, ...)                                   \
    tap_is_mem((const void *) (got), (glen), (const void *) (want), (wlen),  \
               __FILE__, __LINE__, __VA_ARGS__)


static inline int
tap_ok(int pass, const char *file, int line, const char *name, ...)
{
    tap_n++;
    printf("%s %d - %s\n", pass ? "ok" : "not ok", tap_n, name);

    if (!pass) {
        tap_failed++;
        printf("#   Failed test at %s line %d.\n", file, line);
    }

    return pass;
}


static inline int
tap_is_int(long long got, long long want, const char *file, int line,
    const char *name, ...)
{
    if (!tap_ok(got == want, file, line, name)) {
        printf("#          got: %lld\n#     expected: %lld\n", got, want);
        return 0;
    }

    return 1;
}


static inline int
tap_is_mem(const void *got, size_t glen, const void *want, size_t wlen,
    const char *file, int line, const char *name, ...)
{
    size_t  i;

    if (!tap_ok(glen == wlen && memcmp(got, want, glen) == 0, file, line,
                name))
    {
        printf("#          got (%zu):", glen);

        for (i = 0; i < glen && i < 64; i++) {
            printf(" %02x", ((const unsigned char *) got)[i]);
        }

        printf("\n#     expected (%zu):", wlen);

        for (i = 0; i < wlen && i < 64; i++) {
            printf(" %02x", ((const unsigned char *) want)[i]);
        }

        printf("\n");
        return 0;
    }

    return 1;
}


static inline int
done_testing(void)
{
    printf("1..%d\n", tap_n);
    return tap_failed ? 1 : 0;
}

#endif /* HOOP_TAP_H */
