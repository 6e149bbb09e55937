/*
 * rules/promql_parse: PromQL text to an expression tree, by recursive
 * descent with Prometheus' precedence (or < and unless < comparisons <
 * + - < * / % atan2 < unary minus < ^, ^ right-associative) and its type
 * rules, checked while parsing so that every error names its place: an
 * unknown function, a range vector where an instant one is needed, a
 * comparison of scalars without bool, many-to-many matching outside the
 * set operators. What opshub does not evaluate (the @ modifier,
 * holt_winters, native histograms) is refused by name.
 */
#include "rules/promql_int.h"
#include "rules/promql_lex.h"

#include "base/alloc.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

struct parser {
    struct pql_lexer lx;
    struct promql_error *err;
    int depth;
    int n_slots;
    bool failed;
};

static void fail_at(struct parser *p, size_t pos, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fail_at(struct parser *p, size_t pos, const char *fmt, ...)
{
    if (p->failed)
        return;
    p->failed = true;
    p->err->pos = pos;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err->msg, sizeof(p->err->msg), fmt, ap);
    va_end(ap);
}

static bool next(struct parser *p)
{
    if (p->failed)
        return false;
    if (pql_lex_next(&p->lx) < 0) {
        fail_at(p, p->lx.err_pos, "%s", p->lx.err);
        return false;
    }
    return true;
}

static const struct pql_token *tok(struct parser *p)
{
    return &p->lx.tok;
}

/* The current identifier is `word`. */
static bool tok_is(struct parser *p, const char *word)
{
    const struct pql_token *t = tok(p);
    return t->kind == PT_IDENT && t->len == strlen(word) && strncmp(p->lx.text + t->pos, word, t->len) == 0;
}

static char *tok_text(struct parser *p)
{
    const struct pql_token *t = tok(p);
    char *s = base_malloc(t->len + 1);
    if (!s) {
        fail_at(p, t->pos, "out of memory");
        return NULL;
    }
    memcpy(s, p->lx.text + t->pos, t->len);
    s[t->len] = 0;
    return s;
}

static void unexpected(struct parser *p, const char *what)
{
    const struct pql_token *t = tok(p);
    char got[96];
    switch (t->kind) {
    case PT_EOF:
        snprintf(got, sizeof(got), "end of input");
        break;
    case PT_IDENT:
    case PT_NUM:
    case PT_DUR:
    case PT_STR:
        snprintf(got, sizeof(got), "%s \"%.*s\"", pql_tok_name(t->kind), (int)(t->len > 40 ? 40 : t->len),
                 p->lx.text + t->pos);
        break;
    default:
        snprintf(got, sizeof(got), "\"%s\"", pql_tok_name(t->kind));
    }
    fail_at(p, t->pos, "unexpected %s%s%s", got, what ? ", expected " : "", what ? what : "");
}

static bool expect(struct parser *p, enum pql_tok k, const char *what)
{
    if (p->failed)
        return false;
    if (tok(p)->kind != k) {
        unexpected(p, what);
        return false;
    }
    return next(p);
}

/* ---- nodes ---- */

static struct pql_node *node_new(struct parser *p, enum pql_kind kind, size_t pos)
{
    struct pql_node *n = base_calloc(1, sizeof(*n));
    if (!n) {
        fail_at(p, pos, "out of memory");
        return NULL;
    }
    n->kind = kind;
    n->pos = pos;
    return n;
}

static void names_free(struct pql_names *ns)
{
    for (size_t i = 0; i < ns->n; i++)
        base_free(ns->v[i]);
    base_free(ns->v);
    ns->v = NULL;
    ns->n = 0;
}

