/*
 * rpx/async.h: asynchronous ONC RPC calls on a libevent event_base.
 *
 * A struct rpx_async is one connection (TCP, Unix socket, TLS) or one
 * socket (UDP) to one server, named by a URL, driven entirely by the
 * caller's event_base: no thread and no blocking call, so one loop can talk
 * to many hosts at once (fan-out). Calls are encoded with rpcgen's xdr_*
 * routines, sent at once (or queued until the connection is up), matched to
 * their replies by XID in any order, and completed through a callback run
 * from the event loop.
 *
 * URLs: tcp://HOST:PORT, udp://HOST:PORT, unix:PATH (as <rpx/client.h>), and
 * tls://HOST:PORT: RPC-with-TLS (RFC 9289) over TCP. A tls:// connection
 * sends the AUTH_TLS probe (a NULL call with credential flavor AUTH_TLS),
 * requires the answer "STARTTLS", then runs a TLS 1.3 handshake on the same
 * socket with ALPN "sunrpc", verifies the server certificate against the CA
 * file and the host name or IP address, and only then sends calls. Any
 * failure on that path fails the connection: calls are never sent in clear
 * text on a tls:// URL.
 *
 * Errors: functions return 0 or a negative errno value; a callback gets the
 * error code and one line of text naming the URL, e.g.
 * "tcp://127.0.0.1:9: connection refused". The library never prints.
 *
 * Threads: a struct rpx_async belongs to the thread running its event_base.
 *
 * SIGPIPE: libevent writes to sockets with writev(), so a server that closes
 * a connection while a call is being written raises SIGPIPE. A program that
 * runs its own event_base must ignore it (signal(SIGPIPE, SIG_IGN)), as any
 * libevent program; the library does not change signal dispositions.
 * rpx_async_call_sync() blocks it around its private loop.
 *
 * Deadlines: every call has one deadline (its timeout_ms, else the
 * connection's), which covers waiting for the connection, the TLS
 * handshake, and (UDP) every retransmission: UDP resends the same datagram
 * with the same XID after retry_ms, then at doubling intervals (at most
 * 5 s apart) until a reply arrives or the deadline passes. Over a stream a
 * call is sent once; a connection that breaks fails every call in flight
 * (the library cannot know whether resending is safe) and stays failed:
 * close it and open a new one.
 */
#ifndef RPX_ASYNC_H
#define RPX_ASYNC_H

#include <stddef.h>
#include <stdint.h>
#include <rpc/rpc.h>
#include <rpx/api.h>

