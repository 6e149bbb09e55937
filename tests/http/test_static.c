/*
 * tests/http/test_static: static files from a real temporary directory.
 * Content types by extension, the hashed-name cache rule, strong ETags
 * from the content (not the mtime) and If-None-Match -> 304, every path
 * traversal variant refused before a lookup, hidden names, directories,
 * symlinks inside and out of the root, special files, the size and count
 * caps, load errors naming the directory, every allocation failure of a
 * load, and the asynchronous load on a libuv loop.
 */
#include "http/static.h"

#include "base/alloc.h"
#include "base/err.h"

#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))

struct tree {
    char dir[64];     /* the temporary directory */
    char root[128];   /* dir/root: what is served */
};

static void put_file(const struct tree *t, const char *rel, const char *text)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", t->dir, rel);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
    assert_int_equal(fclose(f), 0);
}

static void put_dir(const struct tree *t, const char *rel)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", t->dir, rel);
    assert_int_equal(mkdir(path, 0755), 0);
}

static void put_link(const struct tree *t, const char *target, const char *rel)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", t->dir, rel);
    assert_int_equal(symlink(target, path), 0);
}

/* root/ holds the served files; outside/ is next to it and must never be
 * reachable from root/. */
static void tree_make(struct tree *t)
{
    snprintf(t->dir, sizeof(t->dir), "/tmp/opshub-static-XXXXXX");
    assert_non_null(mkdtemp(t->dir));
    snprintf(t->root, sizeof(t->root), "%s/root", t->dir);
    put_dir(t, "root");
    put_dir(t, "outside");
    put_file(t, "outside/secret.txt", "outside the root");
    put_dir(t, "root/assets");
    put_dir(t, "root/assets/js");
    put_file(t, "root/index.html", "<!doctype html><title>x</title>");
    put_file(t, "root/assets/app.3f9a1c2b.js", "console.log('app')");
    put_file(t, "root/assets/app.3f9a1c2b.js.map", "{\"version\":3}");
    put_file(t, "root/assets/style.css", "body{}");
    put_file(t, "root/assets/js/deep.mjs", "export {}");
    put_file(t, "root/assets/empty.txt", "");
    put_file(t, "root/assets/.env", "SECRET=1");
    put_dir(t, "root/assets/.git");
    put_file(t, "root/assets/.git/config", "[core]");
    put_link(t, "js/deep.mjs", "root/assets/inside.mjs");               /* inside: served */
    put_link(t, "../../outside/secret.txt", "root/assets/escape.txt");  /* relative escape */
    put_link(t, "/etc/passwd", "root/assets/absolute.txt");             /* absolute escape */
    put_link(t, "../../outside", "root/assets/outdir");                 /* a directory outside */
    put_link(t, "js", "root/assets/jsdir");                             /* a directory inside */
    put_link(t, ".env", "root/assets/env.txt");                         /* to a hidden file */
    put_link(t, "nowhere.js", "root/assets/dangling.js");
    char fifo[512];
    snprintf(fifo, sizeof(fifo), "%s/root/assets/pipe.js", t->dir);
    assert_int_equal(mkfifo(fifo, 0644), 0);
    put_file(t, "root/assets/50%.js", "odd name");
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

static void tree_free(struct tree *t)
{
    nftw(t->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static struct http_static *load_ok(const char *root, const struct http_static_limits *lim)
{
    struct http_static *s = NULL;
    char err[HTTP_STATIC_ERR_MAX] = "untouched";
    int rc = http_static_load(root, lim, &s, err, sizeof(err));
    if (rc != 0)
        fail_msg("load of %s failed: %s", root, err);
    assert_string_equal(err, "");
    assert_non_null(s);
    return s;
}

static bool has_note(const struct http_static *s, const char *needle)
{
    for (size_t i = 0; http_static_note(s, i); i++)
        if (strstr(http_static_note(s, i), needle))
            return true;
    return false;
}

static void test_static_content_types_by_extension(void **state)
{
    static const struct {
        const char *name, *type;
    } cases[] = {
        {"index.html", "text/html; charset=utf-8"},
        {"a/app.js", "text/javascript; charset=utf-8"},
        {"mod.mjs", "text/javascript; charset=utf-8"},
        {"s.css", "text/css; charset=utf-8"},
        {"logo.svg", "image/svg+xml; charset=utf-8"},
        {"logo.png", "image/png"},
        {"favicon.ico", "image/x-icon"},
        {"f.woff2", "font/woff2"},
        {"m.json", "application/json"},
        {"app.js.map", "application/json"},
        {"robots.txt", "text/plain; charset=utf-8"},
        {"p.webp", "image/webp"},
        {"UPPER.HTML", "text/html; charset=utf-8"},
        {"app.3f9a1c2b.JS", "text/javascript; charset=utf-8"},
        {"archive.tar.gz", "application/octet-stream"},
        {"f.woff", "application/octet-stream"},
        {"noext", "application/octet-stream"},
        {".js", "application/octet-stream"},
        {"dir.js/file", "application/octet-stream"},
        {"trailing.", "application/octet-stream"},
        {"", "application/octet-stream"},
    };
    for (size_t i = 0; i < N(cases); i++)
        if (strcmp(http_static_content_type(cases[i].name), cases[i].type) != 0)
            fail_msg("%s: got %s, want %s", cases[i].name, http_static_content_type(cases[i].name), cases[i].type);
}

static void test_static_hashed_names_are_immutable(void **state)
{
    const char *hashed[] = {"app.3f9a1c2b.js", "assets/app.3f9a1c2b.js", "app.3F9A1C2B.css",
                            "app.3f9a1c2b.js.map", "vendor.chunk.0123456789abcdef0123.js",
                            "a.0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.js"};
    const char *plain[] = {"app.js", "index.html", "app.3f9a1c2.js", "app.3f9a1c2g.js", "3f9a1c2b.js",
                           "app-3f9a1c2b.js", "app.3f9a1c2b", "d.3f9a1c2b/app.js", ".3f9a1c2b.js",
                           "a.0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0.js", ""};
    for (size_t i = 0; i < N(hashed); i++)
        if (!http_static_is_hashed(hashed[i]))
            fail_msg("%s not taken for hashed", hashed[i]);
    for (size_t i = 0; i < N(plain); i++)
        if (http_static_is_hashed(plain[i]))
            fail_msg("%s taken for hashed", plain[i]);
}

static void test_static_serves_files_with_etag_and_cache_headers(void **state)
{
    struct tree t;
    tree_make(&t);
    struct http_static *s = load_ok(t.root, NULL);
    struct http_static_reply r;
    http_static_lookup(s, "assets/app.3f9a1c2b.js", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.content_type, "text/javascript; charset=utf-8");
    assert_int_equal(r.len, strlen("console.log('app')"));
    assert_memory_equal(r.body, "console.log('app')", r.len);
    assert_non_null(strstr(r.headers, "Cache-Control: public, max-age=31536000, immutable\r\n"));
    /* ETag: a quoted 32-hex prefix of the content's SHA-256. */
    const char *etag = strstr(r.headers, "ETag: \"");
    assert_non_null(etag);
    assert_int_equal(strcspn(etag + 7, "\""), 32);
    assert_int_equal(strspn(etag + 7, "0123456789abcdef"), 32);
    char tag[40];
    memcpy(tag, etag + 6, 34);
    tag[34] = '\0';
    http_static_lookup(s, "assets/style.css", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.headers, "Cache-Control: no-cache\r\n"));
    assert_null(strstr(r.headers, tag));
    http_static_lookup(s, "index.html", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.content_type, "text/html; charset=utf-8");
    http_static_lookup(s, "assets/js/deep.mjs", NULL, &r);
    assert_int_equal(r.status, 200);
    http_static_lookup(s, "assets/empty.txt", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.len, 0);
    assert_non_null(r.body);
    http_static_lookup(s, "assets/app.3f9a1c2b.js.map", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.content_type, "application/json");
    assert_non_null(strstr(r.headers, "immutable"));
    /* If-None-Match: exact, weak, in a list, or "*" -> 304 with the same
     * validators and no body; anything else -> 200. */
    char inm[128];
    const char *before[] = {"", "W/", "\"other\", ", "\"a\",", ""};
    const char *after[] = {"", "", "", " ,\"b\"", NULL};
    for (size_t i = 0; i < N(before); i++) {
        if (after[i])
            snprintf(inm, sizeof(inm), "%s%s%s", before[i], tag, after[i]);
        else
            snprintf(inm, sizeof(inm), "*");
        http_static_lookup(s, "assets/app.3f9a1c2b.js", inm, &r);
        if (r.status != 304)
            fail_msg("If-None-Match %s: %d", inm, r.status);
        assert_null(r.body);
        assert_non_null(strstr(r.headers, tag));
        assert_non_null(strstr(r.headers, "immutable"));
    }
    const char *no_match[] = {"\"other\"", "", "W/", tag + 1, "\"3f9a\"", "garbage", "\"unterminated"};
    for (size_t i = 0; i < N(no_match); i++) {
        http_static_lookup(s, "assets/app.3f9a1c2b.js", no_match[i], &r);
        if (r.status != 200)
            fail_msg("If-None-Match %s: %d", no_match[i], r.status);
    }
    http_static_lookup(s, "assets/style.css", tag, &r);
    assert_int_equal(r.status, 200);  /* another file's tag */
    struct http_static_stats st;
    http_static_stats_get(s, &st);
    assert_int_equal(st.files, 7);  /* index, app.js, map, css, deep.mjs, empty.txt, inside.mjs */
    http_static_destroy(s);
    tree_free(&t);
}

static void test_static_etag_follows_the_content_not_the_file_times(void **state)
{
    struct tree t;
    tree_make(&t);
    struct http_static *a = load_ok(t.root, NULL);
    struct http_static_reply r1, r2;
    http_static_lookup(a, "assets/style.css", NULL, &r1);
    char path[512];
    snprintf(path, sizeof(path), "%s/assets/style.css", t.root);
    struct timespec times[2] = {{.tv_sec = 1000000000}, {.tv_sec = 1000000000}};
    assert_int_equal(utimensat(AT_FDCWD, path, times, 0), 0);
    struct http_static *b = load_ok(t.root, NULL);
    http_static_lookup(b, "assets/style.css", NULL, &r2);
    assert_string_equal(r1.headers, r2.headers);  /* same bytes, new mtime: same ETag */
    http_static_destroy(b);
    put_file(&t, "root/assets/style.css", "body{color:red}");
    b = load_ok(t.root, NULL);
    http_static_lookup(b, "assets/style.css", NULL, &r2);
    assert_string_not_equal(r1.headers, r2.headers);
    /* The identical file elsewhere has the identical tag. */
    struct http_static_reply r3;
    http_static_lookup(b, "assets/js/deep.mjs", NULL, &r2);
    http_static_lookup(b, "assets/inside.mjs", NULL, &r3);
    assert_int_equal(r3.status, 200);
    assert_string_equal(r2.headers, r3.headers);
    http_static_destroy(a);
    http_static_destroy(b);
    tree_free(&t);
}

static void test_static_refuses_every_traversal_variant(void **state)
{
    struct tree t;
    tree_make(&t);
    struct http_static *s = load_ok(t.root, NULL);
    /* As the router hands them over: the server has decoded %XX once, so
     * "%2e%2e" arrives as "..", and "%252e" as "%2e". */
    const char *refused[] = {
        "../outside/secret.txt", "assets/../../outside/secret.txt", "assets/..", "..", ".",
        "./index.html", "assets/./style.css", "assets//style.css", "assets/style.css/", "/index.html",
        "/etc/passwd", "//etc/passwd", "assets\\..\\..\\outside\\secret.txt", "..\\outside",
        "%2e%2e/outside/secret.txt", "assets/%2e%2e/%2e%2e/outside", "assets/%2fstyle.css", "%00",
        "assets/style.css\x01", "assets/\x7f", "assets/style.css\r\nX-Injected: 1", "",
        "assets/js/../../../outside/secret.txt", "assets/50%.js",
    };
    struct http_static_reply r;
    for (size_t i = 0; i < N(refused); i++) {
        http_static_lookup(s, refused[i], NULL, &r);
        if (r.status != 400)
            fail_msg("'%s' answered %d", refused[i], r.status);
        assert_non_null(r.error);
        assert_null(r.body);
        assert_string_equal(r.headers, "");
    }
    http_static_lookup(s, NULL, NULL, &r);
    assert_int_equal(r.status, 400);
    char longpath[HTTP_STATIC_PATH_MAX + 8];
    memset(longpath, 'a', sizeof(longpath) - 1);
    longpath[sizeof(longpath) - 1] = '\0';
    http_static_lookup(s, longpath, NULL, &r);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.error, "too long"));
    http_static_destroy(s);
    tree_free(&t);
}

