"""PostgreSQL as the warehouse (``[project] engine = "postgres"``): the same folder shape as
``headwater.engines.duckdb``; psycopg is imported only here."""
