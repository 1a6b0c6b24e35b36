"""What the issuers feature announces, for higher features to react to (same transaction).

A receiver gets the issuer as sender and ``sess`` and ``actor`` as keywords; receivers are
connected at start-up in ``create_app``."""
from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

# The issuer agreement was approved: B2C is active from now on.
issuer_activated = _signals.signal("issuer-activated")
