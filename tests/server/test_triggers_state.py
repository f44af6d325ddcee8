"""The durable memory of the server's triggers (.headwater/triggers/<pipeline>.json): claims
by run id, settled as the runs ended, kept across a new process."""

from __future__ import annotations

import json
from pathlib import Path

from headwater.server.triggers_state import Seen, TriggerState


def _state(root: Path) -> TriggerState:
    return TriggerState.load(root / ".headwater" / "triggers" / "p.json", root)


def test_a_claim_becomes_seen_when_its_run_ran_and_is_forgotten_when_stopped(
    tmp_path: Path,
) -> None:
    (tmp_path / "a.csv").write_text("x\n")
    (tmp_path / "b.csv").write_text("x\n")
    state = _state(tmp_path)
    state.claim("run-a", Seen(files={"a.csv": (2, 10)}, value='"v1"'))
    state.claim("run-b", Seen(files={"b.csv": (2, 20)}, upstream={"up-1"}))
    assert state.known().files == {"a.csv": (2, 10), "b.csv": (2, 20)}  # claimed: not new

    again = _state(tmp_path)  # a new process reads the claims back
    assert set(again.claims) == {"run-a", "run-b"} and again.since == state.since
    again.recover({"run-a": "success", "run-b": "abandoned"}.get)

    after = _state(tmp_path)
    assert after.claims == {}
    assert after.seen.files == {"a.csv": (2, 10)} and after.seen.value == '"v1"'
    assert after.seen.upstream == set()  # run-b was killed: b.csv and up-1 are new again
    assert sorted(p.name for p in after.path.parent.iterdir()) == ["p.json"]  # no temp file


def test_seen_files_no_longer_there_are_forgotten(tmp_path: Path) -> None:
    (tmp_path / "kept.csv").write_text("x\n")
    state = _state(tmp_path)
    state.claim("r1", Seen(files={"kept.csv": (2, 1), "gone.csv": (2, 1)}))
    state.settle("r1", ran=True)
    assert state.seen.files == {"kept.csv": (2, 1)}


def test_an_unreadable_file_starts_afresh(tmp_path: Path) -> None:
    path = tmp_path / ".headwater" / "triggers" / "p.json"
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    state = _state(tmp_path)
    assert state.seen == Seen() and state.claims == {}
    assert json.loads(path.read_text())["claims"] == {}  # written again, whole
