/*
 * conn.c: a stream client of rpxd, TCP or Unix socket, from accept to
 * close. Bytes come in through a bufferevent; record marking cuts them into
 * calls; the dispatcher answers them, possibly later and out of order.
 *
 * Back-pressure: when the client has --max-inflight calls outstanding, or
 * more than --max-output reply bytes it has not read, the connection stops
 * reading; the kernel's socket buffer then fills and the client blocks.
 * Nothing is buffered without bound. Timers: a record that was started must
 * be finished within --record-timeout; a connection with no call in flight
 * is closed after --idle-timeout.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/bufferevent_struct.h>
#include <openssl/err.h>

#include "log.h"
#include "recmark.h"
#include "server.h"
#include "tls.h"

struct rpx_conn {
	struct rpx_xprt xprt; /* first: the dispatcher's view */
	TAILQ_ENTRY(rpx_conn) link;
	struct rpx_server *srv;
	struct bufferevent *bev;
	struct rpx_recmark rm;
	struct event *timer; /* idle and record deadlines */
	struct event *resume; /* restarts reading after back-pressure */
	int64_t last_activity; /* ms, event-loop clock */
	int64_t record_start; /* ms when the partial record began, 0 if none */
	bool paused;
	bool upgrade_pending; /* STARTTLS answered: the next bytes are a TLS handshake */
	SSL *ssl; /* the TLS session, once started (owned by the bufferevent) */
	struct rpx_tls_peer tls_peer;
	bool is_tcp;
	bool in_process; /* replies go to batch, written once when the pass ends */
	struct evbuffer *batch;
	bool closing; /* a protocol error: flushing what is due, then closing */
	bool tls_failed; /* closed on an error: the TLS session must not be resumed */
	bool linger; /* after the flush, half-close and read until the peer closes */
	size_t lingered; /* bytes read and dropped while lingering */
	const char *close_why;
	char name[128]; /* "tcp 127.0.0.1:40000", for logs */
};

/* Milliseconds on the loop's cached clock: timers need better than seconds. */
static int64_t now_ms(struct rpx_conn *conn)
{
	struct timeval tv;

	event_base_gettimeofday_cached(conn->srv->base, &tv);
	return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static void arm_timer(struct rpx_conn *conn, int64_t ms)
{
	struct timeval tv;

	if (ms <= 0)
		ms = 1;
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	evtimer_add(conn->timer, &tv);
}

static void pause_reading(struct rpx_conn *conn)
{
	if (!conn->paused) {
		conn->paused = true;
		bufferevent_disable(conn->bev, EV_READ);
	}
}

#define FLUSH_BEFORE_CLOSE_MS 1000

/*
 * The peer broke the protocol: read nothing more, but let replies already
 * due leave (within a bound) before closing.
 */
#define LINGER_MS 1000
#define LINGER_BYTES (64 * 1024)

static void linger_read_cb(struct bufferevent *bev, void *arg)
{
	struct rpx_conn *conn = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	conn->lingered += evbuffer_get_length(in);
	evbuffer_drain(in, evbuffer_get_length(in));
	if (conn->lingered > LINGER_BYTES)
		rpx_conn_close(conn, conn->close_why);
}

static void linger_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct rpx_conn *conn = arg;

	rpx_conn_close(conn, conn->close_why);
}

/*
 * Closing a socket with unread bytes makes the kernel send a reset, and a
 * reset makes the peer's kernel drop what it has not read yet: the TLS
 * alert that says why its handshake was refused. So after a refused
 * handshake the alert is sent, the socket half-closed, and whatever the
 * client sent meanwhile (its first calls, TLS 1.3 sends them with its
 * Finished) read and dropped until it closes, for at most a second and
 * 64 KiB. The connection still counts against --max-connections.
 */
