/*
 * listen.c: binding and serving rpxd's sockets. Stream RPC listeners hand
 * accepted sockets to conn.c; the UDP listener is itself the transport of
 * its calls (replies go back by address); daytime and time answer and
 * close without keeping any state.
 *
 * Accept errors: when the process runs out of descriptors, accepting pauses
 * for a moment (the backlog holds new clients) while existing clients go on
 * being served. Over --max-connections a new client is closed at once.
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <event2/listener.h>

#include "daytime.h"
#include "rpx_limits.h"
#include "listen.h"
#include "log.h"

struct rpx_listener {
	struct rpx_xprt xprt; /* first: UDP RPC listeners are transports */
	TAILQ_ENTRY(rpx_listener) link;
	struct rpx_server *srv;
	enum rpx_service service;
	struct rpx_url url;
	char name[300]; /* the URL actually bound, real port included */
	int fd;
	struct evconnlistener *lev; /* stream listeners */
	struct event *ev; /* datagram listeners */
	struct event *backoff; /* re-enables accept after EMFILE */
	unsigned char *dgram; /* datagram receive buffer */
	size_t dgram_size;
	bool unlink_path;
};

int rpx_url_parse(const char *text, struct rpx_url *url, char *err, size_t errlen)
{
	const char *rest, *colon;

	memset(url, 0, sizeof(*url));
	if (strncmp(text, "unix:", 5) == 0) {
		url->kind = RPX_URL_UNIX;
		rest = text + 5;
		if (strncmp(rest, "//", 2) == 0)
			rest += 2;
		if (*rest == '\0' || strlen(rest) >= sizeof(url->path)) {
			snprintf(err, errlen, "%s: a Unix socket path of 1 to %zu bytes is needed",
			    text, sizeof(url->path) - 1);
			return -EINVAL;
		}
		strcpy(url->path, rest);
		return 0;
	}
	if (strncmp(text, "tcp://", 6) == 0) {
		url->kind = RPX_URL_TCP;
	} else if (strncmp(text, "udp://", 6) == 0) {
		url->kind = RPX_URL_UDP;
	} else {
		snprintf(err, errlen, "%s: expected tcp://HOST:PORT, udp://HOST:PORT or unix:PATH",
		    text);
		return -EINVAL;
	}
	rest = text + 6;
	if (*rest == '[') {
		const char *close = strchr(rest, ']');

		if (close == NULL || close[1] != ':')
			goto bad;
		if ((size_t)(close - rest - 1) >= sizeof(url->host))
			goto bad;
		memcpy(url->host, rest + 1, (size_t)(close - rest - 1));
		colon = close + 1;
	} else {
		colon = strrchr(rest, ':');
		if (colon == NULL || (size_t)(colon - rest) >= sizeof(url->host) ||
		    memchr(rest, ':', (size_t)(colon - rest)) != NULL)
			goto bad;
		memcpy(url->host, rest, (size_t)(colon - rest));
	}
	if (url->host[0] == '\0' || strlen(colon + 1) == 0 ||
	    strlen(colon + 1) >= sizeof(url->port) ||
	    strspn(colon + 1, "0123456789") != strlen(colon + 1) || atol(colon + 1) > 65535)
		goto bad;
	strcpy(url->port, colon + 1);
	return 0;
bad:
	snprintf(err, errlen,
	    "%s: expected HOST:PORT with a port from 0 to 65535 (IPv6 as [ADDR]:PORT)", text);
	return -EINVAL;
}

static void format_name(struct rpx_listener *l)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char host[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;
	const char *scheme = l->url.kind == RPX_URL_UDP ? "udp" : "tcp";

	if (l->url.kind == RPX_URL_UNIX) {
		snprintf(l->name, sizeof(l->name), "unix:%s", l->url.path);
		return;
	}
	if (getsockname(l->fd, (struct sockaddr *)&ss, &len) == 0) {
		if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

			inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
			port = ntohs(s6->sin6_port);
			snprintf(l->name, sizeof(l->name), "%s://[%s]:%u", scheme, host, port);
			return;
		}
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		port = ntohs(s4->sin_port);
	}
	snprintf(l->name, sizeof(l->name), "%s://%s:%u", scheme, host, port);
}

