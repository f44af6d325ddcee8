-- headwater:
--   materialized: table
--   description: Products of the catalog (product_key = SKU).
--   checks:
--     - unique: product_key
--     - not_null: product_key
select
    sku as product_key,
    sku,
    name,
    line,
    shade,
    base_price_usd
from staging.stg_products
