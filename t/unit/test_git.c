/*
 * Copyright (C) nginx-hoop authors
 *
 * Git request bodies read as they stream: pkt-lines, a push's update
 * requests (as git 2.39 sends them), a fetch's negotiation; the same
 * whatever the pieces the body arrives in.
 */

#include <stdlib.h>

#include <openssl/evp.h>
#include <zlib.h>

#include "hoop_git.h"
#include "tap.h"


#define Z40  "0000000000000000000000000000000000000000"
#define A40  "8dd2c1f2a0b3e4d5c6b7a8f9e0d1c2b3a4f5e6d7"
#define B40  "35020f1e2d3c4b5a69788796a5b4c3d2e1f0a9b8"


static hoop_git_command_t  commands[8];
static char                refs[256];


/* a pkt-line of s: its length in 4 hex digits, then s */
static size_t
pkt(char *out, const char *s, size_t n)
{
    snprintf(out, 5, "%04zx", n + 4);
    memcpy(out + 4, s, n);

    return n + 4;
}


/* a body: each pkt-line (NULL: a flush, "": a delim), then tail */
static size_t
body(char *out, const char *const *lines, size_t nlines, const char *tail)
{
    size_t  i, n;

    n = 0;

    for (i = 0; i < nlines; i++) {
        if (lines[i] == NULL) {
            memcpy(out + n, "0000", 4);
            n += 4;
            continue;
        }

        if (lines[i][0] == '\0') {
            memcpy(out + n, "0001", 4);
            n += 4;
            continue;
        }

        /* a NUL in a line is written "\\0" */

        {
            char    line[1024];
            size_t  k, m;

            for (k = 0, m = 0; lines[i][k]; k++) {
                if (lines[i][k] == '\\' && lines[i][k + 1] == '0') {
                    line[m++] = '\0';
                    k++;
                    continue;
                }

                line[m++] = lines[i][k];
            }

            n += pkt(out + n, line, m);
        }
    }

    memcpy(out + n, tail, strlen(tail));

    return n + strlen(tail);
}


/* fed in pieces of step bytes: the result, and where the pack starts */
static hoop_git_push_e
feed(hoop_git_push_t *p, const char *b, size_t len, size_t step,
    size_t *pack)
{
    size_t           off, n, used;
    hoop_git_push_e  rc;

    hoop_git_push_init(p, commands, 8, refs, sizeof(refs));

    rc = HOOP_GIT_PUSH_MORE;

    for (off = 0; off < len; off += n) {
        n = (len - off < step) ? len - off : step;
        rc = hoop_git_push_feed(p, (const unsigned char *) b + off, n, &used);

        if (rc != HOOP_GIT_PUSH_MORE) {
            *pack = off + used;
            return rc;
        }

        if (used != n) {
            return HOOP_GIT_PUSH_ERROR;     /* MORE uses everything */
        }
    }

    *pack = len;

    return rc;
}


static void
test_pkt(void)
{
    size_t          used;
    hoop_git_pkt_t  p;

    memset(&p, 0, sizeof(p));

    is_int(hoop_git_pkt_read(&p, (const unsigned char *) "000ahello\n", 10,
                             &used), HOOP_GIT_PKT_DATA, "a pkt-line");
    is_mem(p.payload, p.len, "hello\n", 6, "its payload");
    is_int(used, 10, "all of it used");

    is_int(hoop_git_pkt_read(&p, (const unsigned char *) "00", 2, &used),
           HOOP_GIT_PKT_MORE, "half a length: more");
    is_int(hoop_git_pkt_read(&p, (const unsigned char *) "01", 2, &used),
           HOOP_GIT_PKT_DELIM, "then the rest: a delim");
    is_int(hoop_git_pkt_read(&p, (const unsigned char *) "0002", 4, &used),
           HOOP_GIT_PKT_END, "response-end");
    is_int(hoop_git_pkt_read(&p, (const unsigned char *) "0003", 4, &used),
           HOOP_GIT_PKT_ERROR, "0003 is no length");
    memset(&p, 0, sizeof(p));
    is_int(hoop_git_pkt_read(&p, (const unsigned char *) "fff1", 4, &used),
           HOOP_GIT_PKT_ERROR, "past 65520");
    memset(&p, 0, sizeof(p));
    is_int(hoop_git_pkt_read(&p, (const unsigned char *) "00g4", 4, &used),
           HOOP_GIT_PKT_ERROR, "not hex");
    memset(&p, 0, sizeof(p));
    is_int(hoop_git_pkt_read(&p, (const unsigned char *) "fff0", 4, &used),
           HOOP_GIT_PKT_MORE, "65520 is the most");
}


