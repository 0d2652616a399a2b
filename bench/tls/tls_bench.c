/*
 * tls_bench.c: what RPC-with-TLS (RFC 9289) costs against clear TCP, on
 * one rpxd that listens for both (TLS is started per connection by the
 * AUTH_TLS probe, so one tcp:// listener serves tcp:// and tls:// URLs).
 *
 *	tls_bench --port PORT --ca FILE [--cert FILE --key FILE] [--seconds S]
 *
 * Steady state: NULL and DATE NOW through librpx's async API, 1 and 16
 * connections on one event loop, each a closed loop (one call in flight
 * per connection), over tcp:// and tls://; p50, p99 and calls/s per cell.
 * Handshakes: the time from rpx_async_open() to a connection that is up
 * (tcp: connect; tls: connect, probe, TLS 1.3 handshake), and, with plain
 * OpenSSL on a blocking socket (the library keeps no session cache), a full
 * handshake (probe + TLS) against a resumed one (probe + TLS with the
 * session ticket of an earlier connection, SSL_set_session), each up to the
 * reply of a first NULL call. Prints one table; run.sh starts rpxd.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <rpx/async.h>
#include <rpx/client.h>

#define MAX_CONNS 16
#define MAX_SAMPLES 2000000
#define HANDSHAKES 200

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* p-th percentile (0..100) of n sorted samples, in microseconds. */
static double pct_us(const int64_t *v, size_t n, double p)
{
	size_t i;

	if (n == 0)
		return 0;
	i = (size_t)(p / 100.0 * (double)(n - 1) + 0.5);
	return (double)v[i] / 1000.0;
}

struct run {
	struct event_base *base;
	int64_t *lat;
	size_t nlat;
	int64_t start, end; /* samples count between start and end */
	int active;
	uint32_t proc;
	int failed;
};

struct slot {
	struct run *r;
	struct rpx_async *c;
	int64_t t0;
};

static void issue(struct slot *s);

static void done(struct rpx_async *c, int err, const char *errmsg, void *res, void *arg)
{
	struct slot *s = arg;
	struct run *r = s->r;
	int64_t t = now_ns();

	(void)c;
	(void)res;
	if (err != 0) {
		fprintf(stderr, "tls_bench: %s\n", errmsg);
		r->failed = 1;
	} else if (s->t0 >= r->start && r->nlat < MAX_SAMPLES) {
		r->lat[r->nlat++] = t - s->t0;
	}
	if (err != 0 || t >= r->end) {
		if (--r->active == 0)
			event_base_loopbreak(r->base);
		return;
	}
	issue(s);
}

static void issue(struct slot *s)
{
	struct run *r = s->r;
	int ret;

	s->t0 = now_ns();
	if (r->proc == RPX_DATE_NOW)
		ret = rpx_async_call(s->c, RPX_DATE_PROG, RPX_DATE_VERS, RPX_DATE_NOW,
		    (xdrproc_t)xdr_void, NULL, (xdrproc_t)xdr_rpx_date_now_res,
		    sizeof(rpx_date_now_res), 0, done, s);
	else
		ret = rpx_async_call(s->c, RPX_DATE_PROG, RPX_DATE_VERS, 0, (xdrproc_t)xdr_void,
		    NULL, (xdrproc_t)xdr_void, 0, 0, done, s);
	if (ret < 0) {
		fprintf(stderr, "tls_bench: call: %s\n", strerror(-ret));
		r->failed = 1;
		if (--r->active == 0)
			event_base_loopbreak(r->base);
	}
}

/* Runs until every connection is up. 0, or -1 after printing why. */
static int wait_up(struct event_base *base, struct rpx_async **c, int n)
{
	int i, up;

	for (;;) {
		for (i = 0, up = 0; i < n; i++) {
			int st = rpx_async_state(c[i]);

			if (st < 0) {
				fprintf(stderr, "tls_bench: %s\n", rpx_async_error(c[i]));
				return -1;
			}
			up += st > 0;
		}
		if (up == n)
			return 0;
		event_base_loop(base, EVLOOP_ONCE);
	}
}

struct cell {
	double p50, p99, rate;
};

static int steady(const char *url, const struct rpx_async_opts *o, int nconns, uint32_t proc,
    double seconds, int64_t *lat, struct cell *out)
{
	struct event_base *base = event_base_new();
	struct rpx_async *c[MAX_CONNS] = {0};
	struct slot slots[MAX_CONNS];
	struct run r = {0};
	char err[600];
	int i, ret = -1;

	for (i = 0; i < nconns; i++) {
		if ((c[i] = rpx_async_open(base, url, o, err, sizeof(err))) == NULL) {
			fprintf(stderr, "tls_bench: %s\n", err);
			goto out;
		}
	}
	if (wait_up(base, c, nconns) < 0)
		goto out;
	r.base = base;
	r.lat = lat;
	r.proc = proc;
	r.active = nconns;
	/* The first 10% is warm-up, not counted. */
	r.start = now_ns() + (int64_t)(seconds * 1e8);
	r.end = now_ns() + (int64_t)(seconds * 1.1e9);
	for (i = 0; i < nconns; i++) {
		slots[i].r = &r;
		slots[i].c = c[i];
		issue(&slots[i]);
	}
	event_base_dispatch(base);
	if (r.failed)
		goto out;
	qsort(lat, r.nlat, sizeof(*lat), cmp_i64);
	out->p50 = pct_us(lat, r.nlat, 50);
	out->p99 = pct_us(lat, r.nlat, 99);
	out->rate = (double)r.nlat / seconds;
	ret = 0;
out:
	for (i = 0; i < nconns; i++)
		rpx_async_close(c[i]);
	event_base_free(base);
	return ret;
}

