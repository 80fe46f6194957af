/*
 * Copyright (C) nginx-hoop authors
 */

#ifndef NGX_HOOP_CONF_FILE_H
#define NGX_HOOP_CONF_FILE_H

#include <ngx_config.h>
#include <ngx_core.h>


/*
 * Reads a whole file named by a directive (secrets, key sets) into
 * cf->pool, at most max bytes.  Relative paths are relative to the nginx
 * prefix.  Every message names the file and the directive.  With
 * warn_readable, a file everyone may read draws a warning (secrets).
 */
char *ngx_hoop_conf_file_read(ngx_conf_t *cf, ngx_str_t *path, size_t max,
    ngx_uint_t warn_readable, ngx_str_t *directive, ngx_str_t *content);

/* A NUL-terminated copy of s in pool (OpenSSL and jansson want C strings). */
char *ngx_hoop_pstrz(ngx_pool_t *pool, ngx_str_t *s);

/*
 * ngx_conf_set_enum_slot, with a message that names the directive and
 * the values it takes.
 */
char *ngx_hoop_conf_set_enum(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

#endif /* NGX_HOOP_CONF_FILE_H */
