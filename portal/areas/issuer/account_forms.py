"""Forms of the issuer area: log-in, sign-up, B2C activation."""
from __future__ import annotations

from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, EmailField, HiddenField, PasswordField, StringField
from wtforms.validators import AnyOf, DataRequired, EqualTo, Length, ValidationError

from portal.core.auth import MIN_PASSWORD_LENGTH, PasswordRefused, check_new_password
from portal.core.forms import PortalForm
from portal.core.identifiers import InvalidIdentifier, validate_account_number, validate_org_number


def check_email(_form, field) -> None:
    """A real e-mail address (syntax only; no DNS look-up)."""
    try:
        field.data = validate_email((field.data or "").strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        raise ValidationError(_l("Skriv en gyldig e-postadresse, for eksempel navn@firma.no.")) from None


def _identifier(validate):
    def check(_form, field) -> None:
        try:
            field.data = validate(field.data or "")
        except InvalidIdentifier as exc:
            raise ValidationError(str(exc.message)) from None

    return check


def _optional_identifier(validate):
    inner = _identifier(validate)

    def check(form, field) -> None:
        if (field.data or "").strip():
            inner(form, field)
        else:
            field.data = ""

    return check


class LoginForm(PortalForm):
    email = EmailField(_l("E-post"), validators=[DataRequired(_l("Skriv e-postadressen din."))])
    password = PasswordField(_l("Passord"), validators=[DataRequired(_l("Skriv passordet ditt."))])
    next = HiddenField()


class SignupForm(PortalForm):
    """The company is known by its organisation number only: name and address come from the
    business register."""

    org_number = StringField(_l("Organisasjonsnummer"),
                             description=_l("Ni sifre, for eksempel 923 609 016. Navn og adresse henter vi fra "
                                            "Enhetsregisteret."),
                             validators=[_identifier(validate_org_number)])
    account_number = StringField(_l("Kontonummer for innbetalinger (valgfritt)"),
                                 description=_l("11 sifre, for eksempel 1234.56.78903. Brukes som standard på fakturaene."),
                                 validators=[_optional_identifier(validate_account_number)])
    admin_name = StringField(_l("Ditt navn"), validators=[DataRequired(_l("Skriv navnet ditt.")), Length(max=200)])
    email = EmailField(_l("Din e-post"), validators=[DataRequired(_l("Skriv e-postadressen din.")), check_email])
    password = PasswordField(_l("Passord"), description=_l("Minst %(num)s tegn.", num=MIN_PASSWORD_LENGTH),
                             validators=[DataRequired(_l("Velg et passord.")), Length(max=500)])
    confirm = PasswordField(_l("Gjenta passordet"), validators=[
        DataRequired(_l("Skriv passordet en gang til.")),
        EqualTo("password", message=_l("Passordene er ikke like."))])

    def validate_password(self, field) -> None:
        try:
            check_new_password(field.data or "", email=self.email.data)
        except PasswordRefused as exc:
            raise ValidationError(str(exc.message)) from None


class ForgotPasswordForm(PortalForm):
    """Asks only for the e-mail address the link goes to."""

    email = EmailField(_l("E-post"), validators=[DataRequired(_l("Skriv e-postadressen du logger inn med.")),
                                                 Length(max=254), check_email])


class ApproverForm(PortalForm):
    """Step one of activation: who approves the issuer agreement."""

    approver_name = StringField(_l("Navn på den som godkjenner utstederavtalen"), validators=[
        DataRequired(_l("Skriv navnet på den som skal godkjenne.")), Length(max=200)])
    approver_email = EmailField(_l("E-post til den som godkjenner"), validators=[
        DataRequired(_l("Skriv e-postadressen til den som skal godkjenne.")), check_email])


class ConfirmActivationForm(ApproverForm):
    """Step two: the explicit confirmation after the preview."""

    stop_avtalegiro = BooleanField(_l("Ja, stopp AvtaleGiro for bedriften når utstederavtalen er godkjent"))
    confirm = BooleanField(_l("Jeg har lest hva aktiveringen betyr for bedriften, og vil sende utstederavtalen til godkjenning"),
                           validators=[DataRequired(_l("Kryss av for at du har lest hva aktiveringen betyr."))])

    def __init__(self, *args, uses_avtalegiro: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.uses_avtalegiro = uses_avtalegiro

    def validate_stop_avtalegiro(self, field) -> None:
        if self.uses_avtalegiro and not field.data:
            raise ValidationError(_l(
                "eFaktura B2C kan ikke brukes sammen med AvtaleGiro. Kryss av for å stoppe AvtaleGiro, "
                "eller la være å aktivere."))


class ApproverAnswerForm(PortalForm):
    """The approver's answer: two buttons named ``decision``, and the digest of the text shown."""

    digest = HiddenField(validators=[DataRequired()])
    decision = StringField(validators=[AnyOf(["approve", "decline"])])


class ActionForm(PortalForm):
    """A button that only needs CSRF protection."""


class CompanySettingsForm(PortalForm):
    """The company's own settings: postal address on its invoices, account number for payments."""

    address_line = StringField(_l("Adresse"), validators=[Length(max=200)])
    postal_code = StringField(_l("Postnummer"), validators=[Length(max=10)])
    city = StringField(_l("Poststed"), validators=[Length(max=100)])
    account_number = StringField(_l("Kontonummer for innbetalinger"),
                                 validators=[_identifier(validate_account_number)],
                                 description=_l("11 sifre, for eksempel 1234.56.78903. Foreslås på nye fakturaer."))
    digest_opt_in = BooleanField(_l("Send oss en daglig e-post når kunder takker nei til eller stopper eFaktura"),
                                 description=_l("Går til alle brukerne i bedriften, bare på dager med slike svar."))

    def validate_postal_code(self, field) -> None:
        field.data = (field.data or "").strip()
        if field.data and not (field.data.isdigit() and len(field.data) == 4):
            raise ValidationError(_l("Postnummeret skal ha fire sifre, for eksempel 0155."))
