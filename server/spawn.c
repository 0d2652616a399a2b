/*
 * spawn.c: clone(CLONE_VM | CLONE_VFORK | CLONE_PIDFD) and what the child
 * does before exec. The child shares rpxd's memory and runs on its own small
 * stack; it only makes system calls, writes its failure into @shared (read
 * by rpxd when clone returns) and calls _exit on failure.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "spawn.h"

#define CHILD_STACK (256 * 1024)

static void *child_stack;
static struct rlimit original_nofile;
static sigset_t caught; /* signals whose disposition the child resets */
static bool caught_known;

struct shared {
	const struct rpx_spawn_req *req;
	volatile int err;
	const char *volatile step;
};

int rpx_spawn_init(void)
{
	struct rlimit rl;

	child_stack = mmap(NULL, CHILD_STACK, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (child_stack == MAP_FAILED)
		return -errno;
	/* rpxd holds several descriptors per job; jobs get the limit rpxd was given. */
	if (getrlimit(RLIMIT_NOFILE, &original_nofile) == 0) {
		rl = original_nofile;
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	return 0;
}

static int child_fail(struct shared *sh, const char *step)
{
	sh->err = errno;
	sh->step = step;
	_exit(127);
}

static int child_main(void *arg)
{
	struct shared *sh = arg;
	const struct rpx_spawn_req *req = sh->req;
	struct sigaction sa;
	sigset_t none;
	int eacces = 0;

	/*
	 * Dispositions and mask as a freshly exec'd program expects them: exec
	 * resets handlers but keeps SIG_IGN, and no handler of rpxd may run
	 * here between the unblocking and exec.
	 */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (int sig = 1; sig < NSIG; sig++) {
		if (sigismember(&caught, sig) == 1)
			sigaction(sig, &sa, NULL);
	}
	if (setsid() < 0)
		child_fail(sh, "setsid");
	if (req->have_oom) {
		char buf[16];
		int fd, n = 0, v = req->oom_score_adj;
		char digits[12];
		int nd = 0;

		if (v < 0) {
			buf[n++] = '-';
			v = -v;
		}
		do {
			digits[nd++] = (char)('0' + v % 10);
			v /= 10;
		} while (v > 0);
		while (nd > 0)
			buf[n++] = digits[--nd];
		if ((fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC)) < 0 ||
		    write(fd, buf, (size_t)n) != n)
			child_fail(sh, "oom_score_adj");
		close(fd);
	}
	if (setrlimit(RLIMIT_NOFILE, req->set_nofile ? &req->nofile : &original_nofile) < 0)
		child_fail(sh, "setrlimit RLIMIT_NOFILE");
	if (req->set_cpu && setrlimit(RLIMIT_CPU, &req->cpu) < 0)
		child_fail(sh, "setrlimit RLIMIT_CPU");
	if (req->set_as && setrlimit(RLIMIT_AS, &req->as) < 0)
		child_fail(sh, "setrlimit RLIMIT_AS");
	if (dup2(req->stdin_fd, 0) < 0 || dup2(req->stdout_fd, 1) < 0 ||
	    dup2(req->stderr_fd, 2) < 0)
		child_fail(sh, "dup2");
	/* Belt and braces: every descriptor of rpxd is close-on-exec already. */
	syscall(SYS_close_range, 3u, ~0u, 0u);
	if (req->set_ids) {
		if (setgroups((size_t)req->ngroups, req->groups) < 0)
			child_fail(sh, "setgroups");
		if (setresgid(req->gid, req->gid, req->gid) < 0)
			child_fail(sh, "setgid");
		if (setresuid(req->uid, req->uid, req->uid) < 0)
			child_fail(sh, "setuid");
	}
	if (chdir(req->cwd) < 0)
		child_fail(sh, "chdir");
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* execvp's rules: try every candidate, report EACCES over ENOENT. */
	for (char *const *c = req->candidates; *c != NULL; c++) {
		execve(*c, req->argv, req->envp);
		if (errno == EACCES)
			eacces = 1;
		else if (errno != ENOENT && errno != ENOTDIR && errno != ESTALE &&
		         errno != ENODEV && errno != ETIMEDOUT)
			child_fail(sh, "exec");
	}
	if (eacces)
		errno = EACCES;
	child_fail(sh, "exec");
	return 127;
}

/*
 * The signals rpxd handles or ignores, read once at the first spawn (rpxd
 * sets its dispositions up at start-up), plus those it might handle later:
 * the child resets these, not all 64 (a system call each, ~15 µs in all,
 * while rpxd waits for the exec).
 */
static void find_caught(void)
{
	static const int later[] = {SIGCHLD, SIGHUP, SIGINT, SIGTERM, SIGQUIT, SIGPIPE, SIGUSR1,
	    SIGUSR2, SIGALRM};
	struct sigaction sa;

	sigemptyset(&caught);
	for (int sig = 1; sig < NSIG; sig++) {
		if (sigaction(sig, NULL, &sa) == 0 && sa.sa_handler != SIG_DFL)
			sigaddset(&caught, sig);
	}
	for (size_t i = 0; i < sizeof(later) / sizeof(later[0]); i++)
		sigaddset(&caught, later[i]);
	caught_known = true;
}

int rpx_spawn(const struct rpx_spawn_req *req, pid_t *pid, int *pidfd, const char **step)
{
	struct shared sh = {.req = req, .err = 0, .step = NULL};
	sigset_t all, old;
	int fd = -1;
	pid_t child;

	if (!caught_known)
		find_caught();

	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	/*
	 * No exit signal: rpxd learns of the end from the pidfd, without a
	 * SIGCHLD and its trip through the signal pipe (orphans re-parented to
	 * rpxd still send one). Such a child is reaped with __WALL.
	 */
	child = clone(child_main, (char *)child_stack + CHILD_STACK,
	    CLONE_VM | CLONE_VFORK | CLONE_PIDFD, &sh, &fd);
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (child < 0) {
		*step = "clone";
		return -errno;
	}
	if (sh.err != 0) {
		int status;

		/* The child has called _exit already: this reaps it at once. */
		waitpid(child, &status, __WALL);
		if (fd >= 0)
			close(fd);
		*step = sh.step;
		return -sh.err;
	}
	*pid = child;
	*pidfd = fd;
	return 0;
}
