-- headwater:
--   description: Orders of the four regions, latest version per (region, order_id), ordered_at in UTC. Orders whose ordered_at does not parse are left out.
--   checks:
--     - unique: [region, order_id]
--     - not_null: ordered_at
--     - accepted_values: {column: status, values: [placed, paid, shipped, delivered, cancelled, returned]}
with unioned as (
    select
        'europe' as region,
        cast(id as bigint) as order_id,
        cast(customer_id as bigint) as customer_id,
        status,
        timezone('UTC', try_cast(ordered_at as timestamptz)) as ordered_at,
        timezone('UTC', try_cast(updated_at as timestamptz)) as updated_at,
        currency
    from raw.europe_orders
    union all
    select
        'north_america',
        cast(id as bigint),
        cast(customer_id as bigint),
        status,
        timezone('UTC', timezone('America/New_York', try_cast(ordered_at as timestamp))),
        timezone('UTC', timezone('America/New_York', try_cast(updated_at as timestamp))),
        currency
    from raw.north_america_orders
    union all
    select
        'asia',
        cast(id as bigint),
        cast(customer_id as bigint),
        status,
        try_cast(ordered_at as timestamp),
        epoch_ms(cast(updated_at as bigint) * 1000),
        currency
    from raw.asia_orders
    union all
    select
        'africa',
        try_cast(id as bigint),
        try_cast(customer_id as bigint),
        status,
        timezone('UTC', try_cast(ordered_at as timestamptz)),
        timezone('UTC', try_cast(updated_at as timestamptz)),
        currency
    from raw.africa_orders
),
latest as (
    -- duplicated orders count once; the newest version of an order wins
    select
        *,
        row_number() over (
            partition by region, order_id order by updated_at desc nulls last
        ) as version_rank
    from unioned
    where order_id is not null
)
select
    region || '-' || order_id as order_key,
    region,
    order_id,
    region || '-' || customer_id as customer_key,
    customer_id,
    lower(trim(status)) as status,
    ordered_at,
    updated_at,
    upper(trim(currency)) as currency
from latest
where version_rank = 1 and ordered_at is not null
