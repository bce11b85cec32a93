"""Budget under load: CLI processes and an in-process runner (the app's) submit at once against one daily
budget; together they never pass it, and fal (the simulator) sees exactly the accepted jobs."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import httpx
from reliability_helpers import SimulatorProcess, cli_env, job_rows, short_project, start_cli, write_project

from kling_studio.core.pricing import PriceCatalog, estimate
from kling_studio.core.request import build_request
from kling_studio.services.fal_queue import FalQueueClient
from kling_studio.services.job_runner import JobRunner
from kling_studio.services.job_store import JobStore
from kling_studio.services.jobs import NewJob
from kling_studio.services.ledger import BudgetExceededError, BudgetPolicy

KEY = "budgetid:budget-secret-0000"
CLI_PROCESSES = 8
APP_SUBMITS = 8
FITS = 10  # more than either side submits: both must get some, together never more
STAGGER = 0.1


async def _app_submits(tmp_path, url: str, spec: NewJob) -> list[object]:
    store = JobStore(tmp_path / "data" / "jobs.sqlite3")
    async with httpx.AsyncClient(timeout=30) as http:
        runner = JobRunner(
            store,
            FalQueueClient(http, queue_url=url, key=KEY),
            http,
            outputs_root=lambda slug: tmp_path / "data" / "outputs" / slug,
            locks_dir=tmp_path / "data" / "locks",
        )
        try:

            async def submit_later(delay: float):
                await asyncio.sleep(delay)
                return await runner.submit(spec)

            # Spread over the seconds the CLI processes take to start, so both sides compete for the budget.
            waves = (submit_later(i * STAGGER) for i in range(APP_SUBMITS))
            return await asyncio.gather(*waves, return_exceptions=True)
        finally:
            await runner.close()
            store.close()


def test_concurrent_cli_and_app_submits_never_pass_the_budget(tmp_path, figures):
    project = short_project("Budget")
    price = estimate(project, catalog=PriceCatalog.bundled()).total
    request = build_request(project)
    spec = NewJob(
        project_name=project.name,
        model_id=request.model_id,
        tier="pro",
        input=dict(request.arguments),
        estimated_cost=price,
    )
    with JobStore(tmp_path / "data" / "jobs.sqlite3") as store:
        store.ledger.set_budget(BudgetPolicy(daily=price * FITS))
    path = write_project(tmp_path / "budget.kproj", project)
    sim = SimulatorProcess(speed=5, work_dir=tmp_path / "renders")  # slow: jobs stay queued, nothing finishes
    try:
        env = cli_env(tmp_path, sim.url, KEY)
        procs = [start_cli("submit", str(path), "--yes", "--detach", env=env) for _ in range(CLI_PROCESSES)]
        procs[0].stderr.readline()  # its price line: the CLI processes are about to submit; the app joins in
        app = asyncio.run(_app_submits(tmp_path, sim.url, spec))
        results = [(proc.wait(120), *proc.communicate()) for proc in procs]
        posts = [r for r in sim.request_log() if r.method == "POST" and r.model_id]
    finally:
        sim.stop()

    rows = job_rows(tmp_path / "data")
    cli_ok = [r for r in results if r[0] == 0]
    cli_refused = [r for r in results if r[0] == 2 and "budget" in r[2].lower()]
    app_ok = [r for r in app if not isinstance(r, BaseException)]
    app_refused = [r for r in app if isinstance(r, BudgetExceededError)]
    spent = sum((Decimal(r["estimated_cost"]) for r in rows), Decimal(0))
    figures.record(
        "budget under load",
        submits=CLI_PROCESSES + APP_SUBMITS,
        budget_fits=FITS,
        accepted=len(rows),
        accepted_cli=len(cli_ok),
        accepted_app=len(app_ok),
        refused=len(cli_refused) + len(app_refused),
        posts_seen_by_fal=len(posts),
        over_budget=str(max(Decimal(0), spent - price * FITS)),
    )
    assert len(cli_ok) + len(cli_refused) == CLI_PROCESSES, [r[2][-300:] for r in results]
    assert len(app_ok) + len(app_refused) == APP_SUBMITS, app
    assert len(rows) == len(cli_ok) + len(app_ok) == FITS
    assert len(posts) == FITS
    assert cli_ok and app_ok  # both sides really competed
    assert spent == price * FITS
    for _, _, stderr in cli_refused:
        assert "Traceback" not in stderr
