/*
 * test_rpcmsg.c: call and reply headers (xdr/rpcmsg.c). Credentials and
 * verifiers are bounded at 400 bytes and decoded into the caller's
 * buffers; an AUTH_SYS body must be exactly one authsys_parms with at most
 * 16 groups; every reply builder must produce what xdr_replymsg reads back.
 */
#include <errno.h>
#include <string.h>

#include "date.h"
#include "rpcmsg.h"
#include "unit.h"

/* A call header; @cred/@verf bodies of the given lengths and flavors. */
static void build_call(struct unit_msg *m, uint32_t xid, uint32_t cred_flavor, const void *cred,
    size_t cred_len, uint32_t verf_flavor, const void *verf, size_t verf_len)
{
	m->len = 0;
	unit_msg_u32(m, xid);
	unit_msg_u32(m, CALL);
	unit_msg_u32(m, 2);
	unit_msg_u32(m, 0x20007701);
	unit_msg_u32(m, 1);
	unit_msg_u32(m, 2);
	unit_msg_u32(m, cred_flavor);
	unit_msg_opaque(m, cred, cred_len);
	unit_msg_u32(m, verf_flavor);
	unit_msg_opaque(m, verf, verf_len);
}

/* An authsys_parms body (RFC 5531 appendix A). */
static void build_authsys(struct unit_msg *m, const char *machine, size_t machine_len,
    uint32_t ngids, bool trailing)
{
	m->len = 0;
	unit_msg_u32(m, 1700000000);
	unit_msg_opaque(m, machine, machine_len);
	unit_msg_u32(m, 1000);
	unit_msg_u32(m, 100);
	unit_msg_u32(m, ngids);
	for (uint32_t i = 0; i < ngids; i++)
		unit_msg_u32(m, 2000 + i);
	if (trailing)
		unit_msg_u32(m, 0);
}

static int decode_call(const struct unit_msg *m, struct rpx_callhdr *h, u_int *pos)
{
	XDR xdrs;
	int rc;

	xdrmem_create(&xdrs, (char *)m->b, (u_int)m->len, XDR_DECODE);
	rc = rpx_rpcmsg_decode_call(&xdrs, h);
	*pos = xdr_getpos(&xdrs);
	xdr_destroy(&xdrs);
	return rc;
}

static void test_peek(void)
{
	static const unsigned char msg[] = {0, 0, 0, 42, 0, 0, 0, 1, 0, 0, 0, 2, 9};
	uint32_t xid = 0, dir = 0, vers = 0;

	CHECK_INT(rpx_rpcmsg_peek(msg, 11, &xid, &dir, &vers), -EBADMSG);
	CHECK_INT(rpx_rpcmsg_peek(msg, 0, &xid, &dir, &vers), -EBADMSG);
	CHECK_INT(rpx_rpcmsg_peek(msg, 12, &xid, &dir, &vers), 0);
	CHECK_INT(xid, 42);
	CHECK_INT(dir, 1);
	CHECK_INT(vers, 2);
	CHECK_INT(rpx_rpcmsg_peek(msg + 1, 12, &xid, &dir, &vers), 0); /* unaligned */
	CHECK_INT(xid, 42 << 8);
}

