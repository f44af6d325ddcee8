-- headwater:
--   materialized: table
--   description: One row per calendar day covered by the currency rates (the whole history).
--   checks:
--     - unique: date_key
with bounds as (
    select min(rate_date) as first_day, max(rate_date) as last_day
    from staging.stg_rates
),
days as (
    select cast(unnest(generate_series(
        cast(first_day as timestamp), cast(last_day as timestamp), interval 1 day
    )) as date) as day
    from bounds
)
select
    cast(strftime(day, '%Y%m%d') as integer) as date_key,
    day as date,
    year(day) as year,
    quarter(day) as quarter,
    month(day) as month,
    day(day) as day_of_month,
    isodow(day) as iso_weekday,
    dayname(day) as weekday_name,
    weekofyear(day) as iso_week,
    isodow(day) >= 6 as is_weekend
from days
