"""One run: plan the selected steps, execute them in parallel, record everything.

Invariant: every step outcome (success, failure, upstream_failed, timeout, retries) reaches
the metastore and the display through one event stream, from the executor's main thread.
"""

from headwater.runtime.executor import Event, Executor, Step, StepState
from headwater.runtime.run import RunResult, retry_run, run

__all__ = ["Event", "Executor", "RunResult", "Step", "StepState", "retry_run", "run"]