static void node_free(struct pql_node *n)
{
    if (!n)
        return;
    switch (n->kind) {
    case PQL_STRING:
        base_free(n->u.str);
        break;
    case PQL_SELECTOR:
    case PQL_MATRIX:
        base_free(n->u.sel.name);
        for (size_t i = 0; i < n->u.sel.n_ms; i++)
            series_matcher_free(&n->u.sel.ms[i]);
        base_free(n->u.sel.ms);
        break;
    case PQL_SUBQUERY:
        node_free(n->u.sub.expr);
        break;
    case PQL_UNARY:
        node_free(n->u.unary.expr);
        break;
    case PQL_BINARY:
        node_free(n->u.bin.lhs);
        node_free(n->u.bin.rhs);
        names_free(&n->u.bin.labels);
        names_free(&n->u.bin.include);
        break;
    case PQL_AGG:
        node_free(n->u.agg.expr);
        node_free(n->u.agg.param);
        names_free(&n->u.agg.grouping);
        break;
    case PQL_CALL:
        for (size_t i = 0; i < n->u.call.n; i++)
            node_free(n->u.call.args[i]);
        base_free(n->u.call.args);
        break;
    case PQL_PAREN:
        node_free(n->u.paren.expr);
        break;
    case PQL_NUMBER:
        break;
    }
    base_free(n);
}

static struct pql_node *parse_expr(struct parser *p, int min_prec);

/* ---- label names and matchers ---- */

static bool label_name_ok(const char *s, size_t n)
{
    if (!n || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') || s[0] == '_'))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || s[i] == '_' ||
              (s[i] >= '0' && s[i] <= '9')))
            return false;
    return true;
}

/* `(a, b, c)`, a trailing comma allowed; the current token is '('. */
static bool parse_label_list(struct parser *p, struct pql_names *out)
{
    if (!expect(p, PT_LPAREN, "\"(\""))
        return false;
    while (tok(p)->kind != PT_RPAREN) {
        const struct pql_token *t = tok(p);
        if (t->kind != PT_IDENT || !label_name_ok(p->lx.text + t->pos, t->len)) {
            unexpected(p, "a label name");
            return false;
        }
        char **v = base_realloc(out->v, (out->n + 1) * sizeof(*v));
        if (!v) {
            fail_at(p, t->pos, "out of memory");
            return false;
        }
        out->v = v;
        if (!(out->v[out->n] = tok_text(p)))
            return false;
        out->n++;
        if (!next(p))
            return false;
        if (tok(p)->kind == PT_COMMA) {
            if (!next(p))
                return false;
        } else if (tok(p)->kind != PT_RPAREN) {
            unexpected(p, "\",\" or \")\"");
            return false;
        }
    }
    return next(p);
}

static bool add_matcher(struct parser *p, struct pql_node *n, enum series_match_op op, const char *name,
                        const char *value, size_t pos)
{
    struct series_matcher *ms = base_realloc(n->u.sel.ms, (n->u.sel.n_ms + 1) * sizeof(*ms));
    if (!ms) {
        fail_at(p, pos, "out of memory");
        return false;
    }
    n->u.sel.ms = ms;
    char why[200];
    if (series_matcher_init(&ms[n->u.sel.n_ms], op, name, value, why, sizeof(why)) < 0) {
        fail_at(p, pos, "%s", why);
        return false;
    }
    n->u.sel.n_ms++;
    return true;
}

/* `{name op "value", ...}`; the current token is '{'. */
static bool parse_matchers(struct parser *p, struct pql_node *n)
{
    if (!next(p))
        return false;
    while (tok(p)->kind != PT_RBRACE) {
        const struct pql_token *t = tok(p);
        if (t->kind != PT_IDENT || !label_name_ok(p->lx.text + t->pos, t->len)) {
            unexpected(p, "a label matcher");
            return false;
        }
        size_t pos = t->pos;
        char *name = tok_text(p);
        if (!name || !next(p)) {
            base_free(name);
            return false;
        }
        enum series_match_op op;
        switch (tok(p)->kind) {
        case PT_ASSIGN: op = SERIES_MATCH_EQ; break;
        case PT_NE: op = SERIES_MATCH_NE; break;
        case PT_RE: op = SERIES_MATCH_RE; break;
        case PT_NRE: op = SERIES_MATCH_NRE; break;
        default:
            base_free(name);
            unexpected(p, "a label matching operator (=, !=, =~, !~)");
            return false;
        }
        if (!next(p) || tok(p)->kind != PT_STR) {
            base_free(name);
            if (!p->failed)
                unexpected(p, "a quoted label value");
            return false;
        }
        if (n->u.sel.name && strcmp(name, "__name__") == 0) {
            base_free(name);
            fail_at(p, pos, "metric name must not be set twice: \"%s\"", n->u.sel.name);
            return false;
        }
        bool ok = add_matcher(p, n, op, name, tok(p)->str, pos);
        base_free(name);
        if (!ok || !next(p))
            return false;
        if (tok(p)->kind == PT_COMMA) {
            if (!next(p))
                return false;
        } else if (tok(p)->kind != PT_RBRACE) {
            unexpected(p, "\",\" or \"}\"");
            return false;
        }
    }
    return next(p);
}