static void test_call_auth_none(void)
{
	struct unit_msg m;
	struct rpx_callhdr h;
	u_int pos;

	build_call(&m, 0x01020304, AUTH_NONE, NULL, 0, AUTH_NONE, NULL, 0);
	unit_msg_u32(&m, 0xabcdef00); /* an argument word */
	CHECK_INT(decode_call(&m, &h, &pos), 0);
	CHECK_INT(pos, 40); /* left at the first argument byte */
	CHECK_INT(h.msg.rm_xid, 0x01020304);
	CHECK_INT(h.msg.rm_direction, CALL);
	CHECK_INT(h.msg.rm_call.cb_rpcvers, 2);
	CHECK_INT(h.msg.rm_call.cb_prog, 0x20007701);
	CHECK_INT(h.msg.rm_call.cb_vers, 1);
	CHECK_INT(h.msg.rm_call.cb_proc, 2);
	CHECK_INT(h.msg.rm_call.cb_cred.oa_flavor, AUTH_NONE);
	CHECK_INT(h.msg.rm_call.cb_cred.oa_length, 0);
	CHECK_INT(h.msg.rm_call.cb_verf.oa_flavor, AUTH_NONE);
	CHECK_INT(h.msg.rm_call.cb_verf.oa_length, 0);

	/* Every shorter message fails, none reads past its end. */
	for (size_t len = 0; len < 40; len++) {
		struct unit_msg t = m;

		t.len = len;
		if (!CHECK_INT(decode_call(&t, &h, &pos), -EBADMSG))
			break;
	}
}

static void test_call_not_a_call(void)
{
	struct unit_msg m;
	struct rpx_callhdr h;
	u_int pos;

	build_call(&m, 1, AUTH_NONE, NULL, 0, AUTH_NONE, NULL, 0);
	m.b[7] = REPLY;
	CHECK_INT(decode_call(&m, &h, &pos), -EBADMSG);
	build_call(&m, 1, AUTH_NONE, NULL, 0, AUTH_NONE, NULL, 0);
	m.b[11] = 3; /* rpcvers 3 */
	CHECK_INT(decode_call(&m, &h, &pos), -EBADMSG);
}

static void test_call_auth_sys(void)
{
	struct unit_msg cred, m;
	struct rpx_callhdr h;
	struct rpx_authsys sys;
	u_int pos;

	build_authsys(&cred, "client.example", 14, 3, false);
	build_call(&m, 9, AUTH_SYS, cred.b, cred.len, AUTH_NONE, NULL, 0);
	CHECK_INT(decode_call(&m, &h, &pos), 0);
	CHECK_INT(pos, m.len);
	CHECK_INT(h.msg.rm_call.cb_cred.oa_flavor, AUTH_SYS);
	CHECK_INT(h.msg.rm_call.cb_cred.oa_length, cred.len);
	/* The body landed in the caller's buffer, not a malloc'd one. */
	CHECK(h.msg.rm_call.cb_cred.oa_base == h.cred_body);
	CHECK_MEM(h.cred_body, h.msg.rm_call.cb_cred.oa_length, cred.b, cred.len);
	CHECK_INT(rpx_rpcmsg_decode_authsys(&h.msg.rm_call.cb_cred, &sys), 0);
	CHECK_INT(sys.stamp, 1700000000);
	CHECK(strcmp(sys.machine, "client.example") == 0);
	CHECK_INT(sys.uid, 1000);
	CHECK_INT(sys.gid, 100);
	CHECK_INT(sys.ngids, 3);
	CHECK_INT(sys.gids[0], 2000);
	CHECK_INT(sys.gids[2], 2002);
}

