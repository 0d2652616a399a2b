/*
 * clnt_tls.h: the TLS side of RPC-with-TLS (RFC 9289) for clnt_async.c.
 *
 * clnt_tls.c builds the OpenSSL context (TLS 1.3 only, ALPN "sunrpc",
 * server certificate verified against the CA file, optional client
 * certificate), the per-connection SSL object that checks the host name or
 * IP address, encodes the AUTH_TLS probe and checks its answer, and turns
 * OpenSSL's error state into one line of text. Internal to librpx.
 */
#ifndef RPX_CLNT_TLS_H
#define RPX_CLNT_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/buffer.h>
#include <openssl/ssl.h>

#include "rpx/async.h"

struct bufferevent;

/* The most plaintext one TLS record carries (RFC 8446 §5.1). */
#define RPX_TLS_RECORD_MAX 16384

/*
 * The context for one tls:// connection (a new reference: SSL_CTX_free it);
 * connections with the same, unchanged files share one. NULL with the
 * reason in why.
 */
SSL_CTX *rpx_tls_ctx_new_(const struct rpx_async_opts *opts, char *why, size_t whylen);

/*
 * An SSL object that verifies @name: an IPv4/IPv6 literal is checked
 * against the certificate's IP addresses (and sent as no SNI), anything
 * else against its DNS names (and sent as SNI). Its tickets are kept for
 * the server (@host, @port, @name); with @resume it offers the newest one
 * the context holds for that server, taking it out. NULL with the reason
 * in why.
 */
SSL *rpx_tls_ssl_new_(SSL_CTX *ctx, const char *host, const char *port, const char *name,
    bool resume, char *why, size_t whylen);

/*
 * After the handshake: the protocol is TLS 1.3 and the server selected ALPN
 * "sunrpc". 0, or -EPROTO with the reason in why.
 */
int rpx_tls_check_peer_(SSL *ssl, char *why, size_t whylen);

/*
 * The first OpenSSL error queued on bev, draining the queue; 0: none.
 * libevent puts SSL_get_error()'s code (SSL_ERROR_SYSCALL, SSL_ERROR_SSL)
 * in the same queue; those small codes are not OpenSSL errors and are
 * skipped (a failed socket is told by the event's errno instead).
 */
unsigned long rpx_tls_first_error_(struct bufferevent *bev);

/*
 * True when e is the server's alert refusing the client certificate
 * (certificate required, unknown CA, expired, ...): in TLS 1.3 it comes
 * after the client's Finished, and the server ran no call of the session.
 */
bool rpx_tls_cert_refused_(unsigned long e);

/*
 * Why a handshake failed: the certificate verification result when it
 * failed, else the first OpenSSL error code given (0: none), else sys_err.
 */
void rpx_tls_describe_failure_(SSL *ssl, unsigned long ssl_err, int sys_err, char *why,
    size_t whylen);

/*
 * RFC 9289 §4.1: appends the AUTH_TLS probe, a NULL call of prog/vers with
 * credential flavor AUTH_TLS (empty body) and an AUTH_NONE verifier, as one
 * record (record marking included). 0 or -ENOMEM.
 */
int rpx_tls_probe_write_(struct evbuffer *out, uint32_t xid, uint32_t prog, uint32_t vers);

/*
 * Checks the probe's reply (one record body): it must be the reply to @xid,
 * MSG_ACCEPTED, SUCCESS, with an AUTH_NONE verifier of exactly the 8 bytes
 * "STARTTLS". 0, or -EPROTONOSUPPORT with what the server said in why.
 */
int rpx_tls_probe_check_(const void *msg, size_t len, uint32_t xid, char *why, size_t whylen);

#endif /* RPX_CLNT_TLS_H */