static void
test_push(void)
{
    char             b[4096];
    size_t           n, step, pack;
    hoop_git_push_t  p;

    const char *git239[] = {
        A40 " " B40 " refs/heads/main\\0 report-status-v2 side-band-64k"
            " quiet object-format=sha1 agent=git/2.39.5",
        Z40 " " A40 " refs/tags/v1.0\n",
        B40 " " Z40 " refs/heads/old",
        NULL
    };

    n = body(b, git239, 4, "PACK");

    for (step = 1; step <= n; step++) {
        if (feed(&p, b, n, step, &pack) != HOOP_GIT_PUSH_DONE
            || pack != n - 4 || p.ncommands != 3)
        {
            break;
        }
    }

    ok(step > n, "read the same fed in pieces of any size (failed at %zu)",
       step);

    is_int(p.ncommands, 3, "three commands");
    is_mem(refs + commands[0].ref, commands[0].ref_len, "refs/heads/main",
           15, "the first ref, without its capabilities");
    is_mem(refs + commands[1].ref, commands[1].ref_len, "refs/tags/v1.0",
           14, "a newline after a ref is not part of it");
    ok(strcmp(commands[0].old_id, A40) == 0
       && strcmp(commands[0].new_id, B40) == 0, "old and new ids");
    ok(p.caps == (HOOP_GIT_CAP_REPORT_STATUS_V2 | HOOP_GIT_CAP_SIDE_BAND_64K
                  | HOOP_GIT_CAP_QUIET), "the capabilities asked for");

    ok(strcmp(hoop_git_command_action(&commands[0], "refs/heads/main", 15),
              "update") == 0, "an update");
    ok(strcmp(hoop_git_command_action(&commands[1], "refs/tags/v1.0", 14),
              "tag") == 0, "a tag created");
    ok(strcmp(hoop_git_command_action(&commands[2], "refs/heads/old", 14),
              "delete") == 0, "a delete");
    commands[1].ref_len = 0;
    ok(strcmp(hoop_git_command_action(&commands[1], "refs/heads/x", 12),
              "create") == 0, "a branch created");

    /* the probe git sends before a large push */

    is_int(feed(&p, "0000", 4, 1, &pack), HOOP_GIT_PUSH_DONE,
           "the probe: a flush");
    is_int(p.ncommands, 0, "with no commands");

    /* push options follow the flush when asked for */

    {
        const char *opts[] = {
            A40 " " B40 " refs/heads/main\\0 report-status push-options",
            NULL, "ci.skip", "reviewer=me", NULL
        };

        n = body(b, opts, 5, "PACK");
        is_int(feed(&p, b, n, 3, &pack), HOOP_GIT_PUSH_DONE,
               "push options read");
        is_int(p.options, 2, "two of them");
        is_int(pack, n - 4, "the pack starts after their flush");
    }

    /* without push-options, what follows the flush is the pack */

    {
        const char *plain[] = { A40 " " B40 " refs/heads/main", NULL };

        n = body(b, plain, 2, "0009x");
        is_int(feed(&p, b, n, 7, &pack), HOOP_GIT_PUSH_DONE,
               "no push options asked for");
        is_int(pack, n - 5, "the rest is the pack's, whatever it looks like");
    }

    /* shallow lines before the commands */

    {
        const char *shallow[] = {
            "shallow " A40, A40 " " B40 " refs/heads/main", NULL
        };

        n = body(b, shallow, 3, "");
        is_int(feed(&p, b, n, 5, &pack), HOOP_GIT_PUSH_DONE,
               "shallow lines");
        ok(p.shallow == 1 && p.ncommands == 1, "counted apart");
    }

    /* sha256 */

    {
        char        line[256];
        const char *l[2];

        snprintf(line, sizeof(line), "%s%s %s%s refs/heads/main\\0"
                 "object-format=sha256", A40, "012345678901234567890123",
                 B40, "012345678901234567890123");
        l[0] = line;
        l[1] = NULL;
        n = body(b, l, 2, "");
        is_int(feed(&p, b, n, 9, &pack), HOOP_GIT_PUSH_DONE,
               "sha256 ids with object-format=sha256");
        is_int(strlen(commands[0].new_id), 64, "64 hex digits");

        snprintf(line, sizeof(line), "%s%s %s%s refs/heads/main", A40,
                 "012345678901234567890123", B40,
                 "012345678901234567890123");
        n = body(b, l, 2, "");
        is_int(feed(&p, b, n, 9, &pack), HOOP_GIT_PUSH_ERROR,
               "sha256 ids without object-format: sha1 is meant");
    }
}


