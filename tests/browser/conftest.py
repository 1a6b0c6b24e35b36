"""Browser journeys: the whole system runs as real processes and Chromium drives it.

The system is started the way ``make run`` starts it (the Procfile's three processes:
portal, simulated BankID, worker) on free loopback ports, with a fresh SQLite database
in a temporary directory. Chromium is Debian's (``/usr/bin/chromium``) driven through
Playwright's sync API. On a failed test the open pages are saved (screenshot and HTML)
with the processes' logs under ``test-artifacts/``.
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
FLASK = str(BIN / "flask")
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
ARTIFACTS = ROOT / "test-artifacts"
# Screenshots go to test-artifacts/screens on every run; with UPDATE_SCREENS=1 they replace the
# ones in docs/screens that the README shows (so a test run leaves the work tree clean).
SCREENS = ROOT / "docs" / "screens" if os.environ.get("UPDATE_SCREENS") == "1" else ROOT / "test-artifacts" / "screens"
SECRET_KEY = "browser-journeys-secret-key-0123456789"
CLIENT_SECRET = "browser-journeys-client-secret"
PHONE = {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True,
         "device_scale_factor": 1}
DESKTOP = {"viewport": {"width": 1280, "height": 800}}
A11Y_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
# Every checked page fits a phone and a desktop window: nothing wider than the window.
WIDTHS = ((360, 740), (1280, 800))


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class System:
    """One running system: portal, simulated BankID and register, worker, with their database."""

    name: str
    base_url: str
    bankid_url: str
    home: Path
    env: dict
    procs: dict = field(default_factory=dict)
    org_numbers: list = field(default_factory=list)  # active units in its simulated register

    def url(self, path: str) -> str:
        return self.base_url + path

    @property
    def database_url(self) -> str:
        return self.env["PORTAL_DATABASE_URL"]

    def scalar(self, sql: str, **params):
        """One value from the system's database (to prove that nothing was saved)."""
        from sqlalchemy import create_engine, text

        eng = create_engine(self.database_url)
        try:
            with eng.connect() as conn:
                return conn.execute(text(sql), params).scalar()
        finally:
            eng.dispose()

    def flask(self, *args: str) -> str:
        """Run a ``flask --app wsgi`` command against this system; returns its output."""
        done = subprocess.run([FLASK, "--app", "wsgi", *args], check=False, cwd=ROOT, env=self.env,
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, f"flask {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
        return done.stdout

    def logs(self) -> dict[str, Path]:
        return {name: self.home / f"{name}.log" for name in self.procs}

    def check_alive(self) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                tail = (self.home / f"{name}.log").read_text(errors="replace")[-3000:]
                raise AssertionError(f"the {name} process of {self.name} has stopped "
                                     f"(exit {proc.returncode}):\n{tail}")


try:  # loaded before any fork: the child only makes one libc call before exec
    import ctypes

    _LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None
except OSError:  # pragma: no cover
    _LIBC = None


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """The child gets SIGTERM when the test run ends abruptly, so no process is left behind."""
    if _LIBC is not None:
        _LIBC.prctl(1, 15)  # PR_SET_PDEATHSIG, SIGTERM


def _wait_until(check, what: str, proc: subprocess.Popen, log: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}:\n"
                               + log.read_text(errors="replace")[-3000:])
        try:
            if check():
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not answer within {timeout:.0f} s:\n"
                       + log.read_text(errors="replace")[-3000:])


