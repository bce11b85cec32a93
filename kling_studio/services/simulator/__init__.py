"""A built-in stand-in for fal's queue API and the six Kling V3 endpoints, for tests, demos and offline work.

It is a real HTTP server speaking fal's queue protocol with fal's bodies and status codes, rendering a real
MP4 per request, with injectable faults (see :mod:`.faults` for the grammar)::

    from kling_studio.services.simulator import FaultPlan, SimulatorConfig, SimulatorServer

    config = SimulatorConfig(speed=50, resolution="preview", faults=FaultPlan.parse("429@status:0.3,seed=1"))
    with SimulatorServer(config) as sim:
        ...  # point KLING_STUDIO_QUEUE_URL at sim.url
"""

from kling_studio.services.simulator.faults import Fault, FaultPlan, FaultSpecError
from kling_studio.services.simulator.server import RequestRecord, SimulatorConfig, SimulatorServer

__all__ = [
    "Fault",
    "FaultPlan",
    "FaultSpecError",
    "RequestRecord",
    "SimulatorConfig",
    "SimulatorServer",
]
