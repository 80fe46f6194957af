/*
 * Copyright (C) nginx-hoop authors
 *
 * The catalog is one block of caller-provided memory: the objects, a hash
 * index by name (objects of one name, in any schema and of any type, are
 * chained), and their strings.  Building it resolves every object once,
 * definitions parsed with the same classifier as statements, so that a
 * statement's references are a few lookups of what is already known.
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hoop_pg_msg.h"
#include "hoop_rule.h"
#include "hoop_sql_catalog.h"
#include "hoop_sql_lineage.h"


#define HOOP_SQL_CAT_NONE      0xffffffffu

/* a definition reached through this many others is not followed further */
#define HOOP_SQL_CAT_DEPTH     8

/* statements of one definition described one by one */
#define HOOP_SQL_CAT_STMTS     4

/* why an object is more than a read */
#define HOOP_SQL_WHY_VOLATILE    1
#define HOOP_SQL_WHY_EXECUTE     2      /* EXECUTE not granted to PUBLIC */
#define HOOP_SQL_WHY_KNOWN       3      /* a built-in with a known effect */
#define HOOP_SQL_WHY_UNKNOWN     4      /* no such function in the catalog */
#define HOOP_SQL_WHY_SELECT      5      /* SELECT not granted to PUBLIC */
#define HOOP_SQL_WHY_SUPERUSER   6      /* a superuser's setting */
#define HOOP_SQL_WHY_DEFINITION  7      /* what its definition does itself */
#define HOOP_SQL_WHY_DEEP        8      /* definitions nested too deeply */
#define HOOP_SQL_WHY_NO_OPERATOR 9
#define HOOP_SQL_WHY_OPAQUE      10     /* a body the gateway cannot read */
#define HOOP_SQL_WHY_FOREIGN     11     /* a foreign table's wrapper */


typedef struct {
    uint32_t          next;             /* the next object of this name */
    uint32_t          cause;            /* the object that decides, or
                                           NONE: itself */
    char              type;
    unsigned char     flags;
    unsigned char     kind;             /* once resolved */
    unsigned char     state;            /* 0, 1 resolving, 2 resolved */
    unsigned char     why;              /* HOOP_SQL_WHY_*, when not read */
    const char       *schema;           /* "": none */
    const char       *name;
    const char       *fschema;
    const char       *fname;            /* "": calls no function */
    const char       *body;             /* NULL: none */
} hoop_sql_cat_obj_t;


struct hoop_sql_catalog_s {
    size_t                 n;
    size_t                 max;
    uint32_t               mask;        /* buckets - 1 */
    uint32_t              *buckets;
    hoop_sql_cat_obj_t    *objs;
    char                  *text;
    size_t                 text_used;
    size_t                 text_size;
    uint32_t               implicit;    /* the worst implicit call */
    const char *const     *read_safe;
};


static uint32_t hoop_sql_cat_buckets(size_t n);
static uint32_t hoop_sql_cat_hash(const char *name);
static const char *hoop_sql_cat_copy(hoop_sql_catalog_t *cat,
    const char *prefix, const char *s);
static hoop_sql_cat_obj_t *hoop_sql_cat_first(const hoop_sql_catalog_t *cat,
    const char *name);
static hoop_sql_cat_obj_t *hoop_sql_cat_next(const hoop_sql_catalog_t *cat,
    const hoop_sql_cat_obj_t *o);
static void hoop_sql_cat_resolve(hoop_sql_catalog_t *cat,
    hoop_sql_cat_obj_t *o, unsigned depth);
static void hoop_sql_cat_function(hoop_sql_catalog_t *cat,
    hoop_sql_cat_obj_t *o);
static void hoop_sql_cat_calls(hoop_sql_catalog_t *cat,
    hoop_sql_cat_obj_t *o, unsigned depth);
static void hoop_sql_cat_definition(hoop_sql_catalog_t *cat,
    hoop_sql_cat_obj_t *o, unsigned depth);
static void hoop_sql_cat_worse(hoop_sql_catalog_t *cat,
    hoop_sql_cat_obj_t *o, hoop_sql_cat_obj_t *by);
static void hoop_sql_cat_refs(hoop_sql_catalog_t *cat, hoop_sql_stmt_t *st,
    const hoop_sql_refs_t *refs, unsigned depth, uint32_t *decides);
static void hoop_sql_cat_raise(const hoop_sql_catalog_t *cat,
    hoop_sql_stmt_t *st, hoop_sql_cat_obj_t *o, uint32_t *decides);
static int hoop_sql_cat_match(const hoop_sql_cat_obj_t *o, const char *types,
    const char *schema, const char *name);
static int hoop_sql_cat_read_safe(const hoop_sql_catalog_t *cat,
    const char *schema, const char *name);
static int hoop_sql_cat_builtin(const char *schema);
static void hoop_sql_cat_cause(const hoop_sql_catalog_t *cat,
    const hoop_sql_cat_obj_t *o, char *buf, size_t size);


/*
 * Built-in functions PostgreSQL marks VOLATILE whose call changes nothing:
 * their value changes (time, randomness, sizes, positions in the WAL,
 * what pg_locks and pg_stat_* show), or they release what only this
 * session holds.  Tools need them: psql's \l+ and \dt+ the sizes,
 * libpq's target_session_attrs pg_is_in_recovery(), asyncpg's pool
 * pg_advisory_unlock_all().  set_config() is here because the classifier
 * decides it by the setting it names, wherever it is called.
 */
