"""The JSON API against its own OpenAPI description (schemathesis): every operation of
``/openapi.json``, called with generated input on a live server as an admin (the
server.json token) and as a viewer (an API token), never answers 500.

The server serves a project of its own (schemathesis's admin creates and removes users,
queues runs, releases quarantine): a files source with a quarantining check, a partitioned
model and a scheduled pipeline, built once. Half of the generated cases have their path
parameters replaced by ids that exist (a run, its step, an asset, the pipeline, a throwaway
user and its token), so the operations get past their 404s. Bounded: a few examples an
operation, derandomized (the same cases every run), about a minute in all.

The regression tests below it are the 500s this found, each fixed in server/http.py.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hypothesis.strategies as st
import pytest
import schemathesis
from asset_projects import HEADWATER, VIEWER, Served, partitioned_project, serve
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode

from headwater.testing.cli import invoke

EXAMPLES = 6  # an operation (either role, real or generated ids): ~40 operations
ROLES = ["admin", "viewer"]
THROWAWAY = "fuzz-user"  # the users/tokens operations act on this user, not the viewer


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = partitioned_project(tmp_path_factory.mktemp("openapi") / "parts")
    (root / "headwater.toml").write_text(
        (root / "headwater.toml").read_text().replace('severity = "warn"', 'on_fail = "quarantine"')
    )
    (root / "data" / "more.csv").write_text("id,order_date,customer,amount\n4,2026-03-02,,40\n")
    assert invoke("run", "-p", str(root)).exit_code == 0  # a run, and a quarantined row
    for user, role in ((THROWAWAY, "viewer"),):
        added = subprocess.run(
            [HEADWATER, "user", "add", user, "--role", role, "--password-stdin", "-p", str(root)],
            input="throwaway-pass-1\n",
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert added.returncode == 0, added.stderr
    server = serve(root)
    yield server
    server.stop()


def _token(root: Path, user: str) -> str:
    made = subprocess.run(
        [HEADWATER, "token", "create", "--user", user, "-p", str(root)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert made.returncode == 0, made.stderr
    return made.stdout.strip().split()[-1]


@pytest.fixture(scope="module")
def known(served: Served) -> dict[str, Any]:
    """Ids that exist, by path parameter name (``name`` depends on the path)."""
    with served.api() as api:
        run = api.get("/api/runs", params={"limit": 1}).json()[0]["run_id"]
        step = api.get(f"/api/runs/{run}").json()["steps"][0]["step"]
        _token(served.root, THROWAWAY)
        token_id = api.get("/api/tokens", params={"user": THROWAWAY}).json()[0]["id"]
    return {
        "run_id": run,
        "step": step,
        "asset": "raw.orders",
        "token_id": str(token_id),
        "pipeline": "daily",
        "user": THROWAWAY,
    }


@pytest.fixture(scope="module")
def callers(served: Served) -> dict[str, dict[str, str]]:
    """Authorization headers of an admin (server.json's token) and a viewer (an API token)."""
    return {
        "admin": {"Authorization": f"Bearer {served.token}"},
        "viewer": {"Authorization": f"Bearer {_token(served.root, VIEWER)}"},
    }


def _strategy(operation: Any) -> Any:
    """Valid input and, where the description allows any, invalid input (which must be a
    4xx, not a 500)."""
    modes = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]
    found = []
    for mode in modes:
        try:
            found.append(operation.as_strategy(generation_mode=mode))
        except Exception:  # nothing invalid to generate for this operation
            continue
    return st.one_of(found)


def _with_known(case: Any, known: dict[str, Any]) -> None:
    for param in case.path_parameters or {}:
        if param == "name":
            case.path_parameters[param] = known["user" if "/users/" in case.path else "pipeline"]
        elif param in known:
            case.path_parameters[param] = known[param]


def test_no_operation_answers_500(
    served: Served, known: dict[str, Any], callers: dict[str, dict[str, str]]
) -> None:
    schema = schemathesis.openapi.from_url(served.url + "/openapi.json", headers=callers["admin"])
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 30  # the whole API, not an empty description
    problems: list[str] = []

    for operation in operations:

        @given(case=_strategy(operation), real_ids=st.booleans(), role=st.sampled_from(ROLES))
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            phases=[Phase.explicit, Phase.generate],  # no shrinking: bounded time
            suppress_health_check=list(HealthCheck),
        )
        def call(case: Any, real_ids: bool, role: str) -> None:
            if real_ids:
                _with_known(case, known)
            answer = case.call(headers=callers[role], timeout=60)
            assert answer.status_code < 500, (
                f"{case.method} {case.formatted_path} as {role}: {answer.status_code} "
                f"{answer.text[:200]} (query {case.query}, body "
                f"{json.dumps(case.body, default=str)[:200]})"
            )

        try:
            call()
        except AssertionError as failed:
            problems.append(str(failed).splitlines()[0])
    assert not problems, "\n".join(problems)


# -- the 500s schemathesis found, fixed ----------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["/api/runs?limit=-3", "/api/quarantine/raw.orders/rows?limit=-1", "/api/loads?limit=-2"],
)
def test_a_negative_limit_is_a_400_in_one_line(served: Served, path: str) -> None:
    with served.api() as api:
        refused = api.get(path)
    assert refused.status_code == 400, refused.text
    assert refused.json() == {"error": "limit must be at least 0", "exit_code": 1}


def test_a_log_offset_past_the_end_is_the_end(served: Served, known: dict[str, Any]) -> None:
    path = f"/api/runs/{known['run_id']}/steps/{known['step']}/log"
    with served.api() as api:
        whole = api.get(path).json()
        past = api.get(path, params={"offset": 10**14})  # seek failed on it: a 500
    assert whole["done"] and whole["text"]
    assert past.status_code == 200, past.text
    assert past.json()["text"] == "" and past.json()["done"]
    assert past.json()["next_offset"] == whole["next_offset"]  # the log's end
