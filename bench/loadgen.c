/*
 * loadgen: the benchmark client. It drives one server (rpxd, the libtirpc
 * baseline or the raw echo) over TCP or UDP with RPC calls of the DATE
 * program encoded by libtirpc (xdr_callmsg over xdrmem, RFC 5531 §11 record
 * marking on TCP), for a fixed time, and prints one line of results:
 * calls/s, p50/p99 latency, and the server's CPU time per call (utime+stime
 * from /proc/PID/stat, so every thread of the server counts).
 *
 * Closed loop: each connection keeps --window calls outstanding (1: sync
 * calls, the next call leaves when the reply is in; more: pipelined) and
 * checks every reply: same XID, MSG_ACCEPTED, SUCCESS (the first reply of
 * each connection is decoded in full). Against the echo server (--echo) a
 * reply is the call's own bytes coming back. Over UDP each connection is one
 * connected socket; a call without a reply after --timeout ms is sent again
 * with the same XID and counted as a loss.
 *
 * Connections are spread over --threads threads. A thread with a single
 * connection uses blocking send/recv (the lowest latency a client can see);
 * a thread with several multiplexes them with epoll.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <rpc/rpc.h>

#include "date.h"

#define RX_CAP 65536
#define TX_CAP 65536
#define CALL_MAX 128 /* bytes of one encoded call, record mark included */

enum phase { PHASE_WARMUP, PHASE_MEASURE, PHASE_STOP };

struct options {
	int udp;
	struct sockaddr_in addr;
	const char *url;
	int conns;
	int threads;
	int window;
	double duration;
	double warmup;
	uint32_t proc;
	int echo;
	long pid;
	int timeout_ms;
	const char *label;
	int verbose;
};

/* One call in flight, found by its XID. */
struct call_slot {
	uint32_t xid;
	int busy;
	uint64_t first_ns; /* first transmission: latency counts from here */
	uint64_t sent_ns; /* last transmission: the retransmit timer */
};

struct conn {
	int fd;
	struct worker *w;
	uint32_t next_xid;
	int outstanding;
	int verified;
	struct call_slot *slots;
	uint32_t slot_mask;
	size_t call_len; /* encoded call, without record mark */
	size_t rx_len;
	size_t rec_len;
	unsigned char *rec; /* a record of several fragments, assembled */
	unsigned char rx[RX_CAP];
};

struct worker {
	pthread_t thread;
	struct conn **conns;
	int nconns;
	uint32_t *lat_ns;
	size_t nlat, lat_cap;
	unsigned long calls, losses, errors, stale;
};

static struct options opt = {
    .conns = 1,
    .threads = 1,
    .window = 1,
    .duration = 3.0,
    .warmup = 0.5,
    .proc = RPX_DATE_NOW,
    .pid = -1,
    .timeout_ms = 200,
    .label = "-",
};
static _Atomic int phase = PHASE_WARMUP;
static _Atomic int first_error_printed;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void conn_error(struct conn *c, const char *what)
{
	c->w->errors++;
	if (atomic_exchange(&first_error_printed, 1) == 0)
		fprintf(stderr, "loadgen: %s: %s\n", opt.url, what);
}

/*
 * Encodes the call with this XID at buf (record mark first on TCP); returns
 * its length, 0 on failure.
 */
static size_t encode_call(unsigned char *buf, size_t cap, uint32_t xid)
{
	struct rpc_msg msg;
	size_t mark = opt.udp ? 0 : 4;
	XDR xdrs;
	u_int len;

	memset(&msg, 0, sizeof(msg));
	msg.rm_xid = xid;
	msg.rm_direction = CALL;
	msg.rm_call.cb_rpcvers = RPC_MSG_VERSION;
	msg.rm_call.cb_prog = RPX_DATE_PROG;
	msg.rm_call.cb_vers = RPX_DATE_VERS;
	msg.rm_call.cb_proc = opt.proc;
	msg.rm_call.cb_cred = _null_auth;
	msg.rm_call.cb_verf = _null_auth;
	xdrmem_create(&xdrs, (char *)buf + mark, (u_int)(cap - mark), XDR_ENCODE);
	/* NULL and NOW take no arguments: the call header is the whole call. */
	if (!xdr_callmsg(&xdrs, &msg))
		return 0;
	len = xdr_getpos(&xdrs);
	xdr_destroy(&xdrs);
	if (!opt.udp) {
		uint32_t h = htonl(0x80000000u | len);

		memcpy(buf, &h, 4);
	}
	return mark + len;
}

