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
    "credit": _l("Kreditert med kreditnota"),
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
    "delete": _l("Slettet"),
    "link_sent": _l("Lenke til godkjenning sendt"),
    "avtalegiro_stopped": _l("AvtaleGiro stoppet"),
    "third_party_terminated": _l("Tidligere eFaktura-avtaler avsluttet"),
    "support_resend_consent": _l("Samtykke sendt på nytt av kundestøtte"),
    "support_retry": _l("Utsending prøvd på nytt av kundestøtte"),
    "paid_in_nettbank": _l("Betalt i nettbanken"),
    "expired": _l("Utløpt"),
    "answered_by_other": _l("Besvart av en annen person – ingenting ble endret"),
    "reroute": _l("Sendt en annen vei"),
    "general_consent_given": _l("Sa ja til eFaktura fra alle i nettbanken"),
    "general_consent_withdrawn": _l("Trakk tilbake ja til eFaktura fra alle"),
    "issuer_blocked": _l("Sperret eFaktura fra en bedrift"),
    "issuer_unblocked": _l("Opphevet sperre for en bedrift"),
    "profile_mobile_added": _l("La til mobilnummer i nettbankprofilen"),
    "profile_mobile_removed": _l("Fjernet mobilnummer fra nettbankprofilen"),
    "profile_email_added": _l("La til e-postadresse i nettbankprofilen"),
    "profile_email_removed": _l("Fjernet e-postadresse fra nettbankprofilen"),
    "lookup": _l("Mottakeroppslag"),
    "reachability_check": _l("Sjekket om kunden kan få eFaktura"),
    "consent_on": _l("Ja til eFaktura fra alle"),
    "consent_off": _l("Trakk tilbake ja til alle"),
    "block": _l("Sperret bedrift"),
    "unblock": _l("Opphevet sperre"),
    "add_mobile": _l("La til mobilnummer"),
    "remove_mobile": _l("Fjernet mobilnummer"),
    "add_email": _l("La til e-postadresse"),
    "remove_email": _l("Fjernet e-postadresse"),
}

REASONS = {
    "consent_approved": _l("forbrukeren godkjente eFaktura"),
    "credit_note": _l("kreditnota, samme vei som fakturaen den krediterer"),
    "consent_declined": _l("forbrukeren takket nei til eFaktura"),
    "consent_deadline": _l("fristen for samtykke gikk ut"),
    "agreement": _l("aktiv eFaktura-avtale"),
    "declined": _l("forbrukeren har takket nei eller stoppet avtalen"),
    "not_eligible": _l("kontakten kan ikke motta eFaktura"),
    "b2c_activation": _l("bedriften aktiverte eFaktura B2C"),
    "general_consent": _l("kunden har sagt ja til eFaktura fra alle i nettbanken"),
    "not_receiving": _l("kunden mottar ikke eFaktura fra denne bedriften"),
    "consent_request": _l("kunden blir spurt om samtykke"),
    "no_consent": _l("kunden har ikke samtykket til eFaktura"),
    "general_consent_given": _l("kunden sa ja til eFaktura fra alle i nettbanken"),
    "general_consent_withdrawn": _l("kunden trakk tilbake ja til eFaktura fra alle"),
    "issuer_blocked": _l("kunden mottar ikke eFaktura fra denne bedriften"),
}

MATCHES = {
    "verified_identity": _l("funnet ved BankID-bekreftet identitet"),
    "name_mobile": _l("funnet ved navn og mobilnummer"),
    "name_email": _l("funnet ved navn og e-postadresse"),
}

# The recipient look-up (portal.agreements.reachability): route and reason in plain words.
# For the issuer a block is only "does not receive eFaktura from you" (reason not_receiving).
ROUTES = {
    "agreement": _l("eFaktura-avtale med bedriften"),
    "general_consent": _l("generelt samtykke i nettbanken"),
    "none": _l("ingen eFaktura"),
}

