"""Small protocol runs shared by the restoration tests."""

import pytest

from restoration import protocol

TINY = dict(n_filters=4, filter_size=5, max_iter=2)


@pytest.fixture(scope="module")
def tiny_images():
    return protocol.load_protocol_images("fruit")[:2, :24, :24]


@pytest.fixture
def tiny_set(monkeypatch, tiny_images):
    monkeypatch.setattr(protocol, "load_protocol_images", lambda name: tiny_images.copy())
    return tiny_images


@pytest.fixture(scope="module")
def inpainted(tiny_images):
    return protocol.evaluate(tiny_images, task="inpaint", optimizer="cogd", random_state=3,
                             set_name="fruit", **TINY)
