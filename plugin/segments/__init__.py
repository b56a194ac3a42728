"""Segments: Shopify's segment query language, compilation to SQL, evaluation, RFM, KPIs."""
