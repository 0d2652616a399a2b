/*
 * spawn.h: starting a job's process without fork's cost or its races.
 *
 * The child is created with clone(CLONE_VM | CLONE_VFORK | CLONE_PIDFD): it
 * borrows rpxd's memory until exec (no page-table copy, however large rpxd
 * is), rpxd waits for that exec, and learns through shared memory which step
 * failed and why. Everything the child needs is prepared here beforehand, so
 * between clone and exec it makes only system calls.
 */
#ifndef RPX_SPAWN_H
#define RPX_SPAWN_H

#include <stdbool.h>
#include <sys/resource.h>
#include <sys/types.h>

#define RPX_SPAWN_GROUPS_MAX 256

struct rpx_spawn_req {
	char *const *candidates; /* paths to try with execve, in order (PATH search done) */
	char *const *argv;
	char *const *envp;
	const char *cwd;
	int stdin_fd; /* become the child's 0, 1, 2 */
	int stdout_fd;
	int stderr_fd;
	bool set_ids; /* switch to uid/gid/groups */
	uid_t uid;
	gid_t gid;
	gid_t groups[RPX_SPAWN_GROUPS_MAX];
	int ngroups;
	int oom_score_adj; /* applied when have_oom */
	bool have_oom;
	struct rlimit cpu, as, nofile;
	bool set_cpu, set_as, set_nofile;
};

/*
 * Starts the child. Returns 0 with *pid and *pidfd set, or a negative errno
 * with *step naming what failed ("exec", "chdir", "setuid", ...).
 */
int rpx_spawn(const struct rpx_spawn_req *req, pid_t *pid, int *pidfd, const char **step);

/* Call once at start-up: the child's stack, and rpxd's own descriptor limit. */
int rpx_spawn_init(void);

#endif
