"""hako's registry client against Debian's real docker-registry, with skopeo as the second party.

skopeo pushes the images the client reads, and reads back what the client pushes. Faults (a
dropped connection, 503s, a tampered manifest, pagination) come from a small proxy in front of the
real registry.
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import io
import json
import os
import time

import aiohttp
import pytest
from aiohttp import web

from hako import errdefs
from hako.images.registry import MANIFEST_TYPES, Credentials, Descriptor, RegistryClient, RegistryConfig
from tests.image_layouts import (OCI_CONFIG, OCI_INDEX, OCI_LAYER_GZIP, OCI_MANIFEST, digest_of, layer_tar, skopeo,
                                 skopeo_push, skopeo_raw_manifest, write_oci_layout)
from tests import registry_servers
from tests.registry_servers import RegistryServer, TokenServer, free_port, host_address

registry = registry_servers.registry     # the module's plain registry (a fixture)

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
BIG = os.urandom(3 * 1024 * 1024)        # incompressible, so the gzip layer is big too


def run(coro):
    return asyncio.run(coro)


class MemorySink:
    """A blob sink as the engine's content store offers it: offset, write, reset."""

    def __init__(self):
        self.data = bytearray()
        self.resets = 0

    @property
    def offset(self) -> int:
        return len(self.data)

    def write(self, chunk: bytes) -> None:
        self.data += chunk

    def reset(self) -> None:
        self.data.clear()
        self.resets += 1

    def digest(self) -> str:
        return digest_of(bytes(self.data))


async def fetch(client: RegistryClient, repository: str, digest: str, size: int) -> MemorySink:
    sink = MemorySink()
    await client.fetch_blob(repository, Descriptor(OCI_LAYER_GZIP, digest, size), sink)
    return sink


def _image(files: dict[str, bytes], arch="amd64"):
    """(layer blob, config blob, manifest body) of a one-layer OCI image, built in memory."""
    tar = layer_tar(files)
    layer = gzip.compress(tar, mtime=0)
    config = json.dumps({"architecture": arch, "os": "linux", "config": {},
                         "rootfs": {"type": "layers", "diff_ids": [digest_of(tar)]}}).encode()
    manifest = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                           "config": {"mediaType": OCI_CONFIG, "digest": digest_of(config), "size": len(config)},
                           "layers": [{"mediaType": OCI_LAYER_GZIP, "digest": digest_of(layer), "size": len(layer)}]}
                          ).encode()
    return layer, config, manifest


async def push_image(client: RegistryClient, repository: str, tag: str, files, chunk_size=None, progress=None):
    layer, config, manifest = _image(files)
    for blob in (layer, config):
        await client.upload_blob(repository, digest_of(blob), len(blob), lambda b=blob: io.BytesIO(b),
                                 progress=progress, chunk_size=chunk_size)
    return await client.put_manifest(repository, tag, OCI_MANIFEST, manifest), manifest


def _uploads_left(registry, repository: str) -> list[str]:
    """Upload sessions of ``repository`` still holding data. (A cancelled one keeps an empty
    ``hashstates`` directory in distribution 2.8, so only ``data`` files count.)"""
    found = []
    for root, _, files in os.walk(os.path.join(registry.storage, "docker/registry/v2/repositories", repository)):
        if os.path.basename(os.path.dirname(root)) == "_uploads" and "data" in files:
            found.append(root)
    return found


@pytest.fixture(scope="module")
def images(registry, tmp_path_factory):
    """skopeo pushes: app:oci (OCI), app:v2s2 (Docker schema 2), multi:latest (an OCI index)."""
    base = tmp_path_factory.mktemp("layouts")
    single = write_oci_layout(base / "single", {"amd64": {"hello.txt": b"hello\n", "big.bin": BIG}})
    multi = write_oci_layout(base / "multi", {"amd64": {"a": b"amd64"}, "arm64": {"a": b"arm64"}}, index=True)
    skopeo_push(single, "latest", f"{registry.host}/app:oci")
    skopeo_push(single, "latest", f"{registry.host}/app:v2s2", "--format", "v2s2")
    skopeo_push(multi, "latest", f"{registry.host}/multi:latest", "--all")
    return {"single": single, "multi": multi}


# ---- manifests ----------------------------------------------------------------------------------

