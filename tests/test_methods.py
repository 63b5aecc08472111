"""One smoke test per registered method (a new method is tested the moment it registers), plus
learning, determinism and resume checks of the common training loop."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import cpu_run, method_values, synthetic_config, train_data_from
from medssl.data.sources import acquire, load_raw
from medssl.methods.registry import available_methods, create_method
from medssl.pipeline.fingerprint import TINY

# Methods whose networks need larger images than the shared 16 px synthetic set (conv-large: 32 px
# patches).
IMAGE_SIZE = {"patch_ssgan": 32, "patch_convnet": 32}


@pytest.fixture
def method_data(request, synthetic_train_data, tmp_path: Path):
    """The shared synthetic data, or the same task drawn at the size a method's networks need."""
    size = IMAGE_SIZE.get(request.node.callspec.params["name"])
    if size is None:
        return synthetic_train_data
    config = synthetic_config(image_size=size)
    acquire(config, tmp_path / "raw_large")
    return train_data_from(load_raw(config, tmp_path / "raw_large"))


def test_every_registered_method_has_a_tiny_config():
    assert set(TINY) == set(available_methods())


@pytest.mark.parametrize("name", available_methods())
def test_method_fits_predicts_and_round_trips(name: str, method_data, tmp_path: Path):
    synthetic_train_data = method_data
    method = create_method(name, method_values(name, **TINY[name]), synthetic_train_data.info)
    history = method.fit(synthetic_train_data, cpu_run())
    assert history and all("step" in row for row in history)
    probabilities = method.predict_proba(synthetic_train_data.val_x)
    assert probabilities.shape == (
        len(synthetic_train_data.val_x),
        synthetic_train_data.num_classes,
    )
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-6)
    method.save(tmp_path / "model")
    restored = create_method(name, method_values(name, **TINY[name]), synthetic_train_data.info)
    restored.load(tmp_path / "model", torch.device("cpu"))
    np.testing.assert_allclose(
        restored.predict_proba(synthetic_train_data.val_x), probabilities, atol=1e-6
    )


@pytest.mark.parametrize("name", available_methods())
def test_with_every_training_image_labelled_training_stays_finite(name: str, request, tmp_path):
    """With every training image labelled (labels_per_class -1 on patches) there is no pool: the
    unsupervised terms and data-dependent initialisations must use the labelled images, not an
    empty set (patch_ssgan's weight-norm initialisation on an empty batch made every loss NaN)."""
    size = IMAGE_SIZE.get(name)
    if size is None:
        raw = request.getfixturevalue("synthetic_raw")
    else:
        config = synthetic_config(image_size=size)
        acquire(config, tmp_path / "raw")
        raw = load_raw(config, tmp_path / "raw")
    data = train_data_from(raw, labels_per_class=int(np.bincount(raw.train.labels).min()))
    assert len(data.unlabelled_x) == 0
    method = create_method(name, method_values(name, **TINY[name]), data.info)
    history = method.fit(data, cpu_run())
    # SSLDEC records a round that found no balanced subset with a NaN subset loss, by design.
    losses = [
        value
        for row in history
        for key, value in row.items()
        if key != "step"
        and value is not None
        and not (key == "subset_loss" and not row["subset_size"])
    ]
    assert losses and np.all(np.isfinite(losses)), history
    assert np.all(np.isfinite(method.predict_proba(data.val_x)))


@pytest.mark.slow
@pytest.mark.parametrize("name", available_methods())
def test_same_seed_gives_the_same_model_on_cpu(name: str, method_data):
    synthetic_train_data = method_data
    outputs = []
    for _ in range(2):
        method = create_method(name, method_values(name, **TINY[name]), synthetic_train_data.info)
        method.fit(synthetic_train_data, cpu_run(seed=7))
        outputs.append(method.predict_proba(synthetic_train_data.val_x))
    np.testing.assert_array_equal(outputs[0], outputs[1])


@pytest.mark.slow
@pytest.mark.parametrize(
    "name, values",
    [
        ("supervised_cnn", {"iterations": 150, "batch_size": 16, "learning_rate": 1e-3}),
        ("pca_svm", {"n_components": 10}),
    ],
)
def test_methods_learn_the_synthetic_task(name: str, values: dict, synthetic_raw):
    data = train_data_from(synthetic_raw, labels_per_class=10)
    method = create_method(name, method_values(name, **values), data.info)
    method.fit(data, cpu_run(validations=4))
    accuracy = np.mean(method.predict_proba(data.val_x).argmax(axis=1) == data.val_y)
    assert accuracy >= 0.8, f"{name} reached {accuracy:.2f} on a task a working classifier solves"


