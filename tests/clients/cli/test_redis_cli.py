"""redis-cli against the server under test, the ways people and scripts run it:
one-shot commands (raw output when piped, `--no-raw`, `-3`), a compose-style
`redis-cli -p P ping` healthcheck, streaming SUBSCRIBE/PSUBSCRIBE/SSUBSCRIBE with output
going to a file, `-a` auth, and the interactive prompt driven through a pseudo-terminal
(on start-up it sends COMMAND DOCS for its hints).

Standard library only. Prints `redis-cli: N passed, M failed` last; exits 1 on failure.
Environment (set by ../run.sh): CLIENTS_HOST, CLIENTS_PORT, CLIENTS_CTL.
"""

import fcntl
import os
import pty
import select
import signal
import struct
import subprocess
import sys
import tempfile
import termios
import time
import traceback

HOST = os.environ.get("CLIENTS_HOST", "127.0.0.1")
PORT = os.environ["CLIENTS_PORT"]
CTL = os.environ["CLIENTS_CTL"]
WAIT = 5.0
TESTS = []
ENV = dict(os.environ, REDISCLI_HISTFILE="/dev/null", REDISCLI_RCFILE="/dev/null")


def test(fn):
    TESTS.append(fn)
    return fn


def eq(got, want, what=""):
    if got != want:
        raise AssertionError(f"{what}: expected {want!r}, got {got!r}")


def ctl(*args):
    return subprocess.run([CTL, *args], check=True, capture_output=True, text=True, timeout=30).stdout.strip()


def cli(*args, port=None, check_rc=True):
    """One-shot redis-cli with stdout piped (so raw output, as in scripts)."""
    p = subprocess.run(["redis-cli", "-h", HOST, "-p", str(port or PORT), *args],
                       capture_output=True, timeout=WAIT * 2, env=ENV, stdin=subprocess.DEVNULL)
    if check_rc and p.returncode != 0:
        raise AssertionError(f"redis-cli {args} exited {p.returncode}: {p.stderr!r}")
    return p.stdout, p.stderr


def wait_file(path, want, what):
    """Bounded poll of a file a background redis-cli writes to, until it equals `want`."""
    deadline = time.monotonic() + WAIT
    data = b""
    while time.monotonic() < deadline:
        with open(path, "rb") as f:
            data = f.read()
        if data == want:
            return
        if len(data) > len(want) or not want.startswith(data):
            break
        time.sleep(0.02)
    raise AssertionError(f"{what}: expected output {want!r}, got {data!r}")


