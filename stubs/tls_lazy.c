/*
 * tls_lazy.c: in librpx.so only, OpenSSL (libssl, libcrypto) and
 * libevent_openssl are loaded when a tls:// connection first calls them,
 * not when a program that links librpx starts. Loading and relocating them
 * is most of the start-up time of a small program such as rpx (1.4 of
 * 2.2 ms here), and most programs never open a tls:// URL.
 *
 * Every OpenSSL or libevent_openssl function that librpx calls has a
 * definition here (hidden, like all of librpx's) that looks the real one
 * up once and calls it. Their prototypes come from the libraries' own
 * headers, so a mismatch does not compile; librpx.so links with
 * --no-undefined, so a call added elsewhere without its line here does not
 * link. librpx.a does not use this file: a static link names the libraries
 * (pkg-config --static, the rpx::rpx_static target).
 *
 * If the libraries cannot be loaded, the functions return 0 or NULL and do
 * nothing, and ERR_get_error/ERR_reason_error_string report why: a tls://
 * connection then fails with that message, a program without TLS is not
 * affected.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

/* The sonames librpx was built against (OpenSSL 3, libevent 2.1). */
static const char *const libraries[] = {
    "libcrypto.so.3",
    "libssl.so.3",
    "libevent_openssl-2.1.so.7",
};
#define NLIBS (sizeof(libraries) / sizeof(libraries[0]))

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static void *handles[NLIBS];
static char load_error[256]; /* empty when every library loaded */

static void load(void)
{
	for (size_t i = 0; i < NLIBS; i++) {
		if ((handles[i] = dlopen(libraries[i], RTLD_NOW | RTLD_LOCAL)) == NULL) {
			const char *e = dlerror();

			snprintf(load_error, sizeof(load_error), "cannot load %s: %s", libraries[i],
			    e != NULL ? e : "unknown error");
			return;
		}
	}
}

/* The real @name, or NULL (not all of the libraries could be loaded). */
static void *resolve(const char *name)
{
	pthread_once(&load_once, load);
	if (handles[NLIBS - 1] == NULL)
		return NULL;
	for (size_t i = 0; i < NLIBS; i++) {
		void *fn = dlsym(handles[i], name);

		if (fn != NULL)
			return fn;
	}
	if (load_error[0] == '\0')
		snprintf(load_error, sizeof(load_error), "%s not found in %s", name, libraries[0]);
	return NULL;
}

