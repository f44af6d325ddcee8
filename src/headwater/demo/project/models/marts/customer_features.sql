-- headwater:
--   materialized: table
--   description: Churn-model features, one row per customer. Recency is measured from the latest order in the warehouse (the data's as-of time), not the wall clock.
with sales as (
    select
        customer_key,
        count(distinct order_id) as orders,
        sum(quantity) as units,
        sum(amount_usd) as revenue_usd,
        min(ordered_at) as first_order_at,
        max(ordered_at) as last_order_at
    from marts.fct_sales
    where is_sold
    group by customer_key
),
carts as (
    select
        customer_key,
        count(*) filter (where action = 'add') as cart_adds,
        count(*) filter (where action = 'remove') as cart_removes,
        max(event_at) as last_cart_event_at
    from marts.fct_cart_events
    group by customer_key
),
as_of as (
    select max(ordered_at) as as_of_at from marts.fct_sales
)
select
    c.customer_key,
    c.region,
    c.customer_id,
    c.country,
    c.created_at,
    coalesce(s.orders, 0) as orders,
    coalesce(s.units, 0) as units,
    coalesce(s.revenue_usd, 0) as revenue_usd,
    s.first_order_at,
    s.last_order_at,
    date_diff('day', s.last_order_at, a.as_of_at) as days_since_last_order,
    date_diff('day', c.created_at, a.as_of_at) as tenure_days,
    coalesce(k.cart_adds, 0) as cart_adds,
    coalesce(k.cart_removes, 0) as cart_removes,
    k.last_cart_event_at
from marts.dim_customer as c
left join sales as s on s.customer_key = c.customer_key
left join carts as k on k.customer_key = c.customer_key
cross join as_of as a
