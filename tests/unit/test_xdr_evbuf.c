/*
 * test_xdr_evbuf.c: the evbuffer XDR encoder (xdr/xdr_evbuf.c). Whatever
 * it writes must be byte for byte what xdrmem writes for the same value,
 * however the value straddles the encoder's 4096-byte reservations, and
 * must decode back with xdrmem. The position it reports must match too.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "date.h"
#include "rpcmsg.h"
#include "xdr_evbuf.h"
#include "unit.h"

#define MEMBUF 300000

/*
 * Encodes @obj with @proc twice, into an evbuffer that already holds
 * @prefix_len bytes and into plain memory, and compares. Returns the
 * encoded length, or 0 after a failed check.
 */
static size_t encode_both(xdrproc_t proc, void *obj, size_t prefix_len, unsigned char *mem)
{
	struct evbuffer *eb = evbuffer_new();
	struct rpx_xdrenc enc;
	XDR xm;
	size_t n, memlen;
	bool ok = true;

	for (size_t i = 0; i < prefix_len; i++)
		evbuffer_add(eb, "P", 1);
	rpx_xdrenc_create(&enc, eb);
	CHECK_INT(xdr_getpos(&enc.xdr), 0);
	ok &= CHECK(proc(&enc.xdr, obj));
	n = rpx_xdrenc_finish(&enc);
	xdr_destroy(&enc.xdr); /* after finish: commits nothing twice */

	xdrmem_create(&xm, (char *)mem, MEMBUF, XDR_ENCODE);
	ok &= CHECK(proc(&xm, obj));
	memlen = xdr_getpos(&xm);
	xdr_destroy(&xm);

	ok &= CHECK_INT(n, memlen);
	ok &= CHECK_INT(evbuffer_get_length(eb), prefix_len + n);
	unsigned char *flat = evbuffer_pullup(eb, -1);

	for (size_t i = 0; i < prefix_len; i++)
		ok &= flat[i] == 'P';
	ok &= CHECK(ok);
	ok &= CHECK_MEM(flat + prefix_len, n, mem, memlen);
	evbuffer_free(eb);
	return ok ? n : 0;
}

static void test_now_res(void)
{
	unsigned char *mem = malloc(MEMBUF);
	char zone[] = "CET", text[] = "2026-11-26T14:17:29.123456789+01:00";
	rpx_date_now_res r = {.seconds = 1795785449,
	    .nanoseconds = 123456789,
	    .utc_offset = 3600,
	    .zone = zone,
	    .rfc3339 = text};
	rpx_date_now_res back;
	size_t n;
	XDR xm;

	for (size_t prefix = 0; prefix < 8; prefix++) {
		n = encode_both((xdrproc_t)xdr_rpx_date_now_res, &r, prefix, mem);
		CHECK_INT(n, 8 + 4 + 4 + 4 + 4 + 4 + 36);
	}
	memset(&back, 0, sizeof(back));
	xdrmem_create(&xm, (char *)mem, (u_int)n, XDR_DECODE);
	CHECK(xdr_rpx_date_now_res(&xm, &back));
	CHECK_INT(xdr_getpos(&xm), n);
	CHECK_INT(back.seconds, r.seconds);
	CHECK_INT(back.nanoseconds, r.nanoseconds);
	CHECK_INT(back.utc_offset, r.utc_offset);
	CHECK(back.zone != NULL && strcmp(back.zone, zone) == 0);
	CHECK(back.rfc3339 != NULL && strcmp(back.rfc3339, text) == 0);
	xdr_destroy(&xm);
	xdr_free((xdrproc_t)xdr_rpx_date_now_res, &back);
	free(mem);
}

static void test_format_types(void)
{
	unsigned char *mem = malloc(MEMBUF);
	char msg[] = "instant outside the years 0000 to 9999";
	char zone[] = "UTC", text[] = "1970-01-01T00:00:00.000000000Z";
	rpx_date_format_args a = {.seconds = -1234567890123LL, .nanoseconds = 5, .utc = TRUE};
	rpx_date_format_res ok = {.error = 0};
	rpx_date_format_res err = {.error = 75};

	ok.rpx_date_format_res_u.time.zone = zone;
	ok.rpx_date_format_res_u.time.rfc3339 = text;
	err.rpx_date_format_res_u.message = msg;
	CHECK_INT(encode_both((xdrproc_t)xdr_rpx_date_format_args, &a, 0, mem), 16);
	CHECK(encode_both((xdrproc_t)xdr_rpx_date_format_res, &ok, 0, mem) > 0);
	CHECK(encode_both((xdrproc_t)xdr_rpx_date_format_res, &err, 1, mem) > 0);
	free(mem);
}

/* The reply a dispatcher builds: accepted header plus result, through XDR_INLINE. */
static bool_t reply_with_now(XDR *xdrs, void *obj)
{
	return rpx_rpcmsg_encode_accepted(xdrs, 0xdeadbeef, NULL, SUCCESS,
	           (xdrproc_t)xdr_rpx_date_now_res, obj, 0, 0) == 0;
}

static bool_t call_header(XDR *xdrs, void *obj)
{
	return xdr_callmsg(xdrs, obj);
}

