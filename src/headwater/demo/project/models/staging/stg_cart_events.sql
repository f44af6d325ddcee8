-- headwater:
--   description: Cart events (add / remove) of the four regions, one row per (region, event_id), times in UTC.
--   checks:
--     - unique: event_key
--     - accepted_values: {column: action, values: [add, remove]}
with unioned as (
    select
        'europe' as region,
        cast(id as bigint) as event_id,
        cast(customer_id as bigint) as customer_id,
        sku,
        action,
        timezone('UTC', try_cast("at" as timestamptz)) as event_at,
        timezone('UTC', try_cast(updated_at as timestamptz)) as updated_at
    from raw.europe_cart_events
    union all
    select
        'north_america',
        cast(id as bigint),
        cast(customer_id as bigint),
        sku,
        action,
        timezone('UTC', timezone('America/New_York', try_cast("at" as timestamp))),
        timezone('UTC', timezone('America/New_York', try_cast(updated_at as timestamp)))
    from raw.north_america_cart_events
    union all
    -- Asia: add_to_cart / remove_from_cart, epoch seconds
    select
        'asia',
        cast(id as bigint),
        cast(customer_id as bigint),
        sku,
        case lower(action) when 'add_to_cart' then 'add' when 'remove_from_cart' then 'remove' end,
        epoch_ms(cast(event_time as bigint) * 1000),
        epoch_ms(cast(updated_at as bigint) * 1000)
    from raw.asia_cart_events
    union all
    -- Africa: JSON lines, epoch milliseconds
    select
        'africa',
        cast(id as bigint),
        cast(customer_id as bigint),
        sku,
        action,
        epoch_ms(cast("at" as bigint)),
        epoch_ms(cast(updated_at as bigint))
    from raw.africa_cart_events
),
latest as (
    select
        *,
        row_number() over (
            partition by region, event_id order by updated_at desc nulls last
        ) as version_rank
    from unioned
    where event_id is not null
)
select
    region || '-' || event_id as event_key,
    region,
    event_id,
    region || '-' || customer_id as customer_key,
    customer_id,
    trim(sku) as sku,
    lower(trim(action)) as action,
    event_at,
    updated_at
from latest
where version_rank = 1 and event_at is not null and lower(trim(action)) in ('add', 'remove')
