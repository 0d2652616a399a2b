/*
 * clnt_conn.c: struct rpx_client, one connection to one rpxd.
 *
 * Turns a parsed URL (clnt_url.c) into a socket connected within the call
 * timeout and hands it to libtirpc: clnt_vc_create() for TCP and Unix
 * sockets (record marking, XID matching), clnt_dg_create() for UDP, where
 * the same datagram, same XID, is resent at doubling intervals until the
 * whole-call deadline. Every call goes through client_call(),
 * which turns libtirpc's struct rpc_err into a negative errno and one line
 * of text.
 *
 * Retransmission, so a caller sees each call answered exactly once while
 * the server can be reached (see rpx/client.h for the contract): UDP resends
 * the same datagram, same XID, at doubling intervals until the deadline;
 * over TCP and Unix sockets a connection that breaks before the reply
 * (reset, EOF, failed send) is replaced and the call sent again on the new
 * one, until the same deadline, for the calls whose policy allows it
 * (mutating calls with request IDs, whose duplicates rpxd's request cache
 * answers from its record, and idempotent reads). A mutating call with no
 * reply by the deadline is reported as "outcome unknown", never as failed.
 *
 * A bare host (no scheme, no port) first asks the host's rpcbind for
 * rpxd's port (lookup_bare(); the rule is clnt_url.c's, as in the fan-out).
 *
 * tls:// clients have no CLIENT: their transport is clnt_conn_tls.c (the
 * async layer on a private loop), under the same deadlines and policies
 * (client_call_tls).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <rpc/rpc.h>
#include <rpc/rpcb_prot.h>
#include <rpx/fanout.h>

#include "clnt_internal.h"
#include "rpcmsg.h"

#ifndef RPX_VERSION
#define RPX_VERSION "unknown"
#endif

struct rpx_client {
	struct rpx_url url;
	int timeout_ms;
	int retry_ms;
	CLIENT *clnt; /* NULL after a stream broke: reconnect on the next call */
	struct rpx_tls_conn_ *tls; /* tls:// only (then clnt stays NULL) */
	uint64_t reqid_client; /* random, never 0: names this client in request IDs */
	uint64_t reqid_seq; /* last sequence number handed out */
	enum auth_stat auth_why; /* of the last call that failed with AUTH_ERROR */
	char error[512];
};

static int sigpipe_block(sigset_t *old);
static void sigpipe_restore(const sigset_t *old, int was_pending);

/* The largest datagram a UDP call or reply can be (IPv4: 65535 - 20 - 8). */
#define UDP_MSG_MAX 65507

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct timeval ms_to_timeval(int ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

	return tv;
}

int rpx_client_fail_(struct rpx_client *cl, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cl->error, sizeof(cl->error), fmt, ap);
	va_end(ap);
	return code;
}

/* Non-blocking connect bounded by deadline (CLOCK_MONOTONIC ms); fd stays non-blocking. */
static int connect_until(int fd, const struct sockaddr *sa, socklen_t len, int64_t deadline)
{
	struct pollfd pfd = {.fd = fd, .events = POLLOUT};
	socklen_t errlen = sizeof(int);
	int soerr = 0, n;

	if (connect(fd, sa, len) == 0)
		return 0;
	if (errno != EINPROGRESS && errno != EINTR)
		return -errno;
	do {
		int64_t left = deadline - now_ms();

		if (left <= 0)
			return -ETIMEDOUT;
		n = poll(&pfd, 1, (int)left);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (n == 0)
		return -ETIMEDOUT;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &errlen) < 0)
		return -errno;
	return -soerr;
}

static int set_blocking(int fd)
{
	int flags = fcntl(fd, F_GETFL);

	if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0)
		return -errno;
	return 0;
}

/*
 * Connects a socket for url; on success *fd is a blocking socket and
 * *addr and *addrlen the peer. On failure writes the reason (without the URL)
 * into why.
 */
static int connect_url(const struct rpx_url *url, int timeout_ms, int *fd,
    struct sockaddr_storage *addr, socklen_t *addrlen, char *why, size_t whylen)
{
	int64_t deadline = now_ms() + timeout_ms;
	struct addrinfo hints, *res = NULL, *ai;
	int s = -1, err = -EINVAL, gai;

