"""A client of the OCI distribution API (``/v2/``) for one registry domain: the operations.

    async with RegistryClient("localhost:5000", RegistryConfig(), creds) as client:
        media_type, body, digest = await client.get_manifest("team/app", "1.2", MANIFEST_TYPES)
        await client.fetch_blob("team/app", Descriptor(layer_type, layer_digest, size), sink)
        if not await client.blob_exists("other/app", layer_digest):
            await client.upload_blob("other/app", layer_digest, size, lambda: open(path, "rb"))
        pushed = await client.put_manifest("other/app", "1.2", media_type, body)

What it takes care of, so callers do not:
- endpoints: registry mirrors first for docker.io pulls (never for pushes), the next endpoint when
  a mirror fails; https, then plain http for insecure registries (remembered per host);
- authentication: one ``/v2/`` ping per endpoint learns the challenges, then anonymous, Basic or
  Bearer tokens per scope (see ``authorizer``); a 401 is answered once with fresh credentials;
- robustness: idempotent requests are retried on 5xx and dropped connections (0.5 s, 1 s, 2 s),
  blob downloads resume with ``Range`` from what the sink already holds;
- integrity: a manifest fetched by digest must hash to it, a blob never exceeds its size. Blob
  digests are the sink's to check, as it hashes while it writes.

A blob sink is any object with ``offset`` (bytes held), ``write(chunk)`` (plain or async) and,
optionally, ``reset()`` (drop everything: used when a server cannot resume).

Errors are hako.errdefs errors worded like dockerd's (see ``errors``); endpoints, the ping,
authorization and retries live in ``transport``.
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import json
import logging
import re
from dataclasses import dataclass
from typing import BinaryIO, Callable
from urllib.parse import quote, urljoin

import aiohttp

from ... import errdefs
from .auth import Credentials
from .hosts import RegistryConfig
from .transport import RETRY_DELAYS, Host, Transport, error_of, merge_scopes, retry_now, transient

log = logging.getLogger(__name__)

MANIFEST_SIZE_LIMIT = 4 * 1024 * 1024     # dockerd refuses bigger manifests too
READ_SIZE = 1 << 20

MEDIA_TYPE_OCI_INDEX = "application/vnd.oci.image.index.v1+json"
MEDIA_TYPE_OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MEDIA_TYPE_DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
MEDIA_TYPE_DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
MEDIA_TYPE_DOCKER_V1_SIGNED = "application/vnd.docker.distribution.manifest.v1+prettyjws"
MANIFEST_TYPES = [MEDIA_TYPE_OCI_INDEX, MEDIA_TYPE_DOCKER_LIST, MEDIA_TYPE_OCI_MANIFEST, MEDIA_TYPE_DOCKER_MANIFEST]


@dataclass
class Descriptor:
    media_type: str
    digest: str
    size: int
    platform: dict | None = None
    urls: list[str] | None = None
    annotations: dict | None = None

    @classmethod
    def from_json(cls, data: dict) -> "Descriptor":
        return cls(media_type=data.get("mediaType", ""), digest=data["digest"], size=int(data["size"]),
                   platform=data.get("platform"), urls=data.get("urls"), annotations=data.get("annotations"))

    def to_json(self) -> dict:
        data = {"mediaType": self.media_type, "digest": self.digest, "size": self.size}
        for key, value in (("platform", self.platform), ("urls", self.urls), ("annotations", self.annotations)):
            if value:
                data[key] = value
        return data


class RegistryClient:
    def __init__(self, domain: str, config: RegistryConfig, credentials: Credentials | None = None, *,
                 session: aiohttp.ClientSession | None = None, retry_delays: tuple[float, ...] = RETRY_DELAYS):
        self.domain = domain
        self._transport = Transport(domain, config, credentials, session, retry_delays)
        self._send = self._transport.send
        self._actions: dict[str, set[str]] = {}     # repository → actions asked for so far

    async def __aenter__(self) -> "RegistryClient":
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    async def close(self) -> None:
        await self._transport.close()

    # ---- operations ------------------------------------------------------------------------

    async def login(self) -> str:
        """Check the credentials against ``/v2/``; the identity token the token server gave for
        later logins, or "". Unauthorized if the registry refuses them."""
        host = self._transport.push_host()
        await self._transport.ready(host)
        url = f"{host.base}/v2/"
        refused = errdefs.Unauthorized(f"login attempt to {url} failed with status: 401 Unauthorized")
        authorizer = host.authorizer
        headers = {}
        bearer = authorizer.challenge("bearer")
        if authorizer.credentials.registry_token:
            headers = await authorizer.headers(self._transport.http(), (), host.ssl)
        elif bearer is not None:
            try:
                reply = await authorizer.fetch_token(self._transport.http(), bearer, (), host.ssl, offline=True)
            except errdefs.Unauthorized as exc:
                raise refused from exc
            headers = {"Authorization": f"Bearer {reply.get('token') or reply.get('access_token')}"}
        elif authorizer.credentials.has_password():
            headers = authorizer.basic_header()
        async with await self._transport.request(host, "GET", url, headers=headers) as resp:
            if resp.status == 401:
                raise refused
            if resp.status != 200:
                raise await error_of(resp)
        return authorizer.refresh_token

    async def get_manifest(self, repository: str, reference: str, accept: list[str]) -> tuple[str, bytes, str]:
        """(media type, body, digest) of a manifest or index by tag or digest."""
        async def attempt(host: Host):
            url = f"{host.base}/v2/{repository}/manifests/{reference}"
            headers = {"Accept": ", ".join(accept)}
            scopes = self._scopes(repository, "pull")
            async with await self._send(host, "GET", url, scopes, headers=headers) as resp:
                if resp.status != 200:
                    raise await error_of(resp)
                body = await _read_limited(resp, MANIFEST_SIZE_LIMIT, "manifest")
                return _media_type(resp.headers.get("Content-Type", ""), body), body, \
                    resp.headers.get("Docker-Content-Digest", "")

        media_type, body, header_digest = await self._transport.pulling(attempt)
        if ":" in reference:
            if _digest_of(body, reference) != reference:
                raise errdefs.SystemError(f"manifest verification failed for digest {reference}")
            return media_type, body, reference
        if header_digest and ":" in header_digest and _digest_of(body, header_digest) == header_digest:
            return media_type, body, header_digest
        return media_type, body, _digest_of(body, "sha256:")

    async def fetch_blob(self, repository: str, desc: Descriptor, sink) -> None:
        """Write the blob into ``sink``, from ``sink.offset`` on; at most ``desc.size`` bytes."""
        async def attempt(host: Host):
            await self._fetch_blob_once(host, repository, desc, sink)
        await self._transport.pulling(attempt)

    async def blob_exists(self, repository: str, digest: str) -> int | None:
        """The blob's size if the repository has it, else None."""
        async def attempt(host: Host):
            url = f"{host.base}/v2/{repository}/blobs/{digest}"
            async with await self._send(host, "HEAD", url, self._scopes(repository, "pull")) as resp:
                if resp.status == 404:
                    return None
                if resp.status != 200:
                    raise await error_of(resp)
                return int(resp.headers.get("Content-Length", "0"))
        return await self._transport.pushing(attempt, retry=True)

    async def mount_blob(self, repository: str, digest: str, from_repository: str) -> bool:
        """Link a blob of ``from_repository`` into ``repository`` on the registry, without sending
        it. False if the registry could not (it opens an upload instead, which is cancelled)."""
        async def attempt(host: Host):
            url = (f"{host.base}/v2/{repository}/blobs/uploads/"
                   f"?mount={quote(digest, safe='')}&from={quote(from_repository, safe='/')}")
            scopes = self._scopes(repository, "pull", "push") + self._scopes(from_repository, "pull")
            async with await self._send(host, "POST", url, scopes, headers={"Content-Length": "0"}) as resp:
                if resp.status == 201:
                    return True
                if resp.status != 202:
                    raise await error_of(resp)
                location = _location(host, resp)
            await self._cancel_upload(host, location, scopes)
            return False
        return await self._transport.pushing(attempt)

    async def upload_blob(self, repository: str, digest: str, size: int, open_stream: Callable[[], BinaryIO],
                          progress: Callable[[int], None] | None = None, chunk_size: int | None = None) -> None:
        """Upload a blob: one streamed PUT, or PATCHes of ``chunk_size`` bytes then a closing PUT.
        ``open_stream()`` gives the blob from its start; ``progress(bytes_sent)`` follows it."""
        async def attempt(host: Host):
            scopes = self._scopes(repository, "pull", "push")
            url = f"{host.base}/v2/{repository}/blobs/uploads/"
            async with await self._send(host, "POST", url, scopes, headers={"Content-Length": "0"}) as resp:
                if resp.status != 202:
                    raise await error_of(resp)
                location = _location(host, resp)
            try:
                if chunk_size is None:
                    await self._put_whole(host, location, scopes, digest, size, open_stream, progress)
                else:
                    await self._put_chunked(host, location, scopes, digest, size, open_stream, progress, chunk_size)
            except BaseException:
                await self._cancel_upload(host, location, scopes)
                raise
        await self._transport.pushing(attempt)

    async def put_manifest(self, repository: str, reference: str, media_type: str, body: bytes) -> str:
        """Store a manifest or index under a tag or its digest; its digest."""
        async def attempt(host: Host):
            url = f"{host.base}/v2/{repository}/manifests/{reference}"
            scopes = self._scopes(repository, "pull", "push")
            headers = {"Content-Type": media_type}
            async with await self._send(host, "PUT", url, scopes, headers=headers, data=body) as resp:
                if resp.status not in (200, 201, 202):
                    raise await error_of(resp)
                return resp.headers.get("Docker-Content-Digest", "")
        header_digest = await self._transport.pushing(attempt)
        if header_digest and ":" in header_digest and _digest_of(body, header_digest) == header_digest:
            return header_digest
        return _digest_of(body, "sha256:")

    async def list_tags(self, repository: str) -> list[str]:
        """Every tag of the repository, following ``Link`` pagination."""
        async def attempt(host: Host):
            tags: list[str] = []
            url = f"{host.base}/v2/{repository}/tags/list"
            while url:
                async with await self._send(host, "GET", url, self._scopes(repository, "pull")) as resp:
                    if resp.status != 200:
                        raise await error_of(resp)
                    page = json.loads(await _read_limited(resp, 64 * 1024 * 1024, "tag list"))
                    tags.extend(page.get("tags") or [])
                    url = _next_link(host, resp.headers.get("Link", ""))
            return tags
        return await self._transport.pulling(attempt)

    # ---- blobs ---------------------------------------------------------------------------------

    async def _fetch_blob_once(self, host: Host, repository: str, desc: Descriptor, sink) -> None:
        offset = sink.offset
        if offset > desc.size:
            raise errdefs.SystemError(f"blob {desc.digest}: sink holds {offset} bytes of {desc.size}")
        if offset == desc.size and offset > 0:
            return
        url = f"{host.base}/v2/{repository}/blobs/{desc.digest}"
        headers = {"Range": f"bytes={offset}-"} if offset else {}
        scopes = self._scopes(repository, "pull")
        async with await self._send(host, "GET", url, scopes, headers=headers) as resp:
            if resp.status == 416 and offset:       # cannot resume from there: start over
                await _reset(sink, desc)
                raise retry_now(f"blob {desc.digest}: range not satisfiable")
            if resp.status not in (200, 206):
                raise await error_of(resp)
            if resp.status == 200 and offset:       # the server ignored Range: start over
                await _reset(sink, desc)
                offset = 0
            elif resp.status == 206 and _range_start(resp.headers.get("Content-Range", "")) != offset:
                raise errdefs.SystemError(f"blob {desc.digest}: server resumed at the wrong offset")
            length = resp.headers.get("Content-Length")
            if length is not None and length.isdigit() and offset + int(length) > desc.size:
                raise errdefs.SystemError(f"blob {desc.digest}: server sends {offset + int(length)} bytes, "
                                          f"expected {desc.size}")
            try:
                async for chunk in resp.content.iter_chunked(READ_SIZE):
                    if offset + len(chunk) > desc.size:
                        raise errdefs.SystemError(f"blob {desc.digest}: more data than its size {desc.size}")
                    written = sink.write(chunk)
                    if inspect.isawaitable(written):
                        await written
                    offset += len(chunk)
            except (aiohttp.ClientError, asyncio.TimeoutError, ConnectionError) as exc:
                raise transient(errdefs.Unavailable(
                    f"error pulling blob {desc.digest}: connection lost after {offset} of {desc.size} bytes: "
                    f"{exc.__class__.__name__}")) from exc
        if offset < desc.size:
            raise errdefs.SystemError(f"blob {desc.digest}: unexpected EOF after {offset} of {desc.size} bytes")

    async def _put_whole(self, host, location, scopes, digest, size, open_stream, progress) -> None:
        def body():
            return _file_pieces(open_stream, size, progress)
        url = _with_query(location, "digest", digest)
        headers = {"Content-Type": "application/octet-stream", "Content-Length": str(size)}
        async with await self._send(host, "PUT", url, scopes, headers=headers, data=body) as resp:
            if resp.status != 201:
                raise await error_of(resp)

    async def _put_chunked(self, host, location, scopes, digest, size, open_stream, progress, chunk_size) -> None:
        if chunk_size <= 0:
            raise errdefs.InvalidArgument("chunk size must be positive")
        sent = 0
        pieces = _file_pieces(open_stream, size, progress, piece_size=chunk_size)
        try:
            async for piece in pieces:
                headers = {"Content-Type": "application/octet-stream", "Content-Length": str(len(piece)),
                           "Content-Range": f"{sent}-{sent + len(piece) - 1}"}
                async with await self._send(host, "PATCH", location, scopes, headers=headers, data=piece) as resp:
                    if resp.status != 202:
                        raise await error_of(resp)
                    location = _location(host, resp)
                sent += len(piece)
        finally:
            await pieces.aclose()
        url = _with_query(location, "digest", digest)
        async with await self._send(host, "PUT", url, scopes, headers={"Content-Length": "0"}) as resp:
            if resp.status != 201:
                raise await error_of(resp)

    async def _cancel_upload(self, host: Host, location: str, scopes: tuple[str, ...]) -> None:
        try:
            async with await self._send(host, "DELETE", location, scopes) as resp:
                if resp.status not in (200, 202, 204, 404):
                    # e.g. after a refused PUT, whose data the upload's state no longer matches:
                    # the registry's upload purging removes it in time.
                    log.info("the registry kept the upload %s: %s", location, await error_of(resp))
        except (errdefs.HakoError, aiohttp.ClientError, asyncio.TimeoutError) as exc:
            log.warning("could not cancel the upload %s: %s", location, exc)

    def _scopes(self, repository: str, *actions: str) -> tuple[str, ...]:
        # A token for push also serves pulls of the repository: ask for everything needed so far,
        # so one token covers a whole push instead of one per kind of request.
        wanted = self._actions.setdefault(repository, set())
        wanted.update(actions)
        return merge_scopes([f"repository:{repository}:{','.join(wanted)}"])