#ifdef __cplusplus
extern "C" {
#endif

struct event_base;
struct rpx_async;

#define RPX_ASYNC_TIMEOUT_MS 5000 /* default call deadline and connect/handshake bound */
#define RPX_ASYNC_RETRY_MS 500 /* default first UDP retransmission interval */
#define RPX_ASYNC_MAX_REPLY (16u << 20) /* default largest reply record (stream) */

/*
 * Options for rpx_async_open(). Zero every field you do not set: zero (or
 * NULL) always means the default, and the reserved fields become options in
 * later versions without changing the struct size.
 */
struct rpx_async_opts {
	int timeout_ms; /* default call deadline; also bounds connect + TLS setup; 0: 5000 */
	int retry_ms; /* UDP: wait before the first retransmission; 0: 500 */
	const char *tls_ca_file; /* tls://: PEM CAs to verify the server; NULL: system CAs */
	const char *tls_cert_file; /* tls://: client certificate chain (PEM), with key */
	const char *tls_key_file; /* tls://: the client certificate's private key (PEM) */
	const char *tls_server_name; /* tls://: name or IP to verify; NULL: the URL's host */
	uint32_t tls_probe_prog; /* tls://: program of the AUTH_TLS NULL probe; 0: DATE */
	uint32_t tls_probe_vers; /* tls://: its version; 0: 1 */
	size_t max_reply; /* largest reply record accepted on a stream; 0: 16 MiB */
	unsigned int flags; /* RPX_ASYNC_* flags below, or 0 */
	int reserved[8]; /* must be 0 */
};

/*
 * tls://: always make a full handshake, neither offering nor keeping a
 * session ticket. Without it, the library keeps the newest TLS 1.3 session
 * ticket each server sent (per CA, certificate and key files, per host,
 * port and name verified, in the process) and offers it, once, on the next
 * connection to that server: a resumed handshake exchanges no certificates
 * (they were verified when the session began) and costs a fraction of a
 * full one. See rpx_async_tls_resumed().
 */
#define RPX_ASYNC_TLS_NO_RESUME 0x1u

/*
 * The completion of one call, run from the event loop (never from inside
 * rpx_async_call()), exactly once per call that rpx_async_call() accepted.
 *   err     0, or a negative errno:
 *             -ETIMEDOUT       no reply before the call's deadline
 *             -ECANCELED       rpx_async_close() was called first
 *             -ECONNREFUSED, -ECONNRESET, -EPIPE, -EHOSTUNREACH, ...  transport
 *             -EPROTO          TLS failure, or server: (RPC) version mismatch
 *             -EPROTONOSUPPORT server: program unavailable, or no RPC-with-TLS
 *             -EOPNOTSUPP      server: procedure unavailable
 *             -EINVAL          server: garbage arguments
 *             -EACCES          server: authentication error, or (tls://) the
 *                              server refused the client certificate
 *             -EBADMSG         the reply could not be decoded
 *             -EMSGSIZE        the reply is larger than max_reply
 *             -EIO             server: system error
 *   errmsg  "" on success, else one line starting with the URL
 *   res     on success, the result decoded with the call's xres into a
 *           zeroed buffer of res_size bytes (NULL when res_size is 0); the
 *           library frees it (xdr_free + free) after the callback returns,
 *           unless the callback takes it with rpx_async_result_take()
 *   arg     the call's arg
 * The callback may make new calls, and may close this or any connection.
 */
typedef void (
    *rpx_async_cb)(struct rpx_async *c, int err, const char *errmsg, void *res, void *arg);

/*
 * Creates a connection to url on base and starts connecting (name lookup,
 * connect, and for tls:// the probe and the handshake) in the background.
 * Calls made before it is up are queued and sent when it is. Returns NULL
 * only for errors known at once, with a message in err (when errlen > 0):
 * a bad URL or option, an unreadable TLS CA, certificate or key file, out of
 * memory. A connection that later fails (refused, unreachable, TLS) fails
 * every queued call through its callback, and every later rpx_async_call()
 * with the same error; see rpx_async_error().
 */
RPX_API struct rpx_async *rpx_async_open(struct event_base *base, const char *url,
    const struct rpx_async_opts *opts, char *err, size_t errlen);

/*
 * Starts a call of procedure proc of program prog, version vers: args is
 * encoded with xargs now (the caller may free it when this returns); the
 * reply's result is decoded with xres into res_size bytes and handed to cb.
 * timeout_ms is the call's deadline from now (0: the connection's). Returns
 * 0 when the call was accepted (cb will run exactly once), or a negative
 * errno and then cb never runs: -EINVAL (bad arguments, or xargs failed),
 * -EMSGSIZE (a UDP call larger than a datagram), -ENOMEM, -ECANCELED (the
 * connection is being closed), or the error that failed the connection
 * (its text in rpx_async_error()).
 */
RPX_API int rpx_async_call(struct rpx_async *c, uint32_t prog, uint32_t vers, uint32_t proc,
    xdrproc_t xargs, const void *args, xdrproc_t xres, size_t res_size, int timeout_ms,
    rpx_async_cb cb, void *arg);

/*
 * Inside a callback only: takes ownership of the result just handed to it,
 * which the library then does not free. Returns it (NULL outside a callback
 * or when there is none). Free it with rpx_async_result_free().
 */
RPX_API void *rpx_async_result_take(struct rpx_async *c);

/* Frees a result taken with rpx_async_result_take(): xdr_free(xres, res), free(res). */
RPX_API void rpx_async_result_free(xdrproc_t xres, void *res);

/*
 * Fails every pending call with -ECANCELED (their callbacks run before this
 * returns), closes the socket and frees the connection. Safe inside a
 * callback, also one of this connection's (the memory is released when the
 * callback returns). Accepts NULL.
 */
RPX_API void rpx_async_close(struct rpx_async *c);

/* The URL in canonical form, e.g. "tls://example.org:7077". */
RPX_API const char *rpx_async_url(const struct rpx_async *c);

/*
 * Why the connection failed, one line starting with the URL ("" while it is
 * connecting or up). Only failures of the connection are kept here; a
 * call's own error goes to its callback.
 */
RPX_API const char *rpx_async_error(const struct rpx_async *c);

/* 1 when the connection is up (TLS: handshake done), 0 while connecting, <0 failed. */
RPX_API int rpx_async_state(const struct rpx_async *c);

/*
 * tls://: 1 when the connection is up and its handshake resumed an earlier
 * session (session ticket), 0 otherwise.
 */
RPX_API int rpx_async_tls_resumed(const struct rpx_async *c);

/* Counters of one connection. */
struct rpx_async_stats {
	uint64_t calls; /* calls accepted by rpx_async_call() */
	uint64_t transmissions; /* datagrams or records sent, first sends and resends */
	uint64_t retransmissions; /* UDP resends (same XID) */
	uint64_t replies; /* replies matched to a pending call */
	uint64_t unknown_xid; /* replies with no pending call (late, duplicate, bogus): dropped */
	uint64_t bad_messages; /* messages that were not replies or too short: dropped */
	uint64_t timeouts; /* calls failed at their deadline */
	uint64_t pending; /* calls waiting now (queued or sent) */
};

/* Fills *st. */
RPX_API void rpx_async_stats(const struct rpx_async *c, struct rpx_async_stats *st);

/*
 * A synchronous call for tests and small tools: opens url on a private
 * event_base, makes one call, runs the loop until it completes, closes.
 * The result is decoded into res (which the caller frees with
 * xdr_free(xres, res)). Returns 0 or the callback's error, with its text in
 * err (when errlen > 0).
 */
RPX_API int rpx_async_call_sync(const char *url, const struct rpx_async_opts *opts, uint32_t prog,
    uint32_t vers, uint32_t proc, xdrproc_t xargs, const void *args, xdrproc_t xres, void *res,
    size_t res_size, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif /* RPX_ASYNC_H */
