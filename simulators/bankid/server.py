"""The simulated provider's OpenID Connect machinery, built from Authlib's server parts.

* authorization code grant only, with client authentication ``client_secret_basic`` or
  ``client_secret_post``;
* PKCE with ``S256`` required for every client, ``plain`` refused;
* ``nonce`` required, and a nonce seen before is refused;
* codes live ``BANKID_CODE_LIFETIME`` seconds (60) and work once;
* the ``iss`` parameter on every redirect back to the client (RFC 9207);
* ID tokens signed RS256 with the newest key, ``kid`` = the key's RFC 7638 thumbprint.
"""
from __future__ import annotations

import hmac
import secrets
import uuid
from hashlib import sha256
from typing import TYPE_CHECKING

from authlib.integrations.flask_oauth2 import AuthorizationServer, ResourceProtector
from authlib.oauth2.rfc6749 import ClientMixin, OAuth2Request, grants
from authlib.oauth2.rfc6749.errors import InvalidRequestError
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from authlib.oauth2.rfc6749.util import list_to_scope, scope_to_list
from authlib.oauth2.rfc6750 import BearerTokenValidator
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc9207 import IssuerParameter
from authlib.oidc.core import OpenIDCode, UserInfoEndpoint
from authlib.oidc.rpinitiated import EndSessionEndpoint
from flask import session as browser_session

from simulators.bankid.keys import SIGNING_ALG
from simulators.bankid.store import AccessToken, Authentication, AuthorizationCode, now

if TYPE_CHECKING:
    from simulators.bankid.provider import Provider

NNIN_SCOPE = "nnin_altsub"
NNIN_CLAIM = "nnin_altsub"
ACR_HIGH = "urn:bankid:bid;LOA=4"
ACR_SUBSTANTIAL = "urn:bankid:bis;LOA=3"
AMR = {
    ACR_HIGH: ["BID", "otp", "pwd", "mfa"],
    ACR_SUBSTANTIAL: ["BIS", "swk", "fpt", "mfa"],
}
SUPPORTED_SCOPES = ["openid", "profile", NNIN_SCOPE]
AUTH_METHODS = ["client_secret_basic", "client_secret_post"]


def subject_for(national_id: str, secret: str) -> str:
    """A stable per-person identifier that does not reveal the number: a UUID made from an
    HMAC of the number with the provider's secret."""
    digest = hmac.new(secret.encode(), national_id.encode(), sha256).digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))


class Client(ClientMixin):
    """A registered relying party."""

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        redirect_uris: list[str],
        scopes: list[str],
        post_logout_redirect_uris: list[str] | None = None,
        display_name: str | None = None,
    ):
        self.client_id = client_id
        # What the person logging in is told they log in to (as the real BankID shows the merchant name).
        self.display_name = display_name or client_id
        self.client_secret = client_secret
        self.redirect_uris = list(redirect_uris)
        self.scopes = [s for s in scopes if s in SUPPORTED_SCOPES]
        self.client_metadata = {"post_logout_redirect_uris": list(post_logout_redirect_uris or [])}

    def __repr__(self) -> str:
        return f"Client({self.client_id!r})"

    def get_client_id(self):
        return self.client_id

    def get_default_redirect_uri(self):
        return None  # OpenID Connect requires redirect_uri in every request

    def get_allowed_scope(self, scope):
        requested = scope_to_list(scope) or []
        if "openid" not in requested:
            return None  # an OpenID Connect provider only: refused as invalid_scope
        allowed = []
        for item in requested:
            if item in self.scopes and item not in allowed:
                allowed.append(item)
        return list_to_scope(allowed)

    def check_redirect_uri(self, redirect_uri):
        return redirect_uri in self.redirect_uris  # exact string match

    def check_client_secret(self, client_secret):
        return secrets.compare_digest(self.client_secret.encode(), str(client_secret).encode())

    def check_endpoint_auth_method(self, method, endpoint):
        if endpoint == "token":
            return method in AUTH_METHODS
        return True

    def check_response_type(self, response_type):
        return response_type == "code"

    def check_grant_type(self, grant_type):
        return grant_type == "authorization_code"


class StoredRequest(dict):
    """An authorization request kept while the person logs in, replayed when they are done."""


class StoredOAuth2Request(OAuth2Request):
    def __init__(self, uri: str, params: dict[str, str]):
        super().__init__("GET", uri, headers={})
        self.payload = BasicOAuth2Payload(dict(params))

    @property
    def args(self):
        return self.payload.data

    @property
    def form(self):
        return {}


class BankIDAuthorizationServer(AuthorizationServer):
    def __init__(self, provider: Provider):
        super().__init__()
        self.provider = provider

    def create_oauth2_request(self, request):
        if isinstance(request, StoredRequest):
            return StoredOAuth2Request(self.provider.endpoint("authorize"), request)
        return super().create_oauth2_request(request)