static void
test_push_refused(void)
{
    char             b[4096];
    size_t           i, n, pack;
    hoop_git_push_t  p;

    static const char *bad_refs[] = {
        "refs/heads/a..b", "refs/heads/x.lock", "refs/heads//x",
        "refs/heads/a b", "HEAD", "refs/heads/.hidden", "refs/heads/x/",
        "refs/heads/x.", "refs/heads/a@{1}", "refs/heads/a\\b",
        "refs/heads/a:b", "refs/heads/a*", "refs/heads/a\x01", "refs/",
        "heads/main", "refs/heads/x.lock/y", "refs/heads/a~1",
        "refs/heads/a^", "refs/heads/a?", "refs/heads/a[b"
    };

    for (i = 0; i < sizeof(bad_refs) / sizeof(bad_refs[0]); i++) {
        char        line[256];
        const char *l[2];

        snprintf(line, sizeof(line), A40 " " B40 " %s", bad_refs[i]);
        l[0] = line;
        l[1] = NULL;
        n = body(b, l, 2, "");
        is_int(feed(&p, b, n, 4096, &pack), HOOP_GIT_PUSH_ERROR,
               "a ref git refuses is refused: %s", bad_refs[i]);
    }

    {
        const char *ok_refs[] = {
            A40 " " B40 " refs/heads/feature/x-1.2_y", NULL
        };

        n = body(b, ok_refs, 2, "");
        is_int(feed(&p, b, n, 4096, &pack), HOOP_GIT_PUSH_DONE,
               "one it accepts is read");
    }

    {
        const char *cert[] = {
            "push-cert\\0report-status", "certificate version 0.1\n", NULL
        };

        n = body(b, cert, 3, "");
        is_int(feed(&p, b, n, 4096, &pack), HOOP_GIT_PUSH_ERROR,
               "a push certificate is not read");
    }

    {
        const char *l[] = { A40 " " B40 "refs/heads/main", NULL };

        n = body(b, l, 2, "");
        is_int(feed(&p, b, n, 4096, &pack), HOOP_GIT_PUSH_ERROR,
               "no space before the ref");
    }

    {
        const char *l[] = {
            "8dd2c1f2a0b3e4d5c6b7a8f9e0d1c2b3a4f5e6dz " B40
            " refs/heads/main", NULL
        };

        n = body(b, l, 2, "");
        is_int(feed(&p, b, n, 4096, &pack), HOOP_GIT_PUSH_ERROR,
               "an id that is not hex");
    }

    {
        const char *l[] = {
            A40 " " B40 " refs/heads/a", A40 " " B40 " refs/heads/b\\0atomic",
            NULL
        };

        n = body(b, l, 3, "");
        is_int(feed(&p, b, n, 4096, &pack), HOOP_GIT_PUSH_ERROR,
               "capabilities on a second command");
    }

    {
        const char *l[10];

        for (i = 0; i < 9; i++) {
            l[i] = A40 " " B40 " refs/heads/main";
        }

        l[9] = NULL;
        n = body(b, l, 10, "");
        is_int(feed(&p, b, n, 4096, &pack), HOOP_GIT_PUSH_ERROR,
               "more commands than there is room for");
        ok(p.error != NULL && strstr(p.error, "more refs") != NULL,
           "says so");
    }

    is_int(feed(&p, "0004", 4, 4096, &pack), HOOP_GIT_PUSH_ERROR,
           "an empty command");
    is_int(feed(&p, "0001", 4, 4096, &pack), HOOP_GIT_PUSH_ERROR,
           "a delim in a push");
    is_int(feed(&p, "PACK", 4, 4096, &pack), HOOP_GIT_PUSH_ERROR,
           "a pack without commands");
}


