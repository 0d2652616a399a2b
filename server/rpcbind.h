/*
 * rpcbind.h: registering rpxd's programs with the host's rpcbind (RFC 1833),
 * so that a stock client that knows only the host name (rpcinfo, a
 * clnt_create() from rpcgen stubs, librpx's bare-host lookup) finds the
 * port of each (program, version) on each transport.
 *
 * rpxd builds one entry per (program, version, listener) from the bound
 * addresses of its RPC listeners, registers them once every listener is
 * bound, and unregisters them on a clean exit. Talking to rpcbind blocks,
 * so it is done only then, and every exchange has a deadline: a hung
 * rpcbind delays rpxd by at most @timeout_ms, it never stops it.
 */
#ifndef RPX_RPCBIND_H
#define RPX_RPCBIND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Time allowed for all of one registration or unregistration. */
#define RPX_RPCBIND_TIMEOUT_MS 2000

struct rpx_rpcbind_entry {
	uint32_t prog;
	uint32_t vers;
	char netid[8]; /* "tcp", "udp", "tcp6", "udp6" or "local" */
	char uaddr[128]; /* RFC 1833 universal address: "198.18.0.1.27.165", a path */
	bool registered; /* set by rpx_rpcbind_register, cleared by _unregister */
};

/*
 * Fills @e for @prog, @vers served on a socket of type @socktype
 * (SOCK_STREAM or SOCK_DGRAM) bound to @sa (getsockname()): the netid
 * from the family and type, the universal address from the address.
 * 0, or -EAFNOSUPPORT (a family rpcbind has no netid for), -EINVAL.
 */
int rpx_rpcbind_entry_init(struct rpx_rpcbind_entry *e, uint32_t prog, uint32_t vers, int socktype,
    const struct sockaddr *sa, socklen_t salen);

/*
 * Registers every entry with the local rpcbind: through its Unix socket,
 * else TCP to 127.0.0.1 port 111. An older mapping of the same (program,
 * version, netid) is replaced, as svc_reg() does; rpcbind keeps one
 * address per (program, version, netid), so a later entry that repeats
 * one is skipped. Sets ->registered on each entry rpcbind accepted.
 *
 * 0 when every entry is registered. Otherwise a negative errno and a
 * message in @err: -ECONNREFUSED when rpcbind is not reachable at all
 * ("/run/rpcbind.sock: No such file or directory; 127.0.0.1:111:
 * Connection refused"), -ETIMEDOUT when it did not answer within
 * @timeout_ms, -EACCES when it refused an entry, -ECOMM on other RPC
 * errors. Entries registered before a failure stay registered.
 */
int rpx_rpcbind_register(struct rpx_rpcbind_entry *entries, size_t n, unsigned timeout_ms,
    char *err, size_t errlen);

/*
 * Removes the mappings of the entries marked ->registered, within
 * @timeout_ms. 0, or a negative errno with a message in @err as above.
 */
int rpx_rpcbind_unregister(struct rpx_rpcbind_entry *entries, size_t n, unsigned timeout_ms,
    char *err, size_t errlen);

#endif
