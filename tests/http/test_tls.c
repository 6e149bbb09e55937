/*
 * tests/http/test_tls: the HTTP server's TLS listener. Self-signed
 * certificates for 127.0.0.1/localhost are made with the openssl CLI in a
 * temp dir at start. The server runs on a loop in the main thread; a helper
 * thread is the client: libcurl (easy API, CAINFO = the test certificate)
 * or a raw OpenSSL/socket client for pipelining, ALPN, garbage and
 * half-finished handshakes. Covers HSTS, keep-alive, big bodies, reload,
 * bad files and the handshake error counter. The client waits for the
 * server's counters (tests/http/server_watch.h), never sleeps.
 */
#include "http/http_int.h"
#include "http/server.h"
#include "http/server_watch.h"

#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <cmocka.h>

static char DIR_[256];
static char CERT_A[300], KEY_A[300], CERT_B[300], KEY_B[300], LIVE_CERT[300], LIVE_KEY[300];
static char KEY_ENC[300], NOT_PEM[300];

/* ---- certificates ----------------------------------------------------------- */

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    return system(cmd);
}

static void make_cert(const char *cert, const char *key, const char *cn)
{
    int rc = sh("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 "
                "-subj '/CN=%s' -addext 'subjectAltName=DNS:localhost,IP:127.0.0.1' "
                "-keyout '%s' -out '%s' 2>/dev/null",
                cn, key, cert);
    if (rc != 0) {
        fprintf(stderr, "openssl req failed (%d)\n", rc);
        exit(1);
    }
}

