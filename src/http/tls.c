/*
 * http/tls: the OpenSSL side of the HTTP listener's optional TLS. Builds a
 * server SSL_CTX from PEM files (TLS 1.2 minimum, OpenSSL's default ciphers,
 * ALPN http/1.1, no renegotiation, no passphrase prompt) and wraps one SSL
 * per connection between two memory BIOs, so that server.c moves the bytes
 * with libuv and the loop never blocks on a socket inside OpenSSL.
 * Owns no sockets and no connection state; never puts key material in an
 * error message.
 */
#include "http/http_int.h"

#include <errno.h>
#include <limits.h>
#include <openssl/buffer.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>

/* Output buffer kept between flushes. */
#define OUT_KEEP_MAX (256 * 1024)

/* An encrypted key must fail to load, never prompt on the terminal. */
static int no_passphrase_cb(char *buf, int size, int rwflag, void *data)
{
    return 0;
}

static int alpn_select_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                          const unsigned char *in, unsigned int inlen, void *arg)
{
    static const unsigned char ours[] = "\x08http/1.1";
    unsigned char *sel = NULL;
    if (SSL_select_next_proto(&sel, outlen, ours, sizeof(ours) - 1, in, inlen) != OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_NOACK;  /* e.g. h2 only: go on without ALPN */
    *out = sel;
    return SSL_TLSEXT_ERR_OK;
}

/* The first OpenSSL reason (the root cause: "no start line" rather than
 * "PEM lib"), without data strings, which could quote the file. */
static const char *ssl_reason(void)
{
    unsigned long e = ERR_peek_error();
    const char *r = e ? ERR_reason_error_string(e) : NULL;
    return r ? r : "unknown error";
}

static bool ssl_key_mismatch(void)
{
    unsigned long e;
    while ((e = ERR_get_error()) != 0)
        if (ERR_GET_LIB(e) == ERR_LIB_X509 && ERR_GET_REASON(e) == X509_R_KEY_VALUES_MISMATCH)
            return true;
    return false;
}

static bool file_readable(const char *what, const char *path, char *err, size_t n)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, n, "cannot read TLS %s %s: %s", what, path, strerror(errno));
        return false;
    }
    fclose(f);
    return true;
}

SSL_CTX *http_tls_ctx_new(const char *cert_file, const char *key_file, char *err, size_t n)
{
    SSL_CTX *ctx = NULL;
    ERR_clear_error();
    if (!cert_file || !key_file || !cert_file[0] || !key_file[0]) {
        snprintf(err, n, "TLS needs both a certificate file and a key file");
        goto fail;
    }
    if (!file_readable("certificate", cert_file, err, n) || !file_readable("key", key_file, err, n))
        goto fail;
    ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx || SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
        snprintf(err, n, "cannot create a TLS context: %s", ssl_reason());
        goto fail;
    }
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
                                 SSL_OP_NO_COMPRESSION);
    /* Idle keep-alive connections give their record buffers back. */
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_default_passwd_cb(ctx, no_passphrase_cb);
    SSL_CTX_set_alpn_select_cb(ctx, alpn_select_cb, NULL);
    if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1) {
        snprintf(err, n, "cannot load TLS certificate %s: %s", cert_file, ssl_reason());
        goto fail;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1) {
        /* OpenSSL compares key and certificate while loading the key. */
        const char *why = ssl_reason();
        if (ssl_key_mismatch())
            snprintf(err, n, "TLS key %s does not match certificate %s", key_file, cert_file);
        else
            snprintf(err, n, "cannot load TLS key %s: %s (an unencrypted PEM key is needed)",
                     key_file, why);
        goto fail;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        snprintf(err, n, "TLS key %s does not match certificate %s", key_file, cert_file);
        goto fail;
    }
    ERR_clear_error();
    return ctx;
fail:
    SSL_CTX_free(ctx);
    ERR_clear_error();
    return NULL;
}

void http_tls_ctx_free(SSL_CTX *ctx)
{
    SSL_CTX_free(ctx);  /* connections still using it hold their own reference */
}

