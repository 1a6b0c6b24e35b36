"""EHF / Peppol BIS Billing 3.0 in: a valid document becomes a draft invoice with its XML kept;
malformed, hostile and inconsistent documents are refused with the element's path."""
from __future__ import annotations

from sqlalchemy import select

from portal.contacts.models import Contact
from portal.core import db
from portal.core.identifiers import kid_mod10
from portal.integrations.models import InvoiceSource
from portal.invoices.models import Invoice
from portal.issuers.models import Issuer
from tests.helpers.api import api_issuer

KID = kid_mod10("000123000045")


def ehf(seller_org: str, *, number="INV-1001", kid=KID, line_amount="1000.00", payable="1562.50",
        buyer_id="K-777", buyer_name="Bedrift Kjøper AS", extra_line=True, doctype="") -> bytes:
    line2 = """
  <cac:InvoiceLine>
    <cbc:ID>2</cbc:ID>
    <cbc:InvoicedQuantity unitCode="EA">2.5</cbc:InvoicedQuantity>
    <cbc:LineExtensionAmount currencyID="NOK">250.00</cbc:LineExtensionAmount>
    <cac:Item><cbc:Name>Timer</cbc:Name>
      <cac:ClassifiedTaxCategory><cbc:ID>S</cbc:ID><cbc:Percent>25</cbc:Percent><cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:ClassifiedTaxCategory>
    </cac:Item>
    <cac:Price><cbc:PriceAmount currencyID="NOK">100.00</cbc:PriceAmount></cac:Price>
  </cac:InvoiceLine>""" if extra_line else ""
    return f"""<?xml version="1.0" encoding="UTF-8"?>{doctype}
<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
         xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
         xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">
  <cbc:CustomizationID>urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0</cbc:CustomizationID>
  <cbc:ProfileID>urn:fdc:peppol.eu:2017:poacc:billing:01:1.0</cbc:ProfileID>
  <cbc:ID>{number}</cbc:ID>
  <cbc:IssueDate>2030-01-01</cbc:IssueDate>
  <cbc:DueDate>2030-01-15</cbc:DueDate>
  <cbc:InvoiceTypeCode>380</cbc:InvoiceTypeCode>
  <cbc:DocumentCurrencyCode>NOK</cbc:DocumentCurrencyCode>
  <cac:AccountingSupplierParty><cac:Party>
    <cbc:EndpointID schemeID="0192">{seller_org}</cbc:EndpointID>
    <cac:PartyLegalEntity><cbc:RegistrationName>Selger AS</cbc:RegistrationName><cbc:CompanyID>{seller_org}</cbc:CompanyID></cac:PartyLegalEntity>
  </cac:Party></cac:AccountingSupplierParty>
  <cac:AccountingCustomerParty><cac:Party>
    <cac:PartyIdentification><cbc:ID>{buyer_id}</cbc:ID></cac:PartyIdentification>
    <cac:PostalAddress><cbc:StreetName>Kjøpergata 1</cbc:StreetName><cbc:CityName>Oslo</cbc:CityName><cbc:PostalZone>0150</cbc:PostalZone></cac:PostalAddress>
    <cac:PartyLegalEntity><cbc:RegistrationName>{buyer_name}</cbc:RegistrationName><cbc:CompanyID>974760673</cbc:CompanyID></cac:PartyLegalEntity>
    <cac:Contact><cbc:ElectronicMail>faktura@kjoper.no</cbc:ElectronicMail></cac:Contact>
  </cac:Party></cac:AccountingCustomerParty>
  <cac:PaymentMeans>
    <cbc:PaymentMeansCode>30</cbc:PaymentMeansCode>
    <cbc:PaymentID>{kid}</cbc:PaymentID>
    <cac:PayeeFinancialAccount><cbc:ID>12345678903</cbc:ID></cac:PayeeFinancialAccount>
  </cac:PaymentMeans>
  <cac:TaxTotal><cbc:TaxAmount currencyID="NOK">312.50</cbc:TaxAmount></cac:TaxTotal>
  <cac:LegalMonetaryTotal>
    <cbc:LineExtensionAmount currencyID="NOK">1250.00</cbc:LineExtensionAmount>
    <cbc:TaxExclusiveAmount currencyID="NOK">1250.00</cbc:TaxExclusiveAmount>
    <cbc:TaxInclusiveAmount currencyID="NOK">1562.50</cbc:TaxInclusiveAmount>
    <cbc:PayableAmount currencyID="NOK">{payable}</cbc:PayableAmount>
  </cac:LegalMonetaryTotal>
  <cac:InvoiceLine>
    <cbc:ID>1</cbc:ID>
    <cbc:InvoicedQuantity unitCode="EA">1</cbc:InvoicedQuantity>
    <cbc:LineExtensionAmount currencyID="NOK">{line_amount}</cbc:LineExtensionAmount>
    <cac:Item><cbc:Name>Abonnement</cbc:Name>
      <cac:ClassifiedTaxCategory><cbc:ID>S</cbc:ID><cbc:Percent>25</cbc:Percent><cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:ClassifiedTaxCategory>
    </cac:Item>
    <cac:Price><cbc:PriceAmount currencyID="NOK">1000.00</cbc:PriceAmount></cac:Price>
  </cac:InvoiceLine>{line2}
</Invoice>""".encode()


