/*
 * Copyright (C) nginx-hoop authors
 *
 * hoop_git: a location in front of a git server speaking smart HTTP.  A
 * request is known by its path's end (info/refs, git-upload-pack,
 * git-receive-pack); the repository is the path before it.  The body of
 * a push or a fetch is read before the rules decide (nginx keeps it in
 * memory or in a temporary file, as for any body it buffers), and read
 * again from there as it streams: a push's update requests, each decided
 * by the rules as a ref update (ngx_http_hoop_rules.c), a fetch's
 * negotiation counted for its audit event.
 *
 * A push refused, whole or for one ref, is answered as receive-pack
 * answers: a report-status with "ng <ref> <reason>" for every ref (no
 * ref is updated: the push never reaches the server), wrapped in
 * side-band 1 with the reasons as progress (band 2) when the client
 * asked for a side-band, so that git prints them as "remote: ..." and
 * "! [remote rejected] main -> main (reason)".
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <zlib.h>

#include "hoop_git.h"
#include "hoop_json.h"
#include "ngx_http_hoop.h"


/* what one push is read for: its refs, within bounds */
#define NGX_HTTP_HOOP_GIT_COMMANDS   512
#define NGX_HTTP_HOOP_GIT_REFS       (64 * 1024)

/* the commits of a push kept to prove fast-forwards, their parents */
#define NGX_HTTP_HOOP_GIT_COMMITS    8192
#define NGX_HTTP_HOOP_GIT_PARENTS    16384
#define NGX_HTTP_HOOP_GIT_AUTHORS    4096

/* a body read back from its temporary file this much at a time */
#define NGX_HTTP_HOOP_GIT_READ       (64 * 1024)

/* the review spec and events list this many refs; a count says the rest */
#define NGX_HTTP_HOOP_GIT_LISTED     32

/* while a push is held: git's keep-alive, as receive-pack sends it */
#define NGX_HTTP_HOOP_GIT_KEEPALIVE  5000


static ngx_uint_t ngx_http_hoop_git_typed(ngx_http_request_t *r,
    ngx_str_t *svc);
static ngx_str_t *ngx_http_hoop_git_service_arg(ngx_http_request_t *r);
static size_t ngx_http_hoop_git_dumb(u_char *path, size_t len);
static ngx_int_t ngx_http_hoop_git_feed(ngx_http_request_t *r,
    ngx_http_hoop_git_t *git, u_char *data, size_t len);
static ngx_int_t ngx_http_hoop_git_walk(ngx_http_request_t *r,
    ngx_http_hoop_git_t *git, off_t skip);
static ngx_int_t ngx_http_hoop_git_pack_start(ngx_http_request_t *r,
    ngx_http_hoop_git_t *git);
static ngx_int_t ngx_http_hoop_git_gunzip_init(ngx_http_request_t *r,
    ngx_http_hoop_git_t *git, ngx_str_t *encoding);
static void ngx_http_hoop_git_gunzip_cleanup(void *data);
static ngx_int_t ngx_http_hoop_git_gunzip(ngx_http_hoop_git_t *git,
    u_char *data, size_t len);
static void ngx_http_hoop_git_pack_cleanup(void *data);
static void ngx_http_hoop_git_proofs(ngx_http_request_t *r,
    ngx_http_hoop_git_t *git);
static ngx_int_t ngx_http_hoop_git_send(ngx_http_request_t *r,
    ngx_http_hoop_git_t *git, ngx_str_t *progress, ngx_str_t *unpack,
    ngx_str_t *reasons);
static u_char *ngx_http_hoop_git_pkt(u_char *p, u_char band, u_char *data,
    size_t len);
static void ngx_http_hoop_git_printable(u_char *p, size_t len);
static void ngx_http_hoop_git_json_name(ngx_http_request_t *r,
    hoop_json_t *j, const char *key, ngx_str_t *name);
static void ngx_http_hoop_git_keepalive(ngx_event_t *ev);
static void ngx_http_hoop_git_held_cleanup(void *data);
static ngx_int_t ngx_http_hoop_git_raw(ngx_http_request_t *r, u_char *data,
    size_t len);
static ngx_int_t ngx_http_hoop_git_header_filter(ngx_http_request_t *r);


static ngx_http_output_header_filter_pt  ngx_http_hoop_git_next_header;


/* ngx_http_hoop_git_in_e, as events say it */
static const char  *ngx_http_hoop_git_in[] = {
    "file", "change", "commit", "tag", "name", "ref"
};


static ngx_str_t  ngx_http_hoop_git_services[] = {
    ngx_string("git-upload-pack"),
    ngx_string("git-receive-pack")
};


/*
 * The git request r is, if it is one: its service and repository.  The
 * path is read as the laxest upstream reads it (hoop_rule_path_lax, in
 * either case, trailing slashes dropped: servlet containers cut
 * ";params", routers ignore a trailing slash or case), and a POST whose
 * Content-Type names a service is that service wherever it is sent: a
 * push is never let through as a plain request.  A git location's other
 * paths (the dumb protocol's files) are plain HTTP requests.
 */
