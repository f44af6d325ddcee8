select id::integer as order_id, customer as customer_name, amount::integer as amount from orders
