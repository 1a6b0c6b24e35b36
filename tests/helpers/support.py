"""Support staff in tests: log-in."""
from __future__ import annotations

from tests.factories import PASSWORD

LOGIN = "/kundestotte/logg-inn"


def login(client, post_form, email="stotte@example.no", password=PASSWORD, next_=None):
    url = LOGIN + (f"?next={next_}" if next_ else "")
    for _ in range(2):  # an idle session is ended by the first request
        page = client.get(url)
        if page.status_code == 200:
            break
    else:
        return page  # still logged in
    return post_form(url, {"email": email, "password": password})