static const char  *hoop_sql_read_safe_builtins[] = {
    "random", "clock_timestamp", "timeofday", "gen_random_uuid",
    "pg_sleep", "pg_sleep_for", "pg_sleep_until",
    "currval", "lastval", "current_query", "pg_jit_available", "lo_get",
    "pg_advisory_unlock", "pg_advisory_unlock_shared",
    "pg_advisory_unlock_all",
    "pg_database_size", "pg_tablespace_size", "pg_relation_size",
    "pg_table_size", "pg_indexes_size", "pg_total_relation_size",
    "pg_is_in_recovery", "pg_current_wal_lsn", "pg_current_wal_insert_lsn",
    "pg_current_wal_flush_lsn", "pg_last_wal_receive_lsn",
    "pg_last_wal_replay_lsn", "pg_last_xact_replay_timestamp",
    "pg_is_wal_replay_paused", "pg_get_wal_replay_pause_state",
    "pg_get_wal_resource_managers", "pg_control_checkpoint",
    "pg_control_init", "pg_control_recovery", "pg_control_system",
    "pg_notification_queue_usage", "pg_collation_actual_version",
    "pg_database_collation_actual_version", "pg_lock_status",
    "pg_blocking_pids", "pg_safe_snapshot_blocking_pids",
    "pg_prepared_xact", "pg_xact_status", "txid_status",
    "pg_xact_commit_timestamp", "pg_xact_commit_timestamp_origin",
    "pg_last_committed_xact", "pg_get_multixact_members",
    "pg_stat_get_xact_*", "pg_stat_clear_snapshot",
    "pg_stat_get_recovery_prefetch", "pg_sequence_last_value",
    "pg_partition_tree", "pg_partition_ancestors", "pg_export_snapshot",
    "set_config",
    NULL
};


size_t
hoop_sql_catalog_size(size_t n, size_t text)
{
    return sizeof(hoop_sql_catalog_t) + 8
           + n * sizeof(hoop_sql_cat_obj_t) + 8
           + (size_t) hoop_sql_cat_buckets(n) * sizeof(uint32_t)
           + text;
}


size_t
hoop_sql_object_text(const hoop_sql_object_t *obj)
{
    size_t  len;

    len = 4;        /* each string's NUL */

    len += obj->schema ? strlen(obj->schema) : 0;
    len += obj->name ? strlen(obj->name) : 0;
    len += obj->fschema ? strlen(obj->fschema) : 0;
    len += obj->fname ? strlen(obj->fname) : 0;

    if (obj->body != NULL) {
        len += sizeof("SELECT ") + strlen(obj->body);
    }

    return len;
}


hoop_sql_catalog_t *
hoop_sql_catalog_init(void *mem, size_t size, size_t n,
    const char *const *read_safe)
{
    size_t               need, i;
    uintptr_t            p;
    hoop_sql_catalog_t  *cat;

    need = hoop_sql_catalog_size(n, 0);

    if (size < need || n >= HOOP_SQL_CAT_NONE) {
        return NULL;
    }

    p = ((uintptr_t) mem + 7) & ~(uintptr_t) 7;
    cat = (hoop_sql_catalog_t *) p;
    memset(cat, 0, sizeof(hoop_sql_catalog_t));

    p = ((uintptr_t) (cat + 1) + 7) & ~(uintptr_t) 7;
    cat->objs = (hoop_sql_cat_obj_t *) p;
    p += n * sizeof(hoop_sql_cat_obj_t);

    cat->buckets = (uint32_t *) p;
    cat->mask = hoop_sql_cat_buckets(n) - 1;
    p += ((size_t) cat->mask + 1) * sizeof(uint32_t);

    for (i = 0; i <= cat->mask; i++) {
        cat->buckets[i] = HOOP_SQL_CAT_NONE;
    }

    cat->text = (char *) p;
    cat->text_size = (size_t) ((uintptr_t) mem + size - p);
    cat->max = n;
    cat->implicit = HOOP_SQL_CAT_NONE;
    cat->read_safe = read_safe;

    return cat;
}


int
hoop_sql_catalog_add(hoop_sql_catalog_t *cat, const hoop_sql_object_t *obj)
{
    char                *c;
    uint32_t             b;
    hoop_sql_cat_obj_t  *o;

    if (cat->n == cat->max || obj->name == NULL
        || cat->text_used + hoop_sql_object_text(obj) > cat->text_size)
    {
        return -1;
    }

    o = &cat->objs[cat->n];
    memset(o, 0, sizeof(hoop_sql_cat_obj_t));

    o->type = obj->type;
    o->flags = (unsigned char) obj->flags;
    o->cause = HOOP_SQL_CAT_NONE;
    o->schema = hoop_sql_cat_copy(cat, NULL, obj->schema);
    o->fschema = hoop_sql_cat_copy(cat, NULL, obj->fschema);
    o->fname = hoop_sql_cat_copy(cat, NULL, obj->fname);

    /* an expression is read as the statement that would evaluate it */

    o->body = (obj->body == NULL) ? NULL
              : hoop_sql_cat_copy(cat,
                                  (obj->type == HOOP_SQL_OBJ_DOMAIN
                                   || obj->type == HOOP_SQL_OBJ_POLICY)
                                  ? "SELECT " : NULL, obj->body);

    /* setting names are case-insensitive: kept in lower case */

    o->name = hoop_sql_cat_copy(cat, NULL, obj->name);

    if (o->type == HOOP_SQL_OBJ_SETTING) {
        for (c = (char *) o->name; *c; c++) {
            if (*c >= 'A' && *c <= 'Z') {
                *c = (char) (*c - 'A' + 'a');
            }
        }
    }

    b = hoop_sql_cat_hash(o->name) & cat->mask;
    o->next = cat->buckets[b];
    cat->buckets[b] = (uint32_t) cat->n;

    cat->n++;

    return 0;
}


size_t
hoop_sql_catalog_count(const hoop_sql_catalog_t *cat)
{
    return cat->n;
}


void
hoop_sql_catalog_build(hoop_sql_catalog_t *cat)
{
    size_t               i;
    hoop_sql_cat_obj_t  *o;

    for (i = 0; i < cat->n; i++) {
        o = &cat->objs[i];

        hoop_sql_cat_resolve(cat, o, 0);

        /*
         * a domain's CHECK runs wherever a value becomes one, which no
         * statement need name (a Parse's parameter types, record_in(),
         * a whole-row value populated from JSON): every statement may
         */

        if ((o->type == HOOP_SQL_OBJ_IMPLICIT
             || o->type == HOOP_SQL_OBJ_DOMAIN)
            && o->kind > HOOP_SQL_READ
            && (cat->implicit == HOOP_SQL_CAT_NONE
                || o->kind > cat->objs[cat->implicit].kind))
        {
            cat->implicit = (uint32_t) i;
        }
    }
}


