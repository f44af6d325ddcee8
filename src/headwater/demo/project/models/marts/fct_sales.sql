-- headwater:
--   materialized: table
--   description: One row per valid order item. is_sold is false for cancelled and returned orders. Times in UTC, amounts in USD at the rate of the order's day.
--   checks:
--     - unique: sale_key
--     - relationships: {column: customer_key, to: dim_customer}
--     - relationships: {column: product_key, to: dim_product}
--     - relationships: {column: date_key, to: dim_date}
--     - expression: amount_usd >= 0
select
    i.order_item_key as sale_key,
    i.region,
    i.order_id,
    i.line_no,
    o.customer_key,
    i.sku as product_key,
    cast(strftime(o.ordered_at, '%Y%m%d') as integer) as date_key,
    o.ordered_at,
    o.status,
    o.status in ('placed', 'paid', 'shipped', 'delivered') as is_sold,
    i.quantity,
    i.currency,
    i.unit_price as unit_price_local,
    i.quantity * i.unit_price as amount_local,
    cast(round(i.quantity * i.unit_price * i.usd_per_unit, 2) as decimal(18, 2)) as amount_usd
from staging.stg_order_items as i
join staging.stg_orders as o on o.region = i.region and o.order_id = i.order_id
