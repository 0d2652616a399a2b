/*
 * daytime.h: the two plain-socket time services: the textbook's date
 * server (RFC 867 daytime, one line of text) and RFC 868 Time (32-bit
 * seconds since 1900), which the stock rdate client reads.
 */
#ifndef RPX_DAYTIME_H
#define RPX_DAYTIME_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* "Thu Nov 26 14:17:29 UTC 2026\r\n" in the host's zone; returns its length. */
size_t rpx_daytime_line(char *buf, size_t size, time_t t);

/* RFC 868: seconds since 1900-01-01T00:00:00Z, modulo 2^32, in network order. */
uint32_t rpx_time_rfc868(time_t t);

#endif
