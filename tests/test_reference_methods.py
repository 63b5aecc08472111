"""FixMatch and Mean Teacher: augmentations, schedules, pseudo-label mask, teacher update."""

from __future__ import annotations

import math

import pytest
import torch

from conftest import cpu_run, method_values
from medssl.core.errors import ConfigError
from medssl.methods.fixmatch.batched_augment import (
    BATCHED_OPS,
    BatchedStrongAugmentation,
    cutout,
)
from medssl.methods.fixmatch.method import cosine_learning_rate, uint8_images
from medssl.methods.fixmatch.strong_augment import (
    MAGNITUDE_BINS,
    RAND_AUGMENT_OPS,
    GreyRandAugment,
    StrongAugmentation,
    grey_augmentation_space,
    rand_augment_table,
)
from medssl.methods.loop import images_to_float
from medssl.methods.mean_teacher.method import gaussian_rampdown, sigmoid_rampup
from medssl.methods.registry import create_method


def _grey_images(count: int = 32) -> torch.Tensor:
    return torch.randint(0, 256, (count, 1, 16, 16), dtype=torch.uint8, generator=_seeded(0))


def _seeded(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_grey_rand_augment_has_every_op_but_saturation():
    ops = set(GreyRandAugment._AUGMENTATION_SPACE)
    assert ops == RAND_AUGMENT_OPS - {"Color"}


def test_torchvisions_private_op_table_is_guarded(monkeypatch):
    """GreyRandAugment subclasses a private torchvision table: the pinned torchvision has it with
    RandAugment's 14 ops, and a torchvision without it (or with other ops) is refused in one line
    instead of training FixMatch with other augmentations."""
    from torchvision.transforms import v2

    assert set(v2.RandAugment._AUGMENTATION_SPACE) == RAND_AUGMENT_OPS
    monkeypatch.delattr(v2.RandAugment, "_AUGMENTATION_SPACE")
    with pytest.raises(ImportError, match="private op table is not RandAugment's 14 ops") as error:
        grey_augmentation_space()
    assert "\n" not in str(error.value)


def test_strong_augmentation_is_seeded_and_changes_every_image():
    images = _grey_images()
    strong = StrongAugmentation(channels=1, num_ops=2, cutout_area=0.25)
    torch.manual_seed(3)
    first = strong(images)
    torch.manual_seed(3)
    again = strong(images)
    assert first.dtype == torch.uint8 and first.shape == images.shape
    assert torch.equal(first, again)
    # Cutout alone changes every image: a grey square of at least 1 % of it.
    assert (first != images).flatten(1).any(dim=1).all()


def _varied_images(channels: int, count: int = 48) -> torch.Tensor:
    """Noise, and the same noise blurred: flat and busy histograms for contrast and equalize."""
    from torchvision.transforms.v2 import functional as TF

    noise = torch.randint(
        0, 256, (count, channels, 28, 28), dtype=torch.uint8, generator=_seeded(1)
    )
    noise[count // 2 :] = TF.gaussian_blur(noise[count // 2 :], [5, 5])
    return noise


@pytest.mark.parametrize("channels", [1, 3])
def test_batched_ops_equal_torchvisions_per_image_ops(channels):
    """Every RandAugment op, each image at its own magnitude and sign, gives bit for bit what
    torchvision's RandAugment gives that image alone (its per-op dispatcher, with its own
    interpolation and fill)."""
    from torchvision.transforms import v2

    reference = v2.RandAugment()
    fill = reference._fill
    images = _varied_images(channels)
    generator = _seeded(2)
    table = rand_augment_table(channels)
    assert set(table) <= set(BATCHED_OPS)
    for name, (magnitudes_of, signed) in table.items():
        magnitudes = magnitudes_of(MAGNITUDE_BINS, 28, 28)
        bins = torch.randint(0, MAGNITUDE_BINS, (len(images),), generator=generator)
        magnitude = (
            torch.zeros(len(images), dtype=torch.float64)
            if magnitudes is None
            else magnitudes[bins].to(torch.float64)
        )
        if signed:
            negative = torch.rand(len(images), generator=generator) < 0.5
            magnitude = torch.where(negative, -magnitude, magnitude)
        expected = torch.stack(
            [
                reference._apply_image_or_video_transform(
                    image,
                    name,
                    float(m),
                    interpolation=reference.interpolation,
                    fill=fill,
                )
                for image, m in zip(images, magnitude, strict=True)
            ]
        )
        assert torch.equal(BATCHED_OPS[name](images, magnitude), expected), name


def test_cutout_paints_one_grey_square_per_image_in_the_area_range():
    images = torch.zeros(64, 1, 28, 28, dtype=torch.uint8)
    torch.manual_seed(0)
    cut = cutout(images, max_area=0.25, fill=127)
    sides = []
    for image in cut[:, 0]:
        square = image == 127
        rows, columns = square.any(dim=1).sum().item(), square.any(dim=0).sum().item()
        assert rows == columns and square.sum().item() == rows * columns
        assert torch.equal(image[~square], torch.zeros_like(image[~square]))
        sides.append(rows)
    # area uniform in [1 %, 25 %] of 784 pixels: sides round(sqrt(7.84)) = 3 to sqrt(196) = 14
    assert min(sides) >= 3 and max(sides) <= 14 and len(set(sides)) > 5


@pytest.mark.parametrize("channels", [1, 3])
def test_batched_strong_augmentation_is_seeded_and_changes_every_image(channels):
    images = _varied_images(channels)
    strong = BatchedStrongAugmentation(channels=channels, num_ops=2, cutout_area=0.25)
    torch.manual_seed(3)
    first = strong(images)
    torch.manual_seed(3)
    again = strong(images)
    assert first.dtype == torch.uint8 and first.shape == images.shape
    assert torch.equal(first, again)
    assert (first != images).flatten(1).any(dim=1).all()


def test_uint8_round_trip_is_exact():
    images = _grey_images()
    assert torch.equal(uint8_images(images_to_float(images)), images)


def test_fixmatch_schedule_is_the_papers_cosine():
    assert cosine_learning_rate(0.03, 0, 1000) == pytest.approx(0.03)
    last = cosine_learning_rate(0.03, 1000, 1000)
    assert last == pytest.approx(0.03 * math.cos(7 * math.pi / 16))


@pytest.mark.parametrize("threshold, expected_mask_rate", [(1.0, 0.0), (0.0, 1.0)])
def test_fixmatch_trains_on_pseudo_labels_only_above_the_threshold(
    threshold: float, expected_mask_rate: float, synthetic_train_data
):
    values = method_values(
        "fixmatch", iterations=4, batch_size=4, unlabelled_ratio=2, threshold=threshold
    )
    method = create_method("fixmatch", values, synthetic_train_data.info)
    history = method.fit(synthetic_train_data, cpu_run())
    rows = [row for row in history if "mask_rate" in row]
    assert rows and all(row["mask_rate"] == expected_mask_rate for row in rows)
    if threshold == 1.0:  # a softmax never reaches 1 here: no image passes, no unlabelled loss
        assert all(row["l_unlabel"] == 0.0 for row in rows)


def test_mean_teacher_ramps_are_the_papers():
    assert sigmoid_rampup(0, 100) == pytest.approx(math.exp(-5))
    assert sigmoid_rampup(100, 100) == sigmoid_rampup(500, 100) == 1.0
    assert gaussian_rampdown(0, 1000, 100) == 1.0
    assert gaussian_rampdown(1000, 1000, 100) == pytest.approx(math.exp(-12.5))


def test_mean_teacher_teacher_is_an_ema_of_the_student(synthetic_train_data):
    method = create_method(
        "mean_teacher",
        method_values("mean_teacher", iterations=2, batch_size=4, unlabelled_ratio=2),
        synthetic_train_data.info,
    )
    method.fit(synthetic_train_data, cpu_run())
    student, teacher = method.networks["student"], method.networks["teacher"]
    assert not any(parameter.requires_grad for parameter in teacher.parameters())
    before = [parameter.clone() for parameter in teacher.parameters()]
    method.update_teacher(0.9)
    for old, new, current in zip(before, teacher.parameters(), student.parameters(), strict=True):
        torch.testing.assert_close(new, 0.9 * old + 0.1 * current)


def test_mean_teacher_ramps_that_overlap_are_refused(synthetic_train_data):
    values = method_values("mean_teacher", rampup_fraction=0.6, rampdown_fraction=0.5)
    with pytest.raises(ConfigError, match="rampup_fraction \\+ rampdown_fraction is 1.1"):
        create_method("mean_teacher", values, synthetic_train_data.info)


def test_the_ema_warm_up_follows_one_minus_one_over_n_then_the_decay():
    """After n averaged updates the decay is min(decay, 1 - 1 / (n + 1)): the first step's weights
    fade at once instead of weighing 0.999^k after k steps."""
    from torch.optim.swa_utils import AveragedModel

    from medssl.methods.fixmatch.method import warmed_up_ema

    student = torch.nn.Linear(1, 1, bias=False)
    ema = AveragedModel(student, multi_avg_fn=warmed_up_ema(0.6), use_buffers=True)
    expected = []
    for step, weight in enumerate([1.0, 2.0, 3.0, 4.0]):
        student.weight.data.fill_(weight)
        ema.update_parameters(student)
        if step == 0:
            expected.append(weight)  # the first update copies
        else:
            decay = min(0.6, 1 - 1 / (step + 1))  # 0.5, then 0.6 (1 - 1/3 = 0.67 is capped)
            expected.append(decay * expected[-1] + (1 - decay) * weight)
        assert ema.module.weight.item() == pytest.approx(expected[-1])
    assert expected == pytest.approx([1.0, 1.5, 2.1, 2.86])