static struct pql_node *parse_selector(struct parser *p, size_t pos, char *name)
{
    struct pql_node *n = node_new(p, PQL_SELECTOR, pos);
    if (!n) {
        base_free(name);
        return NULL;
    }
    n->type = PROMQL_VECTOR;
    n->u.sel.name = name;
    if (name && !add_matcher(p, n, SERIES_MATCH_EQ, "__name__", name, pos))
        goto fail;
    if (tok(p)->kind == PT_LBRACE && !parse_matchers(p, n))
        goto fail;
    bool nonempty = false;
    for (size_t i = 0; i < n->u.sel.n_ms; i++)
        if (!series_matcher_matches(&n->u.sel.ms[i], ""))
            nonempty = true;
    if (!nonempty) {
        fail_at(p, pos, "vector selector must contain at least one non-empty matcher");
        goto fail;
    }
    n->u.sel.slot = p->n_slots++;
    return n;
fail:
    node_free(n);
    return NULL;
}

/* ---- aggregations and calls ---- */

static const struct {
    const char *name;
    enum pql_agg op;
} aggs[] = {
    {"sum", PQL_AGG_SUM},       {"avg", PQL_AGG_AVG},         {"min", PQL_AGG_MIN},
    {"max", PQL_AGG_MAX},       {"count", PQL_AGG_COUNT},     {"group", PQL_AGG_GROUP},
    {"stddev", PQL_AGG_STDDEV}, {"stdvar", PQL_AGG_STDVAR},   {"topk", PQL_AGG_TOPK},
    {"bottomk", PQL_AGG_BOTTOMK}, {"quantile", PQL_AGG_QUANTILE}, {"count_values", PQL_AGG_COUNT_VALUES},
};

static int agg_lookup(struct parser *p)
{
    for (size_t i = 0; i < sizeof(aggs) / sizeof(aggs[0]); i++)
        if (tok_is(p, aggs[i].name))
            return (int)i;
    return -1;
}

static bool parse_grouping(struct parser *p, struct pql_node *n)
{
    if (n->u.agg.grouping.n || n->u.agg.without) {
        fail_at(p, tok(p)->pos, "aggregation has two grouping clauses");
        return false;
    }
    n->u.agg.without = tok_is(p, "without");
    if (!next(p))
        return false;
    return parse_label_list(p, &n->u.agg.grouping);
}

