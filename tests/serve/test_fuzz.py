"""Property-based fuzzing of the API from its own OpenAPI schema (schemathesis): no 5xx, ever.

Each operation gets ``MAX_EXAMPLES`` generated requests, valid and invalid (wrong types, out of
range numbers, odd strings, missing fields). Every answer must be a documented status with a
body matching the schema; no input may produce a server error. A summary (requests per
operation and status) is written to ``$ATTNREC_ARTIFACTS/fuzz-summary.json``.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable

schemathesis = pytest.importorskip("schemathesis", reason="schemathesis is not installed")

from schemathesis import GenerationMode  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

#: generated requests per operation: enough to hit every parameter's edges, and quick
MAX_EXAMPLES = 25

ARTIFACTS = Path(os.environ.get("ATTNREC_ARTIFACTS", Path(__file__).parents[1] / "artifacts"))

_SEEN: Counter[tuple[str, int]] = Counter()

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def api_schema(app: FastAPI):
    return schemathesis.openapi.from_asgi("/openapi.json", app)


@pytest.fixture(scope="module", autouse=True)
def fuzz_summary() -> Iterator[None]:
    """Write how many requests each operation got, by status, once the module is done."""
    yield
    if not _SEEN:
        return
    by_operation: dict[str, dict[str, int]] = {}
    for (operation, status), count in sorted(_SEEN.items()):
        by_operation.setdefault(operation, {})[str(status)] = count
    summary = {
        "requests": sum(_SEEN.values()),
        "server_errors": sum(c for (_, s), c in _SEEN.items() if s >= 500),
        "operations": by_operation,
    }
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "fuzz-summary.json").write_text(json.dumps(summary, indent=2) + "\n")


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


# schemathesis.pytest.from_fixture fails under pytest 9 (it reads Function._nodeid, which is
# gone), so each operation's strategy is driven by hypothesis directly
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_api_never_fails(api_schema, served, mode: GenerationMode) -> None:
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) == 9
    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode), data=st.data())
        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case, data: st.DataObject) -> None:
            # half the valid requests name real users and items, to reach the model
            if mode == GenerationMode.POSITIVE and data.draw(st.booleans()):
                use_known_ids(case, data, served)
            response = case.call()
            _SEEN[(f"{case.method} {case.path}", response.status_code)] += 1
            assert response.status_code < 500, (
                f"{case.method} {case.formatted_path} answered {response.status_code}: "
                f"{response.text}"
            )
            case.validate_response(response, checks=CHECKS)

        try:
            check()
        except Unsatisfiable:
            # an operation without parameters (health) has no invalid request to generate
            assert mode == GenerationMode.NEGATIVE, operation.label


def use_known_ids(case, data: st.DataObject, served) -> None:
    """Replace generated ids by the run's (any spelling), and profile ratings by valid ones."""
    spell = st.sampled_from([str, int])
    if case.path_parameters and "user" in case.path_parameters:
        user = data.draw(st.sampled_from(served.users_))
        case.path_parameters["user"] = str(user)
    if case.path_parameters and "item" in case.path_parameters:
        case.path_parameters["item"] = str(data.draw(st.sampled_from(served.items_)))
    if isinstance(case.body, dict) and isinstance(case.body.get("ratings"), list):
        size = min(len(case.body["ratings"]), len(served.items_)) or 1
        items = data.draw(st.permutations(served.items_))[:size]
        low, high = served.dataset_.rating_scale
        case.body["ratings"] = [
            {
                "item": data.draw(spell)(item),
                "rating": data.draw(st.floats(low, high, allow_nan=False)),
            }
            for item in items
        ]