ngx_int_t
ngx_http_hoop_git_request(ngx_http_request_t *r, ngx_http_hoop_ctx_t *ctx)
{
    u_char               *lax;
    size_t                i, n, k;
    ngx_str_t            *svc;
    ngx_uint_t            discovery, dumb;
    ngx_table_elt_t      *h;
    ngx_http_hoop_git_t  *git;

    static ngx_str_t  info = ngx_string("/info/refs");
    static ngx_str_t  protocol = ngx_string("Git-Protocol");
    static size_t     svc_len[] = {
        sizeof("git-upload-pack") - 1, sizeof("git-receive-pack") - 1
    };

    if (ctx->git != NULL) {
        return NGX_OK;
    }

    lax = ngx_pnalloc(r->pool, r->uri.len + 1);
    if (lax == NULL) {
        return NGX_ERROR;
    }

    n = hoop_rule_path_lax((char *) r->uri.data, r->uri.len, (char *) lax);

    while (n > 1 && lax[n - 1] == '/') {
        n--;
    }

    svc = NULL;
    discovery = 0;
    dumb = 0;

    if ((r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))
        && n > info.len
        && ngx_strncasecmp(lax + n - info.len, info.data, info.len) == 0)
    {
        discovery = 1;
        n -= info.len;

        svc = ngx_http_hoop_git_service_arg(r);

        /* without a service it is the dumb protocol's file */

        dumb = (svc == NULL);

    } else {
        for (i = 0; i < 2; i++) {
            if (n > svc_len[i] + 1 && lax[n - svc_len[i] - 1] == '/'
                && ngx_strncasecmp(lax + n - svc_len[i],
                                   ngx_http_hoop_git_services[i].data,
                                   svc_len[i])
                   == 0)
            {
                svc = &ngx_http_hoop_git_services[i];
                n -= svc_len[i] + 1;
                break;
            }
        }

        /* a push by its type, wherever sent; a fetch where nothing is */

        if (ngx_http_hoop_git_typed(r, &ngx_http_hoop_git_services[1])) {
            svc = &ngx_http_hoop_git_services[1];

        } else if (svc == NULL
                   && ngx_http_hoop_git_typed(r,
                                              &ngx_http_hoop_git_services[0]))
        {
            svc = &ngx_http_hoop_git_services[0];
        }

        /*
         * the dumb protocol's files (HEAD, objects/...): a repository's
         * content, which the smart protocol's decisions and events would
         * not see; the repository is what is before them
         */

        if (svc == NULL) {
            k = ngx_http_hoop_git_dumb(lax, n);

            if (k == n) {
                return NGX_OK;
            }

            n = k;
            dumb = 1;
            discovery = 1;
        }
    }

    git = ngx_pcalloc(r->pool, sizeof(ngx_http_hoop_git_t));
    if (git == NULL) {
        return NGX_ERROR;
    }

    git->repo.data = lax;
    git->repo.len = n;
    git->discovery = discovery;
    git->dumb = dumb;
    git->receive = (svc == &ngx_http_hoop_git_services[1]);

    if (svc != NULL) {
        git->service = *svc;
    }

    h = ngx_http_hoop_find_header(r, &protocol, 1);

    if (h != NULL && ngx_strlcasestrn(h->value.data,
                                      h->value.data + h->value.len,
                                      (u_char *) "version=2", 9 - 1)
                     != NULL)
    {
        git->protocol = 2;
    }

    ctx->git = git;

    return NGX_OK;
}


/*
 * The service a discovery asks for, as the laxest reader reads its
 * arguments (every "service" argument, names and values decoded): any
 * that names receive-pack makes it a push's (http-backend takes the
 * last, others the first).
 */
static ngx_str_t *
ngx_http_hoop_git_service_arg(ngx_http_request_t *r)
{
    int         rc;
    char       *name, *value;
    size_t      pos, nlen, alt, alt_len, vlen, i;
    ngx_str_t  *svc;

    name = ngx_pnalloc(r->pool, 2 * HOOP_RULE_ARG_MAX);
    if (name == NULL) {
        return NULL;
    }

    value = name + HOOP_RULE_ARG_MAX;
    svc = NULL;
    pos = 0;

    for ( ;; ) {
        rc = hoop_rule_args_next((char *) r->args.data, r->args.len, 1, &pos,
                                 name, &nlen, &alt, &alt_len, value, &vlen);
        if (rc == 0) {
            break;
        }

        if (rc != 1 || nlen != 7 || ngx_strncmp(name, "service", 7) != 0) {
            continue;
        }

        for (i = 0; i < 2; i++) {
            if (vlen == ngx_http_hoop_git_services[i].len
                && ngx_strncasecmp((u_char *) value,
                                   ngx_http_hoop_git_services[i].data, vlen)
                   == 0
                && svc != &ngx_http_hoop_git_services[1])
            {
                svc = &ngx_http_hoop_git_services[i];
            }
        }
    }

    return svc;
}


/*
 * Where the repository ends in a path to one of the dumb protocol's
 * files (".../HEAD", ".../objects/...", ".../info/..."), or len.
 */
static size_t
ngx_http_hoop_git_dumb(u_char *path, size_t len)
{
    size_t  i;

    static ngx_str_t  head = ngx_string("/HEAD");

    if (len > head.len
        && ngx_strncasecmp(path + len - head.len, head.data, head.len) == 0)
    {
        return len - head.len;
    }

    for (i = 0; i + 8 < len; i++) {
        if (path[i] == '/'
            && (ngx_strncasecmp(path + i, (u_char *) "/objects/", 9) == 0
                || ngx_strncasecmp(path + i, (u_char *) "/info/", 6) == 0))
        {
            return i;
        }
    }

    return len;
}


/* a POST whose Content-Type names the service: application/x-<svc>-... */
static ngx_uint_t
ngx_http_hoop_git_typed(ngx_http_request_t *r, ngx_str_t *svc)
{
    ngx_table_elt_t  *h;

    static ngx_str_t  type = ngx_string("Content-Type");

    if (r->method != NGX_HTTP_POST) {
        return 0;
    }

    for (h = ngx_http_hoop_next_header(r, &type, 1, NULL); h != NULL;
         h = ngx_http_hoop_next_header(r, &type, 1, h))
    {
        if (ngx_strlcasestrn(h->value.data, h->value.data + h->value.len,
                             svc->data + 4, svc->len - 4 - 1)
            != NULL)
        {
            return 1;
        }
    }

    return 0;
}


