-- headwater:
--   description: Daily currency rates, USD per unit of each currency (one row per day and currency).
--   checks:
--     - unique: [rate_date, currency]
--     - range: {column: usd_per_unit, min: 0, min_inclusive: false}
with typed as (
    select
        try_cast(day as date) as rate_date,
        upper(trim(cast(currency as varchar))) as currency,
        try_cast(usd_per_unit as decimal(18, 8)) as usd_per_unit,
        _hw_loaded_at
    from raw.catalog_rates
)
select rate_date, currency, usd_per_unit
from typed
where rate_date is not null and currency is not null and usd_per_unit is not null
qualify row_number() over (partition by rate_date, currency order by _hw_loaded_at desc) = 1
