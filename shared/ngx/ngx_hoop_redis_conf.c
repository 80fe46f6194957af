/*
 * Copyright (C) nginx-hoop authors
 */

#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_hoop_redis_conf.h"
#include "ngx_hoop_secret.h"


#define NGX_HOOP_REDIS_PORT     6379
#define NGX_HOOP_REDIS_TIMEOUT  1000
#define NGX_HOOP_REDIS_MAX_DB   1024


static char *ngx_hoop_redis_conf_option(ngx_conf_t *cf, ngx_command_t *cmd,
    ngx_hoop_redis_conf_t *rc, ngx_str_t *arg);


char *
ngx_hoop_redis_conf_set(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    char  *p = conf;

    ngx_str_t               *value;
    ngx_url_t                u;
    ngx_uint_t               i;
    ngx_hoop_redis_conf_t  **field, *rc;

    field = (ngx_hoop_redis_conf_t **) (p + cmd->offset);

    if (*field != NULL) {
        return "is duplicate";
    }

    rc = ngx_pcalloc(cf->pool, sizeof(ngx_hoop_redis_conf_t));
    if (rc == NULL) {
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;

    ngx_memzero(&u, sizeof(ngx_url_t));

    u.url = value[1];
    u.default_port = NGX_HOOP_REDIS_PORT;

    if (ngx_parse_url(cf->pool, &u) != NGX_OK) {
        if (u.err) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "%s in \"%V\" of the \"%V\" directive",
                               u.err, &u.url, &cmd->name);
        }

        return NGX_CONF_ERROR;
    }

    if (u.naddrs == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "no address for \"%V\" in the \"%V\" directive",
                           &u.url, &cmd->name);
        return NGX_CONF_ERROR;
    }

    /* Redis is one server: the first address of a name is the one used */
    rc->addr = &u.addrs[0];
    rc->timeout = NGX_HOOP_REDIS_TIMEOUT;

    for (i = 2; i < cf->args->nelts; i++) {
        if (ngx_hoop_redis_conf_option(cf, cmd, rc, &value[i]) != NGX_CONF_OK) {
            return NGX_CONF_ERROR;
        }
    }

    *field = rc;

    return NGX_CONF_OK;
}


static char *
ngx_hoop_redis_conf_option(ngx_conf_t *cf, ngx_command_t *cmd,
    ngx_hoop_redis_conf_t *rc, ngx_str_t *arg)
{
    ngx_int_t  n;
    ngx_str_t  s;

    if (ngx_strncmp(arg->data, "db=", 3) == 0) {
        n = ngx_atoi(arg->data + 3, arg->len - 3);

        if (n == NGX_ERROR || n >= NGX_HOOP_REDIS_MAX_DB) {
            goto invalid;
        }

        rc->db = n;
        return NGX_CONF_OK;
    }

    if (ngx_strncmp(arg->data, "timeout=", 8) == 0) {
        s.data = arg->data + 8;
        s.len = arg->len - 8;

        n = ngx_parse_time(&s, 0);

        if (n == NGX_ERROR || n == 0) {
            goto invalid;
        }

        rc->timeout = n;
        return NGX_CONF_OK;
    }

    if (ngx_strncmp(arg->data, "password_file=", 14) == 0) {
        s.data = arg->data + 14;
        s.len = arg->len - 14;

        if (s.len == 0) {
            goto invalid;
        }

        return ngx_hoop_secret_read(cf, &s, &rc->password);
    }

    if (ngx_strncmp(arg->data, "password=", 9) == 0) {

        /* never echo it: a password in nginx.conf is the mistake here */

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"password=\" is not accepted in the \"%V\""
                           " directive, use password_file=", &cmd->name);
        return NGX_CONF_ERROR;
    }

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid parameter \"%V\" in the \"%V\" directive",
                       arg, &cmd->name);

    return NGX_CONF_ERROR;
}
