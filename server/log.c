/*
 * log.c: leveled logging to stderr. The daemon is meant to run under a
 * supervisor (systemd, a terminal, a test) that timestamps and stores lines,
 * so a line is just the program, the level and the message.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

enum rpx_log_level rpx_log_threshold = RPX_LOG_INFO;

static const char *const level_names[] = {"error", "warning", "info", "debug"};

int rpx_log_parse_level(const char *name, enum rpx_log_level *level)
{
	static const char *const accepted[] = {"error", "warn", "info", "debug"};

	for (size_t i = 0; i < sizeof(accepted) / sizeof(accepted[0]); i++) {
		if (strcmp(name, accepted[i]) == 0 || strcmp(name, level_names[i]) == 0) {
			*level = (enum rpx_log_level)i;
			return 0;
		}
	}
	return -EINVAL;
}

static void vlog(enum rpx_log_level level, int errnum, const char *fmt, va_list ap)
{
	char msg[1024];

	if (level > rpx_log_threshold)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (errnum != 0)
		fprintf(stderr, "rpxd: %s: %s: %s\n", level_names[level], msg, strerror(errnum));
	else
		fprintf(stderr, "rpxd: %s: %s\n", level_names[level], msg);
}

#define LOG_BODY(level, errnum)               \
	do {                                  \
		va_list ap;                   \
		va_start(ap, fmt);            \
		vlog(level, errnum, fmt, ap); \
		va_end(ap);                   \
	} while (0)

void log_warn(const char *fmt, ...)
{
	int errnum = errno;

	LOG_BODY(RPX_LOG_WARN, errnum);
}

void log_warnx(const char *fmt, ...)
{
	LOG_BODY(RPX_LOG_WARN, 0);
}

void log_info(const char *fmt, ...)
{
	LOG_BODY(RPX_LOG_INFO, 0);
}

void log_debug(const char *fmt, ...)
{
	LOG_BODY(RPX_LOG_DEBUG, 0);
}

void log_error(const char *fmt, ...)
{
	LOG_BODY(RPX_LOG_ERROR, 0);
}

void fatal(const char *fmt, ...)
{
	int errnum = errno;

	LOG_BODY(RPX_LOG_ERROR, errnum);
	exit(1);
}

void fatalx(const char *fmt, ...)
{
	LOG_BODY(RPX_LOG_ERROR, 0);
	exit(1);
}
