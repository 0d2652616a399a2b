"""faultproxy: a fault-injecting proxy between an RPC client and rpxd, on loopback only.

UdpFaultProxy forwards datagrams both ways and, each with its own
probability drawn from a seeded RNG (so a failing run can be repeated),
drops a datagram (loss), sends it twice (duplication), holds it a few
milliseconds so later ones overtake it (reordering), or holds it longer
(delay); up= and down= set a direction's probabilities apart. Each client address gets its own upstream socket, so rpxd sees one
peer per client, as without the proxy.

TcpResetProxy accepts TCP (or Unix stream) connections and connects each to
the upstream; every connection gets a byte budget per direction, drawn from
the RNG, and when either budget runs out the proxy forwards exactly the
bytes within it and then resets both sides (SO_LINGER 0, close): a call cut
in the middle, or a reply cut in the middle, or a connection lost between
calls.

Both run one thread with a selector, count what they did in .stats, and are
context managers (stop() joins the thread). Python 3 standard library only.

    with UdpFaultProxy(("127.0.0.1", port), loss=0.3, dup=0.3, seed=7) as p:
        client talks to p.addr

Run by hand: python3 faultproxy.py udp|tcp UPSTREAM_PORT [loss dup reorder delay]
"""

import heapq
import os
import random
import selectors
import socket
import struct
import sys
import threading
import time

LOOPBACK = ("127.0.0.1", "::1", "localhost")


def _check_loopback(addr):
    if isinstance(addr, str):
        return  # a Unix socket path
    if addr[0] not in LOOPBACK:
        raise ValueError("faultproxy only forwards to loopback, not %r" % (addr[0],))


def _family(addr):
    if isinstance(addr, str):
        return socket.AF_UNIX
    return socket.AF_INET6 if ":" in addr[0] else socket.AF_INET


