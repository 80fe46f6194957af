/*
 * Copyright (C) nginx-hoop authors
 */

#ifndef NGX_HOOP_REDIS_CONF_H
#define NGX_HOOP_REDIS_CONF_H

#include <ngx_config.h>
#include <ngx_core.h>


/* Where audit events and approval holds go: the "hoop_redis" directive,
 * with the same syntax and meaning in http{} and stream{}. */

typedef struct {
    ngx_addr_t   *addr;        /* resolved at configuration time */
    ngx_str_t     password;    /* from password_file=, empty if none */
    ngx_uint_t    db;
    ngx_msec_t    timeout;     /* connect and per-command */
} ngx_hoop_redis_conf_t;


/* A directive handler: the field at cmd->offset is an
 * ngx_hoop_redis_conf_t pointer, NULL until the directive is seen. */
char *ngx_hoop_redis_conf_set(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

#endif /* NGX_HOOP_REDIS_CONF_H */
