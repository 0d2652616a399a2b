/*
 * clnt_tls.c: the client's half of RPC-with-TLS (RFC 9289), used by
 * clnt_async.c for tls:// URLs.
 *
 * The order on the wire is: TCP connect; the AUTH_TLS probe (a NULL call
 * whose credential flavor is AUTH_TLS) in clear text; the server's answer,
 * which must carry the verifier "STARTTLS"; then a TLS 1.3 handshake on the
 * same socket offering ALPN "sunrpc"; then ordinary record-marked RPC
 * inside TLS. This file holds the pieces that do not touch the event loop:
 * the OpenSSL context and per-connection object with their verification
 * settings, the probe's encoder and checker, and the text of a failure.
 * Verification is never optional: a tls:// URL without a usable certificate
 * chain and matching name fails, it does not fall back to clear text.
 *
 * Resumption (RFC 8446 §2.2): each context keeps the newest session ticket
 * per server (host, port, name verified) that its connections received.
 * A new connection to the same server takes it out and offers it once
 * (RFC 8446 §C.4: a ticket is not reused); the server's next ticket
 * replaces it. The store belongs to the context, and a context to one set
 * of CA, certificate and key files, so a session never crosses to another
 * client identity or CA, and never skips the checks of another name.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/stat.h>

#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "clnt_tls.h"
#include "recmark.h"
#include "rpcmsg.h"
#include "xdr_evbuf.h"

static const unsigned char alpn_sunrpc[] = "\x06sunrpc";
#define ALPN_SUNRPC_LEN (sizeof(alpn_sunrpc) - 1)

/* The reason of the most recent OpenSSL error, or fallback. */
static const char *ssl_reason(unsigned long e, const char *fallback)
{
	const char *r = e != 0 ? ERR_reason_error_string(e) : NULL;

	return r != NULL ? r : fallback;
}

/* Sessions kept per context: one per server, for this many servers. */
#define SESSIONS_MAX 64

struct session_store {
	pthread_mutex_t lock;
	struct {
		char *server; /* "host port name" */
		SSL_SESSION *sess;
	} e[SESSIONS_MAX];
	unsigned next_victim;
};

static pthread_once_t ex_once = PTHREAD_ONCE_INIT;
static int ctx_store_idx = -1; /* SSL_CTX ex_data: struct session_store */
static int ssl_server_idx = -1; /* SSL ex_data: the "host port name" of its store entry */

static void store_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
	struct session_store *st = ptr;

	if (st == NULL)
		return;
	for (unsigned i = 0; i < SESSIONS_MAX; i++) {
		free(st->e[i].server);
		SSL_SESSION_free(st->e[i].sess);
	}
	pthread_mutex_destroy(&st->lock);
	free(st);
}

static void server_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
	free(ptr);
}

static void ex_init(void)
{
	ctx_store_idx = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, store_free);
	ssl_server_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, server_free);
}

/* Keeps the newest session of a connection (TLS 1.3: tickets come after the handshake). */
static int session_new_cb(SSL *ssl, SSL_SESSION *sess)
{
	struct session_store *st = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ctx_store_idx);
	const char *server = SSL_get_ex_data(ssl, ssl_server_idx);
	unsigned i, slot = SESSIONS_MAX;
	char *copy;

	if (st == NULL || server == NULL || !SSL_SESSION_is_resumable(sess))
		return 0;
	pthread_mutex_lock(&st->lock);
	for (i = 0; i < SESSIONS_MAX && slot == SESSIONS_MAX; i++)
		if (st->e[i].server != NULL && strcmp(st->e[i].server, server) == 0)
			slot = i;
	for (i = 0; i < SESSIONS_MAX && slot == SESSIONS_MAX; i++)
		if (st->e[i].server == NULL)
			slot = i;
	if (slot == SESSIONS_MAX)
		slot = st->next_victim++ % SESSIONS_MAX;
	if (st->e[slot].server == NULL || strcmp(st->e[slot].server, server) != 0) {
		if ((copy = strdup(server)) == NULL) {
			pthread_mutex_unlock(&st->lock);
			return 0;
		}
		free(st->e[slot].server);
		st->e[slot].server = copy;
	}
	SSL_SESSION_free(st->e[slot].sess);
	st->e[slot].sess = sess; /* the reference OpenSSL hands over when we return 1 */
	pthread_mutex_unlock(&st->lock);
	return 1;
}

