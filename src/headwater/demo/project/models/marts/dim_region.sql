-- headwater:
--   materialized: table
--   description: The four regions of the store, their currency, time zone and source system.
select *
from (
    values
        ('africa', 'Africa', 'ZAR', 'Africa/Johannesburg', 'nightly CSV / JSON-lines file drops'),
        ('asia', 'Asia', 'JPY', 'UTC', 'SQLite'),
        ('europe', 'Europe', 'EUR', 'Europe/Paris', 'SQLite (PostgreSQL in full mode)'),
        ('north_america', 'North America', 'USD', 'America/New_York', 'SQLite (MySQL in full mode)')
) as regions (region, region_name, currency, source_time_zone, source_system)
