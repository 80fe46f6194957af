/*
 * Copyright (C) nginx-hoop authors
 *
 * The parse tree comes from libpg_query as JSON (pg_query_parse) and is
 * walked with jansson: every object whose key names a node type
 * ("DeleteStmt", "FuncCall", ...) is looked at, and every object holding a
 * "relname" is a table (RangeVar, bare or as a statement's relation).
 */

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <pg_query.h>

#include "hoop_rule.h"
#include "hoop_sql.h"


typedef struct {
    const char       *name;
    hoop_sql_kind_e   kind;
} hoop_sql_node_kind_t;


/* statements whose kind their type alone decides (see also _walk_node) */
static const hoop_sql_node_kind_t  hoop_sql_node_kinds[] = {
    { "SelectStmt", HOOP_SQL_READ },
    { "VariableShowStmt", HOOP_SQL_READ },
    { "ExplainStmt", HOOP_SQL_READ },
    { "TransactionStmt", HOOP_SQL_READ },
    { "DeclareCursorStmt", HOOP_SQL_READ },
    { "FetchStmt", HOOP_SQL_READ },
    { "ClosePortalStmt", HOOP_SQL_READ },
    { "DeallocateStmt", HOOP_SQL_READ },
    { "PrepareStmt", HOOP_SQL_READ },           /* its query is walked */
    { "DiscardStmt", HOOP_SQL_READ },
    { "ListenStmt", HOOP_SQL_READ },
    { "UnlistenStmt", HOOP_SQL_READ },
    { "VariableSetStmt", HOOP_SQL_READ },       /* unless a guarded name */
    { "ConstraintsSetStmt", HOOP_SQL_READ },
    { "CopyStmt", HOOP_SQL_READ },              /* FROM: write */

    { "InsertStmt", HOOP_SQL_WRITE },
    { "UpdateStmt", HOOP_SQL_WRITE },
    { "DeleteStmt", HOOP_SQL_WRITE },
    { "MergeStmt", HOOP_SQL_WRITE },
    { "TruncateStmt", HOOP_SQL_WRITE },
    { "CallStmt", HOOP_SQL_WRITE },
    { "DoStmt", HOOP_SQL_WRITE },               /* an opaque body */
    { "LockStmt", HOOP_SQL_WRITE },
    { "NotifyStmt", HOOP_SQL_WRITE },
    { "RefreshMatViewStmt", HOOP_SQL_WRITE },

    { "RenameStmt", HOOP_SQL_DDL },
    { "CommentStmt", HOOP_SQL_DDL },
    { "IndexStmt", HOOP_SQL_DDL },
    { "ViewStmt", HOOP_SQL_DDL },
    { "DefineStmt", HOOP_SQL_DDL },
    { "RuleStmt", HOOP_SQL_DDL },
    { "CompositeTypeStmt", HOOP_SQL_DDL },
    { "SecLabelStmt", HOOP_SQL_DDL },
    { "AlterObjectSchemaStmt", HOOP_SQL_DDL },
    { "ImportForeignSchemaStmt", HOOP_SQL_DDL },

    { "GrantStmt", HOOP_SQL_DCL },
    { "GrantRoleStmt", HOOP_SQL_DCL },
    { "CreateRoleStmt", HOOP_SQL_DCL },
    { "AlterRoleStmt", HOOP_SQL_DCL },
    { "AlterRoleSetStmt", HOOP_SQL_DCL },
    { "DropRoleStmt", HOOP_SQL_DCL },
    { "AlterDefaultPrivilegesStmt", HOOP_SQL_DCL },
    { "ReassignOwnedStmt", HOOP_SQL_DCL },
    { "DropOwnedStmt", HOOP_SQL_DCL },
    { "AlterOwnerStmt", HOOP_SQL_DCL },
    { "CreatePolicyStmt", HOOP_SQL_DCL },
    { "AlterPolicyStmt", HOOP_SQL_DCL },
    { "CreateUserMappingStmt", HOOP_SQL_DCL },
    { "AlterUserMappingStmt", HOOP_SQL_DCL },
    { "DropUserMappingStmt", HOOP_SQL_DCL },

    { "VacuumStmt", HOOP_SQL_ADMIN },
    { "ClusterStmt", HOOP_SQL_ADMIN },
    { "ReindexStmt", HOOP_SQL_ADMIN },
    { "CheckPointStmt", HOOP_SQL_ADMIN },
    { "LoadStmt", HOOP_SQL_ADMIN },
    { "AlterSystemStmt", HOOP_SQL_ADMIN },
    { "CreatedbStmt", HOOP_SQL_ADMIN },
    { "DropdbStmt", HOOP_SQL_ADMIN },
    { "AlterDatabaseStmt", HOOP_SQL_ADMIN },
    { "AlterDatabaseSetStmt", HOOP_SQL_ADMIN },
    { "AlterDatabaseRefreshCollStmt", HOOP_SQL_ADMIN },
    { "CreateTableSpaceStmt", HOOP_SQL_ADMIN },
    { "DropTableSpaceStmt", HOOP_SQL_ADMIN },
    { "AlterTableSpaceOptionsStmt", HOOP_SQL_ADMIN },
    { "CreateSubscriptionStmt", HOOP_SQL_ADMIN },
    { "AlterSubscriptionStmt", HOOP_SQL_ADMIN },
    { "DropSubscriptionStmt", HOOP_SQL_ADMIN },
    { "CreatePublicationStmt", HOOP_SQL_ADMIN },
    { "AlterPublicationStmt", HOOP_SQL_ADMIN },
    { "ExecuteStmt", HOOP_SQL_UNKNOWN },        /* runs what it names */
    { NULL, HOOP_SQL_READ }
};