static struct pql_node *parse_agg(struct parser *p, int which)
{
    size_t pos = tok(p)->pos;
    struct pql_node *n = node_new(p, PQL_AGG, pos);
    if (!n || !next(p))
        goto fail;
    n->type = PROMQL_VECTOR;
    n->u.agg.op = aggs[which].op;
    bool grouped = false;
    if (tok_is(p, "by") || tok_is(p, "without")) {
        grouped = true;
        if (!parse_grouping(p, n))
            goto fail;
    }
    if (!expect(p, PT_LPAREN, "\"(\""))
        goto fail;
    bool has_param = n->u.agg.op >= PQL_AGG_TOPK;
    if (has_param) {
        if (!(n->u.agg.param = parse_expr(p, 0)) || !expect(p, PT_COMMA, "\",\""))
            goto fail;
        enum promql_type want = n->u.agg.op == PQL_AGG_COUNT_VALUES ? PROMQL_STRING : PROMQL_SCALAR;
        if (n->u.agg.param->type != want) {
            fail_at(p, n->u.agg.param->pos, "expected type %s in aggregation parameter, got %s",
                    promql_type_name(want), promql_type_name(n->u.agg.param->type));
            goto fail;
        }
    }
    if (!(n->u.agg.expr = parse_expr(p, 0)))
        goto fail;
    if (tok(p)->kind == PT_COMMA && !has_param) {
        fail_at(p, tok(p)->pos, "wrong number of arguments for aggregate expression provided, expected 1, got 2");
        goto fail;
    }
    if (!expect(p, PT_RPAREN, "\")\""))
        goto fail;
    if (n->u.agg.expr->type != PROMQL_VECTOR) {
        fail_at(p, n->u.agg.expr->pos, "expected type instant vector in aggregation expression, got %s",
                promql_type_name(n->u.agg.expr->type));
        goto fail;
    }
    if (!grouped && (tok_is(p, "by") || tok_is(p, "without")) && !parse_grouping(p, n))
        goto fail;
    if (n->u.agg.op == PQL_AGG_COUNT_VALUES && n->u.agg.param->kind == PQL_STRING &&
        !label_name_ok(n->u.agg.param->u.str, strlen(n->u.agg.param->u.str))) {
        fail_at(p, n->u.agg.param->pos, "invalid label name \"%s\" in count_values", n->u.agg.param->u.str);
        goto fail;
    }
    return n;
fail:
    node_free(n);
    return NULL;
}

static struct pql_node *parse_call(struct parser *p, const struct pql_func *fn)
{
    size_t pos = tok(p)->pos;
    struct pql_node *n = node_new(p, PQL_CALL, pos);
    if (!n || !next(p) || !expect(p, PT_LPAREN, "\"(\""))
        goto fail;
    n->type = fn->ret;
    n->u.call.fn = fn;
    while (tok(p)->kind != PT_RPAREN) {
        struct pql_node **args = base_realloc(n->u.call.args, (n->u.call.n + 1) * sizeof(*args));
        if (!args) {
            fail_at(p, pos, "out of memory");
            goto fail;
        }
        n->u.call.args = args;
        if (!(args[n->u.call.n] = parse_expr(p, 0)))
            goto fail;
        n->u.call.n++;
        if (tok(p)->kind == PT_COMMA) {
            if (!next(p))
                goto fail;
        } else if (tok(p)->kind != PT_RPAREN) {
            unexpected(p, "\",\" or \")\"");
            goto fail;
        }
    }
    if (!next(p))
        goto fail;
    size_t got = n->u.call.n;
    if ((int)got < fn->min_args || (fn->max_args >= 0 && (int)got > fn->max_args)) {
        fail_at(p, pos, "expected %d%s argument(s) in call to \"%s\", got %zu", fn->min_args,
                fn->max_args < 0 ? " or more" : fn->max_args > fn->min_args ? " or more" : "", fn->name, got);
        goto fail;
    }
    for (size_t i = 0; i < got; i++) {
        enum promql_type want = fn->args[i < 4 ? i : 3];
        if (fn->max_args < 0 && i >= 3)
            want = PROMQL_STRING;
        struct pql_node *a = n->u.call.args[i];
        if (a->type != want) {
            fail_at(p, a->pos, "expected type %s in call to function \"%s\", got %s", promql_type_name(want),
                    fn->name, promql_type_name(a->type));
            goto fail;
        }
    }
    return n;
fail:
    node_free(n);
    return NULL;
}

/* ---- primaries and their suffixes ---- */

static const char *const keywords[] = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool",
                                       "offset", "and", "or", "unless", "atan2", NULL};

