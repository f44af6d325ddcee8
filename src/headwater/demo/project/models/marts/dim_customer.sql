-- headwater:
--   materialized: table
--   description: Customers (customer_key = region-customer_id), latest version.
--   checks:
--     - unique: customer_key
--     - not_null: customer_key
select
    customer_key,
    region,
    customer_id,
    email,
    name,
    country,
    created_at,
    updated_at
from staging.stg_customers
