"""Downloads a build makes: a remote context (`POST /build?remote=<URL>`) and `ADD <URL>`.

    name, mtime = await download("http://127.0.0.1:8000/app.tar", "/…/tmp/x")

Plain HTTP(S) GET, redirects followed, a size cap; any failure is Docker's wording for it.
Git remotes are refused with a message that says so.
"""

from __future__ import annotations

import email.utils
import posixpath
import urllib.parse

from ..errdefs import InvalidArgument, Unsupported

MAX_BYTES = 8 << 30


def is_url(text: str) -> bool:
    return text.startswith(("http://", "https://"))


def is_git(text: str) -> bool:
    return text.startswith(("git://", "git@", "github.com/")) or text.split("#", 1)[0].endswith(".git")


def url_basename(url: str) -> str:
    path = urllib.parse.urlparse(url).path
    return posixpath.basename(path.rstrip("/")) or "download"


async def download(url: str, dest: str, *, what: str = "download") -> tuple[str, float]:
    """Fetch ``url`` into the file ``dest``; returns (content type, Last-Modified as a Unix
    time or 0)."""
    import aiohttp

    if is_git(url) and not is_url(url):
        raise Unsupported(f"git remotes are not supported by hako's builder: {url}")
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=30, sock_read=300)
    try:
        async with aiohttp.ClientSession(timeout=timeout) as session:
            async with session.get(url) as resp:
                if resp.status >= 400:
                    raise InvalidArgument(f"failed to {what} {url}: {resp.status} {resp.reason}")
                size = 0
                with open(dest, "wb") as out:
                    async for chunk in resp.content.iter_chunked(1 << 20):
                        size += len(chunk)
                        if size > MAX_BYTES:
                            raise InvalidArgument(f"failed to {what} {url}: larger than {MAX_BYTES} bytes")
                        out.write(chunk)
                modified = resp.headers.get("Last-Modified")
                mtime = 0.0
                if modified:
                    try:
                        mtime = email.utils.parsedate_to_datetime(modified).timestamp()
                    except (TypeError, ValueError):
                        mtime = 0.0
                return resp.headers.get("Content-Type", ""), mtime
    except (aiohttp.ClientError, OSError, ValueError) as exc:
        raise InvalidArgument(f"failed to {what} {url}: {exc}") from None
