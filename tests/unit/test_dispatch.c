/*
 * test_dispatch.c: the RPC dispatcher (server/dispatch.c) over a fake
 * transport whose send operations capture the reply bytes. Every RFC 5531
 * error a peer can provoke gets its reply and bumps exactly its counter;
 * kept calls are answered later or cancelled when the transport goes away.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <netinet/in.h>

#include "dispatch.h"
#include "drc.h"
#include "proc.h"
#include "log.h"
#include "svc_date.h"
#include "unit.h"

#define TEST_PROG 0x20009999u

/* The transport: remembers the last reply and counts every operation. */
struct capture {
	struct rpx_xprt xprt; /* first: the dispatcher's view */
	unsigned nsend, nsend_buffer, ncall_done;
	unsigned char *reply;
	size_t reply_len;
	struct sockaddr_storage peer;
	socklen_t peerlen;
	bool peer_null;
};

static void keep_reply(struct capture *c, const struct sockaddr *peer, socklen_t peerlen,
    const void *msg, size_t len)
{
	free(c->reply);
	c->reply = malloc(len > 0 ? len : 1);
	memcpy(c->reply, msg, len);
	c->reply_len = len;
	c->peer_null = peer == NULL;
	c->peerlen = peerlen;
	if (peer != NULL && peerlen <= sizeof(c->peer))
		memcpy(&c->peer, peer, peerlen);
}

static void cap_send(struct rpx_xprt *xprt, const struct sockaddr *peer, socklen_t peerlen,
    char *msg, size_t len)
{
	struct capture *c = (struct capture *)xprt;

	/* The headroom is the transport's to write, as conn.c does. */
	memcpy(msg - RPX_XPRT_HEADROOM, "HDR!", RPX_XPRT_HEADROOM);
	c->nsend++;
	keep_reply(c, peer, peerlen, msg, len);
}

static void cap_send_buffer(struct rpx_xprt *xprt, const struct sockaddr *peer, socklen_t peerlen,
    struct evbuffer *msg)
{
	struct capture *c = (struct capture *)xprt;
	size_t len = evbuffer_get_length(msg);

	c->nsend_buffer++;
	keep_reply(c, peer, peerlen, evbuffer_pullup(msg, -1), len);
	evbuffer_drain(msg, len);
}

static void cap_call_done(struct rpx_xprt *xprt)
{
	((struct capture *)xprt)->ncall_done++;
}

static const struct rpx_xprt_ops cap_ops = {
    .send = cap_send,
    .send_buffer = cap_send_buffer,
    .call_done = cap_call_done,
};

static unsigned nstarttls;

static void cap_starttls(struct rpx_xprt *xprt)
{
	nstarttls++;
}

/* A transport that can switch to TLS (RFC 9289). */
static const struct rpx_xprt_ops cap_tls_ops = {
    .send = cap_send,
    .send_buffer = cap_send_buffer,
    .call_done = cap_call_done,
    .starttls = cap_starttls,
};

/* A test program with one procedure per behaviour a handler can have. */
enum {
	P_NULL,
	P_ECHO, /* u_int -> u_int + 1, records the caller's credential */
	P_FAIL, /* handler error: SYSTEM_ERR */
	P_PENDING, /* keeps the call, with a cancel hook */
	P_NOHANDLER, /* a hole in the table */
	P_BIG, /* a result over the dispatcher's stack buffer */
	P_BADRES, /* a result routine that fails */
	P_PENDING_NOHOOK, /* keeps the call without a cancel hook */
	P_DENY, /* refuses the call itself: AUTH_ERROR, RPX_REPLIED */
	P_SELF_FAIL, /* fails the call itself: GARBAGE_ARGS, RPX_REPLIED */
	P_COUNT
};

static struct rpx_cred seen_cred;
static struct rpx_call *kept[8];
static unsigned nkept;
static unsigned ncancel;
static void *cancel_arg_seen;
static char big_data[10000];

static int h_null(struct rpx_call *call, void *args, void *res)
{
	return 0;
}

static int h_echo(struct rpx_call *call, void *args, void *res)
{
	seen_cred = call->cred;
	*(u_int *)res = *(u_int *)args + 1;
	return 0;
}

static int h_fail(struct rpx_call *call, void *args, void *res)
{
	return -EIO;
}

static void on_cancel(struct rpx_call *call, void *arg)
{
	ncancel++;
	cancel_arg_seen = arg;
	for (unsigned i = 0; i < nkept; i++) {
		if (kept[i] == call)
			kept[i] = NULL;
	}
}

static int h_pending(struct rpx_call *call, void *args, void *res)
{
	rpx_call_set_cancel(call, on_cancel, &ncancel);
	kept[nkept++] = call;
	return RPX_PENDING;
}

static int h_pending_nohook(struct rpx_call *call, void *args, void *res)
{
	kept[nkept++] = call;
	return RPX_PENDING;
}

static int h_deny(struct rpx_call *call, void *args, void *res)
{
	rpx_call_deny(call, AUTH_TOOWEAK);
	return RPX_REPLIED;
}

static int h_self_fail(struct rpx_call *call, void *args, void *res)
{
	rpx_call_fail(call, GARBAGE_ARGS);
	return RPX_REPLIED;
}

struct big_res {
	char *data;
	u_int len;
};

static bool_t xdr_big_res(XDR *xdrs, struct big_res *r)
{
	return xdr_bytes(xdrs, &r->data, &r->len, ~0u);
}

static int h_big(struct rpx_call *call, void *args, void *res)
{
	struct big_res *r = res;

	r->data = big_data;
	r->len = sizeof(big_data);
	return 0;
}

static bool_t xdr_refuse(XDR *xdrs, void *p)
{
	return FALSE;
}

static const struct rpx_procinfo test_procs[] = {
    [P_NULL] = {"NULL", NULL, 0, NULL, 0, h_null, 0},
    [P_ECHO] = {"ECHO", (xdrproc_t)xdr_u_int, sizeof(u_int), (xdrproc_t)xdr_u_int, sizeof(u_int),
        h_echo, 0},
    [P_FAIL] = {"FAIL", NULL, 0, NULL, 0, h_fail, 0},
    [P_PENDING] = {"PENDING", (xdrproc_t)xdr_u_int, sizeof(u_int), (xdrproc_t)xdr_u_int,
        sizeof(u_int), h_pending, 0},
    [P_NOHANDLER] = {"NOHANDLER", NULL, 0, NULL, 0, NULL, 0},
    [P_BIG] = {"BIG", NULL, 0, (xdrproc_t)xdr_big_res, sizeof(struct big_res), h_big,
        RPX_PROC_RES_STATIC},
    [P_BADRES] = {"BADRES", NULL, 0, (xdrproc_t)xdr_refuse, sizeof(u_int), h_null,
        RPX_PROC_RES_STATIC},
    [P_PENDING_NOHOOK] = {"PENDING_NOHOOK", NULL, 0, NULL, 0, h_pending_nohook, 0},
    [P_DENY] = {"DENY", NULL, 0, NULL, 0, h_deny, 0},
    [P_SELF_FAIL] = {"SELF_FAIL", NULL, 0, NULL, 0, h_self_fail, 0},
};