	if (url->transport == RPX_TRANSPORT_UNIX) {
		struct sockaddr_un *sun = (struct sockaddr_un *)addr;

		memset(addr, 0, sizeof(*addr));
		sun->sun_family = AF_UNIX;
		strcpy(sun->sun_path, url->path);
		*addrlen = (socklen_t)sizeof(*sun);
		if ((s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0) {
			err = -errno;
			goto fail;
		}
		/* A full backlog makes a non-blocking Unix connect fail with EAGAIN. */
		if ((err = connect_until(s, (struct sockaddr *)sun, *addrlen, deadline)) == -EAGAIN)
			err = -ECONNREFUSED;
		if (err < 0 || (err = set_blocking(s)) < 0)
			goto fail;
		*fd = s;
		return 0;
	}

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = url->transport == RPX_TRANSPORT_UDP ? SOCK_DGRAM : SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG;
	if ((gai = getaddrinfo(url->host, url->port, &hints, &res)) != 0) {
		if (gai == EAI_SYSTEM)
			rpx_strerror_(errno, why, whylen);
		else
			snprintf(why, whylen, "%s", gai_strerror(gai));
		if (why[0] != '\0' && why[1] >= 'a' && why[1] <= 'z' && why[0] >= 'A' &&
		    why[0] <= 'Z')
			why[0] = (char)(why[0] - 'A' + 'a');
		return -ENOENT;
	}
	err = -EADDRNOTAVAIL;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		s = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
		    ai->ai_protocol);
		if (s < 0) {
			err = -errno;
			continue;
		}
		if ((err = connect_until(s, ai->ai_addr, ai->ai_addrlen, deadline)) == 0 &&
		    (err = set_blocking(s)) == 0) {
			memcpy(addr, ai->ai_addr, ai->ai_addrlen);
			*addrlen = ai->ai_addrlen;
			break;
		}
		close(s);
		s = -1;
		if (err == -ETIMEDOUT)
			break;
	}
	freeaddrinfo(res);
	if (s < 0)
		goto fail;
	if (url->transport == RPX_TRANSPORT_TCP) {
		int one = 1;

		/* Calls are small request/reply records: do not wait for Nagle. */
		setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	*fd = s;
	return 0;
fail:
	if (s >= 0)
		close(s);
	if (err == -ETIMEDOUT)
		snprintf(why, whylen, "connect timed out after %d ms", timeout_ms);
	else
		rpx_strerror_(err, why, whylen);
	return err;
}

/*
 * Connects within timeout_ms and builds cl->clnt. On failure writes the
 * reason (without the URL) into why.
 */
static int client_connect(struct rpx_client *cl, int timeout_ms, char *why, size_t whylen)
{
	struct sockaddr_storage addr;
	socklen_t addrlen = 0;
	struct netbuf nb;
	struct timeval total = ms_to_timeval(cl->timeout_ms);
	CLIENT *clnt;
	int fd = -1, err;

	if ((err = connect_url(&cl->url, timeout_ms, &fd, &addr, &addrlen, why, whylen)) < 0)
		return err;
	nb.buf = &addr;
	nb.len = addrlen;
	nb.maxlen = addrlen;
	if (cl->url.transport == RPX_TRANSPORT_UDP)
		/* libtirpc's default buffers (UDPMSGSIZE, 8800 bytes) would cut a LIST reply. */
		clnt =
		    clnt_dg_create(fd, &nb, RPX_DATE_PROG, RPX_DATE_VERS, UDP_MSG_MAX, UDP_MSG_MAX);
	else
		clnt = clnt_vc_create(fd, &nb, RPX_DATE_PROG, RPX_DATE_VERS, 0, 0);
	if (clnt == NULL) {
		snprintf(why, whylen, "cannot create RPC client: %s",
		    clnt_sperrno(rpc_createerr.cf_stat));
		close(fd);
		return -ENOMEM;
	}
	clnt_control(clnt, CLSET_FD_CLOSE, NULL);
	clnt_control(clnt, CLSET_TIMEOUT, (char *)&total);
	if (cl->url.transport == RPX_TRANSPORT_UDP) {
		struct timeval retry = ms_to_timeval(cl->retry_ms);
		int connected = 1;

		clnt_control(clnt, CLSET_RETRY_TIMEOUT, (char *)&retry);
		/* Send with send(), so only the server's datagrams and ICMP errors come back. */
		clnt_control(clnt, CLSET_CONNECT, (char *)&connected);
	}
	cl->clnt = clnt;
	return 0;
}

/*
 * A request ID's client part: random, so two clients (or one client run
 * twice) never share one; a server keeps the records of a client ID.
 */
static uint64_t random_client_id(void)
{
	uint64_t id = 0;
	struct timespec ts;

	if (getrandom(&id, sizeof(id), GRND_NONBLOCK) != (ssize_t)sizeof(id)) {
		/* Early boot without entropy: time and pid are unique enough here. */
		clock_gettime(CLOCK_REALTIME, &ts);
		id =
		    ((uint64_t)ts.tv_sec << 32) ^ (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 20);
	}
	return id != 0 ? id : 1;
}

