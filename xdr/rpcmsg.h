/*
 * rpcmsg.h: RPC call and reply headers (RFC 5531 §9) through libtirpc's
 * xdr_callmsg and xdr_replymsg, with the buffers that keep a hostile header
 * from making the decoder allocate.
 */
#ifndef RPX_RPCMSG_H
#define RPX_RPCMSG_H

#include <stdint.h>
#include <rpc/rpc.h>

#define RPX_RPC_VERS 2u
#define RPX_AUTH_TLS 7 /* RFC 9289 credential flavor */
#define RPX_MAX_GIDS 16 /* RFC 5531 appendix A: gids<16> */

struct rpx_callhdr {
	struct rpc_msg msg;
	char cred_body[MAX_AUTH_BYTES];
	char verf_body[MAX_AUTH_BYTES];
};

/* An AUTH_SYS credential, decoded. */
struct rpx_authsys {
	uint32_t stamp;
	uint32_t uid, gid;
	uint32_t ngids;
	uint32_t gids[RPX_MAX_GIDS];
	char machine[MAX_MACHINE_NAME + 1];
};

/*
 * Reads the first three words of a message. Returns 0 and fills xid, the
 * direction and the RPC version, or -EBADMSG when the bytes are too few.
 */
int rpx_rpcmsg_peek(const void *msg, size_t len, uint32_t *xid, uint32_t *direction,
    uint32_t *rpcvers);

/*
 * Decodes a call header from @xdrs into @h; the stream is left at the first
 * argument byte. 0, or -EBADMSG when the header does not decode.
 */
int rpx_rpcmsg_decode_call(XDR *xdrs, struct rpx_callhdr *h);

/* Decodes the body of an AUTH_SYS credential; 0 or -EBADMSG. */
int rpx_rpcmsg_decode_authsys(const struct opaque_auth *cred, struct rpx_authsys *out);

/*
 * Encodes a call header of @prog/@vers/@proc whose credential is
 * @cred_flavor with an empty body (AUTH_NONE, or AUTH_TLS for the RFC 9289
 * probe) and whose verifier is AUTH_NONE; the arguments follow. 0, or
 * -EMSGSIZE when @xdrs ran out of room.
 */
int rpx_rpcmsg_encode_call(XDR *xdrs, uint32_t xid, uint32_t prog, uint32_t vers, uint32_t proc,
    uint32_t cred_flavor);

/*
 * Reply encoders. Each returns 0, or -EMSGSIZE when @xdrs ran out of room or
 * the result routine failed.
 *   accepted: SUCCESS with @res through @xdr_res, or another accept_stat; for
 *             PROG_MISMATCH @low/@high are the versions served.
 *   denied:   RPC_MISMATCH (low/high), or AUTH_ERROR with @why.
 * @verf may be NULL for an AUTH_NONE verifier.
 */
int rpx_rpcmsg_encode_accepted(XDR *xdrs, uint32_t xid, const struct opaque_auth *verf,
    enum accept_stat stat, xdrproc_t xdr_res, void *res, uint32_t low, uint32_t high);
int rpx_rpcmsg_encode_rpc_mismatch(XDR *xdrs, uint32_t xid, uint32_t low, uint32_t high);
int rpx_rpcmsg_encode_auth_error(XDR *xdrs, uint32_t xid, enum auth_stat why);

/*
 * The longest universal address (RFC 5665 §5.2.3) accepted from rpcbind: an
 * IPv6 address with a scope and ".p1.p2" fits in 64 bytes.
 */
#define RPX_UADDR_MAX 64

/*
 * xdrproc for rpcbind's GETADDR result: a string of at most RPX_UADDR_MAX
 * bytes. Unlike xdr_wrapstring, a hostile length is refused before anything
 * is allocated or read. Free with xdr_free(rpx_rpcmsg_xdr_uaddr, &str).
 */
bool_t rpx_rpcmsg_xdr_uaddr(XDR *xdrs, char **uaddr);

#endif
