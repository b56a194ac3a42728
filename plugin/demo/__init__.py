"""`shopseg demo`: the app, a simulated Shopify and a shop built from the CDNOW history, in one
command and offline (see docs/demo.md)."""
