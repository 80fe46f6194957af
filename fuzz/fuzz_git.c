/*
 * Copyright (C) nginx-hoop authors
 *
 * libFuzzer target: a git-receive-pack body's update requests and a
 * git-upload-pack body's negotiation, on any bytes.  Read whole or fed in
 * pieces (the first byte says their size), the outcome is the same: the
 * same commands, the pack at the same place.
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
