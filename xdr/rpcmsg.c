/*
 * rpcmsg.c: call/reply headers for the dispatcher and the clients that build
 * messages by hand (librpx's async client and its TLS probe, load generator,
 * tests), and the bounded decoder of rpcbind's answer. Decoding uses
 * caller-provided buffers for the credential and verifier bodies, so
 * xdr_callmsg never allocates on behalf of a peer.
 */
#include <string.h>
#include <arpa/inet.h>

#include "recmark.h"
#include "rpcmsg.h"

int rpx_rpcmsg_peek(const void *msg, size_t len, uint32_t *xid, uint32_t *direction,
    uint32_t *rpcvers)
{
	uint32_t w[3];

	if (len < sizeof(w))
		return -EBADMSG;
	memcpy(w, msg, sizeof(w));
	*xid = ntohl(w[0]);
	*direction = ntohl(w[1]);
	*rpcvers = ntohl(w[2]);
	return 0;
}

int rpx_rpcmsg_decode_call(XDR *xdrs, struct rpx_callhdr *h)
{
	memset(&h->msg, 0, sizeof(h->msg));
	h->msg.rm_call.cb_cred.oa_base = h->cred_body;
	h->msg.rm_call.cb_verf.oa_base = h->verf_body;
	if (!xdr_callmsg(xdrs, &h->msg))
		return -EBADMSG;
	return 0;
}

int rpx_rpcmsg_decode_authsys(const struct opaque_auth *cred, struct rpx_authsys *out)
{
	struct authunix_parms aup;
	u_int gids[NGRPS];
	XDR xdrs;
	int err = -EBADMSG;

	memset(&aup, 0, sizeof(aup));
	memset(out, 0, sizeof(*out));
	aup.aup_machname = out->machine;
	aup.aup_gids = gids;
	xdrmem_create(&xdrs, cred->oa_base, cred->oa_length, XDR_DECODE);
	if (!xdr_authunix_parms(&xdrs, &aup))
		goto out;
	/* The body must be exactly one credential, nothing after it. */
	if (xdr_getpos(&xdrs) != cred->oa_length || aup.aup_len > RPX_MAX_GIDS)
		goto out;
	out->stamp = (uint32_t)aup.aup_time;
	out->uid = aup.aup_uid;
	out->gid = aup.aup_gid;
	out->ngids = aup.aup_len;
	for (u_int i = 0; i < aup.aup_len; i++)
		out->gids[i] = gids[i];
	err = 0;
out:
	xdr_destroy(&xdrs);
	return err;
}

int rpx_rpcmsg_encode_call(XDR *xdrs, uint32_t xid, uint32_t prog, uint32_t vers, uint32_t proc,
    uint32_t cred_flavor)
{
	struct rpc_msg m;

	memset(&m, 0, sizeof(m));
	m.rm_xid = xid;
	m.rm_direction = CALL;
	m.rm_call.cb_rpcvers = RPX_RPC_VERS;
	m.rm_call.cb_prog = prog;
	m.rm_call.cb_vers = vers;
	m.rm_call.cb_proc = proc;
	m.rm_call.cb_cred.oa_flavor = (enum_t)cred_flavor;
	m.rm_call.cb_verf.oa_flavor = AUTH_NONE;
	return xdr_callmsg(xdrs, &m) ? 0 : -EMSGSIZE;
}

static int encode_reply(XDR *xdrs, struct rpc_msg *m)
{
	return xdr_replymsg(xdrs, m) ? 0 : -EMSGSIZE;
}

int rpx_rpcmsg_encode_accepted(XDR *xdrs, uint32_t xid, const struct opaque_auth *verf,
    enum accept_stat stat, xdrproc_t xdr_res, void *res, uint32_t low, uint32_t high)
{
	struct rpc_msg m;

	memset(&m, 0, sizeof(m));
	m.rm_xid = xid;
	m.rm_direction = REPLY;
	m.rm_reply.rp_stat = MSG_ACCEPTED;
	m.acpted_rply.ar_verf = verf != NULL ? *verf : _null_auth;
	m.acpted_rply.ar_stat = stat;
	if (stat == SUCCESS) {
		m.acpted_rply.ar_results.where = res;
		m.acpted_rply.ar_results.proc = xdr_res != NULL ? xdr_res : (xdrproc_t)xdr_void;
	} else if (stat == PROG_MISMATCH) {
		m.acpted_rply.ar_vers.low = low;
		m.acpted_rply.ar_vers.high = high;
	}
	return encode_reply(xdrs, &m);
}

int rpx_rpcmsg_encode_rpc_mismatch(XDR *xdrs, uint32_t xid, uint32_t low, uint32_t high)
{
	struct rpc_msg m;

	memset(&m, 0, sizeof(m));
	m.rm_xid = xid;
	m.rm_direction = REPLY;
	m.rm_reply.rp_stat = MSG_DENIED;
	m.rjcted_rply.rj_stat = RPC_MISMATCH;
	m.rjcted_rply.rj_vers.low = low;
	m.rjcted_rply.rj_vers.high = high;
	return encode_reply(xdrs, &m);
}

int rpx_rpcmsg_encode_auth_error(XDR *xdrs, uint32_t xid, enum auth_stat why)
{
	struct rpc_msg m;

	memset(&m, 0, sizeof(m));
	m.rm_xid = xid;
	m.rm_direction = REPLY;
	m.rm_reply.rp_stat = MSG_DENIED;
	m.rjcted_rply.rj_stat = AUTH_ERROR;
	m.rjcted_rply.rj_why = why;
	return encode_reply(xdrs, &m);
}

bool_t rpx_rpcmsg_xdr_uaddr(XDR *xdrs, char **uaddr)
{
	return xdr_string(xdrs, uaddr, RPX_UADDR_MAX);
}
