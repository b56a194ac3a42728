"""The history import's GraphQL documents: bulk queries and their paged twins (same fields).

Bulk query rules (shopify.dev, bulkOperationRunQuery): at least one connection, at most
five connections and two levels of nested connections, no top-level `node(s)`; only
connection nodes become their own JSONL lines (with `__parentId`); since 2026-01 lines are
not grouped under their parent unless `groupObjects: true`. Each document here has one to
three connections (customers read their addresses and metafields; store credit accounts
and their credits nest two deep). Deprecated fields are
avoided: `defaultEmailAddress`/`defaultPhoneNumber` instead of `email`/`phone`/
`emailMarketingConsent`, SMS consent through the phone number's `smsMarketingConsent` (its
`marketingState` is deprecated in 2026-10), and every address through the `addressesV2`
connection (the deprecated `addresses` list stops at 250); `defaultAddress` is read too, as
the webhooks' `default_address`, for the profile's own columns.
"""

from __future__ import annotations

from plugin.platforms.shopify.registry import document

MONEY = "shopMoney { amount currencyCode }"

CUSTOMER_FIELDS = """
  id firstName lastName state locale verifiedEmail createdAt updatedAt tags
  defaultEmailAddress { emailAddress marketingState marketingOptInLevel marketingUpdatedAt }
  defaultPhoneNumber { phoneNumber smsMarketingConsent { state optInLevel updatedAt } }
  defaultAddress { countryCodeV2 provinceCode city }
  numberOfOrders amountSpent { amount currencyCode }
  statistics { predictedSpendTier rfmGroup }
"""

ADDRESS_FIELDS = "id countryCodeV2 provinceCode city"
METAFIELD_FIELDS = "id namespace key type value"
# A paged page asks for this many addresses per customer (and line items per order): nearly
# every customer has fewer. A list the page cut short is read to its end with the REST_OF
# documents before the page is staged, since the merge replaces a customer's addresses (an
# order's lines) with what was read.
PAGED_ADDRESSES = 5
PAGED_METAFIELDS = 10
PAGED_LINES = 20
PAGED_CUSTOMERS = 25  # with 10 metafields each, a page asks for about 650 points
REST_PAGE = 100  # nested nodes per follow-up read (100 line items stay under 1,000 points)

PRODUCT_FIELDS = "id title productType vendor tags updatedAt category { id }"

ORDER_FIELDS = f"""
  id name email customerLocale customer {{ id }}
  currentTotalPriceSet {{ {MONEY} }} totalPriceSet {{ {MONEY} }}
  totalDiscountsSet {{ {MONEY} }}
  displayFinancialStatus cancelledAt test sourceName discountCodes
  refunds {{ id }} app {{ id }} retailLocation {{ id }}
  processedAt createdAt updatedAt
"""

LINE_FIELDS = f"""
  id title vendor quantity product {{ id }} variant {{ id }}
  originalUnitPriceSet {{ {MONEY} }}
  discountAllocations {{ allocatedAmountSet {{ {MONEY} }} }}
"""

BULK_HISTORY_CUSTOMERS = document(
    "BulkHistoryCustomers",
    f"""
    query BulkHistoryCustomers {{
      customers {{ edges {{ node {{
        {CUSTOMER_FIELDS}
        addressesV2 {{ edges {{ node {{ {ADDRESS_FIELDS} }} }} }}
        metafields {{ edges {{ node {{ {METAFIELD_FIELDS} }} }} }}
      }} }} }}
    }}
    """,
)

BULK_HISTORY_PRODUCTS = document(
    "BulkHistoryProducts",
    f"query BulkHistoryProducts {{ products {{ edges {{ node {{ {PRODUCT_FIELDS} }} }} }} }}",
)

BULK_HISTORY_ORDERS = document(
    "BulkHistoryOrders",
    f"""
    query BulkHistoryOrders {{
      orders {{ edges {{ node {{
        {ORDER_FIELDS}
        lineItems {{ edges {{ node {{ {LINE_FIELDS} }} }} }}
      }} }} }}
    }}
    """,
)

