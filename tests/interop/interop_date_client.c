/*
 * interop_date_client.c: a DATE client written the way any libtirpc user
 * would, from STOCK rpcgen output (no -M) of idl/date.x and
 * clnttcp_create/clntudp_create, to show that rpxd speaks plain ONC RPC to
 * software nobody here wrote. test_stock_client.py runs it against a real
 * rpxd and checks every line it prints:
 *
 *	null ok
 *	now seconds=S nanoseconds=N utc_offset=O zone=Z rfc3339=T
 *	authsys_now seconds=S ... (the same with AUTH_SYS credentials)
 *	format seconds=S nanoseconds=N utc_offset=O zone=Z rfc3339=T
 *	format_error error=E message=M
 *	progvers stat=9 low=L high=H
 *	progunavail stat=8 (program 0x200077ff, which rpxd does not serve)
 *	procunavail stat=10
 *
 * usage: interop_date_client tcp|udp HOST PORT
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <rpc/rpc.h>

#include "date.h"

static struct timeval call_timeout = {5, 0};

static CLIENT *open_client(const char *proto, const struct sockaddr_in *sin, unsigned long prog,
    unsigned long vers)
{
	struct sockaddr_in addr = *sin;
	int sock = RPC_ANYSOCK;
	CLIENT *clnt;

	if (strcmp(proto, "tcp") == 0) {
		clnt = clnttcp_create(&addr, prog, vers, &sock, 0, 0);
	} else {
		struct timeval retry = {1, 0};

		clnt = clntudp_create(&addr, prog, vers, retry, &sock);
	}
	if (clnt == NULL) {
		fprintf(stderr, "interop_date_client: %s\n", clnt_spcreateerror(proto));
		return NULL;
	}
	clnt_control(clnt, CLSET_TIMEOUT, (char *)&call_timeout);
	return clnt;
}

static void print_time(const char *what, const rpx_date_now_res *r)
{
	printf("%s seconds=%lld nanoseconds=%u utc_offset=%d zone=%s rfc3339=%s\n", what,
	    (long long)r->seconds, r->nanoseconds, r->utc_offset, r->zone, r->rfc3339);
}

/* One call of a procedure the server must not have: print the status. */
static int expect_error(const char *what, const char *proto, const struct sockaddr_in *sin,
    unsigned long prog, unsigned long vers, unsigned long proc)
{
	CLIENT *clnt = open_client(proto, sin, prog, vers);
	struct rpc_err err;
	enum clnt_stat stat;

	if (clnt == NULL)
		return -1;
	stat = clnt_call(clnt, proc, (xdrproc_t)xdr_void, NULL, (xdrproc_t)xdr_void, NULL,
	    call_timeout);
	clnt_geterr(clnt, &err);
	if (stat == RPC_PROGVERSMISMATCH)
		printf("%s stat=%d low=%lu high=%lu\n", what, (int)stat,
		    (unsigned long)err.re_vers.low, (unsigned long)err.re_vers.high);
	else
		printf("%s stat=%d\n", what, (int)stat);
	clnt_destroy(clnt);
	return 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sin;
	rpx_date_format_args args;
	rpx_date_now_res *now;
	rpx_date_format_res *fmt;
	CLIENT *clnt;
	int status = 1;

	if (argc != 4 || (strcmp(argv[1], "tcp") != 0 && strcmp(argv[1], "udp") != 0)) {
		fprintf(stderr, "usage: interop_date_client tcp|udp HOST PORT\n");
		return 2;
	}
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)atoi(argv[3]));
	if (inet_pton(AF_INET, argv[2], &sin.sin_addr) != 1) {
		fprintf(stderr, "interop_date_client: bad IPv4 address %s\n", argv[2]);
		return 2;
	}

	if ((clnt = open_client(argv[1], &sin, RPX_DATE_PROG, RPX_DATE_VERS)) == NULL)
		return 1;
	if (rpx_date_null_1(NULL, clnt) == NULL) {
		fprintf(stderr, "interop_date_client: NULL: %s\n", clnt_sperror(clnt, "NULL"));
		goto out;
	}
	printf("null ok\n");

	if ((now = rpx_date_now_1(NULL, clnt)) == NULL) {
		fprintf(stderr, "interop_date_client: %s\n", clnt_sperror(clnt, "NOW"));
		goto out;
	}
	print_time("now", now);
	clnt_freeres(clnt, (xdrproc_t)xdr_rpx_date_now_res, (char *)now);

	args.seconds = 1000000000;
	args.nanoseconds = 1;
	args.utc = TRUE;
	if ((fmt = rpx_date_format_1(&args, clnt)) == NULL) {
		fprintf(stderr, "interop_date_client: %s\n", clnt_sperror(clnt, "FORMAT"));
		goto out;
	}
	if (fmt->error == 0)
		print_time("format", &fmt->rpx_date_format_res_u.time);
	else
		printf("format error=%d message=%s\n", fmt->error,
		    fmt->rpx_date_format_res_u.message);
	clnt_freeres(clnt, (xdrproc_t)xdr_rpx_date_format_res, (char *)fmt);

	args.nanoseconds = 1000000000;
	if ((fmt = rpx_date_format_1(&args, clnt)) == NULL) {
		fprintf(stderr, "interop_date_client: %s\n", clnt_sperror(clnt, "FORMAT"));
		goto out;
	}
	if (fmt->error == 0)
		print_time("format_error", &fmt->rpx_date_format_res_u.time);
	else
		printf("format_error error=%d message=%s\n", fmt->error,
		    fmt->rpx_date_format_res_u.message);
	clnt_freeres(clnt, (xdrproc_t)xdr_rpx_date_format_res, (char *)fmt);

	/* The same client with AUTH_SYS credentials, as authunix users send them. */
	auth_destroy(clnt->cl_auth);
	clnt->cl_auth = authunix_create_default();
	if ((now = rpx_date_now_1(NULL, clnt)) == NULL) {
		fprintf(stderr, "interop_date_client: %s\n", clnt_sperror(clnt, "NOW AUTH_SYS"));
		goto out;
	}
	print_time("authsys_now", now);
	clnt_freeres(clnt, (xdrproc_t)xdr_rpx_date_now_res, (char *)now);

	if (expect_error("progvers", argv[1], &sin, RPX_DATE_PROG, RPX_DATE_VERS + 1, 0) < 0 ||
	    expect_error("progunavail", argv[1], &sin, 0x200077ffUL, 1, 0) < 0 ||
	    expect_error("procunavail", argv[1], &sin, RPX_DATE_PROG, RPX_DATE_VERS, 99) < 0)
		goto out;
	status = 0;
out:
	fflush(stdout);
	auth_destroy(clnt->cl_auth); /* clnt_destroy leaves the AUTH to its owner */
	clnt_destroy(clnt);
	return status;
}
