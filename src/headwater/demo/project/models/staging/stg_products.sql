-- headwater:
--   description: The product catalog, one row per SKU (the list of valid SKUs).
select
    trim(cast(sku as varchar)) as sku,
    cast(name as varchar) as name,
    lower(cast(line as varchar)) as line,
    nullif(trim(cast(shade as varchar)), '') as shade,
    cast(base_price_usd as decimal(12, 2)) as base_price_usd
from raw.catalog_products
where sku is not null
qualify row_number() over (partition by trim(cast(sku as varchar)) order by _hw_loaded_at desc) = 1
