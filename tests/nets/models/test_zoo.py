import pytest

torch = pytest.importorskip("torch")

from nets.models.zoo import MODELS, randomise_batch_norms  # noqa: E402


@pytest.mark.parametrize("name", sorted(MODELS))
def test_compact_models_take_imagenet_inputs(name):
    torch.manual_seed(0)
    model = MODELS[name]().eval()
    with torch.no_grad():
        assert model(torch.zeros(2, 3, 224, 224)).shape == (2, 10)


def test_random_batch_norms_draw_the_same_from_a_seed_or_its_generator():
    torch.manual_seed(0)
    by_seed = randomise_batch_norms(MODELS["vgg_bn"](), random_state=3)
    torch.manual_seed(0)
    by_generator = randomise_batch_norms(MODELS["vgg_bn"](), torch.Generator().manual_seed(3))
    for (name, a), b in zip(by_seed.state_dict().items(), by_generator.state_dict().values(),
                            strict=True):
        assert torch.equal(a, b), name
    bn = by_seed.features[1]
    assert bool((bn.weight >= 0.5).all() and (bn.running_var >= 0.5).all())
