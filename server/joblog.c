/*
 * joblog.c: ring files for job output. Byte N of a stream lives at N mod
 * cap in the file; the file is in the page cache, not in rpxd's heap.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/types.h>

#include "joblog.h"

int rpx_joblog_open(struct rpx_joblog *log, const char *path, uint64_t cap)
{
	log->cap = cap;
	log->total = 0;
	log->eof = false;
	log->fd = -1;
	log->path = strdup(path);
	return log->path == NULL ? -ENOMEM : 0;
}

int rpx_joblog_reopen(struct rpx_joblog *log, const char *path, uint64_t cap, uint64_t total)
{
	log->cap = cap;
	log->total = 0;
	log->eof = false;
	if ((log->path = strdup(path)) == NULL)
		return -ENOMEM;
	log->fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (log->fd >= 0)
		log->total = total;
	return log->fd < 0 && errno != ENOENT ? -errno : 0;
}

bool rpx_joblog_captured(const struct rpx_joblog *log)
{
	return log->path != NULL;
}

void rpx_joblog_none(struct rpx_joblog *log)
{
	log->path = NULL;
	log->fd = -1;
	log->cap = 0;
	log->total = 0;
	log->eof = true;
}

void rpx_joblog_close(struct rpx_joblog *log)
{
	if (log->fd >= 0)
		close(log->fd);
	log->fd = -1;
	free(log->path);
	log->path = NULL;
}

void rpx_joblog_remove(struct rpx_joblog *log)
{
	if (log->fd >= 0)
		unlink(log->path);
}

uint64_t rpx_joblog_start(const struct rpx_joblog *log)
{
	return log->total > log->cap ? log->total - log->cap : 0;
}

int rpx_joblog_append(struct rpx_joblog *log, const void *data, size_t len)
{
	const char *p = data;
	int err = 0;

	if (log->fd < 0) {
		if (log->path == NULL)
			return -EBADF;
		log->fd =
		    open(log->path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (log->fd < 0) {
			log->total += len; /* counted: readers see these bytes as dropped */
			return -errno;
		}
	}
	/* Only the last cap bytes of a long write can survive. */
	if (len > log->cap) {
		log->total += len - log->cap;
		p += len - log->cap;
		len = (size_t)log->cap;
	}
	while (len > 0) {
		uint64_t pos = log->total % log->cap;
		size_t n = len < log->cap - pos ? len : (size_t)(log->cap - pos);
		ssize_t w = pwrite(log->fd, p, n, (off_t)pos);

		if (w <= 0) {
			err = w < 0 ? -errno : -EIO;
			/* Counted all the same: readers see these bytes as dropped. */
			log->total += len;
			break;
		}
		log->total += (uint64_t)w;
		p += w;
		len -= (size_t)w;
	}
	return err;
}

ssize_t rpx_joblog_read(const struct rpx_joblog *log, uint64_t offset, void *buf, size_t max,
    uint64_t *from, uint64_t *dropped)
{
	uint64_t start = rpx_joblog_start(log);
	size_t done = 0;

	*dropped = 0;
	if (offset < start) {
		*dropped = start - offset;
		offset = start;
	}
	if (offset > log->total)
		offset = log->total;
	*from = offset;
	if (log->fd < 0)
		return 0;
	if (max > log->total - offset)
		max = (size_t)(log->total - offset);
	while (done < max) {
		uint64_t pos = (offset + done) % log->cap;
		size_t n = max - done < log->cap - pos ? max - done : (size_t)(log->cap - pos);
		ssize_t r = pread(log->fd, (char *)buf + done, n, (off_t)pos);

		if (r < 0)
			return -errno;
		if (r == 0)
			break;
		done += (size_t)r;
	}
	return (ssize_t)done;
}
