"""A Chroma server records its ledger, so every worker that knows only host and port finds the same one."""

import socket

import pytest

from teammind.memory import InvalidFieldError
from teammind.memory.client import make_client, registered_ledger


def test_the_first_bank_records_its_ledger_and_later_ones_use_it(tmp_path):
    client = make_client(None)
    given = f"sqlite:{tmp_path / 'ledger.sqlite3'}"
    assert registered_ledger(client, given) == given
    assert registered_ledger(client, None) == given


def test_a_password_is_not_recorded_in_the_server():
    client = make_client(None)
    assert registered_ledger(client, "postgresql://tm:secret@db:5432/teammind") == "postgresql://tm:secret@db:5432/teammind"
    assert registered_ledger(client, None) == "postgresql://tm@db:5432/teammind"


def test_a_second_ledger_for_one_server_is_refused(tmp_path):
    client = make_client(None)
    registered_ledger(client, f"sqlite:{tmp_path / 'a.sqlite3'}")
    with pytest.raises(InvalidFieldError) as err:
        registered_ledger(client, f"sqlite:{tmp_path / 'b.sqlite3'}")
    assert err.value.field == "ledger" and "same ledger" in err.value.fix


def test_a_sqlite_ledger_on_another_machine_is_refused_with_the_postgres_fix(tmp_path, monkeypatch):
    client = make_client(None)
    monkeypatch.setenv("TEAMMIND_HOME", str(tmp_path))
    registered_ledger(client, None)
    monkeypatch.setattr(socket, "gethostname", lambda: "another-machine")
    with pytest.raises(InvalidFieldError, match="postgresql://"):
        registered_ledger(client, None)