static void copy_file(const char *from, const char *to)
{
    char tmp[400];
    snprintf(tmp, sizeof(tmp), "%s.tmp", to);
    FILE *in = fopen(from, "rb"), *out = fopen(tmp, "wb");
    assert_non_null(in);
    assert_non_null(out);
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
        assert_int_equal(fwrite(buf, 1, n, out), n);
    fclose(in);
    fclose(out);
    assert_int_equal(rename(tmp, to), 0);  /* atomic, as a deploy would do */
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int global_setup(void **state)
{
    snprintf(DIR_, sizeof(DIR_), "/tmp/opshub-tls-XXXXXX");
    if (!mkdtemp(DIR_))
        return -1;
#define P(var, name) snprintf(var, sizeof(var), "%s/%s", DIR_, name)
    P(CERT_A, "a.crt");
    P(KEY_A, "a.key");
    P(CERT_B, "b.crt");
    P(KEY_B, "b.key");
    P(LIVE_CERT, "live.crt");
    P(LIVE_KEY, "live.key");
    P(KEY_ENC, "enc.key");
    P(NOT_PEM, "notpem.crt");
#undef P
    make_cert(CERT_A, KEY_A, "opshub-test-a");
    make_cert(CERT_B, KEY_B, "opshub-test-b");
    if (sh("openssl pkey -in '%s' -aes256 -passout pass:secret -out '%s' 2>/dev/null", KEY_A, KEY_ENC) != 0)
        return -1;
    FILE *f = fopen(NOT_PEM, "w");
    if (!f)
        return -1;
    fputs("this is not a certificate\n", f);
    fclose(f);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return 0;
}

static int global_teardown(void **state)
{
    curl_global_cleanup();
    sh("rm -rf '%s'", DIR_);
    return 0;
}

/* ---- fixture: server on the main thread's loop --------------------------------- */

struct fixture;
typedef void (*client_fn)(struct fixture *f);

struct fetch {
    CURLcode rc;
    long status;
    long connects;       /* CURLINFO_NUM_CONNECTS: 0 when the connection was reused */
    char head[4096];
    char body[512];      /* first bytes */
    size_t body_len;
    unsigned long sum;   /* of all body bytes */
    size_t head_len;
};

struct fixture {
    uv_loop_t loop;
    struct http_server *srv;
    struct http_server_opts opts;
    int port;
    uv_async_t done, close_now;
    uv_timer_t settle;
    int settle_ticks;
    bool server_closed, close_cb_ran, early_close;
    pthread_t th;
    client_fn client;
    struct http_server_stats stats;
    struct fetch r[8];
    int n;
    int errors;
    int ints[8];
    long ms[4];
    char text[256];
    struct server_watch watch;
};

static struct fixture *F;

static unsigned long checksum(const unsigned char *p, size_t n)
{
    unsigned long s = 0;
    for (size_t i = 0; i < n; i++)
        s = s * 31 + p[i];
    return s;
}

#define BIG_RESPONSE (2u * 1024 * 1024)

static void deferred_closed(uv_handle_t *h)
{
    free(h);
}

static void deferred_fire(uv_timer_t *t)
{
    struct http_request *req = t->data;
    http_response_send(req, 200, "text/plain", NULL, "deferred", 8);
    http_request_unref(req);
    uv_close((uv_handle_t *)t, deferred_closed);
}

static void handler(void *data, struct http_request *req)
{
    struct fixture *f = data;
    char out[512];
    if (strcmp(req->path, "/defer") == 0) {
        uv_timer_t *t = malloc(sizeof(*t));
        http_request_ref(req);
        uv_timer_init(&f->loop, t);
        t->data = req;
        uv_timer_start(t, deferred_fire, 30, 0);
        return;
    }
    if (strcmp(req->path, "/reload") == 0) {
        char err[256] = "";
        int rc = http_server_tls_reload(f->srv, err, sizeof(err));
        if (rc == 0)
            http_response_send(req, 200, "text/plain", NULL, "reloaded", 8);
        else
            http_response_send(req, 500, "text/plain", NULL, err, strlen(err));
        return;
    }
    if (strcmp(req->path, "/big") == 0) {
        char *big = malloc(BIG_RESPONSE);
        for (size_t i = 0; i < BIG_RESPONSE; i++)
            big[i] = (char)('a' + i % 26);
        http_response_send(req, 200, "application/octet-stream", NULL, big, BIG_RESPONSE);
        free(big);
        return;
    }
    if (strcmp(req->path, "/echo") == 0) {
        int n = snprintf(out, sizeof(out), "len=%zu sum=%lu", req->body_len,
                         checksum((const unsigned char *)req->body, req->body_len));
        http_response_send(req, 200, "text/plain", NULL, out, (size_t)n);
        return;
    }
    int n = snprintf(out, sizeof(out), "hello tls %s", req->path);
    http_response_send(req, 200, "text/plain", NULL, out, (size_t)n);
}

static void on_server_closed(void *data)
{
    struct fixture *f = data;
    f->close_cb_ran = true;
}

static void close_server(struct fixture *f)
{
    if (f->server_closed)
        return;
    http_server_stats_get(f->srv, &f->stats);
    f->server_closed = true;
    server_watch_detach(&f->watch);
    http_server_close(f->srv, on_server_closed, f);
}

static void on_close_now(uv_async_t *a)
{
    struct fixture *f = a->data;
    f->early_close = true;
    close_server(f);
}

/* The client has finished: give the server up to 3 s to notice every
 * client close (so connections_open must reach 0), then close it. */
static void settle_cb(uv_timer_t *t)
{
    struct fixture *f = t->data;
    struct http_server_stats st;
    if (!f->server_closed) {
        http_server_stats_get(f->srv, &st);
        if (st.connections_open > 0 && ++f->settle_ticks < 600)
            return;
    }
    uv_timer_stop(t);
    close_server(f);
    uv_close((uv_handle_t *)&f->settle, NULL);
}

static void on_done(uv_async_t *a)
{
    struct fixture *f = a->data;
    uv_close((uv_handle_t *)&f->done, NULL);
    uv_close((uv_handle_t *)&f->close_now, NULL);
    server_watch_close(&f->watch);
    uv_timer_init(&f->loop, &f->settle);
    f->settle.data = f;
    uv_timer_start(&f->settle, settle_cb, 0, 5);
}

static void *client_main(void *arg)
{
    struct fixture *f = arg;
    f->client(f);
    uv_async_send(&f->done);
    return NULL;
}

static void run(struct fixture *f, client_fn fn)
{
    if (!f->opts.tls_cert_file) {
        copy_file(CERT_A, LIVE_CERT);
        copy_file(KEY_A, LIVE_KEY);
        f->opts.tls_cert_file = LIVE_CERT;
        f->opts.tls_key_file = LIVE_KEY;
    }
    assert_int_equal(uv_loop_init(&f->loop), 0);
    f->srv = http_server_new(&f->loop, &f->opts, handler, f);
    assert_non_null(f->srv);
    char err[300] = "";
    int rc = http_server_listen(f->srv, "127.0.0.1:0", err, sizeof(err));
    if (rc != 0)
        print_error("listen: %s\n", err);
    assert_int_equal(rc, 0);
    f->port = http_server_port(f->srv);
    assert_true(f->port > 0);
    uv_async_init(&f->loop, &f->done, on_done);
    uv_async_init(&f->loop, &f->close_now, on_close_now);
    f->done.data = f->close_now.data = f;
    server_watch_start(&f->watch, &f->loop, f->srv);
    f->client = fn;
    assert_int_equal(pthread_create(&f->th, NULL, client_main, f), 0);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    pthread_join(f->th, NULL);
    assert_true(f->close_cb_ran);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    /* Every connection, and with it every SSL, was gone before the end
     * (stats are taken when the close starts). */
    if (!f->early_close)
        assert_int_equal(f->stats.connections_open, 0);
}

static int setup(void **state)
{
    F = calloc(1, sizeof(*F));
    *state = F;
    return F ? 0 : -1;
}

static int teardown(void **state)
{
    free(*state);
    return 0;
}

/* ---- curl client ------------------------------------------------------------------ */

static size_t on_body(char *p, size_t size, size_t nmemb, void *userdata)
{
    struct fetch *r = userdata;
    size_t n = size * nmemb;
    for (size_t i = 0; i < n; i++) {
        if (r->body_len + i < sizeof(r->body) - 1)
            r->body[r->body_len + i] = p[i];
        r->sum = r->sum * 31 + (unsigned char)p[i];
    }
    r->body_len += n;
    return n;
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *userdata)
{
    struct fetch *r = userdata;
    size_t n = size * nmemb;
    if (r->head_len + n < sizeof(r->head)) {
        memcpy(r->head + r->head_len, p, n);
        r->head_len += n;
        r->head[r->head_len] = '\0';
    }
    return n;
}

static CURL *easy_new(const char *cainfo)
{
    CURL *h = curl_easy_init();
    curl_easy_setopt(h, CURLOPT_CAINFO, cainfo);
    curl_easy_setopt(h, CURLOPT_CAPATH, NULL);
    curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROXY, "");
    return h;
}

