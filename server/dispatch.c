/*
 * dispatch.c: from one received message to one reply (or a kept call).
 *
 * The order of checks follows RFC 5531 §9: RPC version, then the
 * credential, then program, version and procedure, then the arguments.
 * Each failure has one exit, one reply builder and one counter, so every
 * error a peer can provoke is visible in the statistics.
 */
#include <stdlib.h>
#include <string.h>

#include "dispatch.h"
#include "log.h"
#include "proc.h"
#include <arpa/inet.h>
#include <sys/time.h>

#define PROGRAMS_MAX 32
#define REPLY_STACK_BYTES 4096

struct rpx_dispatch {
	struct rpx_drc *drc;
	const struct rpx_program *programs[PROGRAMS_MAX];
	size_t nprograms;
	struct rpx_dispatch_stats stats;
};

struct rpx_dispatch *rpx_dispatch_new(struct rpx_drc *drc)
{
	struct rpx_dispatch *d = calloc(1, sizeof(struct rpx_dispatch));

	if (d != NULL)
		d->drc = drc;
	return d;
}

void rpx_dispatch_free(struct rpx_dispatch *d)
{
	free(d);
}

int rpx_dispatch_add(struct rpx_dispatch *d, const struct rpx_program *program)
{
	if (d->nprograms == PROGRAMS_MAX)
		return -ENOSPC;
	for (size_t i = 0; i < d->nprograms; i++) {
		if (d->programs[i]->prog == program->prog && d->programs[i]->vers == program->vers)
			return -EEXIST;
	}
	d->programs[d->nprograms++] = program;
	return 0;
}

const struct rpx_dispatch_stats *rpx_dispatch_stats(const struct rpx_dispatch *d)
{
	return &d->stats;
}

void rpx_xprt_init(struct rpx_xprt *xprt, const struct rpx_xprt_ops *ops, const char *kind)
{
	memset(xprt, 0, sizeof(*xprt));
	xprt->ops = ops;
	xprt->kind = kind;
	TAILQ_INIT(&xprt->calls);
}

/*
 * Encodes a reply with @encode and hands it to the transport: into a stack
 * buffer when it fits (every reply but bulk data), else into an evbuffer.
 */
struct reply_job {
	uint32_t xid;
	int kind; /* 0 accepted, 1 rpc mismatch, 2 auth error */
	enum accept_stat stat;
	enum auth_stat why;
	xdrproc_t xdr_res;
	void *res;
	uint32_t low, high;
	const struct opaque_auth *verf;
};

static int encode_job(XDR *xdrs, const struct reply_job *j)
{
	switch (j->kind) {
	case 1:
		return rpx_rpcmsg_encode_rpc_mismatch(xdrs, j->xid, j->low, j->high);
	case 2:
		return rpx_rpcmsg_encode_auth_error(xdrs, j->xid, j->why);
	default:
		return rpx_rpcmsg_encode_accepted(xdrs, j->xid, j->verf, j->stat, j->xdr_res,
		    j->res, j->low, j->high);
	}
}

static void send_reply_rec(struct rpx_dispatch *d, struct rpx_xprt *xprt,
    const struct sockaddr *peer, socklen_t peerlen, const struct reply_job *j,
    struct rpx_drc_entry *rec);

static void send_reply(struct rpx_dispatch *d, struct rpx_xprt *xprt, const struct sockaddr *peer,
    socklen_t peerlen, const struct reply_job *j)
{
	send_reply_rec(d, xprt, peer, peerlen, j, NULL);
}

/* Encodes and sends a reply; with @rec, records its bytes in the DRC too. */
static void send_reply_rec(struct rpx_dispatch *d, struct rpx_xprt *xprt,
    const struct sockaddr *peer, socklen_t peerlen, const struct reply_job *j,
    struct rpx_drc_entry *rec)
{
	char buf[RPX_XPRT_HEADROOM + REPLY_STACK_BYTES];
	XDR xdrs;
	int err;

