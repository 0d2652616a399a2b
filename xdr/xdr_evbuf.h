/*
 * xdr_evbuf.h: an XDR encoding stream that appends to a libevent evbuffer.
 *
 * rpcgen's xdr_* routines and libtirpc's xdr_replymsg write through it
 * straight into the buffer a transport sends from, with no size known in
 * advance and no intermediate copy of the message. Decoding needs no stream
 * of its own: a whole record is made contiguous with evbuffer_pullup() (a
 * no-op when it already is, the usual case) and read with xdrmem.
 */
#ifndef RPX_XDR_EVBUF_H
#define RPX_XDR_EVBUF_H

#include <stddef.h>
#include <rpc/rpc.h>
#include <event2/buffer.h>

struct rpx_xdrenc {
	XDR xdr;
	struct evbuffer *buf;
	struct evbuffer_iovec vec; /* reserved space being filled */
	size_t used; /* bytes of vec filled */
	size_t committed; /* bytes already committed to buf */
};

/* Starts encoding onto the end of @buf; use &enc->xdr with any xdr_* routine. */
void rpx_xdrenc_create(struct rpx_xdrenc *enc, struct evbuffer *buf);

/* Commits what was encoded; returns the number of bytes added to the buffer. */
size_t rpx_xdrenc_finish(struct rpx_xdrenc *enc);

#endif
