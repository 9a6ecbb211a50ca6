"""Real builds through hakod's `POST /build`: multi-stage images from busybox, their contents,
config and history, the cache, and failures that must leave nothing behind.

Each test removes the images it tags; the hakod fixture checks for leaked mounts, cgroups and
monitors after every test."""

from __future__ import annotations

import io
import json
import os
import tarfile
import urllib.parse

import pytest

from tests.conftest import needs_root

pytestmark = needs_root


@pytest.fixture(autouse=True)
def _drop_build_cache(hakod):
    """The session's hakod is shared: the build cache (and the layers it keeps) goes after each test."""
    yield
    hakod.api("POST", "/build/prune?all=1")


def context_tar(files: dict[str, bytes | str], modes: dict[str, int] | None = None) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in files.items():
            data = data.encode() if isinstance(data, str) else data
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = (modes or {}).get(name, 0o644)
            info.mtime = 1_700_000_000
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def build(hakod, files, **query):
    """POST /build; returns (messages, image id or None, error message or None)."""
    body = files if isinstance(files, bytes) else context_tar(files)
    params = []
    for key, value in query.items():
        for item in value if isinstance(value, list) else [value]:
            params.append((key, item if isinstance(item, str) else json.dumps(item)))
    path = "/build" + ("?" + urllib.parse.urlencode(params) if params else "")
    resp = hakod.api("POST", path, body, headers={"Content-Type": "application/x-tar"}, timeout=120)
    assert resp.status == 200, resp.body
    messages = [json.loads(line) for line in resp.body.splitlines() if line.strip()]
    image = next((m["aux"]["ID"] for m in messages if "aux" in m), None)
    error = next((m["errorDetail"]["message"] for m in messages if "errorDetail" in m), None)
    return messages, image, error


def output(messages) -> str:
    return "".join(m.get("stream", "") for m in messages)


def run(hakod, image, *cmd) -> str:
    result = hakod.docker("run", "--rm", image, *cmd, check=True)
    return result.stdout


def inspect(hakod, name):
    resp = hakod.api("GET", f"/images/{name}/json")
    assert resp.status == 200, resp.body
    return resp.json()


def rmi(hakod, *names):
    for name in names:
        hakod.api("DELETE", f"/images/{name}?force=1")


def snapshot_dirs(hakod) -> list[str]:
    return sorted(os.listdir(os.path.join(hakod.data_root, "overlay", "rw")))


def build_tmp(hakod) -> list[str]:
    """What a build may leave in hakod's tmp/: spooled contexts, layer tars, heredoc files."""
    return os.listdir(os.path.join(hakod.data_root, "tmp"))


MULTI_STAGE = """\
ARG BASE=busybox
FROM ${BASE} AS builder
ARG GREETING=hello
WORKDIR /src
COPY app.txt ./
RUN echo "$GREETING from RUN" > built.txt && cat app.txt >> built.txt
RUN mkdir -p /out && cp built.txt /out/result.txt

FROM busybox
LABEL org.example.stage=final
ENV APP_HOME=/app \\
    MODE=prod
COPY --from=builder /out/result.txt $APP_HOME/
USER 1000:1000
EXPOSE 8080/tcp 53/udp
CMD ["cat", "/app/result.txt"]
"""