/* Queues up to the window's worth of new calls into tx; returns bytes. */
static size_t conn_fill(struct conn *c, unsigned char *tx, size_t cap, uint64_t t)
{
	size_t used = 0, n;

	while (c->outstanding < opt.window && cap - used >= CALL_MAX &&
	       atomic_load_explicit(&phase, memory_order_relaxed) != PHASE_STOP) {
		uint32_t xid = c->next_xid++;
		struct call_slot *s = &c->slots[xid & c->slot_mask];

		if (s->busy) {
			/* A reply this old is lost on TCP; wait for the window. */
			c->next_xid--;
			break;
		}
		if ((n = encode_call(tx + used, cap - used, xid)) == 0) {
			conn_error(c, "cannot encode call");
			break;
		}
		c->call_len = n - (opt.udp ? 0 : 4);
		s->xid = xid;
		s->busy = 1;
		s->first_ns = s->sent_ns = t;
		c->outstanding++;
		used += n;
		if (opt.udp)
			break; /* one datagram per call */
	}
	return used;
}

/* Sends new calls until the window is full. 0, or -1 when the peer is gone. */
static int conn_send(struct conn *c)
{
	unsigned char tx[TX_CAP];
	uint64_t t = now_ns();
	size_t len;

	while ((len = conn_fill(c, tx, sizeof(tx), t)) > 0) {
		size_t off = 0;

		while (off < len) {
			ssize_t n = send(c->fd, tx + off, len - off, MSG_NOSIGNAL);

			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && errno == EAGAIN) {
				/* Blocking-free and full: wait for room, the window is small. */
				struct timespec ts = {0, 20000};

				nanosleep(&ts, NULL);
				continue;
			}
			if (n < 0) {
				conn_error(c, strerror(errno));
				return -1;
			}
			off += (size_t)n;
		}
		if (!opt.udp)
			break; /* conn_fill queued the whole window at once */
	}
	return 0;
}

/* UDP: sends again, with the same XID, every call older than the timeout. */
static void conn_retransmit(struct conn *c, uint64_t t)
{
	uint64_t limit = (uint64_t)opt.timeout_ms * 1000000u;
	unsigned char buf[CALL_MAX];

	for (uint32_t i = 0; i <= c->slot_mask && c->outstanding > 0; i++) {
		struct call_slot *s = &c->slots[i];
		size_t n;

		if (!s->busy || t - s->sent_ns < limit)
			continue;
		if ((n = encode_call(buf, sizeof(buf), s->xid)) == 0)
			continue;
		send(c->fd, buf, n, MSG_NOSIGNAL);
		s->sent_ns = t;
		c->w->losses++;
	}
}

static void record_latency(struct worker *w, uint64_t ns)
{
	if (w->nlat == w->lat_cap) {
		size_t cap = w->lat_cap ? w->lat_cap * 2 : 65536;
		uint32_t *p = realloc(w->lat_ns, cap * sizeof(*p));

		if (p == NULL)
			return;
		w->lat_ns = p;
		w->lat_cap = cap;
	}
	w->lat_ns[w->nlat++] = ns > UINT32_MAX ? UINT32_MAX : (uint32_t)ns;
}

/*
 * Checks one reply and returns its XID through *xid: 0, or -1 when it is not
 * a successful reply to a call of ours.
 */