def test_get_manifest_by_tag_oci(registry, images):
    async def main():
        async with RegistryClient(registry.host, RegistryConfig()) as client:
            return await client.get_manifest("app", "oci", MANIFEST_TYPES)
    media_type, body, digest = run(main())
    assert media_type == OCI_MANIFEST
    assert digest == digest_of(body) == images["single"].manifests["amd64"]
    assert body == skopeo_raw_manifest(f"{registry.host}/app:oci")


def test_get_manifest_schema2_by_tag_then_by_digest(registry, images):
    async def main():
        async with RegistryClient(registry.host, RegistryConfig()) as client:
            by_tag = await client.get_manifest("app", "v2s2", MANIFEST_TYPES)
            by_digest = await client.get_manifest("app", by_tag[2], MANIFEST_TYPES)
            return by_tag, by_digest
    (media_type, body, digest), by_digest = run(main())
    assert media_type == DOCKER_MANIFEST
    assert json.loads(body)["config"]["mediaType"] == "application/vnd.docker.container.image.v1+json"
    assert digest == digest_of(body) != images["single"].manifests["amd64"]
    assert by_digest == (media_type, body, digest)


def test_get_index_and_its_manifests(registry, images):
    async def main():
        async with RegistryClient(registry.host, RegistryConfig()) as client:
            index = await client.get_manifest("multi", "latest", MANIFEST_TYPES)
            children = [await client.get_manifest("multi", entry["digest"], MANIFEST_TYPES)
                        for entry in json.loads(index[1])["manifests"]]
            return index, children
    (media_type, body, digest), children = run(main())
    assert media_type == OCI_INDEX
    assert digest == images["multi"].index_digest
    platforms = [entry["platform"]["architecture"] for entry in json.loads(body)["manifests"]]
    assert platforms == ["amd64", "arm64"]
    assert [child[2] for child in children] == [images["multi"].manifests["amd64"], images["multi"].manifests["arm64"]]
    assert all(child[0] == OCI_MANIFEST for child in children)


def test_missing_manifest_and_repository(registry, images):
    async def main(repository, reference):
        async with RegistryClient(registry.host, RegistryConfig()) as client:
            await client.get_manifest(repository, reference, MANIFEST_TYPES)
    with pytest.raises(errdefs.NotFound) as missing_tag:
        run(main("app", "nope"))
    assert str(missing_tag.value) == "manifest unknown: manifest unknown"
    assert missing_tag.value.codes == ("MANIFEST_UNKNOWN",)
    with pytest.raises(errdefs.NotFound):
        run(main("no/such/repo", "latest"))
    with pytest.raises(errdefs.NotFound):
        run(main("app", "sha256:" + "0" * 64))


def test_connection_refused_is_unavailable_with_the_url():
    port = free_port()

    async def main():
        async with RegistryClient(f"127.0.0.1:{port}", RegistryConfig()) as client:
            await client.get_manifest("app", "latest", MANIFEST_TYPES)
    started = time.monotonic()
    with pytest.raises(errdefs.Unavailable) as refused:
        run(main())
    assert str(refused.value) == (f'Get "http://127.0.0.1:{port}/v2/": dial tcp 127.0.0.1:{port}: '
                                  f"connect: connection refused")
    assert time.monotonic() - started < 1.0      # an unreachable registry is not retried for seconds


# ---- blobs --------------------------------------------------------------------------------------

def test_fetch_blob_matches_its_digest(registry, images):
    digest, blob = images["single"].layers["amd64"]

    async def main():
        async with RegistryClient(registry.host, RegistryConfig()) as client:
            return await fetch(client, "app", digest, len(blob))
    sink = run(main())
    assert sink.digest() == digest and bytes(sink.data) == blob and sink.resets == 0


def test_three_blobs_at_once_with_one_client(registry, images):
    digest, blob = images["single"].layers["amd64"]
    small = [images["multi"].layers[arch] for arch in ("amd64", "arm64")]

    async def main():
        async with RegistryClient(registry.host, RegistryConfig()) as client:
            return await asyncio.gather(fetch(client, "app", digest, len(blob)),
                                        *(fetch(client, "multi", d, len(b)) for d, b in small))
    sinks = run(main())
    assert [s.digest() for s in sinks] == [digest, small[0][0], small[1][0]]


