"""What every fuzz target shares: derandomized settings with the run's example count, and JSON values."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

FUZZ_PROFILE = "kling-fuzz"

NASTY = (
    None,
    True,
    False,
    0,
    -1,
    1,
    3,
    15,
    16,
    2**63,
    -(2**70),
    0.5,
    1e308,
    -0.0,
    float("nan"),
    float("inf"),
    "",
    " ",
    "4k",
    "pro",
    "16:9",
    "5",
    "15",
    "0",
    "\x00",
    "\ud7ff\u202e",
    "é" * 50,
    [],
    {},
    [None],
    {"": None},
)
JSON_LEAVES = (
    st.sampled_from(NASTY) | st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=16)
)
# One level of nesting only: deep recursive strategies cost far more to draw than the targets cost to run.
JSON_VALUES = (
    JSON_LEAVES
    | st.lists(JSON_LEAVES, max_size=4)
    | st.dictionaries(st.text(max_size=8), JSON_LEAVES, max_size=4)
)


def fuzz_settings() -> settings:
    """Settings for one fuzz target (the conftest registers the profile from ``--fuzz-examples``)."""
    try:
        return settings(settings.get_profile(FUZZ_PROFILE))
    except InvalidArgument:  # imported outside this suite's conftest
        return settings(
            max_examples=int(os.environ.get("KLING_STUDIO_FUZZ_EXAMPLES", "1000")),
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=[
                HealthCheck.too_slow,
                HealthCheck.data_too_large,
                HealthCheck.filter_too_much,
            ],
        )
