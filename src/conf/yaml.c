/*
 * conf/yaml: turns YAML text into a tree of struct conf_node (kind, text,
 * 1-based line and column) with libyaml's event API. Owns the libyaml parser
 * for the duration of one call; the tree lives in the load's scratch arena.
 * Refuses aliases (no billion laughs), more than one document, nesting past
 * CONF_MAX_DEPTH and more than CONF_MAX_NODES nodes. Knows nothing of opshub.
 */
#include "conf/conf_int.h"

#include "base/err.h"

#include <string.h>
#include <yaml.h>

struct frame {
    struct conf_node *node;
    struct conf_node *pending_key; /* mapping: key read, value not yet */
};

struct builder {
    struct conf_ctx *ctx;
    struct frame stack[CONF_MAX_DEPTH];
    int depth;
    size_t nodes;
    struct conf_node *root;
    bool failed;  /* a structural error: the tree must not be used */
};

static void append_child(struct conf_node *parent, struct conf_node *child)
{
    if (parent->last)
        parent->last->next = child;
    else
        parent->child = child;
    parent->last = child;
    parent->n++;
}

static void attach(struct builder *b, struct conf_node *node)
{
    if (b->depth == 0) {
        b->root = node;
        return;
    }
    struct frame *f = &b->stack[b->depth - 1];
    if (f->node->kind == CONF_NODE_SEQ) {
        append_child(f->node, node);
    } else if (!f->pending_key) {
        f->pending_key = node;
    } else {
        node->key = f->pending_key;
        f->pending_key = NULL;
        append_child(f->node, node);
    }
}

static struct conf_node *new_node(struct builder *b, enum conf_node_kind kind, yaml_mark_t mark)
{
    struct conf_ctx *ctx = b->ctx;
    if (++b->nodes > CONF_MAX_NODES) {
        conf_value_error(ctx, NULL, "too many YAML nodes (more than %d)", CONF_MAX_NODES);
        b->failed = true;
        return NULL;
    }
    struct conf_node *node = base_arena_calloc(&ctx->tmp, sizeof(*node));
    if (!node) {
        ctx->nomem = true;
        return NULL;
    }
    node->kind = kind;
    node->file = ctx->file;
    node->line = (int)mark.line + 1;
    node->col = (int)mark.column + 1;
    return node;
}

static void report_syntax(struct conf_ctx *ctx, const yaml_parser_t *p, const char *text, size_t len)
{
    if (p->error == YAML_MEMORY_ERROR) {
        ctx->nomem = true;
        return;
    }
    struct conf_node at = {0};
    if (p->error == YAML_READER_ERROR) {
        /* Reader errors carry a byte offset, not a mark. */
        size_t off = p->problem_offset < len ? p->problem_offset : len;
        at.line = 1;
        at.col = 1;
        for (size_t i = 0; i < off; i++) {
            if (text[i] == '\n') {
                at.line++;
                at.col = 1;
            } else if (((unsigned char)text[i] & 0xC0) != 0x80) {
                at.col++;
            }
        }
        if (p->problem_value != -1)
            conf_value_error(ctx, &at, "YAML: %s (byte 0x%02X)",
                             p->problem ? p->problem : "bad input", (unsigned)p->problem_value & 0xFFu);
        else
            conf_value_error(ctx, &at, "YAML: %s", p->problem ? p->problem : "bad input");
        return;
    }
    at.line = (int)p->problem_mark.line + 1;
    at.col = (int)p->problem_mark.column + 1;
    if (p->context)
        conf_value_error(ctx, &at, "YAML syntax error: %s (%s at line %d)",
                         p->problem ? p->problem : "unknown problem", p->context,
                         (int)p->context_mark.line + 1);
    else
        conf_value_error(ctx, &at, "YAML syntax error: %s", p->problem ? p->problem : "unknown problem");
}

static struct conf_node *scalar_node(struct builder *b, const yaml_event_t *ev)
{
    struct conf_node *node = new_node(b, CONF_NODE_SCALAR, ev->start_mark);
    if (!node)
        return NULL;
    const char *value = (const char *)ev->data.scalar.value;
    size_t len = ev->data.scalar.length;
    node->text = base_arena_strndup(&b->ctx->tmp, value ? value : "", value ? len : 0);
    if (!node->text) {
        b->ctx->nomem = true;
        return NULL;
    }
    node->len = value ? len : 0;
    node->quoted = ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
    node->has_nul = value && memchr(value, '\0', len) != NULL;
    return node;
}

/* Handles one event; returns false when parsing must stop. */
static bool on_event(struct builder *b, const yaml_event_t *ev, int *docs)
{
    struct conf_ctx *ctx = b->ctx;
    struct conf_node *node = NULL, at = {0};
    switch (ev->type) {
    case YAML_STREAM_END_EVENT:
        return false;
    case YAML_DOCUMENT_START_EVENT:
        if (++*docs > 1) {
            at.line = (int)ev->start_mark.line + 1;
            at.col = (int)ev->start_mark.column + 1;
            conf_value_error(ctx, &at, "only one YAML document is allowed per file");
            b->failed = true;
            return false;
        }
        return true;
    case YAML_ALIAS_EVENT:
        at.line = (int)ev->start_mark.line + 1;
        at.col = (int)ev->start_mark.column + 1;
        conf_value_error(ctx, &at, "YAML aliases (*%.64s) are not supported; repeat the value instead",
                         (const char *)ev->data.alias.anchor);
        b->failed = true;
        /* Keep parsing so later aliases and syntax errors are reported too. */
        node = new_node(b, CONF_NODE_SCALAR, ev->start_mark);
        if (node) {
            node->text = "";
            attach(b, node);
        }
        return node != NULL;
    case YAML_SCALAR_EVENT:
        node = scalar_node(b, ev);
        if (node)
            attach(b, node);
        return node != NULL;
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT:
        if (b->depth == CONF_MAX_DEPTH) {
            at.line = (int)ev->start_mark.line + 1;
            at.col = (int)ev->start_mark.column + 1;
            conf_value_error(ctx, &at, "YAML nesting is deeper than %d levels", CONF_MAX_DEPTH);
            b->failed = true;
            return false;
        }
        node = new_node(b, ev->type == YAML_MAPPING_START_EVENT ? CONF_NODE_MAP : CONF_NODE_SEQ,
                        ev->start_mark);
        if (!node)
            return false;
        attach(b, node);
        b->stack[b->depth].node = node;
        b->stack[b->depth].pending_key = NULL;
        b->depth++;
        return true;
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        if (b->depth > 0)
            b->depth--;
        return true;
    default:
        return true;
    }
}

int conf_yaml_parse(struct conf_ctx *ctx, const char *text, size_t len, struct conf_node **root)
{
    yaml_parser_t parser;
    yaml_event_t ev;
    struct builder b = {.ctx = ctx};
    int docs = 0;
    *root = NULL;
    if (!yaml_parser_initialize(&parser)) {
        ctx->nomem = true;
        return BASE_ERR_NOMEM;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    for (;;) {
        if (!yaml_parser_parse(&parser, &ev)) {
            report_syntax(ctx, &parser, text, len);
            b.failed = true;
            break;
        }
        bool more = on_event(&b, &ev, &docs);
        yaml_event_delete(&ev);
        if (!more || ctx->nomem)
            break;
    }
    yaml_parser_delete(&parser);
    if (ctx->nomem)
        return BASE_ERR_NOMEM;
    if (b.failed)
        return BASE_ERR_INVALID;
    *root = b.root;
    return 0;
}