/* One request on h; the result goes to f->r[f->n++]. */
static struct fetch *fetch(struct fixture *f, CURL *h, const char *path, const char *post, size_t post_len)
{
    struct fetch *r = &f->r[f->n < 8 ? f->n : 7];
    f->n++;
    memset(r, 0, sizeof(*r));
    char url[256];
    snprintf(url, sizeof(url), "https://127.0.0.1:%d%s", f->port, path);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
    if (post) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, post);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)post_len);
    } else {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    }
    r->rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
    curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &r->connects);
    return r;
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* ---- raw clients ------------------------------------------------------------------- */

static int tcp_connect(struct fixture *f)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)f->port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval tv = {.tv_sec = 5};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
        f->errors++;
    return fd;
}

/* Reads until the server closes; 1 when it did (EOF or reset), 0 on timeout. */
static int drain_until_closed(int fd)
{
    char tmp[4096];
    for (;;) {
        ssize_t n = recv(fd, tmp, sizeof(tmp), 0);
        if (n == 0 || (n < 0 && errno == ECONNRESET))
            return 1;
        if (n < 0)
            return 0;
    }
}

static SSL_CTX *client_ctx(const char *cafile)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_load_verify_locations(ctx, cafile, NULL);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    return ctx;
}

/* A real ClientHello, produced with memory BIOs (nothing sent). */
static size_t client_hello(unsigned char *out, size_t n)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    SSL *ssl = SSL_new(ctx);
    BIO *in = BIO_new(BIO_s_mem()), *wb = BIO_new(BIO_s_mem());
    SSL_set_bio(ssl, in, wb);
    SSL_set_connect_state(ssl);
    SSL_do_handshake(ssl);
    int len = BIO_read(wb, out, (int)n);
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    ERR_clear_error();
    return len > 0 ? (size_t)len : 0;
}

/* Reads one Content-Length framed response through ssl into buf (which
 * keeps leftovers: buf/len in and out). Returns the status or -1. */