void
hoop_sql_resolve(hoop_sql_stmt_t *st, const hoop_sql_refs_t *refs,
    const hoop_sql_catalog_t *cat)
{
    uint32_t         decides;
    hoop_sql_kind_e  before;

    decides = HOOP_SQL_CAT_NONE;
    before = st->kind;

    if (refs->truncated) {
        hoop_sql_stmt_raise(st, HOOP_SQL_CALL);
        snprintf(st->cause, sizeof(st->cause),
                 "it names more functions and objects than the gateway"
                 " looks up");
    }

    if (cat->implicit != HOOP_SQL_CAT_NONE) {
        hoop_sql_cat_raise(cat, st, &cat->objs[cat->implicit], &decides);
    }

    /* resolved when built: nothing is written here */

    hoop_sql_cat_refs((hoop_sql_catalog_t *) cat, st, refs, 0, &decides);

    if (decides != HOOP_SQL_CAT_NONE && st->kind != HOOP_SQL_UNKNOWN) {
        hoop_sql_cat_cause(cat, &cat->objs[decides], st->cause,
                           sizeof(st->cause));
    }

    if (st->kind != before) {
        st->calls_beyond = 1;
    }
}


/*
 * Each reference of a statement looked up; the object that raised the
 * kind last (the highest) in *decides.
 */
static void
hoop_sql_cat_refs(hoop_sql_catalog_t *cat, hoop_sql_stmt_t *st,
    const hoop_sql_refs_t *refs, unsigned depth, uint32_t *decides)
{
    int                  type, found, added;
    char                 lower[64];
    size_t               pos, i;
    const char          *schema, *name, *types;
    hoop_sql_cat_obj_t  *o;

    pos = 0;

    while ((type = hoop_sql_ref_next(refs, &pos, &schema, &name)) != 0) {

        switch (type) {

        case HOOP_SQL_REF_FUNCTION:

            /* t(x) with no function t is x::t: the cast's functions */
            types = "ft";
            break;

        case HOOP_SQL_REF_ATTRIBUTE:
            types = "f";
            break;

        case HOOP_SQL_REF_OPERATOR:
            types = "o";
            break;

        case HOOP_SQL_REF_TYPE:
            types = "td";
            break;

        case HOOP_SQL_REF_RELATION:
            types = "rvp";
            break;

        case HOOP_SQL_REF_SETTING:
            for (i = 0; name[i] && i + 1 < sizeof(lower); i++) {
                lower[i] = (name[i] >= 'A' && name[i] <= 'Z')
                           ? (char) (name[i] - 'A' + 'a') : name[i];
            }

            lower[i] = '\0';
            name = lower;
            types = "g";
            break;

        default:
            continue;
        }

        found = 0;
        added = 0;

        for (o = hoop_sql_cat_first(cat, name); o;
             o = hoop_sql_cat_next(cat, o))
        {
            if (!hoop_sql_cat_match(o, types, schema, name)) {
                continue;
            }

            /* x.name is name(x) only if a function takes one argument */

            if (type == HOOP_SQL_REF_ATTRIBUTE
                && !(o->flags & HOOP_SQL_FN_ONE_ARG))
            {
                continue;
            }

            found = 1;

            hoop_sql_cat_resolve(cat, o, depth);

            if (o->kind > HOOP_SQL_READ) {
                hoop_sql_cat_raise(cat, st, o, decides);
            }

            /* a call written as x.name is a call all the same */

            if (type == HOOP_SQL_REF_ATTRIBUTE && !added
                && (o->kind > HOOP_SQL_READ
                    || !hoop_sql_cat_builtin(o->schema)))
            {
                hoop_sql_stmt_function(st, name);
                added = 1;
            }
        }

        if (found) {
            continue;
        }

        /*
         * a function or an operator nobody knew when the session began:
         * created since, so what it does is not known
         */

        if (type == HOOP_SQL_REF_FUNCTION || type == HOOP_SQL_REF_OPERATOR) {
            if (*decides == HOOP_SQL_CAT_NONE && st->cause[0] == '\0') {
                snprintf(st->cause, sizeof(st->cause),
                         "no %s \"%.60s\" was in the catalog when the"
                         " session began",
                         type == HOOP_SQL_REF_FUNCTION ? "function"
                                                       : "operator", name);
            }

            hoop_sql_stmt_raise(st, HOOP_SQL_CALL);
        }
    }
}


/* o is more than a read: st's kind rises, and its functions say why */
static void
hoop_sql_cat_raise(const hoop_sql_catalog_t *cat, hoop_sql_stmt_t *st,
    hoop_sql_cat_obj_t *o, uint32_t *decides)
{
    const hoop_sql_cat_obj_t  *c;

    c = (o->cause != HOOP_SQL_CAT_NONE) ? &cat->objs[o->cause] : o;

    if (c->type == HOOP_SQL_OBJ_FUNCTION || c->type == HOOP_SQL_OBJ_IMPLICIT)
    {
        hoop_sql_stmt_function(st, c->name);
    }

    /* the first object of the highest kind says why */

    if (*decides == HOOP_SQL_CAT_NONE || o->kind > cat->objs[*decides].kind)
    {
        *decides = (uint32_t) (o - cat->objs);
    }

    hoop_sql_stmt_raise(st, (hoop_sql_kind_e) o->kind);
}


