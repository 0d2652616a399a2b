"""Test hosts in network namespaces, for scenarios that need several machines.

Hosts(n) builds, on one machine:

    client namespace rpxt-PID-c      198.18.0.254/24   (rpx, rpcinfo run here)
    bridge namespace rpxt-PID-br     bridge br0, one port per host: pc, p1 .. pN
    host i namespace rpxt-PID-i      198.18.0.i/24 on eth0

Each host is a network namespace plus, inside it, its own mount, UTS and PID
namespaces (a small init as PID 1): a private tmpfs on /run (where rpcbind and
rpxd's Unix socket live, as on a real machine), /proc of its own (ps --all
shows that host's processes only), and the host name rpxt-h<i>, also written
to /run/rpxt-host. rpcbind and rpxd are started in it with nsenter.

Only addresses of 198.18.0.0/15 are used, and only inside namespaces made
here: the root namespace gets no interface, route or address. Neighbour
entries are permanent, so that a host whose link is down loses packets (the
caller waits out its deadline) instead of failing fast on ARP.

Teardown kills every process started (by PID; killing a host's init ends its
whole PID namespace) and deletes the namespaces: in a finally block, at exit,
and on SIGTERM/SIGINT/SIGHUP/SIGALRM. Each scenario arms an alarm below its
ctest TIMEOUT; namespaces left by a run that was killed outright (SIGKILL)
are found by their dead PID and removed by the next run.

Needs root, `ip netns`, unshare and nsenter (util-linux); without them
require() exits 77 (skip) with the reason.
"""
import atexit
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time

SKIP = 77
PREFIX = "rpxt-"
NET = "198.18.0."  # RFC 2544 benchmarking range: never routed anywhere
CLIENT_ADDR = NET + "254"
TMP_PREFIX = "rpx-multihost-"  # + PID: a run's files under the temporary directory
RPX_PORT = 7077
DATE_PROG = 0x20007701
PROC_PROG = 0x20007702

INIT = r"""
import os, signal, socket, subprocess, sys, time
name = sys.argv[1]
subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=0755", "rpxt-run", "/run"], check=True)
socket.sethostname(name)
with open("/run/rpxt-host", "w") as f:
    f.write(name + "\n")
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
print("ready", flush=True)
while True:  # PID 1: reap whatever ends up here
    try:
        os.wait()
    except ChildProcessError:
        time.sleep(0.2)
"""


def log(msg):
    sys.stderr.write("multihost: %s\n" % msg)
    sys.stderr.flush()


def fail(msg):
    sys.stderr.write("FAIL: %s\n" % msg)
    sys.stderr.flush()
    sys.exit(1)


def skip(msg):
    sys.stderr.write("SKIP: %s\n" % msg)
    sys.stderr.flush()
    sys.exit(SKIP)


def binary(var):
    path = os.environ.get(var)
    if not path or not os.access(path, os.X_OK):
        skip("$%s is not an executable (%r)" % (var, path))
    return path


def _run(cmd, check=True, timeout=10):
    r = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=timeout)
    if check and r.returncode != 0:
        raise RuntimeError("%s: exit %d: %s" % (" ".join(cmd), r.returncode,
                                                r.stderr.decode(errors="replace").strip()))
    return r


def require(*tools):
    """Exit 77 unless we are root and namespaces and the named tools work here."""
    if os.geteuid() != 0:
        skip("multi-host tests need root (network, mount and PID namespaces)")
    for tool in ("ip", "unshare", "nsenter", "mount") + tools:
        if shutil.which(tool) is None:
            skip("%s is not installed%s" % (tool, {
                "rpcbind": " (Debian package rpcbind)",
                "rpcinfo": " (Debian package rpcbind)",
                "nsenter": " (Debian package util-linux)",
                "unshare": " (Debian package util-linux)",
                "ip": " (Debian package iproute2)"}.get(tool, "")))
    try:
        r = _run(["ip", "netns", "list"], check=False, timeout=5)
    except (OSError, subprocess.TimeoutExpired) as e:
        skip("ip netns is not usable: %s" % e)
    if r.returncode != 0:
        skip("ip netns is not usable: %s" % r.stderr.decode(errors="replace").strip())
    probe = PREFIX + "%d-probe" % os.getpid()
    r = _run(["ip", "netns", "add", probe], check=False)
    if r.returncode != 0:
        skip("cannot create a network namespace: %s" % r.stderr.decode(errors="replace").strip())
    _run(["ip", "netns", "del", probe], check=False)


