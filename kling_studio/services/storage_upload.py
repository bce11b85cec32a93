"""Reference images uploaded to fal's storage at submit time, each image once.

fal's storage protocol (what ``fal_client.upload_file`` does):

1. ``POST {storage}/storage/auth/token?storage_type=fal-cdn-v3`` with ``Authorization: Key …`` and body ``{}``
   answers ``{token, token_type, base_url, expires_at}``;
2. ``POST {base_url}/files/upload`` with ``Authorization: {token_type} {token}`` (never the key),
   ``Content-Type`` and ``X-Fal-File-Name`` answers ``{"access_url": …}`` — a public URL.

The storage host is ``KLING_STUDIO_STORAGE_URL`` (default ``https://rest.fal.ai``), so the simulator or a
proxy can stand in. Uploaded URLs are cached in the reference library by (sha256, storage host) and reused
until they are older than ``max_age`` (default 6 days; fal does not promise how long uploads live).

Uploads are not charged, so a failed one is retried twice; after that a :class:`StorageUploadError` is
raised *before* anything is submitted: a job whose images did not all upload is never sent nor charged.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from kling_studio.core.errors import UserError
from kling_studio.core.references import ProjectReferences, ReferencesState
from kling_studio.services.images import CONTENT_TYPES, EXTENSIONS, ImageFormat, require_valid
from kling_studio.services.reference_library import ReferenceLibrary

STORAGE_URL_ENV = "KLING_STUDIO_STORAGE_URL"
DEFAULT_STORAGE_URL = "https://rest.fal.ai"
STORAGE_TYPE = "fal-cdn-v3"
DEFAULT_MAX_AGE = timedelta(days=6)
UPLOAD_CHUNK = 256 * 1024
ATTEMPTS = 3
_RETRY_DELAY = 0.5
_TOKEN_MARGIN = timedelta(minutes=2)

log = logging.getLogger(__name__)


def storage_url_from_env() -> str:
    """The storage host: ``KLING_STUDIO_STORAGE_URL`` or fal's ``https://rest.fal.ai``."""
    return (os.environ.get(STORAGE_URL_ENV) or DEFAULT_STORAGE_URL).rstrip("/")


class StorageUploadError(UserError):
    """A reference image could not be uploaded, so the job was not submitted (nothing was charged).

    Attributes:
        status: fal storage's HTTP status, or None when there was no answer.
        detail: fal's ``detail``, when it sent one.
        file_name: The image that failed.
    """

    def __init__(self, message: str, *, status: int | None = None, detail: Any = None, file_name: str = ""):
        super().__init__(message)
        self.status = status
        self.detail = detail
        self.file_name = file_name


class StorageAuthError(StorageUploadError):
    """fal storage refused the key (401/403)."""


class StorageNetworkError(StorageUploadError):
    """No answer from fal storage (connection failed, timed out or dropped)."""


class StorageRefusedError(StorageUploadError):
    """fal storage answered with an error, or with something that is not an upload receipt."""


@dataclass(frozen=True)
class UploadProgress:
    """Progress of the upload step, for a progress bar.

    Attributes:
        sha256: The image being handled.
        name: Its name.
        index: 0-based position among the images of this submit.
        count: Images in this submit.
        sent: Bytes of this image sent so far.
        total: Bytes of this image.
        cached: True when a recent upload was reused (nothing is sent).
    """

    sha256: str
    name: str
    index: int
    count: int
    sent: int
    total: int
    cached: bool = False

    @property
    def fraction(self) -> float:
        """Overall progress, 0–1, counting each image equally."""
        part = 1.0 if self.total == 0 else self.sent / self.total
        return (self.index + part) / max(self.count, 1)


ProgressCallback = Callable[[UploadProgress], None]


@dataclass
class _Token:
    value: str
    token_type: str
    base_url: str
    expires_at: datetime


