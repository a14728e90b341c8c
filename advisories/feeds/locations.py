"""Reading a feed location: an http(s) URL, a file, a folder of records, or a zip archive.

URLs are fetched with the source's ETag and Last-Modified, so an unchanged feed answers
304 and costs nothing; gzip files are decompressed; zip archives (as osv.dev publishes
them per ecosystem) are read member by member.
"""

from __future__ import annotations

import gzip
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlsplit

import requests

from advisories.feeds.base import Document

__all__ = ["FeedUnchanged", "FetchError", "read_location"]

TIMEOUT = (10, 120)
# Downloads larger than this go to a temporary file instead of memory.
SPOOL_IN_MEMORY = 32 * 1024 * 1024
USER_AGENT = "patch-portal-feed-sync/1.0"


class FetchError(Exception):
    """The feed could not be read; nothing was stored from it. `status` is the HTTP status, if any."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


class FeedUnchanged(Exception):
    """The server answered 304 Not Modified."""


def is_url(location: str) -> bool:
    return urlsplit(location).scheme in ("http", "https")


def fetch(
    url: str, source=None, session=None, params=None, conditional=True, headers=None, stream=False
) -> requests.Response:
    session = session or requests.Session()
    headers = {"User-Agent": USER_AGENT, **(headers or {})}
    if conditional and source is not None:
        if source.etag:
            headers["If-None-Match"] = source.etag
        if source.last_modified:
            headers["If-Modified-Since"] = source.last_modified
    try:
        response = session.get(url, headers=headers, params=params, timeout=TIMEOUT, stream=stream)
    except requests.RequestException as exc:
        raise FetchError(f"GET {url}: {exc}") from exc
    if response.status_code == 304:
        raise FeedUnchanged(url)
    if response.status_code != 200:
        raise FetchError(f"GET {url}: HTTP {response.status_code}", status=response.status_code)
    return response


def remember_caching(source, response: requests.Response) -> None:
    """Keep the validators of a successful full fetch, to send back next time."""
    if source is None:
        return
    source.etag = response.headers.get("ETag", "")[:255]
    source.last_modified = response.headers.get("Last-Modified", "")[:100]


def _unpack(name: str, stream: BinaryIO, suffixes: tuple[str, ...]) -> Iterator[Document]:
    """Documents of one file: a zip archive member by member, a gzip file decompressed, or as is.

    Archive members are read one at a time, so memory holds one record file, not the archive.
    """
    head = stream.read(4)
    stream.seek(0)
    if name.endswith(".zip") or head == b"PK\x03\x04":
        try:
            archive = zipfile.ZipFile(stream)
            for member in sorted(archive.namelist()):
                if member.endswith(suffixes):
                    yield Document(f"{name}!{member}", archive.read(member))
        except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
            raise FetchError(f"{name}: not a readable zip archive ({exc})") from exc
        return
    payload = stream.read()
    if name.endswith(".gz") or head[:2] == b"\x1f\x8b":
        try:
            payload = gzip.decompress(payload)
        except (OSError, EOFError, zlib.error) as exc:
            raise FetchError(f"{name}: broken gzip data ({exc})") from exc
        name = name.removesuffix(".gz")
    yield Document(name, payload)


def _download(url: str, source, session) -> BinaryIO:
    """The response body in a temporary file (kept in memory while small)."""
    response = fetch(url, source=source, session=session, stream=True)
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115 - the caller closes it
    try:
        for chunk in response.iter_content(chunk_size=1 << 20):
            spool.write(chunk)
    except requests.RequestException as exc:
        spool.close()
        raise FetchError(f"GET {url}: the download broke off ({exc})") from exc
    remember_caching(source, response)
    spool.seek(0)
    return spool


def read_location(location: str, source=None, session=None, suffixes=(".json",)) -> Iterator[Document]:
    if is_url(location):
        # The new validators are kept only if the run succeeds (advisories.ingest restores them).
        with _download(location, source, session) as body:
            yield from _unpack(location, body, suffixes)
        return
    path = Path(location)
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and p.name.endswith(suffixes))
        if not files:
            raise FetchError(f"{location}: no {'/'.join(suffixes)} files in this folder")
        for file in files:
            with file.open("rb") as stream:
                yield from _unpack(str(file), stream, suffixes)
        return
    if not path.exists():
        raise FetchError(f"{location}: no such file or folder")
    with path.open("rb") as stream:
        yield from _unpack(str(path), stream, suffixes)