/* The session kept for @server, taken out of the store (single use), or NULL. */
static SSL_SESSION *session_take(SSL_CTX *ctx, const char *server)
{
	struct session_store *st = SSL_CTX_get_ex_data(ctx, ctx_store_idx);
	SSL_SESSION *sess = NULL;

	if (st == NULL)
		return NULL;
	pthread_mutex_lock(&st->lock);
	for (unsigned i = 0; i < SESSIONS_MAX && sess == NULL; i++) {
		if (st->e[i].server != NULL && strcmp(st->e[i].server, server) == 0) {
			sess = st->e[i].sess;
			st->e[i].sess = NULL;
		}
	}
	pthread_mutex_unlock(&st->lock);
	return sess;
}

static int store_attach(SSL_CTX *ctx)
{
	struct session_store *st;

	pthread_once(&ex_once, ex_init);
	if (ctx_store_idx < 0 || ssl_server_idx < 0 || (st = calloc(1, sizeof(*st))) == NULL)
		return -ENOMEM;
	pthread_mutex_init(&st->lock, NULL);
	if (SSL_CTX_set_ex_data(ctx, ctx_store_idx, st) != 1) {
		store_free(NULL, st, NULL, 0, 0, NULL);
		return -ENOMEM;
	}
	/* Sessions go to session_new_cb only; OpenSSL's own client cache is not used. */
	SSL_CTX_set_session_cache_mode(ctx,
	    SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
	SSL_CTX_sess_set_new_cb(ctx, session_new_cb);
	return 0;
}

static SSL_CTX *ctx_build(const struct rpx_async_opts *opts, char *why, size_t whylen)
{
	const char *ca = opts != NULL ? opts->tls_ca_file : NULL;
	const char *cert = opts != NULL ? opts->tls_cert_file : NULL;
	const char *key = opts != NULL ? opts->tls_key_file : NULL;
	SSL_CTX *ctx;

	ERR_clear_error();
	if ((cert == NULL) != (key == NULL)) {
		snprintf(why, whylen,
		    "a TLS client certificate needs its key, and a key its certificate");
		return NULL;
	}
	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL) {
		snprintf(why, whylen, "cannot create a TLS context: %s",
		    ssl_reason(ERR_get_error(), "out of memory"));
		return NULL;
	}
	/* RFC 9289 §5.1: TLS 1.3 or later. */
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1) {
		snprintf(why, whylen, "this OpenSSL cannot do TLS 1.3");
		goto fail;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (ca != NULL) {
		if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
			snprintf(why, whylen, "cannot load TLS CA file %s: %s", ca,
			    ssl_reason(ERR_peek_last_error(), "unreadable"));
			goto fail;
		}
	} else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
		snprintf(why, whylen, "cannot load the system's TLS CAs: %s",
		    ssl_reason(ERR_peek_last_error(), "unknown error"));
		goto fail;
	}
	if (cert != NULL) {
		if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
			snprintf(why, whylen, "cannot load TLS certificate %s: %s", cert,
			    ssl_reason(ERR_peek_last_error(), "unreadable"));
			goto fail;
		}
		if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
			snprintf(why, whylen, "cannot load TLS key %s: %s", key,
			    ssl_reason(ERR_peek_last_error(), "unreadable"));
			goto fail;
		}
		if (SSL_CTX_check_private_key(ctx) != 1) {
			snprintf(why, whylen, "TLS key %s does not match certificate %s", key,
			    cert);
			goto fail;
		}
	}
	/* RFC 9289 §5.2: ALPN "sunrpc". Note: 0 means success here. */
	if (SSL_CTX_set_alpn_protos(ctx, alpn_sunrpc, ALPN_SUNRPC_LEN) != 0) {
		snprintf(why, whylen, "cannot set ALPN: out of memory");
		goto fail;
	}
	if (store_attach(ctx) < 0) {
		snprintf(why, whylen, "cannot create a TLS session store: out of memory");
		goto fail;
	}
	ERR_clear_error();
	return ctx;
