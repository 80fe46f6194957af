/*
 * Copyright (C) nginx-hoop authors
 *
 * A pushed pack, read as it streams: the 12-byte header, each object's
 * type and size, a delta's base, its zlib stream inflated to its end (the
 * only way to know where the next object starts), and the trailer.
 * Commits are hashed as git names them ("commit <size>\0" + content) and
 * their headers read for parents and author.
 */

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <zlib.h>

#include "hoop_git.h"
#include "hoop_hex.h"


/* a commit's header lines kept for reading: tree, parents, author */
#define HOOP_GIT_PACK_HEAD  8192
#define HOOP_GIT_PACK_OUT   16384


enum {
    HOOP_GIT_PACK_S_HEADER = 0,
    HOOP_GIT_PACK_S_OBJECT,         /* type and size */
    HOOP_GIT_PACK_S_OFS,            /* an offset delta's base */
    HOOP_GIT_PACK_S_REF,            /* a ref delta's base id */
    HOOP_GIT_PACK_S_DATA,           /* its zlib stream */
    HOOP_GIT_PACK_S_TRAILER,
    HOOP_GIT_PACK_S_DONE,
    HOOP_GIT_PACK_S_FAILED
};


struct hoop_git_pack_s {
    size_t               oid_len;
    hoop_git_commit_t   *commits;
    size_t               max_commits;
    unsigned char       *parents;
    size_t               max_parents;
    size_t               nparents;
    char                *authors;
    size_t               authors_size;
    size_t               authors_len;

    int                  state;
    unsigned char        hdr[12];
    size_t               hlen;          /* of hdr, or of a varint, ... */
    unsigned             shift;
    unsigned long long   offset;        /* where the pack is */
    unsigned long long   obj_offset;    /* where this object started */
    unsigned             type;
    unsigned long long   size;
    unsigned long long   ofs;
    unsigned long long   out;           /* inflated of this object */
    int                  zinit;
    z_stream             z;
    EVP_MD_CTX          *md;
    const EVP_MD        *md_type;
    unsigned char        head[HOOP_GIT_PACK_HEAD];
    size_t               head_len;
    unsigned char        buf[HOOP_GIT_PACK_OUT];
    unsigned             gen;           /* walks made */

    /* content for scanning, and the trees that name it */
    hoop_git_content_pt  each;
    void                *each_data;
    int                  content;       /* this object's goes to each */
    hoop_git_entry_t    *entries;
    size_t               max_entries;
    size_t               nentries;
    unsigned char       *trees;         /* ids of the trees read */
    size_t               max_trees;
    size_t               ntrees;
    size_t               tree_first;    /* this tree's first entry */
    char                *names;
    size_t               names_size;
    size_t               names_len;
    unsigned char        tbuf[HOOP_GIT_REF_MAX + 64];
    size_t               tlen;          /* an entry being read */
    size_t               tid;           /* ... where its id starts */
    int                  tstate;        /* 0 mode and name, 1 its id */
    int                  tree_lost;     /* an entry not kept */

    /* a delta's instructions, read for what they insert */
    int                  dstate;
    unsigned long long   dleft;         /* bytes of this instruction */
    unsigned             dvar;          /* header varints left */

    hoop_git_pack_info_t info;
};


static hoop_git_pack_e hoop_git_pack_fail(hoop_git_pack_t *pk,
    const char *error);
static int hoop_git_pack_inflate(hoop_git_pack_t *pk,
    const unsigned char *data, size_t len, size_t *used);
static int hoop_git_pack_object_start(hoop_git_pack_t *pk);
static void hoop_git_pack_commit(hoop_git_pack_t *pk);
static void hoop_git_pack_author_add(hoop_git_pack_t *pk,
    const unsigned char *s, size_t n);
static int hoop_git_oid_parse(const unsigned char *s, size_t n,
    unsigned char *out, size_t oid_len);
static int hoop_git_pack_cmp(const void *a, const void *b);
static void hoop_git_pack_tree(hoop_git_pack_t *pk, const unsigned char *p,
    size_t n);
