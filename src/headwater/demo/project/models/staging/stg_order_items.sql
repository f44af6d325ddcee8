-- headwater:
--   description: Valid order items, latest version per (region, order_id, line_no), with USD prices at the rate of the order's day (UTC). Items of invalid orders, with a quantity below 1 or an SKU missing from the catalog are left out.
--   checks:
--     - unique: order_item_key
--     - range: {column: quantity, min: 1}
--     - relationships: {column: order_key, to: stg_orders}
with unioned as (
    select
        'europe' as region,
        cast(order_id as bigint) as order_id,
        cast(line_no as bigint) as line_no,
        sku,
        cast(quantity as bigint) as quantity,
        cast(unit_price as decimal(18, 2)) as unit_price,
        timezone('UTC', try_cast(updated_at as timestamptz)) as updated_at
    from raw.europe_order_items
    union all
    select
        'north_america',
        cast(order_id as bigint),
        cast(line_no as bigint),
        sku,
        cast(qty as bigint),
        cast(unit_price_cents / 100 as decimal(18, 2)),
        timezone('UTC', timezone('America/New_York', try_cast(updated_at as timestamp)))
    from raw.north_america_order_items
    union all
    select
        'asia',
        cast(order_id as bigint),
        cast(line_no as bigint),
        sku,
        cast(quantity as bigint),
        cast(unit_price as decimal(18, 2)),
        epoch_ms(cast(updated_at as bigint) * 1000)
    from raw.asia_order_items
    union all
    select
        'africa',
        try_cast(order_id as bigint),
        try_cast(line_no as bigint),
        sku,
        try_cast(quantity as bigint),
        try_cast(unit_price as decimal(18, 2)),
        timezone('UTC', try_cast(updated_at as timestamptz))
    from raw.africa_order_items
),
latest as (
    select
        *,
        row_number() over (
            partition by region, order_id, line_no order by updated_at desc nulls last
        ) as version_rank
    from unioned
    where order_id is not null and line_no is not null
)
select
    i.region || '-' || i.order_id || '-' || i.line_no as order_item_key,
    o.order_key,
    i.region,
    i.order_id,
    i.line_no,
    p.sku,
    i.quantity,
    i.unit_price,
    o.currency,
    r.usd_per_unit,
    cast(round(i.unit_price * r.usd_per_unit, 4) as decimal(18, 4)) as unit_price_usd,
    i.updated_at
from latest as i
join staging.stg_orders as o on o.region = i.region and o.order_id = i.order_id
join staging.stg_products as p on p.sku = trim(i.sku)
left join staging.stg_rates as r
    on r.rate_date = cast(o.ordered_at as date) and r.currency = o.currency
where i.version_rank = 1 and i.quantity > 0