static void test_static_hides_hidden_files_directories_and_escaping_links(void **state)
{
    struct tree t;
    tree_make(&t);
    struct http_static *s = load_ok(t.root, NULL);
    const char *missing[] = {
        "assets/.env", ".env", "assets/.git/config", ".git", "assets/.git",  /* hidden */
        "assets", "assets/js",                                                /* directories */
        "assets/escape.txt", "assets/absolute.txt", "assets/outdir/secret.txt", /* links out */
        "assets/env.txt",                                                     /* link to a hidden file */
        "assets/jsdir/deep.mjs", "assets/jsdir",                              /* link to a directory */
        "assets/dangling.js", "assets/pipe.js", "outside/secret.txt", "secret.txt", "assets/nope.js",
        "assets/STYLE.CSS",
    };
    struct http_static_reply r;
    for (size_t i = 0; i < N(missing); i++) {
        http_static_lookup(s, missing[i], NULL, &r);
        if (r.status != 404)
            fail_msg("'%s' answered %d", missing[i], r.status);
        assert_null(r.body);
    }
    /* What was left out says why; hidden names are left out silently. */
    assert_true(has_note(s, "assets/escape.txt: symlink leading out of the directory"));
    assert_true(has_note(s, "assets/absolute.txt: symlink leading out"));
    assert_false(has_note(s, ".env:"));
    struct http_static_stats st;
    http_static_stats_get(s, &st);
    /* escape, absolute, outdir, jsdir, env.txt, dangling, pipe, 50%.js */
    assert_int_equal(st.skipped, 8);
    http_static_destroy(s);
    http_static_lookup(NULL, "index.html", NULL, &r);
    assert_int_equal(r.status, 404);
    assert_string_equal(r.error, "static files are not configured");
    tree_free(&t);
}

