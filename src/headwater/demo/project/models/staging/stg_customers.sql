-- headwater:
--   description: Customers of the four regions; a customer is (region, customer_id). Times in UTC.
--   checks:
--     - unique: customer_key
with unioned as (
    -- Europe: ISO 8601 text with offset (Europe/Paris)
    select
        'europe' as region,
        cast(id as bigint) as customer_id,
        email,
        name,
        country,
        timezone('UTC', try_cast(created_at as timestamptz)) as created_at,
        timezone('UTC', try_cast(updated_at as timestamptz)) as updated_at
    from raw.europe_customers
    union all
    -- North America: naive local time of America/New_York
    select
        'north_america',
        cast(id as bigint),
        email,
        full_name,
        country,
        timezone('UTC', timezone('America/New_York', try_cast(created_at as timestamp))),
        timezone('UTC', timezone('America/New_York', try_cast(updated_at as timestamp)))
    from raw.north_america_customers
    union all
    -- Asia: naive UTC text, updated_at in epoch seconds
    select
        'asia',
        cast(id as bigint),
        email,
        name,
        country,
        try_cast(created_at as timestamp),
        epoch_ms(cast(updated_at as bigint) * 1000)
    from raw.asia_customers
    union all
    -- Africa: CSV drops (all VARCHAR), ISO 8601 with offset +02:00
    select
        'africa',
        try_cast(id as bigint),
        email,
        name,
        country,
        timezone('UTC', try_cast(created_at as timestamptz)),
        timezone('UTC', try_cast(updated_at as timestamptz))
    from raw.africa_customers
),
latest as (
    select
        *,
        row_number() over (
            partition by region, customer_id order by updated_at desc nulls last
        ) as version_rank
    from unioned
    where customer_id is not null
)
select
    region || '-' || customer_id as customer_key,
    region,
    customer_id,
    lower(trim(email)) as email,
    trim(name) as name,
    upper(trim(country)) as country,
    created_at,
    updated_at
from latest
where version_rank = 1
