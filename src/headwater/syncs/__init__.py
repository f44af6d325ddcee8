"""Reverse ETL: ``[syncs.NAME]`` merges a model into a table of an operational PostgreSQL or
MySQL/MariaDB database (see README.md). A sync is a step of the graph downstream of its
model (``sync.NAME``), so ``headwater run`` and the scheduler run it."""

from headwater.syncs.step import SyncPlan, plan_sync, run_sync, sync_name

__all__ = ["SyncPlan", "plan_sync", "run_sync", "sync_name"]