static void peer_name(const struct sockaddr *sa, socklen_t len, char *buf, size_t size)
{
	char host[INET6_ADDRSTRLEN] = "?";

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;

		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		snprintf(buf, size, "%s:%u", host, ntohs(s4->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;

		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		snprintf(buf, size, "[%s]:%u", host, ntohs(s6->sin6_port));
	} else {
		snprintf(buf, size, "local");
	}
}

/* Daytime and time over TCP: the bytes fit any fresh socket's send buffer. */
static void answer_and_close(struct rpx_listener *l, int fd)
{
	char line[128];
	time_t now = time(NULL);
	ssize_t n;

	if (l->service == RPX_SERVICE_DAYTIME) {
		size_t len = rpx_daytime_line(line, sizeof(line), now);

		n = send(fd, line, len, MSG_NOSIGNAL | MSG_DONTWAIT);
	} else {
		uint32_t t = rpx_time_rfc868(now);

		n = send(fd, &t, sizeof(t), MSG_NOSIGNAL | MSG_DONTWAIT);
	}
	if (n < 0)
		log_debug("%s: send: %s", l->name, strerror(errno));
	close(fd);
}

static void accept_cb(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	struct rpx_listener *l = arg;
	struct rpx_server *srv = l->srv;
	char peer[INET6_ADDRSTRLEN + 16];

	if (l->service != RPX_SERVICE_RPC) {
		answer_and_close(l, fd);
		return;
	}
	peer_name(sa, (socklen_t)salen, peer, sizeof(peer));
	if (srv->nconns >= srv->limits.max_connections) {
		/* Log the first refusal of a burst, not every one. */
		if (srv->refused_conns++ % 1000 == 0)
			log_warnx("%s: refused %s: %u connections open (--max-connections)",
			    l->name, peer, srv->nconns);
		close(fd);
		return;
	}
	if (l->url.kind == RPX_URL_TCP) {
		int one = 1;

		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	if (rpx_conn_new(srv, fd, l->url.kind == RPX_URL_UNIX ? "unix" : "tcp", peer) == NULL)
		log_warnx("%s: dropped %s: out of memory", l->name, peer);
}

static void backoff_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rpx_listener *l = arg;

	evconnlistener_enable(l->lev);
}

static void accept_error_cb(struct evconnlistener *lev, void *arg)
{
	struct rpx_listener *l = arg;
	int err = EVUTIL_SOCKET_ERROR();
	struct timeval tv = {0, RPX_ACCEPT_BACKOFF_MS * 1000};

	if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
		errno = err;
		log_warn("%s: accept paused for %d ms", l->name, RPX_ACCEPT_BACKOFF_MS);
		evconnlistener_disable(lev);
		evtimer_add(l->backoff, &tv);
	} else {
		errno = err;
		log_warn("%s: accept", l->name);
	}
}

/* UDP RPC: the listener is the transport; replies go back to the sender. */
static void udp_send(struct rpx_xprt *xprt, const struct sockaddr *peer, socklen_t peerlen,
    char *msg, size_t len)
{
	struct rpx_listener *l = (struct rpx_listener *)xprt;

	if (sendto(l->fd, msg, len, MSG_DONTWAIT, peer, peerlen) < 0)
		log_debug("%s: reply of %zu bytes not sent: %s", l->name, len, strerror(errno));
}

static void udp_send_buffer(struct rpx_xprt *xprt, const struct sockaddr *peer, socklen_t peerlen,
    struct evbuffer *msg)
{
	size_t len = evbuffer_get_length(msg);
	char *p = (char *)evbuffer_pullup(msg, -1);

	if (p != NULL)
		udp_send(xprt, peer, peerlen, p, len);
	evbuffer_drain(msg, len);
}

static void udp_call_done(struct rpx_xprt *xprt)
{
}

