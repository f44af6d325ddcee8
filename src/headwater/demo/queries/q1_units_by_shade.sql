-- 1. How many PRO FILT'R Hydrating Longwear Foundation units in shades #110, #490, #150, #160
--    and #255 were sold in the last quarter, per shade?
--    Last quarter = the last complete calendar quarter before the demo's as-of date
--    2026-11-20, in UTC. Sold = orders not cancelled nor returned.
select
    p.shade,
    sum(f.quantity) as units
from marts.fct_sales as f
join marts.dim_product as p on p.product_key = f.product_key
where f.is_sold
    and p.name = 'PRO FILT''R Hydrating Longwear Foundation'
    and p.shade in ('#110', '#150', '#160', '#255', '#490')
    and f.ordered_at >= date_trunc('quarter', date '2026-11-20') - interval 3 month
    and f.ordered_at < date_trunc('quarter', date '2026-11-20')
group by p.shade
order by p.shade