	xdrmem_create(&xdrs, buf + RPX_XPRT_HEADROOM, REPLY_STACK_BYTES, XDR_ENCODE);
	err = encode_job(&xdrs, j);
	if (err == 0) {
		size_t len = xdr_getpos(&xdrs);

		xdr_destroy(&xdrs);
		if (rec != NULL)
			rpx_drc_complete(d->drc, rec, buf + RPX_XPRT_HEADROOM, len);
		xprt->ops->send(xprt, peer, peerlen, buf + RPX_XPRT_HEADROOM, len);
		d->stats.replies++;
		if (j->kind == 0 && j->stat == SUCCESS)
			d->stats.success++;
		return;
	}
	xdr_destroy(&xdrs);

	struct evbuffer *eb = evbuffer_new();
	struct rpx_xdrenc enc;

	if (eb == NULL) {
		log_warnx("%s: reply to xid %u: out of memory", xprt->kind, j->xid);
		return;
	}
	rpx_xdrenc_create(&enc, eb);
	err = encode_job(&enc.xdr, j);
	rpx_xdrenc_finish(&enc);
	if (err == 0) {
		if (rec != NULL) {
			const void *p = evbuffer_pullup(eb, -1);

			if (p != NULL)
				rpx_drc_complete(d->drc, rec, p, evbuffer_get_length(eb));
			else
				rpx_drc_abort(d->drc, rec);
		}
		xprt->ops->send_buffer(xprt, peer, peerlen, eb);
		d->stats.replies++;
		if (j->kind == 0 && j->stat == SUCCESS)
			d->stats.success++;
	} else {
		/* The result routine refused its own data: a service bug. */
		log_warnx("%s: reply to xid %u does not encode", xprt->kind, j->xid);
		evbuffer_free(eb);
		eb = NULL;
		if (j->kind == 0 && j->stat == SUCCESS) {
			struct reply_job sys = {.xid = j->xid, .stat = SYSTEM_ERR};

			d->stats.system_err++;
			send_reply_rec(d, xprt, peer, peerlen, &sys, rec);
		}
	}
	if (eb != NULL)
		evbuffer_free(eb);
}

static void reply_accepted(struct rpx_dispatch *d, struct rpx_xprt *xprt,
    const struct sockaddr *peer, socklen_t peerlen, uint32_t xid, enum accept_stat stat,
    uint32_t low, uint32_t high)
{
	struct reply_job j = {.xid = xid, .stat = stat, .low = low, .high = high};

	send_reply(d, xprt, peer, peerlen, &j);
}

static void reply_auth_error(struct rpx_dispatch *d, struct rpx_xprt *xprt,
    const struct sockaddr *peer, socklen_t peerlen, uint32_t xid, enum auth_stat why)
{
	struct reply_job j = {.xid = xid, .kind = 2, .why = why};

	d->stats.auth_error++;
	send_reply(d, xprt, peer, peerlen, &j);
}

/* RFC 5531 §8.2 / §10: AUTH_NONE carries no body; AUTH_SYS one authsys_parms. */
static int check_auth(const struct rpx_callhdr *h, struct rpx_cred *cred, enum auth_stat *why)
{
	const struct opaque_auth *c = &h->msg.rm_call.cb_cred;
	const struct opaque_auth *v = &h->msg.rm_call.cb_verf;

	cred->flavor = c->oa_flavor;
	switch (c->oa_flavor) {
	case AUTH_NONE:
		if (c->oa_length != 0)
			goto badcred;
		break;
	case AUTH_SYS:
		if (rpx_rpcmsg_decode_authsys(c, &cred->sys) < 0)
			goto badcred;
		break;
	case RPX_AUTH_TLS:
		/* RFC 9289 §4.1: the probe: empty body, NULL procedure, clear text. */
		if (c->oa_length != 0 || h->msg.rm_call.cb_proc != 0 || cred->tls)
			goto badcred;
		break;
	default:
		goto badcred;
	}
	if (v->oa_flavor != AUTH_NONE || v->oa_length != 0) {
		*why = AUTH_BADVERF;
		return -EACCES;
	}
	return 0;
badcred:
	*why = AUTH_BADCRED;
	return -EACCES;
}

