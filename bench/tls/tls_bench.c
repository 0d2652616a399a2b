/*
 * tls_bench.c: what RPC-with-TLS (RFC 9289) costs against clear TCP, on
 * one rpxd that listens for both (TLS is started per connection by the
 * AUTH_TLS probe, so one tcp:// listener serves tcp:// and tls:// URLs).
 *
 *	tls_bench --port PORT --ca FILE [--cert FILE --key FILE] [--seconds S]
 *	          [--only tcp|tls|resume]
 *
 * Steady state: NULL and DATE NOW through librpx's async API, 1 and 16
 * connections on one event loop, each a closed loop (one call in flight
 * per connection), over tcp:// and tls://; p50, p99 and calls/s per cell,
 * and the tls/tcp ratio of p50. Both sets of connections stay open and
 * take turns in short rounds, so that a load that comes and goes on the
 * machine falls on both sides of the ratio. --only: NULL on one
 * connection of one side, or resumed handshakes only (about 1,000 per
 * second asked for), nothing else (for perf or callgrind). Connection setup: the time from
 * rpx_async_open() to a connection that is up (tcp: connect; tls: connect,
 * probe, TLS 1.3 handshake), with full handshakes (RPX_ASYNC_TLS_NO_RESUME)
 * and with resumed ones (the library's session cache); the run fails
 * unless every full handshake was full and every resumed one resumed
 * (rpx_async_tls_resumed). Prints one table; run.sh starts rpxd.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
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

/* Opens n connections to url on base and waits until they are up. */
static int open_set(struct event_base *base, const char *url, const struct rpx_async_opts *o, int n,
    struct rpx_async **c)
{
	char err[600];
	int i;

	for (i = 0; i < n; i++) {
		if ((c[i] = rpx_async_open(base, url, o, err, sizeof(err))) == NULL) {
			fprintf(stderr, "tls_bench: %s\n", err);
			return -1;
		}
	}
	return wait_up(base, c, n);
}

/* One closed-loop round on the connections c for ns nanoseconds; samples appended. */
static int round_on(struct event_base *base, struct rpx_async **c, int n, uint32_t proc, int64_t ns,
    int64_t *lat, size_t *nlat)
{
	struct slot slots[MAX_CONNS];
	struct run r = {0};
	int i;

	r.base = base;
	r.lat = lat;
	r.nlat = *nlat;
	r.proc = proc;
	r.active = n;
	r.start = now_ns();
	r.end = r.start + ns;
	for (i = 0; i < n; i++) {
		slots[i].r = &r;
		slots[i].c = c[i];
		issue(&slots[i]);
	}
	event_base_dispatch(base);
	*nlat = r.nlat;
	return r.failed ? -1 : 0;
}

static void summarize(int64_t *lat, size_t n, double seconds, struct cell *out)
{
	qsort(lat, n, sizeof(*lat), cmp_i64);
	out->p50 = pct_us(lat, n, 50);
	out->p99 = pct_us(lat, n, 99);
	out->rate = (double)n / seconds;
}

/*
 * tcp:// and tls:// side by side: both sets of connections open on one
 * loop, then ROUNDS short rounds of each, alternating (and alternating
 * which goes first), so that a load that comes and goes on the machine
 * falls on both. One unmeasured round of each first, to warm up. A NULL
 * url skips that side (for profiling one of them).
 */
#define ROUNDS 20

static int steady(const char *tcp_url, const char *tls_url, const struct rpx_async_opts *o,
    int nconns, uint32_t proc, double seconds, int64_t *lat_tcp, int64_t *lat_tls, struct cell *tcp,
    struct cell *tls)
{
	struct event_base *base = event_base_new();
	struct rpx_async *c_tcp[MAX_CONNS] = {0}, *c_tls[MAX_CONNS] = {0};
	int64_t round_ns = (int64_t)(seconds * 1e9 / ROUNDS);
	size_t n_tcp = 0, n_tls = 0, warm;
	int i, k, ret = -1;

