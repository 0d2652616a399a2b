/*
 * drc.c: records of completed mutating calls, by request ID, in a hash
 * table with one global LRU list and one list per client (by arrival), all
 * bounded. See drc.h for the rules this enforces.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "drc.h"
#include "drc_log.h"

enum entry_state { ENTRY_RUNNING, ENTRY_DONE, ENTRY_NO_REPLY };

struct drc_client;

struct rpx_drc_entry {
	uint64_t client, seq;
	enum entry_state state;
	void *reply;
	size_t len;
	struct drc_client *owner;
	struct rpx_drc_entry *hash_next;
	TAILQ_ENTRY(rpx_drc_entry) lru;
	TAILQ_ENTRY(rpx_drc_entry) by_client;
};

struct drc_client {
	uint64_t id;
	uint64_t floor; /* requests below it are refused: their records may have been evicted */
	uint64_t acked; /* the client has the replies of every request below it */
	time_t last_seen;
	struct drc_client *hash_next;
	TAILQ_HEAD(, rpx_drc_entry) entries;
	TAILQ_ENTRY(drc_client) lru;
};

struct rpx_drc {
	struct rpx_drc_config cfg;
	struct rpx_drclog log;
	bool persistent;
	struct rpx_drc_stats stats;
	size_t nbuckets;
	struct rpx_drc_entry **entries;
	struct drc_client **clients;
	TAILQ_HEAD(, rpx_drc_entry) lru; /* least recently used first */
	TAILQ_HEAD(, drc_client) client_lru;
};

