"""Read models the admin shows that span several features (a customer's timeline, sync
status): set-based queries over the features' tables, paged in the database."""