static void
test_fetch(void)
{
    char              b[4096];
    size_t            n, i;
    int               rc;
    hoop_git_fetch_t  f;

    const char *v0[] = {
        "want " A40 " multi_ack_detailed side-band-64k thin-pack ofs-delta"
            " agent=git/2.39.5\n",
        "want " B40 "\n", "deepen 1\n", NULL,
        "have " A40 "\n", "have " B40 "\n", "have " Z40 "\n", "done\n"
    };

    const char *v2[] = {
        "command=fetch", "agent=git/2.39.5", "object-format=sha1", "",
        "thin-pack", "ofs-delta", "want " A40 "\n", "have " B40 "\n",
        "done\n", NULL
    };

    n = body(b, v0, 8, "");
    hoop_git_fetch_init(&f);

    for (i = 0, rc = 0; i < n; i++) {
        rc = hoop_git_fetch_feed(&f, (const unsigned char *) b + i, 1);
    }

    ok(rc == 0 && f.wants == 2 && f.haves == 3 && f.shallows == 1 && f.done,
       "v0: wants, haves, a deepen, done (byte by byte)");

    n = body(b, v2, 10, "");
    hoop_git_fetch_init(&f);
    rc = hoop_git_fetch_feed(&f, (const unsigned char *) b, n);

    is_int(rc, 1, "v2: read to its flush");
    ok(strcmp(f.command, "fetch") == 0, "the command");
    ok(f.wants == 1 && f.haves == 1 && f.done, "its arguments counted");

    hoop_git_fetch_init(&f);
    is_int(hoop_git_fetch_feed(&f, (const unsigned char *) "GET /", 5), -1,
           "not pkt-lines");
}


/*
 * A pack object: its header (type, the size it declares), a delta's base
 * offset, and its content deflated.
 */
static size_t
pack_bytes(unsigned char *out, unsigned type, size_t declared,
    const unsigned char *content, size_t len, unsigned long long ofs)
{
    size_t         n, k;
    uLongf         zlen;
    unsigned char  tmp[16];

    n = 0;
    out[n] = (unsigned char) ((type << 4) | (declared & 15));
    declared >>= 4;

    while (declared) {
        out[n++] |= 0x80;
        out[n] = declared & 0x7f;
        declared >>= 7;
    }

    n++;

    if (type == 6) {
        k = sizeof(tmp) - 1;
        tmp[k] = ofs & 0x7f;

        while (ofs >>= 7) {
            tmp[--k] = 0x80 | (--ofs & 0x7f);
        }

        memcpy(out + n, tmp + k, sizeof(tmp) - k);
        n += sizeof(tmp) - k;
    }

    zlen = 4096;
    compress(out + n, &zlen, content, len);

    return n + zlen;
}


