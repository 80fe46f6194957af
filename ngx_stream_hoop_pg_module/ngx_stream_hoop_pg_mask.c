/*
 * Copyright (C) nginx-hoop authors
 *
 * hoop_mask on Postgres results.
 *
 * Columns are masked whole, found by the name in RowDescription (so
 * "SELECT email" and any column aliased "email") and by table OID and
 * attribute number (so "SELECT email AS x" and views that keep the
 * name): after login, before the client's first query, the gateway asks
 * the catalog where columns of those names live in this database
 * (ngx_stream_hoop_pg_catalog.c sends the query made here).
 * Detectors run inside every text cell, inside COPY data sent to the
 * client, and over the text of errors and notices.  A cell that cannot
 * stay well-typed once masked (a binary cell, a number) becomes NULL.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_stream.h>

#include "ngx_stream_hoop_pg.h"
#include "ngx_hoop_mask_conf.h"
#include "hoop_pg_msg.h"


static char *ngx_stream_hoop_pg_mask_columns(ngx_conf_t *cf,
    ngx_stream_hoop_pg_srv_conf_t *pscf, ngx_str_t *list,
    ngx_uint_t strategy);
static ngx_uint_t ngx_stream_hoop_pg_mask_row_type(ngx_stream_session_t *s,
    uint32_t type_oid);
static void ngx_stream_hoop_pg_mask_remember(ngx_stream_session_t *s,
    hoop_sql_lineage_t *l);
static ngx_uint_t ngx_stream_hoop_pg_mask_traced(hoop_sql_lineage_t *l,
    uint32_t table_oid, const char *name);
static ngx_uint_t ngx_stream_hoop_pg_mask_tainted(hoop_sql_lineage_t *l,
    ngx_uint_t i, ngx_uint_t n, uint32_t table_oid, const char *name);
static ngx_int_t ngx_stream_hoop_pg_mask_relation(ngx_stream_session_t *s,
    hoop_pg_cell_t *name);
static ngx_int_t ngx_stream_hoop_pg_mask_mentions(ngx_stream_session_t *s);
static ngx_int_t ngx_stream_hoop_pg_mask_column(ngx_stream_session_t *s,
    hoop_pg_field_t *field, ngx_uint_t *strategy);
static u_char *ngx_stream_hoop_pg_mask_scratch(ngx_stream_session_t *s,
    size_t size);


/*
 * hoop_mask column=[table.]name,... [strategy=redact|partial|hash];
 * hoop_mask detect=email,... [strategy=...];
 * hoop_mask off;
 */
char *
ngx_stream_hoop_pg_mask(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_stream_hoop_pg_srv_conf_t  *pscf = conf;

    int         strategy;
    char       *rv;
    ngx_str_t  *detect, *columns;

    columns = NULL;

    rv = ngx_hoop_mask_args(cf, &pscf->mask_enable, &detect, &columns,
                            &strategy);

    if (rv != NGX_CONF_OK || pscf->mask_enable == 0) {
        return rv;
    }

    if (columns != NULL) {
        return ngx_stream_hoop_pg_mask_columns(cf, pscf, columns,
                                               (ngx_uint_t) strategy);
    }

    return ngx_hoop_mask_detect(cf, &pscf->mask, detect,
                                (hoop_mask_strategy_t) strategy);
}


/* column names become SQL literals: only identifier characters */
static char *
ngx_stream_hoop_pg_mask_columns(ngx_conf_t *cf,
    ngx_stream_hoop_pg_srv_conf_t *pscf, ngx_str_t *list,
    ngx_uint_t strategy)
{
    u_char                            *p, *last, *comma, *dot, *c;
    ngx_str_t                          name;
    ngx_stream_hoop_pg_mask_column_t  *col;

    if (pscf->mask_columns == NULL) {
        pscf->mask_columns = ngx_array_create(cf->pool, 4,
                                     sizeof(ngx_stream_hoop_pg_mask_column_t));
        if (pscf->mask_columns == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    p = list->data;
    last = list->data + list->len;

    while (p < last) {
        comma = ngx_strlchr(p, last, ',');
        comma = comma ? comma : last;

        name.data = p;
        name.len = comma - p;
        p = comma + 1;

        for (c = name.data; c < name.data + name.len; c++) {
            if (*c != '_' && *c != '.' && *c != '$'
                && !(*c >= 'a' && *c <= 'z') && !(*c >= 'A' && *c <= 'Z')
                && !(*c >= '0' && *c <= '9'))
            {
                break;
            }
        }

        if (name.len == 0 || c != name.data + name.len
            || name.data[0] == '.' || name.data[name.len - 1] == '.')
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid column \"%V\" in the \"hoop_mask\""
                               " directive: name or table.name", &name);
            return NGX_CONF_ERROR;
        }

        col = ngx_array_push(pscf->mask_columns);
        if (col == NULL) {
            return NGX_CONF_ERROR;
        }

        col->strategy = strategy;

        dot = ngx_strlchr(name.data, name.data + name.len, '.');

        if (dot != NULL) {
            col->table.data = name.data;
            col->table.len = dot - name.data;
            col->column.data = dot + 1;
            col->column.len = name.data + name.len - (dot + 1);

        } else {
            ngx_str_null(&col->table);
            col->column = name;
        }
    }

    return NGX_CONF_OK;
}