class _Interrupted(Exception):
    pass


def test_interrupted_training_resumes_to_the_same_weights(
    synthetic_train_data, tmp_path: Path, monkeypatch
):
    values = {"iterations": 20, "batch_size": 8}
    checkpoint = tmp_path / "run.pt"

    straight = create_method(
        "supervised_cnn", method_values("supervised_cnn", **values), synthetic_train_data.info
    )
    straight_history = straight.fit(
        synthetic_train_data, cpu_run(seed=1, checkpoint_path=tmp_path / "other.pt")
    )

    interrupted = create_method(
        "supervised_cnn", method_values("supervised_cnn", **values), synthetic_train_data.info
    )
    original = type(interrupted).train_step

    def crash_at_step_13(self, step):
        if step == 13:
            raise _Interrupted
        return original(self, step)

    monkeypatch.setattr(type(interrupted), "train_step", crash_at_step_13)
    with pytest.raises(_Interrupted):
        interrupted.fit(synthetic_train_data, cpu_run(seed=1, checkpoint_path=checkpoint))
    assert checkpoint.is_file()  # the step-10 checkpoint survived the crash
    monkeypatch.setattr(type(interrupted), "train_step", original)

    resumed = create_method(
        "supervised_cnn", method_values("supervised_cnn", **values), synthetic_train_data.info
    )
    resumed_history = resumed.fit(synthetic_train_data, cpu_run(seed=1, checkpoint_path=checkpoint))
    assert not checkpoint.exists()  # removed once the training finished
    # The recorded time counts the interrupted segment too.
    assert 0 < resumed.earlier_seconds < resumed.seconds_so_far()
    assert resumed_history == straight_history
    for name, network in straight.networks.items():
        for key, tensor in network.state_dict().items():
            torch.testing.assert_close(
                resumed.networks[name].state_dict()[key], tensor, rtol=0, atol=0
            )


def test_a_generator_step_computes_no_discriminator_gradients(synthetic_train_data):
    """The generator's loss runs through the discriminator; its update must not compute (and throw
    away) the discriminator's weight gradients."""
    method = create_method(
        "ssgan", method_values("ssgan", iterations=1, batch_size=8), synthetic_train_data.info
    )
    method.fit(synthetic_train_data, cpu_run())
    discriminator, generator = method.networks["discriminator"], method.networks["generator"]
    discriminator.zero_grad(set_to_none=True)
    generated = generator(torch.randn(8, method.config.latent_dim))
    method.optimizer_step("generator", discriminator(generated).logsumexp(dim=1).mean())
    assert all(parameter.grad is None for parameter in discriminator.parameters())
    assert any(parameter.grad is not None for parameter in generator.parameters())


def test_a_gradient_free_real_pass_gives_the_joint_passs_generator_gradients(tmp_path: Path):
    """Without batch norm or randomness in the discriminator, computing the real features in a
    pass of their own changes nothing but the cost."""
    config = synthetic_config(image_size=32)
    acquire(config, tmp_path / "raw")
    data = train_data_from(load_raw(config, tmp_path / "raw"))
    method = create_method(
        "patch_ssgan", method_values("patch_ssgan", **TINY["patch_ssgan"]), data.info
    )
    method.fit(data, cpu_run())
    discriminator, generator = method.networks["discriminator"], method.networks["generator"]
    assert not method.features_in_one_pass
    for module in discriminator.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
    real = torch.rand(8, 1, 32, 32) * 2 - 1
    noise = method.noise(8)
    gradients = []
    for one_pass in (True, False):
        method.features_in_one_pass = one_pass
        generator.zero_grad(set_to_none=True)
        real_features, generated_features = method.matched_features(
            discriminator, real, generator(noise)
        )
        assert not real_features.requires_grad
        (generated_features.mean(0) - real_features.mean(0)).square().sum().backward()
        gradients.append([p.grad.clone() for p in generator.parameters()])
    # fp32 convolutions over batches of 16 and of 8 sum in different orders: equal up to rounding,
    # which is relative to the largest gradients (some tensors' true gradient is about 0).
    scale = max(float(g.abs().max()) for g in gradients[0])
    for joint, separate in zip(*gradients, strict=True):
        torch.testing.assert_close(separate, joint, rtol=1e-4, atol=1e-5 * scale)