@contextlib.contextmanager
def run_system(home: Path, name: str, *, deadline_seconds: int):
    """Start the three processes of the Procfile on free ports; stop them at the end."""
    home.mkdir(parents=True, exist_ok=True)
    web_port, bankid_port, register_port = _free_port(), _free_port(), _free_port()
    # Companies the journeys sign up: active units of the simulated register, signed by Kari Nordmann.
    from tests.browser.steps import new_org_number

    org_numbers = [new_org_number() for _ in range(40)]
    units_file = home / "register_units.json"
    units_file.write_text(json.dumps([
        {"org": org, "name": "Fjellstrøm Kraft AS", "street": "Fossveien 3", "postal_code": "5700", "city": "Voss",
         "roles": [{"code": "DAGL", "given": "Kari", "family": "Nordmann", "born": "1985-05-15"}]}
        for org in org_numbers]), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")}
    env.update({
        "PORTAL_ENV": "development",
        "PORTAL_DEV_TOOLS": "1",
        "PORTAL_INSTANCE_PATH": str(home),
        "PORTAL_DATABASE_URL": f"sqlite:///{home}/db.sqlite3",
        "PORTAL_BASE_URL": f"http://127.0.0.1:{web_port}",
        "PORTAL_BANKID_ISSUER": f"http://127.0.0.1:{bankid_port}",
        "PORTAL_REGISTER_URL": f"http://127.0.0.1:{register_port}/enhetsregisteret/api",
        "PORTAL_REGISTER_UNITS_FILE": str(units_file),
        "PORTAL_SECRET_KEY": SECRET_KEY,
        "PORTAL_BANKID_CLIENT_SECRET": CLIENT_SECRET,
        "PORTAL_CONSENT_DEADLINE_SECONDS": str(deadline_seconds),
        "PORTAL_WORKER_POLL_SECONDS": "0.2",
        "PORTAL_WORKER_BACKOFF_BASE_SECONDS": "1",
        "PYTHONUNBUFFERED": "1",
        "FLASK_DEBUG": "0",
        # Journeys follow each other faster than people do; the limits have tests of their own.
        **{f"PORTAL_RATE_LIMIT_{name}": "100000/minute" for name in
           ("CONSENT", "BANKID", "APPROVER", "SIGNUP", "STAFF_LOGIN", "SUPPORT_SEARCH")},
    })
    system = System(name=name, base_url=env["PORTAL_BASE_URL"], bankid_url=env["PORTAL_BANKID_ISSUER"],
                    home=home, env=env, org_numbers=org_numbers)
    commands = {
        "bankid": [FLASK, "--app", "simulators.bankid.provider:create_provider_app", "run", "--host",
                   "127.0.0.1", "--port", str(bankid_port), "--no-reload"],
        "register": [FLASK, "--app", "simulators.register.app:create_register_app", "run", "--host",
                     "127.0.0.1", "--port", str(register_port), "--no-reload"],
        "web": [FLASK, "--app", "wsgi", "run", "--host", "127.0.0.1", "--port", str(web_port),
                "--no-reload"],
        "worker": [FLASK, "--app", "wsgi", "worker"],
    }

    def start(proc_name: str) -> None:
        log = open(home / f"{proc_name}.log", "wb")  # noqa: SIM115 - the child keeps it open
        system.procs[proc_name] = subprocess.Popen(commands[proc_name], cwd=ROOT, env=env,
                                                   stdout=log, stderr=subprocess.STDOUT,
                                                   preexec_fn=_die_with_parent)  # noqa: PLW1509
        log.close()

    try:
        start("bankid")  # needs no database: starts while the schema is made
        start("register")
        upgrade = subprocess.run([FLASK, "--app", "wsgi", "db", "upgrade"], check=False, cwd=ROOT,
                                 env=env, capture_output=True, text=True, timeout=120)
        if upgrade.returncode != 0:
            raise RuntimeError(f"db upgrade failed:\n{upgrade.stdout}\n{upgrade.stderr}")
        start("web")
        start("worker")
        _wait_until(lambda: requests.get(system.url("/healthz"), timeout=2).ok,
                    "the portal", system.procs["web"], home / "web.log")
        _wait_until(
            lambda: requests.get(system.bankid_url + "/.well-known/openid-configuration",
                                 timeout=2).json().get("issuer") == system.bankid_url,
            "the simulated BankID", system.procs["bankid"], home / "bankid.log")
        _wait_until(lambda: b"running" in (home / "worker.log").read_bytes(),
                    "the worker", system.procs["worker"], home / "worker.log")
        yield system
    finally:
        for proc in system.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in system.procs.values():
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)


_SYSTEMS: list[System] = []


@pytest.fixture(scope="session")
def own_tmp():
    """A directory of this run only (pytest's shared base directory is pruned by other runs)."""
    with tempfile.TemporaryDirectory(prefix="efaktura-browser-") as path:
        yield Path(path)


@pytest.fixture(scope="session")
def system(chromium_path, own_tmp):
    """The running system (consent deadline three days, as in production)."""
    with run_system(own_tmp / "system", "system",
                    deadline_seconds=3 * 24 * 3600) as running:
        _SYSTEMS.append(running)
        yield running
        _SYSTEMS.remove(running)


FALLBACK_DEADLINE_SECONDS = 8


@pytest.fixture(scope="session")
def fallback_system(chromium_path, own_tmp):
    """A second running system whose three-day consent deadline is shortened to seconds."""
    with run_system(own_tmp / "fallback", "fallback-system",
                    deadline_seconds=FALLBACK_DEADLINE_SECONDS) as running:
        _SYSTEMS.append(running)
        yield running
        _SYSTEMS.remove(running)


