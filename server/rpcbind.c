/*
 * rpcbind.c: rpxd's registrations with the host's rpcbind (RFC 1833,
 * version 3 SET and UNSET).
 *
 * libtirpc's rpcb_set() would do the exchange, but it waits up to 60 s for
 * an answer and cannot be given a deadline from outside the library. So
 * the connection is made here, with a non-blocking connect bounded by the
 * caller's deadline, and handed to libtirpc: clnt_vc_create() is the
 * client, xdr_rpcb() the codec, taddr2uaddr() the universal address, as
 * rpcb_set() uses them. Like rpcb_set(), rpcbind is reached through its
 * Unix socket first (it then knows our uid, the owner of the mapping), and
 * through TCP on the loopback address, which it also accepts SET from.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <rpc/rpc.h>
#include <rpc/rpcb_prot.h>

#include "rpcbind.h"

#ifndef _PATH_RPCBINDSOCK
#define _PATH_RPCBINDSOCK "/var/run/rpcbind.sock"
#endif

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int left_ms(int64_t deadline)
{
	int64_t left = deadline - now_ms();

	return left > 0 ? (int)left : 0;
}

int rpx_rpcbind_entry_init(struct rpx_rpcbind_entry *e, uint32_t prog, uint32_t vers, int socktype,
    const struct sockaddr *sa, socklen_t salen)
{
	struct netconfig *nconf;
	struct netbuf nb;
	const char *netid;
	char *uaddr;
	int err = 0;

	memset(e, 0, sizeof(*e));
	e->prog = prog;
	e->vers = vers;
	if (socktype != SOCK_STREAM && socktype != SOCK_DGRAM)
		return -EINVAL;
	switch (sa->sa_family) {
	case AF_INET:
		netid = socktype == SOCK_STREAM ? "tcp" : "udp";
		break;
	case AF_INET6:
		netid = socktype == SOCK_STREAM ? "tcp6" : "udp6";
		break;
	case AF_UNIX:
		/* rpcbind's own name for a Unix stream socket; no datagram netid */
		if (socktype != SOCK_STREAM)
			return -EAFNOSUPPORT;
		netid = "local";
		break;
	default:
		return -EAFNOSUPPORT;
	}
	snprintf(e->netid, sizeof(e->netid), "%s", netid);
	if ((nconf = getnetconfigent(netid)) == NULL)
		return -ENOENT; /* no /etc/netconfig line: rpcbind has none either */
	nb.buf = (void *)sa;
	nb.len = nb.maxlen = salen;
	if ((uaddr = taddr2uaddr(nconf, &nb)) == NULL)
		err = -EINVAL;
	else if (uaddr[0] == '\0' || strlen(uaddr) >= sizeof(e->uaddr))
		err = -ENAMETOOLONG;
	else
		strcpy(e->uaddr, uaddr);
	free(uaddr);
	freenetconfigent(nconf);
	return err;
}

/* Connects @fd to @sa within the deadline; 0 or a negative errno. */
static int connect_by(int fd, const struct sockaddr *sa, socklen_t salen, int64_t deadline)
{
	struct pollfd pfd = {.fd = fd, .events = POLLOUT};
	int soerr = 0, n;
	socklen_t len = sizeof(soerr);

	if (connect(fd, sa, salen) == 0)
		return 0;
	/*
	 * A Unix socket with a full backlog says EAGAIN: nothing is in
	 * progress then, and a hung rpcbind is what fills it. Give up on it.
	 */
	if (errno != EINPROGRESS)
		return -errno;
	do {
		n = poll(&pfd, 1, left_ms(deadline));
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (n == 0)
		return -ETIMEDOUT;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
		return -errno;
	return -soerr;
}

/*
 * A client of rpcbind version 3 on a connected stream, or NULL with the
 * reasons in @err and *@errp.
 */
static CLIENT *rpcbind_client(int64_t deadline, int *errp, char *err, size_t errlen)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(PMAPPORT)};
	struct {
		int family;
		const struct sockaddr *sa;
		socklen_t len;
		const char *name;
	} tries[] = {
	    {AF_UNIX, (struct sockaddr *)&sun, sizeof(sun), _PATH_RPCBINDSOCK},
	    {AF_INET, (struct sockaddr *)&sin, sizeof(sin), "127.0.0.1:111"},
	};
	size_t used = 0;
	int rc = -ECONNREFUSED;

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", _PATH_RPCBINDSOCK);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (errlen > 0)
		err[0] = '\0';
	for (size_t i = 0; i < sizeof(tries) / sizeof(tries[0]); i++) {
		struct netbuf nb = {.maxlen = tries[i].len,
		    .len = tries[i].len,
		    .buf = (void *)tries[i].sa};
		CLIENT *clnt;
		int fd, flags;

		fd = socket(tries[i].family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			rc = -errno;
		} else if ((rc = connect_by(fd, tries[i].sa, tries[i].len, deadline)) == 0) {
			/* clnt_vc waits with poll() and its own timeout; writes may block */
			flags = fcntl(fd, F_GETFL);
			fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
			clnt = clnt_vc_create(fd, &nb, RPCBPROG, RPCBVERS, 0, 0);
			if (clnt != NULL) {
				CLNT_CONTROL(clnt, CLSET_FD_CLOSE, NULL);
				return clnt;
			}
			rc = -ENOMEM;
		}
		if (fd >= 0)
			close(fd);
		if (used < errlen)
			used += (size_t)snprintf(err + used, errlen - used, "%s%s: %s",
			    used > 0 ? "; " : "", tries[i].name, strerror(-rc));
		if (rc == -ETIMEDOUT)
			break; /* the deadline is spent */
	}
	/* Refused or missing everywhere: not running. Anything else: say so. */
	*errp = rc == -ENOENT ? -ECONNREFUSED : rc;
	return NULL;
}

