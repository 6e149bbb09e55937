/*
 * bench/http_server: serves GET /healthz -> {"ok":true} with opshub's own
 * HTTP server (http/server.c), for bench/http.sh to load with wrk, and
 * answers every POST with 200 {} (a webhook receiver that costs next to
 * nothing, for bench/notify). Usage: bench_http_server [HOST:PORT]
 * (default 127.0.0.1:8089).
 * Runs until SIGINT/SIGTERM, then closes the server and the loop cleanly.
 */
#include "http/server.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

static void handle(void *data, struct http_request *req)
{
    (void)data;
    static const char ok[] = "{\"ok\":true}";
    static const char nf[] = "{\"error\":{\"code\":\"not_found\",\"message\":\"no route\"}}";
    static const char empty[] = "{}";
    if (strcmp(req->method, "POST") == 0)
        http_response_send(req, 200, "application/json", NULL, empty, sizeof(empty) - 1);
    else if (strcmp(req->path, "/healthz") == 0)
        http_response_send(req, 200, "application/json", NULL, ok, sizeof(ok) - 1);
    else
        http_response_send(req, 404, "application/json", NULL, nf, sizeof(nf) - 1);
}

static uv_signal_t signals[2];

static void on_signal(uv_signal_t *sig, int signum)
{
    struct http_server *s = sig->data;
    (void)signum;
    http_server_close(s, NULL, NULL);
    for (int i = 0; i < 2; i++)
        uv_close((uv_handle_t *)&signals[i], NULL);
}

int main(int argc, char **argv)
{
    const char *addr = argc > 1 ? argv[1] : "127.0.0.1:8089";
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct http_server *s = http_server_new(&loop, NULL, handle, NULL);
    char err[256];
    if (!s || http_server_listen(s, addr, err, sizeof(err)) != 0) {
        fprintf(stderr, "bench_http_server: %s\n", s ? err : "out of memory");
        return 1;
    }
    const int signums[2] = {SIGINT, SIGTERM};
    for (int i = 0; i < 2; i++) {
        uv_signal_init(&loop, &signals[i]);
        signals[i].data = s;
        uv_signal_start(&signals[i], on_signal, signums[i]);
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    return 0;
}