class RequireS256(CodeChallenge):
    """PKCE for every client, S256 only."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ("S256",)
    DEFAULT_CODE_CHALLENGE_METHOD = "S256"

    def validate_code_challenge(self, grant, redirect_uri):
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError(
                "PKCE is required: send 'code_challenge' with 'code_challenge_method=S256'."
            )
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("Only 'code_challenge_method=S256' is accepted.")
        return super().validate_code_challenge(grant, redirect_uri)

    def validate_code_verifier(self, grant, result):
        if not grant.request.form.get("code_verifier"):
            raise InvalidRequestError("Missing 'code_verifier'.")
        return super().validate_code_verifier(grant, result)


class CodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS

    @property
    def provider(self) -> Provider:
        return self.server.provider

    def save_authorization_code(self, code, request):
        data = request.payload.data
        self.provider.store.save_code(
            AuthorizationCode(
                code=code,
                client_id=request.client.get_client_id(),
                redirect_uri=request.payload.redirect_uri,
                scope=request.scope,
                nonce=data.get("nonce"),
                code_challenge=data.get("code_challenge"),
                code_challenge_method=data.get("code_challenge_method"),
                auth=request.user,
                expires_at=now() + int(self.provider.cfg["BANKID_CODE_LIFETIME"]),
            )
        )

    def query_authorization_code(self, code, client):
        return self.provider.store.take_code(code, client.get_client_id())

    def delete_authorization_code(self, authorization_code):
        # take_code() already made the code unusable.
        pass

    def authenticate_user(self, authorization_code):
        return authorization_code.auth


class BankIDOpenIDCode(OpenIDCode):
    def __init__(self, provider: Provider):
        super().__init__(require_nonce=True)
        self.provider = provider

    def exists_nonce(self, nonce, request):
        return self.provider.store.nonce_seen(request.payload.client_id, nonce)

    def get_client_algorithm(self, client):
        return SIGNING_ALG

    def get_encode_header(self, client):
        return {"alg": SIGNING_ALG, "kid": self.provider.keys.current().kid}

    def resolve_client_private_key(self, client):
        # Every kept key; the kid in the header picks the one that signs.
        return self.provider.keys.private_key_set()

    def get_client_claims(self, client):
        return {
            "iss": self.provider.issuer,
            "aud": client.get_client_id(),
            "exp": int(now()) + int(self.provider.cfg["BANKID_ID_TOKEN_LIFETIME"]),
            "iat": int(now()),
        }

    def get_authorization_code_claims(self, authorization_code):
        claims = super().get_authorization_code_claims(authorization_code)
        claims["sid"] = authorization_code.auth.sid
        return claims

    def generate_user_info(self, user, scope):
        return self.provider.user_claims(user, scope)


class BankIDUserInfo(UserInfoEndpoint):
    def __init__(self, provider: Provider, resource_protector):
        super().__init__(resource_protector=resource_protector)
        self.provider = provider

    def generate_user_info(self, user, scope):
        return self.provider.user_claims(user, scope)

    def get_issuer(self):
        return self.provider.issuer

    def get_supported_algorithms(self):
        return [SIGNING_ALG]

    def resolve_private_key(self):
        return self.provider.keys.private_key_set()


class BankIDEndSession(EndSessionEndpoint):
    def __init__(self, provider: Provider):
        super().__init__()
        self.provider = provider

    def get_server_jwks(self):
        return self.provider.keys.public_key_set()

    def get_algorithms(self):
        return [SIGNING_ALG]

    def end_session(self, end_session_request):
        claims = end_session_request.id_token_claims or {}
        self.provider.store.end_session(claims.get("sid"))
        self.provider.store.end_session(browser_session.pop("sid", None))


class BankIDIssuerParameter(IssuerParameter):
    def __init__(self, provider: Provider):
        self.provider = provider

    def get_issuer(self):
        return self.provider.issuer


class TokenValidator(BearerTokenValidator):
    def __init__(self, provider: Provider):
        super().__init__()
        self.provider = provider

    def authenticate_token(self, token_string):
        return self.provider.store.get_token(token_string)


def build_server(provider: Provider, app) -> BankIDAuthorizationServer:
    """Wire the grants, extensions and endpoints onto one authorization server."""
    server = BankIDAuthorizationServer(provider)

    def query_client(client_id):
        return provider.clients.get(client_id)

    def save_token(token, request):
        provider.store.save_token(
            AccessToken(
                access_token=token["access_token"],
                client=request.client,
                scope=token.get("scope", ""),
                auth=request.user,
                issued_at=now(),
                expires_in=int(token.get("expires_in", 0)),
            ),
            request.authorization_code,
        )

    app.config["OAUTH2_TOKEN_EXPIRES_IN"] = {
        "authorization_code": int(provider.cfg["BANKID_ACCESS_TOKEN_LIFETIME"])
    }
    app.config["OAUTH2_REFRESH_TOKEN_GENERATOR"] = False
    server.init_app(app, query_client=query_client, save_token=save_token)
    server.register_grant(CodeGrant, [RequireS256(required=True), BankIDOpenIDCode(provider)])
    issuer_parameter = BankIDIssuerParameter(provider)
    server.register_extension(issuer_parameter)
    server.issuer_parameter = issuer_parameter

    protector = ResourceProtector()
    protector.register_token_validator(TokenValidator(provider))
    server.register_endpoint(BankIDUserInfo(provider, protector))
    server.register_endpoint(BankIDEndSession(provider))
    return server


def authentication_for(provider: Provider, person, acr: str) -> Authentication:
    """A fresh provider session for a person who just proved who they are."""
    t = now()
    return Authentication(
        sid=secrets.token_urlsafe(24),
        person=person,
        sub=subject_for(person.national_id, provider.sub_secret),
        acr=acr,
        amr=list(AMR[acr]),
        auth_time=int(t),
        expires_at=t + int(provider.cfg["BANKID_SESSION_LIFETIME"]),
    )