LOOKUP_REASONS = {
    "agreement": _l("Kunden har en aktiv eFaktura-avtale med bedriften."),
    "verified_identity": _l("Kunden har sagt ja til eFaktura fra alle i nettbanken, og er funnet ved "
                            "BankID-bekreftet identitet."),
    "name_mobile": _l("Kunden har sagt ja til eFaktura fra alle i nettbanken, og er funnet ved navn og "
                      "mobilnummer."),
    "name_email": _l("Kunden har sagt ja til eFaktura fra alle i nettbanken, og er funnet ved navn og "
                     "e-postadresse."),
    "not_eligible": _l("Kontakten kan ikke få eFaktura slik den er registrert."),
    "declined": _l("Kunden har takket nei til eller stoppet eFaktura fra bedriften."),
    "not_receiving": _l("Kunden mottar ikke eFaktura fra dere. Fakturaer går på e-post eller i posten, "
                        "og kunden blir ikke spurt om samtykke."),
    "blocked": _l("Personen har sperret eFaktura fra denne bedriften i nettbanken."),
    "ambiguous": _l("Flere personer passer med navnet og mobilnummeret eller e-postadressen, så vi gjetter "
                    "ikke. Kunden blir spurt om samtykke med SMS og e-post i stedet."),
    "no_match": _l("Vi fant ikke noe generelt samtykke for kunden. Kunden blir spurt om samtykke ved neste "
                   "faktura."),
    "consent_off": _l("Vi fant ikke noe generelt samtykke for kunden. Kunden blir spurt om samtykke ved neste "
                      "faktura."),
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
    "consumer": _l("Forbruker"),
}

CHANNELS = {"nettbank": _l("nettbank"), "email": _l("e-post"), "post": _l("post"),
            "sms": _l("SMS"), "portal": _l("portalen")}

ACTORS = {"system": _l("systemet"), "issuer_user": _l("bedriften"), "support": _l("kundestøtte"),
          "consumer": _l("forbrukeren"), "approver": _l("godkjenneren")}


def bankid_level(acr: str | None) -> str:
    """"BankID" and the security level in words, never the raw acr (urn:bankid:bid;LOA=4)."""
    level = (acr or "").rsplit("LOA=", 1)[-1] if acr and "LOA=" in acr else ""
    if level == "4":
        return str(_l("BankID, høyt sikkerhetsnivå (nivå 4)"))
    if level == "3":
        return str(_l("BankID, betydelig sikkerhetsnivå (nivå 3)"))
    return str(_l("BankID"))


def route_label(route: str | None) -> str:
    return str(ROUTES.get(route or "none", route or "–"))


def lookup_reason(reason: str | None) -> str:
    return str(LOOKUP_REASONS.get(reason or "", reason or "–"))


def invoice_route(route: str | None) -> str:
    """How an invoice reached (or did not reach) the nettbank, in words."""
    if not route:
        return "–"
    if route == "agreement":
        return str(_l("eFaktura-avtale med bedriften"))
    if route == "general_consent":
        return str(_l("generelt samtykke i nettbanken"))
    return str(REASONS.get(route, route))


def match_label(match: str | None) -> str:
    return str(MATCHES.get(match or "", ""))


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
    """One line: what happened, in words (the states are not repeated: the action says it)."""
    data = ev.data or {}
    if ev.action == "deliver" and data.get("channel") == "post":
        return str(_l("Lagt i utskriftskø for post"))
    text = action_label(ev.action)
    if data.get("issuer_name"):
        text += f" – {data['issuer_name']}"
    if data.get("value"):
        text += f" – {data['value']}"
    if ev.action in ("lookup", "reachability_check"):
        return f"{text}: {route_label(data.get('route'))}. {lookup_reason(data.get('reason'))}"
    channel = data.get("channel")
    if channel:
        text += f" – {CHANNELS.get(channel, channel)}"
    why = data.get("reason") or data.get("route")
    if why in REASONS:
        text += f" – {REASONS[why]}"
    if data.get("match") in MATCHES:
        text += f" ({MATCHES[data['match']]})"
    return text
