/*
 * test_recmark.c: RFC 5531 §11 record marking (xdr/recmark.c). The reader
 * must give the same records however the bytes are cut into reads, refuse a
 * record over the limit before buffering any of its body, refuse a record
 * of too many fragments, and read back what rpx_recmark_write wrote.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "recmark.h"
#include "unit.h"

static void add_header(struct evbuffer *b, uint32_t len, bool last)
{
	uint32_t v = htonl(len | (last ? RPX_RECMARK_LAST : 0));

	evbuffer_add(b, &v, 4);
}

static void add_frag(struct evbuffer *b, const void *p, size_t len, bool last)
{
	add_header(b, (uint32_t)len, last);
	evbuffer_add(b, p, len);
}

/* Copies the record the reader holds into @out (NUL-terminated). */
static size_t record_copy(struct rpx_recmark *rm, char *out, size_t outlen)
{
	size_t n = evbuffer_get_length(rm->record);

	if (n >= outlen)
		n = outlen - 1;
	evbuffer_copyout(rm->record, out, n);
	out[n] = '\0';
	return n;
}

static void test_single_fragment(void)
{
	struct rpx_recmark rm;
	struct evbuffer *in = evbuffer_new();
	char got[64];

	CHECK_INT(rpx_recmark_init(&rm, 1024), 0);
	add_frag(in, "hello world", 11, true);
	CHECK_INT(rpx_recmark_read(&rm, in), 0);
	CHECK_INT(record_copy(&rm, got, sizeof(got)), 11);
	CHECK_MEM(got, 11, "hello world", 11);
	CHECK_INT(rm.fragments, 1);
	CHECK_INT(evbuffer_get_length(in), 0);
	rpx_recmark_next(&rm);
	CHECK(!rpx_recmark_partial(&rm));
	CHECK_INT(evbuffer_get_length(rm.record), 0);
	CHECK_INT(rpx_recmark_read(&rm, in), RPX_AGAIN);
	rpx_recmark_release(&rm);
	rpx_recmark_release(&rm); /* twice is harmless */
	rpx_recmark_release(NULL);
	evbuffer_free(in);
}

static void test_multi_fragment(void)
{
	struct rpx_recmark rm;
	struct evbuffer *in = evbuffer_new();
	char got[64];

	rpx_recmark_init(&rm, 1024);
	add_frag(in, "abc", 3, false);
	add_frag(in, "defgh", 5, false);
	CHECK_INT(rpx_recmark_read(&rm, in), RPX_AGAIN);
	CHECK(rpx_recmark_partial(&rm));
	add_frag(in, "ij", 2, true);
	CHECK_INT(rpx_recmark_read(&rm, in), 0);
	CHECK_INT(rm.fragments, 3);
	CHECK_INT(rm.record_len, 10);
	CHECK_INT(record_copy(&rm, got, sizeof(got)), 10);
	CHECK_MEM(got, 10, "abcdefghij", 10);
	rpx_recmark_next(&rm);
	rpx_recmark_release(&rm);
	evbuffer_free(in);
}

/* The test stream: one record of three fragments, 12 + 3 body bytes. */
static const char three_body[] = "RPC-over-TCP";

static size_t three_frags(unsigned char *out)
{
	struct evbuffer *b = evbuffer_new();
	size_t n;

	add_frag(b, "RPC-", 4, false);
	add_frag(b, "over-TC", 7, false);
	add_frag(b, "P", 1, true);
	n = evbuffer_get_length(b);
	evbuffer_remove(b, out, n);
	evbuffer_free(b);
	return n;
}

/*
 * Feeds @stream cut at @cuts (ascending offsets) and checks that the reader
 * says RPX_AGAIN before the last byte and returns the record after it.
 */