static void test_cred_size(void)
{
	static unsigned char body[MAX_AUTH_BYTES + 8];
	struct unit_msg m;
	struct rpx_callhdr h;
	u_int pos;

	for (size_t i = 0; i < sizeof(body); i++)
		body[i] = (unsigned char)(i + 1);
	/* 400 bytes: the largest body RFC 5531 allows, in credential and verifier. */
	build_call(&m, 1, 3, body, MAX_AUTH_BYTES, AUTH_NONE, NULL, 0);
	CHECK_INT(decode_call(&m, &h, &pos), 0);
	CHECK_INT(h.msg.rm_call.cb_cred.oa_length, MAX_AUTH_BYTES);
	CHECK_MEM(h.cred_body, MAX_AUTH_BYTES, body, MAX_AUTH_BYTES);
	build_call(&m, 1, AUTH_NONE, NULL, 0, 6, body, MAX_AUTH_BYTES);
	CHECK_INT(decode_call(&m, &h, &pos), 0);
	CHECK_INT(h.msg.rm_call.cb_verf.oa_length, MAX_AUTH_BYTES);
	CHECK(h.msg.rm_call.cb_verf.oa_base == h.verf_body);
	CHECK_MEM(h.verf_body, MAX_AUTH_BYTES, body, MAX_AUTH_BYTES);
	/* 401: refused, whether or not the bytes are there. */
	build_call(&m, 1, 3, body, MAX_AUTH_BYTES + 1, AUTH_NONE, NULL, 0);
	CHECK_INT(decode_call(&m, &h, &pos), -EBADMSG);
	build_call(&m, 1, AUTH_NONE, NULL, 0, 6, body, MAX_AUTH_BYTES + 1);
	CHECK_INT(decode_call(&m, &h, &pos), -EBADMSG);
	/* A length claiming 2 GiB with nothing behind it. */
	build_call(&m, 1, 3, NULL, 0, AUTH_NONE, NULL, 0);
	m.b[28] = 0x7f;
	CHECK_INT(decode_call(&m, &h, &pos), -EBADMSG);
	/* Short headers take the non-inline path of xdr_callmsg: same bound. */
	build_call(&m, 1, 3, body, MAX_AUTH_BYTES + 1, AUTH_NONE, NULL, 0);
	m.len = 30;
	CHECK_INT(decode_call(&m, &h, &pos), -EBADMSG);
}

static int authsys_of(const struct unit_msg *body, struct rpx_authsys *sys)
{
	struct opaque_auth oa = {.oa_flavor = AUTH_SYS,
	    .oa_base = (caddr_t)body->b,
	    .oa_length = (u_int)body->len};

	return rpx_rpcmsg_decode_authsys(&oa, sys);
}

static void test_authsys_bounds(void)
{
	static char machine[MAX_MACHINE_NAME + 1];
	struct unit_msg body;
	struct rpx_authsys sys;

	memset(machine, 'm', sizeof(machine));
	build_authsys(&body, "h", 1, 16, false);
	CHECK_INT(authsys_of(&body, &sys), 0);
	CHECK_INT(sys.ngids, 16);
	CHECK_INT(sys.gids[15], 2015);
	build_authsys(&body, "h", 1, 17, false);
	CHECK_INT(authsys_of(&body, &sys), -EBADMSG);
	build_authsys(&body, "h", 1, 0, false);
	CHECK_INT(authsys_of(&body, &sys), 0);
	CHECK_INT(sys.ngids, 0);
	/* Trailing bytes after the parms. */
	build_authsys(&body, "h", 1, 2, true);
	CHECK_INT(authsys_of(&body, &sys), -EBADMSG);
	/* Cut short at every length. */
	build_authsys(&body, "host", 4, 2, false);
	for (size_t len = body.len; len-- > 0;) {
		struct unit_msg t = body;

		t.len = len;
		if (!CHECK_INT(authsys_of(&t, &sys), -EBADMSG))
			break;
	}
	/* Machine name: 255 bytes fit, 256 do not. */
	build_authsys(&body, machine, MAX_MACHINE_NAME, 1, false);
	CHECK_INT(authsys_of(&body, &sys), 0);
	CHECK_INT(strlen(sys.machine), MAX_MACHINE_NAME);
	build_authsys(&body, machine, MAX_MACHINE_NAME + 1, 1, false);
	CHECK_INT(authsys_of(&body, &sys), -EBADMSG);
	/* An empty body. */
	body.len = 0;
	CHECK_INT(authsys_of(&body, &sys), -EBADMSG);
}

/* Encodes with @fn-built reply into memory and decodes with xdr_replymsg. */
static size_t encode_reply(int rc_want, int rc, XDR *xdrs)
{
	size_t n = xdr_getpos(xdrs);

	CHECK_INT(rc, rc_want);
	xdr_destroy(xdrs);
	return n;
}