void rpx_client_reqid_(struct rpx_client *cl, uint64_t *client, uint64_t *seq, uint64_t *acked)
{
	*client = cl->reqid_client;
	*seq = ++cl->reqid_seq;
	/*
	 * One call at a time: every lower sequence number has its answer, or
	 * was given up at its deadline and is never sent again.
	 */
	*acked = *seq;
}

int rpx_client_auth_why_(const struct rpx_client *cl)
{
	return (int)cl->auth_why;
}

int rpx_opts_check_(int timeout_ms, int retry_ms, unsigned int flags, const int *reserved,
    size_t nreserved, char *why, size_t whylen)
{
	if (timeout_ms < 0 || retry_ms < 0) {
		snprintf(why, whylen, "timeout and retry interval must not be negative");
		return -EINVAL;
	}
	if (flags != 0) {
		snprintf(why, whylen, "unknown flags 0x%x", flags);
		return -EINVAL;
	}
	for (size_t i = 0; i < nreserved; i++) {
		if (reserved[i] != 0) {
			snprintf(why, whylen, "reserved option fields must be 0");
			return -EINVAL;
		}
	}
	return 0;
}

static int check_opts(const struct rpx_client_opts *opts, char *why, size_t whylen)
{
	if (opts == NULL)
		return 0;
	return rpx_opts_check_(opts->timeout_ms, opts->retry_ms, opts->flags, opts->reserved,
	    sizeof(opts->reserved) / sizeof(opts->reserved[0]), why, whylen);
}

/* tls://HOST:PORT: parsed as tcp://HOST:PORT, named tls://. */
static int parse_tls_url(const char *text, struct rpx_url *url, char *err, size_t errlen)
{
	char tcp[sizeof(url->text) + 8], why[400];
	int ret;

	if (strlen(text) >= sizeof(tcp) - 1) {
		if (errlen > 0)
			snprintf(err, errlen, "bad URL \"%.40s...\": too long", text);
		return -EINVAL;
	}
	snprintf(tcp, sizeof(tcp), "tcp://%s", text + 6);
	if ((ret = rpx_url_parse_(tcp, url, why, sizeof(why))) < 0) {
		/* Quote the URL as given: "bad URL \"tls://...\": reason". */
		const char *reason = strstr(why, "\": ");

		if (errlen > 0)
			snprintf(err, errlen, "bad URL \"%s\": %s", text,
			    reason != NULL ? reason + 3 : why);
		return ret;
	}
	memcpy(url->text, "tls", 3);
	return 0;
}

/*
 * A bare host (no scheme, no port): the URL of its rpxd, from its rpcbind
 * as clnt_create() would find it. One GETADDR call for the DATE program
 * (every rpxd serves it) on a sync client of tcp://HOST:111, bounded by
 * the client's timeout and RPX_FANOUT_RPCBIND_MS; the fallback rule and the
 * note for a failed connect are clnt_url.c's, shared with the fan-out.
 */
static void lookup_bare(const char *host, int timeout_ms, char *url, size_t urllen, char *note,
    size_t notelen)
{
	struct rpx_client_opts o;
	struct rpx_client *rb;
	struct rpcb args;
	char rburl[300], why[600];
	char *uaddr = NULL;
	int ret = -EIO;

	memset(&o, 0, sizeof(o));
	o.timeout_ms = timeout_ms < RPX_FANOUT_RPCBIND_MS ? timeout_ms : RPX_FANOUT_RPCBIND_MS;
	rpx_url_bare_tcp_(host, RPX_FANOUT_RPCBIND_PORT, rburl, sizeof(rburl));
	if ((rb = rpx_client_open(rburl, &o, why, sizeof(why))) != NULL) {
		rpx_rpcbind_args_(&args, RPX_DATE_PROG, RPX_DATE_VERS);
		ret = rpx_client_call(rb, RPCBPROG, RPCBVERS4, RPCBPROC_GETADDR,
		    (xdrproc_t)xdr_rpcb, &args, (xdrproc_t)rpx_rpcmsg_xdr_uaddr, &uaddr);
		if (ret < 0)
			snprintf(why, sizeof(why), "%s: %s", rburl, rpx_client_error(rb));
	}
	rpx_url_from_rpcbind_(host, RPX_DATE_PROG, ret, why, uaddr, url, urllen, note, notelen);
	if (uaddr != NULL)
		xdr_free((xdrproc_t)rpx_rpcmsg_xdr_uaddr, (char *)&uaddr);
	rpx_client_close(rb);
}

