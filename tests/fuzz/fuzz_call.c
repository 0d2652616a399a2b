/*
 * fuzz_call.c: one message, as a stream record or a datagram would carry
 * it, through the dispatcher (server/dispatch.c) with the DATE program and
 * MUT, a mutating test program behind a duplicate request cache, registered,
 * over a transport that captures what is sent back.
 *
 * Invariants: a message is either dropped (no reply, counted as dropped) or
 * answered exactly once; the reply decodes with xdr_replymsg, carries the
 * call's XID, and is all used up, results included; no call stays in
 * flight. The answer is the one RFC 5531 gives, as worked out here apart
 * from the code under test (expect_of). Each input runs three times on a
 * fresh dispatcher: as is; again, when a MUT call must be answered from the
 * cache, byte for byte, without running twice; and marked as cut by the
 * transport (never SUCCESS then).
 */
#include <string.h>
#include <arpa/inet.h>

#include "dispatch.h"
#include "drc.h"
#include "proc.h"
#include "fuzz_target.h"
#include "log.h"
#include "svc_date.h"

struct capture {
	struct rpx_xprt xprt; /* first: the dispatcher's view */
	unsigned replies;
	uint8_t reply[65536];
	size_t reply_len;
};

static void keep(struct capture *c, const void *msg, size_t len)
{
	FUZZ_ASSERT(len <= sizeof(c->reply));
	memcpy(c->reply, msg, len);
	c->reply_len = len;
	c->replies++;
}

static void cap_send(struct rpx_xprt *xprt, const struct sockaddr *peer, socklen_t peerlen,
    char *msg, size_t len)
{
	/* The headroom is the transport's to write (a record mark). */
	memset(msg - RPX_XPRT_HEADROOM, 0xee, RPX_XPRT_HEADROOM);
	keep((struct capture *)xprt, msg, len);
}

static void cap_send_buffer(struct rpx_xprt *xprt, const struct sockaddr *peer, socklen_t peerlen,
    struct evbuffer *msg)
{
	size_t len = evbuffer_get_length(msg);

	keep((struct capture *)xprt, evbuffer_pullup(msg, -1), len);
	evbuffer_drain(msg, len);
}

static void cap_call_done(struct rpx_xprt *xprt)
{
}

static const struct rpx_xprt_ops cap_ops = {
    .send = cap_send,
    .send_buffer = cap_send_buffer,
    .call_done = cap_call_done,
};

/* MUT: a mutating procedure; arguments start with a request ID, results with a status. */
#define MUT_PROG 0x2000999au
#define MUT_PROC 1000 /* expect.proc for MUT's one procedure */
#define MUT_REFUSED 666 /* the value authorize refuses, AUTH_TOOWEAK */

struct mut_args {
	rpx_reqid reqid;
	u_int value;
};

struct mut_res {
	rpx_status status;
	u_int runs;
};

static unsigned mut_runs;
static char empty_message[] = "";

static bool_t xdr_mut_args(XDR *xdrs, struct mut_args *a)
{
	return xdr_rpx_reqid(xdrs, &a->reqid) && xdr_u_int(xdrs, &a->value);
}

static bool_t xdr_mut_res(XDR *xdrs, struct mut_res *r)
{
	return xdr_rpx_status(xdrs, &r->status) && xdr_u_int(xdrs, &r->runs);
}

static int mut_run(struct rpx_call *call, void *args, void *res)
{
	struct mut_res *r = res;

	r->status.error = 0;
	r->status.message = empty_message;
	r->runs = ++mut_runs;
	return 0;
}

static int mut_authorize(const struct rpx_call *call, uint64_t *identity)
{
	if (((const struct mut_args *)call->args)->value == MUT_REFUSED)
		return AUTH_TOOWEAK;
	*identity = call->cred.sys.uid;
	return 0;
}

static const struct rpx_procinfo mut_procs[] = {
    {"MUT", (xdrproc_t)xdr_mut_args, sizeof(struct mut_args), (xdrproc_t)xdr_mut_res,
        sizeof(struct mut_res), mut_run, RPX_PROC_MUTATING | RPX_PROC_RES_STATIC},
};

static const struct rpx_program mut_v1 = {.prog = MUT_PROG,
    .vers = 1,
    .name = "mut",
    .procs = mut_procs,
    .nprocs = 1,
    .authorize = mut_authorize};

