"""The process-wide secret masker: what it registers, and how it masks."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from partita.masking import MASKER, SecretMasker, is_sensitive_name, mask, mask_secret


@pytest.fixture(autouse=True)
def forget_secrets() -> Iterator[None]:
    yield
    MASKER.clear()


def test_nothing_registered_returns_the_very_same_string() -> None:
    masker = SecretMasker()
    text = "hello world"
    assert masker.pattern is None
    assert masker.mask(text) is text


def test_a_secret_is_masked_inside_longer_strings_and_percent_encoded() -> None:
    mask_secret("p@ss/word-42")
    assert mask("login with p@ss/word-42!") == "login with ***!"
    assert mask("postgres://u:p%40ss%2Fword-42@h/db") == "postgres://u:***@h/db"


def test_longer_secrets_win_over_their_prefixes() -> None:
    masker = SecretMasker()
    masker.add("abcd")
    masker.add("abcdefgh")
    assert masker.mask("x abcdefgh y abcd") == "x *** y ***"


def test_short_values_are_not_registered() -> None:
    masker = SecretMasker()
    masker.add("abc")
    assert masker.pattern is None


def test_multiline_secrets_are_masked_line_by_line() -> None:
    masker = SecretMasker()
    masker.add("-----BEGIN KEY-----\nMIIEvQIBADANBgkqhkiG9w0B\n-----END KEY-----")
    assert masker.mask("line: MIIEvQIBADANBgkqhkiG9w0B") == "line: ***"


def test_dicts_register_only_sensitive_keys_unless_the_name_is_sensitive() -> None:
    masker = SecretMasker()
    masker.add({"timeout": "30000", "api_key": "key-12345", "nested": {"token": "tok-999"}})
    assert masker.mask("30000 key-12345 tok-999") == "30000 *** ***"
    masker.add({"user": "alice-admin"}, name="db_password")
    assert masker.mask("alice-admin") == "***"


def test_sensitive_names() -> None:
    for name in ("password", "DB_PASSWORD", "slack_token", "api_key", "private_key", "passphrase",
                 "client-secret", "apikey"):  # fmt: skip
        assert is_sensitive_name(name), name
    for name in ("host", "timeout", "user", None, ""):
        assert not is_sensitive_name(name)


def test_redact_masks_secret_keys_and_registered_values() -> None:
    masker = SecretMasker()
    masker.add("hunter22")
    shown = masker.redact(
        {"password": "x", "note": "pw is hunter22", "n": 3, "items": ["hunter22"]}
    )
    assert shown == {"password": "***", "note": "pw is ***", "n": 3, "items": ["***"]}