static void
hoop_sql_cat_resolve(hoop_sql_catalog_t *cat, hoop_sql_cat_obj_t *o,
    unsigned depth)
{
    hoop_sql_cat_obj_t  *b;

    if (o->state != 0) {
        return;             /* resolved, or a cycle: the rest decides */
    }

    if (depth > HOOP_SQL_CAT_DEPTH) {
        o->kind = HOOP_SQL_CALL;
        o->why = HOOP_SQL_WHY_DEEP;
        o->state = 2;
        return;
    }

    o->state = 1;
    o->kind = HOOP_SQL_READ;

    switch (o->type) {

    case HOOP_SQL_OBJ_FUNCTION:
    case HOOP_SQL_OBJ_IMPLICIT:
        hoop_sql_cat_function(cat, o);

        /* a non-volatile SQL function is what its body calls */

        for (b = hoop_sql_cat_first(cat, o->name); b;
             b = hoop_sql_cat_next(cat, b))
        {
            if (b->type == HOOP_SQL_OBJ_BODY
                && strcmp(b->name, o->name) == 0
                && strcmp(b->schema, o->schema) == 0)
            {
                hoop_sql_cat_resolve(cat, b, depth + 1);
                hoop_sql_cat_worse(cat, o, b);
            }
        }

        break;

    case HOOP_SQL_OBJ_OPERATOR:
    case HOOP_SQL_OBJ_TYPE:
        hoop_sql_cat_calls(cat, o, depth);
        break;

    case HOOP_SQL_OBJ_RELATION:
        if (o->flags & HOOP_SQL_FN_PRIVILEGED) {
            o->kind = HOOP_SQL_ADMIN;
            o->why = HOOP_SQL_WHY_SELECT;

        } else if ((o->flags & HOOP_SQL_REL_FOREIGN)
                   && !hoop_sql_cat_read_safe(cat, o->schema, o->name))
        {
            /* reading it runs its wrapper: a program, another server */
            o->kind = HOOP_SQL_CALL;
            o->why = HOOP_SQL_WHY_FOREIGN;
        }

        break;

    case HOOP_SQL_OBJ_MATVIEW:
        break;

    case HOOP_SQL_OBJ_SETTING:
        if (o->flags & HOOP_SQL_FN_PRIVILEGED) {
            o->kind = HOOP_SQL_ADMIN;
            o->why = HOOP_SQL_WHY_SUPERUSER;
        }

        break;

    default:                /* s, d, v, p: a definition */
        hoop_sql_cat_definition(cat, o, depth);
    }

    o->state = 2;
}


/* a function by its own marks: volatile, executable by whom, known */
static void
hoop_sql_cat_function(hoop_sql_catalog_t *cat, hoop_sql_cat_obj_t *o)
{
    int  builtin, known;

    builtin = hoop_sql_cat_builtin(o->schema);
    known = builtin ? hoop_sql_builtin_kind(o->name) : -1;

    if (known >= 0) {
        o->kind = (unsigned char) known;
        o->why = HOOP_SQL_WHY_KNOWN;

    } else if ((o->flags & HOOP_SQL_FN_PRIVILEGED)
               && (builtin || (o->flags & HOOP_SQL_FN_VOLATILE)))
    {
        o->kind = HOOP_SQL_ADMIN;
        o->why = HOOP_SQL_WHY_EXECUTE;

    } else if ((o->flags & (HOOP_SQL_FN_VOLATILE | HOOP_SQL_FN_OPAQUE))
               && !hoop_sql_cat_read_safe(cat, o->schema, o->name))
    {
        /*
         * PostgreSQL does not hold a STABLE function to what it calls: a
         * PL/pgSQL one may call a volatile one.  Only a body the gateway
         * reads (SQL) or only a superuser could write (C) is taken at
         * its word.
         */
        o->kind = HOOP_SQL_CALL;
        o->why = (o->flags & HOOP_SQL_FN_VOLATILE) ? HOOP_SQL_WHY_VOLATILE
                                                    : HOOP_SQL_WHY_OPAQUE;
    }
}


/* an operator or a type: what the function it calls does */
static void
hoop_sql_cat_calls(hoop_sql_catalog_t *cat, hoop_sql_cat_obj_t *o,
    unsigned depth)
{
    int                  found;
    hoop_sql_cat_obj_t  *f;

    if (o->fname[0] == '\0') {
        return;
    }

    found = 0;

    for (f = hoop_sql_cat_first(cat, o->fname); f;
         f = hoop_sql_cat_next(cat, f))
    {
        if (hoop_sql_cat_match(f, "f", o->fschema, o->fname)) {
            found = 1;
            hoop_sql_cat_resolve(cat, f, depth + 1);
            hoop_sql_cat_worse(cat, o, f);
        }
    }

    if (!found) {
        o->kind = HOOP_SQL_CALL;
        o->why = HOOP_SQL_WHY_UNKNOWN;
    }
}


/* a view, a policy, a domain's CHECK, a function's body: parsed here */
static void
hoop_sql_cat_definition(hoop_sql_catalog_t *cat, hoop_sql_cat_obj_t *o,
    unsigned depth)
{
    int              i, n;
    uint32_t         decides;
    hoop_sql_refs_t  refs[HOOP_SQL_CAT_STMTS];
    hoop_sql_stmt_t  st[HOOP_SQL_CAT_STMTS];

    if (o->body == NULL) {
        return;
    }

    n = hoop_sql_classify_refs(o->body, st, refs, HOOP_SQL_CAT_STMTS,
                               NULL, 0);

    for (i = 0; i < n; i++) {
        decides = HOOP_SQL_CAT_NONE;

        if (st[i].kind == HOOP_SQL_UNKNOWN) {
            /* what it does cannot be read: assume it calls anything */
            st[i].kind = HOOP_SQL_CALL;

        } else {
            hoop_sql_cat_refs(cat, &st[i], &refs[i], depth + 1, &decides);
        }

        if (st[i].kind <= o->kind) {
            continue;
        }

        o->kind = (unsigned char) st[i].kind;

        if (decides != HOOP_SQL_CAT_NONE) {
            o->cause = (cat->objs[decides].cause != HOOP_SQL_CAT_NONE)
                       ? cat->objs[decides].cause : decides;
            o->why = cat->objs[o->cause].why;

        } else {
            o->cause = HOOP_SQL_CAT_NONE;
            o->why = HOOP_SQL_WHY_DEFINITION;
        }
    }
}


/* o is at least what by is, and then because of what by is */
static void
hoop_sql_cat_worse(hoop_sql_catalog_t *cat, hoop_sql_cat_obj_t *o,
    hoop_sql_cat_obj_t *by)
{
    if (by->kind <= o->kind) {
        return;
    }

    o->kind = by->kind;
    o->cause = (by->cause != HOOP_SQL_CAT_NONE) ? by->cause
                                                 : (uint32_t) (by - cat->objs);
    o->why = cat->objs[o->cause].why;
}


