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


def test_gal_step_in_the_documented_order_trains_the_discriminator_only_on_its_loss():
    torch.manual_seed(3)
    teacher = torch.randn(16, 5) * 3
    student_weights = torch.randn(16, 5, requires_grad=True)
    discriminator = LogitDiscriminator(5)
    optimizer = torch.optim.Adam(discriminator.parameters(), lr=1e-2)
    losses = []
    for _ in range(30):
        _, discriminator_loss = adversarial_losses(discriminator, student_weights, teacher)
        optimizer.zero_grad()
        discriminator_loss.backward()
        assert student_weights.grad is None  # the discriminator's loss sees detached logits
        optimizer.step()
        losses.append(float(discriminator_loss))
    generator_loss, _ = adversarial_losses(discriminator, student_weights, teacher)
    generator_loss.backward()  # after the step: no in-place modification error
    assert student_weights.grad is not None and losses[-1] < losses[0]
