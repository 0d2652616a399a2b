/*
 * clnt_async.c: struct rpx_async, asynchronous RPC calls on the caller's
 * libevent event_base (see rpx/async.h for the contract).
 *
 * One struct per connection (TCP, Unix, TLS) or UDP socket. Opening only
 * schedules the start; from the loop the URL's host is resolved (evdns for
 * names, so nothing blocks), the socket connected through a bufferevent,
 * and for tls:// the AUTH_TLS probe sent in clear text and, on "STARTTLS",
 * the socket handed to a bufferevent_openssl for the TLS 1.3 handshake
 * (clnt_tls.c holds the OpenSSL side). Calls are encoded at once into an
 * evbuffer (rpx_xdrenc) and wait in the pending list until the connection
 * is up; stream records are framed by xdr/recmark, replies reassembled by
 * it with the reply limit checked before a body byte is kept, and matched
 * to calls by XID in any order. Every call has its own timer: the deadline,
 * and for UDP the resends of the same datagram at doubling intervals.
 *
 * A callback may close the connection it was called for, so every entry
 * from libevent holds the struct (depth) and the last one out frees it
 * after a close.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/queue.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/bufferevent_struct.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>
#include <openssl/err.h>

#include "clnt_internal.h"
#include "clnt_tls.h"
#include "recmark.h"
#include "rpcmsg.h"
#include "xdr_evbuf.h"
#include "rpx/async.h"

#define UDP_MSG_MAX 65507 /* largest UDP payload over IPv4 */
#define UDP_RECV_BUF 65536
#define UDP_BURST 64 /* datagrams read per wakeup before yielding to the loop */
#define RETRY_MAX_MS 5000

enum conn_state {
	ST_RESOLVING,
	ST_CONNECTING,
	ST_PROBING, /* tls: AUTH_TLS probe sent, waiting for STARTTLS */
	ST_HANDSHAKING, /* tls: TLS handshake running */
	ST_READY,
	ST_FAILED,
};

struct async_call {
	TAILQ_ENTRY(async_call) link;
	struct rpx_async *c;
	uint32_t xid;
	xdrproc_t xres;
	size_t res_size;
	rpx_async_cb cb;
	void *arg;
	struct event *timer; /* deadline; UDP: also the next resend */
	int64_t deadline; /* CLOCK_MONOTONIC ms */
	int timeout_ms;
	int interval_ms; /* UDP: wait before the next resend */
	unsigned transmissions;
	int early_err; /* a failure to report from the loop (not inside rpx_async_call) */
	struct evbuffer *msg; /* the encoded call; kept for UDP resends */
};

TAILQ_HEAD(call_list, async_call);

struct rpx_async {
	struct event_base *base;
	struct rpx_url url; /* tcp for tls:// */
	bool tls;
	char text[sizeof(((struct rpx_url *)0)->text)]; /* canonical URL, tls:// kept */
	int timeout_ms;
	int retry_ms;
	size_t max_reply;
	uint32_t probe_prog, probe_vers;
	enum conn_state state;
	int fail_code;
	char error[720];

	/* name lookup and connect */
	struct evdns_base *dns;
	struct evdns_getaddrinfo_request *dns_req;
	struct evutil_addrinfo *addrs; /* resolved list */
	struct evutil_addrinfo *next_addr; /* next one to try */
	int last_connect_err;
	struct event *start_ev;
	struct event *conn_timer; /* connect + probe + handshake deadline */

	/* streams */
	int fd; /* owned here until a bufferevent_openssl takes it */
	struct bufferevent *bev;
	struct rpx_recmark rm;
	SSL_CTX *ssl_ctx;
	SSL *ssl; /* owned by bev once the handshake starts */
	uint32_t probe_xid;
	bool tls_resumed; /* the handshake resumed a session (no certificates exchanged) */

	/* UDP */
	struct event *udp_ev;
	unsigned char *dgram;

	struct call_list calls; /* pending: queued (transmissions == 0) or sent */
	uint32_t next_xid;
	struct rpx_async_stats st;