static void hoop_git_pack_tree_end(hoop_git_pack_t *pk,
    const unsigned char *id);
static void hoop_git_pack_delta(hoop_git_pack_t *pk, const unsigned char *p,
    size_t n);
static void hoop_git_pack_delta_entries(hoop_git_pack_t *pk,
    const unsigned char *p, size_t n);
static size_t hoop_git_pack_find(hoop_git_pack_t *pk,
    const unsigned char *id);


hoop_git_pack_t *
hoop_git_pack_new(size_t oid_len, hoop_git_commit_t *commits,
    size_t max_commits, unsigned char *parents, size_t max_parents,
    char *authors, size_t authors_size)
{
    hoop_git_pack_t  *pk;

    pk = calloc(1, sizeof(hoop_git_pack_t));
    if (pk == NULL) {
        return NULL;
    }

    pk->oid_len = (oid_len == 32) ? 32 : 20;
    pk->commits = commits;
    pk->max_commits = max_commits;
    pk->parents = parents;
    pk->max_parents = max_parents;
    pk->authors = authors;
    pk->authors_size = authors_size;
    pk->md_type = (pk->oid_len == 32) ? EVP_sha256() : EVP_sha1();

    pk->md = EVP_MD_CTX_new();

    if (pk->md == NULL || inflateInit(&pk->z) != Z_OK) {
        EVP_MD_CTX_free(pk->md);
        free(pk);
        return NULL;
    }

    pk->zinit = 1;

    return pk;
}


void
hoop_git_pack_free(hoop_git_pack_t *pk)
{
    if (pk == NULL) {
        return;
    }

    if (pk->zinit) {
        inflateEnd(&pk->z);
    }

    EVP_MD_CTX_free(pk->md);
    free(pk);
}


