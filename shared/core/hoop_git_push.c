/*
 * Copyright (C) nginx-hoop authors
 *
 * A push's update requests (gitprotocol-pack(5), "Reference Update
 * Request"), read as receive-pack reads them, refusing what it would
 * refuse, so that the refs a rule decides on are the refs the server
 * updates.
 */

#include <string.h>

#include "hoop_git.h"
#include "hoop_hex.h"


enum {
    HOOP_GIT_PUSH_COMMANDS = 0,
    HOOP_GIT_PUSH_OPTIONS,
    HOOP_GIT_PUSH_READ,
    HOOP_GIT_PUSH_FAILED = -1
};


static int hoop_git_push_line(hoop_git_push_t *p, const unsigned char *s,
    size_t n);
static int hoop_git_push_caps(hoop_git_push_t *p, const unsigned char *s,
    size_t n);
static int hoop_git_oid_read(const unsigned char *s, size_t n, char *out);
static int hoop_git_ref_ok(const unsigned char *s, size_t n);
static hoop_git_push_e hoop_git_push_fail(hoop_git_push_t *p,
    const char *error);


void
hoop_git_push_init(hoop_git_push_t *p, hoop_git_command_t *commands,
    size_t max_commands, char *refs, size_t refs_size)
{
    p->pkt.hlen = 0;
    p->pkt.need = 0;
    p->pkt.len = 0;

    p->commands = commands;
    p->max_commands = max_commands;
    p->refs = refs;
    p->refs_size = refs_size;
    p->ncommands = 0;
    p->refs_len = 0;
    p->shallow = 0;
    p->options = 0;
    p->caps = 0;
    p->oid_len = 0;
    p->state = HOOP_GIT_PUSH_COMMANDS;
    p->error = NULL;
}


hoop_git_push_e
hoop_git_push_feed(hoop_git_push_t *p, const unsigned char *data, size_t len,
    size_t *used)
{
    size_t          n, total;
    hoop_git_pkt_e  rc;

    total = 0;
    *used = 0;

    if (p->state == HOOP_GIT_PUSH_FAILED) {
        return HOOP_GIT_PUSH_ERROR;
    }

    while (p->state != HOOP_GIT_PUSH_READ) {
        rc = hoop_git_pkt_read(&p->pkt, data + total, len - total, &n);
        total += n;
        *used = total;

        switch (rc) {

        case HOOP_GIT_PKT_MORE:
            return HOOP_GIT_PUSH_MORE;

        case HOOP_GIT_PKT_DATA:
            if (p->state == HOOP_GIT_PUSH_OPTIONS) {
                p->options++;
                continue;
            }

            if (hoop_git_push_line(p, p->pkt.payload, p->pkt.len) != 0) {
                return HOOP_GIT_PUSH_ERROR;
            }

            continue;

        case HOOP_GIT_PKT_FLUSH:

            /* options follow the commands only when asked for */

            if (p->state == HOOP_GIT_PUSH_COMMANDS
                && (p->caps & HOOP_GIT_CAP_PUSH_OPTIONS))
            {
                p->state = HOOP_GIT_PUSH_OPTIONS;
                continue;
            }

            p->state = HOOP_GIT_PUSH_READ;
            break;

        default:
            return hoop_git_push_fail(p, "not a pkt-line stream");
        }
    }

    return HOOP_GIT_PUSH_DONE;
}


/* "shallow <id>", or "<old> <new> <ref>[\0caps]" */
static int
hoop_git_push_line(hoop_git_push_t *p, const unsigned char *s, size_t n)
{
    size_t               k, id, ref_len;
    const unsigned char  *nul, *ref;
    hoop_git_command_t   *c;

    if (n > 0 && s[n - 1] == '\n') {
        n--;
    }

    if (n >= 8 && memcmp(s, "shallow ", 8) == 0 && p->ncommands == 0) {
        p->shallow++;
        return 0;
    }

    if (n >= 9 && memcmp(s, "push-cert", 9) == 0 && p->ncommands == 0) {
        hoop_git_push_fail(p, "a signed push (push certificate) is not"
                           " read");
        return -1;
    }

    nul = memchr(s, '\0', n);

    if (nul != NULL) {
        if (p->ncommands != 0) {
            hoop_git_push_fail(p, "capabilities after the first command");
            return -1;
        }

        if (hoop_git_push_caps(p, nul + 1, n - (nul + 1 - s)) != 0) {
            return -1;
        }

        n = nul - s;
    }

    /* the ids' length: the object format's (the first command says it) */

    if (p->oid_len == 0) {
        p->oid_len = 40;
    }

    id = p->oid_len;

    if (n < 2 * id + 3 || s[id] != ' ' || s[2 * id + 1] != ' ') {
        hoop_git_push_fail(p, "a command is not \"old new ref\"");
        return -1;
    }

    if (p->ncommands == p->max_commands) {
        hoop_git_push_fail(p, "more refs than are read in one push");
        return -1;
    }

    ref = s + 2 * id + 2;
    ref_len = n - (2 * id + 2);

    if (!hoop_git_ref_ok(ref, ref_len)) {
        hoop_git_push_fail(p, "a ref name git does not accept");
        return -1;
    }

    if (ref_len > HOOP_GIT_REF_MAX || ref_len > p->refs_size - p->refs_len) {
        hoop_git_push_fail(p, "ref names longer than are read in one push");
        return -1;
    }

    c = &p->commands[p->ncommands];

    if (hoop_git_oid_read(s, id, c->old_id) != 0
        || hoop_git_oid_read(s + id + 1, id, c->new_id) != 0)
    {
        hoop_git_push_fail(p, "an object id is not hexadecimal");
        return -1;
    }

    for (k = 0; k < ref_len; k++) {
        p->refs[p->refs_len + k] = (char) ref[k];
    }

    c->ref = p->refs_len;
    c->ref_len = ref_len;
    p->refs_len += ref_len;
    p->ncommands++;

    return 0;
}


