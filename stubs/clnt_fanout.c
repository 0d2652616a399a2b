/*
 * clnt_fanout.c: the same per-host work on many hosts at once, on one
 * event_base (rpx/fanout.h).
 *
 * Each host goes waiting -> (rpcbind lookup) -> running -> done. At most
 * `parallel` hosts are past waiting and not done; a host that ends lets
 * the next one start. A host owns one evtimer, used for three things: its
 * deadline, delivering a failure known at once (from the loop, never from
 * rpx_fanout_start()), and starting the next host from the loop. Bare host
 * names are resolved to a port by an RPCBPROC_GETADDR call to rpcbind on
 * the caller's loop (rpx_async over tcp://HOST:111).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/event.h>
#include <rpc/rpc.h>
#include <rpc/rpcb_prot.h>

#include <rpx/client.h>
#include <rpx/fanout.h>

#include "clnt_internal.h"
#include "rpcmsg.h"

enum host_state { HOST_WAITING, HOST_RPCBIND, HOST_RUNNING, HOST_DONE };

struct rpx_fanout_host {
	struct rpx_fanout *fanout;
	char *target;
	void *arg;
	enum host_state state;
	struct rpx_async *conn; /* the rpcbind lookup's, then the host's */
	struct event *timer; /* deadline; also a deferred failure */
	int failed_err; /* deferred failure: delivered by the timer */
	char url[300];
	char note[200]; /* "rpcbind: ...; tried port 7077: " when the lookup failed */
	char errmsg[200 + 512]; /* note, then the error text */
};

struct rpx_fanout {
	struct event_base *base;
	struct rpx_fanout_opts opts;
	rpx_fanout_start_cb start;
	rpx_fanout_done_cb done;
	void *arg;
	struct rpx_fanout_host **hosts;
	size_t nhosts, cap;
	size_t next; /* first waiting host */
	size_t running, remaining;
	int started;
	int launching; /* launch() is on the stack */
	struct event *kick; /* starts the first hosts from the loop */
};

static void launch(struct rpx_fanout *f);
static void begin_rpc(struct rpx_fanout_host *h, const char *url);

/* Ends h and reports it; the one teardown of a host. */
static void finish(struct rpx_fanout_host *h, int err, const char *msg)
{
	struct rpx_fanout *f = h->fanout;
	struct rpx_async *conn = h->conn;
	char text[512];

	if (h->state == HOST_DONE)
		return;
	snprintf(text, sizeof(text), "%s", msg); /* msg may be h->errmsg */
	h->state = HOST_DONE;
	h->conn = NULL;
	evtimer_del(h->timer);
	rpx_async_close(conn); /* pending calls see -ECANCELED; h is done already */
	snprintf(h->errmsg, sizeof(h->errmsg), "%s%s", err < 0 ? h->note : "", text);
	f->running--;
	f->remaining--;
	f->done(h, err, h->errmsg, f->arg);
	launch(f);
}

void rpx_fanout_host_done(struct rpx_fanout_host *h, int err, const char *fmt, ...)
{
	char msg[512] = "";
	va_list ap;

	if (h == NULL || h->state == HOST_DONE)
		return;
	if (fmt != NULL) {
		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
	}
	finish(h, err, msg);
}

static void fail_later(struct rpx_fanout_host *h, int err, const char *msg)
{
	struct timeval now = {0, 0};

	h->failed_err = err;
	snprintf(h->errmsg, sizeof(h->errmsg), "%s", msg);
	evtimer_del(h->timer);
	evtimer_add(h->timer, &now);
}

static void on_rpcbind(struct rpx_async *c, int err, const char *errmsg, void *res, void *arg)
{
	struct rpx_fanout_host *h = arg;
	char url[300];
	char **uaddr = res;

	(void)c;
	if (h->state != HOST_RPCBIND)
		return; /* the host ended (deadline) and closed us */
	h->conn = NULL; /* closed below, after this callback */
	rpx_async_close(c);
	rpx_url_from_rpcbind_(h->target, h->fanout->opts.rpcbind_prog, err, errmsg,
	    err == 0 && uaddr != NULL ? *uaddr : NULL, url, sizeof(url), h->note, sizeof(h->note));
	begin_rpc(h, url);
}