static void test_static_caps_size_and_count(void **state)
{
    struct tree t;
    tree_make(&t);
    /* A file over the per-file cap is left out with a note; one at it is served. */
    struct http_static_limits lim = {.file_max = 14};
    struct http_static *s = load_ok(t.root, &lim);
    struct http_static_reply r;
    http_static_lookup(s, "assets/js/deep.mjs", NULL, &r);   /* 9 bytes */
    assert_int_equal(r.status, 200);
    http_static_lookup(s, "assets/app.3f9a1c2b.js.map", NULL, &r);  /* 14 bytes */
    assert_int_equal(r.status, 200);
    http_static_lookup(s, "assets/app.3f9a1c2b.js", NULL, &r);  /* 18 bytes */
    assert_int_equal(r.status, 404);
    assert_true(has_note(s, "assets/app.3f9a1c2b.js: larger than 14 bytes"));
    http_static_destroy(s);
    /* The default cap: 16 MiB + 1 (sparse, so the test stays cheap). */
    char big[512];
    snprintf(big, sizeof(big), "%s/assets/big.bin", t.root);
    int fd = open(big, O_WRONLY | O_CREAT, 0644);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, HTTP_STATIC_FILE_MAX + 1), 0);
    close(fd);
    s = load_ok(t.root, NULL);
    http_static_lookup(s, "assets/big.bin", NULL, &r);
    assert_int_equal(r.status, 404);
    assert_true(has_note(s, "assets/big.bin: larger than 16777216 bytes"));
    http_static_destroy(s);
    assert_int_equal(truncate(big, HTTP_STATIC_FILE_MAX), 0);
    s = load_ok(t.root, NULL);
    http_static_lookup(s, "assets/big.bin", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.len, HTTP_STATIC_FILE_MAX);
    assert_string_equal(r.content_type, "application/octet-stream");
    http_static_destroy(s);
    assert_int_equal(unlink(big), 0);
    /* Over the total or the count, the load fails and names the directory. */
    char err[HTTP_STATIC_ERR_MAX];
    struct http_static_limits total = {.total_max = 40};
    s = (struct http_static *)1;
    assert_int_equal(http_static_load(t.root, &total, &s, err, sizeof(err)), BASE_ERR_TOO_BIG);
    assert_null(s);
    assert_non_null(strstr(err, t.root));
    assert_non_null(strstr(err, "more than 40 bytes of files in all"));
    struct http_static_limits count = {.files_max = 3};
    assert_int_equal(http_static_load(t.root, &count, &s, err, sizeof(err)), BASE_ERR_TOO_BIG);
    assert_non_null(strstr(err, "too many files"));
    tree_free(&t);
}

