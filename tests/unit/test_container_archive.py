"""cp's path logic on a plain directory tree (no root needed): Docker's ResolvePath, symlinks
kept inside the root, mounts reached through their destinations, the stat fields, tar out and in."""

from __future__ import annotations

import io
import os
import stat
import tarfile

import pytest

from hako.containers.archive import ContainerFS, Mounted, go_file_mode, go_time
from hako.errdefs import InvalidArgument


@pytest.fixture
def fs(tmp_path):
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "passwd").write_text("root:x:0:0\n")
    (root / "work" / "sub").mkdir(parents=True)
    (root / "work" / "sub" / "f").write_text("inside\n")
    os.symlink("../../../../..", root / "work" / "up")
    os.symlink("/etc", root / "work" / "etc")
    os.symlink("/etc/passwd", root / "work" / "pw")
    os.symlink("loop", root / "work" / "loop")
    volume = tmp_path / "volume"
    (volume / "deep").mkdir(parents=True)
    (volume / "deep" / "v").write_text("in volume\n")
    os.symlink("/work/sub", volume / "back")
    (root / "data").mkdir()
    return ContainerFS(str(root), [Mounted("/data", str(volume), rw=True), Mounted("/ro", str(volume), rw=False)])


@pytest.mark.parametrize("request_path, parts, name, contents", [
    ("/work/sub/f", ("work", "sub", "f"), "f", False),
    ("work/sub/", ("work", "sub"), "sub", False),
    ("/work/sub/.", ("work", "sub"), ".", True),
    ("/work/etc", ("work", "etc"), "etc", False),            # the last element is not followed
    ("/work/etc/", ("etc",), "etc", False),                   # unless the path ends in "/"
    ("/work/up/etc/passwd", ("etc", "passwd"), "passwd", False),   # ".." stops at the root
    ("/../../work/sub/f", ("work", "sub", "f"), "f", False),  # cleaned lexically first
    ("/data/back/f", ("work", "sub", "f"), "f", False),       # a link in a volume, resolved in the container
    ("/", (), "/", False),
])
def test_resolve_request(fs, request_path, parts, name, contents):
    target = fs.resolve_request(request_path)
    assert (target.parts, target.name, target.contents_only) == (parts, name, contents)


def test_host_paths_go_through_mounts(fs, tmp_path):
    assert fs.host_path(("data", "deep", "v")) == str(tmp_path / "volume" / "deep" / "v")
    assert fs.host_path(("database",)) == str(tmp_path / "root" / "database")
    assert fs.host_path(()) == str(tmp_path / "root")


def test_symlink_loops_are_refused(fs):
    with pytest.raises(InvalidArgument, match="too many links"):
        fs.resolve_request("/work/loop/x")


def test_stat(fs):
    f = fs.stat(fs.resolve_request("/work/sub/f"))
    assert (f["name"], f["size"], f["mode"], f["linkTarget"]) == ("f", 7, 0o644, "")
    link = fs.stat(fs.resolve_request("/work/pw"))
    assert link["mode"] == (1 << 27) | 0o777 and link["linkTarget"] == "/etc/passwd"
    with pytest.raises(FileNotFoundError):
        fs.stat(fs.resolve_request("/work/nope"))


def test_go_file_mode_and_time():
    assert go_file_mode(stat.S_IFDIR | 0o1755) == (1 << 31) | (1 << 20) | 0o755
    assert go_file_mode(stat.S_IFREG | 0o4755) == (1 << 23) | 0o755
    assert go_file_mode(stat.S_IFCHR | 0o666) == (1 << 26) | (1 << 21) | 0o666
    assert go_time(1_700_000_000_500_000_000) == "2023-11-14T22:13:20.5Z"
    assert go_time(1_700_000_000_000_000_000) == "2023-11-14T22:13:20Z"


def _names(fs, path) -> list[str]:
    out = io.BytesIO()
    fs.write_tar(fs.resolve_request(path), out)
    assert len(out.getvalue()) % 512 == 0 and out.getvalue().endswith(b"\0" * 1024)
    with tarfile.open(fileobj=io.BytesIO(out.getvalue())) as tar:
        return sorted(tar.getnames())


def test_write_tar(fs):
    assert _names(fs, "/work/sub") == ["sub", "sub/f"]
    assert _names(fs, "/work/sub/.") == [".", "./f"]
    assert _names(fs, "/data") == ["data", "data/back", "data/deep", "data/deep/v"]
    assert "./data/deep/v" in _names(fs, "/")


def _tar(*entries) -> io.BytesIO:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, kind, content in entries:
            info = tarfile.TarInfo(name)
            if kind == "f":
                info.size = len(content)
                tar.addfile(info, io.BytesIO(content))
            else:
                info.type, info.linkname = tarfile.SYMTYPE, content
                tar.addfile(info)
    buf.seek(0)
    return buf


def test_extract_stays_inside(fs, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    fs.extract(fs.resolve_request("/work"), _tar(("esc", "l", str(outside)), ("esc/x", "f", b"x"),
                                                 ("up2", "l", "../../../../../.."), ("up2/y", "f", b"y")), False, None)
    assert os.listdir(outside) == []
    assert (tmp_path / "root" / outside.relative_to("/") / "x").read_bytes() == b"x"
    assert (tmp_path / "root" / "y").read_bytes() == b"y"
    for bad in (("../x", "f", b""), ("/x", "f", b"")):
        with pytest.raises(InvalidArgument):
            fs.extract(fs.resolve_request("/work"), _tar(bad), False, None)


def test_extract_into_mounts_and_read_only(fs, tmp_path):
    fs.extract(fs.resolve_request("/"), _tar(("data/new", "f", b"n")), False, None)
    assert (tmp_path / "volume" / "new").read_bytes() == b"n"
    with pytest.raises(InvalidArgument, match="mounted volume is marked read-only"):
        fs.extract(fs.resolve_request("/ro"), _tar(("z", "f", b"z")), False, None)
    with pytest.raises(InvalidArgument, match="extraction point is not a directory"):
        fs.extract(fs.resolve_request("/work/sub/f"), _tar(("z", "f", b"z")), False, None)
    with pytest.raises(InvalidArgument, match="cannot overwrite directory"):
        fs.extract(fs.resolve_request("/work"), _tar(("sub", "f", b"z")), True, None)


def test_extract_through_a_symlinked_extraction_point(fs, tmp_path):
    fs.extract(fs.resolve_request("/work/etc"), _tar(("group", "f", b"g")), False, None)
    assert (tmp_path / "root" / "etc" / "group").read_bytes() == b"g"
    fs.extract(fs.resolve_request("/work/up"), _tar(("top", "f", b"t")), False, None)   # ../.. stops at the root
    assert (tmp_path / "root" / "top").read_bytes() == b"t"
    assert not (tmp_path / "top").exists()