static struct pql_node *parse_primary(struct parser *p)
{
    const struct pql_token *t = tok(p);
    size_t pos = t->pos;
    struct pql_node *n = NULL;
    switch (t->kind) {
    case PT_NUM:
        if ((n = node_new(p, PQL_NUMBER, pos))) {
            n->type = PROMQL_SCALAR;
            n->u.num = t->num;
            if (!next(p)) {
                node_free(n);
                return NULL;
            }
        }
        return n;
    case PT_STR:
        if ((n = node_new(p, PQL_STRING, pos))) {
            n->type = PROMQL_STRING;
            n->u.str = t->str;
            p->lx.tok.str = NULL;
            if (!next(p)) {
                node_free(n);
                return NULL;
            }
        }
        return n;
    case PT_LPAREN:
        if (!next(p) || !(n = node_new(p, PQL_PAREN, pos)))
            return NULL;
        if (!(n->u.paren.expr = parse_expr(p, 0)) || !expect(p, PT_RPAREN, "\")\"")) {
            node_free(n);
            return NULL;
        }
        n->type = n->u.paren.expr->type;
        return n;
    case PT_LBRACE:
        return parse_selector(p, pos, NULL);
    case PT_IDENT:
        break;
    case PT_DUR:
        fail_at(p, pos, "unexpected duration \"%.*s\" (a duration is allowed only in [] and after offset)",
                (int)t->len, p->lx.text + pos);
        return NULL;
    default:
        unexpected(p, "an expression");
        return NULL;
    }
    /* an identifier: keyword, aggregation, function or metric name */
    for (int i = 0; keywords[i]; i++)
        if (tok_is(p, keywords[i])) {
            unexpected(p, "an expression");
            return NULL;
        }
    int agg = agg_lookup(p);
    char *name = tok_text(p);
    if (!name || !next(p)) {
        base_free(name);
        return NULL;
    }
    bool paren = tok(p)->kind == PT_LPAREN;
    bool grouping = tok_is(p, "by") || tok_is(p, "without");
    if (agg >= 0 && (paren || grouping)) {
        base_free(name);
        /* re-read from the aggregation's name: rewind the lexer */
        p->lx.pos = pos;
        if (!next(p))
            return NULL;
        return parse_agg(p, agg);
    }
    if (paren) {
        const struct pql_func *fn = pql_func_lookup(name);
        if (!fn) {
            if (strcmp(name, "holt_winters") == 0 || strncmp(name, "histogram_", 10) == 0)
                fail_at(p, pos, "function \"%s\" is not supported by opshub", name);
            else
                fail_at(p, pos, "unknown function with name \"%s\"", name);
            base_free(name);
            return NULL;
        }
        base_free(name);
        p->lx.pos = pos;
        if (!next(p))
            return NULL;
        return parse_call(p, fn);
    }
    return parse_selector(p, pos, name);
}

static bool parse_offset(struct parser *p, struct pql_node *n)
{
    size_t pos = tok(p)->pos;
    if (!next(p))
        return false;
    int sign = 1;
    if (tok(p)->kind == PT_SUB || tok(p)->kind == PT_ADD) {
        sign = tok(p)->kind == PT_SUB ? -1 : 1;
        if (!next(p))
            return false;
    }
    if (tok(p)->kind != PT_DUR) {
        unexpected(p, "a duration after offset");
        return false;
    }
    int64_t off = sign * tok(p)->dur;
    int64_t *slot = NULL;
    if (n->kind == PQL_SELECTOR || n->kind == PQL_MATRIX)
        slot = &n->u.sel.offset_ms;
    else if (n->kind == PQL_SUBQUERY)
        slot = &n->u.sub.offset_ms;
    if (!slot) {
        fail_at(p, pos, "offset modifier must be preceded by an instant vector selector, a range vector selector "
                        "or a subquery");
        return false;
    }
    if (*slot) {
        fail_at(p, pos, "offset may not be set multiple times");
        return false;
    }
    *slot = off;
    return next(p);
}

