"""The invoice form: number, dates, KID, account, and up to five lines or a single total."""
from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l
from wtforms import DateField, FieldList, Form, FormField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from portal.core.forms import PortalForm
from portal.core.identifiers import InvalidIdentifier, validate_account_number, validate_kid
from portal.invoices.services import (
    MAX_QUANTITY,
    MAX_UNIT_PRICE_ORE,
    MSG_AMOUNT_TOO_LARGE,
    MSG_QUANTITY_TOO_LARGE,
)

LINE_ROWS = 5
VAT_RATES = (25, 15, 12, 0)


class AmountError(ValueError):
    pass


def parse_kroner(text: str) -> int:
    """A kroner amount as people write it ("1 234,50", "1234.5", "1.234,50") in øre."""
    raw = re.sub(r"[\s\u00a0\u202f]", "", text or "")
    raw = re.sub(r"(?i)(kr|nok)\.?", "", raw).rstrip("-")
    if not raw:
        raise AmountError(_l("Skriv et beløp."))
    if "," in raw and "." in raw:
        raw = raw.replace(".", "").replace(",", ".")
    elif "," in raw:
        raw = raw.replace(",", ".")
    if not re.fullmatch(r"[0-9]{1,12}(\.[0-9]{1,2})?", raw):
        raise AmountError(_l("Skriv beløpet i kroner, for eksempel 1 234,50."))
    ore = int((Decimal(raw) * 100).to_integral_value())
    if ore > MAX_UNIT_PRICE_ORE:
        raise AmountError(MSG_AMOUNT_TOO_LARGE)
    return ore


def parse_quantity(text: str) -> Decimal:
    raw = re.sub(r"\s", "", text or "").replace(",", ".")
    if not raw:
        return Decimal(1)
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise AmountError(_l("Skriv antallet som et tall, for eksempel 2 eller 1,5.")) from None
    if not value.is_finite() or value <= 0 or value.as_tuple().exponent < -3:
        raise AmountError(_l("Antallet må være større enn null, med høyst tre desimaler."))
    if value > MAX_QUANTITY:
        raise AmountError(MSG_QUANTITY_TOO_LARGE)
    return value


class LineForm(Form):
    description = StringField(_l("Beskrivelse"), validators=[Optional(), Length(max=300)])
    quantity = StringField(_l("Antall"))
    unit_price = StringField(_l("Pris per enhet (kr, eks. mva.)"))
    vat = SelectField(_l("Mva."), choices=[(str(r), f"{r} %") for r in VAT_RATES], default="25",
                      validate_choice=False)


