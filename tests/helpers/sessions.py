"""Logged-in test clients without the log-in form: a real server-side session is opened."""
from __future__ import annotations

from flask.testing import FlaskClient

from portal.core import db, sessions


def open_session(app, client, realm: str, account_id: int, password_hash: str | None = None) -> None:
    """Put a live log-in of ``realm``/``account_id`` into ``client``'s cookie."""
    with app.app_context():
        sid = sessions.issue(db.session, realm, account_id, password_hash)
        db.session.commit()
    with client.session_transaction() as sess:
        if realm == "consumer":
            sess["consumer_id"] = account_id
        else:
            sess["_user_id"] = f"{realm}:{account_id}"
            sess["_fresh"] = True
        sess["sid"] = sid


class StaffLoginClient(FlaskClient):
    """``app.test_client(user=user)`` logs ``user`` (issuer or support staff) in."""

    def __init__(self, *args, **kwargs):
        user = kwargs.pop("user", None)
        super().__init__(*args, **kwargs)
        if user is not None:
            realm = user.get_id().partition(":")[0]
            open_session(self.application, self, realm, user.id, user.password_hash)