static void conn_linger(struct rpx_conn *conn)
{
	struct bufferevent *under = bufferevent_get_underlying(conn->bev), *plain = NULL;
	int fd = dup(bufferevent_getfd(under != NULL ? under : conn->bev));

	if (fd < 0 || shutdown(fd, SHUT_WR) < 0 ||
	    (plain = bufferevent_socket_new(conn->srv->base, fd, BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		if (fd >= 0)
			close(fd);
		rpx_conn_close(conn, conn->close_why);
		return;
	}
	bufferevent_free(conn->bev); /* the session, its fd (the socket stays: fd) */
	conn->bev = plain;
	conn->ssl = NULL;
	conn->linger = false;
	bufferevent_setcb(plain, linger_read_cb, NULL, linger_event_cb, conn);
	bufferevent_enable(plain, EV_READ);
	arm_timer(conn, LINGER_MS); /* closing: the timer closes */
}

/* What was due has left: close, or linger first (conn_linger). */
static void conn_flushed(struct rpx_conn *conn)
{
	if (conn->linger)
		conn_linger(conn);
	else
		rpx_conn_close(conn, conn->close_why);
}

static void under_flushed_cb(struct bufferevent *bev, void *arg)
{
	conn_flushed(arg);
}

static void under_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct rpx_conn *conn = arg;

	rpx_conn_close(conn, conn->close_why);
}

/*
 * One step of closing with a flush: once the connection's output is empty,
 * and under TLS the socket's too (a TLS alert, a STARTTLS reply), close.
 */
static void conn_flush_step(struct rpx_conn *conn)
{
	struct bufferevent *under;

	if (evbuffer_get_length(bufferevent_get_output(conn->bev)) > 0)
		return; /* conn_write_cb calls again */
	if (conn->ssl != NULL && (under = bufferevent_get_underlying(conn->bev)) != NULL &&
	    evbuffer_get_length(bufferevent_get_output(under)) > 0) {
		/* The TLS layer is done with; the socket only has to drain. */
		bufferevent_setcb(under, NULL, under_flushed_cb, under_event_cb, conn);
		bufferevent_setwatermark(under, EV_WRITE, 0, 0);
		bufferevent_enable(under, EV_WRITE);
		return;
	}
	conn_flushed(conn);
}

/*
 * The peer broke the protocol (or the TLS handshake failed): read nothing
 * more, but let what is due leave, within a bound, before closing.
 */
static void conn_fail(struct rpx_conn *conn, const char *why)
{
	conn->tls_failed = true;
	evbuffer_add_buffer(bufferevent_get_output(conn->bev), conn->batch);
	conn->closing = true;
	conn->close_why = why;
	bufferevent_disable(conn->bev, EV_READ);
	bufferevent_setwatermark(conn->bev, EV_WRITE, 0, 0);
	arm_timer(conn, FLUSH_BEFORE_CLOSE_MS);
	conn_flush_step(conn);
}

static void conn_read_cb(struct bufferevent *bev, void *arg);
static int conn_tls_established(struct rpx_conn *conn);
static void conn_write_cb(struct bufferevent *bev, void *arg);
static void conn_event_cb(struct bufferevent *bev, short what, void *arg);

/*
 * RFC 9289 §4.1: after the STARTTLS reply, the same connection carries a
 * TLS handshake. Usually the reply is all there is to send and the client
 * waits for it before its ClientHello: the reply is written at once, the
 * socket's bufferevent goes (the fd stays) and OpenSSL reads and writes the
 * socket itself, each record with one system call (read-ahead). Otherwise
 * (the reply did not leave whole, or the client sent more already) a TLS
 * filter over the socket's bufferevent takes what is buffered; anything
 * there but a ClientHello fails the handshake.
 */
static struct bufferevent *conn_tls_bev(struct rpx_conn *conn, SSL *ssl)
{
	struct bufferevent *sock = conn->bev;
	int fd = bufferevent_getfd(sock);
	struct bufferevent *tls_bev;

	if (evbuffer_get_length(bufferevent_get_input(sock)) == 0 &&
	    evbuffer_get_length(bufferevent_get_output(sock)) == 0) {
		evbuffer_write(conn->batch, fd);
		if (evbuffer_get_length(conn->batch) == 0) {
			SSL_set_read_ahead(ssl, 1);
			tls_bev = bufferevent_openssl_socket_new(conn->srv->base, fd, ssl,
			    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
			if (tls_bev != NULL) {
				/* The fd is the TLS bufferevent's now. */
				bufferevent_setfd(sock, -1);
				bufferevent_free(sock);
			}
			return tls_bev;
		}
	}
	/* The STARTTLS reply leaves in clear text, before anything of TLS. */
	evbuffer_add_buffer(bufferevent_get_output(sock), conn->batch);
	return bufferevent_openssl_filter_new(conn->srv->base, sock, ssl, BUFFEREVENT_SSL_ACCEPTING,
	    BEV_OPT_CLOSE_ON_FREE);
}

static void conn_start_tls(struct rpx_conn *conn)
{
	struct bufferevent *tls_bev;
	SSL *ssl;

	conn->upgrade_pending = false;
	conn->xprt.tls_offered = false;
	conn->in_process = false;
	if ((ssl = rpx_tls_ssl_new(conn->srv->tls)) == NULL) {
		conn_fail(conn, "TLS: out of memory");
		return;
	}
	if ((tls_bev = conn_tls_bev(conn, ssl)) == NULL) {
		SSL_free(ssl);
		conn_fail(conn, "TLS: out of memory");
		return;
	}
	/*
	 * Record marking delimits every message, so a peer that closes without
	 * a close_notify truncates nothing unnoticed: that is an end of
	 * connection (EOF), not an error.
	 */
	bufferevent_openssl_set_allow_dirty_shutdown(tls_bev, 1);
	conn->bev = tls_bev;
	conn->ssl = ssl;
	rpx_tls_attach(ssl, &conn->tls_peer);
	/* The handshake is a record like any other: it must finish in time. */
	conn->record_start = now_ms(conn);
	arm_timer(conn, (int64_t)conn->srv->limits.record_timeout * 1000);
	bufferevent_setcb(tls_bev, conn_read_cb, conn_write_cb, conn_event_cb, conn);
	bufferevent_setwatermark(tls_bev, EV_WRITE, conn->srv->limits.max_output / 2, 0);
	bufferevent_enable(tls_bev, EV_READ | EV_WRITE);
}

/*
 * OpenSSL on the socket may hold records it read ahead: a
 * bufferevent_openssl takes one or two records per read event, and stops
 * early when reading is turned off or the handshake ends; the socket will
 * not say so again, so the read event is run for them.
 */
static void conn_tls_kick(struct rpx_conn *conn)
{
	if (conn->ssl != NULL && bufferevent_get_underlying(conn->bev) == NULL &&
	    (bufferevent_get_enabled(conn->bev) & EV_READ) && SSL_has_pending(conn->ssl))
		event_active(&conn->bev->ev_read, EV_READ, 1);
}

/* Reads every whole record that has arrived and dispatches it. */
/* Returns 0, or -1 when the connection is closing or gone: do not touch it. */
static int conn_process_records(struct rpx_conn *conn)
{
	const struct rpx_limits *lim = &conn->srv->limits;
	struct evbuffer *in = bufferevent_get_input(conn->bev);
	struct evbuffer *out = bufferevent_get_output(conn->bev);
	int rc;

	if (conn->closing)
		return -1;
	conn->last_activity = now_ms(conn);
	for (;;) {
		if (conn->xprt.inflight >= lim->max_inflight ||
		    evbuffer_get_length(out) + evbuffer_get_length(conn->batch) > lim->max_output) {
			pause_reading(conn);
			return 0;
		}
		rc = rpx_recmark_read(&conn->rm, in);
		if (rc == RPX_AGAIN)
			break;
		if (rc == -EMSGSIZE) {
			conn_fail(conn, "record exceeds --max-record");
			return -1;
		}
		if (rc < 0) {
			conn_fail(conn, "record split into too many fragments");
			return -1;
		}
		const void *msg = evbuffer_pullup(conn->rm.record, -1);
		size_t len = evbuffer_get_length(conn->rm.record);

		conn->record_start = 0;
		if (msg == NULL && len > 0) {
			rpx_conn_close(conn, "out of memory");
			return -1;
		}
		rpx_dispatch_message(conn->srv->dispatch, &conn->xprt, msg, len, false, NULL, 0);
		rpx_recmark_next(&conn->rm);
		if (conn->upgrade_pending) {
			conn_start_tls(conn);
			return -1;
		}
	}
	/* A started record: fragments in, or the first bytes of a header. */
	if ((rpx_recmark_partial(&conn->rm) || evbuffer_get_length(in) > 0) &&
	    conn->record_start == 0) {
		conn->record_start = conn->last_activity;
		if (lim->record_timeout < lim->idle_timeout)
			arm_timer(conn, (int64_t)lim->record_timeout * 1000);
	}
	if (conn->paused) {
		conn->paused = false;
		bufferevent_enable(conn->bev, EV_READ);
	}
	return 0;
}

/*
 * Under TLS on the socket itself: the batch, when it fits one record, is
 * encrypted and written now, one record and one system call, without the
 * bufferevent arming its write event for it (two epoll_ctl). 0, or -1 when
 * it did not leave whole and goes through the bufferevent.
 */
static int flush_batch_ssl(struct rpx_conn *conn)
{
	size_t len = evbuffer_get_length(conn->batch);
	void *data;
	int n;

	if (len > RPX_TLS_RECORD_MAX || !SSL_is_init_finished(conn->ssl) ||
	    (data = evbuffer_pullup(conn->batch, -1)) == NULL)
		return -1;
	n = SSL_write(conn->ssl, data, (int)len);
	if (n != (int)len)
		/*
		 * Blocked (or failed): OpenSSL wants the same bytes again, and
		 * the bufferevent offers them, one chain from the same start.
		 */
		return -1;
	evbuffer_drain(conn->batch, len);
	return 0;
}

/*
 * Under a TLS filter: the filter encrypts the batch into the socket's
 * bufferevent at once (one record when it fits); that is written now too,
 * instead of one loop turn later when the socket's write event comes.
 */
static void flush_batch_filter(struct rpx_conn *conn, struct bufferevent *under)
{
	struct evbuffer *sock_out;

	/* One TLS record for the whole batch: the filter writes chain by chain. */
	if (evbuffer_get_length(conn->batch) <= RPX_TLS_RECORD_MAX)
		evbuffer_pullup(conn->batch, -1);
	/*
	 * The socket's bufferevent would arm its write event (two epoll_ctl)
	 * for the record the filter is about to hand it; it is written here
	 * instead, and the event armed only for what the socket did not take.
	 */
	under->enabled &= ~EV_WRITE;
	evbuffer_add_buffer(bufferevent_get_output(conn->bev), conn->batch);
	under->enabled |= EV_WRITE;
	sock_out = bufferevent_get_output(under);
	if (evbuffer_get_length(sock_out) == 0)
		return;
	/* A socket bufferevent freezes its output's start: only it drains it. */
	evbuffer_unfreeze(sock_out, 1);
	evbuffer_write(sock_out, bufferevent_getfd(under));
	evbuffer_freeze(sock_out, 1);
	if (evbuffer_get_length(sock_out) > 0)
		bufferevent_enable(under, EV_WRITE);
}

/*
 * Writes the replies of one pass with one system call when nothing else is
 * queued (a sync client's call costs read + write, no write event); what
 * does not fit goes through the bufferevent as usual.
 */
static void flush_batch(struct rpx_conn *conn)
{
	struct evbuffer *out = bufferevent_get_output(conn->bev);
	struct bufferevent *under;

	if (evbuffer_get_length(conn->batch) == 0 || evbuffer_get_length(out) > 0) {
		evbuffer_add_buffer(out, conn->batch);
		return;
	}
	if (conn->ssl == NULL) {
		evbuffer_write(conn->batch, bufferevent_getfd(conn->bev));
	} else if ((under = bufferevent_get_underlying(conn->bev)) == NULL) {
		if (flush_batch_ssl(conn) == 0)
			return;
	} else if (evbuffer_get_length(bufferevent_get_output(under)) == 0) {
		flush_batch_filter(conn, under);
		return;
	}
	evbuffer_add_buffer(out, conn->batch);
}

static void conn_process(struct rpx_conn *conn)
{
	conn->in_process = true;
	if (conn_process_records(conn) < 0)
		return;
	conn->in_process = false;
	flush_batch(conn);
	conn_tls_kick(conn);
	/* Paused for output that the direct write already took: go on. */
	if (conn->paused && conn->xprt.inflight < conn->srv->limits.max_inflight &&
	    evbuffer_get_length(bufferevent_get_output(conn->bev)) <=
	        conn->srv->limits.max_output / 2)
		event_active(conn->resume, EV_TIMEOUT, 0);
}

static void conn_read_cb(struct bufferevent *bev, void *arg)
{
	struct rpx_conn *conn = arg;

	if (conn->ssl != NULL && !conn->xprt.transport_cred.tls &&
	    SSL_is_init_finished(conn->ssl) && conn_tls_established(conn) < 0)
		return;
	conn_process(arg);
}

static void conn_write_cb(struct bufferevent *bev, void *arg)
{
	struct rpx_conn *conn = arg;

	if (conn->closing) {
		conn_flush_step(conn);
		return;
	}
	/* The output drained to the low watermark: reading may go on. */
	if (conn->paused)
		event_active(conn->resume, EV_TIMEOUT, 0);
}

/*
 * Why the handshake failed, for the audit log: the first error OpenSSL
 * queued. libevent puts SSL_get_error()'s code (SSL_ERROR_SYSCALL: the
 * socket failed or closed) in the same queue before OpenSSL's own errors;
 * those small codes are not OpenSSL errors and say only "I/O".
 */
static const char *tls_error(struct rpx_conn *conn, char *buf, size_t len)
{
	unsigned long e, first = 0;

	while ((e = bufferevent_get_openssl_error(conn->bev)) != 0)
		if (first == 0 && (ERR_SYSTEM_ERROR(e) || ERR_GET_LIB(e) != 0))
			first = e;
	if (first == 0)
		return "connection closed or reset during the handshake";
	if (ERR_SYSTEM_ERROR(first)) {
		snprintf(buf, len, "%s", strerror(ERR_GET_REASON(first)));
		return buf;
	}
	ERR_error_string_n(first, buf, len);
	return buf;
}

/*
 * The handshake finished: the session's identity applies from now on. Run
 * from the event callback, or from the read callback first when libevent
 * delivers the records that followed the client's Finished before the
 * CONNECTED event (else those calls would be judged as clear-text TCP).
 */
/* 0, or -1 when the session was refused (the connection may be gone). */
static int conn_tls_established(struct rpx_conn *conn)
{
	struct rpx_cred *tc = &conn->xprt.transport_cred;
	const char *how;

	rpx_tls_peer(conn->srv->tls, conn->ssl, &conn->tls_peer);
	how = conn->tls_peer.resumed ? "TLS session resumed" : "TLS session";
	if (conn->tls_peer.expired) {
		log_info("audit: %s: %s, certificate %s (%s) expired: closed", conn->name, how,
		    conn->tls_peer.fingerprint, conn->tls_peer.subject);
		conn_fail(conn, "client certificate expired");
		return -1;
	}
	conn->record_start = 0;
	tc->tls = true;
	tc->tls_mapped = conn->tls_peer.mapped;
	tc->tls_uid = conn->tls_peer.uid;
	snprintf(tc->tls_id, sizeof(tc->tls_id), "%s",
	    conn->tls_peer.has_cert ? conn->tls_peer.fingerprint : "no certificate");
	conn->xprt.tls_required = false;
	snprintf(conn->xprt.peer, sizeof(conn->xprt.peer), "tls %s", conn->name + 4);
	if (!conn->tls_peer.has_cert)
		log_info("audit: %s: %s, no client certificate: read-only", conn->name, how);
	else if (conn->tls_peer.mapped)
		log_info("audit: %s: %s, certificate %s (%s) mapped to user %s", conn->name, how,
		    conn->tls_peer.fingerprint, conn->tls_peer.subject, conn->tls_peer.user);
	else
		log_info("audit: %s: %s, certificate %s (%s) not mapped: read-only", conn->name,
		    how, conn->tls_peer.fingerprint, conn->tls_peer.subject);
	return 0;
}

static void conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct rpx_conn *conn = arg;
	char buf[256];

	if (conn->ssl != NULL && !conn->xprt.transport_cred.tls) {
		if (what & BEV_EVENT_CONNECTED) {
			if (conn_tls_established(conn) == 0)
				conn_tls_kick(conn);
			return;
		}
		if (what & (BEV_EVENT_ERROR | BEV_EVENT_EOF)) {
			char why[300];

			rpx_tls_failure(conn->ssl, tls_error(conn, buf, sizeof(buf)), why,
			    sizeof(why));
			log_info("audit: %s: TLS handshake failed: %s", conn->name, why);
			/* Let the alert reach the client, and be read (conn_linger). */
			conn->linger = true;
			conn_fail(conn, "TLS handshake failed");
			return;
		}
	}
	if (what & BEV_EVENT_EOF)
		rpx_conn_close(conn, rpx_recmark_partial(&conn->rm) ? "closed by peer mid-record"
		                                                    : "closed by peer");
	else if (what & BEV_EVENT_ERROR) {
		conn->tls_failed = true;
		rpx_conn_close(conn, evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
	}
}

static void conn_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	conn_process(arg);
}

static void conn_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rpx_conn *conn = arg;
	const struct rpx_limits *lim = &conn->srv->limits;
	int64_t now = now_ms(conn);
	int64_t next = (int64_t)lim->idle_timeout * 1000;

	if (conn->closing) {
		rpx_conn_close(conn, conn->close_why);
		return;
	}
	if (conn->record_start != 0) {
		int64_t left = conn->record_start + (int64_t)lim->record_timeout * 1000 - now;

		if (left <= 0) {
			rpx_conn_close(conn, "record not finished within --record-timeout");
			return;
		}
		next = left;
	} else if (conn->xprt.inflight == 0) {
		int64_t left = conn->last_activity + (int64_t)lim->idle_timeout * 1000 - now;

		if (left <= 0) {
			rpx_conn_close(conn, "idle");
			return;
		}
		next = left;
	}
	arm_timer(conn, next);
}

