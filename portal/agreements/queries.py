"""Read-side queries over eFaktura agreements for the issuer's pages."""
from __future__ import annotations

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from portal.agreements.models import EFakturaAgreement
from portal.agreements.states import AgreementState
from portal.contacts.models import Contact
from portal.core import pagination


def consumer_register(sess: Session, issuer_id: int, state: str | None, *, cursor: str | None,
                      size: int) -> pagination.Page:
    """The issuer's contacts by name, each with its eFaktura agreement (or None); ``state`` is an
    agreement state's value, or "none" for contacts never asked."""
    stmt = (select(Contact, EFakturaAgreement)
            .outerjoin(EFakturaAgreement, and_(EFakturaAgreement.issuer_id == issuer_id,
                                               EFakturaAgreement.contact_id == Contact.id))
            .where(Contact.issuer_id == issuer_id))
    if state == "none":
        stmt = stmt.where(EFakturaAgreement.id.is_(None))
    elif state:
        stmt = stmt.where(EFakturaAgreement.state == AgreementState(state))
    return pagination.ascending_by(sess, stmt, Contact, Contact.name, cursor=cursor, size=size, scalars=False)
