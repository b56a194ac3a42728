"""History import (backfill): a shop's existing customers, products and orders."""
