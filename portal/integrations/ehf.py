"""EHF Billing 3.0 / Peppol BIS Billing 3.0 invoices in (UBL 2.1 XML).

The XML is parsed without entities, network or huge trees, and any DOCTYPE is refused; then the
document is checked (required parties, the seller is the issuer, totals add up, the PaymentID is
a valid KID) and the buyer is found as a contact by customer number, else by name, else created.
Every problem names the element's path. Nothing is saved until every check has passed."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l
from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.contacts import services as contacts
from portal.contacts.models import Contact
from portal.core.events import Actor
from portal.core.identifiers import InvalidIdentifier, validate_account_number, validate_kid
from portal.integrations.models import InvoiceSource
from portal.invoices import services as invoices
from portal.invoices.models import Invoice
from portal.issuers.models import Issuer

MAX_BYTES = 1024 * 1024
MEDIA_TYPE = "application/xml"
NS = {
    "inv": "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2",
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}
ROOT = f"{{{NS['inv']}}}Invoice"
BIS3 = "urn:fdc:peppol.eu:2017:poacc:billing:3.0"
VAT_RATES = (25, 15, 12, 0)


@dataclass
class Problem:
    path: str
    message: str


class EhfError(Exception):
    def __init__(self, problems: list[Problem]):
        super().__init__("; ".join(f"{p.path}: {p.message}" for p in problems))
        self.problems = problems


@dataclass
class EhfLine:
    path: str
    description: str
    quantity: Decimal
    unit_price_ore: int
    vat_rate_percent: int


@dataclass
class EhfInvoice:
    number: str
    issue_date: dt.date
    due_date: dt.date
    kid: str
    account_number: str | None
    buyer: dict
    lines: list[EhfLine] = field(default_factory=list)
    payable_ore: int = 0


def _parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False,
                           dtd_validation=False, remove_pis=True)


def parse(data: bytes) -> etree._Element:
    """The document's root element; raises EhfError for anything that is not safe, well-formed UBL."""
    if len(data) > MAX_BYTES:
        raise EhfError([Problem("/", str(_l("Dokumentet er større enn %(n)s kB.", n=MAX_BYTES // 1024)))])
    if b"<!DOCTYPE" in data[:4096].upper() or b"<!ENTITY" in data.upper():
        raise EhfError([Problem("/", str(_l("Dokumentet har en DOCTYPE eller ENTITY-erklæring; det er ikke tillatt i EHF.")))])
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        line = getattr(exc, "lineno", None) or 0
        raise EhfError([Problem(f"/ (linje {line})", str(_l("Dokumentet er ikke gyldig XML: %(msg)s", msg=str(exc.msg)[:200])))]) from None
    tree = root.getroottree()
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise EhfError([Problem("/", str(_l("Dokumentet har en DOCTYPE eller ENTITY-erklæring; det er ikke tillatt i EHF.")))])
    if root.tag != ROOT:
        raise EhfError([Problem("/" + etree.QName(root).localname, str(_l(
            "Rotelementet skal være Invoice i navnerommet %(ns)s (UBL 2.1).", ns=NS["inv"])))])
    return root


class _Reader:
    def __init__(self):
        self.problems: list[Problem] = []

    def one(self, parent, parent_path: str, rel: str, *, required: bool = True):
        found = parent.xpath(rel, namespaces=NS) if parent is not None else []
        path = f"{parent_path}/{rel}"
        if not found:
            if required:
                self.problems.append(Problem(path, str(_l("Elementet mangler."))))
            return None, path
        return found[0], path

    def text(self, parent, parent_path: str, rel: str, *, required: bool = True) -> tuple[str, str]:
        el, path = self.one(parent, parent_path, rel, required=required)
        value = (el.text or "").strip() if el is not None else ""
        if el is not None and required and not value:
            self.problems.append(Problem(path, str(_l("Elementet er tomt."))))
        return value, path

    def date(self, parent, parent_path: str, rel: str, *, required: bool = True) -> dt.date | None:
        value, path = self.text(parent, parent_path, rel, required=required)
        if not value:
            return None
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            self.problems.append(Problem(path, str(_l("Datoen skal skrives åååå-mm-dd."))))
            return None

    def amount(self, parent, parent_path: str, rel: str, *, required: bool = True) -> Decimal | None:
        value, path = self.text(parent, parent_path, rel, required=required)
        if not value:
            return None
        try:
            amount = Decimal(value)
        except InvalidOperation:
            amount = None
        if amount is None or not amount.is_finite() or abs(amount) >= Decimal(10**12):
            self.problems.append(Problem(path, str(_l("«%(value)s» er ikke et beløp.", value=value[:30]))))
            return None
        el, _p = self.one(parent, parent_path, rel, required=False)
        currency = el.get("currencyID") if el is not None else None
        if currency and currency != "NOK" and "InvoicedQuantity" not in rel:
            self.problems.append(Problem(path + "/@currencyID", str(_l("Bare NOK støttes."))))
        return amount


def _ore(value: Decimal) -> int:
    return int((value * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _cents(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def read(root, issuer: Issuer) -> EhfInvoice:
    """Check the document and return what our invoice needs; raises EhfError with every problem."""
    r = _Reader()
    base = "/Invoice"
    custom, cpath = r.text(root, base, "cbc:CustomizationID")
    if custom and BIS3 not in custom:
        r.problems.append(Problem(cpath, str(_l("Dette er ikke en Peppol BIS Billing 3.0-faktura (%(id)s).", id=BIS3))))
    number, npath = r.text(root, base, "cbc:ID")
    if len(number) > 30:
        r.problems.append(Problem(npath, str(_l("Fakturanummeret har høyst 30 tegn."))))
    issue_date = r.date(root, base, "cbc:IssueDate")
    due_date = r.date(root, base, "cbc:DueDate", required=False)
    type_code, tpath = r.text(root, base, "cbc:InvoiceTypeCode", required=False)
    if type_code and type_code != "380":
        r.problems.append(Problem(tpath, str(_l("Bare vanlige fakturaer (380) tas imot; kreditnotaer støttes ikke ennå."))))
    currency, curpath = r.text(root, base, "cbc:DocumentCurrencyCode")
    if currency and currency != "NOK":
        r.problems.append(Problem(curpath, str(_l("Bare NOK støttes."))))
    if due_date is None:
        r.problems.append(Problem(f"{base}/cbc:DueDate", str(_l("Forfallsdato mangler."))))
    elif issue_date and due_date < issue_date:
        r.problems.append(Problem(f"{base}/cbc:DueDate", str(_l("Forfallsdatoen kan ikke være før fakturadatoen."))))

    # seller: must be this issuer
    seller, spath = r.one(root, base, "cac:AccountingSupplierParty/cac:Party")
    if seller is not None:
        org, opath = r.text(seller, spath, "cac:PartyLegalEntity/cbc:CompanyID")
        digits = "".join(ch for ch in org if ch.isdigit())
        if org and digits[:9] != issuer.org_number:
            r.problems.append(Problem(opath, str(_l(
                "Selgerens organisasjonsnummer %(org)s er ikke utstederen bak API-nøkkelen.", org=org[:20]))))

    # buyer
    buyer_el, bpath = r.one(root, base, "cac:AccountingCustomerParty/cac:Party")
    buyer: dict = {}
    if buyer_el is not None:
        buyer["customer_number"], buyer["_number_path"] = r.text(buyer_el, bpath, "cac:PartyIdentification/cbc:ID",
                                                                 required=False)
        name, _np = r.text(buyer_el, bpath, "cac:PartyName/cbc:Name", required=False)
        legal, lpath = r.text(buyer_el, bpath, "cac:PartyLegalEntity/cbc:RegistrationName", required=not name)
        buyer["name"] = legal or name
        buyer["_name_path"] = lpath
        buyer["org_number"], _op = r.text(buyer_el, bpath, "cac:PartyLegalEntity/cbc:CompanyID", required=False)
        buyer["address_line"], _a = r.text(buyer_el, bpath, "cac:PostalAddress/cbc:StreetName", required=False)
        buyer["postal_code"], _z = r.text(buyer_el, bpath, "cac:PostalAddress/cbc:PostalZone", required=False)
        buyer["city"], _c = r.text(buyer_el, bpath, "cac:PostalAddress/cbc:CityName", required=False)
        buyer["email"], _e = r.text(buyer_el, bpath, "cac:Contact/cbc:ElectronicMail", required=False)
        buyer["_path"] = bpath

    # payment: KID and account
    kid = ""
    pay, ppath = r.one(root, base, "cac:PaymentMeans")
    account = None
    if pay is not None:
        raw_kid, kpath = r.text(pay, ppath, "cbc:PaymentID")
        if raw_kid:
            try:
                kid = validate_kid(raw_kid)
            except InvalidIdentifier as exc:
                r.problems.append(Problem(kpath, str(exc.message)))
        raw_account, apath = r.text(pay, ppath, "cac:PayeeFinancialAccount/cbc:ID", required=False)
        if raw_account:
            try:
                account = validate_account_number(raw_account)
            except InvalidIdentifier as exc:
                r.problems.append(Problem(apath, str(exc.message)))

    if root.xpath("cac:AllowanceCharge", namespaces=NS):
        r.problems.append(Problem(f"{base}/cac:AllowanceCharge", str(_l("Rabatter og gebyrer på dokumentnivå støttes ikke ennå."))))

    # lines
    lines: list[EhfLine] = []
    line_sum = Decimal(0)
    vat_by_rate: dict[int, Decimal] = {}
    line_els = root.xpath("cac:InvoiceLine", namespaces=NS)
    if not line_els:
        r.problems.append(Problem(f"{base}/cac:InvoiceLine", str(_l("Fakturaen har ingen linjer."))))
    for i, el in enumerate(line_els, start=1):
        lpath = f"{base}/cac:InvoiceLine[{i}]"
        qty = r.amount(el, lpath, "cbc:InvoicedQuantity")
        net = r.amount(el, lpath, "cbc:LineExtensionAmount")
        price = r.amount(el, lpath, "cac:Price/cbc:PriceAmount")
        base_qty = r.amount(el, lpath, "cac:Price/cbc:BaseQuantity", required=False) or Decimal(1)
        desc, _d = r.text(el, lpath, "cac:Item/cbc:Name")
        rate_text, rpath = r.text(el, lpath, "cac:Item/cac:ClassifiedTaxCategory/cbc:Percent", required=False)
        rate = 0
        try:
            rate = int(Decimal(rate_text or "0"))
            if Decimal(rate_text or "0") != rate or rate not in VAT_RATES:
                raise InvalidOperation
        except InvalidOperation:
            r.problems.append(Problem(rpath, str(_l("Mva.-satsen må være 25, 15, 12 eller 0."))))
        if qty is None or net is None or price is None:
            continue
        if qty <= 0 or base_qty <= 0:
            r.problems.append(Problem(f"{lpath}/cbc:InvoicedQuantity", str(_l("Antallet må være større enn null (kreditlinjer støttes ikke)."))))
            continue
        unit = price / base_qty
        if unit * 100 != (unit * 100).to_integral_value() or unit < 0:
            r.problems.append(Problem(f"{lpath}/cac:Price/cbc:PriceAmount", str(_l("Prisen per enhet må være hele øre."))))
            continue
        if qty.as_tuple().exponent < -3:
            r.problems.append(Problem(f"{lpath}/cbc:InvoicedQuantity", str(_l("Høyst tre desimaler i antallet."))))
            continue
        if _cents(qty * unit) != _cents(net):
            r.problems.append(Problem(f"{lpath}/cbc:LineExtensionAmount", str(_l(
                "Linjebeløpet %(net)s er ikke antall × pris (%(expected)s).", net=net, expected=_cents(qty * unit)))))
        line_sum += net
        vat_by_rate[rate] = vat_by_rate.get(rate, Decimal(0)) + net
        lines.append(EhfLine(lpath, desc[:300], qty, _ore(unit), rate))

    # totals
    tpath = f"{base}/cac:LegalMonetaryTotal"
    total_el, _t = r.one(root, base, "cac:LegalMonetaryTotal")
    payable = Decimal(0)
    if total_el is not None:
        ext = r.amount(total_el, tpath, "cbc:LineExtensionAmount")
        excl = r.amount(total_el, tpath, "cbc:TaxExclusiveAmount")
        incl = r.amount(total_el, tpath, "cbc:TaxInclusiveAmount")
        prepaid = r.amount(total_el, tpath, "cbc:PrepaidAmount", required=False) or Decimal(0)
        payable = r.amount(total_el, tpath, "cbc:PayableAmount") or Decimal(0)
        tax = r.amount(root, base, "cac:TaxTotal/cbc:TaxAmount")
        if ext is not None and lines and len(lines) == len(line_els) and _cents(ext) != _cents(line_sum):
            r.problems.append(Problem(f"{tpath}/cbc:LineExtensionAmount", str(_l(
                "Summen av linjene er %(sum)s, ikke %(value)s.", sum=_cents(line_sum), value=ext))))
        if ext is not None and excl is not None and excl != ext:
            r.problems.append(Problem(f"{tpath}/cbc:TaxExclusiveAmount", str(_l(
                "Beløp uten mva. skal være lik linjesummen %(value)s.", value=ext))))
        expected_tax = sum((_cents(b * r_ / 100) for r_, b in vat_by_rate.items()), Decimal(0))
        if tax is not None and lines and len(lines) == len(line_els) and _cents(tax) != _cents(expected_tax):
            r.problems.append(Problem(f"{base}/cac:TaxTotal/cbc:TaxAmount", str(_l(
                "Mva. skal være %(expected)s ut fra linjene, ikke %(value)s.", expected=_cents(expected_tax), value=tax))))
        if excl is not None and tax is not None and incl is not None and _cents(incl) != _cents(excl + tax):
            r.problems.append(Problem(f"{tpath}/cbc:TaxInclusiveAmount", str(_l(
                "Beløp med mva. skal være %(expected)s.", expected=_cents(excl + tax)))))
        if incl is not None and _cents(payable) != _cents(incl - prepaid):
            r.problems.append(Problem(f"{tpath}/cbc:PayableAmount", str(_l(
                "Å betale skal være %(expected)s.", expected=_cents(incl - prepaid)))))
        if prepaid:
            r.problems.append(Problem(f"{tpath}/cbc:PrepaidAmount", str(_l("Forskuddsbetaling støttes ikke ennå."))))
    if r.problems:
        raise EhfError(r.problems)
    return EhfInvoice(number=number, issue_date=issue_date, due_date=due_date, kid=kid, account_number=account,
                      buyer=buyer, lines=lines, payable_ore=_ore(payable))


def find_or_create_buyer(sess: Session, issuer: Issuer, buyer: dict, actor: Actor) -> Contact:
    """The buyer as a contact: by customer number, else by a unique name, else a new contact."""
    number = (buyer.get("customer_number") or "").strip()
    if number:
        found = sess.scalar(select(Contact).where(Contact.issuer_id == issuer.id, Contact.customer_number == number))
        if found is not None:
            return found
    name = (buyer.get("name") or "").strip()
    if name:
        by_name = list(sess.scalars(select(Contact).where(Contact.issuer_id == issuer.id, Contact.name == name).limit(2)))
        if len(by_name) == 1:
            return by_name[0]
        if len(by_name) > 1 and not number:
            raise EhfError([Problem(buyer.get("_name_path", "/Invoice"), str(_l(
                "Flere kontakter heter %(name)s; oppgi kundenummeret i PartyIdentification/ID.", name=name)))])
    if not number:
        raise EhfError([Problem(buyer.get("_number_path", "/Invoice"), str(_l(
            "Kjøperen finnes ikke som kontakt, og kundenummer (PartyIdentification/ID) mangler for å opprette den.")))])
    org = "".join(ch for ch in (buyer.get("org_number") or "") if ch.isdigit())[:9]
    data = {"customer_number": number, "kind": "company" if org else "person", "name": name, "org_number": org,
            "email": buyer.get("email"), "address_line": buyer.get("address_line"),
            "postal_code": buyer.get("postal_code"), "city": buyer.get("city"), "language": "nb",
            "access_point": "EHF" if org else None}
    try:
        with sess.begin_nested():
            return contacts.save_contact(sess, issuer.id, None, data, actor)
    except contacts.ContactError as exc:
        base = buyer.get("_path", "/Invoice")
        where = {"customer_number": "cac:PartyIdentification/cbc:ID", "name": "cac:PartyLegalEntity/cbc:RegistrationName",
                 "org_number": "cac:PartyLegalEntity/cbc:CompanyID", "email": "cac:Contact/cbc:ElectronicMail",
                 "postal_code": "cac:PostalAddress/cbc:PostalZone"}
        raise EhfError([Problem(f"{base}/{where.get(k, k)}", v) for k, v in exc.errors.items()]) from None


def import_invoice(sess: Session, issuer: Issuer, data: bytes, actor: Actor) -> Invoice:
    """Parse, check and turn one EHF document into a draft invoice, keeping the original XML."""
    root = parse(data)
    doc = read(root, issuer)
    if invoices.number_taken(sess, issuer.id, doc.number):
        raise EhfError([Problem("/Invoice/cbc:ID", str(_l("Fakturanummeret %(number)s er allerede brukt.", number=doc.number)))])
    account = doc.account_number or issuer.account_number
    if not account:
        raise EhfError([Problem("/Invoice/cac:PaymentMeans/cac:PayeeFinancialAccount/cbc:ID", str(_l("Kontonummer mangler.")))])
    contact = find_or_create_buyer(sess, issuer, doc.buyer, actor)
    inv = invoices.create_invoice(
        sess, issuer, contact, number=doc.number, issue_date=doc.issue_date, due_date=doc.due_date, kid=doc.kid,
        account_number=account, actor=actor,
        lines=[invoices.LineInput(ln.description, ln.quantity, ln.unit_price_ore, ln.vat_rate_percent) for ln in doc.lines])
    if inv.total_ore != doc.payable_ore:
        raise EhfError([Problem("/Invoice/cac:LegalMonetaryTotal/cbc:PayableAmount", str(_l(
            "Våre beregnede summer (mva. avrundet per linje) gir %(ours)s øre, dokumentet sier %(theirs)s øre.",
            ours=inv.total_ore, theirs=doc.payable_ore)))])
    encoding = root.getroottree().docinfo.encoding or "utf-8"
    try:
        text = data.decode(encoding)
    except (LookupError, UnicodeDecodeError):
        text = data.decode("utf-8", "replace")
    sess.add(InvoiceSource(invoice_id=inv.id, media_type=MEDIA_TYPE, document=text))
    sess.flush()
    return inv
