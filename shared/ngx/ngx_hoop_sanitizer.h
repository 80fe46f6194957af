/*
 * Copyright (C) nginx-hoop authors
 */

#ifndef NGX_HOOP_SANITIZER_H
#define NGX_HOOP_SANITIZER_H

#include <ngx_config.h>
#include <ngx_core.h>


/*
 * Under AddressSanitizer (make test-asan) a worker's exit would report the
 * connection and event arrays nginx allocates per worker and, by design,
 * never frees.  They are marked as not leaks, precisely these three, so
 * that LeakSanitizer stays on for everything else, our pools included.
 * Compiles to nothing in a normal build.
 */
void ngx_hoop_sanitizer_init_process(ngx_cycle_t *cycle);

#endif /* NGX_HOOP_SANITIZER_H */