/* functions whose call is more than a read */
static const hoop_sql_node_kind_t  hoop_sql_function_kinds[] = {
    { "nextval", HOOP_SQL_WRITE },
    { "setval", HOOP_SQL_WRITE },
    { "lo_create", HOOP_SQL_WRITE },
    { "lo_creat", HOOP_SQL_WRITE },
    { "lo_unlink", HOOP_SQL_WRITE },
    { "lo_put", HOOP_SQL_WRITE },
    { "lo_from_bytea", HOOP_SQL_WRITE },
    { "dblink_exec", HOOP_SQL_WRITE },
    { "dblink", HOOP_SQL_WRITE },
    { "pg_notify", HOOP_SQL_WRITE },
    { "set_config", HOOP_SQL_ADMIN },
    { "pg_terminate_backend", HOOP_SQL_ADMIN },
    { "pg_cancel_backend", HOOP_SQL_ADMIN },
    { "pg_reload_conf", HOOP_SQL_ADMIN },
    { "pg_rotate_logfile", HOOP_SQL_ADMIN },
    { "pg_promote", HOOP_SQL_ADMIN },
    { "pg_switch_wal", HOOP_SQL_ADMIN },
    { "pg_create_restore_point", HOOP_SQL_ADMIN },
    { "pg_read_file", HOOP_SQL_ADMIN },
    { "pg_read_binary_file", HOOP_SQL_ADMIN },
    { "pg_ls_dir", HOOP_SQL_ADMIN },
    { "pg_stat_file", HOOP_SQL_ADMIN },
    { "pg_file_write", HOOP_SQL_ADMIN },
    { "lo_import", HOOP_SQL_ADMIN },
    { "lo_export", HOOP_SQL_ADMIN },
    { "pg_logical_emit_message", HOOP_SQL_ADMIN },
    { "pg_replication_origin_create", HOOP_SQL_ADMIN },
    { "pg_create_logical_replication_slot", HOOP_SQL_ADMIN },
    { "pg_create_physical_replication_slot", HOOP_SQL_ADMIN },
    { "pg_drop_replication_slot", HOOP_SQL_ADMIN },
    { NULL, HOOP_SQL_READ }
};