hoop_git_pack_e
hoop_git_pack_feed(hoop_git_pack_t *pk, const unsigned char *data,
    size_t len)
{
    size_t         i, used;
    unsigned int   dlen;
    unsigned char  c, digest[EVP_MAX_MD_SIZE];

    i = 0;

    while (i < len || pk->state == HOOP_GIT_PACK_S_DATA) {

        switch (pk->state) {

        case HOOP_GIT_PACK_S_HEADER:
            pk->hdr[pk->hlen++] = data[i++];
            pk->offset++;

            if (pk->hlen < 12) {
                break;
            }

            if (memcmp(pk->hdr, "PACK", 4) != 0
                || pk->hdr[4] != 0 || pk->hdr[5] != 0 || pk->hdr[6] != 0
                || (pk->hdr[7] != 2 && pk->hdr[7] != 3))
            {
                return hoop_git_pack_fail(pk, "not a version 2 or 3 pack");
            }

            pk->info.objects = ((unsigned long long) pk->hdr[8] << 24)
                               | ((unsigned long long) pk->hdr[9] << 16)
                               | ((unsigned long long) pk->hdr[10] << 8)
                               | pk->hdr[11];
            pk->hlen = 0;
            pk->state = pk->info.objects ? HOOP_GIT_PACK_S_OBJECT
                                         : HOOP_GIT_PACK_S_TRAILER;
            break;

        case HOOP_GIT_PACK_S_OBJECT:
            c = data[i++];

            if (pk->hlen == 0) {
                pk->obj_offset = pk->offset;
                pk->type = (c >> 4) & 7;
                pk->size = c & 15;
                pk->shift = 4;

            } else {
                if (pk->shift > 57) {
                    return hoop_git_pack_fail(pk, "an object size overflows");
                }

                pk->size |= (unsigned long long) (c & 0x7f) << pk->shift;
                pk->shift += 7;
            }

            pk->offset++;
            pk->hlen++;

            if (c & 0x80) {
                break;
            }

            pk->hlen = 0;

            if (pk->type == 0 || pk->type == 5) {
                return hoop_git_pack_fail(pk, "an object of no known type");
            }

            pk->ofs = 0;
            pk->state = pk->type == 6 ? HOOP_GIT_PACK_S_OFS
                        : pk->type == 7 ? HOOP_GIT_PACK_S_REF
                        : HOOP_GIT_PACK_S_DATA;

            if (pk->state == HOOP_GIT_PACK_S_DATA
                && hoop_git_pack_object_start(pk) != 0)
            {
                return hoop_git_pack_fail(pk, "out of memory");
            }

            break;

        case HOOP_GIT_PACK_S_OFS:
            c = data[i++];
            pk->offset++;

            if (pk->hlen > 0) {
                if (pk->ofs >= (1ULL << 56)) {
                    return hoop_git_pack_fail(pk, "a delta offset overflows");
                }

                pk->ofs = (pk->ofs + 1) << 7;
            }

            pk->ofs |= c & 0x7f;
            pk->hlen++;

            if (c & 0x80) {
                break;
            }

            pk->hlen = 0;

            if (pk->ofs == 0 || pk->ofs > pk->obj_offset) {
                return hoop_git_pack_fail(pk, "a delta's base is outside"
                                          " the pack");
            }

            pk->state = HOOP_GIT_PACK_S_DATA;

            if (hoop_git_pack_object_start(pk) != 0) {
                return hoop_git_pack_fail(pk, "out of memory");
            }

            break;

        case HOOP_GIT_PACK_S_REF:
            i++;
            pk->offset++;

            if (++pk->hlen < pk->oid_len) {
                break;
            }

            pk->hlen = 0;
            pk->state = HOOP_GIT_PACK_S_DATA;

            if (hoop_git_pack_object_start(pk) != 0) {
                return hoop_git_pack_fail(pk, "out of memory");
            }

            break;

        case HOOP_GIT_PACK_S_DATA:
            switch (hoop_git_pack_inflate(pk, data + i, len - i, &used)) {
            case 0:
                i += used;
                pk->offset += used;
                return HOOP_GIT_PACK_MORE;

            case 1:
                i += used;
                pk->offset += used;
                break;

            default:
                return HOOP_GIT_PACK_ERROR;
            }

            pk->info.read++;

            if (pk->type == 1) {
                hoop_git_pack_commit(pk);

            } else if (pk->type == 2 || pk->type == 3) {
                if (EVP_DigestFinal_ex(pk->md, digest, &dlen) != 1) {
                    return hoop_git_pack_fail(pk, "out of memory");
                }

                if (pk->type == 2 && pk->entries != NULL) {
                    hoop_git_pack_tree_end(pk, digest);
                }
            }

            if (pk->content) {
                pk->each(pk->each_data, HOOP_GIT_CONTENT_END,
                         pk->type == 3 ? digest : NULL,
                         pk->type == 3 ? pk->oid_len : 0);
                pk->content = 0;
            }

            pk->state = (pk->info.read == pk->info.objects)
                        ? HOOP_GIT_PACK_S_TRAILER : HOOP_GIT_PACK_S_OBJECT;
            break;

        case HOOP_GIT_PACK_S_TRAILER:
            i++;
            pk->offset++;

            if (++pk->hlen == pk->oid_len) {
                pk->state = HOOP_GIT_PACK_S_DONE;
            }

            break;

        case HOOP_GIT_PACK_S_DONE:
            return hoop_git_pack_fail(pk, "bytes after the pack");

        default:
            return HOOP_GIT_PACK_ERROR;
        }
    }

    return pk->state == HOOP_GIT_PACK_S_DONE ? HOOP_GIT_PACK_DONE
                                             : HOOP_GIT_PACK_MORE;
}