def test_multi_stage_build_contents_config_history(hakod):
    messages, image, error = build(hakod, {"Dockerfile": MULTI_STAGE, "app.txt": "app line\n"},
                                   t="hako-test/multi:1", buildargs={"GREETING": "hi"})
    try:
        assert error is None, output(messages)
        text = output(messages)
        assert "Step 1/14 : ARG BASE=busybox" in text
        assert "Step 2/14 : FROM ${BASE} AS builder" in text
        assert " ---> Running in " in text and "Removing intermediate container" in text
        assert f"Successfully built {image[7:19]}" in text
        assert "Successfully tagged hako-test/multi:1" in text
        assert run(hakod, "hako-test/multi:1") == "hi from RUN\napp line\n"
        info = inspect(hakod, "hako-test/multi:1")
        config = info["Config"]
        assert config["Cmd"] == ["cat", "/app/result.txt"]
        assert "APP_HOME=/app" in config["Env"] and "MODE=prod" in config["Env"]
        assert config["User"] == "1000:1000"
        assert config["ExposedPorts"] == {"8080/tcp": {}, "53/udp": {}}
        assert config["Labels"] == {"org.example.stage": "final"}
        history = hakod.api("GET", "/images/hako-test/multi:1/history").json()
        created_by = [h["CreatedBy"] for h in history]
        assert created_by[0] == '/bin/sh -c #(nop)  CMD ["cat" "/app/result.txt"]'
        assert created_by[1] == "/bin/sh -c #(nop)  EXPOSE 53/udp 8080/tcp"
        assert created_by[2] == "/bin/sh -c #(nop)  USER 1000:1000"
        assert created_by[3].startswith("/bin/sh -c #(nop) COPY --from=builder file:") and created_by[3].endswith(" in /app/ ")
        assert created_by[4] == "/bin/sh -c #(nop)  ENV APP_HOME=/app MODE=prod"
        # the final stage's layers: busybox's plus the one COPY
        busybox_layers = inspect(hakod, "busybox")["RootFS"]["Layers"]
        assert info["RootFS"]["Layers"][:-1] == busybox_layers and len(info["RootFS"]["Layers"]) == len(busybox_layers) + 1
    finally:
        rmi(hakod, "hako-test/multi:1")
    assert build_tmp(hakod) == []


def test_run_history_with_build_args_and_workdir(hakod):
    dockerfile = "FROM busybox\nARG A=1\nARG B\nWORKDIR /w/x\nRUN echo $A$B > f\n"
    messages, image, error = build(hakod, {"Dockerfile": dockerfile}, t="hako-test/args", buildargs={"B": "2", "UNUSED": "x"})
    try:
        assert error is None, output(messages)
        assert "[Warning] One or more build-args [UNUSED] were not consumed" in output(messages)
        assert run(hakod, "hako-test/args", "cat", "/w/x/f") == "12\n"
        history = hakod.api("GET", "/images/hako-test/args/history").json()
        assert history[0]["CreatedBy"] == "|2 A=1 B=2 /bin/sh -c echo $A$B > f"
        assert history[1]["CreatedBy"] == "/bin/sh -c #(nop) WORKDIR /w/x"
        assert inspect(hakod, "hako-test/args")["Config"]["WorkingDir"] == "/w/x"
        assert not any("A=1" in e for e in inspect(hakod, "hako-test/args")["Config"]["Env"] or [])
    finally:
        rmi(hakod, "hako-test/args")


def test_cache_hits_and_a_touched_file_reruns_from_its_copy(hakod):
    dockerfile = ("FROM busybox\nRUN echo one > /one\nCOPY a.txt /a.txt\nRUN cat /a.txt > /copy\n"
                  "COPY b.txt /b.txt\nRUN echo done\n")
    files = {"Dockerfile": dockerfile, "a.txt": "a\n", "b.txt": "b\n"}
    first, image1, error = build(hakod, files, t="hako-test/cache:1")
    made = [image1]
    try:
        assert error is None, output(first)
        assert "Using cache" not in output(first)
        again, image2, _ = build(hakod, files, t="hako-test/cache:1")
        assert image2 == image1
        assert output(again).count(" ---> Using cache") == 5
        assert "Running in" not in output(again)
        files["b.txt"] = "b changed\n"
        third, image3, _ = build(hakod, files, t="hako-test/cache:1")
        made.append(image3)
        text = output(third)
        assert image3 != image1
        assert text.count(" ---> Using cache") == 3          # RUN, COPY a, RUN
        assert text.split("Step 5/6")[1].count("Using cache") == 0
        assert text.count("Running in") == 1
        assert run(hakod, "hako-test/cache:1", "cat", "/b.txt", "/copy") == "b changed\na\n"
        # a timestamp alone does not invalidate: same bytes, other mtime
        tar = context_tar(files)
        fourth, image4, _ = build(hakod, tar, t="hako-test/cache:1")
        assert image4 == image3
        nocache, image5, _ = build(hakod, files, t="hako-test/cache:1", nocache="1")
        made.append(image5)
        assert "Using cache" not in output(nocache) and image5 != image3
    finally:
        # a rebuild moves the tag, leaving the image before it untagged, as Docker does
        rmi(hakod, "hako-test/cache:1", *[i for i in made if i])