/* a text object, declaring len bytes (a lie, for the broken packs) */
static size_t
pack_object(unsigned char *out, unsigned type, const char *content,
    size_t len, unsigned long long ofs)
{
    return pack_bytes(out, type, len, (const unsigned char *) content,
                      strlen(content), ofs);
}


/* the hex id git gives a commit */
static void
commit_id(const char *content, char *hex)
{
    char           head[64];
    unsigned int   dlen, i;
    unsigned char  md[EVP_MAX_MD_SIZE];
    EVP_MD_CTX    *ctx;

    snprintf(head, sizeof(head), "commit %zu", strlen(content));
    ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx, EVP_sha1(), NULL);
    EVP_DigestUpdate(ctx, head, strlen(head) + 1);
    EVP_DigestUpdate(ctx, content, strlen(content));
    EVP_DigestFinal_ex(ctx, md, &dlen);
    EVP_MD_CTX_free(ctx);

    for (i = 0; i < dlen; i++) {
        sprintf(hex + 2 * i, "%02x", md[i]);
    }
}


static void
test_pack(void)
{
    char                  a[41], b[41], c[41], x[41], ca[512], cb[512],
                          cc[512], cx[512], authors[256];
    size_t                n, i, off_b, step;
    unsigned char         pack[16384], parents[64 * 20];
    hoop_git_pack_t      *pk = NULL;
    hoop_git_commit_t     commits[16];
    hoop_git_pack_info_t  info = { 0 };
    hoop_git_pack_e       rc;

    snprintf(ca, sizeof(ca), "tree %s\nauthor Ada <ada@example.com> 1700000000"
             " +0000\ncommitter Ada <ada@example.com> 1700000000 +0000\n\n"
             "first\n", Z40);
    commit_id(ca, a);
    snprintf(cb, sizeof(cb), "tree %s\nparent %s\nauthor Bob <bob@example.com>"
             " 1700000001 +0000\ncommitter Bob <bob@example.com> 1700000001"
             " +0000\n\nsecond\n", Z40, a);
    commit_id(cb, b);
    snprintf(cc, sizeof(cc), "tree %s\nparent %s\nparent %s\nauthor Ada"
             " <ada@example.com> 1700000002 +0000\ncommitter Ada"
             " <ada@example.com> 1700000002 +0000\n\nmerge\n", Z40, b, A40);
    commit_id(cc, c);
    snprintf(cx, sizeof(cx), "tree %s\nparent %s\nauthor Eve <eve@example.com>"
             " 1700000003 +0000\n\nrewritten\n", Z40, A40);
    commit_id(cx, x);

    /* PACK v2, 6 objects: C, B, a blob, A, X, a delta on B; a trailer */

    memcpy(pack, "PACK\0\0\0\2\0\0\0\6", 12);
    n = 12;
    n += pack_object(pack + n, 1, cc, strlen(cc), 0);
    off_b = n;
    n += pack_object(pack + n, 1, cb, strlen(cb), 0);
    n += pack_object(pack + n, 3, "hello\n", 6, 0);
    n += pack_object(pack + n, 1, ca, strlen(ca), 0);
    n += pack_object(pack + n, 1, cx, strlen(cx), 0);
    i = n;
    n += pack_object(pack + n, 6, "xy", 2, i - off_b);
    memset(pack + n, 0, 20);
    n += 20;

    for (step = 1; step <= n; step++) {
        pk = hoop_git_pack_new(20, commits, 16, parents, 64, authors,
                               sizeof(authors));

        for (i = 0, rc = HOOP_GIT_PACK_MORE; i < n; i += step) {
            rc = hoop_git_pack_feed(pk, pack + i,
                                    n - i < step ? n - i : step);
            if (rc != HOOP_GIT_PACK_MORE) {
                break;
            }
        }

        hoop_git_pack_info(pk, &info);

        if (rc != HOOP_GIT_PACK_DONE || info.read != 6 || info.stored != 4
            || !hoop_git_pack_reaches(pk, c, a))
        {
            break;
        }

        if (step != n) {
            hoop_git_pack_free(pk);
        }
    }

    ok(step > n, "a pack read the same in pieces of any size (failed at %zu:"
       " %s)", step, info.error ? info.error : "-");
    is_int(info.objects, 6, "six objects");
    is_int(info.commits, 5, "five commits, one of them a delta");
    is_int(info.deltas, 1, "one delta");
    ok(hoop_git_pack_reaches(pk, c, b), "C descends from B");
    ok(hoop_git_pack_reaches(pk, c, a), "and from A, through B");
    ok(hoop_git_pack_reaches(pk, c, A40), "and from a commit the pack does"
       " not hold, named as a parent");
    ok(!hoop_git_pack_reaches(pk, a, c), "A does not descend from C");
    ok(!hoop_git_pack_reaches(pk, x, b), "X rewrote history: not from B");
    ok(!hoop_git_pack_reaches(pk, B40, a), "a commit not in the pack proves"
       " nothing");
    is_int(info.authors, 3, "three distinct authors");
    ok(strcmp(hoop_git_pack_author(pk, 0), "Ada <ada@example.com>") == 0,
       "named as git writes them");
    hoop_git_pack_free(pk);

    /* broken packs */

    pk = hoop_git_pack_new(20, commits, 16, parents, 64, authors,
                           sizeof(authors));
    is_int(hoop_git_pack_feed(pk, (const unsigned char *) "PACX\0\0\0\2\0\0"
                              "\0\1", 12), HOOP_GIT_PACK_ERROR, "not a pack");
    hoop_git_pack_free(pk);

    memcpy(pack, "PACK\0\0\0\2\0\0\0\1", 12);
    n = 12 + pack_object(pack + 12, 3, "hello\n", 5, 0);
    pk = hoop_git_pack_new(20, commits, 16, parents, 64, authors,
                           sizeof(authors));
    is_int(hoop_git_pack_feed(pk, pack, n), HOOP_GIT_PACK_ERROR,
           "an object larger than its header says");
    hoop_git_pack_free(pk);

    n = 12 + pack_object(pack + 12, 3, "hello\n", 6, 0);
    pk = hoop_git_pack_new(20, commits, 16, parents, 64, authors,
                           sizeof(authors));
    is_int(hoop_git_pack_feed(pk, pack, n - 3), HOOP_GIT_PACK_MORE,
           "a pack cut short: more wanted");
    ok(!hoop_git_pack_reaches(pk, c, a), "and nothing proven");
    hoop_git_pack_free(pk);

    n = 12 + pack_object(pack + 12, 6, "xy", 2, 100);
    pk = hoop_git_pack_new(20, commits, 16, parents, 64, authors,
                           sizeof(authors));
    is_int(hoop_git_pack_feed(pk, pack, n), HOOP_GIT_PACK_ERROR,
           "a delta whose base is before the pack");
    hoop_git_pack_free(pk);

    /* no room: what is not kept proves nothing */

    memcpy(pack, "PACK\0\0\0\2\0\0\0\3", 12);
    n = 12;
    n += pack_object(pack + n, 1, cc, strlen(cc), 0);
    n += pack_object(pack + n, 1, cb, strlen(cb), 0);
    n += pack_object(pack + n, 1, ca, strlen(ca), 0);
    memset(pack + n, 0, 20);
    n += 20;
    pk = hoop_git_pack_new(20, commits, 1, parents, 64, authors,
                           sizeof(authors));
    is_int(hoop_git_pack_feed(pk, pack, n), HOOP_GIT_PACK_DONE,
           "a pack with more commits than room");
    hoop_git_pack_info(pk, &info);
    ok(info.overflow && info.stored == 1, "says so");
    ok(hoop_git_pack_reaches(pk, c, b), "C to its parent B: proven");
    ok(!hoop_git_pack_reaches(pk, c, a), "C to A through B, not kept: not");
    hoop_git_pack_free(pk);

    /* a parent line after the author is no parent to git: proves nothing */

    {
        char  late[512], y[41];

        snprintf(late, sizeof(late), "tree %s\nauthor Mal <m@example.com>"
                 " 1 +0000\ncommitter Mal <m@example.com> 1 +0000\nparent"
                 " %s\n\nrewritten\n", Z40, a);
        commit_id(late, y);
        memcpy(pack, "PACK\0\0\0\2\0\0\0\1", 12);
        n = 12 + pack_object(pack + 12, 1, late, strlen(late), 0);
        memset(pack + n, 0, 20);
        n += 20;
        pk = hoop_git_pack_new(20, commits, 16, parents, 64, authors,
                               sizeof(authors));
        hoop_git_pack_feed(pk, pack, n);
        ok(!hoop_git_pack_reaches(pk, y, a), "a parent line out of place"
           " proves no fast-forward");
        hoop_git_pack_free(pk);
    }

    /* a compression bomb: refused before it is inflated to its end */

    {
        char           *zeros;
        unsigned char  *bomb;
        size_t          zlen = 200 * 1024 * 1024;
        uLongf          blen;

        zeros = calloc(1, zlen + 1);
        bomb = malloc(zlen / 500 + 4096);
        blen = zlen / 500 + 4000;
        memcpy(bomb, "PACK\0\0\0\2\0\0\0\1", 12);
        /* a 200 MB blob's header, then its deflated zeros */
        bomb[12] = 0xb0;
        bomb[13] = 0x80;
        bomb[14] = 0x80;
        bomb[15] = 0xa0;
        bomb[16] = 0x06;
        compress2(bomb + 17, &blen, (unsigned char *) zeros, zlen, 9);
        pk = hoop_git_pack_new(20, commits, 16, parents, 64, authors,
                               sizeof(authors));
        is_int(hoop_git_pack_feed(pk, bomb, 17 + blen), HOOP_GIT_PACK_ERROR,
               "a 200 MB blob deflated into %lu bytes is refused",
               (unsigned long) blen);
        hoop_git_pack_info(pk, &info);
        ok(info.bytes < 64 * 1024 * 1024 && info.error != NULL
           && strstr(info.error, "inflates") != NULL, "before it is inflated"
           " to its end (%llu bytes: %s)", info.bytes,
           info.error ? info.error : "-");
        hoop_git_pack_free(pk);
        free(zeros);
        free(bomb);
    }
}