/* rpx_async_open() to "up", n times, one at a time: p50/p99 into out. */
static int open_times(const char *url, const struct rpx_async_opts *o, int n, int64_t *lat,
    struct cell *out)
{
	struct event_base *base = event_base_new();
	char err[600];
	int i;

	for (i = 0; i < n; i++) {
		int64_t t0 = now_ns();
		struct rpx_async *c = rpx_async_open(base, url, o, err, sizeof(err));

		if (c == NULL || wait_up(base, &c, 1) < 0) {
			if (c == NULL)
				fprintf(stderr, "tls_bench: %s\n", err);
			rpx_async_close(c);
			event_base_free(base);
			return -1;
		}
		lat[i] = now_ns() - t0;
		rpx_async_close(c);
	}
	event_base_free(base);
	qsort(lat, (size_t)n, sizeof(*lat), cmp_i64);
	out->p50 = pct_us(lat, (size_t)n, 50);
	out->p99 = pct_us(lat, (size_t)n, 99);
	out->rate = 0;
	return 0;
}

/* ---- full vs resumed handshake with plain OpenSSL -------------------- */

/* A NULL call of DATE, record-marked; flavor 7 (AUTH_TLS) is the probe. */
static void null_call(unsigned char *buf, uint32_t xid, uint32_t flavor)
{
	uint32_t w[11] = {htonl(0x80000000u | 40), htonl(xid), 0, htonl(2), htonl(RPX_DATE_PROG),
	    htonl(RPX_DATE_VERS), 0, htonl(flavor), 0, 0, 0};

	memcpy(buf, w, sizeof(w));
}

static int read_full(int fd, SSL *ssl, unsigned char *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		int k = ssl != NULL ? SSL_read(ssl, buf + got, (int)(n - got))
		                    : (int)read(fd, buf + got, n - got);

		if (k <= 0)
			return -1;
		got += (size_t)k;
	}
	return 0;
}

/* Reads one record (up to 256 bytes) into buf; its length, or -1. */
static int read_record(int fd, SSL *ssl, unsigned char *buf)
{
	uint32_t hdr;
	size_t len;

	if (read_full(fd, ssl, (unsigned char *)&hdr, 4) < 0)
		return -1;
	len = ntohl(hdr) & 0x7fffffffu;
	if (len > 256 || read_full(fd, ssl, buf, len) < 0)
		return -1;
	return (int)len;
}

/*
 * connect, probe, TLS (resuming *sess when set), one NULL call: the time,
 * or -1. Keeps the connection's session in *sess (after the call, so the
 * TLS 1.3 tickets have arrived).
 */
static int64_t tls_once(int port, SSL_CTX *ctx, SSL_SESSION **sess, int *reused)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	unsigned char call[44], buf[256];
	int fd, one = 1, n;
	int64_t t0 = now_ns(), t = -1;
	SSL *ssl = NULL;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		goto out;
	null_call(call, 1, 7);
	if (write(fd, call, sizeof(call)) != (ssize_t)sizeof(call) ||
	    (n = read_record(fd, NULL, buf)) < 0 || memmem(buf, (size_t)n, "STARTTLS", 8) == NULL)
		goto out;
	ssl = SSL_new(ctx);
	SSL_set_fd(ssl, fd);
	SSL_set1_host(ssl, "127.0.0.1");
	if (*sess != NULL)
		SSL_set_session(ssl, *sess);
	if (SSL_connect(ssl) != 1)
		goto out;
	null_call(call, 2, 0);
	if (SSL_write(ssl, call, sizeof(call)) != (int)sizeof(call) ||
	    read_record(fd, ssl, buf) < 0)
		goto out;
	t = now_ns() - t0;
	*reused = SSL_session_reused(ssl);
	if (*sess == NULL)
		*sess = SSL_get1_session(ssl);
	SSL_shutdown(ssl);
out:
	if (t < 0)
		ERR_print_errors_fp(stderr);
	SSL_free(ssl);
	close(fd);
	return t;
}

