/*
 * log.h: rpxd's log, one line per event on stderr: "rpxd: LEVEL: message".
 * log_warn appends strerror(errno); log_warnx does not; fatal exits.
 */
#ifndef RPX_LOG_H
#define RPX_LOG_H

enum rpx_log_level { RPX_LOG_ERROR, RPX_LOG_WARN, RPX_LOG_INFO, RPX_LOG_DEBUG };

extern enum rpx_log_level rpx_log_threshold;

int rpx_log_parse_level(const char *name, enum rpx_log_level *level);

void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