static int check_reply(struct conn *c, const unsigned char *p, size_t len, uint32_t *xid)
{
	rpx_date_now_res now;
	struct rpc_msg msg;
	XDR xdrs;
	int ok;

	*xid = 0;
	if (len < 4) {
		conn_error(c, "short reply");
		return -1;
	}
	if (opt.echo) {
		uint32_t x;

		memcpy(&x, p, 4);
		*xid = ntohl(x);
		if (len != c->call_len) {
			conn_error(c, "echo of a different length");
			return -1;
		}
		return 0;
	}
	memset(&msg, 0, sizeof(msg));
	memset(&now, 0, sizeof(now));
	msg.acpted_rply.ar_verf = _null_auth;
	msg.acpted_rply.ar_results.where = NULL;
	msg.acpted_rply.ar_results.proc = (xdrproc_t)xdr_void;
	if (!c->verified && opt.proc == RPX_DATE_NOW) {
		/* Decode the first result in full: the server must really answer NOW. */
		msg.acpted_rply.ar_results.where = (caddr_t)&now;
		msg.acpted_rply.ar_results.proc = (xdrproc_t)xdr_rpx_date_now_res;
	}
	xdrmem_create(&xdrs, (char *)p, (u_int)len, XDR_DECODE);
	ok = xdr_replymsg(&xdrs, &msg);
	xdr_destroy(&xdrs);
	if (!ok || msg.rm_direction != REPLY || msg.rm_reply.rp_stat != MSG_ACCEPTED ||
	    msg.acpted_rply.ar_stat != SUCCESS) {
		conn_error(c, "reply is not MSG_ACCEPTED/SUCCESS");
		*xid = msg.rm_xid;
		return -1;
	}
	*xid = msg.rm_xid;
	if (!c->verified && opt.proc == RPX_DATE_NOW) {
		if (opt.verbose)
			fprintf(stderr, "loadgen: NOW = %s (%s, %+d s)\n",
			    now.rfc3339 ? now.rfc3339 : "?", now.zone ? now.zone : "?",
			    now.utc_offset);
		xdr_free((xdrproc_t)xdr_rpx_date_now_res, (char *)&now);
	}
	c->verified = 1;
	return 0;
}

static void handle_reply(struct conn *c, const unsigned char *p, size_t len, uint64_t t)
{
	struct call_slot *s;
	uint32_t xid;
	int bad = check_reply(c, p, len, &xid);

	s = &c->slots[xid & c->slot_mask];
	if (!s->busy || s->xid != xid) {
		if (opt.udp)
			c->w->stale++; /* the reply to a call we sent twice */
		else if (!bad)
			conn_error(c, "reply with an unknown XID");
		return;
	}
	s->busy = 0;
	c->outstanding--;
	if (bad || atomic_load_explicit(&phase, memory_order_relaxed) != PHASE_MEASURE)
		return;
	c->w->calls++;
	record_latency(c->w, t - s->first_ns);
}

/* Parses every complete record in rx (RFC 5531 §11 record marking). */
static int conn_parse_tcp(struct conn *c, uint64_t t)
{
	size_t off = 0;

	while (c->rx_len - off >= 4) {
		uint32_t h;
		size_t frag;
		int last;

		memcpy(&h, c->rx + off, 4);
		h = ntohl(h);
		frag = h & 0x7fffffffu;
		last = (h & 0x80000000u) != 0;
		if (frag > RX_CAP - 4) {
			conn_error(c, "reply fragment too large");
			return -1;
		}
		if (c->rx_len - off - 4 < frag)
			break;
		if (last && c->rec_len == 0) {
			handle_reply(c, c->rx + off + 4, frag, t);
		} else {
			unsigned char *r = realloc(c->rec, c->rec_len + frag);

			if (r == NULL || c->rec_len + frag > (1u << 20)) {
				free(r);
				c->rec = NULL;
				conn_error(c, "reply record too large");
				return -1;
			}
			c->rec = r;
			memcpy(c->rec + c->rec_len, c->rx + off + 4, frag);
			c->rec_len += frag;
			if (last) {
				handle_reply(c, c->rec, c->rec_len, t);
				c->rec_len = 0;
			}
		}
		off += 4 + frag;
	}
	memmove(c->rx, c->rx + off, c->rx_len - off);
	c->rx_len -= off;
	return 0;
}

/*
 * Reads what the socket has and handles the replies in it: 1 when something
 * was read, 0 when nothing was there (EAGAIN, a receive timeout), -1 when the
 * connection is unusable.
 */
