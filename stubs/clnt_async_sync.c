/*
 * clnt_async_sync.c: rpx_async_call_sync(), one async call run to completion
 * on a private event_base, for tests and small tools. Only a user of the
 * public API in rpx/async.h (clnt_async.c does the work).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "rpx/async.h"

/*
 * The private loop writes with writev(): block SIGPIPE around it and
 * swallow one it raised, so the caller sees EPIPE and keeps its disposition.
 */
struct sigpipe_mask {
	sigset_t old;
	int was_pending;
};

static void sigpipe_block(struct sigpipe_mask *m)
{
	sigset_t set, pending;

	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, &m->old);
	sigpending(&pending);
	m->was_pending = sigismember(&pending, SIGPIPE);
}

static void sigpipe_restore(const struct sigpipe_mask *m)
{
	struct timespec zero = {0, 0};
	sigset_t set, pending;

	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	sigpending(&pending);
	if (!m->was_pending && sigismember(&pending, SIGPIPE))
		sigtimedwait(&set, NULL, &zero);
	pthread_sigmask(SIG_SETMASK, &m->old, NULL);
}

struct sync_call {
	bool done;
	int err;
	char msg[600];
	void *res;
};

static void sync_cb(struct rpx_async *c, int err, const char *errmsg, void *res, void *arg)
{
	struct sync_call *s = arg;

	s->done = true;
	s->err = err;
	snprintf(s->msg, sizeof(s->msg), "%s", errmsg);
	if (err == 0)
		s->res = rpx_async_result_take(c);
}

int rpx_async_call_sync(const char *url, const struct rpx_async_opts *opts, uint32_t prog,
    uint32_t vers, uint32_t proc, xdrproc_t xargs, const void *args, xdrproc_t xres, void *res,
    size_t res_size, char *err, size_t errlen)
{
	struct event_base *base = event_base_new();
	struct sync_call s = {0};
	struct rpx_async *c = NULL;
	struct sigpipe_mask mask;
	int ret;

	if (errlen > 0)
		err[0] = '\0';
	if (base == NULL) {
		if (errlen > 0)
			snprintf(err, errlen, "cannot create an event base");
		return -ENOMEM;
	}
	if ((c = rpx_async_open(base, url, opts, err, errlen)) == NULL) {
		ret = -EINVAL;
		goto out;
	}
	ret = rpx_async_call(c, prog, vers, proc, xargs, args, xres, res != NULL ? res_size : 0, 0,
	    sync_cb, &s);
	if (ret < 0) {
		if (errlen > 0)
			snprintf(err, errlen, "%s",
			    rpx_async_error(c)[0] != '\0' ? rpx_async_error(c) : strerror(-ret));
		goto out;
	}
	sigpipe_block(&mask);
	while (!s.done && event_base_loop(base, EVLOOP_ONCE) == 0)
		;
	sigpipe_restore(&mask);
	ret = s.done ? s.err : -EIO;
	if (errlen > 0 && ret < 0)
		snprintf(err, errlen, "%s", s.done ? s.msg : "event loop failed");
	if (ret == 0 && s.res != NULL) {
		/* A shallow move: what the result points to now belongs to res. */
		memcpy(res, s.res, res_size);
		free(s.res);
	}
out:
	rpx_async_close(c);
	event_base_free(base);
	return ret;
}