/* What RFC 5531 says the answer is, worked out apart from dispatch.c and rpcmsg.c. */
enum outcome {
	DROP, /* no reply */
	DENIED_RPC_MISMATCH,
	DENIED_BADCRED,
	DENIED_BADVERF,
	DENIED_TOOWEAK, /* MUT's authorize refused */
	ANY_ERROR, /* a header that does not decode: any reply but SUCCESS */
	ACCEPTED, /* + accept_stat */
};

struct expect {
	enum outcome outcome;
	enum accept_stat stat;
	long proc;
	uint64_t client; /* MUT: the request ID's client, 0 for none */
};

static bool authsys_ok(const struct opaque_auth *cred)
{
	struct authunix_parms aup;
	char machine[MAX_MACHINE_NAME + 1];
	u_int gids[NGRPS];
	XDR xdrs;
	bool ok;

	memset(&aup, 0, sizeof(aup));
	aup.aup_machname = machine;
	aup.aup_gids = gids;
	xdrmem_create(&xdrs, cred->oa_base, cred->oa_length, XDR_DECODE);
	ok = xdr_authunix_parms(&xdrs, &aup) && xdr_getpos(&xdrs) == cred->oa_length &&
	     aup.aup_len <= 16;
	xdr_destroy(&xdrs);
	return ok;
}

static struct expect expect_of(const uint8_t *data, size_t size, bool truncated)
{
	char cred[MAX_AUTH_BYTES], verf[MAX_AUTH_BYTES];
	struct expect e = {.outcome = ACCEPTED, .proc = -1};
	rpx_date_format_args args;
	struct mut_args margs;
	bool ok, tls_probe;
	struct rpc_msg m;
	XDR xdrs;

	if (size < 12 || data[4] != 0 || data[5] != 0 || data[6] != 0 || data[7] != CALL) {
		e.outcome = DROP;
		return e;
	}
	if (data[8] != 0 || data[9] != 0 || data[10] != 0 || data[11] != 2) {
		e.outcome = DENIED_RPC_MISMATCH;
		return e;
	}
	memset(&m, 0, sizeof(m));
	m.rm_call.cb_cred.oa_base = cred;
	m.rm_call.cb_verf.oa_base = verf;
	xdrmem_create(&xdrs, (char *)data, (u_int)size, XDR_DECODE);
	ok = xdr_callmsg(&xdrs, &m);
	/* RFC 9289 §4.1: AUTH_TLS with no body on a NULL procedure is the TLS probe. */
	tls_probe = ok && m.rm_call.cb_cred.oa_flavor == 7 && m.rm_call.cb_cred.oa_length == 0 &&
	            m.rm_call.cb_proc == 0;
	if (!ok)
		e.outcome = ANY_ERROR;
	else if (!(m.rm_call.cb_cred.oa_flavor == AUTH_NONE && m.rm_call.cb_cred.oa_length == 0) &&
	         !(m.rm_call.cb_cred.oa_flavor == AUTH_SYS && authsys_ok(&m.rm_call.cb_cred)) &&
	         !tls_probe)
		e.outcome = DENIED_BADCRED;
	else if (m.rm_call.cb_verf.oa_flavor != AUTH_NONE || m.rm_call.cb_verf.oa_length != 0)
		e.outcome = DENIED_BADVERF;
	else if (m.rm_call.cb_prog != RPX_DATE_PROG && m.rm_call.cb_prog != MUT_PROG)
		e.stat = PROG_UNAVAIL;
	else if (m.rm_call.cb_vers != 1)
		e.stat = PROG_MISMATCH;
	else if (tls_probe) {
		/*
		 * RFC 9289 §4.1: the probe is answered at once, an empty SUCCESS
		 * (STARTTLS in the verifier when TLS is on offer: not here); a
		 * probe the transport had to cut is GARBAGE_ARGS like any cut call.
		 */
		e.stat = truncated || xdr_getpos(&xdrs) != size ? GARBAGE_ARGS : SUCCESS;
	} else if (m.rm_call.cb_prog == MUT_PROG) {
		if (m.rm_call.cb_proc != 0)
			e.stat = PROC_UNAVAIL;
		else if (truncated || !xdr_mut_args(&xdrs, &margs) || xdr_getpos(&xdrs) != size)
			e.stat = GARBAGE_ARGS;
		else if (margs.value == MUT_REFUSED)
			e.outcome = DENIED_TOOWEAK;
		else {
			e.stat = SUCCESS;
			e.proc = MUT_PROC;
			e.client = margs.reqid.client;
		}
	} else if (m.rm_call.cb_proc > RPX_DATE_FORMAT)
		e.stat = PROC_UNAVAIL;
	else if (truncated)
		e.stat = GARBAGE_ARGS;
	else {
		e.proc = (long)m.rm_call.cb_proc;
		e.stat = SUCCESS;
		if (e.proc == RPX_DATE_FORMAT && !xdr_rpx_date_format_args(&xdrs, &args))
			e.stat = GARBAGE_ARGS;
		else if (xdr_getpos(&xdrs) != size)
			e.stat = GARBAGE_ARGS;
	}
	xdr_destroy(&xdrs);
	return e;
}