# -- Chromium ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """Where Chromium is; the journeys are skipped without it, and fail on CI (``CI`` set)."""
    if not Path(CHROMIUM).exists():
        message = f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(message + "; CI must run the browser journeys", pytrace=False)
        pytest.skip(message)
    return CHROMIUM


@pytest.fixture(scope="session")
def chromium(chromium_path):
    """Debian's Chromium through Playwright's sync API."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def open_page(chromium, request):
    """``open_page(phone=False)``: a page in a fresh browser context (its own cookies)."""
    contexts = []
    request.node._browser_pages = []

    def make(phone: bool = False):
        context = chromium.new_context(locale="nb-NO", timezone_id="Europe/Oslo",
                                       **(PHONE if phone else DESKTOP))
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        request.node._browser_pages.append(page)
        pages = request.node._browser_pages

        def remember(new_page):  # popups, e.g. a PDF in a new tab (a plain method cannot be a handler)
            pages.append(new_page)

        context.on("page", remember)
        return page

    yield make
    for context in contexts:
        context.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call" and report.failed:
        _save_artifacts(item)
    return report


def _save_artifacts(item) -> None:
    stem = "browser-" + re.sub(r"[^A-Za-z0-9_.-]+", "_", item.nodeid.split("::")[-1])
    ARTIFACTS.mkdir(exist_ok=True)
    for n, page in enumerate(getattr(item, "_browser_pages", [])):
        if page.is_closed():
            continue
        try:
            page.screenshot(path=str(ARTIFACTS / f"{stem}-{n}.png"), full_page=True)
            (ARTIFACTS / f"{stem}-{n}.html").write_text(
                f"<!-- {page.url} -->\n" + page.content(), encoding="utf-8")
        except Exception as exc:  # noqa: BLE001 - saving evidence must not hide the failure
            (ARTIFACTS / f"{stem}-{n}.error.txt").write_text(repr(exc))
    for running in _SYSTEMS:
        for proc_name, log in running.logs().items():
            if log.exists():
                shutil.copyfile(log, ARTIFACTS / f"{stem}-{running.name}-{proc_name}.log")


# -- accessibility and screenshots -----------------------------------------------------------

_CHECKED: set[str] = set()


def _axe():
    from axe_playwright_python.sync_playwright import Axe

    return Axe()


_TOO_WIDE = """async () => {
  // after a resize, measure the layout of the new width (two frames: media queries applied)
  await new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)));
  const limit = window.innerWidth;
  const wide = [];
  for (const el of document.body.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (r.right > limit + 0.5 && r.width > 0) {
      wide.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
                (el.className && typeof el.className === 'string' ? '.' + el.className.trim().replace(/\\s+/g, '.') : '') +
                ' (' + Math.round(r.right) + ' px)');
    }
  }
  return {scroll: document.documentElement.scrollWidth, inner: window.innerWidth, wide: wide.slice(0, 8)};
}"""


def check_width(page, name: str) -> None:
    """Nothing on the page is wider than the window, at 360 px (a phone) and at 1280 px."""
    original = page.viewport_size
    problems = []
    try:
        for width, height in WIDTHS:
            page.set_viewport_size({"width": width, "height": height})
            found = page.evaluate(_TOO_WIDE)
            if found["scroll"] > found["inner"]:  # once more, a moment later: a page still settling
                page.wait_for_timeout(300)       # (a loaded machine) is not a page that is too wide
                found = page.evaluate(_TOO_WIDE)
            if found["scroll"] > found["inner"]:
                problems.append(f"at {width} px the page is {found['scroll']} px wide: {', '.join(found['wide'])}")
    finally:
        if original:
            page.set_viewport_size(original)
    if problems:
        raise AssertionError(f"{name} ({page.url}) is wider than the window:\n" + "\n".join(problems))


def check_a11y(page, name: str) -> None:
    """No WCAG 2.2 A/AA violation (axe-core, each named page once a run), and the page fits the
    window at 360 and 1280 px (every time)."""
    check_width(page, name)
    if name in _CHECKED:
        return
    results = _axe().run(page, options={"runOnly": {"type": "tag", "values": A11Y_TAGS}})
    if results.violations_count:
        report = results.generate_report()
        print(f"axe on {name} ({page.url}):\n{report}")
        raise AssertionError(f"{results.violations_count} accessibility violation(s) on {name} "
                             f"({page.url}):\n{report}")
    _CHECKED.add(name)


def screen(page, name: str) -> None:
    """Save the visible part of the page as <SCREENS>/<name>.png (docs/screens is shown in the README)."""
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENS / f"{name}.png"), full_page=False)