static void conn_send(struct rpx_xprt *xprt, const struct sockaddr *peer, socklen_t peerlen,
    char *msg, size_t len)
{
	struct rpx_conn *conn = (struct rpx_conn *)xprt;

	rpx_recmark_header((unsigned char *)msg - RPX_XPRT_HEADROOM, len);
	if (!conn->closing) {
		if (evbuffer_add(conn->batch, msg - RPX_XPRT_HEADROOM, len + RPX_XPRT_HEADROOM) < 0)
			log_warnx("%s: reply lost: out of memory", conn->name);
		/*
		 * A pending call answered from another event (a job's end): written
		 * now like a pass's batch, not one loop turn later.
		 */
		if (!conn->in_process)
			flush_batch(conn);
		return;
	}
	if (bufferevent_write(conn->bev, msg - RPX_XPRT_HEADROOM, len + RPX_XPRT_HEADROOM) < 0)
		log_warnx("%s: reply lost: out of memory", conn->name);
}

static void conn_send_buffer(struct rpx_xprt *xprt, const struct sockaddr *peer, socklen_t peerlen,
    struct evbuffer *msg)
{
	struct rpx_conn *conn = (struct rpx_conn *)xprt;

	if (rpx_recmark_write(!conn->closing ? conn->batch : bufferevent_get_output(conn->bev),
	        msg) < 0)
		log_warnx("%s: reply lost: too large or out of memory", conn->name);
	if (!conn->closing && !conn->in_process)
		flush_batch(conn);
}