static void test_static_load_errors_name_the_directory(void **state)
{
    struct tree t;
    tree_make(&t);
    char err[HTTP_STATIC_ERR_MAX], path[256];
    struct http_static *s = NULL;
    snprintf(path, sizeof(path), "%s/no-such-dir", t.dir);
    assert_int_equal(http_static_load(path, NULL, &s, err, sizeof(err)), BASE_ERR_IO);
    assert_null(s);
    assert_non_null(strstr(err, "server.static_dir '"));
    assert_non_null(strstr(err, "no-such-dir': No such file or directory"));
    snprintf(path, sizeof(path), "%s/index.html", t.root);
    assert_int_equal(http_static_load(path, NULL, &s, err, sizeof(err)), BASE_ERR_IO);
    assert_non_null(strstr(err, "Not a directory"));
    assert_int_equal(http_static_load("/", NULL, &s, err, sizeof(err)), BASE_ERR_IO);
    assert_non_null(strstr(err, "refusing to serve the whole filesystem"));
    assert_int_equal(http_static_load("", NULL, &s, err, sizeof(err)), BASE_ERR_IO);
    assert_int_equal(http_static_load(NULL, NULL, &s, NULL, 0), BASE_ERR_IO);
    /* The root itself may be a symlink (a deploy's "current" link); the
     * walk below it follows none out of it. */
    put_link(&t, "root", "current");
    snprintf(path, sizeof(path), "%s/current", t.dir);
    s = load_ok(path, NULL);
    struct http_static_reply r;
    http_static_lookup(s, "assets/style.css", NULL, &r);
    assert_int_equal(r.status, 200);
    http_static_lookup(s, "assets/escape.txt", NULL, &r);
    assert_int_equal(r.status, 404);
    http_static_destroy(s);
    tree_free(&t);
}

