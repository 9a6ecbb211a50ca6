"""The ``Authorization`` header for requests to one registry endpoint, and the token flow behind it.

Lifecycle, per endpoint (the client drives it):

    authorizer = Authorizer(credentials)
    authorizer.update(challenges_of_the_v2_ping)          # 200 → [], 401 → Basic or Bearer
    headers = await authorizer.headers(session, ("repository:a/b:pull",), ssl)
    # … a 401 on a request:
    if authorizer.on_unauthorized(parse_challenges(www_authenticate)): retry once

Which header goes out:
- a registry token in the credentials is sent as ``Bearer`` as it is, with no token server involved;
- a ``Bearer`` challenge: a token from its realm (``GET realm?service=&scope=…`` with Basic
  credentials if any, or an OAuth2 refresh-token ``POST`` with an identity token), cached per scope
  set until shortly before ``expires_in`` runs out;
- a ``Basic`` challenge: the username and password;
- no challenge (the registry let ``/v2/`` through anonymously): nothing.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time

import aiohttp

from ... import errdefs
from .auth import Challenge, Credentials
from .errors import registry_error

CLIENT_ID = "hako"
DEFAULT_TOKEN_LIFETIME = 60        # seconds; the token spec's default and minimum


class Authorizer:
    def __init__(self, credentials: Credentials | None):
        self.credentials = credentials or Credentials()
        self.challenges: list[Challenge] = []
        self.refresh_token = ""          # given by the token server when asked for offline access
        self._tokens: dict[tuple[str, ...], tuple[str, float]] = {}
        self._locks: dict[tuple[str, ...], asyncio.Lock] = {}

    def update(self, challenges: list[Challenge]) -> None:
        self.challenges = [c for c in challenges if c.scheme in ("basic", "bearer")]

    def challenge(self, scheme: str) -> Challenge | None:
        return next((c for c in self.challenges if c.scheme == scheme), None)

    def on_unauthorized(self, challenges: list[Challenge], scopes: tuple[str, ...]) -> bool:
        """Take in the challenges of a 401; True if asking again may succeed (a fresh token, a new
        kind of challenge), False if it would only repeat the refusal."""
        before = list(self.challenges)
        if challenges:
            self.update(challenges)
        self._tokens.pop(scopes, None)
        return self.challenge("bearer") is not None or self.challenges != before

    async def headers(self, session: aiohttp.ClientSession, scopes: tuple[str, ...], ssl) -> dict[str, str]:
        if self.credentials.registry_token:
            return {"Authorization": f"Bearer {self.credentials.registry_token}"}
        bearer = self.challenge("bearer")
        if bearer is not None:
            return {"Authorization": f"Bearer {await self.token(session, bearer, scopes, ssl)}"}
        if self.challenge("basic") is not None and self.credentials.has_password():
            return self.basic_header()
        return {}

    def basic_header(self) -> dict[str, str]:
        pair = f"{self.credentials.username}:{self.credentials.password}".encode()
        return {"Authorization": "Basic " + base64.b64encode(pair).decode()}

    async def token(self, session: aiohttp.ClientSession, challenge: Challenge, scopes: tuple[str, ...],
                    ssl) -> str:
        """A bearer token for ``scopes``, from the cache or the challenge's realm."""
        lock = self._locks.setdefault(scopes, asyncio.Lock())
        async with lock:            # three layer downloads starting together fetch one token
            cached = self._tokens.get(scopes)
            if cached and cached[1] > time.monotonic():
                return cached[0]
            reply = await self.fetch_token(session, challenge, scopes, ssl)
            token = reply.get("token") or reply.get("access_token")
            lifetime = max(int(reply.get("expires_in") or 0), DEFAULT_TOKEN_LIFETIME)
            # Renew a little early so a token never expires between the check and its use.
            self._tokens[scopes] = (token, time.monotonic() + lifetime * 0.9)
            return token

    async def fetch_token(self, session: aiohttp.ClientSession, challenge: Challenge, scopes: tuple[str, ...],
                          ssl, offline: bool = False) -> dict:
        """Ask the challenge's realm for a token; Unauthorized if it refuses the credentials."""
        realm = challenge.params.get("realm")
        if not realm:
            raise errdefs.SystemError("bearer challenge without a realm")
        service = challenge.params.get("service", "")
        creds = self.credentials
        try:
            # As Docker: an identity token wins; the CLI sends it with the username it was
            # stored under but no password.
            if creds.identity_token:
                form = {"grant_type": "refresh_token", "refresh_token": creds.identity_token,
                        "client_id": CLIENT_ID, "service": service, "scope": " ".join(scopes),
                        "access_type": "offline"}
                request = session.post(realm, data=form, ssl=ssl)
            else:
                query: list[tuple[str, str]] = [("service", service)] if service else []
                query += [("scope", scope) for scope in scopes]
                if offline:
                    query += [("offline_token", "true"), ("client_id", CLIENT_ID)]
                headers = {}
                if creds.has_password():
                    query.append(("account", creds.username))
                    headers = self.basic_header()
                request = session.get(realm, params=query, headers=headers, ssl=ssl)
            async with request as resp:
                body = await resp.content.read(1 << 20)
                status = resp.status
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            raise errdefs.Unavailable(f'Get "{realm}": {exc}') from exc
        if status != 200:
            raise _token_error(status, body)
        try:
            reply = json.loads(body)
        except ValueError as exc:
            raise errdefs.SystemError(f"token server at {realm} sent invalid JSON") from exc
        if not isinstance(reply, dict) or not (reply.get("token") or reply.get("access_token")):
            raise errdefs.SystemError(f"token server at {realm} sent no token")
        if reply.get("refresh_token"):
            self.refresh_token = reply["refresh_token"]
        return reply


def _token_error(status: int, body: bytes) -> errdefs.HakoError:
    try:
        details = json.loads(body).get("details")
    except (ValueError, AttributeError):
        details = None
    if status in (401, 403):
        # Docker Hub's token server says {"details": "incorrect username or password"}.
        return errdefs.Unauthorized(f"unauthorized: {details}" if isinstance(details, str) and details
                                    else registry_error(401, body).args[0])
    return registry_error(status, body)