/* whether the body is read before the rules decide: a push's, a fetch's */
ngx_uint_t
ngx_http_hoop_git_body_wanted(ngx_http_request_t *r, ngx_http_hoop_ctx_t *ctx)
{
    return ctx->git != NULL && !ctx->git->discovery
           && r->method == NGX_HTTP_POST
           && (r->headers_in.content_length_n > 0 || r->headers_in.chunked);
}


/*
 * The body read (in memory, a temporary file, or both), fed to the
 * push's or the fetch's reader until it has what it needs.
 */
ngx_int_t
ngx_http_hoop_git_read(ngx_http_request_t *r, ngx_http_hoop_ctx_t *ctx)
{
    ngx_table_elt_t      *h;
    ngx_http_hoop_git_t  *git;

    static ngx_str_t  encoding = ngx_string("Content-Encoding");

    git = ctx->git;

    if (git == NULL || git->discovery || git->read) {
        return NGX_OK;
    }

    git->read = 1;

    if (git->receive) {
        git->push = ngx_palloc(r->pool, sizeof(hoop_git_push_t));
        git->commands = ngx_palloc(r->pool, NGX_HTTP_HOOP_GIT_COMMANDS
                                            * sizeof(hoop_git_command_t));
        git->refs = ngx_pnalloc(r->pool, NGX_HTTP_HOOP_GIT_REFS);

        if (git->push == NULL || git->commands == NULL || git->refs == NULL)
        {
            return NGX_ERROR;
        }

        hoop_git_push_init(git->push, git->commands,
                           NGX_HTTP_HOOP_GIT_COMMANDS, git->refs,
                           NGX_HTTP_HOOP_GIT_REFS);

    } else {
        git->fetch = ngx_palloc(r->pool, sizeof(hoop_git_fetch_t));
        if (git->fetch == NULL) {
            return NGX_ERROR;
        }

        hoop_git_fetch_init(git->fetch);

        /* git gzips a small fetch request: counted once inflated */

        h = ngx_http_hoop_find_header(r, &encoding, 1);

        if (h != NULL) {
            if (ngx_http_hoop_next_header(r, &encoding, 1, h) != NULL
                || ngx_http_hoop_git_gunzip_init(r, git, &h->value) != NGX_OK)
            {
                git->unread = "compressed";
                return NGX_OK;
            }
        }
    }

    if (r->request_body == NULL) {
        git->unread = "no body";
        return NGX_OK;
    }

    /* the update requests only: the pack waits for the request's verdict */

    if (ngx_http_hoop_git_walk(r, git, 0) == NGX_ERROR) {
        return NGX_ERROR;
    }

    if (git->push != NULL && !git->pushed) {
        git->unread = git->unread ? git->unread
                      : "the update requests end before their flush";
    }

    return NGX_OK;
}


/*
 * The pack of a push the request's rules did not refuse: read, its
 * updates proven or not, what it adds scanned.
 */
ngx_int_t
ngx_http_hoop_git_read_pack(ngx_http_request_t *r, ngx_http_hoop_ctx_t *ctx)
{
    ngx_http_hoop_git_t  *git;

    git = ctx->git;

    if (git == NULL || !git->pushed || git->pack_read) {
        return NGX_OK;
    }

    git->pack_read = 1;

    if (ngx_http_hoop_git_pack_start(r, git) != NGX_OK) {
        return NGX_ERROR;
    }

    if (git->pack != NULL) {
        if (ngx_http_hoop_git_walk(r, git, git->pack_at) == NGX_ERROR) {
            return NGX_ERROR;
        }

        /* a pack not read to its end is not let through unread */

        if (!git->packed && git->unread == NULL) {
            git->unread = "the pack ends before its trailer";
        }
    }

    ngx_http_hoop_git_proofs(r, git);

    return NGX_OK;
}


/*
 * The body (in memory, a temporary file, or both) from skip on, fed to
 * the push's or the fetch's reader until it has what it needs.
 */
static ngx_int_t
ngx_http_hoop_git_walk(ngx_http_request_t *r, ngx_http_hoop_git_t *git,
    off_t skip)
{
    off_t         off, size;
    u_char       *buf;
    size_t        n;
    ssize_t       got;
    ngx_buf_t    *b;
    ngx_int_t     rc;
    ngx_chain_t  *cl;

    buf = NULL;
    rc = NGX_AGAIN;
    git->fed = 0;

    for (cl = r->request_body->bufs; cl && rc == NGX_AGAIN; cl = cl->next) {
        b = cl->buf;
        size = ngx_buf_size(b);

        if (skip >= size) {
            skip -= size;
            git->fed += size;
            continue;
        }

        if (!b->in_file) {
            git->fed += skip;
            rc = ngx_http_hoop_git_feed(r, git, b->pos + skip,
                                        b->last - b->pos - skip);
            git->fed += b->last - b->pos - skip;
            skip = 0;
            continue;
        }

        if (buf == NULL) {
            buf = ngx_pnalloc(r->pool, NGX_HTTP_HOOP_GIT_READ);
            if (buf == NULL) {
                return NGX_ERROR;
            }
        }

        git->fed += skip;

        for (off = b->file_pos + skip; off < b->file_last && rc == NGX_AGAIN;
             off += got)
        {
            n = (size_t) ngx_min(b->file_last - off,
                                 (off_t) NGX_HTTP_HOOP_GIT_READ);

            got = ngx_read_file(b->file, buf, n, off);

            if (got <= 0) {
                git->unread = "the body could not be read back";
                return NGX_OK;
            }

            rc = ngx_http_hoop_git_feed(r, git, buf, (size_t) got);
            git->fed += got;
        }

        skip = 0;
    }

    return rc == NGX_ERROR ? NGX_ERROR : NGX_OK;
}


/*
 * Each update proven a fast-forward or not: its old commit an ancestor
 * of its new one through the commits of the pack.
 */
