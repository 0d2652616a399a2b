/*
 * recmark.h: RFC 5531 §11 record marking over libevent evbuffers.
 *
 * A stream transport (TCP, Unix socket, later TLS) carries RPC messages as
 * records, each a sequence of fragments behind a 4-byte header: the top bit
 * marks the last fragment, the other 31 bits give the fragment's length. The
 * reader here is resumable: it takes whatever bytes have arrived, moves
 * fragment bodies into one record buffer, and says RPX_AGAIN until a record
 * is complete. Every length is checked against the record limit before a
 * single body byte is buffered.
 */
#ifndef RPX_RECMARK_H
#define RPX_RECMARK_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/buffer.h>

#define RPX_AGAIN (-EAGAIN)

#define RPX_RECMARK_LAST 0x80000000u
#define RPX_RECMARK_LEN_MASK 0x7fffffffu
/* A record split into more fragments than this is refused as hostile. */
#define RPX_RECMARK_MAX_FRAGMENTS 1024

struct rpx_recmark {
	size_t record_limit; /* largest record accepted, in bytes */
	size_t record_len; /* body bytes of the current record so far */
	uint32_t frag_left; /* body bytes of the current fragment not yet moved */
	unsigned fragments; /* headers read for the current record */
	bool in_fragment; /* a header was read and its body is pending */
	bool last; /* the current fragment ends the record */
	struct evbuffer *record; /* the record's body, fragment headers removed */
};

/* 0, or -ENOMEM. */
int rpx_recmark_init(struct rpx_recmark *rm, size_t record_limit);
void rpx_recmark_release(struct rpx_recmark *rm);

/*
 * Moves bytes from @in into the current record. Returns 0 when rm->record
 * holds one whole record (the caller consumes it and calls
 * rpx_recmark_next()), RPX_AGAIN when more bytes are needed, -EMSGSIZE when
 * the record would exceed the limit, -EBADMSG when it has too many fragments.
 * After an error the stream cannot be resynchronised: close it.
 */
int rpx_recmark_read(struct rpx_recmark *rm, struct evbuffer *in);

/* Forgets the record just returned (drains rm->record) and starts the next. */
void rpx_recmark_next(struct rpx_recmark *rm);

/* True while part of a record has arrived but not all of it. */
bool rpx_recmark_partial(const struct rpx_recmark *rm);

/* Writes the 4-byte header of a single-fragment record of @len bytes. */
void rpx_recmark_header(unsigned char hdr[4], size_t len);

/* Appends @body to @out as one record (one fragment); drains @body. */
int rpx_recmark_write(struct evbuffer *out, struct evbuffer *body);

#endif