static void test_static_load_survives_every_allocation_failure(void **state)
{
    struct tree t;
    tree_make(&t);
    int failures = 0;
    for (long n = 0;; n++) {
        struct http_static *s = NULL;
        char err[HTTP_STATIC_ERR_MAX];
        base_alloc_fail_after(n);
        int rc = http_static_load(t.root, NULL, &s, err, sizeof(err));
        base_alloc_fail_after(-1);
        if (rc == 0) {
            struct http_static_reply r;
            http_static_lookup(s, "assets/style.css", NULL, &r);
            assert_int_equal(r.status, 200);
            http_static_destroy(s);
            break;
        }
        assert_int_equal(rc, BASE_ERR_NOMEM);
        assert_null(s);
        assert_non_null(strstr(err, "out of memory"));
        failures++;
    }
    assert_true(failures > 10);
    tree_free(&t);
}

struct loaded {
    int calls;
    int rc;
    struct http_static *s;
    char err[HTTP_STATIC_ERR_MAX];
};

static void on_loaded(void *data, struct http_static *s, int rc, const char *err)
{
    struct loaded *l = data;
    l->calls++;
    l->rc = rc;
    l->s = s;
    snprintf(l->err, sizeof(l->err), "%s", err ? err : "");
}

static void test_static_loads_off_the_loop(void **state)
{
    struct tree t;
    tree_make(&t);
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    struct loaded ok = {0}, bad = {0};
    char missing[256];
    snprintf(missing, sizeof(missing), "%s/missing", t.dir);
    assert_int_equal(http_static_load_async(&loop, t.root, NULL, on_loaded, &ok), 0);
    assert_int_equal(http_static_load_async(&loop, missing, NULL, on_loaded, &bad), 0);
    assert_int_equal(ok.calls + bad.calls, 0);  /* nothing runs before the loop does */
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(ok.calls, 1);
    assert_int_equal(ok.rc, 0);
    assert_non_null(ok.s);
    struct http_static_reply r;
    http_static_lookup(ok.s, "index.html", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(bad.calls, 1);
    assert_int_equal(bad.rc, BASE_ERR_IO);
    assert_null(bad.s);
    assert_non_null(strstr(bad.err, "missing': No such file or directory"));
    http_static_destroy(ok.s);
    assert_int_equal(uv_loop_close(&loop), 0);
    tree_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_static_content_types_by_extension),
        cmocka_unit_test(test_static_hashed_names_are_immutable),
        cmocka_unit_test(test_static_serves_files_with_etag_and_cache_headers),
        cmocka_unit_test(test_static_etag_follows_the_content_not_the_file_times),
        cmocka_unit_test(test_static_refuses_every_traversal_variant),
        cmocka_unit_test(test_static_hides_hidden_files_directories_and_escaping_links),
        cmocka_unit_test(test_static_caps_size_and_count),
        cmocka_unit_test(test_static_load_errors_name_the_directory),
        cmocka_unit_test(test_static_load_survives_every_allocation_failure),
        cmocka_unit_test(test_static_loads_off_the_loop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