def test_cache_from_an_image_without_the_build_cache(hakod):
    files = {"Dockerfile": "FROM busybox\nRUN echo from-run > /r\nCOPY a /a\nCMD [\"cat\", \"/r\"]\n", "a": "a"}
    _, image, error = build(hakod, files, t="hako-test/cachefrom:1")
    try:
        assert error is None
        history = hakod.api("GET", "/images/hako-test/cachefrom:1/history").json()
        assert history[1]["Size"] == 1 and history[2]["Size"] > 0      # COPY a (1 byte), RUN
        assert hakod.api("POST", "/build/prune").status == 200
        messages, again, error = build(hakod, files, t="hako-test/cachefrom:2", cachefrom=json.dumps(["hako-test/cachefrom:1"]))
        assert error is None, output(messages)
        text = output(messages)
        assert text.count("Using cache") == 3 and "Running in" not in text
        assert inspect(hakod, "hako-test/cachefrom:2")["RootFS"] == inspect(hakod, "hako-test/cachefrom:1")["RootFS"]
    finally:
        rmi(hakod, "hako-test/cachefrom:1", "hako-test/cachefrom:2")
        hakod.api("POST", "/build/prune")


def test_run_limits_and_refused_options(hakod):
    # cgroup v1 (this host) or v2: the limit file of the cgroup the RUN process is in
    script = ("p=$(grep -E '(:memory:|^0::)' /proc/self/cgroup | head -1 | cut -d: -f3); "
              "cat /sys/fs/cgroup/memory$p/memory.limit_in_bytes /sys/fs/cgroup/memory/memory.limit_in_bytes "
              "/sys/fs/cgroup$p/memory.max /sys/fs/cgroup/memory.max 2>/dev/null; true")
    files = {"Dockerfile": f"FROM busybox\nRUN {script}\n"}
    messages, image, error = build(hakod, files, memory="67108864", nocache="1")
    assert error is None, output(messages)
    assert "67108864" in output(messages)
    rmi(hakod, image)
    for query in ({"squash": "1"}, {"extrahosts": "a:1.2.3.4"}):
        body = context_tar({"Dockerfile": "FROM busybox\n"})
        resp = hakod.api("POST", "/build?" + urllib.parse.urlencode(query), body)
        assert resp.status == 501 and "not supported by hako's builder" in resp.json()["message"]


def test_failing_run_leaves_nothing(hakod):
    before = snapshot_dirs(hakod)
    containers_before = hakod.api("GET", "/containers/json?all=1").json()
    messages, image, error = build(hakod, {"Dockerfile": "FROM busybox\nRUN echo out; exit 3\n"})
    assert image is None
    assert error == "The command '/bin/sh -c echo out; exit 3' returned a non-zero code: 3"
    assert "out\n" in output(messages)
    assert snapshot_dirs(hakod) == before
    assert hakod.api("GET", "/containers/json?all=1").json() == containers_before
    assert build_tmp(hakod) == []


