"""Journey: an issuer signs up, activates eFaktura B2C, has it approved, and sends an invoice."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser import steps

pytestmark = pytest.mark.browser


def test_issuer_activates_b2c_and_issues_an_invoice(system, open_page):
    """Sign-up, activation preview and confirmation, approval by e-mail link, a contact and a held invoice."""
    page = open_page()
    issuer = steps.active_issuer(page, system)
    contact = steps.add_contact(page, system)
    number = steps.issue_invoice(page, contact)
    expect(page.locator("#what-happened")).to_contain_text("Holdt tilbake")
    assert issuer.name
    assert number