static int ssl_read_response(SSL *ssl, char *buf, size_t cap, size_t *len, char *body, size_t body_cap)
{
    char *end;
    while (!(end = memmem(buf, *len, "\r\n\r\n", 4))) {
        int n = SSL_read(ssl, buf + *len, (int)(cap - *len));
        if (n <= 0)
            return -1;
        *len += (size_t)n;
    }
    size_t hlen = (size_t)(end - buf) + 4;
    const char *cl = strcasestr(buf, "\r\nContent-Length: ");
    size_t blen = cl && cl < end ? strtoul(cl + 18, NULL, 10) : 0;
    while (*len < hlen + blen) {
        int n = SSL_read(ssl, buf + *len, (int)(cap - *len));
        if (n <= 0)
            return -1;
        *len += (size_t)n;
    }
    int status = atoi(buf + 9);
    snprintf(body, body_cap, "%.*s", (int)blen, buf + hlen);
    memmove(buf, buf + hlen + blen, *len - hlen - blen);
    *len -= hlen + blen;
    return status;
}

/* ---- tests ---------------------------------------------------------------------------- */

static void c_get(struct fixture *f)
{
    CURL *h = easy_new(CERT_A);
    for (int i = 0; i < 3; i++)
        fetch(f, h, i == 1 ? "/two" : "/one", NULL, 0);
    curl_easy_cleanup(h);
}

static void test_tls_serves_get_with_hsts_and_keeps_alive(void **state)
{
    run(F, c_get);
    assert_int_equal(F->n, 3);
    for (int i = 0; i < 3; i++) {
        struct fetch *r = &F->r[i];
        assert_int_equal(r->rc, CURLE_OK);
        assert_int_equal(r->status, 200);
        assert_non_null(strstr(r->head, "\r\nStrict-Transport-Security: max-age=31536000\r\n"));
        assert_non_null(strstr(r->head, "\r\nX-Content-Type-Options: nosniff\r\n"));
        assert_non_null(strstr(r->head, "\r\nContent-Security-Policy: default-src 'none'; frame-ancestors 'none'\r\n"));
        assert_null(strstr(r->head, "unsafe-inline"));
    }
    assert_string_equal(F->r[0].body, "hello tls /one");
    assert_string_equal(F->r[1].body, "hello tls /two");
    /* One TLS connection for the three requests. */
    assert_int_equal(F->r[0].connects, 1);
    assert_int_equal(F->r[1].connects, 0);
    assert_int_equal(F->r[2].connects, 0);
    assert_int_equal(F->stats.connections_accepted, 1);
    assert_int_equal(F->stats.requests, 3);
    assert_int_equal(F->stats.tls_handshake_errors, 0);
}

static void c_pipelined(struct fixture *f)
{
    SSL_CTX *ctx = client_ctx(CERT_A);
    static const unsigned char alpn[] = "\x02h2\x08http/1.1";
    SSL_CTX_set_alpn_protos(ctx, alpn, sizeof(alpn) - 1);
    int fd = tcp_connect(f);
    SSL *ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    SSL_set1_host(ssl, "localhost");
    if (SSL_connect(ssl) != 1) {
        f->errors++;
        goto out;
    }
    const unsigned char *sel = NULL;
    unsigned sel_len = 0;
    SSL_get0_alpn_selected(ssl, &sel, &sel_len);
    snprintf(f->text, sizeof(f->text), "%.*s", (int)sel_len, sel ? (const char *)sel : "");
    /* Two requests in one TLS record, a deferred one first: the second
     * waits decrypted in the backlog. A third in its own record waits
     * undecrypted behind them. Then one more after the answers. */
    const char two[] = "GET /defer HTTP/1.1\r\nHost: x\r\n\r\n"
                       "GET /p1 HTTP/1.1\r\nHost: x\r\n\r\n";
    const char third[] = "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello";
    int on = 1, off = 0;
    setsockopt(fd, IPPROTO_TCP, TCP_CORK, &on, sizeof(on));  /* both records in one segment */
    SSL_write(ssl, two, (int)sizeof(two) - 1);
    SSL_write(ssl, third, (int)sizeof(third) - 1);
    setsockopt(fd, IPPROTO_TCP, TCP_CORK, &off, sizeof(off));
    static char buf[1 << 16];
    size_t len = 0;
    char body[256];
    for (int i = 0; i < 3; i++) {
        f->ints[i] = ssl_read_response(ssl, buf, sizeof(buf), &len, body, sizeof(body));
        snprintf(f->r[i].body, sizeof(f->r[i].body), "%s", body);
    }
    const char close_req[] = "GET /last HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    SSL_write(ssl, close_req, (int)sizeof(close_req) - 1);
    f->ints[4] = ssl_read_response(ssl, buf, sizeof(buf), &len, body, sizeof(body));
    snprintf(f->r[3].body, sizeof(f->r[3].body), "%s", body);
    /* Connection: close ends with the server's close_notify. */
    char tmp[16];
    int n = SSL_read(ssl, tmp, sizeof(tmp));
    f->ints[3] = n == 0 && SSL_get_error(ssl, n) == SSL_ERROR_ZERO_RETURN;
out:
    SSL_free(ssl);
    close(fd);
    SSL_CTX_free(ctx);
}

