/*
 * Unit tests for probe/redis and probe/redis_info: URL parsing (and that
 * no error or target ever shows the password), the INFO parser (missing
 * fields, garbage, huge numbers, CRLF and LF), the eviction rate across a
 * restart, configuration errors with their positions, defaults, and runs
 * against a real redis-server this test starts on a free loopback port
 * (up with values, requirepass with the right, a wrong and no password,
 * SELECT out of range, a second run's eviction rate) and against scripted
 * fake servers (LOADING, not PONG, arrays, an INFO past its cap, silence),
 * plus cancellation mid-connect and mid-reply and an engine closed with a
 * run in flight (run under ASan).
 */
#include "probe/probe_test.h"

#include "base/err.h"
#include "probe/redis.h"
#include "probe/redis_info.h"
#include "probe/registry.h"
#include "test_port.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#define RC(c) ((struct probe_redis_conf *)(c).settings)
#define PASSWORD "s3cret-Pa55word"
#define REDIS_BIN "/usr/bin/redis-server"

/* ---- a real redis-server ---- */

struct redis_server {
    pid_t pid;
    int port;
    char dir[64];
};

static bool port_accepts(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bool ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
    close(fd);
    return ok;
}

/* Starts redis-server with extra arguments (NULL-terminated); waits, with
 * a deadline, until it accepts connections. */