struct rpx_client *rpx_client_open(const char *url, const struct rpx_client_opts *opts, char *err,
    size_t errlen)
{
	return rpx_client_open_tls(url, opts, NULL, err, errlen);
}

struct rpx_client *rpx_client_open_tls(const char *url, const struct rpx_client_opts *opts,
    const struct rpx_tls_opts *tls, char *err, size_t errlen)
{
	char defurl[sizeof(((struct rpx_url *)0)->text)];
	char why[600] = "", note[200] = "";
	struct rpx_client *cl;
	int ret;

	if ((cl = calloc(1, sizeof(*cl))) == NULL) {
		if (errlen > 0)
			snprintf(err, errlen, "%s: out of memory", url != NULL ? url : "rpx");
		return NULL;
	}
	if (url == NULL) {
		rpx_client_default_url(defurl, sizeof(defurl));
		url = defurl;
	}
	if (strncmp(url, "tls://", 6) == 0) {
		if (parse_tls_url(url, &cl->url, err, errlen) < 0)
			goto fail;
		if ((cl->tls = rpx_tls_conn_new_(cl->url.text, tls)) == NULL) {
			snprintf(why, sizeof(why), "out of memory");
			goto fail_why;
		}
	} else if (rpx_url_parse_(url, &cl->url, err, errlen) < 0) {
		goto fail;
	}
	if (check_opts(opts, why, sizeof(why)) < 0)
		goto fail_why;
	cl->timeout_ms =
	    opts != NULL && opts->timeout_ms > 0 ? opts->timeout_ms : RPX_CLIENT_TIMEOUT_MS;
	if (rpx_url_is_bare_(url)) {
		lookup_bare(cl->url.host, cl->timeout_ms, defurl, sizeof(defurl), note,
		    sizeof(note));
		if (rpx_url_parse_(defurl, &cl->url, err, errlen) < 0)
			goto fail;
	}
	cl->retry_ms = opts != NULL && opts->retry_ms > 0 ? opts->retry_ms : RPX_CLIENT_RETRY_MS;
	if (cl->retry_ms > cl->timeout_ms)
		cl->retry_ms = cl->timeout_ms;
	if (cl->tls != NULL) {
		sigset_t oldmask;
		int was_pending = sigpipe_block(&oldmask);

		ret = rpx_tls_conn_connect_(cl->tls, cl->timeout_ms, why, sizeof(why));
		sigpipe_restore(&oldmask, was_pending);
		if (ret < 0)
			goto fail_why;
	} else if (client_connect(cl, cl->timeout_ms, why, sizeof(why)) < 0) {
		goto fail_why;
	}
	cl->reqid_client = random_client_id();
	return cl;
fail_why:
	if (errlen > 0)
		snprintf(err, errlen, "%s%s: %s", note, cl->url.text, why);
fail:
	rpx_tls_conn_free_(cl->tls);
	free(cl);
	return NULL;
}

int rpx_client_is_tls(const struct rpx_client *cl)
{
	return cl->tls != NULL;
}

void rpx_client_close(struct rpx_client *cl)
{
	if (cl == NULL)
		return;
	if (cl->clnt != NULL)
		clnt_destroy(cl->clnt);
	rpx_tls_conn_free_(cl->tls);
	free(cl);
}

const char *rpx_client_url(const struct rpx_client *cl)
{
	return cl->url.text;
}

const char *rpx_client_error(const struct rpx_client *cl)
{
	return cl->error;
}

CLIENT *rpx_client_clnt(struct rpx_client *cl)
{
	char why[200];

	if (cl->tls != NULL) {
		rpx_client_fail_(cl, -EOPNOTSUPP,
		    "a tls:// client has no libtirpc handle: use rpx_client_call()");
		return NULL;
	}
	if (cl->clnt == NULL && client_connect(cl, cl->timeout_ms, why, sizeof(why)) < 0)
		rpx_client_fail_(cl, -ECONNRESET, "reconnect failed: %s", why);
	return cl->clnt;
}

const char *rpx_version(void)
{
	return RPX_VERSION;
}

const char *rpx_auth_why_(enum auth_stat why)
{
	switch (why) {
	case AUTH_BADCRED:
		return "bad credential";
	case AUTH_REJECTEDCRED:
		return "credential rejected";
	case AUTH_BADVERF:
		return "bad verifier";
	case AUTH_REJECTEDVERF:
		return "verifier rejected";
	case AUTH_TOOWEAK:
		return "refused for security reasons";
	default:
		return "rejected";
	}
}

