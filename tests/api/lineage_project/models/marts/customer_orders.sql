select c.name, c.country, o.order_id, o.amount
from stg_orders o
join stg_customers c on c.name = o.customer_name
