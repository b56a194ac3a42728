"""Encryption of secrets at rest (access/refresh tokens, webhook secrets) with Fernet."""

from __future__ import annotations

import base64
import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken

from plugin.errors import ConfigurationError


def _fernet(secret_key: str) -> Fernet:
    if not secret_key:
        raise ConfigurationError("SHOPSEG_SECRET_KEY is not set: it is needed to encrypt tokens")
    # Derive a fixed-size key so any sufficiently random string works as SHOPSEG_SECRET_KEY.
    digest = hashlib.sha256(b"shopseg-token-encryption:" + secret_key.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def encrypt(secret_key: str, plaintext: str) -> str:
    return _fernet(secret_key).encrypt(plaintext.encode()).decode()


def decrypt(secret_key: str, ciphertext: str) -> str:
    try:
        return _fernet(secret_key).decrypt(ciphertext.encode()).decode()
    except InvalidToken as exc:
        raise ConfigurationError(
            "a stored secret cannot be decrypted: SHOPSEG_SECRET_KEY changed?"
        ) from exc


def hmac_sha256(key: str, message: bytes) -> bytes:
    return hmac.new(key.encode(), message, hashlib.sha256).digest()
