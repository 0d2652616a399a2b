/*
 * joblog.h: a job's captured output stream (stdout or stderr): a ring file
 * under --state-dir of at most --output-cap bytes. Offsets count every byte
 * the job ever wrote; when the ring wraps, the oldest bytes are dropped and
 * readers are told how many they missed. rpxd's memory does not grow with
 * the output, however fast the job writes.
 */
#ifndef RPX_JOBLOG_H
#define RPX_JOBLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rpx_joblog {
	char *path; /* the ring file's path; NULL for a discarded stream */
	int fd; /* the ring file, created at the first byte; -1 until then */
	uint64_t cap; /* ring size */
	uint64_t total; /* bytes written by the job so far */
	bool eof; /* the job's end of the pipe is closed */
};

/*
 * A ring at @path, created (truncated) when the first byte comes: a job
 * that prints nothing costs no file. 0 or -ENOMEM.
 */
int rpx_joblog_open(struct rpx_joblog *log, const char *path, uint64_t cap);
/* Opens a ring again (rpxd restarted) with @total bytes written so far; a
 * ring never created stays to be created. 0 or -errno. */
int rpx_joblog_reopen(struct rpx_joblog *log, const char *path, uint64_t cap, uint64_t total);
/* Whether the stream is kept at all (not discarded). */
bool rpx_joblog_captured(const struct rpx_joblog *log);

/* A stream with no storage (discarded): always at EOF, never any byte. */
void rpx_joblog_none(struct rpx_joblog *log);
void rpx_joblog_close(struct rpx_joblog *log);
/* Deletes the ring file, if the stream ever had a byte (it is still open). */
void rpx_joblog_remove(struct rpx_joblog *log);

/* Appends @len bytes; 0 or -errno (the bytes are then counted as dropped). */
int rpx_joblog_append(struct rpx_joblog *log, const void *data, size_t len);

/* Bytes no longer kept: everything before this offset is gone. */
uint64_t rpx_joblog_start(const struct rpx_joblog *log);

/*
 * Reads up to @max bytes from @offset into @buf. An offset before the kept
 * range is moved to its start (*@dropped says by how much); one past the
 * end reads nothing. Returns the bytes read, sets *@from to the offset of
 * buf[0], or -errno.
 */
ssize_t rpx_joblog_read(const struct rpx_joblog *log, uint64_t offset, void *buf, size_t max,
    uint64_t *from, uint64_t *dropped);

#endif