/* `[5m]` on a selector, `[5m:1m]` / `[5m:]` on any instant vector. */
static struct pql_node *parse_range(struct parser *p, struct pql_node *n)
{
    size_t pos = tok(p)->pos;
    if (!next(p))
        goto fail;
    if (tok(p)->kind != PT_DUR) {
        unexpected(p, "a duration in []");
        goto fail;
    }
    int64_t range = tok(p)->dur;
    if (range <= 0) {
        fail_at(p, tok(p)->pos, "range must be greater than 0");
        goto fail;
    }
    if (!next(p))
        goto fail;
    if (tok(p)->kind == PT_RBRACK) {
        if (n->kind != PQL_SELECTOR || n->u.sel.offset_ms) {
            fail_at(p, pos, n->kind == PQL_SELECTOR
                                ? "offset must come after the range: foo[5m] offset 1m"
                                : "ranges only allowed for vector selectors");
            goto fail;
        }
        n->kind = PQL_MATRIX;
        n->type = PROMQL_MATRIX;
        n->u.sel.range_ms = range;
        if (!next(p))
            goto fail;
        return n;
    }
    if (!expect(p, PT_COLON, "\":\" or \"]\""))
        goto fail;
    int64_t step = 0;
    if (tok(p)->kind == PT_DUR) {
        step = tok(p)->dur;
        if (step <= 0) {
            fail_at(p, tok(p)->pos, "subquery step must be greater than 0");
            goto fail;
        }
        if (!next(p))
            goto fail;
    }
    if (!expect(p, PT_RBRACK, "\"]\""))
        goto fail;
    if (n->type != PROMQL_VECTOR) {
        fail_at(p, pos, "subquery is only allowed on instant vector, got %s instead", promql_type_name(n->type));
        goto fail;
    }
    struct pql_node *s = node_new(p, PQL_SUBQUERY, n->pos);
    if (!s)
        goto fail;
    s->type = PROMQL_MATRIX;
    s->u.sub.expr = n;
    s->u.sub.range_ms = range;
    s->u.sub.step_ms = step;
    return s;
fail:
    node_free(n);
    return NULL;
}

static struct pql_node *parse_postfix(struct parser *p)
{
    struct pql_node *n = parse_primary(p);
    while (n && !p->failed) {
        if (tok(p)->kind == PT_LBRACK) {
            n = parse_range(p, n);
        } else if (tok_is(p, "offset")) {
            if (!parse_offset(p, n)) {
                node_free(n);
                return NULL;
            }
        } else if (tok(p)->kind == PT_AT) {
            fail_at(p, tok(p)->pos, "the @ modifier is not supported by opshub");
            node_free(n);
            return NULL;
        } else {
            break;
        }
    }
    if (p->failed) {
        node_free(n);
        return NULL;
    }
    return n;
}

/* ---- operators ---- */

static int binop_of(struct parser *p, enum pql_op *op)
{
    switch (tok(p)->kind) {
    case PT_EQ: *op = PQL_OP_EQ; return 3;
    case PT_NE: *op = PQL_OP_NE; return 3;
    case PT_GT: *op = PQL_OP_GT; return 3;
    case PT_LT: *op = PQL_OP_LT; return 3;
    case PT_GE: *op = PQL_OP_GE; return 3;
    case PT_LE: *op = PQL_OP_LE; return 3;
    case PT_ADD: *op = PQL_OP_ADD; return 4;
    case PT_SUB: *op = PQL_OP_SUB; return 4;
    case PT_MUL: *op = PQL_OP_MUL; return 5;
    case PT_DIV: *op = PQL_OP_DIV; return 5;
    case PT_MOD: *op = PQL_OP_MOD; return 5;
    case PT_POW: *op = PQL_OP_POW; return 7;
    case PT_IDENT:
        if (tok_is(p, "or")) { *op = PQL_OP_OR; return 1; }
        if (tok_is(p, "and")) { *op = PQL_OP_AND; return 2; }
        if (tok_is(p, "unless")) { *op = PQL_OP_UNLESS; return 2; }
        if (tok_is(p, "atan2")) { *op = PQL_OP_ATAN2; return 5; }
        return -1;
    default:
        return -1;
    }
}

static bool is_comparison(enum pql_op op)
{
    return op >= PQL_OP_EQ && op <= PQL_OP_LE;
}

static bool is_set(enum pql_op op)
{
    return op <= PQL_OP_UNLESS;
}

