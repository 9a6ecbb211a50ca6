"""`docker save`/`docker load` archives: what write_archive produces, what read_archive accepts
(docker-archive old and new, OCI layouts, compressed archives), and hostile archives refused."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tarfile

import pytest
import zstandard

from hako.errdefs import InvalidArgument, NotFound, SystemError, Unsupported
from hako.images import manifests
from hako.images.archive import SaveImage, SaveLayer, open_archive, read_archive, write_archive
from hako.images.manifests import Descriptor, Platform


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def layer_tar(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def config_for(layers: list[bytes], cmd: str = "sh", arch: str | None = None) -> bytes:
    return json.dumps({"architecture": arch or manifests.host_platform().architecture, "os": "linux",
                       "config": {"Cmd": [cmd]}, "rootfs": {"type": "layers", "diff_ids": [sha(l) for l in layers]},
                       "history": [{"created_by": "test"}]}, sort_keys=True).encode()


def save_image(layers: list[bytes], tags: list[str], cmd: str = "sh", known_size: bool = True) -> SaveImage:
    return SaveImage(config_for(layers, cmd), tags,
                     [SaveLayer(sha(l), (lambda l=l: io.BytesIO(l)), len(l) if known_size else None) for l in layers])


def write_tar(path, entries: list[tuple]) -> str:
    """entries: (name, bytes) files, (name, None, linkname, type) links."""
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        for item in entries:
            info = tarfile.TarInfo(item[0])
            if item[1] is None:
                info.type, info.linkname = item[3], item[2]
                tar.addfile(info)
            else:
                info.size = len(item[1])
                tar.addfile(info, io.BytesIO(item[1]))
    return str(path)


def read_layers(image) -> list[bytes]:
    out = []
    for layer in image.layers:
        with layer.open() as f:
            data = f.read()
        assert sha(data) == layer.diff_id_expected
        out.append(data)
    return out


BASE = layer_tar({"bin/sh": b"#!shell", "etc/os-release": b"ID=test\n"})
APP = layer_tar({"app/run": b"run!" * 1000})
OTHER = layer_tar({"other": b"x"})


# ---- writing, and reading back ---------------------------------------------------------------

def test_round_trip_of_several_images_with_shared_layers_and_tags(tmp_path):
    images = [save_image([BASE, APP], ["app:1.0", "localhost:5000/team/app:latest"], "app"),
              save_image([BASE, OTHER], ["docker.io/library/other:2"], "other", known_size=False),
              save_image([BASE], [], "untagged")]
    path = tmp_path / "out.tar"
    with open(path, "wb") as out:
        write_archive(out, images)
    loaded = read_archive(str(path))
    assert [i.repo_tags for i in loaded] == [["app:1.0", "localhost:5000/team/app:latest"], ["other:2"], []]
    for saved, got in zip(images, loaded):
        assert got.config == saved.config and got.image_id == sha(saved.config)
    assert read_layers(loaded[0]) == [BASE, APP]
    assert read_layers(loaded[1]) == [BASE, OTHER]
    assert read_layers(loaded[2]) == [BASE]

    with tarfile.open(path) as tar:
        names = tar.getnames()
        assert names.count(f"blobs/sha256/{sha(BASE)[7:]}") == 1        # stored once
        assert {"oci-layout", "index.json", "manifest.json", "repositories", "blobs", "blobs/sha256"} <= set(names)
        assert all(m.mtime == 0 and m.uid == 0 for m in tar.getmembers())
        doc = json.load(tar.extractfile("manifest.json"))
        index = json.load(tar.extractfile("index.json"))
        repositories = json.load(tar.extractfile("repositories"))
        layer_blob = tar.extractfile(f"blobs/sha256/{sha(APP)[7:]}").read()
    assert layer_blob == APP                                  # uncompressed, named by diff id
    assert doc[0] == {"Config": f"blobs/sha256/{sha(images[0].config)[7:]}",
                      "RepoTags": ["app:1.0", "localhost:5000/team/app:latest"],
                      "Layers": [f"blobs/sha256/{sha(BASE)[7:]}", f"blobs/sha256/{sha(APP)[7:]}"]}
    assert repositories == {"app": {"1.0": sha(APP)[7:]}, "localhost:5000/team/app": {"latest": sha(APP)[7:]},
                            "other": {"2": sha(OTHER)[7:]}}
    assert index["mediaType"] == manifests.OCI_INDEX
    names = [e.get("annotations", {}) for e in index["manifests"]]
    assert names[:3] == [
        {manifests.ANNOTATION_IMAGE_NAME: "docker.io/library/app:1.0", manifests.ANNOTATION_REF_NAME: "1.0"},
        {manifests.ANNOTATION_IMAGE_NAME: "localhost:5000/team/app:latest", manifests.ANNOTATION_REF_NAME: "latest"},
        {manifests.ANNOTATION_IMAGE_NAME: "docker.io/library/other:2", manifests.ANNOTATION_REF_NAME: "2"}]
    assert names[3] == {} and len(names) == 4


def test_the_oci_side_of_a_written_archive_reads_alone(tmp_path):
    path = tmp_path / "out.tar"
    with open(path, "wb") as out:
        write_archive(out, [save_image([BASE, APP], ["app:1.0", "app:latest"])])
    # Drop manifest.json: what remains is a plain OCI layout, read through index.json.
    oci = tmp_path / "oci.tar"
    with tarfile.open(path) as src, tarfile.open(oci, "w") as dst:
        for member in src.getmembers():
            if member.name != "manifest.json":
                dst.addfile(member, src.extractfile(member) if member.isfile() else None)
    [image] = read_archive(str(oci))
    assert image.repo_tags == ["app:1.0", "app:latest"]
    assert read_layers(image) == [BASE, APP]
    assert image.manifest_digest is not None


def test_one_image_named_twice_is_saved_once_with_both_tags(tmp_path):
    path = tmp_path / "out.tar"
    with open(path, "wb") as out:
        write_archive(out, [save_image([BASE], ["a:1"]), save_image([BASE], ["b:2", "a:1"])])
    with tarfile.open(path) as tar:
        doc = json.load(tar.extractfile("manifest.json"))
    assert [e["RepoTags"] for e in doc] == [["a:1", "b:2"]]
    [image] = read_archive(str(path))
    assert image.repo_tags == ["a:1", "b:2"]


def test_the_output_is_the_same_bytes_every_time(tmp_path):
    outs = []
    for _ in range(2):
        buf = io.BytesIO()
        write_archive(buf, [save_image([BASE, APP], ["app:1"])])
        outs.append(buf.getvalue())
    assert outs[0] == outs[1]


def test_a_layer_whose_content_is_not_its_diff_id_aborts_the_save():
    image = save_image([BASE], ["a:1"])
    image.layers[0].open = lambda: io.BytesIO(APP[:len(BASE)].ljust(len(BASE), b"\0"))
    with pytest.raises(SystemError, match="hashes to"):
        write_archive(io.BytesIO(), [image])
    image.layers[0].open = lambda: io.BytesIO(BASE[:100])
    with pytest.raises(SystemError, match="short"):
        write_archive(io.BytesIO(), [image])
    spooled = save_image([BASE], ["a:1"], known_size=False)
    spooled.layers[0].open = lambda: io.BytesIO(APP)
    with pytest.raises(SystemError, match="hashes to"):
        write_archive(io.BytesIO(), [spooled])


def test_layers_must_match_the_config():
    image = save_image([BASE, APP], ["a:1"])
    image.layers.pop()
    with pytest.raises(InvalidArgument, match="diff ids"):
        write_archive(io.BytesIO(), [image])


# ---- reading what others write ----------------------------------------------------------------------

def legacy_archive(tmp_path, link_type=tarfile.SYMTYPE) -> tuple[str, list[bytes]]:
    """As Docker before 25 saved two images sharing a base layer: <id>/layer.tar, <config>.json,
    the second copy of the shared layer a symlink to the first."""
    one, two = config_for([BASE, APP], "one"), config_for([BASE, OTHER], "two")
    link_target = "../base1/layer.tar" if link_type == tarfile.SYMTYPE else "base1/layer.tar"
    entries = [
        ("base1/VERSION", b"1.0"), ("base1/layer.tar", BASE), ("app1/layer.tar", APP),
        ("base2/layer.tar", None, link_target, link_type), ("other2/layer.tar", OTHER),
        (f"{sha(one)[7:]}.json", one), (f"{sha(two)[7:]}.json", two),
        ("manifest.json", json.dumps([
            {"Config": f"{sha(one)[7:]}.json", "RepoTags": ["one:latest"], "Layers": ["base1/layer.tar", "app1/layer.tar"]},
            {"Config": f"{sha(two)[7:]}.json", "RepoTags": None, "Layers": ["base2/layer.tar", "other2/layer.tar"]},
        ]).encode()),
        ("repositories", b'{"one":{"latest":"app1"}}'),
    ]
    return write_tar(tmp_path / "legacy.tar", entries), [one, two]


@pytest.mark.parametrize("link_type", [tarfile.SYMTYPE, tarfile.LNKTYPE])
def test_a_legacy_docker_archive_with_a_linked_shared_layer(tmp_path, link_type):
    path, configs = legacy_archive(tmp_path, link_type)
    one, two = read_archive(path)
    assert (one.config, one.repo_tags, two.config, two.repo_tags) == (configs[0], ["one:latest"], configs[1], [])
    assert read_layers(one) == [BASE, APP] and read_layers(two) == [BASE, OTHER]


def test_compressed_archives_and_compressed_layers_are_read(tmp_path):
    path, _ = legacy_archive(tmp_path)
    with open(path, "rb") as f:
        raw = f.read()
    for name, pack in (("a.tar.gz", gzip.compress), ("a.tar.zst", zstandard.ZstdCompressor().compress)):
        (tmp_path / name).write_bytes(pack(raw))
        assert [read_layers(i) for i in read_archive(str(tmp_path / name))] == [[BASE, APP], [BASE, OTHER]]
    assert [n for n in os.listdir(tmp_path) if n.startswith("tmp")] == []    # the spool is unnamed
    config = config_for([BASE])
    gz = write_tar(tmp_path / "gzlayer.tar", [
        ("l.tar.gz", gzip.compress(BASE)), ("c.json", config),
        ("manifest.json", json.dumps([{"Config": "c.json", "RepoTags": ["g:1"], "Layers": ["l.tar.gz"]}]).encode())])
    [image] = read_archive(gz)
    assert read_layers(image) == [BASE]


def oci_layout(tmp_path, platforms: dict[str, tuple[str, bool]], compress=gzip.compress,
               layer_type=manifests.OCI_LAYER_GZIP, ref_name="app:1.0", extra_layers=()) -> str:
    """An OCI layout with one multi-platform index: {"linux/amd64": (cmd, blobs present)}."""
    entries, index_entries = [("oci-layout", b'{"imageLayoutVersion":"1.0.0"}')], []
    for text, (cmd, present) in platforms.items():
        platform = Platform.parse(text)
        layers = [layer_tar({"who": cmd.encode()}), *extra_layers]
        config = config_for(layers, cmd, platform.architecture)
        blobs = [compress(l) for l in layers]
        manifest = manifests.build_manifest(Descriptor(manifests.OCI_CONFIG, sha(config), len(config)),
                                            [Descriptor(layer_type, sha(b), len(b)) for b in blobs],
                                            manifests.OCI_MANIFEST)
        index_entries.append(Descriptor(manifests.OCI_MANIFEST, sha(manifest), len(manifest), platform=platform))
        if present:
            entries += [(f"blobs/sha256/{sha(x)[7:]}", x) for x in (manifest, config, *blobs)]
    nested = manifests.build_index(index_entries)
    entries.append((f"blobs/sha256/{sha(nested)[7:]}", nested))
    top = {"schemaVersion": 2, "manifests": [{"mediaType": manifests.OCI_INDEX, "digest": sha(nested),
                                              "size": len(nested),
                                              "annotations": {manifests.ANNOTATION_REF_NAME: ref_name}}]}
    entries.append(("index.json", json.dumps(top).encode()))
    return write_tar(tmp_path / "oci.tar", entries)


def host() -> str:
    return str(manifests.host_platform())


def test_an_oci_layout_with_a_nested_index_gives_the_host_s_image(tmp_path):
    other = "linux/s390x" if manifests.host_platform().architecture != "s390x" else "linux/ppc64le"
    path = oci_layout(tmp_path, {other: ("theirs", True), host(): ("mine", True)})
    [image] = read_archive(path)
    assert json.loads(image.config)["config"]["Cmd"] == ["mine"]
    assert image.repo_tags == ["app:1.0"]
    assert read_layers(image) == [layer_tar({"who": b"mine"})]


def test_a_platform_whose_blobs_were_not_saved_is_passed_over(tmp_path):
    path = oci_layout(tmp_path, {host(): ("absent", False), "linux/386": ("fallback", True)}) \
        if manifests.host_platform().architecture == "amd64" else \
        oci_layout(tmp_path, {host(): ("mine", True), "linux/s390x": ("absent", False)})
    [image] = read_archive(path)
    assert json.loads(image.config)["config"]["Cmd"] in (["fallback"], ["mine"])


def test_no_image_for_this_platform_says_so(tmp_path):
    path = oci_layout(tmp_path, {"windows/amd64": ("win", True)})
    with pytest.raises(NotFound, match=f"no matching manifest for {host()}"):
        read_archive(path)


@pytest.mark.parametrize("ref_name,tags", [("latest", []), ("localhost/app", ["localhost/app:latest"]),
                                           ("app:2", ["app:2"]), ("NOT A REF:x", [])])
def test_oci_ref_names_count_only_when_they_name_a_repository(tmp_path, ref_name, tags):
    [image] = read_archive(oci_layout(tmp_path, {host(): ("mine", True)}, ref_name=ref_name))
    assert image.repo_tags == tags


def test_zstd_and_uncompressed_oci_layers(tmp_path):
    path = oci_layout(tmp_path, {host(): ("z", True)}, compress=zstandard.ZstdCompressor().compress,
                      layer_type=manifests.OCI_LAYER_ZSTD, extra_layers=(APP,))
    [image] = read_archive(path)
    assert read_layers(image) == [layer_tar({"who": b"z"}), APP]
    path = oci_layout(tmp_path, {host(): ("t", True)}, compress=bytes, layer_type=manifests.OCI_LAYER)
    [image] = read_archive(path)
    assert read_layers(image) == [layer_tar({"who": b"t"})]


def test_foreign_layers_are_unsupported(tmp_path):
    path = oci_layout(tmp_path, {host(): ("f", True)}, layer_type="application/vnd.oci.image.layer.nondistributable.v1.tar+gzip")
    with pytest.raises(Unsupported, match="non-distributable"):
        read_archive(path)


def test_layers_open_in_threads_independently(tmp_path):
    from concurrent.futures import ThreadPoolExecutor
    path = tmp_path / "out.tar"
    with open(path, "wb") as out:
        write_archive(out, [save_image([BASE, APP, OTHER], ["a:1"])])
    with open_archive(str(path)) as archive:
        [image] = archive.images
        with ThreadPoolExecutor(3) as pool:
            datas = list(pool.map(lambda l: l.open().read(), image.layers * 5))
    assert datas == [BASE, APP, OTHER] * 5
    with pytest.raises(ValueError, match="closed"):
        image.layers[0].open().read()


# ---- hostile and broken archives -----------------------------------------------------------------

def docker_archive(tmp_path, layers_paths, extra=(), config=None, config_name=None, name="bad.tar") -> str:
    config = config if config is not None else config_for([BASE])
    config_name = config_name or f"{sha(config)[7:]}.json"
    entries = [("ok/layer.tar", BASE), (config_name, config), *extra,
               ("manifest.json", json.dumps([{"Config": config_name, "RepoTags": ["bad:1"],
                                              "Layers": layers_paths}]).encode())]
    return write_tar(tmp_path / name, entries)


@pytest.mark.parametrize("layer_path,extra,message", [
    ("../ok/layer.tar", (), "not a relative path inside the archive"),
    ("/etc/passwd", (), "not a relative path inside the archive"),
    ("ok/../../etc/passwd", (), "not a relative path inside the archive"),
    ("missing/layer.tar", (), "layer missing/layer.tar not found"),
    ("esc/layer.tar", (("esc/layer.tar", None, "../../etc/passwd", tarfile.SYMTYPE),), "links outside the archive"),
    ("abs/layer.tar", (("abs/layer.tar", None, "/etc/passwd", tarfile.SYMTYPE),), "links outside the archive"),
    ("loop/layer.tar", (("loop/layer.tar", None, "layer.tar", tarfile.SYMTYPE),), "too many levels of links"),
    ("dir", (("dir/x", b"x"),), "not found"),
    ("fifo", (("fifo", None, "", tarfile.FIFOTYPE),), "not a regular file"),
    ("../../x", (("../../x", BASE),), "not a relative path"),     # a hostile member is never reachable
])
def test_hostile_layer_paths_are_refused(tmp_path, layer_path, extra, message):
    with pytest.raises(InvalidArgument, match=message) as exc:
        read_archive(docker_archive(tmp_path, [layer_path], extra))
    assert str(exc.value).startswith("invalid archive: ")


def test_a_config_that_does_not_hash_to_its_name_is_refused(tmp_path):
    config = config_for([BASE])
    path = docker_archive(tmp_path, ["ok/layer.tar"], config=config, config_name="0" * 64 + ".json")
    with pytest.raises(InvalidArgument, match="does not match its digest"):
        read_archive(path)


def test_layer_count_must_match_the_config(tmp_path):
    with pytest.raises(InvalidArgument, match="lists 1 layers but manifest.json names 2"):
        read_archive(docker_archive(tmp_path, ["ok/layer.tar", "ok/layer.tar"]))


def test_structural_errors_are_clear(tmp_path):
    with pytest.raises(InvalidArgument, match="manifest.json and index.json are both missing"):
        read_archive(write_tar(tmp_path / "a.tar", [("repositories", b"{}")]))
    (tmp_path / "junk.tar").write_bytes(os.urandom(4096))
    with pytest.raises(InvalidArgument, match="invalid archive"):
        read_archive(str(tmp_path / "junk.tar"))
    with pytest.raises(InvalidArgument, match="manifest.json is not valid JSON"):
        read_archive(write_tar(tmp_path / "b.tar", [("manifest.json", b"{nope")]))
    with pytest.raises(InvalidArgument, match="manifest.json is not a list"):
        read_archive(write_tar(tmp_path / "c.tar", [("manifest.json", b"{}")]))
    config = config_for([BASE])
    bad_tag = write_tar(tmp_path / "d.tar", [
        ("ok/layer.tar", BASE), ("c.json", config),
        ("manifest.json", json.dumps([{"Config": "c.json", "RepoTags": ["Bad Tag"], "Layers": ["ok/layer.tar"]}]).encode())])
    with pytest.raises(InvalidArgument, match="invalid tag 'Bad Tag'"):
        read_archive(bad_tag)
    (tmp_path / "trunc.tar.gz").write_bytes(gzip.compress(b"x" * 100_000)[:-50])
    with pytest.raises(InvalidArgument, match="cannot decompress"):
        read_archive(str(tmp_path / "trunc.tar.gz"))


def test_oci_blobs_must_match_their_descriptors(tmp_path):
    path = oci_layout(tmp_path, {host(): ("mine", True)})
    with tarfile.open(path) as src:
        members = [(m, src.extractfile(m).read()) for m in src.getmembers()]
    index = json.loads(dict((m.name, d) for m, d in members)["index.json"])
    nested_name = "blobs/sha256/" + index["manifests"][0]["digest"][7:]
    tampered = tmp_path / "tampered.tar"
    with tarfile.open(tampered, "w") as dst:
        for member, data in members:
            if member.name == nested_name:
                data = data.replace(b"schemaVersion", b"schemaversion")
                member.size = len(data)
            dst.addfile(member, io.BytesIO(data))
    with pytest.raises(InvalidArgument, match="does not match its descriptor"):
        read_archive(str(tampered))


def test_an_oci_layout_with_only_artifacts_has_no_images(tmp_path):
    sig = b"{}"
    index = {"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.example.sig", "digest": sha(sig),
                                                "size": 2}]}
    path = write_tar(tmp_path / "a.tar", [("index.json", json.dumps(index).encode()), (f"blobs/sha256/{sha(sig)[7:]}", sig)])
    with pytest.raises(InvalidArgument, match="lists no image manifests"):
        read_archive(path)
