/*
 * bench_echo: the physical limit the benchmark compares rpxd with. It sends
 * back every byte it receives, on TCP (any stream of bytes, so record-marked
 * RPC calls come back as they were sent) and on UDP (each datagram to its
 * sender), and does nothing else: no parsing, no decoding, no allocation per
 * message. One thread and one epoll loop serve everything, like rpxd and the
 * libtirpc svc_run() baseline, so on a core of its own it shows what the
 * kernel's loopback path costs per call.
 *
 *	bench_echo [--tcp PORT] [--udp PORT]	(PORT 0, the default, picks one)
 *
 * Prints "listening tcp://127.0.0.1:PORT", "listening udp://127.0.0.1:PORT",
 * then "ready" on stdout, like rpxd.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define ECHO_BUF 65536
#define ECHO_EVENTS 64

/* One accepted TCP connection and the bytes it could not write yet. */
struct echo_conn {
	int fd;
	size_t pending_len;
	size_t pending_off;
	char pending[ECHO_BUF];
};

static int listen_fd = -1, udp_fd = -1, epoll_fd = -1;
static char io_buf[ECHO_BUF];

static int bind_loopback(int type, int *port)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd, one = 1;

	if ((fd = socket(AF_INET, type | SOCK_NONBLOCK, 0)) < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)*port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    (type == SOCK_STREAM && listen(fd, SOMAXCONN) < 0) ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) < 0) {
		close(fd);
		return -1;
	}
	*port = ntohs(sin.sin_port);
	return fd;
}

static void conn_close(struct echo_conn *c)
{
	epoll_ctl(epoll_fd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c);
}

static void conn_arm(struct echo_conn *c, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = c};

	epoll_ctl(epoll_fd, EPOLL_CTL_MOD, c->fd, &ev);
}

static void accept_all(void)
{
	int fd, one = 1;

	while ((fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
		struct echo_conn *c = calloc(1, sizeof(*c));
		struct epoll_event ev = {.events = EPOLLIN};

		if (c == NULL) {
			close(fd);
			continue;
		}
		c->fd = fd;
		ev.data.ptr = c;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &ev);
	}
}

/* Writes what is pending; 1 when all of it went, 0 when the socket is full. */
static int conn_flush(struct echo_conn *c)
{
	while (c->pending_off < c->pending_len) {
		ssize_t n =
		    write(c->fd, c->pending + c->pending_off, c->pending_len - c->pending_off);

		if (n < 0)
			return errno == EAGAIN ? 0 : -1;
		c->pending_off += (size_t)n;
	}
	c->pending_off = c->pending_len = 0;
	return 1;
}

static void conn_event(struct echo_conn *c, uint32_t events)
{
	ssize_t n;
	int done;

	if (c->pending_len > 0) {
		done = conn_flush(c);
		if (done < 0) {
			conn_close(c);
			return;
		}
		if (done == 0)
			return;
		conn_arm(c, EPOLLIN);
	}
	for (;;) {
		n = read(c->fd, c->pending, sizeof(c->pending));
		if (n == 0 || (n < 0 && errno != EAGAIN)) {
			conn_close(c);
			return;
		}
		if (n < 0)
			return;
		c->pending_len = (size_t)n;
		done = conn_flush(c);
		if (done < 0) {
			conn_close(c);
			return;
		}
		if (done == 0) {
			/* Stop reading until the peer takes what it sent. */
			conn_arm(c, EPOLLOUT);
			return;
		}
		if ((size_t)n < sizeof(c->pending))
			return;
	}
}

static void udp_event(void)
{
	struct sockaddr_storage from;
	socklen_t len;
	ssize_t n;

	for (;;) {
		len = sizeof(from);
		n = recvfrom(udp_fd, io_buf, sizeof(io_buf), 0, (struct sockaddr *)&from, &len);
		if (n < 0)
			return;
		sendto(udp_fd, io_buf, (size_t)n, 0, (struct sockaddr *)&from, len);
	}
}

static void usage(void)
{
	fprintf(stderr, "usage: bench_echo [--tcp PORT] [--udp PORT]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct epoll_event ev, events[ECHO_EVENTS];
	int tcp_port = 0, udp_port = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--tcp") == 0 && i + 1 < argc)
			tcp_port = atoi(argv[++i]);
		else if (strcmp(argv[i], "--udp") == 0 && i + 1 < argc)
			udp_port = atoi(argv[++i]);
		else
			usage();
	}
	signal(SIGPIPE, SIG_IGN);
	if ((listen_fd = bind_loopback(SOCK_STREAM, &tcp_port)) < 0 ||
	    (udp_fd = bind_loopback(SOCK_DGRAM, &udp_port)) < 0 ||
	    (epoll_fd = epoll_create1(0)) < 0) {
		perror("bench_echo: bind 127.0.0.1");
		return 1;
	}
	/* The listening and UDP sockets are told apart by a NULL / &udp_fd tag. */
	ev.events = EPOLLIN;
	ev.data.ptr = NULL;
	epoll_ctl(epoll_fd, EPOLL_CTL_ADD, listen_fd, &ev);
	ev.data.ptr = &udp_fd;
	epoll_ctl(epoll_fd, EPOLL_CTL_ADD, udp_fd, &ev);

	printf("listening tcp://127.0.0.1:%d\n", tcp_port);
	printf("listening udp://127.0.0.1:%d\n", udp_port);
	printf("ready\n");
	fflush(stdout);

	for (;;) {
		int n = epoll_wait(epoll_fd, events, ECHO_EVENTS, -1);

		if (n < 0 && errno != EINTR) {
			perror("bench_echo: epoll_wait");
			return 1;
		}
		for (int i = 0; i < n; i++) {
			if (events[i].data.ptr == NULL)
				accept_all();
			else if (events[i].data.ptr == &udp_fd)
				udp_event();
			else
				conn_event(events[i].data.ptr, events[i].events);
		}
	}
}
