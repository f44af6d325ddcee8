-- headwater:
--   description: Regional list prices (Europe, North America, Asia), in local currency and in USD at the latest rate.
with listed as (
    select 'europe' as region, sku, cast(price as decimal(18, 2)) as list_price, currency, _hw_loaded_at
    from raw.europe_products
    union all
    select 'north_america', sku, cast(price_cents / 100 as decimal(18, 2)), currency, _hw_loaded_at
    from raw.north_america_products
    union all
    select 'asia', sku, cast(price as decimal(18, 2)), currency, _hw_loaded_at
    from raw.asia_products
),
latest_rate as (
    select currency, rate_date, usd_per_unit
    from staging.stg_rates
    qualify row_number() over (partition by currency order by rate_date desc) = 1
)
select
    l.region,
    trim(l.sku) as sku,
    l.list_price,
    upper(l.currency) as currency,
    cast(round(l.list_price * r.usd_per_unit, 2) as decimal(18, 2)) as list_price_usd,
    r.rate_date
from listed as l
left join latest_rate as r on r.currency = upper(l.currency)
where l.sku is not null
qualify row_number() over (partition by l.region, trim(l.sku) order by l._hw_loaded_at desc) = 1