static char test_ctx[] = "ctx";

static const struct rpx_program test_v2 = {.prog = TEST_PROG,
    .vers = 2,
    .name = "test",
    .procs = test_procs,
    .nprocs = P_COUNT,
    .ctx = test_ctx};
static const struct rpx_program test_v4 = {.prog = TEST_PROG,
    .vers = 4,
    .name = "test",
    .procs = test_procs,
    .nprocs = P_COUNT,
    .ctx = test_ctx};

/* The one place that knows how a dispatcher is made. */
static struct rpx_dispatch *new_dispatch(void)
{
	return rpx_dispatch_new(NULL); /* no duplicate request cache */
}

struct fixture {
	struct rpx_dispatch *d;
	struct capture cap;
	struct rpx_dispatch_stats before;
};

static void setup(struct fixture *f)
{
	rpx_log_threshold = RPX_LOG_ERROR;
	memset(f, 0, sizeof(*f));
	f->d = new_dispatch();
	CHECK(f->d != NULL);
	CHECK_INT(rpx_dispatch_add(f->d, &rpx_svc_date_v1), 0);
	CHECK_INT(rpx_dispatch_add(f->d, &test_v2), 0);
	CHECK_INT(rpx_dispatch_add(f->d, &test_v4), 0);
	rpx_xprt_init(&f->cap.xprt, &cap_ops, "test");
	nkept = 0;
	ncancel = 0;
	cancel_arg_seen = NULL;
	memset(kept, 0, sizeof(kept));
}

static void teardown(struct fixture *f)
{
	rpx_xprt_cancel_all(&f->cap.xprt);
	CHECK_INT(f->cap.xprt.inflight, 0);
	rpx_dispatch_free(f->d);
	free(f->cap.reply);
}

static void call_hdr(struct unit_msg *m, uint32_t xid, uint32_t prog, uint32_t vers, uint32_t proc,
    uint32_t cred_flavor, const void *cred, size_t cred_len, uint32_t verf_flavor, size_t verf_len)
{
	static const unsigned char zero[MAX_AUTH_BYTES + 4];

	m->len = 0;
	unit_msg_u32(m, xid);
	unit_msg_u32(m, CALL);
	unit_msg_u32(m, 2);
	unit_msg_u32(m, prog);
	unit_msg_u32(m, vers);
	unit_msg_u32(m, proc);
	unit_msg_u32(m, cred_flavor);
	unit_msg_opaque(m, cred, cred_len);
	unit_msg_u32(m, verf_flavor);
	unit_msg_opaque(m, zero, verf_len);
}

static void simple_call(struct unit_msg *m, uint32_t xid, uint32_t prog, uint32_t vers,
    uint32_t proc)
{
	call_hdr(m, xid, prog, vers, proc, AUTH_NONE, NULL, 0, AUTH_NONE, 0);
}

/* Sends @m; returns how many replies came out (0 or 1 expected). */
static unsigned run(struct fixture *f, const struct unit_msg *m, bool truncated)
{
	unsigned before = f->cap.nsend + f->cap.nsend_buffer;

	f->before = *rpx_dispatch_stats(f->d);
	rpx_dispatch_message(f->d, &f->cap.xprt, m->b, m->len, truncated, NULL, 0);
	return f->cap.nsend + f->cap.nsend_buffer - before;
}

/* Decodes the last reply; the whole of it must be one reply message. */
static bool last_reply(struct fixture *f, struct rpc_msg *r, uint32_t xid, xdrproc_t res_proc,
    void *res)
{
	XDR xdrs;
	bool ok;

	memset(r, 0, sizeof(*r));
	r->acpted_rply.ar_results.where = res;
	r->acpted_rply.ar_results.proc = res_proc != NULL ? res_proc : (xdrproc_t)xdr_void;
	xdrmem_create(&xdrs, (char *)f->cap.reply, (u_int)f->cap.reply_len, XDR_DECODE);
	ok = CHECK(xdr_replymsg(&xdrs, r));
	ok &= CHECK_INT(xdr_getpos(&xdrs), f->cap.reply_len);
	xdr_destroy(&xdrs);
	ok &= CHECK_INT(r->rm_xid, xid);
	ok &= CHECK_INT(r->rm_direction, REPLY);
	return ok;
}

static bool accepted(struct fixture *f, uint32_t xid, enum accept_stat stat)
{
	struct rpc_msg r;

	if (!last_reply(f, &r, xid, NULL, NULL))
		return false;
	return CHECK_INT(r.rm_reply.rp_stat, MSG_ACCEPTED) &&
	       CHECK_INT(r.acpted_rply.ar_verf.oa_flavor, AUTH_NONE) &&
	       CHECK_INT(r.acpted_rply.ar_stat, stat);
}

static bool auth_error(struct fixture *f, uint32_t xid, enum auth_stat why)
{
	struct rpc_msg r;

	if (!last_reply(f, &r, xid, NULL, NULL))
		return false;
	return CHECK_INT(r.rm_reply.rp_stat, MSG_DENIED) &&
	       CHECK_INT(r.rjcted_rply.rj_stat, AUTH_ERROR) && CHECK_INT(r.rjcted_rply.rj_why, why);
}

/* Each counter moved by exactly what @want says since the last run(). */
static bool check_stats(const struct fixture *f, const struct rpx_dispatch_stats *want, int line)
{
	const struct rpx_dispatch_stats *now = rpx_dispatch_stats(f->d);
	bool ok = true;

#define FIELD(x)                                                                                 \
	ok &= unit_check_int((long long)(now->x - f->before.x), (long long)want->x, "stats." #x, \
	    __FILE__, line)
	FIELD(calls);
	FIELD(replies);
	FIELD(success);
	FIELD(rpc_mismatch);
	FIELD(prog_unavail);
	FIELD(prog_mismatch);
	FIELD(proc_unavail);
	FIELD(garbage_args);
	FIELD(system_err);
	FIELD(auth_error);
	FIELD(dropped);
	FIELD(cancelled);
#undef FIELD
	return ok;
}

#define EXPECT_STATS(f, ...) check_stats((f), &(struct rpx_dispatch_stats){__VA_ARGS__}, __LINE__)

static void test_date_null(void)
{
	struct fixture f;
	struct unit_msg m;

	setup(&f);
	simple_call(&m, 0x1001, RPX_DATE_PROG, RPX_DATE_VERS, RPX_DATE_NULL);
	CHECK_INT(run(&f, &m, false), 1);
	CHECK_INT(f.cap.nsend, 1);
	accepted(&f, 0x1001, SUCCESS);
	CHECK_INT(f.cap.reply_len, 24);
	CHECK(f.cap.peer_null);
	EXPECT_STATS(&f, .calls = 1, .replies = 1, .success = 1);
	CHECK_INT(f.cap.xprt.inflight, 0);
	CHECK_INT(f.cap.ncall_done, 1);
	teardown(&f);
}

