/*
 * Copyright (C) nginx-hoop authors
 */

#ifndef NGX_HOOP_SECRET_H
#define NGX_HOOP_SECRET_H

#include <ngx_config.h>
#include <ngx_core.h>


/*
 * Secrets (Redis and upstream passwords, HMAC keys) are never written in
 * nginx.conf: directives name a file, which the master reads at
 * configuration time, so it may be readable by root only.
 */
char *ngx_hoop_secret_read(ngx_conf_t *cf, ngx_str_t *path,
    ngx_str_t *secret);

#endif /* NGX_HOOP_SECRET_H */
