"""The development secret key generated into `.shopseg-secret` is long enough for any signer."""

from __future__ import annotations

import base64
import warnings
from pathlib import Path

import jwt

from plugin.settings import SECRET_KEY_FILE, Settings


def _generated_key(directory: Path) -> str:
    settings, created = Settings().with_local_secret_key(directory)
    assert created
    assert (directory / SECRET_KEY_FILE).read_text() == settings.secret_key
    return settings.secret_key


def test_the_generated_key_carries_64_bytes_of_randomness(tmp_path: Path) -> None:
    key = _generated_key(tmp_path)
    raw = base64.urlsafe_b64decode(key + "=" * (-len(key) % 4))  # url-safe, no padding
    assert len(raw) >= 64
    assert (tmp_path / SECRET_KEY_FILE).stat().st_mode & 0o777 == 0o600


def test_pyjwt_signs_with_the_generated_key_without_a_warning(tmp_path: Path) -> None:
    key = _generated_key(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # InsecureKeyLengthWarning would raise here
        for algorithm in ("HS256", "HS384", "HS512"):
            token = jwt.encode({"sub": "dev"}, key, algorithm=algorithm)
            assert jwt.decode(token, key, algorithms=[algorithm]) == {"sub": "dev"}


def test_an_existing_key_file_is_kept(tmp_path: Path) -> None:
    first = _generated_key(tmp_path)
    settings, created = Settings().with_local_secret_key(tmp_path)
    assert (settings.secret_key, created) == (first, False)
