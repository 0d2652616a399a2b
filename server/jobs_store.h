/*
 * jobs_store.h: the job table on disk, so that a restarted rpxd knows the
 * jobs of the one before: one append-only file (STATE_DIR/jobs.log) of
 *
 *   SAVE   a job's record (rpx_job_record in idl/proc.x, XDR), newest wins
 *   FORGET the job's record was collected (waited for, or retention)
 *
 * Appending costs one write(2) per record and no file creation or rename:
 * a job that starts and is waited for costs two appends. The file is
 * replayed at start-up (latest record of each job not forgotten, in job
 * order), then rewritten with only those, and rewritten again when dead
 * records outweigh the live ones. Without fsync the records are in the page
 * cache when SPAWN answers, which survives a crash of rpxd but not of the
 * machine; with fsync each SAVE reaches the disk first.
 *
 * The file is a record log of drc_log.h (checksummed records, a torn tail
 * cut off at replay, atomic rewrite), with record types of its own.
 */
#ifndef RPX_JOBS_STORE_H
#define RPX_JOBS_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "drc_log.h"

struct rpx_jobstore {
	struct rpx_drclog log;
	bool fsync;
	uint64_t saved_bytes, saves; /* SAVE records in the file: their mean size */
};

/* A live record found by the replay, in increasing job order. */
typedef void (*rpx_jobstore_fn)(void *arg, uint64_t job, const void *record, size_t len);

/*
 * Opens (creates) the file at @path, replays it through @fn, then rewrites
 * it with the live records only. 0 or -errno.
 */
int rpx_jobstore_open(struct rpx_jobstore *store, const char *path, bool fsync, rpx_jobstore_fn fn,
    void *arg);
void rpx_jobstore_close(struct rpx_jobstore *store);
/* The file's path (NULL when not open). */
const char *rpx_jobstore_path(const struct rpx_jobstore *store);

/* Appends a job's record (replacing its earlier ones); 0 or -errno. */
int rpx_jobstore_save(struct rpx_jobstore *store, uint64_t job, const void *record, size_t len);
/* Appends that a job is forgotten; 0 or -errno. */
int rpx_jobstore_forget(struct rpx_jobstore *store, uint64_t job);

/* Whether, with @live jobs in the table, dead records take enough room
 * that a rewrite pays off. */
bool rpx_jobstore_wants_rewrite(const struct rpx_jobstore *store, uint64_t live);
/*
 * Rewrites the file: @emit saves every live record through
 * rpx_jobstore_save on the new file, which then replaces the old one
 * atomically. 0 or -errno (the old file stays in use).
 */
int rpx_jobstore_rewrite(struct rpx_jobstore *store,
    void (*emit)(struct rpx_jobstore *tmp, void *arg), void *arg);

#endif
