"""Forms of the consumer pages. Each carries a CSRF token; the answers are buttons."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import HiddenField
from wtforms.validators import AnyOf, DataRequired, Length

from portal.core.forms import PortalForm


class DecisionForm(PortalForm):
    """Approve or decline after reading the text; ``digest`` ties the answer to the text shown."""

    decision = HiddenField(_l("Svar"), validators=[
        DataRequired(_l("Velg om du vil godta eller avslå.")),
        AnyOf(["approve", "decline"], message=_l("Velg om du vil godta eller avslå.")),
    ])
    digest = HiddenField(_l("Tekst"), validators=[DataRequired(), Length(max=64)])


class ApproveForm(PortalForm):
    """Say yes to one issuer from "My agreements"."""

    digest = HiddenField(_l("Tekst"), validators=[DataRequired(), Length(max=64)])


class StopForm(PortalForm):
    """End one agreement from "My agreements"."""

    digest = HiddenField(_l("Tekst"), validators=[DataRequired(), Length(max=64)])
