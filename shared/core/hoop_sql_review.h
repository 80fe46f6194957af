/*
 * Copyright (C) nginx-hoop authors
 *
 * A held statement as its reviewers see it.  The trail keeps it with
 * every literal replaced by $n, which leaves a reviewer unable to tell
 * which row or what value (update customers set phone=$1 where id=$2).
 * Reviewers get the text as sent, but with each literal that masking
 * protects replaced by its masked form: literals a detector matches (a
 * phone number, an email, a card), and literals bound to a masked column
 * by the statement itself (SET col = ..., INSERT (col) VALUES (...),
 * col = ..., col IN (...), as PostgreSQL's parser reads it), whatever
 * their value.  Other literals (an id, a date, a status) stay, and so
 * does the statement's shape.  Detectors also run over the rest of the
 * text, so a value in a comment or a name does not pass either.
 */

#ifndef HOOP_SQL_REVIEW_H
#define HOOP_SQL_REVIEW_H

#include <stddef.h>

#include "hoop_mask.h"


/* what a literal bound to a masked column is shown as */
#define HOOP_SQL_REVIEW_MASKED  "'[MASKED]'"

/*
 * The reviewer's text of sql (its first statement's literals found by
 * PostgreSQL's scanner) into out (cap bytes, NUL-terminated when it
 * fits).  columns: the masked column names, NUL-separated and ended
 * ("ssn\0phone\0\0"), or NULL; mask: the detectors, or NULL.  Returns the
 * text's length, which may be cap or more (call again with room), or -1
 * when the text cannot be scanned or parsed (then show nothing).
 */
long hoop_sql_review_text(const char *sql, const char *columns,
    const hoop_mask_conf_t *mask, char *out, size_t cap);

#endif /* HOOP_SQL_REVIEW_H */