static void
ngx_http_hoop_git_proofs(ngx_http_request_t *r, ngx_http_hoop_git_t *git)
{
    ngx_uint_t           i;
    hoop_git_command_t  *c;

    git->ff = ngx_pcalloc(r->pool, git->push->ncommands + 1);
    if (git->ff == NULL) {
        return;                     /* none proven */
    }

    ngx_http_hoop_git_scan_done(r, git);

    if (git->pack == NULL) {
        return;
    }

    if (!git->packed) {
        return;
    }

    for (i = 0; i < git->push->ncommands; i++) {
        c = &git->commands[i];

        if (!hoop_git_oid_zero(c->old_id) && !hoop_git_oid_zero(c->new_id)) {
            git->ff[i] = hoop_git_pack_reaches(git->pack, c->new_id,
                                               c->old_id)
                         == 1;
        }
    }
}


/* whether the i-th command is an update proven a fast-forward */
ngx_uint_t
ngx_http_hoop_git_fast_forward(ngx_http_hoop_git_t *git, ngx_uint_t i)
{
    return git->ff != NULL && git->ff[i];
}


/*
 * NGX_AGAIN: feed more; NGX_OK: read all it needs (or unreadable);
 * NGX_ERROR: out of memory.  A push's update requests, then its pack.
 */
static ngx_int_t
ngx_http_hoop_git_feed(ngx_http_request_t *r, ngx_http_hoop_git_t *git,
    u_char *data, size_t len)
{
    size_t                used;
    hoop_git_pack_info_t  info;

    if (git->fetch != NULL) {
        if (git->gunzip != NULL) {
            return ngx_http_hoop_git_gunzip(git, data, len);
        }

        if (hoop_git_fetch_feed(git->fetch, data, len) < 0) {
            git->unread = git->fetch->error;
            return NGX_OK;
        }

        return NGX_AGAIN;
    }

    if (!git->pushed) {
        switch (hoop_git_push_feed(git->push, data, len, &used)) {

        case HOOP_GIT_PUSH_MORE:
            return NGX_AGAIN;

        case HOOP_GIT_PUSH_DONE:
            git->pushed = 1;
            git->pack_at = git->fed + used;
            return NGX_OK;

        default:
            git->unread = git->push->error;
            return NGX_OK;
        }
    }

    switch (hoop_git_pack_feed(git->pack, data, len)) {

    case HOOP_GIT_PACK_MORE:
        return NGX_AGAIN;

    case HOOP_GIT_PACK_DONE:
        git->packed = 1;
        return NGX_AGAIN;           /* bytes after it are its error */

    default:
        git->packed = 0;
        hoop_git_pack_info(git->pack, &info);
        git->unread = info.error;   /* not read: refused */
        return NGX_OK;
    }
}


/* "gzip" (or "x-gzip"), as git sends it and http-backend reads it */
static ngx_int_t
ngx_http_hoop_git_gunzip_init(ngx_http_request_t *r, ngx_http_hoop_git_t *git,
    ngx_str_t *encoding)
{
    z_stream            *z;
    ngx_pool_cleanup_t  *cln;

    if (!((encoding->len == 4
           && ngx_strncasecmp(encoding->data, (u_char *) "gzip", 4) == 0)
          || (encoding->len == 6
              && ngx_strncasecmp(encoding->data, (u_char *) "x-gzip", 6)
                 == 0)))
    {
        return NGX_DECLINED;
    }

    z = ngx_pcalloc(r->pool, sizeof(z_stream));
    git->gunzip_out = ngx_pnalloc(r->pool, NGX_HTTP_HOOP_GIT_READ);
    cln = ngx_pool_cleanup_add(r->pool, 0);

    if (z == NULL || git->gunzip_out == NULL || cln == NULL
        || inflateInit2(z, 16 + MAX_WBITS) != Z_OK)
    {
        return NGX_ERROR;
    }

    cln->handler = ngx_http_hoop_git_gunzip_cleanup;
    cln->data = z;
    git->gunzip = z;

    return NGX_OK;
}


static void
ngx_http_hoop_git_gunzip_cleanup(void *data)
{
    inflateEnd(data);
}


/* a compressed fetch request, inflated into its reader */
static ngx_int_t
ngx_http_hoop_git_gunzip(ngx_http_hoop_git_t *git, u_char *data, size_t len)
{
    int        rc;
    size_t     n;
    z_stream  *z;

    z = git->gunzip;
    z->next_in = data;
    z->avail_in = (uInt) len;

    do {
        z->next_out = git->gunzip_out;
        z->avail_out = NGX_HTTP_HOOP_GIT_READ;

        rc = inflate(z, Z_NO_FLUSH);

        if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) {
            git->unread = "a broken gzip body";
            return NGX_OK;
        }

        n = NGX_HTTP_HOOP_GIT_READ - z->avail_out;

        /* a compression bomb is not inflated to its end */

        if (z->total_out > HOOP_GIT_PACK_RATIO * z->total_in
                           + NGX_HTTP_HOOP_GIT_READ * 16)
        {
            git->unread = "compressed beyond 32 times its size";
            return NGX_OK;
        }

        if (hoop_git_fetch_feed(git->fetch, git->gunzip_out, n) < 0) {
            git->unread = git->fetch->error;
            return NGX_OK;
        }

        if (rc == Z_STREAM_END) {
            return NGX_OK;
        }

    } while (z->avail_out == 0 || (z->avail_in > 0 && rc == Z_OK));

    return NGX_AGAIN;
}