/* Asks HOST:111 for the program's tcp address. */
static void begin_rpcbind(struct rpx_fanout_host *h)
{
	struct rpx_fanout *f = h->fanout;
	struct rpx_async_opts ao = f->opts.async;
	char url[300], err[256];
	struct rpcb args;
	int ret;

	rpx_url_bare_tcp_(h->target, RPX_FANOUT_RPCBIND_PORT, url, sizeof(url));
	ao.timeout_ms = f->opts.rpcbind_timeout_ms;
	h->state = HOST_RPCBIND;
	if ((h->conn = rpx_async_open(f->base, url, &ao, err, sizeof(err))) == NULL) {
		fail_later(h, -EINVAL, err);
		return;
	}
	rpx_rpcbind_args_(&args, f->opts.rpcbind_prog, f->opts.rpcbind_vers);
	ret = rpx_async_call(h->conn, RPCBPROG, RPCBVERS4, RPCBPROC_GETADDR, (xdrproc_t)xdr_rpcb,
	    &args, (xdrproc_t)rpx_rpcmsg_xdr_uaddr, sizeof(char *), f->opts.rpcbind_timeout_ms,
	    on_rpcbind, h);
	if (ret < 0) {
		/* No lookup possible: the fallback rule, as for a lookup that failed. */
		snprintf(err, sizeof(err), "%s",
		    rpx_async_error(h->conn)[0] != '\0' ? rpx_async_error(h->conn)
		                                        : strerror(-ret));
		rpx_async_close(h->conn);
		h->conn = NULL;
		rpx_url_from_rpcbind_(h->target, f->opts.rpcbind_prog, ret, err, NULL, url,
		    sizeof(url), h->note, sizeof(h->note));
		begin_rpc(h, url);
	}
}

static void begin_rpc(struct rpx_fanout_host *h, const char *url)
{
	struct rpx_fanout *f = h->fanout;
	char err[256];

	h->state = HOST_RUNNING;
	if ((h->conn = rpx_async_open(f->base, url, &f->opts.async, err, sizeof(err))) == NULL) {
		fail_later(h, -EINVAL, err);
		return;
	}
	snprintf(h->url, sizeof(h->url), "%s", rpx_async_url(h->conn));
	f->start(h, h->conn, f->arg);
}

static void begin_host(struct rpx_fanout_host *h)
{
	struct rpx_fanout *f = h->fanout;

	f->running++;
	if (f->opts.host_timeout_ms > 0) {
		struct timeval tv = {f->opts.host_timeout_ms / 1000,
		    (f->opts.host_timeout_ms % 1000) * 1000};

		evtimer_add(h->timer, &tv);
	}
	if (rpx_url_is_bare_(h->target))
		begin_rpcbind(h);
	else
		begin_rpc(h, h->target);
}

/* Starts waiting hosts while there is room; not reentrant (a start() may end its host). */
static void launch(struct rpx_fanout *f)
{
	if (!f->started || f->launching)
		return;
	f->launching = 1;
	while (f->next < f->nhosts && f->running < (size_t)f->opts.parallel)
		begin_host(f->hosts[f->next++]);
	f->launching = 0;
}

/* Timer: a failure known at once (delivered from the loop), or the deadline. */
static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct rpx_fanout_host *h = arg;
	char msg[400];

	(void)fd;
	(void)what;
	if (h->failed_err < 0) {
		finish(h, h->failed_err, h->errmsg);
		return;
	}
	snprintf(msg, sizeof(msg), "%s: no answer within %d ms",
	    h->url[0] != '\0' ? h->url : h->target, h->fanout->opts.host_timeout_ms);
	finish(h, -ETIMEDOUT, msg);
}

/* Launches from the loop, so that no callback runs inside rpx_fanout_start(). */
static void on_start(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	launch(arg);
}

