/*
 * procfs.h: a process's PCB as Linux shows it in /proc/PID: state, parent,
 * group, CPU times, memory, context switches, descriptors, command line.
 */
#ifndef RPX_PROCFS_H
#define RPX_PROCFS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "proc.h"

/*
 * Fills the /proc fields of @info for @pid (strings malloc'd, freed with
 * xdr_free). 0, or -ESRCH when the process is gone.
 */
int rpx_procfs_read(pid_t pid, rpx_pinfo *info);

/*
 * The smallest @max process ids above @after, in order, into @out; *@more
 * says whether more follow. Returns how many, or -errno.
 */
ssize_t rpx_procfs_pids(pid_t after, pid_t *out, size_t max, bool *more);

/* The start time of @pid in clock ticks since boot (/proc/PID/stat field 22). */
int rpx_procfs_starttime(pid_t pid, uint64_t *ticks);

/* The textbook state for a /proc state letter. */
rpx_pstate rpx_procfs_state(char code);

#endif
