"""The CLI end to end against a small fake Engine API server on a unix socket.

The fake speaks real HTTP/1.1 (keep-alive, chunked bodies, the 101 upgrade of attach/exec with
multiplexed frames) but its answers are scripted per test; it records every request so the tests
can check the calls docker's CLI would make, in docker's order.
"""

from __future__ import annotations

import json
import os
import socketserver
import threading
import time
from urllib.parse import parse_qs, urlsplit

import pytest

from hako.cli.context import Cli
from hako.cli.main import main
from hako.client.mux import frame

CID = "4ea5cb9c4ceb3836c43445047a21a7f95d5194f9ec827b61e25cd42cf65092af"


class Request:
    def __init__(self, method, target, headers, body, wfile):
        self.method = method
        self.target = target
        parts = urlsplit(target)
        self.path = parts.path
        self.version = None
        if self.path.startswith("/v1."):
            self.version, _, rest = self.path[2:].partition("/")
            self.path = "/" + rest
        self.query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        self.headers = headers
        self.body = body
        self.wfile = wfile

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return f"{self.method} {self.path}"


class Reply:
    """What the fake sends: a status with a JSON body (or none), or a hijacked stream."""

    def __init__(self, status=200, body=None, headers=None, stream=None, chunks=None, hijack=None):
        self.status, self.body, self.headers = status, body, headers or {}
        self.chunks = chunks      # list of bytes sent as a chunked body
        self.hijack = hijack      # callable(request, sock_file) after the 101


