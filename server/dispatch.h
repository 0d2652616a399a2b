/*
 * dispatch.h: the generic RPC dispatcher and the call object handlers see.
 *
 * A transport hands the dispatcher one whole message (a record, or a
 * datagram). The dispatcher decodes the call header, checks the credential,
 * finds (program, version, procedure) in the tables the services
 * registered, decodes the arguments with the rpcgen routine and runs the
 * handler. Every way a call can fail maps to the RFC 5531 reply for it.
 *
 * A handler either answers at once (returns 0 with the result filled in) or
 * keeps the call (returns RPX_PENDING after rpx_call_set_cancel()) and
 * answers later from another event with rpx_call_reply(). If the call's
 * transport goes away first, the cancel hook runs and the call is freed:
 * after that the service must forget the call.
 */
#ifndef RPX_DISPATCH_H
#define RPX_DISPATCH_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <rpc/rpc.h>
#include <event2/buffer.h>

#include "rpcmsg.h"
#include "xdr_evbuf.h"
#include "drc.h"

#define RPX_PENDING 1 /* the handler keeps the call and answers later */
#define RPX_REPLIED 2 /* the handler answered already (rpx_call_deny, rpx_call_fail) */

/* Bytes every transport may write in front of an encoded message (record mark). */
#define RPX_XPRT_HEADROOM 4

struct rpx_call;

typedef int (*rpx_handler_fn)(struct rpx_call *call, void *args, void *res);

struct rpx_procinfo {
	const char *name;
	xdrproc_t xdr_args;
	size_t args_size;
	xdrproc_t xdr_res;
	size_t res_size;
	rpx_handler_fn handler;
	unsigned flags;
};

#define RPX_PROC_RES_STATIC 0x1 /* the result points into storage the service keeps */
#define RPX_PROC_MUTATING 0x2 /* not idempotent: goes through the duplicate request cache */

struct rpx_program {
	uint32_t prog;
	uint32_t vers;
	const char *name; /* for logs: "date" */
	const struct rpx_procinfo *procs; /* indexed by procedure number */
	uint32_t nprocs;
	void *ctx; /* the service's own state, rpx_call_ctx() */
	/*
	 * For RPX_PROC_MUTATING procedures, before the duplicate request cache:
	 * 0 to go on, or the auth_stat to refuse the call with. It also names
	 * the caller (*@identity), so that one caller's request IDs never
	 * match another's records.
	 */
	int (*authorize)(const struct rpx_call *call, uint64_t *identity);
};

/* Who is calling: the RPC credential, plus what the transport proves. */
struct rpx_cred {
	uint32_t flavor; /* AUTH_NONE or AUTH_SYS */
	struct rpx_authsys sys;
	bool tls; /* the call came inside a TLS session */
	bool tls_mapped; /* its verified client certificate maps to tls_uid */
	uid_t tls_uid;
	char tls_id[100]; /* the certificate's SHA-256 fingerprint, for audit lines */
	bool peer_known; /* a Unix socket: the kernel told the peer's ids */
	uid_t peer_uid;
	gid_t peer_gid;
	pid_t peer_pid;
};

struct rpx_xprt;

struct rpx_xprt_ops {
	/* Sends one reply; @msg has RPX_XPRT_HEADROOM writable bytes before it. */
	void (*send)(struct rpx_xprt *xprt, const struct sockaddr *peer, socklen_t peerlen,
	    char *msg, size_t len);
	/* Sends one reply held in @msg (drained). */
	void (*send_buffer)(struct rpx_xprt *xprt, const struct sockaddr *peer, socklen_t peerlen,
	    struct evbuffer *msg);
	/* A call of this transport finished (answered or cancelled). */
	void (*call_done)(struct rpx_xprt *xprt);
	/*
	 * RFC 9289: the AUTH_TLS probe was answered with STARTTLS; the next
	 * bytes are a TLS handshake. NULL for transports that cannot do TLS.
	 */
	void (*starttls)(struct rpx_xprt *xprt);
};

struct rpx_xprt {
	const struct rpx_xprt_ops *ops;
	const char *kind; /* "tcp", "udp", "unix" */
	TAILQ_HEAD(, rpx_call) calls; /* calls being handled */
	char peer[128]; /* the peer, for logs and the fallback DRC key */
	unsigned inflight;
	bool tls_offered; /* answering the AUTH_TLS probe with STARTTLS */
	bool tls_required; /* clear calls refused (--tls-require) */
	struct rpx_cred transport_cred; /* peer ids of a Unix socket */
};

struct rpx_call {
	TAILQ_ENTRY(rpx_call) link;
	struct rpx_dispatch *dispatch;
	struct rpx_xprt *xprt;
	const struct rpx_program *program;
	const struct rpx_procinfo *pi;
	uint32_t xid;
	uint32_t proc;
	struct rpx_cred cred;
	struct sockaddr_storage peer; /* where a datagram reply goes */
	socklen_t peerlen;
	void (*cancel)(struct rpx_call *call, void *arg);
	void *cancel_arg;
	void *args;
	void *res;
	struct rpx_drc_entry *drc_entry; /* record to complete with the reply */
};

struct rpx_dispatch_stats {
	uint64_t calls; /* call messages received */
	uint64_t replies; /* replies sent */
	uint64_t success; /* SUCCESS replies */
	uint64_t rpc_mismatch;
	uint64_t prog_unavail;
	uint64_t prog_mismatch;
	uint64_t proc_unavail;
	uint64_t garbage_args;
	uint64_t system_err;
	uint64_t auth_error;
	uint64_t dropped; /* messages that could not be answered at all */
	uint64_t cancelled; /* pending calls whose transport went away */
};

struct rpx_dispatch;
struct rpx_drc;

/* @drc may be NULL: mutating calls then run every time they arrive. */
struct rpx_dispatch *rpx_dispatch_new(struct rpx_drc *drc);
void rpx_dispatch_free(struct rpx_dispatch *d);
/* Registers a program version; the table must outlive the dispatcher. 0 or -errno. */
int rpx_dispatch_add(struct rpx_dispatch *d, const struct rpx_program *program);
const struct rpx_dispatch_stats *rpx_dispatch_stats(const struct rpx_dispatch *d);

/*
 * Handles one message received on @xprt. @truncated says the transport had
 * to cut it (a datagram over the size limit): such a call is answered
 * GARBAGE_ARGS once its header is known to be good.
 */
void rpx_dispatch_message(struct rpx_dispatch *d, struct rpx_xprt *xprt, const void *msg,
    size_t len, bool truncated, const struct sockaddr *peer, socklen_t peerlen);

/* Cancels every call still held for @xprt (it is closing). */
void rpx_xprt_cancel_all(struct rpx_xprt *xprt);

void rpx_xprt_init(struct rpx_xprt *xprt, const struct rpx_xprt_ops *ops, const char *kind);

/* For handlers. */
void *rpx_call_ctx(const struct rpx_call *call);
void rpx_call_set_cancel(struct rpx_call *call, void (*cancel)(struct rpx_call *, void *),
    void *arg);
/* Answers a kept call with SUCCESS and @res (not freed), and frees the call. */
void rpx_call_reply(struct rpx_call *call, void *res);
/* Refuses a call with AUTH_ERROR @why (MSG_DENIED), and frees the call. */
void rpx_call_deny(struct rpx_call *call, enum auth_stat why);
/* Answers a kept call with an accept_stat other than SUCCESS, and frees the call. */
void rpx_call_fail(struct rpx_call *call, enum accept_stat stat);

#endif