static bool decode_reply(const char *buf, size_t len, struct rpc_msg *m, xdrproc_t res_proc,
    void *res)
{
	XDR xdrs;
	bool ok;

	memset(m, 0, sizeof(*m));
	m->acpted_rply.ar_results.where = res;
	m->acpted_rply.ar_results.proc = res_proc != NULL ? res_proc : (xdrproc_t)xdr_void;
	xdrmem_create(&xdrs, (char *)buf, (u_int)len, XDR_DECODE);
	ok = CHECK(xdr_replymsg(&xdrs, m));
	ok &= CHECK_INT(xdr_getpos(&xdrs), len);
	xdr_destroy(&xdrs);
	return ok;
}

static void test_encode_accepted(void)
{
	char buf[512], zone[] = "UTC", text[] = "1970-01-01T00:00:00.000000000Z";
	rpx_date_now_res r = {.seconds = 86400, .nanoseconds = 1, .zone = zone, .rfc3339 = text};
	rpx_date_now_res back;
	struct opaque_auth verf = {.oa_flavor = AUTH_NONE, .oa_base = NULL, .oa_length = 0};
	struct rpc_msg m;
	size_t n;
	XDR xdrs;

	xdrmem_create(&xdrs, buf, sizeof(buf), XDR_ENCODE);
	n = encode_reply(0,
	    rpx_rpcmsg_encode_accepted(&xdrs, 77, &verf, SUCCESS, (xdrproc_t)xdr_rpx_date_now_res,
	        &r, 0, 0),
	    &xdrs);
	memset(&back, 0, sizeof(back));
	if (decode_reply(buf, n, &m, (xdrproc_t)xdr_rpx_date_now_res, &back)) {
		CHECK_INT(m.rm_xid, 77);
		CHECK_INT(m.rm_direction, REPLY);
		CHECK_INT(m.rm_reply.rp_stat, MSG_ACCEPTED);
		CHECK_INT(m.acpted_rply.ar_verf.oa_flavor, AUTH_NONE);
		CHECK_INT(m.acpted_rply.ar_stat, SUCCESS);
		CHECK_INT(back.seconds, 86400);
		CHECK(strcmp(back.rfc3339, text) == 0);
		xdr_free((xdrproc_t)xdr_rpx_date_now_res, &back);
	}

	/* SUCCESS of a void procedure: nothing after the accept_stat. */
	xdrmem_create(&xdrs, buf, sizeof(buf), XDR_ENCODE);
	n = encode_reply(0, rpx_rpcmsg_encode_accepted(&xdrs, 78, NULL, SUCCESS, NULL, NULL, 0, 0),
	    &xdrs);
	CHECK_INT(n, 24);
	if (decode_reply(buf, n, &m, NULL, NULL))
		CHECK_INT(m.acpted_rply.ar_stat, SUCCESS);

	xdrmem_create(&xdrs, buf, sizeof(buf), XDR_ENCODE);
	n = encode_reply(0,
	    rpx_rpcmsg_encode_accepted(&xdrs, 79, NULL, PROG_MISMATCH, NULL, NULL, 1, 3), &xdrs);
	CHECK_INT(n, 32);
	if (decode_reply(buf, n, &m, NULL, NULL)) {
		CHECK_INT(m.rm_xid, 79);
		CHECK_INT(m.acpted_rply.ar_stat, PROG_MISMATCH);
		CHECK_INT(m.acpted_rply.ar_vers.low, 1);
		CHECK_INT(m.acpted_rply.ar_vers.high, 3);
	}

	static const enum accept_stat plain[] = {PROG_UNAVAIL, PROC_UNAVAIL, GARBAGE_ARGS,
	    SYSTEM_ERR};

	for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
		xdrmem_create(&xdrs, buf, sizeof(buf), XDR_ENCODE);
		n = encode_reply(0,
		    rpx_rpcmsg_encode_accepted(&xdrs, 80 + (uint32_t)i, NULL, plain[i], NULL, NULL,
		        0, 0),
		    &xdrs);
		CHECK_INT(n, 24);
		if (decode_reply(buf, n, &m, NULL, NULL)) {
			CHECK_INT(m.rm_xid, 80 + i);
			CHECK_INT(m.acpted_rply.ar_stat, plain[i]);
		}
	}

	/* No room: the error, not a short message. */
	xdrmem_create(&xdrs, buf, 40, XDR_ENCODE);
	encode_reply(-EMSGSIZE,
	    rpx_rpcmsg_encode_accepted(&xdrs, 1, NULL, SUCCESS, (xdrproc_t)xdr_rpx_date_now_res, &r,
	        0, 0),
	    &xdrs);
}