/* a pack follows unless every command deletes */
static ngx_int_t
ngx_http_hoop_git_pack_start(ngx_http_request_t *r, ngx_http_hoop_git_t *git)
{
    u_char              *parents;
    char                *authors;
    ngx_uint_t           i;
    hoop_git_commit_t   *commits;
    ngx_pool_cleanup_t  *cln;

    for (i = 0; i < git->push->ncommands; i++) {
        if (!hoop_git_oid_zero(git->commands[i].new_id)) {
            break;
        }
    }

    if (i == git->push->ncommands) {
        return NGX_OK;
    }

    commits = ngx_palloc(r->pool, NGX_HTTP_HOOP_GIT_COMMITS
                                  * sizeof(hoop_git_commit_t));
    parents = ngx_palloc(r->pool, NGX_HTTP_HOOP_GIT_PARENTS * 32);
    authors = ngx_palloc(r->pool, NGX_HTTP_HOOP_GIT_AUTHORS);
    cln = ngx_pool_cleanup_add(r->pool, 0);

    if (commits == NULL || parents == NULL || authors == NULL || cln == NULL)
    {
        return NGX_ERROR;
    }

    git->pack = hoop_git_pack_new(git->push->oid_len / 2, commits,
                                  NGX_HTTP_HOOP_GIT_COMMITS, parents,
                                  NGX_HTTP_HOOP_GIT_PARENTS, authors,
                                  NGX_HTTP_HOOP_GIT_AUTHORS);
    if (git->pack == NULL) {
        return NGX_ERROR;
    }

    cln->handler = ngx_http_hoop_git_pack_cleanup;
    cln->data = git->pack;

    return ngx_http_hoop_git_scan_init(r, git);
}


static void
ngx_http_hoop_git_pack_cleanup(void *data)
{
    hoop_git_pack_free(data);
}


/* the i-th command's ref name */
void
ngx_http_hoop_git_ref(ngx_http_hoop_git_t *git, ngx_uint_t i, ngx_str_t *ref)
{
    ref->data = (u_char *) git->refs + git->commands[i].ref;
    ref->len = git->commands[i].ref_len;
}


/*
 * The push is refused: by rules (reasons[i] for each ref a rule refused,
 * empty for the others), by a review (why, for all), or unread (why).
 */
