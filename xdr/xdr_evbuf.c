/*
 * xdr_evbuf.c: XDR encoding into an evbuffer. The stream reserves space in
 * the buffer's last chain and writes there; large opaque data is added as
 * its own piece. Nothing is copied twice.
 */
#include <string.h>
#include <arpa/inet.h>

#include "xdr_evbuf.h"

#define RESERVE_MIN 4096

static struct rpx_xdrenc *enc_of(XDR *xdrs)
{
	return (struct rpx_xdrenc *)xdrs->x_private;
}

static void enc_commit(struct rpx_xdrenc *enc)
{
	if (enc->vec.iov_base == NULL)
		return;
	enc->vec.iov_len = enc->used;
	if (enc->used > 0)
		evbuffer_commit_space(enc->buf, &enc->vec, 1);
	enc->committed += enc->used;
	enc->vec.iov_base = NULL;
	enc->vec.iov_len = 0;
	enc->used = 0;
}

/* Makes room for @n contiguous bytes; NULL when out of memory. */
static char *enc_room(struct rpx_xdrenc *enc, size_t n)
{
	if (enc->vec.iov_base == NULL || enc->vec.iov_len - enc->used < n) {
		enc_commit(enc);
		if (evbuffer_reserve_space(enc->buf, n > RESERVE_MIN ? n : RESERVE_MIN, &enc->vec,
		        1) < 1)
			return NULL;
	}
	return (char *)enc->vec.iov_base + enc->used;
}

static bool_t enc_getlong(XDR *xdrs, long *lp)
{
	return FALSE;
}

static bool_t enc_putlong(XDR *xdrs, const long *lp)
{
	struct rpx_xdrenc *enc = enc_of(xdrs);
	uint32_t v = htonl((uint32_t)*lp);
	char *p = enc_room(enc, 4);

	if (p == NULL)
		return FALSE;
	memcpy(p, &v, 4);
	enc->used += 4;
	return TRUE;
}

static bool_t enc_getbytes(XDR *xdrs, char *addr, u_int len)
{
	return FALSE;
}

static bool_t enc_putbytes(XDR *xdrs, const char *addr, u_int len)
{
	struct rpx_xdrenc *enc = enc_of(xdrs);
	char *p;

	if (len >= RESERVE_MIN) {
		enc_commit(enc);
		if (evbuffer_add(enc->buf, addr, len) < 0)
			return FALSE;
		enc->committed += len;
		return TRUE;
	}
	if ((p = enc_room(enc, len)) == NULL)
		return FALSE;
	memcpy(p, addr, len);
	enc->used += len;
	return TRUE;
}

static u_int enc_getpostn(XDR *xdrs)
{
	struct rpx_xdrenc *enc = enc_of(xdrs);

	return (u_int)(enc->committed + enc->used);
}

static bool_t enc_setpostn(XDR *xdrs, u_int pos)
{
	return FALSE;
}

static int32_t *enc_inline(XDR *xdrs, u_int len)
{
	struct rpx_xdrenc *enc = enc_of(xdrs);
	char *p;

	if (len % 4 != 0 || len > RESERVE_MIN || (p = enc_room(enc, len)) == NULL)
		return NULL;
	/* Reserved space is malloc'd chain memory, so 4-byte aligned at any
	 * multiple-of-4 offset. */
	if (((uintptr_t)p & 3) != 0)
		return NULL;
	enc->used += len;
	return (int32_t *)(void *)p;
}

static void enc_destroy(XDR *xdrs)
{
	enc_commit(enc_of(xdrs));
}

static bool_t enc_control(XDR *xdrs, int request, void *info)
{
	return FALSE;
}

static const struct xdr_ops enc_ops = {
    .x_getlong = enc_getlong,
    .x_putlong = enc_putlong,
    .x_getbytes = enc_getbytes,
    .x_putbytes = enc_putbytes,
    .x_getpostn = enc_getpostn,
    .x_setpostn = enc_setpostn,
    .x_inline = enc_inline,
    .x_destroy = enc_destroy,
    .x_control = enc_control,
};

void rpx_xdrenc_create(struct rpx_xdrenc *enc, struct evbuffer *buf)
{
	memset(enc, 0, sizeof(*enc));
	enc->buf = buf;
	enc->xdr.x_op = XDR_ENCODE;
	enc->xdr.x_ops = &enc_ops;
	enc->xdr.x_private = (char *)enc;
}

size_t rpx_xdrenc_finish(struct rpx_xdrenc *enc)
{
	enc_commit(enc);
	return enc->committed;
}