static const struct rpx_xprt_ops udp_ops = {
    .send = udp_send,
    .send_buffer = udp_send_buffer,
    .call_done = udp_call_done,
};

#define DGRAMS_PER_EVENT 64

static void udp_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rpx_listener *l = arg;
	struct rpx_server *srv = l->srv;

	for (int i = 0; i < DGRAMS_PER_EVENT; i++) {
		struct sockaddr_storage peer;
		struct iovec iov = {.iov_base = l->dgram, .iov_len = l->dgram_size};
		struct msghdr mh = {
		    .msg_name = &peer,
		    .msg_namelen = sizeof(peer),
		    .msg_iov = &iov,
		    .msg_iovlen = 1,
		};
		ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT);

		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				log_warn("%s: recvmsg", l->name);
			return;
		}
		if (l->service == RPX_SERVICE_TIME) {
			uint32_t t = rpx_time_rfc868(time(NULL));

			sendto(fd, &t, sizeof(t), MSG_DONTWAIT, (struct sockaddr *)&peer,
			    mh.msg_namelen);
			continue;
		}
		if (l->xprt.inflight >= srv->limits.max_udp_inflight) {
			/* The client retransmits; a retransmission finds room later. */
			log_debug("%s: datagram dropped: %u calls pending", l->name,
			    l->xprt.inflight);
			continue;
		}
		rpx_dispatch_message(srv->dispatch, &l->xprt, l->dgram, (size_t)n,
		    (mh.msg_flags & MSG_TRUNC) != 0, (struct sockaddr *)&peer, mh.msg_namelen);
	}
}

static int bind_unix(struct rpx_listener *l, char *err, size_t errlen)
{
	struct sockaddr_un sun;
	mode_t old_umask;
	struct stat st;
	int fd, rc;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strcpy(sun.sun_path, l->url.path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
		goto fail;
	/* A socket left by a daemon that died is replaced; a live one is not. */
	if (lstat(l->url.path, &st) == 0 && S_ISSOCK(st.st_mode)) {
		int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (probe >= 0 && connect(probe, (struct sockaddr *)&sun, sizeof(sun)) < 0 &&
		    errno == ECONNREFUSED)
			unlink(l->url.path);
		if (probe >= 0)
			close(probe);
	}
	old_umask = umask(0177); /* the socket is born 0600 */
	rc = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old_umask);
	if (rc < 0)
		goto fail;
	if (l->srv->socket_gid >= 0 &&
	    (chown(l->url.path, (uid_t)-1, (gid_t)l->srv->socket_gid) < 0 ||
	        chmod(l->url.path, 0660) < 0))
		goto fail;
	if (listen(fd, 128) < 0)
		goto fail;
	l->unlink_path = true;
	l->fd = fd;
	return 0;
fail:
	rc = -errno;
	snprintf(err, errlen, "unix:%s: %s", l->url.path, strerror(errno));
	if (fd >= 0)
		close(fd);
	return rc;
}

static int bind_inet(struct rpx_listener *l, char *err, size_t errlen)
{
	struct addrinfo hints, *res = NULL;
	bool udp = l->url.kind == RPX_URL_UDP;
	const char *scheme = udp ? "udp" : "tcp";
	int fd = -1, one = 1, rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = udp ? SOCK_DGRAM : SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((rc = getaddrinfo(l->url.host, l->url.port, &hints, &res)) != 0) {
		snprintf(err, errlen, "%s://%s:%s: %s", scheme, l->url.host, l->url.port,
		    gai_strerror(rc));
		return -EINVAL;
	}
	fd = socket(res->ai_family, res->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	if (!udp)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (res->ai_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, res->ai_addr, res->ai_addrlen) < 0)
		goto fail;
	if (!udp && listen(fd, 1024) < 0)
		goto fail;
	freeaddrinfo(res);
	l->fd = fd;
	return 0;
fail:
	rc = -errno;
	snprintf(err, errlen, "%s://%s%s%s:%s: %s", scheme, strchr(l->url.host, ':') ? "[" : "",
	    l->url.host, strchr(l->url.host, ':') ? "]" : "", l->url.port, strerror(errno));
	if (fd >= 0)
		close(fd);
	freeaddrinfo(res);
	return rc;
}

