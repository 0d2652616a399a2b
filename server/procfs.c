/*
 * procfs.c: reading /proc/PID/{stat,status,cmdline,fd}. These are kernel
 * calls that never wait on a peer or a disk, so the event loop makes them
 * directly; LIST bounds how many processes one call reads.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "procfs.h"

static long clock_ticks;
static long page_kb;
static long long boot_time;

static void init_constants(void)
{
	FILE *f;
	char line[256];

	if (clock_ticks != 0)
		return;
	clock_ticks = sysconf(_SC_CLK_TCK);
	page_kb = sysconf(_SC_PAGESIZE) / 1024;
	if ((f = fopen("/proc/stat", "re")) != NULL) {
		while (fgets(line, sizeof(line), f) != NULL) {
			if (sscanf(line, "btime %lld", &boot_time) == 1)
				break;
		}
		fclose(f);
	}
}

static ssize_t read_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n, total = 0;

	if (fd < 0)
		return -errno;
	while (
	    (size_t)total < size - 1 && (n = read(fd, buf + total, size - 1 - (size_t)total)) > 0)
		total += n;
	close(fd);
	buf[total] = '\0';
	return total;
}

rpx_pstate rpx_procfs_state(char code)
{
	switch (code) {
	case 'R':
		return RPX_PSTATE_RUNNING;
	case 'S':
	case 'D':
	case 'I':
	case 'W':
	case 'P':
		return RPX_PSTATE_WAITING;
	case 'T':
	case 't':
		return RPX_PSTATE_STOPPED;
	case 'Z':
	case 'X':
	case 'x':
		return RPX_PSTATE_TERMINATED;
	default:
		return RPX_PSTATE_NEW;
	}
}

static int count_fds(pid_t pid)
{
	char path[64];
	DIR *d;
	struct dirent *de;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	if ((d = opendir(path)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] != '.')
			n++;
	}
	closedir(d);
	return n;
}

int rpx_procfs_read(pid_t pid, rpx_pinfo *info)
{
	char path[64], buf[4096], *p, *comm_end, state;
	unsigned long long utime, stime, starttime;
	long long priority, nice, threads, rss;
	int ppid, pgid, sid;
	ssize_t n;

	init_constants();
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (read_file(path, buf, sizeof(buf)) <= 0)
		return -ESRCH;
	/* comm may hold spaces and parentheses: it ends at the last ')'. */
	if ((p = strchr(buf, '(')) == NULL || (comm_end = strrchr(buf, ')')) == NULL)
		return -ESRCH;
	*comm_end = '\0';
	if (info->name == NULL || info->name[0] == '\0') {
		free(info->name);
		info->name = strdup(p + 1);
	}
	if (sscanf(comm_end + 2,
	        "%c %d %d %d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %lld %lld %lld %*d %llu %*u %lld",
	        &state, &ppid, &pgid, &sid, &utime, &stime, &priority, &nice, &threads, &starttime,
	        &rss) != 11)
		return -ESRCH;
	info->pid = pid;
	info->ppid = ppid;
	info->pgid = pgid;
	info->sid = sid;
	info->state = rpx_procfs_state(state);
	free(info->state_code);
	info->state_code = malloc(2);
	if (info->state_code != NULL) {
		info->state_code[0] = state;
		info->state_code[1] = '\0';
	}
	info->priority = (int)priority;
	info->nice = (int)nice;
	info->threads = (unsigned)threads;
	info->utime_us = utime * 1000000ull / (unsigned long long)clock_ticks;
	info->stime_us = stime * 1000000ull / (unsigned long long)clock_ticks;
	info->rss_kb = (unsigned long long)(rss > 0 ? rss : 0) * (unsigned long long)page_kb;
	if (info->start_sec == 0) {
		info->start_sec =
		    boot_time + (long long)(starttime / (unsigned long long)clock_ticks);
		info->start_nsec = (unsigned)((starttime % (unsigned long long)clock_ticks) *
		                              (1000000000ull / (unsigned long long)clock_ticks));
	}

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	if (read_file(path, buf, sizeof(buf)) > 0) {
		char *line = buf;

		while (line != NULL && *line != '\0') {
			unsigned long long v;
			unsigned u;

			if (sscanf(line, "voluntary_ctxt_switches: %llu", &v) == 1)
				info->vol_ctxsw = v;
			else if (sscanf(line, "nonvoluntary_ctxt_switches: %llu", &v) == 1)
				info->invol_ctxsw = v;
			else if (sscanf(line, "Uid: %u", &u) == 1)
				info->uid = u;
			line = strchr(line, '\n');
			if (line != NULL)
				line++;
		}
	}
	info->open_fds = count_fds(pid);

	if (info->cmdline == NULL || info->cmdline[0] == '\0') {
		snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
		n = read_file(path, buf, sizeof(buf));
		if (n > 0) {
			while (n > 0 && buf[n - 1] == '\0')
				n--;
			for (ssize_t i = 0; i < n; i++) {
				if (buf[i] == '\0' || !isprint((unsigned char)buf[i]))
					buf[i] = ' ';
			}
			buf[n] = '\0';
			free(info->cmdline);
			info->cmdline = strdup(buf);
		}
	}
	return 0;
}

int rpx_procfs_starttime(pid_t pid, uint64_t *ticks)
{
	char path[64], buf[1024], *p;
	unsigned long long v;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (read_file(path, buf, sizeof(buf)) <= 0 || (p = strrchr(buf, ')')) == NULL)
		return -ESRCH;
	if (sscanf(p + 2,
	        "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
	        &v) != 1)
		return -ESRCH;
	*ticks = v;
	return 0;
}

static int cmp_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return x < y ? -1 : x > y;
}

ssize_t rpx_procfs_pids(pid_t after, pid_t *out, size_t max, bool *more)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	pid_t *all = NULL;
	size_t n = 0, cap = 0;

	*more = false;
	if (d == NULL)
		return -errno;
	while ((de = readdir(d)) != NULL) {
		char *end;
		long v;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		v = strtol(de->d_name, &end, 10);
		if (*end != '\0' || v <= after)
			continue;
		if (n == cap) {
			pid_t *grown = realloc(all, (cap = cap ? cap * 2 : 1024) * sizeof(pid_t));

			if (grown == NULL) {
				free(all);
				closedir(d);
				return -ENOMEM;
			}
			all = grown;
		}
		all[n++] = (pid_t)v;
	}
	closedir(d);
	qsort(all, n, sizeof(pid_t), cmp_pid);
	if (n > max) {
		*more = true;
		n = max;
	}
	if (n > 0)
		memcpy(out, all, n * sizeof(pid_t));
	free(all);
	return (ssize_t)n;
}
