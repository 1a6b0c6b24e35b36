"""Forms of the support area."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import EmailField, HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, Length, Optional

from portal.core.forms import PortalForm


class LoginForm(PortalForm):
    email = EmailField(_l("E-post"), validators=[DataRequired(_l("Skriv e-postadressen din.")), Length(max=254)])
    password = PasswordField(_l("Passord"), validators=[DataRequired(_l("Skriv passordet ditt.")),
                                                        Length(max=500)])


class SearchForm(PortalForm):
    q = StringField(_l("Søk"), validators=[Optional(), Length(max=200, message=_l("Søket kan ha høyst 200 tegn."))],
                    description=_l("Mobilnummer (skriv det som du vil), e-post, fakturanummer, bedriftsnavn, "
                                   "organisasjonsnummer eller fødselsnummer til en BankID-verifisert forbruker."))
    kind = HiddenField()
    after = HiddenField()


class ActionForm(PortalForm):
    """A button that changes something (or reveals something): CSRF, and where to go back to."""

    next = HiddenField()