static int
hoop_git_pack_object_start(hoop_git_pack_t *pk)
{
    char                prefix[32];
    int                 n, commit_delta;
    size_t              k, lo, hi;
    unsigned long long  base;

    commit_delta = 0;

    if (inflateReset(&pk->z) != Z_OK) {
        return -1;
    }

    pk->out = 0;
    pk->head_len = 0;

    /* a delta whose base is a commit is a commit: not resolved */

    if (pk->type == 6) {
        pk->info.deltas++;

        /* commits are stored in pack order while it is read */

        base = pk->obj_offset - pk->ofs;
        lo = 0;
        hi = pk->info.stored;

        while (lo < hi) {
            k = lo + (hi - lo) / 2;

            if (pk->commits[k].offset == base) {
                pk->info.commits++;
                commit_delta = 1;
                break;
            }

            if (pk->commits[k].offset < base) {
                lo = k + 1;

            } else {
                hi = k;
            }
        }
    }

    if (pk->type == 7) {
        pk->info.deltas++;
    }

    /* what a push adds to files: blobs, and what deltas insert */

    pk->content = pk->each != NULL
                  && (pk->type == 1 || pk->type == 3 || pk->type == 4
                      || (pk->type >= 6 && !commit_delta));

    if (pk->content) {
        pk->dstate = 0;
        pk->dvar = 2;
        pk->each(pk->each_data, HOOP_GIT_CONTENT_START, NULL, 0);
    }

    pk->tlen = 0;
    pk->tstate = 0;
    pk->tree_first = pk->nentries;

    if (pk->type > 3) {
        return 0;
    }

    n = snprintf(prefix, sizeof(prefix), "%s %llu",
                 pk->type == 1 ? "commit" : pk->type == 2 ? "tree" : "blob",
                 pk->size);
    if (EVP_DigestInit_ex(pk->md, pk->md_type, NULL) != 1
        || EVP_DigestUpdate(pk->md, prefix, (size_t) n + 1) != 1)
    {
        return -1;
    }

    return 0;
}


/* 1: the object's stream ended, *used bytes in; 0: more; -1: failed */
static int
hoop_git_pack_inflate(hoop_git_pack_t *pk, const unsigned char *data,
    size_t len, size_t *used)
{
    int     rc;
    size_t  n, k;

    pk->z.next_in = (unsigned char *) data;
    pk->z.avail_in = (uInt) (len > 0x40000000 ? 0x40000000 : len);

    for ( ;; ) {
        pk->z.next_out = pk->buf;
        pk->z.avail_out = sizeof(pk->buf);

        rc = inflate(&pk->z, Z_NO_FLUSH);

        n = sizeof(pk->buf) - pk->z.avail_out;
        pk->out += n;
        pk->info.bytes += n;

        if (pk->out > pk->size) {
            hoop_git_pack_fail(pk, "an object is larger than it says");
            return -1;
        }

        /* a compression bomb is not inflated to its end */

        if (pk->info.bytes > HOOP_GIT_PACK_RATIO * pk->offset
                             + HOOP_GIT_PACK_SLACK)
        {
            hoop_git_pack_fail(pk, "it inflates to more than 32 times its"
                               " size");
            return -1;
        }

        if (pk->type <= 3 && n > 0
            && EVP_DigestUpdate(pk->md, pk->buf, n) != 1)
        {
            hoop_git_pack_fail(pk, "out of memory");
            return -1;
        }

        if (pk->type == 1 && n > 0) {
            k = sizeof(pk->head) - pk->head_len;
            k = n < k ? n : k;
            memcpy(pk->head + pk->head_len, pk->buf, k);
            pk->head_len += k;

            if (pk->content) {
                pk->each(pk->each_data, HOOP_GIT_CONTENT_DATA, pk->buf, n);
            }

        } else if (pk->type == 2 && pk->entries != NULL) {
            hoop_git_pack_tree(pk, pk->buf, n);

        } else if (pk->content && (pk->type == 3 || pk->type == 4) && n > 0) {
            pk->each(pk->each_data, HOOP_GIT_CONTENT_DATA, pk->buf, n);

        } else if (pk->content) {
            hoop_git_pack_delta(pk, pk->buf, n);
        }

        if (rc == Z_STREAM_END) {
            *used = (size_t) (pk->z.next_in - data);

            if (pk->out != pk->size) {
                hoop_git_pack_fail(pk, "an object is smaller than it says");
                return -1;
            }

            return 1;
        }

        if (rc == Z_BUF_ERROR || (rc == Z_OK && pk->z.avail_in == 0
                                  && pk->z.avail_out != 0))
        {
            *used = (size_t) (pk->z.next_in - data);

            if (*used != len && rc == Z_BUF_ERROR) {
                hoop_git_pack_fail(pk, "a broken zlib stream");
                return -1;
            }

            if (*used == len) {
                return 0;
            }

            continue;
        }

        if (rc != Z_OK) {
            hoop_git_pack_fail(pk, "a broken zlib stream");
            return -1;
        }
    }
}


