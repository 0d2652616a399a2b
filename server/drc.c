/*
 * drc.c: records of completed mutating calls, by request ID, in a hash
 * table with one global LRU list and one list per client (by arrival), all
 * bounded. See drc.h for the rules this enforces.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "drc.h"

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
	uint64_t floor; /* requests below it are refused: evicted or acknowledged */
	time_t last_seen;
	unsigned nentries;
	struct drc_client *hash_next;
	TAILQ_HEAD(, rpx_drc_entry) entries;
	TAILQ_ENTRY(drc_client) lru;
};

struct rpx_drc {
	struct rpx_drc_config cfg;
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

static size_t bucket(const struct rpx_drc *drc, uint64_t client, uint64_t seq)
{
	uint64_t h = rpx_drc_hash(RPX_DRC_HASH_INIT, &client, sizeof(client));

	return (size_t)(rpx_drc_hash(h, &seq, sizeof(seq)) & (drc->nbuckets - 1));
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
	e->owner->nentries--;
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
			if (e->owner->id != 0 && e->seq >= e->owner->floor)
				e->owner->floor = e->seq + 1;
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

	if (c->id == 0 || acked <= c->floor)
		return;
	c->floor = acked;
	for (e = TAILQ_FIRST(&c->entries); e != NULL; e = next) {
		next = TAILQ_NEXT(e, by_client);
		if (e->seq < acked && e->state != ENTRY_RUNNING) {
			drc->stats.acked++;
			entry_free(drc, e);
		}
	}
}

enum rpx_drc_verdict rpx_drc_begin(struct rpx_drc *drc, uint64_t client, uint64_t seq,
    uint64_t acked, time_t now, struct rpx_drc_entry **entry, const void **reply, size_t *len)
{
	struct rpx_drc_entry *e = entry_find(drc, client, seq);
	struct drc_client *c;

	if (e != NULL) {
		e->owner->last_seen = now;
		if (e->state != ENTRY_DONE) {
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
	if (client != 0 && seq < c->floor) {
		drc->stats.refusals++;
		return RPX_DRC_FORGOTTEN;
	}
	/* An ack may cover this very request only if the client is confused;
	 * the floor then refuses it next time, never now. */
	apply_ack(drc, c, acked <= seq ? acked : seq);
	make_room(drc, 0);
	if ((e = calloc(1, sizeof(*e))) == NULL) {
		drc->stats.full++;
		return RPX_DRC_FULL;
	}
	e->client = client;
	e->seq = seq;
	e->state = ENTRY_RUNNING;
	e->owner = c;
	size_t b = bucket(drc, client, seq);

	e->hash_next = drc->entries[b];
	drc->entries[b] = e;
	TAILQ_INSERT_TAIL(&drc->lru, e, lru);
	TAILQ_INSERT_TAIL(&c->entries, e, by_client);
	c->nentries++;
	drc->stats.entries++;
	drc->stats.new_requests++;
	*entry = e;
	return RPX_DRC_NEW;
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
	free(drc->entries);
	free(drc->clients);
	free(drc);
}
