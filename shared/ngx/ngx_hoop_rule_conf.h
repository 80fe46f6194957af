/*
 * Copyright (C) nginx-hoop authors
 */

#ifndef NGX_HOOP_RULE_CONF_H
#define NGX_HOOP_RULE_CONF_H

#include <ngx_config.h>
#include <ngx_core.h>

#include "hoop_rule.h"


#define NGX_HOOP_REVIEW_TIMEOUT  (15 * 60 * 1000)


/* What a protocol's hoop_rule may say. */
typedef struct {
    const char  **keys;        /* condition keys, NULL-terminated */
    const char   *keys_text;   /* "groups, sub, ...", for messages */

    /*
     * A positional argument after the action ("sql.write"), turned into
     * conditions of the rule; NULL: none allowed.
     */
    char       *(*operation)(ngx_conf_t *cf, hoop_rule_t *rule,
                             ngx_str_t *arg);
} ngx_hoop_rule_syntax_t;


/*
 * hoop_rule allow|deny|review [operation] [name=] [reason=] key=v[,v...]
 * [approvers= count= timeout= grant=] ..., appended to *rules (created
 * on first use).
 */
char *ngx_hoop_rule_conf(ngx_conf_t *cf, ngx_command_t *cmd,
    ngx_array_t **rules, const ngx_hoop_rule_syntax_t *syntax);

/* Appends condition key=value (one value) to rule. */
char *ngx_hoop_rule_add_cond(ngx_conf_t *cf, hoop_rule_t *rule,
    const char *key, ngx_str_t *value);

#endif /* NGX_HOOP_RULE_CONF_H */
