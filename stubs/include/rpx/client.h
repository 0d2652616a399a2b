/*
 * rpx/client.h: the public API of librpx, the client side of rpx.
 *
 * A struct rpx_client is one connection (TCP, Unix) or one socket (UDP) to
 * one rpxd, named by a URL. It wraps a libtirpc CLIENT: calls go through
 * clnt_call(), so the rpcgen stubs from <rpx/date.h> and <rpx/proc.h>
 * (both included here) work unchanged on the handle returned by
 * rpx_client_clnt(), and the typed wrappers below (and, for the PROC
 * program, in <rpx/proc_client.h>, also included) add the timeout policy,
 * request IDs and a readable error message.
 *
 * URLs: tcp://HOST:PORT, udp://HOST:PORT, unix:PATH; IPv6 hosts in brackets
 * (tcp://[::1]:7077). HOST:PORT means tcp. A bare HOST (no scheme, no port)
 * finds rpxd's tcp port through the host's rpcbind, as clnt_create() does
 * (RPCBPROC_GETADDR for the DATE program, within the timeout and at most
 * 2 s); when rpcbind does not answer or has no mapping, port 7077, and an
 * open that then fails says so: "rpcbind: ...; tried port 7077: ...".
 *
 * tls://HOST:PORT is RPC-with-TLS (RFC 9289) over TCP: the library sends the
 * AUTH_TLS probe, requires "STARTTLS", runs a TLS 1.3 handshake (ALPN
 * "sunrpc", server certificate verified against the CA file and the host)
 * and only then sends calls; any failure on that path fails the open or
 * the call, never falls back to clear text. Such a client does not use
 * libtirpc's CLIENT: its calls go through the asynchronous transport of
 * <rpx/async.h> on a private event_base, and rpx_client_clnt() returns
 * NULL. Every function below (and in <rpx/proc_client.h>) works on it,
 * with the same deadlines and request-ID resends as over tcp://. The CA,
 * client certificate and key come from rpx_client_open_tls().
 *
 * Errors: functions return 0 or a negative errno value; the text of the last
 * error, one line without a trailing newline, is rpx_client_error(). The
 * library never prints. A struct rpx_client is used by one thread at a time.
 *
 * Deadlines and retransmission. Every call has one deadline, the client's
 * timeout (plus the hold of a WAIT or OUTPUT follow), which covers
 * reconnects and resends too. Within it:
 *   - UDP: the same datagram, with the same XID (and, for SPAWN and KILL,
 *     the same request ID), is resent after retry_ms, then at doubling
 *     intervals up to 5 s, until a reply arrives. Connection refused (ICMP)
 *     on the first datagram fails the call at once (nothing listened, nothing
 *     ran); on a later one the resends go on, since an earlier datagram may
 *     have reached a server that has gone away since.
 *   - TCP and Unix sockets: a connection the server closed while idle is
 *     replaced before a call is sent. When the connection breaks during a
 *     call (failed send, reset, EOF before the reply), the library connects
 *     again and sends the call again on the new connection (with a new XID)
 *     for SPAWN and KILL (with the SAME request ID, so rpxd answers a
 *     duplicate from its record instead of running it again) and for the
 *     reads (NULL/ping, LIST, INFO, OUTPUT, STATS, WAIT with keep). A
 *     reconnect that fails is retried at growing intervals (10 ms .. 500 ms)
 *     if the call may already have reached the server, and reported at once
 *     if it cannot have (then nothing ran). rpx_client_call(), the DATE
 *     calls and a WAIT that reaps report a broken connection instead
 *     (-ECONNRESET, -EPIPE, ...): the library cannot know that sending them
 *     twice is safe.
 * So a SPAWN or KILL runs exactly once as long as rpxd can be reached
 * before the deadline (and keeps its record of the request: see
 * rpx/proc_client.h). When the deadline passes without a reply, a SPAWN or
 * KILL returns -ETIMEDOUT with the text "outcome unknown: no reply within
 * N ms; the request may or may not have run" (other calls: "call timed out
 * after N ms"): the caller cannot tell whether it ran and should check
 * (e.g. LIST by name or label) before repeating it. Any other error means
 * the request did not run, or ran and failed as the result says.
 */
#ifndef RPX_CLIENT_H
#define RPX_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <rpc/rpc.h>
#include <rpx/date.h>
#include <rpx/proc.h>
#include <rpx/api.h>