static void call_free(struct rpx_call *call)
{
	struct rpx_xprt *xprt = call->xprt;

	if (call->drc_entry != NULL)
		rpx_drc_abort(call->dispatch->drc, call->drc_entry);
	if (call->args != NULL && call->pi->xdr_args != NULL)
		xdr_free(call->pi->xdr_args, call->args);
	TAILQ_REMOVE(&xprt->calls, call, link);
	xprt->inflight--;
	free(call);
	xprt->ops->call_done(xprt);
}

void *rpx_call_ctx(const struct rpx_call *call)
{
	return call->program->ctx;
}

void rpx_call_set_cancel(struct rpx_call *call, void (*cancel)(struct rpx_call *, void *),
    void *arg)
{
	call->cancel = cancel;
	call->cancel_arg = arg;
}

void rpx_call_reply(struct rpx_call *call, void *res)
{
	struct reply_job j = {.xid = call->xid,
	    .stat = SUCCESS,
	    .xdr_res = call->pi->xdr_res,
	    .res = res};

	send_reply_rec(call->dispatch, call->xprt, (struct sockaddr *)&call->peer, call->peerlen,
	    &j, call->drc_entry);
	call->drc_entry = NULL;
	call_free(call);
}

void rpx_call_fail(struct rpx_call *call, enum accept_stat stat)
{
	if (stat == SYSTEM_ERR)
		call->dispatch->stats.system_err++;
	else if (stat == GARBAGE_ARGS)
		call->dispatch->stats.garbage_args++;
	struct reply_job j = {.xid = call->xid, .stat = stat};

	send_reply_rec(call->dispatch, call->xprt, (struct sockaddr *)&call->peer, call->peerlen,
	    &j, call->drc_entry);
	call->drc_entry = NULL;
	call_free(call);
}

void rpx_call_deny(struct rpx_call *call, enum auth_stat why)
{
	struct reply_job j = {.xid = call->xid, .kind = 2, .why = why};

	call->dispatch->stats.auth_error++;
	send_reply_rec(call->dispatch, call->xprt, (struct sockaddr *)&call->peer, call->peerlen,
	    &j, call->drc_entry);
	call->drc_entry = NULL;
	call_free(call);
}

void rpx_xprt_cancel_all(struct rpx_xprt *xprt)
{
	struct rpx_call *call;

	while ((call = TAILQ_FIRST(&xprt->calls)) != NULL) {
		call->dispatch->stats.cancelled++;
		if (call->cancel != NULL)
			call->cancel(call, call->cancel_arg);
		call_free(call);
	}
}

/*
 * At most once: looks the call up in the duplicate request cache. Returns 0
 * to run it (its record is then completed with the reply), or 1 when it was
 * answered from the record, refused, or dropped, and freed.
 */
