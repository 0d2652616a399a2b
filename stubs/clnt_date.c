/*
 * clnt_date.c: typed calls of the DATE program (idl/date.x).
 *
 * Thin wrappers over rpx_client_call() with the rpcgen XDR routines, so a
 * caller gets a filled rpx_date_now_res or a negative errno and a message.
 * FORMAT's result is a union of the time and a server-side error; the
 * wrapper turns the error arm into a return code and "server: MESSAGE".
 */
#include <errno.h>
#include <string.h>

#include "clnt_internal.h"

int rpx_date_now(struct rpx_client *cl, rpx_date_now_res *res)
{
	int ret;

	memset(res, 0, sizeof(*res));
	ret = rpx_client_call(cl, RPX_DATE_PROG, RPX_DATE_VERS, RPX_DATE_NOW, (xdrproc_t)xdr_void,
	    NULL, (xdrproc_t)xdr_rpx_date_now_res, res);
	if (ret < 0)
		rpx_date_free(res);
	return ret;
}

int rpx_date_format(struct rpx_client *cl, int64_t seconds, uint32_t nanoseconds, int utc,
    rpx_date_now_res *res)
{
	rpx_date_format_args args;
	rpx_date_format_res reply;
	int ret;

	memset(res, 0, sizeof(*res));
	memset(&reply, 0, sizeof(reply));
	args.seconds = seconds;
	args.nanoseconds = nanoseconds;
	args.utc = utc ? TRUE : FALSE;
	ret = rpx_client_call(cl, RPX_DATE_PROG, RPX_DATE_VERS, RPX_DATE_FORMAT,
	    (xdrproc_t)xdr_rpx_date_format_args, &args, (xdrproc_t)xdr_rpx_date_format_res, &reply);
	if (ret < 0)
		goto out;
	if (reply.error != 0) {
		const char *msg = reply.rpx_date_format_res_u.message;

		ret = rpx_client_fail_(cl, reply.error > 0 ? -reply.error : reply.error,
		    "server: %s",
		    msg != NULL && msg[0] != '\0' ? msg
		                                  : strerror(reply.error > 0 ? reply.error : EIO));
		goto out;
	}
	/* Move the time arm out: the strings now belong to *res. */
	*res = reply.rpx_date_format_res_u.time;
	return 0;
out:
	xdr_free((xdrproc_t)xdr_rpx_date_format_res, (char *)&reply);
	return ret;
}

void rpx_date_free(rpx_date_now_res *res)
{
	if (res == NULL)
		return;
	xdr_free((xdrproc_t)xdr_rpx_date_now_res, (char *)res);
	memset(res, 0, sizeof(*res));
}