static SSL_CTX *bench_ctx(const char *ca, const char *cert, const char *key)
{
	static const unsigned char alpn[] = "\x06sunrpc";
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_alpn_protos(ctx, alpn, sizeof(alpn) - 1);
	if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1 ||
	    (cert != NULL && (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
	                         SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1))) {
		ERR_print_errors_fp(stderr);
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

/* full: a new session each time; resumed: the first connection's session. */
static int handshakes(int port, SSL_CTX *ctx, int resume, int64_t *lat, struct cell *out,
    int *nreused)
{
	SSL_SESSION *sess = NULL;
	int i, reused = 0;

	*nreused = 0;
	if (resume && tls_once(port, ctx, &sess, &reused) < 0)
		return -1;
	for (i = 0; i < HANDSHAKES; i++) {
		SSL_SESSION *none = NULL;

		lat[i] = tls_once(port, ctx, resume ? &sess : &none, &reused);
		if (none != NULL)
			SSL_SESSION_free(none);
		if (lat[i] < 0) {
			SSL_SESSION_free(sess);
			return -1;
		}
		*nreused += reused;
	}
	SSL_SESSION_free(sess);
	qsort(lat, HANDSHAKES, sizeof(*lat), cmp_i64);
	out->p50 = pct_us(lat, HANDSHAKES, 50);
	out->p99 = pct_us(lat, HANDSHAKES, 99);
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: tls_bench --port PORT --ca FILE [--cert FILE --key FILE] "
	                "[--seconds S]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"port", required_argument, NULL, 'p'},
	    {"ca", required_argument, NULL, 'a'},
	    {"cert", required_argument, NULL, 'c'},
	    {"key", required_argument, NULL, 'k'},
	    {"seconds", required_argument, NULL, 's'},
	    {NULL, 0, NULL, 0},
	};
	const char *ca = NULL, *cert = NULL, *key = NULL;
	static const int conns[] = {1, 16};
	static const uint32_t procs[] = {0, RPX_DATE_NOW};
	struct rpx_async_opts o;
	char tcp[64], tls[64];
	double seconds = 2;
	int port = 0, opt, ci, pi, nreused;
	int64_t *lat = malloc(MAX_SAMPLES * sizeof(*lat));
	struct cell a, b;
	SSL_CTX *ctx;

	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (opt) {
		case 'p':
			port = atoi(optarg);
			break;
		case 'a':
			ca = optarg;
			break;
		case 'c':
			cert = optarg;
			break;
		case 'k':
			key = optarg;
			break;
		case 's':
			seconds = atof(optarg);
			break;
		default:
			usage();
		}
	}
	if (port <= 0 || ca == NULL || (cert == NULL) != (key == NULL) || seconds <= 0 ||
	    lat == NULL)
		usage();
	signal(SIGPIPE, SIG_IGN);
	snprintf(tcp, sizeof(tcp), "tcp://127.0.0.1:%d", port);
	snprintf(tls, sizeof(tls), "tls://127.0.0.1:%d", port);
	memset(&o, 0, sizeof(o));
	o.tls_ca_file = ca;
	o.tls_cert_file = cert;
	o.tls_key_file = key;

	printf("# steady state: closed loop, one call in flight per connection, %.1f s per cell\n",
	    seconds);
	printf("%-9s %5s | %9s %9s %10s | %9s %9s %10s | %s\n", "call", "conns", "tcp p50",
	    "tcp p99", "tcp calls/s", "tls p50", "tls p99", "tls calls/s", "tls/tcp p50");
	for (pi = 0; pi < 2; pi++) {
		for (ci = 0; ci < 2; ci++) {
			if (steady(tcp, &o, conns[ci], procs[pi], seconds, lat, &a) < 0 ||
			    steady(tls, &o, conns[ci], procs[pi], seconds, lat, &b) < 0)
				return 1;
			printf(
			    "%-9s %5d | %7.1fus %7.1fus %10.0f | %7.1fus %7.1fus %10.0f | %.2fx\n",
			    procs[pi] == 0 ? "NULL" : "DATE NOW", conns[ci], a.p50, a.p99, a.rate,
			    b.p50, b.p99, b.rate, b.p50 / a.p50);
		}
	}
	printf("\n# connection setup, %d times, one at a time\n", HANDSHAKES);
	printf("%-48s %9s %9s\n", "", "p50", "p99");
	if (open_times(tcp, &o, HANDSHAKES, lat, &a) < 0 ||
	    open_times(tls, &o, HANDSHAKES, lat, &b) < 0)
		return 1;
	printf("%-48s %7.1fus %7.1fus\n", "librpx open tcp:// (connect)", a.p50, a.p99);
	printf("%-48s %7.1fus %7.1fus\n", "librpx open tls:// (connect + probe + TLS 1.3)", b.p50,
	    b.p99);
	if ((ctx = bench_ctx(ca, cert, key)) == NULL)
		return 1;
	if (handshakes(port, ctx, 0, lat, &a, &nreused) < 0)
		return 1;
	printf("%-48s %7.1fus %7.1fus\n", "OpenSSL full: probe + TLS + first NULL", a.p50, a.p99);
	if (handshakes(port, ctx, 1, lat, &b, &nreused) < 0) {
		printf("%-48s %9s\n", "OpenSSL resumed (session ticket)", "failed");
	} else {
		printf("%-48s %7.1fus %7.1fus  (%d/%d resumed)\n",
		    "OpenSSL resumed: probe + TLS + first NULL", b.p50, b.p99, nreused, HANDSHAKES);
	}
	SSL_CTX_free(ctx);
	free(lat);
	return 0;
}