/* settings a SET may not change behind the policy's back */
static const char  *hoop_sql_guarded_settings[] = {
    "role",
    "session_authorization",
    "default_transaction_read_only",
    "transaction_read_only",
    "standard_conforming_strings",
    "session_replication_role",
    "search_path",
    "row_security",
    "client_encoding",          /* SET NAMES too */
    NULL
};


static const char  *hoop_sql_kind_names[] = {
    "read", "write", "ddl", "dcl", "admin", "unknown"
};


static int hoop_sql_undoes(json_t *stmt);
static void hoop_sql_walk(json_t *v, hoop_sql_stmt_t *st);
static void hoop_sql_walk_node(const char *type, json_t *node,
    hoop_sql_stmt_t *st);
static void hoop_sql_raise(hoop_sql_stmt_t *st, hoop_sql_kind_e kind);
static void hoop_sql_add_name(char *list, const char *schema,
    const char *name, hoop_sql_stmt_t *st);
static void hoop_sql_command(const char *type, char *out);
static int hoop_sql_has_option(json_t *options, const char *name);
static void hoop_sql_drop_names(json_t *node, hoop_sql_stmt_t *st);


const char *
hoop_sql_kind_name(hoop_sql_kind_e kind)
{
    return hoop_sql_kind_names[kind];
}


int
hoop_sql_kind_parse(const char *name)
{
    int  i;

    for (i = 0; i <= HOOP_SQL_UNKNOWN; i++) {
        if (strcmp(name, hoop_sql_kind_names[i]) == 0) {
            return i;
        }
    }

    return -1;
}


int
hoop_sql_classify(const char *sql, hoop_sql_stmt_t *out, size_t max,
    char *error, size_t error_len)
{
    int                  n;
    size_t               i, k, len, total;
    json_t              *root, *stmts, *item, *stmt, *loc, *slen;
    const char          *type;
    hoop_sql_stmt_t     *st;
    PgQueryParseResult   r;

    if (max == 0) {
        return -1;
    }

    total = strlen(sql);
    memset(out, 0, sizeof(hoop_sql_stmt_t));

    r = pg_query_parse(sql);

    if (r.error != NULL) {
        if (error != NULL && error_len > 0) {
            snprintf(error, error_len, "%s", r.error->message);
        }

        out[0].kind = HOOP_SQL_UNKNOWN;
        out[0].length = total;
        pg_query_free_parse_result(r);
        return 1;
    }

    root = json_loads(r.parse_tree, 0, NULL);
    pg_query_free_parse_result(r);

    /* a tree too deep for the JSON reader: what it does is not known */

    if (root == NULL) {
        if (error != NULL && error_len > 0) {
            snprintf(error, error_len, "statement too deeply nested to be"
                     " classified");
        }

        out[0].kind = HOOP_SQL_UNKNOWN;
        out[0].length = total;
        return 1;
    }

    stmts = json_object_get(root, "stmts");
    n = 0;

    for (i = 0; i < json_array_size(stmts); i++) {
        item = json_array_get(stmts, i);
        stmt = json_object_get(item, "stmt");

        /* past max, the last entry takes in the rest */

        k = (i < max) ? i : max - 1;
        st = &out[k];

        if (i < max) {
            memset(st, 0, sizeof(hoop_sql_stmt_t));
            n++;

            loc = json_object_get(item, "stmt_location");
            slen = json_object_get(item, "stmt_len");

            st->offset = json_is_integer(loc) ? json_integer_value(loc) : 0;
            len = json_is_integer(slen) ? json_integer_value(slen) : 0;

            if (st->offset > total) {
                st->offset = total;
            }

            st->length = (len == 0 || st->offset + len > total)
                         ? total - st->offset : len;

            /* the text after the previous ';' starts with its spacing */

            while (st->length > 0
                   && (sql[st->offset] == ' ' || sql[st->offset] == '\n'
                       || sql[st->offset] == '\t'
                       || sql[st->offset] == '\r'))
            {
                st->offset++;
                st->length--;
            }

            type = json_object_iter_key(json_object_iter(stmt));
            hoop_sql_command(type ? type : "", st->command);
            st->undo = hoop_sql_undoes(stmt);

        } else {
            st->length = total - st->offset;

            /* what the last entry takes in must all only undo too */

            st->undo = st->undo && hoop_sql_undoes(stmt);
        }

        hoop_sql_walk(stmt, st);
    }

    json_decref(root);

    return n;
}