static void test_tls_pipelined_pair_alpn_and_close_notify(void **state)
{
    run(F, c_pipelined);
    assert_int_equal(F->errors, 0);
    assert_string_equal(F->text, "http/1.1");
    assert_int_equal(F->ints[0], 200);
    assert_int_equal(F->ints[1], 200);
    assert_int_equal(F->ints[2], 200);
    assert_int_equal(F->ints[4], 200);
    assert_string_equal(F->r[0].body, "deferred");
    assert_string_equal(F->r[1].body, "hello tls /p1");
    assert_string_equal(F->r[2].body, "len=5 sum=99162322");
    assert_string_equal(F->r[3].body, "hello tls /last");
    assert_int_equal(F->ints[3], 1);
    assert_int_equal(F->stats.requests, 4);
}

#define UPLOAD (1024u * 1024)

static void c_bodies(struct fixture *f)
{
    CURL *h = easy_new(CERT_A);
    unsigned char *up = malloc(UPLOAD);
    for (size_t i = 0; i < UPLOAD; i++)
        up[i] = (unsigned char)(i * 7 + (i >> 10));
    f->ints[0] = (int)(checksum(up, UPLOAD) & 0x7fffffff);
    snprintf(f->text, sizeof(f->text), "len=%u sum=%lu", UPLOAD, checksum(up, UPLOAD));
    fetch(f, h, "/echo", (const char *)up, UPLOAD);
    free(up);
    fetch(f, h, "/big", NULL, 0);
    fetch(f, h, "/after", NULL, 0);
    curl_easy_cleanup(h);
}

static void test_tls_carries_1mib_upload_and_2mib_download(void **state)
{
    run(F, c_bodies);
    assert_int_equal(F->r[0].rc, CURLE_OK);
    assert_int_equal(F->r[0].status, 200);
    assert_string_equal(F->r[0].body, F->text);
    assert_int_equal(F->r[1].rc, CURLE_OK);
    assert_int_equal(F->r[1].body_len, BIG_RESPONSE);
    unsigned long want = 0;
    for (size_t i = 0; i < BIG_RESPONSE; i++)
        want = want * 31 + (unsigned char)('a' + i % 26);
    assert_true(F->r[1].sum == want);
    assert_string_equal(F->r[2].body, "hello tls /after");
    assert_int_equal(F->r[2].connects, 0);
}

static void c_plain_to_tls(struct fixture *f)
{
    int fd = tcp_connect(f);
    const char req[] = "GET /plain HTTP/1.1\r\nHost: x\r\n\r\n";
    send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL);
    char tmp[512];
    ssize_t n = recv(fd, tmp, sizeof(tmp) - 1, 0);
    /* Whatever comes back (a TLS alert at most) is no HTTP response. */
    f->ints[0] = n > 0 && memcmp(tmp, "HTTP/", 5) == 0;
    f->ints[1] = drain_until_closed(fd) || n <= 0;
    close(fd);
    CURL *h = easy_new(CERT_A);
    fetch(f, h, "/still-up", NULL, 0);
    curl_easy_cleanup(h);
}