static int
hoop_sql_cat_match(const hoop_sql_cat_obj_t *o, const char *types,
    const char *schema, const char *name)
{
    return strchr(types, o->type) != NULL
           && strcmp(o->name, name) == 0
           && (schema == NULL || schema[0] == '\0'
               || strcmp(o->schema, schema) == 0);
}


static int
hoop_sql_cat_read_safe(const hoop_sql_catalog_t *cat, const char *schema,
    const char *name)
{
    char                full[160];
    size_t              i, len;
    const char *const  *p;

    if (hoop_sql_cat_builtin(schema)) {
        for (i = 0; hoop_sql_read_safe_builtins[i]; i++) {
            if (hoop_rule_glob(hoop_sql_read_safe_builtins[i], name,
                               strlen(name)))
            {
                return 1;
            }
        }
    }

    if (cat->read_safe == NULL) {
        return 0;
    }

    len = (size_t) snprintf(full, sizeof(full), "%s.%s", schema, name);

    for (p = cat->read_safe; *p; p++) {
        if (strchr(*p, '.') != NULL
            ? len < sizeof(full) && hoop_rule_glob(*p, full, len)
            : hoop_rule_glob(*p, name, strlen(name)))
        {
            return 1;
        }
    }

    return 0;
}


static int
hoop_sql_cat_builtin(const char *schema)
{
    return strcmp(schema, "pg_catalog") == 0;
}


/* "public.v_fx: public.fx() is VOLATILE" */
static void
hoop_sql_cat_cause(const hoop_sql_catalog_t *cat,
    const hoop_sql_cat_obj_t *o, char *buf, size_t size)
{
    char                       via[80];
    const char                *fmt;
    const hoop_sql_cat_obj_t  *c;

    c = (o->cause != HOOP_SQL_CAT_NONE) ? &cat->objs[o->cause] : o;

    via[0] = '\0';

    if (c != o) {
        snprintf(via, sizeof(via), "%.30s%s%.40s: ", o->schema,
                 o->schema[0] ? "." : "", o->name);
    }

    switch (c->why) {

    case HOOP_SQL_WHY_VOLATILE:
        fmt = "%s%s.%s() is VOLATILE";
        break;

    case HOOP_SQL_WHY_OPAQUE:
        fmt = "%s%s.%s() is not SQL: what it does cannot be read";
        break;

    case HOOP_SQL_WHY_FOREIGN:
        fmt = "%s%s.%s is a foreign table: reading it runs its wrapper";
        break;

    case HOOP_SQL_WHY_EXECUTE:
        fmt = "%s%s.%s() is not executable by PUBLIC";
        break;

    case HOOP_SQL_WHY_KNOWN:
        fmt = "%s%s.%s() changes the database or the server";
        break;

    case HOOP_SQL_WHY_UNKNOWN:
        fmt = "%s%s.%s calls a function the catalog does not have";
        break;

    case HOOP_SQL_WHY_SELECT:
        fmt = "%s%s.%s is not readable by PUBLIC";
        break;

    case HOOP_SQL_WHY_SUPERUSER:
        fmt = "%s%s%s only a superuser may change";
        break;

    case HOOP_SQL_WHY_DEEP:
        fmt = "%s%s.%s is defined through too many others to follow";
        break;

    default:
        fmt = "%s%s.%s changes the database";
    }

    snprintf(buf, size, fmt, via, c->schema, c->name);
}


static uint32_t
hoop_sql_cat_buckets(size_t n)
{
    uint32_t  b;

    for (b = 16; b < 2 * n && b < 0x40000000u; b <<= 1) {
        /* void */
    }

    return b;
}


/* FNV-1a */
static uint32_t
hoop_sql_cat_hash(const char *name)
{
    uint32_t  h;

    for (h = 2166136261u; *name; name++) {
        h = (h ^ (unsigned char) *name) * 16777619u;
    }

    return h;
}


static const char *
hoop_sql_cat_copy(hoop_sql_catalog_t *cat, const char *prefix, const char *s)
{
    char    *p;
    size_t   plen, len;

    s = (s != NULL) ? s : "";
    plen = (prefix != NULL) ? strlen(prefix) : 0;
    len = strlen(s);

    p = cat->text + cat->text_used;

    if (plen) {
        memcpy(p, prefix, plen);
    }

    memcpy(p + plen, s, len + 1);
    cat->text_used += plen + len + 1;

    return p;
}


const char *
hoop_sql_catalog_body(const hoop_sql_catalog_t *cat, char type,
    const char *name, size_t *pos)
{
    size_t               seen;
    hoop_sql_cat_obj_t  *o;

    seen = 0;

    for (o = hoop_sql_cat_first(cat, name); o; o = hoop_sql_cat_next(cat, o))
    {
        if (o->type != type || o->body == NULL
            || strcmp(o->name, name) != 0)
        {
            continue;
        }

        if (seen++ == *pos) {
            (*pos)++;
            return o->body;
        }
    }

    return NULL;
}


size_t
hoop_sql_catalog_mentioning(const hoop_sql_catalog_t *cat,
    const char *names, char *out, size_t cap)
{
    int                  changed;
    size_t               i, len, n;
    const char          *p;
    hoop_sql_cat_obj_t  *o;

    /* the names given first */

    for (len = 0, p = names; *p; p += n + 1) {
        n = strlen(p);

        if (len + n + 2 > cap) {
            return 0;
        }

        memcpy(out + len, p, n + 1);
        len += n + 1;
    }

    out[len] = '\0';

    /* then what mentions any of them, until nothing more does */

    do {
        changed = 0;

        for (i = 0; i < cat->n; i++) {
            o = &cat->objs[i];

            if ((o->type != HOOP_SQL_OBJ_VIEW && o->type != HOOP_SQL_OBJ_BODY
                 && o->type != HOOP_SQL_OBJ_MATVIEW)
                || o->body == NULL
                || hoop_sql_lineage_listed(out, o->name, strlen(o->name))
                || !hoop_sql_lineage_mentions(o->body, strlen(o->body), out))
            {
                continue;
            }

            n = strlen(o->name);

            if (len + n + 2 > cap) {
                return 0;
            }

            memcpy(out + len, o->name, n + 1);
            len += n + 1;
            out[len] = '\0';
            changed = 1;
        }

    } while (changed);

    return len + 1;
}


