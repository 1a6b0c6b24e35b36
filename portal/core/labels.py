"""Words for states and actions, shared by every area's history and timeline."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l


def N_(text: str) -> str:
    """Mark a text for the catalogue without translating it now: it is stored as written
    (bokmål) and translated when shown, through the ``translated`` template filter."""
    return text


STATES = {
    "invoice": {
        "draft": _l("utkast"),
        "held": _l("holdt tilbake for samtykke"),
        "sending": _l("under sending"),
        "delivered": _l("levert"),
        "failed": _l("feilet"),
    },
    "agreement": {
        "requested": _l("samtykke etterspurt"),
        "active": _l("aktiv"),
        "declined": _l("avslått"),
        "expired": _l("utløpt uten svar"),
        "stopped": _l("stoppet av forbrukeren"),
        "terminated": _l("avsluttet ved aktivering"),
    },
    "issuer_agreement": {
        "pending": _l("venter på godkjenning"),
        "approved": _l("godkjent"),
        "withdrawn": _l("trukket tilbake"),
    },
    "outbox": {
        "pending": _l("venter"),
        "done": _l("utført"),
        "dead": _l("gitt opp"),
        "cancelled": _l("avbrutt"),
    },
}

ACTIONS = {
    "create": _l("Opprettet"),
    "issue": _l("Sendt ut"),
    "hold": _l("Holdt tilbake mens kunden blir spurt"),
    "release": _l("Sluppet videre"),
    "deliver": _l("Levert"),
    "fail": _l("Levering feilet"),
    "retry": _l("Prøvd på nytt"),
    "request": _l("Samtykke etterspurt"),
    "approve": _l("Godkjent"),
    "decline": _l("Avslått"),
    "expire": _l("Utløpt"),
    "stop": _l("Stoppet"),
    "terminate": _l("Avsluttet"),
    "import": _l("Overført fra tidligere ordning"),
    "withdraw": _l("Trukket tilbake"),
    "sent": _l("Sendt"),
    "update": _l("Endret"),
    "link_sent": _l("Lenke til godkjenning sendt"),
    "avtalegiro_stopped": _l("AvtaleGiro stoppet"),
    "third_party_terminated": _l("Tidligere eFaktura-avtaler avsluttet"),
    "support_resend_consent": _l("Samtykke sendt på nytt av kundestøtte"),
    "support_retry": _l("Utsending prøvd på nytt av kundestøtte"),
    "paid_in_nettbank": _l("Betalt i nettbanken"),
    "expired": _l("Utløpt"),
    "answered_by_other": _l("Besvart av en annen person – ingenting ble endret"),
}

REASONS = {
    "consent_approved": _l("forbrukeren godkjente eFaktura"),
    "consent_declined": _l("forbrukeren takket nei til eFaktura"),
    "consent_deadline": _l("fristen for samtykke gikk ut"),
    "agreement": _l("aktiv eFaktura-avtale"),
    "declined": _l("forbrukeren har takket nei eller stoppet avtalen"),
    "not_eligible": _l("kontakten kan ikke motta eFaktura"),
    "b2c_activation": _l("bedriften aktiverte eFaktura B2C"),
}

SUBJECTS = {
    "invoice": _l("Faktura"),
    "agreement": _l("eFaktura-avtale"),
    "issuer_agreement": _l("Utstederavtale"),
    "consent_request": _l("Samtykkeforespørsel"),
    "contact": _l("Kontakt"),
    "issuer": _l("Bedrift"),
    "outbox": _l("Utsending"),
    "nettbank_document": _l("Nettbankdokument"),
    "contact_import": _l("Import av kontakter"),
}

CHANNELS = {"nettbank": _l("nettbank"), "email": _l("e-post"), "post": _l("post"),
            "sms": _l("SMS"), "portal": _l("portalen")}

ACTORS = {"system": _l("systemet"), "issuer_user": _l("bedriften"), "support": _l("kundestøtte"),
          "consumer": _l("forbrukeren"), "approver": _l("godkjenneren")}


def state_label(subject_type: str, value: str | None) -> str:
    if value is None:
        return "–"
    return str(STATES.get(subject_type, {}).get(value, value))


def action_label(action: str) -> str:
    return str(ACTIONS.get(action, action.replace("_", " ")))


def subject_label(ev) -> str:
    return f"{SUBJECTS.get(ev.subject_type, ev.subject_type)} #{ev.subject_id}"


def channel_label(channel: str | None) -> str:
    return str(CHANNELS.get(channel, channel or "–"))


def actor_label(ev) -> str:
    kind = str(ACTORS.get(ev.actor_type, ev.actor_type))
    return f"{kind} ({ev.actor_label})" if ev.actor_label and ev.actor_label != ev.actor_type else kind


def event_summary(ev) -> str:
    """One line: what happened, and the change of state when there was one."""
    text = action_label(ev.action)
    data = ev.data or {}
    channel = data.get("channel")
    if channel:
        text += f" – {CHANNELS.get(channel, channel)}"
    why = data.get("reason") or data.get("route")
    if why in REASONS:
        text += f" – {REASONS[why]}"
    if ev.from_state or ev.to_state:
        text += f" ({state_label(ev.subject_type, ev.from_state)} → {state_label(ev.subject_type, ev.to_state)})"
    return text
