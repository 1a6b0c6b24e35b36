"""What the agreements feature announces, for higher features to react to.

Receivers run synchronously in the sender's transaction (the same session), so a reaction
either happens with the decision or not at all. They are connected at start-up in
``create_app``; a receiver gets the agreement as sender and ``sess`` and ``actor`` as keywords.
"""
from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

agreement_approved = _signals.signal("agreement-approved")
agreement_declined = _signals.signal("agreement-declined")
agreement_stopped = _signals.signal("agreement-stopped")

# eFaktura 2.0: the consumer changed their general consent, a block, or the mobiles and
# e-mail addresses the bank knows for them. Sender: the Consumer; who can be reached changed.
general_consent_changed = _signals.signal("general-consent-changed")
