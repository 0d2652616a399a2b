/*
 * recmark.c: RFC 5531 §11 record marking, the framing under every stream
 * transport. Bytes arrive in whatever pieces the socket gives; this module
 * turns them into whole records without ever buffering more than the record
 * limit, and resumes where it stopped after a short read.
 */
#include <string.h>
#include <arpa/inet.h>

#include "recmark.h"

int rpx_recmark_init(struct rpx_recmark *rm, size_t record_limit)
{
	memset(rm, 0, sizeof(*rm));
	rm->record_limit = record_limit;
	if ((rm->record = evbuffer_new()) == NULL)
		return -ENOMEM;
	return 0;
}

void rpx_recmark_release(struct rpx_recmark *rm)
{
	if (rm == NULL || rm->record == NULL)
		return;
	evbuffer_free(rm->record);
	rm->record = NULL;
}

void rpx_recmark_next(struct rpx_recmark *rm)
{
	evbuffer_drain(rm->record, evbuffer_get_length(rm->record));
	rm->record_len = 0;
	rm->frag_left = 0;
	rm->fragments = 0;
	rm->in_fragment = false;
	rm->last = false;
}

bool rpx_recmark_partial(const struct rpx_recmark *rm)
{
	return rm->in_fragment || rm->fragments > 0;
}

int rpx_recmark_read(struct rpx_recmark *rm, struct evbuffer *in)
{
	for (;;) {
		if (!rm->in_fragment) {
			uint32_t hdr, len;

			if (evbuffer_copyout(in, &hdr, 4) != 4)
				return RPX_AGAIN;
			hdr = ntohl(hdr);
			len = hdr & RPX_RECMARK_LEN_MASK;
			/* The check comes before any body byte is kept. */
			if (len > rm->record_limit - rm->record_len)
				return -EMSGSIZE;
			if (++rm->fragments > RPX_RECMARK_MAX_FRAGMENTS)
				return -EBADMSG;
			evbuffer_drain(in, 4);
			rm->record_len += len;
			rm->frag_left = len;
			rm->last = (hdr & RPX_RECMARK_LAST) != 0;
			rm->in_fragment = true;
		}
		if (rm->frag_left > 0) {
			size_t have = evbuffer_get_length(in);
			size_t take = have < rm->frag_left ? have : rm->frag_left;

			if (take > 0 && evbuffer_remove_buffer(in, rm->record, take) != (int)take)
				return -ENOMEM;
			rm->frag_left -= take;
			if (rm->frag_left > 0)
				return RPX_AGAIN;
		}
		rm->in_fragment = false;
		if (rm->last)
			return 0;
	}
}

void rpx_recmark_header(unsigned char hdr[4], size_t len)
{
	uint32_t v = htonl(RPX_RECMARK_LAST | (uint32_t)len);

	memcpy(hdr, &v, 4);
}

int rpx_recmark_write(struct evbuffer *out, struct evbuffer *body)
{
	size_t len = evbuffer_get_length(body);
	unsigned char hdr[4];

	if (len > RPX_RECMARK_LEN_MASK)
		return -EMSGSIZE;
	rpx_recmark_header(hdr, len);
	if (evbuffer_add(out, hdr, 4) < 0 || evbuffer_add_buffer(out, body) < 0)
		return -ENOMEM;
	return 0;
}
