/*
 * rpx/fanout.h: one piece of work against many hosts at once, on the
 * caller's event_base.
 *
 * A struct rpx_fanout holds a list of targets (URLs as <rpx/async.h>, or
 * bare host names and addresses) and runs the same per-host work on each:
 * at most `parallel` hosts at a time, each with its own deadline, all from
 * the one event loop (no thread or process per host). For each host the
 * library opens a struct rpx_async and hands it to start(); the caller then
 * makes its calls on it (one, or a sequence chained through the calls'
 * callbacks) and ends the host with rpx_fanout_host_done(). done() then
 * reports the host's result, and the next waiting host starts.
 *
 * Bare hosts (no scheme and no port: "example.org", "198.18.0.1",
 * "[::1]") find rpxd's port through rpcbind, as clnt_create() would: an
 * RPCBPROC_GETADDR call (rpcbind version 4, program 100000, procedure 3,
 * netid "tcp") for the program in the options to HOST:111, over the async
 * transport, bounded by rpcbind_timeout_ms. The universal address
 * "h1.h2.h3.h4.p1.p2" gives the port (p1 * 256 + p2). When rpcbind does
 * not answer or has no mapping, the host is tried on RPX_DEFAULT_PORT (7077)
 * and an error of that host says so: "198.18.0.9: rpcbind: no mapping for
 * program 0x20007701; tried port 7077: tcp://198.18.0.9:7077: connection
 * refused".
 *
 * Deadlines: host_timeout_ms (when not 0) runs from the moment a host
 * starts (rpcbind lookup and connect included) to its rpx_fanout_host_done().
 * When it passes, the host ends with -ETIMEDOUT ("URL: no answer within N
 * ms"); its connection is closed, so calls still pending on it complete
 * with -ECANCELED after the host is done (rpx_fanout_host_done() is then a
 * no-op; check rpx_fanout_host_is_done() before touching per-host state).
 * Each call keeps its own deadline too (its timeout_ms, or the async
 * options' timeout_ms).
 *
 * Errors: 0 or a negative errno; messages are one line naming the host.
 * The library never prints. A struct rpx_fanout belongs to the thread
 * running its event_base; the caller ignores SIGPIPE (see <rpx/async.h>).
 */
#ifndef RPX_FANOUT_H
#define RPX_FANOUT_H

#include <stddef.h>
#include <stdint.h>
#include <rpx/async.h>
#include <rpx/api.h>

#ifdef __cplusplus
extern "C" {
#endif

struct rpx_fanout;
struct rpx_fanout_host;

#define RPX_FANOUT_PARALLEL 32 /* default number of hosts worked on at once */
#define RPX_FANOUT_RPCBIND_MS 2000 /* default bound of one rpcbind lookup */
#define RPX_FANOUT_RPCBIND_PORT 111

/* Options of rpx_fanout_new(). Zero every field you do not set: 0 is the default. */
struct rpx_fanout_opts {
	int parallel; /* hosts at a time; 0: RPX_FANOUT_PARALLEL */
	int host_timeout_ms; /* deadline of each host's whole work; 0: none */
	int rpcbind_timeout_ms; /* bare hosts: bound of the lookup; 0: 2000 */
	uint32_t rpcbind_prog; /* bare hosts: program looked up; 0: RPX_DATE_PROG */
	uint32_t rpcbind_vers; /* its version; 0: 1 */
	struct rpx_async_opts async; /* options of every connection */
	int reserved[8]; /* must be 0 */
};

/*
 * Runs when a host's turn comes, with its connection (maybe still
 * connecting: calls are queued). Make calls on c; end the host with
 * rpx_fanout_host_done(), here or later from a callback.
 */
typedef void (*rpx_fanout_start_cb)(struct rpx_fanout_host *h, struct rpx_async *c, void *arg);

/*
 * Runs once per host, from the event loop, when the host ended: err 0 or a
 * negative errno, errmsg "" or one line naming the host. The host's
 * connection is already closed.
 */
typedef void (
    *rpx_fanout_done_cb)(struct rpx_fanout_host *h, int err, const char *errmsg, void *arg);

/* A fan-out on base; start and done get arg. NULL on a bad option or no memory. */
RPX_API struct rpx_fanout *rpx_fanout_new(struct event_base *base,
    const struct rpx_fanout_opts *opts, rpx_fanout_start_cb start, rpx_fanout_done_cb done,
    void *arg);

/*
 * Adds a target (copied) with the caller's per-host pointer. Before
 * rpx_fanout_start() only. 0, -EINVAL (empty) or -ENOMEM.
 */
RPX_API int rpx_fanout_add(struct rpx_fanout *f, const char *target, void *host_arg);

/*
 * Starts the first `parallel` hosts. Every callback runs from the event
 * loop, none from here: run event_base_dispatch() until
 * rpx_fanout_remaining() is 0 (the fan-out then holds no event).
 */
RPX_API int rpx_fanout_start(struct rpx_fanout *f);

/*
 * Ends host h: err 0 or a negative errno, with a message (printf format,
 * NULL or "" for none; the library prefixes nothing, so name the host,
 * e.g. with rpx_async_error()). Closes its connection, runs done() and
 * starts the next waiting host. A second call for the same host is ignored.
 */
RPX_API void rpx_fanout_host_done(struct rpx_fanout_host *h, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Hosts not yet done (waiting or running). */
RPX_API size_t rpx_fanout_remaining(const struct rpx_fanout *f);

/* Hosts running now. */
RPX_API size_t rpx_fanout_running(const struct rpx_fanout *f);

/* Frees the fan-out; hosts still running are closed without done(). Accepts NULL. */
RPX_API void rpx_fanout_free(struct rpx_fanout *f);

/* The target as added. */
RPX_API const char *rpx_fanout_host_target(const struct rpx_fanout_host *h);

/* The URL connected to ("" before the host started, e.g. during its rpcbind lookup). */
RPX_API const char *rpx_fanout_host_url(const struct rpx_fanout_host *h);

/* The pointer given to rpx_fanout_add(). */
RPX_API void *rpx_fanout_host_arg(const struct rpx_fanout_host *h);

/* 1 once the host ended (done() ran or is running), else 0. */
RPX_API int rpx_fanout_host_is_done(const struct rpx_fanout_host *h);

#ifdef __cplusplus
}
#endif

#endif /* RPX_FANOUT_H */
