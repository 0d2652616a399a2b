/*
 * jobs_fifo.h: the FIFOs that carry a job's stdout and stderr to rpxd, in
 * RUNTIME_DIR/jobs-HASH (HASH names the state directory, so that rpxd
 * instances with their own state share a runtime directory). They are
 * runtime, not durable state: they outlive a restart of rpxd, which is what
 * keeps a running job's output flowing to the next rpxd, but not a reboot,
 * which ends the jobs too.
 *
 * Making a FIFO and removing it are directory operations (on a disk file
 * system, journal transactions, and the search for a free inode): the pair
 * of the next job is made and opened ahead, after a SPAWN has answered,
 * so that the next SPAWN finds it ready; and it is made by renaming the FIFO of a job
 * that ended, when one is left whose every writer is gone.
 */
#ifndef RPX_JOBS_FIFO_H
#define RPX_JOBS_FIFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RPX_JOBFIFO_SPARES 4 /* FIFOs of ended jobs kept per stream, for the next */

enum rpx_jobfifo_stream {
	RPX_JOBFIFO_OUT,
	RPX_JOBFIFO_ERR,
};

struct rpx_jobfifos {
	char *dir; /* RUNTIME_DIR/jobs-HASH */
	bool dir_made; /* checked or made: at the first job that captures a stream */
	uint64_t ahead_id; /* the job whose FIFOs were made ahead; 0 for none */
	int ahead[2][2]; /* per stream, opened: [0] for rpxd, [1] for the job; -1 once taken */
	uint64_t spares[2][RPX_JOBFIFO_SPARES]; /* jobs whose drained FIFOs are left */
	unsigned nspares[2];
};

/* Names the folder (nothing is created yet); 0 or -ENOMEM. */
int rpx_jobfifos_init(struct rpx_jobfifos *f, const char *runtime_dir, const char *state_dir);
/* Removes the FIFOs made ahead and the spare ones, and the folder if it is empty. */
void rpx_jobfifos_close(struct rpx_jobfifos *f);

/*
 * The folder exists, is rpxd's user's and has mode 0700: made now, unless
 * @create is false and it does not exist (-ENOENT). 0 or -errno (-EPERM:
 * someone else's, or open to others).
 */
int rpx_jobfifos_dir(struct rpx_jobfifos *f, bool create);

void rpx_jobfifos_path(const struct rpx_jobfifos *f, uint64_t job, enum rpx_jobfifo_stream stream,
    char *buf, size_t len);

/*
 * The FIFO of @job's @stream (made now unless it was made ahead), opened
 * twice: *@reader for rpxd (non-blocking), *@writer for the job (read and
 * write, so that the job never gets SIGPIPE while rpxd is away). Both are
 * close-on-exec. 0 or -errno.
 */
int rpx_jobfifos_open(struct rpx_jobfifos *f, uint64_t job, enum rpx_jobfifo_stream stream,
    int *reader, int *writer);
void rpx_jobfifos_remove(struct rpx_jobfifos *f, uint64_t job, enum rpx_jobfifo_stream stream);
/*
 * @job ended and its @stream FIFO is no longer needed: kept for a next job
 * if @drained (read to its end: nobody can write to it any more), else
 * removed.
 */
void rpx_jobfifos_release(struct rpx_jobfifos *f, uint64_t job, enum rpx_jobfifo_stream stream,
    bool drained);

/*
 * Makes the FIFOs of @job ahead of its SPAWN, and removes those made ahead
 * for another job that did not use them. Does nothing until a job has
 * captured a stream (the folder exists).
 */
void rpx_jobfifos_prepare(struct rpx_jobfifos *f, uint64_t job);

/* Removes every FIFO in the folder whose job @in_use does not claim (start-up). */
void rpx_jobfifos_sweep(struct rpx_jobfifos *f, bool (*in_use)(void *arg, uint64_t job), void *arg);

#endif
