/*
 * server.h: rpxd's runtime state shared by listeners, connections and
 * services: the event base, the limits in force, the dispatcher.
 */
#ifndef RPX_SERVER_H
#define RPX_SERVER_H

#include <stddef.h>
#include <sys/queue.h>

#include <event2/event.h>

#include "dispatch.h"

struct rpx_limits {
	size_t max_record;
	unsigned max_connections;
	unsigned max_inflight;
	unsigned max_udp_inflight;
	size_t max_output;
	unsigned idle_timeout; /* seconds */
	unsigned record_timeout; /* seconds */
};

struct rpx_conn;
struct rpx_tls;
struct rpx_listener;

struct rpx_server {
	struct event_base *base;
	struct rpx_limits limits;
	struct rpx_dispatch *dispatch;
	unsigned nconns;
	uint64_t refused_conns; /* over --max-connections */
	int socket_gid; /* --socket-group, or -1 */
	struct rpx_tls *tls; /* RPC-with-TLS on TCP listeners, or NULL */
	TAILQ_HEAD(, rpx_conn) conns;
	TAILQ_HEAD(, rpx_listener) listeners;
};

/* conn.c: one stream client (TCP or Unix socket). */
struct rpx_conn *rpx_conn_new(struct rpx_server *srv, int fd, const char *kind, const char *peer);
void rpx_conn_close(struct rpx_conn *conn, const char *why);
void rpx_conn_close_all(struct rpx_server *srv);
/* After a TLS reload: closes sessions whose client certificate is no longer trusted. */
void rpx_conn_tls_recheck(struct rpx_server *srv);

#endif
