"""The login throttle's delays (headwater.api.users.LoginThrottle), with a fake clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from headwater.api.users import LoginThrottle


def test_delays_start_after_five_failures_and_double() -> None:
    throttle = LoginThrottle()
    key, other = ("ann", "10.0.0.1"), ("ann", "10.0.0.2")
    t0 = datetime(2026, 12, 7, tzinfo=UTC)
    for i in range(5):
        assert throttle.wait(key, t0) == 0  # five tries are free
        throttle.failed(key, t0 + timedelta(seconds=i))
    last = t0 + timedelta(seconds=4)
    assert throttle.wait(key, last) == 30
    assert throttle.wait(key, last + timedelta(seconds=10)) == 20
    assert throttle.wait(other, last) == 0  # per client address
    throttle.failed(key, last + timedelta(seconds=30))
    assert throttle.wait(key, last + timedelta(seconds=30)) == 60
    for _ in range(10):
        throttle.failed(key, last)
    assert throttle.wait(key, last) == 900  # capped at 15 minutes
    throttle.succeeded(key)
    assert throttle.wait(key, last) == 0
