/*
 * Copyright (C) nginx-hoop authors
 *
 * hoop_git_secrets: push protection.  What a push adds to files (each
 * blob of its pack, and the text each delta inserts into a file) passes
 * the masking engine's credential detectors as the pack is read; a push
 * that adds one is refused, or held for review, before it reaches the
 * server.  The refusal names the kind of secret and the file (by the
 * pack's own trees), never the secret.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_hoop_mask_conf.h"
#include "ngx_hoop_rule_conf.h"
#include "ngx_http_hoop.h"


/* findings kept, and the pack's trees read to name them */
#define NGX_HTTP_HOOP_GIT_SECRETS    16
#define NGX_HTTP_HOOP_GIT_ENTRIES    16384
#define NGX_HTTP_HOOP_GIT_TREES      4096
#define NGX_HTTP_HOOP_GIT_NAMES      (256 * 1024)
#define NGX_HTTP_HOOP_GIT_PATH       1024


static void ngx_http_hoop_git_scan_content(void *data,
    hoop_git_content_e event, const unsigned char *p, size_t len);
static int ngx_http_hoop_git_scan_discard(void *data, const unsigned char *p,
    size_t len);
static void ngx_http_hoop_git_found(ngx_http_hoop_git_t *git,
    ngx_uint_t type, ngx_uint_t in, const u_char *blob, size_t len);
static void ngx_http_hoop_git_scan_name(ngx_http_hoop_git_t *git,
    const u_char *name, size_t len, ngx_uint_t in);


/* the verdict when no review is configured */
static hoop_rule_t  ngx_http_hoop_git_secrets_deny = {
    "secrets", HOOP_RULE_DENY, "a secret in the push", NULL, 0,
    NULL, 0, 0, 0
};


/*
 * hoop_git_secrets off | deny [types=t,...]
 *                | review approvers=g[,g] [count=n] [timeout=t] [types=...]
 */
char *
ngx_http_hoop_git_secrets(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_hoop_loc_conf_t  *hlcf = conf;

    u_char                     *p, *end;
    ngx_int_t                   n, type;
    ngx_str_t                  *value, v;
    ngx_uint_t                  i, types;
    hoop_rule_t                *rule;
    ngx_http_hoop_main_conf_t  *hmcf;

    if (hlcf->secrets != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        if (cf->args->nelts != 2) {
            return "takes no more arguments after \"off\"";
        }

        hlcf->secrets = 0;
        return NGX_CONF_OK;
    }

    if (ngx_strcmp(value[1].data, "deny") == 0) {
        rule = &ngx_http_hoop_git_secrets_deny;

    } else if (ngx_strcmp(value[1].data, "review") == 0) {
        rule = ngx_pcalloc(cf->pool, sizeof(hoop_rule_t));
        if (rule == NULL) {
            return NGX_CONF_ERROR;
        }

        rule->name = "secrets";
        rule->action = HOOP_RULE_REVIEW;
        rule->reason = "a secret in the push";
        rule->required = 1;
        rule->timeout_ms = NGX_HOOP_REVIEW_TIMEOUT;

        hmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_hoop_module);
        hmcf->review_used = 1;

    } else {
        return "takes \"deny\", \"review\" or \"off\"";
    }

    types = (1u << HOOP_MASK_PRIVATE_KEY) | (1u << HOOP_MASK_AWS_KEY)
            | (1u << HOOP_MASK_JWT);

    for (i = 2; i < cf->args->nelts; i++) {
        v = value[i];

        if (v.len > 6 && ngx_strncmp(v.data, "types=", 6) == 0) {
            types = 0;
            p = v.data + 6;
            end = v.data + v.len;

            while (p < end) {
                v.data = p;

                while (p < end && *p != ',') {
                    p++;
                }

                type = hoop_mask_type_parse((char *) v.data, p - v.data);

                if (type < 0) {
                    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                       "unknown type \"%*s\" in \"%V\"",
                                       p - v.data, v.data, &cmd->name);
                    return NGX_CONF_ERROR;
                }

                types |= 1u << type;
                p++;
            }

            continue;
        }

        if (rule->action != HOOP_RULE_REVIEW) {
            goto invalid;
        }

        if (v.len > 10 && ngx_strncmp(v.data, "approvers=", 10) == 0) {
            rule->approvers = (char *) v.data + 10;

        } else if (v.len > 6 && ngx_strncmp(v.data, "count=", 6) == 0) {
            n = ngx_atoi(v.data + 6, v.len - 6);
            if (n < 1 || n > 16) {
                goto invalid;
            }

            rule->required = (unsigned) n;

        } else if (v.len > 8 && ngx_strncmp(v.data, "timeout=", 8) == 0) {
            v.data += 8;
            v.len -= 8;
            n = ngx_parse_time(&v, 0);
            if (n == NGX_ERROR || n == 0) {
                goto invalid;
            }

            rule->timeout_ms = (unsigned long) n;

        } else {
            goto invalid;
        }
    }

    if (rule->action == HOOP_RULE_REVIEW && rule->approvers == NULL) {
        return "needs approvers= for \"review\"";
    }

    hlcf->secrets = types;
    hlcf->secrets_rule = rule;

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "invalid parameter \"%V\"",
                       &value[i]);
    return NGX_CONF_ERROR;
}