fail:
	ERR_clear_error();
	SSL_CTX_free(ctx);
	return NULL;
}

/*
 * Loading the system CA bundle takes tens of milliseconds, and open runs on
 * the caller's loop: a fan-out to many tls:// hosts with the same files
 * shares one context. The last one built is kept (one reference), keyed by
 * the file names and their identity and modification times, so a renewed
 * certificate or CA file is picked up by the next open.
 */
struct file_id {
	bool present;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
};

struct ctx_key {
	char *path[3]; /* CA, certificate, key; NULL when not given */
	struct file_id id[3];
};

static pthread_mutex_t ctx_cache_lock = PTHREAD_MUTEX_INITIALIZER;
static SSL_CTX *ctx_cache;
static struct ctx_key ctx_cache_key;

static void key_fill(struct ctx_key *k, const struct rpx_async_opts *opts)
{
	const char *paths[3] = {opts != NULL ? opts->tls_ca_file : NULL,
	    opts != NULL ? opts->tls_cert_file : NULL, opts != NULL ? opts->tls_key_file : NULL};
	struct stat st;
	int i;

	memset(k, 0, sizeof(*k));
	for (i = 0; i < 3; i++) {
		k->path[i] = (char *)paths[i];
		if (paths[i] != NULL && stat(paths[i], &st) == 0) {
			k->id[i].present = true;
			k->id[i].dev = st.st_dev;
			k->id[i].ino = st.st_ino;
			k->id[i].size = st.st_size;
			k->id[i].mtime = st.st_mtim;
		}
	}
}

static bool key_equal(const struct ctx_key *a, const struct ctx_key *b)
{
	int i;

	for (i = 0; i < 3; i++) {
		if ((a->path[i] == NULL) != (b->path[i] == NULL))
			return false;
		if (a->path[i] != NULL && strcmp(a->path[i], b->path[i]) != 0)
			return false;
		if (a->id[i].present != b->id[i].present || a->id[i].dev != b->id[i].dev ||
		    a->id[i].ino != b->id[i].ino || a->id[i].size != b->id[i].size ||
		    a->id[i].mtime.tv_sec != b->id[i].mtime.tv_sec ||
		    a->id[i].mtime.tv_nsec != b->id[i].mtime.tv_nsec)
			return false;
	}
	return true;
}

static void key_release(struct ctx_key *k)
{
	int i;

	for (i = 0; i < 3; i++)
		free(k->path[i]);
	memset(k, 0, sizeof(*k));
}

SSL_CTX *rpx_tls_ctx_new_(const struct rpx_async_opts *opts, char *why, size_t whylen)
{
	struct ctx_key key, copy;
	SSL_CTX *ctx = NULL;
	int i;

	key_fill(&key, opts);
	pthread_mutex_lock(&ctx_cache_lock);
	if (ctx_cache != NULL && key_equal(&key, &ctx_cache_key) && SSL_CTX_up_ref(ctx_cache) == 1)
		ctx = ctx_cache;
	pthread_mutex_unlock(&ctx_cache_lock);
	if (ctx != NULL)
		return ctx;
	if ((ctx = ctx_build(opts, why, whylen)) == NULL)
		return NULL;
	copy = key;
	for (i = 0; i < 3; i++) {
		copy.path[i] = key.path[i] != NULL ? strdup(key.path[i]) : NULL;
		if (key.path[i] != NULL && copy.path[i] == NULL) {
			key_release(&copy);
			return ctx; /* no memory to remember it: fine, not cached */
		}
	}
	if (SSL_CTX_up_ref(ctx) != 1) {
		key_release(&copy);
		return ctx;
	}
	pthread_mutex_lock(&ctx_cache_lock);
	if (ctx_cache != NULL)
		SSL_CTX_free(ctx_cache);
	key_release(&ctx_cache_key);
	ctx_cache = ctx;
	ctx_cache_key = copy;
	pthread_mutex_unlock(&ctx_cache_lock);
	return ctx;
}

