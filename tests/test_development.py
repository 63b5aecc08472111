"""The development split: pool images with their hidden labels, taken out of what training sees."""

from __future__ import annotations

import numpy as np
import pytest

from medssl.pipeline.development import development_split


def test_development_images_leave_the_pool_with_their_pseudo_labels(synthetic_train_data):
    data = synthetic_train_data
    hidden = np.arange(len(data.unlabelled_x)) % data.num_classes  # stand-in hidden labels
    training, development = development_split(data, hidden, per_class=3)
    assert np.bincount(development.labels).tolist() == [3] * data.num_classes
    assert len(training.unlabelled_x) == len(data.unlabelled_x) - 3 * data.num_classes
    pool = {image.tobytes() for image in training.unlabelled_x}
    assert not any(image.tobytes() in pool for image in development.images)
    # each kept pool image keeps its own pseudo-label
    rows = [
        next(i for i, image in enumerate(data.unlabelled_x) if np.array_equal(image, kept))
        for kept in training.unlabelled_x[:5]
    ]
    np.testing.assert_array_equal(
        training.pseudo_labels.labels[:5], data.pseudo_labels.labels[rows]
    )
    np.testing.assert_array_equal(training.labelled_x, data.labelled_x)


def test_a_pool_too_small_for_the_split_is_one_line(synthetic_train_data):
    hidden = np.zeros(len(synthetic_train_data.unlabelled_x), dtype=np.int64)
    with pytest.raises(ValueError, match="the pool has 0 images of class"):
        development_split(synthetic_train_data, hidden, per_class=1)