# Paged reads (when bulk operations are refused, and the reconcile's reads of what changed
# since, with a search `query` such as `updated_at:>='…'`): the same fields, page by page.
# Page sizes keep each document's requested cost under Shopify's 1,000-point limit.
PAGED_HISTORY_CUSTOMERS = document(
    "PagedHistoryCustomers",
    f"""
    query PagedHistoryCustomers($after: String, $query: String) {{
      customers(query: $query, first: {PAGED_CUSTOMERS}, after: $after) {{
        nodes {{
          {CUSTOMER_FIELDS}
          addressesV2(first: {PAGED_ADDRESSES}) {{
            nodes {{ {ADDRESS_FIELDS} }} pageInfo {{ hasNextPage endCursor }}
          }}
          metafields(first: {PAGED_METAFIELDS}) {{
            nodes {{ {METAFIELD_FIELDS} }} pageInfo {{ hasNextPage endCursor }}
          }}
        }}
        pageInfo {{ hasNextPage endCursor }}
      }}
    }}
    """,
)

PAGED_HISTORY_PRODUCTS = document(
    "PagedHistoryProducts",
    f"""
    query PagedHistoryProducts($after: String, $query: String) {{
      products(query: $query, first: 100, after: $after) {{
        nodes {{ {PRODUCT_FIELDS} }}
        pageInfo {{ hasNextPage endCursor }}
      }}
    }}
    """,
)

PAGED_HISTORY_ORDERS = document(
    "PagedHistoryOrders",
    f"""
    query PagedHistoryOrders($after: String, $query: String) {{
      orders(query: $query, first: 5, after: $after) {{
        nodes {{
          {ORDER_FIELDS}
          lineItems(first: {PAGED_LINES}) {{
            nodes {{ {LINE_FIELDS} }} pageInfo {{ hasNextPage endCursor }}
          }}
        }}
        pageInfo {{ hasNextPage endCursor }}
      }}
    }}
    """,
)

# The periodic refresh of what changes without any webhook (the customers' statistics).
STATISTICS_FIELDS = "id statistics { predictedSpendTier rfmGroup }"

BULK_CUSTOMER_STATISTICS = document(
    "BulkCustomerStatistics",
    "query BulkCustomerStatistics { customers { edges { node { " + STATISTICS_FIELDS + " } } } }",
)

PAGED_CUSTOMER_STATISTICS = document(
    "PagedCustomerStatistics",
    f"""
    query PagedCustomerStatistics($after: String, $query: String) {{
      customers(query: $query, first: 250, after: $after) {{
        nodes {{ {STATISTICS_FIELDS} }}
        pageInfo {{ hasNextPage endCursor }}
      }}
    }}
    """,
)

# A customer's B2B companies (Shopify Plus shops; elsewhere Shopify refuses the field and
# the phase reads nothing).
COMPANY_FIELDS = "id companyContactProfiles { company { id } }"

BULK_CUSTOMER_COMPANIES = document(
    "BulkCustomerCompanies",
    "query BulkCustomerCompanies { customers { edges { node { " + COMPANY_FIELDS + " } } } }",
)

PAGED_CUSTOMER_COMPANIES = document(
    "PagedCustomerCompanies",
    f"""
    query PagedCustomerCompanies($after: String, $query: String) {{
      customers(query: $query, first: 100, after: $after) {{
        nodes {{ {COMPANY_FIELDS} }}
        pageInfo {{ hasNextPage endCursor }}
      }}
    }}
    """,
)

# Store credit (read_store_credit_accounts and read_store_credit_account_transactions):
# each account's balance and every credit given to it; no webhook reports either.
CREDIT_FIELDS = (
    "... on StoreCreditAccountCreditTransaction"
    " { id createdAt expiresAt remainingAmount { amount currencyCode } }"
)
ACCOUNT_FIELDS = "id balance { amount currencyCode }"
CREDITS_QUERY = 'query: "type:credit"'