static void test_date_now(void)
{
	struct fixture f;
	struct unit_msg m;
	struct rpc_msg r;
	rpx_date_now_res res;
	time_t t0 = time(NULL);

	setup(&f);
	simple_call(&m, 0x1002, RPX_DATE_PROG, RPX_DATE_VERS, RPX_DATE_NOW);
	CHECK_INT(run(&f, &m, false), 1);
	memset(&res, 0, sizeof(res));
	if (last_reply(&f, &r, 0x1002, (xdrproc_t)xdr_rpx_date_now_res, &res)) {
		CHECK_INT(r.acpted_rply.ar_stat, SUCCESS);
		CHECK(res.seconds >= t0 && res.seconds <= time(NULL));
		CHECK(res.nanoseconds < 1000000000u);
		CHECK(res.rfc3339 != NULL && strlen(res.rfc3339) >= 20);
		xdr_free((xdrproc_t)xdr_rpx_date_now_res, &res);
	}
	EXPECT_STATS(&f, .calls = 1, .replies = 1, .success = 1);
	teardown(&f);
}

static bool format_call(struct fixture *f, uint32_t xid, int64_t seconds, uint32_t ns, bool utc,
    rpx_date_format_res *res)
{
	struct unit_msg m;
	struct rpc_msg r;

	simple_call(&m, xid, RPX_DATE_PROG, RPX_DATE_VERS, RPX_DATE_FORMAT);
	unit_msg_u32(&m, (uint32_t)((uint64_t)seconds >> 32));
	unit_msg_u32(&m, (uint32_t)seconds);
	unit_msg_u32(&m, ns);
	unit_msg_u32(&m, utc);
	memset(res, 0, sizeof(*res));
	return CHECK_INT(run(f, &m, false), 1) &&
	       last_reply(f, &r, xid, (xdrproc_t)xdr_rpx_date_format_res, res) &&
	       CHECK_INT(r.acpted_rply.ar_stat, SUCCESS);
}

static void test_date_format(void)
{
	struct fixture f;
	rpx_date_format_res res;

	setup(&f);
	if (format_call(&f, 0x1003, 0, 0, true, &res)) {
		CHECK_INT(res.error, 0);
		CHECK(strcmp(res.rpx_date_format_res_u.time.rfc3339,
		          "1970-01-01T00:00:00.000000000Z") == 0);
		CHECK(strcmp(res.rpx_date_format_res_u.time.zone, "UTC") == 0);
		CHECK_INT(res.rpx_date_format_res_u.time.utc_offset, 0);
		xdr_free((xdrproc_t)xdr_rpx_date_format_res, &res);
	}
	EXPECT_STATS(&f, .calls = 1, .replies = 1, .success = 1);
	if (format_call(&f, 0x1004, -1, 999999999, true, &res)) {
		CHECK_INT(res.error, 0);
		CHECK(strcmp(res.rpx_date_format_res_u.time.rfc3339,
		          "1969-12-31T23:59:59.999999999Z") == 0);
		xdr_free((xdrproc_t)xdr_rpx_date_format_res, &res);
	}
	/* Errors of the procedure itself are results, not RPC errors. */
	if (format_call(&f, 0x1005, 0, 1000000000, true, &res)) {
		CHECK_INT(res.error, EINVAL);
		CHECK(strlen(res.rpx_date_format_res_u.message) > 0);
		xdr_free((xdrproc_t)xdr_rpx_date_format_res, &res);
	}
	EXPECT_STATS(&f, .calls = 1, .replies = 1, .success = 1);
	if (format_call(&f, 0x1006, INT64_MAX, 0, false, &res)) {
		CHECK_INT(res.error, EOVERFLOW);
		xdr_free((xdrproc_t)xdr_rpx_date_format_res, &res);
	}
	if (format_call(&f, 0x1007, 253402300800LL, 0, true, &res)) { /* 10000-01-01 */
		CHECK_INT(res.error, EOVERFLOW);
		xdr_free((xdrproc_t)xdr_rpx_date_format_res, &res);
	}
	teardown(&f);
}

static void test_rpc_mismatch(void)
{
	struct fixture f;
	struct unit_msg m;
	struct rpc_msg r;

	setup(&f);
	simple_call(&m, 0x2001, RPX_DATE_PROG, RPX_DATE_VERS, RPX_DATE_NULL);
	m.b[11] = 3;
	CHECK_INT(run(&f, &m, false), 1);
	if (last_reply(&f, &r, 0x2001, NULL, NULL)) {
		CHECK_INT(r.rm_reply.rp_stat, MSG_DENIED);
		CHECK_INT(r.rjcted_rply.rj_stat, RPC_MISMATCH);
		CHECK_INT(r.rjcted_rply.rj_vers.low, 2);
		CHECK_INT(r.rjcted_rply.rj_vers.high, 2);
	}
	EXPECT_STATS(&f, .calls = 1, .replies = 1, .rpc_mismatch = 1);
	/* Only the first three words are needed to say so. */
	m.len = 12;
	CHECK_INT(run(&f, &m, false), 1);
	EXPECT_STATS(&f, .calls = 1, .replies = 1, .rpc_mismatch = 1);
	teardown(&f);
}

static void test_prog_unavail(void)
{
	struct fixture f;
	struct unit_msg m;

	setup(&f);
	simple_call(&m, 0x3001, 0x20000000, 1, 0);
	CHECK_INT(run(&f, &m, false), 1);
	accepted(&f, 0x3001, PROG_UNAVAIL);
	EXPECT_STATS(&f, .calls = 1, .replies = 1, .prog_unavail = 1);
	teardown(&f);
}

static void test_prog_mismatch(void)
{
	static const struct {
		uint32_t prog, vers, low, high;
	} cases[] = {
	    {RPX_DATE_PROG, 2, 1, 1},
	    {RPX_DATE_PROG, 0, 1, 1},
	    {TEST_PROG, 3, 2, 4},
	    {TEST_PROG, 1, 2, 4},
	    {TEST_PROG, 0xffffffff, 2, 4},
	};
	struct fixture f;
	struct unit_msg m;
	struct rpc_msg r;

	setup(&f);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		simple_call(&m, 0x4000 + (uint32_t)i, cases[i].prog, cases[i].vers, 0);
		CHECK_INT(run(&f, &m, false), 1);
		if (last_reply(&f, &r, 0x4000 + (uint32_t)i, NULL, NULL)) {
			CHECK_INT(r.acpted_rply.ar_stat, PROG_MISMATCH);
			CHECK_INT(r.acpted_rply.ar_vers.low, cases[i].low);
			CHECK_INT(r.acpted_rply.ar_vers.high, cases[i].high);
		}
		EXPECT_STATS(&f, .calls = 1, .replies = 1, .prog_mismatch = 1);
	}
	teardown(&f);
}

static void test_proc_unavail(void)
{
	static const uint32_t procs[] = {3, 0xffffffff};
	struct fixture f;
	struct unit_msg m;

	setup(&f);
	for (size_t i = 0; i < 2; i++) {
		simple_call(&m, 0x5001, RPX_DATE_PROG, RPX_DATE_VERS, procs[i]);
		CHECK_INT(run(&f, &m, false), 1);
		accepted(&f, 0x5001, PROC_UNAVAIL);
		EXPECT_STATS(&f, .calls = 1, .replies = 1, .proc_unavail = 1);
	}
	simple_call(&m, 0x5002, TEST_PROG, 2, P_NOHANDLER);
	CHECK_INT(run(&f, &m, false), 1);
	accepted(&f, 0x5002, PROC_UNAVAIL);
	EXPECT_STATS(&f, .calls = 1, .replies = 1, .proc_unavail = 1);
	simple_call(&m, 0x5003, TEST_PROG, 4, P_COUNT);
	CHECK_INT(run(&f, &m, false), 1);
	accepted(&f, 0x5003, PROC_UNAVAIL);
	teardown(&f);
}