static void test_rpc_headers(void)
{
	unsigned char *mem = malloc(MEMBUF);
	char zone[] = "UTC", text[] = "1970-01-01T00:00:00.000000000Z";
	rpx_date_now_res r = {.zone = zone, .rfc3339 = text};
	char cred[40] = "some credential body, 40 bytes long....";
	struct rpc_msg m;

	for (size_t prefix = 0; prefix < 4; prefix++)
		CHECK(encode_both((xdrproc_t)reply_with_now, &r, prefix, mem) > 0);

	memset(&m, 0, sizeof(m));
	m.rm_xid = 7;
	m.rm_direction = CALL;
	m.rm_call.cb_rpcvers = 2;
	m.rm_call.cb_prog = 0x20007701;
	m.rm_call.cb_vers = 1;
	m.rm_call.cb_proc = 2;
	m.rm_call.cb_cred.oa_flavor = AUTH_SYS;
	m.rm_call.cb_cred.oa_base = cred;
	m.rm_call.cb_cred.oa_length = sizeof(cred);
	m.rm_call.cb_verf = _null_auth;
	for (size_t prefix = 0; prefix < 4; prefix++)
		CHECK_INT(encode_both((xdrproc_t)call_header, &m, prefix, mem), 40 + 40);
	free(mem);
}

static bool_t opaque_n(XDR *xdrs, void *obj)
{
	const struct {
		char *p;
		u_int len;
	} *o = obj;
	char *p = o->p;
	u_int len = o->len;

	/* Two in a row: the second starts wherever the first left the reservation. */
	return xdr_bytes(xdrs, &p, &len, ~0u) && xdr_opaque(xdrs, p, len);
}

static void test_large_opaque(void)
{
	static const u_int sizes[] = {0, 1, 4092, 4095, 4096, 4097, 5001, 65536, 100003};
	unsigned char *mem = malloc(MEMBUF);
	char *data = malloc(100003);

	for (size_t i = 0; i < 100003; i++)
		data[i] = (char)(i * 31 + 7);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct {
			char *p;
			u_int len;
		} o = {data, sizes[i]};
		size_t want = 4 + 2 * ((sizes[i] + 3) & ~3u);

		CHECK_INT(encode_both((xdrproc_t)opaque_n, &o, 0, mem), want);
		CHECK_INT(encode_both((xdrproc_t)opaque_n, &o, 3, mem), want);
	}
	free(data);
	free(mem);
}

/* Many words: crosses the 4096-byte reservation several times, word by word. */
static bool_t many_words(XDR *xdrs, void *obj)
{
	u_int n = *(u_int *)obj;
	char s[] = "abcde";
	char *sp = s;

	for (u_int i = 0; i < n; i++) {
		u_int v = i * 2654435761u;

		if (!xdr_u_int(xdrs, &v))
			return FALSE;
		if (i % 97 == 0 && !xdr_string(xdrs, &sp, 16))
			return FALSE;
	}
	return TRUE;
}

static void test_reservation_boundaries(void)
{
	unsigned char *mem = malloc(MEMBUF);

	for (u_int n = 1020; n < 1030; n++)
		CHECK(encode_both((xdrproc_t)many_words, &n, 0, mem) > 0);
	u_int n = 20000;

	CHECK(encode_both((xdrproc_t)many_words, &n, 2, mem) > 0);
	free(mem);
}

static void test_getpostn(void)
{
	struct evbuffer *eb = evbuffer_new();
	struct rpx_xdrenc enc;
	char *big = calloc(1, 5000);
	u_int v = 1, biglen = 5000;

	evbuffer_add(eb, "xyz", 3);
	rpx_xdrenc_create(&enc, eb);
	CHECK_INT(xdr_getpos(&enc.xdr), 0);
	CHECK(xdr_u_int(&enc.xdr, &v));
	CHECK_INT(xdr_getpos(&enc.xdr), 4);
	CHECK(xdr_bytes(&enc.xdr, &big, &biglen, ~0u));
	CHECK_INT(xdr_getpos(&enc.xdr), 4 + 4 + 5000);
	CHECK(xdr_u_int(&enc.xdr, &v));
	CHECK_INT(xdr_getpos(&enc.xdr), 4 + 4 + 5000 + 4);
	/* The stream only appends: no seeking back, no decoding. */
	CHECK(!xdr_setpos(&enc.xdr, 0));
	CHECK_INT(rpx_xdrenc_finish(&enc), 5012);
	CHECK_INT(evbuffer_get_length(eb), 3 + 5012);
	xdr_destroy(&enc.xdr);
	CHECK_INT(evbuffer_get_length(eb), 3 + 5012);
	evbuffer_free(eb);
	free(big);
}

static void test_empty(void)
{
	struct evbuffer *eb = evbuffer_new();
	struct rpx_xdrenc enc;

	rpx_xdrenc_create(&enc, eb);
	CHECK(xdr_void());
	CHECK_INT(rpx_xdrenc_finish(&enc), 0);
	CHECK_INT(evbuffer_get_length(eb), 0);
	evbuffer_free(eb);
}

static const struct unit_case cases[] = {
    {"now_res", test_now_res},
    {"format_types", test_format_types},
    {"rpc_headers", test_rpc_headers},
    {"large_opaque", test_large_opaque},
    {"reservation_boundaries", test_reservation_boundaries},
    {"getpostn", test_getpostn},
    {"empty", test_empty},
};

UNIT_GROUP(xdr_evbuf, cases);