/* a raw object id: SHA-1 of "<type> <len>\0" and the content */
static void
object_id(const char *type, const void *content, size_t len,
    unsigned char *id)
{
    char          head[64];
    unsigned int  dlen;
    EVP_MD_CTX   *ctx;

    snprintf(head, sizeof(head), "%s %zu", type, len);
    ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx, EVP_sha1(), NULL);
    EVP_DigestUpdate(ctx, head, strlen(head) + 1);
    EVP_DigestUpdate(ctx, content, len);
    EVP_DigestFinal_ex(ctx, id, &dlen);
    EVP_MD_CTX_free(ctx);
}


/* what the scanner was given */
static char    seen[4096];
static size_t  seen_len;
static int     seen_objects;
static unsigned char  seen_blob[20];

static void
content(void *data, hoop_git_content_e event, const unsigned char *p,
    size_t len)
{
    (void) data;

    if (event == HOOP_GIT_CONTENT_START) {
        seen_objects++;
        seen[seen_len++] = '[';

    } else if (event == HOOP_GIT_CONTENT_DATA) {
        memcpy(seen + seen_len, p, len);
        seen_len += len;

    } else {
        seen[seen_len++] = ']';

        if (len == 20) {
            memcpy(seen_blob, p, 20);
        }
    }
}


