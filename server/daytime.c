/*
 * daytime.c: what the daytime and time listeners send. The socket work is
 * in listen.c: a connection gets these bytes and is closed.
 */
#include <stdio.h>
#include <arpa/inet.h>

#include "daytime.h"

/* RFC 868: 1900-01-01 to 1970-01-01 is 2208988800 seconds. */
#define RFC868_EPOCH_OFFSET 2208988800u

size_t rpx_daytime_line(char *buf, size_t size, time_t t)
{
	struct tm tm;
	size_t n;

	if (localtime_r(&t, &tm) == NULL ||
	    (n = strftime(buf, size, "%a %b %e %H:%M:%S %Z %Y\r\n", &tm)) == 0)
		n = (size_t)snprintf(buf, size, "%lld\r\n", (long long)t);
	return n < size ? n : size - 1;
}

uint32_t rpx_time_rfc868(time_t t)
{
	return htonl((uint32_t)((uint64_t)t + RFC868_EPOCH_OFFSET));
}