def test_blob_bigger_than_its_descriptor_is_refused(registry, images):
    digest, blob = images["single"].layers["amd64"]

    async def main(size):
        async with RegistryClient(registry.host, RegistryConfig(), retry_delays=(0.01,)) as client:
            sink = MemorySink()
            try:
                await client.fetch_blob("app", Descriptor(OCI_LAYER_GZIP, digest, size), sink)
            finally:
                assert sink.offset <= size       # never more than the descriptor says
    with pytest.raises(errdefs.SystemError, match="expected 1000"):
        run(main(1000))
    with pytest.raises(errdefs.SystemError, match="unexpected EOF"):
        run(main(len(blob) + 10))


def test_blob_exists(registry, images):
    digest, blob = images["single"].layers["amd64"]

    async def main():
        async with RegistryClient(registry.host, RegistryConfig()) as client:
            return (await client.blob_exists("app", digest), await client.blob_exists("app", "sha256:" + "1" * 64),
                    await client.blob_exists("multi", digest))
    assert run(main()) == (len(blob), None, None)


class FaultProxy:
    """An HTTP proxy in front of the registry that misbehaves on request: ``fail_blobs`` 503s
    before passing blob GETs on, ``cut_blobs`` blob replies cut halfway, ``tamper_manifests``
    manifest bodies changed by a byte, ``page_size`` tag lists paginated by the proxy,
    ``ignore_range`` whole blobs served whatever Range asks, ``redirect_blobs`` blob GETs sent
    to "storage" on another origin (``localhost`` rather than 127.0.0.1), as S3-backed registries do;
    the storage passes them on with ``storage_auth``, as a presigned URL carries its own."""

    def __init__(self, upstream: str, fail_blobs=0, cut_blobs=0, tamper_manifests=False, page_size=0,
                 ignore_range=False, redirect_blobs=False, storage_auth=""):
        self.upstream = upstream
        self.redirect_blobs, self.storage_auth = redirect_blobs, storage_auth
        self.storage_requests: list[dict] = []
        self.ignore_range = ignore_range
        self.fail_blobs, self.cut_blobs = fail_blobs, cut_blobs
        self.tamper_manifests, self.page_size = tamper_manifests, page_size
        self.seen: list[tuple[str, str, str | None]] = []

    async def __aenter__(self):
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.handle)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.host = f"127.0.0.1:{site._server.sockets[0].getsockname()[1]}"
        self.session = aiohttp.ClientSession(auto_decompress=False)
        return self

    async def __aexit__(self, *exc):
        await self.session.close()
        await self.runner.cleanup()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.seen.append((request.method, request.path_qs, request.headers.get("Range")))
        is_blob = request.method == "GET" and "/blobs/sha256:" in request.path
        if is_blob and self.fail_blobs:
            self.fail_blobs -= 1
            return web.json_response({"errors": [{"code": "UNAVAILABLE", "message": "try later"}]}, status=503)
        if self.page_size and request.path.endswith("/tags/list"):
            return await self.tags_page(request)
        path_qs = request.path_qs
        if is_blob and self.redirect_blobs and not path_qs.startswith("/storage/"):
            port = self.host.rsplit(":", 1)[1]
            raise web.HTTPTemporaryRedirect(f"http://localhost:{port}/storage{path_qs}")
        if path_qs.startswith("/storage/"):
            self.storage_requests.append(dict(request.headers))
            path_qs = path_qs.removeprefix("/storage")
            is_blob = True
        dropped = ("content-length", "range") if self.ignore_range else ("content-length",)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in dropped}
        if request.path.startswith("/storage/") and self.storage_auth:
            headers["Authorization"] = self.storage_auth
        async with self.session.request(request.method, f"http://{self.upstream}{path_qs}", headers=headers,
                                        data=await request.read(), allow_redirects=False) as upstream:
            body = await upstream.read()
            reply_headers = {k: v for k, v in upstream.headers.items()
                             if k.lower() not in ("content-length", "transfer-encoding", "connection")}
            if self.tamper_manifests and "/manifests/" in request.path and upstream.status == 200:
                body += b"\n"           # still the same JSON, no longer the same digest
            if is_blob and self.cut_blobs and upstream.status in (200, 206):
                self.cut_blobs -= 1
                reply = web.StreamResponse(status=upstream.status, headers=reply_headers)
                reply.content_length = len(body)
                await reply.prepare(request)
                await reply.write(body[:len(body) // 2])
                request.transport.close()          # the connection drops mid-blob
                return reply
            return web.Response(status=upstream.status, headers=reply_headers, body=body)


    async def tags_page(self, request: web.Request) -> web.Response:
        # distribution 2.8 does not paginate tag lists: the proxy does, as the spec describes.
        async with self.session.get(f"http://{self.upstream}{request.path}") as upstream:
            listing = await upstream.json()
        tags = sorted(listing["tags"])
        after = request.query.get("last")
        rest = [tag for tag in tags if after is None or tag > after]
        page = rest[:self.page_size]
        headers = {}
        if len(rest) > len(page):
            headers["Link"] = f'<{request.path}?n={self.page_size}&last={page[-1]}>; rel="next"'
        return web.json_response({"name": listing["name"], "tags": page}, headers=headers)


def test_fetch_blob_resumes_after_a_dropped_connection(registry, images):
    digest, blob = images["single"].layers["amd64"]

    async def main():
        async with FaultProxy(registry.host, cut_blobs=1) as proxy:
            async with RegistryClient(proxy.host, RegistryConfig(), retry_delays=(0.05, 0.05, 0.05)) as client:
                sink = await fetch(client, "app", digest, len(blob))
            return sink, [s for s in proxy.seen if "/blobs/" in s[1]]
    sink, requests = run(main())
    assert sink.digest() == digest and sink.resets == 0
    assert len(requests) == 2
    assert requests[0][2] is None
    resumed_at = int(requests[1][2].removeprefix("bytes=").rstrip("-"))
    assert 0 < resumed_at <= len(blob) // 2       # resumed from what had arrived, not from 0


class SinkWithoutReset(MemorySink):
    reset = None


class AsyncSink(MemorySink):
    async def write(self, chunk: bytes) -> None:
        await asyncio.sleep(0)
        self.data += chunk


def test_fetch_blob_starts_over_when_the_server_cannot_resume(registry, images):
    digest, blob = images["single"].layers["amd64"]

    async def main(sink):
        async with FaultProxy(registry.host, cut_blobs=1, ignore_range=True) as proxy:
            async with RegistryClient(proxy.host, RegistryConfig(), retry_delays=(0.05,)) as client:
                await client.fetch_blob("app", Descriptor(OCI_LAYER_GZIP, digest, len(blob)), sink)
        return sink
    sink = run(main(MemorySink()))
    assert sink.digest() == digest and sink.resets == 1
    with pytest.raises(errdefs.SystemError, match="cannot resume"):
        run(main(SinkWithoutReset()))


def test_fetch_blob_into_an_async_sink(registry, images):
    digest, blob = images["single"].layers["amd64"]

    async def main():
        async with RegistryClient(registry.host, RegistryConfig()) as client:
            sink = AsyncSink()
            await client.fetch_blob("app", Descriptor(OCI_LAYER_GZIP, digest, len(blob)), sink)
            return sink
    assert run(main()).digest() == digest


def test_fetch_blob_follows_a_redirect_to_storage_and_resumes_there(basic_registry):
    layer = _image({"big": BIG})[0]
    creds = Credentials("alice", "secret")
    storage_auth = "Basic " + base64.b64encode(b"alice:secret").decode()

    async def main():
        async with RegistryClient(basic_registry.host, RegistryConfig(), creds) as client:
            await push_image(client, "redirected/app", "v1", {"big": BIG})
        async with FaultProxy(basic_registry.host, redirect_blobs=True, storage_auth=storage_auth,
                              cut_blobs=1) as proxy:
            async with RegistryClient(proxy.host, RegistryConfig(), creds, retry_delays=(0.05,)) as client:
                sink = await fetch(client, "redirected/app", digest_of(layer), len(layer))
            return sink, proxy.storage_requests
    sink, storage_requests = run(main())
    assert sink.digest() == digest_of(layer) and sink.resets == 0
    assert len(storage_requests) == 2 and storage_requests[1]["Range"].startswith("bytes=")
    # The registry's credentials never go to the storage's origin.
    assert all("Authorization" not in headers for headers in storage_requests)


def test_fetch_blob_retries_503_with_backoff(registry, images):
    digest, blob = images["single"].layers["amd64"]

    async def main(failures, **options):
        async with FaultProxy(registry.host, fail_blobs=failures) as proxy:
            async with RegistryClient(proxy.host, RegistryConfig(), **options) as client:
                started = time.monotonic()
                try:
                    sink = await fetch(client, "app", digest, len(blob))
                finally:
                    elapsed = time.monotonic() - started
                    blob_gets = [s for s in proxy.seen if "/blobs/" in s[1]]
            return sink, elapsed, blob_gets
    sink, elapsed, blob_gets = run(main(2))
    assert sink.digest() == digest
    assert len(blob_gets) == 3
    assert elapsed >= 1.4            # waited 0.5 s, then 1 s
    with pytest.raises(errdefs.Unavailable, match="unavailable: try later"):
        run(main(4, retry_delays=(0.01, 0.01, 0.01)))      # 1 try + 3 retries, all refused


def test_tampered_manifest_by_digest_is_refused(registry, images):
    expected = images["single"].manifests["amd64"]

    async def main():
        async with FaultProxy(registry.host, tamper_manifests=True) as proxy:
            async with RegistryClient(proxy.host, RegistryConfig()) as client:
                by_tag = await client.get_manifest("app", "oci", MANIFEST_TYPES)
                with pytest.raises(errdefs.SystemError, match=f"manifest verification failed for digest {expected}"):
                    await client.get_manifest("app", expected, MANIFEST_TYPES)
                return by_tag
    media_type, body, digest = run(main())
    # By tag there is nothing to check against: the digest is that of the bytes received.
    assert digest == digest_of(body) != expected


# ---- push ---------------------------------------------------------------------------------------

def test_push_monolithic_then_skopeo_copies_it(registry, tmp_path):
    sent = []

    async def main():
        async with RegistryClient(registry.host, RegistryConfig()) as client:
            return await push_image(client, "pushed/whole", "v1", {"big": BIG}, progress=sent.append)
    digest, manifest = run(main())
    assert digest == digest_of(manifest)
    assert skopeo_raw_manifest(f"{registry.host}/pushed/whole:v1") == manifest
    layer, config, _ = _image({"big": BIG})
    assert sent == [1 << 20, 2 << 20, 3 << 20, len(layer), len(config)]   # per MiB read, then the config
    # skopeo verifies every blob's digest as it copies.
    skopeo("copy", "--quiet", "--src-tls-verify=false", f"docker://{registry.host}/pushed/whole:v1",
           f"oci:{tmp_path}/copy:v1")
    assert json.loads((tmp_path / "copy" / "index.json").read_text())["manifests"][0]["digest"] == digest
    assert _uploads_left(registry, "pushed/whole") == []


def test_push_chunked(registry):
    sent = []
    layer = _image({"big": BIG})[0]

    async def main():
        async with RegistryClient(registry.host, RegistryConfig()) as client:
            return await push_image(client, "pushed/chunks", "v1", {"big": BIG}, chunk_size=1024 * 1024,
                                    progress=sent.append)
    digest, manifest = run(main())
    assert skopeo_raw_manifest(f"{registry.host}/pushed/chunks:v1") == manifest
    assert sent[:4] == [1 << 20, 2 << 20, 3 << 20, len(layer)]    # one call per PATCH
    inspected = json.loads(skopeo("inspect", "--tls-verify=false", f"docker://{registry.host}/pushed/chunks:v1").stdout)
    assert inspected["Digest"] == digest and inspected["Layers"] == [digest_of(layer)]


def test_upload_with_a_wrong_digest_is_refused(registry):
    async def main():
        async with RegistryClient(registry.host, RegistryConfig()) as client:
            wrong = digest_of(b"something else")
            with pytest.raises(errdefs.InvalidArgument, match="digest invalid"):
                await client.upload_blob("pushed/wrong", wrong, 5, lambda: io.BytesIO(b"hello"))
            return await client.blob_exists("pushed/wrong", wrong)
    # Nothing committed. (distribution keeps a refused upload's data until its upload purging
    # runs: the upload state no longer matches the data, so a DELETE cannot cancel it.)
    assert run(main()) is None


def test_mount_from_another_repository(registry):
    layer = _image({"m": b"mount me"})[0]

    async def main():
        async with RegistryClient(registry.host, RegistryConfig()) as client:
            await push_image(client, "mount/source", "v1", {"m": b"mount me"})
            before = await client.blob_exists("mount/target", digest_of(layer))
            mounted = await client.mount_blob("mount/target", digest_of(layer), "mount/source")
            missing = await client.mount_blob("mount/target", "sha256:" + "2" * 64, "mount/source")
            after = await client.blob_exists("mount/target", digest_of(layer))
            return before, mounted, missing, after
    assert run(main()) == (None, True, False, len(layer))
    assert _uploads_left(registry, "mount/target") == []   # the upload the failed mount opened was cancelled


def test_put_index_and_list_tags_with_pagination(registry):
    async def main():
        async with RegistryClient(registry.host, RegistryConfig()) as client:
            amd, amd_body = await push_image(client, "paged", "amd64", {"a": b"1"})
            await push_image(client, "paged", "other", {"a": b"2"})
            index = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
                {"mediaType": OCI_MANIFEST, "digest": amd, "size": len(amd_body),
                 "platform": {"architecture": "amd64", "os": "linux"}}]}).encode()
            index_digest = await client.put_manifest("paged", "latest", OCI_INDEX, index)
            by_digest = await client.put_manifest("paged", index_digest, OCI_INDEX, index)
        async with FaultProxy(registry.host, page_size=1) as proxy:
            async with RegistryClient(proxy.host, RegistryConfig()) as client:
                tags = await client.list_tags("paged")
            pages = [s for s in proxy.seen if "/tags/list" in s[1]]
        return index, index_digest, by_digest, tags, pages
    index, index_digest, by_digest, tags, pages = run(main())
    assert index_digest == by_digest == digest_of(index)
    assert skopeo_raw_manifest(f"{registry.host}/paged:latest") == index
    assert tags == ["amd64", "latest", "other"]
    assert [p[1] for p in pages] == ["/v2/paged/tags/list", "/v2/paged/tags/list?n=1&last=amd64",
                                     "/v2/paged/tags/list?n=1&last=latest"]


