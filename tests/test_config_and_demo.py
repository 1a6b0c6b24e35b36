"""Settings fail with one clear line; demo data loads once."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from portal.core.config import ConfigError, load_config

ROOT = Path(__file__).resolve().parent.parent


def test_malformed_database_url_is_one_clear_error():
    """A malformed database URL raises ConfigError naming the setting."""
    with pytest.raises(ConfigError, match="PORTAL_DATABASE_URL"):
        load_config({"DATABASE_URL": "not a url::"})


def test_unsupported_database_is_refused():
    """Only SQLite and PostgreSQL are accepted."""
    with pytest.raises(ConfigError, match="sqlite or postgresql"):
        load_config({"DATABASE_URL": "mysql://root@localhost/x"})


def test_postgresql_url_uses_psycopg3():
    """A plain postgresql:// URL is served by psycopg 3."""
    cfg = load_config({"DATABASE_URL": "postgresql://postgres@127.0.0.1/x", "ENV": "testing"})
    assert cfg["DATABASE_URL"].startswith("postgresql+psycopg://")


def test_production_refuses_to_start_without_secret():
    """Production without a secret key is refused with a clear message."""
    with pytest.raises(ConfigError, match="PORTAL_SECRET_KEY must be set in production"):
        load_config({"ENV": "production", "SECRET_KEY": None, "DATABASE_URL": "sqlite://"})


def _flask(env_extra: dict, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")}
    env.update(env_extra)
    return subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *args], check=False, cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("env,expected", [
    ({"PORTAL_DATABASE_URL": "nonsense::"}, "PORTAL_DATABASE_URL is not a database URL"),
    ({"PORTAL_ENV": "production"}, "PORTAL_SECRET_KEY must be set in production"),
    ({"PORTAL_SMTP_PORT": "twenty-five"}, "PORTAL_SMTP_PORT has an invalid value"),
])
def test_bad_configuration_ends_with_one_line(tmp_path, env, expected):
    """Starting the app with bad settings prints one error line and no traceback."""
    proc = _flask({"PORTAL_INSTANCE_PATH": str(tmp_path), **env}, "routes")
    assert proc.returncode != 0
    assert expected in proc.stderr
    assert "Traceback" not in proc.stderr


def test_demo_data_loads_once(db_session):
    """Seeding twice creates the demo issuers once; the active one has a held invoice."""
    from portal.demo import load_demo
    from portal.invoices.models import Invoice
    from portal.invoices.states import InvoiceState
    from portal.issuers.models import Issuer

    assert load_demo() is True
    assert load_demo() is False
    assert db_session.scalar(select(func.count()).select_from(Issuer)) == 2
    held = db_session.scalar(select(func.count()).select_from(Invoice).where(Invoice.state == InvoiceState.HELD))
    assert held == 2
    issuers = {i.org_number: i for i in db_session.scalars(select(Issuer))}
    assert issuers["923609016"].is_active and not issuers["974760673"].is_active
