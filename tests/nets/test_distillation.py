import pytest

torch = pytest.importorskip("torch")

from nets.distillation import (  # noqa: E402
    LogitDiscriminator,
    adversarial_losses,
    distillation_loss,
)


def test_distillation_is_zero_for_identical_outputs_and_adversarial_losses_are_finite():
    generator = torch.Generator().manual_seed(7)
    logits = torch.randn(6, 10, generator=generator)
    features = torch.randn(6, 4, generator=generator)
    loss = distillation_loss(logits, logits, student_features=features,
                             teacher_features=features)
    assert float(loss) == pytest.approx(0.0, abs=1e-6)
    assert float(distillation_loss(logits, logits.flip(0))) > 0
    torch.manual_seed(7)
    discriminator = LogitDiscriminator(10)
    student = logits.clone().requires_grad_(True)
    generator_loss, discriminator_loss = adversarial_losses(discriminator, student, logits * 2)
    generator_loss.backward()
    assert student.grad is not None and torch.isfinite(discriminator_loss)
