"""The composition root of the services layer: what the window and the CLI need, built in one place.

With a fal key (keyring or ``FAL_KEY``) jobs go to fal's queue (``KLING_STUDIO_QUEUE_URL`` overrides the host,
e.g. for a proxy). Without one, nothing can be charged: jobs go to the built-in simulator, started here on
127.0.0.1, or to the one ``KLING_STUDIO_QUEUE_URL`` points at.

Reference images are uploaded to fal's storage (``KLING_STUDIO_STORAGE_URL`` overrides the host); without a
key they go to the simulator, which implements fal's storage endpoints too, so nothing leaves the machine.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from kling_studio.core.pricing import PriceCatalog
from kling_studio.core.references import ProjectReferences, ReferencesState
from kling_studio.services import paths
from kling_studio.services.fal_queue import FalQueueClient, queue_url_from_env
from kling_studio.services.job_runner import JobRunner
from kling_studio.services.job_store import JobStore
from kling_studio.services.jobs import Job, NewJob
from kling_studio.services.ledger import Ledger
from kling_studio.services.secrets import KeyInfo, KeyStore

if TYPE_CHECKING:
    from kling_studio.services.reference_library import ReferenceLibrary
    from kling_studio.services.storage_upload import ProgressCallback, ReferenceUploader

#: What the simulator is sent as a key: well-formed, obviously not a real one.
SIMULATOR_KEY = "simulator:nothing-is-charged"
SIMULATOR_NOTICE = "Simulator — nothing is charged"
USER_PRICES_FILE = "pricing.json"


@dataclass
class StudioServices:
    """The open services of one process; close them with :meth:`close`."""

    store: JobStore
    runner: JobRunner
    keys: KeyStore
    catalog: PriceCatalog
    queue_url: str
    simulated: bool
    http: httpx.AsyncClient
    library: ReferenceLibrary
    uploader: ReferenceUploader
    key_info: KeyInfo | None = None
    _simulator: object | None = field(default=None, repr=False)

    @property
    def ledger(self) -> Ledger:
        """Spend and budgets."""
        return self.store.ledger

    @classmethod
    async def open(
        cls,
        *,
        keys: KeyStore | None = None,
        start_runner: bool = True,
        max_active: int = 2,
    ) -> StudioServices:
        """Open the job database, decide between fal and the simulator, and resume unfinished jobs."""
        # Imported here: the image checks load PyAV and numpy (~0.3 s), which `kling-studio jobs` should not pay.
        from kling_studio.services.reference_library import ReferenceLibrary
        from kling_studio.services.storage_upload import (
            STORAGE_URL_ENV,
            ReferenceUploader,
            StorageClient,
            storage_url_from_env,
        )

        keys = keys or KeyStore()
        key_info = await asyncio.to_thread(keys.get)
        store = await asyncio.to_thread(JobStore, paths.database_path())
        catalog = await asyncio.to_thread(load_price_catalog)
        library = await asyncio.to_thread(ReferenceLibrary.open_default)
        simulator = None
        configured_url = os.environ.get("KLING_STUDIO_QUEUE_URL")
        if key_info is None:
            if configured_url:
                queue_url = configured_url
            else:
                simulator = await asyncio.to_thread(_start_builtin_simulator)
                queue_url = simulator.url
            key = SIMULATOR_KEY
            # The simulator serves fal's storage endpoints on its own address.
            storage_url = os.environ.get(STORAGE_URL_ENV) or queue_url
        else:
            queue_url, key = queue_url_from_env(), key_info.key
            storage_url = storage_url_from_env()
        # Built in a worker thread: loading the system's CA certificates takes ~40 ms, over two frames.
        http = await asyncio.to_thread(_http_client)
        client = FalQueueClient(http, queue_url=queue_url, key=key)
        runner = JobRunner(store, client, http, max_active=max_active)
        uploader = ReferenceUploader(library, StorageClient(http, key=key, storage_url=storage_url))
        services = cls(
            store=store,
            runner=runner,
            keys=keys,
            catalog=catalog,
            queue_url=queue_url,
            simulated=key_info is None,
            http=http,
            library=library,
            uploader=uploader,
            key_info=key_info,
            _simulator=simulator,
        )
        if simulator is not None:
            await asyncio.to_thread(_expire_orphaned_simulations, store, queue_url)
        if start_runner:
            await runner.start()
        return services

    async def submit(
        self,
        spec: NewJob,
        references: ProjectReferences | ReferencesState | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> Job:
        """Send a job whose price the user accepted: budget check, reference uploads, then the POST.

        See :func:`kling_studio.services.job_submit.submit_job` for what it raises.
        """
        from kling_studio.services.job_submit import submit_job

        return await submit_job(
            self.store, self.runner, spec, references=references, uploader=self.uploader, on_progress=on_progress
        )

    async def close(self) -> None:
        """Stop the runner (jobs stay resumable), close HTTP, the simulator, the library and the database."""
        await self.runner.close()
        await self.http.aclose()
        if self._simulator is not None:
            await asyncio.to_thread(self._simulator.stop)  # type: ignore[attr-defined]
        await asyncio.to_thread(self.library.close)
        await asyncio.to_thread(self.store.close)


def _http_client() -> httpx.AsyncClient:
    return httpx.AsyncClient(
        timeout=httpx.Timeout(30.0, connect=10.0),
        limits=httpx.Limits(max_connections=64, max_keepalive_connections=16),
        follow_redirects=True,
    )


def load_price_catalog() -> PriceCatalog:
    """The user's own price file (``<config>/pricing.json``) when there is one, else the bundled one."""
    user_file = paths.config_dir() / USER_PRICES_FILE
    if user_file.is_file():
        return PriceCatalog.from_file(user_file)
    return PriceCatalog.bundled()


def _expire_orphaned_simulations(store: JobStore, simulator_url: str) -> None:
    """Simulated jobs left unfinished by an earlier run pointed at a simulator that is gone: say so."""
    for job in store.unfinished():
        if job.simulated and job.status_url and not job.status_url.startswith(simulator_url):
            store.mark_expired(
                job.id,
                "The built-in simulator was restarted before this simulated clip was downloaded. "
                "Nothing was charged; generate it again to see it.",
            )


def _start_builtin_simulator() -> object:
    # Imported here: PyAV and numpy are only needed when the simulator actually runs.
    from kling_studio.services.simulator import SimulatorConfig, SimulatorServer

    work_dir: Path = paths.data_dir() / "simulator"
    config = SimulatorConfig(
        speed=float(os.environ.get("KLING_STUDIO_SIM_SPEED", "1")),
        resolution=os.environ.get("KLING_STUDIO_SIM_RESOLUTION", "preview"),
        work_dir=work_dir,
    )
    return SimulatorServer(config, host="127.0.0.1", port=0).start()
