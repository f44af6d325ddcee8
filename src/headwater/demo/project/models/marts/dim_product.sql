-- headwater:
--   materialized: table
--   description: Products of the catalog (product_key = SKU).
select
    sku as product_key,
    sku,
    name,
    line,
    shade,
    base_price_usd
from staging.stg_products
