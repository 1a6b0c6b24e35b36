"""Imports every model so that the metadata is complete (Alembic, tests)."""
from portal.agreements.models import ConsentReceipt, ConsentRequest, Consumer, EFakturaAgreement
from portal.contacts.models import Contact
from portal.db import Base
from portal.delivery.models import MailboxMessage, NettbankDocument, OutboxMessage, PrintJob
from portal.events import Event
from portal.invoices.models import Invoice, InvoiceLine
from portal.issuers.models import Issuer, IssuerAgreement, IssuerUser
from portal.support.models import SupportAudit, SupportUser
from portal.throttle import LoginFailure
from portal.tokens import UsedToken

__all__ = [
    "Base", "ConsentReceipt", "ConsentRequest", "Consumer", "Contact", "EFakturaAgreement",
    "Event", "Invoice", "InvoiceLine", "Issuer", "LoginFailure", "IssuerAgreement", "IssuerUser",
    "MailboxMessage", "NettbankDocument", "OutboxMessage", "PrintJob", "SupportAudit",
    "SupportUser", "UsedToken",
]
