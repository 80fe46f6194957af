/*
 * Copyright (C) nginx-hoop authors
 *
 * The audit spool: where events go while Redis cannot take them, so that
 * none is lost.  One append-only file per worker and subsystem
 * (<dir>/audit-<subsystem>-<pid>.spool, locked with flock() while the
 * worker lives), one record per line.  A
 * worker adopts the files of workers that are gone (after a reload, a
 * restart, a crash) by appending them to its own, then delivers its file
 * in order when Redis is back and truncates it.
 */

#ifndef NGX_HOOP_SPOOL_H
#define NGX_HOOP_SPOOL_H

#include <ngx_config.h>
#include <ngx_core.h>


typedef struct {
    ngx_str_t          dir;
    off_t              max_size;
} ngx_hoop_spool_conf_t;


typedef struct {
    ngx_hoop_spool_conf_t  *conf;
    ngx_fd_t                fd;
    u_char                 *path;
    u_char                 *prefix;       /* "audit-http-" */
    off_t                   size;         /* bytes in the file */
    off_t                   delivered;    /* of which already delivered */
    ngx_log_t              *log;
    time_t                  room_checked; /* when the disk was last asked */
    off_t                   room_size;    /* and the file's size then */
    unsigned                full_logged:1;
    unsigned                room:1;       /* the disk has room, as of then */
    unsigned                room_logged:1;
} ngx_hoop_spool_t;


/*
 * Free space the spool's file system must keep for new requests to be
 * admitted on the spool's word: what admitted requests write still fits.
 */
#define NGX_HOOP_SPOOL_DISK_MARGIN  (1024 * 1024)


/* At worker start: opens and locks this worker's file, adopts orphans. */
ngx_hoop_spool_t *ngx_hoop_spool_open(ngx_cycle_t *cycle,
    ngx_hoop_spool_conf_t *conf, const char *subsystem);

/* Takes over the files of workers that are gone (also done at open). */
void ngx_hoop_spool_adopt(ngx_hoop_spool_t *sp);

/* Appends one record (a newline is added).  NGX_ERROR: full or failed. */
ngx_int_t ngx_hoop_spool_append(ngx_hoop_spool_t *sp, u_char *rec,
    size_t len);

/* Records not yet delivered? */
ngx_uint_t ngx_hoop_spool_pending(ngx_hoop_spool_t *sp);

/* May it take another record? */
ngx_uint_t ngx_hoop_spool_writable(ngx_hoop_spool_t *sp);

/*
 * Whether a new operation may start on the spool's account: it keeps a
 * quarter of max_size for the events of operations already admitted, so
 * that none of those is refused for lack of room.
 */
ngx_uint_t ngx_hoop_spool_admits(ngx_hoop_spool_t *sp);

/*
 * Reads undelivered bytes (whole records only) into buf; returns their
 * length, 0 when none, NGX_DECLINED when the next record is larger than
 * cap, -1 on error.
 */
ssize_t ngx_hoop_spool_read(ngx_hoop_spool_t *sp, u_char *buf, size_t cap);

/* The first len bytes read are delivered; the file empties when done. */
void ngx_hoop_spool_delivered(ngx_hoop_spool_t *sp, size_t len);

#endif /* NGX_HOOP_SPOOL_H */