static struct pql_node *parse_unary(struct parser *p)
{
    const struct pql_token *t = tok(p);
    if (t->kind != PT_SUB && t->kind != PT_ADD)
        return parse_postfix(p);
    bool minus = t->kind == PT_SUB;
    size_t pos = t->pos;
    if (!next(p))
        return NULL;
    struct pql_node *e = parse_expr(p, 7);   /* binds looser than ^ only */
    if (!e)
        return NULL;
    if (e->type != PROMQL_SCALAR && e->type != PROMQL_VECTOR) {
        fail_at(p, pos, "unary expression only allowed on expressions of type scalar or instant vector, got %s",
                promql_type_name(e->type));
        node_free(e);
        return NULL;
    }
    if (!minus)
        return e;
    if (e->kind == PQL_NUMBER) {
        e->u.num = -e->u.num;
        e->pos = pos;
        return e;
    }
    struct pql_node *n = node_new(p, PQL_UNARY, pos);
    if (!n) {
        node_free(e);
        return NULL;
    }
    n->type = e->type;
    n->u.unary.expr = e;
    return n;
}

/* bool, on/ignoring (labels), group_left/group_right (labels). */
static bool parse_modifiers(struct parser *p, struct pql_node *n)
{
    enum pql_op op = n->u.bin.op;
    if (tok_is(p, "bool")) {
        if (!is_comparison(op)) {
            fail_at(p, tok(p)->pos, "bool modifier can only be used on comparison operators");
            return false;
        }
        n->u.bin.return_bool = true;
        if (!next(p))
            return false;
    }
    n->u.bin.card = is_set(op) ? PQL_MANY_TO_MANY : PQL_ONE_TO_ONE;
    if (tok_is(p, "on") || tok_is(p, "ignoring")) {
        n->u.bin.has_matching = true;
        n->u.bin.on = tok_is(p, "on");
        if (!next(p) || !parse_label_list(p, &n->u.bin.labels))
            return false;
        if (tok_is(p, "group_left") || tok_is(p, "group_right")) {
            size_t pos = tok(p)->pos;
            if (is_set(op)) {
                fail_at(p, pos, "no grouping allowed for \"%s\" operation",
                        op == PQL_OP_AND ? "and" : op == PQL_OP_OR ? "or" : "unless");
                return false;
            }
            n->u.bin.card = tok_is(p, "group_left") ? PQL_MANY_TO_ONE : PQL_ONE_TO_MANY;
            if (!next(p))
                return false;
            if (tok(p)->kind == PT_LPAREN && !parse_label_list(p, &n->u.bin.include))
                return false;
            for (size_t i = 0; n->u.bin.on && i < n->u.bin.include.n; i++)
                for (size_t j = 0; j < n->u.bin.labels.n; j++)
                    if (strcmp(n->u.bin.include.v[i], n->u.bin.labels.v[j]) == 0) {
                        fail_at(p, pos, "label \"%s\" must not occur in ON and GROUP clause at once",
                                n->u.bin.include.v[i]);
                        return false;
                    }
        }
    } else if (tok_is(p, "group_left") || tok_is(p, "group_right")) {
        fail_at(p, tok(p)->pos, "group_left and group_right need on(...) or ignoring(...) before them");
        return false;
    }
    return true;
}

static bool check_binary(struct parser *p, struct pql_node *n)
{
    enum promql_type lt = n->u.bin.lhs->type, rt = n->u.bin.rhs->type;
    enum pql_op op = n->u.bin.op;
    if ((lt != PROMQL_SCALAR && lt != PROMQL_VECTOR) || (rt != PROMQL_SCALAR && rt != PROMQL_VECTOR)) {
        fail_at(p, n->pos, "binary expression must contain only scalar and instant vector types");
        return false;
    }
    if (is_set(op) && (lt != PROMQL_VECTOR || rt != PROMQL_VECTOR)) {
        fail_at(p, n->pos, "set operator \"%s\" not allowed in binary scalar expression",
                op == PQL_OP_AND ? "and" : op == PQL_OP_OR ? "or" : "unless");
        return false;
    }
    if (lt == PROMQL_SCALAR && rt == PROMQL_SCALAR && is_comparison(op) && !n->u.bin.return_bool) {
        fail_at(p, n->pos, "comparisons between scalars must use BOOL modifier");
        return false;
    }
    if ((lt != PROMQL_VECTOR || rt != PROMQL_VECTOR) && n->u.bin.has_matching) {
        fail_at(p, n->pos, "vector matching only allowed between instant vectors");
        return false;
    }
    n->type = lt == PROMQL_SCALAR && rt == PROMQL_SCALAR ? PROMQL_SCALAR : PROMQL_VECTOR;
    return true;
}