def reset_close(sock):
    """Close with an RST instead of a FIN (SO_LINGER on, timeout 0)."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass


class _Loop:
    """A selector loop in a thread, with timers; subclasses register sockets."""

    def __init__(self, seed):
        self.rng = random.Random(seed)
        self.sel = selectors.DefaultSelector()
        self.timers = []  # (due, n, fn)
        self.timer_n = 0
        self.lock = threading.Lock()
        self.stop_r, self.stop_w = os.pipe()
        self.sel.register(self.stop_r, selectors.EVENT_READ, None)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.error = None

    def later(self, delay, fn):
        self.timer_n += 1
        heapq.heappush(self.timers, (time.monotonic() + delay, self.timer_n, fn))

    def _run(self):
        try:
            while True:
                timeout = None
                if self.timers:
                    timeout = max(0.0, self.timers[0][0] - time.monotonic())
                for key, mask in self.sel.select(timeout):
                    if key.data is None:
                        return
                    key.data(key.fileobj, mask)
                now = time.monotonic()
                while self.timers and self.timers[0][0] <= now:
                    _, _, fn = heapq.heappop(self.timers)
                    fn()
        except Exception as e:  # surfaced by stop()
            self.error = e

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        if self.thread.is_alive():
            os.write(self.stop_w, b"x")
            self.thread.join(10)
        self._close_all()
        os.close(self.stop_r)
        os.close(self.stop_w)
        if self.error is not None:
            raise RuntimeError("faultproxy thread failed: %r" % (self.error,))

    def _close_all(self):
        pass

    def __enter__(self):
        return self.start()

    def __exit__(self, *a):
        self.stop()


class UdpFaultProxy(_Loop):
    """UDP proxy with loss, duplication, reordering and delay in both directions."""

    def __init__(self, upstream, loss=0.0, dup=0.0, reorder=0.0, delay=0.0, delay_max=0.2,
                 reorder_max=0.03, seed=1, listen_host="127.0.0.1", up=None, down=None):
        _check_loopback(upstream)
        _check_loopback((listen_host,))
        super().__init__(seed)
        self.upstream = upstream
        self.p = dict(loss=loss, dup=dup, reorder=reorder, delay=delay)
        # Per direction, overriding the shared probabilities: up=dict(loss=1.0) etc.
        self.dir_p = {"up": dict(self.p, **(up or {})), "down": dict(self.p, **(down or {}))}
        self.delay_max = delay_max
        self.reorder_max = reorder_max
        self.front = socket.socket(_family((listen_host,)), socket.SOCK_DGRAM)
        self.front.bind((listen_host, 0))
        self.front.setblocking(False)
        self.addr = self.front.getsockname()[:2]
        self.backs = {}  # client addr -> upstream socket
        self.stats = {d + "_" + k: 0 for d in ("up", "down")
                      for k in ("in", "out", "lost", "duplicated", "reordered", "delayed")}
        self.stats["clients"] = 0
        self.sel.register(self.front, selectors.EVENT_READ, self._from_client)

    def _fault(self, direction, data, send):
        """Apply the faults to one datagram; send(data) delivers a copy."""
        s = self.stats
        s[direction + "_in"] += 1
        r = self.rng
        p = self.dir_p[direction]
        if r.random() < p["loss"]:
            s[direction + "_lost"] += 1
            return
        copies = 1
        if r.random() < p["dup"]:
            s[direction + "_duplicated"] += 1
            copies = 2
        for i in range(copies):
            hold = 0.0
            if r.random() < p["reorder"]:
                s[direction + "_reordered"] += 1
                hold = r.uniform(0.001, self.reorder_max)
            elif r.random() < p["delay"]:
                s[direction + "_delayed"] += 1
                hold = r.uniform(0.0, self.delay_max)
            elif i == 1:
                hold = r.uniform(0.0, 0.005)  # the duplicate follows closely

            def deliver(data=data):
                s[direction + "_out"] += 1
                send(data)
            if hold > 0:
                self.later(hold, deliver)
            else:
                deliver()

    def _from_client(self, sock, mask):
        while True:
            try:
                data, caddr = sock.recvfrom(65536)
            except (BlockingIOError, InterruptedError):
                return
            except ConnectionRefusedError:
                continue
            back = self.backs.get(caddr)
            if back is None:
                back = socket.socket(_family(self.upstream), socket.SOCK_DGRAM)
                back.connect(self.upstream)
                back.setblocking(False)
                self.backs[caddr] = back
                self.stats["clients"] += 1
                self.sel.register(back, selectors.EVENT_READ,
                                  lambda s, m, caddr=caddr: self._from_server(s, caddr))
            self._fault("up", data, lambda d, back=back: self._send(back.send, d))

    def _from_server(self, sock, caddr):
        while True:
            try:
                data = sock.recv(65536)
            except (BlockingIOError, InterruptedError):
                return
            except ConnectionRefusedError:  # upstream gone: the client sees silence
                continue
            self._fault("down", data,
                        lambda d, caddr=caddr: self._send(lambda b: self.front.sendto(b, caddr), d))

    @staticmethod
    def _send(fn, data):
        try:
            fn(data)
        except OSError:
            pass  # a full buffer or a vanished peer is loss too

    def _close_all(self):
        for b in self.backs.values():
            b.close()
        self.front.close()


class TcpResetProxy(_Loop):
    """Stream proxy that resets each connection after a random number of bytes.

    upstream: (host, port) for TCP or a path for a Unix socket; the proxy
    itself listens on TCP loopback (listen_unix=PATH: on a Unix socket).
    min_bytes..max_bytes: the budget per direction, uniform (max_bytes_down
    for rpxd's direction, when given); reset_prob: the
    chance that a connection gets budgets at all (else it is passed intact).
    """

    def __init__(self, upstream, min_bytes=1, max_bytes=2000, reset_prob=1.0, seed=1,
                 listen_host="127.0.0.1", listen_unix=None, max_bytes_down=None):
        _check_loopback(upstream)
        super().__init__(seed)
        self.upstream = upstream
        self.min_bytes, self.max_bytes, self.reset_prob = min_bytes, max_bytes, reset_prob
        self.max_bytes_down = max_bytes if max_bytes_down is None else max_bytes_down
        if listen_unix is not None:
            self.lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.lsock.bind(listen_unix)
            self.addr = listen_unix
        else:
            _check_loopback((listen_host,))
            self.lsock = socket.socket(_family((listen_host,)), socket.SOCK_STREAM)
            self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.lsock.bind((listen_host, 0))
            self.addr = self.lsock.getsockname()[:2]
        self.lsock.listen(128)
        self.lsock.setblocking(False)
        self.pairs = {}  # id -> pair
        self.stats = dict(connections=0, resets=0, resets_up=0, resets_down=0, bytes_up=0,
                          bytes_down=0, upstream_failed=0)
        self.sel.register(self.lsock, selectors.EVENT_READ, self._accept)

    def _accept(self, sock, mask):
        try:
            c, _ = sock.accept()
        except (BlockingIOError, InterruptedError):
            return
        s = socket.socket(_family(self.upstream), socket.SOCK_STREAM)
        try:
            s.connect(self.upstream)
        except OSError:
            # Upstream down: the client sees its connection reset.
            self.stats["upstream_failed"] += 1
            s.close()
            reset_close(c)
            return
        c.setblocking(False)
        s.setblocking(False)
        if s.family != socket.AF_UNIX:
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if c.family != socket.AF_UNIX:
            c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.stats["connections"] += 1
        if self.rng.random() < self.reset_prob:
            budget = {"up": self.rng.randint(self.min_bytes, self.max_bytes),
                      "down": self.rng.randint(self.min_bytes, self.max_bytes_down)}
        else:
            budget = {"up": None, "down": None}
        pair = {"c": c, "s": s, "budget": budget, "open": True}
        pair["id"] = id(pair)
        self.pairs[pair["id"]] = pair
        self.sel.register(c, selectors.EVENT_READ, lambda so, m, p=pair: self._pump(p, "up"))
        self.sel.register(s, selectors.EVENT_READ, lambda so, m, p=pair: self._pump(p, "down"))

    def _close_pair(self, pair, reset):
        if not pair["open"]:
            return
        pair["open"] = False
        for k in ("c", "s"):
            try:
                self.sel.unregister(pair[k])
            except (KeyError, ValueError):
                pass
            if reset:
                reset_close(pair[k])
            else:
                try:
                    pair[k].close()
                except OSError:
                    pass
        self.pairs.pop(pair["id"], None)

    def _pump(self, pair, direction):
        if not pair["open"]:
            return
        src, dst = (pair["c"], pair["s"]) if direction == "up" else (pair["s"], pair["c"])
        try:
            data = src.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = None
        if not data:
            # A clean close (or reset) by one side: pass a reset on, the connection is over.
            self._close_pair(pair, reset=data is None)
            return
        budget = pair["budget"][direction]
        cut = False
        if budget is not None and len(data) >= budget:
            data, cut = data[:budget], True
        if budget is not None:
            pair["budget"][direction] = budget - len(data)
        self.stats["bytes_" + direction] += len(data)
        try:
            dst.setblocking(True)
            dst.settimeout(5)
            dst.sendall(data)
            dst.setblocking(False)
        except OSError:
            self._close_pair(pair, reset=True)
            return
        if cut:
            self.stats["resets"] += 1
            self.stats["resets_" + direction] += 1
            self._close_pair(pair, reset=True)

    def _close_all(self):
        for pair in list(self.pairs.values()):
            self._close_pair(pair, reset=False)
        self.lsock.close()


if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] not in ("udp", "tcp"):
        sys.stderr.write(__doc__)
        sys.exit(2)
    up = ("127.0.0.1", int(sys.argv[2]))
    if sys.argv[1] == "udp":
        probs = [float(x) for x in sys.argv[3:7]] + [0.0] * (4 - len(sys.argv[3:7]))
        proxy = UdpFaultProxy(up, *probs)
    else:
        proxy = TcpResetProxy(up)
    with proxy:
        print("listening %s %s:%d" % (sys.argv[1], proxy.addr[0], proxy.addr[1]), flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
    print(proxy.stats)