class FakeDaemon:
    """A scripted Engine API on ``<tmp>/fake.sock``; ``handler(request) -> Reply``."""

    def __init__(self, tmp_path, handler, api_version="1.41"):
        self.path = str(tmp_path / "fake.sock")
        self.handler = handler
        self.api_version = api_version
        self.requests: list[Request] = []
        self.connections = 0
        daemon = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self):
                daemon.connections += 1
                while daemon._serve_one(self.rfile, self.wfile, self.connection):
                    pass

        self.server = socketserver.ThreadingUnixStreamServer(self.path, Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @property
    def host(self):
        return "unix://" + self.path

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def _serve_one(self, rfile, wfile, sock) -> bool:
        line = rfile.readline()
        if not line:
            return False
        method, target, _ = line.decode().split(" ", 2)
        headers = {}
        while True:
            h = rfile.readline().decode()
            if h in ("\r\n", ""):
                break
            k, v = h.split(":", 1)
            headers[k.strip().lower()] = v.strip()
        body = b""
        if "content-length" in headers:
            body = rfile.read(int(headers["content-length"]))
        elif headers.get("transfer-encoding") == "chunked":
            while True:
                size = int(rfile.readline().strip(), 16)
                if size == 0:
                    rfile.readline()
                    break
                body += rfile.read(size)
                rfile.readline()
        req = Request(method, target, headers, body, wfile)
        if req.path == "/_ping":
            wfile.write(f"HTTP/1.1 200 OK\r\nApi-Version: {self.api_version}\r\nOstype: linux\r\n"
                        "Content-Length: 0\r\n\r\n".encode())
            wfile.flush()
            return True
        self.requests.append(req)
        reply = self.handler(req)
        if reply.hijack is not None:
            wfile.write(b"HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\n"
                        b"Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n")
            wfile.flush()
            reply.hijack(req, rfile, wfile, sock)
            return False
        head = f"HTTP/1.1 {reply.status} X\r\nApi-Version: {self.api_version}\r\n"
        for k, v in reply.headers.items():
            head += f"{k}: {v}\r\n"
        if reply.chunks is not None:
            wfile.write((head + "Transfer-Encoding: chunked\r\n\r\n").encode())
            wfile.flush()
            for chunk in reply.chunks:
                if callable(chunk):
                    chunk = chunk()
                wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                wfile.flush()
            wfile.write(b"0\r\n\r\n")
        else:
            data = b"" if reply.body is None else json.dumps(reply.body).encode()
            if reply.status == 204:
                wfile.write((head + "\r\n").encode())
            else:
                wfile.write((head + f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n").encode() + data)
        wfile.flush()
        return True


@pytest.fixture
def daemon_factory(tmp_path):
    made = []

    def make(handler, api_version="1.41"):
        d = FakeDaemon(tmp_path, handler, api_version)
        made.append(d)
        return d

    yield make
    for d in made:
        d.close()


class Run:
    """One CLI invocation with its stdout/stderr captured in files and stdin from bytes."""

    def __init__(self, tmp_path, host, argv, stdin=b"", environ=None):
        paths = [tmp_path / f"{n}-{time.monotonic_ns()}" for n in ("in", "out", "err")]
        paths[0].write_bytes(stdin)
        fds = [os.open(paths[0], os.O_RDONLY)] + [os.open(p, os.O_RDWR | os.O_CREAT | os.O_TRUNC) for p in paths[1:]]
        try:
            cli = Cli(host=host, environ=environ or {}, stdin_fd=fds[0], stdout_fd=fds[1], stderr_fd=fds[2])
            self.status = main(argv, cli=cli)
        finally:
            for fd in fds:
                os.close(fd)
        self.out = paths[1].read_text()
        self.err = paths[2].read_text()


def container_summary(name, created, status="Up 3 seconds", state="running", command="sleep 300"):
    return {"Id": CID, "Names": ["/" + name], "Image": "busybox", "ImageID": "sha256:" + "a" * 64,
            "Command": command, "Created": created, "Ports": [], "Labels": {}, "State": state,
            "Status": status, "HostConfig": {"NetworkMode": "default"},
            "NetworkSettings": {"Networks": {"bridge": {}}}, "Mounts": []}


# -- list commands ---------------------------------------------------------------------------

def test_ps_table_layout(daemon_factory, tmp_path):
    now = time.time()
    rows = [container_summary("web", now - 75),
            container_summary("logger", now - 7200, "Exited (0) 2 hours ago", "exited", "sh -c 'echo a long command line'")]
    d = daemon_factory(lambda req: Reply(body=rows))
    r = Run(tmp_path, d.host, ["ps", "-a"])
    assert r.status == 0, r.err
    assert [str(q) for q in d.requests] == ["GET /containers/json"]
    assert d.requests[0].query == {"all": "1"}
    lines = r.out.splitlines()
    assert lines[0].split() == ["CONTAINER", "ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"]
    assert lines[1].startswith("4ea5cb9c4ceb   busybox   \"sleep 300\"              About a minute ago   Up 3 seconds ")
    assert lines[2].startswith("4ea5cb9c4ceb   busybox   \"sh -c 'echo a long …\"   2 hours ago ")
    # columns line up: every row has its NAMES at the header's NAMES offset
    offset = lines[0].index("NAMES")
    assert [line[offset:] for line in lines[1:]] == ["web", "logger"]


def test_ps_quiet_and_filters(daemon_factory, tmp_path):
    d = daemon_factory(lambda req: Reply(body=[container_summary("web", time.time())]))
    r = Run(tmp_path, d.host, ["ps", "-q", "--no-trunc", "-f", "status=exited", "-n", "2"])
    assert r.status == 0
    assert r.out == CID + "\n"
    assert d.requests[0].query == {"all": "1", "limit": "2", "filters": '{"status":{"exited":true}}'}


def test_images_rows_per_tag(daemon_factory, tmp_path):
    image = {"Id": "sha256:" + "b" * 64, "RepoTags": ["busybox:latest", "docker.io/library/busybox:1"],
             "RepoDigests": [], "Created": int(time.time()) - 3 * 86400, "Size": 4264000,
             "SharedSize": -1, "Containers": -1}
    d = daemon_factory(lambda req: Reply(body=[image]))
    r = Run(tmp_path, d.host, ["images"])
    assert r.out == ("REPOSITORY   TAG       IMAGE ID       CREATED      SIZE\n"
                     "busybox      latest    bbbbbbbbbbbb   3 days ago   4.26MB\n"
                     "busybox      1         bbbbbbbbbbbb   3 days ago   4.26MB\n")


# -- run ---------------------------------------------------------------------------------------

def test_run_detached_creates_starts_and_prints_the_id(daemon_factory, tmp_path):
    def handler(req):
        if req.path == "/containers/create":
            return Reply(201, {"Id": CID, "Warnings": []})
        return Reply(204)

    d = daemon_factory(handler)
    r = Run(tmp_path, d.host, ["run", "-d", "--name", "web", "-e", "A=1", "busybox", "sleep", "300"])
    assert (r.status, r.out, r.err) == (0, CID + "\n", "")
    assert [str(q) for q in d.requests] == ["POST /containers/create", f"POST /containers/{CID}/start"]
    assert d.requests[0].version == "1.41"
    assert d.requests[0].query == {"name": "web"}
    body = d.requests[0].json()
    assert (body["Image"], body["Cmd"], body["Env"], body["AttachStdout"]) == ("busybox", ["sleep", "300"], ["A=1"], False)


def _attached_daemon(frames, status_code, events):
    """create -> attach (frames, then close) -> wait (answered after the stream ended) -> start.
    The wait and start requests arrive on different connections, so the order in which the fake
    records them is a race; start therefore notes whether the wait had already been sent."""
    stream_done = threading.Event()
    wait_seen = threading.Event()

    def hijack(req, rfile, wfile, sock):
        events.append(("stdin", rfile.read()))  # until the client's half-close
        for data in frames:
            wfile.write(data)
            wfile.flush()
        stream_done.set()

    def handler(req):
        if req.path == "/containers/create":
            return Reply(201, {"Id": CID, "Warnings": ["low memory"]})
        if req.path.endswith("/attach"):
            return Reply(hijack=hijack)
        if req.path.endswith("/start"):
            events.append(("wait before start", wait_seen.wait(5)))
            return Reply(204)
        if req.path.endswith("/wait"):
            wait_seen.set()

            def body():
                stream_done.wait(5)
                return json.dumps({"Error": None, "StatusCode": status_code}).encode()
            return Reply(chunks=[body])
        return Reply(204)

    return handler


def test_run_attached_streams_and_returns_the_exit_code(daemon_factory, tmp_path):
    events = []
    handler = _attached_daemon([frame(1, b"out\n"), frame(2, b"err\n"), frame(1, b"more\n")], 3, events)
    d = daemon_factory(handler)
    r = Run(tmp_path, d.host, ["run", "--rm", "busybox", "sh", "-c", "exit 3"])
    assert r.status == 3
    assert r.out == "out\nmore\n"
    assert r.err == "WARNING: low memory\nerr\n"
    calls = [(q.method, q.path, q.query) for q in d.requests]
    assert calls[:2] == [
        ("POST", "/containers/create", {}),
        ("POST", f"/containers/{CID}/attach", {"stderr": "1", "stdout": "1", "stream": "1"}),
    ]
    assert sorted(calls[2:]) == [
        ("POST", f"/containers/{CID}/start", {}),
        ("POST", f"/containers/{CID}/wait", {"condition": "removed"}),
    ]
    # no -i: the write side is closed at once; the wait was sent before the start
    assert sorted(events, key=str) == [("stdin", b""), ("wait before start", True)]


def test_run_interactive_forwards_stdin_then_half_closes(daemon_factory, tmp_path):
    events = []
    d = daemon_factory(_attached_daemon([frame(1, b"piped\n")], 0, events))
    r = Run(tmp_path, d.host, ["run", "-i", "busybox", "cat"], stdin=b"piped\n")
    assert (r.status, r.out) == (0, "piped\n")
    assert ("stdin", b"piped\n") in events
    attach = d.requests[1]
    assert attach.query == {"stderr": "1", "stdin": "1", "stdout": "1", "stream": "1"}
    assert [q.query for q in d.requests if q.path.endswith("/wait")] == [{"condition": "next-exit"}]


def test_run_pulls_a_missing_image_then_creates_again(daemon_factory, tmp_path):
    created = []

    def handler(req):
        if req.path == "/containers/create":
            created.append(1)
            if len(created) == 1:
                return Reply(404, {"message": "No such image: busybox:latest"})
            return Reply(201, {"Id": CID, "Warnings": None})
        if req.path == "/images/create":
            return Reply(chunks=[b'{"status":"Pulling from library/busybox","id":"latest"}\n',
                                 b'{"status":"Status: Downloaded newer image for busybox:latest"}\n'])
        return Reply(204)

    d = daemon_factory(handler)
    r = Run(tmp_path, d.host, ["run", "-d", "busybox"])
    assert r.status == 0
    assert r.err == ("Unable to find image 'busybox:latest' locally\n"
                     "latest: Pulling from library/busybox\n"
                     "Status: Downloaded newer image for busybox:latest\n")
    assert [str(q) for q in d.requests] == ["POST /containers/create", "POST /images/create",
                                            "POST /containers/create", f"POST /containers/{CID}/start"]
    assert d.requests[1].query == {"fromImage": "docker.io/library/busybox", "tag": "latest"}


@pytest.mark.parametrize("message,status", [
    ('exec: "nope": executable file not found in $PATH: unknown', 127),
    ('exec: "/etc": permission denied: unknown', 126),
    ("something else went wrong", 125),
])
def test_run_start_failure_statuses(daemon_factory, tmp_path, message, status):
    def handler(req):
        if req.path == "/containers/create":
            return Reply(201, {"Id": CID, "Warnings": []})
        if req.path.endswith("/start"):
            return Reply(400, {"message": message})
        return Reply(204)

    d = daemon_factory(handler)
    r = Run(tmp_path, d.host, ["run", "-d", "busybox", "nope"])
    assert r.status == status
    assert r.err == (f"hako: Error response from daemon: {message}\n\n"
                     "Run 'hako run --help' for more information\n")


def test_create_error_is_plain_with_status_1(daemon_factory, tmp_path):
    d = daemon_factory(lambda req: Reply(409, {"message": "Conflict. The container name \"/web\" is already in use"}))
    r = Run(tmp_path, d.host, ["create", "--name", "web", "busybox"])
    assert r.status == 1
    assert r.err == 'Error response from daemon: Conflict. The container name "/web" is already in use\n'


# -- other commands --------------------------------------------------------------------------

def test_rm_reports_each_failure(daemon_factory, tmp_path):
    def handler(req):
        if req.path == "/containers/gone":
            return Reply(404, {"message": "No such container: gone"})
        return Reply(204)

    d = daemon_factory(handler)
    r = Run(tmp_path, d.host, ["rm", "-f", "a", "gone", "b"])
    assert (r.status, r.out, r.err) == (0, "a\nb\n", "Error response from daemon: No such container: gone\n")
    assert [q.query for q in d.requests] == [{"force": "1"}] * 3
    r = Run(tmp_path, d.host, ["rm", "gone"])
    assert (r.status, r.err) == (1, "Error response from daemon: No such container: gone\n")


def test_inspect_falls_back_from_container_to_image(daemon_factory, tmp_path):
    def handler(req):
        if req.path == "/images/busybox/json":
            return Reply(200, {"Id": "sha256:x", "RepoTags": ["busybox:latest"], "Config": {}})
        return Reply(404, {"message": "No such thing"})

    d = daemon_factory(handler)
    r = Run(tmp_path, d.host, ["inspect", "busybox"])
    assert r.status == 0
    assert [str(q) for q in d.requests] == ["GET /containers/busybox/json", "GET /images/busybox/json"]
    assert r.out == ('[\n    {\n        "Id": "sha256:x",\n        "RepoTags": [\n'
                     '            "busybox:latest"\n        ],\n        "Config": {}\n    }\n]\n')
    r = Run(tmp_path, d.host, ["inspect", "nothing"])
    assert (r.status, r.out, r.err) == (1, "[]\n", "Error: No such object: nothing\n")


def test_logs_demultiplexes_for_a_non_tty_container(daemon_factory, tmp_path):
    def handler(req):
        if req.path.endswith("/json"):
            return Reply(200, {"Id": CID, "Config": {"Tty": False}})
        err = frame(2, b"err1\n")  # split across two chunks, header included
        return Reply(chunks=[frame(1, b"out1\n") + err[:6], err[6:] + frame(1, b"out2\n")])

    d = daemon_factory(handler)
    r = Run(tmp_path, d.host, ["logs", "-n", "5", "-t", "web"])
    assert r.status == 0
    assert r.out == "out1\nout2\n"
    assert r.err == "err1\n"
    assert d.requests[1].query == {"stderr": "1", "stdout": "1", "tail": "5", "timestamps": "1"}


def test_exec_takes_the_exit_code_from_exec_inspect(daemon_factory, tmp_path):
    def hijack(req, rfile, wfile, sock):
        data = rfile.read()
        wfile.write(frame(1, b"got " + data))
        wfile.flush()

    def handler(req):
        if req.path == "/containers/web/json":
            return Reply(200, {"Id": CID, "State": {"Running": True}})
        if req.path == "/containers/web/exec":
            return Reply(201, {"Id": "e1"})
        if req.path == "/exec/e1/start":
            return Reply(hijack=hijack)
        return Reply(200, {"ExitCode": 5, "Running": False})

    d = daemon_factory(handler)
    r = Run(tmp_path, d.host, ["exec", "-i", "web", "sh"], stdin=b"input\n")
    assert (r.status, r.out) == (5, "got input\n")
    assert [str(q) for q in d.requests] == ["GET /containers/web/json", "POST /containers/web/exec",
                                            "POST /exec/e1/start", "GET /exec/e1/json"]
    assert d.requests[1].json() == {"User": "", "Privileged": False, "Tty": False, "AttachStdin": True,
                                    "AttachStderr": True, "AttachStdout": True, "Detach": False,
                                    "DetachKeys": "", "Env": None, "WorkingDir": "", "Cmd": ["sh"]}
    assert d.requests[2].json() == {"Detach": False, "Tty": False}


def test_start_reports_failures_like_docker(daemon_factory, tmp_path):
    d = daemon_factory(lambda req: Reply(404, {"message": f"No such container: {req.path.split('/')[2]}"}))
    r = Run(tmp_path, d.host, ["start", "n1", "n2"])
    assert r.status == 1
    assert r.err == ("Error response from daemon: No such container: n1\n"
                     "Error response from daemon: No such container: n2\n"
                     "Error: failed to start containers: n1, n2\n")


# -- negotiation and errors ------------------------------------------------------------------

@pytest.mark.parametrize("server,used", [("1.41", "1.41"), ("1.43", "1.43"), ("1.50", "1.44")])
def test_version_negotiation(daemon_factory, tmp_path, server, used):
    d = daemon_factory(lambda req: Reply(body=[]), api_version=server)
    assert Run(tmp_path, d.host, ["ps"]).status == 0
    assert d.requests[0].version == used


def test_pinned_api_version_skips_the_ping(daemon_factory, tmp_path):
    d = daemon_factory(lambda req: Reply(body=[]))
    Run(tmp_path, d.host, ["ps"], environ={"HAKO_API_VERSION": "1.40"})
    assert d.requests[0].version == "1.40"


def test_unreachable_daemon(tmp_path):
    host = f"unix://{tmp_path}/nothing.sock"
    r = Run(tmp_path, host, ["ps"])
    assert (r.status, r.err) == (1, f"Cannot connect to the hako daemon at {host}. Is the hako daemon running?\n")
    r = Run(tmp_path, host, ["run", "busybox"])
    assert r.status == 125
    assert r.err.startswith(f"hako: Cannot connect to the hako daemon at {host}.")


def test_host_from_environment(daemon_factory, tmp_path):
    d = daemon_factory(lambda req: Reply(body=[]))
    r = Run(tmp_path, None, ["ps", "-q"], environ={"DOCKER_HOST": "unix:///nonexistent", "HAKO_HOST": d.host})
    assert r.status == 0 and len(d.requests) == 1


@pytest.mark.parametrize("argv,status,err", [
    (["frobnicate"], 1, "hako: unknown command: hako frobnicate\n\nRun 'hako --help' for more information\n"),
    (["ps", "--bogus"], 125, "unknown flag: --bogus\n\nUsage:  hako ps [OPTIONS]\n\nRun 'hako ps --help' for more information\n"),
    (["ps", "extra"], 1, "hako: 'hako ps' accepts no arguments\n\nUsage:  hako ps [OPTIONS]\n\nRun 'hako ps --help' for more information\n"),
    (["run"], 1, "hako: 'hako run' requires at least 1 argument\n\nUsage:  hako run [OPTIONS] IMAGE [COMMAND] [ARG...]\n\nSee 'hako run --help' for more information\n"),
    (["logs"], 1, "hako: 'hako logs' requires 1 argument\n\nUsage:  hako logs [OPTIONS] CONTAINER\n\nRun 'hako logs --help' for more information\n"),
    (["container", "frob"], 1, "hako: unknown command: hako container frob\n\nUsage:  hako container\n\nRun 'hako container --help' for more information\n"),
    (["stop", "-t", "x", "a"], 125, 'invalid argument "x" for "-t, --timeout" flag: strconv.ParseInt: parsing "x": invalid syntax\n\nUsage:  hako stop [OPTIONS] CONTAINER [CONTAINER...]\n\nRun \'hako stop --help\' for more information\n'),
])
def test_usage_errors(tmp_path, argv, status, err):
    r = Run(tmp_path, "unix:///nonexistent", argv)
    assert (r.status, r.err) == (status, err)


def test_run_it_needs_a_terminal(tmp_path):
    r = Run(tmp_path, "unix:///nonexistent", ["run", "-it", "busybox"])
    assert (r.status, r.err) == (1, "the input device is not a TTY\n")


def test_help_and_management_commands(tmp_path):
    r = Run(tmp_path, "unix:///nonexistent", ["container"])
    assert r.status == 0 and "  ls          List containers\n" in r.out
    r = Run(tmp_path, "unix:///nonexistent", ["container", "ls", "--help"])
    assert r.status == 0 and r.out.startswith("Usage:  hako container ls [OPTIONS]\n\nList containers\n")
    assert "  -a, --all " in r.out
