/*
 * Copyright (C) nginx-hoop authors
 */

#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_hoop_conf_file.h"
#include "ngx_hoop_secret.h"


#define NGX_HOOP_SECRET_MAX  4096


char *
ngx_hoop_secret_read(ngx_conf_t *cf, ngx_str_t *path, ngx_str_t *secret)
{
    ngx_str_t  s, *directive;

    /* the directive being parsed, to name it in every message */
    directive = cf->args->elts;

    if (ngx_hoop_conf_file_read(cf, path, NGX_HOOP_SECRET_MAX, 1, directive,
                                &s)
        != NGX_CONF_OK)
    {
        return NGX_CONF_ERROR;
    }

    /* one trailing line break, as "echo secret > file" leaves, is not part
     * of the secret */

    if (s.len > 0 && s.data[s.len - 1] == '\n') {
        s.len--;
    }

    if (s.len > 0 && s.data[s.len - 1] == '\r') {
        s.len--;
    }

    if (s.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "secret file \"%V\" of the \"%V\" directive"
                           " is empty", path, directive);
        return NGX_CONF_ERROR;
    }

    *secret = s;

    return NGX_CONF_OK;
}
