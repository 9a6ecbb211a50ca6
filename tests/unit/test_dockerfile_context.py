"""The build context read in place (sources.TarSource, context.BuildContext) and COPY's plan."""

from __future__ import annotations

import gzip
import io
import tarfile
import tempfile

import pytest

from hako.build import copying
from hako.build.context import BuildContext
from hako.build.sources import DIR, FILE, LINK, TarSource, resolve
from hako.errdefs import InvalidArgument, NotFound


def tar_bytes(entries) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, kind, data in entries:
            info = tarfile.TarInfo(name)
            if kind == "file":
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
            elif kind == "dir":
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            elif kind == "sym":
                info.type, info.linkname = tarfile.SYMTYPE, data
                tar.addfile(info)
            elif kind == "hard":
                info.type, info.linkname = tarfile.LNKTYPE, data
                tar.addfile(info)
    return buf.getvalue()


def source_of(entries) -> TarSource:
    f = tempfile.TemporaryFile()
    f.write(tar_bytes(entries))
    f.flush()
    f.seek(0)
    return TarSource(f)


def test_index_reads_files_in_place_and_implies_directories():
    src = source_of([("a/b/c.txt", "file", b"hello"), ("top", "file", b"x"), ("a/b/c.txt", "file", b"again")])
    assert src.lstat("a").kind == DIR and src.lstat("a/b").kind == DIR
    assert src.listdir("") == ["a", "top"]
    with src.open("a/b/c.txt") as f:
        assert f.read() == b"again"         # the later entry wins, as unpacking would
    assert src.lstat("missing") is None


def test_symlinks_resolve_inside_the_root():
    src = source_of([("real/f", "file", b"1"), ("link", "sym", "real"), ("abs", "sym", "/real/f"),
                     ("up", "sym", "../../real"), ("hl", "hard", "real/f")])
    assert src.lstat("link").kind == LINK
    assert resolve(src, "link/f") == "real/f"
    assert resolve(src, "abs") == "real/f"
    assert resolve(src, "up/f") == "real/f"       # ".." stops at the root
    with src.open("hl") as f:
        assert f.read() == b"1"


@pytest.mark.parametrize("entries", [
    [("../evil", "file", b"x")],
    [("/abs", "file", b"x")],
    [("a/../../evil", "file", b"x")],
    [("link", "sym", "/etc"), ("link/passwd", "file", b"x")],
    [("h", "hard", "../outside")],
])
def test_unsafe_entries_are_refused(entries):
    with pytest.raises(InvalidArgument, match="invalid build context"):
        source_of(entries)


def test_build_context_takes_gzip_and_a_bare_dockerfile():
    spool = tempfile.NamedTemporaryFile()
    spool.write(gzip.compress(tar_bytes([("Dockerfile", "file", b"FROM busybox\n"),
                                         (".dockerignore", "file", b"*.log\n")])))
    spool.flush()
    with tempfile.TemporaryDirectory() as tmp:
        with BuildContext.open(spool, tmp) as ctx:
            assert ctx.dockerfile("Dockerfile") == "FROM busybox\n"
            assert ctx.excluded("x.log") and not ctx.excluded("x.txt")
            with pytest.raises(NotFound, match="Cannot locate specified Dockerfile: other"):
                ctx.dockerfile("other")
        bare = tempfile.NamedTemporaryFile()
        bare.write(b"FROM busybox\nRUN true\n")
        bare.flush()
        with BuildContext.open(bare, tmp) as ctx:
            assert ctx.dockerfile("Dockerfile") == "FROM busybox\nRUN true\n"


def test_copy_plan_rules():
    src = source_of([("dir/a", "file", b"a"), ("dir/sub/b", "file", b"bb"), ("one.txt", "file", b"1"),
                     ("two.txt", "file", b"2")])
    view = copying.ImageView([])
    plan = copying.plan_copy(src, ["dir"], "/dest", view, is_add=False)
    assert [e.dest for e in plan.entries] == ["dest", "dest/a", "dest/sub", "dest/sub/b"]
    assert plan.summary.startswith("dir:")
    plan = copying.plan_copy(src, ["*.txt"], "/t/", view, is_add=False)
    assert [e.dest for e in plan.entries] == ["t/one.txt", "t/two.txt"] and plan.summary.startswith("multi:")
    single = copying.plan_copy(src, ["one.txt"], "/renamed", view, is_add=False)
    assert [e.dest for e in single.entries] == ["renamed"] and single.entries[0].node.kind == FILE
    with pytest.raises(InvalidArgument, match="must be a directory and end with a /"):
        copying.plan_copy(src, ["one.txt", "two.txt"], "/nodir", view, is_add=False)
    with pytest.raises(NotFound, match="stat nope: file does not exist"):
        copying.plan_copy(src, ["nope"], "/x", view, is_add=False)
    with pytest.raises(NotFound, match="no source files were specified"):
        copying.plan_copy(src, ["*.md"], "/x/", view, is_add=False)