/* The deadline of a call passed with no reply. */
static int call_timed_out(struct rpx_client *cl, enum rpx_call_policy_ policy, int timeout_ms,
    const char *last)
{
	if (policy == RPX_CALL_MUTATING_)
		return rpx_client_fail_(cl, -ETIMEDOUT,
		    "outcome unknown: no reply within %d ms%s%s%s; the request may or may not have run",
		    timeout_ms, last[0] != '\0' ? " (" : "", last, last[0] != '\0' ? ")" : "");
	return rpx_client_fail_(cl, -ETIMEDOUT, "call timed out after %d ms%s%s%s", timeout_ms,
	    last[0] != '\0' ? " (" : "", last, last[0] != '\0' ? ")" : "");
}

/* Maps a failed clnt_call to a negative errno and sets the error text. */
static int call_failed(struct rpx_client *cl, enum rpx_call_policy_ policy, enum clnt_stat stat,
    int timeout_ms)
{
	struct rpc_err re;
	char why[128];

	memset(&re, 0, sizeof(re));
	clnt_geterr(cl->clnt, &re);
	switch (stat) {
	case RPC_TIMEDOUT:
		return call_timed_out(cl, policy, timeout_ms, "");
	case RPC_CANTSEND:
	case RPC_CANTRECV:
		if (re.re_errno == 0 || (stat == RPC_CANTRECV && re.re_errno == ECONNRESET))
			return rpx_client_fail_(cl, -ECONNRESET, "connection closed by server");
		rpx_strerror_(re.re_errno, why, sizeof(why));
		return rpx_client_fail_(cl, -re.re_errno, "%s", why);
	case RPC_PROGUNAVAIL:
		return rpx_client_fail_(cl, -EPROTONOSUPPORT, "server: program unavailable");
	case RPC_PROGVERSMISMATCH:
		return rpx_client_fail_(cl, -EPROTO,
		    "server: version mismatch (server has %lu..%lu)", (unsigned long)re.re_vers.low,
		    (unsigned long)re.re_vers.high);
	case RPC_VERSMISMATCH:
		return rpx_client_fail_(cl, -EPROTO,
		    "server: RPC version mismatch (server has %lu..%lu)",
		    (unsigned long)re.re_vers.low, (unsigned long)re.re_vers.high);
	case RPC_PROCUNAVAIL:
		return rpx_client_fail_(cl, -EOPNOTSUPP, "server: procedure unavailable");
	case RPC_CANTDECODEARGS:
		return rpx_client_fail_(cl, -EINVAL, "server: garbage arguments");
	case RPC_SYSTEMERROR:
		return rpx_client_fail_(cl, -EIO, "server: system error");
	case RPC_AUTHERROR:
		cl->auth_why = re.re_why;
		return rpx_client_fail_(cl, -EACCES, "server: authentication error: %s",
		    rpx_auth_why_(re.re_why));
	case RPC_CANTDECODERES:
		return rpx_client_fail_(cl, -EBADMSG, "cannot decode the reply");
	case RPC_CANTENCODEARGS:
		return rpx_client_fail_(cl, -EINVAL, "cannot encode the arguments");
	default:
		return rpx_client_fail_(cl, -EIO, "%s", clnt_sperrno(stat));
	}
}

/*
 * libtirpc writes with write(2): a peer that closed the connection would
 * kill the process with SIGPIPE. Block it around the call and swallow the
 * one the call raised, so the caller sees EPIPE and keeps its disposition.
 */
static int sigpipe_block(sigset_t *old)
{
	sigset_t set, pending;

	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, old);
	sigpending(&pending);
	return sigismember(&pending, SIGPIPE);
}

static void sigpipe_restore(const sigset_t *old, int was_pending)
{
	struct timespec zero = {0, 0};
	sigset_t set, pending;

	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	sigpending(&pending);
	if (!was_pending && sigismember(&pending, SIGPIPE))
		sigtimedwait(&set, NULL, &zero);
	pthread_sigmask(SIG_SETMASK, old, NULL);
}

/*
 * UDP: libtirpc's clnt_dg retransmits at a fixed interval. Drive it one
 * transmission at a time instead, so the interval doubles (retry_ms,
 * 2 * retry_ms, ... up to RETRY_MAX_MS) until the whole-call deadline, and
 * put the first transmission's XID back before each resend: the server's
 * duplicate request cache sees one call, and a late reply to any
 * transmission completes it. An ICMP error (connection refused) on the
 * first transmission fails the call at once: nothing listens, nothing ran.
 * On a later one an earlier datagram may have reached a server that has
 * since gone away, so the call goes on until its deadline.
 */
#define RETRY_MAX_MS 5000