static void test_tls_plain_http_on_tls_port_fails_and_server_stays_up(void **state)
{
    run(F, c_plain_to_tls);
    assert_int_equal(F->ints[0], 0);
    assert_int_equal(F->ints[1], 1);
    assert_int_equal(F->r[0].status, 200);
    assert_string_equal(F->r[0].body, "hello tls /still-up");
    assert_int_equal(F->stats.tls_handshake_errors, 1);
    assert_int_equal(F->stats.requests, 1);
}

/* Waits until the server has no connection left and has counted `errors`
 * failed handshakes in all; a miss is an error of the client. */
static void gone_and_counted(struct fixture *f, uint64_t errors)
{
    if (!server_watch_until(&f->watch, &f->watch.open, 0, 0, 5000) ||
        !server_watch_until(&f->watch, &f->watch.tls_errors, errors, errors, 5000))
        f->errors++;
}

static void c_garbage(struct fixture *f)
{
    /* Random bytes. */
    int fd = tcp_connect(f);
    unsigned char junk[4096];
    if (getrandom(junk, sizeof(junk), 0) != (ssize_t)sizeof(junk))
        f->errors++;
    junk[0] = 0x16;  /* looks like a handshake record, the rest is noise */
    send(fd, junk, sizeof(junk), MSG_NOSIGNAL);
    f->ints[0] = drain_until_closed(fd);
    close(fd);
    gone_and_counted(f, 1);
    /* Half a ClientHello, then gone. */
    unsigned char hello[4096];
    size_t hl = client_hello(hello, sizeof(hello));
    if (hl < 100)
        f->errors++;
    fd = tcp_connect(f);
    send(fd, hello, hl / 2, MSG_NOSIGNAL);
    if (!server_watch_settled(&f->watch, 2000))  /* the server has read the half */
        f->errors++;
    close(fd);
    gone_and_counted(f, 2);
    /* A whole ClientHello, the ServerHello unread, then gone. */
    fd = tcp_connect(f);
    send(fd, hello, hl, MSG_NOSIGNAL);
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, 5000) != 1)  /* the ServerHello has come */
        f->errors++;
    close(fd);
    gone_and_counted(f, 3);
    /* Connect and leave without a byte: a port check, not an error. */
    fd = tcp_connect(f);
    if (!server_watch_until(&f->watch, &f->watch.accepted, 4, 4, 5000))
        f->errors++;
    close(fd);
    gone_and_counted(f, 3);
    /* Half a ClientHello, then silence: the handshake deadline. */
    fd = tcp_connect(f);
    long t0 = now_ms();
    send(fd, hello, hl / 2, MSG_NOSIGNAL);
    f->ints[1] = drain_until_closed(fd);
    f->ms[0] = now_ms() - t0;
    close(fd);
    gone_and_counted(f, 4);
    CURL *h = easy_new(CERT_A);
    fetch(f, h, "/ok", NULL, 0);
    curl_easy_cleanup(h);
}

static void test_tls_garbage_and_abandoned_handshakes_are_counted(void **state)
{
    F->opts.read_timeout_ms = 300;
    run(F, c_garbage);
    assert_int_equal(F->errors, 0);
    assert_int_equal(F->ints[0], 1);
    assert_int_equal(F->ints[1], 1);
    assert_in_range(F->ms[0], 200, 3000);
    assert_int_equal(F->r[0].status, 200);
    /* garbage, half hello, whole hello, timed out; not the empty one */
    assert_int_equal(F->stats.tls_handshake_errors, 4);
    assert_int_equal(F->stats.timeouts, 1);
    assert_int_equal(F->stats.connections_accepted, 6);
}

static void c_old_protocol(struct fixture *f)
{
    SSL_CTX *ctx = client_ctx(CERT_A);
    SSL_CTX_set_security_level(ctx, 0);
    SSL_CTX_set_cipher_list(ctx, "DEFAULT:@SECLEVEL=0");
    SSL_CTX_set_min_proto_version(ctx, TLS1_VERSION);
    SSL_CTX_set_max_proto_version(ctx, TLS1_1_VERSION);
    int fd = tcp_connect(f);
    SSL *ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    f->ints[0] = SSL_connect(ssl);
    ERR_clear_error();
    SSL_free(ssl);
    close(fd);
    SSL_CTX_free(ctx);
}