ngx_int_t
ngx_http_hoop_git_refuse(ngx_http_request_t *r, ngx_http_hoop_ctx_t *ctx,
    ngx_str_t *reasons, const char *why)
{
    u_char               *p;
    size_t                len;
    ngx_str_t             progress, unpack, msg, ref, *each;
    ngx_uint_t            i, n, refused;
    ngx_http_hoop_git_t  *git;

    git = ctx->git;
    git->refused = 1;
    n = git->push ? git->push->ncommands : 0;

    /*
     * what is said goes on lines of its own: a reason (a reviewer's, a
     * file's path) is printable text without line breaks
     */

    if (why != NULL) {
        p = ngx_pnalloc(r->pool, ngx_strlen(why) + 1);
        if (p == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_cpystrn(p, (u_char *) why, ngx_strlen(why) + 1);
        ngx_http_hoop_git_printable(p, ngx_strlen(why));
        why = (const char *) p;
    }

    for (i = 0; i < n && reasons; i++) {
        ngx_http_hoop_git_printable(reasons[i].data, reasons[i].len);
    }

    each = ngx_pcalloc(r->pool, (n + 1) * sizeof(ngx_str_t));
    if (each == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* what every ref is told, and what git prints before the refs */

    len = sizeof("hoop: push refused: \n") + ngx_strlen(why ? why : "")
          + sizeof("hoop: no ref was updated\n");

    for (i = 0; i < n && reasons; i++) {
        len += sizeof("hoop: : \n") + git->commands[i].ref_len
               + reasons[i].len;
    }

    progress.data = ngx_pnalloc(r->pool, len);
    if (progress.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = progress.data;
    refused = 0;

    for (i = 0; i < n && reasons; i++) {
        if (reasons[i].len == 0) {
            continue;
        }

        /* "hoop: <ref>: <reason>", the reason without its own "hoop: " */

        ngx_http_hoop_git_ref(git, i, &ref);
        msg = reasons[i];

        if (msg.len > 6 && ngx_strncmp(msg.data, "hoop: ", 6) == 0) {
            msg.data += 6;
            msg.len -= 6;
        }

        p = ngx_sprintf(p, "hoop: %V: %V\n", &ref, &msg);
        each[i] = reasons[i];
        refused++;
    }

    if (why != NULL) {
        p = ngx_sprintf(p, "hoop: push refused: %s\n", why);
    }

    if (n > 1 || (n == 1 && refused == 0)) {
        p = ngx_sprintf(p, "hoop: no ref was updated\n");
    }

    progress.len = p - progress.data;

    ngx_str_set(&msg, "hoop: not updated: the push was refused");

    for (i = 0; i < n; i++) {
        if (each[i].len == 0) {
            each[i] = msg;

            if (why != NULL) {
                each[i].data = ngx_pnalloc(r->pool, ngx_strlen(why) + 6);
                if (each[i].data == NULL) {
                    return NGX_HTTP_INTERNAL_SERVER_ERROR;
                }

                each[i].len = ngx_sprintf(each[i].data, "hoop: %s", why)
                              - each[i].data;
            }
        }
    }

    /* unread: nothing to say "ok" about */

    if (git->unread != NULL) {
        ngx_str_set(&unpack, "hoop refused the push");

    } else {
        ngx_str_set(&unpack, "ok");
    }

    return ngx_http_hoop_git_send(r, git, &progress, &unpack, each);
}


/*
 * 200 application/x-git-receive-pack-result: the progress lines (band
 * 2), the report "unpack ..." and "ng <ref> <reason>" per ref (band 1,
 * or bare without a side-band), a flush.
 */
static ngx_int_t
ngx_http_hoop_git_send(ngx_http_request_t *r, ngx_http_hoop_git_t *git,
    ngx_str_t *progress, ngx_str_t *unpack, ngx_str_t *reasons)
{
    u_char      *report, *p, *line, *start;
    size_t       len, rlen, chunk, lines;
    ngx_buf_t   *b;
    ngx_str_t    ref;
    ngx_uint_t   i, n, band;

    static ngx_str_t  result =
        ngx_string("application/x-git-receive-pack-result");

    n = git->push ? git->push->ncommands : 0;
    band = git->push != NULL
           && (git->push->caps & (HOOP_GIT_CAP_SIDE_BAND
                                  | HOOP_GIT_CAP_SIDE_BAND_64K));

    /* the report, as pkt-lines */

    rlen = 4 + sizeof("unpack \n") + unpack->len + 4;

    for (i = 0; i < n; i++) {
        rlen += 4 + sizeof("ng  \n") + git->commands[i].ref_len
                + reasons[i].len;
    }

    report = ngx_pnalloc(r->pool, rlen);
    line = ngx_pnalloc(r->pool, HOOP_GIT_PKT_PAYLOAD);

    if (report == NULL || line == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_snprintf(line, HOOP_GIT_PKT_PAYLOAD - 1, "unpack %V\n", unpack);
    start = ngx_http_hoop_git_pkt(report, 0, line, p - line);

    for (i = 0; i < n; i++) {
        ngx_http_hoop_git_ref(git, i, &ref);

        /* a reason has no newline: git reads the line to its end */

        p = ngx_snprintf(line, HOOP_GIT_PKT_PAYLOAD - 1, "ng %V %V", &ref,
                         &reasons[i]);
        *p++ = '\n';
        start = ngx_http_hoop_git_pkt(start, 0, line, p - line);
    }

    start = ngx_cpymem(start, "0000", 4);
    rlen = start - report;

    /*
     * the response: band 2, band 1, a flush; or the report alone.  Each
     * progress line and each piece of the report is a pkt-line of its
     * own, of at most HOOP_GIT_PKT_PAYLOAD bytes with its band.
     */

    lines = 0;

    for (i = 0; i < progress->len; i++) {
        lines += (progress->data[i] == '\n');
    }

    chunk = HOOP_GIT_PKT_PAYLOAD - 1;
    len = progress->len + 5 * (lines + progress->len / chunk + 1)
          + rlen + 5 * (rlen / chunk + 1) + 4;

    b = ngx_create_temp_buf(r->pool, len);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = b->pos;

    if (band) {
        for (start = progress->data, i = 0; i < progress->len; i++) {
            if (progress->data[i] == '\n'
                || (size_t) (progress->data + i + 1 - start) == chunk)
            {
                p = ngx_http_hoop_git_pkt(p, 2, start,
                                          progress->data + i + 1 - start);
                start = progress->data + i + 1;
            }
        }

        for (i = 0; i < rlen; i += n) {
            n = ngx_min(rlen - i, chunk);
            p = ngx_http_hoop_git_pkt(p, 1, report + i, n);
        }

        p = ngx_cpymem(p, "0000", 4);

    } else {
        p = ngx_cpymem(p, report, rlen);
    }

    b->last = p;

    ngx_http_finalize_request(r, ngx_http_hoop_output(r, NGX_HTTP_OK,
                                                      &result, b));

    return NGX_DONE;
}


/*
 * A git request refused as a request (discovery, a fetch): 403 in plain
 * text, which git prints line by line as "remote: ..." before failing.
 */
ngx_int_t
ngx_http_hoop_git_forbidden(ngx_http_request_t *r, const char *rule,
    const char *reason)
{
    ngx_buf_t  *b;

    static ngx_str_t  text = ngx_string("text/plain");

    b = ngx_create_temp_buf(r->pool, ngx_strlen(rule) + ngx_strlen(reason)
                                     + sizeof("hoop:  (rule \"\")\n"));
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->last = ngx_sprintf(b->pos, "hoop: %s (rule \"%s\")\n", reason, rule);

    ngx_http_finalize_request(r, ngx_http_hoop_output(r, NGX_HTTP_FORBIDDEN,
                                                      &text, b));

    return NGX_DONE;
}


/*
 * A push held for review, by a client that reads progress (a side-band):
 * the response begins now, written past nginx's header filters (so that
 * whatever answers later, the upstream's report or the gateway's
 * refusal, goes on from here): 200, the result's type, a body that ends
 * with the connection, and progress lines git prints as "remote: ...";
 * then git's keep-alive every 5 s, so that git and proxies on the way
 * wait.  The later answer's header is swallowed by the filter below.
 */
void
ngx_http_hoop_git_held(ngx_http_request_t *r, ngx_http_hoop_ctx_t *ctx,
    ngx_hoop_review_wait_t *w, const hoop_rule_t *rule)
{
    u_char               *p, *start, line[512];
    ngx_buf_t            *b;
    ngx_pool_cleanup_t   *cln;
    ngx_http_hoop_git_t  *git;

    git = ctx->git;

    if (git == NULL || git->push == NULL
        || !(git->push->caps & (HOOP_GIT_CAP_SIDE_BAND
                                | HOOP_GIT_CAP_SIDE_BAND_64K))
        || r->http_version != NGX_HTTP_VERSION_11
#if (NGX_HTTP_V2)
        || r->stream != NULL
#endif
        || r != r->main)
    {
        return;                     /* held in silence */
    }

    b = ngx_create_temp_buf(r->pool, 1024 + 3 * sizeof(line));
    cln = ngx_pool_cleanup_add(r->pool, 0);

    if (b == NULL || cln == NULL) {
        return;
    }

    p = ngx_cpymem(b->last, "HTTP/1.1 200 OK" CRLF
                   "Content-Type: application/x-git-receive-pack-result"
                   CRLF "Cache-Control: no-cache" CRLF
                   "Connection: close" CRLF CRLF,
                   sizeof("HTTP/1.1 200 OK" CRLF
                          "Content-Type: application/x-git-receive-pack-result"
                          CRLF "Cache-Control: no-cache" CRLF
                          "Connection: close" CRLF CRLF) - 1);

    start = ngx_snprintf(line, sizeof(line) - 1,
                         "hoop: push held for review %s (rule \"%s\")\n",
                         w->id, rule->name);
    p = ngx_http_hoop_git_pkt(p, 2, line, start - line);

    start = ngx_snprintf(line, sizeof(line) - 1,
                         "hoop: waiting for %ui approval%s from %s;"
                         " Ctrl-C cancels it\n", (ngx_uint_t) rule->required,
                         rule->required == 1 ? "" : "s", rule->approvers);
    p = ngx_http_hoop_git_pkt(p, 2, line, start - line);

    b->last = p;

    if (ngx_http_hoop_git_raw(r, b->pos, b->last - b->pos) != NGX_OK) {
        return;
    }

    git->progress = 1;
    r->keepalive = 0;

    git->keepalive.handler = ngx_http_hoop_git_keepalive;
    git->keepalive.data = r;
    git->keepalive.log = r->connection->log;
    ngx_add_timer(&git->keepalive, NGX_HTTP_HOOP_GIT_KEEPALIVE);

    cln->handler = ngx_http_hoop_git_held_cleanup;
    cln->data = git;
}


static void
ngx_http_hoop_git_keepalive(ngx_event_t *ev)
{
    ngx_http_request_t *r = ev->data;

    ngx_http_hoop_ctx_t  *ctx;

    ctx = ngx_http_hoop_get_ctx(r);

    /* decided: what answers it writes from now on */

    if (ctx == NULL || ctx->review == NULL || ctx->review->done) {
        return;
    }

    if (ngx_http_hoop_git_raw(r, (u_char *) "0005\1", 5) != NGX_OK) {
        return;
    }

    ngx_add_timer(ev, NGX_HTTP_HOOP_GIT_KEEPALIVE);
}


static void
ngx_http_hoop_git_held_cleanup(void *data)
{
    ngx_http_hoop_git_t  *git = data;

    if (git->keepalive.timer_set) {
        ngx_del_timer(&git->keepalive);
    }
}


/*
 * Bytes for the client, written as they are: a few hundred at most into
 * a socket that has sent nothing else, or a keep-alive dropped if the
 * client does not read.
 */
static ngx_int_t
ngx_http_hoop_git_raw(ngx_http_request_t *r, u_char *data, size_t len)
{
    ssize_t            n;
    ngx_connection_t  *c;

    c = r->connection;

    n = c->send(c, data, len);

    if (n == (ssize_t) len) {
        c->sent += n;
        return NGX_OK;
    }

    ngx_log_error(NGX_LOG_INFO, c->log, 0,
                  "hoop_git: progress for a held push not written");

    return NGX_ERROR;
}


ngx_int_t
ngx_http_hoop_git_filter_init(ngx_conf_t *cf)
{
    ngx_http_hoop_git_next_header = ngx_http_top_header_filter;
    ngx_http_top_header_filter = ngx_http_hoop_git_header_filter;

    return NGX_OK;
}


/*
 * A push whose response began while it was held: the answer's header
 * was sent then, its body goes on as it is (no chunks: the connection's
 * end ends it).
 */
static ngx_int_t
ngx_http_hoop_git_header_filter(ngx_http_request_t *r)
{
    ngx_http_hoop_ctx_t  *ctx;

    ctx = ngx_http_hoop_get_ctx(r);

    if (r != r->main || ctx == NULL || ctx->git == NULL
        || !ctx->git->progress)
    {
        return ngx_http_hoop_git_next_header(r);
    }

    if (ctx->git->keepalive.timer_set) {
        ngx_del_timer(&ctx->git->keepalive);
    }

    if (r->headers_out.status != NGX_HTTP_OK) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "hoop_git: the held push was answered %ui after the"
                      " client was told 200", r->headers_out.status);
    }

    r->header_sent = 1;
    r->keepalive = 0;
    r->chunked = 0;

    return NGX_OK;
}


/* control characters (line breaks among them) as '?', in place */
static void
ngx_http_hoop_git_printable(u_char *p, size_t len)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        if (p[i] < 0x20 || p[i] == 0x7f) {
            p[i] = '?';
        }
    }
}