def children(pid):
    """PIDs whose parent is @pid (from /proc, so no CONFIG_PROC_CHILDREN needed)."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2:].split()
        if int(fields[1]) == pid:
            out.append(int(entry))
    return out


def _kill(pid, sig=signal.SIGKILL):
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, TypeError):
        pass


def remove_stale():
    """Namespaces of earlier runs whose process is gone: kill what is inside, delete them."""
    r = _run(["ip", "netns", "list"], check=False)
    for line in r.stdout.decode().splitlines():
        name = line.split()[0] if line.split() else ""
        m = re.match(re.escape(PREFIX) + r"(\d+)-", name)
        if not m or os.path.exists("/proc/%s" % m.group(1)):
            continue
        log("removing stale namespace %s" % name)
        pids = _run(["ip", "netns", "pids", name], check=False).stdout.split()
        for p in pids:
            _kill(int(p))
        _run(["ip", "netns", "del", name], check=False)
    tmp = tempfile.gettempdir()
    for entry in os.listdir(tmp):
        m = re.match(re.escape(TMP_PREFIX) + r"(\d+)-", entry)
        if m and not os.path.exists("/proc/%s" % m.group(1)):
            shutil.rmtree(os.path.join(tmp, entry), ignore_errors=True)


class Proc:
    """A process started in a host with nsenter: .popen is nsenter, .pid the process itself."""

    def __init__(self, popen, what):
        self.popen = popen
        self.what = what
        self.pid = None
        deadline = time.monotonic() + 5
        while self.pid is None and time.monotonic() < deadline:
            kids = children(popen.pid)
            if kids:
                self.pid = kids[0]
            elif popen.poll() is not None:
                break
            else:
                time.sleep(0.01)

    def kill(self, sig=signal.SIGKILL):
        _kill(self.pid, sig)

    def wait(self, timeout):
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            return None


class Host:
    def __init__(self, hosts, index):
        self.hosts = hosts
        self.index = index
        self.name = "rpxt-h%d" % index
        self.ns = "%s%d-%d" % (PREFIX, hosts.pid, index)
        self.addr = NET + str(index)
        self.mac = "02:00:c6:12:00:%02x" % index
        self.port = "p%d" % index  # its port on the bridge
        self.dir = os.path.join(hosts.tmp, self.name)
        self.init = None  # unshare, whose child is the host's PID 1
        self.init_pid = None
        self.procs = []
        self.rpxd = None
        self.rpcbind = None
        self.rpxd_lines = []
        self.rpx_port = RPX_PORT  # where its rpxd listens (start_rpxd(port=...))
        os.makedirs(os.path.join(self.dir, "state"))

    def __repr__(self):
        return self.name

    def url(self, scheme="tcp", port=None):
        return "%s://%s:%d" % (scheme, self.addr, port or self.rpx_port)

    def boot(self):
        self.init = subprocess.Popen(
            ["ip", "netns", "exec", self.ns, "unshare", "--mount", "--uts", "--pid", "--fork",
             "--kill-child=SIGKILL", "--mount-proc", "--propagation", "private",
             sys.executable, self.hosts.init_script, self.name],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE)
        self.hosts.pids.append(self.init.pid)
        line = _readline(self.init.stdout, 10)
        if line != "ready":
            raise RuntimeError("%s: init did not start (%r)" % (self.name, line))
        kids = children(self.init.pid)
        if not kids:
            raise RuntimeError("%s: no init process under unshare %d" % (self.name, self.init.pid))
        self.init_pid = kids[0]

    def path(self, p):
        """@p (absolute, inside the host) as seen from the root namespace."""
        return "/proc/%d/root%s" % (self.init_pid, p)

    def nsenter(self, cmd):
        return ["nsenter", "-t", str(self.init_pid), "-n", "-m", "-u", "-p", "--"] + list(cmd)

    def start(self, cmd, what, stdout=None, stderr=None, env=None):
        popen = subprocess.Popen(self.nsenter(cmd), stdin=subprocess.DEVNULL, stdout=stdout,
                                 stderr=stderr, env=env)
        self.hosts.pids.append(popen.pid)
        proc = Proc(popen, what)
        self.procs.append(proc)
        return proc

    def exec(self, cmd, timeout=10):
        """Runs @cmd in the host; CompletedProcess with text output."""
        return subprocess.run(self.nsenter(cmd), stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, timeout=timeout)

    def sleeping(self):
        """PIDs of the host's processes named sleep (the tests' jobs)."""
        return self.exec(["pgrep", "-x", "sleep"]).stdout.split()

    def start_rpcbind(self, stop=False):
        """rpcbind -f in the host, waiting for its Unix socket; @stop: SIGSTOP it (hung)."""
        err = open(os.path.join(self.dir, "rpcbind.log"), "ab")
        self.rpcbind = self.start(["rpcbind", "-f"], "rpcbind", stdout=err, stderr=err)
        deadline = time.monotonic() + 10
        while not os.path.exists(self.path("/run/rpcbind.sock")):
            if time.monotonic() > deadline or self.rpcbind.popen.poll() is not None:
                raise RuntimeError("%s: rpcbind did not start (see %s/rpcbind.log)"
                                   % (self.name, self.dir))
            time.sleep(0.02)
        # it binds its TCP and UDP ports before the Unix socket, but be sure
        while _run(["ip", "netns", "exec", self.ns, "rpcinfo", "-p", "127.0.0.1"],
                   check=False).returncode != 0:
            if time.monotonic() > deadline:
                raise RuntimeError("%s: rpcbind does not answer" % self.name)
            time.sleep(0.05)
        if stop:
            self.rpcbind.kill(signal.SIGSTOP)

    def start_rpxd(self, extra=(), register=None, tz=None, timeout=10, port=RPX_PORT):
        """rpxd on tcp and udp 198.18.0.i:PORT and unix:/run/rpx/rpxd.sock; waits for ready."""
        self.rpx_port = port
        args = [self.hosts.rpxd, "--listen", self.url("tcp"), "--listen", self.url("udp"),
                "--listen", "unix:/run/rpx/rpxd.sock", "--daytime", "off",
                "--state-dir", os.path.join(self.dir, "state"), "--insecure"]
        if register is None:
            register = self.hosts.can_register
        if register:
            args.append("--register")
        env = dict(os.environ)
        if tz is not None:
            env["TZ"] = tz
        self.rpxd_log = os.path.join(self.dir, "rpxd.log")
        err = open(self.rpxd_log, "ab")
        self.rpxd = self.start(args + list(extra), "rpxd", stdout=subprocess.PIPE, stderr=err,
                               env=env)
        self.rpxd_lines = []
        deadline = time.monotonic() + timeout
        while True:
            line = _readline(self.rpxd.popen.stdout, deadline - time.monotonic())
            if line is None:
                raise RuntimeError("%s: rpxd did not print ready; its log:\n%s"
                                   % (self.name, self.log_text()))
            if line == "ready":
                break
            self.rpxd_lines.append(line)

    def stop_rpxd(self, timeout=10):
        """SIGTERM (a clean exit: unregisters); its exit status, or None if it had to be killed."""
        if self.rpxd is None:
            return None
        self.rpxd.kill(signal.SIGTERM)
        rc = self.rpxd.wait(timeout)
        if rc is None:
            self.rpxd.kill()
            self.rpxd.wait(5)
        self.rpxd = None
        return rc

    def log_text(self):
        try:
            with open(self.rpxd_log, errors="replace") as f:
                return f.read()
        except (OSError, AttributeError):
            return ""

    def link(self, up):
        """Sets this host's bridge port up or down (its cable, as seen from the switch)."""
        self.hosts.ip_br(["link", "set", self.port, "up" if up else "down"])


