/*
 * drc_log.h: the duplicate request cache on disk, so that a restart of rpxd
 * (even after kill -9) keeps at most once. An append-only file of records:
 *
 *   BEGIN  a mutating request starts running (written before it runs)
 *   DONE   its reply, byte for byte (written before the reply is sent)
 *   FLOOR  a client's requests below a sequence number are refused from now
 *   ACK    a client has the replies of every request below a sequence number
 *   EXPIRE a client is forgotten
 *
 * A request with a BEGIN and no DONE ran, or may have, with its outcome
 * lost: a retry of it is refused, never run. Each record is written with
 * one write(2) before the reply leaves, which a crash of rpxd cannot undo;
 * with fsync on, BEGIN and DONE reach the disk before the request runs and
 * before its reply leaves, so a crash of the machine cannot either (losing a
 * FLOOR, ACK or EXPIRE record only keeps records longer). A torn last record
 * is ignored on replay. The file is rewritten with only live records at
 * start-up and when it grows past a bound.
 */
#ifndef RPX_DRC_LOG_H
#define RPX_DRC_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum rpx_drclog_type {
	RPX_DRCLOG_BEGIN = 1,
	RPX_DRCLOG_DONE,
	RPX_DRCLOG_FLOOR,
	RPX_DRCLOG_EXPIRE,
	RPX_DRCLOG_ACK, /* the client has every reply below this sequence number */
};

struct rpx_drclog {
	int fd;
	bool fsync;
	char *path;
	uint64_t size; /* bytes in the file */
	uint64_t errors;
};

typedef void (*rpx_drclog_fn)(void *arg, enum rpx_drclog_type type, uint64_t client, uint64_t seq,
    const void *data, size_t len);

/* Opens (creates) the log at @path and replays every intact record through @fn. */
int rpx_drclog_open(struct rpx_drclog *log, const char *path, bool fsync, rpx_drclog_fn fn,
    void *arg);
void rpx_drclog_close(struct rpx_drclog *log);

/*
 * Appends one record; 0 or -errno (-EFBIG: @len over the 64 MiB a record
 * may hold, nothing written).
 */
int rpx_drclog_append(struct rpx_drclog *log, enum rpx_drclog_type type, uint64_t client,
    uint64_t seq, const void *data, size_t len);

/*
 * Rewrites the log: @emit is called with a writer, appends the live records
 * through rpx_drclog_append on the new file, which then replaces the old
 * one atomically. 0 or -errno (the old file stays in use).
 */
int rpx_drclog_rewrite(struct rpx_drclog *log, void (*emit)(struct rpx_drclog *tmp, void *arg),
    void *arg);

#endif