def test_a_client_leaving_mid_build_leaves_nothing(hakod):
    import socket
    import time

    before = snapshot_dirs(hakod)
    body = context_tar({"Dockerfile": "FROM busybox\nRUN sleep 60\nRUN echo never\n"})
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(hakod.socket)
    sock.sendall(b"POST /build HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-tar\r\n"
                 + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
    seen = b""
    while b"Running in" not in seen:
        chunk = sock.recv(4096)
        assert chunk, seen
        seen += chunk
    sock.close()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if snapshot_dirs(hakod) == before and not hakod.api("GET", "/containers/json?all=1").json() \
                and not build_tmp(hakod):
            break
        time.sleep(0.2)
    assert snapshot_dirs(hakod) == before
    assert hakod.api("GET", "/containers/json?all=1").json() == []
    assert build_tmp(hakod) == []
    hakod.api("POST", "/build/prune")


@pytest.mark.parametrize("dockerfile,files,expected", [
    ("FROM busybox\nRUN true\nFOO bar\n", {}, "dockerfile parse error on line 3: unknown instruction: FOO"),
    ("FROM busybox\nCOPY missing.txt /\n", {},
     "COPY failed: file not found in build context or excluded by .dockerignore: stat missing.txt: file does not exist"),
    ("FROM busybox\nCOPY secret.txt /\n", {".dockerignore": "secret.txt\n", "secret.txt": "x"},
     "COPY failed: file not found in build context or excluded by .dockerignore: stat secret.txt: file does not exist"),
    ("FROM busybox\nCOPY --from=nosuchstage /x /x\n", {}, "invalid from flag value nosuchstage"),
    ("FROM busybox AS a\nRUN true\n", {}, None),
    ("FROM busybox\n", {}, "busybox"),
])
def test_bad_dockerfiles_fail_clearly(hakod, dockerfile, files, expected):
    before = snapshot_dirs(hakod)
    messages, image, error = build(hakod, {"Dockerfile": dockerfile, **files})
    if expected is None:
        assert error is None and image
        rmi(hakod, image)
        return
    if expected == "busybox":
        assert error is None and image == inspect(hakod, "busybox")["Id"]
        return
    assert error is not None and error.startswith(expected), error
    assert snapshot_dirs(hakod) == before
    assert build_tmp(hakod) == []


def test_context_with_dotdot_or_absolute_entries_is_refused(hakod):
    for name in ("../evil", "/abs/evil", "a/../../evil"):
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            for entry, data in (("Dockerfile", b"FROM busybox\n"), (name, b"x")):
                info = tarfile.TarInfo(entry)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
        resp = hakod.api("POST", "/build", buf.getvalue(), headers={"Content-Type": "application/x-tar"})
        assert resp.status == 400, resp.body
        assert "points outside the context" in resp.json()["message"]
    assert not os.path.exists(os.path.join(os.path.dirname(hakod.data_root), "evil"))
    assert build_tmp(hakod) == []


def test_target_dockerignore_and_copy_rules(hakod):
    dockerfile = """\
FROM busybox AS first
COPY dir/ /dest/
COPY *.txt /texts/
COPY --chmod=700 --chown=12:34 run.sh /usr/local/bin/run
RUN ls /dest | tr '\\n' ' ' > /listing && stat -c '%a %u %g' /usr/local/bin/run >> /listing

FROM busybox AS second
RUN false
"""
    files = {"Dockerfile": dockerfile, ".dockerignore": "dir/skip*\n**/*.tmp\n!dir/keep.tmp\n",
             "dir/a": "a", "dir/skip1": "s", "dir/sub/x.tmp": "t", "dir/keep.tmp": "k",
             "one.txt": "1", "two.txt": "2", "run.sh": "#!/bin/sh\n"}
    messages, image, error = build(hakod, files, target="first", t="hako-test/target")
    try:
        assert error is None, output(messages)
        assert run(hakod, "hako-test/target", "cat", "/listing") == "a keep.tmp sub 700 12 34\n"
        assert run(hakod, "hako-test/target", "ls", "/dest/sub", "/texts") == "/dest/sub:\n\n/texts:\none.txt\ntwo.txt\n"
    finally:
        rmi(hakod, "hako-test/target")
    _, _, error = build(hakod, files, target="nope")
    assert error == "failed to reach build target nope in Dockerfile"


def test_metadata_instructions_and_heredoc(hakod):
    dockerfile = """\
# syntax=docker/dockerfile:1
# escape=`
FROM busybox
SHELL ["/bin/sh", "-ec"]
ENV NAME=world GREETING="hello there"
LABEL a=1 `
      b="two words"
STOPSIGNAL SIGUSR1
VOLUME ["/data"]
HEALTHCHECK --interval=5s --retries=2 CMD true
ENTRYPOINT ["/bin/sh", "-c"]
ONBUILD RUN echo triggered
RUN <<EOF
echo "${GREETING:-x} ${NAME:+set}" > /heredoc
EOF
COPY <<EOT /etc/motd
welcome $NAME
EOT
"""
    messages, image, error = build(hakod, {"Dockerfile": dockerfile}, t="hako-test/meta",
                                   labels={"from.query": "yes"})
    try:
        assert error is None, output(messages)
        config = inspect(hakod, "hako-test/meta")["Config"]
        assert config["Labels"] == {"a": "1", "b": "two words", "from.query": "yes"}
        assert config["StopSignal"] == "SIGUSR1"
        assert config["Volumes"] == {"/data": {}}
        assert config["Healthcheck"] == {"Test": ["CMD-SHELL", "true"], "Interval": 5_000_000_000, "Retries": 2}
        assert config["Entrypoint"] == ["/bin/sh", "-c"]
        assert config["Shell"] == ["/bin/sh", "-ec"]
        assert config["OnBuild"] == ["RUN echo triggered"]
        out = hakod.docker("run", "--rm", "hako-test/meta", "cat /heredoc /etc/motd", check=True).stdout
        assert out == "hello there set\nwelcome world\n"
        child, child_image, error = build(hakod, {"Dockerfile": "FROM hako-test/meta\n"}, t="hako-test/child")
        assert error is None, output(child)
        assert "# Executing 1 build trigger" in output(child) and "triggered" in output(child)
        assert inspect(hakod, "hako-test/child")["Config"]["OnBuild"] is None
    finally:
        rmi(hakod, "hako-test/child", "hako-test/meta")


@pytest.fixture
def http_files(tmp_path):
    """A plain HTTP server on 127.0.0.1 serving tmp_path/www."""
    import functools
    import http.server
    import threading

    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_remote_context_and_add_from_a_url(hakod, http_files):
    root, base = http_files
    (root / "payload.txt").write_text("fetched\n")
    (root / "ctx.tar").write_bytes(context_tar({
        "Dockerfile": f"FROM busybox\nADD {base}/payload.txt /downloads/\nCOPY local.txt /\n",
        "local.txt": "local\n"}))
    resp = hakod.api("POST", "/build?" + urllib.parse.urlencode({"remote": f"{base}/ctx.tar", "t": "hako-test/remote"}),
                     b"", timeout=120)
    try:
        assert resp.status == 200, resp.body
        messages = [json.loads(line) for line in resp.body.splitlines() if line.strip()]
        assert not any("errorDetail" in m for m in messages), messages
        out = run(hakod, "hako-test/remote", "sh", "-c", "cat /downloads/payload.txt /local.txt; stat -c %a /downloads/payload.txt")
        assert out == "fetched\nlocal\n600\n"
    finally:
        rmi(hakod, "hako-test/remote")
    missing = hakod.api("POST", "/build?" + urllib.parse.urlencode({"remote": f"{base}/nope.tar"}), b"")
    assert missing.status == 400 and "404" in missing.json()["message"]
    git = hakod.api("POST", "/build?remote=git://example.invalid/repo.git", b"")
    assert git.status == 501 and "git build contexts are not supported" in git.json()["message"]
    _, _, error = build(hakod, {"Dockerfile": f"FROM busybox\nCOPY {base}/payload.txt /x\n"})
    assert error.startswith("COPY failed: source can't be a URL for COPY")
    import hashlib

    good = hashlib.sha256(b"fetched\n").hexdigest()
    _, image, error = build(hakod, {"Dockerfile": f"FROM busybox\nADD --checksum=sha256:{good} {base}/payload.txt /p\n"})
    assert error is None
    rmi(hakod, image)
    _, _, error = build(hakod, {"Dockerfile": f"FROM busybox\nADD --checksum=sha256:{'0' * 64} {base}/payload.txt /p\n"})
    assert error.startswith("digest mismatch sha256:" + good)
    _, _, error = build(hakod, {"Dockerfile": "FROM --platform=linux/s390x busybox\nRUN true\n"})
    assert error.startswith("image with reference busybox was found but does not match the specified platform: "
                            "wanted linux/s390x")
    assert build_tmp(hakod) == []


def test_build_prune_drops_the_cache(hakod):
    files = {"Dockerfile": "FROM busybox\nRUN echo pruned > /p\n"}
    _, image, error = build(hakod, files)
    assert error is None
    rmi(hakod, image)
    labelled = hakod.api("POST", "/build/prune?filters=" + urllib.parse.quote('{"label":{"x=1":true}}')).json()
    assert labelled == {"CachesDeleted": None, "SpaceReclaimed": 0}
    caches = hakod.api("GET", "/system/df").json()["BuildCache"]
    run_entry = [c for c in caches if c["Description"] == "/bin/sh -c echo pruned > /p"]
    assert run_entry and run_entry[0]["Size"] > 0 and not run_entry[0]["Shared"]
    resp = hakod.api("POST", "/build/prune")
    assert resp.status == 200
    report = resp.json()
    assert report["CachesDeleted"] and report["SpaceReclaimed"] > 0
    assert hakod.api("GET", "/system/df").json()["BuildCache"] == []
    messages, image, _ = build(hakod, files)
    assert "Using cache" not in output(messages)
    rmi(hakod, image)
    hakod.api("POST", "/build/prune")


def test_commit_a_container(hakod):
    hakod.docker("run", "--name", "hako-commit", "busybox", "sh", "-c", "echo committed > /c.txt; rm /bin/true", check=True)
    try:
        resp = hakod.api("POST", "/commit?container=hako-commit&repo=hako-test/committed&tag=v1&comment=msg"
                         "&author=me&changes=ENV%20FOO%3Dbar", b"{}", headers={"Content-Type": "application/json"})
        assert resp.status == 201, resp.body
        image_id = resp.json()["Id"]
        info = inspect(hakod, "hako-test/committed:v1")
        assert info["Id"] == image_id and info["Comment"] == "msg" and info["Author"] == "me"
        assert "FOO=bar" in info["Config"]["Env"]
        assert run(hakod, "hako-test/committed:v1", "cat", "/c.txt") == "committed\n"
        assert hakod.docker("run", "--rm", "hako-test/committed:v1", "ls", "/bin/true").returncode != 0
        changes = hakod.docker("run", "--name", "hako-commit2", "hako-test/committed:v1", "true").returncode
        assert changes != 0   # /bin/true is gone in the image
        history = hakod.api("GET", "/images/hako-test/committed:v1/history").json()
        assert history[0]["CreatedBy"] == "sh -c echo committed > /c.txt; rm /bin/true"
        assert history[0]["Comment"] == "msg"
        # the committed layer holds the container's changes only, not hakod's /etc mount points
        top = info["GraphDriver"]["Data"]["UpperDir"]
        assert sorted(os.listdir(top)) == ["bin", "c.txt"]
        resp = hakod.api("POST", "/commit?container=nosuch")
        assert resp.status == 404
    finally:
        hakod.docker("rm", "-f", "hako-commit", "hako-commit2")
        rmi(hakod, "hako-test/committed:v1")


def test_commit_a_running_container_pauses_it_and_keeps_it_running(hakod):
    hakod.docker("run", "-d", "--name", "hako-commit-live", "busybox", "sleep", "300", check=True)
    try:
        hakod.docker("exec", "hako-commit-live", "sh", "-c", "echo live > /live.txt", check=True)
        resp = hakod.api("POST", "/commit?container=hako-commit-live&repo=hako-test/live", b"")
        assert resp.status == 201, resp.body
        state = hakod.api("GET", "/containers/hako-commit-live/json").json()["State"]
        assert state["Running"] and not state["Paused"]
        assert run(hakod, "hako-test/live", "cat", "/live.txt") == "live\n"
        config = inspect(hakod, "hako-test/live")["Config"]
        assert config["Cmd"] == ["sleep", "300"]
        bad = hakod.api("POST", "/commit?container=hako-commit-live&repo=Bad_Name", b"")
        assert bad.status == 400
    finally:
        hakod.docker("rm", "-f", "hako-commit-live")
        rmi(hakod, "hako-test/live")
