/*
 * libFuzzer target for probe/http_cond, the http type's condition
 * language. Input: a condition line, a path line, then a JSON document
 * (also searched as a body). Whatever the bytes: parsing never reads past
 * its input, an operand becomes valid JSON, a bad path is refused before
 * it is walked, patterns compile or fail with a reason, and evaluation
 * gives 1, 0 or a negative code with a reason, never a crash (the match
 * limits keep every pattern bounded).
 */
#include "base/alloc.h"
#include "base/buf.h"
#include "probe/http_int.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void *heap_alloc(void *ud, size_t n)
{
    (void)ud;
    return base_malloc(n);
}

/* The next line of [*p, end) as a NUL-terminated copy (caller frees). */
static char *line(const char **p, const char *end, size_t *len)
{
    const char *nl = memchr(*p, '\n', (size_t)(end - *p));
    const char *stop = nl ? nl : end;
    *len = (size_t)(stop - *p);
    char *s = malloc(*len + 1);
    if (s) {
        memcpy(s, *p, *len);
        s[*len] = '\0';
    }
    *p = nl ? nl + 1 : end;
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data, *end = p + size;
    size_t cond_len, path_len;
    char *cond = line(&p, end, &cond_len), *path = line(&p, end, &path_len);
    size_t body_len = (size_t)(end - p);
    char *body = malloc(body_len ? body_len : 1);
    if (!cond || !path || !body)
        goto out;
    memcpy(body, p, body_len);

    char why[256];
    struct probe_http_cond_text ct;
    struct probe_http_json_expect x = {.path = path, .value_json = "null", .op = PROBE_HTTP_OP_EQ};
    struct base_buf operand;
    base_buf_init(&operand, 1 << 16);
    int c = probe_http_cond_parse(cond, cond_len, &ct, why, sizeof(why));
    if (c == 1) {
        if (ct.operand < cond || ct.operand + ct.operand_len > cond + cond_len || !ct.operand_len)
            abort();
        x.op = ct.op;
        x.expr = cond;
        if (probe_http_cond_is_regex(ct.op)) {
            if (probe_http_cond_regex_compile(ct.operand, ct.operand_len, heap_alloc, NULL, &x.re.code,
                                              &x.re.code_len, why, sizeof(why)) == 0)
                x.re.pattern = "fuzz";
            else if (!why[0])
                abort();
        } else if (probe_http_cond_operand_json(ct.operand, ct.operand_len, &operand, why, sizeof(why)) == 0 &&
                   base_buf_append(&operand, "", 1) == 0) {
            /* the loaders hand over UTF-8 only (libyaml and jansson check it) */
            json_t *utf8 = json_stringn(ct.operand, ct.operand_len);
            json_t *v = probe_http_cond_literal(operand.data);
            if (!v && utf8)
                abort(); /* a UTF-8 operand always becomes a value */
            json_decref(utf8);
            json_decref(v);
            x.value_json = operand.data;
        }
    } else if (c == -1 && !why[0]) {
        abort();
    }
    bool regex_ready = !probe_http_cond_is_regex(x.op) || x.re.code;
    if (probe_http_cond_path_check(path, path_len, why, sizeof(why)) == 0 && regex_ready) {
        json_t *root = json_loadb(body, body_len, JSON_DECODE_ANY, NULL);
        if (root) {
            int rc = probe_http_cond_json(&x, probe_http_cond_path_find(root, path), why, sizeof(why));
            if (rc < -10 || rc > 1)
                abort();
            json_decref(root);
        }
    }
    if (x.re.code) {
        size_t at = 0, mlen = 0;
        int rc = probe_http_cond_regex_match(&x.re, body, body_len, &at, &mlen, why, sizeof(why));
        if (rc == 1 && (at > body_len || mlen > body_len - at))
            abort();
        rc = probe_http_cond_text(x.op, "", &x.re, body, body_len, why, sizeof(why));
        if (rc > 1)
            abort();
    } else if (c == 1 && !probe_http_cond_is_regex(x.op)) {
        char operand_text[64];
        size_t n = ct.operand_len < sizeof(operand_text) - 1 ? ct.operand_len : sizeof(operand_text) - 1;
        memcpy(operand_text, ct.operand, n);
        operand_text[n] = '\0';
        if (probe_http_cond_text(x.op, operand_text, NULL, body, body_len, why, sizeof(why)) > 1)
            abort();
    }
    base_free((void *)x.re.code);
    base_buf_free(&operand);
out:
    free(cond);
    free(path);
    free(body);
    return 0;
}