static void test_garbage_args(void)
{
	struct fixture f;
	struct unit_msg m;

	setup(&f);
	/* FORMAT with no arguments, with half of them, with one byte too many. */
	simple_call(&m, 0x6001, RPX_DATE_PROG, RPX_DATE_VERS, RPX_DATE_FORMAT);
	CHECK_INT(run(&f, &m, false), 1);
	accepted(&f, 0x6001, GARBAGE_ARGS);
	EXPECT_STATS(&f, .calls = 1, .replies = 1, .garbage_args = 1);
	unit_msg_u32(&m, 0);
	unit_msg_u32(&m, 0);
	CHECK_INT(run(&f, &m, false), 1);
	accepted(&f, 0x6001, GARBAGE_ARGS);
	unit_msg_u32(&m, 0);
	unit_msg_u32(&m, 1);
	unit_msg_bytes(&m, "x", 1);
	CHECK_INT(run(&f, &m, false), 1);
	accepted(&f, 0x6001, GARBAGE_ARGS);
	EXPECT_STATS(&f, .calls = 1, .replies = 1, .garbage_args = 1);
	m.len--; /* the same without the extra byte is fine */
	CHECK_INT(run(&f, &m, false), 1);
	rpx_date_format_res res;
	struct rpc_msg r;

	memset(&res, 0, sizeof(res));
	if (last_reply(&f, &r, 0x6001, (xdrproc_t)xdr_rpx_date_format_res, &res)) {
		CHECK_INT(r.acpted_rply.ar_stat, SUCCESS);
		xdr_free((xdrproc_t)xdr_rpx_date_format_res, &res);
	}
	/* NULL takes nothing: any byte after the header is garbage. */
	simple_call(&m, 0x6002, RPX_DATE_PROG, RPX_DATE_VERS, RPX_DATE_NULL);
	unit_msg_u32(&m, 0);
	CHECK_INT(run(&f, &m, false), 1);
	accepted(&f, 0x6002, GARBAGE_ARGS);
	EXPECT_STATS(&f, .calls = 1, .replies = 1, .garbage_args = 1);
	/* A datagram the transport had to cut: GARBAGE_ARGS once the header is good. */
	simple_call(&m, 0x6003, RPX_DATE_PROG, RPX_DATE_VERS, RPX_DATE_NULL);
	CHECK_INT(run(&f, &m, true), 1);
	accepted(&f, 0x6003, GARBAGE_ARGS);
	EXPECT_STATS(&f, .calls = 1, .replies = 1, .garbage_args = 1);
	/* ...but a cut message with a bad header gets the header's error. */
	simple_call(&m, 0x6004, RPX_DATE_PROG, 9, RPX_DATE_NULL);
	CHECK_INT(run(&f, &m, true), 1);
	accepted(&f, 0x6004, PROG_MISMATCH);
	/* The handler never ran and the call was freed. */
	CHECK_INT(f.cap.xprt.inflight, 0);
	teardown(&f);
}

static void test_auth_errors(void)
{
	static unsigned char body[MAX_AUTH_BYTES + 1];
	struct fixture f;
	struct unit_msg m, sys;

	setup(&f);
	/* Flavors we do not take: AUTH_SHORT, AUTH_DH, RPCSEC_GSS, AUTH_TLS, junk. */
	static const uint32_t flavors[] = {2, 3, 6, RPX_AUTH_TLS, 0xffffffff};

	for (size_t i = 0; i < sizeof(flavors) / sizeof(flavors[0]); i++) {
		call_hdr(&m, 0x7001, RPX_DATE_PROG, RPX_DATE_VERS, 0, flavors[i], body, 8,
		    AUTH_NONE, 0);
		CHECK_INT(run(&f, &m, false), 1);
		auth_error(&f, 0x7001, AUTH_BADCRED);
		EXPECT_STATS(&f, .calls = 1, .replies = 1, .auth_error = 1);
	}
	/* AUTH_NONE carries no body. */
	call_hdr(&m, 0x7002, RPX_DATE_PROG, RPX_DATE_VERS, 0, AUTH_NONE, body, 4, AUTH_NONE, 0);
	CHECK_INT(run(&f, &m, false), 1);
	auth_error(&f, 0x7002, AUTH_BADCRED);
	/* A credential over 400 bytes. */
	call_hdr(&m, 0x7003, RPX_DATE_PROG, RPX_DATE_VERS, 0, AUTH_SYS, body, MAX_AUTH_BYTES + 1,
	    AUTH_NONE, 0);
	CHECK_INT(run(&f, &m, false), 1);
	auth_error(&f, 0x7003, AUTH_BADCRED);
	EXPECT_STATS(&f, .calls = 1, .replies = 1, .auth_error = 1);
	/* A malformed AUTH_SYS body: 17 groups. */
	sys.len = 0;
	unit_msg_u32(&sys, 0);
	unit_msg_opaque(&sys, "h", 1);
	unit_msg_u32(&sys, 0);
	unit_msg_u32(&sys, 0);
	unit_msg_u32(&sys, 17);
	for (int i = 0; i < 17; i++)
		unit_msg_u32(&sys, (uint32_t)i);
	call_hdr(&m, 0x7004, RPX_DATE_PROG, RPX_DATE_VERS, 0, AUTH_SYS, sys.b, sys.len, AUTH_NONE,
	    0);
	CHECK_INT(run(&f, &m, false), 1);
	auth_error(&f, 0x7004, AUTH_BADCRED);
	/* A verifier other than AUTH_NONE, or AUTH_NONE with a body. */
	call_hdr(&m, 0x7005, RPX_DATE_PROG, RPX_DATE_VERS, 0, AUTH_NONE, NULL, 0, AUTH_SYS, 8);
	CHECK_INT(run(&f, &m, false), 1);
	auth_error(&f, 0x7005, AUTH_BADVERF);
	EXPECT_STATS(&f, .calls = 1, .replies = 1, .auth_error = 1);
	call_hdr(&m, 0x7006, RPX_DATE_PROG, RPX_DATE_VERS, 0, AUTH_NONE, NULL, 0, AUTH_NONE, 4);
	CHECK_INT(run(&f, &m, false), 1);
	auth_error(&f, 0x7006, AUTH_BADVERF);
	/* A verifier over 400 bytes. */
	call_hdr(&m, 0x7007, RPX_DATE_PROG, RPX_DATE_VERS, 0, AUTH_NONE, NULL, 0, AUTH_NONE,
	    MAX_AUTH_BYTES + 4);
	CHECK_INT(run(&f, &m, false), 1);
	auth_error(&f, 0x7007, AUTH_BADCRED);
	/* Credential checks come before the program lookup (RFC 5531 §9). */
	call_hdr(&m, 0x7008, 0x1234, 1, 0, 3, NULL, 0, AUTH_NONE, 0);
	CHECK_INT(run(&f, &m, false), 1);
	auth_error(&f, 0x7008, AUTH_BADCRED);
	EXPECT_STATS(&f, .calls = 1, .replies = 1, .auth_error = 1);
	teardown(&f);
}

