/*
 * clnt_conn_tls.c: the transport of a tls:// struct rpx_client.
 *
 * libtirpc's CLIENT cannot speak TLS, so a tls:// client keeps one
 * struct rpx_async (clnt_async.c: probe, TLS 1.3 handshake, record
 * marking, XID matching) on a private event_base and runs that loop only
 * while one of its calls is waiting, as rpx_async_call_sync() does. This
 * file turns the asynchronous completion into a blocking call; the
 * deadlines and resend policy stay in clnt_conn.c (client_call), which
 * treats a broken TLS connection as it treats a broken TCP one.
 *
 * Results are decoded straight into the caller's buffer: the async call is
 * given a one-byte result and a decoder (decode_into) that reads where the
 * real result goes from a per-thread slot set around the loop, since the
 * caller's result type, and so its size, is known only to the caller's xres.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "clnt_internal.h"
#include "rpx/async.h"

struct rpx_tls_conn_ {
	struct event_base *base;
	struct rpx_async *async; /* NULL before the first connect and after a break */
	char url[sizeof(((struct rpx_url *)0)->text) + 8]; /* tls://HOST:PORT */
	char *ca_file, *cert_file, *key_file, *server_name;
};

/* Where decode_into() puts the result of the call this thread waits for. */
static __thread struct {
	xdrproc_t xres;
	void *res;
} sink;

static bool_t decode_into(XDR *xdrs, void *unused)
{
	(void)unused;
	if (sink.xres == NULL)
		return xdrs->x_op == XDR_FREE;
	return sink.xres(xdrs, sink.res);
}

static int dup_opt(char **dst, const char *src)
{
	if (src == NULL)
		return 0;
	return (*dst = strdup(src)) != NULL ? 0 : -ENOMEM;
}

struct rpx_tls_conn_ *rpx_tls_conn_new_(const char *url, const struct rpx_tls_opts *tls)
{
	struct rpx_tls_conn_ *tc = calloc(1, sizeof(*tc));

	if (tc == NULL)
		return NULL;
	snprintf(tc->url, sizeof(tc->url), "%s", url);
	if ((tc->base = event_base_new()) == NULL)
		goto fail;
	if (tls != NULL && (dup_opt(&tc->ca_file, tls->ca_file) < 0 ||
	                       dup_opt(&tc->cert_file, tls->cert_file) < 0 ||
	                       dup_opt(&tc->key_file, tls->key_file) < 0 ||
	                       dup_opt(&tc->server_name, tls->server_name) < 0))
		goto fail;
	return tc;
fail:
	rpx_tls_conn_free_(tc);
	return NULL;
}

void rpx_tls_conn_free_(struct rpx_tls_conn_ *tc)
{
	if (tc == NULL)
		return;
	rpx_async_close(tc->async);
	if (tc->base != NULL)
		event_base_free(tc->base);
	free(tc->ca_file);
	free(tc->cert_file);
	free(tc->key_file);
	free(tc->server_name);
	free(tc);
}

/* The async layer's text without its leading "URL: " (ours names the URL itself). */
static void strip_url(const struct rpx_tls_conn_ *tc, const char *msg, char *why, size_t whylen)
{
	size_t n = strlen(tc->url);

	if (strncmp(msg, tc->url, n) == 0 && msg[n] == ':' && msg[n + 1] == ' ')
		msg += n + 2;
	snprintf(why, whylen, "%s", msg);
}

static void drop(struct rpx_tls_conn_ *tc)
{
	rpx_async_close(tc->async);
	tc->async = NULL;
}

int rpx_tls_conn_connect_(struct rpx_tls_conn_ *tc, int timeout_ms, char *why, size_t whylen)
{
	struct rpx_async_opts ao;
	char err[600];
	int state;

	drop(tc);
	memset(&ao, 0, sizeof(ao));
	ao.timeout_ms = timeout_ms > 0 ? timeout_ms : 1;
	ao.tls_ca_file = tc->ca_file;
	ao.tls_cert_file = tc->cert_file;
	/* A PEM file may hold the certificate and its key. */
	ao.tls_key_file = tc->key_file != NULL ? tc->key_file : tc->cert_file;
	ao.tls_server_name = tc->server_name;
	if ((tc->async = rpx_async_open(tc->base, tc->url, &ao, err, sizeof(err))) == NULL) {
		strip_url(tc, err, why, whylen);
		return -EINVAL;
	}
	/* The connection's own timer (ao.timeout_ms) bounds connect, probe and handshake. */
	while ((state = rpx_async_state(tc->async)) == 0 &&
	       event_base_loop(tc->base, EVLOOP_ONCE) == 0)
		;
	if (state > 0)
		return 0;
	strip_url(tc, rpx_async_error(tc->async), why, whylen);
	if (why[0] == '\0')
		snprintf(why, whylen, "event loop failed");
	drop(tc);
	/* Connection errors: see the async layer's codes; keep refused/timeout distinct. */
	return state < 0 ? state : -EIO;
}

int rpx_tls_conn_up_(struct rpx_tls_conn_ *tc)
{
	if (tc->async == NULL)
		return 0;
	/* Let a close or reset the server sent while we were idle be seen now. */
	event_base_loop(tc->base, EVLOOP_NONBLOCK);
	if (rpx_async_state(tc->async) > 0)
		return 1;
	drop(tc);
	return 0;
}

struct sync_call {
	bool done;
	int err;
	char msg[600];
};

static void call_done(struct rpx_async *c, int err, const char *errmsg, void *res, void *arg)
{
	struct sync_call *s = arg;

	/*
	 * res is the one-byte placeholder; the result went to sink.res. Take
	 * the placeholder, or the library would xdr_free() it with
	 * decode_into, which would free the caller's result.
	 */
	if (err == 0 && res != NULL)
		free(rpx_async_result_take(c));
	s->done = true;
	s->err = err;
	snprintf(s->msg, sizeof(s->msg), "%s", errmsg);
}

int rpx_tls_conn_call_(struct rpx_tls_conn_ *tc, uint32_t prog, uint32_t vers, uint32_t proc,
    xdrproc_t xargs, void *args, xdrproc_t xres, void *res, int timeout_ms, int *broken, char *why,
    size_t whylen)
{
	bool want_res = res != NULL && xres != NULL && xres != (xdrproc_t)xdr_void;
	struct sync_call s = {0};
	int ret;

	*broken = 0;
	sink.xres = want_res ? xres : NULL;
	sink.res = want_res ? res : NULL;
	ret = rpx_async_call(tc->async, prog, vers, proc, xargs, args,
	    want_res ? (xdrproc_t)decode_into : (xdrproc_t)xdr_void, want_res ? 1 : 0,
	    timeout_ms > 0 ? timeout_ms : 1, call_done, &s);
	if (ret < 0) {
		snprintf(s.msg, sizeof(s.msg), "%s",
		    rpx_async_error(tc->async)[0] != '\0' ? rpx_async_error(tc->async)
		                                          : strerror(-ret));
		s.err = ret;
		s.done = true;
	}
	while (!s.done && event_base_loop(tc->base, EVLOOP_ONCE) == 0)
		;
	sink.xres = NULL;
	sink.res = NULL;
	if (!s.done) {
		snprintf(why, whylen, "event loop failed");
		drop(tc);
		*broken = 1;
		return -EIO;
	}
	if (s.err == 0)
		return 0;
	strip_url(tc, s.msg, why, whylen);
	if (rpx_async_state(tc->async) < 0) {
		*broken = 1;
		drop(tc);
	}
	return s.err;
}