static hoop_sql_cat_obj_t *
hoop_sql_cat_first(const hoop_sql_catalog_t *cat, const char *name)
{
    uint32_t  i;

    i = cat->buckets[hoop_sql_cat_hash(name) & cat->mask];

    return (i == HOOP_SQL_CAT_NONE) ? NULL : &cat->objs[i];
}


static hoop_sql_cat_obj_t *
hoop_sql_cat_next(const hoop_sql_catalog_t *cat, const hoop_sql_cat_obj_t *o)
{
    return (o->next == HOOP_SQL_CAT_NONE) ? NULL : &cat->objs[o->next];
}


/*
 * Counts and the sum of the creating transaction ids of the catalog rows
 * the catalog query reads: any CREATE, ALTER, DROP, GRANT or REVOKE of
 * them changes it (an update writes a row with a new xmin).  With the
 * cluster's identifier and the database, so two databases never share a
 * fingerprint, and the role (what it may read decides what is "admin"
 * to read) and the roles it is a member of.  Tables (and their row and
 * array types) are not counted, so a temporary table does not change
 * it; but where a domain has a CHECK, columns of the database's own
 * types are: a composite holding such a domain runs the CHECK.
 */
static const char  hoop_sql_catalog_fingerprint_sql[] =
    "SELECT pg_catalog.md5(pg_catalog.concat_ws(',',"
    " (SELECT system_identifier FROM pg_catalog.pg_control_system()),"
    " (SELECT oid FROM pg_catalog.pg_database"
    "   WHERE datname = pg_catalog.current_database()),"
    " pg_catalog.current_setting('server_version_num'), current_user,"
    " (SELECT pg_catalog.count(*) || '.' || pg_catalog.sum(xmin::text::int8)"
    "   FROM pg_catalog.pg_proc),"
    " (SELECT pg_catalog.count(*) || '.' || pg_catalog.sum(xmin::text::int8)"
    "   FROM pg_catalog.pg_operator),"
    " (SELECT pg_catalog.count(*) || '.' || pg_catalog.sum(xmin::text::int8)"
    "   FROM pg_catalog.pg_cast),"
    " (SELECT pg_catalog.count(*) || '.' || pg_catalog.sum(xmin::text::int8)"
    "   FROM pg_catalog.pg_aggregate),"
    " (SELECT pg_catalog.count(*) || '.' || pg_catalog.sum(xmin::text::int8)"
    "   FROM pg_catalog.pg_namespace),"
    " (SELECT pg_catalog.count(*) || '.' || pg_catalog.sum(xmin::text::int8)"
    "   FROM pg_catalog.pg_rewrite),"
    " (SELECT pg_catalog.count(*) || '.' || pg_catalog.sum(xmin::text::int8)"
    "   FROM pg_catalog.pg_policy),"
    " (SELECT pg_catalog.count(*) || '.' || pg_catalog.sum(xmin::text::int8)"
    "   FROM pg_catalog.pg_constraint WHERE contypid <> 0),"
    " (SELECT pg_catalog.count(*) || '.' || pg_catalog.sum(xmin::text::int8)"
    "   FROM pg_catalog.pg_type"
    "   WHERE typtype <> 'c' AND typcategory <> 'A'),"
    " (SELECT pg_catalog.count(*) || '.' || pg_catalog.sum(xmin::text::int8)"
    "   FROM pg_catalog.pg_class WHERE relkind IN ('v', 'm', 'f')"
    "   OR relnamespace = 'pg_catalog'::pg_catalog.regnamespace),"
    " (SELECT pg_catalog.count(*) || '.' || pg_catalog.sum(xmin::text::int8)"
    "   FROM pg_catalog.pg_inherits),"
    " (SELECT pg_catalog.count(*) || '.' || pg_catalog.sum(xmin::text::int8)"
    "   FROM pg_catalog.pg_auth_members),"
    " (SELECT pg_catalog.count(*) || '.'"
    "   || pg_catalog.sum(a.xmin::text::int8)"
    "   FROM pg_catalog.pg_attribute a"
    "   JOIN pg_catalog.pg_type t ON t.oid = a.atttypid"
    "   WHERE t.typnamespace NOT IN"
    "    ('pg_catalog'::pg_catalog.regnamespace,"
    "     'information_schema'::pg_catalog.regnamespace)"
    "   AND EXISTS (SELECT FROM pg_catalog.pg_constraint c"
    "    WHERE c.contypid <> 0 AND c.contype = 'c'"
    "    AND c.connamespace NOT IN"
    "     ('pg_catalog'::pg_catalog.regnamespace,"
    "      'information_schema'::pg_catalog.regnamespace)))))";


/*
 * Rows: type, schema, name, the schema and name of the function it calls,
 * flags (HOOP_SQL_FN_*), a definition.  Built-in schemas' own objects
 * are trusted as PostgreSQL marks them; definitions are read from the
 * others.  A built-in relation is "admin" to read when the session's role
 * may read it and PUBLIC may not (pg_authid, pg_subscription's connection
 * strings for a superuser); a role that may not read it is refused by
 * PostgreSQL itself.
 */
