"""Imports every model so that the metadata is complete (Alembic, tests)."""
from portal.agreements.general_models import (
    ConsumerAddress,
    GeneralConsent,
    GeneralConsentReceipt,
    IssuerBlock,
)
from portal.agreements.models import ConsentReceipt, ConsentRequest, Consumer, EFakturaAgreement
from portal.contacts.models import Contact
from portal.core.auth.throttle import LoginFailure
from portal.core.db import Base
from portal.core.events import Event
from portal.core.outbox import OutboxMessage
from portal.core.outbox.models import Installation
from portal.core.sessions import WebSession
from portal.core.tokens import UsedToken
from portal.delivery.models import MailboxMessage, NettbankDocument, PrintJob
from portal.integrations.models import (
    ApiCredential,
    IdempotencyKey,
    InvoiceSource,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from portal.invoices.models import Invoice, InvoiceLine
from portal.issuers.models import Issuer, IssuerAgreement, IssuerUser
from portal.support.models import SupportAudit, SupportUser

__all__ = [
    "ApiCredential", "Base", "ConsentReceipt", "ConsentRequest", "Consumer", "ConsumerAddress", "Contact",
    "EFakturaAgreement", "GeneralConsent", "GeneralConsentReceipt", "IdempotencyKey", "InvoiceSource",
    "IssuerBlock", "WebhookAttempt", "WebhookDelivery", "WebhookEndpoint",
    "Event", "Installation", "Invoice", "InvoiceLine", "Issuer", "LoginFailure", "IssuerAgreement", "IssuerUser",
    "MailboxMessage", "NettbankDocument", "OutboxMessage", "PrintJob", "SupportAudit",
    "SupportUser", "UsedToken", "WebSession",
]
