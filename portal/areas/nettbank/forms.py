"""Forms of the consumer pages. Each carries a CSRF token; the answers are buttons."""
from __future__ import annotations

from flask_wtf import FlaskForm


class PayForm(FlaskForm):
    """Mark an eFaktura as paid in the simulated nettbank."""