char *
ngx_stream_hoop_pg_mask_merge(ngx_conf_t *cf,
    ngx_stream_hoop_pg_srv_conf_t *prev, ngx_stream_hoop_pg_srv_conf_t *conf)
{
    u_char                            *p, *q;
    size_t                             len;
    ngx_uint_t                         i, hash;
    ngx_stream_hoop_pg_mask_column_t  *col;
    /*
     * a row for each relation with a column of those names, under its
     * own name and under each of its ancestors' (a partition's, a child
     * table's column is its parent's, for a table.column rule)
     */
    static const char                  head[] =
        "SELECT a.attrelid::int8, a.attnum, u.relname, a.attname,"
        " c.reltype::int8, COALESCE(t.typarray, 0)::int8, c.relname"
        " FROM pg_catalog.pg_attribute a"
        " JOIN pg_catalog.pg_class c ON c.oid = a.attrelid"
        " LEFT JOIN pg_catalog.pg_type t ON t.oid = c.reltype"
        " CROSS JOIN LATERAL (WITH RECURSIVE up(oid, depth) AS"
        " (SELECT c.oid, 0 UNION ALL SELECT i.inhparent, up.depth + 1"
        " FROM pg_catalog.pg_inherits i JOIN up ON i.inhrelid = up.oid"
        " WHERE up.depth < 64)"
        " SELECT p.relname FROM up"
        " JOIN pg_catalog.pg_class p ON p.oid = up.oid) u"
        " WHERE a.attnum > 0 AND NOT a.attisdropped AND a.attname IN (";

    if (conf->mask_enable == NGX_CONF_UNSET) {
        conf->mask_enable = prev->mask_enable;
        conf->mask = prev->mask;
        conf->mask_columns = prev->mask_columns;
        conf->mask_names = prev->mask_names;
    }

    ngx_conf_merge_str_value(conf->mask_key, prev->mask_key, "");

    if (conf->mask_enable != 1) {
        conf->mask_enable = 0;
        return NGX_CONF_OK;
    }

    hash = 0;

    if (conf->mask_columns == NULL) {
        return ngx_hoop_mask_key_apply(cf, &conf->mask, &conf->mask_key, 0);
    }

    /* the catalog query: which relations have columns of these names */

    col = conf->mask_columns->elts;
    len = sizeof(head) + 8;

    for (i = 0; i < conf->mask_columns->nelts; i++) {
        len += col[i].column.len + 3;
        hash |= (col[i].strategy == HOOP_MASK_HASH);
    }

    /* twice the names: in the query, and for lineage ("ssn\0email\0\0") */

    p = ngx_pnalloc(cf->pool, 2 * len);
    if (p == NULL) {
        return NGX_CONF_ERROR;
    }

    conf->mask_names = p + len;
    q = conf->mask_names;

    for (i = 0; i < conf->mask_columns->nelts; i++) {
        q = ngx_cpymem(q, col[i].column.data, col[i].column.len);
        *q++ = '\0';
    }

    *q = '\0';

    conf->mask_catalog.data = p;

    p = ngx_cpymem(p, head, sizeof(head) - 1);

    for (i = 0; i < conf->mask_columns->nelts; i++) {
        *p++ = i ? ',' : ' ';
        *p++ = '\'';
        p = ngx_cpymem(p, col[i].column.data, col[i].column.len);
        *p++ = '\'';
    }

    *p++ = ')';

    conf->mask_catalog.len = p - conf->mask_catalog.data;

    return ngx_hoop_mask_key_apply(cf, &conf->mask, &conf->mask_key, hash);
}


/*
 * A row of the masked columns' query (ngx_stream_hoop_pg_catalog.c):
 * attrelid, attnum, the relation's name or an ancestor's, attname, the
 * relation's row type and its array type, its own name, as text.
 * NGX_DECLINED (consumed).
 */