static void redis_server_start(struct redis_server *r, const char *const *extra)
{
    snprintf(r->dir, sizeof(r->dir), "/tmp/opshub-redis-XXXXXX");
    assert_non_null(mkdtemp(r->dir));
    for (int attempt = 0; attempt < 3; attempt++) {
        r->port = test_port_free();
        char port[16], log[128];
        snprintf(port, sizeof(port), "%d", r->port);
        snprintf(log, sizeof(log), "%s/redis.log", r->dir);
        const char *argv[32] = {REDIS_BIN, "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                                "--dir", r->dir, "--logfile", log, "--daemonize", "no"};
        size_t n = 15;
        for (size_t i = 0; extra && extra[i] && n < 31; i++)
            argv[n++] = extra[i];
        argv[n] = NULL;
        r->pid = fork();
        assert_true(r->pid >= 0);
        if (r->pid == 0) {
            int devnull = open("/dev/null", O_RDWR);
            dup2(devnull, 0);
            dup2(devnull, 1);
            dup2(devnull, 2);
            execv(REDIS_BIN, (char *const *)argv);
            _exit(127);
        }
        struct timespec pause = {0, 10 * 1000 * 1000};
        for (int i = 0; i < 500; i++) { /* 5 s */
            if (port_accepts(r->port))
                return;
            if (waitpid(r->pid, NULL, WNOHANG) == r->pid)
                break;  /* the port was taken meanwhile: try another */
            nanosleep(&pause, NULL);
        }
        kill(r->pid, SIGKILL);
        waitpid(r->pid, NULL, 0);
    }
    fail_msg("redis-server did not start (see %s/redis.log)", r->dir);
}

static void redis_server_stop(struct redis_server *r)
{
    kill(r->pid, SIGKILL);
    waitpid(r->pid, NULL, 0);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", r->dir);
    assert_int_equal(system(cmd), 0);
}

/* ---- a scripted fake server: one reply per chunk it receives ---- */

struct fake {
    int lfd, port, stop[2];
    pthread_t thr;
    const char *replies[4];
    size_t lens[4];
    size_t n;
    atomic_int conns;
};

static void *fake_main(void *arg)
{
    struct fake *f = arg;
    struct pollfd p[2] = {{.fd = f->stop[0], .events = POLLIN}, {.fd = f->lfd, .events = POLLIN}};
    while (poll(p, 2, -1) > 0 && !p[0].revents) {
        int fd = accept(f->lfd, NULL, NULL);
        if (fd < 0)
            continue;
        atomic_fetch_add(&f->conns, 1);
        struct pollfd q[2] = {{.fd = f->stop[0], .events = POLLIN}, {.fd = fd, .events = POLLIN}};
        size_t next = 0;
        char buf[4096];
        while (poll(q, 2, -1) > 0 && !q[0].revents) {
            if (recv(fd, buf, sizeof(buf), 0) <= 0)
                break;
            if (next < f->n)
                target_send(fd, f->replies[next], f->lens[next]);
            next++;
        }
        close(fd);
    }
    return NULL;
}

/* replies: one per command; a command past them gets no answer. */
static void fake_start(struct fake *f, const char *const *replies, const size_t *lens, size_t n)
{
    memset(f, 0, sizeof(*f));
    for (size_t i = 0; i < n; i++) {
        f->replies[i] = replies[i];
        f->lens[i] = lens ? lens[i] : strlen(replies[i]);
    }
    f->n = n;
    assert_int_equal(pipe(f->stop), 0);
    f->lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    assert_int_equal(bind(f->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(f->lfd, 16), 0);
    assert_int_equal(getsockname(f->lfd, (struct sockaddr *)&a, &alen), 0);
    f->port = ntohs(a.sin_port);
    assert_int_equal(pthread_create(&f->thr, NULL, fake_main, f), 0);
}

static void fake_stop(struct fake *f)
{
    close(f->stop[1]);
    pthread_join(f->thr, NULL);
    close(f->lfd);
    close(f->stop[0]);
}

/* ---- helpers ---- */

static struct conf_check redis_check(struct fx *f, char *buf, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static struct conf_check redis_check(struct fx *f, char *buf, size_t n, const char *fmt, ...)
{
    struct conf_check c = check_defaults(f, &probe_redis_type);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, n, fmt, ap);
    va_end(ap);
    RC(c)->url = buf;
    c.timeout_ms = 3000;
    return c;
}

/* Loads yaml expecting exactly one error at line:col containing needle
 * and never the password. */
static void expect_one_error(const char *yaml, int line, int col, const char *needle)
{
    struct conf *c = NULL;
    struct base_errors e;
    base_errors_init(&e, 0);
    int rc = conf_load_string(probe_registry_types(), "t.yaml", yaml, strlen(yaml), &c, &e);
    char text[1024] = "";
    if (e.len)
        base_error_format(&e.items[0], text, sizeof(text));
    if (rc != BASE_ERR_INVALID || e.len != 1 || e.items[0].line != line || e.items[0].col != col ||
        !strstr(e.items[0].msg, needle))
        fail_msg("expected one error %d:%d '%s'; rc %d, %zu errors, first: %s", line, col, needle, rc, e.len, text);
    assert_null(strstr(text, PASSWORD));
    assert_null(strstr(text, "pa55"));
    conf_destroy(c);
    base_errors_free(&e);
}

static struct conf *load_ok(const char *yaml)
{
    struct conf *c = NULL;
    struct base_errors e;
    base_errors_init(&e, 0);
    int rc = conf_load_string(probe_registry_types(), "t.yaml", yaml, strlen(yaml), &c, &e);
    if (rc != 0) {
        char text[512] = "";
        if (e.len)
            base_error_format(&e.items[0], text, sizeof(text));
        fail_msg("load failed: %s", text);
    }
    base_errors_free(&e);
    return c;
}

/* ---- URL ---- */

static void test_redis_url_parses_every_part(void **state)
{
    (void)state;
    struct probe_redis_url u;
    const char *why = NULL;
    assert_int_equal(probe_redis_url_parse("redis://127.0.0.1", &u, &why), 0);
    assert_false(u.tls);
    assert_string_equal(u.host, "127.0.0.1");
    assert_string_equal(u.port, "6379");
    assert_false(u.has_password);
    assert_int_equal(u.db, -1);

    assert_int_equal(probe_redis_url_parse("rediss://:" PASSWORD "@cache.example.com:6380/", &u, &why), 0);
    assert_true(u.tls);
    assert_string_equal(u.host, "cache.example.com");
    assert_string_equal(u.port, "6380");
    assert_string_equal(u.user, "");
    assert_string_equal(u.password, PASSWORD);
    assert_true(u.has_password);
    assert_int_equal(u.db, -1);

    /* a password with '@', '/' and ':' unescaped, or %-escaped */
    assert_int_equal(probe_redis_url_parse("redis://app:p@s/s:w@[::1]:7000/15", &u, &why), 0);
    assert_string_equal(u.user, "app");
    assert_string_equal(u.password, "p@s/s:w");
    assert_string_equal(u.host, "::1");
    assert_string_equal(u.port, "7000");
    assert_int_equal(u.db, 15);
    assert_int_equal(probe_redis_url_parse("redis://us%65r:p%40ss%2f@h/0", &u, &why), 0);
    assert_string_equal(u.user, "user");
    assert_string_equal(u.password, "p@ss/");
    assert_int_equal(u.db, 0);
}

static void test_redis_bad_urls_say_why_without_the_password(void **state)
{
    (void)state;
    static const struct {
        const char *url, *why;
    } bad[] = {
        {"http://h:6379", "must start with redis://"},
        {"redis://", "no host"},
        {"redis://:" PASSWORD "@", "no host"},
        {"redis://:" PASSWORD "@h:0", "port"},
        {"redis://h:65536", "port"},
        {"redis://h:12a", "port"},
        {"redis://h:", "port"},
        {"redis://h/16x", "database"},
        {"redis://h/65536", "database"},
        {"redis://h/-1", "database"},
        {"redis://h?db=1", "query"},
        {"redis://user@h", "user without a password"},
        {"redis://user:@h", "empty password"},
        {"redis://:" PASSWORD "%zz@h", "%-escaped"},
        {"redis://:" PASSWORD "%00@h", "%-escaped"},
        {"redis://[::1:6379", "closing ]"},
        {"redis://[::1]x", "not :port"},
        {"redis://a b:1", "not a name"},
        {"redis://a:b:1", "port"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct probe_redis_url u;
        const char *why = NULL;
        if (probe_redis_url_parse(bad[i].url, &u, &why) != -1 || !why || !strstr(why, bad[i].why))
            fail_msg("%s: %s", bad[i].url, why ? why : "(parsed)");
        assert_null(strstr(why, PASSWORD));
    }
    /* the cap on credentials */
    char url[600];
    memset(url, 'x', sizeof(url));
    memcpy(url, "redis://:", 9);
    snprintf(url + 9 + PROBE_REDIS_CRED_MAX + 1, 8, "@h");
    struct probe_redis_url u;
    const char *why;
    assert_int_equal(probe_redis_url_parse(url, &u, &why), -1);
    url[9 + PROBE_REDIS_CRED_MAX] = '@'; /* exactly 256 bytes */
    url[9 + PROBE_REDIS_CRED_MAX + 1] = 'h';
    url[9 + PROBE_REDIS_CRED_MAX + 2] = '\0';
    assert_int_equal(probe_redis_url_parse(url, &u, &why), 0);
    assert_int_equal(strlen(u.password), PROBE_REDIS_CRED_MAX);
}

static void test_redis_target_hides_the_password_and_url_is_secret(void **state)
{
    (void)state;
    struct conf *c = load_ok("checks:\n"
                             "  - id: c\n"
                             "    type: redis\n"
                             "    url: 'rediss://app:" PASSWORD "@[::1]:6380/2'\n"
                             "  - id: d\n"
                             "    type: redis\n"
                             "    url: 'redis://:" PASSWORD "@cache'\n");
    char target[256];
    c->checks[0].type->target(&c->checks[0], target, sizeof(target));
    assert_string_equal(target, "rediss://[::1]:6380/2");
    c->checks[1].type->target(&c->checks[1], target, sizeof(target));
    assert_string_equal(target, "redis://cache:6379");
    /* the url is a secret field: sealed at rest, masked in API objects */
    const struct conf_field *url = conf_schema_find(probe_redis_type.fields, "url");
    assert_non_null(url);
    assert_true(url->flags & CONF_FIELD_SECRET);
    assert_true(url->flags & CONF_FIELD_REQUIRED);
    for (const struct conf_field *fl = probe_redis_type.fields; fl->name; fl++)
        if (strcmp(fl->name, "url") != 0)
            assert_false(fl->flags & CONF_FIELD_SECRET);
    conf_destroy(c);
}

/* ---- INFO ---- */

static void test_redis_info_reads_the_fields_it_knows(void **state)
{
    (void)state;
    const char *info = "# Server\r\n"
                       "redis_version:7.0.15\r\n"
                       "run_id:0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c\r\n"
                       "uptime_in_seconds:3600\r\n"
                       "server_time_usec:1733400000123456\r\n"
                       "\r\n"
                       "# Clients\r\nconnected_clients:12\r\n"
                       "# Memory\r\nused_memory:1048576\r\nused_memory_human:1.00M\r\nmaxmemory:2097152\r\n"
                       "# Persistence\r\nrdb_last_save_time:1733396400\r\nrdb_last_bgsave_status:err\r\n"
                       "# Stats\r\nkeyspace_hits:900\r\nkeyspace_misses:100\r\nevicted_keys:42\r\n";
    struct probe_redis_info i;
    assert_int_equal(probe_redis_info_parse(info, strlen(info), &i), 11);
    assert_int_equal(i.used_memory, 1048576);
    assert_int_equal(i.maxmemory, 2097152);
    assert_int_equal(i.keyspace_hits, 900);
    assert_int_equal(i.keyspace_misses, 100);
    assert_int_equal(i.evicted_keys, 42);
    assert_int_equal(i.connected_clients, 12);
    assert_int_equal(i.rdb_last_save_time, 1733396400);
    assert_false(i.rdb_last_bgsave_ok);
    assert_int_equal(i.uptime_in_seconds, 3600);
    assert_int_equal(i.server_time_usec, 1733400000123456ULL);
    assert_string_equal(i.run_id, "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c");
}

static void test_redis_info_skips_garbage_and_huge_numbers(void **state)
{
    (void)state;
    struct probe_redis_info i;
    /* LF only, no final newline, the largest 64-bit number and one past it */
    const char *lf = "used_memory:18446744073709551615\nmaxmemory:18446744073709551616\nrdb_last_bgsave_status:ok";
    assert_int_equal(probe_redis_info_parse(lf, strlen(lf), &i), 2);
    assert_true(i.used_memory == UINT64_MAX);
    assert_false(i.have & PROBE_REDIS_HAVE_MAXMEMORY);
    assert_true(i.rdb_last_bgsave_ok);
    /* signs, spaces, decimals, empty values, bad run_ids, unknown statuses, comments */
    const char *bad = "used_memory:-1\r\nmaxmemory: 5\r\nevicted_keys:1.5\r\nconnected_clients:\r\n"
                      "run_id:XYZ\r\nrun_id:0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3\r\n"
                      "rdb_last_bgsave_status:maybe\r\n#keyspace_hits:3\r\nkeyspace_hits\r\n:\r\n\r\n"
                      "used_memory:12\r\r\n";
    assert_int_equal(probe_redis_info_parse(bad, strlen(bad), &i), 0);
    assert_int_equal(i.have, 0);
    assert_int_equal(probe_redis_info_parse("", 0, &i), 0);
    /* a NUL inside a value ends nothing early but spoils that value */
    const char nul[] = "used_memory:1\0002\nmaxmemory:7\n";
    assert_int_equal(probe_redis_info_parse(nul, sizeof(nul) - 1, &i), 1);
    assert_int_equal(i.maxmemory, 7);
    /* a key is matched whole; the last of duplicates wins */
    const char *dup = "used_memory_rss:9\nused_memory:1\nused_memory:2\n";
    assert_int_equal(probe_redis_info_parse(dup, strlen(dup), &i), 1);
    assert_int_equal(i.used_memory, 2);
}

static void test_redis_eviction_rate_resets_on_restart(void **state)
{
    (void)state;
    struct probe_redis_info a, b;
    const char *t1 = "run_id:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\nuptime_in_seconds:100\nevicted_keys:10\n";
    const char *t2 = "run_id:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\nuptime_in_seconds:102\nevicted_keys:30\n";
    const char *restarted = "run_id:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\nuptime_in_seconds:1\nevicted_keys:40\n";
    const char *no_id_younger = "uptime_in_seconds:5\nevicted_keys:40\n";
    const char *fewer = "uptime_in_seconds:200\nevicted_keys:3\n";
    double r = -1;
    probe_redis_info_parse(t1, strlen(t1), &a);
    probe_redis_info_parse(t2, strlen(t2), &b);
    assert_true(probe_redis_info_eviction_rate(&a, &b, 2.0, &r));
    assert_true(r > 9.99 && r < 10.01);
    assert_false(probe_redis_info_eviction_rate(&a, &b, 0, &r));
    probe_redis_info_parse(restarted, strlen(restarted), &b);
    assert_false(probe_redis_info_eviction_rate(&a, &b, 2.0, &r));
    probe_redis_info_parse(no_id_younger, strlen(no_id_younger), &b);
    assert_false(probe_redis_info_eviction_rate(&a, &b, 2.0, &r));
    probe_redis_info_parse(fewer, strlen(fewer), &b);
    assert_false(probe_redis_info_eviction_rate(&a, &b, 2.0, &r));
    probe_redis_info_parse("uptime_in_seconds:200\n", 22, &b);
    assert_false(probe_redis_info_eviction_rate(&a, &b, 2.0, &r));
}

/* ---- configuration ---- */

static void test_redis_defaults(void **state)
{
    struct fx *f = *state;
    struct conf_check c = check_defaults(f, &probe_redis_type);
    assert_true(RC(c)->hit_ratio_warn == 0.8);
    assert_true(RC(c)->hit_ratio_crit == 0.5);
    assert_true(RC(c)->memory_warn == 0.8);
    assert_true(RC(c)->memory_crit == 0.95);
    assert_true(RC(c)->evictions_warn < 0);
    assert_null(RC(c)->ca_file);
    assert_null(RC(c)->server_name);
    struct conf *conf = load_ok("checks:\n"
                                "  - id: c\n"
                                "    type: redis\n"
                                "    url: rediss://cache:6380\n"
                                "    ca_file: /etc/ssl/ca.pem\n"
                                "    server_name: cache.example.com\n"
                                "    hit_ratio_warn: 90%\n"
                                "    hit_ratio_crit: 0.9\n"
                                "    memory_warn: 0.5\n"
                                "    memory_crit: 50%\n"
                                "    evictions_warn: 0\n");
    const struct probe_redis_conf *r = conf->checks[0].settings;
    assert_true(r->hit_ratio_warn == 0.9 && r->hit_ratio_crit == 0.9);
    assert_true(r->memory_warn == 0.5 && r->memory_crit == 0.5);
    assert_true(r->evictions_warn == 0);
    conf_destroy(conf);
    /* the form an API round trip gives a number */
    conf = load_ok("checks:\n  - {id: c, type: redis, url: 'redis://h', evictions_warn: 1.5e+01}\n");
    r = conf->checks[0].settings;
    assert_true(r->evictions_warn == 15);
    conf_destroy(conf);
}

static void test_redis_config_errors_have_positions(void **state)
{
    (void)state;
    expect_one_error("checks:\n"
                     "  - id: c\n"
                     "    type: redis\n"
                     "    url: redis://h\n"
                     "    hit_ratio_warn: 0.4\n"
                     "    hit_ratio_crit: 0.6\n",
                     5, 21, "hit_ratio_warn (0.4) must not be below hit_ratio_crit (0.6)");
    /* only crit given: the default warn (0.8) is below it */
    expect_one_error("checks:\n"
                     "  - id: c\n"
                     "    type: redis\n"
                     "    url: redis://h\n"
                     "    hit_ratio_crit: 0.9\n",
                     5, 21, "hit_ratio_warn (0.8) must not be below hit_ratio_crit (0.9)");
    expect_one_error("checks:\n"
                     "  - id: c\n"
                     "    type: redis\n"
                     "    url: redis://h\n"
                     "    memory_crit: 0.5\n",
                     5, 18, "memory_warn (0.8) must not be above memory_crit (0.5)");
    expect_one_error("checks:\n"
                     "  - id: c\n"
                     "    type: redis\n"
                     "    url: redis://h\n"
                     "    memory_warn: 0.99\n",
                     5, 18, "memory_warn (0.99) must not be above memory_crit (0.95)");
    expect_one_error("checks:\n"
                     "  - id: c\n"
                     "    type: redis\n"
                     "    url: 'redis://:" PASSWORD "@h:99999'\n",
                     4, 10, "url port must be a number from 1 to 65535");
    expect_one_error("checks:\n"
                     "  - id: c\n"
                     "    type: redis\n"
                     "    url: 'http://:" PASSWORD "@h'\n",
                     4, 10, "url must start with redis://");
    expect_one_error("checks:\n"
                     "  - id: c\n"
                     "    type: redis\n",
                     2, 5, "url");
    expect_one_error("checks:\n"
                     "  - id: c\n"
                     "    type: redis\n"
                     "    url: redis://h\n"
                     "    ca_file: /etc/ssl/ca.pem\n",
                     5, 14, "ca_file is only used with rediss://");
    expect_one_error("checks:\n"
                     "  - id: c\n"
                     "    type: redis\n"
                     "    url: rediss://h\n"
                     "    server_name: 'bad name'\n",
                     5, 18, "server_name");
    expect_one_error("checks:\n"
                     "  - id: c\n"
                     "    type: redis\n"
                     "    url: redis://h\n"
                     "    evictions_warn: -1\n",
                     5, 21, "evictions per second");
    expect_one_error("checks:\n"
                     "  - id: c\n"
                     "    type: redis\n"
                     "    url: redis://h\n"
                     "    evictions_warn: 0x10\n",
                     5, 21, "evictions per second");
    expect_one_error("checks:\n"
                     "  - id: c\n"
                     "    type: redis\n"
                     "    url: redis://h\n"
                     "    evictions_warn: inf\n",
                     5, 21, "evictions per second");
    expect_one_error("checks:\n"
                     "  - id: c\n"
                     "    type: redis\n"
                     "    url: redis://h\n"
                     "    hit_ratio_warn: 1.5\n",
                     5, 21, "ratio");
}

/* ---- runs against redis-server ---- */

static void test_redis_real_server_is_up_with_values(void **state)
{
    struct fx *f = *state;
    struct redis_server srv;
    redis_server_start(&srv, (const char *const[]){"--maxmemory", "100mb", NULL});
    char url[128];
    struct conf_check c = redis_check(f, url, sizeof(url), "redis://127.0.0.1:%d/3", srv.port);
    struct result r;
    run_check(f, &c, &r, 5000);
    if (r.s.result != SAMPLE_UP)
        fail_msg("error: %s", r.s.error);
    assert_string_equal(r.s.error, "");
    assert_true(sample_v(&r.s, "used_memory_bytes") > 100000);
    assert_true(sample_v(&r.s, "maxmemory_bytes") == 100.0 * 1024 * 1024);
    double ratio = sample_v(&r.s, "memory_used_ratio");
    assert_true(ratio > 0 && ratio < 0.1);
    assert_true(sample_v(&r.s, "keyspace_hit_ratio") == -1);      /* no lookup yet */
    assert_true(sample_v(&r.s, "evicted_keys_per_second") == -1); /* first run */
    assert_true(sample_v(&r.s, "connected_clients") >= 1);
    assert_true(sample_v(&r.s, "rdb_last_save_age_seconds") >= 0);
    assert_true(sample_v(&r.s, "rdb_last_bgsave_ok") == 1);
    double ping = sample_v(&r.s, "latency_seconds");
    assert_true(ping > 0 && ping < 1);
    assert_true(r.s.latency_ms >= ping * 1000);
    /* the second run has a rate (nothing evicted: 0) */
    run_check(f, &c, &r, 5000);
    assert_int_equal(r.s.result, SAMPLE_UP);
    assert_true(sample_v(&r.s, "evicted_keys_per_second") == 0);
    /* a database the server does not have */
    c = redis_check(f, url, sizeof(url), "redis://127.0.0.1:%d/99", srv.port);
    run_check(f, &c, &r, 5000);
    assert_int_equal(r.s.result, SAMPLE_DOWN);
    assert_string_equal(r.s.error, "SELECT 99: ERR DB index is out of range");
    redis_server_stop(&srv);
}

static void test_redis_password_right_wrong_and_missing(void **state)
{
    struct fx *f = *state;
    struct redis_server srv;
    redis_server_start(&srv, (const char *const[]){"--requirepass", PASSWORD, NULL});
    char url[128];
    struct result r;
    struct conf_check c = redis_check(f, url, sizeof(url), "redis://:" PASSWORD "@127.0.0.1:%d", srv.port);
    run_check(f, &c, &r, 5000);
    if (r.s.result != SAMPLE_UP)
        fail_msg("error: %s", r.s.error);
    /* the ACL form: AUTH default password */
    c = redis_check(f, url, sizeof(url), "redis://default:" PASSWORD "@127.0.0.1:%d/1", srv.port);
    run_check(f, &c, &r, 5000);
    assert_int_equal(r.s.result, SAMPLE_UP);
    c = redis_check(f, url, sizeof(url), "redis://:wrong-pa55word@127.0.0.1:%d", srv.port);
    run_check(f, &c, &r, 5000);
    assert_int_equal(r.s.result, SAMPLE_DOWN);
    if (strncmp(r.s.error, "AUTH: WRONGPASS", 15) != 0)
        fail_msg("error: %s", r.s.error);
    assert_null(strstr(r.s.error, "pa55"));
    c = redis_check(f, url, sizeof(url), "redis://127.0.0.1:%d", srv.port);
    run_check(f, &c, &r, 5000);
    assert_int_equal(r.s.result, SAMPLE_DOWN);
    assert_string_equal(r.s.error, "PING: NOAUTH Authentication required.");
    redis_server_stop(&srv);
}

/* ---- runs against scripted servers ---- */

static void run_fake(struct fx *f, const char *const *replies, const size_t *lens, size_t n, int64_t timeout_ms,
                     struct result *r)
{
    struct fake fake;
    fake_start(&fake, replies, lens, n);
    char url[128];
    struct conf_check c = redis_check(f, url, sizeof(url), "redis://127.0.0.1:%d", fake.port);
    c.timeout_ms = timeout_ms;
    run_check(f, &c, r, 5000);
    fake_stop(&fake);
}

static void test_redis_bad_replies_are_down_with_the_reason(void **state)
{
    struct fx *f = *state;
    struct result r;
    run_fake(f, (const char *const[]){"-LOADING Redis is loading the dataset in memory\r\n"}, NULL, 1, 3000, &r);
    assert_int_equal(r.s.result, SAMPLE_DOWN);
    assert_string_equal(r.s.error, "PING: LOADING Redis is loading the dataset in memory");
    run_fake(f, (const char *const[]){"+PANG\r\n"}, NULL, 1, 3000, &r);
    assert_string_equal(r.s.error, "PING: expected PONG, got \"PANG\"");
    run_fake(f, (const char *const[]){":7\r\n"}, NULL, 1, 3000, &r);
    assert_string_equal(r.s.error, "PING: expected PONG, got the integer 7");
    /* an array (hiredis 0.14 would allocate the count claimed) */
    run_fake(f, (const char *const[]){"*2147483647\r\n"}, NULL, 1, 3000, &r);
    assert_string_equal(r.s.error, "PING: unexpected reply (an array)");
    run_fake(f, (const char *const[]){"xyz\r\n"}, NULL, 1, 3000, &r);
    assert_int_equal(strncmp(r.s.error, "PING: protocol error: ", 22), 0);
    run_fake(f, (const char *const[]){"+PONG\r\n", "-ERR unknown command 'INFO'\r\n"}, NULL, 2, 3000, &r);
    assert_string_equal(r.s.error, "INFO: ERR unknown command 'INFO'");
    assert_true(sample_v(&r.s, "latency_seconds") >= 0); /* PING answered */
    run_fake(f, (const char *const[]){"+PONG\r\n", "$5\r\nhello\r\n"}, NULL, 2, 3000, &r);
    assert_string_equal(r.s.error, "INFO: no field this check reads in a 5-byte reply");
    /* silent after PONG, or from the start */
    run_fake(f, (const char *const[]){"+PONG\r\n"}, NULL, 1, 300, &r);
    assert_string_equal(r.s.error, "timeout after 300 ms (INFO)");
    run_fake(f, NULL, NULL, 0, 300, &r);
    assert_string_equal(r.s.error, "timeout after 300 ms (PING)");
    assert_true(r.s.latency_ms >= 290 && r.s.latency_ms < 2000);
}

/* A failing snapshot (rdb_last_bgsave_status:err) degrades the check and
 * says so; with it ok the same reply is up. */
static void test_redis_failed_background_save_is_degraded(void **state)
{
    struct fx *f = *state;
    static const char err_info[] = "$68\r\nused_memory:1000\r\nmaxmemory:0\r\nrdb_last_bgsave_status:err\r\nx:1234567\r\n";
    static const char ok_info[] = "$68\r\nused_memory:1000\r\nmaxmemory:0\r\nrdb_last_bgsave_status:ok\r\nx:12345678\r\n";
    struct result r;
    run_fake(f, (const char *const[]){"+PONG\r\n", err_info}, NULL, 2, 3000, &r);
    assert_int_equal(r.s.result, SAMPLE_DEGRADED);
    assert_string_equal(r.s.error, "the last background save failed (rdb_last_bgsave_status:err)");
    assert_true(sample_v(&r.s, "rdb_last_bgsave_ok") == 0);
    run_fake(f, (const char *const[]){"+PONG\r\n", ok_info}, NULL, 2, 3000, &r);
    assert_int_equal(r.s.result, SAMPLE_UP);
    assert_true(sample_v(&r.s, "rdb_last_bgsave_ok") == 1);
}

static void test_redis_info_past_its_cap_is_down(void **state)
{
    struct fx *f = *state;
    size_t big = PROBE_REDIS_INFO_MAX + 4096;
    char *info = malloc(big + 64);
    assert_non_null(info);
    int head = snprintf(info, 64, "$%zu\r\n", big);
    memset(info + head, 'x', big);
    memcpy(info + head + big, "\r\n", 2);
    struct result r;
    run_fake(f, (const char *const[]){"+PONG\r\n", info}, (const size_t[]){7, (size_t)head + big + 2}, 2, 3000, &r);
    free(info);
    assert_int_equal(r.s.result, SAMPLE_DOWN);
    assert_string_equal(r.s.error, "INFO: reply larger than 1048576 bytes");
    /* a PING reply past 64 KiB */
    char *pong = malloc(70000);
    assert_non_null(pong);
    pong[0] = '+';
    memset(pong + 1, 'P', 69999);
    run_fake(f, (const char *const[]){pong}, (const size_t[]){70000}, 1, 3000, &r);
    free(pong);
    assert_string_equal(r.s.error, "PING: reply larger than 65536 bytes");
}

static void test_redis_refused_and_invalid_url_are_down(void **state)
{
    struct fx *f = *state;
    int held;
    char url[128];
    struct conf_check c = redis_check(f, url, sizeof(url), "redis://127.0.0.1:%d", test_port_closed(&held));
    struct result r;
    run_check(f, &c, &r, 5000);
    close(held);
    assert_int_equal(r.s.result, SAMPLE_DOWN);
    assert_string_equal(r.s.error, "connection refused");
    assert_true(sample_v(&r.s, "latency_seconds") == -1);
    c = check_defaults(f, &probe_redis_type);
    RC(c)->url = "redis://:" PASSWORD "@h:0";
    run_check(f, &c, &r, 5000);
    assert_int_equal(r.s.result, SAMPLE_DOWN);
    assert_string_equal(r.s.error, "url port must be a number from 1 to 65535");
}

/* rediss:// to a server that does not speak TLS: the handshake fails. */
static void test_redis_tls_to_plain_server_fails_the_handshake(void **state)
{
    struct fx *f = *state;
    struct fake fake;
    fake_start(&fake, (const char *const[]){"-ERR wrong\r\n"}, NULL, 1);
    char url[128];
    struct conf_check c = redis_check(f, url, sizeof(url), "rediss://127.0.0.1:%d", fake.port);
    struct result r;
    run_check(f, &c, &r, 10000);
    fake_stop(&fake);
    assert_int_equal(r.s.result, SAMPLE_DOWN);
    if (strncmp(r.s.error, "TLS handshake", 13) != 0)
        fail_msg("error: %s", r.s.error);
}

static void test_redis_cancel_and_close_with_runs_in_flight(void **state)
{
    struct fx *f = *state;
    struct fake silent;
    fake_start(&silent, NULL, NULL, 0);
    char u1[128], u2[128], u3[128], u4[128];
    struct result r[4] = {{0}};
    /* resolving */
    struct conf_check c = redis_check(f, u1, sizeof(u1), "redis://localhost:%d", silent.port);
    struct probe_run *resolving = probe_start(f->e, &c, on_result, &r[0]);
    assert_non_null(resolving);
    probe_cancel(resolving);
    /* connecting (canceled before the loop ran) */
    c = redis_check(f, u2, sizeof(u2), "redis://127.0.0.1:%d", silent.port);
    struct probe_run *connecting = probe_start(f->e, &c, on_result, &r[1]);
    probe_cancel(connecting);
    /* connected, waiting for PONG */
    c = redis_check(f, u3, sizeof(u3), "redis://127.0.0.1:%d", silent.port);
    int seen = atomic_load(&silent.conns);
    struct probe_run *waiting = probe_start(f->e, &c, on_result, &r[2]);
    uv_update_time(&f->loop);
    for (uint64_t end = uv_now(&f->loop) + 5000; atomic_load(&silent.conns) <= seen && uv_now(&f->loop) < end;)
        run_for(f, 5);
    assert_true(atomic_load(&silent.conns) > seen);
    run_for(f, 20);
    probe_cancel(waiting);
    probe_cancel(waiting); /* twice is harmless */
    /* loading the TLS context, left running: the engine's close cancels it */
    c = redis_check(f, u4, sizeof(u4), "rediss://127.0.0.1:%d", silent.port);
    assert_non_null(probe_start(f->e, &c, on_result, &r[3]));
    struct probe_stats st;
    probe_stats_get(f->e, &st);
    assert_int_equal(st.started, 4);
    assert_int_equal(st.canceled, 3);
    assert_int_equal(st.in_flight, 1);
    fx_close_engine(f);
    for (int i = 0; i < 4; i++)
        assert_int_equal(r[i].done, 0);
    fake_stop(&silent);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
        T(test_redis_url_parses_every_part),
        T(test_redis_bad_urls_say_why_without_the_password),
        T(test_redis_target_hides_the_password_and_url_is_secret),
        T(test_redis_info_reads_the_fields_it_knows),
        T(test_redis_info_skips_garbage_and_huge_numbers),
        T(test_redis_eviction_rate_resets_on_restart),
        T(test_redis_defaults),
        T(test_redis_config_errors_have_positions),
        T(test_redis_real_server_is_up_with_values),
        T(test_redis_password_right_wrong_and_missing),
        T(test_redis_bad_replies_are_down_with_the_reason),
        T(test_redis_failed_background_save_is_degraded),
        T(test_redis_info_past_its_cap_is_down),
        T(test_redis_refused_and_invalid_url_are_down),
        T(test_redis_tls_to_plain_server_fails_the_handshake),
        T(test_redis_cancel_and_close_with_runs_in_flight),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
