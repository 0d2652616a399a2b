/*
 * tls.h: RPC-with-TLS (RFC 9289) for rpxd: the server's TLS context (TLS
 * 1.3 only, ALPN "sunrpc" required, client certificates verified against
 * --tls-client-ca), and what a verified client certificate maps to
 * (--tls-users). Reloaded on SIGHUP.
 */
#ifndef RPX_TLS_H
#define RPX_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <openssl/ssl.h>

/* TLS 1.3 resumption: sessions kept per context, and for how long (seconds). */
#define RPX_TLS_SESSION_CACHE 4096
#define RPX_TLS_SESSION_LIFETIME 7200

/* TLS 1.3 cipher suites, the server's order of preference (tls.c). */
#define RPX_TLS_CIPHERSUITES \
	"TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"

/* The most plaintext one TLS record carries (RFC 8446 §5.1). */
#define RPX_TLS_RECORD_MAX 16384

struct rpx_tls_config {
	const char *cert; /* server certificate chain (PEM) */
	const char *key; /* its private key (PEM) */
	const char *client_ca; /* trust anchors for client certificates; NULL: none asked */
	const char *users; /* certificate -> user map; NULL: no mapping */
	bool require; /* refuse clear-text calls on TCP (except the probe) */
};

/* Who the peer of a TLS session is, once the handshake is done. */
struct rpx_tls_peer {
	bool has_cert; /* a client certificate was presented and verified */
	char fingerprint[96]; /* SHA-256 of the certificate, hex with colons */
	char subject[256]; /* one-line subject */
	bool mapped; /* --tls-users names a user for it */
	uid_t uid;
	char user[64];
	const char *refused; /* set when rpxd itself refused the handshake, and why */
	bool resumed; /* the session was resumed from a ticket (no certificate exchange) */
	bool expired; /* resumed, but the certificate has expired since: close */
	SSL_SESSION *resumed_from; /* the cached session resumed, until taken out of the cache */
};

struct rpx_tls;

/* NULL on failure with a message in @err ("--tls-cert /x: no such file"). */
struct rpx_tls *rpx_tls_new(const struct rpx_tls_config *cfg, char *err, size_t errlen);
void rpx_tls_free(struct rpx_tls *tls);

/* Reads certificates, keys, CA and users again; on failure keeps the old ones. */
int rpx_tls_reload(struct rpx_tls *tls, char *err, size_t errlen);

bool rpx_tls_required(const struct rpx_tls *tls);

/* A server-side SSL for a new session, from the current context. */
SSL *rpx_tls_ssl_new(struct rpx_tls *tls);

/* After a handshake: the peer's identity. */
void rpx_tls_peer(struct rpx_tls *tls, SSL *ssl, struct rpx_tls_peer *peer);

/* Where the verify callback records the leaf certificate of a session (for audit lines). */
void rpx_tls_attach(SSL *ssl, struct rpx_tls_peer *peer);

/* Releases what rpx_tls_attach() and the handshake left in @peer. */
void rpx_tls_detach(struct rpx_tls_peer *peer);

/* Why a handshake failed: the verification error and certificate when there was one. */
void rpx_tls_failure(SSL *ssl, const char *ssl_error, char *buf, size_t len);

/* After a reload: whether the session's client certificate is still trusted. */
bool rpx_tls_still_trusted(struct rpx_tls *tls, SSL *ssl);

#endif
