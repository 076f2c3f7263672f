"""A chat session's PII vault in the database: sealed, bound to its session, under the vault key."""

from __future__ import annotations

import base64
import datetime as dt
import logging
import os
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from advisor.api.app import create_app
from advisor.chat import vaults
from advisor.chat.vaults import ChatVault, SessionVaults, VaultKeyError, vault_keys
from advisor.rails.pii.vault import Vault, VaultStore
from advisor.rails.service import load_rails
from portfolio_context.db import create_schema, session_scope
from tests.conftest import bearer, make_settings
from tests.fakes import FakeBackend
from tests.sse import chat_events, done

NAME = "Maria Gonzalez"


def new_key() -> str:
    """A fresh vault key as an operator makes one."""
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


def filled() -> Vault:
    """A vault holding a name and a card."""
    vault = Vault()
    vault.placeholder("PERSON", NAME)
    vault.placeholder("CARD", "4111 1111 1111 1111", last4=True)
    return vault


def test_a_vault_survives_the_round_trip_and_numbers_on() -> None:
    vaults = SessionVaults([os.urandom(32)], 60)
    again = vaults.unseal(vaults.seal(filled(), "s1"), "s1")
    assert again is not None and again.restore("<PERSON_1> <CARD_1>") == f"{NAME} •••• 1111"
    assert again.placeholder("PERSON", "Ana Ruiz") == "<PERSON_2>"
    assert again.placeholder("PERSON", "maria  gonzalez") == "<PERSON_1>"


def test_sealed_bytes_hold_no_value_and_open_only_for_their_session() -> None:
    vaults = SessionVaults([os.urandom(32)], 60)
    sealed = vaults.seal(filled(), "s1")
    assert b"Maria" not in sealed and b"1111" not in sealed and b"PERSON" not in sealed
    assert vaults.unseal(sealed, "s2") is None  # a row copied to another session opens nowhere
    assert SessionVaults([os.urandom(32)], 60).unseal(sealed, "s1") is None


def test_a_rotated_key_still_opens_what_the_old_one_sealed() -> None:
    old, new = os.urandom(32), os.urandom(32)
    sealed = SessionVaults([old], 60).seal(filled(), "s1")
    rotated = SessionVaults([new, old], 60)
    assert rotated.unseal(sealed, "s1") is not None
    assert SessionVaults([new], 60).unseal(rotated.seal(filled(), "s1"), "s1") is not None


def test_production_without_a_key_is_a_start_up_error(tmp_path: Path, bank_url: str) -> None:
    settings = make_settings(tmp_path, bank_url, profile="production")
    with pytest.raises(VaultKeyError, match="ADVISOR_VAULT_KEY is not set"):
        vault_keys(settings)
    with pytest.raises(VaultKeyError), TestClient(create_app(settings, backend=FakeBackend())):
        pass
    key = new_key()
    assert vault_keys(make_settings(tmp_path, bank_url, profile="production", vault_key=key))


@pytest.mark.parametrize("profile", ["default", "development", "test"])
def test_a_derived_key_is_warned_about_once_naming_the_setting(
    tmp_path: Path, bank_url: str, profile: str, caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setattr(vaults, "_warned", set())  # a fresh process
    settings = make_settings(tmp_path, bank_url, profile=profile)
    with caplog.at_level(logging.WARNING, logger="advisor.chat.vaults"):
        first, second = vault_keys(settings), vault_keys(settings)
    assert first == second and len(first[0]) == 32
    warned = [r.getMessage() for r in caplog.records if r.name == "advisor.chat.vaults"]
    assert len(warned) == 1, warned
    assert "ADVISOR_VAULT_KEY is not set" in warned[0] and f"the {profile} profile" in warned[0]
    assert "DERIVED FROM THE SIGNING SECRET" in warned[0]


@pytest.mark.parametrize("bad", ["not base64 !!", base64.urlsafe_b64encode(b"short").decode()])
def test_a_bad_key_is_named_without_its_value(tmp_path: Path, bank_url: str, bad: str) -> None:
    with pytest.raises(VaultKeyError) as raised:
        vault_keys(make_settings(tmp_path, bank_url, vault_key=bad))
    assert bad not in str(raised.value)


def test_an_expired_vault_is_empty_and_deleted(tmp_path: Path, bank_url: str) -> None:
    url = f"sqlite:///{tmp_path / 'vaults.db'}"
    create_schema(url)
    vaults = SessionVaults([os.urandom(32)], 60)
    with session_scope(url) as db:
        vaults.save(db, "old", filled())
        vaults.save(db, "new", filled())
    with session_scope(url) as db:
        gone = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=120)
        db.execute(update(ChatVault).where(ChatVault.session_id == "old").values(updated_at=gone))
    with session_scope(url) as db:
        assert len(vaults.load(db, "old")) == 0 and len(vaults.load(db, "new")) == 2
        vaults.save(db, "new", vaults.load(db, "new"))
    with session_scope(url) as db:
        assert list(db.scalars(select(ChatVault.session_id))) == ["new"]


def test_a_name_from_turn_one_is_restored_by_a_fresh_app(tmp_path: Path, bank_url: str) -> None:
    """Two apps, each with its own services: the second serves the session's next turn."""
    settings = make_settings(tmp_path, bank_url, vault_key=new_key())
    auth = bearer(settings, "C0001")
    first = FakeBackend()
    with TestClient(create_app(settings, backend=first)) as client:
        events = chat_events(client, auth, f"Hi, I'm {NAME}. What's my checking balance?")
        session_id = done(events)["session_id"]
    load_rails(settings).vaults = VaultStore(10, 60)  # the process forgets, as a restart would
    second = FakeBackend()
    second.script = lambda request: (
        "Hi <PERSON_1>! " + request.messages[-1].content.split("Draft: ")[-1].strip()
    )
    with TestClient(create_app(settings, backend=second)) as client:
        events = chat_events(client, auth, "and my savings balance?", session_id)
    assert NAME in done(events)["text"] and "<PERSON_1>" not in done(events)["text"]
    with session_scope(settings.resolved_database_url) as db:
        sealed = db.get(ChatVault, session_id)
        assert sealed is not None and NAME.encode() not in sealed.sealed


def test_history_whose_placeholders_the_vault_lost_is_left_out(
    tmp_path: Path, bank_url: str
) -> None:
    # An expired vault numbers from 1 again: the old turn's <PERSON_1> must not reach the model,
    # or a new value numbered <PERSON_1> would be restored where the old one was meant.
    settings = make_settings(tmp_path, bank_url, vault_key=new_key(), history_turns=2)
    auth = bearer(settings, "C0001")
    with TestClient(create_app(settings, backend=FakeBackend())) as client:
        events = chat_events(client, auth, f"Hi, I'm {NAME}. What's my checking balance?")
        session_id = done(events)["session_id"]
    with session_scope(settings.resolved_database_url) as db:
        gone = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
        db.execute(update(ChatVault).where(ChatVault.session_id == session_id).values(
            updated_at=gone))  # fmt: skip
    load_rails(settings).vaults = VaultStore(10, 60)
    second = FakeBackend()
    with TestClient(create_app(settings, backend=second)) as client:
        chat_events(client, auth, "and my savings balance?", session_id)
    sent = [m.content for request in second.requests for m in request.messages]
    assert sent and not any("<PERSON_1>" in text for text in sent)
