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
    { "LockStmt", HOOP_SQL_READ },              /* but for its mode */
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
    { "ExecuteStmt", HOOP_SQL_READ },           /* and what it runs: the
                                                   caller's (executes) */
    { NULL, HOOP_SQL_READ }
};


/*
 * Built-in functions (pg_catalog) whose effect is known, so a call is not
 * merely "call": the catalog says they are volatile, this says what they
 * do.  Only a refinement: any volatile function is at least a call.
 */
static const hoop_sql_node_kind_t  hoop_sql_function_kinds[] = {
    { "nextval", HOOP_SQL_WRITE },
    { "setval", HOOP_SQL_WRITE },
    { "lo_create", HOOP_SQL_WRITE },
    { "lo_creat", HOOP_SQL_WRITE },
    { "lo_unlink", HOOP_SQL_WRITE },
    { "lo_put", HOOP_SQL_WRITE },
    { "lo_from_bytea", HOOP_SQL_WRITE },
    { "lo_truncate", HOOP_SQL_WRITE },
    { "lo_truncate64", HOOP_SQL_WRITE },
    { "lowrite", HOOP_SQL_WRITE },
    { "lo_open", HOOP_SQL_WRITE },
    { "pg_notify", HOOP_SQL_WRITE },
    { "txid_current", HOOP_SQL_WRITE },         /* assigns a transaction id:
                                                   WAL, and one of a finite
                                                   supply */
    { "pg_current_xact_id", HOOP_SQL_WRITE },

    /*
     * STABLE, but they read whatever relation or schema a value names
     * (a view that calls a volatile function, pg_authid): what they may
     * do is anything a read of any relation may
     */
    { "table_to_xml", HOOP_SQL_ADMIN },
    { "table_to_xml_and_xmlschema", HOOP_SQL_ADMIN },
    { "schema_to_xml", HOOP_SQL_ADMIN },
    { "schema_to_xml_and_xmlschema", HOOP_SQL_ADMIN },
    { "database_to_xml", HOOP_SQL_ADMIN },
    { "database_to_xml_and_xmlschema", HOOP_SQL_ADMIN },
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


static const char  *hoop_sql_kind_names[] = {
    "read", "write", "call", "ddl", "dcl", "admin", "unknown"
};


/* one statement being walked, and where its references go (or NULL) */
typedef struct {
    hoop_sql_stmt_t  *st;
    hoop_sql_refs_t  *refs;
} hoop_sql_walk_t;


static int hoop_sql_classify_all(const char *sql, hoop_sql_stmt_t *out,
    hoop_sql_refs_t *refs, size_t max, char *error, size_t error_len);
static int hoop_sql_undoes(json_t *stmt);
static void hoop_sql_walk(json_t *v, hoop_sql_walk_t *w);
static void hoop_sql_walk_node(const char *type, json_t *node,
    hoop_sql_walk_t *w);
static void hoop_sql_walk_call(json_t *node, hoop_sql_walk_t *w);
static void hoop_sql_walk_expr(const char *type, json_t *node,
    hoop_sql_walk_t *w);
static void hoop_sql_walk_set(json_t *node, hoop_sql_walk_t *w);
static void hoop_sql_walk_transaction(json_t *node, hoop_sql_walk_t *w);
static void hoop_sql_set_config(json_t *node, hoop_sql_walk_t *w);
static void hoop_sql_settings_row(json_t *select);
static const char *hoop_sql_column_is(json_t *node, const char *column);
static void hoop_sql_setting(const char *name, const char *value,
    hoop_sql_walk_t *w);
static int hoop_sql_read_write(json_t *options);
static const char *hoop_sql_const_text(json_t *node, char *buf,
    size_t size);
static void hoop_sql_ref_names(json_t *names, char type, hoop_sql_walk_t *w);
static void hoop_sql_add_ref(hoop_sql_walk_t *w, char type,
    const char *schema, const char *name);
static const char *hoop_sql_sval(json_t *node);
static int hoop_sql_bool(const char *value);
static void hoop_sql_raise(hoop_sql_stmt_t *st, hoop_sql_kind_e kind);
static void hoop_sql_add_name(char *list, const char *schema,
    const char *name, hoop_sql_stmt_t *st);
static void hoop_sql_command(const char *type, json_t *node, char *out);
static int hoop_sql_has_option(json_t *options, const char *name);
static void hoop_sql_drop_names(json_t *node, hoop_sql_stmt_t *st);
static int hoop_sql_glob_prefix(const char *pattern, size_t plen,
    const char *s, size_t len);
static void hoop_sql_search_path(const char *value, hoop_sql_walk_t *w);


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
    return hoop_sql_classify_all(sql, out, NULL, max, error, error_len);
}


int
hoop_sql_classify_refs(const char *sql, hoop_sql_stmt_t *out,
    hoop_sql_refs_t *refs, size_t max, char *error, size_t error_len)
{
    return hoop_sql_classify_all(sql, out, refs, max, error, error_len);
}