/*
 * A statement that only undoes: ROLLBACK, ABORT, ROLLBACK TO SAVEPOINT,
 * as the statement itself (a top-level TransactionStmt), never as a part
 * of another.  ROLLBACK PREPARED ends another transaction: not this.
 */
static int
hoop_sql_undoes(json_t *stmt)
{
    json_t      *node;
    const char  *kind;

    node = json_object_get(stmt, "TransactionStmt");

    if (!json_is_object(node) || json_object_size(stmt) != 1) {
        return 0;
    }

    kind = json_string_value(json_object_get(node, "kind"));

    return kind != NULL
           && (strcmp(kind, "TRANS_STMT_ROLLBACK") == 0
               || strcmp(kind, "TRANS_STMT_ROLLBACK_TO") == 0);
}


static void
hoop_sql_walk(json_t *v, hoop_sql_stmt_t *st)
{
    size_t       i;
    json_t      *child, *rel, *schema;
    const char  *key;

    if (json_is_array(v)) {
        for (i = 0; i < json_array_size(v); i++) {
            hoop_sql_walk(json_array_get(v, i), st);
        }

        return;
    }

    if (!json_is_object(v)) {
        return;
    }

    rel = json_object_get(v, "relname");

    if (json_is_string(rel)) {
        schema = json_object_get(v, "schemaname");
        hoop_sql_add_name(st->tables,
                          json_is_string(schema) ? json_string_value(schema)
                                                 : NULL,
                          json_string_value(rel), st);
    }

    json_object_foreach(v, key, child) {
        if (key[0] >= 'A' && key[0] <= 'Z' && json_is_object(child)) {
            hoop_sql_walk_node(key, child, st);
        }

        hoop_sql_walk(child, st);
    }
}