static bool feed_cut(const unsigned char *stream, size_t len, const size_t *cuts, size_t ncuts)
{
	struct rpx_recmark rm;
	struct evbuffer *in = evbuffer_new();
	size_t from = 0;
	bool ok = true;
	char got[64];

	rpx_recmark_init(&rm, 64);
	for (size_t i = 0; i <= ncuts; i++) {
		size_t to = i < ncuts ? cuts[i] : len;
		int rc;

		evbuffer_add(in, stream + from, to - from);
		from = to;
		rc = rpx_recmark_read(&rm, in);
		ok &= CHECK_INT(rc, to == len ? 0 : RPX_AGAIN);
		/* A header is taken only whole; the body is taken as it comes. */
		ok &= CHECK(evbuffer_get_length(in) < 4);
		ok &= CHECK(evbuffer_get_length(rm.record) <= rm.record_len);
		if (to == len)
			break;
		ok &= CHECK(rpx_recmark_partial(&rm) == (to >= 4));
	}
	ok &= CHECK_INT(record_copy(&rm, got, sizeof(got)), strlen(three_body));
	ok &= CHECK_MEM(got, strlen(got), three_body, strlen(three_body));
	ok &= CHECK_INT(evbuffer_get_length(in), 0);
	rpx_recmark_release(&rm);
	evbuffer_free(in);
	return ok;
}

static void test_every_split_point(void)
{
	unsigned char stream[64];
	size_t len = three_frags(stream);

	CHECK_INT(len, 24);
	for (size_t a = 0; a <= len; a++) {
		if (!feed_cut(stream, len, &a, 1))
			return;
	}
	for (size_t a = 0; a <= len; a++) {
		for (size_t b = a; b <= len; b++) {
			size_t cuts[2] = {a, b};

			if (!feed_cut(stream, len, cuts, 2))
				return;
		}
	}
}

static void test_byte_by_byte(void)
{
	unsigned char stream[64];
	size_t len = three_frags(stream);
	size_t cuts[64];

	for (size_t i = 0; i + 1 < len; i++)
		cuts[i] = i + 1;
	feed_cut(stream, len, cuts, len - 1);
}

static void test_random_chunks(void)
{
	unsigned char stream[64];
	size_t len = three_frags(stream);
	unsigned seed = 12345;

	for (int round = 0; round < 2000; round++) {
		size_t cuts[64], n = 0, at = 0;

		for (;;) {
			seed = seed * 1103515245u + 12345u;
			at += 1 + (seed >> 16) % 9;
			if (at >= len)
				break;
			cuts[n++] = at;
		}
		if (!feed_cut(stream, len, cuts, n))
			return;
	}
}

static void test_zero_length_fragments(void)
{
	struct rpx_recmark rm;
	struct evbuffer *in = evbuffer_new();
	char got[16];

	rpx_recmark_init(&rm, 8);
	/* An empty record is a record. */
	add_header(in, 0, true);
	CHECK_INT(rpx_recmark_read(&rm, in), 0);
	CHECK_INT(evbuffer_get_length(rm.record), 0);
	rpx_recmark_next(&rm);
	/* Empty fragments around a body. */
	add_header(in, 0, false);
	add_header(in, 0, false);
	add_frag(in, "ab", 2, false);
	add_header(in, 0, false);
	add_header(in, 0, true);
	CHECK_INT(rpx_recmark_read(&rm, in), 0);
	CHECK_INT(rm.fragments, 5);
	CHECK_INT(record_copy(&rm, got, sizeof(got)), 2);
	CHECK_MEM(got, 2, "ab", 2);
	rpx_recmark_next(&rm);
	/* An empty non-last fragment alone leaves a partial record. */
	add_header(in, 0, false);
	CHECK_INT(rpx_recmark_read(&rm, in), RPX_AGAIN);
	CHECK(rpx_recmark_partial(&rm));
	rpx_recmark_release(&rm);
	evbuffer_free(in);
}