ngx_int_t
ngx_stream_hoop_pg_mask_catalog_row(ngx_stream_session_t *s, u_char *msg,
    size_t len)
{
    ngx_int_t                          oid, attnum, row_type, row_array;
    ngx_uint_t                         i;
    hoop_pg_cell_t                     cell[7];
    ngx_stream_hoop_pg_ctx_t          *ctx;
    ngx_stream_hoop_pg_srv_conf_t     *pscf;
    ngx_stream_hoop_pg_mask_attr_t    *attr;
    ngx_stream_hoop_pg_mask_column_t  *col;

    ctx = ngx_stream_get_module_ctx(s, ngx_stream_hoop_pg_module);
    pscf = ngx_stream_get_module_srv_conf(s, ngx_stream_hoop_pg_module);

    if (hoop_pg_datarow(msg, len, cell, 7) != 7) {
        return NGX_DECLINED;
    }

    for (i = 0; i < 7; i++) {
        if (cell[i].data == NULL) {
            return NGX_DECLINED;
        }
    }

    oid = ngx_atoi((u_char *) cell[0].data, cell[0].len);
    attnum = ngx_atoi((u_char *) cell[1].data, cell[1].len);
    row_type = ngx_atoi((u_char *) cell[4].data, cell[4].len);
    row_array = ngx_atoi((u_char *) cell[5].data, cell[5].len);

    if (oid == NGX_ERROR || attnum == NGX_ERROR || row_type == NGX_ERROR
        || row_array == NGX_ERROR)
    {
        return NGX_DECLINED;
    }

    col = pscf->mask_columns->elts;

    for (i = 0; i < pscf->mask_columns->nelts; i++) {
        if (col[i].column.len != cell[3].len
            || ngx_strncmp(col[i].column.data, cell[3].data, cell[3].len)
               != 0
            || (col[i].table.len
                && (col[i].table.len != cell[2].len
                    || ngx_strncmp(col[i].table.data, cell[2].data,
                                   cell[2].len)
                       != 0)))
        {
            continue;
        }

        attr = ngx_array_push(ctx->mask_attrs);
        if (attr == NULL) {
            return NGX_ERROR;
        }

        if (ngx_stream_hoop_pg_mask_relation(s, &cell[6]) != NGX_OK) {
            return NGX_ERROR;
        }

        attr->table_oid = (uint32_t) oid;
        attr->row_type = (uint32_t) row_type;
        attr->row_array = (uint32_t) row_array;
        attr->attnum = (int16_t) attnum;
        attr->strategy = (uint8_t) col[i].strategy;
        break;
    }

    return NGX_DECLINED;
}


/*
 * A RowDescription: what becomes of each column of the rows that follow
 * it, until the next one.
 */
