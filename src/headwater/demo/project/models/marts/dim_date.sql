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
    select cast(t.day_at as date) as day
    from bounds
    cross join generate_series(
        cast(bounds.first_day as timestamp), cast(bounds.last_day as timestamp), interval 1 day
    ) as t (day_at)
)
select
    cast(strftime(day, '%Y%m%d') as integer) as date_key,
    day as date,
    year(day) as year,
    extract(quarter from day) as quarter,
    month(day) as month,
    day(day) as day_of_month,
    isodow(day) as iso_weekday,
    strftime(day, '%A') as weekday_name,
    extract(week from day) as iso_week,
    isodow(day) >= 6 as is_weekend
from days