def test_list_tags_of_a_missing_repository(registry):
    async def main():
        async with RegistryClient(registry.host, RegistryConfig()) as client:
            await client.list_tags("never/pushed")
    with pytest.raises(errdefs.NotFound, match="name unknown: repository name not known to registry"):
        run(main())


# ---- insecure registries ------------------------------------------------------------------------

def test_insecure_loopback_falls_back_to_http_and_remembers(registry, images):
    config = RegistryConfig()

    async def main():
        async with RegistryClient(registry.host, config) as client:
            await client.get_manifest("app", "oci", MANIFEST_TYPES)
    run(main())
    assert config.plain_http_hosts == {registry.host}
    run(main())           # a second client goes straight to http
    assert config.plain_http_hosts == {registry.host}


def test_insecure_https_without_verification():
    with RegistryServer(tls=True) as tls_registry:
        config = RegistryConfig()

        async def main():
            async with RegistryClient(tls_registry.host, config) as client:
                layer = _image({"t": b"tls"})[0]
                await push_image(client, "tls/app", "v1", {"t": b"tls"})
                return await client.blob_exists("tls/app", digest_of(layer)), client._transport.hosts[0].base
        size, base = run(main())
        assert size and base == f"https://{tls_registry.host}"
        assert config.plain_http_hosts == set()       # https worked: no fallback


