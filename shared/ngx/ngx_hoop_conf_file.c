/*
 * Copyright (C) nginx-hoop authors
 */

#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_hoop_conf_file.h"


char *
ngx_hoop_conf_file_read(ngx_conf_t *cf, ngx_str_t *path, size_t max,
    ngx_uint_t warn_readable, ngx_str_t *directive, ngx_str_t *content)
{
    u_char           *p;
    ssize_t           n;
    ngx_fd_t          fd;
    ngx_str_t         name;
    ngx_file_info_t   fi;

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

    if (ngx_fd_info(fd, &fi) == NGX_FILE_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           ngx_fd_info_n " \"%V\" failed in the \"%V\""
                           " directive", &name, directive);
        goto failed;
    }

    if (ngx_file_size(&fi) > (off_t) max) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "file \"%V\" of the \"%V\" directive"
                           " is larger than %uz bytes",
                           &name, directive, max);
        goto failed;
    }

    if (warn_readable && (ngx_file_access(&fi) & 0004)) {
        ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                           "secret file \"%V\" of the \"%V\" directive"
                           " is readable by everyone", &name, directive);
    }

    p = ngx_pnalloc(cf->pool, max + 1);
    if (p == NULL) {
        goto failed;
    }

    /* the size can change between fstat() and read(): read one more */

    n = ngx_read_fd(fd, p, max + 1);

    if (n == -1) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           ngx_read_fd_n " \"%V\" failed in the \"%V\""
                           " directive", &name, directive);
        goto failed;
    }

    if ((size_t) n > max) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "file \"%V\" of the \"%V\" directive"
                           " is larger than %uz bytes",
                           &name, directive, max);
        goto failed;
    }

    (void) ngx_close_file(fd);

    content->data = p;
    content->len = n;

    return NGX_CONF_OK;

failed:

    (void) ngx_close_file(fd);

    return NGX_CONF_ERROR;
}


char *
ngx_hoop_pstrz(ngx_pool_t *pool, ngx_str_t *s)
{
    u_char  *z;

    z = ngx_pnalloc(pool, s->len + 1);
    if (z == NULL) {
        return NULL;
    }

    ngx_memcpy(z, s->data, s->len);
    z[s->len] = '\0';

    return (char *) z;
}


char *
ngx_hoop_conf_set_enum(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    u_char           *p, *last, list[256];
    ngx_str_t        *value;
    ngx_uint_t        i, *np;
    ngx_conf_enum_t  *e;

    np = (ngx_uint_t *) ((char *) conf + cmd->offset);

    if (*np != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;
    e = cmd->post;

    for (i = 0; e[i].name.len; i++) {
        if (e[i].name.len == value[1].len
            && ngx_strcasecmp(e[i].name.data, value[1].data) == 0)
        {
            *np = e[i].value;
            return NGX_CONF_OK;
        }
    }

    p = list;
    last = list + sizeof(list);

    for (i = 0; e[i].name.len; i++) {
        p = ngx_slprintf(p, last, "%s\"%V\"",
                         i == 0 ? "" : e[i + 1].name.len ? ", " : " or ",
                         &e[i].name);
    }

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid value \"%V\" in \"%V\" directive, it must"
                       " be %*s", &value[1], &cmd->name, p - list, list);

    return NGX_CONF_ERROR;
}