static int is_ip_literal(const char *name)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, name, buf) == 1 || inet_pton(AF_INET6, name, buf) == 1;
}

SSL *rpx_tls_ssl_new_(SSL_CTX *ctx, const char *host, const char *port, const char *name,
    bool resume, char *why, size_t whylen)
{
	SSL_SESSION *sess;
	char *server;
	SSL *ssl;
	int ok;

	if ((ssl = SSL_new(ctx)) == NULL) {
		snprintf(why, whylen, "cannot create a TLS session: out of memory");
		return NULL;
	}
	if (is_ip_literal(name)) {
		/* RFC 6066 §3: no IP literals in SNI. */
		ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name) == 1;
	} else {
		SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		ok = SSL_set1_host(ssl, name) == 1 && SSL_set_tlsext_host_name(ssl, name) == 1;
	}
	if (!ok) {
		snprintf(why, whylen, "cannot verify TLS server name \"%s\"", name);
		ERR_clear_error();
		SSL_free(ssl);
		return NULL;
	}
	/* Where this connection's tickets go, and which one it may offer. */
	if (asprintf(&server, "%s %s %s", host, port, name) < 0)
		server = NULL;
	if (server == NULL || SSL_set_ex_data(ssl, ssl_server_idx, server) != 1) {
		free(server);
		snprintf(why, whylen, "cannot create a TLS session: out of memory");
		SSL_free(ssl);
		return NULL;
	}
	if (resume && (sess = session_take(ctx, server)) != NULL) {
		/* An expired or unusable session just means a full handshake. */
		SSL_set_session(ssl, sess);
		SSL_SESSION_free(sess);
	}
	ERR_clear_error();
	return ssl;
}

int rpx_tls_check_peer_(SSL *ssl, char *why, size_t whylen)
{
	const unsigned char *proto = NULL;
	unsigned int len = 0;

	if (SSL_version(ssl) < TLS1_3_VERSION) {
		snprintf(why, whylen, "TLS: server negotiated %s, TLS 1.3 is required",
		    SSL_get_version(ssl));
		return -EPROTO;
	}
	/* The handshake verified the chain and name; be explicit anyway. */
	if (SSL_get_verify_result(ssl) != X509_V_OK || SSL_get0_peer_certificate(ssl) == NULL) {
		snprintf(why, whylen, "TLS: server certificate not verified");
		return -EPROTO;
	}
	SSL_get0_alpn_selected(ssl, &proto, &len);
	if (len != ALPN_SUNRPC_LEN - 1 || memcmp(proto, alpn_sunrpc + 1, len) != 0) {
		snprintf(why, whylen, "TLS: server did not select ALPN \"sunrpc\"");
		return -EPROTO;
	}
	return 0;
}

bool rpx_tls_cert_refused_(unsigned long e)
{
	if (ERR_SYSTEM_ERROR(e) || ERR_GET_LIB(e) != ERR_LIB_SSL)
		return false;
	switch (ERR_GET_REASON(e)) {
	case SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED:
	case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
	case SSL_R_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE:
	case SSL_R_SSLV3_ALERT_CERTIFICATE_REVOKED:
	case SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED:
	case SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN:
	case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
	case SSL_R_TLSV1_ALERT_ACCESS_DENIED:
		return true;
	default:
		return false;
	}
}

unsigned long rpx_tls_first_error_(struct bufferevent *bev)
{
	unsigned long e, first = 0;

	while ((e = bufferevent_get_openssl_error(bev)) != 0)
		if (first == 0 && (ERR_SYSTEM_ERROR(e) || ERR_GET_LIB(e) != 0))
			first = e;
	return first;
}