static void listener_free(struct rpx_listener *l)
{
	if (l == NULL)
		return;
	rpx_xprt_cancel_all(&l->xprt);
	if (l->lev != NULL)
		evconnlistener_free(l->lev); /* closes fd */
	else if (l->fd >= 0)
		close(l->fd);
	if (l->ev != NULL)
		event_free(l->ev);
	if (l->backoff != NULL)
		event_free(l->backoff);
	if (l->unlink_path)
		unlink(l->url.path);
	free(l->dgram);
	free(l);
}

int rpx_listener_add(struct rpx_server *srv, enum rpx_service service, const struct rpx_url *url,
    char *err, size_t errlen)
{
	struct rpx_listener *l;
	int rc;

	if ((l = calloc(1, sizeof(*l))) == NULL)
		return -ENOMEM;
	rpx_xprt_init(&l->xprt, &udp_ops, "udp");
	snprintf(l->xprt.peer, sizeof(l->xprt.peer), "udp");
	l->srv = srv;
	l->service = service;
	l->url = *url;
	l->fd = -1;
	l->srv = srv;
	rc = url->kind == RPX_URL_UNIX ? bind_unix(l, err, errlen) : bind_inet(l, err, errlen);
	if (rc < 0)
		goto fail;
	format_name(l);
	rc = -ENOMEM;
	if (url->kind == RPX_URL_UDP) {
		l->dgram_size =
		    service == RPX_SERVICE_RPC
		        ? (srv->limits.max_record < RPX_UDP_DATAGRAM_MAX ? srv->limits.max_record
		                                                         : RPX_UDP_DATAGRAM_MAX)
		        : 512;
		l->dgram = malloc(l->dgram_size);
		l->ev = event_new(srv->base, l->fd, EV_READ | EV_PERSIST, udp_read_cb, l);
		if (l->dgram == NULL || l->ev == NULL || event_add(l->ev, NULL) < 0)
			goto fail_nomem;
	} else {
		l->lev = evconnlistener_new(srv->base, accept_cb, l,
		    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, l->fd);
		l->backoff = evtimer_new(srv->base, backoff_cb, l);
		if (l->lev == NULL || l->backoff == NULL)
			goto fail_nomem;
		evconnlistener_set_error_cb(l->lev, accept_error_cb);
	}
	TAILQ_INSERT_TAIL(&srv->listeners, l, link);
	return 0;
fail_nomem:
	snprintf(err, errlen, "%s: out of memory", l->name);
fail:
	listener_free(l);
	return rc;
}

void rpx_listener_print_all(struct rpx_server *srv, FILE *f)
{
	struct rpx_listener *l;

	TAILQ_FOREACH(l, &srv->listeners, link) {
		const char *svc = l->service == RPX_SERVICE_DAYTIME ? "daytime "
		                  : l->service == RPX_SERVICE_TIME  ? "time "
		                                                    : "";

		fprintf(f, "listening %s%s\n", svc, l->name);
	}
}

void rpx_listener_foreach_rpc(struct rpx_server *srv,
    void (*fn)(int socktype, const struct sockaddr *sa, socklen_t salen, void *arg), void *arg)
{
	struct rpx_listener *l;

	TAILQ_FOREACH(l, &srv->listeners, link) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);

		if (l->service != RPX_SERVICE_RPC ||
		    getsockname(l->fd, (struct sockaddr *)&ss, &len) < 0)
			continue;
		fn(l->url.kind == RPX_URL_UDP ? SOCK_DGRAM : SOCK_STREAM, (struct sockaddr *)&ss,
		    len, arg);
	}
}

void rpx_listener_free_all(struct rpx_server *srv)
{
	struct rpx_listener *l;

	while ((l = TAILQ_FIRST(&srv->listeners)) != NULL) {
		TAILQ_REMOVE(&srv->listeners, l, link);
		listener_free(l);
	}
}
