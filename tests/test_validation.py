"""Bad input raises a clear error that names the field, and writes nothing."""

import math

import pytest

from teammind.memory import Entry, EntryLimits, InvalidFieldError, MemoryBank, StepCandidate

NS = ("tenant", "task")


def _assert_empty(bank):
    assert bank.namespaces() == []


def test_empty_key_is_rejected_and_nothing_written(bank):
    with pytest.raises(InvalidFieldError, match="key") as err:
        bank.add_step(NS, "   ", "value")
    assert err.value.field == "key"
    _assert_empty(bank)


@pytest.mark.parametrize("namespace", ["tenant/task", 42, ("tenant", 7), (), ("tenant", "")])
def test_wrong_namespace_type_is_rejected(bank, namespace):
    with pytest.raises(InvalidFieldError, match="namespace"):
        bank.add_step(namespace, "a key", "value")
    _assert_empty(bank)


def test_oversize_value_beyond_configured_limit_is_rejected():
    bank = MemoryBank.ephemeral(limits=EntryLimits(max_value_tokens=50))
    bank.add_step(NS, "small value", "word " * 40)
    with pytest.raises(InvalidFieldError, match=r"value: has \d+ tokens, limit is 50"):
        bank.add_step(NS, "big value", "word " * 100)
    assert len(bank.list(NS)) == 1


def test_key_longer_than_40_words_is_rejected(bank):
    with pytest.raises(InvalidFieldError, match="key: has 41 words"):
        bank.add_step(NS, " ".join(["w"] * 41), "v")
    _assert_empty(bank)


@pytest.mark.parametrize("reward", [math.nan, math.inf, "1", None])
def test_nan_reward_is_rejected_and_q_unchanged(bank, reward):
    e = bank.add_step(NS, "a step", "v")
    with pytest.raises(InvalidFieldError, match="reward"):
        bank.update_q(NS, [e.id], reward)
    got = bank.get(NS, e.id)
    assert got.q == 0.0 and got.visits == 0


def test_one_bad_entry_in_a_batch_writes_none_of_it(bank):
    good = Entry.new(NS, "good key", "v")
    bad = Entry.new(NS, "", "v")
    with pytest.raises(InvalidFieldError, match=r"entries\[1\]\.key"):
        bank.add([good, bad])
    _assert_empty(bank)


def test_update_q_with_unknown_id_updates_nothing(bank):
    e = bank.add_step(NS, "a step", "v")
    with pytest.raises(KeyError, match="nothing was updated"):
        bank.update_q(NS, [e.id, "missing"], 1.0)
    assert bank.get(NS, e.id).q == 0.0


def test_bad_candidate_is_rejected_before_admission(bank):
    with pytest.raises(InvalidFieldError, match="step_index"):
        bank.propose(StepCandidate(NS, "task", "key", "value", step_index=-1))
    _assert_empty(bank)


def test_error_message_says_how_to_fix(bank):
    with pytest.raises(InvalidFieldError) as err:
        bank.add_step("tenant", "k", "v")
    assert "Fix:" in str(err.value) and "tuple" in str(err.value)


def test_a_put_whose_value_holds_nan_is_refused_and_writes_nothing():
    from teammind.memory import BankStore

    store = BankStore(ephemeral=True)
    for bad in (math.nan, math.inf):
        with pytest.raises(InvalidFieldError, match="not valid JSON") as err:
            store.put(("users", "1"), "k", {"text": "x", "score": bad})
        assert err.value.field == "value"
    assert store.get(("users", "1"), "k") is None


@pytest.mark.parametrize("kwargs, field", [({"limit": -1}, "limit"), ({"offset": -3}, "offset"), ({"limit": 1.5}, "limit")])
def test_negative_or_fractional_search_limits_are_refused(kwargs, field):
    from teammind.memory import BankStore

    store = BankStore(ephemeral=True)
    store.put(("users", "1"), "k", {"text": "x"})
    for query in (None, "x"):
        with pytest.raises(InvalidFieldError) as err:
            store.search(("users",), query=query, **kwargs)
        assert err.value.field == field
    with pytest.raises(InvalidFieldError):
        store.list_namespaces(**kwargs)


def test_bank_list_refuses_a_negative_limit(bank):
    with pytest.raises(InvalidFieldError) as err:
        bank.list(NS, limit=-1)
    assert err.value.field == "limit"


@pytest.mark.parametrize("ttl", [0, -1, math.nan])
def test_a_non_positive_ttl_is_refused(ttl):
    from teammind.memory import BankStore

    with pytest.raises(InvalidFieldError, match="ttl"):
        BankStore(ephemeral=True).put(("users", "1"), "k", {"text": "x"}, ttl=ttl)


def test_metadata_that_is_not_json_is_refused(bank):
    with pytest.raises(InvalidFieldError) as err:
        bank.add_step(NS, "k", "v", metadata={"score": math.nan})
    assert err.value.field == "metadata"
    _assert_empty(bank)
