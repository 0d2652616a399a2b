/*
 * fuzz_recmark.c: the record-marking reader (xdr/recmark.c) against a
 * one-pass model of RFC 5531 §11 that sees the whole stream at once.
 *
 * Input: byte 0 is the record limit (0..255 bytes), byte 1 picks how the
 * rest is cut into reads (0: one read; else pseudo-random sizes of 1 up to
 * byte1 % 64 + 1 bytes, seeded by byte 1), the rest is the stream. However
 * it is cut, the reader must return the model's records and the model's
 * error; the record never exceeds the limit; a refused header leaves the
 * record as it was; every record written back with rpx_recmark_write reads
 * back the same.
 */
#include <string.h>

#include "fuzz_target.h"
#include "recmark.h"

struct model {
	const uint8_t *s;
	size_t len, pos; /* stream and how far the model has read */
	size_t limit;
	int error; /* 0, -EMSGSIZE or -EBADMSG once met */
	size_t error_len; /* body bytes of the record before the refused header */
	bool partial; /* a header of an unfinished record was read */
};

/*
 * Copies the next record into @out; returns 1, 0 at the end of the stream
 * (partial says whether a record was started), or the error.
 */
static int model_next(struct model *m, uint8_t *out, size_t *n)
{
	size_t pos = m->pos, len = 0;
	unsigned frags = 0;

	m->partial = false;
	for (;;) {
		uint32_t hdr, flen;

		if (m->len - pos < 4)
			return 0;
		hdr = (uint32_t)m->s[pos] << 24 | (uint32_t)m->s[pos + 1] << 16 |
		      (uint32_t)m->s[pos + 2] << 8 | m->s[pos + 3];
		flen = hdr & 0x7fffffffu;
		m->error_len = len;
		if (flen > m->limit - len)
			return m->error = -EMSGSIZE;
		if (++frags > RPX_RECMARK_MAX_FRAGMENTS)
			return m->error = -EBADMSG;
		pos += 4;
		m->partial = true;
		if (m->len - pos < flen)
			return 0;
		memcpy(out + len, m->s + pos, flen);
		len += flen;
		pos += flen;
		if (hdr & 0x80000000u) {
			m->pos = pos;
			m->partial = false;
			*n = len;
			return 1;
		}
	}
}

static void round_trip(const uint8_t *rec, size_t n)
{
	struct evbuffer *body = evbuffer_new(), *out = evbuffer_new();
	struct rpx_recmark rm;

	FUZZ_ASSERT(body != NULL && out != NULL && rpx_recmark_init(&rm, n) == 0);
	evbuffer_add(body, rec, n);
	FUZZ_ASSERT(rpx_recmark_write(out, body) == 0);
	FUZZ_ASSERT(evbuffer_get_length(out) == n + 4);
	FUZZ_ASSERT(rpx_recmark_read(&rm, out) == 0);
	FUZZ_ASSERT(evbuffer_get_length(rm.record) == n);
	FUZZ_ASSERT(n == 0 || memcmp(evbuffer_pullup(rm.record, -1), rec, n) == 0);
	FUZZ_ASSERT(evbuffer_get_length(out) == 0);
	rpx_recmark_release(&rm);
	evbuffer_free(body);
	evbuffer_free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t want[256], got[256];
	struct model m;
	struct rpx_recmark rm;
	struct evbuffer *in;
	size_t fed = 0, want_len = 0;
	uint32_t rng;
	int want_rc;

	if (size < 2)
		return 0;
	memset(&m, 0, sizeof(m));
	m.limit = data[0];
	m.s = data + 2;
	m.len = size - 2;
	rng = data[1] * 2654435761u + 1;
	in = evbuffer_new();
	FUZZ_ASSERT(in != NULL && rpx_recmark_init(&rm, m.limit) == 0);

	want_rc = model_next(&m, want, &want_len);
	while (fed < m.len) {
		size_t chunk = m.len - fed;

		if (data[1] != 0) {
			rng ^= rng << 13;
			rng ^= rng >> 17;
			rng ^= rng << 5;
			chunk = 1 + rng % (data[1] % 64u + 1);
			if (chunk > m.len - fed)
				chunk = m.len - fed;
		}
		evbuffer_add(in, m.s + fed, chunk);
		fed += chunk;
		for (;;) {
			int rc = rpx_recmark_read(&rm, in);

			FUZZ_ASSERT(rm.record_len <= m.limit);
			FUZZ_ASSERT(evbuffer_get_length(rm.record) <= rm.record_len);
			FUZZ_ASSERT(evbuffer_get_length(rm.record) + rm.frag_left == rm.record_len);
			if (rc == RPX_AGAIN)
				break;
			if (rc < 0) {
				/*
				 * The model met the same error, and no byte of the
				 * refused fragment was kept: its header is still unread.
				 */
				FUZZ_ASSERT(rc == want_rc);
				FUZZ_ASSERT(evbuffer_get_length(rm.record) == m.error_len);
				FUZZ_ASSERT(rm.frag_left == 0);
				FUZZ_ASSERT(evbuffer_get_length(in) >= 4);
				goto out;
			}
			FUZZ_ASSERT(rc == 0 && want_rc == 1);
			FUZZ_ASSERT(evbuffer_get_length(rm.record) == want_len);
			evbuffer_copyout(rm.record, got, want_len);
			FUZZ_ASSERT(memcmp(got, want, want_len) == 0);
			round_trip(got, want_len);
			rpx_recmark_next(&rm);
			FUZZ_ASSERT(!rpx_recmark_partial(&rm));
			want_rc = model_next(&m, want, &want_len);
		}
	}
	/* All fed: no record the model found may still be waiting. */
	FUZZ_ASSERT(want_rc == 0);
	FUZZ_ASSERT(rpx_recmark_partial(&rm) == m.partial);
	FUZZ_ASSERT(evbuffer_get_length(in) < 4);
out:
	rpx_recmark_release(&rm);
	evbuffer_free(in);
	return 0;
}
