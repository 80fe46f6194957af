/*
 * Copyright (C) nginx-hoop authors
 *
 * Git smart HTTP request bodies, read as they stream: pkt-lines
 * (gitprotocol-common(5)), the update requests of a push and the
 * negotiation of a fetch (gitprotocol-pack(5), gitprotocol-v2(5)).
 * Readers are fed the body in pieces of any size, keep what they need in
 * their own struct (the caller allocates it) and never look past what
 * they were given.
 */

#ifndef HOOP_GIT_H
#define HOOP_GIT_H

#include <stddef.h>


/* a pkt-line's length counts its 4 hex digits; 65520 at most */
#define HOOP_GIT_PKT_MAX      65520
#define HOOP_GIT_PKT_PAYLOAD  (HOOP_GIT_PKT_MAX - 4)

/* object ids in hex: SHA-1, or SHA-256 */
#define HOOP_GIT_OID_MAX      64

/* a ref name read in a push; git's own limit is the pkt-line's */
#define HOOP_GIT_REF_MAX      1024


typedef enum {
    HOOP_GIT_PKT_MORE = 0,          /* all of data used: feed more */
    HOOP_GIT_PKT_DATA,              /* a pkt-line: its payload is there */
    HOOP_GIT_PKT_FLUSH,             /* 0000 */
    HOOP_GIT_PKT_DELIM,             /* 0001 (v2) */
    HOOP_GIT_PKT_END,               /* 0002, response-end (v2) */
    HOOP_GIT_PKT_ERROR              /* not a pkt-line length */
} hoop_git_pkt_e;


typedef struct {
    char                 head[4];
    size_t               hlen;          /* of head, while it comes */
    size_t               need;          /* payload bytes of this pkt-line */
    size_t               len;           /* ... of which arrived */
    unsigned char        payload[HOOP_GIT_PKT_PAYLOAD];
} hoop_git_pkt_t;


/*
 * The next pkt-line of a stream fed in pieces: consumes from data (at
 * most len bytes, *used says how many) until a pkt-line is whole, whose
 * payload is then p->payload[0 .. p->len).  MORE when data ran out first.
 */
hoop_git_pkt_e hoop_git_pkt_read(hoop_git_pkt_t *p, const unsigned char *data,
    size_t len, size_t *used);


/* A push's capabilities, as the client asked for them. */
#define HOOP_GIT_CAP_REPORT_STATUS     0x01
#define HOOP_GIT_CAP_REPORT_STATUS_V2  0x02
#define HOOP_GIT_CAP_SIDE_BAND         0x04
#define HOOP_GIT_CAP_SIDE_BAND_64K     0x08
#define HOOP_GIT_CAP_ATOMIC            0x10
#define HOOP_GIT_CAP_PUSH_OPTIONS      0x20
#define HOOP_GIT_CAP_QUIET             0x40


/* one update request: "old new ref" */
typedef struct {
    char                 old_id[HOOP_GIT_OID_MAX + 1];
    char                 new_id[HOOP_GIT_OID_MAX + 1];
    size_t               ref;           /* offset in the reader's refs */
    size_t               ref_len;
} hoop_git_command_t;


typedef enum {
    HOOP_GIT_PUSH_MORE = 0,         /* the update requests go on */
    HOOP_GIT_PUSH_DONE,             /* read: what follows is the pack */
    HOOP_GIT_PUSH_ERROR             /* unreadable: p->error says why */
} hoop_git_push_e;


typedef struct {
    hoop_git_pkt_t       pkt;

    /* the caller's room: commands, and their ref names one after another */
    hoop_git_command_t  *commands;
    size_t               max_commands;
    char                *refs;
    size_t               refs_size;

    size_t               ncommands;
    size_t               refs_len;
    size_t               shallow;       /* "shallow" lines before them */
    size_t               options;       /* push options after them */
    unsigned             caps;          /* HOOP_GIT_CAP_* */
    size_t               oid_len;       /* 40, or 64 for sha256 */
    int                  state;
    const char          *error;
} hoop_git_push_t;


void hoop_git_push_init(hoop_git_push_t *p, hoop_git_command_t *commands,
    size_t max_commands, char *refs, size_t refs_size);

/*
 * The update requests of a git-receive-pack body fed in pieces: shallow
 * lines, the command list (the capabilities after a NUL on the first),
 * the flush, and the push options when push-options was asked for.
 * DONE once read (*used is where the pack starts in this piece); ERROR
 * for what a server would refuse, or would read otherwise than this
 * (a push certificate, more commands or longer refs than there is room
 * for, an id that is not hex of the object format's length, a ref git
 * would not accept as one).
 */
hoop_git_push_e hoop_git_push_feed(hoop_git_push_t *p,
    const unsigned char *data, size_t len, size_t *used);

/* whether an id is all zeros: the ref is created (old) or deleted (new) */
int hoop_git_oid_zero(const char *id);

/*
 * What a command does, for rules: "create", "delete", "tag" (a tag
 * created), or "update".  An update's force is for the pack to prove.
 */
const char *hoop_git_command_action(const hoop_git_command_t *c,
    const char *ref, size_t ref_len);


/* A fetch's negotiation (upload-pack), v0/v1 or v2. */
typedef struct {
    hoop_git_pkt_t       pkt;
    size_t               wants;         /* want, want-ref */
    size_t               haves;
    size_t               shallows;      /* shallow, deepen* */
    int                  done;          /* "done" was sent */
    char                 command[32];   /* v2: "fetch", "ls-refs", ... */
    int                  state;
    const char          *error;
} hoop_git_fetch_t;


void hoop_git_fetch_init(hoop_git_fetch_t *f);