	if ((tcp_url != NULL && open_set(base, tcp_url, o, nconns, c_tcp) < 0) ||
	    (tls_url != NULL && open_set(base, tls_url, o, nconns, c_tls) < 0))
		goto out;
	for (k = -1; k < ROUNDS; k++) {
		int64_t ns = k < 0 ? round_ns / 2 : round_ns;

		for (i = 0; i < 2; i++) {
			bool is_tls = (i + (k & 1)) % 2 == 1;
			struct rpx_async **c = is_tls ? c_tls : c_tcp;
			int64_t *lat = is_tls ? lat_tls : lat_tcp;
			size_t *n = is_tls ? &n_tls : &n_tcp;

			if ((is_tls ? tls_url : tcp_url) == NULL)
				continue;
			if (*n > MAX_SAMPLES / 2)
				*n = MAX_SAMPLES / 2; /* overwrite: enough samples */
			warm = *n;
			if (round_on(base, c, nconns, proc, ns, lat, n) < 0)
				goto out;
			if (k < 0)
				*n = warm;
		}
	}
	summarize(lat_tcp, n_tcp, seconds, tcp);
	summarize(lat_tls, n_tls, seconds, tls);
	ret = 0;
out:
	for (i = 0; i < nconns; i++) {
		rpx_async_close(c_tcp[i]);
		rpx_async_close(c_tls[i]);
	}
	event_base_free(base);
	return ret;
}

static void null_done(struct rpx_async *c, int err, const char *errmsg, void *res, void *arg)
{
	int *state = arg;

	(void)c;
	(void)res;
	if (err != 0)
		fprintf(stderr, "tls_bench: %s\n", errmsg);
	*state = err != 0 ? -1 : 1;
}

/*
 * rpx_async_open() to "up" (tcp: connect; tls: connect, probe, TLS 1.3
 * handshake), n times, one at a time: p50/p99 into out, and how many TLS
 * handshakes resumed a session into *nresumed. Each connection then makes
 * one NULL call (not timed), by whose reply the server's session ticket
 * has arrived for the next one.
 */
static int open_times(const char *url, const struct rpx_async_opts *o, int n, int64_t *lat,
    struct cell *out, int *nresumed)
{
	struct event_base *base = event_base_new();
	char err[600];
	int i;

