import io

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torch_pruning")

import nets  # noqa: E402
from nets import PruningPlan, apply_plan, prune  # noqa: E402
from nets.models.zoo import MODELS, VGGStyle  # noqa: E402

from ..helpers import zoo_model  # noqa: E402


def test_pruned_model_saves_and_loads_two_ways(tmp_path):
    model = zoo_model("densenet", 10).eval()
    example = torch.zeros(1, 3, 64, 64)
    result = prune(model, example, ratio=0.4)
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(10))
    with torch.no_grad():
        expected = result.model(x)
    # 1. the whole module (pickles the classes: load with weights_only=False, trusted files only)
    torch.save(result.model, tmp_path / "pruned.pt")
    loaded = torch.load(tmp_path / "pruned.pt", weights_only=False)
    # 2. weights only: the plan and the state dict, replayed on a freshly built dense model
    buffer = io.BytesIO()
    torch.save({"plan": result.plan.keep, "state_dict": result.model.state_dict()}, buffer)
    buffer.seek(0)
    saved = torch.load(buffer, weights_only=True)
    rebuilt = apply_plan(MODELS["densenet"](), example, PruningPlan(keep=saved["plan"]))
    rebuilt.load_state_dict(saved["state_dict"])
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), expected, rtol=0, atol=0)
        torch.testing.assert_close(rebuilt.eval()(x), expected, rtol=0, atol=0)


def test_a_plan_keeps_eval_mode_and_running_statistics():
    torch.manual_seed(0)
    model = nets.resnet20(soft_mask=True)
    model.train()
    model(torch.randn(8, 3, 16, 16))  # non-trivial running statistics
    model.eval()
    plan = PruningPlan(keep={"stages.0.0.conv1": tuple(range(16))})
    pruned = apply_plan(model, torch.zeros(1, 3, 32, 32), plan)
    assert all(not module.training for module in pruned.modules())
    x = torch.randn(2, 3, 16, 16)
    before = {name: buffer.clone() for name, buffer in pruned.named_buffers()}
    with torch.no_grad():
        torch.testing.assert_close(pruned(x), model(x))
    after = dict(pruned.named_buffers())
    assert all(torch.equal(before[name], after[name]) for name in before)


@pytest.mark.parametrize("channels", [(1.5,), (True,), (0, False), (), (16,), (-1,),
                                      torch.tensor([0.0, 1.0]), "01", None])
def test_a_plan_must_hold_integer_channel_indices(channels):
    model, example = nets.resnet20(), torch.zeros(1, 3, 32, 32)
    with pytest.raises(ValueError, match=r"`plan.keep\['stages.0.0.conv1'\]`"):
        apply_plan(model, example, PruningPlan(keep={"stages.0.0.conv1": channels}))
    with pytest.raises(TypeError, match="`plan`"):
        apply_plan(model, example, {"stages.0.0.conv1": (0,)})


def test_a_plan_names_conv_or_linear_layers_of_the_graph():
    model, example = VGGStyle(), torch.zeros(1, 3, 64, 64)
    with pytest.raises(ValueError, match="plan.keep"):
        apply_plan(model, example, PruningPlan(keep={"features.1": (0,)}))  # a BatchNorm
    with pytest.raises(ValueError, match="features.0"):
        apply_plan(model, example, PruningPlan(keep={"features.0": (8,)}))
    with pytest.raises(ValueError, match="not a conv or linear layer"):
        apply_plan(nets.resnet20(), torch.zeros(1, 3, 32, 32),
                   PruningPlan(keep={"stages.0.0": (0,)}))  # a block, not its conv