/* One SET or UNSET; 0, -EACCES when rpcbind says no, or the RPC error. */
static int rpcbind_call(CLIENT *clnt, rpcproc_t proc, struct rpx_rpcbind_entry *e, int64_t deadline,
    char *err, size_t errlen)
{
	static char no_addr[] = "";
	char owner[16];
	rpcb parms;
	bool_t accepted = FALSE;
	struct timeval tv;
	enum clnt_stat stat;
	int ms = left_ms(deadline);

	if (ms == 0) {
		snprintf(err, errlen, "rpcbind did not answer within the deadline");
		return -ETIMEDOUT;
	}
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	/* Over the Unix socket rpcbind takes the owner from the kernel; like rpcb_set() */
	snprintf(owner, sizeof(owner), "%u", (unsigned)geteuid());
	parms.r_prog = e->prog;
	parms.r_vers = e->vers;
	parms.r_netid = e->netid;
	parms.r_addr = proc == RPCBPROC_SET ? e->uaddr : no_addr;
	parms.r_owner = owner;
	stat = CLNT_CALL(clnt, proc, (xdrproc_t)xdr_rpcb, (char *)&parms, (xdrproc_t)xdr_bool,
	    (char *)&accepted, tv);
	if (stat == RPC_TIMEDOUT) {
		snprintf(err, errlen, "rpcbind did not answer within the deadline");
		return -ETIMEDOUT;
	}
	if (stat != RPC_SUCCESS) {
		snprintf(err, errlen, "rpcbind: %s", clnt_sperrno(stat));
		return -ECOMM;
	}
	if (!accepted && proc == RPCBPROC_SET) {
		snprintf(err, errlen, "rpcbind refused program %u version %u on %s at %s",
		    (unsigned)e->prog, (unsigned)e->vers, e->netid, e->uaddr);
		return -EACCES;
	}
	return 0; /* UNSET of a mapping that is gone already is fine */
}

static bool repeats_earlier(const struct rpx_rpcbind_entry *entries, size_t i)
{
	for (size_t j = 0; j < i; j++)
		if (entries[j].prog == entries[i].prog && entries[j].vers == entries[i].vers &&
		    strcmp(entries[j].netid, entries[i].netid) == 0)
			return true;
	return false;
}

/*
 * SETs (@set) or UNSETs the entries to do: on SET those not repeating an
 * earlier one, each after an UNSET of a stale mapping as svc_reg() does; on
 * UNSET those registered. Returns the first error; stops once the deadline
 * is spent or rpcbind is gone.
 */
static int rpcbind_apply(struct rpx_rpcbind_entry *entries, size_t n, bool set, unsigned timeout_ms,
    char *err, size_t errlen)
{
	int64_t deadline = now_ms() + timeout_ms;
	size_t todo = 0;
	CLIENT *clnt;
	int rc = 0;

	for (size_t i = 0; i < n; i++)
		todo += set || entries[i].registered;
	if (todo == 0)
		return 0;
	if ((clnt = rpcbind_client(deadline, &rc, err, errlen)) == NULL)
		return rc;
	for (size_t i = 0; i < n; i++) {
		int one;

		if (set ? repeats_earlier(entries, i) : !entries[i].registered)
			continue;
		one = rpcbind_call(clnt, RPCBPROC_UNSET, &entries[i], deadline, err, errlen);
		if (one == 0 && set)
			one = rpcbind_call(clnt, RPCBPROC_SET, &entries[i], deadline, err, errlen);
		if (one == 0)
			entries[i].registered = set;
		else if (rc == 0)
			rc = one;
		if (one == -ETIMEDOUT || one == -ECOMM)
			break;
	}
	CLNT_DESTROY(clnt);
	return rc;
}

int rpx_rpcbind_register(struct rpx_rpcbind_entry *entries, size_t n, unsigned timeout_ms,
    char *err, size_t errlen)
{
	for (size_t i = 0; i < n; i++)
		entries[i].registered = false;
	return rpcbind_apply(entries, n, true, timeout_ms, err, errlen);
}

int rpx_rpcbind_unregister(struct rpx_rpcbind_entry *entries, size_t n, unsigned timeout_ms,
    char *err, size_t errlen)
{
	return rpcbind_apply(entries, n, false, timeout_ms, err, errlen);
}
