"""Dictionary learning and coding on a Dask LocalCluster (2 worker processes, 1 thread each)."""

import os
import signal
from collections import Counter

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

import csc.distributed  # noqa: E402
from csc import ConvolutionalDictionary  # noqa: E402

PARAMS = dict(n_filters=4, filter_size=5, max_iter=6, random_state=0, group_size=3)
# with these, CoGD's reference rule and rejected coding steps both occur (3 of 8 rejected)
REJECTING = dict(PARAMS, max_iter=8, sparsity_weight=0.5, coding_iter=5, dictionary_iter=2,
                 optimizer="cogd")


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        yield client


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(0)
    images = rng.standard_normal((12, 20, 20)).cumsum(1).cumsum(2)
    images = (images - images.mean()) / images.std()  # float64
    return images, rng.random(images.shape) > 0.3


def assert_same_fit(fitted, reference):
    scale = np.abs(reference.filters_).max()
    np.testing.assert_array_less(np.abs(fitted.filters_ - reference.filters_).max(), 1e-6 * scale)
    np.testing.assert_allclose(fitted.history_["objective"], reference.history_["objective"],
                               rtol=1e-9)
    assert fitted.history_["accepted"] == reference.history_["accepted"]
    assert fitted.history_["backtracked"] == reference.history_["backtracked"]


@pytest.mark.parametrize("params", [PARAMS, dict(PARAMS, group_size=4), REJECTING,
                                    dict(PARAMS, optimizer="cogd", coupling="filter")],
                         ids=["admm-2+2-groups", "admm-2+1-groups", "cogd-reference-rejections",
                              "cogd-filter"])
def test_distributed_fit_equals_the_in_process_fit_for_two_chunkings(client, problem, params):
    # one chunk per worker, of 2 and 2 groups (group_size 3) or of 2 and 1 (group_size 4); and
    # two chunkings of the dask array, which the groups do not depend on
    images, mask = problem
    reference = ConvolutionalDictionary(**params).fit(images, mask)
    for chunks in (5, 12):
        fitted = ConvolutionalDictionary(**params).fit(da.from_array(images, chunks=chunks),
                                                       da.from_array(mask, chunks=7))
        assert_same_fit(fitted, reference)
        assert isinstance(fitted.codes_, da.Array)
        np.testing.assert_allclose(fitted.codes_.compute(), reference.codes_, atol=1e-9)
    if params is REJECTING:
        assert reference.history_["accepted"].count(False) > 0
        assert sum(reference.history_["backtracked"]) > 0


def test_the_scheduler_runs_no_task_per_round_whatever_the_groups(client, problem):
    # one chunk per worker, an actor: 12 groups of one image cost the scheduler the tasks of 2
    # groups of six (building the chunks, returning the codes), and the outer iterations none
    images, _ = problem
    tasks = {}
    for group_size, max_iter in ((1, 2), (6, 2), (1, 4)):
        with distributed.get_task_stream(client) as stream:
            ConvolutionalDictionary(**dict(PARAMS, group_size=group_size, max_iter=max_iter)).fit(
                da.from_array(images, chunks=6))
        # the tasks of the fit, without those returning the codes (which may end after it)
        tasks[group_size, max_iter] = Counter(name for name in (
            str(record["key"]).split("-")[0] for record in stream.data) if name != "codes")
    assert tasks[1, 2] == tasks[6, 2] == tasks[1, 4]
    assert tasks[1, 2]["chunk"] == 2  # one chunk per worker


def test_a_worker_killed_during_the_fit_does_not_change_the_result(client, problem,
                                                                   monkeypatch):
    images, mask = problem
    reference = ConvolutionalDictionary(**PARAMS).fit(images, mask)
    killed, rebuilt = [], []
    rebuild = csc.distributed._Cluster._rebuild

    def counted_rebuild(self, c, *args):
        rebuilt.append(c)
        return rebuild(self, c, *args)

    monkeypatch.setattr(csc.distributed._Cluster, "_rebuild", counted_rebuild)

    def kill_a_worker(state):
        if state.iteration == 3:
            pids = client.run(os.getpid)
            address = sorted(pids)[0]
            os.kill(pids[address], signal.SIGKILL)
            killed.append(address)
        return False

    fitted = ConvolutionalDictionary(**PARAMS, callback=kill_a_worker).fit(
        da.from_array(images, chunks=4), mask)
    assert killed and rebuilt == [0]  # the killed worker's chunk, rebuilt from the log once
    assert_same_fit(fitted, reference)
    np.testing.assert_allclose(fitted.codes_.compute(), reference.codes_, atol=1e-9)
    client.wait_for_workers(2, timeout=60)


