"""Forms of the issuer's API page: keys and webhook endpoints."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length
from wtforms.widgets import CheckboxInput, ListWidget

from portal.core.forms import PortalForm
from portal.integrations.webhooks import EVENT_TYPES


class CredentialForm(PortalForm):
    name = StringField(_l("Navn på nøkkelen"), validators=[DataRequired(_l("Gi nøkkelen et navn, for eksempel regnskapssystemet.")),
                                                           Length(max=100)],
                       description=_l("Bare for å kjenne den igjen, for eksempel «Regnskap produksjon»."))
    write = BooleanField(_l("Kan også endre (opprette kontakter og sende fakturaer)"),
                         description=_l("Uten dette kan nøkkelen bare lese."))


class WebhookForm(PortalForm):
    url = StringField(_l("Adresse (https)"), validators=[DataRequired(_l("Skriv adressen hendelsene skal sendes til.")),
                                                         Length(max=500)],
                      description=_l("For eksempel https://regnskap.example.no/efaktura/webhook."))
    events = SelectMultipleField(_l("Hendelser"), choices=[(k, v) for k, v in EVENT_TYPES.items()],
                                 option_widget=CheckboxInput(), widget=ListWidget(prefix_label=False),
                                 validators=[DataRequired(_l("Velg minst én hendelse."))])