static void test_auth_sys_ok(void)
{
	struct fixture f;
	struct unit_msg m, sys;
	struct rpc_msg r;
	u_int res = 0;

	setup(&f);
	f.cap.xprt.transport_cred.peer_known = true;
	f.cap.xprt.transport_cred.peer_uid = 4242;
	sys.len = 0;
	unit_msg_u32(&sys, 1);
	unit_msg_opaque(&sys, "box", 3);
	unit_msg_u32(&sys, 501);
	unit_msg_u32(&sys, 20);
	unit_msg_u32(&sys, 16);
	for (int i = 0; i < 16; i++)
		unit_msg_u32(&sys, 100 + (uint32_t)i);
	call_hdr(&m, 0x8001, TEST_PROG, 2, P_ECHO, AUTH_SYS, sys.b, sys.len, AUTH_NONE, 0);
	unit_msg_u32(&m, 41);
	memset(&seen_cred, 0, sizeof(seen_cred));
	CHECK_INT(run(&f, &m, false), 1);
	if (last_reply(&f, &r, 0x8001, (xdrproc_t)xdr_u_int, &res)) {
		CHECK_INT(r.acpted_rply.ar_stat, SUCCESS);
		CHECK_INT(res, 42);
	}
	CHECK_INT(seen_cred.flavor, AUTH_SYS);
	CHECK_INT(seen_cred.sys.uid, 501);
	CHECK_INT(seen_cred.sys.gid, 20);
	CHECK_INT(seen_cred.sys.ngids, 16);
	CHECK_INT(seen_cred.sys.gids[15], 115);
	CHECK(strcmp(seen_cred.sys.machine, "box") == 0);
	/* What the transport proves travels with the call. */
	CHECK(seen_cred.peer_known);
	CHECK_INT(seen_cred.peer_uid, 4242);
	EXPECT_STATS(&f, .calls = 1, .replies = 1, .success = 1);
	teardown(&f);
}

/* RFC 9289 §4.1: the AUTH_TLS probe, a NULL call with an empty AUTH_TLS credential. */
static void test_tls_probe(void)
{
	struct fixture f;
	struct unit_msg m;
	struct rpc_msg r;

	setup(&f);
	nstarttls = 0;
	/* No TLS here: an empty SUCCESS with an AUTH_NONE verifier, no handler. */
	call_hdr(&m, 0x9101, RPX_DATE_PROG, RPX_DATE_VERS, 0, RPX_AUTH_TLS, NULL, 0, AUTH_NONE, 0);
	CHECK_INT(run(&f, &m, false), 1);
	if (last_reply(&f, &r, 0x9101, NULL, NULL)) {
		CHECK_INT(r.acpted_rply.ar_stat, SUCCESS);
		CHECK_INT(r.acpted_rply.ar_verf.oa_flavor, AUTH_NONE);
		CHECK_INT(r.acpted_rply.ar_verf.oa_length, 0);
	}
	EXPECT_STATS(&f, .calls = 1, .replies = 1, .success = 1);
	/* TLS on offer: STARTTLS in the verifier, then the transport switches. */
	f.cap.xprt.ops = &cap_tls_ops;
	f.cap.xprt.tls_offered = true;
	CHECK_INT(run(&f, &m, false), 1);
	if (last_reply(&f, &r, 0x9101, NULL, NULL)) {
		CHECK_INT(r.acpted_rply.ar_stat, SUCCESS);
		CHECK_INT(r.acpted_rply.ar_verf.oa_flavor, AUTH_NONE);
		CHECK_MEM(r.acpted_rply.ar_verf.oa_base, r.acpted_rply.ar_verf.oa_length,
		    "STARTTLS", 8);
		/* libtirpc allocated the verifier body while decoding. */
		free(r.acpted_rply.ar_verf.oa_base);
	}
	CHECK_INT(nstarttls, 1);
	/* Only on the NULL procedure, only with an empty body. */
	call_hdr(&m, 0x9102, RPX_DATE_PROG, RPX_DATE_VERS, 1, RPX_AUTH_TLS, NULL, 0, AUTH_NONE, 0);
	CHECK_INT(run(&f, &m, false), 1);
	auth_error(&f, 0x9102, AUTH_BADCRED);
	call_hdr(&m, 0x9103, RPX_DATE_PROG, RPX_DATE_VERS, 0, RPX_AUTH_TLS, "x", 1, AUTH_NONE, 0);
	CHECK_INT(run(&f, &m, false), 1);
	auth_error(&f, 0x9103, AUTH_BADCRED);
	/* Bytes after the header. */
	call_hdr(&m, 0x9104, RPX_DATE_PROG, RPX_DATE_VERS, 0, RPX_AUTH_TLS, NULL, 0, AUTH_NONE, 0);
	unit_msg_u32(&m, 0);
	CHECK_INT(run(&f, &m, false), 1);
	accepted(&f, 0x9104, GARBAGE_ARGS);
	EXPECT_STATS(&f, .calls = 1, .replies = 1, .garbage_args = 1);
	CHECK_INT(nstarttls, 1);
	/* A probe the transport had to cut: GARBAGE_ARGS, like any cut call. */
	m.len -= 4;
	CHECK_INT(run(&f, &m, true), 1);
	if (last_reply(&f, &r, 0x9104, NULL, NULL))
		CHECK(r.acpted_rply.ar_stat == GARBAGE_ARGS);
	free(r.acpted_rply.ar_verf.oa_base);
	teardown(&f);
}

static void test_tls_required(void)
{
	struct fixture f;
	struct unit_msg m;

	setup(&f);
	f.cap.xprt.tls_required = true;
	/* --tls-require: a clear-text call is refused AUTH_TOOWEAK ... */
	simple_call(&m, 0x9201, RPX_DATE_PROG, RPX_DATE_VERS, RPX_DATE_NULL);
	CHECK_INT(run(&f, &m, false), 1);
	auth_error(&f, 0x9201, AUTH_TOOWEAK);
	EXPECT_STATS(&f, .calls = 1, .replies = 1, .auth_error = 1);
	/* ... but the probe is answered, and a call inside TLS goes through. */
	call_hdr(&m, 0x9202, RPX_DATE_PROG, RPX_DATE_VERS, 0, RPX_AUTH_TLS, NULL, 0, AUTH_NONE, 0);
	CHECK_INT(run(&f, &m, false), 1);
	accepted(&f, 0x9202, SUCCESS);
	f.cap.xprt.transport_cred.tls = true;
	simple_call(&m, 0x9203, RPX_DATE_PROG, RPX_DATE_VERS, RPX_DATE_NULL);
	CHECK_INT(run(&f, &m, false), 1);
	accepted(&f, 0x9203, SUCCESS);
	/* Inside TLS, the probe itself is a bad credential. */
	call_hdr(&m, 0x9204, RPX_DATE_PROG, RPX_DATE_VERS, 0, RPX_AUTH_TLS, NULL, 0, AUTH_NONE, 0);
	CHECK_INT(run(&f, &m, false), 1);
	auth_error(&f, 0x9204, AUTH_BADCRED);
	teardown(&f);
}