static int drc_check(struct rpx_dispatch *d, struct rpx_call *call, uint64_t identity,
    const void *args, size_t argslen)
{
	const rpx_reqid *rid = call->args; /* RPX_PROC_MUTATING: arguments begin with it */
	uint64_t client = rid->client, seq = rid->seq;
	const void *reply;
	size_t len;
	struct timeval now;
	struct rpx_drc_entry *entry;
	enum rpx_drc_verdict verdict;

	if (client != 0) {
		/* The caller's identity is part of the key. */
		uint64_t h = rpx_drc_hash(RPX_DRC_HASH_INIT, &client, sizeof(client));

		client = rpx_drc_hash(h, &identity, sizeof(identity));
		if (client == 0)
			client = 1;
	} else {
		/* No request ID: the NFS-style key. */
		uint64_t h = RPX_DRC_HASH_INIT;
		uint32_t words[3] = {call->xid, call->program->prog, call->program->vers};

		h = rpx_drc_hash(h, call->xprt->peer,
		    strnlen(call->xprt->peer, sizeof(call->xprt->peer)));
		if (call->peerlen > 0)
			h = rpx_drc_hash(h, &call->peer, call->peerlen);
		h = rpx_drc_hash(h, words, sizeof(words));
		h = rpx_drc_hash(h, &identity, sizeof(identity));
		h = rpx_drc_hash(h, &call->proc, sizeof(call->proc));
		seq = rpx_drc_hash(h, args, argslen);
	}
	gettimeofday(&now, NULL);
	verdict = rpx_drc_begin(d->drc, client, seq, rid->acked, now.tv_sec, &entry, &reply, &len);
	switch (verdict) {
	case RPX_DRC_NEW:
		call->drc_entry = entry;
		return 0;
	case RPX_DRC_REPLAY: {
		char buf[RPX_XPRT_HEADROOM + REPLY_STACK_BYTES];
		uint32_t xid = htonl(call->xid);
		char *copy = len <= REPLY_STACK_BYTES ? buf : malloc(RPX_XPRT_HEADROOM + len);

		/* The recorded reply, byte for byte, under this call's XID. */
		if (copy != NULL && len >= sizeof(xid)) {
			memcpy(copy + RPX_XPRT_HEADROOM, reply, len);
			memcpy(copy + RPX_XPRT_HEADROOM, &xid, sizeof(xid));
			call->xprt->ops->send(call->xprt, (struct sockaddr *)&call->peer,
			    call->peerlen, copy + RPX_XPRT_HEADROOM, len);
			d->stats.replies++;
		}
		if (copy != buf)
			free(copy);
		call_free(call);
		return 1;
	}
	case RPX_DRC_IN_PROGRESS:
		call_free(call);
		return 1;
	case RPX_DRC_LATE:
	case RPX_DRC_FORGOTTEN:
	case RPX_DRC_FULL:
	case RPX_DRC_UNKNOWN:
		break;
	}
	/* Refused, not run: the result says why (its first member is an rpx_status). */
	rpx_status *st = call->res;
	struct reply_job j = {.xid = call->xid,
	    .stat = SUCCESS,
	    .xdr_res = call->pi->xdr_res,
	    .res = call->res};
	char msg[200];

	if (verdict == RPX_DRC_FORGOTTEN) {
		st->error = ESTALE;
		snprintf(msg, sizeof(msg),
		    "request %llu of client %016llx not run: it may have run already and its record "
		    "is no longer kept",
		    (unsigned long long)seq, (unsigned long long)client);
	} else if (verdict == RPX_DRC_LATE) {
		st->error = ESTALE;
		snprintf(msg, sizeof(msg),
		    "request %llu of client %016llx not run again: the client acknowledged its reply",
		    (unsigned long long)seq, (unsigned long long)client);
	} else if (verdict == RPX_DRC_UNKNOWN) {
		st->error = ESTALE;
		snprintf(msg, sizeof(msg),
		    "request %llu of client %016llx not run again: it started before rpxd restarted "
		    "and its outcome was lost",
		    (unsigned long long)seq, (unsigned long long)client);
	} else {
		st->error = EBUSY;
		snprintf(msg, sizeof(msg),
		    "request not run: the duplicate request cache has no room for another client");
	}
	st->message = msg;
	/* A late duplicate is routine on a lossy network; the rest deserve a warning. */
	if (verdict == RPX_DRC_LATE)
		log_debug("%s: %s %s", call->xprt->peer, call->pi->name, msg);
	else
		log_warnx("%s: %s %s", call->xprt->peer, call->pi->name, msg);
	send_reply(d, call->xprt, (struct sockaddr *)&call->peer, call->peerlen, &j);
	st->message = NULL;
	xdr_free(call->pi->xdr_res, call->res);
	call_free(call);
	return 1;
}

