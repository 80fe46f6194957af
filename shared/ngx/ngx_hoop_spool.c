/*
 * Copyright (C) nginx-hoop authors
 */

#include <ngx_config.h>
#include <ngx_core.h>

#include <sys/file.h>
#include <sys/statvfs.h>
#include <dirent.h>

#include "ngx_hoop_spool.h"



static ngx_int_t ngx_hoop_spool_adopt_file(ngx_hoop_spool_t *sp,
    u_char *path);
static ngx_uint_t ngx_hoop_spool_disk_room(ngx_hoop_spool_t *sp);


ngx_hoop_spool_t *
ngx_hoop_spool_open(ngx_cycle_t *cycle, ngx_hoop_spool_conf_t *conf,
    const char *subsystem)
{
    u_char            *tmp;
    size_t             len;
    ngx_hoop_spool_t  *sp;

    sp = ngx_pcalloc(cycle->pool, sizeof(ngx_hoop_spool_t));
    if (sp == NULL) {
        return NULL;
    }

    sp->conf = conf;
    sp->log = cycle->log;

    /* one file per subsystem: a worker runs http{} and stream{} alike */

    len = ngx_strlen(subsystem);

    sp->prefix = ngx_pnalloc(cycle->pool, sizeof("audit--") + len);
    sp->path = ngx_pnalloc(cycle->pool, conf->dir.len + len
                                        + sizeof("/audit--.spool")
                                        + NGX_INT64_LEN);
    tmp = ngx_pnalloc(cycle->pool, conf->dir.len + len
                                   + sizeof("/.audit--.new")
                                   + NGX_INT64_LEN);
    if (sp->prefix == NULL || sp->path == NULL || tmp == NULL) {
        return NULL;
    }

    ngx_sprintf(sp->prefix, "audit-%s-%Z", subsystem);
    ngx_sprintf(sp->path, "%V/%s%P.spool%Z", &conf->dir, sp->prefix,
                ngx_pid);
    ngx_sprintf(tmp, "%V/.%s%P.new%Z", &conf->dir, sp->prefix, ngx_pid);

    /*
     * Created under a name other workers do not adopt, locked, and only
     * then put in place: a worker starting at the same moment would
     * otherwise find the file not locked yet, adopt it and delete it,
     * leaving this one writing its events to a deleted file.
     */

    sp->fd = ngx_open_file(tmp, O_RDWR|O_APPEND, NGX_FILE_TRUNCATE, 0600);

    if (sp->fd == NGX_INVALID_FILE) {
        ngx_log_error(NGX_LOG_ALERT, cycle->log, ngx_errno,
                      "hoop audit spool: " ngx_open_file_n " \"%s\" failed",
                      tmp);
        return sp;              /* no spool: fail closed applies */
    }

    /* held while this worker lives: others know the file is in use */

    if (flock(sp->fd, LOCK_EX|LOCK_NB) == -1) {
        ngx_log_error(NGX_LOG_ALERT, cycle->log, ngx_errno,
                      "hoop audit spool: flock(\"%s\") failed", tmp);
    }

    /* a file left under this name by a gone worker with the same pid */

    (void) ngx_hoop_spool_adopt_file(sp, sp->path);

    if (ngx_rename_file(tmp, sp->path) == NGX_FILE_ERROR) {
        ngx_log_error(NGX_LOG_ALERT, cycle->log, ngx_errno,
                      "hoop audit spool: " ngx_rename_file_n " \"%s\" to"
                      " \"%s\" failed", tmp, sp->path);
        (void) ngx_close_file(sp->fd);
        sp->fd = NGX_INVALID_FILE;
        return sp;
    }

    ngx_hoop_spool_adopt(sp);

    return sp;
}