static void test_tls_refuses_protocols_older_than_1_2(void **state)
{
    run(F, c_old_protocol);
    assert_int_equal(F->errors, 0);
    assert_true(F->ints[0] != 1);
    assert_int_equal(F->stats.tls_handshake_errors, 1);
}

static void c_reload(struct fixture *f)
{
    CURL *old = easy_new(CERT_A);
    fetch(f, old, "/before", NULL, 0);           /* r0 */
    copy_file(CERT_B, LIVE_CERT);
    copy_file(KEY_B, LIVE_KEY);
    fetch(f, old, "/reload", NULL, 0);           /* r1: on the open connection */
    fetch(f, old, "/kept", NULL, 0);             /* r2: still the old cert, reused */
    CURL *a = easy_new(CERT_A);
    fetch(f, a, "/new-with-a", NULL, 0);         /* r3: new connection, cert b: fails */
    curl_easy_cleanup(a);
    CURL *b = easy_new(CERT_B);
    fetch(f, b, "/new-with-b", NULL, 0);         /* r4 */
    curl_easy_cleanup(b);
    /* A broken key: the reload fails, naming the file; cert b stays. */
    write_file(LIVE_KEY, "-----BEGIN PRIVATE KEY-----\nnot base64 at all\n-----END PRIVATE KEY-----\n");
    fetch(f, old, "/reload", NULL, 0);           /* r5 */
    copy_file(KEY_A, LIVE_KEY);                  /* a key that does not match cert b */
    fetch(f, old, "/reload", NULL, 0);           /* r6 */
    curl_easy_cleanup(old);
    b = easy_new(CERT_B);
    fetch(f, b, "/still-b", NULL, 0);            /* r7 */
    curl_easy_cleanup(b);
}

static void test_tls_reload_switches_new_connections_and_keeps_old_on_error(void **state)
{
    run(F, c_reload);
    assert_int_equal(F->n, 8);
    assert_int_equal(F->r[0].status, 200);
    assert_int_equal(F->r[1].status, 200);
    assert_string_equal(F->r[1].body, "reloaded");
    assert_int_equal(F->r[2].status, 200);
    assert_int_equal(F->r[2].connects, 0);
    assert_int_equal(F->r[3].rc, CURLE_PEER_FAILED_VERIFICATION);
    assert_int_equal(F->r[4].rc, CURLE_OK);
    assert_string_equal(F->r[4].body, "hello tls /new-with-b");
    assert_int_equal(F->r[5].status, 500);
    assert_non_null(strstr(F->r[5].body, LIVE_KEY));
    assert_null(strstr(F->r[5].body, "not base64"));
    assert_int_equal(F->r[6].status, 500);
    assert_non_null(strstr(F->r[6].body, "does not match"));
    assert_non_null(strstr(F->r[6].body, LIVE_KEY));
    assert_int_equal(F->r[7].rc, CURLE_OK);
    assert_string_equal(F->r[7].body, "hello tls /still-b");
}

static void c_idle_then_close(struct fixture *f)
{
    SSL_CTX *ctx = client_ctx(CERT_A);
    int fd = tcp_connect(f);
    SSL *ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    if (SSL_connect(ssl) != 1)
        f->errors++;
    const char req[] = "GET /idle HTTP/1.1\r\nHost: x\r\n\r\n";
    SSL_write(ssl, req, (int)sizeof(req) - 1);
    static char buf[1 << 14];
    size_t len = 0;
    char body[128];
    f->ints[0] = ssl_read_response(ssl, buf, sizeof(buf), &len, body, sizeof(body));
    uv_async_send(&f->close_now);
    char tmp[16];
    int n = SSL_read(ssl, tmp, sizeof(tmp));
    f->ints[1] = n == 0 && SSL_get_error(ssl, n) == SSL_ERROR_ZERO_RETURN;
    ERR_clear_error();
    SSL_free(ssl);
    close(fd);
    SSL_CTX_free(ctx);
}

static void test_tls_server_close_sends_close_notify_to_idle_clients(void **state)
{
    run(F, c_idle_then_close);
    assert_int_equal(F->errors, 0);
    assert_int_equal(F->ints[0], 200);
    assert_int_equal(F->ints[1], 1);
}