/* A commit read: its id, parents, author. */
static void
hoop_git_pack_commit(hoop_git_pack_t *pk)
{
    int                  parents;
    size_t               i, e, n;
    unsigned int         dlen;
    unsigned char        digest[EVP_MAX_MD_SIZE];
    hoop_git_commit_t   *c;
    const unsigned char *s;

    pk->info.commits++;

    if (EVP_DigestFinal_ex(pk->md, digest, &dlen) != 1) {
        pk->info.overflow = 1;
        return;
    }

    if (pk->info.stored == pk->max_commits) {
        pk->info.overflow = 1;
        return;
    }

    c = &pk->commits[pk->info.stored];
    memset(c, 0, sizeof(hoop_git_commit_t));
    memcpy(c->id, digest, pk->oid_len);
    c->offset = pk->obj_offset;
    c->parent = pk->nparents;

    /*
     * header lines, to the blank line (or as far as they were kept): as
     * git reads a commit, "tree" first, and its parents are the "parent"
     * lines right after it, none later
     */

    s = pk->head;
    n = pk->head_len;

    if (n < 5 || memcmp(s, "tree ", 5) != 0) {
        return;                         /* not git's: not kept */
    }

    parents = 1;

    for (i = 0; i < n; i = e + 1) {
        for (e = i; e < n && s[e] != '\n'; e++) { /* void */ }

        if (e == n || e == i) {
            break;                      /* cut off, or the message */
        }

        if (i > 0 && !(e - i > 7 && memcmp(s + i, "parent ", 7) == 0)) {
            parents = 0;
        }

        if (parents && i > 0) {
            if (pk->nparents == pk->max_parents) {
                pk->info.overflow = 1;
                c->nparents = 0;
                c->parent = 0;
                return;                 /* not kept: not proven through */
            }

            if (hoop_git_oid_parse(s + i + 7, e - i - 7,
                                   pk->parents + pk->nparents * pk->oid_len,
                                   pk->oid_len)
                != 0)
            {
                return;                 /* not git's: not kept */
            }

            pk->nparents++;
            c->nparents++;

        } else if (e - i > 7 && memcmp(s + i, "author ", 7) == 0) {
            hoop_git_pack_author_add(pk, s + i + 7, e - i - 7);
        }
    }

    pk->info.stored++;
}


/* "Name <email> 1700000000 +0000": the name and email, once each */
static void
hoop_git_pack_author_add(hoop_git_pack_t *pk, const unsigned char *s,
    size_t n)
{
    size_t       k, at;
    const char  *a;

    for (k = n; k > 0 && s[k - 1] != '>'; k--) { /* void */ }

    if (k == 0) {
        return;
    }

    n = k;

    for (at = 0, a = pk->authors; at < pk->authors_len;
         at += strlen(a) + 1, a = pk->authors + at)
    {
        if (strlen(a) == n && memcmp(a, s, n) == 0) {
            return;
        }
    }

    if (pk->authors_len + n + 1 > pk->authors_size) {
        pk->info.overflow = 1;
        return;
    }

    memcpy(pk->authors + pk->authors_len, s, n);
    pk->authors[pk->authors_len + n] = '\0';
    pk->authors_len += n + 1;
    pk->info.authors++;
}


const char *
hoop_git_pack_author(const hoop_git_pack_t *pk, size_t i)
{
    size_t  at;

    for (at = 0; at < pk->authors_len; at += strlen(pk->authors + at) + 1) {
        if (i-- == 0) {
            return pk->authors + at;
        }
    }

    return NULL;
}


int
hoop_git_pack_object_type(const hoop_git_pack_t *pk)
{
    return (int) pk->type;
}


const char *
hoop_git_pack_entry_name(const hoop_git_pack_t *pk, size_t i, size_t *len)
{
    if (pk->entries == NULL || i >= pk->nentries) {
        return NULL;
    }

    *len = pk->entries[i].name_len;

    return pk->names + pk->entries[i].name;
}


