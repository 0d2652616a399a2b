/*
 * listen.h: rpxd's sockets. A listener is parsed from a URL, bound before
 * the daemon reports ready, and serves one of: RPC over a stream (tcp,
 * unix), RPC over datagrams (udp), the daytime text line (RFC 867), or the
 * RFC 868 binary time (tcp or udp).
 */
#ifndef RPX_LISTEN_H
#define RPX_LISTEN_H

#include <stddef.h>
#include <sys/socket.h>

#include "server.h"

enum rpx_service { RPX_SERVICE_RPC, RPX_SERVICE_DAYTIME, RPX_SERVICE_TIME };

enum rpx_url_kind { RPX_URL_TCP, RPX_URL_UDP, RPX_URL_UNIX };

struct rpx_url {
	enum rpx_url_kind kind;
	char host[256]; /* without brackets */
	char port[16];
	char path[108];
};

/* Parses tcp://HOST:PORT, udp://HOST:PORT, unix:PATH; 0 or -EINVAL with @err set. */
int rpx_url_parse(const char *text, struct rpx_url *url, char *err, size_t errlen);

/*
 * Binds a listener and adds it to @srv. On failure returns a negative errno
 * and writes "tcp://127.0.0.1:7077: address already in use" into @err.
 */
int rpx_listener_add(struct rpx_server *srv, enum rpx_service service, const struct rpx_url *url,
    char *err, size_t errlen);

/* Prints one "listening [SERVICE ]URL" line per listener to @f. */
void rpx_listener_print_all(struct rpx_server *srv, FILE *f);

/* Calls @fn with the socket type and bound address of each RPC listener. */
void rpx_listener_foreach_rpc(struct rpx_server *srv,
    void (*fn)(int socktype, const struct sockaddr *sa, socklen_t salen, void *arg), void *arg);

void rpx_listener_free_all(struct rpx_server *srv);

#endif