# ---- helpers ------------------------------------------------------------------------------------

async def _reset(sink, desc: Descriptor) -> None:
    reset = getattr(sink, "reset", None)
    if reset is None:
        raise errdefs.SystemError(f"blob {desc.digest}: the registry cannot resume the download")
    result = reset()
    if inspect.isawaitable(result):
        await result


async def _read_limited(resp: aiohttp.ClientResponse, limit: int, what: str) -> bytes:
    try:
        body = await resp.content.read(limit + 1)
    except (aiohttp.ClientError, asyncio.TimeoutError, ConnectionError) as exc:
        raise transient(errdefs.Unavailable(f"reading {what}: {exc}")) from exc
    if len(body) > limit:
        raise errdefs.SystemError(f"{what} too big: more than {limit} bytes")
    return body


def _media_type(content_type: str, body: bytes) -> str:
    media_type = content_type.split(";", 1)[0].strip()
    if media_type and media_type not in ("application/json", "text/plain", "application/octet-stream"):
        return media_type
    # Some registries send a generic type: tell the manifest by its fields, as containerd does.
    try:
        document = json.loads(body)
    except ValueError:
        return media_type
    if not isinstance(document, dict):
        return media_type
    if document.get("mediaType"):
        return document["mediaType"]
    if document.get("schemaVersion") == 1:
        return MEDIA_TYPE_DOCKER_V1_SIGNED
    if "manifests" in document:
        return MEDIA_TYPE_OCI_INDEX
    if "config" in document and "layers" in document:
        return MEDIA_TYPE_OCI_MANIFEST
    return media_type


