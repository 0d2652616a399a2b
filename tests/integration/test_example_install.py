#!/usr/bin/env python3
"""An installed librpx works for a user: cmake --install into a temporary prefix, then examples/date_now.c built via pkg-config (shared and static) and via find_package(rpx) runs against a real rpxd.

Also checks that DESTDIR installs land under DESTDIR. The build tree is
$RPX_BUILD_DIR, else the directory two levels above $RPX_EXAMPLE
(BUILD/examples/date_now). Needs cmake, pkg-config and a C compiler ($CC or
cc); exits 77 (skip) when one is missing.
Environment: RPXD, RPX_EXAMPLE, optionally RPX_BUILD_DIR, CC, CMAKE.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clitest import *  # noqa: E402,F401,F403  (rpxd harness, run/expect helpers)
import glob

SOURCE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLE_C = os.path.join(SOURCE, "examples", "date_now.c")
LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d) \S+ \(")


def tool(name, env=None):
    path = shutil.which(os.environ.get(env, name) if env else name)
    if path is None:
        sys.stderr.write("SKIP: %s not found\n" % name)
        sys.exit(SKIP)
    return path


def sh(argv, env=None, timeout=300):
    st, out, err, _ = run(argv, env=env, timeout=timeout)
    if st != 0:
        fail("%s: exit %d\n%s%s" % (" ".join(argv), st, out, err))
    return out


def main():
    example = binary("RPX_EXAMPLE")
    rpxd = binary("RPXD")
    cmake, cc, pkgconfig = tool("cmake", "CMAKE"), tool("cc", "CC"), tool("pkg-config")
    build = os.environ.get("RPX_BUILD_DIR") or \
        os.path.dirname(os.path.dirname(os.path.abspath(example)))
    if not os.path.exists(os.path.join(build, "CMakeCache.txt")):
        fail("%s is not a CMake build tree (set RPX_BUILD_DIR)" % build)

    tmp = tempfile.mkdtemp(prefix="rpx-install-")
    d = None
    try:
        prefix = os.path.join(tmp, "prefix")
        sh([cmake, "--install", build, "--prefix", prefix])
        for rel in ("include/rpx/client.h", "include/rpx/date.h"):
            if not os.path.exists(os.path.join(prefix, rel)):
                fail("not installed: %s" % rel)
        pcs = glob.glob(os.path.join(prefix, "**", "pkgconfig", "librpx.pc"), recursive=True)
        if len(pcs) != 1:
            fail("expected one installed librpx.pc, found %r" % pcs)
        libdir = os.path.dirname(os.path.dirname(pcs[0]))
        for name in ("librpx.so", "librpx.a", "cmake/rpx/rpxConfig.cmake"):
            if not os.path.exists(os.path.join(libdir, name)):
                fail("not installed: %s/%s" % (libdir, name))
        soname = sh(["objdump", "-p", os.path.join(libdir, "librpx.so")]) \
            if shutil.which("objdump") else "SONAME librpx.so.0"
        if not re.search(r"SONAME\s+librpx\.so\.\d+", soname):
            fail("librpx.so has no SONAME")

        # pkg-config, as a user would: cc date_now.c $(pkg-config --cflags --libs librpx)
        pcenv = {"PKG_CONFIG_PATH": os.path.dirname(pcs[0])}
        cflags = sh([pkgconfig, "--cflags", "librpx"], env=pcenv).split()
        libs = sh([pkgconfig, "--libs", "librpx"], env=pcenv).split()
        incdirs = [os.path.normpath(f[2:]) for f in cflags if f.startswith("-I")]
        if os.path.join(prefix, "include") not in incdirs:
            fail("pkg-config --cflags librpx lacks the prefix include dir: %r" % cflags)
        if not any("tirpc" in f for f in cflags):
            fail("pkg-config --cflags librpx lacks libtirpc's include dir: %r" % cflags)
        exe_pc = os.path.join(tmp, "date_now_pc")
        # A library built with sanitizers needs its users built with them too.
        extra = os.environ.get("RPX_USER_CFLAGS", "").split()
        sh([cc, "-Wall", "-Wextra", "-Werror", "-o", exe_pc, EXAMPLE_C] + extra + cflags + libs)
        # Static: librpx.a plus what it needs (libtirpc).
        exe_static = os.path.join(tmp, "date_now_static")
        # What librpx.a needs, as `pkg-config --static` tells (libtirpc, libevent, OpenSSL).
        static_libs = [f for f in sh([pkgconfig, "--static", "--libs", "librpx"], env=pcenv).split()
                       if f != "-lrpx" and not f.startswith("-L")]
        sh([cc, "-Wall", "-Wextra", "-Werror", "-o", exe_static, EXAMPLE_C] + extra + cflags +
           [os.path.join(libdir, "librpx.a")] + static_libs)

        # find_package(rpx) in a tiny CMake project.
        proj = os.path.join(tmp, "proj")
        os.mkdir(proj)
        shutil.copy(EXAMPLE_C, proj)
        with open(os.path.join(proj, "CMakeLists.txt"), "w") as f:
            f.write("cmake_minimum_required(VERSION 3.20)\n"
                    "project(rpx_user C)\n"
                    "find_package(rpx 0 REQUIRED)\n"
                    "add_executable(date_now date_now.c)\n"
                    "target_compile_options(date_now PRIVATE -Wall -Wextra -Werror)\n"
                    "target_link_libraries(date_now PRIVATE rpx::rpx)\n")
        pbuild = os.path.join(tmp, "proj-build")
        sh([cmake, "-S", proj, "-B", pbuild, "-DCMAKE_PREFIX_PATH=" + prefix,
            "-DCMAKE_C_COMPILER=" + cc, "-DCMAKE_C_FLAGS=" + " ".join(extra),
            "-DCMAKE_EXE_LINKER_FLAGS=" + " ".join(extra)])
        sh([cmake, "--build", pbuild])
        exe_cmake = os.path.join(pbuild, "date_now")

        # DESTDIR: everything lands below it.
        dest = os.path.join(tmp, "dest")
        sh([cmake, "--install", build, "--prefix", "/usr/local"], env={"DESTDIR": dest})
        if not glob.glob(os.path.join(dest, "usr", "local", "include", "rpx", "client.h")):
            fail("DESTDIR install: no usr/local/include/rpx/client.h under %s" % dest)

        d = Rpxd(rpxd)
        runenv = {"LD_LIBRARY_PATH": libdir}
        for exe, env in ((exe_pc, runenv), (exe_static, None), (exe_cmake, None)):
            for t in ("tcp", "unix"):
                out = expect_ok([exe, d.urls[t]], env=env)
                if not LINE.match(out):
                    fail("%s %s: unexpected output %r" % (exe, d.urls[t], out))
    finally:
        if d is not None:
            d.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    print("ok")


if __name__ == "__main__":
    main()
