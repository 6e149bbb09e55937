/*
 * bench/probe_engine: CPU cost of HTTP checks through the probe engine
 * (libcurl multi-socket on libuv, a fresh connection per check, full sample
 * evaluation) against a bare libcurl multi loop doing the same fetches with
 * nothing else (curl_multi_perform + curl_multi_poll, a new easy handle per
 * fetch), measured in one process run. Prints checks/s and CPU seconds
 * (getrusage, user+sys) per 1,000 checks for each. Loopback targets only.
 * Usage: bench_probe_engine URL [N=20000] [CONCURRENCY=64] [engine|bare|both]
 */
#include "conf/conf.h"
#include "probe/probe.h"
#include "probe/registry.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <uv.h>

struct bench {
    struct probe_engine *e;
    const struct conf_check *check;
    long n, started, done, up;
};

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void on_done(void *data, const struct sample *s)
{
    struct bench *b = data;
    b->done++;
    b->up += s->result == SAMPLE_UP;
    if (b->started < b->n) {
        b->started++;
        if (!probe_start(b->e, b->check, on_done, b)) {
            fprintf(stderr, "probe_start failed\n");
            exit(1);
        }
    }
}

static void on_closed(void *data)
{
    (void)data;
}

static void report(const char *what, long n, long up, double wall, double cpu)
{
    printf("%-7s %6ld checks (%ld up) in %.2f s: %8.0f checks/s, %.4f CPU-s per 1000 checks\n",
           what, n, up, wall, (double)n / wall, cpu / (double)n * 1000.0);
}

static void run_engine(const char *url, long n, long conc)
{
    /* The check as the loader builds it from YAML, with the http type's defaults. */
    char yaml[1024];
    snprintf(yaml, sizeof(yaml), "checks:\n  - {id: bench, type: http, url: '%s', timeout: 5s, tls_verify: false}\n", url);
    struct conf *conf = NULL;
    struct base_errors errs;
    base_errors_init(&errs, 0);
    if (conf_load_string(probe_registry_types(), "bench", yaml, strlen(yaml), &conf, &errs) != 0) {
        base_errors_print(&errs, stderr);
        exit(1);
    }
    base_errors_free(&errs);
    const struct conf_check c = conf->checks[0];

    uv_loop_t loop;
    uv_loop_init(&loop);
    struct bench b = {.check = &c, .n = n};
    b.e = probe_engine_new(&loop, NULL);
    if (!b.e) {
        fprintf(stderr, "probe_engine_new failed\n");
        exit(1);
    }
    uint64_t t0 = uv_hrtime();
    double c0 = cpu_seconds();
    for (long i = 0; i < conc && b.started < n; i++) {
        b.started++;
        probe_start(b.e, &c, on_done, &b);
    }
    while (b.done < n)
        uv_run(&loop, UV_RUN_ONCE);
    double wall = (double)(uv_hrtime() - t0) / 1e9, cpu = cpu_seconds() - c0;
    probe_engine_close(b.e, on_closed, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    conf_destroy(conf);
    report("engine", n, b.up, wall, cpu);
}

static size_t discard(char *p, size_t size, size_t nmemb, void *ud)
{
    (void)p;
    (void)ud;
    return size * nmemb;
}

static CURL *bare_easy(const char *url)
{
    CURL *h = curl_easy_init();
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L);
    curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
    return h;
}

static void run_bare(const char *url, long n, long conc)
{
    CURLM *m = curl_multi_init();
    long started = 0, done = 0, up = 0;
    uint64_t t0 = uv_hrtime();
    double c0 = cpu_seconds();
    for (long i = 0; i < conc && started < n; i++, started++)
        curl_multi_add_handle(m, bare_easy(url));
    while (done < n) {
        int running, left;
        curl_multi_perform(m, &running);
        CURLMsg *msg;
        while ((msg = curl_multi_info_read(m, &left))) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            CURL *h = msg->easy_handle;
            long code = 0;
            curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
            up += msg->data.result == CURLE_OK && code >= 200 && code < 300;
            curl_multi_remove_handle(m, h);
            curl_easy_cleanup(h);
            done++;
            if (started < n) {
                started++;
                curl_multi_add_handle(m, bare_easy(url));
            }
        }
        curl_multi_poll(m, NULL, 0, 1000, NULL);
    }
    double wall = (double)(uv_hrtime() - t0) / 1e9, cpu = cpu_seconds() - c0;
    curl_multi_cleanup(m);
    report("bare", n, up, wall, cpu);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s URL [N] [CONCURRENCY] [engine|bare|both]\n", argv[0]);
        return 2;
    }
    const char *url = argv[1];
    long n = argc > 2 ? atol(argv[2]) : 20000;
    long conc = argc > 3 ? atol(argv[3]) : 64;
    const char *mode = argc > 4 ? argv[4] : "both";
    if (n < 1 || n > 10000000 || conc < 1 || conc > 4096) {
        fprintf(stderr, "N must be 1..10000000 and CONCURRENCY 1..4096\n");
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (strcmp(mode, "bare") == 0 || strcmp(mode, "both") == 0)
        run_bare(url, n, conc);
    if (strcmp(mode, "engine") == 0 || strcmp(mode, "both") == 0)
        run_engine(url, n, conc);
    curl_global_cleanup();
    return 0;
}