void
hoop_git_pack_info(const hoop_git_pack_t *pk, hoop_git_pack_info_t *info)
{
    *info = pk->info;
}


static int
hoop_git_oid_parse(const unsigned char *s, size_t n, unsigned char *out,
    size_t oid_len)
{
    size_t  i;
    int     hi, lo;

    if (n != 2 * oid_len) {
        return -1;
    }

    for (i = 0; i < oid_len; i++) {
        hi = hoop_hex_value(s[2 * i]);
        lo = hoop_hex_value(s[2 * i + 1]);

        if (hi < 0 || lo < 0) {
            return -1;
        }

        out[i] = (unsigned char) (hi << 4 | lo);
    }

    return 0;
}


static int
hoop_git_pack_cmp(const void *a, const void *b)
{
    return memcmp(((const hoop_git_commit_t *) a)->id,
                  ((const hoop_git_commit_t *) b)->id, 32);
}


/* the stored commit with this id, or (size_t) -1 */
static size_t
hoop_git_pack_find(hoop_git_pack_t *pk, const unsigned char *id)
{
    size_t  lo, hi, mid;
    int     c;

    lo = 0;
    hi = pk->info.stored;

    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        c = memcmp(pk->commits[mid].id, id, pk->oid_len);

        if (c == 0) {
            return mid;
        }

        if (c < 0) {
            lo = mid + 1;

        } else {
            hi = mid;
        }
    }

    return (size_t) -1;
}


int
hoop_git_pack_reaches(hoop_git_pack_t *pk, const char *new_hex,
    const char *old_hex)
{
    size_t               k, p, head, tail, none;
    unsigned char        new_id[32], old_id[32], *parent;
    hoop_git_commit_t   *c;

    if (pk->state != HOOP_GIT_PACK_S_DONE
        || hoop_git_oid_parse((const unsigned char *) new_hex,
                              strlen(new_hex), new_id, pk->oid_len) != 0
        || hoop_git_oid_parse((const unsigned char *) old_hex,
                              strlen(old_hex), old_id, pk->oid_len) != 0)
    {
        return 0;
    }

    /* sorted once, by id (ids are zero-padded to 32 bytes) */

    if (pk->gen == 0) {
        qsort(pk->commits, pk->info.stored, sizeof(hoop_git_commit_t),
              hoop_git_pack_cmp);
    }

    pk->gen++;
    none = (size_t) -1;

    k = hoop_git_pack_find(pk, new_id);

    if (k == none) {
        return 0;
    }

    /* breadth first from new, each commit once */

    pk->commits[k].seen = pk->gen;
    pk->commits[k].next = none;
    head = k;
    tail = k;

    while (head != none) {
        c = &pk->commits[head];

        for (p = 0; p < c->nparents; p++) {
            parent = pk->parents + (c->parent + p) * pk->oid_len;

            if (memcmp(parent, old_id, pk->oid_len) == 0) {
                return 1;
            }

            k = hoop_git_pack_find(pk, parent);

            if (k == none || pk->commits[k].seen == pk->gen) {
                continue;
            }

            pk->commits[k].seen = pk->gen;
            pk->commits[k].next = none;
            pk->commits[tail].next = k;
            tail = k;
        }

        head = c->next;
    }

    return 0;
}


void
hoop_git_pack_content(hoop_git_pack_t *pk, hoop_git_content_pt each,
    void *data, hoop_git_entry_t *entries, size_t max_entries,
    unsigned char *trees, size_t max_trees, char *names, size_t names_size)
{
    pk->each = each;
    pk->each_data = data;
    pk->entries = entries;
    pk->max_entries = max_entries;
    pk->trees = trees;
    pk->max_trees = max_trees;
    pk->names = names;
    pk->names_size = names_size;
}


/*
 * A tree's entries, "<mode> <name>\0<raw id>" one after another, kept as
 * (id, this tree, name) while there is room; the tree's own id is known
 * at its end.
 */