static struct pql_node *parse_expr(struct parser *p, int min_prec)
{
    if (++p->depth > PROMQL_DEPTH_MAX) {
        fail_at(p, tok(p)->pos, "expression nested deeper than %d", PROMQL_DEPTH_MAX);
        p->depth--;
        return NULL;
    }
    struct pql_node *lhs = parse_unary(p);
    while (lhs && !p->failed) {
        enum pql_op op;
        int prec = binop_of(p, &op);
        if (prec < 0 || prec < min_prec)
            break;
        struct pql_node *n = node_new(p, PQL_BINARY, tok(p)->pos);
        if (!n || !next(p)) {
            node_free(n);
            break;
        }
        n->u.bin.op = op;
        n->u.bin.lhs = lhs;
        lhs = n;
        if (!parse_modifiers(p, n))
            break;
        /* ^ is right-associative: its right side may hold another ^ */
        if (!(n->u.bin.rhs = parse_expr(p, op == PQL_OP_POW ? prec : prec + 1)))
            break;
        if (!check_binary(p, n))
            break;
    }
    p->depth--;
    if (p->failed) {
        node_free(lhs);
        return NULL;
    }
    return lhs;
}

struct promql_expr *promql_parse(const char *text, struct promql_error *err)
{
    struct parser p = {.err = err};
    memset(err, 0, sizeof(*err));
    if (strlen(text) > PROMQL_TEXT_MAX) {
        fail_at(&p, 0, "expression longer than %u bytes", PROMQL_TEXT_MAX);
        return NULL;
    }
    pql_lex_init(&p.lx, text);
    struct pql_node *root = NULL;
    if (next(&p)) {
        if (tok(&p)->kind == PT_EOF)
            fail_at(&p, 0, "no expression found in input");
        else if ((root = parse_expr(&p, 0)) && tok(&p)->kind != PT_EOF)
            unexpected(&p, "an operator or the end of the expression");
    }
    pql_lex_free(&p.lx);
    struct promql_expr *e = NULL;
    if (!p.failed && !(e = base_calloc(1, sizeof(*e))))
        fail_at(&p, 0, "out of memory");
    if (p.failed) {
        node_free(root);
        return NULL;
    }
    e->root = root;
    e->n_slots = p.n_slots;
    return e;
}

void promql_expr_free(struct promql_expr *e)
{
    if (!e)
        return;
    node_free(e->root);
    base_free(e);
}

enum promql_type promql_expr_type(const struct promql_expr *e)
{
    return e->root->type;
}

const char *promql_type_name(enum promql_type t)
{
    switch (t) {
    case PROMQL_SCALAR: return "scalar";
    case PROMQL_VECTOR: return "instant vector";
    case PROMQL_MATRIX: return "range vector";
    case PROMQL_STRING: return "string";
    }
    return "unknown";
}

const struct series_matcher *promql_expr_selector(const struct promql_expr *e, size_t *n)
{
    *n = 0;
    if (e->root->kind != PQL_SELECTOR || e->root->u.sel.offset_ms)
        return NULL;
    *n = e->root->u.sel.n_ms;
    return e->root->u.sel.ms;
}

int64_t promql_expr_range(const struct promql_expr *e)
{
    return e->root->kind == PQL_MATRIX && !e->root->u.sel.offset_ms ? e->root->u.sel.range_ms : 0;
}