static void test_encode_denied(void)
{
	static const enum auth_stat whys[] = {AUTH_BADCRED, AUTH_REJECTEDCRED, AUTH_BADVERF,
	    AUTH_TOOWEAK};
	char buf[128];
	struct rpc_msg m;
	size_t n;
	XDR xdrs;

	xdrmem_create(&xdrs, buf, sizeof(buf), XDR_ENCODE);
	n = encode_reply(0, rpx_rpcmsg_encode_rpc_mismatch(&xdrs, 0xfffffffe, 2, 2), &xdrs);
	CHECK_INT(n, 24);
	if (decode_reply(buf, n, &m, NULL, NULL)) {
		CHECK_INT(m.rm_xid, 0xfffffffe);
		CHECK_INT(m.rm_direction, REPLY);
		CHECK_INT(m.rm_reply.rp_stat, MSG_DENIED);
		CHECK_INT(m.rjcted_rply.rj_stat, RPC_MISMATCH);
		CHECK_INT(m.rjcted_rply.rj_vers.low, 2);
		CHECK_INT(m.rjcted_rply.rj_vers.high, 2);
	}
	for (size_t i = 0; i < sizeof(whys) / sizeof(whys[0]); i++) {
		xdrmem_create(&xdrs, buf, sizeof(buf), XDR_ENCODE);
		n = encode_reply(0, rpx_rpcmsg_encode_auth_error(&xdrs, 5, whys[i]), &xdrs);
		CHECK_INT(n, 20);
		if (decode_reply(buf, n, &m, NULL, NULL)) {
			CHECK_INT(m.rm_reply.rp_stat, MSG_DENIED);
			CHECK_INT(m.rjcted_rply.rj_stat, AUTH_ERROR);
			CHECK_INT(m.rjcted_rply.rj_why, whys[i]);
		}
	}
	xdrmem_create(&xdrs, buf, 16, XDR_ENCODE);
	encode_reply(-EMSGSIZE, rpx_rpcmsg_encode_auth_error(&xdrs, 5, AUTH_BADCRED), &xdrs);
	xdrmem_create(&xdrs, buf, 20, XDR_ENCODE);
	encode_reply(-EMSGSIZE, rpx_rpcmsg_encode_rpc_mismatch(&xdrs, 5, 2, 2), &xdrs);
}

