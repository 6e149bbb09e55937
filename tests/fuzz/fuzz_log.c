/*
 * libFuzzer target for base/log's writers: whatever a client puts in a
 * logged value (the path of a request, say) or a message, every line in
 * either JSON key shape is one valid JSON object (jansson refuses invalid
 * UTF-8 too) of at most 8 KiB that keeps the request line's key fields
 * (path, status, remote, request_id, actor), a path of valid UTF-8 that
 * was not cut reads back exactly, and a text line holds no raw control
 * byte (C0 but its newline, DEL, C1) and is valid UTF-8.
 * Input: byte 0 picks the format (bits 0-1: JSON opshub keys, JSON service
 * keys, text) and the number of extra fields (bits 2-5); the rest, split at
 * NUL bytes, is the message, the path, then the extra fields' values.
 */
#include "base/log.h"
#include "base/utf8.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LINE_MAX_BYTES 8192
#define EXTRA_MAX 15

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool is_valid_utf8(const char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        size_t len = base_utf8_decode(s + i, n - i, NULL);
        if (!len)
            return false;
        i += len;
    }
    return true;
}

static void check_text(const char *line, size_t len)
{
    for (size_t i = 0; i + 1 < len; i++) {
        unsigned char c = (unsigned char)line[i];
        if (c < 0x20 || c == 0x7f)
            abort();
        if (c == 0xc2 && (unsigned char)line[i + 1] >= 0x80 && (unsigned char)line[i + 1] <= 0x9f)
            abort(); /* C1 */
    }
    if (!is_valid_utf8(line, len))
        abort();
    static const char *const keys[] = {" method=GET ", " path=", " status=404 ", " remote=127.0.0.1 ",
                                       " request_id=req-1 ", " actor="};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (!memmem(line, len, keys[i], strlen(keys[i])))
            abort();
}

static void check_json(const char *line, size_t len, bool shaped, const char *path)
{
    json_error_t jerr;
    json_t *o = json_loadb(line, len - 1, JSON_REJECT_DUPLICATES, &jerr);
    if (!o || !json_is_object(o))
        abort();
    json_t *f = shaped ? json_object_get(o, "metadata") : o;
    if (!json_is_object(f) || !json_is_string(json_object_get(o, shaped ? "message" : "msg")))
        abort();
    const char *got = json_string_value(json_object_get(f, "path"));
    if (!got || json_integer_value(json_object_get(f, "status")) != 404 ||
        !json_is_string(json_object_get(f, "remote")) || !json_is_string(json_object_get(f, "request_id")) ||
        !json_is_string(json_object_get(f, "actor")))
        abort();
    bool cut = json_is_true(json_object_get(f, "truncated"));
    if (!cut && is_valid_utf8(path, strlen(path)) && strcmp(got, path) != 0)
        abort(); /* valid UTF-8 goes through unchanged */
    json_decref(o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int mode = data[0] & 3;
    size_t extra = (size_t)(data[0] >> 2) & 15;
    if (mode == 3)
        return 0;
    /* The pieces, each NUL-terminated in a copy. */
    char *copy = malloc(size);
    if (!copy)
        return 0;
    memcpy(copy, data + 1, size - 1);
    copy[size - 1] = '\0';
    const char *pieces[2 + EXTRA_MAX];
    size_t n = 0;
    for (const char *p = copy; n < 2 + extra; n++) {
        pieces[n] = p;
        size_t len = strlen(p);
        p += len < (size_t)(copy + size - 1 - p) ? len + 1 : len;
    }
    static const char *const keys[EXTRA_MAX] = {"x0", "x1", "x2", "x3", "x4", "x5", "x6", "x7",
                                                "x8", "x9", "x10", "x11", "x12", "x13", "x14"};
    struct base_log_field fields[7 + EXTRA_MAX];
    size_t nf = 0;
    fields[nf++] = BASE_LOG_STR("method", "GET");
    fields[nf++] = BASE_LOG_STR("path", pieces[1]);
    fields[nf++] = BASE_LOG_INT("status", 404);
    fields[nf++] = BASE_LOG_NUM("duration_ms", 0.5);
    fields[nf++] = BASE_LOG_STR("request_id", "req-1");
    fields[nf++] = BASE_LOG_STR("remote", "127.0.0.1");
    fields[nf++] = BASE_LOG_STR("actor", extra ? pieces[2] : "");
    for (size_t i = 1; i < extra; i++)
        fields[nf++] = BASE_LOG_STR(keys[i], pieces[2 + i]);

    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    if (!out) {
        free(copy);
        return 0;
    }
    base_log_set_keys(mode == 1 ? BASE_LOG_KEYS_SERVICE : BASE_LOG_KEYS_OPSHUB, "svc");
    base_log_setup(BASE_LOG_DEBUG, mode == 2 ? BASE_LOG_FORMAT_TEXT : BASE_LOG_FORMAT_JSON, out);
    base_log_write_at("src/http/api.c", BASE_LOG_INFO, pieces[0], fields, nf);
    base_log_setup(BASE_LOG_INFO, BASE_LOG_FORMAT_JSON, NULL);
    fclose(out);

    if (len == 0 || len > LINE_MAX_BYTES || text[len - 1] != '\n' || memchr(text, '\n', len - 1))
        abort(); /* one whole line within the limit */
    if (mode == 2) {
        /* the actor may be the fuzzer's: its key is there, its value is checked with the rest */
        check_text(text, len);
    } else {
        check_json(text, len, mode == 1, pieces[1]);
    }
    free(text);
    free(copy);
    return 0;
}