def _digest_of(body: bytes, like: str) -> str:
    algorithm = like.split(":", 1)[0]
    if algorithm not in ("sha256", "sha384", "sha512"):
        raise errdefs.InvalidArgument(f"unsupported digest algorithm: {algorithm}")
    return f"{algorithm}:{hashlib.new(algorithm, body).hexdigest()}"


def _location(host: Host, resp: aiohttp.ClientResponse) -> str:
    location = resp.headers.get("Location")
    if not location:
        raise errdefs.SystemError(f"{resp.method} {resp.url}: the registry sent no Location")
    return urljoin(f"{host.base}/", location)


def _with_query(url: str, key: str, value: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}{key}={quote(value, safe='')}"


def _next_link(host: Host, link: str) -> str:
    match = re.search(r'<([^>]+)>\s*;\s*rel="?next"?', link)
    return urljoin(f"{host.base}/", match.group(1)) if match else ""


def _range_start(content_range: str) -> int:
    match = re.match(r"bytes (\d+)-", content_range.strip())
    return int(match.group(1)) if match else -1


async def _file_pieces(open_stream, size: int, progress, piece_size: int = READ_SIZE):
    """The blob's bytes, read off the event loop ``piece_size`` at a time (an upload body, or
    the chunks of a chunked upload); ``progress`` hears the bytes handed on so far."""
    stream = await asyncio.to_thread(open_stream)
    try:
        sent = 0
        while sent < size:
            piece = await asyncio.to_thread(stream.read, min(piece_size, size - sent))
            if not piece:
                raise errdefs.SystemError(f"blob stream ended after {sent} of {size} bytes")
            yield piece
            sent += len(piece)
            if progress:
                progress(sent)
    finally:
        await asyncio.to_thread(stream.close)
