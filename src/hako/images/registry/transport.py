"""How requests reach a registry: endpoints, the ``/v2/`` ping, authorization, retries.

The client's operations are written as an ``attempt(host)`` that makes requests with ``send`` and
raises errdefs errors; the transport decides where and how often they run:

    async def attempt(host: Host):
        async with await transport.send(host, "GET", f"{host.base}/v2/a/tags/list", scopes) as resp:
            ...
    tags = await transport.pulling(attempt)     # mirrors first, retries on 5xx and dropped links

- ``pulling`` runs on each endpoint in turn (registry mirrors, then the registry), with retries;
  ``pushing`` on the registry itself, never a mirror.
- ``ready`` pings ``/v2/`` once per endpoint: it settles https or, for an insecure registry, plain
  http (remembered in ``RegistryConfig.plain_http_hosts``), and learns the auth challenges.
- ``send`` adds the Authorization header and answers one 401 with fresh credentials.
- An error marked ``retryable`` (a 5xx, a dropped connection) is tried again after 0.5 s, 1 s and
  2 s; an endpoint that cannot be reached at all fails at once.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Awaitable, Callable

import aiohttp
import yarl

from ... import errdefs
from .auth import Challenge, Credentials, parse_challenges
from .authorizer import Authorizer
from .errors import RETRYABLE_STATUSES, registry_error
from .hosts import Endpoint, RegistryConfig, endpoints, tls_context

log = logging.getLogger(__name__)

RETRY_DELAYS = (0.5, 1.0, 2.0)
USER_AGENT = "hako/0.1"


class Host:
    """What the transport has learned about one endpoint."""

    def __init__(self, endpoint: Endpoint, credentials: Credentials | None, config: RegistryConfig):
        self.endpoint = endpoint
        self.base = endpoint.url           # the scheme is settled by the ping
        self.ssl = tls_context(endpoint, config)
        self.authorizer = Authorizer(credentials)
        self.pinged = False
        self.ping_lock = asyncio.Lock()


class Transport:
    def __init__(self, domain: str, config: RegistryConfig, credentials: Credentials | None,
                 session: aiohttp.ClientSession | None, retry_delays: tuple[float, ...]):
        self.config = config
        self.retry_delays = retry_delays
        self.hosts = [Host(endpoint, credentials, config) for endpoint in endpoints(domain, config)]
        self._session = session
        self._own_session = session is None

    async def close(self) -> None:
        if self._own_session and self._session is not None:
            await self._session.close()
            self._session = None

    def http(self) -> aiohttp.ClientSession:
        if self._session is None:
            timeout = aiohttp.ClientTimeout(total=None, sock_connect=30, sock_read=300)
            # Blobs are stored compressed as they are: never let aiohttp inflate them.
            self._session = aiohttp.ClientSession(timeout=timeout, auto_decompress=False)
        return self._session

    def push_host(self) -> Host:
        return next(host for host in self.hosts if not host.endpoint.mirror)

    async def pulling(self, attempt: Callable[[Host], Awaitable]):
        """Run ``attempt`` with retries on each endpoint in turn until one succeeds; only a mirror's
        failure moves on to the next endpoint."""
        for index, host in enumerate(self.hosts):
            try:
                return await self.retrying(host, attempt)
            except errdefs.HakoError as exc:
                if not host.endpoint.mirror or index == len(self.hosts) - 1:
                    raise
                log.warning("registry mirror %s failed, trying the next endpoint: %s", host.endpoint.url, exc)

    async def pushing(self, attempt: Callable[[Host], Awaitable], retry: bool = False):
        """Run ``attempt`` on the registry itself; with retries only if it is idempotent."""
        host = self.push_host()
        if retry:
            return await self.retrying(host, attempt)
        await self.ready(host)
        return await attempt(host)

    async def retrying(self, host: Host, attempt: Callable[[Host], Awaitable]):
        for delay in (*self.retry_delays, None):
            try:
                await self.ready(host)
                return await attempt(host)
            except errdefs.HakoError as exc:
                if delay is None or not getattr(exc, "retryable", False):
                    raise
                log.info("retrying in %.1fs after: %s", delay, exc)
                await asyncio.sleep(0 if getattr(exc, "immediate", False) else delay)

    async def ready(self, host: Host) -> None:
        """Ping ``/v2/`` once: settle the scheme and learn the auth challenges."""
        if host.pinged:
            return
        async with host.ping_lock:
            if host.pinged:
                return
            scheme, netloc = host.endpoint.url.split("://", 1)
            schemes = [scheme]
            if host.endpoint.insecure and scheme == "https":
                # dockerd's order for an insecure registry: https unverified, then plain http.
                schemes = ["http"] if host.endpoint.host in self.config.plain_http_hosts else ["https", "http"]
            failure: errdefs.HakoError | None = None
            for scheme in schemes:
                base = f"{scheme}://{netloc}"
                try:
                    async with await self.request(host, "GET", f"{base}/v2/") as resp:
                        await resp.read()
                        challenges = _challenges(resp)
                except errdefs.HakoError as exc:
                    failure = exc
                    continue
                host.base = base
                if resp.status == 401:
                    host.authorizer.update(challenges)
                if base != host.endpoint.url:
                    self.config.plain_http_hosts.add(host.endpoint.host)
                host.pinged = True
                return
            # An endpoint that cannot be reached at all is not retried: the caller hears at once.
            failure.retryable = False
            raise failure

    async def send(self, host: Host, method: str, url: str, scopes: tuple[str, ...], *,
                   headers: dict | None = None, data=None) -> aiohttp.ClientResponse:
        """A request with authorization; a 401 is answered once with a fresh token or the new
        challenge. ``data`` may be a callable making a fresh body for each attempt. A 5xx is
        raised as a retryable error; any other status is the caller's to read."""
        for attempt in (1, 2):
            auth = await host.authorizer.headers(self.http(), scopes, host.ssl)
            resp = await self.request(host, method, url, headers={**(headers or {}), **auth},
                                      data=data() if callable(data) else data)
            if resp.status != 401 or attempt == 2:
                break
            challenges = _challenges(resp)
            scopes = _with_challenged_scope(scopes, challenges)
            if not host.authorizer.on_unauthorized(challenges, scopes):
                break
            resp.release()
        if resp.status in RETRYABLE_STATUSES:
            error = await error_of(resp)
            resp.release()
            raise transient(error)
        return resp

    async def request(self, host: Host, method: str, url: str, *, headers: dict | None = None,
                      data=None) -> aiohttp.ClientResponse:
        """One plain request; connection failures become retryable Unavailable errors."""
        all_headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity", **(headers or {})}
        # encoded=True: upload locations carry a signed "_state" that must go back byte for byte.
        target = yarl.URL(url, encoded=True)
        try:
            return await self.http().request(method, target, headers=all_headers, data=data, ssl=host.ssl)
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            raise transient(connection_error(method, url, exc)) from exc