ngx_int_t
ngx_stream_hoop_pg_mask_plan(ngx_stream_session_t *s, u_char *msg,
    size_t len)
{
    int                             n, i;
    ngx_uint_t                      strategy, text;
    hoop_pg_field_t                *fields;
    hoop_sql_lineage_t              unknown, *lineage;
    hoop_pg_cell_plan_t            *plan;
    ngx_stream_hoop_pg_sql_t       *sql;
    ngx_stream_hoop_pg_ctx_t       *ctx;
    ngx_stream_hoop_pg_srv_conf_t  *pscf;

    ctx = ngx_stream_get_module_ctx(s, ngx_stream_hoop_pg_module);
    pscf = ngx_stream_get_module_srv_conf(s, ngx_stream_hoop_pg_module);

    ctx->plan_active = 0;
    ctx->plan_cols = 0;

    if (len < 7) {
        return NGX_ERROR;
    }

    n = msg[5] << 8 | msg[6];

    /* one block: the fields (aligned) first, then the plan */

    if ((ngx_uint_t) n > ctx->plan_size) {
        if (ctx->plan_fields != NULL) {
            ngx_free(ctx->plan_fields);
        }

        ctx->plan_fields = ngx_alloc(n * (sizeof(hoop_pg_field_t)
                                          + sizeof(hoop_pg_cell_plan_t)),
                                     s->connection->log);
        if (ctx->plan_fields == NULL) {
            ctx->plan_size = 0;
            return NGX_ERROR;
        }

        ctx->plan_size = n;
    }

    fields = ctx->plan_fields;
    plan = (hoop_pg_cell_plan_t *) (fields + ctx->plan_size);
    ctx->plan = plan;

    if (hoop_pg_rowdesc_parse(msg, len, fields, n) != n) {
        ngx_log_error(NGX_LOG_ERR, s->connection->log, 0,
                      "hoop pg: malformed RowDescription from the"
                      " database");
        return NGX_ERROR;
    }

    for (i = 0; i < n; i++) {
        text = hoop_pg_cell_is_text(fields[i].type_oid, fields[i].format);

        plan[i].strategy = 0;

        if (ngx_stream_hoop_pg_mask_column(s, &fields[i], &strategy)
            == NGX_OK)
        {
            plan[i].action = text ? HOOP_PG_CELL_COLUMN : HOOP_PG_CELL_NULL;
            plan[i].strategy = (uint8_t) strategy;

        } else if (ngx_stream_hoop_pg_mask_row_type(s, fields[i].type_oid)) {
            /* a whole row of a table with a masked column, or an array */
            plan[i].action = HOOP_PG_CELL_NULL;

        } else if (pscf->mask.enabled == 0) {
            plan[i].action = HOOP_PG_CELL_PASS;

        } else if (text) {
            plan[i].action = HOOP_PG_CELL_DETECT;

        } else if (fields[i].format == 0
                   || hoop_pg_cell_is_text(fields[i].type_oid, 0))
        {
            /* a number that is a card, binary jsonb: NULL if found */
            plan[i].action = HOOP_PG_CELL_DETECT_NULL;

        } else if (fields[i].type_oid == 20) {
            plan[i].action = HOOP_PG_CELL_DETECT_INT8;

        } else if (fields[i].type_oid == 1700) {
            plan[i].action = HOOP_PG_CELL_DETECT_NUMERIC;

        } else {
            /*
             * binary: a fixed scalar cannot hold text; an address is
             * the value; an array, record, range, bytea, tsvector or
             * unknown type carries its texts in its bytes
             */
            plan[i].action = hoop_pg_binary_action(fields[i].type_oid,
                                                   pscf->mask.enabled);
        }

        if (plan[i].action != HOOP_PG_CELL_PASS) {
            ctx->plan_active = 1;
        }
    }

    ctx->plan_cols = n;

    /*
     * what the statement computed from a masked column: masked whole (a
     * column PostgreSQL traces to a table is masked by where it comes
     * from, above)
     */

    sql = ngx_stream_hoop_pg_mask_statement(ctx);

    /* a portal of a statement the gateway does not know: the worst */

    if (sql == NULL && ctx->lineage_seen) {
        ngx_memzero(&unknown, sizeof(hoop_sql_lineage_t));
        unknown.reads = 1;
        lineage = &unknown;

    } else {
        lineage = (sql != NULL && sql->lineage.reads) ? &sql->lineage : NULL;
    }

    if (lineage != NULL && pscf->mask_names != NULL) {
        for (i = 0; i < n; i++) {

            /*
             * a column PostgreSQL traces to a table and that has a masked
             * column's name is decided by where it comes from (above);
             * another (a view's "r" for reverse(ssn)) by lineage too, and
             * so is RETURNING's, a table's whatever was written
             */

            if ((fields[i].table_oid != 0 && !lineage->returning
                 && hoop_sql_lineage_listed((char *) pscf->mask_names,
                                            fields[i].name,
                                            ngx_strlen(fields[i].name)))
                || plan[i].action == HOOP_PG_CELL_COLUMN
                || plan[i].action == HOOP_PG_CELL_NULL
                || !ngx_stream_hoop_pg_mask_tainted(lineage,
                                                    (ngx_uint_t) i,
                                                    (ngx_uint_t) n,
                                                    lineage->returning
                                                    ? 0
                                                    : fields[i].table_oid,
                                                    fields[i].name))
            {
                continue;
            }

            plan[i].action = hoop_pg_cell_is_text(fields[i].type_oid,
                                                  fields[i].format)
                             ? HOOP_PG_CELL_COLUMN : HOOP_PG_CELL_NULL;
            plan[i].strategy = HOOP_MASK_REDACT;
            ctx->plan_active = 1;
        }
    }

    return NGX_OK;
}


/*
 * The lineage of a statement's outputs, when columns are masked: which
 * of them carry a value computed from a masked column, whatever the
 * expression (hoop_sql_lineage()).  FETCH and EXECUTE return rows of
 * another statement: they count as reading one once the session has.
 */
