/*
 * jobs_store.c: the job table's file (see jobs_store.h) as a drc_log.h
 * record log: the job id in the record's "client" field, the XDR record as
 * its data. Its record types are numbered apart from the duplicate request
 * cache's, so drc_log's own fdatasync of BEGIN and DONE never applies:
 * --fsync is done here, for SAVE only.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jobs_store.h"

#define REWRITE_MIN (256u * 1024) /* no rewrite while the file is smaller */

enum record_type {
	RECORD_SAVE = 0x4a53, /* "JS" */
	RECORD_FORGET = 0x4a46, /* "JF" */
};

/* One record found by the replay. */
struct entry {
	uint64_t job;
	size_t order; /* position in the file */
	uint32_t type;
	size_t len;
	void *data;
};

struct replay {
	struct entry *list;
	size_t n, cap;
};

static int append(struct rpx_jobstore *store, enum record_type type, uint64_t job, const void *data,
    size_t len)
{
	int err = rpx_drclog_append(&store->log, (enum rpx_drclog_type)type, job, 0, data, len);

	if (err == 0 && type == RECORD_SAVE) {
		store->saved_bytes += len;
		store->saves++;
		if (store->fsync && fdatasync(store->log.fd) < 0)
			err = -errno;
	}
	return err;
}

int rpx_jobstore_save(struct rpx_jobstore *store, uint64_t job, const void *record, size_t len)
{
	return append(store, RECORD_SAVE, job, record, len);
}

int rpx_jobstore_forget(struct rpx_jobstore *store, uint64_t job)
{
	return append(store, RECORD_FORGET, job, NULL, 0);
}

bool rpx_jobstore_wants_rewrite(const struct rpx_jobstore *store, uint64_t live)
{
	uint64_t mean = store->saves > 0 ? store->saved_bytes / store->saves : 0;

	/* A rewrite keeps one record per live job: a quarter of the file at most. */
	return store->log.size > REWRITE_MIN && store->log.size > 4 * live * (mean + 64);
}

static void collect(void *arg, enum rpx_drclog_type type, uint64_t job, uint64_t seq,
    const void *data, size_t len)
{
	struct replay *r = arg;
	struct entry *e;

	if ((uint32_t)type != RECORD_SAVE && (uint32_t)type != RECORD_FORGET)
		return;
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 256;
		struct entry *grown = realloc(r->list, cap * sizeof(*grown));

		if (grown == NULL)
			return;
		r->list = grown;
		r->cap = cap;
	}
	e = &r->list[r->n];
	e->job = job;
	e->order = r->n;
	e->type = (uint32_t)type;
	e->len = len;
	e->data = NULL;
	if (len > 0 && (e->data = malloc(len)) == NULL)
		return;
	if (len > 0)
		memcpy(e->data, data, len);
	r->n++;
}

static int cmp_entry(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;

	if (x->job != y->job)
		return x->job < y->job ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

/* Whether @e is the last record of its job and a SAVE. */
static bool live(const struct replay *r, size_t i)
{
	return r->list[i].type == RECORD_SAVE &&
	       (i + 1 == r->n || r->list[i + 1].job != r->list[i].job);
}

struct rewrite_live {
	struct rpx_jobstore *store;
	const struct replay *replay;
};

static void emit_live(struct rpx_drclog *tmp, void *arg)
{
	struct rewrite_live *w = arg;
	struct rpx_jobstore t = {.log = *tmp};

	for (size_t i = 0; i < w->replay->n; i++) {
		if (live(w->replay, i))
			append(&t, RECORD_SAVE, w->replay->list[i].job, w->replay->list[i].data,
			    w->replay->list[i].len);
	}
	*tmp = t.log;
	w->store->saved_bytes = t.saved_bytes;
	w->store->saves = t.saves;
}

int rpx_jobstore_open(struct rpx_jobstore *store, const char *path, bool fsync, rpx_jobstore_fn fn,
    void *arg)
{
	struct replay r = {NULL, 0, 0};
	struct rewrite_live w = {store, &r};
	int err;

	memset(store, 0, sizeof(*store));
	store->log.fd = -1;
	store->fsync = fsync;
	if ((err = rpx_drclog_open(&store->log, path, false, collect, &r)) < 0)
		return err;
	if (r.n > 1)
		qsort(r.list, r.n, sizeof(*r.list), cmp_entry);
	for (size_t i = 0; i < r.n; i++) {
		if (live(&r, i))
			fn(arg, r.list[i].job, r.list[i].data, r.list[i].len);
	}
	/* Only the live records from now on (the old file stays if this fails). */
	if (rpx_drclog_rewrite(&store->log, emit_live, &w) < 0) {
		store->saved_bytes = store->saves = 0;
		for (size_t i = 0; i < r.n; i++) {
			store->saved_bytes += r.list[i].len;
			store->saves += r.list[i].type == RECORD_SAVE;
		}
	}
	for (size_t i = 0; i < r.n; i++)
		free(r.list[i].data);
	free(r.list);
	return 0;
}

void rpx_jobstore_close(struct rpx_jobstore *store)
{
	rpx_drclog_close(&store->log);
}

const char *rpx_jobstore_path(const struct rpx_jobstore *store)
{
	return store->log.path;
}

struct rewrite_cb {
	struct rpx_jobstore *store;
	void (*emit)(struct rpx_jobstore *tmp, void *arg);
	void *arg;
};

static void emit_table(struct rpx_drclog *tmp, void *arg)
{
	struct rewrite_cb *w = arg;
	struct rpx_jobstore t = {.log = *tmp};

	w->emit(&t, w->arg);
	*tmp = t.log;
	w->store->saved_bytes = t.saved_bytes;
	w->store->saves = t.saves;
}

int rpx_jobstore_rewrite(struct rpx_jobstore *store,
    void (*emit)(struct rpx_jobstore *tmp, void *arg), void *arg)
{
	struct rewrite_cb w = {store, emit, arg};
	uint64_t saved_bytes = store->saved_bytes, saves = store->saves;
	int err = rpx_drclog_rewrite(&store->log, emit_table, &w);

	if (err < 0) {
		store->saved_bytes = saved_bytes;
		store->saves = saves;
	}
	return err;
}