#ifdef __cplusplus
extern "C" {
#endif

#define RPX_DEFAULT_PORT 7077
#define RPX_CLIENT_TIMEOUT_MS 5000 /* default whole-call deadline */
#define RPX_CLIENT_RETRY_MS 500 /* default first UDP retransmission interval */

/*
 * Options for rpx_client_open(). Zero every field you do not set (a struct
 * initialised with {0}): zero always means the default, and the reserved
 * fields become options in later versions without changing the struct size.
 */
struct rpx_client_opts {
	int timeout_ms; /* deadline of one call and of the connect; 0: 5000 */
	int retry_ms; /* UDP: wait before the first retransmission (same XID); 0: 500 */
	unsigned int flags; /* none defined yet; must be 0 */
	int reserved[5]; /* must be 0 */
};

struct rpx_client;

/*
 * Connects to url (NULL: rpx_client_default_url()). TCP and Unix connect at
 * once, bounded by the timeout; UDP only binds a socket to the peer. Returns
 * NULL on failure with a message naming the URL in err (when errlen > 0),
 * e.g. "tcp://127.0.0.1:9: connection refused".
 */
RPX_API struct rpx_client *rpx_client_open(const char *url, const struct rpx_client_opts *opts,
    char *err, size_t errlen);

/*
 * Files for tls:// URLs (PEM). Zero (NULL) every field you do not set.
 * The strings are copied by rpx_client_open_tls().
 */
struct rpx_tls_opts {
	const char *ca_file; /* CAs that verify the server; NULL: the system CAs */
	const char *cert_file; /* client certificate chain, for mutual TLS; NULL: none */
	const char *key_file; /* its private key; NULL: in cert_file */
	const char *server_name; /* name or IP the certificate must name; NULL: URL host */
};

/*
 * rpx_client_open() with TLS files for a tls:// URL (tls may be NULL; it is
 * ignored for other URLs, so a program can pass its TLS options for any
 * host). A tls:// open fails, with the reason after the URL, when the
 * server does not offer RPC-with-TLS ("tls://H:P: server does not offer
 * RPC-with-TLS (...)"), when its certificate does not verify ("...: TLS:
 * certificate verify failed: ..."), or when a file cannot be read.
 * rpx_client_open(url, opts, ...) is rpx_client_open_tls(url, opts, NULL, ...).
 */
RPX_API struct rpx_client *rpx_client_open_tls(const char *url, const struct rpx_client_opts *opts,
    const struct rpx_tls_opts *tls, char *err, size_t errlen);

/* 1 when cl is a tls:// client, else 0. */
RPX_API int rpx_client_is_tls(const struct rpx_client *cl);

/* Closes the connection and frees the client. Accepts NULL. */
RPX_API void rpx_client_close(struct rpx_client *cl);

/* The URL in canonical form, e.g. "tcp://127.0.0.1:7077" for "127.0.0.1". */
RPX_API const char *rpx_client_url(const struct rpx_client *cl);

/*
 * The last error as one line, e.g. "call timed out after 5000 ms",
 * "server: program unavailable", "server: version mismatch (server has 1..1)";
 * "" when the last call succeeded.
 */
RPX_API const char *rpx_client_error(const struct rpx_client *cl);

/*
 * The libtirpc handle, for calling rpcgen stubs directly. Its timeout is
 * already set (the stubs' own 25 s is ignored). The client keeps ownership:
 * do not destroy it. After a TCP or Unix connection broke the library
 * reconnects and replaces it (here or on the next call through this API),
 * so fetch it again rather than keep it. NULL when that reconnect fails
 * (the reason is in rpx_client_error()), and always NULL for a tls://
 * client (libtirpc cannot speak TLS): use rpx_client_call() there.
 */
RPX_API CLIENT *rpx_client_clnt(struct rpx_client *cl);

/*
 * Generic call of procedure proc of program prog, version vers: encodes args
 * with xargs, decodes the reply into res with xres (free it with
 * xdr_free(xres, res)). Over UDP it is retransmitted with the same XID until
 * the deadline; over a stream it is sent once per call (a broken connection
 * is reported, and replaced on the next call). Returns 0 or:
 *   -ETIMEDOUT        no reply before the deadline
 *   -ECONNREFUSED, -ECONNRESET, -EPIPE, ...  transport errors (errno of the socket)
 *   -EPROTONOSUPPORT  server: program unavailable
 *   -EPROTO           server: version mismatch (program or RPC version)
 *   -EOPNOTSUPP       server: procedure unavailable
 *   -EINVAL           server: garbage arguments
 *   -EACCES           server: authentication error (AUTH_ERROR; the text names the
 *                     reason, e.g. "refused for security reasons" for AUTH_TOOWEAK),
 *                     or (tls://) the server refused the client certificate
 *   -EBADMSG          the reply could not be decoded
 *   -EIO              any other failure
 */
RPX_API int rpx_client_call(struct rpx_client *cl, uint32_t prog, uint32_t vers, uint32_t proc,
    xdrproc_t xargs, void *args, xdrproc_t xres, void *res);

/*
 * Calls the NULL procedure (0) of prog/vers. On success stores the round
 * trip time in *rtt_seconds (when not NULL).
 */
RPX_API int rpx_client_ping(struct rpx_client *cl, uint32_t prog, uint32_t vers,
    double *rtt_seconds);

/*
 * The URL used when none is given: "unix:PATH" when the default rpxd socket
 * exists (root: /run/rpx/rpxd.sock; others: $XDG_RUNTIME_DIR/rpx/rpxd.sock,
 * else /tmp/rpx-UID/rpxd.sock), else "tcp://127.0.0.1:7077". Returns 0, or
 * -ENAMETOOLONG when buf is too small.
 */
RPX_API int rpx_client_default_url(char *buf, size_t len);

/* DATE program (idl/date.x). */

/* NOW: the server's current time. Free *res with rpx_date_free(). */
RPX_API int rpx_date_now(struct rpx_client *cl, rpx_date_now_res *res);

/*
 * FORMAT: the server renders the instant seconds.nanoseconds in UTC (utc
 * non-zero) or in its own zone. Returns 0 and fills *res (free it with
 * rpx_date_free()), a negative RPC error as rpx_client_call(), or the
 * negative errno the server returned (e.g. -EINVAL), its message in
 * rpx_client_error() as "server: MESSAGE".
 */
RPX_API int rpx_date_format(struct rpx_client *cl, int64_t seconds, uint32_t nanoseconds, int utc,
    rpx_date_now_res *res);

/* Frees the strings of a result filled by rpx_date_now/format. Accepts NULL. */
RPX_API void rpx_date_free(rpx_date_now_res *res);

/* The library version, e.g. "0.1.0". */
RPX_API const char *rpx_version(void);

#ifdef __cplusplus
}
#endif

/* PROC program (idl/proc.x): spawn, list, info, kill, wait, output. */
#include <rpx/proc_client.h>

#endif /* RPX_CLIENT_H */