def attribute(text, hosts, name=lambda h: h.url()):
    """({host: [lines]}, [unattributed lines]) of fan-out output, by the "NAME: " prefixes."""
    per_host = {h: [] for h in hosts}
    other = []
    for line in text.splitlines():
        for h in hosts:
            if line.startswith(name(h) + ": "):
                per_host[h].append(line[len(name(h)) + 2:])
                break
        else:
            other.append(line)
    return per_host, other


def _readline(stream, timeout):
    """One line from a pipe within @timeout seconds; None on timeout or EOF."""
    fd = stream.fileno()
    buf = b""
    deadline = time.monotonic() + max(timeout, 0)
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        r, _, _ = select.select([fd], [], [], left)
        if not r:
            return None
        c = os.read(fd, 1)
        if not c:
            return None
        if c == b"\n":
            return buf.decode(errors="replace")
        buf += c


class Hosts:
    """N test hosts and a client namespace; use as a context manager."""

    _live = []

    def __init__(self, n, rpxd=None, rpx=None, budget=None, mesh=True):
        self.n = n
        self.mesh = mesh  # neighbour entries between hosts too (not only to the client)
        self.pid = os.getpid()
        self.rpxd = rpxd or binary("RPXD")
        self.rpx_bin = rpx or binary("RPX")
        self.tmp = tempfile.mkdtemp(prefix="%s%d-" % (TMP_PREFIX, self.pid))
        self.init_script = os.path.join(self.tmp, "rpxt-init.py")
        with open(self.init_script, "w") as f:
            f.write(INIT)
        self.pids = []
        self.namespaces = []
        self.br = "%s%d-br" % (PREFIX, self.pid)
        self.client_ns = "%s%d-c" % (PREFIX, self.pid)
        self.hosts = [Host(self, i) for i in range(1, n + 1)]
        self.can_register = "--register" in _run([self.rpxd, "--help"], check=False).stdout.decode()
        self.torn_down = False
        self.budget = budget

    # -- set-up -----------------------------------------------------------
    def __enter__(self):
        Hosts._live.append(self)
        _install_handlers()
        if self.budget:
            signal.alarm(int(self.budget))
        try:
            remove_stale()
            self._build()
        except BaseException:
            self.teardown()
            raise
        return self

    def __exit__(self, *exc):
        self.teardown()
        return False

    def ip_br(self, args):
        return _run(["ip", "-n", self.br] + args)

    def _addns(self, name):
        _run(["ip", "netns", "add", name])
        self.namespaces.append(name)
        _run(["ip", "-n", name, "link", "set", "lo", "up"])

    def _build(self):
        self._addns(self.br)
        self.ip_br(["link", "add", "br0", "type", "bridge"])
        self.ip_br(["link", "set", "br0", "up"])
        ends = [(self.client_ns, "pc", CLIENT_ADDR, "02:00:c6:12:00:fe")]
        ends += [(h.ns, h.port, h.addr, h.mac) for h in self.hosts]
        for ns, port, addr, mac in ends:
            self._addns(ns)
            self.ip_br(["link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", ns])
            self.ip_br(["link", "set", port, "master", "br0", "up"])
            _run(["ip", "-n", ns, "link", "set", "eth0", "address", mac])
            _run(["ip", "-n", ns, "addr", "add", addr + "/24", "dev", "eth0"])
            _run(["ip", "-n", ns, "link", "set", "eth0", "up"])
        for h in self.hosts:
            self._neigh(self.client_ns, h.addr, h.mac)
            self._neigh(h.ns, CLIENT_ADDR, "02:00:c6:12:00:fe")
            for other in self.hosts if self.mesh else ():
                if other is not h:
                    self._neigh(h.ns, other.addr, other.mac)
        for h in self.hosts:
            h.boot()

    def _neigh(self, ns, addr, mac):
        _run(["ip", "-n", ns, "neigh", "replace", addr, "lladdr", mac, "dev", "eth0",
              "nud", "permanent"])

    def start_all(self, rpcbind=True, **rpxd_args):
        for h in self.hosts:
            if rpcbind:
                h.start_rpcbind()
            h.start_rpxd(**rpxd_args)

    def wait_sleeping(self, timeout=5):
        """Waits until every host runs a sleep (its job started); fails after @timeout s."""
        deadline = time.monotonic() + timeout
        while any(not h.sleeping() for h in self.hosts):
            if time.monotonic() > deadline:
                fail("the jobs did not all start within %g s" % timeout)
            time.sleep(0.05)

    # -- the client side ----------------------------------------------------
    def client_cmd(self, cmd):
        return ["ip", "netns", "exec", self.client_ns] + list(cmd)

    def client(self, cmd, timeout=30, input=None):
        """Runs @cmd in the client namespace: (exit status, stdout, stderr, seconds)."""
        t0 = time.monotonic()
        r = subprocess.run(self.client_cmd(cmd), input=input, capture_output=True, text=True,
                           timeout=timeout, stdin=None if input is not None else subprocess.DEVNULL)
        return r.returncode, r.stdout, r.stderr, time.monotonic() - t0

    def rpx(self, host, args, timeout=30):
        """rpx -H tcp://HOST:7077 ARGS... for one host."""
        return self.client([self.rpx_bin, "-H", host.url()] + list(args), timeout=timeout)

    def rpx_each(self, args, hosts=None, timeout=30, args_for=None):
        """rpx ARGS on each host at once, one process per host: {host: (rc, out, err, secs)}."""
        hosts = hosts or self.hosts
        running = {}
        for h in hosts:
            a = args_for(h) if args_for else args
            t0 = time.monotonic()
            running[h] = (subprocess.Popen(self.client_cmd([self.rpx_bin, "-H", h.url()] + list(a)),
                                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                           stderr=subprocess.PIPE, text=True), t0)
            self.pids.append(running[h][0].pid)
        results = {}
        deadline = time.monotonic() + timeout
        for h, (p, t0) in running.items():
            try:
                out, err = p.communicate(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                p.kill()
                out, err = p.communicate()
                err += "\n(killed by the test after %d s)" % timeout
            results[h] = (p.returncode, out, err, time.monotonic() - t0)
        return results

    def fanout_supported(self, command):
        """True when `rpx COMMAND --help` shows a repeatable -H ("[-H URL]...")."""
        r = _run([self.rpx_bin, command, "--help"], check=False)
        usage = (r.stdout + r.stderr).decode(errors="replace").splitlines()
        return bool(usage) and "[-H URL]..." in usage[0]

    def rpx_fanout(self, args, hosts=None, timeout=30, bare=False):
        """One rpx with -H for every host: (rc, {host: [lines]}, unattributed lines, err, secs).

        Lines are attributed by their "URL: " prefix, as rpx prints with several hosts;
        @bare: -H gives the address only (no scheme, no port), and prefixes it.
        """
        hosts = hosts or self.hosts
        name = (lambda h: h.addr) if bare else (lambda h: h.url())
        cmd = [self.rpx_bin]
        for h in hosts:
            cmd += ["-H", name(h)]
        rc, out, err, secs = self.client(cmd + list(args), timeout=timeout)
        return (rc,) + attribute(out, hosts, name) + (err, secs)

    # -- teardown -------------------------------------------------------------
    def teardown(self):
        if self.torn_down:
            return
        self.torn_down = True
        signal.alarm(0)
        for h in self.hosts:
            for p in h.procs:
                p.kill()
            if h.init is not None:
                _kill(h.init_pid)  # PID 1 of the host: the kernel kills the rest
                _kill(h.init.pid)
        for pid in self.pids:
            _kill(pid)
        for pid in self.pids:
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
        for ns in reversed(self.namespaces):
            for p in _run(["ip", "netns", "pids", ns], check=False).stdout.split():
                _kill(int(p))
            r = _run(["ip", "netns", "del", ns], check=False)
            if r.returncode != 0:
                log("ip netns del %s: %s" % (ns, r.stderr.decode(errors="replace").strip()))
        shutil.rmtree(self.tmp, ignore_errors=True)
        if self in Hosts._live:
            Hosts._live.remove(self)


def _teardown_all():
    for h in list(Hosts._live):
        h.teardown()


def _on_signal(sig, frame):
    log("%s: tearing down" % signal.Signals(sig).name)
    _teardown_all()
    if sig == signal.SIGALRM:
        fail("the scenario ran out of its time budget")
    sys.exit(128 + sig)


_handlers_installed = False


def _install_handlers():
    global _handlers_installed
    if _handlers_installed:
        return
    _handlers_installed = True
    atexit.register(_teardown_all)
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGALRM):
        signal.signal(sig, _on_signal)