uint64_t rpx_drc_hash(uint64_t h, const void *data, size_t len)
{
	const unsigned char *p = data;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

static void log_record(struct rpx_drc *drc, enum rpx_drclog_type type, uint64_t client,
    uint64_t seq, const void *data, size_t len)
{
	if (drc->persistent && rpx_drclog_append(&drc->log, type, client, seq, data, len) < 0)
		drc->stats.log_errors++;
}

static size_t bucket(const struct rpx_drc *drc, uint64_t client, uint64_t seq)
{
	uint64_t h = rpx_drc_hash(RPX_DRC_HASH_INIT, &client, sizeof(client));

	return (size_t)(rpx_drc_hash(h, &seq, sizeof(seq)) & (drc->nbuckets - 1));
}

static struct drc_client *client_get(struct rpx_drc *drc, uint64_t id, time_t now);
static struct rpx_drc_entry *entry_insert(struct rpx_drc *drc, struct drc_client *c, uint64_t seq);
static struct rpx_drc_entry *entry_find(struct rpx_drc *drc, uint64_t client, uint64_t seq);
static struct drc_client *client_find(struct rpx_drc *drc, uint64_t id);
static void entry_free(struct rpx_drc *drc, struct rpx_drc_entry *e);
static void client_free(struct rpx_drc *drc, struct drc_client *c);
static void maybe_compact(struct rpx_drc *drc);
static void emit_live(struct rpx_drclog *tmp, void *arg);

/* Frees the records of @c below @seq, which its floor or its ack passed. */
static void drop_below(struct rpx_drc *drc, struct drc_client *c, uint64_t seq)
{
	struct rpx_drc_entry *e, *next;

	for (e = TAILQ_FIRST(&c->entries); e != NULL; e = next) {
		next = TAILQ_NEXT(e, by_client);
		if (e->seq < seq)
			entry_free(drc, e);
	}
}

/* Rebuilds the cache from the file: what ran before a restart. */
static void replay_cb(void *arg, enum rpx_drclog_type type, uint64_t client, uint64_t seq,
    const void *data, size_t len)
{
	struct rpx_drc *drc = arg;
	struct drc_client *c = client_find(drc, client);
	struct rpx_drc_entry *e;

	drc->stats.restored++;
	switch (type) {
	case RPX_DRCLOG_BEGIN:
	case RPX_DRCLOG_DONE:
		if (c == NULL && (c = client_get(drc, client, time(NULL))) == NULL)
			return;
		if ((e = entry_find(drc, client, seq)) == NULL &&
		    (e = entry_insert(drc, c, seq)) == NULL)
			return;
		if (type == RPX_DRCLOG_BEGIN) {
			e->state = ENTRY_NO_REPLY;
			return;
		}
		free(e->reply);
		drc->stats.bytes -= e->len;
		e->len = 0;
		e->state = ENTRY_NO_REPLY;
		if ((e->reply = malloc(len > 0 ? len : 1)) != NULL) {
			memcpy(e->reply, data, len);
			e->len = len;
			e->state = ENTRY_DONE;
			drc->stats.bytes += len;
		}
		return;
	case RPX_DRCLOG_FLOOR:
		if (c == NULL && (c = client_get(drc, client, time(NULL))) == NULL)
			return;
		if (seq > c->floor)
			c->floor = seq;
		drop_below(drc, c, c->floor);
		return;
	case RPX_DRCLOG_ACK:
		if (c == NULL && (c = client_get(drc, client, time(NULL))) == NULL)
			return;
		if (seq > c->acked)
			c->acked = seq;
		drop_below(drc, c, c->acked);
		return;
	case RPX_DRCLOG_EXPIRE:
		if (c == NULL)
			return;
		while ((e = TAILQ_FIRST(&c->entries)) != NULL)
			entry_free(drc, e);
		client_free(drc, c);
		return;
	}
}

struct rpx_drc *rpx_drc_new(const struct rpx_drc_config *cfg)
{
	struct rpx_drc *drc = calloc(1, sizeof(*drc));

	if (drc == NULL)
		return NULL;
	drc->cfg = *cfg;
	drc->nbuckets = 1024;
	while (drc->nbuckets < cfg->max_entries && drc->nbuckets < ((size_t)1 << 24))
		drc->nbuckets <<= 1;
	drc->entries = calloc(drc->nbuckets, sizeof(*drc->entries));
	drc->clients = calloc(drc->nbuckets, sizeof(*drc->clients));
	if (drc->entries == NULL || drc->clients == NULL) {
		rpx_drc_free(drc);
		return NULL;
	}
	TAILQ_INIT(&drc->lru);
	TAILQ_INIT(&drc->client_lru);
	drc->log.fd = -1;
	if (cfg->path != NULL) {
		int err = rpx_drclog_open(&drc->log, cfg->path, cfg->fsync, replay_cb, drc);

		if (err < 0) {
			rpx_drc_free(drc);
			errno = -err;
			return NULL;
		}
		drc->persistent = true;
		/* Start from a file that holds just the live records. */
		if (rpx_drclog_rewrite(&drc->log, emit_live, drc) < 0)
			drc->stats.log_errors++;
	}
	return drc;
}

static struct rpx_drc_entry *entry_find(struct rpx_drc *drc, uint64_t client, uint64_t seq)
{
	struct rpx_drc_entry *e = drc->entries[bucket(drc, client, seq)];

	while (e != NULL && (e->client != client || e->seq != seq))
		e = e->hash_next;
	return e;
}

static struct drc_client *client_find(struct rpx_drc *drc, uint64_t id)
{
	struct drc_client *c = drc->clients[bucket(drc, id, 0)];

	while (c != NULL && c->id != id)
		c = c->hash_next;
	return c;
}

static void client_free(struct rpx_drc *drc, struct drc_client *c)
{
	struct drc_client **p = &drc->clients[bucket(drc, c->id, 0)];

	while (*p != c)
		p = &(*p)->hash_next;
	*p = c->hash_next;
	TAILQ_REMOVE(&drc->client_lru, c, lru);
	drc->stats.clients--;
	free(c);
}

static void entry_free(struct rpx_drc *drc, struct rpx_drc_entry *e)
{
	struct rpx_drc_entry **p = &drc->entries[bucket(drc, e->client, e->seq)];

	while (*p != e)
		p = &(*p)->hash_next;
	*p = e->hash_next;
	TAILQ_REMOVE(&drc->lru, e, lru);
	TAILQ_REMOVE(&e->owner->entries, e, by_client);
	drc->stats.entries--;
	drc->stats.bytes -= e->len;
	free(e->reply);
	free(e);
}

/* Drops least recently used records until there is room for @len more bytes. */
static void make_room(struct rpx_drc *drc, size_t len)
{
	struct rpx_drc_entry *e = TAILQ_FIRST(&drc->lru);

	while (e != NULL && (drc->stats.entries >= drc->cfg.max_entries ||
	                        drc->stats.bytes + len > drc->cfg.max_bytes)) {
		struct rpx_drc_entry *next = TAILQ_NEXT(e, lru);

		if (e->state != ENTRY_RUNNING) {
			/* From now on the server cannot tell this request from a new one. */
			if (e->owner->id != 0 && e->seq >= e->owner->floor) {
				e->owner->floor = e->seq + 1;
				log_record(drc, RPX_DRCLOG_FLOOR, e->owner->id, e->owner->floor,
				    NULL, 0);
			}
			drc->stats.evictions++;
			entry_free(drc, e);
		}
		e = next;
	}
}

/* Forgets clients silent for longer than the TTL, with their records. */
static void expire_clients(struct rpx_drc *drc, time_t now)
{
	struct drc_client *c;

	while ((c = TAILQ_FIRST(&drc->client_lru)) != NULL &&
	       now - c->last_seen > (time_t)drc->cfg.client_ttl) {
		struct rpx_drc_entry *e, *next;
		bool running = false;

		for (e = TAILQ_FIRST(&c->entries); e != NULL; e = next) {
			next = TAILQ_NEXT(e, by_client);
			if (e->state == ENTRY_RUNNING)
				running = true;
			else
				entry_free(drc, e);
		}
		if (running) {
			/* Still executing: seen "now" for the purpose of expiry. */
			c->last_seen = now;
			TAILQ_REMOVE(&drc->client_lru, c, lru);
			TAILQ_INSERT_TAIL(&drc->client_lru, c, lru);
			break;
		}
		log_record(drc, RPX_DRCLOG_EXPIRE, c->id, 0, NULL, 0);
		client_free(drc, c);
	}
}

static struct drc_client *client_get(struct rpx_drc *drc, uint64_t id, time_t now)
{
	struct drc_client *c = client_find(drc, id);

	if (c == NULL) {
		expire_clients(drc, now);
		if (drc->stats.clients >= drc->cfg.max_clients)
			return NULL;
		if ((c = calloc(1, sizeof(*c))) == NULL)
			return NULL;
		c->id = id;
		TAILQ_INIT(&c->entries);
		struct drc_client **head = &drc->clients[bucket(drc, id, 0)];

		c->hash_next = *head;
		*head = c;
		drc->stats.clients++;
	} else {
		TAILQ_REMOVE(&drc->client_lru, c, lru);
	}
	c->last_seen = now;
	TAILQ_INSERT_TAIL(&drc->client_lru, c, lru);
	return c;
}

/* The client says every request below @acked is complete: their records go. */
static void apply_ack(struct rpx_drc *drc, struct drc_client *c, uint64_t acked)
{
	struct rpx_drc_entry *e, *next;

	if (c->id == 0 || acked <= c->acked)
		return;
	c->acked = acked;
	log_record(drc, RPX_DRCLOG_ACK, c->id, c->acked, NULL, 0);
	for (e = TAILQ_FIRST(&c->entries); e != NULL; e = next) {
		next = TAILQ_NEXT(e, by_client);
		if (e->seq < acked && e->state != ENTRY_RUNNING) {
			drc->stats.acked++;
			entry_free(drc, e);
		}
	}
}

static struct rpx_drc_entry *entry_insert(struct rpx_drc *drc, struct drc_client *c, uint64_t seq)
{
	struct rpx_drc_entry *e = calloc(1, sizeof(*e));
	size_t b;

	if (e == NULL)
		return NULL;
	e->client = c->id;
	e->seq = seq;
	e->state = ENTRY_RUNNING;
	e->owner = c;
	b = bucket(drc, c->id, seq);
	e->hash_next = drc->entries[b];
	drc->entries[b] = e;
	TAILQ_INSERT_TAIL(&drc->lru, e, lru);
	TAILQ_INSERT_TAIL(&c->entries, e, by_client);
	drc->stats.entries++;
	return e;
}

enum rpx_drc_verdict rpx_drc_begin(struct rpx_drc *drc, uint64_t client, uint64_t seq,
    uint64_t acked, time_t now, struct rpx_drc_entry **entry, const void **reply, size_t *len)
{
	struct rpx_drc_entry *e = entry_find(drc, client, seq);
	struct drc_client *c;

	if (e != NULL) {
		e->owner->last_seen = now;
		if (e->state == ENTRY_NO_REPLY) {
			drc->stats.refusals++;
			return RPX_DRC_UNKNOWN;
		}
		if (e->state == ENTRY_RUNNING) {
			drc->stats.in_progress++;
			return RPX_DRC_IN_PROGRESS;
		}
		TAILQ_REMOVE(&drc->lru, e, lru);
		TAILQ_INSERT_TAIL(&drc->lru, e, lru);
		drc->stats.hits++;
		*reply = e->reply;
		*len = e->len;
		return RPX_DRC_REPLAY;
	}
	if ((c = client_get(drc, client, now)) == NULL) {
		drc->stats.full++;
		return RPX_DRC_FULL;
	}
	if (client != 0 && seq < c->acked) {
		/* The client said it has this reply: a duplicate that arrived late. */
		drc->stats.late++;
		return RPX_DRC_LATE;
	}
	if (client != 0 && seq < c->floor) {
		drc->stats.refusals++;
		return RPX_DRC_FORGOTTEN;
	}
	/* An ack may cover this very request only if the client is confused;
	 * the floor then refuses it next time, never now. */
	apply_ack(drc, c, acked <= seq ? acked : seq);
	make_room(drc, 0);
	if ((e = entry_insert(drc, c, seq)) == NULL) {
		drc->stats.full++;
		return RPX_DRC_FULL;
	}
	drc->stats.new_requests++;
	/* On disk before it runs: after a crash its outcome is known to be unknown. */
	log_record(drc, RPX_DRCLOG_BEGIN, client, seq, NULL, 0);
	*entry = e;
	return RPX_DRC_NEW;
}

static void emit_live(struct rpx_drclog *tmp, void *arg)
{
	struct rpx_drc *drc = arg;
	struct drc_client *c;
	struct rpx_drc_entry *e;

	TAILQ_FOREACH(c, &drc->client_lru, lru) {
		if (c->floor > 0)
			rpx_drclog_append(tmp, RPX_DRCLOG_FLOOR, c->id, c->floor, NULL, 0);
		if (c->acked > 0)
			rpx_drclog_append(tmp, RPX_DRCLOG_ACK, c->id, c->acked, NULL, 0);
		TAILQ_FOREACH(e, &c->entries, by_client) {
			if (e->state == ENTRY_DONE)
				rpx_drclog_append(tmp, RPX_DRCLOG_DONE, e->client, e->seq, e->reply,
				    e->len);
			else
				rpx_drclog_append(tmp, RPX_DRCLOG_BEGIN, e->client, e->seq, NULL,
				    0);
		}
	}
}

/* Keeps the file within a few times what it describes. */
static void maybe_compact(struct rpx_drc *drc)
{
	uint64_t live = drc->stats.bytes + drc->stats.entries * 64 + drc->stats.clients * 64;

	if (drc->persistent && drc->log.size > 4 * live + 4 * 1024 * 1024 &&
	    rpx_drclog_rewrite(&drc->log, emit_live, drc) < 0)
		drc->stats.log_errors++;
}

void rpx_drc_complete(struct rpx_drc *drc, struct rpx_drc_entry *e, const void *reply, size_t len)
{
	make_room(drc, len);
	if ((e->reply = malloc(len > 0 ? len : 1)) == NULL) {
		e->state = ENTRY_NO_REPLY;
		return;
	}
	memcpy(e->reply, reply, len);
	e->len = len;
	e->state = ENTRY_DONE;
	drc->stats.bytes += len;
	log_record(drc, RPX_DRCLOG_DONE, e->client, e->seq, reply, len);
	maybe_compact(drc);
}

void rpx_drc_abort(struct rpx_drc *drc, struct rpx_drc_entry *e)
{
	e->state = ENTRY_NO_REPLY;
}

const struct rpx_drc_stats *rpx_drc_stats(const struct rpx_drc *drc)
{
	return &drc->stats;
}

void rpx_drc_free(struct rpx_drc *drc)
{
	struct drc_client *c;

	if (drc == NULL)
		return;
	if (drc->entries != NULL && drc->clients != NULL) {
		while (!TAILQ_EMPTY(&drc->lru))
			entry_free(drc, TAILQ_FIRST(&drc->lru));
		while ((c = TAILQ_FIRST(&drc->client_lru)) != NULL)
			client_free(drc, c);
	}
	if (drc->persistent)
		rpx_drclog_close(&drc->log);
	free(drc->entries);
	free(drc->clients);
	free(drc);
}
