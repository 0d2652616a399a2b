/*
 * drc.h: the duplicate request cache: at-most-once execution of mutating
 * calls (SPAWN, KILL).
 *
 * A mutating call carries a request ID: the client instance (random, per
 * client start) and that client's sequence number, plus "acked", the lowest
 * sequence number the client still waits for. The first time an ID is seen
 * the call runs and its encoded reply is recorded; a retransmission gets the
 * recorded reply (with its own XID) and does not run. A call without an ID
 * is keyed by (peer address, XID, program, version, procedure, checksum of
 * the arguments), as NFS servers do: a weaker guarantee, since a client that
 * reconnects from another port or changes XID is not recognised.
 *
 * Memory is bounded by --drc-entries and --drc-bytes: the least recently
 * used completed record goes first. Once a record of a client is evicted,
 * any request of that client at or below the evicted sequence number is
 * refused (never run): the server cannot prove it new. A client's records
 * below its "acked" are dropped as soon as it says so, and a client not
 * heard from for --drc-client-ttl seconds is forgotten; client IDs are
 * random 64-bit values, so a forgotten client is not confused with a new one.
 */
#ifndef RPX_DRC_H
#define RPX_DRC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct rpx_drc_config {
	const char *path; /* the file that keeps the cache across restarts; NULL: memory only */
	bool fsync; /* fdatasync each record before the reply goes out */
	size_t max_entries;
	size_t max_bytes;
	unsigned max_clients;
	unsigned client_ttl; /* seconds */
};

struct rpx_drc_stats {
	uint64_t new_requests;
	uint64_t hits; /* retransmissions answered from a record */
	uint64_t in_progress; /* retransmissions dropped: the original still runs */
	uint64_t evictions; /* records dropped for room */
	uint64_t refusals; /* requests refused: their record may have been evicted */
	uint64_t full; /* requests refused: no room for another client */
	uint64_t acked; /* records dropped because the client acknowledged them */
	uint64_t entries; /* records held now */
	uint64_t bytes; /* reply bytes held now */
	uint64_t clients; /* clients known now */
	uint64_t late; /* late copies of acknowledged requests, refused */
	uint64_t log_errors; /* records that could not be written */
	uint64_t restored; /* records read back at start-up */
};

enum rpx_drc_verdict {
	RPX_DRC_NEW, /* run it; then rpx_drc_complete() or rpx_drc_abort() */
	RPX_DRC_REPLAY, /* answer with the recorded reply */
	RPX_DRC_IN_PROGRESS, /* drop: the original is still running */
	RPX_DRC_FORGOTTEN, /* refuse: its record may have been evicted or acknowledged */
	RPX_DRC_FULL, /* refuse: no room for another client */
	RPX_DRC_UNKNOWN, /* refuse: it ran before a restart and its outcome was lost */
	RPX_DRC_LATE, /* refuse: a late copy of a request the client has the reply of */
};

struct rpx_drc;
struct rpx_drc_entry;

/* With cfg->path, reads the records kept there; NULL on failure with errno set. */
struct rpx_drc *rpx_drc_new(const struct rpx_drc_config *cfg);
void rpx_drc_free(struct rpx_drc *drc);

/*
 * Looks up request (@client, @seq); @client 0 means "no request ID" and @seq
 * is then the fallback key's hash. For REPLAY, *@reply and *@len give the
 * recorded reply message (XID first). For NEW, *@entry is the record to
 * complete or abort.
 */
enum rpx_drc_verdict rpx_drc_begin(struct rpx_drc *drc, uint64_t client, uint64_t seq,
    uint64_t acked, time_t now, struct rpx_drc_entry **entry, const void **reply, size_t *len);

/* Records the encoded reply of a request that ran. */
void rpx_drc_complete(struct rpx_drc *drc, struct rpx_drc_entry *entry, const void *reply,
    size_t len);

/* The request could not be answered (its transport went away first): it
 * ran, so its record stays, marked as having no reply to repeat. */
void rpx_drc_abort(struct rpx_drc *drc, struct rpx_drc_entry *entry);

const struct rpx_drc_stats *rpx_drc_stats(const struct rpx_drc *drc);

/* 64-bit FNV-1a, for the fallback key. */
uint64_t rpx_drc_hash(uint64_t h, const void *data, size_t len);
#define RPX_DRC_HASH_INIT 0xcbf29ce484222325ull

#endif
