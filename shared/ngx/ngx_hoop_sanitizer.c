/*
 * Copyright (C) nginx-hoop authors
 */

#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_hoop_sanitizer.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#endif


void
ngx_hoop_sanitizer_init_process(ngx_cycle_t *cycle)
{
#if defined(__SANITIZE_ADDRESS__)

    /* both modules call this; ignoring an object twice is harmless */

    if (cycle->connections != NULL) {
        __lsan_ignore_object(cycle->connections);
        __lsan_ignore_object(cycle->read_events);
        __lsan_ignore_object(cycle->write_events);
    }

#endif
}
