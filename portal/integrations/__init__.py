"""Integrations for issuers' accounting systems: API credentials, idempotency keys, webhooks
and EHF (Peppol BIS Billing 3.0) invoices in. The JSON API itself is the area
``portal.areas.api``; the issuer's own pages for keys and webhooks are in the issuer area."""
