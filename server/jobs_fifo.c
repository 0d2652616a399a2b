/*
 * jobs_fifo.c: naming, making ahead, opening and removing the jobs'
 * stdout/stderr FIFOs (see jobs_fifo.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "drc.h"
#include "jobs_fifo.h"

#define FIFO_PIPE_SIZE (1024 * 1024) /* a job writing fast waits less for rpxd */

static const char *const stream_names[] = {"out", "err"};

int rpx_jobfifos_init(struct rpx_jobfifos *f, const char *runtime_dir, const char *state_dir)
{
	char real[PATH_MAX];
	const char *state = realpath(state_dir, real) != NULL ? real : state_dir;
	uint64_t h = rpx_drc_hash(RPX_DRC_HASH_INIT, state, strlen(state));

	memset(f, 0, sizeof(*f));
	f->ahead[0][0] = f->ahead[0][1] = f->ahead[1][0] = f->ahead[1][1] = -1;
	if (asprintf(&f->dir, "%s/jobs-%016llx", runtime_dir, (unsigned long long)h) < 0) {
		f->dir = NULL;
		return -ENOMEM;
	}
	return 0;
}

int rpx_jobfifos_dir(struct rpx_jobfifos *f, bool create)
{
	struct stat st;

	if (f->dir_made)
		return 0;
	if (create && mkdir(f->dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	/* Nobody else's: the jobs' output passes through it. */
	if (lstat(f->dir, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 077) != 0)
		return -EPERM;
	f->dir_made = true;
	return 0;
}

void rpx_jobfifos_path(const struct rpx_jobfifos *f, uint64_t job, enum rpx_jobfifo_stream stream,
    char *buf, size_t len)
{
	snprintf(buf, len, "%s/%llu.%s.fifo", f->dir, (unsigned long long)job,
	    stream_names[stream]);
}

static int make(struct rpx_jobfifos *f, uint64_t job, enum rpx_jobfifo_stream stream)
{
	char path[PATH_MAX];

	rpx_jobfifos_path(f, job, stream, path, sizeof(path));
	/* One left by an rpxd that died between making and using it. */
	unlink(path);
	return mkfifo(path, 0600) < 0 ? -errno : 0;
}

/* Made from a spare if there is one (rename(2) replaces a leftover). */
static int make_ahead(struct rpx_jobfifos *f, uint64_t job, enum rpx_jobfifo_stream stream)
{
	char from[PATH_MAX], to[PATH_MAX];

	while (f->nspares[stream] > 0) {
		rpx_jobfifos_path(f, f->spares[stream][--f->nspares[stream]], stream, from,
		    sizeof(from));
		rpx_jobfifos_path(f, job, stream, to, sizeof(to));
		if (rename(from, to) == 0)
			return 0;
		unlink(from);
	}
	return make(f, job, stream);
}

void rpx_jobfifos_release(struct rpx_jobfifos *f, uint64_t job, enum rpx_jobfifo_stream stream,
    bool drained)
{
	if (drained && f->nspares[stream] < RPX_JOBFIFO_SPARES && f->ahead_id != job)
		f->spares[stream][f->nspares[stream]++] = job;
	else
		rpx_jobfifos_remove(f, job, stream);
}

/* Opens @job's @stream FIFO: fds[0] for rpxd, fds[1] for the job. 0 or -errno. */
static int open_pair(struct rpx_jobfifos *f, uint64_t job, enum rpx_jobfifo_stream stream,
    int fds[2])
{
	char path[PATH_MAX];
	int err;

	rpx_jobfifos_path(f, job, stream, path, sizeof(path));
	fds[0] = fds[1] = -1;
	if ((fds[0] = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) < 0 ||
	    (fds[1] = open(path, O_RDWR | O_CLOEXEC)) < 0) {
		err = -errno;
		if (fds[0] >= 0)
			close(fds[0]);
		fds[0] = -1;
		return err;
	}
	fcntl(fds[0], F_SETPIPE_SZ, FIFO_PIPE_SIZE);
	return 0;
}

/* The FIFO made ahead for @stream is no longer the next job's. */
static void drop_ahead(struct rpx_jobfifos *f, enum rpx_jobfifo_stream stream)
{
	for (int i = 0; i < 2; i++) {
		if (f->ahead[stream][i] >= 0)
			close(f->ahead[stream][i]);
		f->ahead[stream][i] = -1;
	}
}

int rpx_jobfifos_open(struct rpx_jobfifos *f, uint64_t job, enum rpx_jobfifo_stream stream,
    int *reader, int *writer)
{
	int err, fds[2];

	*reader = *writer = -1;
	if ((err = rpx_jobfifos_dir(f, true)) < 0)
		return err;
	if (f->ahead_id == job && f->ahead[stream][0] >= 0) {
		*reader = f->ahead[stream][0];
		*writer = f->ahead[stream][1];
		f->ahead[stream][0] = f->ahead[stream][1] = -1;
		return 0;
	}
	if (f->ahead_id == job)
		drop_ahead(f, stream);
	if ((err = make(f, job, stream)) < 0 || (err = open_pair(f, job, stream, fds)) < 0)
		return err;
	*reader = fds[0];
	*writer = fds[1];
	return 0;
}

void rpx_jobfifos_remove(struct rpx_jobfifos *f, uint64_t job, enum rpx_jobfifo_stream stream)
{
	char path[PATH_MAX];

	if (f->ahead_id == job && job != 0)
		drop_ahead(f, stream);
	rpx_jobfifos_path(f, job, stream, path, sizeof(path));
	unlink(path);
}

void rpx_jobfifos_prepare(struct rpx_jobfifos *f, uint64_t job)
{
	uint64_t unused = f->ahead_id;

	if (!f->dir_made || f->ahead_id == job)
		return;
	/* Those the last SPAWN did not take (it discarded the stream) are spares. */
	f->ahead_id = 0;
	for (int s = RPX_JOBFIFO_OUT; s <= RPX_JOBFIFO_ERR; s++) {
		if (unused != 0 && f->ahead[s][0] >= 0) {
			drop_ahead(f, (enum rpx_jobfifo_stream)s);
			rpx_jobfifos_release(f, unused, (enum rpx_jobfifo_stream)s, true);
		}
	}
	f->ahead_id = job;
	for (int s = RPX_JOBFIFO_OUT; s <= RPX_JOBFIFO_ERR; s++) {
		enum rpx_jobfifo_stream stream = (enum rpx_jobfifo_stream)s;

		if (make_ahead(f, job, stream) < 0 || open_pair(f, job, stream, f->ahead[s]) < 0)
			f->ahead[s][0] = f->ahead[s][1] = -1;
	}
}

void rpx_jobfifos_sweep(struct rpx_jobfifos *f, bool (*in_use)(void *arg, uint64_t job), void *arg)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d;

	if (rpx_jobfifos_dir(f, false) < 0 || (d = opendir(f->dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);

		if (len < 6 || strcmp(de->d_name + len - 5, ".fifo") != 0 ||
		    in_use(arg, strtoull(de->d_name, NULL, 10)))
			continue;
		snprintf(path, sizeof(path), "%s/%s", f->dir, de->d_name);
		unlink(path);
	}
	closedir(d);
}

void rpx_jobfifos_close(struct rpx_jobfifos *f)
{
	for (int s = RPX_JOBFIFO_OUT; s <= RPX_JOBFIFO_ERR; s++) {
		if (f->ahead_id != 0 && f->ahead[s][0] >= 0)
			rpx_jobfifos_remove(f, f->ahead_id, (enum rpx_jobfifo_stream)s);
		while (f->nspares[s] > 0)
			rpx_jobfifos_remove(f, f->spares[s][--f->nspares[s]],
			    (enum rpx_jobfifo_stream)s);
	}
	/* Gone unless FIFOs of running jobs are left in it (--on-stop leave). */
	if (f->dir_made)
		rmdir(f->dir);
	free(f->dir);
	f->dir = NULL;
}