/* Decodes the captured reply; returns its accept_stat, or -1 when denied. */
static int check_reply(const struct capture *c, uint32_t xid, const struct expect *e)
{
	rpx_date_now_res now;
	rpx_date_format_res fmt;
	struct mut_res mres;
	struct rpc_msg r;
	XDR xdrs;
	int stat;

	memset(&r, 0, sizeof(r));
	memset(&now, 0, sizeof(now));
	memset(&fmt, 0, sizeof(fmt));
	memset(&mres, 0, sizeof(mres));
	r.acpted_rply.ar_results.proc = (xdrproc_t)xdr_void;
	long proc = e->proc;

	if (proc == RPX_DATE_NOW) {
		r.acpted_rply.ar_results.proc = (xdrproc_t)xdr_rpx_date_now_res;
		r.acpted_rply.ar_results.where = (caddr_t)&now;
	} else if (proc == RPX_DATE_FORMAT) {
		r.acpted_rply.ar_results.proc = (xdrproc_t)xdr_rpx_date_format_res;
		r.acpted_rply.ar_results.where = (caddr_t)&fmt;
	} else if (proc == MUT_PROC) {
		r.acpted_rply.ar_results.proc = (xdrproc_t)xdr_mut_res;
		r.acpted_rply.ar_results.where = (caddr_t)&mres;
	}
	xdrmem_create(&xdrs, (char *)c->reply, (u_int)c->reply_len, XDR_DECODE);
	FUZZ_ASSERT(xdr_replymsg(&xdrs, &r));
	FUZZ_ASSERT(r.rm_xid == xid);
	FUZZ_ASSERT(r.rm_direction == REPLY);
	stat = r.rm_reply.rp_stat == MSG_ACCEPTED ? (int)r.acpted_rply.ar_stat : -1;
	switch (e->outcome) {
	case DROP:
		FUZZ_ASSERT(0 && "a reply to a message that should be dropped");
		break;
	case DENIED_RPC_MISMATCH:
		FUZZ_ASSERT(stat == -1 && r.rjcted_rply.rj_stat == RPC_MISMATCH);
		break;
	case DENIED_BADCRED:
	case DENIED_BADVERF:
	case DENIED_TOOWEAK:
		FUZZ_ASSERT(stat == -1 && r.rjcted_rply.rj_stat == AUTH_ERROR);
		FUZZ_ASSERT(
		    r.rjcted_rply.rj_why == (e->outcome == DENIED_BADCRED      ? AUTH_BADCRED
		                                : e->outcome == DENIED_BADVERF ? AUTH_BADVERF
		                                                               : AUTH_TOOWEAK));
		break;
	case ANY_ERROR:
		FUZZ_ASSERT(stat != SUCCESS);
		break;
	case ACCEPTED:
		FUZZ_ASSERT(stat == (int)e->stat);
		break;
	}
	if (stat == SUCCESS || stat == -1 || stat == PROG_MISMATCH || stat == PROG_UNAVAIL ||
	    stat == PROC_UNAVAIL || stat == GARBAGE_ARGS || stat == SYSTEM_ERR)
		FUZZ_ASSERT(xdr_getpos(&xdrs) == c->reply_len);
	else
		FUZZ_ASSERT(0 && "unknown accept_stat");
	if (stat == PROG_MISMATCH) /* both programs serve version 1 only */
		FUZZ_ASSERT(r.acpted_rply.ar_vers.low == 1 && r.acpted_rply.ar_vers.high == 1);
	if (stat == -1 && r.rjcted_rply.rj_stat == RPC_MISMATCH)
		FUZZ_ASSERT(r.rjcted_rply.rj_vers.low == 2 && r.rjcted_rply.rj_vers.high == 2);
	if (stat == SUCCESS && proc == RPX_DATE_FORMAT && fmt.error == 0)
		FUZZ_ASSERT(fmt.rpx_date_format_res_u.time.nanoseconds < 1000000000u);
	xdr_destroy(&xdrs);
	if (stat == SUCCESS && proc == RPX_DATE_NOW)
		xdr_free((xdrproc_t)xdr_rpx_date_now_res, (char *)&now);
	if (stat == SUCCESS && proc == RPX_DATE_FORMAT)
		xdr_free((xdrproc_t)xdr_rpx_date_format_res, (char *)&fmt);
	if (stat == SUCCESS && proc == MUT_PROC) {
		/* A fresh cache: the first call ran, its repeats show the same count. */
		FUZZ_ASSERT(mres.status.error == 0 && mres.runs == 1);
		xdr_free((xdrproc_t)xdr_mut_res, (char *)&mres);
	}
	return stat;
}

