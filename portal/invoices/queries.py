"""Read-side queries for the issuer's pages: dashboard counts, Sent documents."""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.agreements.models import EFakturaAgreement
from portal.agreements.states import AgreementState
from portal.contacts.models import Contact
from portal.invoices.models import Invoice


def invoice_counts(sess: Session, issuer_id: int) -> dict[str, int]:
    rows = sess.execute(select(Invoice.state, func.count()).where(Invoice.issuer_id == issuer_id)
                        .group_by(Invoice.state)).all()
    counts = {state.value: n for state, n in rows}
    counts["contacts"] = sess.scalar(select(func.count()).select_from(Contact)
                                     .where(Contact.issuer_id == issuer_id)) or 0
    counts["agreements_active"] = sess.scalar(
        select(func.count()).select_from(EFakturaAgreement).where(
            EFakturaAgreement.issuer_id == issuer_id,
            EFakturaAgreement.state == AgreementState.ACTIVE)) or 0
    return counts
