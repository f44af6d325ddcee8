-- 2. Which region sold the most foundation products?
--    PRO FILT'R Hydrating Longwear Foundation units sold (all shades, all time) per region,
--    the winner first.
with foundation_sales as (
    select f.region, f.quantity
    from marts.fct_sales as f
    join marts.dim_product as p on p.product_key = f.product_key
    where f.is_sold and p.name = 'PRO FILT''R Hydrating Longwear Foundation'
)
select
    r.region,
    coalesce(sum(s.quantity), 0) as units
from marts.dim_region as r
left join foundation_sales as s on s.region = r.region
group by r.region
order by units desc, r.region