/* a raw (binary) pack object, for trees and deltas built by hand */
static size_t
pack_raw(unsigned char *out, unsigned type, const unsigned char *content,
    size_t len, unsigned long long ofs)
{
    return pack_bytes(out, type, len, content, len, ofs);
}


static void
test_pack_content(void)
{
    char              path[256];
    size_t            n, t1, i, step;
    unsigned char     pack[16384], blob_id[20], sub_id[20], tree[256],
                      root[256], delta[64], parents[20 * 8];
    hoop_git_pack_t  *pk = NULL;
    hoop_git_commit_t commits[4];
    hoop_git_entry_t  entries[16];
    unsigned char     trees[32 * 8];
    char              names[256], authors[64];
    size_t            tlen, rlen, dlen;

    static const char  secret[] = "key = AKIAIOSFODNN7EXAMPLE\n";

    object_id("blob", secret, strlen(secret), blob_id);

    tlen = (size_t) sprintf((char *) tree, "100644 creds.txt") + 1;
    memcpy(tree + tlen, blob_id, 20);
    tlen += 20;
    object_id("tree", tree, tlen, sub_id);

    rlen = (size_t) sprintf((char *) root, "40000 config") + 1;
    memcpy(root + rlen, sub_id, 20);
    rlen += 20;

    /* a delta on the subtree: sizes, a copy of 4 bytes, "added" inserted */

    dlen = 0;
    delta[dlen++] = (unsigned char) tlen;
    delta[dlen++] = 9;
    delta[dlen++] = 0x90;               /* copy: one size byte */
    delta[dlen++] = 4;
    delta[dlen++] = 5;                  /* insert 5 bytes */
    memcpy(delta + dlen, "added", 5);
    dlen += 5;

    memcpy(pack, "PACK\0\0\0\2\0\0\0\4", 12);
    n = 12;
    n += pack_raw(pack + n, 2, root, rlen, 0);
    t1 = n;
    n += pack_raw(pack + n, 2, tree, tlen, 0);
    n += pack_raw(pack + n, 3, (const unsigned char *) secret,
                  strlen(secret), 0);
    i = n;
    n += pack_raw(pack + n, 6, delta, dlen, i - t1);
    memset(pack + n, 0, 20);
    n += 20;

    for (step = 1; step <= n; step++) {
        seen_len = 0;
        seen_objects = 0;
        pk = hoop_git_pack_new(20, commits, 4, parents, 8, authors,
                               sizeof(authors));
        hoop_git_pack_content(pk, content, NULL, entries, 16, trees, 8,
                              names, sizeof(names));

        for (i = 0; i < n; i += step) {
            if (hoop_git_pack_feed(pk, pack + i, n - i < step ? n - i : step)
                == HOOP_GIT_PACK_ERROR)
            {
                break;
            }
        }

        if (seen_len != strlen(secret) + 2 + 8 || seen_objects != 2
            || memcmp(seen_blob, blob_id, 20) != 0)
        {
            break;
        }

        if (step != n) {
            hoop_git_pack_free(pk);
        }
    }

    ok(step > n, "blobs and inserted text given for scanning, in pieces of"
       " any size (failed at %zu)", step);
    is_mem(seen, seen_len, "[key = AKIAIOSFODNN7EXAMPLE\n][\nadded]",
           strlen(secret) + 10, "the blob whole, a delta's inserts alone");
    n = hoop_git_pack_path(pk, blob_id, path, sizeof(path));
    is_mem(path, n, "config/creds.txt", 16,
           "the blob's path, as the pack's trees name it");
    is_int(hoop_git_pack_path(pk, (const unsigned char *) B40, path,
                              sizeof(path)), 0, "a blob no tree names");
    hoop_git_pack_free(pk);
}


int
main(void)
{
    test_pkt();
    test_push();
    test_push_refused();
    test_fetch();
    test_pack();
    test_pack_content();

    return done_testing();
}
