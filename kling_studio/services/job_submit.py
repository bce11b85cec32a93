"""Sending a project's job: budget first, then its reference images, then the POST.

A request with a start frame or elements names its images by placeholder until they are uploaded
(:mod:`kling_studio.core.references`). Uploads cost nothing but take time, so they happen only once the price
is confirmed and the budget allows the job; the job is recorded and POSTed only once every image is uploaded.
A failed upload or a missing library image therefore leaves nothing recorded, sent or charged.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import TYPE_CHECKING

from kling_studio.core.errors import UserError
from kling_studio.core.references import (
    ProjectReferences,
    ReferencesState,
    fill_reference_urls,
    placeholder_hashes,
    provenance_entries,
)
from kling_studio.services.jobs import Job, NewJob
from kling_studio.services.reference_library import describe_missing
from kling_studio.services.storage_upload import ProgressCallback, UploadProgress, prepare_references

if TYPE_CHECKING:
    from kling_studio.core.references import Reference
    from kling_studio.services.job_runner import JobRunner
    from kling_studio.services.job_store import JobStore
    from kling_studio.services.storage_upload import ReferenceUploader


class ReferenceImagesMissingError(UserError):
    """The project names images the reference library does not have; nothing was uploaded or sent."""

    def __init__(self, missing: list[Reference]) -> None:
        self.missing = missing
        super().__init__(f"{describe_missing(missing)} Nothing was sent and nothing was charged.")


class NoReferenceUploaderError(UserError):
    """A request names reference images, but nothing was given to upload them with."""


async def upload_references(
    spec: NewJob,
    references: ProjectReferences | ReferencesState,
    uploader: ReferenceUploader,
    on_progress: ProgressCallback | None = None,
) -> NewJob:
    """``spec`` with its image placeholders replaced by uploaded URLs, and its provenance references filled.

    Raises:
        ReferenceImagesMissingError: The library lacks some of the project's images (checked before any upload).
        StorageUploadError: An upload failed.
        ImageRejectedError: A stored image breaks fal's limits.
    """
    state = references.state if isinstance(references, ProjectReferences) else references
    missing = await asyncio.to_thread(uploader.library.missing_references, state.all_references())
    if missing:
        raise ReferenceImagesMissingError(missing)
    urls = await prepare_references(state, uploader, on_progress)
    return replace(
        spec,
        input=fill_reference_urls(spec.input, urls),
        references=tuple(provenance_entries(state, urls)),
    )


async def submit_job(
    store: JobStore,
    runner: JobRunner,
    spec: NewJob,
    *,
    references: ProjectReferences | ReferencesState | None = None,
    uploader: ReferenceUploader | None = None,
    on_progress: ProgressCallback | None = None,
) -> Job:
    """Check the budget, upload the job's reference images, then record and send it through ``runner``.

    Call it after the user confirmed the price. A job without images goes straight to the runner.

    Raises:
        BudgetExceededError: The job would pass a budget; nothing was uploaded, recorded or sent.
        ReferenceImagesMissingError, StorageUploadError, ImageRejectedError: see :func:`upload_references`.
        NoReferenceUploaderError: The input names images but no references or uploader were given.
    """
    if not placeholder_hashes(spec.input):
        return await runner.submit(spec)
    if references is None or uploader is None:
        raise NoReferenceUploaderError(
            "This job uses reference images, but the reference library is not open, so they cannot be "
            "uploaded. Nothing was sent; try again in a moment."
        )
    await asyncio.to_thread(store.check_budget, spec)
    return await runner.submit(await upload_references(spec, references, uploader, on_progress))


def describe_upload(progress: UploadProgress) -> str:
    """One line for a status bar or a terminal: ``Uploading reference 2 of 3 (Hero front): 40%``."""
    position = f"reference {progress.index + 1} of {progress.count} ({progress.name})"
    if progress.cached:
        return f"Reusing the upload of {position}"
    percent = 100 if progress.total == 0 else 100 * progress.sent // progress.total
    return f"Uploading {position}: {percent}%"
