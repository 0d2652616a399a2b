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

int rpx_jobfifos_open(struct rpx_jobfifos *f, uint64_t job, enum rpx_jobfifo_stream stream,
    int *reader, int *writer)
{
	char path[PATH_MAX];
	int err;

	*reader = *writer = -1;
	if ((err = rpx_jobfifos_dir(f, true)) < 0)
		return err;
	if (f->ahead_id == job && f->ahead[stream])
		f->ahead[stream] = false;
	else if ((err = make(f, job, stream)) < 0)
		return err;
	rpx_jobfifos_path(f, job, stream, path, sizeof(path));
	if ((*reader = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) < 0 ||
	    (*writer = open(path, O_RDWR | O_CLOEXEC)) < 0) {
		err = -errno;
		if (*reader >= 0)
			close(*reader);
		*reader = -1;
		return err;
	}
	fcntl(*reader, F_SETPIPE_SZ, FIFO_PIPE_SIZE);
	return 0;
}

void rpx_jobfifos_remove(struct rpx_jobfifos *f, uint64_t job, enum rpx_jobfifo_stream stream)
{
	char path[PATH_MAX];

	if (f->ahead_id == job)
		f->ahead[stream] = false;
	rpx_jobfifos_path(f, job, stream, path, sizeof(path));
	unlink(path);
}

void rpx_jobfifos_prepare(struct rpx_jobfifos *f, uint64_t job)
{
	if (!f->dir_made || f->ahead_id == job)
		return;
	for (int s = RPX_JOBFIFO_OUT; s <= RPX_JOBFIFO_ERR; s++) {
		if (f->ahead_id != 0 && f->ahead[s])
			rpx_jobfifos_remove(f, f->ahead_id, (enum rpx_jobfifo_stream)s);
	}
	f->ahead_id = job;
	for (int s = RPX_JOBFIFO_OUT; s <= RPX_JOBFIFO_ERR; s++)
		f->ahead[s] = make_ahead(f, job, (enum rpx_jobfifo_stream)s) == 0;
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
		if (f->ahead_id != 0 && f->ahead[s])
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