/*
 * A git-upload-pack body fed in pieces (uncompressed): counts what it
 * asks for.  Returns 0 while it goes on, 1 when a v0 request's last
 * flush or a v2 command's end came, -1 when it is not pkt-lines.
 */
int hoop_git_fetch_feed(hoop_git_fetch_t *f, const unsigned char *data,
    size_t len);


/*
 * A pushed pack (gitprotocol-pack(5), gitformat-pack(5)) read as it
 * streams: every object inflated to find where the next starts, the
 * commits' ids computed and their parents and authors kept, so that an
 * update can be proven a fast-forward (its old commit is an ancestor of
 * its new one within the pack) and the push described.  A commit stored
 * as a delta is not resolved: what goes through it is not proven.
 */
typedef struct {
    unsigned char        id[32];
    unsigned long long   offset;        /* in the pack */
    size_t               parent;        /* first, in the parents array */
    unsigned             nparents;
    unsigned             seen;          /* walks: a generation mark */
    size_t               next;          /* walks: the queue's link */
} hoop_git_commit_t;


typedef struct hoop_git_pack_s  hoop_git_pack_t;

/*
 * A pack may inflate to HOOP_GIT_PACK_RATIO times what was read of it,
 * and HOOP_GIT_PACK_SLACK bytes more; past that it is an error (a
 * compression bomb would hold the caller for seconds per megabyte).
 */
#define HOOP_GIT_PACK_RATIO   32ULL
#define HOOP_GIT_PACK_SLACK   (32ULL * 1024 * 1024)

typedef enum {
    HOOP_GIT_PACK_MORE = 0,
    HOOP_GIT_PACK_DONE,             /* every object and the trailer */
    HOOP_GIT_PACK_ERROR             /* not a pack: pk->error says why */
} hoop_git_pack_e;


/*
 * A reader: oid_len 20 (SHA-1) or 32 (SHA-256) bytes; room for commits,
 * their parents' ids (parents * oid_len bytes), and distinct authors
 * ("Name <email>", NUL-terminated one after another).  NULL when out of
 * memory (zlib's and the hash's state are the reader's own).
 */
hoop_git_pack_t *hoop_git_pack_new(size_t oid_len, hoop_git_commit_t *commits,
    size_t max_commits, unsigned char *parents, size_t max_parents,
    char *authors, size_t authors_size);
void hoop_git_pack_free(hoop_git_pack_t *pk);

hoop_git_pack_e hoop_git_pack_feed(hoop_git_pack_t *pk,
    const unsigned char *data, size_t len);

/* What was read so far. */
typedef struct {
    unsigned long long   objects;       /* the header's count */
    unsigned long long   read;          /* objects read */
    unsigned long long   commits;       /* ... of which commits */
    unsigned long long   deltas;        /* ... stored as deltas */
    unsigned long long   bytes;         /* inflated, all objects */
    size_t               stored;        /* commits kept (room) */
    size_t               authors;       /* distinct authors kept */
    int                  overflow;      /* more commits or authors than
                                           there was room for */
    const char          *error;
} hoop_git_pack_info_t;

void hoop_git_pack_info(const hoop_git_pack_t *pk, hoop_git_pack_info_t *info);

/*
 * Whether old (hex) is new's ancestor through the commits of the pack:
 * 1 proven, 0 not (a force push, or history the pack does not hold).
 */
int hoop_git_pack_reaches(hoop_git_pack_t *pk, const char *new_hex,
    const char *old_hex);

int hoop_git_pack_object_type(const hoop_git_pack_t *pk);

/* The name of the i-th tree entry read (a file or directory), or NULL. */
const char *hoop_git_pack_entry_name(const hoop_git_pack_t *pk, size_t i,
    size_t *len);

/* The i-th distinct author, or NULL. */
const char *hoop_git_pack_author(const hoop_git_pack_t *pk, size_t i);


/*
 * The content a push adds, for scanning: each blob's bytes (START,
 * DATA..., END with the blob's id), each commit and annotated tag whole
 * (their messages), and the bytes a delta inserts (the text a change
 * adds to a file; a "\n" where it copies from its base instead), START,
 * DATA..., END with no id.  hoop_git_pack_object_type() says, from START
 * to END, which: 1 commit, 3 blob, 4 tag, 6 or 7 a delta.
 */
typedef enum {
    HOOP_GIT_CONTENT_START = 0,
    HOOP_GIT_CONTENT_DATA,
    HOOP_GIT_CONTENT_END
} hoop_git_content_e;

typedef void (*hoop_git_content_pt)(void *data, hoop_git_content_e event,
    const unsigned char *p, size_t len);

/*
 * From now on, content goes to each; the trees of the pack are read for
 * the names of files, into entries (room for max_entries) and names
 * (names_size bytes), so that hoop_git_pack_path() can name a blob.
 */
#define HOOP_GIT_TREE_UNKNOWN  0xffffffffu

typedef struct {
    unsigned char        id[32];        /* the blob or tree named */
    unsigned             tree;          /* in which tree (its index), or
                                           HOOP_GIT_TREE_UNKNOWN */
    unsigned             name;          /* offset in names */
    unsigned             name_len;
} hoop_git_entry_t;

void hoop_git_pack_content(hoop_git_pack_t *pk, hoop_git_content_pt each,
    void *data, hoop_git_entry_t *entries, size_t max_entries,
    unsigned char *trees, size_t max_trees, char *names, size_t names_size);

/*
 * A blob's path ("dir/file"), as the pack's trees name it, into out
 * (size bytes, NUL-terminated); "..." stands for the part of the path
 * through trees the pack does not hold whole.  Returns its length, or 0
 * when no tree of the pack names the blob.
 */
size_t hoop_git_pack_path(hoop_git_pack_t *pk, const unsigned char *blob,
    char *out, size_t size);

#endif /* HOOP_GIT_H */