/* a push's pack is about to be read: what it adds is scanned */
ngx_int_t
ngx_http_hoop_git_scan_init(ngx_http_request_t *r, ngx_http_hoop_git_t *git)
{
    char                      *names;
    u_char                    *trees;
    hoop_git_entry_t          *entries;
    ngx_http_hoop_loc_conf_t  *hlcf;

    hlcf = ngx_http_get_module_loc_conf(r, ngx_http_hoop_module);

    if (hlcf->secrets == 0) {
        return NGX_OK;
    }

    git->scan = ngx_palloc(r->pool, sizeof(hoop_mask_stream_t));
    git->secrets = ngx_pcalloc(r->pool, NGX_HTTP_HOOP_GIT_SECRETS
                                        * sizeof(ngx_http_hoop_git_secret_t));
    entries = ngx_palloc(r->pool, NGX_HTTP_HOOP_GIT_ENTRIES
                                  * sizeof(hoop_git_entry_t));
    trees = ngx_palloc(r->pool, NGX_HTTP_HOOP_GIT_TREES * 32);
    names = ngx_palloc(r->pool, NGX_HTTP_HOOP_GIT_NAMES);

    if (git->scan == NULL || git->secrets == NULL || entries == NULL
        || trees == NULL || names == NULL)
    {
        return NGX_ERROR;
    }

    ngx_memzero(&git->scan_conf, sizeof(hoop_mask_conf_t));
    git->scan_conf.enabled = (uint32_t) hlcf->secrets;

    hoop_git_pack_content(git->pack, ngx_http_hoop_git_scan_content, git,
                          entries, NGX_HTTP_HOOP_GIT_ENTRIES, trees,
                          NGX_HTTP_HOOP_GIT_TREES, names,
                          NGX_HTTP_HOOP_GIT_NAMES);

    return NGX_OK;
}


static void
ngx_http_hoop_git_scan_content(void *data, hoop_git_content_e event,
    const unsigned char *p, size_t len)
{
    ngx_http_hoop_git_t *git = data;

    ngx_uint_t  t, in;

    switch (event) {

    case HOOP_GIT_CONTENT_START:
        hoop_mask_stream_init(git->scan, &git->scan_conf,
                              ngx_http_hoop_git_scan_discard, NULL);
        return;

    case HOOP_GIT_CONTENT_DATA:
        (void) hoop_mask_stream_feed(git->scan, p, len);
        return;

    default:
        break;
    }

    (void) hoop_mask_stream_finish(git->scan);
    git->scanned++;

    switch (hoop_git_pack_object_type(git->pack)) {
    case 1:
        in = NGX_HTTP_HOOP_GIT_IN_COMMIT;
        break;
    case 3:
        in = NGX_HTTP_HOOP_GIT_IN_FILE;
        break;
    case 4:
        in = NGX_HTTP_HOOP_GIT_IN_TAG;
        break;
    default:
        in = NGX_HTTP_HOOP_GIT_IN_CHANGE;
    }

    for (t = 0; t < HOOP_MASK_NTYPES; t++) {
        if (git->scan->counts[t] != 0) {
            ngx_http_hoop_git_found(git, t, in, in == NGX_HTTP_HOOP_GIT_IN_FILE
                                                ? p : NULL, len);
        }
    }
}


/* one finding more (the first 16 are kept) */
static void
ngx_http_hoop_git_found(ngx_http_hoop_git_t *git, ngx_uint_t type,
    ngx_uint_t in, const u_char *blob, size_t len)
{
    ngx_http_hoop_git_secret_t  *s;

    if (git->nsecrets < NGX_HTTP_HOOP_GIT_SECRETS) {
        s = &git->secrets[git->nsecrets];
        s->type = type;
        s->in = in;

        if (blob != NULL) {
            ngx_memcpy(s->blob, blob, ngx_min(len, 32));
        }
    }

    git->nsecrets++;
}


/* names (of refs, files, directories): each scanned whole */
static void
ngx_http_hoop_git_scan_name(ngx_http_hoop_git_t *git, const u_char *name,
    size_t len, ngx_uint_t in)
{
    u_char      out[HOOP_GIT_REF_MAX * 2 + HOOP_MASK_REPLACEMENT_MAX];
    uint64_t    counts[HOOP_MASK_NTYPES];
    ngx_uint_t  t;

    if (len > HOOP_GIT_REF_MAX) {
        len = HOOP_GIT_REF_MAX;
    }

    ngx_memzero(counts, sizeof(counts));

    (void) hoop_mask_string(&git->scan_conf, name, len, out, sizeof(out),
                            counts);

    for (t = 0; t < HOOP_MASK_NTYPES; t++) {
        if (counts[t] != 0) {
            ngx_http_hoop_git_found(git, t, in, NULL, 0);
        }
    }
}