def test_a_distributed_fit_resumes_from_its_checkpoint(client, problem, tmp_path):
    images, mask = problem
    path = str(tmp_path / "fit.npz")
    dask_images = da.from_array(images, chunks=6)
    params = dict(REJECTING, coupling="filter")  # the reference rule depends on max_iter
    first = ConvolutionalDictionary(**dict(params, max_iter=3), checkpoint=path).fit(
        dask_images, mask)
    assert first.n_iter_ == 3
    resumed = ConvolutionalDictionary(**params, checkpoint=path).fit(dask_images, mask)
    assert_same_fit(resumed, ConvolutionalDictionary(**params).fit(images, mask))
    # the file is the in-process fit's format: a local fit resumes it too
    local = ConvolutionalDictionary(**dict(params, max_iter=10), checkpoint=path).fit(
        images, mask)
    assert local.n_iter_ == 10 and local.history_["objective"][:9] == resumed.history_["objective"]


def test_encode_of_a_dask_array_equals_numpy(client, problem):
    images, mask = problem
    model = ConvolutionalDictionary(**dict(PARAMS, max_iter=2), encode_iter=20).fit(images)
    codes = model.encode(da.from_array(images, chunks=5), da.from_array(mask, chunks=5))
    assert isinstance(codes, da.Array) and codes.chunks[0] == (5, 5, 2)
    np.testing.assert_allclose(codes.compute(), model.encode(images, mask), atol=1e-10)


def test_without_a_client_a_dask_fit_runs_in_process(problem, monkeypatch):
    images, _ = problem
    monkeypatch.setattr("csc.distributed.active_client", lambda: None)
    fitted = ConvolutionalDictionary(**dict(PARAMS, max_iter=2)).fit(da.from_array(images,
                                                                                   chunks=5))
    reference = ConvolutionalDictionary(**dict(PARAMS, max_iter=2)).fit(images)
    np.testing.assert_array_equal(fitted.filters_, reference.filters_)


def test_colour_images_with_a_channel_axis(client, problem):
    images, mask = problem
    colour = np.stack([images, images[:, ::-1], images[:, :, ::-1]], axis=-1)[:7]
    params = dict(PARAMS, max_iter=3, channel_axis=-1)
    reference = ConvolutionalDictionary(**params).fit(colour, mask[:7])
    fitted = ConvolutionalDictionary(**params).fit(da.from_array(colour, chunks=(4, 20, 20, 3)),
                                                   mask[:7])
    assert fitted.filters_.shape == (4, 3, 5, 5)
    assert_same_fit(fitted, reference)
    np.testing.assert_allclose(fitted.encode(da.from_array(colour, chunks=3)).compute(),
                               reference.encode(colour), atol=1e-10)


def test_a_float32_fit_stays_in_float32(client, problem):
    # the consensus weights once promoted the filter windows to float64 on the driver, and every
    # worker then coded in float64 (twice as slow) with results no longer the in-process ones
    images, mask = problem
    images = images.astype(np.float32)
    reference = ConvolutionalDictionary(**PARAMS).fit(images, mask)
    fitted = ConvolutionalDictionary(**PARAMS).fit(da.from_array(images, chunks=5), mask)
    assert fitted.filters_.dtype == np.float32 and fitted.codes_.dtype == np.float32
    assert fitted.codes_.compute().dtype == np.float32
    # float32 sums in another order: the in-process float32 fit itself is 1.5e-4 (relative) off
    # the float64 one on this problem, the distributed one 1.4e-4 off the in-process one
    np.testing.assert_allclose(fitted.history_["objective"], reference.history_["objective"],
                               rtol=1e-3)
    np.testing.assert_allclose(fitted.filters_, reference.filters_, atol=3e-3)


def test_codes_are_a_dask_array_with_or_without_a_client(client, problem, monkeypatch):
    # without a client the dask array was computed and fitted in process, and codes_ came back
    # as a NumPy array: its type depended on whether a client happened to exist
    images, mask = problem
    dask_images = da.from_array(images, chunks=5)
    params = dict(PARAMS, max_iter=2)
    on_cluster = ConvolutionalDictionary(**params).fit(dask_images, mask)
    monkeypatch.setattr("csc.distributed.active_client", lambda: None)
    in_process = ConvolutionalDictionary(**params).fit(dask_images, mask)
    for fitted in (on_cluster, in_process):
        assert isinstance(fitted.codes_, da.Array)
        assert fitted.codes_.chunks[0] == (3, 3, 3, 3)  # one chunk per group of the fit
    numpy_fit = ConvolutionalDictionary(**params).fit(images, mask)
    assert type(numpy_fit.codes_) is np.ndarray
    np.testing.assert_array_equal(in_process.codes_.compute(), numpy_fit.codes_)
    np.testing.assert_allclose(on_cluster.codes_.compute(), numpy_fit.codes_, atol=1e-9)