def test_secure_registry_is_verified_with_the_cas_of_certs_dir(tmp_path):
    address = host_address()
    if address is None:
        pytest.skip("no non-loopback address on this host")
    with RegistryServer(tls=True, bind=address) as secure:

        async def main(config):
            async with RegistryClient(secure.host, config) as client:
                await push_image(client, "secure/app", "v1", {"s": b"secure"})
                return await client.get_manifest("secure/app", "v1", MANIFEST_TYPES)
        strict = RegistryConfig()
        with pytest.raises(errdefs.Unavailable) as refused:
            run(main(strict))
        assert str(refused.value).startswith(f'Get "https://{secure.host}/v2/": tls: failed to verify certificate')
        assert strict.plain_http_hosts == set()        # a secure registry never falls back to http

        certs = tmp_path / "certs.d" / secure.host
        certs.mkdir(parents=True)
        (certs / "ca.crt").write_bytes(secure.cert_pem)
        trusting = RegistryConfig(certs_dir=str(tmp_path / "certs.d"))
        assert run(main(trusting))[0] == OCI_MANIFEST
        # Named insecure, it is reached without verification.
        assert run(main(RegistryConfig(insecure_registries=[secure.host])))[0] == OCI_MANIFEST


def test_mirror_serves_docker_hub_images(registry, images):
    # Docker Hub itself is never reached: the first mirror is down, the second one answers.
    skopeo("copy", "--quiet", "--src-tls-verify=false", "--dest-tls-verify=false",
           f"docker://{registry.host}/app:oci", f"docker://{registry.host}/library/app:oci")
    config = RegistryConfig(mirrors=[f"http://127.0.0.1:{free_port()}", f"http://{registry.host}"])

    async def main():
        async with RegistryClient("docker.io", config) as client:
            return await client.get_manifest("library/app", "oci", MANIFEST_TYPES)
    assert run(main())[2] == images["single"].manifests["amd64"]