static void test_dropped(void)
{
	struct fixture f;
	struct unit_msg m;

	setup(&f);
	/* A reply, a message too short for a header, nothing at all: no answer. */
	simple_call(&m, 0x9001, RPX_DATE_PROG, RPX_DATE_VERS, 0);
	m.b[7] = REPLY;
	CHECK_INT(run(&f, &m, false), 0);
	EXPECT_STATS(&f, .dropped = 1);
	m.b[7] = 7; /* neither CALL nor REPLY */
	CHECK_INT(run(&f, &m, false), 0);
	EXPECT_STATS(&f, .dropped = 1);
	simple_call(&m, 0x9002, RPX_DATE_PROG, RPX_DATE_VERS, 0);
	m.len = 11;
	CHECK_INT(run(&f, &m, false), 0);
	EXPECT_STATS(&f, .dropped = 1);
	m.len = 0;
	CHECK_INT(run(&f, &m, false), 0);
	EXPECT_STATS(&f, .dropped = 1);
	/* An empty record, as conn.c hands it over: evbuffer_pullup() gave NULL. */
	f.before = *rpx_dispatch_stats(f.d);
	rpx_dispatch_message(f.d, &f.cap.xprt, NULL, 0, false, NULL, 0);
	EXPECT_STATS(&f, .dropped = 1);
	CHECK_INT(f.cap.nsend + f.cap.nsend_buffer, 0);
	teardown(&f);
}

static void test_truncated_header(void)
{
	struct fixture f;
	struct unit_msg m, full;

	setup(&f);
	simple_call(&full, 0xa001, RPX_DATE_PROG, RPX_DATE_VERS, 0);
	/* Past the first three words, a header cut anywhere is answered, never read past. */
	for (size_t len = 12; len < full.len; len++) {
		m = full;
		m.len = len;
		if (!CHECK_INT(run(&f, &m, false), 1))
			break;
		struct rpc_msg r;

		/* Which error is the dispatcher's choice; that it is one is not. */
		if (last_reply(&f, &r, 0xa001, NULL, NULL))
			CHECK(r.rm_reply.rp_stat == MSG_DENIED || r.acpted_rply.ar_stat != SUCCESS);
		CHECK_INT(rpx_dispatch_stats(f.d)->replies - f.before.replies, 1);
		CHECK_INT(rpx_dispatch_stats(f.d)->success - f.before.success, 0);
	}
	teardown(&f);
}

static void test_system_err(void)
{
	struct fixture f;
	struct unit_msg m;

	setup(&f);
	simple_call(&m, 0xb001, TEST_PROG, 2, P_FAIL);
	CHECK_INT(run(&f, &m, false), 1);
	accepted(&f, 0xb001, SYSTEM_ERR);
	EXPECT_STATS(&f, .calls = 1, .replies = 1, .system_err = 1);
	CHECK_INT(f.cap.xprt.inflight, 0);
	teardown(&f);
}

static void test_handler_replied(void)
{
	struct fixture f;
	struct unit_msg m;

	setup(&f);
	simple_call(&m, 0xb101, TEST_PROG, 2, P_DENY);
	CHECK_INT(run(&f, &m, false), 1);
	auth_error(&f, 0xb101, AUTH_TOOWEAK);
	EXPECT_STATS(&f, .calls = 1, .replies = 1, .auth_error = 1);
	CHECK_INT(f.cap.xprt.inflight, 0);
	CHECK_INT(f.cap.ncall_done, 1);
	simple_call(&m, 0xb102, TEST_PROG, 4, P_SELF_FAIL);
	CHECK_INT(run(&f, &m, false), 1);
	accepted(&f, 0xb102, GARBAGE_ARGS);
	EXPECT_STATS(&f, .calls = 1, .replies = 1, .garbage_args = 1);
	CHECK_INT(f.cap.xprt.inflight, 0);
	CHECK_INT(f.cap.ncall_done, 2);
	teardown(&f);
}

static void test_result_does_not_encode(void)
{
	struct fixture f;
	struct unit_msg m;

	setup(&f);
	simple_call(&m, 0xb002, TEST_PROG, 2, P_BADRES);
	CHECK_INT(run(&f, &m, false), 1);
	accepted(&f, 0xb002, SYSTEM_ERR);
	/* One reply, and it was not a success. */
	f.before.success = rpx_dispatch_stats(f.d)->success; /* checked just below */
	EXPECT_STATS(&f, .calls = 1, .replies = 1, .system_err = 1);
	CHECK(rpx_dispatch_stats(f.d)->success == 0);
	teardown(&f);
}

static void test_big_result(void)
{
	struct fixture f;
	struct unit_msg m;
	struct rpc_msg r;
	struct big_res res = {NULL, 0};

	setup(&f);
	for (size_t i = 0; i < sizeof(big_data); i++)
		big_data[i] = (char)i;
	simple_call(&m, 0xc001, TEST_PROG, 4, P_BIG);
	CHECK_INT(run(&f, &m, false), 1);
	CHECK_INT(f.cap.nsend_buffer, 1);
	CHECK_INT(f.cap.nsend, 0);
	if (last_reply(&f, &r, 0xc001, (xdrproc_t)xdr_big_res, &res)) {
		CHECK_INT(r.acpted_rply.ar_stat, SUCCESS);
		CHECK_MEM(res.data, res.len, big_data, sizeof(big_data));
		xdr_free((xdrproc_t)xdr_big_res, (char *)&res);
	}
	EXPECT_STATS(&f, .calls = 1, .replies = 1, .success = 1);
	teardown(&f);
}

static void test_pending_reply(void)
{
	struct fixture f;
	struct unit_msg m;
	struct rpc_msg r;
	struct sockaddr_in peer = {.sin_family = AF_INET, .sin_port = htons(999)};
	u_int res = 0, answer = 7;

	setup(&f);
	simple_call(&m, 0xd001, TEST_PROG, 2, P_PENDING);
	unit_msg_u32(&m, 5);
	f.before = *rpx_dispatch_stats(f.d);
	rpx_dispatch_message(f.d, &f.cap.xprt, m.b, m.len, false, (struct sockaddr *)&peer,
	    sizeof(peer));
	CHECK_INT(f.cap.nsend + f.cap.nsend_buffer, 0);
	CHECK_INT(nkept, 1);
	CHECK_INT(f.cap.xprt.inflight, 1);
	CHECK_INT(f.cap.ncall_done, 0);
	EXPECT_STATS(&f, .calls = 1);
	if (nkept == 1 && kept[0] != NULL) {
		CHECK(rpx_call_ctx(kept[0]) == test_ctx);
		CHECK_INT(kept[0]->xid, 0xd001);
		CHECK_INT(kept[0]->proc, P_PENDING);
		CHECK_INT(*(u_int *)kept[0]->args, 5);
		/* Later, from another event. */
		f.before = *rpx_dispatch_stats(f.d);
		rpx_call_reply(kept[0], &answer);
		CHECK_INT(f.cap.nsend, 1);
		/* The peer was copied into the call, for a datagram reply. */
		CHECK(!f.cap.peer_null);
		CHECK_INT(f.cap.peerlen, sizeof(peer));
		CHECK_INT(((struct sockaddr_in *)&f.cap.peer)->sin_port, htons(999));
		if (last_reply(&f, &r, 0xd001, (xdrproc_t)xdr_u_int, &res)) {
			CHECK_INT(r.acpted_rply.ar_stat, SUCCESS);
			CHECK_INT(res, 7);
		}
		EXPECT_STATS(&f, .replies = 1, .success = 1);
		CHECK_INT(f.cap.xprt.inflight, 0);
		CHECK_INT(f.cap.ncall_done, 1);
	}
	CHECK_INT(ncancel, 0);

	/* Kept, then failed. */
	simple_call(&m, 0xd002, TEST_PROG, 2, P_PENDING);
	unit_msg_u32(&m, 5);
	nkept = 0;
	CHECK_INT(run(&f, &m, false), 0);
	if (CHECK_INT(nkept, 1)) {
		f.before = *rpx_dispatch_stats(f.d);
		rpx_call_fail(kept[0], GARBAGE_ARGS);
		accepted(&f, 0xd002, GARBAGE_ARGS);
		EXPECT_STATS(&f, .replies = 1, .garbage_args = 1);
		CHECK_INT(f.cap.xprt.inflight, 0);
	}
	teardown(&f);
}

