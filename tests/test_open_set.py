"""MCGAN / AnoGAN: the batched variation-score search and the open-set evaluation on a known/unknown split."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from medssl.data.split import SplitConfig, make_split
from medssl.losses import variation_loss
from medssl.methods import create_method
from medssl.models.dcgan import DCGANDiscriminator, DCGANGenerator
from medssl.variation_score import SearchSettings, search_latents
from conftest import cpu_run, train_data_from

TINY = {"iterations": 6, "batch_size": 8, "score_steps": 4, "validation_images_per_class": 6}


def test_variation_loss_by_hand():
    images, generated = torch.ones(1, 1, 2, 2), torch.zeros(1, 1, 2, 2)
    features = lambda x: x.flatten(1)[:, :2] * 2  # noqa: E731 - a stand-in for f(.)
    # residual 4, feature difference |2 - 0| * 2 = 4: 0.8 * 4 + 0.2 * 4
    assert variation_loss(images, generated, features(images), features, 0.2).item() == 4.0


def test_batched_search_equals_one_image_at_a_time():
    torch.manual_seed(0)
    generator, discriminator = DCGANGenerator(1, 8, latent_dim=4), DCGANDiscriminator(1, 8)
    images = torch.rand(5, 1, 8, 8) * 2 - 1
    batched, _ = search_latents(generator, discriminator, images, SearchSettings(steps=5, batch_size=5), seed=1)
    single, _ = search_latents(generator, discriminator, images, SearchSettings(steps=5, batch_size=1), seed=1)
    # The same searches, only batched differently: equal up to float rounding in the convolutions.
    torch.testing.assert_close(batched, single, rtol=1e-4, atol=1e-4)
    assert all(p.requires_grad for p in generator.parameters())  # the search leaves the networks trainable


def test_open_set_metrics_on_a_known_unknown_split(synthetic_raw, tmp_path: Path):
    split = make_split(synthetic_raw, SplitConfig(labels_per_class=20, known_classes=(0, 1), unknown_classes=(2,)))
    restricted = train_data_from(synthetic_raw, labels_per_class=20)
    info = restricted.info.__class__(**{**restricted.info.__dict__, "label_names": ("class_0", "class_1"),
                                        "known_classes": (0, 1), "unknown_names": ("class_2",)})
    data = restricted.__class__(split.labelled.images, split.labelled.labels, split.unlabelled_images,
                                split.val.images, split.val.labels, info)
    for name in ("anogan", "mcgan"):
        method = create_method(name, TINY, info)
        method.fit(data, cpu_run())
        extras = method.evaluation_extras(split.test, split.val, split.test_unknown, split.val_unknown, tmp_path, 0)
        for key in ("auc_class_0_gan", "auc_class_1_gan", "unknown_auc", "unknown_accuracy", "three_way_accuracy"):
            assert 0.0 <= extras[key] <= 1.0, (name, key, extras[key])
        assert (tmp_path / "open_set_roc_seed0.png").stat().st_size > 0
        assert (tmp_path / "reconstructions_seed0.png").stat().st_size > 0
        probabilities = method.predict_proba(split.test.images)
        assert probabilities.shape == (len(split.test), 2)
        np.testing.assert_allclose(probabilities.sum(axis=1), 1.0)