static const char  hoop_sql_catalog_sql[] =
    "WITH RECURSIVE hoop_holds(outer_type, inner_type) AS ("
    " SELECT t.oid, t.typbasetype FROM pg_catalog.pg_type t"
    " WHERE t.typtype = 'd'"
    " UNION ALL SELECT t.oid, t.typelem FROM pg_catalog.pg_type t"
    " WHERE t.typelem <> 0"
    " UNION ALL SELECT t.oid, a.atttypid FROM pg_catalog.pg_type t"
    " JOIN pg_catalog.pg_attribute a ON a.attrelid = t.typrelid"
    " WHERE t.typrelid <> 0 AND a.attnum > 0 AND NOT a.attisdropped"
    " UNION ALL SELECT r.rngtypid, r.rngsubtype FROM pg_catalog.pg_range r"
    " UNION ALL SELECT r.rngmultitypid, r.rngtypid"
    " FROM pg_catalog.pg_range r),"
    " hoop_checked(type, expr) AS ("
    " SELECT c.contypid, pg_catalog.pg_get_expr(c.conbin, 0)"
    " FROM pg_catalog.pg_constraint c"
    " JOIN pg_catalog.pg_type t ON t.oid = c.contypid"
    " JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace"
    " WHERE c.contype = 'c'"
    " AND n.nspname NOT IN ('pg_catalog', 'information_schema')"
    " UNION SELECT h.outer_type, k.expr FROM hoop_checked k"
    " JOIN hoop_holds h ON h.inner_type = k.type),"
    " hoop_untrusted(oid, nspname, proname) AS ("
    " SELECT p.oid, n.nspname, p.proname FROM pg_catalog.pg_proc p"
    " JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace"
    " JOIN pg_catalog.pg_language l ON l.oid = p.prolang"
    " WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')"
    " AND (p.provolatile = 'v' OR l.lanname NOT IN ('c', 'internal'))),"
    " hoop_converts(type, fschema, fname) AS ("
    " SELECT k.casttarget, u.nspname, u.proname FROM pg_catalog.pg_cast k"
    " JOIN hoop_untrusted u ON u.oid = k.castfunc"
    " UNION SELECT t.oid, u.nspname, u.proname FROM pg_catalog.pg_type t"
    " JOIN hoop_untrusted u ON u.oid = t.typinput"
    " UNION SELECT h.outer_type, c.fschema, c.fname FROM hoop_converts c"
    " JOIN hoop_holds h ON h.inner_type = c.type),"
    " hoop_foreign(oid) AS ("
    " SELECT c.oid FROM pg_catalog.pg_class c WHERE c.relkind = 'f'"
    " UNION SELECT i.inhparent FROM pg_catalog.pg_inherits i"
    " JOIN hoop_foreign f ON f.oid = i.inhrelid)"
    " SELECT 'f', n.nspname, p.proname, NULL, NULL,"
    " pg_catalog.bit_or("
    "  CASE WHEN p.provolatile = 'v' OR (p.prokind = 'a' AND EXISTS ("
    "    SELECT FROM pg_catalog.pg_aggregate a"
    "    JOIN pg_catalog.pg_proc s ON s.oid IN (a.aggtransfn, a.aggfinalfn,"
    "     a.aggcombinefn, a.aggserialfn, a.aggdeserialfn, a.aggmtransfn,"
    "     a.aggminvtransfn, a.aggmfinalfn)"
    "    WHERE a.aggfnoid = p.oid AND s.provolatile = 'v'))"
    "  THEN 1 ELSE 0 END"
    "  | CASE WHEN p.proacl IS NULL OR pg_catalog.has_function_privilege("
    "    'public', p.oid, 'EXECUTE') THEN 0 ELSE 2 END"
    "  | CASE WHEN p.pronargs - p.pronargdefaults <= 1"
    "    AND (p.pronargs >= 1 OR p.provariadic <> 0) THEN 4 ELSE 0 END"
    "  | CASE WHEN l.lanname NOT IN ('sql', 'internal')"
    "    AND n.nspname NOT IN ('pg_catalog', 'information_schema')"
    "    THEN 8 ELSE 0 END),"
    " NULL"
    " FROM pg_catalog.pg_proc p"
    " JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace"
    " JOIN pg_catalog.pg_language l ON l.oid = p.prolang"
    " GROUP BY n.nspname, p.proname"
    " UNION ALL"
    " SELECT 's', n.nspname, p.proname, NULL, NULL, 0,"
    " CASE WHEN p.prosqlbody IS NULL THEN p.prosrc"
    "  ELSE pg_catalog.regexp_replace(pg_catalog.regexp_replace("
    "   pg_catalog.pg_get_function_sqlbody(p.oid), '^RETURN ', 'SELECT '),"
    "   '^BEGIN ATOMIC(.*)END$', E'\\\\1', 's') END"
    " FROM pg_catalog.pg_proc p"
    " JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace"
    " JOIN pg_catalog.pg_language l ON l.oid = p.prolang"
    " WHERE l.lanname = 'sql' AND p.provolatile <> 'v'"
    " AND n.nspname NOT IN ('pg_catalog', 'information_schema')"
    " UNION ALL"
    " SELECT 's', n.nspname, p.proname, NULL, NULL, 0,"
    " 'SELECT ' || pg_catalog.pg_get_expr(p.proargdefaults, 0)"
    " FROM pg_catalog.pg_proc p"
    " JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace"
    " WHERE p.proargdefaults IS NOT NULL"
    " AND n.nspname NOT IN ('pg_catalog', 'information_schema')"
    " UNION ALL"
    " SELECT 's', n.nspname, p.proname, NULL, NULL, 0,"
    " 'SELECT ' || pg_catalog.string_agg(pg_catalog.format('%I.%I()',"
    "  f.nspname, f.proname), ', ')"
    " FROM pg_catalog.pg_aggregate a"
    " JOIN pg_catalog.pg_proc p ON p.oid = a.aggfnoid"
    " JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace"
    " JOIN hoop_untrusted f ON f.oid IN (a.aggtransfn, a.aggfinalfn,"
    "  a.aggcombinefn, a.aggserialfn, a.aggdeserialfn, a.aggmtransfn,"
    "  a.aggminvtransfn, a.aggmfinalfn)"
    " GROUP BY n.nspname, p.proname, p.oid"
    " UNION ALL"
    " SELECT 's', n.nspname, p.proname, NULL, NULL, 0, 'SELECT ' || k.expr"
    " FROM (SELECT p.pronamespace, p.proname,"
    "  p.prorettype || p.proargtypes::pg_catalog.oid[]"
    "  || COALESCE(p.proallargtypes, '{}') AS types"
    "  FROM pg_catalog.pg_proc p) p"
    " JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace"
    " JOIN hoop_checked k ON k.type = ANY (p.types)"
    " WHERE p.types OPERATOR(pg_catalog.&&)"
    "  (SELECT pg_catalog.array_agg(type) FROM hoop_checked)"
    " UNION ALL"
    " SELECT DISTINCT 'o', n.nspname, o.oprname, u.nspname, u.proname,"
    " 0, NULL"
    " FROM pg_catalog.pg_operator o"
    " JOIN pg_catalog.pg_namespace n ON n.oid = o.oprnamespace"
    " LEFT JOIN pg_catalog.pg_operator x"
    "  ON x.oid IN (o.oid, o.oprnegate, o.oprcom)"
    " LEFT JOIN hoop_untrusted u ON u.oid = x.oprcode"
    " UNION ALL"
    " SELECT 't', n.nspname, t.typname, c.fschema, c.fname, 0, NULL"
    " FROM hoop_converts c"
    " JOIN pg_catalog.pg_type t ON t.oid = c.type"
    " JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace"
    " UNION ALL"
    " SELECT 'd', n.nspname, t.typname, NULL, NULL, 0, k.expr"
    " FROM hoop_checked k"
    " JOIN pg_catalog.pg_type t ON t.oid = k.type"
    " JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace"
    " UNION ALL"
    " SELECT 'r', n.nspname, c.relname, NULL, NULL, 2, NULL"
    " FROM pg_catalog.pg_class c"
    " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
    " WHERE n.nspname = 'pg_catalog' AND c.relkind IN ('r', 'v', 'm')"
    " AND NOT pg_catalog.has_table_privilege('public', c.oid, 'SELECT')"
    " AND pg_catalog.has_table_privilege(c.oid, 'SELECT')"
    " UNION ALL"
    " SELECT 'v', n.nspname, c.relname, NULL, NULL, 0,"
    " pg_catalog.pg_get_viewdef(c.oid)"
    " FROM pg_catalog.pg_class c"
    " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
    " WHERE c.relkind = 'v'"
    " AND n.nspname NOT IN ('pg_catalog', 'information_schema')"
    " UNION ALL"
    " SELECT 'm', n.nspname, c.relname, NULL, NULL, 0,"
    " pg_catalog.pg_get_viewdef(c.oid)"
    " FROM pg_catalog.pg_class c"
    " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
    " WHERE c.relkind = 'm'"
    " UNION ALL"
    " SELECT 'p', n.nspname, c.relname, NULL, NULL, 0,"
    " pg_catalog.pg_get_expr(y.polqual, y.polrelid)"
    " FROM pg_catalog.pg_policy y"
    " JOIN pg_catalog.pg_class c ON c.oid = y.polrelid"
    " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
    " WHERE y.polqual IS NOT NULL"
    " UNION ALL"
    " SELECT 'r', n.nspname, c.relname, NULL, NULL, 16, NULL"
    " FROM hoop_foreign f"
    " JOIN pg_catalog.pg_class c ON c.oid = f.oid"
    " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
    " UNION ALL"
    " SELECT 'g', NULL, s.name, NULL, NULL, 2, NULL"
    " FROM pg_catalog.pg_settings s WHERE s.context <> 'user'"
    " UNION ALL"
    " SELECT '*', fn.nspname, f.proname, NULL, NULL,"
    " CASE WHEN f.provolatile = 'v' THEN 1"
    "  WHEN fl.lanname <> 'sql' THEN 8 ELSE 0 END, NULL"
    " FROM pg_catalog.pg_proc f"
    " JOIN pg_catalog.pg_namespace fn ON fn.oid = f.pronamespace"
    " JOIN pg_catalog.pg_language fl ON fl.oid = f.prolang"
    " WHERE (f.provolatile = 'v'"
    "  OR (fl.lanname NOT IN ('c', 'internal')"
    "   AND fn.nspname NOT IN ('pg_catalog', 'information_schema')))"
    " AND f.oid IN ("
    "  SELECT t.typinput FROM pg_catalog.pg_type t"
    "  UNION SELECT t.typoutput FROM pg_catalog.pg_type t"
    "  UNION SELECT t.typreceive FROM pg_catalog.pg_type t"
    "  UNION SELECT t.typsend FROM pg_catalog.pg_type t"
    "  UNION SELECT k.castfunc FROM pg_catalog.pg_cast k"
    "   WHERE k.castcontext <> 'e'"
    "  UNION SELECT a.amproc FROM pg_catalog.pg_amproc a"
    "  UNION SELECT o.oprcode FROM pg_catalog.pg_amop m"
    "   JOIN pg_catalog.pg_operator o ON o.oid = m.amopopr)";


