/*
 * fuzz_xdr.c: the rpcgen decoders of every type that comes from outside:
 * the arguments rpxd decodes from callers, the results librpx decodes
 * from servers (alone, and inside an RFC 5531 reply as the clients read
 * them), and rpxd's on-disk job record.
 *
 * Input: byte 0 picks the type (bits 0-6) and whether the rest is a whole
 * reply message carrying it as results (bit 7); the rest is the encoding.
 *
 * Invariants: decoding never takes more bytes than given; a value that
 * decoded encodes again, into at most as many bytes as it took (fewer only
 * when a string carried a NUL: C strings end there, so "a\0b" arrives as
 * "a"), and that encoding decodes and encodes again to the same bytes
 * (whatever the decoder accepted is a value the encoder can say, in one
 * form); every decode, failed or not, is released by xdr_free without a
 * leak (the sanitizers' part).
 */
#include <stdbool.h>
#include <string.h>

#include <rpc/rpc.h>

#include "date.h"
#include "fuzz_target.h"
#include "proc.h"

struct xdr_type {
	xdrproc_t proc;
	size_t size;
};

#define TYPE(t)                                \
	{                                      \
		(xdrproc_t) xdr_##t, sizeof(t) \
	}

static const struct xdr_type types[] = {
    TYPE(rpx_spawn_args),
    TYPE(rpx_spawn_res),
    TYPE(rpx_list_args),
    TYPE(rpx_list_res),
    TYPE(rpx_info_res),
    TYPE(rpx_kill_args),
    TYPE(rpx_kill_res),
    TYPE(rpx_wait_args),
    TYPE(rpx_wait_res),
    TYPE(rpx_output_args),
    TYPE(rpx_output_res),
    TYPE(rpx_stats_res),
    TYPE(rpx_job_record),
    TYPE(rpx_job_id),
    TYPE(rpx_date_now_res),
    TYPE(rpx_date_format_args),
    TYPE(rpx_date_format_res),
};
#define NTYPES (sizeof(types) / sizeof(types[0]))

/* Decodes one value of t from buf; returns whether it decoded, *used the bytes taken. */
static bool decode(const struct xdr_type *t, const uint8_t *buf, size_t len, void *obj,
    size_t *used)
{
	XDR x;
	bool ok;

	xdrmem_create(&x, (char *)buf, (u_int)len, XDR_DECODE);
	ok = t->proc(&x, obj);
	*used = xdr_getpos(&x);
	xdr_destroy(&x);
	return ok;
}

/* A reply message whose results are a t, as librpx's clients decode it. */
static void decode_reply(const struct xdr_type *t, const uint8_t *buf, size_t len, void *obj)
{
	char verf[MAX_AUTH_BYTES];
	struct rpc_msg m;
	XDR x;

	memset(&m, 0, sizeof(m));
	m.acpted_rply.ar_verf.oa_base = verf;
	m.acpted_rply.ar_results.where = obj;
	m.acpted_rply.ar_results.proc = t->proc;
	xdrmem_create(&x, (char *)buf, (u_int)len, XDR_DECODE);
	(void)xdr_replymsg(&x, &m);
	FUZZ_ASSERT(xdr_getpos(&x) <= len);
	xdr_destroy(&x);
}

/* Encodes obj into buf (room for len bytes); returns the length. */
static size_t encode(const struct xdr_type *t, void *obj, uint8_t *buf, size_t len)
{
	size_t n;
	XDR x;

	xdrmem_create(&x, (char *)buf, (u_int)len, XDR_ENCODE);
	FUZZ_ASSERT(t->proc(&x, obj));
	n = xdr_getpos(&x);
	xdr_destroy(&x);
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct xdr_type *t;
	uint8_t *again, *third;
	void *obj, *obj2;
	size_t used, used2, len;

	if (size < 1 || size > (1u << 24))
		return 0;
	t = &types[(data[0] & 0x7f) % NTYPES];
	obj = calloc(1, t->size);
	FUZZ_ASSERT(obj != NULL);
	if (data[0] & 0x80) {
		decode_reply(t, data + 1, size - 1, obj);
		xdr_free(t->proc, obj);
		free(obj);
		return 0;
	}
	if (!decode(t, data + 1, size - 1, obj, &used)) {
		FUZZ_ASSERT(used <= size - 1);
		xdr_free(t->proc, obj);
		free(obj);
		return 0;
	}
	FUZZ_ASSERT(used <= size - 1);
	again = malloc(used + 1);
	third = malloc(used + 1);
	obj2 = calloc(1, t->size);
	FUZZ_ASSERT(again != NULL && third != NULL && obj2 != NULL);
	len = encode(t, obj, again, used);
	FUZZ_ASSERT(len <= used);
	FUZZ_ASSERT(decode(t, again, len, obj2, &used2) && used2 == len);
	FUZZ_ASSERT(encode(t, obj2, third, len) == len);
	FUZZ_ASSERT(memcmp(again, third, len) == 0);
	xdr_free(t->proc, obj);
	xdr_free(t->proc, obj2);
	free(obj);
	free(obj2);
	free(again);
	free(third);
	return 0;
}
