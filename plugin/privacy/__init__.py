"""Privacy: customer data requests, redaction, shop redaction and payload retention."""