# ---- Basic auth ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def basic_registry():
    with RegistryServer(auth="htpasswd", users={"alice": "secret"}) as server:
        yield server


def test_basic_login_good_and_bad(basic_registry):
    async def login(password):
        async with RegistryClient(basic_registry.host, RegistryConfig(), Credentials("alice", password)) as client:
            return await client.login()
    assert run(login("secret")) == ""
    with pytest.raises(errdefs.Unauthorized) as refused:
        run(login("wrong"))
    assert str(refused.value) == (f"login attempt to http://{basic_registry.host}/v2/ "
                                  "failed with status: 401 Unauthorized")


def test_login_to_a_registry_without_auth_succeeds(registry):
    async def login():
        async with RegistryClient(registry.host, RegistryConfig(), Credentials("anyone", "anything")) as client:
            return await client.login()
    assert run(login()) == ""


def test_basic_push_and_pull(basic_registry):
    async def main(creds):
        async with RegistryClient(basic_registry.host, RegistryConfig(), creds) as client:
            digest, _ = await push_image(client, "basic/app", "v1", {"b": b"basic"})
            return digest, await client.get_manifest("basic/app", "v1", MANIFEST_TYPES)
    digest, (_, _, pulled) = run(main(Credentials("alice", "secret")))
    assert pulled == digest
    assert skopeo_raw_manifest(f"{basic_registry.host}/basic/app:v1", "--creds", "alice:secret")


