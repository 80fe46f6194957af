/*
 * Copyright (C) nginx-hoop authors
 *
 * libFuzzer target: a git-receive-pack body's update requests, a pushed
 * pack and a git-upload-pack body's negotiation, on any bytes.  Read
 * whole or fed in pieces (the first byte says their size), the outcome
 * is the same: the same commands, the pack at the same place, the same
 * objects and commits.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hoop_git.h"


int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);


static hoop_git_command_t  cmds[2][16];
static char                refs[2][4096];
static hoop_git_push_t     push[2];
static hoop_git_fetch_t    fetch[2];
static hoop_git_commit_t   commits[2][8];
static unsigned char       parents[2][16 * 32];
static char                authors[2][256];
static hoop_git_entry_t    entries[2][16];
static unsigned char       trees[2][8 * 32];
static char                names[2][128];
static size_t              content_len[2];


static void
content(void *data, hoop_git_content_e event, const unsigned char *p,
    size_t len)
{
    size_t  *n = data;

    *n += (event == HOOP_GIT_CONTENT_DATA) ? len : 1;

    if (len > 0 && p == NULL) {
        abort();
    }
}


static void
pack(const unsigned char *data, size_t size, size_t step)
{
    int                   k;
    size_t                off, n;
    hoop_git_pack_t      *pk[2];
    hoop_git_pack_e       rc[2];
    hoop_git_pack_info_t  info[2];

    for (k = 0; k < 2; k++) {
        pk[k] = hoop_git_pack_new(step & 1 ? 20 : 32, commits[k], 8,
                                  parents[k], 16, authors[k], 256);
        if (pk[k] == NULL) {
            abort();
        }

        content_len[k] = 0;
        hoop_git_pack_content(pk[k], content, &content_len[k], entries[k], 16,
                              trees[k], 8, names[k], sizeof(names[k]));
    }

    rc[0] = hoop_git_pack_feed(pk[0], data, size);
    rc[1] = HOOP_GIT_PACK_MORE;

    for (off = 0; off < size && rc[1] != HOOP_GIT_PACK_ERROR; off += n) {
        n = size - off < step ? size - off : step;
        rc[1] = hoop_git_pack_feed(pk[1], data + off, n);
    }

    hoop_git_pack_info(pk[0], &info[0]);
    hoop_git_pack_info(pk[1], &info[1]);

    if (rc[0] != rc[1] || info[0].read != info[1].read
        || info[0].commits != info[1].commits
        || info[0].stored != info[1].stored
        || (rc[0] != HOOP_GIT_PACK_ERROR && info[0].bytes != info[1].bytes)
        || info[0].authors != info[1].authors
        || memcmp(commits[0], commits[1],
                  info[0].stored * sizeof(hoop_git_commit_t)) != 0)
    {
        abort();
    }

    if (rc[0] != HOOP_GIT_PACK_ERROR && content_len[0] != content_len[1]) {
        abort();
    }

    {
        char    path[64];
        size_t  plen;

        plen = hoop_git_pack_path(pk[0], entries[0][0].id, path,
                                  sizeof(path));

        if (plen >= sizeof(path) || (plen > 0 && path[plen] != '\0')) {
            abort();
        }
    }

    (void) hoop_git_pack_reaches(pk[0], "0123456789012345678901234567890123"
                                 "456789", "01234567890123456789012345678901"
                                 "23456789");

    hoop_git_pack_free(pk[0]);
    hoop_git_pack_free(pk[1]);
}


static hoop_git_push_e
feed(int k, const unsigned char *data, size_t size, size_t step,
    size_t *pack)
{
    size_t           off, n, used;
    hoop_git_push_e  rc;

    hoop_git_push_init(&push[k], cmds[k], 16, refs[k], sizeof(refs[k]));
    rc = HOOP_GIT_PUSH_MORE;
    *pack = size;

    for (off = 0; off < size; off += n) {
        n = size - off < step ? size - off : step;
        rc = hoop_git_push_feed(&push[k], data + off, n, &used);

        if (used > n) {
            abort();
        }

        if (rc != HOOP_GIT_PUSH_MORE) {
            *pack = off + used;
            break;
        }

        if (used != n) {
            abort();
        }
    }

    return rc;
}


int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    int              a, b;
    size_t           i, step, pa, pb, off, n;
    hoop_git_push_e  ra, rb;

    if (size < 1) {
        return 0;
    }

    step = data[0] % 17 + 1;
    data++;
    size--;

    ra = feed(0, data, size, size + 1, &pa);
    rb = feed(1, data, size, step, &pb);

    if (ra != rb || (ra != HOOP_GIT_PUSH_ERROR && pa != pb)
        || push[0].ncommands != push[1].ncommands
        || push[0].refs_len != push[1].refs_len
        || memcmp(refs[0], refs[1], push[0].refs_len) != 0)
    {
        abort();
    }

    for (i = 0; i < push[0].ncommands; i++) {
        if (memcmp(&cmds[0][i], &cmds[1][i], sizeof(hoop_git_command_t))
            != 0
            || cmds[0][i].ref + cmds[0][i].ref_len > push[0].refs_len
            || hoop_git_command_action(&cmds[0][i],
                                       refs[0] + cmds[0][i].ref,
                                       cmds[0][i].ref_len) == NULL)
        {
            abort();
        }
    }

    /* the rest after the update requests: a pack */

    if (ra == HOOP_GIT_PUSH_DONE) {
        pack(data + pa, size - pa, step);

    } else {
        pack(data, size, step);
    }

    hoop_git_fetch_init(&fetch[0]);
    hoop_git_fetch_init(&fetch[1]);

    a = hoop_git_fetch_feed(&fetch[0], data, size);
    b = 0;

    for (off = 0; off < size; off += n) {
        n = size - off < step ? size - off : step;
        b = hoop_git_fetch_feed(&fetch[1], data + off, n);
    }

    if ((a < 0) != (b < 0)
        || (a >= 0 && (fetch[0].wants != fetch[1].wants
                       || fetch[0].haves != fetch[1].haves
                       || strcmp(fetch[0].command, fetch[1].command) != 0)))
    {
        abort();
    }

    return 0;
}