static void test_cancel_all(void)
{
	struct fixture f;
	struct unit_msg m;

	setup(&f);
	for (uint32_t i = 0; i < 3; i++) {
		simple_call(&m, 0xe000 + i, TEST_PROG, 2, P_PENDING);
		unit_msg_u32(&m, i);
		CHECK_INT(run(&f, &m, false), 0);
	}
	simple_call(&m, 0xe003, TEST_PROG, 2, P_PENDING_NOHOOK);
	CHECK_INT(run(&f, &m, false), 0);
	CHECK_INT(f.cap.xprt.inflight, 4);
	CHECK_INT(nkept, 4);
	f.before = *rpx_dispatch_stats(f.d);
	rpx_xprt_cancel_all(&f.cap.xprt);
	CHECK_INT(ncancel, 3);
	CHECK(cancel_arg_seen == &ncancel);
	CHECK_INT(f.cap.xprt.inflight, 0);
	CHECK_INT(f.cap.ncall_done, 4);
	CHECK(TAILQ_EMPTY(&f.cap.xprt.calls));
	/* Cancelled calls are not answered. */
	CHECK_INT(f.cap.nsend + f.cap.nsend_buffer, 0);
	EXPECT_STATS(&f, .cancelled = 4);
	/* Nothing left: a second time does nothing. */
	f.before = *rpx_dispatch_stats(f.d);
	rpx_xprt_cancel_all(&f.cap.xprt);
	CHECK_INT(ncancel, 3);
	EXPECT_STATS(&f, .cancelled = 0);
	teardown(&f);
}

/*
 * Mutating calls and the duplicate request cache. MUT's arguments begin
 * with a request ID and its result with an rpx_status, as the dispatcher
 * requires of RPX_PROC_MUTATING procedures.
 */
#define MUT_PROG 0x2000999au

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

static int h_mut(struct rpx_call *call, void *args, void *res)
{
	struct mut_res *r = res;

	r->status.error = 0;
	r->status.message = empty_message;
	r->runs = ++mut_runs;
	return 0;
}

static int h_mut_pending(struct rpx_call *call, void *args, void *res)
{
	mut_runs++;
	return h_pending(call, args, res);
}

/* Value 666 is refused; the caller is named by its AUTH_SYS uid. */
static int mut_authorize(const struct rpx_call *call, uint64_t *identity)
{
	if (((const struct mut_args *)call->args)->value == 666)
		return AUTH_TOOWEAK;
	*identity = call->cred.sys.uid;
	return 0;
}

static const struct rpx_procinfo mut_procs[] = {
    {"MUT", (xdrproc_t)xdr_mut_args, sizeof(struct mut_args), (xdrproc_t)xdr_mut_res,
        sizeof(struct mut_res), h_mut, RPX_PROC_MUTATING | RPX_PROC_RES_STATIC},
    {"MUT_PENDING", (xdrproc_t)xdr_mut_args, sizeof(struct mut_args), (xdrproc_t)xdr_mut_res,
        sizeof(struct mut_res), h_mut_pending, RPX_PROC_MUTATING | RPX_PROC_RES_STATIC},
};

static const struct rpx_program mut_v1 = {.prog = MUT_PROG,
    .vers = 1,
    .name = "mut",
    .procs = mut_procs,
    .nprocs = 2,
    .authorize = mut_authorize};

static void mut_setup(struct fixture *f, struct rpx_drc **drc, size_t max_entries)
{
	struct rpx_drc_config cfg = {.path = NULL,
	    .max_entries = max_entries,
	    .max_bytes = 1 << 20,
	    .max_clients = 16,
	    .client_ttl = 3600};

	rpx_log_threshold = RPX_LOG_ERROR;
	memset(f, 0, sizeof(*f));
	*drc = rpx_drc_new(&cfg);
	CHECK(*drc != NULL);
	f->d = rpx_dispatch_new(*drc);
	CHECK_INT(rpx_dispatch_add(f->d, &mut_v1), 0);
	rpx_xprt_init(&f->cap.xprt, &cap_ops, "test");
	nkept = 0;
	ncancel = 0;
	mut_runs = 0;
}

static void mut_call(struct unit_msg *m, uint32_t xid, uint32_t proc, uint64_t client, uint64_t seq,
    u_int value)
{
	simple_call(m, xid, MUT_PROG, 1, proc);
	unit_msg_u32(m, (uint32_t)(client >> 32));
	unit_msg_u32(m, (uint32_t)client);
	unit_msg_u32(m, (uint32_t)(seq >> 32));
	unit_msg_u32(m, (uint32_t)seq);
	unit_msg_u32(m, 0); /* acked */
	unit_msg_u32(m, 0);
	unit_msg_u32(m, value);
}

/* The last reply as a MUT result: its error, and the run count it reports. */
static bool mut_reply(struct fixture *f, uint32_t xid, int *error, u_int *runs)
{
	struct mut_res res;
	struct rpc_msg r;
	bool ok;

	memset(&res, 0, sizeof(res));
	ok = last_reply(f, &r, xid, (xdrproc_t)xdr_mut_res, &res) &&
	     CHECK_INT(r.acpted_rply.ar_stat, SUCCESS);
	*error = res.status.error;
	*runs = res.runs;
	xdr_free((xdrproc_t)xdr_mut_res, (char *)&res);
	return ok;
}