static int conn_receive(struct conn *c)
{
	ssize_t n;

	if (opt.udp) {
		n = recv(c->fd, c->rx, RX_CAP, 0);
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		handle_reply(c, c->rx, (size_t)n, now_ns());
		return 1;
	}
	n = recv(c->fd, c->rx + c->rx_len, RX_CAP - c->rx_len, 0);
	if (n == 0) {
		conn_error(c, "server closed the connection");
		return -1;
	}
	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return 0;
		conn_error(c, strerror(errno));
		return -1;
	}
	c->rx_len += (size_t)n;
	return conn_parse_tcp(c, now_ns()) < 0 ? -1 : 1;
}

/* One connection, blocking I/O: the plain sync client. */
static void run_blocking(struct worker *w)
{
	struct conn *c = w->conns[0];

	while (atomic_load_explicit(&phase, memory_order_relaxed) != PHASE_STOP) {
		int r;

		if (conn_send(c) < 0)
			return;
		r = conn_receive(c);
		if (r < 0)
			return;
		if (r == 0 && opt.udp)
			conn_retransmit(c, now_ns());
		else if (r == 0 && !opt.udp) {
			conn_error(c, "no reply within the timeout");
			return;
		}
	}
}

/* Several connections in one thread, multiplexed with epoll. */
static void run_epoll(struct worker *w)
{
	struct epoll_event ev, events[64];
	uint64_t last_scan = now_ns();
	int ep = epoll_create1(0);

	if (ep < 0) {
		conn_error(w->conns[0], "epoll_create1 failed");
		return;
	}
	for (int i = 0; i < w->nconns; i++) {
		struct conn *c = w->conns[i];

		fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
		ev.events = EPOLLIN;
		ev.data.ptr = c;
		epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
		conn_send(c);
	}
	while (atomic_load_explicit(&phase, memory_order_relaxed) != PHASE_STOP) {
		int n = epoll_wait(ep, events, 64, 10);
		uint64_t t;

		for (int i = 0; i < n; i++) {
			struct conn *c = events[i].data.ptr;
			int r;

			while ((r = conn_receive(c)) > 0 && opt.udp)
				;
			if (r < 0) {
				epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
				continue;
			}
			conn_send(c);
		}
		t = now_ns();
		if (opt.udp && t - last_scan > 5000000u) {
			for (int i = 0; i < w->nconns; i++)
				conn_retransmit(w->conns[i], t);
			last_scan = t;
		}
	}
	close(ep);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	if (w->nconns == 1)
		run_blocking(w);
	else
		run_epoll(w);
	return NULL;
}

static struct conn *conn_open(struct worker *w, uint32_t xid_base)
{
	struct conn *c = calloc(1, sizeof(*c));
	struct timeval tv;
	uint32_t slots = 2;
	int one = 1;

	if (c == NULL)
		return NULL;
	while (slots < (uint32_t)opt.window * 4)
		slots <<= 1;
	c->w = w;
	c->next_xid = xid_base;
	c->slot_mask = slots - 1;
	c->slots = calloc(slots, sizeof(*c->slots));
	c->fd = socket(AF_INET, opt.udp ? SOCK_DGRAM : SOCK_STREAM, 0);
	if (c->slots == NULL || c->fd < 0 ||
	    connect(c->fd, (struct sockaddr *)&opt.addr, sizeof(opt.addr)) < 0) {
		fprintf(stderr, "loadgen: connect %s: %s\n", opt.url, strerror(errno));
		exit(1);
	}
	if (!opt.udp)
		setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* Blocking mode: the UDP retransmit timer, or how long TCP waits at most. */
	tv.tv_sec = opt.udp ? opt.timeout_ms / 1000 : 5;
	tv.tv_usec = opt.udp ? (opt.timeout_ms % 1000) * 1000 : 0;
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return c;
}