def transient(error: errdefs.HakoError) -> errdefs.HakoError:
    """Mark ``error`` as worth another attempt."""
    error.retryable = True
    return error


def retry_now(message: str) -> errdefs.HakoError:
    error = transient(errdefs.Unavailable(message))
    error.immediate = True
    return error


def connection_error(method: str, url: str, exc: BaseException) -> errdefs.HakoError:
    verb = method.capitalize()
    if isinstance(exc, aiohttp.ClientConnectorError) and isinstance(exc.os_error, ConnectionRefusedError):
        # Go's wording, which is what people see from dockerd.
        return errdefs.Unavailable(f'{verb} "{url}": dial tcp {exc.host}:{exc.port}: connect: connection refused')
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        reason = getattr(exc.certificate_error, "verify_message", "") or str(exc.certificate_error)
        return errdefs.Unavailable(f'{verb} "{url}": tls: failed to verify certificate: {reason}')
    if isinstance(exc, asyncio.TimeoutError):
        return errdefs.Unavailable(f'{verb} "{url}": timeout')
    return errdefs.Unavailable(f'{verb} "{url}": {exc}')


async def error_of(resp: aiohttp.ClientResponse) -> errdefs.HakoError:
    body = await resp.content.read(64 * 1024) if resp.method != "HEAD" else b""
    return registry_error(resp.status, body)


def _challenges(resp: aiohttp.ClientResponse) -> list[Challenge]:
    return parse_challenges(", ".join(resp.headers.getall("WWW-Authenticate", [])))


def _with_challenged_scope(scopes: tuple[str, ...], challenges: list[Challenge]) -> tuple[str, ...]:
    # A registry may name in its challenge a scope the request needs that was not asked for.
    named = [scope for challenge in challenges for scope in challenge.params.get("scope", "").split()]
    return merge_scopes((*scopes, *named))


def merge_scopes(scopes) -> tuple[str, ...]:
    """One scope per resource with the union of its actions, in a stable order:
    ("repository:a:push,pull", "repository:a:pull") → ("repository:a:pull,push",). distribution
    lists a challenge's actions in no particular order."""
    actions: dict[str, set[str]] = {}
    for scope in scopes:
        resource, _, listed = scope.rpartition(":")
        if not resource:
            continue
        actions.setdefault(resource, set()).update(a for a in listed.split(",") if a)
    return tuple(f"{resource}:{','.join(_ordered(wanted))}" for resource, wanted in actions.items())


def _ordered(actions: set[str]) -> list[str]:
    return [a for a in ("pull", "push") if a in actions] + sorted(actions - {"pull", "push"})
