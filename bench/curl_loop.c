/*
 * bench/curl_loop: the bare libcurl reference for bench/probe. Fetches one
 * URL N times, C transfers in flight, each on a fresh connection
 * (CURLOPT_FRESH_CONNECT + CURLOPT_FORBID_REUSE) with a new easy handle,
 * driven by a curl_multi_perform/curl_multi_wait loop and nothing else (no
 * scheduling, status or storage). Prints one line of key=value figures:
 * fetches/s and CPU-seconds per 1,000 fetches from getrusage(RUSAGE_SELF).
 * Bounded: stops after N fetches or MAX_SECONDS, whichever comes first.
 * Usage: bench_curl_loop URL [N=30000] [C=64] [MAX_SECONDS=60]
 */
#include <curl/curl.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

#define CURL_LOOP_MAX_CONCURRENCY 4096
#define CURL_LOOP_MAX_FETCHES 10000000L

static size_t discard(char *ptr, size_t size, size_t nmemb, void *data)
{
    (void)ptr;
    (void)data;
    return size * nmemb;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* Parses a positive decimal argument no larger than max; -1 when invalid. */
static long parse_arg(const char *s, long max)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v <= 0 || v > max)
        return -1;
    return v;
}

/* In-flight easy handles, one slot each, so leftovers can be cleaned up
 * (curl_multi_get_handles is newer than Debian 12's libcurl 7.88). */
static CURL *slots[CURL_LOOP_MAX_CONCURRENCY];

static int add_transfer(CURLM *multi, const char *url, long conc)
{
    long slot = 0;
    while (slot < conc && slots[slot] != NULL)
        slot++;
    if (slot == conc)
        return -1;
    CURL *easy = curl_easy_init();
    if (easy == NULL)
        return -1;
    curl_easy_setopt(easy, CURLOPT_PRIVATE, (char *)&slots[slot]);
    curl_easy_setopt(easy, CURLOPT_URL, url);
    curl_easy_setopt(easy, CURLOPT_FRESH_CONNECT, 1L);
    curl_easy_setopt(easy, CURLOPT_FORBID_REUSE, 1L);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    if (curl_multi_add_handle(multi, easy) != CURLM_OK) {
        curl_easy_cleanup(easy);
        return -1;
    }
    slots[slot] = easy;
    return 0;
}

/* Collects finished transfers; returns how many finished, counting the
 * failed ones (transport error or non-2xx status) in *failed. */
static long reap(CURLM *multi, long *failed)
{
    long done = 0;
    int left = 0;
    CURLMsg *msg;
    while ((msg = curl_multi_info_read(multi, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        CURL *easy = msg->easy_handle;
        long code = 0;
        curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
        if (msg->data.result != CURLE_OK || code < 200 || code > 299)
            (*failed)++;
        char *slot = NULL;
        curl_easy_getinfo(easy, CURLINFO_PRIVATE, &slot);
        curl_multi_remove_handle(multi, easy);
        curl_easy_cleanup(easy);
        if (slot != NULL)
            *(CURL **)(void *)slot = NULL;
        done++;
    }
    return done;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 5) {
        fprintf(stderr, "usage: %s URL [N=30000] [C=64] [MAX_SECONDS=60]\n", argv[0]);
        return 2;
    }
    const char *url = argv[1];
    long total = argc > 2 ? parse_arg(argv[2], CURL_LOOP_MAX_FETCHES) : 30000;
    long conc = argc > 3 ? parse_arg(argv[3], CURL_LOOP_MAX_CONCURRENCY) : 64;
    long max_s = argc > 4 ? parse_arg(argv[4], 3600) : 60;
    if (total < 0 || conc < 0 || max_s < 0) {
        fprintf(stderr, "%s: N, C and MAX_SECONDS must be positive integers "
                        "(N <= %ld, C <= %d, MAX_SECONDS <= 3600)\n",
                argv[0], CURL_LOOP_MAX_FETCHES, CURL_LOOP_MAX_CONCURRENCY);
        return 2;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "%s: curl_global_init failed\n", argv[0]);
        return 1;
    }
    CURLM *multi = curl_multi_init();
    if (multi == NULL) {
        fprintf(stderr, "%s: curl_multi_init failed\n", argv[0]);
        curl_global_cleanup();
        return 1;
    }

    int rc = 0;
    long started = 0, done = 0, failed = 0;
    double cpu0 = cpu_seconds(), t0 = now_seconds(), deadline = t0 + (double)max_s;
    int running = 0;
    while (done < total) {
        while (started < total && started - done < conc) {
            if (add_transfer(multi, url, conc) != 0) {
                fprintf(stderr, "%s: cannot start a transfer\n", argv[0]);
                rc = 1;
                goto out;
            }
            started++;
        }
        if (curl_multi_perform(multi, &running) != CURLM_OK) {
            fprintf(stderr, "%s: curl_multi_perform failed\n", argv[0]);
            rc = 1;
            goto out;
        }
        done += reap(multi, &failed);
        if (done >= total)
            break;
        if (now_seconds() > deadline) {
            fprintf(stderr, "%s: stopped at the %ld s limit after %ld fetches\n",
                    argv[0], max_s, done);
            break;
        }
        if (curl_multi_wait(multi, NULL, 0, 100, NULL) != CURLM_OK) {
            fprintf(stderr, "%s: curl_multi_wait failed\n", argv[0]);
            rc = 1;
            goto out;
        }
    }

out:;
    double secs = now_seconds() - t0, cpu = cpu_seconds() - cpu0;
    printf("fetches=%ld failed=%ld concurrency=%ld seconds=%.3f fetches_per_s=%.1f "
           "cpu_s=%.3f cpu_s_per_1000=%.4f\n",
           done, failed, conc, secs, secs > 0 ? (double)done / secs : 0.0, cpu,
           done > 0 ? cpu * 1000.0 / (double)done : 0.0);
    /* Remaining transfers (error or time limit): drop them. */
    for (long i = 0; i < conc; i++) {
        if (slots[i] == NULL)
            continue;
        curl_multi_remove_handle(multi, slots[i]);
        curl_easy_cleanup(slots[i]);
        slots[i] = NULL;
    }
    curl_multi_cleanup(multi);
    curl_global_cleanup();
    if (rc == 0 && failed > 0)
        rc = 3;
    return rc;
}