/* A call header with an empty credential of the given flavor decodes to the same fields. */
static void test_encode_call(void)
{
	const uint32_t flavors[] = {AUTH_NONE, RPX_AUTH_TLS};
	struct rpx_callhdr h;
	char buf[64];
	XDR xdrs;

	for (size_t i = 0; i < sizeof(flavors) / sizeof(flavors[0]); i++) {
		xdrmem_create(&xdrs, buf, sizeof(buf), XDR_ENCODE);
		CHECK_INT(rpx_rpcmsg_encode_call(&xdrs, 0x01020304, 0x20000077, 3, 9, flavors[i]),
		    0);
		CHECK_INT(xdr_getpos(&xdrs), 40);
		xdrmem_create(&xdrs, buf, 40, XDR_DECODE);
		if (!CHECK_INT(rpx_rpcmsg_decode_call(&xdrs, &h), 0))
			continue;
		CHECK_INT(h.msg.rm_xid, 0x01020304);
		CHECK_INT(h.msg.rm_direction, CALL);
		CHECK_INT(h.msg.rm_call.cb_rpcvers, RPX_RPC_VERS);
		CHECK_INT(h.msg.rm_call.cb_prog, 0x20000077);
		CHECK_INT(h.msg.rm_call.cb_vers, 3);
		CHECK_INT(h.msg.rm_call.cb_proc, 9);
		CHECK_INT(h.msg.rm_call.cb_cred.oa_flavor, flavors[i]);
		CHECK_INT(h.msg.rm_call.cb_cred.oa_length, 0);
		CHECK_INT(h.msg.rm_call.cb_verf.oa_flavor, AUTH_NONE);
		CHECK_INT(h.msg.rm_call.cb_verf.oa_length, 0);
	}
	xdrmem_create(&xdrs, buf, 36, XDR_ENCODE);
	CHECK_INT(rpx_rpcmsg_encode_call(&xdrs, 1, 2, 3, 4, AUTH_NONE), -EMSGSIZE);
}

/* rpcbind's GETADDR result: a bounded string, a hostile length refused before any allocation. */
static void test_uaddr_bounds(void)
{
	char longest[RPX_UADDR_MAX + 1], *out;
	struct unit_msg m;
	XDR xdrs;

	memset(longest, '1', RPX_UADDR_MAX);
	longest[RPX_UADDR_MAX] = '\0';
	memset(&m, 0, sizeof(m));
	unit_msg_opaque(&m, "127.0.0.1.27.165", 16);
	out = NULL;
	xdrmem_create(&xdrs, (char *)m.b, (u_int)m.len, XDR_DECODE);
	if (CHECK(rpx_rpcmsg_xdr_uaddr(&xdrs, &out)))
		CHECK(strcmp(out, "127.0.0.1.27.165") == 0);
	xdr_free((xdrproc_t)rpx_rpcmsg_xdr_uaddr, (char *)&out);

	memset(&m, 0, sizeof(m));
	unit_msg_opaque(&m, longest, RPX_UADDR_MAX);
	out = NULL;
	xdrmem_create(&xdrs, (char *)m.b, (u_int)m.len, XDR_DECODE);
	if (CHECK(rpx_rpcmsg_xdr_uaddr(&xdrs, &out)))
		CHECK_INT(strlen(out), RPX_UADDR_MAX);
	xdr_free((xdrproc_t)rpx_rpcmsg_xdr_uaddr, (char *)&out);

	memset(&m, 0, sizeof(m));
	unit_msg_opaque(&m, longest, RPX_UADDR_MAX + 1);
	out = NULL;
	xdrmem_create(&xdrs, (char *)m.b, (u_int)m.len, XDR_DECODE);
	CHECK(!rpx_rpcmsg_xdr_uaddr(&xdrs, &out));
	CHECK(out == NULL);

	/* A length of nearly 4 GiB with no bytes behind it. */
	memset(&m, 0, sizeof(m));
	unit_msg_u32(&m, 0xfffffff0u);
	out = NULL;
	xdrmem_create(&xdrs, (char *)m.b, (u_int)m.len, XDR_DECODE);
	CHECK(!rpx_rpcmsg_xdr_uaddr(&xdrs, &out));
	CHECK(out == NULL);
}

static const struct unit_case cases[] = {
    {"peek", test_peek},
    {"call_auth_none", test_call_auth_none},
    {"call_not_a_call", test_call_not_a_call},
    {"call_auth_sys", test_call_auth_sys},
    {"cred_size", test_cred_size},
    {"authsys_bounds", test_authsys_bounds},
    {"encode_accepted", test_encode_accepted},
    {"encode_denied", test_encode_denied},
    {"encode_call", test_encode_call},
    {"uaddr_bounds", test_uaddr_bounds},
};

UNIT_GROUP(rpcmsg, cases);
