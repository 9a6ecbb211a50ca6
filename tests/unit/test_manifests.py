"""Manifests, indexes and platform selection: parsing untrusted JSON, media type detection,
containerd's platform matching, Docker's messages."""

from __future__ import annotations

import hashlib
import json

import pytest

from hako.errdefs import InvalidArgument, NotFound, Unsupported
from hako.images import manifests as m
from hako.images.manifests import Descriptor, Index, Platform


def digest(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


CONFIG = {"mediaType": m.DOCKER_CONFIG, "size": 1469, "digest": digest("config")}
LAYER = {"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 2591, "digest": digest("l1")}


def docker_manifest(**extra) -> bytes:
    return json.dumps({"schemaVersion": 2, "mediaType": m.DOCKER_MANIFEST, "config": CONFIG,
                       "layers": [LAYER], **extra}).encode()


def entry(platform: dict | None, name: str, media_type: str = m.OCI_MANIFEST) -> dict:
    out = {"mediaType": media_type, "digest": digest(name), "size": 100}
    if platform is not None:
        out["platform"] = platform
    return out


def index_of(*entries) -> Index:
    return m.parse_index(m.OCI_INDEX, json.dumps({"schemaVersion": 2, "mediaType": m.OCI_INDEX,
                                                  "manifests": list(entries)}))


# ---- parsing ---------------------------------------------------------------------------------------

def test_a_docker_manifest_parses_into_descriptors():
    manifest = m.parse_manifest(m.DOCKER_MANIFEST, docker_manifest())
    assert manifest.media_type == m.DOCKER_MANIFEST
    assert manifest.config == Descriptor(m.DOCKER_CONFIG, CONFIG["digest"], 1469)
    assert manifest.layers == [Descriptor(LAYER["mediaType"], LAYER["digest"], 2591)]


@pytest.mark.parametrize("content_type", [None, "", "application/json", "text/plain; charset=utf-8",
                                          "application/octet-stream"])
def test_the_media_type_is_detected_when_the_content_type_is_generic(content_type):
    assert m.detect_media_type(docker_manifest(), content_type) == m.DOCKER_MANIFEST
    oci_without_type = json.dumps({"schemaVersion": 2, "config": {**CONFIG, "mediaType": m.OCI_CONFIG},
                                   "layers": []})
    assert m.detect_media_type(oci_without_type, content_type) == m.OCI_MANIFEST
    index_without_type = json.dumps({"schemaVersion": 2, "manifests": []})
    assert m.detect_media_type(index_without_type, content_type) == m.OCI_INDEX
    assert isinstance(m.parse(content_type, index_without_type), Index)


def test_a_document_of_no_known_shape_is_invalid():
    with pytest.raises(InvalidArgument, match="neither a manifest nor an index"):
        m.detect_media_type(json.dumps({"schemaVersion": 2, "foo": 1}), "application/json")


def test_a_specific_content_type_is_used_when_the_body_has_no_media_type():
    body = json.dumps({"schemaVersion": 2, "config": CONFIG, "layers": [LAYER]})
    assert m.detect_media_type(body, m.DOCKER_MANIFEST + "; charset=utf-8") == m.DOCKER_MANIFEST


@pytest.mark.parametrize("body,content_type", [
    ({"schemaVersion": 1, "name": "x", "fsLayers": []}, None),
    ({"schemaVersion": 1, "name": "x", "fsLayers": []}, m.DOCKER_MANIFEST_V1_SIGNED),
    ({"schemaVersion": 2}, m.DOCKER_MANIFEST_V1),
])
def test_schema_1_is_unsupported_with_a_clear_message(body, content_type):
    with pytest.raises(Unsupported, match="schema 1 manifests are not supported"):
        m.parse_manifest(content_type, json.dumps(body))


def test_an_unknown_media_type_is_unsupported_and_names_it():
    body = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.example.thing+json"})
    with pytest.raises(Unsupported, match="application/vnd.example.thing"):
        m.parse(None, body)
    with pytest.raises(Unsupported, match="application/x-other"):
        m.parse("application/x-other", json.dumps({"schemaVersion": 2, "layers": []}))


@pytest.mark.parametrize("body,message", [
    (b"not json", "not JSON"),
    (b"[1, 2]", "not a JSON object"),
    (json.dumps({"schemaVersion": 2, "foo": 1}).encode(), "no config"),
    (docker_manifest(layers="x"), "layers must be a list"),
    (docker_manifest(config={**CONFIG, "digest": "sha256:../../x"}), "invalid digest"),
    (docker_manifest(config={**CONFIG, "size": -1}), "invalid size"),
    (docker_manifest(config={**CONFIG, "size": "12"}), "invalid size"),
    (docker_manifest(layers=[{**LAYER, "digest": "sha256:" + "A" * 64}]), "invalid digest"),
    (docker_manifest(schemaVersion=3), "schemaVersion"),
])
def test_malformed_manifests_are_invalid_arguments(body, message):
    with pytest.raises(InvalidArgument, match=message):
        m.parse_manifest(m.DOCKER_MANIFEST, body)


def test_other_digest_algorithms_are_unsupported():
    body = docker_manifest(config={**CONFIG, "digest": "sha512:" + "ab" * 64})
    with pytest.raises(Unsupported, match="sha512"):
        m.parse_manifest(None, body)


def test_asking_for_a_manifest_and_getting_an_index_is_an_error():
    with pytest.raises(InvalidArgument, match="expected an image manifest"):
        m.parse_manifest(None, json.dumps({"schemaVersion": 2, "mediaType": m.OCI_INDEX, "manifests": []}))
    with pytest.raises(InvalidArgument, match="expected an index"):
        m.parse_index(None, docker_manifest())


def test_index_entries_carry_their_platform_and_annotations():
    index = m.parse_index(None, json.dumps({"schemaVersion": 2, "mediaType": m.DOCKER_MANIFEST_LIST, "manifests": [
        {**entry({"architecture": "arm", "os": "linux", "variant": "v7"}, "a"), "annotations": {"k": "v"}},
        entry({"architecture": "amd64", "os": "windows", "os.version": "10.0.17763.1",
               "os.features": ["win32k"]}, "b")]}))
    assert index.media_type == m.DOCKER_MANIFEST_LIST
    assert index.manifests[0].platform == Platform("linux", "arm", "v7")
    assert index.manifests[0].annotations == {"k": "v"}
    assert index.manifests[1].platform == Platform("windows", "amd64", "", "10.0.17763.1", ("win32k",))
    assert index.manifests[1].to_json()["platform"]["os.version"] == "10.0.17763.1"


def test_check_image_manifest_refuses_artifacts_and_foreign_layers():
    helm = m.parse_manifest(None, docker_manifest(config={**CONFIG, "mediaType": "application/vnd.cncf.helm.config.v1+json"}))
    with pytest.raises(Unsupported, match="helm"):
        m.check_image_manifest(helm)
    foreign = m.parse_manifest(None, docker_manifest(
        layers=[{**LAYER, "mediaType": "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"}]))
    with pytest.raises(Unsupported, match="foreign"):
        m.check_image_manifest(foreign)
    m.check_image_manifest(m.parse_manifest(None, docker_manifest()))


# ---- building --------------------------------------------------------------------------------------

@pytest.mark.parametrize("media_type", [m.DOCKER_MANIFEST, m.OCI_MANIFEST])
def test_build_manifest_round_trips_and_is_stable(media_type):
    config = Descriptor(m.DOCKER_CONFIG if media_type == m.DOCKER_MANIFEST else m.OCI_CONFIG, digest("c"), 10)
    layers = [Descriptor("application/vnd.docker.image.rootfs.diff.tar.gzip", digest("l"), 20,
                         platform=Platform("linux", "amd64"))]
    body = m.build_manifest(config, layers, media_type)
    assert body == m.build_manifest(config, layers, media_type)
    doc = json.loads(body)
    assert list(doc) == ["schemaVersion", "mediaType", "config", "layers"]
    assert "platform" not in doc["layers"][0]
    parsed = m.parse_manifest(None, body)
    assert parsed.media_type == media_type and parsed.config == config
    assert [(l.digest, l.size) for l in parsed.layers] == [(digest("l"), 20)]


def test_build_index_round_trips():
    entries = [Descriptor(m.OCI_MANIFEST, digest("a"), 5, platform=Platform("linux", "arm64", "v8"),
                          annotations={m.ANNOTATION_REF_NAME: "latest"})]
    index = m.parse_index(None, m.build_index(entries))
    assert index.manifests == entries


# ---- platforms --------------------------------------------------------------------------------------

@pytest.mark.parametrize("text,expected", [
    ("linux/amd64", Platform("linux", "amd64")),
    ("linux/x86_64", Platform("linux", "amd64")),
    ("linux/amd64/v1", Platform("linux", "amd64")),
    ("linux/amd64/v3", Platform("linux", "amd64", "v3")),
    ("linux/arm64", Platform("linux", "arm64")),
    ("linux/aarch64", Platform("linux", "arm64")),
    ("linux/arm64/v8", Platform("linux", "arm64", "v8")),
    ("linux/arm", Platform("linux", "arm")),
    ("linux/arm/v7", Platform("linux", "arm", "v7")),
    ("linux/arm/6", Platform("linux", "arm", "v6")),
    ("linux/armhf", Platform("linux", "arm")),      # containerd drops arm's default v7 here
    ("linux/i386", Platform("linux", "386")),
    ("Linux/ARM64", Platform("linux", "arm64")),
    ("arm64", Platform("linux", "arm64")),
    ("linux/s390x", Platform("linux", "s390x")),
])
def test_platform_parse(text, expected):
    assert Platform.parse(text) == expected


@pytest.mark.parametrize("text", ["", "/", "linux//amd64", "a/b/c/d", "linux/amd64 x", "nonsense"])
def test_platform_parse_rejects(text):
    with pytest.raises(InvalidArgument, match="invalid platform"):
        Platform.parse(text)


def test_platform_format_is_docker_s():
    assert str(Platform.parse("linux/arm64/v8")) == "linux/arm64/v8"
    assert str(Platform.parse("linux/amd64")) == "linux/amd64"


AMD64, AMD64_V2, AMD64_V3 = ({"os": "linux", "architecture": "amd64", **v} for v in ({}, {"variant": "v2"}, {"variant": "v3"}))
ARM64 = {"os": "linux", "architecture": "arm64", "variant": "v8"}
ARM64_NOVARIANT = {"os": "linux", "architecture": "arm64"}
ARMV7 = {"os": "linux", "architecture": "arm", "variant": "v7"}
ARMV6 = {"os": "linux", "architecture": "arm", "variant": "v6"}
ARMV5 = {"os": "linux", "architecture": "arm", "variant": "v5"}
I386 = {"os": "linux", "architecture": "386"}
WINDOWS = {"os": "windows", "architecture": "amd64"}
UNKNOWN = {"os": "unknown", "architecture": "unknown"}


@pytest.mark.parametrize("wanted,entries,chosen", [
    ("linux/amd64", [("a", WINDOWS), ("b", ARM64), ("c", AMD64)], "c"),
    ("linux/amd64", [("a", I386), ("b", AMD64)], "b"),           # the native one before 386
    ("linux/amd64", [("a", I386)], "a"),                         # 386 runs on amd64
    ("linux/arm64", [("a", ARMV7), ("b", ARM64_NOVARIANT)], "b"),  # arm64 = arm64/v8
    ("linux/arm64/v8", [("a", ARMV6), ("b", ARMV7)], "b"),       # 32-bit fallback, best variant
    ("linux/arm/v7", [("a", ARMV5), ("b", ARMV6)], "b"),
    ("linux/arm", [("a", ARMV7)], "a"),                         # arm means v7
    ("linux/arm/v6", [("a", ARMV7), ("b", ARMV5)], "b"),         # never a newer variant
    ("linux/amd64/v3", [("a", AMD64), ("b", AMD64_V2), ("c", AMD64_V3)], "c"),
    ("linux/amd64/v2", [("a", AMD64_V3), ("b", AMD64)], "b"),
    ("linux/amd64", [("a", UNKNOWN), ("b", AMD64), ("c", AMD64)], "b"),   # index order among equals
    ("linux/amd64", [("a", None), ("b", AMD64)], "b"),           # no platform: last resort
    ("linux/amd64", [("a", None)], "a"),
])
def test_select_manifest(wanted, entries, chosen):
    index = index_of(*(entry(p, n) for n, p in entries))
    assert m.select_manifest(index, Platform.parse(wanted)).digest == digest(chosen)


@pytest.mark.parametrize("wanted,message", [
    ("linux/amd64", "no matching manifest for linux/amd64 in the manifest list entries"),
    ("linux/arm64/v8", "no matching manifest for linux/arm64/v8 in the manifest list entries"),
    ("linux/arm/v5", "no matching manifest for linux/arm/v5 in the manifest list entries"),
])
def test_no_match_gives_docker_s_message(wanted, message):
    index = index_of(entry(WINDOWS, "w"), entry(UNKNOWN, "attestation"),
                     entry({"os": "linux", "architecture": "s390x"}, "s390x"))
    with pytest.raises(NotFound) as exc:
        m.select_manifest(index, Platform.parse(wanted))
    assert str(exc.value) == message


def test_select_skips_artifacts_and_unavailable_entries():
    index = index_of(entry(AMD64, "sig", "application/vnd.example.signature"), entry(AMD64, "a"), entry(I386, "b"))
    assert m.select_manifest(index, Platform.parse("linux/amd64")).digest == digest("a")
    chosen = m.select_manifest(index, Platform.parse("linux/amd64"), available=lambda d: d.digest != digest("a"))
    assert chosen.digest == digest("b")


def test_the_host_amd64_level_decides_among_variants(monkeypatch):
    monkeypatch.setattr(m, "host_platform", lambda: Platform("linux", "amd64"))
    monkeypatch.setattr(m, "host_amd64_level", lambda: 2)
    index = index_of(entry(AMD64, "v1"), entry(AMD64_V3, "v3"), entry(AMD64_V2, "v2"))
    assert m.select_manifest(index).digest == digest("v2")
    # Asked for another architecture, the host's level plays no part.
    monkeypatch.setattr(m, "host_platform", lambda: Platform("linux", "arm64", "v8"))
    assert m.select_manifest(index, Platform.parse("linux/amd64")).digest == digest("v1")


def test_amd64_level_from_cpuinfo():
    v2 = "cx16 lahf_lm popcnt sse4_1 sse4_2 ssse3"
    v3 = v2 + " avx avx2 bmi1 bmi2 f16c fma abm movbe xsave"
    assert m.host_amd64_level("flags\t: fpu sse2\n") == 1
    assert m.host_amd64_level(f"flags\t: fpu {v2}\n") == 2
    assert m.host_amd64_level(f"flags\t: {v3}\n") == 3
    assert m.host_amd64_level(f"flags\t: {v3} avx512f avx512bw avx512cd avx512dq avx512vl\n") == 4
    assert m.host_amd64_level(f"flags\t: {v2} avx512f avx512bw avx512cd avx512dq avx512vl\n") == 2


def test_host_platform_uses_go_names():
    host = m.host_platform()
    assert host.os == "linux"
    assert host.architecture in ("amd64", "arm64", "arm", "386", "ppc64le", "s390x", "riscv64")
    if host.architecture == "arm64":
        assert host.variant == "v8"