static void conn_call_done(struct rpx_xprt *xprt)
{
	struct rpx_conn *conn = (struct rpx_conn *)xprt;

	/* Idle time counts from the last answer too, not only the last bytes in. */
	conn->last_activity = now_ms(conn);
	/* Scheduled, not called: we may be inside conn_process right now. */
	if (!conn->closing && conn->paused && xprt->inflight < conn->srv->limits.max_inflight)
		event_active(conn->resume, EV_TIMEOUT, 0);
}

/* The dispatcher answered the probe with STARTTLS: switch once it is queued. */
static void conn_starttls(struct rpx_xprt *xprt)
{
	((struct rpx_conn *)xprt)->upgrade_pending = true;
}

static const struct rpx_xprt_ops conn_ops = {
    .send = conn_send,
    .send_buffer = conn_send_buffer,
    .call_done = conn_call_done,
    .starttls = conn_starttls,
};

struct rpx_conn *rpx_conn_new(struct rpx_server *srv, int fd, const char *kind, const char *peer)
{
	struct rpx_conn *conn;

	if ((conn = calloc(1, sizeof(*conn))) == NULL)
		goto fail;
	rpx_xprt_init(&conn->xprt, &conn_ops, kind);
	conn->srv = srv;
	snprintf(conn->name, sizeof(conn->name), "%s %s", kind, peer);
	snprintf(conn->xprt.peer, sizeof(conn->xprt.peer), "%s", conn->name);
	if (rpx_recmark_init(&conn->rm, srv->limits.max_record) < 0)
		goto fail;
	conn->bev = bufferevent_socket_new(srv->base, fd, BEV_OPT_CLOSE_ON_FREE);
	conn->timer = evtimer_new(srv->base, conn_timer_cb, conn);
	conn->resume = event_new(srv->base, -1, 0, conn_resume_cb, conn);
	conn->batch = evbuffer_new();
	if (conn->bev == NULL || conn->timer == NULL || conn->resume == NULL || conn->batch == NULL)
		goto fail;
	fd = -1; /* owned by the bufferevent now */

