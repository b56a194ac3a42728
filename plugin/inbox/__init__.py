"""The durable webhook inbox: verified deliveries kept until processed."""