void
ngx_stream_hoop_pg_mask_lineage(ngx_stream_session_t *s,
    ngx_stream_hoop_pg_sql_t *sql, const char *text, size_t len)
{
    char                           *copy;
    const char                     *rels;
    ngx_stream_hoop_pg_ctx_t       *ctx;
    ngx_stream_hoop_pg_srv_conf_t  *pscf;

    ctx = ngx_stream_get_module_ctx(s, ngx_stream_hoop_pg_module);
    pscf = ngx_stream_get_module_srv_conf(s, ngx_stream_hoop_pg_module);

    ngx_memzero(&sql->lineage, sizeof(hoop_sql_lineage_t));

    if (pscf->mask_names == NULL || text == NULL) {
        return;
    }

    /* rows of another statement: by what the session has read so far */

    if (ngx_strcmp(sql->cls.command, "fetch") == 0
        || ngx_strcmp(sql->cls.command, "execute") == 0)
    {
        sql->lineage.reads = ctx->lineage_seen;
        sql->lineage.tainted_all = ctx->lineage_all;

        if (ctx->lineage_names != NULL) {
            ngx_memcpy(sql->lineage.tainted, ctx->lineage_names,
                       HOOP_SQL_LINEAGE_TAINTED);
        }

        return;
    }

    rels = ctx->mask_relations.len ? (char *) ctx->mask_relations.data
                                   : "\0";

    /*
     * most statements name no masked column, no relation with one, no
     * view or SQL function whose definition does: no parse for them
     */

    if (ctx->catalog != NULL && ctx->mask_mentions == NULL
        && ngx_stream_hoop_pg_mask_mentions(s) != NGX_OK)
    {
        sql->lineage.reads = 1;             /* nothing known: all masked */
        sql->lineage.tainted_all = 1;
        ctx->lineage_seen = 1;
        ctx->lineage_all = 1;
        return;
    }

    if (ctx->mask_mentions != NULL
        ? !hoop_sql_lineage_mentions(text, len, (char *) ctx->mask_mentions)
        : !hoop_sql_lineage_mentions(text, len, (char *) pscf->mask_names)
          && !hoop_sql_lineage_mentions(text, len, rels))
    {
        return;
    }

    copy = ngx_alloc(len + 1, s->connection->log);

    if (copy == NULL) {
        sql->lineage.reads = 1;             /* nothing known: all masked */
        sql->lineage.tainted_all = 1;
        ctx->lineage_seen = 1;
        ctx->lineage_all = 1;
        return;
    }

    ngx_memcpy(copy, text, len);
    copy[len] = '\0';

    (void) hoop_sql_lineage(copy, (char *) pscf->mask_names, rels,
                            ctx->catalog, &sql->lineage);
    ngx_free(copy);

    if (sql->lineage.reads) {
        ctx->lineage_seen = 1;
        ngx_stream_hoop_pg_mask_remember(s, &sql->lineage);
    }
}


/*
 * The names a statement found tainted, kept for the session: a cursor
 * declared over a view is fetched by a statement that does not say what
 * it returns.
 */
static void
ngx_stream_hoop_pg_mask_remember(ngx_stream_session_t *s,
    hoop_sql_lineage_t *l)
{
    u_char                    *names;
    size_t                     len, at;
    const char                *name;
    ngx_stream_hoop_pg_ctx_t  *ctx;

    ctx = ngx_stream_get_module_ctx(s, ngx_stream_hoop_pg_module);

    if (l->tainted_all) {
        ctx->lineage_all = 1;
        return;
    }

    if (ctx->lineage_names == NULL) {
        ctx->lineage_names = ngx_pcalloc(s->connection->pool,
                                         HOOP_SQL_LINEAGE_TAINTED);
        if (ctx->lineage_names == NULL) {
            ctx->lineage_all = 1;
            return;
        }
    }

    names = ctx->lineage_names;

    for (at = 0; names[at] != '\0'; at += ngx_strlen(names + at) + 1) {
        /* void */
    }

    for (name = l->tainted; *name; name += len + 1) {
        len = ngx_strlen(name);

        if (hoop_sql_lineage_listed((char *) names, name, len)) {
            continue;
        }

        if (at + len + 2 > HOOP_SQL_LINEAGE_TAINTED) {
            ctx->lineage_all = 1;
            return;
        }

        ngx_memcpy(names + at, name, len + 1);
        at += len + 1;
        names[at] = '\0';
    }
}


/*
 * The names whose mention makes a statement worth reading for lineage:
 * the masked columns, the relations with one, and the catalog's views
 * and SQL functions whose definitions mention any of those.
 */
