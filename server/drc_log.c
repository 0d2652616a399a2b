/*
 * drc_log.c: append, replay and rewrite of the duplicate request cache's
 * file (see drc_log.h). Records are little more than their fields behind a
 * checksum; the file never needs random access.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include "drc.h"
#include "drc_log.h"

#define RECORD_MAGIC 0x52505844u /* "RPXD" */
#define RECORD_MAX (64u * 1024 * 1024)

struct record_header {
	uint32_t magic;
	uint32_t type;
	uint64_t client;
	uint64_t seq;
	uint32_t len;
	uint32_t check;
};

static uint32_t record_check(const struct record_header *h, const void *data, size_t len)
{
	uint64_t v = rpx_drc_hash(RPX_DRC_HASH_INIT, h, offsetof(struct record_header, check));

	v = rpx_drc_hash(v, data, len);
	return (uint32_t)(v ^ (v >> 32));
}

static int write_all(int fd, const struct iovec *iov, int n)
{
	struct iovec v[2];
	int done = 0;

	memcpy(v, iov, (size_t)n * sizeof(*iov));
	while (done < n) {
		ssize_t w = writev(fd, v + done, n - done);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		while (done < n && (size_t)w >= v[done].iov_len) {
			w -= (ssize_t)v[done].iov_len;
			done++;
		}
		if (done < n) {
			v[done].iov_base = (char *)v[done].iov_base + w;
			v[done].iov_len -= (size_t)w;
		}
	}
	return 0;
}

int rpx_drclog_append(struct rpx_drclog *log, enum rpx_drclog_type type, uint64_t client,
    uint64_t seq, const void *data, size_t len)
{
	struct record_header h;
	struct iovec iov[2];
	int err;

	if (log->fd < 0)
		return -EBADF;
	/* Replay stops at a longer record: writing one would lose all after it. */
	if (len > RECORD_MAX) {
		log->errors++;
		return -EFBIG;
	}
	memset(&h, 0, sizeof(h));
	h.magic = RECORD_MAGIC;
	h.type = type;
	h.client = client;
	h.seq = seq;
	h.len = (uint32_t)len;
	h.check = record_check(&h, data, len);
	iov[0].iov_base = &h;
	iov[0].iov_len = sizeof(h);
	iov[1].iov_base = (void *)data;
	iov[1].iov_len = len;
	if ((err = write_all(log->fd, iov, len > 0 ? 2 : 1)) < 0 ||
	    (log->fsync && (type == RPX_DRCLOG_BEGIN || type == RPX_DRCLOG_DONE) &&
	        fdatasync(log->fd) < 0 && (err = -errno) < 0)) {
		log->errors++;
		return err;
	}
	log->size += sizeof(h) + len;
	return 0;
}

static void replay(struct rpx_drclog *log, rpx_drclog_fn fn, void *arg)
{
	FILE *f = fdopen(dup(log->fd), "rb");
	struct record_header h;
	char *data = NULL;
	uint64_t good = 0;

	if (f == NULL)
		return;
	while (fread(&h, sizeof(h), 1, f) == 1) {
		char *grown;

		if (h.magic != RECORD_MAGIC || h.len > RECORD_MAX)
			break;
		if ((grown = realloc(data, h.len > 0 ? h.len : 1)) == NULL)
			break;
		data = grown;
		if (h.len > 0 && fread(data, h.len, 1, f) != 1)
			break;
		if (record_check(&h, data, h.len) != h.check)
			break;
		fn(arg, (enum rpx_drclog_type)h.type, h.client, h.seq, data, h.len);
		good += sizeof(h) + h.len;
	}
	free(data);
	fclose(f);
	/* A torn tail (rpxd died mid-write) is cut off, so appends follow good records. */
	if (ftruncate(log->fd, (off_t)good) == 0)
		log->size = good;
	lseek(log->fd, 0, SEEK_END);
}

int rpx_drclog_open(struct rpx_drclog *log, const char *path, bool fsync, rpx_drclog_fn fn,
    void *arg)
{
	memset(log, 0, sizeof(*log));
	log->fsync = fsync;
	if ((log->path = strdup(path)) == NULL)
		return -ENOMEM;
	log->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (log->fd < 0) {
		int err = -errno;

		free(log->path);
		log->path = NULL;
		return err;
	}
	replay(log, fn, arg);
	return 0;
}

void rpx_drclog_close(struct rpx_drclog *log)
{
	if (log->fd >= 0)
		close(log->fd);
	log->fd = -1;
	free(log->path);
	log->path = NULL;
}

int rpx_drclog_rewrite(struct rpx_drclog *log, void (*emit)(struct rpx_drclog *tmp, void *arg),
    void *arg)
{
	struct rpx_drclog tmp;
	char *tmp_path = NULL;
	int err;

	if (asprintf(&tmp_path, "%s.new", log->path) < 0)
		return -ENOMEM;
	memset(&tmp, 0, sizeof(tmp));
	tmp.fsync = false;
	tmp.fd = open(tmp_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (tmp.fd < 0) {
		err = -errno;
		goto out;
	}
	emit(&tmp, arg);
	if (tmp.errors > 0) {
		err = -EIO;
		goto out;
	}
	/* The new file is complete on disk before it takes the old one's name. */
	if (fsync(tmp.fd) < 0 || rename(tmp_path, log->path) < 0) {
		err = -errno;
		goto out;
	}
	close(log->fd);
	log->fd = tmp.fd;
	log->size = tmp.size;
	tmp.fd = -1;
	lseek(log->fd, 0, SEEK_END);
	err = 0;
out:
	if (tmp.fd >= 0) {
		close(tmp.fd);
		unlink(tmp_path);
	}
	free(tmp_path);
	return err;
}