	if (strcmp(kind, "unix") == 0) {
		struct ucred uc;
		socklen_t uclen = sizeof(uc);

		if (getsockopt(bufferevent_getfd(conn->bev), SOL_SOCKET, SO_PEERCRED, &uc,
		        &uclen) == 0) {
			conn->xprt.transport_cred.peer_known = true;
			conn->xprt.transport_cred.peer_uid = uc.uid;
			conn->xprt.transport_cred.peer_gid = uc.gid;
			conn->xprt.transport_cred.peer_pid = uc.pid;
			snprintf(conn->xprt.peer, sizeof(conn->xprt.peer), "unix pid %d uid %u",
			    (int)uc.pid, (unsigned)uc.uid);
		}
	}
	if (strcmp(kind, "tcp") == 0 && srv->tls != NULL) {
		conn->xprt.tls_offered = true;
		conn->xprt.tls_required = rpx_tls_required(srv->tls);
	}
	bufferevent_setcb(conn->bev, conn_read_cb, conn_write_cb, conn_event_cb, conn);
	bufferevent_setwatermark(conn->bev, EV_WRITE, srv->limits.max_output / 2, 0);
	bufferevent_enable(conn->bev, EV_READ | EV_WRITE);
	conn->last_activity = now_ms(conn);
	arm_timer(conn, (int64_t)srv->limits.idle_timeout * 1000);
	TAILQ_INSERT_TAIL(&srv->conns, conn, link);
	srv->nconns++;
	log_debug("%s: connected", conn->name);
	return conn;
fail:
	if (conn != NULL) {
		if (conn->bev != NULL) {
			bufferevent_free(conn->bev);
			fd = -1;
		}
		if (conn->timer != NULL)
			event_free(conn->timer);
		if (conn->resume != NULL)
			event_free(conn->resume);
		if (conn->batch != NULL)
			evbuffer_free(conn->batch);
		rpx_recmark_release(&conn->rm);
		free(conn);
	}
	if (fd >= 0)
		evutil_closesocket(fd);
	return NULL;
}