class Streaming:
    """`redis-cli ... SUBSCRIBE ...` in the background, stdout to a file, stopped by PID."""

    def __init__(self, *args):
        self.out = tempfile.NamedTemporaryFile(prefix="redis-cli-", suffix=".out", delete=False)
        self.proc = subprocess.Popen(["redis-cli", "-h", HOST, "-p", PORT, *args], stdout=self.out,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=ENV)

    def expect(self, want, what):
        wait_file(self.out.name, want, what)

    def close(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # what Ctrl-C does
            try:
                self.proc.wait(timeout=WAIT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=WAIT)
        self.out.close()
        os.unlink(self.out.name)


def numsub(channel):
    out, _ = cli("PUBSUB", "NUMSUB", channel)
    return int(out.split(b"\n")[1])


def wait_numsub(channel, n):
    deadline = time.monotonic() + WAIT
    while numsub(channel) != n:
        if time.monotonic() > deadline:
            raise AssertionError(f"NUMSUB {channel} never reached {n}")
        time.sleep(0.02)


@test
def healthcheck_ping():
    # docker compose: `test: ["CMD", "redis-cli", "-p", "6379", "ping"]`
    p = subprocess.run(["redis-cli", "-p", PORT, "ping"], capture_output=True, timeout=WAIT * 2, env=ENV)
    eq((p.returncode, p.stdout, p.stderr), (0, b"PONG\n", b""), "redis-cli -p P ping")


@test
def publish_and_numsub_raw():
    eq(cli("PUBLISH", "cli.nobody", "m")[0], b"0\n", "PUBLISH with no subscriber")
    eq(cli("PUBSUB", "NUMSUB", "cli.nobody", "cli.other")[0], b"cli.nobody\n0\ncli.other\n0\n", "PUBSUB NUMSUB")
    eq(cli("PUBSUB", "NUMPAT")[0].strip().isdigit(), True, "PUBSUB NUMPAT is an integer")


@test
def no_raw_and_resp3_formatting():
    eq(cli("--no-raw", "PUBLISH", "cli.nobody", "m")[0], b"(integer) 0\n", "--no-raw PUBLISH")
    eq(cli("--no-raw", "PUBSUB", "NUMSUB", "cli.x", "cli.y")[0],
       b'1) "cli.x"\n2) (integer) 0\n3) "cli.y"\n4) (integer) 0\n', "--no-raw PUBSUB NUMSUB")
    eq(cli("--no-raw", "PING")[0], b"PONG\n", "--no-raw PING")
    eq(cli("-3", "PING")[0], b"PONG\n", "-3 PING")
    eq(cli("-3", "--no-raw", "PUBSUB", "NUMSUB", "cli.x")[0], b'1) "cli.x"\n2) (integer) 0\n', "-3 --no-raw NUMSUB")
    out = cli("-3", "--no-raw", "HELLO", "3")[0]
    if b'"proto" => (integer) 3\n' not in out:
        raise AssertionError(f"-3 HELLO 3 map output lacks proto 3: {out!r}")


@test
def streaming_subscribe():
    s = Streaming("SUBSCRIBE", "cli.a", "cli.b")
    try:
        s.expect(b"subscribe\ncli.a\n1\nsubscribe\ncli.b\n2\n", "SUBSCRIBE confirmations")
        eq(cli("PUBLISH", "cli.b", "hello world")[0], b"1\n", "PUBLISH receivers")
        eq(cli("PUBLISH", "cli.a", "")[0], b"1\n", "PUBLISH empty")
        s.expect(b"subscribe\ncli.a\n1\nsubscribe\ncli.b\n2\nmessage\ncli.b\nhello world\nmessage\ncli.a\n\n",
                 "messages")
        eq(numsub("cli.a"), 1, "NUMSUB while streaming")
    finally:
        s.close()
    wait_numsub("cli.a", 0)


@test
def streaming_psubscribe_no_raw():
    s = Streaming("--no-raw", "PSUBSCRIBE", "cli.p.*", "cli.q.[a-c]?")
    try:
        head = (b'Reading messages... (press Ctrl-C to quit)\n'
                b'1) "psubscribe"\n2) "cli.p.*"\n3) (integer) 1\n'
                b'1) "psubscribe"\n2) "cli.q.[a-c]?"\n3) (integer) 2\n')
        s.expect(head, "PSUBSCRIBE confirmations")
        eq(cli("PUBLISH", "cli.q.bz", "m1")[0], b"1\n", "PUBLISH cli.q.bz")
        eq(cli("PUBLISH", "cli.q.dz", "no")[0], b"0\n", "PUBLISH cli.q.dz")
        eq(cli("PUBLISH", "cli.p.x:y", "m2")[0], b"1\n", "PUBLISH cli.p.x:y")
        s.expect(head + b'1) "pmessage"\n2) "cli.q.[a-c]?"\n3) "cli.q.bz"\n4) "m1"\n'
                 b'1) "pmessage"\n2) "cli.p.*"\n3) "cli.p.x:y"\n4) "m2"\n', "pmessages")
    finally:
        s.close()


@test
def streaming_ssubscribe():
    s = Streaming("SSUBSCRIBE", "cli.s")
    try:
        s.expect(b"ssubscribe\ncli.s\n1\n", "SSUBSCRIBE confirmation")
        eq(cli("SPUBLISH", "cli.s", "shard msg")[0], b"1\n", "SPUBLISH receivers")
        eq(cli("PUBSUB", "SHARDNUMSUB", "cli.s")[0], b"cli.s\n1\n", "PUBSUB SHARDNUMSUB")
        s.expect(b"ssubscribe\ncli.s\n1\nsmessage\ncli.s\nshard msg\n", "smessage")
    finally:
        s.close()


@test
def streaming_subscribe_resp3():
    s = Streaming("-3", "SUBSCRIBE", "cli.r3")
    try:
        s.expect(b"subscribe\ncli.r3\n1\n", "RESP3 SUBSCRIBE confirmation (push frame)")
        eq(cli("-3", "PUBLISH", "cli.r3", "three")[0], b"1\n", "PUBLISH")
        s.expect(b"subscribe\ncli.r3\n1\nmessage\ncli.r3\nthree\n", "RESP3 message (push frame)")
    finally:
        s.close()


@test
def password_auth():
    port = ctl("start", "cli-auth", "auto", "clipw")
    try:
        eq(cli("-a", "clipw", "--no-auth-warning", "PING", port=port)[0], b"PONG\n", "-a PING")
        eq(cli("-3", "-a", "clipw", "--no-auth-warning", "PING", port=port)[0], b"PONG\n", "-3 -a PING (HELLO 3 after AUTH)")
        out, err = cli("-a", "wrong", "--no-auth-warning", "PING", port=port, check_rc=False)
        if b"AUTH failed: WRONGPASS" not in err:
            raise AssertionError(f"wrong password: stderr {err!r}")
        eq(out.strip(), b"NOAUTH Authentication required.", "PING after failed AUTH")
        out, _ = cli("PUBLISH", "c", "m", port=port, check_rc=False)
        eq(out.strip(), b"NOAUTH Authentication required.", "PUBLISH without password")
    finally:
        ctl("stop", "cli-auth")


@test
def acl_user_and_pass():
    """redis-cli --user/--pass against an ACL user with channel permissions."""
    name = "cli-acl"
    cli("ACL", "SETUSER", name, "reset", "on", ">clipw2", "&cli.acl.*", "+@pubsub", "+ping", "+acl|whoami")
    try:
        as_user = ("--user", name, "--pass", "clipw2", "--no-auth-warning")
        eq(cli(*as_user, "ACL", "WHOAMI")[0], b"cli-acl\n", "--user/--pass ACL WHOAMI")
        eq(cli("-3", *as_user, "PING")[0], b"PONG\n", "-3 --user/--pass PING (HELLO 3 after AUTH)")
        eq(cli(*as_user, "PUBLISH", "cli.acl.x", "m")[0], b"0\n", "PUBLISH to an allowed channel")
        # respub follows Redis 7.2's text; the reference redis-server is 7.0.15.
        want = {
            "respub": b"NOPERM No permissions to access a channel",
            "redis": b"NOPERM this user has no permissions to access one of the channels used as arguments",
        }[os.environ.get("CLIENTS_SERVER", "respub")]
        out = cli(*as_user, "PUBLISH", "other", "m", check_rc=False)[0]
        eq(out.strip(), want, "PUBLISH to a denied channel")
        out, err = cli("--user", name, "--pass", "wrong", "--no-auth-warning", "PING", check_rc=False)
        if b"AUTH failed: WRONGPASS" not in err:
            raise AssertionError(f"wrong password: stderr {err!r}")
    finally:
        cli("ACL", "DELUSER", name)


class Pty:
    """redis-cli's interactive prompt on a pseudo-terminal, as a person would see it."""

    def __init__(self, *args):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.execvpe("redis-cli", ["redis-cli", "-h", HOST, "-p", PORT, *args], dict(ENV, TERM="xterm"))
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 200, 0, 0))
        self.buf = b""

    def read_until(self, want, what):
        deadline = time.monotonic() + WAIT
        while want not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{what}: {want!r} not seen; screen so far: {self.buf[-400:]!r}")
            r, _, _ = select.select([self.fd], [], [], left)
            if r:
                try:
                    chunk = os.read(self.fd, 4096)
                except OSError:
                    chunk = b""
                if not chunk:
                    raise AssertionError(f"{what}: redis-cli exited; screen: {self.buf[-400:]!r}")
                self.buf += chunk
        i = self.buf.index(want) + len(want)
        seen, self.buf = self.buf[:i], self.buf[i:]
        return seen

    def type(self, line):
        for ch in line:
            os.write(self.fd, ch.encode())
        os.write(self.fd, b"\r")

    def close(self):
        try:
            os.kill(self.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            pid, _ = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                break
            time.sleep(0.02)
        else:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        os.close(self.fd)


@test
def interactive_prompt():
    prompt = f"{HOST}:{PORT}> ".encode()
    t = Pty()
    try:
        t.read_until(prompt, "first prompt (after COMMAND DOCS)")
        t.type("PUBLISH cli.int hello")
        t.read_until(b"(integer) 0", "PUBLISH reply")
        t.read_until(prompt, "prompt after PUBLISH")
        # linenoise redraws the prompt on every keystroke, so wait for reply text, not prompts.
        t.type("PUBSUB NUMSUB cli.int")
        out = t.read_until(b"2) (integer) 0", "PUBSUB NUMSUB reply")
        t.read_until(prompt, "prompt after PUBSUB NUMSUB")
        if b'1) "cli.int"\r\n' not in out:
            raise AssertionError(f"PUBSUB NUMSUB screen: {out!r}")
        t.type("PING")
        t.read_until(b"PONG", "PING reply")
        t.read_until(prompt, "prompt after PING")
        t.type("SUBSCRIBE cli.int")
        t.read_until(b'3) (integer) 1', "interactive SUBSCRIBE confirmation")
        eq(cli("PUBLISH", "cli.int", "to the terminal")[0], b"1\n", "PUBLISH to interactive subscriber")
        t.read_until(b'3) "to the terminal"', "message shown in the terminal")
    finally:
        t.close()


def main():
    only = sys.argv[1:]
    passed = failed = 0
    ver = subprocess.run(["redis-cli", "--version"], capture_output=True, text=True, timeout=WAIT).stdout.strip()
    print(f"{ver} against {HOST}:{PORT}", flush=True)
    for t in TESTS:
        if only and not any(o in t.__name__ for o in only):
            continue
        t0 = time.monotonic()
        try:
            signal.alarm(60)
            t()
            passed += 1
            print(f"ok   {t.__name__} ({time.monotonic() - t0:.2f}s)", flush=True)
        except Exception as e:  # noqa: BLE001 - report every failure and keep going
            failed += 1
            print(f"FAIL {t.__name__}: {e!r}", flush=True)
            traceback.print_exc(limit=3, file=sys.stdout)
        finally:
            signal.alarm(0)
    print(f"redis-cli: {passed} passed, {failed} failed", flush=True)
    sys.exit(1 if failed else 0)


def on_alarm(signum, frame):
    raise TimeoutError("test exceeded 60s")


if __name__ == "__main__":
    signal.signal(signal.SIGALRM, on_alarm)
    main()
