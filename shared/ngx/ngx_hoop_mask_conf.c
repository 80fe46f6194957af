/*
 * Copyright (C) nginx-hoop authors
 *
 * The masking configuration both modules share: detector lists with their
 * strategy, and the key of the hash strategy.
 */

#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_hoop_mask_conf.h"
#include "ngx_hoop_secret.h"


char *
ngx_hoop_mask_detect(ngx_conf_t *cf, hoop_mask_conf_t *mask, ngx_str_t *list,
    hoop_mask_strategy_t strategy)
{
    int        type;
    u_char    *p, *last, *comma;
    uint32_t   types;
    ngx_str_t  name;

    types = 0;
    p = list->data;
    last = list->data + list->len;

    while (p < last) {
        comma = ngx_strlchr(p, last, ',');
        comma = comma ? comma : last;

        name.data = p;
        name.len = comma - p;
        p = comma + 1;

        if (name.len == 3 && ngx_strncmp(name.data, "all", 3) == 0) {
            types |= HOOP_MASK_ALL;
            continue;
        }

        type = hoop_mask_type_parse((char *) name.data, name.len);

        if (type < 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "unknown detector \"%V\" in the \"hoop_mask\" "
                               "directive: email, credit_card, iban, us_ssn, "
                               "phone, ipv4, ipv6, aws_key, private_key, jwt, "
                               "bearer_token and all are", &name);
            return NGX_CONF_ERROR;
        }

        types |= 1u << type;
    }

    if (types == 0 || (types & mask->enabled)) {
        return types ? "names a detector twice" : "has an empty detector list";
    }

    for (type = 0; type < HOOP_MASK_NTYPES; type++) {
        if (!(types & (1u << type))) {
            continue;
        }

        if (hoop_mask_strategy_supported(type, strategy)) {
            mask->strategy[type] = strategy;
            continue;
        }

        if (types != HOOP_MASK_ALL) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "detector \"%s\" in the \"hoop_mask\" "
                               "directive is only ever redacted",
                               hoop_mask_type_name(type));
            return NGX_CONF_ERROR;
        }

        /* detect=all strategy=partial: credentials are still redacted */
        mask->strategy[type] = HOOP_MASK_REDACT;
    }

    mask->enabled |= types;

    return NGX_CONF_OK;
}


char *
ngx_hoop_mask_args(ngx_conf_t *cf, ngx_int_t *enable, ngx_str_t **detect,
    ngx_str_t **columns, int *strategy)
{
    ngx_str_t   *value, **list;
    ngx_uint_t   i;

    value = cf->args->elts;

    if (cf->args->nelts == 2 && ngx_strcmp(value[1].data, "off") == 0) {
        if (*enable != NGX_CONF_UNSET) {
            return "is duplicate";
        }

        *enable = 0;
        return NGX_CONF_OK;
    }

    if (*enable == 0) {
        return "cannot follow \"hoop_mask off\"";
    }

    *detect = NULL;
    *strategy = HOOP_MASK_REDACT;

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "detect=", 7) == 0) {
            list = detect;

        } else if (ngx_strncmp(value[i].data, "column=", 7) == 0) {
            if (columns == NULL) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "\"%V\" in the \"hoop_mask\" directive:"
                                   " columns are masked by the Postgres"
                                   " gateway (stream), HTTP responses have"
                                   " none", &value[i]);
                return NGX_CONF_ERROR;
            }

            list = columns;

        } else if (ngx_strncmp(value[i].data, "strategy=", 9) == 0) {
            if (ngx_hoop_mask_strategy(cf, &value[i], strategy)
                != NGX_CONF_OK)
            {
                return NGX_CONF_ERROR;
            }

            continue;

        } else {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid parameter \"%V\" in the"
                               " \"hoop_mask\" directive", &value[i]);
            return NGX_CONF_ERROR;
        }

        if (*list != NULL || (list == columns && *detect != NULL)
            || (list == detect && columns && *columns != NULL))
        {
            return "takes one \"detect=\" or \"column=\" a line";
        }

        value[i].data += 7;
        value[i].len -= 7;
        *list = &value[i];
    }

    if (*detect == NULL && (columns == NULL || *columns == NULL)) {
        return columns ? "needs \"column=\" or \"detect=\" (or \"off\")"
                       : "needs \"detect=\" (or \"off\")";
    }

    *enable = 1;

    return NGX_CONF_OK;
}


char *
ngx_hoop_mask_strategy(ngx_conf_t *cf, ngx_str_t *arg, int *strategy)
{
    *strategy = hoop_mask_strategy_parse((char *) arg->data + 9,
                                         arg->len - 9);
    if (*strategy >= 0) {
        return NGX_CONF_OK;
    }

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "unknown strategy in \"%V\" of the \"hoop_mask\""
                       " directive: redact, partial and hash are", arg);
    return NGX_CONF_ERROR;
}


char *
ngx_hoop_mask_key(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_str_t  *key, *value;

    key = (ngx_str_t *) ((char *) conf + cmd->offset);

    if (key->data != NULL) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_hoop_secret_read(cf, &value[1], key) != NGX_CONF_OK) {
        return NGX_CONF_ERROR;
    }

    if (key->len > HOOP_MASK_KEY_MAX || key->len < 16) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "the key in \"%V\" of the \"hoop_mask_key\" "
                           "directive must be 16 to %d bytes long",
                           &value[1], HOOP_MASK_KEY_MAX);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


char *
ngx_hoop_mask_key_apply(ngx_conf_t *cf, hoop_mask_conf_t *mask,
    ngx_str_t *key, ngx_uint_t hash_used)
{
    ngx_uint_t  i;

    for (i = 0; i < HOOP_MASK_NTYPES; i++) {
        if ((mask->enabled & (1u << i))
            && mask->strategy[i] == HOOP_MASK_HASH)
        {
            hash_used = 1;
        }
    }

    if (hash_used && key->len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "hoop_mask strategy=hash needs a key: set "
                           "\"hoop_mask_key\"");
        return NGX_CONF_ERROR;
    }

    ngx_memcpy(mask->key, key->data, key->len);
    mask->key_len = key->len;

    return NGX_CONF_OK;
}