struct rpx_fanout *rpx_fanout_new(struct event_base *base, const struct rpx_fanout_opts *opts,
    rpx_fanout_start_cb start, rpx_fanout_done_cb done, void *arg)
{
	struct rpx_fanout *f;
	size_t i;

	if (base == NULL || start == NULL || done == NULL)
		return NULL;
	if (opts != NULL) {
		if (opts->parallel < 0 || opts->host_timeout_ms < 0 || opts->rpcbind_timeout_ms < 0)
			return NULL;
		for (i = 0; i < sizeof(opts->reserved) / sizeof(opts->reserved[0]); i++) {
			if (opts->reserved[i] != 0)
				return NULL;
		}
	}
	if ((f = calloc(1, sizeof(*f))) == NULL)
		return NULL;
	if (opts != NULL)
		f->opts = *opts;
	if (f->opts.parallel == 0)
		f->opts.parallel = RPX_FANOUT_PARALLEL;
	if (f->opts.rpcbind_timeout_ms == 0)
		f->opts.rpcbind_timeout_ms = RPX_FANOUT_RPCBIND_MS;
	if (f->opts.host_timeout_ms > 0 && f->opts.rpcbind_timeout_ms > f->opts.host_timeout_ms)
		f->opts.rpcbind_timeout_ms = f->opts.host_timeout_ms;
	if (f->opts.rpcbind_prog == 0)
		f->opts.rpcbind_prog = RPX_DATE_PROG;
	if (f->opts.rpcbind_vers == 0)
		f->opts.rpcbind_vers = 1;
	if ((f->kick = evtimer_new(base, on_start, f)) == NULL) {
		free(f);
		return NULL;
	}
	f->base = base;
	f->start = start;
	f->done = done;
	f->arg = arg;
	return f;
}

int rpx_fanout_add(struct rpx_fanout *f, const char *target, void *host_arg)
{
	struct rpx_fanout_host *h;

	if (f == NULL || target == NULL || target[0] == '\0' || f->started)
		return -EINVAL;
	if (f->nhosts == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 16;
		struct rpx_fanout_host **v = realloc(f->hosts, cap * sizeof(*v));

		if (v == NULL)
			return -ENOMEM;
		f->hosts = v;
		f->cap = cap;
	}
	if ((h = calloc(1, sizeof(*h))) == NULL)
		return -ENOMEM;
	h->fanout = f;
	h->arg = host_arg;
	if ((h->target = strdup(target)) == NULL ||
	    (h->timer = evtimer_new(f->base, on_deadline, h)) == NULL) {
		free(h->target);
		free(h);
		return -ENOMEM;
	}
	f->hosts[f->nhosts++] = h;
	f->remaining++;
	return 0;
}

int rpx_fanout_start(struct rpx_fanout *f)
{
	if (f == NULL || f->started)
		return -EINVAL;
	f->started = 1;
	if (f->nhosts == 0)
		return 0;
	{
		struct timeval now = {0, 0};

		return evtimer_add(f->kick, &now) == 0 ? 0 : -ENOMEM;
	}
}

size_t rpx_fanout_remaining(const struct rpx_fanout *f)
{
	return f->remaining;
}

size_t rpx_fanout_running(const struct rpx_fanout *f)
{
	return f->running;
}

void rpx_fanout_free(struct rpx_fanout *f)
{
	size_t i;

	if (f == NULL)
		return;
	for (i = 0; i < f->nhosts; i++) {
		struct rpx_fanout_host *h = f->hosts[i];
		struct rpx_async *conn = h->conn;

		h->state = HOST_DONE;
		h->conn = NULL;
		rpx_async_close(conn);
		event_free(h->timer);
		free(h->target);
		free(h);
	}
	event_free(f->kick);
	free(f->hosts);
	free(f);
}

const char *rpx_fanout_host_target(const struct rpx_fanout_host *h)
{
	return h->target;
}

const char *rpx_fanout_host_url(const struct rpx_fanout_host *h)
{
	return h->url;
}

void *rpx_fanout_host_arg(const struct rpx_fanout_host *h)
{
	return h->arg;
}

int rpx_fanout_host_is_done(const struct rpx_fanout_host *h)
{
	return h->state == HOST_DONE;
}
