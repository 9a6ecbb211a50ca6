"""The real docker CLI's `docker build` (it falls back to the classic /build endpoint) and
`docker commit`, `docker builder prune`, and the same through hako's own CLI."""

from __future__ import annotations

import pytest

from tests.conftest import needs_root

pytestmark = needs_root


@pytest.fixture(autouse=True)
def _drop_build_cache(hakod):
    """The session's hakod is shared: the build cache (and the layers it keeps) goes after each test."""
    yield
    hakod.api("POST", "/build/prune?all=1")


DOCKERFILE = """\
FROM busybox AS build
ARG WHO=nobody
COPY src/ /src/
RUN cat /src/*.txt > /all.txt && echo "by $WHO" >> /all.txt

FROM busybox
COPY --from=build /all.txt /all.txt
CMD ["cat", "/all.txt"]
"""


@pytest.fixture
def context(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.txt").write_text("a\n")
    (tmp_path / "src" / "b.txt").write_text("b\n")
    (tmp_path / "src" / "ignored.txt").write_text("ignored\n")
    (tmp_path / ".dockerignore").write_text("src/ignored.txt\n")
    (tmp_path / "Dockerfile").write_text(DOCKERFILE)
    return tmp_path


def test_docker_build_runs_and_caches(hakod, context):
    try:
        first = hakod.docker("build", "-t", "hako-compat/build:1", "--build-arg", "WHO=docker", str(context),
                             env={"DOCKER_BUILDKIT": "0"}, timeout=120)
        assert first.returncode == 0, first.stderr + first.stdout
        assert "Step 1/7 : FROM busybox AS build" in first.stdout
        assert "Successfully tagged hako-compat/build:1" in first.stdout
        run = hakod.docker("run", "--rm", "hako-compat/build:1", check=True)
        assert run.stdout == "a\nb\nby docker\n"
        second = hakod.docker("build", "-t", "hako-compat/build:1", "--build-arg", "WHO=docker", str(context),
                              env={"DOCKER_BUILDKIT": "0"}, timeout=120)
        assert second.returncode == 0 and second.stdout.count("Using cache") == 5, second.stdout
        history = hakod.docker("history", "--no-trunc", "--format", "{{.CreatedBy}}", "hako-compat/build:1", check=True)
        assert history.stdout.splitlines()[0] == '/bin/sh -c #(nop)  CMD ["cat" "/all.txt"]'
    finally:
        hakod.docker("rmi", "-f", "hako-compat/build:1")


def test_docker_build_quiet_iidfile_and_errors(hakod, context, tmp_path_factory):
    iid = str(tmp_path_factory.mktemp("iid") / "iid")
    quiet = hakod.docker("build", "-q", "--iidfile", iid, str(context), env={"DOCKER_BUILDKIT": "0"}, timeout=120)
    assert quiet.returncode == 0, quiet.stderr
    with open(iid) as f:
        image = f.read().strip()
    assert quiet.stdout.strip() == image and image.startswith("sha256:")
    hakod.docker("rmi", image)
    (context / "Dockerfile").write_text("FROM busybox\nRUN exit 7\n")
    failed = hakod.docker("build", str(context), env={"DOCKER_BUILDKIT": "0"}, timeout=120)
    assert failed.returncode == 1
    assert "The command '/bin/sh -c exit 7' returned a non-zero code: 7" in failed.stderr + failed.stdout
    (context / "Dockerfile").write_text("FROM busybox\nBOGUS x\n")
    failed = hakod.docker("build", str(context), env={"DOCKER_BUILDKIT": "0"}, timeout=120)
    assert failed.returncode == 1
    assert "dockerfile parse error on line 2: unknown instruction: BOGUS" in failed.stderr + failed.stdout


def test_docker_build_from_stdin_dockerfile(hakod):
    result = hakod.docker("build", "-t", "hako-compat/stdin", "-", input="FROM busybox\nRUN echo piped > /p\n",
                          env={"DOCKER_BUILDKIT": "0"}, timeout=120)
    try:
        assert result.returncode == 0, result.stderr
        assert hakod.docker("run", "--rm", "hako-compat/stdin", "cat", "/p", check=True).stdout == "piped\n"
    finally:
        hakod.docker("rmi", "-f", "hako-compat/stdin")


def test_docker_commit_and_builder_prune(hakod):
    hakod.docker("run", "--name", "hako-compat-commit", "busybox", "sh", "-c", "echo x > /x", check=True)
    try:
        result = hakod.docker("commit", "-m", "a message", "-c", "CMD [\"cat\", \"/x\"]", "hako-compat-commit",
                              "hako-compat/committed:2", check=True)
        assert result.stdout.strip().startswith("sha256:")
        assert hakod.docker("run", "--rm", "hako-compat/committed:2", check=True).stdout == "x\n"
        comment = hakod.docker("inspect", "-f", "{{.Comment}}", "hako-compat/committed:2", check=True).stdout
        assert comment.strip() == "a message"
    finally:
        hakod.docker("rm", "-f", "hako-compat-commit")
        hakod.docker("rmi", "-f", "hako-compat/committed:2")
    prune = hakod.docker("builder", "prune", "-f", check=True)
    assert "Total reclaimed space" in prune.stdout


def test_hako_cli_build_commit_and_prune(hakod, context):
    try:
        result = hakod.hako("build", "-t", "hako-compat/hako-cli", "--build-arg", "WHO=hako", str(context), timeout=120)
        assert result.returncode == 0, result.stderr
        assert "Step 7/7 : CMD" in result.stdout
        assert "s)\n" in result.stdout          # each step's duration
        assert "Successfully tagged hako-compat/hako-cli:latest" in result.stdout
        again = hakod.hako("build", "-t", "hako-compat/hako-cli", "--build-arg", "WHO=hako", str(context), timeout=120)
        assert again.stdout.count("Using cache") == 5
        assert hakod.hako("run", "--rm", "hako-compat/hako-cli").stdout == "a\nb\nby hako\n"
        (context / "other.Dockerfile").write_text("FROM busybox\nCOPY src/a.txt /\n")
        other = hakod.hako("build", "-q", "-f", str(context / "other.Dockerfile"), str(context), timeout=120)
        assert other.returncode == 0 and other.stdout.strip().startswith("sha256:"), other.stderr
        hakod.hako("rmi", other.stdout.strip())
        failed = hakod.hako("build", "-", input="FROM busybox\nRUN exit 4\n", timeout=120)
        assert failed.returncode == 1
        assert "The command '/bin/sh -c exit 4' returned a non-zero code: 4" in failed.stderr
        hakod.hako("run", "--name", "hako-cli-commit", "busybox", "touch", "/t")
        committed = hakod.hako("commit", "-a", "someone", "hako-cli-commit", "hako-compat/hako-commit")
        assert committed.returncode == 0 and committed.stdout.startswith("sha256:"), committed.stderr
        assert hakod.hako("run", "--rm", "hako-compat/hako-commit", "ls", "/t").stdout == "/t\n"
        prune = hakod.hako("builder", "prune", "-f")
        assert prune.returncode == 0 and "Total reclaimed space" in prune.stdout
    finally:
        hakod.hako("rm", "-f", "hako-cli-commit")
        hakod.hako("rmi", "-f", "hako-compat/hako-cli", "hako-compat/hako-commit")


def test_built_image_pushes_and_skopeo_reads_it(hakod, registry, context):
    import json
    import subprocess
    import uuid

    target = f"{registry.host}/hako-build/app-{uuid.uuid4().hex[:8]}:1"
    try:
        hakod.docker("build", "-t", target, str(context), env={"DOCKER_BUILDKIT": "0"}, timeout=120, check=True)
        pushed = hakod.docker("push", target, check=True, timeout=120)
        assert "digest: sha256:" in pushed.stdout
        result = subprocess.run(["skopeo", "inspect", "--tls-verify=false", f"docker://{target}"],
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        info = json.loads(result.stdout)
        local = json.loads(hakod.docker("image", "inspect", target, check=True).stdout)[0]
        assert len(info["Layers"]) == len(local["RootFS"]["Layers"])
        config = subprocess.run(["skopeo", "inspect", "--config", "--tls-verify=false", f"docker://{target}"],
                                capture_output=True, text=True, timeout=120, check=True)
        assert json.loads(config.stdout)["config"]["Cmd"] == ["cat", "/all.txt"]
        missing = f"{registry.host}/hako-build/absent-{uuid.uuid4().hex[:8]}:1"
        (context / "Dockerfile").write_text(f"FROM {missing}\nRUN true\n")
        failed = hakod.docker("build", str(context), env={"DOCKER_BUILDKIT": "0"}, timeout=120)
        assert failed.returncode == 1
        text = failed.stderr + failed.stdout
        assert missing in text and ("pull access denied" in text or "not found" in text), text
    finally:
        hakod.docker("rmi", "-f", target)
