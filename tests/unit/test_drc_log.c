/*
 * test_drc_log.c: the append-only log under the duplicate request cache
 * and the job table (server/drc_log.c): records replay in order, byte for
 * byte; a torn last record is dropped; a record too long to replay is
 * refused when written, so it cannot cut off the records after it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drc_log.h"
#include "unit.h"

struct seen {
	unsigned n;
	enum rpx_drclog_type type[8];
	uint64_t seq[8];
	size_t len[8];
};

static void collect(void *arg, enum rpx_drclog_type type, uint64_t client, uint64_t seq,
    const void *data, size_t len)
{
	struct seen *s = arg;

	if (s->n < 8) {
		s->type[s->n] = type;
		s->seq[s->n] = seq;
		s->len[s->n] = len;
	}
	s->n++;
}

static char *temp_log(void)
{
	char dir[] = "/tmp/rpx-unit-drclog-XXXXXX", *path;

	if (mkdtemp(dir) == NULL || (path = malloc(strlen(dir) + 8)) == NULL)
		return NULL;
	sprintf(path, "%s/log", dir);
	return path;
}

static void remove_log(char *path)
{
	unlink(path);
	*strrchr(path, '/') = '\0';
	rmdir(path);
	free(path);
}

static void test_replay_in_order(void)
{
	char *path = temp_log();
	struct rpx_drclog log;
	struct seen s = {0};

	if (!CHECK(path != NULL))
		return;
	CHECK_INT(rpx_drclog_open(&log, path, false, collect, &s), 0);
	CHECK_INT(rpx_drclog_append(&log, RPX_DRCLOG_BEGIN, 7, 1, NULL, 0), 0);
	CHECK_INT(rpx_drclog_append(&log, RPX_DRCLOG_DONE, 7, 1, "reply", 5), 0);
	CHECK_INT(rpx_drclog_append(&log, RPX_DRCLOG_ACK, 7, 2, NULL, 0), 0);
	rpx_drclog_close(&log);
	CHECK_INT(rpx_drclog_open(&log, path, false, collect, &s), 0);
	rpx_drclog_close(&log);
	CHECK_INT(s.n, 3);
	CHECK_INT(s.type[0], RPX_DRCLOG_BEGIN);
	CHECK_INT(s.type[1], RPX_DRCLOG_DONE);
	CHECK_INT(s.len[1], 5);
	CHECK_INT(s.type[2], RPX_DRCLOG_ACK);
	CHECK_INT(s.seq[2], 2);
	remove_log(path);
}

static void test_oversized_refused(void)
{
	size_t big = 64u * 1024 * 1024 + 1;
	char *path = temp_log(), *data = calloc(1, big);
	struct rpx_drclog log;
	struct seen s = {0};

	if (!CHECK(path != NULL && data != NULL)) {
		free(data);
		return;
	}
	CHECK_INT(rpx_drclog_open(&log, path, false, collect, &s), 0);
	CHECK_INT(rpx_drclog_append(&log, RPX_DRCLOG_BEGIN, 7, 1, NULL, 0), 0);
	CHECK_INT(rpx_drclog_append(&log, RPX_DRCLOG_DONE, 7, 1, data, big), -EFBIG);
	CHECK_INT(log.errors, 1);
	CHECK_INT(rpx_drclog_append(&log, RPX_DRCLOG_BEGIN, 7, 2, NULL, 0), 0);
	CHECK_INT(rpx_drclog_append(&log, RPX_DRCLOG_DONE, 7, 2, data, 64u * 1024 * 1024), 0);
	rpx_drclog_close(&log);
	free(data);
	/* Every record written replays, the one at the limit included. */
	CHECK_INT(rpx_drclog_open(&log, path, false, collect, &s), 0);
	rpx_drclog_close(&log);
	CHECK_INT(s.n, 3);
	CHECK_INT(s.seq[1], 2);
	CHECK_INT(s.len[2], 64u * 1024 * 1024);
	remove_log(path);
}

static void test_torn_tail_dropped(void)
{
	char *path = temp_log();
	struct rpx_drclog log;
	struct seen s = {0};
	int fd;

	if (!CHECK(path != NULL))
		return;
	CHECK_INT(rpx_drclog_open(&log, path, false, collect, &s), 0);
	CHECK_INT(rpx_drclog_append(&log, RPX_DRCLOG_BEGIN, 7, 1, NULL, 0), 0);
	CHECK_INT(rpx_drclog_append(&log, RPX_DRCLOG_DONE, 7, 1, "reply", 5), 0);
	rpx_drclog_close(&log);
	fd = open(path, O_WRONLY);
	CHECK(fd >= 0 && ftruncate(fd, lseek(fd, 0, SEEK_END) - 2) == 0);
	if (fd >= 0)
		close(fd);
	CHECK_INT(rpx_drclog_open(&log, path, false, collect, &s), 0);
	CHECK_INT(rpx_drclog_append(&log, RPX_DRCLOG_BEGIN, 7, 2, NULL, 0), 0);
	rpx_drclog_close(&log);
	CHECK_INT(rpx_drclog_open(&log, path, false, collect, &s), 0);
	rpx_drclog_close(&log);
	/* First replay: the BEGIN only; second: it and the BEGIN after the cut. */
	CHECK_INT(s.n, 3);
	CHECK_INT(s.seq[2], 2);
	remove_log(path);
}

static const struct unit_case cases[] = {
    {"replay_in_order", test_replay_in_order},
    {"oversized_refused", test_oversized_refused},
    {"torn_tail_dropped", test_torn_tail_dropped},
};

UNIT_GROUP(drc_log, cases);