static void
hoop_sql_walk_node(const char *type, json_t *node, hoop_sql_stmt_t *st)
{
    char                         command[HOOP_SQL_COMMAND_LEN];
    size_t                       i, n;
    json_t                      *names, *last, *is_from;
    const char                  *name;
    const hoop_sql_node_kind_t  *k;

    if (strcmp(type, "FuncCall") == 0) {
        names = json_object_get(node, "funcname");
        n = json_array_size(names);

        if (n == 0) {
            return;
        }

        last = json_object_get(json_object_get(json_array_get(names, n - 1),
                                               "String"), "sval");
        if (!json_is_string(last)) {
            return;
        }

        name = json_string_value(last);
        hoop_sql_add_name(st->functions, NULL, name, st);

        for (k = hoop_sql_function_kinds; k->name; k++) {
            if (strcasecmp(k->name, name) == 0) {
                hoop_sql_raise(st, k->kind);
            }
        }

        return;
    }

    if (strlen(type) < 5 || strcmp(type + strlen(type) - 4, "Stmt") != 0) {
        return;                         /* an expression, a clause, ... */
    }

    hoop_sql_command(type, command);
    hoop_sql_add_name(st->commands, NULL, command, st);

    for (k = hoop_sql_node_kinds; k->name; k++) {
        if (strcmp(k->name, type) == 0) {
            break;
        }
    }

    if (k->name != NULL) {
        hoop_sql_raise(st, k->kind);

    } else if (strncmp(type, "Create", 6) == 0
               || strncmp(type, "Alter", 5) == 0
               || strncmp(type, "Drop", 4) == 0)
    {
        hoop_sql_raise(st, HOOP_SQL_DDL);

    } else {
        /* a statement this table does not know: the strict side */
        hoop_sql_raise(st, HOOP_SQL_ADMIN);
    }

    if (strcmp(type, "SelectStmt") == 0) {
        if (json_object_get(node, "intoClause") != NULL) {
            hoop_sql_raise(st, HOOP_SQL_DDL);
        }

        if (json_object_get(node, "lockingClause") != NULL) {
            hoop_sql_raise(st, HOOP_SQL_WRITE);
        }

    } else if (strcmp(type, "DeleteStmt") == 0
               || strcmp(type, "UpdateStmt") == 0)
    {
        if (json_object_get(node, "whereClause") == NULL) {
            st->no_where = 1;
        }

    } else if (strcmp(type, "TruncateStmt") == 0) {
        st->no_where = 1;

    } else if (strcmp(type, "CopyStmt") == 0) {
        is_from = json_object_get(node, "is_from");

        if (json_is_true(is_from)) {
            hoop_sql_raise(st, HOOP_SQL_WRITE);
        }

        if (json_is_true(json_object_get(node, "is_program"))) {
            st->copy_program = 1;
            hoop_sql_raise(st, HOOP_SQL_ADMIN);

        } else if (json_object_get(node, "filename") != NULL) {
            st->copy_file = 1;
            hoop_sql_raise(st, HOOP_SQL_ADMIN);
        }

    } else if (strcmp(type, "VariableSetStmt") == 0) {
        name = json_string_value(json_object_get(node, "name"));

        for (i = 0; name && hoop_sql_guarded_settings[i]; i++) {
            if (strcasecmp(name, hoop_sql_guarded_settings[i]) == 0) {
                hoop_sql_raise(st, HOOP_SQL_ADMIN);
            }
        }

    } else if (strcmp(type, "DropStmt") == 0) {
        hoop_sql_drop_names(node, st);

    } else if (strcmp(type, "ExplainStmt") == 0) {
        /* without ANALYZE nothing runs; its statement is walked anyway */
        (void) hoop_sql_has_option(json_object_get(node, "options"),
                                   "analyze");
    }
}


/* DROP TABLE names its tables as lists of strings, not RangeVars */
static void
hoop_sql_drop_names(json_t *node, hoop_sql_stmt_t *st)
{
    size_t       i, n;
    json_t      *objects, *parts;
    const char  *type, *schema, *name;

    type = json_string_value(json_object_get(node, "removeType"));

    if (type == NULL
        || (strcmp(type, "OBJECT_TABLE") != 0
            && strcmp(type, "OBJECT_VIEW") != 0
            && strcmp(type, "OBJECT_MATVIEW") != 0
            && strcmp(type, "OBJECT_FOREIGN_TABLE") != 0
            && strcmp(type, "OBJECT_SEQUENCE") != 0))
    {
        return;
    }

    objects = json_object_get(node, "objects");

    for (i = 0; i < json_array_size(objects); i++) {
        parts = json_object_get(json_array_get(objects, i), "List");
        parts = parts ? json_object_get(parts, "items")
                      : json_array_get(objects, i);
        n = json_array_size(parts);

        if (n == 0) {
            continue;
        }

        name = json_string_value(json_object_get(json_object_get(
                   json_array_get(parts, n - 1), "String"), "sval"));
        schema = (n > 1) ? json_string_value(json_object_get(json_object_get(
                               json_array_get(parts, n - 2), "String"),
                               "sval"))
                         : NULL;

        if (name != NULL) {
            hoop_sql_add_name(st->tables, schema, name, st);
        }
    }
}


