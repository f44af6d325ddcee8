-- headwater:
--   materialized: table
--   description: One row per cart event (add / remove), times in UTC.
--   checks:
--     - unique: event_key
--     - relationships: {column: customer_key, to: dim_customer}
--     - relationships: {column: product_key, to: dim_product}
select
    event_key,
    region,
    event_id,
    customer_key,
    sku as product_key,
    cast(strftime(event_at, '%Y%m%d') as integer) as date_key,
    action,
    event_at
from staging.stg_cart_events
