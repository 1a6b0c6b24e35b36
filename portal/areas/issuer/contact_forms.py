"""Contact forms. The rules themselves live in contacts.services.validate_contact, shared with CSV import."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import BooleanField, HiddenField, RadioField, SelectField, StringField

from portal.core.forms import PortalForm


class ContactForm(PortalForm):
    customer_number = StringField(_l("Kundenummer"), description=_l("Unikt for hver kunde hos bedriften."))
    kind = RadioField(_l("Type kunde"), choices=[("person", _l("Privatperson")), ("company", _l("Bedrift"))],
                      default="person", validate_choice=False)
    name = StringField(_l("Navn"))
    birth_date = StringField(_l("Fødselsdato (valgfritt)"),
                             description=_l("Bare for privatpersoner, som dd.mm.åååå. Når den er fylt ut, kan bare "
                                            "personen med denne fødselsdatoen svare på spørsmålet om eFaktura."))
    org_number = StringField(_l("Organisasjonsnummer"), description=_l("Bare for bedrifter: ni sifre."))
    mobile = StringField(_l("Mobilnummer"),
                         description=_l("Skrives som +47 og åtte sifre uten mellomrom, for eksempel +4791234567. "
                                        "Trengs for samtykke til eFaktura på SMS."))
    email = StringField(_l("E-post"))
    address_line = StringField(_l("Adresse"))
    postal_code = StringField(_l("Postnummer"), description=_l("Fire sifre."))
    city = StringField(_l("Poststed"))
    language = SelectField(_l("Språk"), description=_l("SMS, e-post og faktura til kunden kommer på dette språket."),
                           choices=[("nb", _l("Norsk (bokmål)")), ("nn", _l("Norsk (nynorsk)")),
                                    ("en", _l("Engelsk"))],
                           validate_choice=False)
    access_point = SelectField(_l("Aksesspunkt"), choices=[("", _l("Ingen")), ("B2CNO", "B2CNO"), ("EHF", "EHF")],
                               description=_l("B2CNO gir eFaktura til privatpersoner; EHF brukes for bedrifter."),
                               validate_choice=False)
    receive_edocuments = BooleanField(_l("Motta eDokumenter"))

    def values(self) -> dict:
        return {name: getattr(self, name).data for name in (
            "customer_number", "kind", "name", "org_number", "mobile", "email", "address_line",
            "postal_code", "city", "language", "access_point", "receive_edocuments", "birth_date")}

    def add_errors(self, errors: dict[str, str]) -> None:
        for name, message in errors.items():
            target = getattr(self, name, None)
            if target is None or name == "row":
                self.form_errors.append(message)
            else:
                target.errors = list(target.errors) + [message]


class CsvUploadForm(PortalForm):
    file = FileField(_l("CSV-fil"), description=_l("Høyst 5 MB, UTF-8, semikolon eller komma mellom feltene."))


class CsvImportForm(PortalForm):
    payload = HiddenField()


class CheckForm(PortalForm):
    """"Check now": run the recipient look-up for one contact again (a button)."""