static int
hoop_sql_classify_all(const char *sql, hoop_sql_stmt_t *out,
    hoop_sql_refs_t *refs, size_t max, char *error, size_t error_len)
{
    int                  n;
    size_t               i, k, len, total;
    json_t              *root, *stmts, *item, *stmt, *loc, *slen;
    const char          *type;
    hoop_sql_stmt_t     *st;
    hoop_sql_walk_t      w;
    PgQueryParseResult   r;

    if (max == 0) {
        return -1;
    }

    total = strlen(sql);
    memset(out, 0, sizeof(hoop_sql_stmt_t));

    if (refs != NULL) {
        memset(refs, 0, sizeof(hoop_sql_refs_t));
    }

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

        w.st = st;
        w.refs = (refs != NULL) ? &refs[k] : NULL;

        if (i < max) {
            memset(st, 0, sizeof(hoop_sql_stmt_t));

            if (w.refs != NULL) {
                memset(w.refs, 0, sizeof(hoop_sql_refs_t));
            }

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
            hoop_sql_command(type ? type : "",
                             json_object_get(stmt, type ? type : ""),
                             st->command);
            st->undo = hoop_sql_undoes(stmt);

        } else {
            st->length = total - st->offset;

            /* what the last entry takes in must all only undo too */

            st->undo = st->undo && hoop_sql_undoes(stmt);
        }

        hoop_sql_walk(stmt, &w);
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
hoop_sql_walk(json_t *v, hoop_sql_walk_t *w)
{
    size_t       i;
    json_t      *child, *rel, *schema;
    const char  *key;

    if (json_is_array(v)) {
        for (i = 0; i < json_array_size(v); i++) {
            hoop_sql_walk(json_array_get(v, i), w);
        }

        return;
    }

    if (!json_is_object(v)) {
        return;
    }

    rel = json_object_get(v, "relname");

    if (json_is_string(rel)) {
        schema = json_object_get(v, "schemaname");
        hoop_sql_add_name(w->st->tables,
                          json_is_string(schema) ? json_string_value(schema)
                                                 : NULL,
                          json_string_value(rel), w->st);
        hoop_sql_add_ref(w, HOOP_SQL_REF_RELATION,
                         json_is_string(schema) ? json_string_value(schema)
                                                : NULL,
                         json_string_value(rel));
    }

    json_object_foreach(v, key, child) {
        if (key[0] >= 'A' && key[0] <= 'Z' && json_is_object(child)) {
            hoop_sql_walk_node(key, child, w);

        } else if (strcmp(key, "typeName") == 0 && json_is_object(child)) {
            hoop_sql_walk_expr("TypeName", child, w);
        }

        hoop_sql_walk(child, w);
    }
}


static void
hoop_sql_walk_node(const char *type, json_t *node, hoop_sql_walk_t *w)
{
    char                         command[HOOP_SQL_COMMAND_LEN];
    json_t                      *is_from, *mode;
    const char                  *name;
    hoop_sql_kind_e              plain;
    hoop_sql_stmt_t             *st;
    const hoop_sql_node_kind_t  *k;

    st = w->st;

    if (strcmp(type, "FuncCall") == 0) {
        hoop_sql_walk_call(node, w);
        return;
    }

    if (strlen(type) < 5 || strcmp(type + strlen(type) - 4, "Stmt") != 0) {
        hoop_sql_walk_expr(type, node, w);  /* an expression, a clause */
        return;
    }

    hoop_sql_command(type, node, command);
    hoop_sql_add_name(st->commands, NULL, command, st);

    for (k = hoop_sql_node_kinds; k->name; k++) {
        if (strcmp(k->name, type) == 0) {
            break;
        }
    }

    if (k->name != NULL) {
        plain = k->kind;

    } else if (strncmp(type, "Create", 6) == 0
               || strncmp(type, "Alter", 5) == 0
               || strncmp(type, "Drop", 4) == 0)
    {
        plain = HOOP_SQL_DDL;

    } else {
        /* a statement this table does not know: the strict side */
        plain = HOOP_SQL_ADMIN;
    }

    hoop_sql_raise(st, plain);

    if (plain > st->commands_kind) {
        st->commands_kind = plain;
    }

    if (strcmp(type, "SelectStmt") == 0) {
        hoop_sql_settings_row(node);

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

    } else if (strcmp(type, "LockStmt") == 0) {
        /*
         * ACCESS SHARE (1) is what every SELECT takes, and conflicts only
         * with ACCESS EXCLUSIVE: pg_dump locks its tables so
         */

        mode = json_object_get(node, "mode");

        if (!json_is_integer(mode) || json_integer_value(mode) != 1) {
            hoop_sql_raise(st, HOOP_SQL_WRITE);
        }

    } else if (strcmp(type, "VariableSetStmt") == 0) {
        hoop_sql_walk_set(node, w);

    } else if (strcmp(type, "TransactionStmt") == 0) {
        hoop_sql_walk_transaction(node, w);

    } else if (strcmp(type, "DropStmt") == 0) {
        hoop_sql_drop_names(node, st);

    } else if (strcmp(type, "PrepareStmt") == 0
               || strcmp(type, "ExecuteStmt") == 0
               || strcmp(type, "DeallocateStmt") == 0)
    {
        /*
         * two in one entry (the last, taking in statements past max):
         * which of them a name stands for, and what EXECUTE runs, is
         * not followed
         */

        if (st->name[0] != '\0' || st->executes) {
            hoop_sql_raise(st, HOOP_SQL_UNKNOWN);
        }

        name = json_string_value(json_object_get(node, "name"));
        snprintf(st->name, sizeof(st->name), "%s", name ? name : "");
        st->executes |= (type[0] == 'E');

    } else if (strcmp(type, "ExplainStmt") == 0) {
        /* without ANALYZE nothing runs; its statement is walked anyway */
        (void) hoop_sql_has_option(json_object_get(node, "options"),
                                   "analyze");
    }
}


/*
 * A function call: its name is a reference (the catalog says what it
 * does), and among the statement's functions.  set_config() is SET by
 * another name: its setting decides, when the call names it.
 */
static void
hoop_sql_walk_call(json_t *node, hoop_sql_walk_t *w)
{
    size_t                       n;
    json_t                      *names;
    const char                  *name, *schema;
    const hoop_sql_node_kind_t  *k;

    names = json_object_get(node, "funcname");
    n = json_array_size(names);

    if (n == 0) {
        return;
    }

    name = hoop_sql_sval(json_array_get(names, n - 1));
    schema = (n > 1) ? hoop_sql_sval(json_array_get(names, n - 2)) : NULL;

    if (name == NULL) {
        return;
    }

    hoop_sql_add_name(w->st->functions, NULL, name, w->st);
    hoop_sql_add_ref(w, HOOP_SQL_REF_FUNCTION, schema, name);

    /* only a name the built-in one may answer to is the built-in one */

    if (schema != NULL && strcmp(schema, "pg_catalog") != 0) {
        return;
    }

    if (strcmp(name, "set_config") == 0) {
        hoop_sql_set_config(node, w);
        return;
    }

    for (k = hoop_sql_function_kinds; k->name; k++) {
        if (strcmp(k->name, name) == 0) {
            hoop_sql_raise(w->st, k->kind);
        }
    }
}


/*
 * Expressions that end in a call without saying so: an operator is a
 * function; so is a cast, and x.name when x has no column "name";
 * IN, BETWEEN, LIKE, CASE x WHEN, ORDER BY ... USING, JOIN ... USING use
 * operators.
 */
static void
hoop_sql_walk_expr(const char *type, json_t *node, hoop_sql_walk_t *w)
{
    size_t       i;
    json_t      *list;
    const char  *kind;

    if (strcmp(type, "ColumnRef") == 0) {

        /* a.b, a.b.c: each name after the first may be a call */

        list = json_object_get(node, "fields");

        for (i = 1; i < json_array_size(list); i++) {
            hoop_sql_add_ref(w, HOOP_SQL_REF_ATTRIBUTE, NULL,
                             hoop_sql_sval(json_array_get(list, i)));
        }

    } else if (strcmp(type, "A_Indirection") == 0) {

        /* (x).name, (x).a.b */

        list = json_object_get(node, "indirection");

        for (i = 0; i < json_array_size(list); i++) {
            hoop_sql_add_ref(w, HOOP_SQL_REF_ATTRIBUTE, NULL,
                             hoop_sql_sval(json_array_get(list, i)));
        }

    } else if (strcmp(type, "A_Expr") == 0) {
        kind = json_string_value(json_object_get(node, "kind"));

        if (kind == NULL) {
            return;
        }

        /* x BETWEEN a AND b is x >= a AND x <= b; NOT: x < a OR x > b */

        if (strcmp(kind, "AEXPR_BETWEEN") == 0
            || strcmp(kind, "AEXPR_BETWEEN_SYM") == 0)
        {
            hoop_sql_add_ref(w, HOOP_SQL_REF_OPERATOR, NULL, ">=");
            hoop_sql_add_ref(w, HOOP_SQL_REF_OPERATOR, NULL, "<=");

        } else if (strcmp(kind, "AEXPR_NOT_BETWEEN") == 0
                   || strcmp(kind, "AEXPR_NOT_BETWEEN_SYM") == 0)
        {
            hoop_sql_add_ref(w, HOOP_SQL_REF_OPERATOR, NULL, "<");
            hoop_sql_add_ref(w, HOOP_SQL_REF_OPERATOR, NULL, ">");

        } else {
            hoop_sql_ref_names(json_object_get(node, "name"),
                               HOOP_SQL_REF_OPERATOR, w);
        }

    } else if (strcmp(type, "SubLink") == 0) {
        list = json_object_get(node, "operName");
        kind = json_string_value(json_object_get(node, "subLinkType"));

        if (json_array_size(list) > 0) {
            hoop_sql_ref_names(list, HOOP_SQL_REF_OPERATOR, w);

        } else if (kind != NULL && strcmp(kind, "ANY_SUBLINK") == 0) {
            hoop_sql_add_ref(w, HOOP_SQL_REF_OPERATOR, NULL, "=");
        }

    } else if (strcmp(type, "SortBy") == 0) {
        hoop_sql_ref_names(json_object_get(node, "useOp"),
                           HOOP_SQL_REF_OPERATOR, w);

    } else if (strcmp(type, "TypeName") == 0) {

        /*
         * a type named anywhere (a cast, a column definition list,
         * XMLTABLE's columns, PREPARE's parameters): a value becomes one,
         * and a domain's CHECK runs
         */

        hoop_sql_ref_names(json_object_get(node, "names"),
                           HOOP_SQL_REF_TYPE, w);

    } else if (strcmp(type, "JoinExpr") == 0
               && (json_is_true(json_object_get(node, "isNatural"))
                   || json_array_size(json_object_get(node, "usingClause"))))
    {
        /* USING (a), NATURAL: a = a, by the search path's "=" */
        hoop_sql_add_ref(w, HOOP_SQL_REF_OPERATOR, NULL, "=");

    } else if (strcmp(type, "CaseExpr") == 0
               && json_object_get(node, "arg") != NULL)
    {
        /* CASE x WHEN y: x = y */
        hoop_sql_add_ref(w, HOOP_SQL_REF_OPERATOR, NULL, "=");
    }
}


/*
 * SET, RESET, SET TRANSACTION, SET SESSION CHARACTERISTICS: the setting
 * and (for SET) its value decide; RESET ALL puts back what the session
 * started with.
 */
static void
hoop_sql_walk_set(json_t *node, hoop_sql_walk_t *w)
{
    char         buf[64];
    size_t       i;
    json_t      *args;
    const char  *kind, *name, *value;

    kind = json_string_value(json_object_get(node, "kind"));
    name = json_string_value(json_object_get(node, "name"));
    args = json_object_get(node, "args");

    if (kind == NULL || name == NULL) {
        return;                         /* RESET ALL */
    }

    if (strcmp(kind, "VAR_SET_MULTI") == 0) {

        /* TRANSACTION ..., SESSION CHARACTERISTICS AS TRANSACTION ... */

        if (hoop_sql_read_write(args)) {
            w->st->lifts_read_only = 1;
            hoop_sql_raise(w->st, HOOP_SQL_WRITE);
        }

        return;
    }

    value = NULL;

    if (strcmp(kind, "VAR_SET_VALUE") == 0) {
        value = hoop_sql_const_text(json_array_get(args, 0), buf,
                                    sizeof(buf));
        w->st->by_value = 1;

        if (value == NULL) {
            value = "";                 /* not a constant: not known */
        }

        /* the schemas a bare name may be in from now on */

        if (strcasecmp(name, "search_path") == 0) {
            for (i = 0; i < json_array_size(args); i++) {
                hoop_sql_search_path(hoop_sql_const_text(
                                         json_array_get(args, i), buf,
                                         sizeof(buf)), w);
            }
        }
    }

    hoop_sql_setting(name, value, w);
}


/*
 * SELECT set_config(name, ...) FROM pg_settings WHERE name = 'x' (pg_dump
 * sets restrict_nonsystem_relation_kind so): the WHERE pins the column,
 * so the call sets x and nothing else.  The call is marked with the
 * setting ("hoop_setting", in the tree we own) for the walk to find.
 */
static void
hoop_sql_settings_row(json_t *select)
{
    size_t       i;
    json_t      *from, *rel, *where, *targets, *call, *names, *args;
    const char  *schema, *pinned, *fname;

    from = json_object_get(select, "fromClause");
    rel = json_object_get(json_array_get(from, 0), "RangeVar");
    schema = json_string_value(json_object_get(rel, "schemaname"));

    if (json_array_size(from) != 1
        || json_string_value(json_object_get(rel, "relname")) == NULL
        || strcmp(json_string_value(json_object_get(rel, "relname")),
                  "pg_settings") != 0
        || (schema != NULL && strcmp(schema, "pg_catalog") != 0)
        || json_object_get(rel, "alias") != NULL)
    {
        return;
    }

    /* WHERE name = 'constant', or 'constant' = name: nothing else */

    where = json_object_get(json_object_get(select, "whereClause"), "A_Expr");

    if (where == NULL
        || json_string_value(json_object_get(where, "kind")) == NULL
        || strcmp(json_string_value(json_object_get(where, "kind")),
                  "AEXPR_OP") != 0
        || json_array_size(json_object_get(where, "name")) != 1
        || hoop_sql_sval(json_array_get(json_object_get(where, "name"), 0))
           == NULL
        || strcmp(hoop_sql_sval(json_array_get(json_object_get(where, "name"),
                                               0)), "=") != 0)
    {
        return;
    }

    pinned = NULL;

    if (hoop_sql_column_is(json_object_get(where, "lexpr"), "name")) {
        pinned = json_string_value(json_object_get(json_object_get(
                     json_object_get(json_object_get(where, "rexpr"),
                                     "A_Const"), "sval"), "sval"));

    } else if (hoop_sql_column_is(json_object_get(where, "rexpr"), "name")) {
        pinned = json_string_value(json_object_get(json_object_get(
                     json_object_get(json_object_get(where, "lexpr"),
                                     "A_Const"), "sval"), "sval"));
    }

    if (pinned == NULL) {
        return;
    }

    targets = json_object_get(select, "targetList");

    for (i = 0; i < json_array_size(targets); i++) {
        call = json_object_get(json_object_get(json_object_get(
                   json_object_get(json_array_get(targets, i), "ResTarget"),
                   "val"), "FuncCall"), "funcname") != NULL
               ? json_object_get(json_object_get(json_object_get(
                     json_array_get(targets, i), "ResTarget"), "val"),
                     "FuncCall")
               : NULL;

        if (call == NULL) {
            continue;
        }

        names = json_object_get(call, "funcname");
        args = json_object_get(call, "args");
        fname = hoop_sql_sval(json_array_get(names,
                                             json_array_size(names) - 1));

        if (fname != NULL && strcmp(fname, "set_config") == 0
            && hoop_sql_column_is(json_array_get(args, 0), "name"))
        {
            json_object_set_new(call, "hoop_setting", json_string(pinned));
        }
    }
}


/* {"ColumnRef": ... column} or pg_settings.column: its name, or NULL */
static const char *
hoop_sql_column_is(json_t *node, const char *column)
{
    size_t       n;
    json_t      *fields;
    const char  *last, *first;

    fields = json_object_get(json_object_get(node, "ColumnRef"), "fields");
    n = json_array_size(fields);

    if (n == 0 || n > 2) {
        return NULL;
    }

    last = hoop_sql_sval(json_array_get(fields, n - 1));
    first = hoop_sql_sval(json_array_get(fields, 0));

    if (last == NULL || strcmp(last, column) != 0
        || (n == 2 && (first == NULL || strcmp(first, "pg_settings") != 0)))
    {
        return NULL;
    }

    return last;
}


/* BEGIN READ WRITE, PREPARE TRANSACTION, COMMIT PREPARED, ... */
static void
hoop_sql_walk_transaction(json_t *node, hoop_sql_walk_t *w)
{
    const char  *kind;

    kind = json_string_value(json_object_get(node, "kind"));

    if (kind == NULL) {
        return;
    }

    if (strcmp(kind, "TRANS_STMT_BEGIN") == 0
        || strcmp(kind, "TRANS_STMT_START") == 0)
    {
        if (hoop_sql_read_write(json_object_get(node, "options"))) {
            w->st->lifts_read_only = 1;
            hoop_sql_raise(w->st, HOOP_SQL_WRITE);
        }

        return;
    }

    /*
     * a prepared transaction outlives the session and holds its locks;
     * committing one makes another session's writes happen
     */

    if (strcmp(kind, "TRANS_STMT_PREPARE") == 0
        || strcmp(kind, "TRANS_STMT_COMMIT_PREPARED") == 0
        || strcmp(kind, "TRANS_STMT_ROLLBACK_PREPARED") == 0)
    {
        hoop_sql_raise(w->st, HOOP_SQL_WRITE);
    }
}


/*
 * set_config(setting, value, is_local): a SET when it names a setting, by
 * a constant or by the row of pg_settings its SELECT is pinned to
 */
static void
hoop_sql_set_config(json_t *node, hoop_sql_walk_t *w)
{
    char         nbuf[128], vbuf[64];
    json_t      *args;
    const char  *name, *value;

    args = json_object_get(node, "args");

    name = hoop_sql_const_text(json_array_get(args, 0), nbuf, sizeof(nbuf));
    value = hoop_sql_const_text(json_array_get(args, 1), vbuf, sizeof(vbuf));

    if (name == NULL) {
        name = json_string_value(json_object_get(node, "hoop_setting"));
    }

    w->st->by_value = 1;

    if (name == NULL) {
        /* which setting is not known before it runs: any */
        hoop_sql_raise(w->st, HOOP_SQL_ADMIN);
        hoop_sql_search_path(NULL, w);
        return;
    }

    if (strcasecmp(name, "search_path") == 0) {
        hoop_sql_search_path(value, w);
    }

    hoop_sql_setting(name, value ? value : "", w);
}


/*
 * A search_path value (NULL: not known) as schema references: its list
 * read as PostgreSQL reads it, unquoted names in lower case; "*" when
 * any schema may be in it.
 */
static void
hoop_sql_search_path(const char *value, hoop_sql_walk_t *w)
{
    char         one[128];
    size_t       o, i;
    const char  *p;

    if (value == NULL) {
        hoop_sql_add_ref(w, HOOP_SQL_REF_SCHEMA, NULL, "*");
        return;
    }

    for (p = value; *p; ) {
        while (*p == ' ' || *p == '\t' || *p == '\n' || *p == ',') {
            p++;
        }

        o = 0;

        if (*p == '"') {
            for (p++; *p; p++) {
                if (*p == '"' && p[1] == '"') {
                    p++;

                } else if (*p == '"') {
                    p++;
                    break;
                }

                if (o + 1 < sizeof(one)) {
                    one[o++] = *p;
                }
            }

        } else {
            for ( /* void */ ; *p && *p != ',' && *p != ' ' && *p != '\t';
                 p++)
            {
                if (o + 1 < sizeof(one)) {
                    one[o++] = *p;
                }
            }

            /*
             * in lower case, as PostgreSQL reads a name unquoted in the
             * value; also as written: the parser gives SET's quoted
             * identifiers ("HR") and strings ('HR') alike
             */

            one[o] = '\0';
            hoop_sql_add_ref(w, HOOP_SQL_REF_SCHEMA, NULL, one);

            for (i = 0; i < o; i++) {
                one[i] = (one[i] >= 'A' && one[i] <= 'Z')
                         ? (char) (one[i] - 'A' + 'a') : one[i];
            }
        }

        while (*p && *p != ',') {
            p++;
        }

        if (o > 0) {
            one[o] = '\0';
            hoop_sql_add_ref(w, HOOP_SQL_REF_SCHEMA, NULL, one);
        }
    }
}


static void
hoop_sql_setting(const char *name, const char *value, hoop_sql_walk_t *w)
{
    int              lifts;
    hoop_sql_kind_e  kind;

    lifts = 0;
    kind = hoop_sql_setting_kind(name, value, &lifts);

    hoop_sql_raise(w->st, kind);

    if (lifts) {
        w->st->lifts_read_only = 1;
    }

    hoop_sql_add_ref(w, HOOP_SQL_REF_SETTING, NULL, name);
}


hoop_sql_kind_e
hoop_sql_setting_kind(const char *name, const char *value, int *lifts)
{
    size_t  len;

    *lifts = 0;

    if (strcasecmp(name, "role") == 0
        || strcasecmp(name, "session_authorization") == 0
        || strcasecmp(name, "session_replication_role") == 0)
    {
        return HOOP_SQL_ADMIN;
    }

    if (strcasecmp(name, "default_transaction_read_only") == 0
        || strcasecmp(name, "transaction_read_only") == 0)
    {
        /* back to its default (what the gateway pinned), or on: a read */

        if (value == NULL || hoop_sql_bool(value) == 1) {
            return HOOP_SQL_READ;
        }

        *lifts = 1;
        return HOOP_SQL_WRITE;
    }

    if (strcasecmp(name, "standard_conforming_strings") == 0) {
        /* the classifier reads SQL as the server does with it on */
        return (value == NULL || hoop_sql_bool(value) == 1)
               ? HOOP_SQL_READ : HOOP_SQL_ADMIN;
    }

    if (strcasecmp(name, "client_encoding") == 0) {
        /* in SJIS, BIG5, GBK, ... a quote can hide inside a character */

        if (value == NULL) {
            return HOOP_SQL_READ;
        }

        len = strlen(value);

        if (len >= 2 && value[0] == '\'' && value[len - 1] == '\'') {
            value++;
            len -= 2;
        }

        return ((len == 4 && strncasecmp(value, "UTF8", 4) == 0)
                || (len == 5 && strncasecmp(value, "UTF-8", 5) == 0)
                || (len == 7 && strncasecmp(value, "UNICODE", 7) == 0)
                || (len == 9 && strncasecmp(value, "SQL_ASCII", 9) == 0))
               ? HOOP_SQL_READ : HOOP_SQL_ADMIN;
    }

    /* an extension's or an application's: what row security may read */

    if (strchr(name, '.') != NULL) {
        return HOOP_SQL_ADMIN;
    }

    return HOOP_SQL_READ;
}


/* whether transaction options say READ WRITE */
static int
hoop_sql_read_write(json_t *options)
{
    char         buf[16];
    size_t       i;
    json_t      *def;
    const char  *name, *value;

    for (i = 0; i < json_array_size(options); i++) {
        def = json_object_get(json_array_get(options, i), "DefElem");
        name = json_string_value(json_object_get(def, "defname"));

        if (name == NULL || strcmp(name, "transaction_read_only") != 0) {
            continue;
        }

        value = hoop_sql_const_text(json_object_get(def, "arg"), buf,
                                    sizeof(buf));

        if (value == NULL || hoop_sql_bool(value) != 1) {
            return 1;
        }
    }

    return 0;
}


/*
 * The text of a constant ({"A_Const": ...}) as PostgreSQL reads it for a
 * setting: a string, a number, true/false; NULL for anything else.
 */
static const char *
hoop_sql_const_text(json_t *node, char *buf, size_t size)
{
    json_t      *c, *v;
    const char  *s;

    c = json_object_get(node, "A_Const");

    if (!json_is_object(c)) {
        return NULL;
    }

    s = json_string_value(json_object_get(json_object_get(c, "sval"),
                                          "sval"));
    if (s != NULL) {
        return s;
    }

    s = json_string_value(json_object_get(json_object_get(c, "fval"),
                                          "fval"));
    if (s != NULL) {
        return s;
    }

    v = json_object_get(c, "ival");

    if (json_is_object(v)) {
        v = json_object_get(v, "ival");
        snprintf(buf, size, "%lld",
                 json_is_integer(v) ? (long long) json_integer_value(v)
                                    : 0LL);
        return buf;
    }

    v = json_object_get(c, "boolval");

    if (json_is_object(v)) {
        return json_is_true(json_object_get(v, "boolval")) ? "true"
                                                            : "false";
    }

    return NULL;
}


/* PostgreSQL's parse_bool(): 1 true, 0 false, -1 neither */
static int
hoop_sql_bool(const char *value)
{
    size_t  len;

    len = strlen(value);

    if (len == 0) {
        return -1;
    }

    if (strncasecmp(value, "true", len) == 0
        || strncasecmp(value, "yes", len) == 0
        || (len >= 2 && strncasecmp(value, "on", len) == 0)
        || strcmp(value, "1") == 0)
    {
        return 1;
    }

    if (strncasecmp(value, "false", len) == 0
        || strncasecmp(value, "no", len) == 0
        || (len >= 2 && strncasecmp(value, "off", len) == 0)
        || strcmp(value, "0") == 0)
    {
        return 0;
    }

    return -1;
}


/* a name list (["schema", "name"] or ["name"]) as a reference */
static void
hoop_sql_ref_names(json_t *names, char type, hoop_sql_walk_t *w)
{
    size_t  n;

    n = json_array_size(names);

    if (n == 0) {
        return;
    }

    hoop_sql_add_ref(w, type,
                     n > 1 ? hoop_sql_sval(json_array_get(names, n - 2))
                           : NULL,
                     hoop_sql_sval(json_array_get(names, n - 1)));
}


static void
hoop_sql_add_ref(hoop_sql_walk_t *w, char type, const char *schema,
    const char *name)
{
    size_t            slen, nlen, pos;
    const char       *s, *n;
    hoop_sql_refs_t  *refs;

    refs = w->refs;

    if (refs == NULL || name == NULL) {
        return;
    }

    schema = (schema != NULL) ? schema : "";
    slen = strlen(schema);
    nlen = strlen(name);

    /* once each */

    pos = 0;

    while (hoop_sql_ref_next(refs, &pos, &s, &n) != 0) {
        if (pos - (size_t) (s - refs->names) == slen + nlen + 2
            && s[-1] == type && strcmp(s, schema) == 0
            && strcmp(n, name) == 0)
        {
            return;
        }
    }

    /* type, schema, NUL, name, NUL, and room for the end's 0 */

    if (refs->len + slen + nlen + 4 > sizeof(refs->names)) {
        refs->truncated = 1;
        return;
    }

    refs->names[refs->len++] = type;
    memcpy(refs->names + refs->len, schema, slen + 1);
    refs->len += slen + 1;
    memcpy(refs->names + refs->len, name, nlen + 1);
    refs->len += nlen + 1;
    refs->names[refs->len] = '\0';
}


int
hoop_sql_ref_next(const hoop_sql_refs_t *refs, size_t *pos,
    const char **schema, const char **name)
{
    int     type;
    size_t  p;

    p = *pos;

    if (p >= refs->len || refs->names[p] == '\0') {
        return 0;
    }

    type = (unsigned char) refs->names[p++];
    *schema = refs->names + p;
    p += strlen(*schema) + 1;
    *name = refs->names + p;
    p += strlen(*name) + 1;

    *pos = p;

    return type;
}


/* {"String": {"sval": ...}} */
static const char *
hoop_sql_sval(json_t *node)
{
    return json_string_value(json_object_get(json_object_get(node, "String"),
                                             "sval"));
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


long
hoop_sql_normalize(const char *sql, char *out, size_t cap)
{
    long                    len;
    PgQueryNormalizeResult  r;

    r = pg_query_normalize(sql);

    if (r.error != NULL || r.normalized_query == NULL) {
        pg_query_free_normalize_result(r);
        return -1;
    }

    len = (long) strlen(r.normalized_query);

    if ((size_t) len < cap) {
        memcpy(out, r.normalized_query, (size_t) len + 1);
    }

    pg_query_free_normalize_result(r);

    return len;
}


void
hoop_sql_stmt_raise(hoop_sql_stmt_t *st, hoop_sql_kind_e kind)
{
    hoop_sql_raise(st, kind);
}


void
hoop_sql_stmt_runs(hoop_sql_stmt_t *st, const hoop_sql_stmt_t *prepared)
{
    const char  *p, *end;
    char         one[HOOP_SQL_NAMES_LEN];
    size_t       len;
    size_t       i;
    const char  *lists[3];
    char        *into[3];

    if (prepared->kind > st->kind || prepared->kind == HOOP_SQL_UNKNOWN) {
        if (st->kind != HOOP_SQL_UNKNOWN) {
            memcpy(st->cause, prepared->cause, sizeof(st->cause));
        }

        hoop_sql_raise(st, prepared->kind);
    }

    st->no_where |= prepared->no_where;
    st->copy_program |= prepared->copy_program;
    st->copy_file |= prepared->copy_file;
    st->lifts_read_only |= prepared->lifts_read_only;
    st->truncated |= prepared->truncated;
    st->calls_beyond |= prepared->calls_beyond;

    if (prepared->commands_kind > st->commands_kind) {
        st->commands_kind = prepared->commands_kind;
    }

    lists[0] = prepared->tables;
    lists[1] = prepared->functions;
    lists[2] = prepared->commands;
    into[0] = st->tables;
    into[1] = st->functions;
    into[2] = st->commands;

    for (i = 0; i < 3; i++) {
        for (p = lists[i]; *p; p = (*end == ',') ? end + 1 : end) {
            end = strchr(p, ',');
            end = (end != NULL) ? end : p + strlen(p);
            len = (size_t) (end - p);

            memcpy(one, p, len);
            one[len] = '\0';

            hoop_sql_add_name(into[i], NULL, one, st);
        }
    }
}


void
hoop_sql_stmt_function(hoop_sql_stmt_t *st, const char *name)
{
    hoop_sql_add_name(st->functions, NULL, name, st);
}


int
hoop_sql_builtin_kind(const char *name)
{
    const hoop_sql_node_kind_t  *k;

    for (k = hoop_sql_function_kinds; k->name; k++) {
        if (strcmp(k->name, name) == 0) {
            return (int) k->kind;
        }
    }

    return -1;
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
    { "CheckPointStmt", "checkpoint" },
    { NULL, NULL }
};


/* "CreateTableAsStmt" -> "create table as" */
static void
hoop_sql_command(const char *type, json_t *node, char *out)
{
    size_t  i, o, len;

    /* ANALYZE is a VacuumStmt that is not a VACUUM */

    if (strcmp(type, "VacuumStmt") == 0
        && !json_is_true(json_object_get(node, "is_vacuumcmd")))
    {
        snprintf(out, HOOP_SQL_COMMAND_LEN, "analyze");
        return;
    }

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
hoop_sql_command_reads(const char *command)
{
    char                         name[HOOP_SQL_COMMAND_LEN];
    const hoop_sql_node_kind_t  *k;

    for (k = hoop_sql_node_kinds; k->name; k++) {
        if (k->kind != HOOP_SQL_READ) {
            continue;
        }

        hoop_sql_command(k->name, NULL, name);

        if (strcmp(name, command) == 0) {
            return 1;
        }
    }

    return 0;
}


int
hoop_sql_names_all(const char *names, const char *const *patterns, size_t n,
    const char *schemas)
{
    size_t       i;
    const char  *p, *end;

    if (names[0] == '\0') {
        return 0;
    }

    for (p = names; *p; p = (*end == ',') ? end + 1 : end) {
        end = strchr(p, ',');
        end = (end != NULL) ? end : p + strlen(p);

        for (i = 0; i < n; i++) {
            if (hoop_sql_name_matches(p, (size_t) (end - p), patterns[i],
                                      schemas, 1))
            {
                break;
            }
        }

        if (i == n) {
            return 0;
        }
    }

    return 1;
}


int
hoop_sql_names_match(const char *names, const char *pattern,
    const char *schemas)
{
    const char  *p, *end;

    for (p = names; *p; p = (*end == ',') ? end + 1 : end) {
        end = strchr(p, ',');
        end = (end != NULL) ? end : p + strlen(p);

        if (hoop_sql_name_matches(p, (size_t) (end - p), pattern, schemas,
                                  0))
        {
            return 1;
        }
    }

    return 0;
}


/*
 * One name as written ("t" or "s.t") against a pattern.  A qualified
 * name also answers to a pattern for its bare name.  A bare name is the
 * relation of that name in whichever schema of the search path holds
 * it: a pattern "s.t" holds for it when s matches one of the schemas
 * (every: all of them) a bare name may resolve to (schemas, a
 * comma-separated list; NULL: any schema, which every cannot vouch for).
 */
int
hoop_sql_name_matches(const char *name, size_t len, const char *pattern,
    const char *schemas, int every)
{
    int          one;
    size_t       plen;
    const char  *dot, *pdot, *p, *end;

    if (hoop_rule_glob(pattern, name, len)) {
        return 1;
    }

    dot = memchr(name, '.', len);

    if (dot != NULL) {
        /* "public.customers" also answers to "customers" */
        return hoop_rule_glob(pattern, dot + 1,
                              (size_t) (name + len - dot - 1));
    }

    pdot = strrchr(pattern, '.');

    if (pdot == NULL || !hoop_rule_glob(pdot + 1, name, len)) {
        return 0;
    }

    /* the pattern's schema: against the schemas the name may be in */

    plen = (size_t) (pdot - pattern);

    if (schemas == NULL) {
        return !every;
    }

    for (p = schemas; *p; p = (*end == ',') ? end + 1 : end) {
        end = strchr(p, ',');
        end = (end != NULL) ? end : p + strlen(p);

        one = hoop_sql_glob_prefix(pattern, plen, p, (size_t) (end - p));

        if (one && !every) {
            return 1;
        }

        if (!one && every) {
            return 0;
        }
    }

    return every && schemas[0] != '\0';
}


/* hoop_rule_glob() with the first plen bytes of pattern */
static int
hoop_sql_glob_prefix(const char *pattern, size_t plen, const char *s,
    size_t len)
{
    char  buf[256];

    if (plen >= sizeof(buf)) {
        return 0;
    }

    memcpy(buf, pattern, plen);
    buf[plen] = '\0';

    return hoop_rule_glob(buf, s, len);
}


json_t *
hoop_sql_parse_tree(const char *sql)
{
    json_t              *root;
    PgQueryParseResult   r;

    r = pg_query_parse(sql);

    root = (r.error == NULL && r.parse_tree != NULL)
           ? json_loads(r.parse_tree, 0, NULL) : NULL;

    pg_query_free_parse_result(r);

    return root;
}
