"""What the invoices feature announces, for higher features to react to (same transaction).

A receiver gets the invoice as sender and ``sess`` as keyword."""
from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

# The invoice reached its one channel (nettbank, e-mail or the print queue).
invoice_delivered = _signals.signal("invoice-delivered")
# The channel gave the invoice up; support can retry.
invoice_failed = _signals.signal("invoice-failed")
# The consumer paid the eFaktura in the nettbank.
invoice_paid = _signals.signal("invoice-paid")
# A draft is about to be deleted: rows of higher features that point at it go first.
draft_deleting = _signals.signal("draft-deleting")
# A credit note was made for an invoice (sender: the credit note; ``credited``: the invoice).
invoice_credited = _signals.signal("invoice-credited")