/* utime+stime of a process, in seconds; -1 when it cannot be read. */
static double proc_cpu_seconds(long pid)
{
	char path[64], buf[1024], *p;
	unsigned long utime, stime;
	FILE *f;
	size_t n;

	if (pid <= 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* Fields after the command name, which may hold spaces: state is 3. */
	if ((p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime) !=
	        2)
		return -1;
	return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

/*
 * Busy time, in seconds, of the CPUs this client or the server may run on
 * (their affinity masks); -1 when unknown.
 */
static double machine_busy_seconds(void)
{
	unsigned long long v[8];
	cpu_set_t mask, server_mask;
	char line[512];
	double busy = 0;
	FILE *f;
	int cpu;

	CPU_ZERO(&server_mask);
	if (sched_getaffinity(0, sizeof(mask), &mask) < 0 ||
	    (opt.pid > 0 &&
	        sched_getaffinity((pid_t)opt.pid, sizeof(server_mask), &server_mask) < 0))
		return -1;
	CPU_OR(&mask, &mask, &server_mask);
	if ((f = fopen("/proc/stat", "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		/* cpuN user nice system idle iowait irq softirq steal */
		if (sscanf(line, "cpu%d %llu %llu %llu %llu %llu %llu %llu %llu", &cpu, &v[0],
		        &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) != 9 ||
		    cpu < 0 || cpu >= CPU_SETSIZE || !CPU_ISSET(cpu, &mask))
			continue;
		busy += (double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]);
	}
	fclose(f);
	return busy / (double)sysconf(_SC_CLK_TCK);
}

static double self_cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	       ru.ru_stime.tv_usec / 1e6;
}

static void sleep_seconds(double s)
{
	struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static int parse_url(const char *url)
{
	char host[64];
	unsigned port;

	if (sscanf(url, "tcp://%63[^:]:%u", host, &port) == 2)
		opt.udp = 0;
	else if (sscanf(url, "udp://%63[^:]:%u", host, &port) == 2)
		opt.udp = 1;
	else
		return -1;
	opt.addr.sin_family = AF_INET;
	opt.addr.sin_port = htons((uint16_t)port);
	return inet_pton(AF_INET, host, &opt.addr.sin_addr) == 1 ? 0 : -1;
}

static void usage(void)
{
	fprintf(stderr,
	    "usage: loadgen --url tcp://HOST:PORT|udp://HOST:PORT [--conns N] [--threads N]\n"
	    "               [--window W] [--duration SEC] [--warmup SEC] [--proc now|null]\n"
	    "               [--echo] [--pid SERVER_PID] [--timeout MS] [--label TEXT] [-v]\n");
	exit(2);
}

static void parse_options(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--echo") == 0) {
			opt.echo = 1;
			continue;
		}
		if (strcmp(a, "-v") == 0) {
			opt.verbose = 1;
			continue;
		}
		if (v == NULL)
			usage();
		i++;
		if (strcmp(a, "--url") == 0)
			opt.url = v;
		else if (strcmp(a, "--conns") == 0)
			opt.conns = atoi(v);
		else if (strcmp(a, "--threads") == 0)
			opt.threads = atoi(v);
		else if (strcmp(a, "--window") == 0)
			opt.window = atoi(v);
		else if (strcmp(a, "--duration") == 0)
			opt.duration = atof(v);
		else if (strcmp(a, "--warmup") == 0)
			opt.warmup = atof(v);
		else if (strcmp(a, "--proc") == 0 && strcmp(v, "now") == 0)
			opt.proc = RPX_DATE_NOW;
		else if (strcmp(a, "--proc") == 0 && strcmp(v, "null") == 0)
			opt.proc = RPX_DATE_NULL;
		else if (strcmp(a, "--pid") == 0)
			opt.pid = atol(v);
		else if (strcmp(a, "--timeout") == 0)
			opt.timeout_ms = atoi(v);
		else if (strcmp(a, "--label") == 0)
			opt.label = v;
		else
			usage();
	}
	if (opt.url == NULL || parse_url(opt.url) < 0 || opt.conns < 1 || opt.window < 1 ||
	    opt.window > 1024 || opt.duration <= 0 || opt.timeout_ms < 1 || opt.threads < 1)
		usage();
	if (opt.threads > opt.conns)
		opt.threads = opt.conns;
}

int main(int argc, char **argv)
{
	double cpu0, cpu1, self0, self1, busy0, busy1, secs, p50 = 0, p99 = 0;
	unsigned long calls = 0, losses = 0, errors = 0, stale = 0;
	struct worker *workers;
	uint64_t t0, t1;
	uint32_t *all;
	size_t nall = 0;

	parse_options(argc, argv);
	signal(SIGPIPE, SIG_IGN);
	workers = calloc((size_t)opt.threads, sizeof(*workers));
	for (int i = 0; i < opt.threads; i++)
		workers[i].conns = calloc((size_t)opt.conns, sizeof(struct conn *));
	srandom((unsigned)now_ns());
	for (int i = 0; i < opt.conns; i++) {
		struct worker *w = &workers[i % opt.threads];

		w->conns[w->nconns++] = conn_open(w, (uint32_t)random());
	}
	for (int i = 0; i < opt.threads; i++)
		pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]);

	sleep_seconds(opt.warmup);
	cpu0 = proc_cpu_seconds(opt.pid);
	self0 = self_cpu_seconds();
	busy0 = machine_busy_seconds();
	t0 = now_ns();
	atomic_store(&phase, PHASE_MEASURE);
	sleep_seconds(opt.duration);
	atomic_store(&phase, PHASE_STOP);
	t1 = now_ns();
	cpu1 = proc_cpu_seconds(opt.pid);
	self1 = self_cpu_seconds();
	busy1 = machine_busy_seconds();
	for (int i = 0; i < opt.threads; i++) {
		pthread_join(workers[i].thread, NULL);
		calls += workers[i].calls;
		losses += workers[i].losses;
		errors += workers[i].errors;
		stale += workers[i].stale;
		nall += workers[i].nlat;
	}
	secs = (double)(t1 - t0) / 1e9;

	all = malloc((nall ? nall : 1) * sizeof(*all));
	nall = 0;
	for (int i = 0; i < opt.threads; i++) {
		if (workers[i].nlat)
			memcpy(all + nall, workers[i].lat_ns, workers[i].nlat * sizeof(*all));
		nall += workers[i].nlat;
	}
	if (nall > 0) {
		qsort(all, nall, sizeof(*all), cmp_u32);
		p50 = all[(size_t)((double)(nall - 1) * 0.50)] / 1e3;
		p99 = all[(size_t)((double)(nall - 1) * 0.99)] / 1e3;
	}

	printf("label=%s proto=%s conns=%d window=%d threads=%d proc=%s secs=%.2f calls=%lu "
	       "cps=%.0f p50_us=%.1f p99_us=%.1f",
	    opt.label, opt.udp ? "udp" : "tcp", opt.conns, opt.window, opt.threads,
	    opt.echo                   ? "echo"
	    : opt.proc == RPX_DATE_NOW ? "now"
	                               : "null",
	    secs, calls, (double)calls / secs, p50, p99);
	if (cpu0 >= 0 && cpu1 >= 0 && calls > 0)
		printf(" srv_cpu_us=%.2f srv_cpu_pct=%.0f", (cpu1 - cpu0) * 1e6 / (double)calls,
		    (cpu1 - cpu0) * 100 / secs);
	else
		printf(" srv_cpu_us=- srv_cpu_pct=-");
	printf(" cli_cpu_us=%.2f", calls ? (self1 - self0) * 1e6 / (double)calls : 0.0);
	/*
	 * CPU busy outside the server and this client on the CPUs they run on
	 * (other processes, and softirq time not charged to either): a disturbed
	 * measurement shows here.
	 */
	if (busy0 >= 0 && busy1 >= 0 && cpu0 >= 0 && cpu1 >= 0)
		printf(" other_cpu_pct=%.0f",
		    ((busy1 - busy0) - (cpu1 - cpu0) - (self1 - self0)) * 100 / secs);
	else
		printf(" other_cpu_pct=-");
	printf(" losses=%lu stale=%lu errors=%lu\n", losses, stale, errors);
	return errors > 0 || calls == 0;
}