	int depth; /* libevent callbacks and user callbacks running on this struct */
	bool closing;
	void **result_slot; /* the result of the callback running now, for _take */
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct timeval ms_tv(int64_t ms)
{
	struct timeval tv;

	if (ms < 0)
		ms = 0;
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	return tv;
}

static void destroy(struct rpx_async *c);

/* Every entry from libevent brackets its work with these. */
static void enter(struct rpx_async *c)
{
	c->depth++;
}

static void leave(struct rpx_async *c)
{
	if (--c->depth == 0 && c->closing)
		destroy(c);
}

/* True when the struct must not be worked on any more (closed or failed). */
static bool gone(const struct rpx_async *c)
{
	return c->closing || c->state == ST_FAILED;
}

static void call_free(struct async_call *call)
{
	if (call->timer != NULL)
		event_free(call->timer);
	if (call->msg != NULL)
		evbuffer_free(call->msg);
	free(call);
}

/* Removes the call, runs its callback once, frees what the callback left. */
static void call_complete(struct async_call *call, int err, const char *msg, void *res)
{
	struct rpx_async *c = call->c;
	void **saved = c->result_slot;

	TAILQ_REMOVE(&c->calls, call, link);
	c->st.pending--;
	event_del(call->timer);
	c->depth++;
	c->result_slot = &res;
	call->cb(c, err, msg != NULL ? msg : "", res, call->arg);
	c->result_slot = saved;
	c->depth--;
	if (res != NULL)
		rpx_async_result_free(call->xres, res);
	call_free(call);
}

/* Completes a call with an error whose text is "URL: " + fmt. */
static void call_fail(struct async_call *call, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void call_fail(struct async_call *call, int err, const char *fmt, ...)
{
	char why[400], msg[sizeof(why) + 320];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	snprintf(msg, sizeof(msg), "%s: %s", call->c->text, why);
	call_complete(call, err, msg, NULL);
}

static void release_transport(struct rpx_async *c)
{
	if (c->bev != NULL) {
		bufferevent_disable(c->bev, EV_READ | EV_WRITE);
		/*
		 * OpenSSL marks a session not resumable when its SSL goes without
		 * a close_notify sent; a connection closed while up, with no
		 * error, leaves its session (ticket) good for the next one.
		 */
		if (c->tls && c->state == ST_READY)
			SSL_set_shutdown(bufferevent_openssl_get_ssl(c->bev), SSL_SENT_SHUTDOWN);
		/* A bufferevent_openssl frees its SSL and closes its fd (c->ssl, c->fd are unset). */
		bufferevent_free(c->bev);
		c->bev = NULL;
	}
	if (c->ssl != NULL) {
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	if (c->udp_ev != NULL) {
		event_free(c->udp_ev);
		c->udp_ev = NULL;
	}
	if (c->fd >= 0) {
		close(c->fd);
		c->fd = -1;
	}
	if (c->conn_timer != NULL)
		event_del(c->conn_timer);
}

/*
 * The connection failed: keep the reason, drop the transport, and fail
 * every pending call with the same code and text.
 */
static void conn_fail(struct rpx_async *c, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void conn_fail(struct rpx_async *c, int code, const char *fmt, ...)
{
	char why[400];
	struct async_call *call;
	va_list ap;

	if (gone(c))
		return;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	snprintf(c->error, sizeof(c->error), "%s: %s", c->text, why);
	c->state = ST_FAILED;
	c->fail_code = code;
	release_transport(c);
	ERR_clear_error();
	while (!c->closing && (call = TAILQ_FIRST(&c->calls)) != NULL)
		call_complete(call, code, c->error, NULL);
}

/* ---- sending ------------------------------------------------------------ */

static void call_arm(struct async_call *call, int64_t in_ms)
{
	struct timeval tv = ms_tv(in_ms);

	event_add(call->timer, &tv);
}

/* UDP: one transmission of the call's datagram. */
static void udp_send(struct rpx_async *c, struct async_call *call)
{
	size_t len = evbuffer_get_length(call->msg);
	unsigned char *p = evbuffer_pullup(call->msg, -1);
	ssize_t n = send(c->fd, p, len, MSG_DONTWAIT);

	if (call->transmissions > 0)
		c->st.retransmissions++;
	call->transmissions++;
	c->st.transmissions++;
	/*
	 * A refusal (the ICMP error of an earlier datagram) on the first
	 * transmission means nothing listens: fail the call. Otherwise a lost
	 * send (full buffer) is what the resends are for.
	 */
	if (n < 0 && (errno == ECONNREFUSED || errno == EHOSTUNREACH || errno == ENETUNREACH) &&
	    call->transmissions == 1) {
		call->early_err = -errno;
		call_arm(call, 0);
	}
}

/*
 * A call that fits one TLS record (@msg is one chain), on a connection
 * with nothing queued, is encrypted and written at once: one write(2),
 * without the bufferevent arming its write event for it (two epoll_ctl).
 * 0, or -1 when it did not leave whole: the bufferevent then offers
 * OpenSSL the same bytes again, as a retried SSL_write must.
 */
static int tls_write_now(struct rpx_async *c, struct evbuffer *msg)
{
	SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
	size_t len = evbuffer_get_length(msg);
	int n;

	if (evbuffer_get_length(bufferevent_get_output(c->bev)) > 0 || ssl == NULL)
		return -1;
	n = SSL_write(ssl, evbuffer_pullup(msg, -1), (int)len);
	if (n != (int)len)
		return -1;
	evbuffer_drain(msg, len);
	return 0;
}

/* Sends a call on a connection that is up (stream: queues it on the bufferevent). */
static void call_send(struct rpx_async *c, struct async_call *call)
{
	int64_t left = call->deadline - now_ms();

	if (c->url.transport == RPX_TRANSPORT_UDP) {
		udp_send(c, call);
		if (call->early_err == 0)
			call_arm(call, call->interval_ms < left ? call->interval_ms : left);
		return;
	}
	call->transmissions++;
	c->st.transmissions++;
	if (c->tls && evbuffer_get_length(call->msg) <= RPX_TLS_RECORD_MAX - 4) {
		/*
		 * A bufferevent_openssl makes one TLS record (and one write) of
		 * each chain of its output: the record mark goes in front of the
		 * call in the same chain, so a call is one record, not two.
		 */
		unsigned char hdr[4];

		rpx_recmark_header(hdr, evbuffer_get_length(call->msg));
		if (evbuffer_prepend(call->msg, hdr, 4) < 0 ||
		    evbuffer_pullup(call->msg, -1) == NULL ||
		    (tls_write_now(c, call->msg) < 0 &&
		        evbuffer_add_buffer(bufferevent_get_output(c->bev), call->msg) < 0)) {
			call->early_err = -ENOMEM;
			call_arm(call, 0);
		}
	} else if (rpx_recmark_write(bufferevent_get_output(c->bev), call->msg) < 0) {
		call->early_err = -ENOMEM;
		call_arm(call, 0);
	}
	evbuffer_free(call->msg);
	call->msg = NULL;
}

/* The connection is up: send what queued. */
static void conn_ready(struct rpx_async *c)
{
	struct async_call *call;

	c->state = ST_READY;
	if (c->conn_timer != NULL)
		event_del(c->conn_timer);
	TAILQ_FOREACH(call, &c->calls, link) {
		if (call->transmissions == 0 && call->early_err == 0)
			call_send(c, call);
	}
}

/* ---- replies ------------------------------------------------------------ */

static struct async_call *find_sent(struct rpx_async *c, uint32_t xid)
{
	struct async_call *call;

	TAILQ_FOREACH(call, &c->calls, link) {
		if (call->xid == xid && call->transmissions > 0)
			return call;
	}
	return NULL;
}

/* One reply message (a record body, or a datagram). */
static void handle_reply(struct rpx_async *c, const unsigned char *msg, size_t len)
{
	uint32_t xid, direction, word3;
	char verf[MAX_AUTH_BYTES];
	struct async_call *call;
	struct rpc_msg m;
	void *res = NULL;
	bool ok;
	XDR x;

	if (rpx_rpcmsg_peek(msg, len, &xid, &direction, &word3) < 0 || direction != REPLY) {
		c->st.bad_messages++;
		return;
	}
	if ((call = find_sent(c, xid)) == NULL) {
		c->st.unknown_xid++;
		return;
	}
	c->st.replies++;
	if (call->res_size > 0 && (res = calloc(1, call->res_size)) == NULL) {
		call_fail(call, -ENOMEM, "out of memory decoding the reply");
		return;
	}
	memset(&m, 0, sizeof(m));
	m.acpted_rply.ar_verf.oa_base = verf;
	m.acpted_rply.ar_results.where = res;
	m.acpted_rply.ar_results.proc = call->xres;
	xdrmem_create(&x, (char *)msg, (u_int)len, XDR_DECODE);
	ok = xdr_replymsg(&x, &m);
	xdr_destroy(&x);
	if (!ok) {
		if (res != NULL)
			rpx_async_result_free(call->xres, res);
		call_fail(call, -EBADMSG, "cannot decode the reply");
		return;
	}
	if (m.rm_reply.rp_stat == MSG_DENIED) {
		free(res); /* nothing was decoded into it */
		if (m.rjcted_rply.rj_stat == RPC_MISMATCH)
			call_fail(call, -EPROTO,
			    "server: RPC version mismatch (server has %lu..%lu)",
			    (unsigned long)m.rjcted_rply.rj_vers.low,
			    (unsigned long)m.rjcted_rply.rj_vers.high);
		else
			call_fail(call, -EACCES, "server: authentication error: %s",
			    rpx_auth_why_(m.rjcted_rply.rj_why));
		return;
	}
	if (m.acpted_rply.ar_stat != SUCCESS)
		free(res);
	switch (m.acpted_rply.ar_stat) {
	case SUCCESS:
		call_complete(call, 0, "", res);
		break;
	case PROG_UNAVAIL:
		call_fail(call, -EPROTONOSUPPORT, "server: program unavailable");
		break;
	case PROG_MISMATCH:
		call_fail(call, -EPROTO, "server: version mismatch (server has %lu..%lu)",
		    (unsigned long)m.acpted_rply.ar_vers.low,
		    (unsigned long)m.acpted_rply.ar_vers.high);
		break;
	case PROC_UNAVAIL:
		call_fail(call, -EOPNOTSUPP, "server: procedure unavailable");
		break;
	case GARBAGE_ARGS:
		call_fail(call, -EINVAL, "server: garbage arguments");
		break;
	default:
		call_fail(call, -EIO, "server: system error");
		break;
	}
}

/* ---- streams: connect, probe, TLS --------------------------------------- */

static void stream_read_cb(struct bufferevent *bev, void *arg);
static void stream_event_cb(struct bufferevent *bev, short what, void *arg);
static void connect_next(struct rpx_async *c);

/* The probe's answer arrived: go to TLS on the same socket, or fail. */
static void start_tls(struct rpx_async *c, const unsigned char *msg, size_t len,
    struct evbuffer *rest)
{
	char why[300];
	int err;

	if ((err = rpx_tls_probe_check_(msg, len, c->probe_xid, why, sizeof(why))) < 0) {
		conn_fail(c, err, "server does not offer RPC-with-TLS (%s)", why);
		return;
	}
	/* RFC 9289 §4.1: the client speaks first in TLS; nothing may come before. */
	if (evbuffer_get_length(rest) > 0) {
		conn_fail(c, -EPROTO, "server sent data after STARTTLS before the TLS handshake");
		return;
	}
	/* The clear-text bufferevent goes; the fd stays and TLS takes it over. */
	bufferevent_disable(c->bev, EV_READ | EV_WRITE);
	bufferevent_free(c->bev);
	c->bev = NULL;
	if (c->ssl == NULL) {
		conn_fail(c, -ENOMEM, "no TLS session");
		return;
	}
	/* A record in one read(2), not two (header, then body): see tls_kick(). */
	SSL_set_read_ahead(c->ssl, 1);
	c->bev = bufferevent_openssl_socket_new(c->base, c->fd, c->ssl, BUFFEREVENT_SSL_CONNECTING,
	    BEV_OPT_CLOSE_ON_FREE);
	/* From here the bufferevent owns (and on failure has freed) the SSL and fd. */
	c->ssl = NULL;
	c->fd = -1;
	if (c->bev == NULL) {
		conn_fail(c, -ENOMEM, "cannot start TLS: out of memory");
		return;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
	bufferevent_setcb(c->bev, stream_read_cb, NULL, stream_event_cb, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	c->state = ST_HANDSHAKING;
}

/*
 * With read-ahead OpenSSL may hold records the socket will not announce
 * again: a bufferevent_openssl decrypts one or two per read event, and
 * stops when the handshake ends. Their read event is run for them.
 */
static void tls_kick(struct rpx_async *c)
{
	if (c->tls && c->bev != NULL && c->state != ST_PROBING &&
	    (bufferevent_get_enabled(c->bev) & EV_READ) &&
	    SSL_has_pending(bufferevent_openssl_get_ssl(c->bev)))
		event_active(&c->bev->ev_read, EV_READ, 1);
}

static void stream_read_cb(struct bufferevent *bev, void *arg)
{
	struct rpx_async *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	enter(c);
	/*
	 * Take every whole record there is: a bufferevent_openssl has already
	 * moved all the TLS records OpenSSL decrypted into this buffer, and
	 * will not call again for them.
	 */
	while (!gone(c)) {
		int r = rpx_recmark_read(&c->rm, in);
		unsigned char *msg;
		size_t len;

		if (r == RPX_AGAIN)
			break;
		if (r == -EMSGSIZE) {
			conn_fail(c, -EMSGSIZE, "reply larger than %zu bytes", c->max_reply);
			break;
		}
		if (r < 0) {
			conn_fail(c, -EBADMSG, "bad record marking from server");
			break;
		}
		len = evbuffer_get_length(c->rm.record);
		msg = evbuffer_pullup(c->rm.record, -1);
		if (c->state == ST_PROBING) {
			start_tls(c, msg, len, in);
			rpx_recmark_next(&c->rm);
			break; /* in belonged to the clear-text bufferevent */
		}
		if (c->state == ST_READY)
			handle_reply(c, msg, len);
		else
			c->st.bad_messages++;
		if (c->closing)
			break;
		rpx_recmark_next(&c->rm);
	}
	if (!gone(c))
		tls_kick(c);
	leave(c);
}

static void stream_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct rpx_async *c = arg;
	int sys_err = EVUTIL_SOCKET_ERROR();
	char why[300];

	enter(c);
	if (gone(c))
		goto out;
	if (what & BEV_EVENT_CONNECTED) {
		if (c->state == ST_CONNECTING && c->tls) {
			c->probe_xid = c->next_xid++;
			if (rpx_tls_probe_write_(bufferevent_get_output(bev), c->probe_xid,
			        c->probe_prog, c->probe_vers) < 0) {
				conn_fail(c, -ENOMEM,
				    "cannot send the RPC-with-TLS probe: out of memory");
				goto out;
			}
			c->state = ST_PROBING;
		} else if (c->state == ST_CONNECTING) {
			conn_ready(c);
		} else if (c->state == ST_HANDSHAKING) {
			SSL *ssl = bufferevent_openssl_get_ssl(bev);
			int err;

			if ((err = rpx_tls_check_peer_(ssl, why, sizeof(why))) < 0) {
				conn_fail(c, err, "%s", why);
			} else {
				c->tls_resumed = SSL_session_reused(ssl) == 1;
				conn_ready(c);
				if (!gone(c))
					tls_kick(c);
			}
		}
		goto out;
	}
	if (c->state == ST_CONNECTING) {
		/* This address failed: try the next one the name resolved to. */
		c->last_connect_err = sys_err != 0 ? sys_err : ECONNREFUSED;
		bufferevent_free(c->bev);
		c->bev = NULL;
		close(c->fd);
		c->fd = -1;
		connect_next(c);
		goto out;
	}
	if (c->state == ST_HANDSHAKING) {
		unsigned long first = rpx_tls_first_error_(bev);

		rpx_tls_describe_failure_(bufferevent_openssl_get_ssl(bev), first,
		    (what & BEV_EVENT_ERROR) ? sys_err : 0, why, sizeof(why));
		conn_fail(c, -EPROTO, "%s", why);
		goto out;
	}
	if (c->state == ST_PROBING && (what & BEV_EVENT_EOF)) {
		conn_fail(c, -EPROTONOSUPPORT,
		    "server does not offer RPC-with-TLS (it closed the connection on the probe)");
		goto out;
	}
	if (c->state == ST_READY && c->tls) {
		/*
		 * TLS 1.3: the server checks a client certificate after the
		 * client's handshake is done, so its refusal comes as an alert.
		 */
		unsigned long first = rpx_tls_first_error_(bev);

		if (first != 0) {
			const char *r = ERR_reason_error_string(first);

			/* A refused certificate: the session ran no call; -EACCES. */
			if (rpx_tls_cert_refused_(first))
				conn_fail(c, -EACCES,
				    "TLS: the server refused the client certificate (%s)",
				    r != NULL ? r : "alert");
			else
				conn_fail(c, -EPROTO, "TLS: %s", r != NULL ? r : "protocol error");
			goto out;
		}
	}
	if ((what & BEV_EVENT_EOF) || sys_err == 0) {
		conn_fail(c, -ECONNRESET, "connection closed by server");
	} else {
		rpx_strerror_(sys_err, why, sizeof(why));
		conn_fail(c, -sys_err, "%s", why);
	}
out:
	leave(c);
}

/* Connects to the next resolved address, or fails with the last error. */
static void connect_next(struct rpx_async *c)
{
	char why[200];

	while (c->next_addr != NULL) {
		struct evutil_addrinfo *ai = c->next_addr;
		int err;

		c->next_addr = ai->ai_next;
		c->fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (c->fd < 0) {
			c->last_connect_err = errno;
			continue;
		}
		if (ai->ai_family != AF_UNIX) {
			int one = 1;

			/* Calls are small request/reply records: do not wait for Nagle. */
			setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		}
		/* No BEV_OPT_CLOSE_ON_FREE: for TLS the fd outlives this bufferevent. */
		if ((c->bev = bufferevent_socket_new(c->base, c->fd, 0)) == NULL) {
			conn_fail(c, -ENOMEM, "out of memory");
			return;
		}
		bufferevent_setcb(c->bev, stream_read_cb, NULL, stream_event_cb, c);
		bufferevent_enable(c->bev, EV_READ | EV_WRITE);
		if (bufferevent_socket_connect(c->bev, ai->ai_addr, (int)ai->ai_addrlen) == 0)
			return; /* wait for BEV_EVENT_CONNECTED or an error */
		err = errno;
		c->last_connect_err = err != 0 ? err : ECONNREFUSED;
		/* A full Unix listen backlog says EAGAIN: nobody is taking connections. */
		if (c->last_connect_err == EAGAIN)
			c->last_connect_err = ECONNREFUSED;
		bufferevent_free(c->bev);
		c->bev = NULL;
		close(c->fd);
		c->fd = -1;
	}
	rpx_strerror_(c->last_connect_err != 0 ? c->last_connect_err : EADDRNOTAVAIL, why,
	    sizeof(why));
	conn_fail(c, -(c->last_connect_err != 0 ? c->last_connect_err : EADDRNOTAVAIL), "%s", why);
}

/* ---- UDP ---------------------------------------------------------------- */

/* ICMP said nobody listens: fail the calls sent once, keep resending the others. */
static void udp_refused(struct rpx_async *c, int err)
{
	struct async_call *call, *next;
	char why[100];

	rpx_strerror_(err, why, sizeof(why));
	for (call = TAILQ_FIRST(&c->calls); call != NULL && !c->closing; call = next) {
		next = TAILQ_NEXT(call, link);
		if (call->transmissions == 1 && call->early_err == 0) {
			call->early_err = -err;
			call_arm(call, 0);
		}
	}
}

static void udp_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rpx_async *c = arg;
	int i;

	enter(c);
	for (i = 0; i < UDP_BURST && !gone(c); i++) {
		ssize_t n = recv(fd, c->dgram, UDP_RECV_BUF, MSG_DONTWAIT | MSG_TRUNC);

		if (n < 0) {
			if (errno == ECONNREFUSED || errno == EHOSTUNREACH || errno == ENETUNREACH)
				udp_refused(c, errno);
			if (errno == EINTR || errno == ECONNREFUSED || errno == EHOSTUNREACH ||
			    errno == ENETUNREACH)
				continue;
			break; /* EAGAIN, or an error the next datagram may not have */
		}
		if ((size_t)n > UDP_RECV_BUF) {
			c->st.bad_messages++; /* truncated: cannot be a whole reply */
			continue;
		}
		handle_reply(c, c->dgram, (size_t)n);
	}
	leave(c);
}

static void udp_connect(struct rpx_async *c)
{
	struct evutil_addrinfo *ai;
	char why[200];
	int err = EADDRNOTAVAIL;

	for (ai = c->addrs; ai != NULL; ai = ai->ai_next) {
		int s = socket(ai->ai_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

		if (s < 0) {
			err = errno;
			continue;
		}
		/* connect(): only this peer's datagrams, and its ICMP errors, come back. */
		if (connect(s, ai->ai_addr, ai->ai_addrlen) < 0) {
			err = errno;
			close(s);
			continue;
		}
		c->fd = s;
		break;
	}
	if (c->fd < 0) {
		rpx_strerror_(err, why, sizeof(why));
		conn_fail(c, -err, "%s", why);
		return;
	}
	c->udp_ev = event_new(c->base, c->fd, EV_READ | EV_PERSIST, udp_read_cb, c);
	if (c->udp_ev == NULL || event_add(c->udp_ev, NULL) < 0) {
		conn_fail(c, -ENOMEM, "out of memory");
		return;
	}
	conn_ready(c);
}

/* ---- start: resolve, then connect --------------------------------------- */

static void resolved(struct rpx_async *c)
{
	c->next_addr = c->addrs;
	c->state = ST_CONNECTING;
	if (c->url.transport == RPX_TRANSPORT_UDP)
		udp_connect(c);
	else
		connect_next(c);
}

static void dns_cb(int result, struct evutil_addrinfo *res, void *arg)
{
	struct rpx_async *c = arg;

	if (result == EVUTIL_EAI_CANCEL)
		return; /* closing: c is being freed */
	enter(c);
	c->dns_req = NULL;
	if (result != 0) {
		if (res != NULL)
			evutil_freeaddrinfo(res);
		conn_fail(c, -ENOENT, "cannot resolve %s: %s", c->url.host,
		    evutil_gai_strerror(result));
	} else if (!gone(c)) {
		c->addrs = res;
		resolved(c);
	} else {
		evutil_freeaddrinfo(res);
	}
	leave(c);
}

static void start_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rpx_async *c = arg;
	struct evutil_addrinfo hints, *res = NULL;

	enter(c);
	if (gone(c))
		goto out;
	if (c->url.transport == RPX_TRANSPORT_UNIX) {
		struct sockaddr_un *sun = calloc(1, sizeof(*sun));
		struct evutil_addrinfo *one = calloc(1, sizeof(*one));

		if (sun == NULL || one == NULL) {
			free(sun);
			free(one);
			conn_fail(c, -ENOMEM, "out of memory");
			goto out;
		}
		sun->sun_family = AF_UNIX;
		strcpy(sun->sun_path, c->url.path);
		one->ai_family = AF_UNIX;
		one->ai_socktype = SOCK_STREAM;
		one->ai_addr = (struct sockaddr *)sun;
		one->ai_addrlen = sizeof(*sun);
		/* Freed by free_addrs(), not evutil_freeaddrinfo(). */
		c->addrs = one;
		resolved(c);
		goto out;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = c->url.transport == RPX_TRANSPORT_UDP ? SOCK_DGRAM : SOCK_STREAM;
	hints.ai_protocol = c->url.transport == RPX_TRANSPORT_UDP ? IPPROTO_UDP : IPPROTO_TCP;
	hints.ai_flags = EVUTIL_AI_NUMERICHOST | EVUTIL_AI_NUMERICSERV;
	if (evutil_getaddrinfo(c->url.host, c->url.port, &hints, &res) == 0) {
		c->addrs = res;
		resolved(c);
		goto out;
	}
	/* A name: ask the DNS without blocking the loop (evdns reads /etc/hosts too). */
	hints.ai_flags = EVUTIL_AI_NUMERICSERV | EVUTIL_AI_ADDRCONFIG;
	c->dns = evdns_base_new(c->base,
	    EVDNS_BASE_INITIALIZE_NAMESERVERS | EVDNS_BASE_DISABLE_WHEN_INACTIVE);
	if (c->dns == NULL) {
		conn_fail(c, -ENOENT, "cannot resolve %s: no DNS configuration", c->url.host);
		goto out;
	}
	c->state = ST_RESOLVING;
	/* May answer at once (calling dns_cb) and return NULL. */
	c->dns_req = evdns_getaddrinfo(c->dns, c->url.host, c->url.port, &hints, dns_cb, c);
out:
	leave(c);
}

static void conn_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rpx_async *c = arg;

	enter(c);
	switch (c->state) {
	case ST_RESOLVING:
		conn_fail(c, -ETIMEDOUT, "cannot resolve %s within %d ms", c->url.host,
		    c->timeout_ms);
		break;
	case ST_CONNECTING:
		conn_fail(c, -ETIMEDOUT, "connect timed out after %d ms", c->timeout_ms);
		break;
	case ST_PROBING:
		conn_fail(c, -ETIMEDOUT, "no answer to the RPC-with-TLS probe within %d ms",
		    c->timeout_ms);
		break;
	case ST_HANDSHAKING:
		conn_fail(c, -ETIMEDOUT, "TLS handshake timed out after %d ms", c->timeout_ms);
		break;
	default:
		break;
	}
	leave(c);
}

/* ---- per-call timer: deadline and UDP resends ---------------------------- */

static void call_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct async_call *call = arg;
	struct rpx_async *c = call->c;
	int64_t now = now_ms();
	char why[100];

	enter(c);
	if (call->early_err != 0) {
		rpx_strerror_(call->early_err, why, sizeof(why));
		call_fail(call, call->early_err, "%s", why);
		goto out;
	}
	if (now >= call->deadline) {
		c->st.timeouts++;
		if (call->transmissions == 0)
			call_fail(call, -ETIMEDOUT, "call timed out after %d ms (%s)",
			    call->timeout_ms,
			    c->state == ST_HANDSHAKING || c->state == ST_PROBING
			        ? "TLS setup not finished"
			        : "not connected yet");
		else if (c->url.transport == RPX_TRANSPORT_UDP)
			call_fail(call, -ETIMEDOUT, "call timed out after %d ms (sent %u times)",
			    call->timeout_ms, call->transmissions);
		else
			call_fail(call, -ETIMEDOUT, "call timed out after %d ms", call->timeout_ms);
		goto out;
	}
	/* UDP: resend the same datagram, same XID, and wait twice as long. */
	if (c->url.transport == RPX_TRANSPORT_UDP && c->state == ST_READY &&
	    call->transmissions > 0) {
		int64_t left;

		udp_send(c, call);
		if (call->early_err != 0)
			goto out;
		call->interval_ms =
		    call->interval_ms >= RETRY_MAX_MS / 2 ? RETRY_MAX_MS : call->interval_ms * 2;
		left = call->deadline - now;
		call_arm(call, call->interval_ms < left ? call->interval_ms : left);
		goto out;
	}
	call_arm(call, call->deadline - now);
out:
	leave(c);
}

/* ---- public API ---------------------------------------------------------- */

static int check_opts(const struct rpx_async_opts *o, char *why, size_t whylen)
{
	if (o == NULL)
		return 0;
	return rpx_opts_check_(o->timeout_ms, o->retry_ms, o->flags & ~RPX_ASYNC_TLS_NO_RESUME,
	    o->reserved, sizeof(o->reserved) / sizeof(o->reserved[0]), why, whylen);
}

static uint32_t random_xid(void)
{
	uint32_t x = 0;
	struct timespec ts;

	if (getrandom(&x, sizeof(x), GRND_NONBLOCK) != (ssize_t)sizeof(x)) {
		clock_gettime(CLOCK_REALTIME, &ts);
		x = (uint32_t)ts.tv_nsec ^ (uint32_t)ts.tv_sec ^ ((uint32_t)getpid() << 16);
	}
	return x;
}

struct rpx_async *rpx_async_open(struct event_base *base, const char *url,
    const struct rpx_async_opts *opts, char *err, size_t errlen)
{
	char tcpurl[sizeof(((struct rpx_url *)0)->text) + 8];
	char why[400] = "";
	struct rpx_async *c;
	struct timeval tv;

	if (errlen > 0)
		err[0] = '\0';
	if (base == NULL || url == NULL) {
		if (errlen > 0)
			snprintf(err, errlen, "rpx_async_open: no event base or URL");
		return NULL;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		if (errlen > 0)
			snprintf(err, errlen, "%s: out of memory", url);
		return NULL;
	}
	c->base = base;
	c->fd = -1;
	TAILQ_INIT(&c->calls);
	if (strncmp(url, "tls://", 6) == 0) {
		c->tls = true;
		snprintf(tcpurl, sizeof(tcpurl), "tcp://%s", url + 6);
		if (rpx_url_parse_(tcpurl, &c->url, why, sizeof(why)) < 0) {
			if (errlen > 0)
				snprintf(err, errlen, "bad URL \"%s\"%s", url,
				    strchr(why, ':') != NULL ? strrchr(why, ':') : "");
			free(c);
			return NULL;
		}
		snprintf(c->text, sizeof(c->text), "tls://%s", c->url.text + 6);
	} else {
		if (rpx_url_parse_(url, &c->url, err, errlen) < 0) {
			free(c);
			return NULL;
		}
		snprintf(c->text, sizeof(c->text), "%s", c->url.text);
	}
	if (check_opts(opts, why, sizeof(why)) < 0)
		goto fail;
	c->timeout_ms =
	    opts != NULL && opts->timeout_ms > 0 ? opts->timeout_ms : RPX_ASYNC_TIMEOUT_MS;
	c->retry_ms = opts != NULL && opts->retry_ms > 0 ? opts->retry_ms : RPX_ASYNC_RETRY_MS;
	c->max_reply = opts != NULL && opts->max_reply > 0 ? opts->max_reply : RPX_ASYNC_MAX_REPLY;
	c->probe_prog =
	    opts != NULL && opts->tls_probe_prog != 0 ? opts->tls_probe_prog : RPX_DATE_PROG;
	c->probe_vers =
	    opts != NULL && opts->tls_probe_prog != 0 ? opts->tls_probe_vers : RPX_DATE_VERS;
	c->next_xid = random_xid();
	if (c->tls) {
		const char *name = opts != NULL && opts->tls_server_name != NULL
		                       ? opts->tls_server_name
		                       : c->url.host;

		if ((c->ssl_ctx = rpx_tls_ctx_new_(opts, why, sizeof(why))) == NULL)
			goto fail;
		if ((c->ssl = rpx_tls_ssl_new_(c->ssl_ctx, c->url.host, c->url.port, name,
		         opts == NULL || !(opts->flags & RPX_ASYNC_TLS_NO_RESUME), why,
		         sizeof(why))) == NULL)
			goto fail;
	}
	if (c->url.transport == RPX_TRANSPORT_UDP) {
		if ((c->dgram = malloc(UDP_RECV_BUF)) == NULL)
			goto fail_nomem;
	} else if (rpx_recmark_init(&c->rm, c->max_reply) < 0) {
		goto fail_nomem;
	}
	c->start_ev = evtimer_new(base, start_cb, c);
	c->conn_timer = evtimer_new(base, conn_timer_cb, c);
	if (c->start_ev == NULL || c->conn_timer == NULL)
		goto fail_nomem;
	c->state = ST_CONNECTING;
	tv = ms_tv(0);
	evtimer_add(c->start_ev, &tv);
	tv = ms_tv(c->timeout_ms);
	evtimer_add(c->conn_timer, &tv);
	return c;
fail_nomem:
	snprintf(why, sizeof(why), "out of memory");
fail:
	if (errlen > 0)
		snprintf(err, errlen, "%s: %s", c->text, why);
	destroy(c);
	return NULL;
}

int rpx_async_call(struct rpx_async *c, uint32_t prog, uint32_t vers, uint32_t proc,
    xdrproc_t xargs, const void *args, xdrproc_t xres, size_t res_size, int timeout_ms,
    rpx_async_cb cb, void *arg)
{
	struct async_call *call;
	struct rpx_xdrenc enc;
	bool ok;

	if (c == NULL || cb == NULL || timeout_ms < 0 || (res_size > 0 && xres == NULL))
		return -EINVAL;
	if (c->closing)
		return -ECANCELED;
	if (c->state == ST_FAILED)
		return c->fail_code;
	if (xargs == NULL)
		xargs = (xdrproc_t)xdr_void;
	if (xres == NULL)
		xres = (xdrproc_t)xdr_void;
	if ((call = calloc(1, sizeof(*call))) == NULL)
		return -ENOMEM;
	call->c = c;
	call->xres = xres;
	call->res_size = res_size;
	call->cb = cb;
	call->arg = arg;
	call->timeout_ms = timeout_ms > 0 ? timeout_ms : c->timeout_ms;
	call->deadline = now_ms() + call->timeout_ms;
	call->interval_ms = c->retry_ms < call->timeout_ms ? c->retry_ms : call->timeout_ms;
	call->xid = c->next_xid++;
	call->timer = evtimer_new(c->base, call_timer_cb, call);
	call->msg = evbuffer_new();
	if (call->timer == NULL || call->msg == NULL) {
		call_free(call);
		return -ENOMEM;
	}
	rpx_xdrenc_create(&enc, call->msg);
	ok = rpx_rpcmsg_encode_call(&enc.xdr, call->xid, prog, vers, proc, AUTH_NONE) == 0 &&
	     (*xargs)(&enc.xdr, (void *)args);
	rpx_xdrenc_finish(&enc);
	if (!ok) {
		call_free(call);
		return -EINVAL;
	}
	if (c->url.transport == RPX_TRANSPORT_UDP && evbuffer_get_length(call->msg) > UDP_MSG_MAX) {
		call_free(call);
		return -EMSGSIZE;
	}
	TAILQ_INSERT_TAIL(&c->calls, call, link);
	c->st.calls++;
	c->st.pending++;
	call_arm(call, call->timeout_ms);
	if (c->state == ST_READY)
		call_send(c, call); /* UDP: re-armed for the first resend */
	return 0;
}

void *rpx_async_result_take(struct rpx_async *c)
{
	void *res;

	if (c == NULL || c->result_slot == NULL)
		return NULL;
	res = *c->result_slot;
	*c->result_slot = NULL;
	return res;
}

void rpx_async_result_free(xdrproc_t xres, void *res)
{
	if (res == NULL)
		return;
	if (xres != NULL)
		xdr_free(xres, (char *)res);
	free(res);
}

static void free_addrs(struct rpx_async *c)
{
	if (c->addrs == NULL)
		return;
	if (c->url.transport == RPX_TRANSPORT_UNIX) {
		free(c->addrs->ai_addr);
		free(c->addrs);
	} else {
		evutil_freeaddrinfo(c->addrs);
	}
	c->addrs = NULL;
}

/* Frees everything; pending calls must be gone. Accepts a half-built struct. */
static void destroy(struct rpx_async *c)
{
	struct async_call *call;

	while ((call = TAILQ_FIRST(&c->calls)) != NULL) {
		TAILQ_REMOVE(&c->calls, call, link);
		call_free(call);
	}
	release_transport(c);
	if (c->dns_req != NULL)
		evdns_getaddrinfo_cancel(c->dns_req);
	if (c->dns != NULL)
		evdns_base_free(c->dns, 1);
	free_addrs(c);
	if (c->start_ev != NULL)
		event_free(c->start_ev);
	if (c->conn_timer != NULL)
		event_free(c->conn_timer);
	if (c->ssl_ctx != NULL)
		SSL_CTX_free(c->ssl_ctx);
	rpx_recmark_release(&c->rm);
	free(c->dgram);
	free(c);
}

void rpx_async_close(struct rpx_async *c)
{
	struct async_call *call;
	char msg[sizeof(c->text) + 40];

	if (c == NULL || c->closing)
		return;
	c->depth++;
	snprintf(msg, sizeof(msg), "%s: cancelled (connection closed)", c->text);
	/* Callbacks first: they may still look at the connection (and not call). */
	c->closing = true;
	while ((call = TAILQ_FIRST(&c->calls)) != NULL)
		call_complete(call, -ECANCELED, msg, NULL);
	release_transport(c);
	leave(c);
}

const char *rpx_async_url(const struct rpx_async *c)
{
	return c->text;
}

const char *rpx_async_error(const struct rpx_async *c)
{
	return c->error;
}

int rpx_async_state(const struct rpx_async *c)
{
	if (c->state == ST_FAILED)
		return c->fail_code < 0 ? c->fail_code : -EIO;
	return c->state == ST_READY ? 1 : 0;
}

int rpx_async_tls_resumed(const struct rpx_async *c)
{
	return c->tls_resumed ? 1 : 0;
}

void rpx_async_stats(const struct rpx_async *c, struct rpx_async_stats *st)
{
	*st = c->st;
}