/* a pkt-line of data, in band if band is not 0 */
static u_char *
ngx_http_hoop_git_pkt(u_char *p, u_char band, u_char *data, size_t len)
{
    p = ngx_sprintf(p, "%04xz", len + 4 + (band != 0));

    if (band) {
        *p++ = band;
    }

    return ngx_cpymem(p, data, len);
}


/*
 * A name as events and reviewers see it: masked by push protection's
 * detectors (a ref may be named after a secret).
 */
static void
ngx_http_hoop_git_json_name(ngx_http_request_t *r, hoop_json_t *j,
    const char *key, ngx_str_t *name)
{
    u_char                     out[2 * HOOP_GIT_REF_MAX
                                   + HOOP_MASK_REPLACEMENT_MAX];
    size_t                     n;
    hoop_mask_conf_t           conf;
    ngx_http_hoop_loc_conf_t  *hlcf;

    hlcf = ngx_http_get_module_loc_conf(r, ngx_http_hoop_module);

    if (hlcf->secrets == 0 || name->len > HOOP_GIT_REF_MAX) {
        hoop_json_string(j, key, (char *) name->data, name->len);
        return;
    }

    ngx_memzero(&conf, sizeof(hoop_mask_conf_t));
    conf.enabled = (uint32_t) hlcf->secrets;

    n = hoop_mask_string(&conf, name->data, name->len, out, sizeof(out),
                         NULL);

    if (n == (size_t) -1) {
        hoop_json_null(j, key);
        return;
    }

    hoop_json_string(j, key, (char *) out, n);
}