void rpx_conn_close(struct rpx_conn *conn, const char *why)
{
	if (conn == NULL)
		return;
	log_debug("%s: closed: %s", conn->name, why);
	/*
	 * OpenSSL drops a session from the cache when its SSL goes without a
	 * close_notify sent; clients rarely wait for one. A session that ended
	 * without an error stays resumable.
	 */
	if (conn->ssl != NULL && conn->xprt.transport_cred.tls && !conn->tls_failed)
		SSL_set_shutdown(conn->ssl, SSL_SENT_SHUTDOWN);
	rpx_tls_detach(&conn->tls_peer);
	rpx_xprt_cancel_all(&conn->xprt);
	TAILQ_REMOVE(&conn->srv->conns, conn, link);
	conn->srv->nconns--;
	bufferevent_free(conn->bev);
	event_free(conn->timer);
	event_free(conn->resume);
	evbuffer_free(conn->batch);
	rpx_recmark_release(&conn->rm);
	free(conn);
}

void rpx_conn_tls_recheck(struct rpx_server *srv)
{
	struct rpx_conn *conn, *next;

	for (conn = TAILQ_FIRST(&srv->conns); conn != NULL; conn = next) {
		next = TAILQ_NEXT(conn, link);
		struct rpx_cred *tc = &conn->xprt.transport_cred;
		bool was_mapped = tc->tls_mapped;

		if (conn->ssl == NULL || !tc->tls)
			continue;
		if (!rpx_tls_still_trusted(srv->tls, conn->ssl)) {
			log_info("audit: %s: certificate %s no longer trusted after reload: closed",
			    conn->name, conn->tls_peer.fingerprint);
			conn->tls_failed = true;
			rpx_conn_close(conn, "client certificate no longer trusted");
			continue;
		}
		/* The users file may have changed too. */
		rpx_tls_peer(srv->tls, conn->ssl, &conn->tls_peer);
		tc->tls_mapped = conn->tls_peer.mapped;
		tc->tls_uid = conn->tls_peer.uid;
		if (was_mapped != tc->tls_mapped ||
		    (tc->tls_mapped && conn->tls_peer.uid != tc->tls_uid))
			log_info("audit: %s: certificate %s now %s%s after reload", conn->name,
			    conn->tls_peer.fingerprint,
			    tc->tls_mapped ? "mapped to user " : "not mapped: read-only",
			    tc->tls_mapped ? conn->tls_peer.user : "");
	}
}

void rpx_conn_close_all(struct rpx_server *srv)
{
	struct rpx_conn *conn;

	while ((conn = TAILQ_FIRST(&srv->conns)) != NULL)
		rpx_conn_close(conn, "server shutting down");
}
