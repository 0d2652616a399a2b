/*
 * async_driver.c: drives librpx's async client (rpx/async.h) for the
 * test_async_*.py scenarios. It opens one struct rpx_async per URL on ONE
 * event_base, starts N calls on each at once (DATE NULL and NOW), runs the
 * loop until every callback has run, and prints one line per call and one
 * stats line per URL:
 *
 *   open U error TEXT                    rpx_async_open() failed for URL U
 *   call U I ok null                     NULL answered
 *   call U I ok now SECONDS NANOS TEXT   NOW answered
 *   call U I err ERRNO TEXT              the callback's (or rpx_async_call's) error
 *   again U ERRNO TEXT                   --again: a call made after all completed
 *                                        (0 when accepted, else refused at once)
 *   stats U calls=.. transmissions=.. retransmissions=.. replies=.. unknown_xid=..
 *         bad=.. timeouts=.. pending=..  (one line)
 *   elapsed_ms N
 *
 * usage: async_driver [-n N] [-p null|now|mix|bogus] [-t CALL_MS] [-T CONN_MS]
 *                     [-r RETRY_MS] [--ca F] [--cert F] [--key F] [--name NAME]
 *                     [--close-after MS] [--take] [--again] [--sync] URL...
 * --sync makes each call with rpx_async_call_sync() instead (one at a time).
 * Exit status 0 when every call completed exactly once, 3 when a callback
 * ran twice or never, 2 on bad usage.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include <rpx/client.h>
#include <rpx/async.h>

struct call_slot {
	int url, index;
	int completions;
	struct driver *d;
};

struct driver {
	struct event_base *base;
	struct rpx_async **conns;
	int nurls;
	int total, done;
	int take;
};

static const char *proc_mode = "mix";

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint32_t proc_of(int i)
{
	if (strcmp(proc_mode, "null") == 0)
		return RPX_DATE_NULL;
	if (strcmp(proc_mode, "now") == 0)
		return RPX_DATE_NOW;
	if (strcmp(proc_mode, "bogus") == 0)
		return 99;
	return i % 2 == 0 ? RPX_DATE_NULL : RPX_DATE_NOW;
}

static void print_result(int url, int index, uint32_t proc, int err, const char *msg,
    rpx_date_now_res *now)
{
	if (err != 0)
		printf("call %d %d err %d %s\n", url, index, err, msg);
	else if (proc == RPX_DATE_NOW && now != NULL)
		printf("call %d %d ok now %lld %u %s\n", url, index, (long long)now->seconds,
		    now->nanoseconds, now->rfc3339 != NULL ? now->rfc3339 : "-");
	else
		printf("call %d %d ok null\n", url, index);
}

static void call_done(struct rpx_async *c, int err, const char *errmsg, void *res, void *arg)
{
	struct call_slot *s = arg;
	struct driver *d = s->d;
	uint32_t proc = proc_of(s->index);

	if (s->completions++ > 0) {
		printf("error: callback of call %d %d ran twice\n", s->url, s->index);
		return;
	}
	if (d->take && res != NULL) {
		void *mine = rpx_async_result_take(c);

		print_result(s->url, s->index, proc, err, errmsg, mine);
		rpx_async_result_free((xdrproc_t)xdr_rpx_date_now_res, mine);
	} else {
		print_result(s->url, s->index, proc, err, errmsg, res);
	}
	if (++d->done == d->total)
		event_base_loopbreak(d->base);
}

static void close_all(evutil_socket_t fd, short what, void *arg)
{
	struct driver *d = arg;
	int u;

	for (u = 0; u < d->nurls; u++) {
		rpx_async_close(d->conns[u]);
		d->conns[u] = NULL;
	}
	if (d->done == d->total)
		event_base_loopbreak(d->base);
}

static int usage(void)
{
	fprintf(stderr, "usage: async_driver [-n N] [-p null|now|mix|bogus] [-t CALL_MS] "
	                "[-T CONN_MS] [-r RETRY_MS] [--ca F] [--cert F] [--key F] [--name NAME] "
	                "[--close-after MS] [--take] [--again] [--sync] URL...\n");
	return 2;
}

static int run_sync(char **urls, int nurls, int n, const struct rpx_async_opts *o)
{
	int u, i;

	for (u = 0; u < nurls; u++) {
		for (i = 0; i < n; i++) {
			uint32_t proc = proc_of(i);
			rpx_date_now_res res;
			char err[600];
			int r;

			memset(&res, 0, sizeof(res));
			r = rpx_async_call_sync(urls[u], o, RPX_DATE_PROG, RPX_DATE_VERS, proc,
			    (xdrproc_t)xdr_void, NULL,
			    proc == RPX_DATE_NOW ? (xdrproc_t)xdr_rpx_date_now_res
			                         : (xdrproc_t)xdr_void,
			    proc == RPX_DATE_NOW ? &res : NULL, sizeof(res), err, sizeof(err));
			print_result(u, i, proc, r, err, &res);
			if (r == 0 && proc == RPX_DATE_NOW)
				xdr_free((xdrproc_t)xdr_rpx_date_now_res, (char *)&res);
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct rpx_async_opts o;
	struct driver d;
	struct call_slot *slots;
	struct event *closer = NULL;
	int n = 1, call_ms = 0, close_after = -1, sync = 0, again = 0, i, u, status = 0;
	int64_t start;

	memset(&o, 0, sizeof(o));
	memset(&d, 0, sizeof(d));
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--take") == 0) {
			d.take = 1;
			continue;
		}
		if (strcmp(a, "--again") == 0) {
			again = 1;
			continue;
		}
		if (strcmp(a, "--sync") == 0) {
			sync = 1;
			continue;
		}
		if (v == NULL)
			return usage();
		i++;
		if (strcmp(a, "-n") == 0)
			n = atoi(v);
		else if (strcmp(a, "-p") == 0)
			proc_mode = v;
		else if (strcmp(a, "-t") == 0)
			call_ms = atoi(v);
		else if (strcmp(a, "-T") == 0)
			o.timeout_ms = atoi(v);
		else if (strcmp(a, "-r") == 0)
			o.retry_ms = atoi(v);
		else if (strcmp(a, "--ca") == 0)
			o.tls_ca_file = v;
		else if (strcmp(a, "--cert") == 0)
			o.tls_cert_file = v;
		else if (strcmp(a, "--key") == 0)
			o.tls_key_file = v;
		else if (strcmp(a, "--name") == 0)
			o.tls_server_name = v;
		else if (strcmp(a, "--close-after") == 0)
			close_after = atoi(v);
		else
			return usage();
	}
	if (i >= argc || n < 1)
		return usage();
	d.nurls = argc - i;
	start = now_ms();
	if (sync) {
		status = run_sync(argv + i, d.nurls, n, &o);
		printf("elapsed_ms %lld\n", (long long)(now_ms() - start));
		return status;
	}

	/* rpx/async.h: a program running its own event_base ignores SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);
	d.base = event_base_new();
	d.conns = calloc((size_t)d.nurls, sizeof(*d.conns));
	slots = calloc((size_t)d.nurls * (size_t)n, sizeof(*slots));
	if (d.base == NULL || d.conns == NULL || slots == NULL)
		return 2;
	d.total = d.nurls * n;
	for (u = 0; u < d.nurls; u++) {
		char err[600];

		d.conns[u] = rpx_async_open(d.base, argv[i + u], &o, err, sizeof(err));
		if (d.conns[u] == NULL) {
			printf("open %d error %s\n", u, err);
			d.done += n;
			continue;
		}
		for (int k = 0; k < n; k++) {
			struct call_slot *s = &slots[u * n + k];
			uint32_t proc = proc_of(k);
			int r;

			s->url = u;
			s->index = k;
			s->d = &d;
			r = rpx_async_call(d.conns[u], RPX_DATE_PROG, RPX_DATE_VERS, proc,
			    (xdrproc_t)xdr_void, NULL,
			    proc == RPX_DATE_NOW ? (xdrproc_t)xdr_rpx_date_now_res : NULL,
			    proc == RPX_DATE_NOW ? sizeof(rpx_date_now_res) : 0, call_ms, call_done,
			    s);
			if (r < 0) {
				s->completions++;
				print_result(u, k, proc, r, rpx_async_error(d.conns[u]), NULL);
				d.done++;
			}
		}
	}
	if (close_after >= 0) {
		struct timeval tv = {close_after / 1000, (close_after % 1000) * 1000};

		closer = evtimer_new(d.base, close_all, &d);
		evtimer_add(closer, &tv);
	}
	if (d.done < d.total)
		event_base_dispatch(d.base);
	for (u = 0; u < d.nurls; u++) {
		struct rpx_async_stats st;

		if (d.conns[u] == NULL)
			continue;
		if (again) {
			/* A failed connection refuses at once; the callback must not run. */
			int r = rpx_async_call(d.conns[u], RPX_DATE_PROG, RPX_DATE_VERS,
			    RPX_DATE_NULL, NULL, NULL, NULL, 0, 0, call_done, &slots[0]);

			printf("again %d %d %s\n", u, r, r < 0 ? rpx_async_error(d.conns[u]) : "");
		}
		rpx_async_stats(d.conns[u], &st);
		printf("stats %d calls=%llu transmissions=%llu retransmissions=%llu replies=%llu "
		       "unknown_xid=%llu bad=%llu timeouts=%llu pending=%llu\n",
		    u, (unsigned long long)st.calls, (unsigned long long)st.transmissions,
		    (unsigned long long)st.retransmissions, (unsigned long long)st.replies,
		    (unsigned long long)st.unknown_xid, (unsigned long long)st.bad_messages,
		    (unsigned long long)st.timeouts, (unsigned long long)st.pending);
		rpx_async_close(d.conns[u]);
	}
	for (i = 0; i < d.total; i++) {
		if (slots[i].completions != 1 && slots[i].d != NULL) {
			printf("error: call %d %d completed %d times\n", slots[i].url,
			    slots[i].index, slots[i].completions);
			status = 3;
		}
	}
	printf("elapsed_ms %lld\n", (long long)(now_ms() - start));
	if (closer != NULL)
		event_free(closer);
	free(slots);
	free(d.conns);
	event_base_free(d.base);
	return status;
}