def test_basic_without_or_with_bad_credentials(basic_registry):
    async def pull(creds):
        async with RegistryClient(basic_registry.host, RegistryConfig(), creds) as client:
            await client.get_manifest("basic/app", "v1", MANIFEST_TYPES)
    with pytest.raises(errdefs.Unauthorized, match="unauthorized: authentication required"):
        run(pull(None))
    with pytest.raises(errdefs.Unauthorized, match="unauthorized: authentication required"):
        run(pull(Credentials("alice", "wrong")))


# ---- Bearer token flow --------------------------------------------------------------------------

@pytest.fixture
def token_registry():
    grants = {"alice": {"*": ["pull", "push"]}, "reader": {"*": ["pull"]},
              "mover": {"src/*": ["pull"], "dst/*": ["pull", "push"]}}
    with TokenServer(users={"alice": "secret", "reader": "r", "mover": "m"}, grants=grants) as tokens, \
            RegistryServer(auth="token", token_server=tokens) as server:
        server.tokens = tokens
        yield server


def test_bearer_push_asks_one_token_with_the_right_scope(token_registry):
    async def main():
        async with RegistryClient(token_registry.host, RegistryConfig(), Credentials("alice", "secret")) as client:
            digest, _ = await push_image(client, "team/app", "v1", {"t": b"token"})
            pulled = await client.get_manifest("team/app", "v1", MANIFEST_TYPES)
            return digest, pulled
    digest, (_, _, pulled) = run(main())
    assert pulled == digest
    tokens = token_registry.tokens.requests
    assert [(r["account"], r["scopes"], r["service"]) for r in tokens] == [
        ("alice", ["repository:team/app:pull,push"], "hako-test-registry")]   # cached for the whole push
    assert skopeo_raw_manifest(f"{token_registry.host}/team/app:v1", "--creds", "alice:secret")


