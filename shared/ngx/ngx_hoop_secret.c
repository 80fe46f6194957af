/*
 * Copyright (C) nginx-hoop authors
 */

#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_hoop_secret.h"


#define NGX_HOOP_SECRET_MAX  4096


char *
ngx_hoop_secret_read(ngx_conf_t *cf, ngx_str_t *path, ngx_str_t *secret)
{
    u_char           *p;
    ssize_t           n;
    ngx_fd_t          fd;
    ngx_str_t         name, *directive;
    ngx_file_info_t   fi;

    /* the directive being parsed, to name it in every message */
    directive = cf->args->elts;

    name = *path;

    if (ngx_conf_full_name(cf->cycle, &name, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    fd = ngx_open_file(name.data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);

    if (fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           ngx_open_file_n " \"%V\" failed in the \"%V\""
                           " directive", &name, directive);
        return NGX_CONF_ERROR;
    }

    p = NULL;
    n = 0;

    if (ngx_fd_info(fd, &fi) == NGX_FILE_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           ngx_fd_info_n " \"%V\" failed in the \"%V\""
                           " directive", &name, directive);
        goto failed;
    }

    if (ngx_file_size(&fi) > NGX_HOOP_SECRET_MAX) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "secret file \"%V\" of the \"%V\" directive"
                           " is larger than %d bytes",
                           &name, directive, NGX_HOOP_SECRET_MAX);
        goto failed;
    }

    if (ngx_file_access(&fi) & 0004) {
        ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                           "secret file \"%V\" of the \"%V\" directive"
                           " is readable by everyone", &name, directive);
    }

    p = ngx_pnalloc(cf->pool, NGX_HOOP_SECRET_MAX + 1);
    if (p == NULL) {
        goto failed;
    }

    n = ngx_read_fd(fd, p, NGX_HOOP_SECRET_MAX + 1);

    if (n == -1) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           ngx_read_fd_n " \"%V\" failed in the \"%V\""
                           " directive", &name, directive);
        goto failed;
    }

    /* one trailing line break, as "echo secret > file" leaves, is not part
     * of the secret */

    if (n > 0 && p[n - 1] == '\n') {
        n--;
    }

    if (n > 0 && p[n - 1] == '\r') {
        n--;
    }

    if (n == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "secret file \"%V\" of the \"%V\" directive"
                           " is empty", &name, directive);
        goto failed;
    }

    (void) ngx_close_file(fd);

    secret->data = p;
    secret->len = n;

    return NGX_CONF_OK;

failed:

    (void) ngx_close_file(fd);

    return NGX_CONF_ERROR;
}