/* A pointer to the real function, looked up at the first call. */
#define REAL(name)                                                                 \
	__typeof__(&name) real = NULL;                                             \
	do {                                                                       \
		static __typeof__(&name) cached;                                   \
		if ((real = __atomic_load_n(&cached, __ATOMIC_ACQUIRE)) == NULL && \
		    (real = (__typeof__(&name))resolve(#name)) != NULL)            \
			__atomic_store_n(&cached, real, __ATOMIC_RELEASE);         \
	} while (0)

#define LAZY(type, name, params, args)                     \
	type name params                                   \
	{                                                  \
		REAL(name);                                \
		return real != NULL ? real args : (type)0; \
	}

#define LAZY_VOID(name, params, args) \
	void name params              \
	{                             \
		REAL(name);           \
		if (real != NULL)     \
			real args;    \
	}

/* libcrypto */
LAZY(int, CRYPTO_get_ex_new_index,
    (int class_index, long argl, void *argp, CRYPTO_EX_new *new_func, CRYPTO_EX_dup *dup_func,
        CRYPTO_EX_free *free_func),
    (class_index, argl, argp, new_func, dup_func, free_func))
LAZY(int, X509_VERIFY_PARAM_set1_ip_asc, (X509_VERIFY_PARAM * param, const char *ipasc),
    (param, ipasc))
LAZY(const char *, X509_verify_cert_error_string, (long n), (n))

/*
 * When loading failed: one error (per ERR_clear_error) whose text says why,
 * so that a loop draining the error queue ends.
 */
static int failure_reported;

void ERR_clear_error(void)
{
	REAL(ERR_clear_error);
	if (real != NULL)
		real();
	else
		__atomic_store_n(&failure_reported, 0, __ATOMIC_RELAXED);
}

unsigned long ERR_get_error(void)
{
	REAL(ERR_get_error);
	if (real != NULL)
		return real();
	return __atomic_exchange_n(&failure_reported, 1, __ATOMIC_RELAXED) == 0 ? 1 : 0;
}

unsigned long ERR_peek_last_error(void)
{
	REAL(ERR_peek_last_error);
	return real != NULL ? real() : 1;
}

const char *ERR_reason_error_string(unsigned long e)
{
	REAL(ERR_reason_error_string);
	return real != NULL ? real(e) : load_error;
}

/* libssl */
LAZY(int, SSL_CTX_check_private_key, (const SSL_CTX *ctx), (ctx))
LAZY(long, SSL_CTX_ctrl, (SSL_CTX * ctx, int cmd, long larg, void *parg), (ctx, cmd, larg, parg))
LAZY_VOID(SSL_CTX_free, (SSL_CTX * ctx), (ctx))
LAZY(void *, SSL_CTX_get_ex_data, (const SSL_CTX *ctx, int idx), (ctx, idx))
LAZY(int, SSL_CTX_load_verify_locations, (SSL_CTX * ctx, const char *file, const char *path),
    (ctx, file, path))
LAZY(SSL_CTX *, SSL_CTX_new, (const SSL_METHOD *method), (method))
LAZY_VOID(SSL_CTX_sess_set_new_cb,
    (SSL_CTX * ctx, int (*new_session_cb)(struct ssl_st *ssl, SSL_SESSION *sess)),
    (ctx, new_session_cb))
LAZY(int, SSL_CTX_set_ciphersuites, (SSL_CTX * ctx, const char *suites), (ctx, suites))
LAZY(int, SSL_CTX_set_alpn_protos,
    (SSL_CTX * ctx, const unsigned char *protos, unsigned int protos_len),
    (ctx, protos, protos_len))
LAZY(int, SSL_CTX_set_default_verify_paths, (SSL_CTX * ctx), (ctx))
LAZY(int, SSL_CTX_set_ex_data, (SSL_CTX * ctx, int idx, void *data), (ctx, idx, data))
LAZY_VOID(SSL_CTX_set_verify, (SSL_CTX * ctx, int mode, SSL_verify_cb callback),
    (ctx, mode, callback))
LAZY(int, SSL_CTX_up_ref, (SSL_CTX * ctx), (ctx))
LAZY(int, SSL_CTX_use_PrivateKey_file, (SSL_CTX * ctx, const char *file, int type),
    (ctx, file, type))
LAZY(int, SSL_CTX_use_certificate_chain_file, (SSL_CTX * ctx, const char *file), (ctx, file))
LAZY_VOID(SSL_SESSION_free, (SSL_SESSION * session), (session))
LAZY(int, SSL_SESSION_is_resumable, (const SSL_SESSION *session), (session))
LAZY(long, SSL_ctrl, (SSL * ssl, int cmd, long larg, void *parg), (ssl, cmd, larg, parg))
LAZY_VOID(SSL_free, (SSL * ssl), (ssl))
LAZY_VOID(SSL_get0_alpn_selected, (const SSL *ssl, const unsigned char **data, unsigned int *len),
    (ssl, data, len))
LAZY(X509_VERIFY_PARAM *, SSL_get0_param, (SSL * ssl), (ssl))
LAZY(X509 *, SSL_get0_peer_certificate, (const SSL *ssl), (ssl))
LAZY(SSL_CTX *, SSL_get_SSL_CTX, (const SSL *ssl), (ssl))
LAZY(void *, SSL_get_ex_data, (const SSL *ssl, int idx), (ssl, idx))
LAZY(long, SSL_get_verify_result, (const SSL *ssl), (ssl))
LAZY(const char *, SSL_get_version, (const SSL *ssl), (ssl))
LAZY(SSL *, SSL_new, (SSL_CTX * ctx), (ctx))
LAZY(int, SSL_has_pending, (const SSL *ssl), (ssl))
LAZY(int, SSL_session_reused, (const SSL *ssl), (ssl))
LAZY(int, SSL_set1_host, (SSL * ssl, const char *hostname), (ssl, hostname))
LAZY(int, SSL_set_ex_data, (SSL * ssl, int idx, void *data), (ssl, idx, data))
LAZY_VOID(SSL_set_read_ahead, (SSL * ssl, int yes), (ssl, yes))
LAZY_VOID(SSL_set_hostflags, (SSL * ssl, unsigned int flags), (ssl, flags))
LAZY(int, SSL_set_session, (SSL * ssl, SSL_SESSION *session), (ssl, session))
LAZY_VOID(SSL_set_shutdown, (SSL * ssl, int mode), (ssl, mode))
LAZY(int, SSL_version, (const SSL *ssl), (ssl))
LAZY(int, SSL_write, (SSL * ssl, const void *buf, int num), (ssl, buf, num))
LAZY(const SSL_METHOD *, TLS_client_method, (void), ())

/* libevent_openssl */
LAZY(unsigned long, bufferevent_get_openssl_error, (struct bufferevent * bev), (bev))
LAZY(struct ssl_st *, bufferevent_openssl_get_ssl, (struct bufferevent * bev), (bev))
LAZY_VOID(bufferevent_openssl_set_allow_dirty_shutdown, (struct bufferevent * bev, int allow),
    (bev, allow))
LAZY(struct bufferevent *, bufferevent_openssl_socket_new,
    (struct event_base * base, evutil_socket_t fd, struct ssl_st *ssl,
        enum bufferevent_ssl_state state, int options),
    (base, fd, ssl, state, options))
