"""Ray rollout workers and the Chroma server: same results in-process and on workers, clean start/stop.

Real Ray (local, 2 CPUs), a real `chroma run` server, real TextWorldExpress
JVMs and the real embedder; episodes are short (max_steps 6) so the module
stays around a minute, most of it Ray and worker start-up, paid once by the
module-scoped fixtures.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from teammind.memory import InvalidFieldError, MemoryBank
from teammind.memory.embeddings import EMBEDDING_DIM
from teammind.rl.q_learner import QNet, learn_from_episode
from teammind.rl.rollout import RolloutResult, RolloutSpec, state_dict_numpy
from teammind.rl.workers import ChromaServer, ExperienceStore, RolloutPool, port_open

ROOT = Path(__file__).resolve().parents[1]
EXP_NS = ("exp", "twx-coin")
TIMING_KEYS = ("wall_s",)


def specs(seeds: range, *, tag: str, admission: str = "learned") -> list[RolloutSpec]:
    return [
        RolloutSpec(env="twx:coin", seed=s, episode_id=f"{tag}-s{s}", teams=2, max_steps=6, admission=admission, retrieval="q",
                    sample_admission=True, sample_seed=100 + s, experience_namespace=EXP_NS)
        for s in seeds
    ]


MAX_SIMILARITY = 2 * EMBEDDING_DIM  # the first scalar after the task and key embeddings (AdmissionFeatures.vector)


def comparable(summary: dict[str, Any]) -> dict[str, Any]:
    """A summary without its timings (which differ run to run)."""
    return {k: v for k, v in summary.items() if k not in TIMING_KEYS}


def assert_same(a: list[RolloutResult], b: list[RolloutResult]) -> None:
    assert [r.spec for r in a] == [r.spec for r in b]
    for ra, rb in zip(a, b):
        assert comparable(ra.summary) == comparable(rb.summary), ra.spec.episode_id
        (xa, za, la), (xb, zb, lb) = ra.decision_batch(), rb.decision_batch()
        assert np.array_equal(za, zb)
        np.testing.assert_allclose(la, lb, rtol=0, atol=1e-4)
        if len(xa):
            # fp32 matmuls sum in another order with another thread count: embeddings equal to float32 rounding
            np.testing.assert_allclose(np.delete(xa, MAX_SIMILARITY, axis=1), np.delete(xb, MAX_SIMILARITY, axis=1), rtol=0, atol=1e-5)
            # the nearest stored key's cosine comes from Chroma's index, whose distance kernels differ between processes by up to ~3e-4
            np.testing.assert_allclose(xa[:, MAX_SIMILARITY], xb[:, MAX_SIMILARITY], rtol=0, atol=1e-3)


@pytest.fixture(scope="module")
def ray_local():
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with ChromaServer(tmp_path_factory.mktemp("chroma") / "experience") as srv:
        yield srv


@pytest.fixture(scope="module")
def weights():
    import torch

    from teammind.memory import LearnedAdmission

    torch.manual_seed(0)
    policy = LearnedAdmission(hidden=16, seed=0, init_admit_bias=0.0)  # p(admit) ~ 0.5: sampling matters
    qnet = QNet(hidden=8)
    return {"weights": state_dict_numpy(policy.net), "version": 1, "qnet_weights": state_dict_numpy(qnet), "qnet_version": 1}


@pytest.fixture(scope="module")
def seeded_server(server, weights):
    """The experience store holds the write-backs of a few earlier episodes, so rollouts retrieve from it."""
    with RolloutPool(0, experience=server.store()) as pool:
        warm = pool.run(specs(range(10, 13), tag="warm"), **weights)
    bank = MemoryBank(host=server.host, port=server.port)
    for r in warm:
        learn_from_episode(bank, EXP_NS, r.summary)
    assert len(bank.list(EXP_NS, kind="experience")) == 3
    return server


@pytest.fixture(scope="module")
def pool2(ray_local, seeded_server):
    with RolloutPool(2, experience=seeded_server.store()) as pool:
        yield pool


@pytest.fixture(scope="module")
def in_process(seeded_server, weights):
    with RolloutPool(0, experience=seeded_server.store()) as pool:
        return pool.run(specs(range(4), tag="det"), **weights)


def test_one_worker_gives_the_in_process_results(ray_local, seeded_server, in_process, weights):
    # first in the module: it needs a Ray CPU that `pool2` (2 CPUs, module-scoped) holds once created
    with RolloutPool(1, experience=seeded_server.store()) as pool:
        assert_same(in_process, pool.run(specs(range(4), tag="det"), **weights))
    assert ray_local.is_initialized()  # the pool did not start Ray, so it leaves it running


def test_two_workers_give_the_in_process_results(pool2, in_process, weights):
    finished: list[str] = []
    remote = pool2.run(specs(range(4), tag="det"), on_result=lambda r: finished.append(r.spec.episode_id), **weights)
    assert sorted(finished) == sorted(r.spec.episode_id for r in remote)  # progress saw every episode
    assert_same(in_process, remote)
    assert any(r.summary.get("experiences_used") for r in remote), "workers should retrieve from the experience server"
    assert any(len(r.decision_batch()[0]) for r in remote)


def test_workers_import_the_repo_package_and_take_their_share_of_threads(pool2):
    infos = pool2.worker_info()
    assert len({i["pid"] for i in infos}) == 2
    for info in infos:
        assert Path(info["rl_file"]).resolve() == ROOT / "rl" / "__init__.py"
        assert info["torch_threads"] == pool2.torch_threads >= 1
        assert info["env"]["HF_HUB_OFFLINE"] == "1" and info["env"]["TOKENIZERS_PARALLELISM"] == "false"
        assert f"-XX:ActiveProcessorCount={pool2.torch_threads}" in info["env"]["JAVA_TOOL_OPTIONS"]
        assert info["nice"] == 0  # not Ray's default 15, which starves rollouts on a busy machine


def test_empty_batch_and_order_with_more_specs_than_workers(pool2):
    assert pool2.run([]) == []
    batch = specs(range(20, 25), tag="order", admission="all")
    assert [r.spec for r in pool2.run(batch)] == batch


def test_a_failing_episode_names_its_episode_id(pool2):
    bad = RolloutSpec(env="twx:coin", seed=1, episode_id="needs-weights", teams=2, max_steps=6, admission="learned")
    with pytest.raises(InvalidFieldError, match="weights") as info:
        pool2.run([bad])  # learned admission without weights fails inside the worker, with the worker's own error
    assert "episode_id 'needs-weights'" in " ".join(getattr(info.value, "__notes__", []))
    assert len(pool2.run(specs(range(1), tag="after", admission="all"))) == 1  # the pool still works


def test_a_pool_without_free_cpus_says_so(ray_local, pool2):
    with pytest.raises(RuntimeError, match="start_timeout.*free Ray CPU"):
        RolloutPool(1, start_timeout=3)  # pool2 holds both CPUs


def test_a_dead_worker_raises_a_clear_error_and_is_replaced(ray_local, pool2):
    ray_local.kill(pool2._actors[0])  # the first spec of a batch goes to worker 0
    with pytest.raises(RuntimeError, match=r"worker 0 died while playing episode_id 'crash-s0'"):
        pool2.run(specs(range(1), tag="crash", admission="all"))
    assert [r.spec.episode_id for r in pool2.run(specs(range(2), tag="again", admission="all"))] == ["again-s0", "again-s1"]


def test_chroma_server_is_shared_by_clients_and_stops(tmp_path):
    folder = tmp_path / "exp"
    with ChromaServer(folder) as srv:
        store = srv.store()
        assert store == ExperienceStore.server("127.0.0.1", srv.port) and store.shared
        a, b = store.open(), MemoryBank(host=srv.host, port=srv.port)
        entry = a.add_experience(("ns",), "find the coin in the kitchen", '{"plan": ["go north"]}', outcome=1.0)
        assert [e.id for e in b.list(("ns",), kind="experience")] == [entry.id]
        b.update_q(("ns",), [entry.id], 1.0)
        assert a.get(("ns",), entry.id).q == pytest.approx(b.get(("ns",), entry.id).q) and a.get(("ns",), entry.id).q > 0
        port = srv.port
    assert not srv.running and not port_open("127.0.0.1", port)
    with ChromaServer(folder) as again:  # data persists in the folder: a resumed job sees it
        assert [e.id for e in again.store().open().list(("ns",), kind="experience")] == [entry.id]
    assert (tmp_path / "chroma-server.log").exists()


def test_chroma_server_start_failure_shows_the_log(tmp_path):
    with ChromaServer(tmp_path / "a") as first, pytest.raises(InvalidFieldError, match="port"):
        ChromaServer(tmp_path / "b", port=first.port).start()
    srv = ChromaServer(tmp_path / "c", startup_timeout=0.01)
    with pytest.raises(RuntimeError, match="server log"):
        srv.start()
    assert not srv.running


@pytest.mark.parametrize("workers", [-1, 1.5, True, "2"])
def test_bad_workers_value(workers):
    with pytest.raises(InvalidFieldError, match="workers"):
        RolloutPool(workers)  # type: ignore[arg-type]


def test_local_folder_experience_cannot_go_to_workers(tmp_path):
    with pytest.raises(InvalidFieldError, match="experience") as info:
        RolloutPool(2, experience=ExperienceStore.local(tmp_path / "exp"))
    assert "ChromaServer" in str(info.value)
    with pytest.raises(InvalidFieldError, match="experience_bank"):
        RolloutPool(2, experience_bank=MemoryBank.ephemeral())
    with pytest.raises(InvalidFieldError, match="torch_threads"):
        RolloutPool(1, torch_threads=0)


def test_an_llm_client_goes_to_the_in_process_pool_only():
    client = object()
    with RolloutPool(0, llm=client) as pool:
        assert pool._local is not None and pool._local.llm is client  # noqa: SLF001 - the in-process context uses it
    with pytest.raises(InvalidFieldError, match="llm") as info:
        RolloutPool(2, llm=client)
    assert "workers=0" in str(info.value)