ngx_int_t
ngx_hoop_spool_append(ngx_hoop_spool_t *sp, u_char *rec, size_t len)
{
    ssize_t       n;
    struct iovec  iov[2];

    if (sp == NULL) {
        return NGX_ERROR;               /* no hoop_audit_spool */
    }

    if (!ngx_hoop_spool_writable(sp)) {
        if (!sp->full_logged) {
            ngx_log_error(NGX_LOG_ALERT, sp->log, 0,
                          "hoop audit spool \"%s\" is full or unusable",
                          sp->path);
            sp->full_logged = 1;
        }

        return NGX_ERROR;
    }

    iov[0].iov_base = rec;
    iov[0].iov_len = len;
    iov[1].iov_base = "\n";
    iov[1].iov_len = 1;

    /* one writev() of an O_APPEND file: a record is never interleaved */

    n = writev(sp->fd, iov, 2);

    if (n != (ssize_t) len + 1) {
        ngx_log_error(NGX_LOG_ALERT, sp->log, ngx_errno,
                      "hoop audit spool: writev(\"%s\") failed", sp->path);

        /* a partial record would corrupt the next: cut it off */

        if (n > 0 && ftruncate(sp->fd, sp->size) == -1) {
            ngx_log_error(NGX_LOG_ALERT, sp->log, ngx_errno,
                          "hoop audit spool: ftruncate(\"%s\") failed",
                          sp->path);
        }

        return NGX_ERROR;
    }

    sp->size += n;

    return NGX_OK;
}


ngx_uint_t
ngx_hoop_spool_pending(ngx_hoop_spool_t *sp)
{
    return sp != NULL && sp->size > sp->delivered;
}


ngx_uint_t
ngx_hoop_spool_writable(ngx_hoop_spool_t *sp)
{
    return sp != NULL && sp->fd != NGX_INVALID_FILE
           && sp->size < sp->conf->max_size;
}


ngx_uint_t
ngx_hoop_spool_admits(ngx_hoop_spool_t *sp)
{
    return ngx_hoop_spool_writable(sp)
           && sp->size < sp->conf->max_size - sp->conf->max_size / 4
           && ngx_hoop_spool_disk_room(sp);
}


/*
 * max_size is the spool's own bound; the disk may fill before it.  Asked
 * only while Redis is away, at most once a second unless a quarter of the
 * margin was written since.
 */
static ngx_uint_t
ngx_hoop_spool_disk_room(ngx_hoop_spool_t *sp)
{
    off_t           avail;
    struct statvfs  fs;

    if (sp->room_checked == ngx_time()
        && sp->size - sp->room_size < NGX_HOOP_SPOOL_DISK_MARGIN / 4)
    {
        return sp->room;
    }

    sp->room_checked = ngx_time();
    sp->room_size = sp->size;

    if (fstatvfs(sp->fd, &fs) == -1) {
        ngx_log_error(NGX_LOG_ALERT, sp->log, ngx_errno,
                      "hoop audit spool: fstatvfs(\"%s\") failed", sp->path);
        sp->room = 0;
        return 0;
    }

    avail = (off_t) fs.f_bavail * (off_t) fs.f_frsize;
    sp->room = (avail >= NGX_HOOP_SPOOL_DISK_MARGIN);

    if (!sp->room && !sp->room_logged) {
        ngx_log_error(NGX_LOG_ALERT, sp->log, 0,
                      "hoop audit spool: the file system of \"%s\" has %O"
                      " bytes free, under the %d kept for admitted"
                      " requests: the spool admits no more",
                      sp->path, avail, NGX_HOOP_SPOOL_DISK_MARGIN);
        sp->room_logged = 1;

    } else if (sp->room && sp->room_logged) {
        ngx_log_error(NGX_LOG_NOTICE, sp->log, 0,
                      "hoop audit spool: the file system of \"%s\" has"
                      " room again", sp->path);
        sp->room_logged = 0;
    }

    return sp->room;
}


