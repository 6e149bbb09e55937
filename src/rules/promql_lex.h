/*
 * rules/promql_lex: the tokens of a PromQL expression, one at a time, for
 * the parser (rules/promql_parse.c).
 */
#ifndef RULES_PROMQL_LEX_H
#define RULES_PROMQL_LEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum pql_tok {
    PT_EOF, PT_ERR, PT_NUM, PT_STR, PT_IDENT, PT_DUR,
    PT_LPAREN, PT_RPAREN, PT_LBRACE, PT_RBRACE, PT_LBRACK, PT_RBRACK, PT_COMMA, PT_COLON,
    PT_ASSIGN, PT_EQ, PT_NE, PT_RE, PT_NRE, PT_LT, PT_GT, PT_LE, PT_GE,
    PT_ADD, PT_SUB, PT_MUL, PT_DIV, PT_MOD, PT_POW, PT_AT,
};

struct pql_token {
    enum pql_tok kind;
    size_t pos, len;           /* in the text */
    double num;                /* PT_NUM */
    int64_t dur;               /* PT_DUR, in ms */
    char *str;                 /* PT_STR, decoded (owned by the lexer until the next token) */
    size_t str_len;
};

struct pql_lexer {
    const char *text;
    size_t pos;
    struct pql_token tok;      /* the current token */
    int brackets;              /* [ ] open: ':' is a token there, not part of a name */
    size_t err_pos;
    char err[128];
};

void pql_lex_init(struct pql_lexer *lx, const char *text);
/* Reads the next token into lx->tok: 0, or -1 with err/err_pos set. */
int pql_lex_next(struct pql_lexer *lx);
void pql_lex_free(struct pql_lexer *lx);
const char *pql_tok_name(enum pql_tok k);

#endif