/* space-separated; those that change what the stream holds are noted */
static int
hoop_git_push_caps(hoop_git_push_t *p, const unsigned char *s, size_t n)
{
    size_t  i, k, w, c;

    static const struct {
        const char  *name;
        unsigned     flag;
    } caps[] = {
        { "report-status", HOOP_GIT_CAP_REPORT_STATUS },
        { "report-status-v2", HOOP_GIT_CAP_REPORT_STATUS_V2 },
        { "side-band", HOOP_GIT_CAP_SIDE_BAND },
        { "side-band-64k", HOOP_GIT_CAP_SIDE_BAND_64K },
        { "atomic", HOOP_GIT_CAP_ATOMIC },
        { "push-options", HOOP_GIT_CAP_PUSH_OPTIONS },
        { "quiet", HOOP_GIT_CAP_QUIET }
    };

    for (i = 0; i < n; i = k + 1) {
        for (k = i; k < n && s[k] != ' '; k++) { /* void */ }

        w = k - i;

        if (w == 20 && memcmp(s + i, "object-format=sha256", 20) == 0) {
            p->oid_len = 64;
            continue;
        }

        for (c = 0; c < sizeof(caps) / sizeof(caps[0]); c++) {
            if (strlen(caps[c].name) == w
                && memcmp(caps[c].name, s + i, w) == 0)
            {
                p->caps |= caps[c].flag;
            }
        }
    }

    return 0;
}


static int
hoop_git_oid_read(const unsigned char *s, size_t n, char *out)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if (hoop_hex_value(s[i]) < 0) {
            return -1;
        }

        out[i] = (char) (s[i] | 0x20);
    }

    out[n] = '\0';

    return 0;
}


/*
 * As receive-pack checks a ref: "refs/" and a name check_refname_format()
 * accepts (git's refs.c): no empty component, none starting with '.' or
 * ending with ".lock", no "..", "@{", control characters, space, or any
 * of ~^:?*[\, not ending with '/' or '.'.
 */
static int
hoop_git_ref_ok(const unsigned char *s, size_t n)
{
    size_t         i, start;
    unsigned char  c;

    if (n <= 5 || memcmp(s, "refs/", 5) != 0) {
        return 0;
    }

    if (s[n - 1] == '/' || s[n - 1] == '.') {
        return 0;
    }

    start = 5;

    for (i = 5; i <= n; i++) {
        c = (i < n) ? s[i] : '/';

        if (c == '/') {
            if (i == start || s[start] == '.'
                || (i - start >= 5 && memcmp(s + i - 5, ".lock", 5) == 0))
            {
                return 0;
            }

            start = i + 1;
            continue;
        }

        if (c < 0x20 || c == 0x7f || strchr(" ~^:?*[\\", c) != NULL) {
            return 0;
        }

        if (c == '.' && i + 1 < n && s[i + 1] == '.') {
            return 0;
        }

        if (c == '@' && i + 1 < n && s[i + 1] == '{') {
            return 0;
        }
    }

    return 1;
}


int
hoop_git_oid_zero(const char *id)
{
    if (*id == '\0') {
        return 0;
    }

    while (*id == '0') {
        id++;
    }

    return *id == '\0';
}


const char *
hoop_git_command_action(const hoop_git_command_t *c, const char *ref,
    size_t ref_len)
{
    if (hoop_git_oid_zero(c->new_id)) {
        return "delete";
    }

    if (hoop_git_oid_zero(c->old_id)) {
        return (ref_len > 10 && memcmp(ref, "refs/tags/", 10) == 0)
               ? "tag" : "create";
    }

    return "update";
}


static hoop_git_push_e
hoop_git_push_fail(hoop_git_push_t *p, const char *error)
{
    p->state = HOOP_GIT_PUSH_FAILED;
    p->error = error;

    return HOOP_GIT_PUSH_ERROR;
}