static ngx_int_t
ngx_stream_hoop_pg_mask_mentions(ngx_stream_session_t *s)
{
    u_char                         *seeds, *p;
    size_t                          cols, n, cap;
    ngx_stream_hoop_pg_ctx_t       *ctx;
    ngx_stream_hoop_pg_srv_conf_t  *pscf;

    ctx = ngx_stream_get_module_ctx(s, ngx_stream_hoop_pg_module);
    pscf = ngx_stream_get_module_srv_conf(s, ngx_stream_hoop_pg_module);

    /* "ssn\0email\0" + "customers\0" + the end */

    for (p = pscf->mask_names; *p; p += ngx_strlen(p) + 1) { /* void */ }

    cols = p - pscf->mask_names;

    seeds = ngx_pnalloc(s->connection->pool,
                        cols + ctx->mask_relations.len + 1);
    if (seeds == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(seeds, pscf->mask_names, cols);

    if (ctx->mask_relations.len) {
        p = ngx_cpymem(p, ctx->mask_relations.data, ctx->mask_relations.len);
    }

    *p = '\0';

    for (cap = 4096; cap <= 16 * 1024 * 1024; cap *= 4) {
        p = ngx_pnalloc(s->connection->pool, cap);
        if (p == NULL) {
            return NGX_ERROR;
        }

        n = hoop_sql_catalog_mentioning(ctx->catalog, (char *) seeds,
                                        (char *) p, cap);
        if (n) {
            ctx->mask_mentions = p;
            return NGX_OK;
        }
    }

    return NGX_ERROR;
}


/*
 * The statement whose answer comes now: the first awaiting one's (a
 * Describe's answer is for the Execute after it), NULL when none.
 */
ngx_stream_hoop_pg_sql_t *
ngx_stream_hoop_pg_mask_statement(ngx_stream_hoop_pg_ctx_t *ctx)
{
    ngx_uint_t                     i;
    ngx_stream_hoop_pg_query_t    *q;
    ngx_stream_hoop_pg_pending_t  *p;

    for (i = 0; i < ctx->pending_count; i++) {
        p = &ctx->pending[(ctx->pending_head + i)
                          % NGX_STREAM_HOOP_PG_PENDING];
        q = p->query;

        if (q != NULL) {
            return q->run[q->current].sql;
        }

        if (p->type == 'S') {
            break;
        }
    }

    return NULL;
}


/*
 * Whether output column i of n is tainted: by its position among the
 * select list's entries, a "*" standing for as many columns as the
 * others leave; where that cannot be told (a "*"'s columns, a statement
 * not known), a computed column is, and so is one PostgreSQL traces to a
 * relation's column that lineage found tainted (a view's, computed from a
 * masked column).
 */
static ngx_uint_t
ngx_stream_hoop_pg_mask_tainted(hoop_sql_lineage_t *l, ngx_uint_t i,
    ngx_uint_t n, uint32_t table_oid, const char *name)
{
    ngx_uint_t  k, stars, star, after;

    if (!l->known) {
        return ngx_stream_hoop_pg_mask_traced(l, table_oid, name);
    }

    stars = 0;
    star = 0;

    for (k = 0; k < l->n; k++) {
        if (l->out[k] == HOOP_SQL_OUT_STAR) {
            stars++;
            star = k;
        }
    }

    if (stars == 0 && l->n == n) {
        return l->out[i] == HOOP_SQL_OUT_TAINTED;
    }

    if (stars == 1 && n + 1 >= l->n) {
        after = l->n - star - 1;

        if (i < star) {
            return l->out[i] == HOOP_SQL_OUT_TAINTED;
        }

        if (i >= n - after) {
            return l->out[l->n - (n - i)] == HOOP_SQL_OUT_TAINTED;
        }
    }

    return ngx_stream_hoop_pg_mask_traced(l, table_oid, name);
}


/* a column whose select list entry is not known: computed, or by name */
static ngx_uint_t
ngx_stream_hoop_pg_mask_traced(hoop_sql_lineage_t *l, uint32_t table_oid,
    const char *name)
{
    if (table_oid == 0 || l->tainted_all) {
        return 1;
    }

    return hoop_sql_lineage_listed(l->tainted, name, ngx_strlen(name));
}


/* a relation with a masked column, for lineage: its name, once */
static ngx_int_t
ngx_stream_hoop_pg_mask_relation(ngx_stream_session_t *s,
    hoop_pg_cell_t *name)
{
    u_char                    *p;
    size_t                     len;
    ngx_stream_hoop_pg_ctx_t  *ctx;

    ctx = ngx_stream_get_module_ctx(s, ngx_stream_hoop_pg_module);

    if (name->len == 0 || ngx_strlchr((u_char *) name->data,
                                      (u_char *) name->data + name->len,
                                      '\0') != NULL)
    {
        return NGX_OK;
    }

    if (ctx->mask_relations.len
        && hoop_sql_lineage_listed((char *) ctx->mask_relations.data,
                                   (const char *) name->data, name->len))
    {
        return NGX_OK;
    }

    /* "a\0b\0" + "c\0", and the list's end */

    len = ctx->mask_relations.len + name->len + 1;

    p = ngx_pnalloc(s->connection->pool, len + 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    if (ctx->mask_relations.len) {
        ngx_memcpy(p, ctx->mask_relations.data, ctx->mask_relations.len);
    }

    ngx_memcpy(p + ctx->mask_relations.len, name->data, name->len);
    p[len - 1] = '\0';
    p[len] = '\0';

    ctx->mask_relations.data = p;
    ctx->mask_relations.len = len;

    return NGX_OK;
}


/* whether a type is the row type of a relation with a masked column */
static ngx_uint_t
ngx_stream_hoop_pg_mask_row_type(ngx_stream_session_t *s, uint32_t type_oid)
{
    ngx_uint_t                       i;
    ngx_stream_hoop_pg_ctx_t        *ctx;
    ngx_stream_hoop_pg_mask_attr_t  *attr;

    ctx = ngx_stream_get_module_ctx(s, ngx_stream_hoop_pg_module);

    if (ctx->mask_attrs == NULL || type_oid == 0) {
        return 0;
    }

    attr = ctx->mask_attrs->elts;

    for (i = 0; i < ctx->mask_attrs->nelts; i++) {
        if (attr[i].row_type == type_oid || attr[i].row_array == type_oid) {
            return 1;
        }
    }

    return 0;
}


/* NGX_OK with the strategy when a column rule masks the field */
static ngx_int_t
ngx_stream_hoop_pg_mask_column(ngx_stream_session_t *s,
    hoop_pg_field_t *field, ngx_uint_t *strategy)
{
    ngx_uint_t                         i;
    ngx_stream_hoop_pg_ctx_t          *ctx;
    ngx_stream_hoop_pg_srv_conf_t     *pscf;
    ngx_stream_hoop_pg_mask_attr_t    *attr;
    ngx_stream_hoop_pg_mask_column_t  *col;

    ctx = ngx_stream_get_module_ctx(s, ngx_stream_hoop_pg_module);
    pscf = ngx_stream_get_module_srv_conf(s, ngx_stream_hoop_pg_module);

    if (pscf->mask_columns == NULL) {
        return NGX_DECLINED;
    }

    /* where it comes from: survives any alias */

    if (field->table_oid != 0 && ctx->mask_attrs != NULL) {
        attr = ctx->mask_attrs->elts;

        for (i = 0; i < ctx->mask_attrs->nelts; i++) {
            if (attr[i].table_oid == field->table_oid
                && attr[i].attnum == field->attnum)
            {
                *strategy = attr[i].strategy;
                return NGX_OK;
            }
        }
    }

    /* what it is called: catches copies ("SELECT email FROM (...) q") */

    col = pscf->mask_columns->elts;

    for (i = 0; i < pscf->mask_columns->nelts; i++) {
        if (col[i].table.len == 0
            && ngx_strlen(field->name) == col[i].column.len
            && ngx_strncmp(field->name, col[i].column.data,
                           col[i].column.len) == 0)
        {
            *strategy = col[i].strategy;
            return NGX_OK;
        }
    }

    return NGX_DECLINED;
}


/*
 * A DataRow, CopyData, ErrorResponse, NoticeResponse, NotificationResponse,
 * ParameterStatus or RowDescription, whole at the down flow's scan point,
 * masked in place; *len becomes its new length and masked[] gains what
 * was masked.  NGX_OK; NGX_DONE when the session ended (too large once
 * masked); NGX_ERROR (malformed).
 */
ngx_int_t
ngx_stream_hoop_pg_mask_message(ngx_stream_session_t *s, size_t *len,
    uint32_t *masked)
{
    u_char                         *msg, *out;
    size_t                          n, w, cap;
    uint64_t                        counts[HOOP_PG_MASKED_KINDS];
    ngx_uint_t                      i, attempt;
    ngx_stream_hoop_pg_sql_t       *sql;
    ngx_stream_hoop_pg_ctx_t       *ctx;
    ngx_stream_hoop_pg_srv_conf_t  *pscf;

    ctx = ngx_stream_get_module_ctx(s, ngx_stream_hoop_pg_module);
    pscf = ngx_stream_get_module_srv_conf(s, ngx_stream_hoop_pg_module);

    msg = ctx->down.scan;

    /* room for most: twice the size; a row of tiny values may need more */

    cap = 2 * *len + ctx->plan_cols * 512 + 1024;

    for (attempt = 0; attempt < 2; attempt++) {

        out = ngx_stream_hoop_pg_mask_scratch(s, cap);
        if (out == NULL) {
            return NGX_ERROR;
        }

        ngx_memzero(counts, sizeof(counts));

        switch (msg[0]) {

        case 'D':
            n = hoop_pg_row_mask(msg, *len, ctx->plan, ctx->plan_cols,
                                 &pscf->mask, out, cap, counts);
            break;

        case 'd':
            if (ctx->copy_binary) {
                n = hoop_pg_copy_binary_mask(msg, *len, &pscf->mask, out,
                                             cap, counts);
                break;
            }

            /* COPY text escapes (\t, \n, \\) read as clients read them */

            n = hoop_mask_string_escaped(&pscf->mask, msg + 5, *len - 5,
                                         out + 5, cap - 5, counts);

            if (n != (size_t) -1) {
                out[0] = 'd';
                (void) hoop_pg_put32(out + 1, (uint32_t) (n + 4));
                n += 5;
            }

            break;

        case 'A':
        case 'S':
        case 'T':
            n = hoop_pg_names_mask(msg, *len, &pscf->mask, out, cap, counts);

            /*
             * once the session has read a masked column, what a statement
             * may have computed from it and sent aside (pg_notify(),
             * set_config('application_name', ...)) is withheld
             */

            if (ctx->lineage_seen && msg[0] != 'T'
                && n != 0 && n != (size_t) -1)
            {
                w = hoop_pg_names_withhold(out, n, out + n, cap - n);

                if (w == 0 || w == (size_t) -1) {
                    n = w;
                    break;
                }

                ngx_memmove(out, out + n, w);
                n = w;
            }

            break;

        default: /* 'E', 'N' */
            sql = ngx_stream_hoop_pg_mask_statement(ctx);

            if (sql != NULL && sql->lineage.reads) {
                n = hoop_pg_error_withhold(msg, *len,
                                           NGX_STREAM_HOOP_PG_ERROR_WITHHELD,
                                           out, cap);
                counts[HOOP_PG_MASKED_COLUMN] += (n != (size_t) -1);
                break;
            }

            n = hoop_pg_error_mask(msg, *len, &pscf->mask, out, cap, counts);
        }

        if (n != (size_t) -1) {
            break;
        }

        /* the worst case, but never more than a message may be */

        cap = ngx_min(hoop_pg_row_mask_bound(*len, ctx->plan_cols),
                      NGX_STREAM_HOOP_PG_MESSAGE_MAX + 1);
    }

    if (n == (size_t) -1) {
        ngx_log_error(NGX_LOG_ERR, s->connection->log, 0,
                      "hoop pg: message '%c' of %uz bytes from the database"
                      " would be over 1 GiB masked; session closed",
                      msg[0], *len);

        ngx_stream_hoop_pg_fatal(s, NGX_STREAM_BAD_GATEWAY, "54000",
                                 "hoop: a result row is too large once"
                                 " masked",
                                 "A masked value may be longer than the"
                                 " value: select fewer or longer values.");
        return NGX_DONE;
    }

    if (n == 0) {
        ngx_log_error(NGX_LOG_ERR, s->connection->log, 0,
                      "hoop pg: message '%c' of %uz bytes from the database"
                      " could not be masked", msg[0], *len);
        return NGX_ERROR;
    }

    for (i = 0; i < HOOP_PG_MASKED_KINDS; i++) {
        if (masked != NULL) {
            masked[i] += (uint32_t) counts[i];
        }
    }

    if (ngx_hoop_flow_replace(&ctx->down, s->connection->pool, *len, out, n)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    *len = n;

    /* the room a large row needed is not kept for the session */

    if (ctx->scratch_size > NGX_STREAM_HOOP_PG_SCRATCH_KEEP) {
        ngx_free(ctx->scratch);
        ctx->scratch = NULL;
        ctx->scratch_size = 0;
    }

    return NGX_OK;
}


/* one scratch buffer per session, the size of the largest message yet */
static u_char *
ngx_stream_hoop_pg_mask_scratch(ngx_stream_session_t *s, size_t size)
{
    ngx_stream_hoop_pg_ctx_t  *ctx;

    ctx = ngx_stream_get_module_ctx(s, ngx_stream_hoop_pg_module);

    if (ctx->scratch_size >= size) {
        return ctx->scratch;
    }

    if (ctx->scratch != NULL) {
        ngx_free(ctx->scratch);
    }

    ctx->scratch = ngx_alloc(size, s->connection->log);
    ctx->scratch_size = ctx->scratch ? size : 0;

    return ctx->scratch;
}


void
ngx_stream_hoop_pg_mask_cleanup(ngx_stream_hoop_pg_ctx_t *ctx)
{
    if (ctx->plan_fields != NULL) {
        ngx_free(ctx->plan_fields);
        ctx->plan_fields = NULL;
        ctx->plan = NULL;
    }

    if (ctx->scratch != NULL) {
        ngx_free(ctx->scratch);
        ctx->scratch = NULL;
    }
}
