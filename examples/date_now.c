/*
 * date_now.c: the smallest librpx program: connect to an rpxd by URL, call
 * the DATE program's NOW procedure, print the answer, clean up. It uses only
 * the installed header <rpx/client.h> and links with
 * `cc date_now.c $(pkg-config --cflags --libs librpx)` or, in CMake,
 * find_package(rpx) and target_link_libraries(... rpx::rpx).
 *
 *	date_now [URL]		URL: tcp://HOST:PORT, udp://HOST:PORT, unix:PATH
 *
 * Without a URL it uses the library's default (the local rpxd).
 */
#include <inttypes.h>
#include <stdio.h>

#include <rpx/client.h>

int main(int argc, char **argv)
{
	struct rpx_client_opts opts = {0}; /* zero: library defaults */
	struct rpx_client *cl;
	rpx_date_now_res now;
	char err[256];
	int status = 1;

	if (argc > 2) {
		fprintf(stderr, "usage: date_now [URL]\n");
		return 2;
	}
	opts.timeout_ms = 2000;
	cl = rpx_client_open(argc > 1 ? argv[1] : NULL, &opts, err, sizeof(err));
	if (cl == NULL) {
		fprintf(stderr, "date_now: %s\n", err);
		return 1;
	}
	if (rpx_date_now(cl, &now) < 0) {
		fprintf(stderr, "date_now: %s: %s\n", rpx_client_url(cl), rpx_client_error(cl));
		goto out;
	}
	printf("%s %s (%" PRId64 ".%09u s since the epoch, UTC%+d s)\n", now.rfc3339, now.zone,
	    (int64_t)now.seconds, now.nanoseconds, now.utc_offset);
	rpx_date_free(&now);
	status = 0;
out:
	rpx_client_close(cl);
	return status;
}
