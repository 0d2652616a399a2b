/*
 * clnt_internal.h: what the files of librpx share and users never see.
 *
 * clnt_url.c turns a URL into a struct rpx_url; clnt_conn.c turns a
 * struct rpx_url into a connected socket and a libtirpc CLIENT, and owns
 * struct rpx_client; clnt_date.c and clnt_proc.c wrap the DATE and PROC
 * programs' calls. Names
 * ending in '_' are internal to the library (built with hidden visibility).
 */
#ifndef RPX_CLNT_INTERNAL_H
#define RPX_CLNT_INTERNAL_H

#include <stddef.h>
#include <sys/un.h>

#include "rpx/client.h"

enum rpx_transport {
	RPX_TRANSPORT_TCP,
	RPX_TRANSPORT_UDP,
	RPX_TRANSPORT_UNIX,
};

/* A parsed URL. host and port are set for tcp/udp, path for unix. */
struct rpx_url {
	enum rpx_transport transport;
	char host[256]; /* without brackets */
	char port[8]; /* decimal, 1..65535 */
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char text[300]; /* canonical form */
};

/*
 * Parses text into *url. Returns 0, or -EINVAL with a message (which quotes
 * the text) in err.
 */
int rpx_url_parse_(const char *text, struct rpx_url *url, char *err, size_t errlen);

/*
 * Bare hosts ("name", "1.2.3.4", "[::1]", "::1": no scheme, no port) find
 * rpxd's port through the host's rpcbind (RPCBPROC_GETADDR, version 4,
 * netid tcp, for a program of rpxd); the sync and async clients make that
 * call on their own transports and share the rest:
 *   rpx_url_is_bare_()     1 for a bare host, else 0
 *   rpx_url_bare_tcp_()    "tcp://HOST:PORT" (IPv6 in brackets)
 *   rpx_rpcbind_args_()    the GETADDR arguments (strings are static)
 *   rpx_url_from_rpcbind_() the URL to connect to: the port of the answer
 *       uaddr, else (lookup_err < 0 with lookup_why, or no mapping)
 *       RPX_DEFAULT_PORT, with note set to why ("rpcbind: ...; tried port
 *       7077: "), to put before the error if that connect fails too; note
 *       is "" when rpcbind answered.
 */
struct rpcb;
int rpx_url_is_bare_(const char *text);
void rpx_url_bare_tcp_(const char *host, int port, char *buf, size_t len);
void rpx_rpcbind_args_(struct rpcb *args, uint32_t prog, uint32_t vers);
void rpx_url_from_rpcbind_(const char *host, uint32_t prog, int lookup_err, const char *lookup_why,
    const char *uaddr, char *url, size_t urllen, char *note, size_t notelen);

/* "connection refused": strerror(-err) with its first letter in lower case. */
void rpx_strerror_(int err, char *buf, size_t len);

/*
 * Sets the client's last error text (printf-style) and returns code, so a
 * failure path reads `return rpx_client_fail_(cl, -EIO, "...")`.
 */
int rpx_client_fail_(struct rpx_client *cl, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * What the library may do when a stream (TCP, Unix) breaks before the
 * reply. UDP always resends the same datagram until the deadline.
 */
enum rpx_call_policy_ {
	RPX_CALL_ONCE_, /* report the broken connection: resending may not be safe */
	RPX_CALL_IDEMPOTENT_, /* reconnect and send again until the deadline */
	RPX_CALL_MUTATING_, /* likewise, with the same request ID; no reply by the
			     * deadline is "outcome unknown" */
};

/*
 * rpx_client_call() under a policy, with a deadline of the client's
 * timeout plus hold_ms (for calls the server may hold: WAIT, OUTPUT with
 * follow).
 */
int rpx_client_call_policy_(struct rpx_client *cl, enum rpx_call_policy_ policy, int hold_ms,
    uint32_t prog, uint32_t vers, uint32_t proc, xdrproc_t xargs, void *args, xdrproc_t xres,
    void *res);

/*
 * The request ID of the next mutating call: the client's random ID, the
 * next sequence number (from 1), and the lowest one still unanswered.
 */
void rpx_client_reqid_(struct rpx_client *cl, uint64_t *client, uint64_t *seq, uint64_t *acked);

/* The auth_stat of the last call refused with AUTH_ERROR. */
int rpx_client_auth_why_(const struct rpx_client *cl);

/* The text for an RFC 5531 auth_stat, as every client error message words it. */
const char *rpx_auth_why_(enum auth_stat why);

/*
 * The checks every options struct of the library shares: non-negative
 * timeout and retry interval, no unknown flags, reserved fields zero.
 * 0, or -EINVAL with the reason in @why.
 */
int rpx_opts_check_(int timeout_ms, int retry_ms, unsigned int flags, const int *reserved,
    size_t nreserved, char *why, size_t whylen);

/*
 * clnt_conn_tls.c: the transport of a tls:// client, one struct rpx_async
 * on a private event_base, driven only while a call waits. Texts in why
 * carry no URL.
 */
struct rpx_tls_conn_;

/* Copies url (tls://...) and the files of tls (may be NULL); connects later. NULL: no memory. */
struct rpx_tls_conn_ *rpx_tls_conn_new_(const char *url, const struct rpx_tls_opts *tls);

/* Closes the connection, frees. Accepts NULL. */
void rpx_tls_conn_free_(struct rpx_tls_conn_ *tc);

/*
 * (Re)connects: TCP, AUTH_TLS probe, TLS handshake, within timeout_ms.
 * 0, or the negative errno of the failure with its text in why (-EINVAL:
 * an option or file the library refused at once).
 */
int rpx_tls_conn_connect_(struct rpx_tls_conn_ *tc, int timeout_ms, char *why, size_t whylen);

/* 1 when connected and not closed by the server meanwhile, else 0 (and dropped). */
int rpx_tls_conn_up_(struct rpx_tls_conn_ *tc);

/*
 * One call on a connected tc, bounded by timeout_ms; the result decoded
 * into res with xres. 0 or the negative errno of <rpx/async.h>, text in
 * why; *broken is set when the connection failed (it is then dropped, and
 * the call may or may not have reached the server).
 */
int rpx_tls_conn_call_(struct rpx_tls_conn_ *tc, uint32_t prog, uint32_t vers, uint32_t proc,
    xdrproc_t xargs, void *args, xdrproc_t xres, void *res, int timeout_ms, int *broken, char *why,
    size_t whylen);

#endif /* RPX_CLNT_INTERNAL_H */