static void test_limit(void)
{
	static const char body[32] = "0123456789abcdefghijklmnopqrstu";
	struct rpx_recmark rm;
	struct evbuffer *in = evbuffer_new();

	/* Exactly the limit, in one fragment and in two. */
	rpx_recmark_init(&rm, 16);
	add_frag(in, body, 16, true);
	CHECK_INT(rpx_recmark_read(&rm, in), 0);
	CHECK_INT(evbuffer_get_length(rm.record), 16);
	rpx_recmark_next(&rm);
	add_frag(in, body, 8, false);
	add_frag(in, body, 8, true);
	CHECK_INT(rpx_recmark_read(&rm, in), 0);
	CHECK_INT(evbuffer_get_length(rm.record), 16);
	rpx_recmark_next(&rm);
	/* At the limit, then an empty last fragment: still fine. */
	add_frag(in, body, 16, false);
	add_header(in, 0, true);
	CHECK_INT(rpx_recmark_read(&rm, in), 0);
	rpx_recmark_next(&rm);
	rpx_recmark_release(&rm);

	/* One over, in one fragment: refused at the header. */
	rpx_recmark_init(&rm, 16);
	add_frag(in, body, 17, true);
	CHECK_INT(rpx_recmark_read(&rm, in), -EMSGSIZE);
	CHECK_INT(evbuffer_get_length(in), 4 + 17);
	CHECK_INT(evbuffer_get_length(rm.record), 0);
	rpx_recmark_release(&rm);
	evbuffer_drain(in, evbuffer_get_length(in));

	/* One over across fragments: the second header is refused, none of its body kept. */
	rpx_recmark_init(&rm, 16);
	add_frag(in, body, 8, false);
	add_frag(in, body, 9, true);
	CHECK_INT(rpx_recmark_read(&rm, in), -EMSGSIZE);
	CHECK_INT(evbuffer_get_length(rm.record), 8);
	CHECK_INT(evbuffer_get_length(in), 4 + 9);
	rpx_recmark_release(&rm);
	evbuffer_drain(in, evbuffer_get_length(in));

	/* A zero limit takes empty records only. */
	rpx_recmark_init(&rm, 0);
	add_header(in, 0, true);
	add_frag(in, "x", 1, true);
	CHECK_INT(rpx_recmark_read(&rm, in), 0);
	rpx_recmark_next(&rm);
	CHECK_INT(rpx_recmark_read(&rm, in), -EMSGSIZE);
	rpx_recmark_release(&rm);
	evbuffer_free(in);
}

static void test_huge_header(void)
{
	static const uint32_t headers[] = {RPX_RECMARK_LAST | RPX_RECMARK_LEN_MASK,
	    RPX_RECMARK_LEN_MASK, RPX_RECMARK_LAST | (1024 * 1024 + 1), 0x40000000u};

	for (size_t i = 0; i < sizeof(headers) / sizeof(headers[0]); i++) {
		struct rpx_recmark rm;
		struct evbuffer *in = evbuffer_new();
		uint32_t v = htonl(headers[i]);
		char body[1000];

		memset(body, 'x', sizeof(body));
		rpx_recmark_init(&rm, 1024 * 1024);
		evbuffer_add(in, &v, 4);
		evbuffer_add(in, body, sizeof(body));
		CHECK_INT(rpx_recmark_read(&rm, in), -EMSGSIZE);
		CHECK_INT(evbuffer_get_length(in), 4 + sizeof(body));
		CHECK_INT(evbuffer_get_length(rm.record), 0);
		CHECK_INT(rm.record_len, 0);
		CHECK(!rm.in_fragment);
		/* The header alone, before any body byte arrived: same answer. */
		evbuffer_drain(in, sizeof(body));
		CHECK_INT(rpx_recmark_read(&rm, in), -EMSGSIZE);
		CHECK_INT(evbuffer_get_length(in), 4);
		rpx_recmark_release(&rm);
		evbuffer_free(in);
	}
}

static void test_too_many_fragments(void)
{
	struct rpx_recmark rm;
	struct evbuffer *in = evbuffer_new();

	/* The most fragments allowed. */
	rpx_recmark_init(&rm, 1024 * 1024);
	for (int i = 0; i < RPX_RECMARK_MAX_FRAGMENTS - 1; i++)
		add_frag(in, "z", 1, false);
	add_frag(in, "z", 1, true);
	CHECK_INT(rpx_recmark_read(&rm, in), 0);
	CHECK_INT(evbuffer_get_length(rm.record), RPX_RECMARK_MAX_FRAGMENTS);
	rpx_recmark_next(&rm);

	/* One more: refused at the header that makes too many. */
	for (int i = 0; i < RPX_RECMARK_MAX_FRAGMENTS; i++)
		add_header(in, 0, false);
	CHECK_INT(rpx_recmark_read(&rm, in), RPX_AGAIN);
	add_header(in, 0, true);
	CHECK_INT(rpx_recmark_read(&rm, in), -EBADMSG);
	CHECK_INT(evbuffer_get_length(in), 4);
	rpx_recmark_release(&rm);
	evbuffer_free(in);
}