/* Listens with the given files; returns the rc, err gets the message. */
static int try_listen(const char *cert, const char *key, char *err, size_t n)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct http_server_opts o = {.tls_cert_file = cert, .tls_key_file = key};
    struct http_server *s = http_server_new(&loop, &o, handler, F);
    assert_non_null(s);
    err[0] = '\0';
    int rc = http_server_listen(s, "127.0.0.1:0", err, n);
    F->close_cb_ran = false;
    http_server_close(s, on_server_closed, F);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_true(F->close_cb_ran);
    assert_int_equal(uv_loop_close(&loop), 0);
    return rc;
}

static void test_tls_listen_names_the_bad_file(void **state)
{
    char err[400], missing[300];
    snprintf(missing, sizeof(missing), "%s/missing.pem", DIR_);
    assert_int_equal(try_listen(CERT_A, KEY_A, err, sizeof(err)), 0);

    assert_int_equal(try_listen(missing, KEY_A, err, sizeof(err)), UV_EINVAL);
    assert_non_null(strstr(err, "certificate"));
    assert_non_null(strstr(err, missing));
    assert_non_null(strstr(err, "No such file"));

    assert_int_equal(try_listen(CERT_A, missing, err, sizeof(err)), UV_EINVAL);
    assert_non_null(strstr(err, "key"));
    assert_non_null(strstr(err, missing));

    assert_int_equal(try_listen(CERT_A, KEY_B, err, sizeof(err)), UV_EINVAL);
    assert_non_null(strstr(err, "does not match"));
    assert_non_null(strstr(err, KEY_B));

    assert_int_equal(try_listen(NOT_PEM, KEY_A, err, sizeof(err)), UV_EINVAL);
    assert_non_null(strstr(err, "cannot load TLS certificate"));
    assert_non_null(strstr(err, NOT_PEM));

    /* The key as certificate: refused, and no key bytes in the message. */
    assert_int_equal(try_listen(KEY_A, KEY_A, err, sizeof(err)), UV_EINVAL);
    assert_non_null(strstr(err, KEY_A));
    assert_null(strstr(err, "PRIVATE"));

    /* An encrypted key fails at once instead of prompting for a passphrase. */
    assert_int_equal(try_listen(CERT_A, KEY_ENC, err, sizeof(err)), UV_EINVAL);
    assert_non_null(strstr(err, KEY_ENC));

    assert_int_equal(try_listen(CERT_A, NULL, err, sizeof(err)), UV_EINVAL);
    assert_non_null(strstr(err, "both"));
    assert_int_equal(try_listen(NULL, KEY_A, err, sizeof(err)), UV_EINVAL);

    if (getuid() != 0) {
        char unreadable[300];
        snprintf(unreadable, sizeof(unreadable), "%s/unreadable.key", DIR_);
        copy_file(KEY_A, unreadable);
        chmod(unreadable, 0);
        assert_int_equal(try_listen(CERT_A, unreadable, err, sizeof(err)), UV_EINVAL);
        assert_non_null(strstr(err, "Permission denied"));
        assert_non_null(strstr(err, unreadable));
    }
}

static void test_tls_reload_without_tls_is_an_error(void **state)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct http_server *s = http_server_new(&loop, NULL, handler, F);
    char err[200] = "";
    assert_int_equal(http_server_tls_reload(s, err, sizeof(err)), UV_EINVAL);
    assert_non_null(strstr(err, "not configured"));
    assert_int_equal(http_server_tls_reload(s, NULL, 0), UV_EINVAL);
    http_server_close(s, on_server_closed, F);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_tls_serves_get_with_hsts_and_keeps_alive, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tls_pipelined_pair_alpn_and_close_notify, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tls_carries_1mib_upload_and_2mib_download, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tls_plain_http_on_tls_port_fails_and_server_stays_up, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tls_garbage_and_abandoned_handshakes_are_counted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tls_refuses_protocols_older_than_1_2, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tls_reload_switches_new_connections_and_keeps_old_on_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tls_server_close_sends_close_notify_to_idle_clients, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tls_listen_names_the_bad_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tls_reload_without_tls_is_an_error, setup, teardown),
    };
    return cmocka_run_group_tests(tests, global_setup, global_teardown);
}
