select country, count(*) as orders, sum(amount) as revenue
from customer_orders
group by country
