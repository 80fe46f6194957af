/*
 * Copyright (C) nginx-hoop authors
 */

#ifndef NGX_HOOP_MASK_CONF_H
#define NGX_HOOP_MASK_CONF_H

#include <ngx_config.h>
#include <ngx_core.h>

#include "hoop_mask.h"


/*
 * The detectors of "detect=a,b,all" enabled in mask with a strategy;
 * a detector named twice, or unknown, fails.
 */
char *ngx_hoop_mask_detect(ngx_conf_t *cf, hoop_mask_conf_t *mask,
    ngx_str_t *list, hoop_mask_strategy_t strategy);

/*
 * The arguments of hoop_mask: "off" (*enable becomes 0), or "detect=" or
 * "column=" (when columns is not NULL: the Postgres gateway's) with an
 * optional "strategy=".  On success *enable is 1 and *detect or *columns
 * points to the list (the "key=" taken off).
 */
char *ngx_hoop_mask_args(ngx_conf_t *cf, ngx_int_t *enable,
    ngx_str_t **detect, ngx_str_t **columns, int *strategy);

/* "strategy=..." parsed into *strategy, or a configuration error. */
char *ngx_hoop_mask_strategy(ngx_conf_t *cf, ngx_str_t *arg,
    int *strategy);

/* hoop_mask_key file: 16 to HOOP_MASK_KEY_MAX bytes. */
char *ngx_hoop_mask_key(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);

/* The key copied in; a hash strategy without a key fails. */
char *ngx_hoop_mask_key_apply(ngx_conf_t *cf, hoop_mask_conf_t *mask,
    ngx_str_t *key, ngx_uint_t hash_used);

#endif /* NGX_HOOP_MASK_CONF_H */
