"""REST sources against a real HTTP server on 127.0.0.1 (headwater.testing.rest_api):
every pagination style loads each record once; incremental runs lose and duplicate
nothing at the boundary; parent/child endpoints carry the parent key; nested JSON lands as
child tables or STRUCT/LIST columns."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from headwater.errors import ConfigError
from headwater.project import load_project
from headwater.runtime import run
from headwater.testing.cli import query_warehouse as warehouse
from headwater.testing.rest_api import RestApi, make_orders

PAGING = {
    "page_number": (
        '{ type = "page_number", size_param = "per_page", size = 5 }',
        "/orders",
        "data",
    ),
    "offset": ('{ type = "offset", size_param = "limit", size = 5 }', "/orders/offset", "items"),
    "cursor": (
        '{ type = "cursor", cursor_path = "next_cursor", size_param = "limit" }',
        "/orders/cursor",
        "results",
    ),
    "link": ('{ type = "link" }', "/orders/link", None),
    "next_url": ('{ type = "next_url", next_path = "next" }', "/orders/next", "data"),
}


@pytest.fixture
def api() -> Iterator[RestApi]:
    with RestApi(make_orders(23)) as served:
        yield served


def rest_project(project_dir: Any, url: str, body: str, name: str = "proj") -> Path:
    toml = f'[sources.shop]\nprimary_key = "id"\n{body}\n'
    return Path(project_dir({"headwater.toml": toml.replace("BASE", url)}, name=name))


def endpoint(path: str, records: str | None, extra: str = "") -> str:
    selector = f'records = "{records}"\n' if records else ""
    return f'[sources.shop.rest.endpoints.orders]\npath = "{path}"\n{selector}{extra}'


def step(root: Path, name: str = "raw.shop_orders") -> Any:
    result = run(load_project(root)).steps[name]
    assert result.status == "success", result.error
    return result


@pytest.mark.parametrize("style", sorted(PAGING))
def test_each_pagination_style_reads_every_record_once(project_dir, api, style):
    paginate, path, records = PAGING[style]
    params = (
        "params = { per_page = 5, limit = 5 }\n" if style in ("link", "next_url", "cursor") else ""
    )
    body = f'[sources.shop.rest]\nbase_url = "BASE"\npaginate = {paginate}\n'
    root = rest_project(project_dir, api.url, body + endpoint(path, records, params))
    assert step(root).result["rows_out"] == 23
    ids = warehouse(root, "select id from raw.shop_orders order by id")
    assert [i for (i,) in ids] == list(range(1, 24))
    # 5 full pages and a short one; page number and offset stop at the short page, the
    # others when the API gives no next cursor or URL
    assert len(api.log) == 5 and all(status == 200 for status, _ in api.log)


def test_stops_at_an_empty_page_and_at_the_total(project_dir):
    """20 records in pages of 5: without a total the fifth page (empty) ends the read;
    with ``total_path`` the fourth does."""
    with RestApi(make_orders(20)) as served:
        paging = '{ type = "page_number", size_param = "per_page", size = 5 }'
        body = f'[sources.shop.rest]\nbase_url = "BASE"\npaginate = {paging}\n'
        root = rest_project(project_dir, served.url, body + endpoint("/orders", "data"))
        assert step(root).result["rows_out"] == 20
        assert len(served.log) == 5
        served.log.clear()
        with_total = body.replace("size = 5 }", 'size = 5, total_path = "total" }')
        root = rest_project(project_dir, served.url, with_total + endpoint("/orders", "data"), "t")
        assert step(root).result["rows_out"] == 20
        assert len(served.log) == 4


INCREMENTAL = """
[sources.shop.rest]
base_url = "BASE"
paginate = { type = "page_number", size_param = "per_page", size = 4 }
[sources.shop.rest.endpoints.orders]
path = "/orders"
records = "data"
cursor = "updated_at"
cursor_param = "updated_since"
"""


@pytest.mark.parametrize("write", ["append", "merge"])
def test_incremental_runs_neither_lose_nor_duplicate_at_the_boundary(project_dir, write):
    """Orders 1-10 load; then order 11 arrives with the same updated_at as the last loaded
    (the boundary) and 12 after it. The second run asks from the boundary (inclusive), reads
    10 again, and the table holds each order once."""
    orders = make_orders(10)
    with RestApi(orders) as served:
        body = INCREMENTAL.replace("cursor_param", f'write = "{write}"\ncursor_param')
        root = rest_project(project_dir, served.url, body)
        first = step(root)
        assert first.result["rows_out"] == 10
        last = orders[-1]["updated_at"]
        assert first.result["cursor"] == last
        orders.append({**make_orders(1, start=11)[0], "updated_at": last})
        orders.append(make_orders(1, start=12)[0])
        served.log.clear()
        second = step(root)
        # only the window was asked for: the boundary and after
        assert all(f"updated_since={last.replace(':', '%3A')}" in t for _, t in served.log)
        assert second.result["rows_in"] == 3  # 10 (the boundary, again), 11, 12
        ids = warehouse(root, "select id from raw.shop_orders order by id")
        assert [i for (i,) in ids] == list(range(1, 13))
        state = warehouse(
            root, "select state from _headwater.state where asset = 'raw.shop_orders'"
        )
        assert orders[-1]["updated_at"] in state[0][0]
        assert step(root).result["rows_out"] == 0  # nothing new: nothing written


def test_records_before_the_window_are_dropped_when_the_api_ignores_the_parameter(project_dir):
    orders = make_orders(6)
    with RestApi(orders) as served:
        body = INCREMENTAL.replace('cursor_param = "updated_since"\n', "")
        root = rest_project(project_dir, served.url, body)
        assert step(root).result["rows_out"] == 6
        orders.append(make_orders(1, start=7)[0])
        again = step(root)
        assert again.result["rows_in"] == 2  # the boundary record and the new one
        assert warehouse(root, "select count(*), count(distinct id) from raw.shop_orders") == [
            (7, 7)
        ]


NESTED = """
[sources.shop.rest]
base_url = "BASE"
nested = "{nested}"
paginate = {{ type = "page_number", size_param = "per_page", size = 10 }}
[sources.shop.rest.endpoints.orders]
path = "/orders"
records = "data"
write = "merge"
"""


def test_nested_lists_become_child_tables_with_the_parent_key(project_dir, api):
    root = rest_project(project_dir, api.url, NESTED.format(nested="tables"))
    step(root)
    cols = warehouse(
        root,
        "select column_name from information_schema.columns where table_name = 'shop_orders' "
        "and not starts_with(column_name, '_hw_') order by ordinal_position",
    )
    assert [c for (c,) in cols] == [
        "id", "updated_at", "status", "total", "customer__name", "customer__country",
    ]  # fmt: skip
    items = warehouse(
        root, "select _parent_id, _list_idx, sku, qty from raw.shop_orders__items order by 3"
    )
    expected = sorted(
        (str(o["id"]), n, i["sku"], i["qty"])
        for o in make_orders(23)
        for n, i in enumerate(o["items"])
    )
    assert sorted(items) == expected
    tags = warehouse(root, "select _parent_id, value from raw.shop_orders__tags order by 1, 2")
    assert sorted(tags) == sorted((str(o["id"]), t) for o in make_orders(23) for t in o["tags"])
    # a second run merges onto the same rows: no duplicate child row
    step(root)
    assert warehouse(root, "select count(*) from raw.shop_orders__items") == [(len(expected),)]


def test_nested_data_kept_as_struct_and_list_columns(project_dir, api):
    root = rest_project(project_dir, api.url, NESTED.format(nested="columns"))
    step(root)
    types = dict(
        warehouse(
            root,
            "select column_name, data_type from information_schema.columns "
            "where table_name = 'shop_orders'",
        )
    )
    assert types["customer"] == 'STRUCT(country VARCHAR, "name" VARCHAR)' or types[
        "customer"
    ].startswith("STRUCT(")
    assert types["items"].endswith("[]") and types["tags"] == "VARCHAR[]"
    row = warehouse(
        root, "select customer.country, len(items), tags from raw.shop_orders where id = 5"
    )
    assert row == [("DE", 2, ["a", "b"])]


def test_child_endpoint_fetches_each_parents_items_with_the_parent_key(project_dir, api):
    body = NESTED.format(nested="columns") + (
        "[sources.shop.rest.endpoints.items]\n"
        'path = "/orders/{id}/items"\nparent = "orders"\n'
        'primary_key = ["order_id", "sku"]\nparent_fields = { order_id = "id" }\n'
        'paginate = { type = "none" }\n'
    )
    root = rest_project(project_dir, api.url, body)
    step(root, "raw.shop_items")
    rows = warehouse(root, "select order_id, sku, qty from raw.shop_items")
    expected = [(o["id"], i["sku"], i["qty"]) for o in make_orders(23) for i in o["items"]]
    assert sorted(rows) == sorted(expected)
    # each order's items were asked for once
    paths = [t for _, t in api.log if t.endswith("/items")]
    assert sorted(paths) == sorted(f"/orders/{o['id']}/items" for o in make_orders(23))


def test_a_type_change_is_held_by_the_contract(project_dir):
    """``total`` turns from a number into text on the second run: with contract = "freeze"
    the load is refused, and the table keeps its type and rows."""
    orders = make_orders(3)
    with RestApi(orders) as served:
        body = INCREMENTAL.replace(
            "[sources.shop.rest]", 'contract = "freeze"\n[sources.shop.rest]'
        )
        root = rest_project(project_dir, served.url, body)
        step(root)
        orders.append({**make_orders(1, start=4)[0], "total": "n/a", "extra": 1})
        failed = run(load_project(root)).steps["raw.shop_orders"]
        assert failed.status == "failed"
        assert warehouse(root, "select count(*) from raw.shop_orders") == [(3,)]


def test_an_api_with_no_records_yet_loads_nothing_then_its_first_records(project_dir):
    orders: list[dict[str, Any]] = []
    with RestApi(orders) as served:
        root = rest_project(project_dir, served.url, INCREMENTAL)
        empty = step(root)
        assert empty.result["rows_out"] == 0 and empty.result["cursor"] is None
        orders.extend(make_orders(3))
        assert step(root).result["rows_out"] == 3
    assert warehouse(root, "select count(*) from raw.shop_orders") == [(3,)]


REFUSED = {
    "nested tables without a key": (
        ('nested = "tables"', "sources.shop.rest"),
        "endpoint 'orders': nested = 'tables' needs a primary_key",
    ),
    "a table list": (('tables = ["x"]', "sources.shop"), "sources.shop.tables: not read by a REST"),
    "a lag": (('lag = "1 hour"', "sources.shop"), "sources.shop.lag: not read by a REST source"),
    "a secret written in the file": (
        ('auth = { type = "bearer", token = "abc-123" }', "sources.shop.rest"),
        'token: write the secret as an environment variable, token = "${SOME_VARIABLE}"',
    ),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_settings_a_rest_source_cannot_use_are_refused_in_one_line(project_dir, case):
    (line, table), says = REFUSED[case]
    toml = (
        "[sources.shop]\n[sources.shop.rest]\n"
        'base_url = "http://127.0.0.1:1"\n'
        '[sources.shop.rest.endpoints.orders]\npath = "/orders"\n'
    ).replace(f"[{table}]\n", f"[{table}]\n{line}\n")
    root = Path(project_dir({"headwater.toml": toml}))
    with pytest.raises(ConfigError) as caught:
        load_project(root)
    message = str(caught.value)
    assert says in message and len(message.splitlines()) == 1
    assert message.startswith(f"{root / 'headwater.toml'}:")


def test_an_incremental_child_endpoint_asks_only_for_the_new_parents_items(project_dir):
    """The child's cursor is a parent field: its mark bounds the parent's request, so the
    second run fetches the items of the orders from the boundary on only."""
    orders = make_orders(6)
    body = NESTED.format(nested="columns") + (
        'cursor_param = "updated_since"\n'
        "[sources.shop.rest.endpoints.items]\n"
        'path = "/orders/{id}/items"\nparent = "orders"\nwrite = "merge"\n'
        'primary_key = ["order_id", "sku"]\ncursor = "order_updated_at"\n'
        'parent_fields = { order_id = "id", order_updated_at = "updated_at" }\n'
        'paginate = { type = "none" }\n'
    )
    with RestApi(orders) as served:
        root = rest_project(project_dir, served.url, body)
        step(root, "raw.shop_items")
        orders.append(make_orders(1, start=8)[0])  # 8 % 3 == 2: two items
        served.log.clear()
        again = step(root, "raw.shop_items")
        asked = sorted(t for _, t in served.log if t.endswith("/items"))
        # the mark is the last order that had items (5; 6 has none): from it on, not 1-4
        assert asked == ["/orders/5/items", "/orders/6/items", "/orders/8/items"]
        # (the orders endpoint, without a cursor, is read whole by its own step)
        assert any("updated_since=" in t for _, t in served.log if t.startswith("/orders?"))
        assert again.result["cursor"] == orders[-1]["updated_at"]
    rows = warehouse(root, "select order_id, sku from raw.shop_items order by 1, 2")
    assert rows == sorted((o["id"], i["sku"]) for o in orders for i in o["items"])


def test_a_field_of_no_common_type_is_kept_as_text_and_nothing_is_lost():
    from headwater.sources.rest.records import combine, to_table

    page1 = to_table([{"id": 1, "code": 7}, {"id": 2, "code": "x7", "note": None}])
    page2 = to_table([{"id": 3, "code": {"a": 1}, "note": "late"}])
    table = combine([page1, page2])
    assert table.column_names == ["id", "code", "note"]
    assert table.to_pylist() == [
        {"id": 1, "code": "7", "note": None},
        {"id": 2, "code": "x7", "note": None},
        {"id": 3, "code": '{"a":1}', "note": "late"},
    ]