	*nresumed = 0;
	for (i = 0; i < n; i++) {
		int64_t t0 = now_ns();
		struct rpx_async *c = rpx_async_open(base, url, o, err, sizeof(err));
		int state = 0;

		if (c == NULL || wait_up(base, &c, 1) < 0) {
			if (c == NULL)
				fprintf(stderr, "tls_bench: %s\n", err);
			rpx_async_close(c);
			event_base_free(base);
			return -1;
		}
		lat[i] = now_ns() - t0;
		*nresumed += rpx_async_tls_resumed(c);
		if (rpx_async_call(c, RPX_DATE_PROG, RPX_DATE_VERS, 0, (xdrproc_t)xdr_void, NULL,
		        (xdrproc_t)xdr_void, 0, 0, null_done, &state) < 0)
			state = -1;
		while (state == 0)
			event_base_loop(base, EVLOOP_ONCE);
		rpx_async_close(c);
		if (state < 0) {
			event_base_free(base);
			return -1;
		}
	}
	event_base_free(base);
	qsort(lat, (size_t)n, sizeof(*lat), cmp_i64);
	out->p50 = pct_us(lat, (size_t)n, 50);
	out->p99 = pct_us(lat, (size_t)n, 99);
	out->rate = 0;
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: tls_bench --port PORT --ca FILE [--cert FILE --key FILE] "
	                "[--seconds S] [--only tcp|tls|resume]\n");
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
	    {"only", required_argument, NULL, 'o'},
	    {NULL, 0, NULL, 0},
	};
	const char *ca = NULL, *cert = NULL, *key = NULL, *only = NULL;
	static const int conns[] = {1, 16};
	static const uint32_t procs[] = {0, RPX_DATE_NOW};
	struct rpx_async_opts o;
	char tcp[64], tls[64];
	double seconds = 2;
	int port = 0, opt, ci, pi, nreused;
	int64_t *lat = malloc(MAX_SAMPLES * sizeof(*lat));
	int64_t *lat2 = malloc(MAX_SAMPLES * sizeof(*lat2));
	struct rpx_async_opts full;
	struct cell a, b;

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
		case 'o':
			only = optarg;
			break;
		default:
			usage();
		}
	}
	if (port <= 0 || ca == NULL || (cert == NULL) != (key == NULL) || seconds <= 0 ||
	    lat == NULL || lat2 == NULL ||
	    (only != NULL && strcmp(only, "tcp") != 0 && strcmp(only, "tls") != 0 &&
	        strcmp(only, "resume") != 0))
		usage();
	signal(SIGPIPE, SIG_IGN);
	snprintf(tcp, sizeof(tcp), "tcp://127.0.0.1:%d", port);
	snprintf(tls, sizeof(tls), "tls://127.0.0.1:%d", port);
	memset(&o, 0, sizeof(o));
	o.tls_ca_file = ca;
	o.tls_cert_file = cert;
	o.tls_key_file = key;

	if (only != NULL && strcmp(only, "resume") == 0) {
		/* Resumed handshakes only, as many as fit in the time given. */
		int n = (int)(seconds * 1000);

		if (n > HANDSHAKES * 50)
			n = HANDSHAKES * 50;
		if (open_times(tls, &o, 1, lat, &b, &nreused) < 0 ||
		    open_times(tls, &o, n, lat, &b, &nreused) < 0)
			return 1;
		printf("open tls://, resumed: p50 %.1fus p99 %.1fus, %d/%d resumed, %d calls\n",
		    b.p50, b.p99, nreused, n, n);
		return 0;
	}
	if (only != NULL) {
		/* One side only, NULL on one connection: for perf record / perf stat. */
		bool is_tls = strcmp(only, "tls") == 0;

		if (steady(is_tls ? NULL : tcp, is_tls ? tls : NULL, &o, 1, 0, seconds, lat, lat2,
		        &a, &b) < 0)
			return 1;
		printf("NULL over %s, 1 conn: p50 %.1fus p99 %.1fus, %.0f calls\n", only,
		    is_tls ? b.p50 : a.p50, is_tls ? b.p99 : a.p99,
		    (is_tls ? b.rate : a.rate) * seconds);
		return 0;
	}
	printf("# steady state: closed loop, one call in flight per connection, %.1f s per cell\n"
	       "# in %d alternating rounds of tcp:// and tls://\n",
	    seconds, ROUNDS);
	printf("%-9s %5s | %9s %9s %10s | %9s %9s %10s | %s\n", "call", "conns", "tcp p50",
	    "tcp p99", "tcp calls/s", "tls p50", "tls p99", "tls calls/s", "tls/tcp p50");
	for (pi = 0; pi < 2; pi++) {
		for (ci = 0; ci < 2; ci++) {
			if (steady(tcp, tls, &o, conns[ci], procs[pi], seconds, lat, lat2, &a, &b) <
			    0)
				return 1;
			printf(
			    "%-9s %5d | %7.1fus %7.1fus %10.0f | %7.1fus %7.1fus %10.0f | %.2fx\n",
			    procs[pi] == 0 ? "NULL" : "DATE NOW", conns[ci], a.p50, a.p99, a.rate,
			    b.p50, b.p99, b.rate, b.p50 / a.p50);
		}
	}
	printf("\n# connection setup through librpx, %d times, one at a time\n", HANDSHAKES);
	printf("%-56s %9s %9s\n", "", "p50", "p99");
	if (open_times(tcp, &o, HANDSHAKES, lat, &a, &nreused) < 0)
		return 1;
	printf("%-56s %7.1fus %7.1fus\n", "open tcp:// (connect)", a.p50, a.p99);
	full = o;
	full.flags = RPX_ASYNC_TLS_NO_RESUME;
	if (open_times(tls, &full, HANDSHAKES, lat, &a, &nreused) < 0)
		return 1;
	printf("%-56s %7.1fus %7.1fus  (%d/%d resumed)\n",
	    "open tls://, full handshake (connect + probe + TLS 1.3)", a.p50, a.p99, nreused,
	    HANDSHAKES);
	if (nreused != 0) {
		fprintf(stderr, "tls_bench: RPX_ASYNC_TLS_NO_RESUME, yet %d resumed\n", nreused);
		return 1;
	}
	/* The first open makes the ticket the others resume from. */
	if (open_times(tls, &o, 1, lat, &b, &nreused) < 0 ||
	    open_times(tls, &o, HANDSHAKES, lat, &b, &nreused) < 0)
		return 1;
	printf("%-56s %7.1fus %7.1fus  (%d/%d resumed)\n",
	    "open tls://, resumed (session ticket of the previous one)", b.p50, b.p99, nreused,
	    HANDSHAKES);
	if (nreused != HANDSHAKES) {
		fprintf(stderr, "tls_bench: only %d of %d handshakes resumed\n", nreused,
		    HANDSHAKES);
		return 1;
	}
	printf("\n# targets: tls/tcp p50 <= 1.10x; full handshake < 2000us; resumed < 500us\n");
	printf("full handshake %.0fus (%s), resumed %.0fus (%s)\n", a.p50,
	    a.p50 < 2000 ? "met" : "missed", b.p50, b.p50 < 500 ? "met" : "missed");
	free(lat);
	free(lat2);
	return 0;
}