SSL *http_tls_conn_new(SSL_CTX *ctx)
{
    SSL *ssl = SSL_new(ctx);
    BIO *in = BIO_new(BIO_s_mem()), *out = BIO_new(BIO_s_mem());
    if (!ssl || !in || !out) {
        SSL_free(ssl);
        BIO_free(in);
        BIO_free(out);
        ERR_clear_error();
        return NULL;
    }
    /* An empty input BIO means "wait for more", never end of file. */
    BIO_set_mem_eof_return(in, -1);
    BIO_set_mem_eof_return(out, -1);
    SSL_set_bio(ssl, in, out);  /* ssl owns both from here */
    SSL_set_accept_state(ssl);
    return ssl;
}

void http_tls_conn_free(SSL *ssl)
{
    SSL_free(ssl);
}

int http_tls_feed(SSL *ssl, const char *data, size_t len)
{
    BIO *in = SSL_get_rbio(ssl);
    while (len > 0) {
        int chunk = len > INT_MAX ? INT_MAX : (int)len;
        int w = BIO_write(in, data, chunk);
        if (w <= 0) {
            ERR_clear_error();
            return -1;
        }
        data += w;
        len -= (size_t)w;
    }
    return 0;
}

size_t http_tls_pending_in(SSL *ssl)
{
    return BIO_ctrl_pending(SSL_get_rbio(ssl));
}

/* After a failed call: what SSL_get_error says, the error queue emptied. */
static int ssl_status(SSL *ssl, int rc)
{
    int e = SSL_get_error(ssl, rc);
    ERR_clear_error();
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
        return 0;
    if (e == SSL_ERROR_ZERO_RETURN)
        return HTTP_TLS_CLOSED;
    return -1;
}

int http_tls_handshake(SSL *ssl)
{
    if (SSL_is_init_finished(ssl))
        return 1;
    ERR_clear_error();
    int rc = SSL_do_handshake(ssl);
    if (rc == 1)
        return 1;
    int st = ssl_status(ssl, rc);
    return st == 0 ? 0 : -1;
}

int http_tls_read(SSL *ssl, char *buf, size_t n)
{
    ERR_clear_error();
    int rc = SSL_read(ssl, buf, n > INT_MAX ? INT_MAX : (int)n);
    if (rc > 0)
        return rc;
    return ssl_status(ssl, rc);
}

int http_tls_write(SSL *ssl, const char *data, size_t len)
{
    while (len > 0) {
        /* Memory BIOs always take everything: no partial writes. */
        int chunk = len > (1u << 30) ? (1 << 30) : (int)len;
        ERR_clear_error();
        int rc = SSL_write(ssl, data, chunk);
        if (rc <= 0) {
            ERR_clear_error();
            return -1;
        }
        data += rc;
        len -= (size_t)rc;
    }
    return 0;
}

size_t http_tls_pending_out(SSL *ssl, const char **data)
{
    char *p = NULL;
    long len = BIO_get_mem_data(SSL_get_wbio(ssl), &p);
    *data = p;
    return len > 0 ? (size_t)len : 0;
}

void http_tls_consume_out(SSL *ssl)
{
    BIO *out = SSL_get_wbio(ssl);
    BUF_MEM *mem = NULL;
    BIO_get_mem_ptr(out, &mem);
    /* Reset zeroes the whole allocation: after a big response, start over
     * with a small BIO instead of keeping (and clearing) the large one. */
    if (mem && mem->max > OUT_KEEP_MAX) {
        BIO *fresh = BIO_new(BIO_s_mem());
        if (fresh) {
            BIO_set_mem_eof_return(fresh, -1);
            SSL_set0_wbio(ssl, fresh);  /* frees the old one */
            return;
        }
        ERR_clear_error();
    }
    (void)BIO_reset(out);  /* a read-write memory BIO drops its contents */
}

void http_tls_close_notify(SSL *ssl)
{
    if (!SSL_is_init_finished(ssl))
        return;
    ERR_clear_error();
    (void)SSL_shutdown(ssl);
    ERR_clear_error();
}
