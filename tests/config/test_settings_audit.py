"""Every key of headwater.toml (and of model settings) is read somewhere or refused.

The tables below list each field of each settings model with the module that reads it, and
each source key with the kinds of source that read it (``SOURCE_KEYS``): adding a field
without saying where it is read fails here, and a source key set on a source kind that does
not read it is refused with one located line.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest
from pydantic import BaseModel

import headwater
from headwater.config.exports import ExportSettings
from headwater.config.rest import RestAuth, RestEndpoint, RestPaginate, RestSettings
from headwater.config.settings import (
    SOURCE_KEYS,
    AlertSettings,
    ConnectionSettings,
    ModelSettings,
    PipelineSettings,
    ProjectSettings,
    ProjectTable,
    SourceSettings,
    TableOptions,
    load_settings,
)
from headwater.config.streams import CdcSettings, KafkaSettings
from headwater.config.triggers import ConditionTrigger, FileTrigger
from headwater.errors import ConfigError
from headwater.project import load_project
from headwater.testing.cli import write_project

PACKAGE = Path(headwater.__file__).parent

# field -> (module under src/headwater that reads it, the attribute it reads)
READ: dict[type[BaseModel], dict[str, tuple[str, str]]] = {
    ProjectSettings: {
        "project": ("project/loader.py", "project"),
        "schemas": ("project/loader.py", "schemas"),
        "connections": ("project/loader.py", "connections"),
        "sources": ("project/loader.py", "sources"),
        "pipelines": ("api/project.py", "pipelines"),
        "alerts": ("runtime/run.py", "alerts"),
        "exports": ("project/export_assets.py", "exports"),
        "syncs": ("api/syncs.py", "syncs"),
        "server": ("server/process.py", "server"),
    },
    ExportSettings: {
        "model": ("project/export_assets.py", "model"),
        "to": ("exports/step.py", "to"),
        "format": ("exports/step.py", "format"),
        "partition_by": ("exports/step.py", "partition_by"),
        "connection": ("exports/step.py", "connection"),
        "description": ("project/export_assets.py", "description"),
        "tags": ("project/export_assets.py", "tags"),
        "retries": ("project/export_assets.py", "retries"),
        "retry_delay": ("project/export_assets.py", "retry_delay"),
        "timeout": ("project/export_assets.py", "timeout"),
    },
    ProjectTable: {
        "name": ("project/loader.py", "name"),
        "warehouse": ("project/loader.py", "warehouse"),
        "metastore": ("project/loader.py", "metastore"),
        "engine": ("runtime/run.py", "engine"),
        "threads": ("runtime/run.py", "threads"),
        "retries": ("runtime/steps.py", "retries"),
        "retry_delay": ("runtime/steps.py", "retry_delay"),
        "timeout": ("runtime/steps.py", "timeout"),
        "memory_limit": ("runtime/run.py", "memory_limit"),
        "history_days": ("server/housekeeping.py", "history_days"),
        "heartbeat_timeout": ("server/leader.py", "heartbeat_timeout"),
        "executor": ("runtime/run.py", "executor"),
        "master": ("project/loader.py", "master"),
        "metastore_uri": ("project/loader.py", "metastore_uri"),
    },
    ConnectionSettings: {
        "url": ("sources/step.py", "url"),
        "max_concurrent": ("sources/step.py", "max_concurrent"),
    },
    AlertSettings: {
        "webhook": ("alerts/send.py", "webhook"),
        "command": ("alerts/send.py", "command"),
        "on": ("alerts/dispatch.py", "on"),
        "pipelines": ("alerts/dispatch.py", "pipelines"),
    },
    PipelineSettings: {
        "select": ("api/project.py", "select"),
        "exclude": ("api/project.py", "exclude"),
        "schedule": ("scheduling/intervals.py", "schedule"),
        "every": ("scheduling/intervals.py", "every"),
        "priority": ("server/runs.py", "priority"),
        "timezone": ("scheduling/intervals.py", "timezone"),
        "start": ("scheduling/intervals.py", "start"),
        "end": ("scheduling/intervals.py", "end"),
        "catchup": ("scheduling/intervals.py", "catchup"),
        "max_active_runs": ("scheduling/intervals.py", "max_active_runs"),
        "deadline": ("server/housekeeping.py", "deadline"),
        "on_files": ("server/triggers.py", "on_files"),
        "on_assets": ("server/triggers.py", "on_assets"),
        "on_condition": ("server/triggers.py", "on_condition"),
    },
    FileTrigger: {
        "glob": ("server/triggers_watch.py", "glob"),
        "settle_seconds": ("server/triggers_watch.py", "settle_seconds"),
    },
    ConditionTrigger: {
        "connection": ("server/triggers_watch.py", "connection"),
        "sql": ("server/triggers_watch.py", "sql"),
        "every": ("config/triggers.py", "every"),
    },
    TableOptions: {
        "primary_key": ("project/asset.py", "primary_key"),
        "cursor": ("project/asset.py", "cursor"),
        "write": ("project/asset.py", "write"),
        "columns": ("sources/step.py", "columns"),
        "query": ("sources/step.py", "query"),
        "initial_value": ("project/asset.py", "initial_value"),
        "interval_column": ("project/asset.py", "interval_column"),
        "char_padding": ("sources/step.py", "char_padding"),
        "checks": ("project/loader.py", "checks"),
    },
    SourceSettings: {
        "connection": ("sources/step.py", "connection"),
        "tables": ("project/loader.py", "tables"),
        "include": ("project/loader.py", "include"),
        "exclude": ("project/loader.py", "exclude"),
        "db_schema": ("sources/discover.py", "db_schema"),
        "table_names": ("project/loader.py", "table_names"),
        "table_options": ("project/loader.py", "table_options"),
        "query": ("sources/step.py", "query"),
        "files": ("sources/files.py", "files"),
        "format": ("config/settings.py", "format"),  # SourceSettings.file_format()
        "primary_key": ("project/asset.py", "primary_key"),
        "cursor": ("project/asset.py", "cursor"),
        "initial_value": ("project/asset.py", "initial_value"),
        "end_value": ("sources/step.py", "end_value"),
        "interval_column": ("project/asset.py", "interval_column"),
        "lag": ("sources/step.py", "lag"),
        "contract": ("sources/step.py", "contract"),
        "write": ("project/asset.py", "write"),
        "transport": ("sources/step.py", "transport"),
        "char_padding": ("sources/step.py", "char_padding"),
        "schema_": ("project/loader.py", "schema_"),
        "delimiter": ("sources/files.py", "delimiter"),
        "header": ("sources/files.py", "header"),
        "quote": ("sources/files.py", "quote"),
        "encoding": ("sources/files.py", "encoding"),
        "null": ("sources/files.py", "null"),
        "on_bad_line": ("sources/file_load.py", "on_bad_line"),
        "column_types": ("sources/files.py", "column_types"),
        "max_line_size": ("sources/files.py", "max_line_size"),
        "hive_partitioning": ("sources/files.py", "hive_partitioning"),
        "allow_empty": ("sources/file_load.py", "allow_empty"),
        "description": ("project/loader.py", "description"),
        "tags": ("project/loader.py", "tags"),
        "retries": ("project/loader.py", "retries"),
        "retry_delay": ("project/loader.py", "retry_delay"),
        "timeout": ("project/loader.py", "timeout"),
        "checks": ("project/loader.py", "checks"),
        "kafka": ("sources/streams.py", "kafka"),
        "cdc": ("sources/streams.py", "cdc"),
        "rest": ("sources/step.py", "rest"),
    },
    RestSettings: {
        "base_url": ("sources/rest/client.py", "base_url"),
        "headers": ("sources/rest/client.py", "headers"),
        "auth": ("sources/rest/client.py", "auth"),
        "paginate": ("sources/rest/read.py", "paginate"),
        "nested": ("sources/rest/read.py", "nested"),
        "timeout": ("sources/rest/client.py", "timeout"),
        "retries": ("sources/rest/client.py", "retries"),
        "backoff": ("sources/rest/client.py", "backoff"),
        "max_wait": ("sources/rest/client.py", "max_wait"),
        "requests_per_second": ("sources/rest/client.py", "requests_per_second"),
        "endpoints": ("sources/rest/read.py", "endpoints"),
    },
    # every field of these is read in one module (the attribute check below holds each)
    RestAuth: {k: ("sources/rest/auth.py", k) for k in RestAuth.model_fields},
    RestPaginate: {k: ("sources/rest/paginate.py", k) for k in RestPaginate.model_fields},
    RestEndpoint: {
        **{k: ("sources/rest/read.py", k) for k in ("path", "params", "records", "paginate")},
        **{k: ("sources/rest/read.py", k) for k in ("cursor_param", "parent", "parent_fields")},
        **{k: ("project/loader.py", k) for k in ("primary_key", "cursor", "write")},
        "initial_value": ("project/loader.py", "initial_value"),
    },
    KafkaSettings: {
        "topics": ("sources/kafka/load.py", "topics"),
        "group": ("sources/kafka/load.py", "group"),
        "start": ("sources/kafka/load.py", "start"),
        "max_messages": ("sources/kafka/load.py", "max_messages"),
        "json_schema": ("sources/kafka/load.py", "json_schema"),
        "on_bad_message": ("sources/kafka/load.py", "on_bad_message"),
        "idle_timeout": ("sources/kafka/load.py", "idle_timeout"),
        "mode": ("server/streams.py", "mode"),
        "max_latency": ("server/streams.py", "max_latency"),
    },
    CdcSettings: {
        "slot": ("sources/cdc/load.py", "slot"),
        "deletes": ("sources/cdc/load.py", "deletes"),
        "snapshot": ("sources/cdc/load.py", "snapshot"),
        "max_changes": ("sources/cdc/load.py", "max_changes"),
    },
    ModelSettings: {
        "materialized": ("models/step.py", "materialized"),
        "unique_key": ("models/step.py", "unique_key"),
        "time_column": ("models/step.py", "time_column"),
        "lookback": ("models/step.py", "lookback"),
        "partition_by": ("models/step.py", "partition_by"),
        "grain": ("models/step.py", "grain"),
        "description": ("project/loader.py", "description"),
        "tags": ("project/loader.py", "tags"),
        "retries": ("project/loader.py", "retries"),
        "retry_delay": ("project/loader.py", "retry_delay"),
        "timeout": ("project/loader.py", "timeout"),
        "depends_on": ("project/loader.py", "depends_on"),
        "checks": ("project/loader.py", "checks"),
        "schema_": ("project/loader.py", "schema_"),
    },
}


@cache
def _attributes_read(module: str) -> frozenset[str]:
    tree = ast.parse((PACKAGE / module).read_text(encoding="utf-8"))
    return frozenset(
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load)
    )


@pytest.mark.parametrize("model", list(READ), ids=lambda m: m.__name__)
def test_every_field_is_listed_with_where_it_is_read(model: type[BaseModel]) -> None:
    assert set(model.model_fields) == set(READ[model]), (
        f"{model.__name__}: a field was added or removed: say in READ where it is read, "
        "or refuse it (config/settings.py UNSUPPORTED)"
    )
    for field, (module, attribute) in READ[model].items():
        assert attribute in _attributes_read(module), f"{model.__name__}.{field}: not in {module}"


def test_every_source_key_says_which_sources_read_it() -> None:
    assert set(SOURCE_KEYS) == set(SourceSettings.model_fields)


# a minimal source of each kind, and a value for each key (valid for the kinds reading it)
_REST = '{ base_url = "http://127.0.0.1:1", endpoints = { e = { path = "/e" } } }'
KINDS = {
    "csv": 'files = "d/*.csv"',
    "jsonl": 'files = "d/*.jsonl"',
    "parquet": 'files = "d/*.parquet"',
    "query": 'connection = "db"\nquery = "select 1 as x"',
    "wildcard": 'connection = "db"\ntables = ["*"]',
    "tables": 'connection = "db"\ntables = ["t"]',
    "kafka": 'connection = "db"\nkafka = { topics = ["t"] }',
    "cdc": 'connection = "db"\ntables = ["t"]\ncdc = { slot = "s" }',
    "rest": f"rest = {_REST}",
}
VALUES = {
    "connection": '"db"',
    "tables": '["t"]',
    "include": '["t*"]',
    "exclude": '["x*"]',
    "db_schema": '"public"',
    "table_names": '"source"',
    "table_options": "{}",
    "query": '"select 1"',
    "files": '"d/*.csv"',
    "format": '"csv"',
    "initial_value": '"2026-01-01"',
    "end_value": '"2026-02-01"',
    "lag": '"2 hours"',
    "transport": '"arrow"',
    "char_padding": '"keep"',
    "delimiter": '";"',
    "header": "false",
    "quote": '"\'"',
    "encoding": '"latin-1"',
    "null": '["NA"]',
    "on_bad_line": '"fail"',
    "column_types": '{id = "BIGINT"}',
    "max_line_size": "5000000",
    "hive_partitioning": "false",
    "allow_empty": "true",
    "kafka": '{ topics = ["t"] }',
    "cdc": '{ slot = "s" }',
    "rest": _REST,
    "cursor": '"updated_at"',  # not on cdc sources (their order is the LSN)
    "interval_column": '"updated_at"',
}
REFUSALS = [
    (key, kind)
    for key, kinds in SOURCE_KEYS.items()
    for kind in KINDS
    if kind not in kinds
    and key in VALUES
    # these make another kind of source, refused as such (tables + files, ...)
    and key not in ("tables", "query", "files", "connection", "kafka", "cdc", "rest")
]


def test_every_source_key_read_by_some_kinds_only_is_tested() -> None:
    limited = {k for k, kinds in SOURCE_KEYS.items() if set(KINDS) - kinds}
    assert limited <= set(VALUES)


@pytest.mark.parametrize(("key", "kind"), REFUSALS, ids=[f"{k}-{s}" for k, s in REFUSALS])
def test_a_source_key_its_kind_does_not_read_is_refused_on_its_line(
    tmp_path: Path, key: str, kind: str
) -> None:
    toml = f'[connections.db]\nurl = "sqlite:///db.sqlite"\n[sources.s]\n{KINDS[kind]}\n'
    line = toml.count("\n") + 1 + 3  # after [project], its name and a blank line
    root = write_project(tmp_path, {"headwater.toml": toml + f"{key} = {VALUES[key]}\n"})
    with pytest.raises(ConfigError) as err:
        load_settings(root / "headwater.toml")
    message = str(err.value)
    assert message.startswith(f"{root / 'headwater.toml'}:{line}: sources.s.{key}: not read by")
    assert len(message.splitlines()) == 1


@pytest.mark.parametrize("kind", list(KINDS))
def test_each_key_its_kind_reads_is_accepted(tmp_path: Path, kind: str) -> None:
    keys = [k for k, kinds in SOURCE_KEYS.items() if kind in kinds and k in VALUES]
    keys = [k for k in keys if k not in ("tables", "query", "files", "connection", "format")]
    keys = [k for k in keys if k not in ("kafka", "cdc", "rest")]  # in the kind's own lines
    body = "\n".join(f"{k} = {VALUES[k]}" for k in keys if k != "table_options")
    toml = f'[connections.db]\nurl = "sqlite:///db.sqlite"\n[sources.s]\n{KINDS[kind]}\n{body}\n'
    root = write_project(tmp_path, {"headwater.toml": toml})
    assert load_settings(root / "headwater.toml").sources["s"].kind() == kind


@pytest.mark.parametrize(
    ("toml", "key", "instead"),
    [
        (
            '[pipelines.daily]\nselect = ["a"]\ncron = "0 6 * * *"\n',
            "pipelines.daily.cron",
            'schedule = "0 6 * * *"',
        ),
        ('[connections.db]\nurl = "x"\noptions = {a = 1}\n', "connections.db.options", "url"),
    ],
)
def test_keys_nothing_reads_are_refused_saying_what_to_use(
    tmp_path: Path, toml: str, key: str, instead: str
) -> None:
    root = write_project(tmp_path, {"headwater.toml": toml})
    with pytest.raises(ConfigError) as err:
        load_settings(root / "headwater.toml")
    message = str(err.value)
    line = next(i for i, t in enumerate(toml.splitlines(), 4) if t.startswith(key.split(".")[-1]))
    assert message.startswith(f"{root / 'headwater.toml'}:{line}: {key}: not supported")
    assert instead in message


def test_model_columns_are_refused_saying_what_to_use(tmp_path: Path) -> None:
    root = write_project(
        tmp_path,
        {"models/staging/m.sql": "select 1 as x\n", "models/staging/m.yml": "columns: {x: {}}\n"},
    )
    with pytest.raises(ConfigError) as err:
        load_project(root)
    assert f"{root / 'models/staging/m.yml'}:1: columns: not supported yet" in str(err.value)
    assert "description" in str(err.value)


def test_a_glob_of_unknown_format_is_refused_when_the_project_loads(tmp_path: Path) -> None:
    root = write_project(tmp_path, {"headwater.toml": '[sources.s]\nfiles = "d/*.txt"\n'})
    with pytest.raises(ConfigError, match=r"headwater.toml:5: sources.s.files: cannot tell"):
        load_settings(root / "headwater.toml")
