"""Request and response bodies of API v1 (pydantic models; the OpenAPI document is built from them).

Request fields that the contact and invoice rules check themselves are plain text here, so the
API answers with the same messages as the issuer's forms."""
from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProblemError(BaseModel):
    field: str = Field(description="The field, dotted (lines.0.quantity).")
    pointer: str = Field(description="JSON pointer into the request body.")
    detail: str


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[ProblemError] | None = None


class ContactIn(Strict):
    customer_number: str | None = Field(None, max_length=200, examples=["10001"])
    kind: str | None = Field(None, max_length=20, description="person or company", examples=["person"])
    name: str | None = Field(None, max_length=400, examples=["Kari Nordmann"])
    org_number: str | None = Field(None, max_length=40, description="Only for a company.")
    mobile: str | None = Field(None, max_length=40, description="+47 and eight digits.", examples=["+4791234567"])
    email: str | None = Field(None, max_length=300, examples=["kari@example.no"])
    address_line: str | None = Field(None, max_length=400)
    postal_code: str | None = Field(None, max_length=20)
    city: str | None = Field(None, max_length=200)
    language: str | None = Field(None, max_length=10, description="nb (bokmål), nn (nynorsk) or en")
    access_point: str | None = Field(None, max_length=20, description="B2CNO, EHF or none")
    receive_edocuments: bool = False


class Contact(BaseModel):
    id: int
    customer_number: str
    kind: str
    name: str
    org_number: str | None
    mobile: str | None
    email: str | None
    address_line: str
    postal_code: str
    city: str
    language: str
    access_point: str | None
    receive_edocuments: bool
    created_at: dt.datetime
    updated_at: dt.datetime


class Blocker(BaseModel):
    code: str
    message: str


class Reachability(BaseModel):
    contact_id: int
    agreement_state: str | None = Field(description="requested, active, declined, expired, stopped, terminated, or null")
    route: Literal["nettbank", "held_for_consent", "email", "post"]
    channel: Literal["nettbank", "email", "post"] | None = Field(
        description="The channel an invoice issued now would end in; null while consent is awaited.")
    reason: str = Field(description="agreement, general_consent, consent_request, consent_pending, declined, "
                        "not_receiving, not_eligible")
    explanation: str
    blockers: list[Blocker]


class LineIn(Strict):
    description: str = Field(min_length=1, max_length=300)
    quantity: str = Field("1", max_length=20, description="Decimal, up to three decimals.", examples=["1", "1.5"])
    unit_price_ore: int = Field(ge=0, le=10**12, description="Excluding VAT, in øre.")
    vat_rate_percent: Literal[25, 15, 12, 0] = 25


class InvoiceIn(Strict):
    contact_id: int = Field(ge=1, le=2**31 - 1)
    number: str | None = Field(None, max_length=30, description="Next free number when left out.")
    issue_date: dt.date | None = Field(None, description="Today when left out.")
    due_date: dt.date
    kid: str | None = Field(None, max_length=30, description="MOD10 or MOD11; made from customer and invoice number when left out.")
    account_number: str | None = Field(None, max_length=20, description="The issuer's account when left out.")
    lines: list[LineIn] = Field(min_length=1, max_length=200)


class CreditLineIn(Strict):
    position: int = Field(ge=1, le=1000, description="The invoice line's position (1 for the first line).")
    quantity: str = Field(max_length=20, description="How much of the line to credit; decimal, up to three decimals.",
                          examples=["1", "0.5"])


class CreditAmountIn(Strict):
    vat_rate_percent: Literal[25, 15, 12, 0] = Field(description="A VAT rate of the invoice's lines.")
    amount_ore: int = Field(ge=0, le=10**12, description="The amount to credit at this rate, including VAT, in øre.")


class CreditNoteIn(Strict):
    lines: list[CreditLineIn] | None = Field(
        None, max_length=200, description="The quantities to credit; leave out lines and amounts to credit all "
                                          "that remains.")
    amounts: list[CreditAmountIn] | None = Field(
        None, max_length=4, description="An amount per VAT rate to credit (a price reduction), with or without lines.")
    reason: str | None = Field(None, max_length=300, description="Shown on the credit note; required with lines.")


class Line(BaseModel):
    position: int
    description: str
    quantity: str
    unit_price_ore: int
    vat_rate_percent: int
    line_net_ore: int
    line_vat_ore: int


class HistoryEntry(BaseModel):
    at: dt.datetime
    action: str
    from_state: str | None
    to_state: str | None
    actor: str
    data: dict


class Invoice(BaseModel):
    id: int
    number: str
    contact_id: int
    state: str
    channel: str | None
    issue_date: dt.date
    due_date: dt.date
    kid: str
    account_number: str
    net_ore: int
    vat_ore: int
    total_ore: int
    issued_at: dt.datetime | None
    delivered_at: dt.datetime | None
    held_until: dt.datetime | None
    failure_reason: str | None
    kind: Literal["invoice", "credit_note"] = Field(
        description="A credit note corrects an invoice: its amounts are negative and there is nothing to pay.")
    credits_invoice_id: int | None = Field(description="On a credit note: the invoice it credits.")
    credit_reason: str | None = Field(description="On a credit note: why the invoice was credited.")
    credited_ore: int = Field(description="On an invoice: how much credit notes have taken back (incl. VAT).")
    amount_due_ore: int = Field(description="On an invoice: the total less what is credited; 0 on a credit note.")
    lines: list[Line]
    history: list[HistoryEntry] | None = None


class InvoicePage(BaseModel):
    items: list[Invoice]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page; null on the last page.")


class SentQuery(BaseModel):
    status: Literal["draft", "held", "sending", "delivered", "failed"] | None = None
    kind: Literal["invoice", "credit_note"] | None = None
    channel: Literal["nettbank", "email", "post"] | None = None
    issued_from: dt.date | None = None
    issued_to: dt.date | None = None
    contact_id: int | None = Field(None, ge=1, le=2**31 - 1)
    number: str | None = Field(None, max_length=30)
    limit: int = Field(25, ge=1, le=100)
    cursor: str | None = Field(None, max_length=100)
