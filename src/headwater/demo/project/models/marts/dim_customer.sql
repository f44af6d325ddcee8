-- headwater:
--   materialized: table
--   description: Customers (customer_key = region-customer_id), latest version.
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