void rpx_tls_describe_failure_(SSL *ssl, unsigned long ssl_err, int sys_err, char *why,
    size_t whylen)
{
	long vr = ssl != NULL ? SSL_get_verify_result(ssl) : X509_V_OK;

	if (vr != X509_V_OK)
		snprintf(why, whylen, "TLS: server certificate verification failed: %s",
		    X509_verify_cert_error_string(vr));
	else if (ssl_err != 0 && ERR_SYSTEM_ERROR(ssl_err))
		/* OpenSSL 3 queues a failed read or write as the errno itself. */
		snprintf(why, whylen, "TLS handshake failed: %s",
		    strerror(ERR_GET_REASON(ssl_err) != 0 ? ERR_GET_REASON(ssl_err) : sys_err));
	else if (ssl_err != 0)
		snprintf(why, whylen, "TLS handshake failed: %s",
		    ssl_reason(ssl_err, sys_err != 0 ? strerror(sys_err) : "unknown error"));
	else if (sys_err != 0)
		snprintf(why, whylen, "TLS handshake failed: %s", strerror(sys_err));
	else
		snprintf(why, whylen, "TLS handshake failed: connection closed by server");
}

int rpx_tls_probe_write_(struct evbuffer *out, uint32_t xid, uint32_t prog, uint32_t vers)
{
	struct evbuffer *body = evbuffer_new();
	struct rpx_xdrenc enc;
	int err = -ENOMEM;

	if (body == NULL)
		return -ENOMEM;
	/* RFC 9289 §4.1: credential AUTH_TLS with an empty body, verifier AUTH_NONE. */
	rpx_xdrenc_create(&enc, body);
	if (rpx_rpcmsg_encode_call(&enc.xdr, xid, prog, vers, 0, RPX_AUTH_TLS) == 0) {
		rpx_xdrenc_finish(&enc);
		err = rpx_recmark_write(out, body);
	} else {
		rpx_xdrenc_finish(&enc);
	}
	evbuffer_free(body);
	return err;
}

int rpx_tls_probe_check_(const void *msg, size_t len, uint32_t xid, char *why, size_t whylen)
{
	char verf[MAX_AUTH_BYTES];
	struct rpc_msg m;
	XDR x;
	int ok;

	memset(&m, 0, sizeof(m));
	m.acpted_rply.ar_verf.oa_base = verf;
	m.acpted_rply.ar_results.where = NULL;
	m.acpted_rply.ar_results.proc = (xdrproc_t)xdr_void;
	xdrmem_create(&x, (char *)msg, (u_int)len, XDR_DECODE);
	ok = xdr_replymsg(&x, &m);
	xdr_destroy(&x);
	if (!ok || m.rm_direction != REPLY) {
		snprintf(why, whylen, "the answer to the probe is not an RPC reply");
		return -EPROTONOSUPPORT;
	}
	if (m.rm_xid != xid) {
		snprintf(why, whylen, "the answer to the probe has XID 0x%08x, not 0x%08x",
		    (unsigned)m.rm_xid, (unsigned)xid);
		return -EPROTONOSUPPORT;
	}
	if (m.rm_reply.rp_stat != MSG_ACCEPTED) {
		if (m.rjcted_rply.rj_stat == AUTH_ERROR)
			snprintf(why, whylen, "probe refused: authentication error: %s",
			    m.rjcted_rply.rj_why == AUTH_BADCRED   ? "bad credential"
			    : m.rjcted_rply.rj_why == AUTH_TOOWEAK ? "refused for security reasons"
			                                           : "rejected");
		else
			snprintf(why, whylen, "probe refused: RPC version mismatch");
		return -EPROTONOSUPPORT;
	}
	if (m.acpted_rply.ar_stat != SUCCESS) {
		snprintf(why, whylen, "probe answered with accept status %d",
		    (int)m.acpted_rply.ar_stat);
		return -EPROTONOSUPPORT;
	}
	/* RFC 9289 §4.1: verifier AUTH_NONE whose body is "STARTTLS". */
	if (m.acpted_rply.ar_verf.oa_flavor != AUTH_NONE || m.acpted_rply.ar_verf.oa_length != 8 ||
	    memcmp(verf, "STARTTLS", 8) != 0) {
		snprintf(why, whylen, "probe accepted without the STARTTLS verifier");
		return -EPROTONOSUPPORT;
	}
	return 0;
}
