/*
 * Copyright (C) nginx-hoop authors
 *
 * pkt-lines read as a stream arrives, and the negotiation of a fetch.
 */

#include <string.h>

#include "hoop_git.h"
#include "hoop_hex.h"


hoop_git_pkt_e
hoop_git_pkt_read(hoop_git_pkt_t *p, const unsigned char *data, size_t len,
    size_t *used)
{
    int     d;
    size_t  i, n, k;

    i = 0;

    while (p->hlen < 4) {
        if (i == len) {
            *used = i;
            return HOOP_GIT_PKT_MORE;
        }

        p->head[p->hlen++] = (char) data[i++];

        if (p->hlen < 4) {
            continue;
        }

        n = 0;

        for (k = 0; k < 4; k++) {
            d = hoop_hex_value((unsigned char) p->head[k]);
            if (d < 0) {
                *used = i;
                return HOOP_GIT_PKT_ERROR;
            }

            n = n * 16 + (size_t) d;
        }

        if (n < 4) {
            p->hlen = 0;
            *used = i;

            return n == 0 ? HOOP_GIT_PKT_FLUSH
                   : n == 1 ? HOOP_GIT_PKT_DELIM
                   : n == 2 ? HOOP_GIT_PKT_END
                   : HOOP_GIT_PKT_ERROR;
        }

        if (n > HOOP_GIT_PKT_MAX) {
            *used = i;
            return HOOP_GIT_PKT_ERROR;
        }

        p->need = n - 4;
        p->len = 0;
    }

    n = p->need - p->len;

    if (n > len - i) {
        n = len - i;
    }

    memcpy(p->payload + p->len, data + i, n);
    p->len += n;
    i += n;
    *used = i;

    if (p->len < p->need) {
        return HOOP_GIT_PKT_MORE;
    }

    p->hlen = 0;

    return HOOP_GIT_PKT_DATA;
}


void
hoop_git_fetch_init(hoop_git_fetch_t *f)
{
    memset(f, 0, sizeof(hoop_git_fetch_t));
}


static int
hoop_git_starts(const unsigned char *s, size_t len, const char *word)
{
    size_t  n;

    n = strlen(word);

    return len >= n && memcmp(s, word, n) == 0;
}


/*
 * v0: want lines (capabilities on the first), shallow/deepen lines, a
 * flush, then have lines in rounds each ended by a flush, and "done".
 * A stateless (HTTP) request ends with "done" or a flush after haves;
 * one round's flush is as far as it can be told.  v2: "command=NAME",
 * capability lines, a delim, arguments, a flush.
 */
int
hoop_git_fetch_feed(hoop_git_fetch_t *f, const unsigned char *data,
    size_t len)
{
    size_t                used, n;
    hoop_git_pkt_e        rc;
    const unsigned char  *s;

    if (f->state < 0) {
        return -1;
    }

    while (len > 0 || f->state == 0) {
        rc = hoop_git_pkt_read(&f->pkt, data, len, &used);
        data += used;
        len -= used;

        switch (rc) {

        case HOOP_GIT_PKT_MORE:
            return f->state == 2 ? 1 : 0;

        case HOOP_GIT_PKT_ERROR:
            f->state = -1;
            f->error = "not pkt-lines";
            return -1;

        case HOOP_GIT_PKT_FLUSH:
        case HOOP_GIT_PKT_END:
            f->state = 2;
            continue;

        case HOOP_GIT_PKT_DELIM:
            continue;

        default:
            break;
        }

        s = f->pkt.payload;
        n = f->pkt.len;

        if (n > 0 && s[n - 1] == '\n') {
            n--;
        }

        f->state = 1;

        if (hoop_git_starts(s, n, "command=")) {
            n -= 8;
            n = n < sizeof(f->command) - 1 ? n : sizeof(f->command) - 1;
            memcpy(f->command, s + 8, n);
            f->command[n] = '\0';

        } else if (hoop_git_starts(s, n, "want")) {
            f->wants++;

        } else if (hoop_git_starts(s, n, "have ")) {
            f->haves++;

        } else if (hoop_git_starts(s, n, "shallow ")
                   || hoop_git_starts(s, n, "deepen"))
        {
            f->shallows++;

        } else if (n == 4 && memcmp(s, "done", 4) == 0) {
            f->done = 1;
        }
    }

    return f->state == 2 ? 1 : 0;
}
