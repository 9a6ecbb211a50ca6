"""docker-compose 1.29 (Debian's package) with volumes against hakod: a named volume compose
creates with its labels, a bind and a tmpfs, data kept across `down`/`up`, `down -v` removes it."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.conftest import needs_root

pytestmark = [needs_root, pytest.mark.skipif(shutil.which("docker-compose") is None,
                                             reason="docker-compose is not installed (scripts/install adds it)")]

COMPOSE = """\
version: "3.8"
services:
  app:
    image: busybox
    command: ["sh", "-c", "cat /data/count 2>/dev/null; echo run >> /data/count; cat /host/hello; ls -A /scratch; echo x > /scratch/x"]
    volumes:
      - data:/data
      - ./host:/host:ro
    tmpfs:
      - /scratch
volumes:
  data:
    labels:
      com.example.kind: "test"
"""


def test_compose_volumes(hakod, tmp_path):
    (tmp_path / "docker-compose.yml").write_text(COMPOSE)
    (tmp_path / "host").mkdir()
    (tmp_path / "host" / "hello").write_text("hello from the host\n")
    env = {**hakod.env}

    def compose(*args):
        return subprocess.run(["docker-compose", "-p", "hakovol", *args], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=180)
    try:
        first = compose("run", "--rm", "app")
        assert first.returncode == 0, first.stderr
        assert first.stdout == "hello from the host\n"
        volume = hakod.api("GET", "/volumes/hakovol_data").json()
        assert volume["Labels"]["com.example.kind"] == "test"
        assert volume["Labels"]["com.docker.compose.project"] == "hakovol"
        second = compose("run", "--rm", "app")
        assert second.stdout == "run\nhello from the host\n", second.stderr
        down = compose("down", "-v")
        assert down.returncode == 0, down.stderr
        assert hakod.api("GET", "/volumes/hakovol_data").status == 404
    finally:
        compose("down", "-v")
