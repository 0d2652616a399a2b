"""rpxd accepts AUTH_NONE and well-formed AUTH_SYS credentials, and denies other flavors, AUTH_NONE with a body and malformed AUTH_SYS (bad lengths, 17 gids, trailing bytes) with AUTH_BADCRED, and verifiers other than an empty AUTH_NONE with AUTH_BADVERF.

Usage: test_auth.py tcp|udp|unix [case...]
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rpxtest import *  # noqa: E402,F401,F403


def case_auth_sys_accepted(transport):
    """AUTH_SYS in several well-formed shapes: NULL, NOW and FORMAT succeed."""
    bodies = [
        auth_sys_body(),
        auth_sys_body(stamp=0, machine="", uid=0, gid=0, gids=()),
        auth_sys_body(machine="m" * 255, gids=tuple(range(16))),
        auth_sys_body(machine="abc", uid=0xFFFFFFFE, gid=0xFFFFFFFE, gids=(5,)),
    ]
    with Rpxd() as d, Client(d, transport) as c:
        for i, body in enumerate(bodies):
            cred = (AUTH_SYS, body)
            xid = new_xid()
            eq(expect_success(c.call(DATE_NULL, xid=xid, cred=cred), xid, "NULL AUTH_SYS #%d" % i),
               b"", "NULL results")
            xid = new_xid()
            r = decode_now(expect_success(c.call(DATE_NOW, xid=xid, cred=cred), xid,
                                          "NOW AUTH_SYS #%d" % i))
            check_now_res(r, "NOW AUTH_SYS", now=time.time())
            xid = new_xid()
            err, val = decode_format(expect_success(
                c.call(DATE_FORMAT, format_args(86400, 5, True), xid=xid, cred=cred), xid,
                "FORMAT AUTH_SYS #%d" % i))
            eq(err, 0, "FORMAT AUTH_SYS error")
            eq((val["seconds"], val["nanoseconds"]), (86400, 5), "FORMAT AUTH_SYS instant")


def case_unknown_flavors_badcred(transport):
    """Credential flavors 2, 3, 6, 7 and unknown ones -> MSG_DENIED AUTH_ERROR AUTH_BADCRED.

    AUTH_TLS (7) is accepted only as the RFC 9289 probe: an empty body on the NULL
    procedure (answered as an ordinary NULL here, where TLS is not configured; the
    test_tls_* scripts cover it); on any other procedure, or with a body, it is refused."""
    with Rpxd() as d, Client(d, transport) as c:
        xid = new_xid()
        r = c.call(DATE_NULL, xid=xid, cred=(AUTH_TLS, b""))
        expect_success(r, xid, what="AUTH_TLS probe without TLS configured")
        for flavor, body, procs in ((AUTH_DH, b"\0" * 16, (DATE_NULL, DATE_NOW)),
                                    (RPCSEC_GSS, x_uint(1) + x_uint(0) * 4, (DATE_NULL, DATE_NOW)),
                                    (AUTH_TLS, b"", (DATE_NOW,)),
                                    (AUTH_TLS, b"\0" * 8, (DATE_NULL, DATE_NOW)),
                                    (AUTH_SHORT, b"\0" * 8, (DATE_NULL, DATE_NOW)),
                                    (3, b"", (DATE_NULL, DATE_NOW)),
                                    (0x12345, b"x" * 12, (DATE_NULL, DATE_NOW)),
                                    (0xFFFFFFFF, b"", (DATE_NULL, DATE_NOW))):
            for proc in procs:
                xid = new_xid()
                r = c.call(proc, xid=xid, cred=(flavor, body))
                expect_denied(r, xid, AUTH_ERROR, auth_stat=AUTH_BADCRED,
                              what="cred flavor %d proc %d" % (flavor, proc))
        c.null()
        assert_serves(d, transport)


def case_malformed_auth_sys_badcred(transport):
    """AUTH_SYS bodies that do not decode as authsys_parms -> AUTH_BADCRED."""
    good = auth_sys_body()
    bodies = [
        ("empty body", b""),
        ("stamp only", x_uint(1)),
        ("truncated before gids", good[:-12]),
        ("machinename of 256 bytes", auth_sys_body(machine="m" * 256)),
        ("17 gids", auth_sys_body(gids=tuple(range(17)))),
        ("machinename length past the body", x_uint(1) + x_uint(200) + b"abcd"),
        ("gid count past the body", x_uint(1) + x_string("h") + x_uint(0) + x_uint(0)
         + x_uint(3) + x_uint(1)),
        ("4 bytes after authsys_parms", good + x_uint(0)),
        ("400 bytes: 16 gids and 324 bytes after", auth_sys_body(gids=tuple(range(16)))
         + b"\0" * (400 - len(auth_sys_body(gids=tuple(range(16)))))),
    ]
    with Rpxd() as d, Client(d, transport) as c:
        for what, body in bodies:
            xid = new_xid()
            r = c.call(DATE_NOW, xid=xid, cred=(AUTH_SYS, body))
            expect_denied(r, xid, AUTH_ERROR, auth_stat=AUTH_BADCRED, what="AUTH_SYS " + what)
        c.null()
        assert_serves(d, transport)


def case_auth_none_with_body_badcred(transport):
    """An AUTH_NONE credential with a non-empty body -> AUTH_BADCRED."""
    with Rpxd() as d, Client(d, transport) as c:
        for body in (b"\0\0\0\0", b"x", b"y" * 400):
            xid = new_xid()
            r = c.call(DATE_NULL, xid=xid, cred=(AUTH_NONE, body))
            expect_denied(r, xid, AUTH_ERROR, auth_stat=AUTH_BADCRED,
                          what="AUTH_NONE cred with %d body bytes" % len(body))
        c.null()


def case_bad_verifier_badverf(transport):
    """A verifier flavor other than AUTH_NONE, or an AUTH_NONE verifier with a body,
    -> AUTH_BADVERF (with NONE or SYS credentials)."""
    with Rpxd() as d, Client(d, transport) as c:
        for cred in (AUTH_NONE_AUTH, (AUTH_SYS, auth_sys_body())):
            for verf in ((AUTH_SYS, auth_sys_body()), (AUTH_SHORT, b"\0" * 8),
                         (AUTH_DH, b"\0" * 12), (RPCSEC_GSS, b""), (0x777, b"zz"),
                         (AUTH_NONE, b"\0\0\0\0"), (AUTH_NONE, b"v" * 400)):
                xid = new_xid()
                r = c.call(DATE_NOW, xid=xid, cred=cred, verf=verf)
                expect_denied(r, xid, AUTH_ERROR, auth_stat=AUTH_BADVERF,
                              what="cred %d verf %d" % (cred[0], verf[0]))
        c.null()
        assert_serves(d, transport)


if __name__ == "__main__":
    main([case_auth_sys_accepted, case_unknown_flavors_badcred, case_malformed_auth_sys_badcred,
          case_auth_none_with_body_badcred, case_bad_verifier_badverf])