def test_bearer_anonymous_and_bad_password_are_unauthorized(token_registry):
    async def push(creds):
        async with RegistryClient(token_registry.host, RegistryConfig(), creds) as client:
            await push_image(client, "team/denied", "v1", {"x": b"no"})
    with pytest.raises(errdefs.Unauthorized, match="unauthorized: authentication required"):
        run(push(None))
    with pytest.raises(errdefs.Unauthorized, match="unauthorized: incorrect username or password"):
        run(push(Credentials("alice", "wrong")))
    assert [r["status"] for r in token_registry.tokens.requests] == [200, 200, 401]  # anonymous twice: retried once
    assert not os.path.exists(os.path.join(token_registry.storage, "docker/registry/v2/repositories/team/denied"))


def test_bearer_read_only_user_cannot_push(token_registry):
    async def push():
        async with RegistryClient(token_registry.host, RegistryConfig(), Credentials("reader", "r")) as client:
            await push_image(client, "team/readonly", "v1", {"x": b"no"})
    with pytest.raises(errdefs.Unauthorized, match="authentication required"):
        run(push())
    granted = token_registry.tokens.requests[-1]["access"]
    assert granted == [{"type": "repository", "name": "team/readonly", "actions": ["pull"]}]


def test_bearer_login_gives_an_identity_token_that_works(token_registry):
    async def login(creds):
        async with RegistryClient(token_registry.host, RegistryConfig(), creds) as client:
            return await client.login()

    async def push_with(identity_token):
        creds = Credentials(identity_token=identity_token)
        async with RegistryClient(token_registry.host, RegistryConfig(), creds) as client:
            return await push_image(client, "team/idtoken", "v1", {"i": b"id"})
    identity = run(login(Credentials("alice", "secret")))
    assert identity and token_registry.tokens.requests[-1]["offline"]
    run(push_with(identity))
    assert token_registry.tokens.requests[-1]["grant_type"] == "refresh_token"
    with pytest.raises(errdefs.Unauthorized) as refused:
        run(login(Credentials("alice", "wrong")))
    assert str(refused.value) == (f"login attempt to http://{token_registry.host}/v2/ "
                                  "failed with status: 401 Unauthorized")


def test_bearer_registry_token_is_used_as_is(token_registry):
    access = [{"type": "repository", "name": "team/given", "actions": ["pull", "push"]}]
    token = token_registry.tokens.issue("alice", access)

    async def main():
        async with RegistryClient(token_registry.host, RegistryConfig(), Credentials(registry_token=token)) as client:
            return await push_image(client, "team/given", "v1", {"g": b"given"})
    run(main())
    assert token_registry.tokens.requests == []      # the token server was never asked


def test_bearer_cross_repository_mount_asks_both_scopes(token_registry):
    layer = _image({"s": b"shared"})[0]

    async def main():
        async with RegistryClient(token_registry.host, RegistryConfig(), Credentials("alice", "secret")) as client:
            await push_image(client, "src/app", "v1", {"s": b"shared"})
        async with RegistryClient(token_registry.host, RegistryConfig(), Credentials("mover", "m")) as client:
            return await client.mount_blob("dst/app", digest_of(layer), "src/app")
    assert run(main()) is True
    last = token_registry.tokens.requests[-1]
    assert last["account"] == "mover"
    assert last["scopes"] == ["repository:dst/app:pull,push", "repository:src/app:pull"]


def test_bearer_concurrent_downloads_share_one_token(token_registry):
    async def main():
        async with RegistryClient(token_registry.host, RegistryConfig(), Credentials("alice", "secret")) as client:
            await push_image(client, "team/conc", "v1", {"c": b"c"})
        token_registry.tokens.requests.clear()
        async with RegistryClient(token_registry.host, RegistryConfig(), Credentials("alice", "secret")) as client:
            layer, config, _ = _image({"c": b"c"})
            return await asyncio.gather(fetch(client, "team/conc", digest_of(layer), len(layer)),
                                        fetch(client, "team/conc", digest_of(config), len(config)),
                                        fetch(client, "team/conc", digest_of(layer), len(layer)))
    sinks = run(main())
    assert [s.digest() for s in sinks] == [digest_of(b) for b in (_image({"c": b"c"})[0], _image({"c": b"c"})[1],
                                                                    _image({"c": b"c"})[0])]
    assert len(token_registry.tokens.requests) == 1
