"""docker-compose 1.29 (Debian's package) `build:` against hakod: context, dockerfile, args,
target and labels go through the classic /build endpoint."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.conftest import needs_root

pytestmark = [needs_root, pytest.mark.skipif(shutil.which("docker-compose") is None,
                                             reason="docker-compose is not installed (scripts/install adds it)")]


@pytest.fixture(autouse=True)
def _drop_build_cache(hakod):
    """The session's hakod is shared: the build cache (and the layers it keeps) goes after each test."""
    yield
    hakod.api("POST", "/build/prune?all=1")


COMPOSE = """\
version: "3.8"
services:
  app:
    build:
      context: ./app
      dockerfile: Dockerfile.app
      args:
        GREETING: from-compose
      target: final
      labels:
        com.example.compose: "yes"
    image: hako-compose/app:1
"""


def test_compose_build(hakod, tmp_path):
    (tmp_path / "docker-compose.yml").write_text(COMPOSE)
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "Dockerfile.app").write_text(
        "FROM busybox AS base\nARG GREETING\nRUN echo $GREETING > /g\nFROM base AS final\nCMD [\"cat\", \"/g\"]\n")
    env = {**hakod.env, "COMPOSE_DOCKER_CLI_BUILD": "0", "DOCKER_BUILDKIT": "0"}
    try:
        result = subprocess.run(["docker-compose", "-p", "hakocompose", "build"], cwd=tmp_path, env=env,
                                capture_output=True, text=True, timeout=180)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "Successfully tagged hako-compose/app:1" in result.stdout + result.stderr
        label = hakod.docker("inspect", "-f", '{{index .Config.Labels "com.example.compose"}}', "hako-compose/app:1",
                             check=True)
        assert label.stdout.strip() == "yes"
        assert hakod.docker("run", "--rm", "hako-compose/app:1", check=True).stdout == "from-compose\n"
    finally:
        hakod.docker("rmi", "-f", "hako-compose/app:1")