const char *
hoop_sql_catalog_fingerprint_query(void)
{
    return hoop_sql_catalog_fingerprint_sql;
}


const char *
hoop_sql_catalog_query(void)
{
    return hoop_sql_catalog_sql;
}


int
hoop_sql_catalog_row(const unsigned char *msg, size_t len,
    hoop_sql_object_t *obj, char *buf, size_t cap)
{
    int             i;
    char           *out, *cell[7];
    size_t          used;
    unsigned long   flags;
    hoop_pg_cell_t  cells[7];

    if (hoop_pg_datarow(msg, len, cells, 7) != 7) {
        return -1;
    }

    used = 0;

    for (i = 0; i < 7; i++) {
        if (cells[i].data == NULL) {
            cell[i] = NULL;
            continue;
        }

        if (memchr(cells[i].data, '\0', cells[i].len) != NULL
            || used + cells[i].len + 1 > cap)
        {
            return -1;
        }

        out = buf + used;
        memcpy(out, cells[i].data, cells[i].len);
        out[cells[i].len] = '\0';
        used += cells[i].len + 1;

        cell[i] = out;
    }

    if (cell[0] == NULL || strlen(cell[0]) != 1 || cell[2] == NULL
        || cell[5] == NULL)
    {
        return -1;
    }

    flags = strtoul(cell[5], &out, 10);

    if (*out != '\0' || out == cell[5] || flags > 0xff) {
        return -1;
    }

    obj->type = cell[0][0];
    obj->schema = cell[1];
    obj->name = cell[2];
    obj->fschema = cell[3];
    obj->fname = cell[4];
    obj->flags = (unsigned) flags;
    obj->body = cell[6];

    return strchr("fsotdrvmpg*", obj->type) != NULL ? 0 : -1;
}
