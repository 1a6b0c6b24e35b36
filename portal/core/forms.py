"""The base of every form: CSRF (Flask-WTF) and clean single-line text.

Each ``StringField`` (and every field built on it: e-mail, password, search box…) of a
:class:`PortalForm`, including those of nested forms and field lists, refuses control characters
(:mod:`portal.core.text`); a ``TextAreaField`` keeps line breaks but refuses the rest. Forms in
``portal/areas`` derive from ``PortalForm`` (tests/test_clean_input.py checks that)."""
from __future__ import annotations

from functools import cache

from babel.support import Translations
from flask import current_app, has_request_context
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import Field, FieldList, FormField, PasswordField, StringField, TextAreaField
from wtforms.i18n import messages_path
from wtforms.validators import DataRequired, EqualTo, Length, ValidationError

from portal.core.auth import MIN_PASSWORD_LENGTH, PasswordRefused, check_new_password
from portal.core.text import MSG_CONTROL, has_control


class NoControlCharacters:
    """A WTForms validator: no control characters (line breaks allowed with ``multiline``)."""

    field_flags = {}

    def __init__(self, multiline: bool = False):
        self.multiline = multiline

    def __call__(self, form, field) -> None:
        values = field.data if isinstance(field.data, list) else [field.data]
        if any(has_control(v, multiline=self.multiline) for v in values):
            raise ValidationError(str(MSG_CONTROL))


def _guard(field: Field) -> None:
    if isinstance(field, FormField):
        for sub in field.form:
            _guard(sub)
    elif isinstance(field, FieldList):
        for entry in field.entries:
            _guard(entry)
    elif isinstance(field, StringField):
        check = NoControlCharacters(multiline=isinstance(field, TextAreaField))
        # A new list per form instance: the declared validators are shared by all instances.
        field.validators = [check, *field.validators]


@cache
def _wtforms_catalogue(locale: str) -> Translations:
    """WTForms' own messages ("Not a valid choice" and the like) for one locale, read from disk
    once per process (Flask-WTF reads them again for every request). Nynorsk falls back to
    bokmål, anything else to English."""
    chain = [locale, "nb"] if locale == "nn" else [locale]
    return Translations.load(messages_path(), chain, domain="wtforms")


class PortalForm(FlaskForm):
    class Meta:
        def get_translations(self, form):
            if not has_request_context() or not current_app.config.get("WTF_I18N_ENABLED", True):
                return None
            return _wtforms_catalogue(str(get_locale() or "nb"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self:
            _guard(field)


# --- staff passwords: the same fields and the same rule on every form that sets one ----------

def _new_password_field():
    return PasswordField(_l("Nytt passord"),
                         description=_l("Minst %(num)s tegn, og ikke e-postadressen din. Lange setninger er "
                                        "lette å huske og vanskelige å gjette.", num=MIN_PASSWORD_LENGTH),
                         validators=[DataRequired(_l("Velg et nytt passord.")),
                                     Length(max=500, message=_l("Passordet kan ha høyst 500 tegn."))])


def _confirm_field():
    return PasswordField(_l("Gjenta det nye passordet"), validators=[
        DataRequired(_l("Skriv det nye passordet en gang til.")),
        EqualTo("password", message=_l("Passordene er ikke like."))])


class NewPasswordForm(PortalForm):
    """A new staff password, twice, held to the one rule of :func:`portal.core.auth.check_new_password`
    (``email``: the account's address, which the password may not be)."""

    password = _new_password_field()
    confirm = _confirm_field()

    def __init__(self, *args, email: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.account_email = email

    def validate_password(self, field) -> None:
        try:
            check_new_password(field.data or "", email=self.account_email)
        except PasswordRefused as exc:
            raise ValidationError(str(exc.message)) from None


class ChangePasswordForm(NewPasswordForm):
    """The logged-in user's change: the current password first. Whether the new one equals the
    current one is decided only after the current one is confirmed (the form would otherwise
    tell a stranger at an open session whether a guess is the password)."""

    current_password = PasswordField(_l("Nåværende passord"), validators=[
        DataRequired(_l("Skriv passordet du logger inn med i dag.")), Length(max=500)])
    password = _new_password_field()
    confirm = _confirm_field()