def shell(argv):
    """hosts.py N [COMMAND...]: N hosts with rpcbind and rpxd, COMMAND (default: a shell)
    run in the client namespace, then everything torn down."""
    n = int(argv[0]) if argv else 3
    require()
    with Hosts(n) as hs:
        hs.start_all(rpcbind=shutil.which("rpcbind") is not None)
        for h in hs.hosts:
            print("%s  namespace %s  %s  %s" % (h.name, h.ns, h.url(), h.url("udp")))
        print("client namespace %s (%s); enter a host with: nsenter -t PID -n -m -u -p"
              % (hs.client_ns, CLIENT_ADDR))
        for h in hs.hosts:
            print("  %s: PID %d" % (h.name, h.init_pid))
        env = dict(os.environ, RPX_HOST=hs.hosts[0].url(), PS1="rpxt-client# ",
                   RPX_TEST_HOSTS=" ".join(h.url() for h in hs.hosts))
        cmd = argv[1:] or [os.environ.get("SHELL", "/bin/sh")]
        sys.stdout.flush()
        rc = subprocess.call(hs.client_cmd(cmd), env=env)
    return rc


def main(scenario, n=5, tools=(), budget=100):
    """Runs scenario(hosts) with @n hosts, skipping (77) where it cannot run."""
    require(*tools)
    with Hosts(n, budget=budget) as hosts:
        scenario(hosts)
    print("ok")


if __name__ == "__main__":
    sys.exit(shell(sys.argv[1:]))