/*
 * "git": {"repo":..,"service":..,"protocol":..,"refs":[{"ref":..,
 * "old":..,"new":..,"action":..,"fast_forward":"unproven",
 * "decision":..,"rule":..}],"refs_total":n,...}, for events and the
 * reviewer's view.
 */
void
ngx_http_hoop_git_json(ngx_http_request_t *r, hoop_json_t *j)
{
    u_char                       hex[64];
    ngx_str_t                    ref;
    ngx_uint_t                   i, n;
    const char                  *action, *decision, *author, *name,
                                *where;
    ngx_http_hoop_git_secret_t  *secret;
    ngx_http_hoop_ctx_t   *ctx;
    ngx_http_hoop_git_t   *git;
    hoop_git_pack_info_t   info;

    ctx = ngx_http_hoop_get_ctx(r);

    if (ctx == NULL || ctx->git == NULL) {
        return;
    }

    git = ctx->git;

    hoop_json_object(j, "git");
    hoop_json_string(j, "repo", (char *) git->repo.data, git->repo.len);

    if (git->service.len) {
        hoop_json_string(j, "service", (char *) git->service.data + 4,
                         git->service.len - 4);
    }

    hoop_json_int(j, "protocol", (long long) git->protocol);

    if (git->dumb) {
        hoop_json_value(j, "dumb", "true", 4);

    } else if (git->discovery) {
        hoop_json_value(j, "discovery", "true", 4);
    }

    if (git->unread != NULL) {
        hoop_json_string(j, "unread", git->unread, ngx_strlen(git->unread));
    }

    if (git->fetch != NULL && git->unread == NULL) {
        if (git->fetch->command[0]) {
            hoop_json_string(j, "command", git->fetch->command,
                             ngx_strlen(git->fetch->command));
        }

        hoop_json_int(j, "wants", (long long) git->fetch->wants);
        hoop_json_int(j, "haves", (long long) git->fetch->haves);
        hoop_json_int(j, "shallow", (long long) git->fetch->shallows);
    }

    if (git->push != NULL) {
        n = git->push->ncommands;

        hoop_json_array(j, "refs");

        for (i = 0; i < n && i < NGX_HTTP_HOOP_GIT_LISTED; i++) {
            ngx_http_hoop_git_ref(git, i, &ref);
            action = hoop_git_command_action(&git->commands[i],
                                             (char *) ref.data, ref.len);

            hoop_json_object(j, NULL);
            ngx_http_hoop_git_json_name(r, j, "ref", &ref);
            hoop_json_string(j, "old", git->commands[i].old_id,
                             ngx_strlen(git->commands[i].old_id));
            hoop_json_string(j, "new", git->commands[i].new_id,
                             ngx_strlen(git->commands[i].new_id));
            hoop_json_string(j, "action", action, ngx_strlen(action));

            if (ngx_strcmp(action, "update") == 0) {
                if (ngx_http_hoop_git_fast_forward(git, i)) {
                    hoop_json_value(j, "fast_forward", "true", 4);

                } else {
                    hoop_json_string(j, "fast_forward", "unproven", 8);
                }
            }

            if (git->decided != NULL) {
                decision = git->decided[i].action == HOOP_RULE_DENY ? "deny"
                           : git->decided[i].action == HOOP_RULE_REVIEW
                             ? "review" : "allow";
                hoop_json_string(j, "decision", decision,
                                 ngx_strlen(decision));
                hoop_json_string(j, "rule", git->decided[i].rule,
                                 ngx_strlen(git->decided[i].rule));
            }

            hoop_json_end(j);
        }

        hoop_json_end(j);

        hoop_json_int(j, "refs_total", (long long) n);
        hoop_json_int(j, "push_options", (long long) git->push->options);
    }

    if (git->pack != NULL) {
        hoop_git_pack_info(git->pack, &info);

        hoop_json_object(j, "pack");
        hoop_json_int(j, "objects", (long long) info.objects);
        hoop_json_int(j, "commits", (long long) info.commits);
        hoop_json_int(j, "bytes", (long long) info.bytes);

        if (info.error != NULL || !git->packed) {
            hoop_json_string(j, "unread", info.error ? info.error
                             : "cut short", ngx_strlen(info.error
                                                       ? info.error
                                                       : "cut short"));
        }

        hoop_json_array(j, "authors");

        for (i = 0; (author = hoop_git_pack_author(git->pack, i)); i++) {
            hoop_json_string(j, NULL, author, ngx_strlen(author));
        }

        hoop_json_end(j);

        if (info.overflow) {
            hoop_json_value(j, "truncated", "true", 4);
        }

        hoop_json_end(j);
    }

    if (git->secrets != NULL) {
        hoop_json_object(j, "secrets");
        hoop_json_int(j, "scanned", (long long) git->scanned);
        hoop_json_int(j, "found", (long long) git->nsecrets);
        hoop_json_array(j, "list");

        for (i = 0; i < git->nsecrets && i < 16; i++) {
            secret = &git->secrets[i];
            name = hoop_mask_type_name(secret->type);

            hoop_json_object(j, NULL);
            hoop_json_string(j, "kind", name, ngx_strlen(name));

            if (secret->path.len) {
                hoop_json_string(j, "path", (char *) secret->path.data,
                                 secret->path.len);
            }

            where = ngx_http_hoop_git_in[secret->in];
            hoop_json_string(j, "in", where, ngx_strlen(where));

            if (secret->in == NGX_HTTP_HOOP_GIT_IN_FILE) {
                ngx_hex_dump(hex, secret->blob, git->push->oid_len / 2);
                hoop_json_string(j, "blob", (char *) hex,
                                 git->push->oid_len);
            }

            hoop_json_end(j);
        }

        hoop_json_end(j);
        hoop_json_end(j);
    }

    hoop_json_end(j);
}
