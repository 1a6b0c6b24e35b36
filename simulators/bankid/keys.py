"""Signing keys and secrets of the simulated provider, kept in files under one directory.

``signing-keys.json`` holds the private RSA keys as JWKs, newest last; the newest signs,
all of them are published in the JWKS so tokens signed before a rotation still verify.
Each key's ``kid`` is its RFC 7638 thumbprint. The file is re-read when it changes, so a
rotation from the command line reaches a running provider without a restart.
"""
from __future__ import annotations

import json
import os
import secrets
import tempfile
import threading
from pathlib import Path

from joserfc.jwk import KeySet, RSAKey

KEYS_FILE = "signing-keys.json"
SIGNING_ALG = "RS256"


def _write_private(path: Path, text: str) -> None:
    """Write a file readable only by its owner, atomically."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def file_secret(directory: Path, name: str, nbytes: int = 32) -> str:
    """A secret generated once and kept in ``directory/name``."""
    path = directory / name
    if path.exists():
        value = path.read_text().strip()
        if value:
            return value
    value = secrets.token_urlsafe(nbytes)
    _write_private(path, value + "\n")
    return value


def new_signing_key() -> RSAKey:
    key = RSAKey.generate_key(2048, parameters={"use": "sig", "alg": SIGNING_ALG})
    key.dict_value["kid"] = key.thumbprint()
    return key


class KeyStore:
    """The provider's signing keys; safe to use from several threads."""

    def __init__(self, directory: str | Path, keep: int = 3):
        self.directory = Path(directory)
        self.path = self.directory / KEYS_FILE
        self.keep = max(1, keep)
        self._lock = threading.Lock()
        self._stamp: tuple[int, int, int] | None = None
        self._keys: list[RSAKey] = []

    # -- reading ------------------------------------------------------------------------
    def _file_stamp(self) -> tuple[int, int, int] | None:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def _load(self) -> list[RSAKey]:
        with self._lock:
            stamp = self._file_stamp()
            if stamp is None:
                self._save_locked([new_signing_key()])
                stamp = self._file_stamp()
            if stamp != self._stamp:
                data = json.loads(self.path.read_text())
                keys = []
                for item in data["keys"]:
                    key = RSAKey.import_key(item)
                    if key.kid != key.thumbprint():
                        raise ValueError("a signing key's kid is not its thumbprint")
                    keys.append(key)
                if not keys:
                    raise ValueError("no signing keys")
                self._keys = keys
                self._stamp = stamp
            return list(self._keys)

    def _save_locked(self, keys: list[RSAKey]) -> None:
        payload = {"keys": [k.as_dict(private=True) for k in keys]}
        _write_private(self.path, json.dumps(payload, indent=1) + "\n")

    def ensure(self) -> None:
        """Generate the first key if there is none yet."""
        self._load()

    def current(self) -> RSAKey:
        """The key that signs new tokens."""
        return self._load()[-1]

    def public_jwks(self) -> dict:
        """The JWKS document: every kept key, public parts only."""
        return KeySet(self._load()).as_dict(private=False)

    def private_key_set(self) -> KeySet:
        """Every kept key with its private part (for signing; never published)."""
        return KeySet(self._load())

    def public_key_set(self) -> KeySet:
        return KeySet.import_key_set(self.public_jwks())

    # -- rotation -----------------------------------------------------------------------
    def rotate(self) -> RSAKey:
        """Add a new signing key; the previous ones stay published (up to ``keep``)."""
        self._load()
        with self._lock:
            new = new_signing_key()
            keys = (self._keys + [new])[-self.keep :]
            self._save_locked(keys)
            self._stamp = None
        self._load()
        return new
