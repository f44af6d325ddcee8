"""The schedule keys of [pipelines.NAME]: accepted when right, refused in one located line."""

from __future__ import annotations

from pathlib import Path

import pytest

from headwater.config.settings import load_settings
from headwater.errors import ConfigError
from headwater.testing.cli import write_project

BAD = [
    ('schedule = "0 6 * *"', "schedule", "bad cron expression"),
    ('schedule = "0 25 * * *"', "schedule", "bad cron expression"),
    ('schedule = "0 6 * * *"\ntimezone = "Europe/Berlln"', "timezone", "unknown time zone"),
    ('every = "15 minutes please"', "every", "bad duration"),
    ('every = "0m"', "every", "bad duration"),
    ('schedule = "0 6 * * *"\nevery = "1h"', "every", "not both"),
    ('every = "1h"\nstart = 2026-02-01\nend = 2026-01-01', "end", "must be after start"),
    ('every = "1h"\nstart = "yesterday"', "start", "bad date or time"),
    ('catchup = "all"', "catchup", "only read for a scheduled pipeline"),
    ('every = "1h"\ncatchup = "some"', "catchup", "Input should be"),
    ('every = "1h"\nmax_active_runs = 0', "max_active_runs", "greater than or equal to 1"),
]


@pytest.mark.parametrize(
    ("body", "key", "says"), BAD, ids=[f"{k}-{i}" for i, (_, k, _) in enumerate(BAD)]
)
def test_a_bad_schedule_key_is_refused_on_its_line(
    tmp_path: Path, body: str, key: str, says: str
) -> None:
    toml = f'[pipelines.daily]\nselect = ["a"]\n{body}\n'
    root = write_project(tmp_path, {"headwater.toml": toml})
    line = 3 + next(i for i, t in enumerate(toml.splitlines(), 1) if t.startswith(key))
    with pytest.raises(ConfigError) as err:
        load_settings(root / "headwater.toml")
    message = str(err.value)
    assert message.startswith(f"{root / 'headwater.toml'}:{line}: pipelines.daily.{key}: ")
    assert says in message and len(message.splitlines()) == 1


def test_a_full_schedule_is_accepted(tmp_path: Path) -> None:
    toml = (
        '[pipelines.daily]\nselect = ["a"]\nschedule = "30 2 * * *"\n'
        'timezone = "Europe/Berlin"\nstart = 2026-01-01\nend = "2026-12-31T00:00:00+01:00"\n'
        'catchup = "none"\nmax_active_runs = 3\n'
    )
    root = write_project(tmp_path, {"headwater.toml": toml})
    pipe = load_settings(root / "headwater.toml").pipelines["daily"]
    assert (pipe.schedule, pipe.timezone, pipe.catchup, pipe.max_active_runs) == (
        "30 2 * * *",
        "Europe/Berlin",
        "none",
        3,
    )