static int
hoop_sql_has_option(json_t *options, const char *name)
{
    size_t       i;
    const char  *d;

    for (i = 0; i < json_array_size(options); i++) {
        d = json_string_value(json_object_get(
                json_object_get(json_array_get(options, i), "DefElem"),
                "defname"));

        if (d != NULL && strcmp(d, name) == 0) {
            return 1;
        }
    }

    return 0;
}


static void
hoop_sql_raise(hoop_sql_stmt_t *st, hoop_sql_kind_e kind)
{
    /* unknown stays unknown: nothing proves what it does */

    if (st->kind != HOOP_SQL_UNKNOWN
        && (kind == HOOP_SQL_UNKNOWN || kind > st->kind))
    {
        st->kind = kind;
    }
}


/* appends "schema.name" (or "name") to a comma-separated list, once */
static void
hoop_sql_add_name(char *list, const char *schema, const char *name,
    hoop_sql_stmt_t *st)
{
    char    full[256];
    size_t  used, len;
    char   *p;

    if (schema != NULL) {
        snprintf(full, sizeof(full), "%s.%s", schema, name);

    } else {
        snprintf(full, sizeof(full), "%s", name);
    }

    len = strlen(full);

    for (p = list; (p = strstr(p, full)) != NULL; p += len) {
        if ((p == list || p[-1] == ',') && (p[len] == ',' || p[len] == '\0'))
        {
            return;
        }
    }

    used = strlen(list);

    if (used + (used ? 1 : 0) + len + 1 > HOOP_SQL_NAMES_LEN) {
        st->truncated = 1;
        return;
    }

    if (used) {
        list[used++] = ',';
    }

    memcpy(list + used, full, len + 1);
}


/* statement types whose name alone says too little */
static const char  *hoop_sql_command_names[][2] = {
    { "CreateStmt", "create table" },
    { "IndexStmt", "create index" },
    { "ViewStmt", "create view" },
    { "CreatedbStmt", "create database" },
    { "DropdbStmt", "drop database" },
    { "VariableSetStmt", "set" },
    { "VariableShowStmt", "show" },
    { "RenameStmt", "rename" },
    { "DefineStmt", "create object" },
    { NULL, NULL }
};


/* "CreateTableAsStmt" -> "create table as" */
static void
hoop_sql_command(const char *type, char *out)
{
    size_t  i, o, len;

    for (i = 0; hoop_sql_command_names[i][0]; i++) {
        if (strcmp(type, hoop_sql_command_names[i][0]) == 0) {
            snprintf(out, HOOP_SQL_COMMAND_LEN, "%s",
                     hoop_sql_command_names[i][1]);
            return;
        }
    }

    len = strlen(type);

    if (len > 4 && strcmp(type + len - 4, "Stmt") == 0) {
        len -= 4;
    }

    o = 0;

    for (i = 0; i < len && o + 2 < HOOP_SQL_COMMAND_LEN; i++) {
        if (type[i] >= 'A' && type[i] <= 'Z') {
            if (i > 0) {
                out[o++] = ' ';
            }

            out[o++] = (char) (type[i] - 'A' + 'a');

        } else {
            out[o++] = type[i];
        }
    }

    out[o] = '\0';
}


int
hoop_sql_names_match(const char *names, const char *pattern)
{
    const char  *p, *end, *dot;

    p = names;

    while (*p) {
        end = strchr(p, ',');
        if (end == NULL) {
            end = p + strlen(p);
        }

        if (hoop_rule_glob(pattern, p, (size_t) (end - p))) {
            return 1;
        }

        /* "public.customers" also answers to "customers" */

        dot = memchr(p, '.', (size_t) (end - p));

        if (dot != NULL
            && hoop_rule_glob(pattern, dot + 1, (size_t) (end - dot - 1)))
        {
            return 1;
        }

        p = (*end == ',') ? end + 1 : end;
    }

    return 0;
}
