/*
 * Copyright (C) nginx-hoop authors
 *
 * A minimal TAP producer for the shared/core unit tests, run by prove.
 */

#ifndef HOOP_TAP_H
#define HOOP_TAP_H

#include <stdarg.h>
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


/* test names are printf formats, so table-driven tests can name each row */

#define tap_name(buf, name)                                                  \
    do {                                                                     \
        va_list  ap;                                                         \
        va_start(ap, name);                                                  \
        vsnprintf(buf, sizeof(buf), name, ap);                               \
        va_end(ap);                                                          \
    } while (0)


static inline int
tap_result(int pass, const char *file, int line, const char *name)
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
tap_ok(int pass, const char *file, int line, const char *name, ...)
{
    char  buf[512];

    tap_name(buf, name);

    return tap_result(pass, file, line, buf);
}


static inline int
tap_is_int(long long got, long long want, const char *file, int line,
    const char *name, ...)
{
    char  buf[512];

    tap_name(buf, name);

    if (!tap_result(got == want, file, line, buf)) {
        printf("#          got: %lld\n#     expected: %lld\n", got, want);
        return 0;
    }

    return 1;
}


static inline int
tap_is_mem(const void *got, size_t glen, const void *want, size_t wlen,
    const char *file, int line, const char *name, ...)
{
    char    buf[512];
    size_t  i;

    tap_name(buf, name);

    if (!tap_result(glen == wlen && memcmp(got, want, glen) == 0, file, line,
                    buf))
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
