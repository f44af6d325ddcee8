-- 3. At which hours (and weekdays) are these products bought in large volumes?
--    Units of PRO FILT'R foundation in shades #110, #150, #160, #255, #490 sold (all time)
--    by UTC hour of day (0-23) and by ISO weekday (1 = Monday .. 7 = Sunday).
with focus_sales as (
    select f.ordered_at, f.quantity
    from marts.fct_sales as f
    join marts.dim_product as p on p.product_key = f.product_key
    where f.is_sold
        and p.name = 'PRO FILT''R Hydrating Longwear Foundation'
        and p.shade in ('#110', '#150', '#160', '#255', '#490')
)
select 'hour' as bucket_type, extract(hour from ordered_at) as bucket, sum(quantity) as units
from focus_sales
group by 1, 2
union all
select 'weekday', isodow(ordered_at), sum(quantity)
from focus_sales
group by 1, 2
order by bucket_type, bucket