class StorageClient:
    """fal's storage upload protocol on an ``httpx.AsyncClient`` the caller owns."""

    def __init__(self, http: httpx.AsyncClient, *, key: str, storage_url: str | None = None) -> None:
        """Args:
        http: The shared client (its timeouts apply).
        key: The fal key (``key_id:key_secret``); sent only with the token request.
        storage_url: The storage host; None reads ``KLING_STUDIO_STORAGE_URL``.
        """
        self._http = http
        self._key = key
        self.storage_url = (storage_url or storage_url_from_env()).rstrip("/")
        self._token: _Token | None = None
        self._token_lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"StorageClient(storage_url={self.storage_url!r})"

    async def upload(
        self,
        data: bytes,
        *,
        file_name: str,
        content_type: str,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> str:
        """Upload one file and return its public URL.

        Args:
            data: The file's bytes.
            file_name: Sent as ``X-Fal-File-Name``.
            content_type: e.g. ``image/jpeg``.
            on_progress: Called with (bytes sent, total) as the body goes out.

        Raises:
            StorageUploadError: A typed subclass after the retries are used up.
        """
        last: StorageUploadError | None = None
        for attempt in range(ATTEMPTS):
            try:
                return await self._upload_once(data, file_name, content_type, on_progress)
            except StorageAuthError:
                raise
            except StorageUploadError as exc:
                if not _retryable(exc):
                    raise
                last = exc
                log.info("upload of %s failed (attempt %d of %d): %s", file_name, attempt + 1, ATTEMPTS, exc)
                if attempt + 1 < ATTEMPTS:
                    await asyncio.sleep(_RETRY_DELAY * (attempt + 1))
        assert last is not None
        raise last

    async def _upload_once(
        self,
        data: bytes,
        file_name: str,
        content_type: str,
        on_progress: Callable[[int, int], None] | None,
    ) -> str:
        token = await self._current_token(file_name)
        total = len(data)

        async def body() -> AsyncIterator[bytes]:
            for offset in range(0, total, UPLOAD_CHUNK):
                chunk = data[offset : offset + UPLOAD_CHUNK]
                yield chunk
                if on_progress is not None:
                    on_progress(min(offset + len(chunk), total), total)

        headers = {
            "Authorization": f"{token.token_type} {token.value}",
            "Content-Type": content_type,
            "Content-Length": str(total),
            "X-Fal-File-Name": file_name,
        }
        response = await self._post(f"{token.base_url}/files/upload", headers, body(), file_name)
        if response.status_code == 401:
            self._token = None  # an expired token: the next attempt asks for a new one
            raise StorageRefusedError(
                f"fal storage refused its own upload token for {file_name}. Try again in a minute; "
                "the job was not submitted and nothing was charged.",
                status=401,  # retried: the next attempt asks for a fresh token
                file_name=file_name,
            )
        body_json = self._json(response, file_name, "upload")
        url = body_json.get("access_url") if isinstance(body_json, dict) else None
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise StorageRefusedError(
                f"fal storage answered the upload of {file_name} without a file URL. Try again later.",
                status=response.status_code,
                file_name=file_name,
            )
        return url

    async def _current_token(self, file_name: str) -> _Token:
        async with self._token_lock:
            now = datetime.now(UTC)
            if self._token is not None and self._token.expires_at - _TOKEN_MARGIN > now:
                return self._token
            response = await self._post(
                f"{self.storage_url}/storage/auth/token?storage_type={STORAGE_TYPE}",
                {"Authorization": f"Key {self._key}", "Content-Type": "application/json"},
                b"{}",
                file_name,
            )
            if response.status_code in (401, 403):
                detail = _detail(response)
                raise StorageAuthError(
                    f"fal refused the key when uploading {file_name} ({detail or response.status_code}). "
                    "Check your fal key and balance; the job was not submitted and nothing was charged.",
                    status=response.status_code,
                    detail=detail,
                    file_name=file_name,
                )
            body = self._json(response, file_name, "token")
            try:
                expires = _parse_time(body.get("expires_at")) or now + timedelta(minutes=10)
                self._token = _Token(
                    str(body["token"]),
                    str(body.get("token_type") or "Bearer"),
                    str(body["base_url"]).rstrip("/"),
                    expires,
                )
            except (KeyError, AttributeError, TypeError) as exc:
                raise StorageRefusedError(
                    "fal storage answered the token request with something unexpected. Try again later.",
                    status=response.status_code,
                    file_name=file_name,
                ) from exc
            return self._token

    async def _post(self, url: str, headers: dict[str, str], content: Any, file_name: str) -> httpx.Response:
        try:
            return await self._http.post(url, headers=headers, content=content)
        except httpx.TransportError as exc:
            host = httpx.URL(url).host
            raise StorageNetworkError(
                f"Could not reach fal storage ({host}) to upload {file_name}: {type(exc).__name__}. "
                "Check your connection; the job was not submitted and nothing was charged.",
                file_name=file_name,
            ) from exc

    def _json(self, response: httpx.Response, file_name: str, step: str) -> Any:
        if response.status_code >= 400:
            detail = _detail(response)
            raise StorageRefusedError(
                f"fal storage refused the {step} request for {file_name} "
                f"(HTTP {response.status_code}{': ' + str(detail) if detail else ''}). "
                "The job was not submitted and nothing was charged.",
                status=response.status_code,
                detail=detail,
                file_name=file_name,
            )
        try:
            return response.json()
        except ValueError as exc:
            raise StorageRefusedError(
                f"fal storage answered the {step} request for {file_name} with something that is not JSON.",
                status=response.status_code,
                file_name=file_name,
            ) from exc


class ReferenceUploader:
    """Uploads library images through a :class:`StorageClient`, reusing recent uploads of the same bytes."""

    def __init__(
        self,
        library: ReferenceLibrary,
        storage: StorageClient,
        *,
        max_age: timedelta = DEFAULT_MAX_AGE,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.library = library
        self.storage = storage
        self.max_age = max_age
        self._clock = clock
        self._inflight: dict[str, asyncio.Future[str]] = {}

    async def url_for(
        self, sha256: str, name: str = "", on_progress: Callable[[int, int, bool], None] | None = None
    ) -> str:
        """The public URL of a library image: the cached one when recent enough, else a fresh upload.

        Concurrent calls for the same image share one upload.

        Raises:
            ReferenceMissingError: The image is not in the library.
            ImageRejectedError: The stored image breaks fal's limits (a library from an older version).
            StorageUploadError: The upload failed.
        """
        cached = await asyncio.to_thread(self.library.cached_upload, sha256, self.storage.storage_url)
        if cached is not None and self._clock() - cached.uploaded_at < self.max_age:
            if on_progress is not None:
                on_progress(0, 0, True)
            return cached.url
        pending = self._inflight.get(sha256)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._inflight[sha256] = future
        try:
            url = await self._upload(sha256, name, on_progress)
            future.set_result(url)
            return url
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: no "never retrieved" warning when nobody else waits
            raise
        finally:
            del self._inflight[sha256]

    async def _upload(
        self, sha256: str, name: str, on_progress: Callable[[int, int, bool], None] | None
    ) -> str:
        item = await asyncio.to_thread(self.library.require, sha256, name)
        data = await asyncio.to_thread(self.library.read_bytes, sha256, name)
        await asyncio.to_thread(require_valid, data, item.name)
        fmt = ImageFormat(item.format)
        url = await self.storage.upload(
            data,
            file_name=f"{sha256[:16]}{EXTENSIONS[fmt]}",
            content_type=CONTENT_TYPES[fmt],
            on_progress=None
            if on_progress is None
            else (lambda sent, total: on_progress(sent, total, False)),
        )
        await asyncio.to_thread(
            self.library.record_upload, sha256, self.storage.storage_url, url, self._clock()
        )
        return url


async def prepare_references(
    project_refs: ProjectReferences | ReferencesState,
    uploader: ReferenceUploader,
    on_progress: ProgressCallback | None = None,
) -> dict[str, str]:
    """Upload every image a project uses (each hash once) and return sha256 → URL.

    Call it before submitting, then fill the request with
    :func:`kling_studio.core.references.fill_reference_urls`. Images go one after the other, so progress
    reads naturally and a failure stops before the rest.

    Raises:
        StorageUploadError: An upload failed; submit nothing.
        ReferenceMissingError: The project names an image the library does not have.
        ImageRejectedError: A stored image breaks fal's limits.
    """
    state = project_refs.state if isinstance(project_refs, ProjectReferences) else project_refs
    references = state.all_references()
    urls: dict[str, str] = {}
    for index, ref in enumerate(references):

        def report(sent: int, total: int, cached: bool, *, ref=ref, index=index) -> None:
            if on_progress is not None:
                on_progress(
                    UploadProgress(ref.sha256, ref.label, index, len(references), sent, total, cached)
                )

        urls[ref.sha256] = await uploader.url_for(ref.sha256, ref.name, report)
    return urls


def _retryable(error: StorageUploadError) -> bool:
    """Network failures, server errors, throttling and a stale upload token are worth another try."""
    status = error.status
    return status is None or status >= 500 or status in (401, 408, 429)


def _detail(response: httpx.Response) -> Any:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200] or None
    return body.get("detail") if isinstance(body, dict) else body


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