def test_copy_digest_follows_content_not_timestamps():
    view = copying.ImageView([])
    a = copying.plan_copy(source_of([("f", "file", b"same")]), ["f"], "/f", view, is_add=False).digest
    b = copying.plan_copy(source_of([("f", "file", b"same")]), ["f"], "/f", view, is_add=False).digest
    c = copying.plan_copy(source_of([("f", "file", b"diff")]), ["f"], "/f", view, is_add=False).digest
    assert a == b != c


def test_cli_context_tar_honours_dockerignore_but_keeps_the_dockerfile(tmp_path):
    from hako.cli.commands.build import _tar_stream

    (tmp_path / "Dockerfile").write_text("FROM busybox\n")
    (tmp_path / ".dockerignore").write_text("Dockerfile\n*.log\nbuild\n!build/keep\n")
    (tmp_path / "a.log").write_text("x")
    (tmp_path / "src.txt").write_text("y")
    (tmp_path / "build").mkdir()
    (tmp_path / "build" / "drop").write_text("d")
    (tmp_path / "build" / "keep").write_text("k")
    (tmp_path / "link").symlink_to("src.txt")
    data = b"".join(_tar_stream(str(tmp_path), "Dockerfile", b"FROM x\n", ".dockerfile.extra"))
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        members = {m.name: m for m in tar}
    assert set(members) == {".dockerignore", "Dockerfile", "src.txt", "build/keep", "link", ".dockerfile.extra"}
    assert members["link"].issym() and members["link"].linkname == "src.txt"
    assert all(m.uid == 0 and m.gid == 0 for m in members.values())


def test_tarstream_headers_read_back_with_tarfile():
    from hako.build.tarstream import TarStream

    out = io.BytesIO()
    stream = TarStream(out)
    long_name = "d/" + "x" * 150
    stream.entry("d", tarfile.DIRTYPE, 0o755, 0, 0, 1_700_000_000)
    stream.entry("d/f.txt", tarfile.REGTYPE, 0o640, 12, 34, 1_700_000_001, size=5, fileobj=io.BytesIO(b"hello"))
    stream.entry(long_name, tarfile.REGTYPE, 0o600, 0, 0, 1, size=3, fileobj=io.BytesIO(b"abc"))
    stream.entry("d/ünï", tarfile.SYMTYPE, 0o777, 0, 0, 2, linkname="f.txt")
    stream.close()
    with tarfile.open(fileobj=io.BytesIO(out.getvalue())) as tar:
        members = tar.getmembers()
        assert [(m.name, m.type, m.mode, m.uid, m.gid, m.mtime, m.size) for m in members] == [
            ("d", tarfile.DIRTYPE, 0o755, 0, 0, 1_700_000_000, 0),
            ("d/f.txt", tarfile.REGTYPE, 0o640, 12, 34, 1_700_000_001, 5),
            (long_name, tarfile.REGTYPE, 0o600, 0, 0, 1, 3),
            ("d/ünï", tarfile.SYMTYPE, 0o777, 0, 0, 2, 0)]
        assert tar.extractfile(members[1]).read() == b"hello"
        assert tar.extractfile(members[2]).read() == b"abc"
        assert members[3].linkname == "f.txt"


def test_copy_of_the_whole_context_honours_exclusions():
    src = source_of([("Dockerfile", "file", b"FROM x\n"), ("keep/a", "file", b"a"), ("skip.log", "file", b"s")])
    excluded = lambda rel: rel.endswith(".log") or rel == "Dockerfile"  # noqa: E731
    plan = copying.plan_copy(src, ["."], "/app/", copying.ImageView([]), is_add=False, excluded=excluded)
    assert [e.dest for e in plan.entries] == ["app", "app/keep", "app/keep/a"]