ssize_t
ngx_hoop_spool_read(ngx_hoop_spool_t *sp, u_char *buf, size_t cap)
{
    u_char   *nl;
    ssize_t   n;

    if (!ngx_hoop_spool_pending(sp)) {
        return 0;
    }

    n = pread(sp->fd, buf, cap, sp->delivered);

    if (n <= 0) {
        return n == 0 ? 0 : -1;
    }

    /* whole records only */

    for (nl = buf + n - 1; nl >= buf && *nl != '\n'; nl--) {
        /* void */
    }

    if (nl < buf) {
        return (size_t) n == cap ? NGX_DECLINED : 0;  /* larger than cap */
    }

    return nl + 1 - buf;
}


void
ngx_hoop_spool_delivered(ngx_hoop_spool_t *sp, size_t len)
{
    sp->delivered += len;

    if (sp->delivered < sp->size) {
        return;
    }

    if (ftruncate(sp->fd, 0) == -1) {
        ngx_log_error(NGX_LOG_ALERT, sp->log, ngx_errno,
                      "hoop audit spool: ftruncate(\"%s\") failed",
                      sp->path);
        return;
    }

    ngx_log_error(NGX_LOG_NOTICE, sp->log, 0,
                  "hoop audit spool: %O bytes of events delivered",
                  sp->delivered);

    sp->size = 0;
    sp->delivered = 0;
    sp->full_logged = 0;
}


/* The spools of workers that are gone: their sessions are theirs alone. */
void
ngx_hoop_spool_adopt(ngx_hoop_spool_t *sp)
{
    u_char          path[NGX_MAX_PATH];
    DIR            *dir;
    struct dirent  *de;

    if (sp->fd == NGX_INVALID_FILE) {
        return;
    }

    dir = opendir((char *) sp->conf->dir.data);

    if (dir == NULL) {
        return;
    }

    while ((de = readdir(dir)) != NULL) {
        if (ngx_strncmp(de->d_name, sp->prefix,
                        ngx_strlen(sp->prefix)) != 0
            || ngx_strstr(de->d_name, ".spool") == NULL)
        {
            continue;
        }

        ngx_snprintf(path, sizeof(path), "%V/%s%Z", &sp->conf->dir,
                     de->d_name);

        if (ngx_strcmp(path, sp->path) != 0) {
            (void) ngx_hoop_spool_adopt_file(sp, path);
        }
    }

    closedir(dir);
}


static ngx_int_t
ngx_hoop_spool_adopt_file(ngx_hoop_spool_t *sp, u_char *path)
{
    u_char           buf[65536];
    ssize_t          n;
    ngx_fd_t         fd;
    ngx_file_info_t  fi;

    fd = ngx_open_file(path, NGX_FILE_RDWR, NGX_FILE_OPEN, 0);

    if (fd == NGX_INVALID_FILE) {
        return NGX_ERROR;
    }

    /* a living worker holds its lock: leave its file alone */

    if (flock(fd, LOCK_EX|LOCK_NB) == -1) {
        (void) ngx_close_file(fd);
        return NGX_DECLINED;
    }

    /* another worker adopted it between our open() and flock() */

    if (ngx_fd_info(fd, &fi) == NGX_FILE_ERROR || fi.st_nlink == 0) {
        (void) ngx_close_file(fd);
        return NGX_DECLINED;
    }

    while ((n = read(fd, buf, sizeof(buf))) > 0) {
        if (write(sp->fd, buf, n) != n) {
            ngx_log_error(NGX_LOG_ALERT, sp->log, ngx_errno,
                          "hoop audit spool: cannot adopt \"%s\"", path);
            (void) ngx_close_file(fd);
            return NGX_ERROR;
        }

        sp->size += n;
    }

    ngx_log_error(NGX_LOG_NOTICE, sp->log, 0,
                  "hoop audit spool: adopted \"%s\"", path);

    (void) ngx_delete_file(path);
    (void) ngx_close_file(fd);

    return NGX_OK;
}