static int run_one(struct rpx_dispatch *d, struct capture *c, const uint8_t *data, size_t size,
    bool truncated)
{
	struct rpx_dispatch_stats before = *rpx_dispatch_stats(d);
	const struct rpx_dispatch_stats *after;
	struct expect e = expect_of(data, size, truncated);
	uint32_t xid = 0;

	c->replies = 0;
	rpx_dispatch_message(d, &c->xprt, data, size, truncated, NULL, 0);
	after = rpx_dispatch_stats(d);
	FUZZ_ASSERT(c->xprt.inflight == 0 && TAILQ_EMPTY(&c->xprt.calls));
	if (e.outcome == DROP) {
		FUZZ_ASSERT(after->dropped == before.dropped + 1);
		FUZZ_ASSERT(c->replies == 0 && after->calls == before.calls);
		return -2;
	}
	FUZZ_ASSERT(after->dropped == before.dropped);
	FUZZ_ASSERT(after->calls == before.calls + 1);
	FUZZ_ASSERT(c->replies == 1 && after->replies == before.replies + 1);
	memcpy(&xid, data, 4);
	return check_reply(c, ntohl(xid), &e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct rpx_drc_config cfg = {.path = NULL,
	    .max_entries = 16,
	    .max_bytes = 65536,
	    .max_clients = 4,
	    .client_ttl = 3600};
	static struct capture c;
	static uint8_t first[sizeof(c.reply)];
	struct rpx_dispatch *d;
	struct rpx_drc *drc;
	size_t first_len;
	struct expect e;
	int stat;

	rpx_log_threshold = RPX_LOG_ERROR;
	drc = rpx_drc_new(&cfg);
	d = rpx_dispatch_new(drc);
	FUZZ_ASSERT(drc != NULL && d != NULL);
	FUZZ_ASSERT(rpx_dispatch_add(d, &rpx_svc_date_v1) == 0);
	FUZZ_ASSERT(rpx_dispatch_add(d, &mut_v1) == 0);
	rpx_xprt_init(&c.xprt, &cap_ops, "fuzz");
	mut_runs = 0;

	stat = run_one(d, &c, data, size, false);
	first_len = c.replies > 0 ? c.reply_len : 0;
	memcpy(first, c.reply, first_len);
	e = expect_of(data, size, false);
	if (e.proc == MUT_PROC && e.client != 0) {
		/* A request ID names the request, whatever the XID of the retransmission. */
		uint8_t *again = malloc(size), flipped = first[0] ^ 0xffu;

		FUZZ_ASSERT(again != NULL);
		memcpy(again, data, size);
		again[0] ^= 0xff;
		FUZZ_ASSERT(run_one(d, &c, again, size, false) == SUCCESS);
		FUZZ_ASSERT(c.reply[0] == flipped);
		free(again);
	} else {
		run_one(d, &c, data, size, false);
	}
	if (e.proc == MUT_PROC) {
		/* At most once: the repeat is answered from the record, byte for byte. */
		FUZZ_ASSERT(stat == SUCCESS && mut_runs == 1);
		FUZZ_ASSERT(
		    c.reply_len == first_len && memcmp(c.reply + 1, first + 1, first_len - 1) == 0);
		FUZZ_ASSERT(rpx_drc_stats(drc)->hits == 1);
	}
	e = expect_of(data, size, true);
	FUZZ_ASSERT(run_one(d, &c, data, size, true) != SUCCESS);
	rpx_xprt_cancel_all(&c.xprt);
	rpx_dispatch_free(d);
	rpx_drc_free(drc);
	return 0;
}