static void
hoop_git_pack_tree(hoop_git_pack_t *pk, const unsigned char *p, size_t n)
{
    size_t               i, k;
    unsigned char       *sp;
    hoop_git_entry_t    *e;

    for (i = 0; i < n; i++) {
        if (pk->tlen == sizeof(pk->tbuf)) {
            pk->tree_lost = 1;          /* a name past any ref's length */
            return;
        }

        pk->tbuf[pk->tlen++] = p[i];

        if (pk->tstate == 0) {
            if (p[i] == '\0') {
                pk->tstate = 1;
                pk->tid = pk->tlen;
            }

            continue;
        }

        if (pk->tlen - pk->tid < pk->oid_len) {
            continue;
        }

        /* an entry: its name after the mode's space */

        sp = memchr(pk->tbuf, ' ', pk->tid);
        k = sp ? pk->tid - 1 - (size_t) (sp + 1 - pk->tbuf) : 0;

        if (sp != NULL && pk->nentries < pk->max_entries
            && pk->ntrees < pk->max_trees
            && pk->names_len + k <= pk->names_size)
        {
            e = &pk->entries[pk->nentries++];
            memset(e->id, 0, sizeof(e->id));
            memcpy(e->id, pk->tbuf + pk->tid, pk->oid_len);
            e->tree = (unsigned) pk->ntrees;
            e->name = (unsigned) pk->names_len;
            e->name_len = (unsigned) k;
            memcpy(pk->names + pk->names_len, sp + 1, e->name_len);
            pk->names_len += e->name_len;

        } else {
            pk->tree_lost = 1;
        }

        pk->tlen = 0;
        pk->tstate = 0;
    }
}


static void
hoop_git_pack_tree_end(hoop_git_pack_t *pk, const unsigned char *id)
{
    if (pk->ntrees == pk->max_trees) {
        pk->nentries = pk->tree_first;  /* a tree of no known id */
        pk->tree_lost = 1;
        return;
    }

    memset(pk->trees + pk->ntrees * 32, 0, 32);
    memcpy(pk->trees + pk->ntrees * 32, id, pk->oid_len);
    pk->ntrees++;
}


/*
 * A delta's instructions (gitformat-pack(5)): two sizes, then copies
 * (0x80 and up to 7 bytes of offset and size) and inserts (1 to 127
 * literal bytes): the inserts go to the scanner, a copy breaks them.
 */
static void
hoop_git_pack_delta(hoop_git_pack_t *pk, const unsigned char *p, size_t n)
{
    size_t         i, k;
    unsigned char  c;

    for (i = 0; i < n; /* void */) {

        if (pk->dvar > 0) {
            if (!(p[i++] & 0x80)) {
                pk->dvar--;
            }

            continue;
        }

        if (pk->dstate == 1) {          /* an insert's bytes */
            k = n - i < pk->dleft ? n - i : (size_t) pk->dleft;
            pk->each(pk->each_data, HOOP_GIT_CONTENT_DATA, p + i, k);

            if (pk->entries != NULL) {
                hoop_git_pack_delta_entries(pk, p + i, k);
            }

            i += k;
            pk->dleft -= k;

            if (pk->dleft == 0) {
                pk->dstate = 0;
            }

            continue;
        }

        if (pk->dstate == 2) {          /* a copy's offset and size */
            i++;

            if (--pk->dleft == 0) {
                pk->dstate = 0;
            }

            continue;
        }

        c = p[i++];

        if (c & 0x80) {
            pk->dleft = 0;

            for (k = 0; k < 7; k++) {
                pk->dleft += (c >> k) & 1;
            }

            pk->dstate = pk->dleft ? 2 : 0;
            pk->each(pk->each_data, HOOP_GIT_CONTENT_DATA,
                     (const unsigned char *) "\n", 1);

            pk->tlen = 0;               /* entries resume after a copy */
            pk->tstate = 0;

        } else if (c != 0) {
            pk->dleft = c;
            pk->dstate = 1;
        }
    }
}