static void test_back_to_back(void)
{
	struct rpx_recmark rm;
	struct evbuffer *in = evbuffer_new();
	char got[64];

	rpx_recmark_init(&rm, 64);
	add_frag(in, "first", 5, true);
	add_frag(in, "sec", 3, false);
	add_frag(in, "ond", 3, true);
	add_header(in, 3, true); /* third record, body not yet here */
	CHECK_INT(rpx_recmark_read(&rm, in), 0);
	CHECK_INT(record_copy(&rm, got, sizeof(got)), 5);
	CHECK_MEM(got, 5, "first", 5);
	rpx_recmark_next(&rm);
	CHECK_INT(rpx_recmark_read(&rm, in), 0);
	CHECK_INT(record_copy(&rm, got, sizeof(got)), 6);
	CHECK_MEM(got, 6, "second", 6);
	rpx_recmark_next(&rm);
	CHECK_INT(rpx_recmark_read(&rm, in), RPX_AGAIN);
	CHECK(rpx_recmark_partial(&rm));
	evbuffer_add(in, "3rd", 3);
	CHECK_INT(rpx_recmark_read(&rm, in), 0);
	CHECK_INT(record_copy(&rm, got, sizeof(got)), 3);
	CHECK_MEM(got, 3, "3rd", 3);
	rpx_recmark_next(&rm);
	CHECK_INT(evbuffer_get_length(in), 0);
	rpx_recmark_release(&rm);
	evbuffer_free(in);
}

static void test_write_round_trip(void)
{
	static const size_t sizes[] = {0, 1, 3, 4, 4096, 100000};
	unsigned char hdr[4];

	rpx_recmark_header(hdr, 0x1234);
	CHECK_MEM(hdr, 4, "\x80\x00\x12\x34", 4);
	rpx_recmark_header(hdr, 0);
	CHECK_MEM(hdr, 4, "\x80\x00\x00\x00", 4);

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t n = sizes[i];
		unsigned char *data = malloc(n + 1), *back = malloc(n + 1);
		struct evbuffer *body = evbuffer_new(), *out = evbuffer_new();
		struct rpx_recmark rm;
		uint32_t h;

		for (size_t j = 0; j < n; j++)
			data[j] = (unsigned char)(j * 7 + i);
		evbuffer_add(out, "pre", 3); /* appends, keeps what was there */
		evbuffer_add(body, data, n);
		CHECK_INT(rpx_recmark_write(out, body), 0);
		CHECK_INT(evbuffer_get_length(body), 0);
		CHECK_INT(evbuffer_get_length(out), 3 + 4 + n);
		evbuffer_drain(out, 3);
		evbuffer_copyout(out, &h, 4);
		CHECK_INT(ntohl(h), RPX_RECMARK_LAST | n);
		rpx_recmark_init(&rm, n);
		CHECK_INT(rpx_recmark_read(&rm, out), 0);
		CHECK_INT(evbuffer_get_length(rm.record), n);
		evbuffer_copyout(rm.record, back, n);
		CHECK_MEM(back, n, data, n);
		rpx_recmark_release(&rm);
		evbuffer_free(body);
		evbuffer_free(out);
		free(data);
		free(back);
	}
}

static void test_partial(void)
{
	struct rpx_recmark rm;
	struct evbuffer *in = evbuffer_new();

	rpx_recmark_init(&rm, 64);
	CHECK(!rpx_recmark_partial(&rm));
	evbuffer_add(in, "\x80\x00", 2); /* half a header is not a record yet */
	CHECK_INT(rpx_recmark_read(&rm, in), RPX_AGAIN);
	CHECK(!rpx_recmark_partial(&rm));
	evbuffer_add(in, "\x00\x02", 2);
	CHECK_INT(rpx_recmark_read(&rm, in), RPX_AGAIN);
	CHECK(rpx_recmark_partial(&rm));
	evbuffer_add(in, "ok", 2);
	CHECK_INT(rpx_recmark_read(&rm, in), 0);
	rpx_recmark_next(&rm);
	CHECK(!rpx_recmark_partial(&rm));
	rpx_recmark_release(&rm);
	evbuffer_free(in);
}

static const struct unit_case cases[] = {
    {"single_fragment", test_single_fragment},
    {"multi_fragment", test_multi_fragment},
    {"every_split_point", test_every_split_point},
    {"byte_by_byte", test_byte_by_byte},
    {"random_chunks", test_random_chunks},
    {"zero_length_fragments", test_zero_length_fragments},
    {"limit", test_limit},
    {"huge_header", test_huge_header},
    {"too_many_fragments", test_too_many_fragments},
    {"back_to_back", test_back_to_back},
    {"write_round_trip", test_write_round_trip},
    {"partial", test_partial},
};

UNIT_GROUP(recmark, cases);