BULK_CUSTOMER_STORE_CREDIT = document(
    "BulkCustomerStoreCredit",
    f"""
    query BulkCustomerStoreCredit {{
      customers {{ edges {{ node {{
        id
        storeCreditAccounts {{ edges {{ node {{
          {ACCOUNT_FIELDS}
          transactions({CREDITS_QUERY}) {{ edges {{ node {{ {CREDIT_FIELDS} }} }} }}
        }} }} }}
      }} }} }}
    }}
    """,
)

# Paged reads cost a lot per customer (accounts times credits): 7 customers, 3 accounts each
# (one per currency), each account's 20 latest credits stay under 1,000 points. A credit
# older than an account's 20 latest is not read in this mode (docs/segment-language.md).
PAGED_CREDITS = 20
PAGED_CUSTOMER_STORE_CREDIT = document(
    "PagedCustomerStoreCredit",
    f"""
    query PagedCustomerStoreCredit($after: String, $query: String) {{
      customers(query: $query, first: 7, after: $after) {{
        nodes {{
          id
          storeCreditAccounts(first: 3) {{ nodes {{
            {ACCOUNT_FIELDS}
            transactions(first: {PAGED_CREDITS}, {CREDITS_QUERY}, reverse: true) {{
              nodes {{ {CREDIT_FIELDS} }}
            }}
          }} }}
        }}
        pageInfo {{ hasNextPage endCursor }}
      }}
    }}
    """,
)

REST_OF_ADDRESSES = document(
    "RestOfCustomerAddresses",
    f"""
    query RestOfCustomerAddresses($id: ID!, $after: String) {{
      node(id: $id) {{ ... on Customer {{
        addressesV2(first: {REST_PAGE}, after: $after) {{
          nodes {{ {ADDRESS_FIELDS} }} pageInfo {{ hasNextPage endCursor }}
        }}
      }} }}
    }}
    """,
)

REST_OF_METAFIELDS = document(
    "RestOfCustomerMetafields",
    f"""
    query RestOfCustomerMetafields($id: ID!, $after: String) {{
      node(id: $id) {{ ... on Customer {{
        metafields(first: {REST_PAGE}, after: $after) {{
          nodes {{ {METAFIELD_FIELDS} }} pageInfo {{ hasNextPage endCursor }}
        }}
      }} }}
    }}
    """,
)

REST_OF_LINES = document(
    "RestOfOrderLines",
    f"""
    query RestOfOrderLines($id: ID!, $after: String) {{
      node(id: $id) {{ ... on Order {{
        lineItems(first: {REST_PAGE}, after: $after) {{
          nodes {{ {LINE_FIELDS} }} pageInfo {{ hasNextPage endCursor }}
        }}
      }} }}
    }}
    """,
)

# The nested connections a paged node may carry cut short, and how to read the rest.
REST_OF = {
    "addressesV2": REST_OF_ADDRESSES,
    "metafields": REST_OF_METAFIELDS,
    "lineItems": REST_OF_LINES,
}

BULK_HISTORY = {
    "customers": BULK_HISTORY_CUSTOMERS,
    "products": BULK_HISTORY_PRODUCTS,
    "orders": BULK_HISTORY_ORDERS,
    "statistics": BULK_CUSTOMER_STATISTICS,
    "companies": BULK_CUSTOMER_COMPANIES,
    "store_credit": BULK_CUSTOMER_STORE_CREDIT,
}
PAGED_HISTORY = {
    "customers": PAGED_HISTORY_CUSTOMERS,
    "products": PAGED_HISTORY_PRODUCTS,
    "orders": PAGED_HISTORY_ORDERS,
    "statistics": PAGED_CUSTOMER_STATISTICS,
    "companies": PAGED_CUSTOMER_COMPANIES,
    "store_credit": PAGED_CUSTOMER_STORE_CREDIT,
}