class InvoiceForm(PortalForm):
    number = StringField(_l("Fakturanummer"), validators=[DataRequired(_l("Skriv et fakturanummer.")),
                                                          Length(max=30)])
    issue_date = DateField(_l("Fakturadato"), validators=[DataRequired(_l("Skriv fakturadatoen (åååå-mm-dd)."))])
    due_date = DateField(_l("Forfallsdato"), validators=[DataRequired(_l("Skriv forfallsdatoen (åååå-mm-dd)."))])
    kid = StringField(_l("KID"), description=_l("La stå tomt, så lager vi et KID-nummer (MOD10) av kundenummer og fakturanummer."))
    account_number = StringField(_l("Kontonummer"), description=_l("11 sifre, for eksempel 1234.56.78903."))
    lines = FieldList(FormField(LineForm), min_entries=LINE_ROWS, max_entries=LINE_ROWS)
    total = StringField(_l("Eller: ett beløp (kr, eks. mva.)"),
                        description=_l("Bruk dette i stedet for linjene når fakturaen bare har ett beløp."))
    total_description = StringField(_l("Tekst for totalbeløpet"), validators=[Optional(), Length(max=300)])
    total_vat = SelectField(_l("Mva. for totalbeløpet"), choices=[(str(r), f"{r} %") for r in VAT_RATES],
                            default="25", validate_choice=False)

    parsed_lines: list

    def validate_due_date(self, field) -> None:
        if field.data and self.issue_date.data and field.data < self.issue_date.data:
            raise ValidationError(_l("Forfallsdatoen kan ikke være før fakturadatoen."))

    def validate_kid(self, field) -> None:
        if (field.data or "").strip():
            try:
                field.data = validate_kid(field.data)
            except InvalidIdentifier as exc:
                raise ValidationError(str(exc.message)) from None
        else:
            field.data = ""

    def validate_account_number(self, field) -> None:
        try:
            field.data = validate_account_number(field.data or "")
        except InvalidIdentifier as exc:
            raise ValidationError(str(exc.message)) from None

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        self.parsed_lines = []
        used = []
        for entry in self.lines:
            sub = entry.form
            if not ((sub.description.data or "").strip() or (sub.unit_price.data or "").strip()
                    or (sub.quantity.data or "").strip()):
                continue
            used.append(sub)
            line_ok = True
            if not (sub.description.data or "").strip():
                sub.description.errors = list(sub.description.errors) + [str(_l("Skriv en beskrivelse."))]
                line_ok = False
            try:
                qty = parse_quantity(sub.quantity.data)
            except AmountError as exc:
                sub.quantity.errors = list(sub.quantity.errors) + [str(exc.args[0])]
                line_ok = False
            try:
                price = parse_kroner(sub.unit_price.data)
            except AmountError as exc:
                sub.unit_price.errors = list(sub.unit_price.errors) + [str(exc.args[0])]
                line_ok = False
            vat = sub.vat.data
            if vat not in {str(r) for r in VAT_RATES}:
                sub.vat.errors = list(sub.vat.errors) + [str(_l("Velg 25, 15, 12 eller 0 % mva."))]
                line_ok = False
            if line_ok:
                self.parsed_lines.append((sub.description.data.strip(), qty, price, int(vat)))
            else:
                ok = False
        total_text = (self.total.data or "").strip()
        if used and total_text:
            self.total.errors = list(self.total.errors) + [str(_l("Fyll ut enten linjene eller totalbeløpet, ikke begge."))]
            ok = False
        elif total_text:
            try:
                amount = parse_kroner(total_text)
            except AmountError as exc:
                self.total.errors = list(self.total.errors) + [str(exc.args[0])]
                ok = False
            else:
                if amount <= 0:
                    self.total.errors = list(self.total.errors) + [str(_l("Beløpet må være større enn null."))]
                    ok = False
                text = (self.total_description.data or "").strip() or str(_l("Fakturabeløp"))
                vat = self.total_vat.data if self.total_vat.data in {str(r) for r in VAT_RATES} else None
                if vat is None:
                    self.total_vat.errors = list(self.total_vat.errors) + [str(_l("Velg 25, 15, 12 eller 0 % mva."))]
                    ok = False
                self.parsed_lines = [(text, Decimal(1), amount, int(vat or 0))]
        elif not used:
            self.form_errors.append(str(_l("Fyll ut minst én fakturalinje, eller et totalbeløp.")))
            ok = False
        return ok


class CreditNoteForm(PortalForm):
    """A credit note for an issued invoice: the whole of what remains, or chosen quantities of
    its lines (``quantity-<index>``, read by the view, one per line) with a reason."""

    reason = StringField(_l("Årsak"), validators=[Optional(), Length(max=300, message=_l(
        "Årsaken kan være høyst 300 tegn."))],
        description=_l("Står på kreditnotaen, for eksempel «returnert vare» eller «feil pris»."))


def parse_credit_quantity(text: str) -> Decimal:
    """A quantity to credit as people write it ("1", "0,5"); empty is nothing."""
    raw = re.sub(r"\s", "", text or "").replace(",", ".")
    if not raw:
        return Decimal(0)
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise AmountError(_l("Skriv antallet som et tall, for eksempel 2 eller 1,5.")) from None
    if not value.is_finite() or value < 0 or value.as_tuple().exponent < -3:
        raise AmountError(_l("Antallet kan ikke være negativt og kan ha høyst tre desimaler."))
    return value