/* Finds the program; for PROG_MISMATCH reports the versions served. */
static const struct rpx_program *find_program(const struct rpx_dispatch *d, uint32_t prog,
    uint32_t vers, bool *prog_known, uint32_t *low, uint32_t *high)
{
	*prog_known = false;
	*low = UINT32_MAX;
	*high = 0;
	for (size_t i = 0; i < d->nprograms; i++) {
		const struct rpx_program *p = d->programs[i];

		if (p->prog != prog)
			continue;
		if (p->vers == vers)
			return p;
		*prog_known = true;
		if (p->vers < *low)
			*low = p->vers;
		if (p->vers > *high)
			*high = p->vers;
	}
	return NULL;
}

void rpx_dispatch_message(struct rpx_dispatch *d, struct rpx_xprt *xprt, const void *msg,
    size_t len, bool truncated, const struct sockaddr *peer, socklen_t peerlen)
{
	struct rpx_callhdr h;
	struct rpx_cred cred;
	const struct rpx_program *program;
	const struct rpx_procinfo *pi;
	struct rpx_call *call;
	uint32_t xid, direction, rpcvers, low, high;
	enum auth_stat why;
	bool prog_known;
	XDR xdrs;
	size_t args_pos;
	int rc;

	if (rpx_rpcmsg_peek(msg, len, &xid, &direction, &rpcvers) < 0 || direction != CALL) {
		/* Nothing to answer: too short to hold a call, or a reply. */
		d->stats.dropped++;
		return;
	}
	d->stats.calls++;
	if (rpcvers != RPX_RPC_VERS) {
		struct reply_job j = {.xid = xid,
		    .kind = 1,
		    .low = RPX_RPC_VERS,
		    .high = RPX_RPC_VERS};

		d->stats.rpc_mismatch++;
		send_reply(d, xprt, peer, peerlen, &j);
		return;
	}

	xdrmem_create(&xdrs, (char *)msg, (u_int)len, XDR_DECODE);
	if (rpx_rpcmsg_decode_call(&xdrs, &h) < 0) {
		/* The credential or verifier does not fit its 400-byte bound. */
		reply_auth_error(d, xprt, peer, peerlen, xid, AUTH_BADCRED);
		goto out;
	}
	cred = xprt->transport_cred;
	if (check_auth(&h, &cred, &why) < 0) {
		reply_auth_error(d, xprt, peer, peerlen, xid, why);
		goto out;
	}
	if (xprt->tls_required && !cred.tls && cred.flavor != RPX_AUTH_TLS) {
		/* --tls-require: nothing in clear text but the probe. */
		log_info("audit: %s: clear-text call refused (--tls-require)", xprt->peer);
		reply_auth_error(d, xprt, peer, peerlen, xid, AUTH_TOOWEAK);
		goto out;
	}
	program = find_program(d, (uint32_t)h.msg.rm_call.cb_prog, (uint32_t)h.msg.rm_call.cb_vers,
	    &prog_known, &low, &high);
	if (program == NULL) {
		if (prog_known) {
			d->stats.prog_mismatch++;
			reply_accepted(d, xprt, peer, peerlen, xid, PROG_MISMATCH, low, high);
		} else {
			d->stats.prog_unavail++;
			reply_accepted(d, xprt, peer, peerlen, xid, PROG_UNAVAIL, 0, 0);
		}
		goto out;
	}
	if (h.msg.rm_call.cb_proc >= program->nprocs ||
	    program->procs[h.msg.rm_call.cb_proc].handler == NULL) {
		d->stats.proc_unavail++;
		reply_accepted(d, xprt, peer, peerlen, xid, PROC_UNAVAIL, 0, 0);
		goto out;
	}
	pi = &program->procs[h.msg.rm_call.cb_proc];
	if (cred.flavor == RPX_AUTH_TLS) {
		/* RFC 9289 §4.1: STARTTLS in the verifier when TLS is on offer. */
		static char starttls[8] = {'S', 'T', 'A', 'R', 'T', 'T', 'L', 'S'};
		struct opaque_auth verf = {AUTH_NONE, starttls, sizeof(starttls)};
		bool offer = xprt->tls_offered && xprt->ops->starttls != NULL;
		struct reply_job j = {.xid = xid, .stat = SUCCESS, .verf = offer ? &verf : NULL};

		if (truncated || xdr_getpos(&xdrs) != len) {
			d->stats.garbage_args++;
			reply_accepted(d, xprt, peer, peerlen, xid, GARBAGE_ARGS, 0, 0);
			goto out;
		}
		send_reply(d, xprt, peer, peerlen, &j);
		log_info("audit: %s: AUTH_TLS probe answered %s", xprt->peer,
		    offer ? "STARTTLS" : "without TLS (not configured here)");
		if (offer)
			xprt->ops->starttls(xprt);
		goto out;
	}

	call = calloc(1, sizeof(*call) + pi->args_size + pi->res_size + 16);
	if (call == NULL) {
		d->stats.system_err++;
		reply_accepted(d, xprt, peer, peerlen, xid, SYSTEM_ERR, 0, 0);
		goto out;
	}
	call->dispatch = d;
	call->xprt = xprt;
	call->program = program;
	call->pi = pi;
	call->xid = xid;
	call->proc = (uint32_t)h.msg.rm_call.cb_proc;
	call->cred = cred;
	if (peer != NULL && peerlen <= sizeof(call->peer)) {
		memcpy(&call->peer, peer, peerlen);
		call->peerlen = peerlen;
	}
	call->args = (char *)(call + 1);
	call->res = (char *)call->args + ((pi->args_size + 15) & ~(size_t)15);
	TAILQ_INSERT_TAIL(&xprt->calls, call, link);
	xprt->inflight++;

	args_pos = xdr_getpos(&xdrs);
	/* RFC 5531 §9: arguments that do not decode, or bytes left after them. */
	if (truncated || (pi->xdr_args != NULL && !pi->xdr_args(&xdrs, call->args)) ||
	    xdr_getpos(&xdrs) != len) {
		rpx_call_fail(call, GARBAGE_ARGS);
		goto out;
	}

	if (pi->flags & RPX_PROC_MUTATING) {
		uint64_t identity = 0;
		int refused = program->authorize != NULL ? program->authorize(call, &identity) : 0;

		/* Refused callers never reach the cache: they can neither fill it nor
		 * read another caller's recorded replies. */
		if (refused != 0) {
			rpx_call_deny(call, (enum auth_stat)refused);
			goto out;
		}
		if (d->drc != NULL &&
		    drc_check(d, call, identity, (const char *)msg + args_pos, len - args_pos) != 0)
			goto out;
	}

	rc = pi->handler(call, call->args, call->res);
	if (rc == RPX_REPLIED) {
		/* Answered and freed by the handler. */
	} else if (rc == RPX_PENDING) {
		if (call->cancel == NULL)
			log_warnx("%s: procedure %s kept a call without a cancel hook",
			    program->name, pi->name);
	} else if (rc < 0) {
		rpx_call_fail(call, SYSTEM_ERR);
	} else {
		struct reply_job j = {.xid = xid,
		    .stat = SUCCESS,
		    .xdr_res = pi->xdr_res,
		    .res = call->res};

		send_reply_rec(d, xprt, peer, peerlen, &j, call->drc_entry);
		call->drc_entry = NULL;
		if (!(pi->flags & RPX_PROC_RES_STATIC) && pi->xdr_res != NULL)
			xdr_free(pi->xdr_res, call->res);
		call_free(call);
	}
out:
	xdr_destroy(&xdrs);
}