static int
ngx_http_hoop_git_scan_discard(void *data, const unsigned char *p,
    size_t len)
{
    return 0;
}


/*
 * The pack is read (or the push has none): the names of its refs, files
 * and directories scanned too, and the files of what was found named by
 * its trees, masked (a name may be what is secret).
 */
void
ngx_http_hoop_git_scan_done(ngx_http_request_t *r, ngx_http_hoop_git_t *git)
{
    size_t                       len, n;
    u_char                      *path;
    ngx_str_t                    ref;
    ngx_uint_t                   i;
    const char                  *name;
    ngx_http_hoop_git_secret_t  *s;

    if (git->scan == NULL) {
        return;
    }

    for (i = 0; i < git->push->ncommands; i++) {
        ngx_http_hoop_git_ref(git, i, &ref);
        ngx_http_hoop_git_scan_name(git, ref.data, ref.len,
                                    NGX_HTTP_HOOP_GIT_IN_REF);
    }

    if (git->pack == NULL) {
        return;
    }

    for (i = 0; (name = hoop_git_pack_entry_name(git->pack, i, &len)); i++) {
        ngx_http_hoop_git_scan_name(git, (u_char *) name, len,
                                    NGX_HTTP_HOOP_GIT_IN_NAME);
    }

    path = ngx_pnalloc(r->pool, NGX_HTTP_HOOP_GIT_PATH);
    if (path == NULL) {
        return;
    }

    for (i = 0; i < git->nsecrets && i < NGX_HTTP_HOOP_GIT_SECRETS; i++) {
        s = &git->secrets[i];

        if (s->in != NGX_HTTP_HOOP_GIT_IN_FILE) {
            continue;
        }

        len = hoop_git_pack_path(git->pack, s->blob, (char *) path,
                                 NGX_HTTP_HOOP_GIT_PATH);
        if (len == 0) {
            continue;
        }

        s->path.data = ngx_pnalloc(r->pool, 4 * len
                                            + HOOP_MASK_REPLACEMENT_MAX);
        if (s->path.data == NULL) {
            return;
        }

        n = hoop_mask_string(&git->scan_conf, path, len, s->path.data,
                             4 * len + HOOP_MASK_REPLACEMENT_MAX, NULL);

        s->path.len = (n == (size_t) -1) ? 0 : n;
    }
}


/*
 * What the location does with a push that adds a secret (NULL: none
 * found), and why, as git will print it: the kind and the file.
 */
const hoop_rule_t *
ngx_http_hoop_git_secrets_verdict(ngx_http_request_t *r,
    ngx_http_hoop_ctx_t *ctx, char **why)
{
    u_char                      *p, *last, hex[16];
    const char                  *kind;
    ngx_http_hoop_git_t         *git;
    ngx_http_hoop_loc_conf_t    *hlcf;
    ngx_http_hoop_git_secret_t  *s;

    git = ctx->git;

    if (git == NULL || git->nsecrets == 0) {
        return NULL;
    }

    hlcf = ngx_http_get_module_loc_conf(r, ngx_http_hoop_module);

    p = ngx_pnalloc(r->pool, NGX_HTTP_HOOP_GIT_PATH + 256);
    if (p == NULL) {
        *why = "a secret in the push";
        return hlcf->secrets_rule ? hlcf->secrets_rule
                                  : &ngx_http_hoop_git_secrets_deny;
    }

    s = &git->secrets[0];
    kind = hoop_mask_type_name(s->type);
    last = p + NGX_HTTP_HOOP_GIT_PATH + 256 - 1;
    *why = (char *) p;

    if (s->path.len) {
        p = ngx_slprintf(p, last, "a secret in the push: %s in %V", kind,
                         &s->path);

    } else if (s->in == NGX_HTTP_HOOP_GIT_IN_FILE) {
        ngx_hex_dump(hex, s->blob, 7);
        p = ngx_slprintf(p, last, "a secret in the push: %s in a file"
                         " (blob %*s)", kind, (size_t) 14, hex);

    } else {
        p = ngx_slprintf(p, last, "a secret in the push: %s %s", kind,
                         s->in == NGX_HTTP_HOOP_GIT_IN_CHANGE
                         ? "added to a file it changes"
                         : s->in == NGX_HTTP_HOOP_GIT_IN_COMMIT
                         ? "in a commit message"
                         : s->in == NGX_HTTP_HOOP_GIT_IN_TAG
                         ? "in a tag's message"
                         : s->in == NGX_HTTP_HOOP_GIT_IN_NAME
                         ? "in the name of a file or directory"
                         : "in the name of a ref");
    }

    if (git->nsecrets > 1) {
        p = ngx_slprintf(p, last, " (and %ui more)", git->nsecrets - 1);
    }

    *p = '\0';

    return hlcf->secrets_rule ? hlcf->secrets_rule
                              : &ngx_http_hoop_git_secrets_deny;
}