def _org(app, issuer_id: int) -> str:
    with app.app_context():
        return db.session.get(Issuer, issuer_id).org_number


def _post(client, a, body: bytes, **headers):
    return client.post("/api/v1/invoices/ehf", headers=a.headers(**headers), data=body,
                       content_type="application/xml")


def test_valid_ehf_becomes_a_draft_with_a_new_buyer_and_the_xml_kept(app, client):
    """A valid document makes a draft with its number, KID, lines and totals, a new company contact, and keeps the XML."""
    a = api_issuer(app)
    body = ehf(_org(app, a.issuer_id))
    resp = _post(client, a, body)
    assert resp.status_code == 201, resp.json
    inv = resp.json
    assert inv["number"] == "INV-1001" and inv["kid"] == KID and inv["total_ore"] == 156250
    assert [ln["description"] for ln in inv["lines"]] == ["Abonnement", "Timer"]
    with app.app_context():
        contact = db.session.get(Contact, inv["contact_id"])
        assert contact.customer_number == "K-777" and contact.org_number == "974760673"
        assert db.session.scalar(select(InvoiceSource.document).where(InvoiceSource.invoice_id == inv["id"])) == body.decode()


def test_known_buyer_is_found_by_customer_number(app, client):
    """A buyer whose PartyIdentification is an existing customer number gets the invoice; no new contact."""
    a = api_issuer(app)
    with app.app_context():
        number = db.session.get(Contact, a.contact_id).customer_number
    resp = _post(client, a, ehf(_org(app, a.issuer_id), buyer_id=number))
    assert resp.status_code == 201 and resp.json["contact_id"] == a.contact_id


def test_malformed_xml_is_refused_with_line(app, client):
    """Broken XML is a 422 problem that says it is not valid XML; nothing is saved."""
    a = api_issuer(app)
    resp = _post(client, a, b"<Invoice><cbc:ID>1</Invoice>", **{"Accept-Language": "en"})
    assert resp.status_code == 422 and resp.content_type == "application/problem+json"
    assert "not valid XML" in resp.json["errors"][0]["detail"]


def test_entity_expansion_is_refused(app, client):
    """A billion-laughs document is refused before any expansion, and nothing is saved."""
    a = api_issuer(app)
    bomb = ('<!DOCTYPE Invoice [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
            '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>')
    resp = _post(client, a, ehf(_org(app, a.issuer_id), doctype=bomb, buyer_name="&c;"))
    assert resp.status_code == 422 and "DOCTYPE" in resp.json["errors"][0]["detail"]
    external = '<!DOCTYPE Invoice [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    resp = _post(client, a, ehf(_org(app, a.issuer_id), doctype=external, buyer_name="&x;"))
    assert resp.status_code == 422
    with app.app_context():
        assert db.session.scalar(select(Invoice)) is None


def test_inconsistent_totals_and_bad_kid_are_reported_with_paths(app, client):
    """A wrong line amount, a wrong payable amount and an invalid KID are each reported at their element."""
    a = api_issuer(app)
    resp = _post(client, a, ehf(_org(app, a.issuer_id), line_amount="900.00", payable="1500.00", kid="12345678"))
    assert resp.status_code == 422
    paths = {e["field"] for e in resp.json["errors"]}
    assert "/Invoice/cac:InvoiceLine[1]/cbc:LineExtensionAmount" in paths
    assert "/Invoice/cac:LegalMonetaryTotal/cbc:PayableAmount" in paths
    assert "/Invoice/cac:PaymentMeans/cbc:PaymentID" in paths
    with app.app_context():
        assert db.session.scalar(select(Invoice)) is None


def test_seller_must_be_the_issuer_and_parties_are_required(app, client):
    """Another seller's organisation number is refused; a missing buyer is named by path."""
    a = api_issuer(app)
    other = "923609016" if _org(app, a.issuer_id) != "923609016" else "974760673"
    resp = _post(client, a, ehf(other))
    assert any(e["field"].endswith("cac:PartyLegalEntity/cbc:CompanyID") for e in resp.json["errors"])
    body = ehf(_org(app, a.issuer_id)).replace(b"<cac:AccountingCustomerParty>", b"<!--").replace(
        b"</cac:AccountingCustomerParty>", b"-->")
    resp = _post(client, a, body)
    assert resp.status_code == 422
    assert "/Invoice/cac:AccountingCustomerParty/cac:Party" in {e["field"] for e in resp.json["errors"]}


def test_not_xml_content_type_is_415(app, client):
    """Sending JSON to the EHF address is a 415 problem."""
    a = api_issuer(app)
    assert client.post("/api/v1/invoices/ehf", headers=a.headers(), json={}).status_code == 415