static void test_drc_replay(void)
{
	struct fixture f;
	struct rpx_drc *drc;
	struct unit_msg m;
	unsigned char first[256];
	size_t first_len;
	int error;
	u_int runs;

	mut_setup(&f, &drc, 64);
	mut_call(&m, 0xf001, 0, 0x1234567890abcdefull, 1, 5);
	CHECK_INT(run(&f, &m, false), 1);
	if (mut_reply(&f, 0xf001, &error, &runs)) {
		CHECK_INT(error, 0);
		CHECK_INT(runs, 1);
	}
	first_len = f.cap.reply_len < sizeof(first) ? f.cap.reply_len : sizeof(first);
	memcpy(first, f.cap.reply, first_len);
	/* A retransmission under another XID: not run, same bytes but the XID. */
	m.b[3] = 0x02;
	CHECK_INT(run(&f, &m, false), 1);
	CHECK_INT(mut_runs, 1);
	CHECK_INT(f.cap.reply_len, first_len);
	CHECK_INT(f.cap.reply[3], 0x02);
	CHECK_MEM(f.cap.reply + 4, f.cap.reply_len - 4, first + 4, first_len - 4);
	EXPECT_STATS(&f, .calls = 1, .replies = 1);
	CHECK_INT(rpx_drc_stats(drc)->hits, 1);
	/* The next sequence number runs. */
	mut_call(&m, 0xf003, 0, 0x1234567890abcdefull, 2, 5);
	CHECK_INT(run(&f, &m, false), 1);
	CHECK_INT(mut_runs, 2);
	teardown(&f);
	rpx_drc_free(drc);
}

static void test_drc_fallback_key(void)
{
	struct fixture f;
	struct rpx_drc *drc;
	struct unit_msg m;

	mut_setup(&f, &drc, 64);
	/* No request ID: the same XID and arguments are the same request. */
	mut_call(&m, 0xf101, 0, 0, 0, 7);
	CHECK_INT(run(&f, &m, false), 1);
	CHECK_INT(run(&f, &m, false), 1);
	CHECK_INT(mut_runs, 1);
	mut_call(&m, 0xf102, 0, 0, 0, 7); /* a new XID is a new request */
	CHECK_INT(run(&f, &m, false), 1);
	CHECK_INT(mut_runs, 2);
	mut_call(&m, 0xf102, 0, 0, 0, 8); /* so are other arguments */
	CHECK_INT(run(&f, &m, false), 1);
	CHECK_INT(mut_runs, 3);
	teardown(&f);
	rpx_drc_free(drc);
}

static void test_drc_in_progress(void)
{
	struct fixture f;
	struct rpx_drc *drc;
	struct unit_msg m;
	int error;
	u_int runs;

	mut_setup(&f, &drc, 64);
	mut_call(&m, 0xf201, 1, 99, 1, 1);
	CHECK_INT(run(&f, &m, false), 0);
	CHECK_INT(nkept, 1);
	/* The original still runs: a retransmission is neither run nor answered. */
	CHECK_INT(run(&f, &m, false), 0);
	CHECK_INT(mut_runs, 1);
	CHECK_INT(f.cap.xprt.inflight, 1);
	CHECK_INT(rpx_drc_stats(drc)->in_progress, 1);
	/*
	 * The transport goes away: the request ran but its outcome is lost,
	 * so a retransmission is refused with ESTALE, never run again.
	 */
	rpx_xprt_cancel_all(&f.cap.xprt);
	CHECK_INT(run(&f, &m, false), 1);
	CHECK_INT(mut_runs, 1);
	if (mut_reply(&f, 0xf201, &error, &runs))
		CHECK_INT(error, ESTALE);
	teardown(&f);
	rpx_drc_free(drc);
}

static void test_drc_forgotten(void)
{
	struct fixture f;
	struct rpx_drc *drc;
	struct unit_msg m;
	int error;
	u_int runs;

	mut_setup(&f, &drc, 1);
	for (uint32_t seq = 1; seq <= 3; seq++) {
		mut_call(&m, 0xf300 + seq, 0, 77, seq, 1);
		CHECK_INT(run(&f, &m, false), 1);
	}
	CHECK_INT(mut_runs, 3);
	/* Sequence 1's record was evicted: it cannot be proved new, so it is refused. */
	mut_call(&m, 0xf301, 0, 77, 1, 1);
	CHECK_INT(run(&f, &m, false), 1);
	CHECK_INT(mut_runs, 3);
	if (mut_reply(&f, 0xf301, &error, &runs))
		CHECK_INT(error, ESTALE);
	teardown(&f);
	rpx_drc_free(drc);
}

static void test_mutating_refused(void)
{
	struct fixture f;
	struct rpx_drc *drc;
	struct unit_msg m;

	mut_setup(&f, &drc, 64);
	mut_call(&m, 0xf401, 0, 5, 1, 666);
	CHECK_INT(run(&f, &m, false), 1);
	auth_error(&f, 0xf401, AUTH_TOOWEAK);
	EXPECT_STATS(&f, .calls = 1, .replies = 1, .auth_error = 1);
	CHECK_INT(mut_runs, 0);
	/* Refused callers never reach the cache. */
	CHECK_INT(rpx_drc_stats(drc)->new_requests, 0);
	/* Arguments that do not decode are GARBAGE_ARGS before any of that. */
	mut_call(&m, 0xf402, 0, 5, 1, 1);
	m.len -= 4;
	CHECK_INT(run(&f, &m, false), 1);
	accepted(&f, 0xf402, GARBAGE_ARGS);
	CHECK_INT(rpx_drc_stats(drc)->new_requests, 0);
	teardown(&f);
	rpx_drc_free(drc);
}

static void test_add(void)
{
	static struct rpx_program progs[40];
	struct rpx_dispatch *d = new_dispatch();
	size_t i;
	int rc = 0;

	CHECK_INT(rpx_dispatch_add(d, &rpx_svc_date_v1), 0);
	CHECK_INT(rpx_dispatch_add(d, &rpx_svc_date_v1), -EEXIST);
	for (i = 0; i < 40; i++) {
		progs[i] = test_v2;
		progs[i].prog = TEST_PROG + 1 + (uint32_t)i;
		if ((rc = rpx_dispatch_add(d, &progs[i])) < 0)
			break;
	}
	CHECK_INT(rc, -ENOSPC);
	CHECK(i >= 8); /* room for a handful of programs at least */
	rpx_dispatch_free(d);
	rpx_dispatch_free(NULL);
}

static const struct unit_case cases[] = {
    {"date_null", test_date_null},
    {"date_now", test_date_now},
    {"date_format", test_date_format},
    {"rpc_mismatch", test_rpc_mismatch},
    {"prog_unavail", test_prog_unavail},
    {"prog_mismatch", test_prog_mismatch},
    {"proc_unavail", test_proc_unavail},
    {"garbage_args", test_garbage_args},
    {"auth_errors", test_auth_errors},
    {"auth_sys_ok", test_auth_sys_ok},
    {"tls_probe", test_tls_probe},
    {"tls_required", test_tls_required},
    {"dropped", test_dropped},
    {"truncated_header", test_truncated_header},
    {"system_err", test_system_err},
    {"handler_replied", test_handler_replied},
    {"result_does_not_encode", test_result_does_not_encode},
    {"big_result", test_big_result},
    {"pending_reply", test_pending_reply},
    {"cancel_all", test_cancel_all},
    {"drc_replay", test_drc_replay},
    {"drc_fallback_key", test_drc_fallback_key},
    {"drc_in_progress", test_drc_in_progress},
    {"drc_forgotten", test_drc_forgotten},
    {"mutating_refused", test_mutating_refused},
    {"add", test_add},
};

UNIT_GROUP(dispatch, cases);
