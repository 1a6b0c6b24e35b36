"""Forms of the consumer pages. Each carries a CSRF token; the answers are buttons."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, RadioField, StringField
from wtforms.validators import AnyOf, InputRequired, Length

from portal.core.forms import PortalForm


class PayForm(PortalForm):
    """Mark an eFaktura as paid in the simulated nettbank."""


class GeneralConsentForm(PortalForm):
    """Turn "yes to eFaktura from all issuers" on or off."""

    answer = HiddenField(validators=[AnyOf(("on", "off"))])


class ButtonForm(PortalForm):
    """A change that is only a button: block or unblock an issuer, remove a profile entry."""


class AddressForm(PortalForm):
    """Add a mobile number or an e-mail address to the nettbank profile."""

    kind = RadioField(_l("Hva vil du legge til?"), choices=[("mobile", _l("Mobilnummer")),
                                                             ("email", _l("E-postadresse"))],
                      default="mobile", validators=[InputRequired(_l("Velg mobilnummer eller e-postadresse."))])
    value = StringField(_l("Mobilnummer eller e-postadresse"),
                        description=_l("Mobil skrives +47 og åtte sifre uten mellomrom, for eksempel +4791234567."),
                        validators=[InputRequired(_l("Skriv inn et mobilnummer eller en e-postadresse.")),
                                    Length(max=254)])
