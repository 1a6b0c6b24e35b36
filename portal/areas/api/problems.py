"""Errors as RFC 9457 problem details (``application/problem+json``), in the reader's language."""
from __future__ import annotations

import json

from flask import Response
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

PROBLEM_TYPE = "application/problem+json"
TYPE_BASE = "/api/v1/docs#problem-"

TITLES = {
    400: _l("Ugyldig forespørsel"),
    401: _l("Mangler gyldig API-nøkkel"),
    403: _l("API-nøkkelen har ikke tilgang"),
    404: _l("Finnes ikke"),
    405: _l("Metoden er ikke tillatt"),
    409: _l("Konflikt"),
    413: _l("For stor forespørsel"),
    415: _l("Feil innholdstype"),
    422: _l("Kan ikke behandles"),
    429: _l("For mange forespørsler"),
    500: _l("Uventet feil"),
}

DETAILS = {
    400: _l("Forespørselen kunne ikke leses."),
    401: _l("Send en gyldig API-nøkkel som «Authorization: Bearer <nøkkel>». Nøkler lages under API på utstedersidene."),
    403: _l("API-nøkkelen mangler tilgangen denne operasjonen krever."),
    404: _l("Ressursen finnes ikke, eller tilhører en annen utsteder."),
    405: _l("Denne adressen støtter ikke metoden."),
    413: _l("Forespørselen er for stor."),
    429: _l("Grensen for antall forespørsler per minutt er nådd. Vent litt og prøv igjen."),
    500: _l("Noe gikk galt hos oss. Ingenting ble endret. Prøv igjen senere."),
}


class ApiProblem(Exception):
    """Raised anywhere in the API to answer with a problem document."""

    def __init__(self, status: int, slug: str = "", detail: str | None = None, *,
                 errors: list[dict] | None = None, title: str | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(detail or slug)
        self.status, self.slug, self.detail = status, slug, detail
        self.errors, self.title, self.headers = errors, title, headers or {}


def problem_response(status: int, slug: str = "", detail: str | None = None, *, errors: list[dict] | None = None,
                     title: str | None = None, headers: dict[str, str] | None = None) -> Response:
    body: dict = {
        "type": TYPE_BASE + slug if slug else "about:blank",
        "title": title or str(TITLES.get(status, TITLES[400 if status < 500 else 500])),
        "status": status,
        "detail": detail or str(DETAILS.get(status, TITLES.get(status, ""))),
    }
    if errors is not None:
        body["errors"] = errors
    resp = Response(json.dumps(body, ensure_ascii=False), status=status, mimetype=PROBLEM_TYPE)
    resp.headers["Content-Language"] = str(get_locale() or "nb")
    for key, value in (headers or {}).items():
        resp.headers[key] = value
    return resp


def from_exception(exc: ApiProblem) -> Response:
    return problem_response(exc.status, exc.slug, exc.detail, errors=exc.errors, title=exc.title,
                            headers=exc.headers)


def field_error(field: str, message: str) -> dict:
    pointer = "/" + "/".join(field.split(".")) if field else ""
    return {"field": field, "pointer": "#" + pointer, "detail": message}


def validation_problem(errors: dict[str, str] | list[dict], detail: str | None = None) -> ApiProblem:
    items = [field_error(k, v) for k, v in errors.items()] if isinstance(errors, dict) else errors
    return ApiProblem(422, "validation", detail or _("Noen felt må rettes. Ingenting ble lagret."),
                      errors=items, title=_("Ugyldige felt"))


# --- structural errors from the request models -------------------------------------------

def _message(err: dict) -> str:
    kind = err.get("type", "")
    ctx = err.get("ctx") or {}
    if kind == "missing":
        return _("Feltet mangler.")
    if kind in ("string_type", "string_unicode"):
        return _("Skal være tekst.")
    if kind.startswith("int_") or kind == "int_type":
        return _("Skal være et heltall.")
    if kind.startswith("bool_"):
        return _("Skal være true eller false.")
    if kind.startswith("date_") or kind.startswith("datetime_"):
        return _("Skriv datoen som åååå-mm-dd.")
    if kind.startswith("decimal_") or kind.startswith("float_"):
        return _("Skal være et tall.")
    if kind == "list_type":
        return _("Skal være en liste.")
    if kind == "too_short":
        return _("For få elementer; minst %(n)s.", n=ctx.get("min_length", 1))
    if kind == "too_long":
        return _("For mange elementer; høyst %(n)s.", n=ctx.get("max_length", 0))
    if kind == "string_too_long":
        return _("Høyst %(n)s tegn.", n=ctx.get("max_length", 0))
    if kind == "string_too_short":
        return _("Feltet kan ikke være tomt.")
    if kind in ("greater_than", "greater_than_equal"):
        return _("Verdien er for liten.")
    if kind in ("less_than", "less_than_equal"):
        return _("Verdien er for stor.")
    if kind == "literal_error":
        return _("Ugyldig verdi. Tillatt: %(values)s.", values=ctx.get("expected", ""))
    if kind == "extra_forbidden":
        return _("Ukjent felt.")
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return _("Skal være et JSON-objekt.")
    return _("Ugyldig verdi.")


def from_model_errors(errors: list[dict]) -> ApiProblem:
    items = []
    for err in errors:
        loc = [str(p) for p in err.get("loc", ())]
        items.append(field_error(".".join(loc), _message(err)))
    return validation_problem(items)