static void sleep_ms(int64_t ms)
{
	struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};

	while (ms > 0 && nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static enum clnt_stat call_dg(struct rpx_client *cl, int64_t deadline, rpcproc_t proc,
    xdrproc_t xargs, void *args, xdrproc_t xres, void *res, char *last, size_t lastlen)
{
	struct timeval tv;
	enum clnt_stat stat;
	int interval = cl->retry_ms, resend = 0;
	u_int32_t xid = 0;

	for (;;) {
		int64_t start = now_ms(), left = deadline - start;
		int slice;

		if (left <= 0) {
			stat = RPC_TIMEDOUT;
			break;
		}
		slice = interval < left ? interval : (int)left;
		tv = ms_to_timeval(slice);
		clnt_control(cl->clnt, CLSET_TIMEOUT, (char *)&tv);
		clnt_control(cl->clnt, CLSET_RETRY_TIMEOUT, (char *)&tv);
		if (resend)
			clnt_control(cl->clnt, CLSET_XID, (char *)&xid);
		stat = clnt_call(cl->clnt, proc, xargs, args, xres, res, tv);
		if (!resend) {
			clnt_control(cl->clnt, CLGET_XID, (char *)&xid);
			resend = 1;
		} else if (stat == RPC_CANTSEND || stat == RPC_CANTRECV) {
			struct rpc_err re;

			/* An earlier transmission may have run: wait out the interval, resend. */
			memset(&re, 0, sizeof(re));
			clnt_geterr(cl->clnt, &re);
			rpx_strerror_(re.re_errno != 0 ? re.re_errno : EIO, last, lastlen);
			sleep_ms(start + slice - now_ms());
			stat = RPC_TIMEDOUT;
		}
		if (stat != RPC_TIMEDOUT)
			break;
		if (interval < RETRY_MAX_MS)
			interval = interval * 2 < RETRY_MAX_MS ? interval * 2 : RETRY_MAX_MS;
	}
	/* Leave the handle as rpx_client_clnt() users expect it. */
	tv = ms_to_timeval(cl->timeout_ms);
	clnt_control(cl->clnt, CLSET_TIMEOUT, (char *)&tv);
	tv = ms_to_timeval(cl->retry_ms);
	clnt_control(cl->clnt, CLSET_RETRY_TIMEOUT, (char *)&tv);
	return stat;
}

/* One transmission over a stream, bounded by the deadline. */
static enum clnt_stat call_vc(struct rpx_client *cl, int64_t deadline, rpcproc_t proc,
    xdrproc_t xargs, void *args, xdrproc_t xres, void *res)
{
	int64_t left = deadline - now_ms();
	struct timeval total = ms_to_timeval(left > 0 ? (int)left : 1);
	struct timeval usual = ms_to_timeval(cl->timeout_ms);
	enum clnt_stat stat;

	/* clnt_vc uses the CLSET_TIMEOUT value, not the argument, once one is set. */
	clnt_control(cl->clnt, CLSET_TIMEOUT, (char *)&total);
	stat = clnt_call(cl->clnt, proc, xargs, args, xres, res, total);
	clnt_control(cl->clnt, CLSET_TIMEOUT, (char *)&usual);
	return stat;
}

/*
 * A stream the server has closed while idle (rpxd's --idle-timeout, a
 * restart) shows as hang-up before we send: start a new connection then,
 * rather than fail a call that was never sent.
 */
static void drop_if_hung_up(struct rpx_client *cl)
{
	struct pollfd pfd = {.fd = -1, .events = POLLRDHUP};

	if (cl->clnt == NULL || cl->url.transport == RPX_TRANSPORT_UDP ||
	    !clnt_control(cl->clnt, CLGET_FD, (char *)&pfd.fd))
		return;
	if (poll(&pfd, 1, 0) == 1 && (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0) {
		clnt_destroy(cl->clnt);
		cl->clnt = NULL;
	}
}

/* dst = prefix + text, cut to fit. */
static void copy_text(char *dst, size_t len, const char *prefix, const char *text)
{
	size_t p = strnlen(prefix, len - 1), t = strnlen(text, len - 1 - p);

	memcpy(dst, prefix, p);
	memcpy(dst + p, text, t);
	dst[p + t] = '\0';
}

/* Waits between reconnects after a broken stream: 10 ms, doubling, at most 500 ms. */
#define RECONNECT_MIN_MS 10
#define RECONNECT_MAX_MS 500

static void pause_before_retry(int *pause_ms, int64_t deadline)
{
	int64_t left = deadline - now_ms();

	sleep_ms(*pause_ms < left ? *pause_ms : left);
	if (*pause_ms < RECONNECT_MAX_MS)
		*pause_ms = *pause_ms * 2 < RECONNECT_MAX_MS ? *pause_ms * 2 : RECONNECT_MAX_MS;
}

/* The auth_stat whose text the async layer put after "server: authentication error: ". */
static enum auth_stat auth_why_from_text(const char *text)
{
	static const char prefix[] = "server: authentication error: ";
	int w;

	if (strncmp(text, prefix, sizeof(prefix) - 1) != 0)
		return AUTH_FAILED;
	for (w = AUTH_BADCRED; w <= AUTH_TOOWEAK; w++) {
		if (strcmp(text + sizeof(prefix) - 1, rpx_auth_why_((enum auth_stat)w)) == 0)
			return (enum auth_stat)w;
	}
	return AUTH_FAILED;
}

/*
 * client_call() for tls:// clients: the same policy over clnt_conn_tls.c.
 * A connection the server closed while idle is replaced before sending; a
 * connection that breaks during a call is replaced and, unless the policy
 * is RPX_CALL_ONCE_, the call sent again (SPAWN and KILL with the same
 * request ID: their arguments are encoded again from the same args) until
 * the deadline. A failed reconnect (including a failed probe or TLS
 * handshake) is retried at growing intervals only when an earlier
 * transmission may have reached the server; it never falls back to clear
 * text.
 */
static int client_call_tls(struct rpx_client *cl, enum rpx_call_policy_ policy, int timeout_ms,
    uint32_t prog, uint32_t vers, uint32_t proc, xdrproc_t xargs, void *args, xdrproc_t xres,
    void *res)
{
	int64_t deadline = now_ms() + timeout_ms;
	int ret, broken, was_pending, delivered = 0, breaks = 0, pause_ms = RECONNECT_MIN_MS;
	char why[600], last[200] = "";
	sigset_t oldmask;

	was_pending = sigpipe_block(&oldmask);
	for (;;) {
		int64_t left = deadline - now_ms();

		if (left <= 0) {
			ret = call_timed_out(cl, policy, timeout_ms, last);
			break;
		}
		if (!rpx_tls_conn_up_(cl->tls)) {
			ret = rpx_tls_conn_connect_(cl->tls, (int)left, why, sizeof(why));
			if (ret == -EINVAL ||
			    (ret < 0 && (!delivered || policy == RPX_CALL_ONCE_))) {
				ret = rpx_client_fail_(cl, ret == -EINVAL ? ret : -ECONNRESET,
				    "connection lost, reconnect failed: %s", why);
				break;
			}
			if (ret < 0) {
				copy_text(last, sizeof(last), "reconnect: ", why);
				pause_before_retry(&pause_ms, deadline);
				continue;
			}
			left = deadline - now_ms();
		}
		ret = rpx_tls_conn_call_(cl->tls, prog, vers, proc, xargs, args, xres, res,
		    left > 0 ? (int)left : 1, &broken, why, sizeof(why));
		if (ret == 0) {
			cl->error[0] = '\0';
			break;
		}
		if (!broken) {
			if (ret == -ETIMEDOUT) {
				ret = call_timed_out(cl, policy, timeout_ms, last);
			} else {
				if (ret == -EACCES)
					cl->auth_why = auth_why_from_text(why);
				ret = rpx_client_fail_(cl, ret, "%s", why);
			}
			break;
		}
		if (ret == -EACCES) {
			/*
			 * The server refused our certificate: this session ran
			 * nothing, and sending again would be refused again.
			 */
			if (delivered && policy == RPX_CALL_MUTATING_)
				ret = rpx_client_fail_(cl, -ETIMEDOUT,
				    "outcome unknown: %s, after a connection broke; the request "
				    "may or may not have run",
				    why);
			else
				ret = rpx_client_fail_(cl, ret, "%s", why);
			break;
		}
		ret = rpx_client_fail_(cl, ret, "%s", why);
		delivered = 1;
		if (policy == RPX_CALL_ONCE_)
			break;
		copy_text(last, sizeof(last), "", why);
		if (++breaks > 1)
			pause_before_retry(&pause_ms, deadline);
	}
	sigpipe_restore(&oldmask, was_pending);
	return ret;
}

/*
 * One call under a policy (see clnt_internal.h). Over a stream, a broken
 * connection (failed send, reset, EOF before the reply) is replaced and,
 * unless the policy is RPX_CALL_ONCE_, the call sent again until the
 * deadline; a reconnect that fails is retried at growing intervals when a
 * transmission may already have reached the server, and reported at once
 * when none did (then the call surely did not run).
 */
static int client_call(struct rpx_client *cl, enum rpx_call_policy_ policy, int timeout_ms,
    uint32_t prog, uint32_t vers, uint32_t proc, xdrproc_t xargs, void *args, xdrproc_t xres,
    void *res)
{
	int64_t deadline = now_ms() + timeout_ms;
	rpcprog_t cur_prog = RPX_DATE_PROG;
	rpcvers_t cur_vers = RPX_DATE_VERS;
	enum clnt_stat stat;
	sigset_t oldmask;
	int was_pending, ret = 0, delivered = 0, breaks = 0, pause_ms = RECONNECT_MIN_MS;
	char why[200], last[200] = "";

	if (cl->tls != NULL)
		return client_call_tls(cl, policy, timeout_ms, prog, vers, proc, xargs, args, xres,
		    res);
	for (;;) {
		drop_if_hung_up(cl);
		if (cl->clnt == NULL) {
			int64_t left = deadline - now_ms();

			if (left <= 0)
				return call_timed_out(cl, policy, timeout_ms, last);
			if (client_connect(cl, (int)left, why, sizeof(why)) < 0) {
				if (!delivered || policy == RPX_CALL_ONCE_)
					return rpx_client_fail_(cl, -ECONNRESET,
					    "connection lost, reconnect failed: %s", why);
				copy_text(last, sizeof(last), "reconnect: ", why);
				pause_before_retry(&pause_ms, deadline);
				continue;
			}
		}
		/* The handle's header template holds one prog/vers; switch it for this call only. */
		if (prog != cur_prog || vers != cur_vers) {
			clnt_control(cl->clnt, CLSET_PROG, (char *)&prog);
			clnt_control(cl->clnt, CLSET_VERS, (char *)&vers);
		}
		was_pending = sigpipe_block(&oldmask);
		if (cl->url.transport == RPX_TRANSPORT_UDP)
			stat =
			    call_dg(cl, deadline, proc, xargs, args, xres, res, last, sizeof(last));
		else
			stat = call_vc(cl, deadline, proc, xargs, args, xres, res);
		sigpipe_restore(&oldmask, was_pending);
		if (prog != cur_prog || vers != cur_vers) {
			clnt_control(cl->clnt, CLSET_PROG, (char *)&cur_prog);
			clnt_control(cl->clnt, CLSET_VERS, (char *)&cur_vers);
		}
		if (stat == RPC_SUCCESS) {
			cl->error[0] = '\0';
			return 0;
		}
		if (cl->url.transport == RPX_TRANSPORT_UDP ||
		    (stat != RPC_CANTSEND && stat != RPC_CANTRECV)) {
			if (stat == RPC_TIMEDOUT)
				return call_timed_out(cl, policy, timeout_ms, last);
			return call_failed(cl, policy, stat, timeout_ms);
		}
		/* A stream that failed to send or receive is out of step: start afresh. */
		ret = call_failed(cl, policy, stat, timeout_ms);
		clnt_destroy(cl->clnt);
		cl->clnt = NULL;
		/* A failed send leaves the server an unfinished record, which never runs. */
		if (stat == RPC_CANTRECV)
			delivered = 1;
		if (policy == RPX_CALL_ONCE_)
			return ret;
		copy_text(last, sizeof(last), "", cl->error);
		/* The first break is resent at once; a connection that keeps breaking, less often. */
		if (++breaks > 1)
			pause_before_retry(&pause_ms, deadline);
	}
}

int rpx_client_call(struct rpx_client *cl, uint32_t prog, uint32_t vers, uint32_t proc,
    xdrproc_t xargs, void *args, xdrproc_t xres, void *res)
{
	return client_call(cl, RPX_CALL_ONCE_, cl->timeout_ms, prog, vers, proc, xargs, args, xres,
	    res);
}

int rpx_client_call_policy_(struct rpx_client *cl, enum rpx_call_policy_ policy, int hold_ms,
    uint32_t prog, uint32_t vers, uint32_t proc, xdrproc_t xargs, void *args, xdrproc_t xres,
    void *res)
{
	int64_t total = (int64_t)cl->timeout_ms + (hold_ms > 0 ? hold_ms : 0);

	return client_call(cl, policy, total > INT_MAX / 2 ? INT_MAX / 2 : (int)total, prog, vers,
	    proc, xargs, args, xres, res);
}

int rpx_client_ping(struct rpx_client *cl, uint32_t prog, uint32_t vers, double *rtt_seconds)
{
	struct timespec t0, t1;
	int ret;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	ret = rpx_client_call_policy_(cl, RPX_CALL_IDEMPOTENT_, 0, prog, vers, 0,
	    (xdrproc_t)xdr_void, NULL, (xdrproc_t)xdr_void, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (ret == 0 && rtt_seconds != NULL)
		*rtt_seconds =
		    (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	return ret;
}
