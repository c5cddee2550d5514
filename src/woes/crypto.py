"""Encryption at rest for stored credentials (Fernet: AES-128-CBC + HMAC-SHA256, from `cryptography`).

The key comes from WOES_SECRET_KEY; when unset, a random key is created once in the data folder
(`secret.key`, mode 0600) so the embedded default works out of the box. Replicas must share one key."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

from woes.config import get_settings


def _key_material() -> str:
    settings = get_settings()
    if settings.secret_key:
        return settings.secret_key
    path = Path(settings.data_dir) / "secret.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


@lru_cache
def _fernet(material: str) -> Fernet:
    digest = hashlib.sha256(b"woes:credentials:v1:" + material.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def encrypt_json(value: dict[str, Any]) -> bytes:
    return _fernet(_key_material()).encrypt(json.dumps(value).encode())


def decrypt_json(token: bytes) -> dict[str, Any]:
    try:
        return json.loads(_fernet(_key_material()).decrypt(token))
    except InvalidToken:
        raise ValueError("stored credentials cannot be decrypted with the configured WOES_SECRET_KEY") from None


def hint(secret: str) -> str:
    """A masked hint that identifies a secret without revealing it: `••••ab12`."""
    return "••••" + secret[-4:] if len(secret) >= 12 else "••••"
