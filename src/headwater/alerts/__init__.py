"""Alerts: a JSON message to a webhook or a shell command when a run fails, a blocking check
fails or a scheduled interval misses its deadline (``[alerts.NAME]`` in headwater.toml).

::

    from headwater.alerts import notify, run_alerts

    for alert in run_alerts(project.name, pipeline, run_id, "failed", steps, params):
        notify(project.settings.alerts, alert, run_log=logs_dir / run_id / "run.log")

Contract: :func:`notify` never raises and never waits: it puts the alert on a bounded queue
that one background thread per process delivers (:mod:`headwater.alerts.dispatch`); a
delivery that fails is one line in the run's ``run.log`` (and the process log). At exit the
process waits for alerts still being sent, at most :data:`FLUSH_S` seconds. A payload holds
no secret: every text in it goes through :func:`headwater.config.secrets.redact_text`.
Layer: below ``runtime`` (runs and check runs alert) and above the step layers; it imports
only ``config`` and ``errors``.
"""

from __future__ import annotations

from headwater.alerts.dispatch import FLUSH_S, flush, notify
from headwater.alerts.payload import EVENTS, Alert, check_alert, deadline_alert, run_alerts

__all__ = [
    "EVENTS",
    "FLUSH_S",
    "Alert",
    "check_alert",
    "deadline_alert",
    "flush",
    "notify",
    "run_alerts",
]
