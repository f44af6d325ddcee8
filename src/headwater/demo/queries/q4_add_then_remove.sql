-- 4. How many customers added these products to their cart and later removed them?
--    Customers (region, customer id) with an 'add' of PRO FILT'R foundation in shade #110,
--    #150, #160, #255 or #490 and a 'remove' of the same SKU at a strictly later time.
with focus_events as (
    select e.customer_key, e.product_key, e.action, e.event_at
    from marts.fct_cart_events as e
    join marts.dim_product as p on p.product_key = e.product_key
    where p.name = 'PRO FILT''R Hydrating Longwear Foundation'
        and p.shade in ('#110', '#150', '#160', '#255', '#490')
)
select count(distinct a.customer_key) as customers
from focus_events as a
join focus_events as r
    on r.customer_key = a.customer_key and r.product_key = a.product_key
where a.action = 'add' and r.action = 'remove' and r.event_at > a.event_at
