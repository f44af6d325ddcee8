"""Tasks: steps with effects outside the warehouse (exports, reverse ETL, notifications)."""

from headwater.tasks.context import TaskContext, run_task

__all__ = ["TaskContext", "run_task"]