/*
 * The text a delta inserts, read as tree entries where it is some: a
 * directory or file added to a tree is inserted whole ("<mode> <name>\0"
 * and its id), which names it even though the tree it goes into (a delta
 * of a tree the server has) is not known; its tree is then
 * HOOP_GIT_TREE_UNKNOWN.  Text that is not entries stops the reading
 * until the next copy.
 */
static void
hoop_git_pack_delta_entries(hoop_git_pack_t *pk, const unsigned char *p,
    size_t n)
{
    size_t             i, k;
    unsigned char      c;
    hoop_git_entry_t  *e;

    for (i = 0; i < n; i++) {
        c = p[i];

        if (pk->tstate == 3) {
            return;                     /* not entries: until a copy */
        }

        if (pk->tlen == sizeof(pk->tbuf)) {
            pk->tstate = 3;
            return;
        }

        pk->tbuf[pk->tlen++] = c;

        switch (pk->tstate) {

        case 0:                         /* the mode, octal, then a space */
            if (c == ' ' && (pk->tlen == 6 || pk->tlen == 7)) {
                pk->tstate = 1;

            } else if (c < '0' || c > '7' || pk->tlen > 6) {
                pk->tstate = 3;
            }

            break;

        case 1:                         /* the name, to its NUL */
            if (c == '\0') {
                pk->tstate = (pk->tbuf[pk->tlen - 2] == ' ') ? 3 : 2;
                pk->tid = pk->tlen;

            } else if (c == '/') {
                pk->tstate = 3;
            }

            break;

        default:                        /* its id */
            if (pk->tlen - pk->tid < pk->oid_len) {
                break;
            }

            k = pk->tid - 1 - (size_t) ((unsigned char *) memchr(pk->tbuf,
                                                                 ' ', 7)
                                        + 1 - pk->tbuf);

            if (pk->nentries < pk->max_entries
                && pk->names_len + k <= pk->names_size)
            {
                e = &pk->entries[pk->nentries++];
                memset(e->id, 0, sizeof(e->id));
                memcpy(e->id, pk->tbuf + pk->tid, pk->oid_len);
                e->tree = HOOP_GIT_TREE_UNKNOWN;
                e->name = (unsigned) pk->names_len;
                e->name_len = (unsigned) k;
                memcpy(pk->names + pk->names_len, pk->tbuf + pk->tid - 1 - k,
                       k);
                pk->names_len += k;
            }

            pk->tlen = 0;
            pk->tstate = 0;
        }
    }
}


size_t
hoop_git_pack_path(hoop_git_pack_t *pk, const unsigned char *blob,
    char *out, size_t size)
{
    size_t             i, k, len, depth;
    unsigned char      id[32];
    hoop_git_entry_t  *e, *found;

    if (pk->entries == NULL || size < 8) {
        return 0;
    }

    memset(id, 0, sizeof(id));
    memcpy(id, blob, pk->oid_len);

    /* built from the end: the file's name, then each tree above it */

    len = 0;
    out[size - 1] = '\0';

    for (depth = 0; depth < 64; depth++) {
        found = NULL;

        for (i = 0; i < pk->nentries; i++) {
            if (memcmp(pk->entries[i].id, id, 32) == 0) {
                found = &pk->entries[i];
                break;
            }
        }

        if (found == NULL) {
            break;
        }

        e = found;
        k = e->name_len + (len ? 1 : 0);

        if (len + k + 1 > size - 4) {
            break;
        }

        memmove(out + size - 1 - len - k, pk->names + e->name, e->name_len);

        if (len) {
            out[size - 1 - len - 1] = '/';
        }

        len += k;

        if (e->tree == HOOP_GIT_TREE_UNKNOWN) {
            break;
        }

        memcpy(id, pk->trees + e->tree * 32, 32);
    }

    if (len == 0) {
        return 0;
    }

    memmove(out, out + size - 1 - len, len);
    out[len] = '\0';

    return len;
}


static hoop_git_pack_e
hoop_git_pack_fail(hoop_git_pack_t *pk, const char *error)
{
    pk->state = HOOP_GIT_PACK_S_FAILED;
    pk->info.error = error;

    return HOOP_GIT_PACK_ERROR;
}
