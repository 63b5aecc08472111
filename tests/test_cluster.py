"""Pseudo-labelling: weighted distances, nearest centre, constrained k-means, the report, the
features network."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from conftest import config_from_params, cpu_run, method_values
from medssl.core.errors import ConfigError
from medssl.data.prepared import PseudoLabels
from medssl.methods.registry import create_method
from medssl.pipeline.cluster import ClusterConfig, assign_pseudo_labels, weighted_squared_distances
from medssl.pipeline.cluster_report import pseudo_label_report
from medssl.pipeline.features import FeatureExtractor, FeaturesConfig


def test_weighted_distances_match_the_definition():
    features = np.array([[0.0, 0.0], [1.0, 2.0]])
    centres = np.array([[1.0, 1.0], [3.0, 0.0]])
    weights = np.array([2.0, 0.5])
    # sum_d w_d (f_d - c_d)^2, by hand
    expected = np.array([[2 * 1 + 0.5 * 1, 2 * 9 + 0], [0 + 0.5 * 1, 2 * 4 + 0.5 * 4]])
    np.testing.assert_allclose(weighted_squared_distances(features, centres, weights), expected)


def test_feature_weights_change_which_centre_is_nearest():
    labelled = np.array([[0.0, 0.0], [4.0, 1.0]])
    point = np.array([[2.5, 0.0]])  # nearer class 1 along d0, nearer class 0 along d1
    config = config_from_params(ClusterConfig, "cluster", kmeans_iterations=0)
    even, _ = assign_pseudo_labels(
        labelled,
        np.array([0, 1]),
        point,
        feature_weights=np.array([1.0, 1.0]),
        num_classes=2,
        config=config,
    )
    ignore_d0, _ = assign_pseudo_labels(
        labelled,
        np.array([0, 1]),
        point,
        feature_weights=np.array([0.01, 1.0]),
        num_classes=2,
        config=config,
    )
    assert even.labels.tolist() == [1] and ignore_d0.labels.tolist() == [0]


def test_constrained_kmeans_moves_centres_towards_the_pool_and_keeps_class_identity():
    rng = np.random.default_rng(0)
    # One labelled image per class sits at the edge of its true cluster.
    labelled, labels = np.array([[-1.0, 0.0], [1.0, 0.0]]), np.array([0, 1])
    truth = np.repeat([0, 1], 200)
    pool = np.where(truth[:, None] == 0, [-3.0, 0.0], [3.0, 0.0]) + rng.normal(
        0, 0.8, size=(400, 2)
    )
    pool[:20, 0] += 1.9  # a few class-0 images drift over the labelled midpoint
    nearest, _ = assign_pseudo_labels(
        labelled,
        labels,
        pool,
        feature_weights=np.ones(2),
        num_classes=2,
        config=config_from_params(ClusterConfig, "cluster", kmeans_iterations=0),
    )
    refined, centres = assign_pseudo_labels(
        labelled,
        labels,
        pool,
        feature_weights=np.ones(2),
        num_classes=2,
        config=config_from_params(ClusterConfig, "cluster", kmeans_iterations=10),
    )
    assert (refined.labels == truth).mean() >= (nearest.labels == truth).mean()
    # the centres moved out to the clusters, in order
    assert centres[0, 0] < -2 and centres[1, 0] > 2
    assert np.all((refined.confidence >= 0.5) & (refined.confidence <= 1.0))


def test_report_counts_only_images_with_a_known_label():
    pseudo = PseudoLabels(np.array([0, 1, 1, 0]), np.array([0.95, 0.6, 0.8, 0.99]), np.zeros(4))
    hidden = np.array([0, 0, 1, -1])  # the last image has no true label
    report = pseudo_label_report(pseudo, hidden, ("a", "b"), thresholds=(0.9,))
    assert report["pseudo_label_accuracy"] == pytest.approx(2 / 3) and report["images"] == 3
    assert report["per_class_accuracy"] == {"a": 0.5, "b": 1.0}
    assert report["at_confidence"]["0.9"] == {"coverage": pytest.approx(1 / 3), "accuracy": 1.0}


@pytest.mark.slow
def test_feature_extractor_learns_and_embeds(synthetic_train_data):
    extractor = FeatureExtractor(
        config_from_params(FeaturesConfig, "features", iterations=60, batch_size=16),
        synthetic_train_data.info,
    )
    extractor.fit(synthetic_train_data, cpu_run(validations=4))
    embedded = extractor.embed(synthetic_train_data.val_x)
    assert embedded.shape == (len(synthetic_train_data.val_x), 64)
    assert np.all(extractor.feature_weights() > 0)
    accuracy = np.mean(
        extractor.predict_proba(synthetic_train_data.val_x).argmax(1) == synthetic_train_data.val_y
    )
    assert accuracy >= 0.8, (
        f"the eq. 1 classifier reached only {accuracy:.2f} on the synthetic task"
    )


def test_missing_pretrained_weights_are_a_config_error(synthetic_train_data, tmp_path: Path):
    extractor = FeatureExtractor(
        config_from_params(
            FeaturesConfig, "features", pretrained_weights=str(tmp_path / "none.pt")
        ),
        synthetic_train_data.info,
    )
    with pytest.raises(ConfigError, match="none.pt' does not exist"):
        extractor.build_networks()


def test_plabgan_uses_only_confident_pseudo_labels(synthetic_train_data):
    method = create_method(
        "plabgan",
        method_values("plabgan", pseudo_label_threshold=0.8, pseudo_label_weight=0.5),
        synthetic_train_data.info,
    )
    labels, weights = method.unlabelled_targets(synthetic_train_data)
    confident = synthetic_train_data.pseudo_labels.confidence >= 0.8
    np.testing.assert_array_equal(labels, synthetic_train_data.pseudo_labels.labels)
    np.testing.assert_array_equal(weights, np.where(confident, 0.5, 0.0))
    assert 0 < confident.sum() < len(confident)


def test_an_all_labelled_budget_leaves_an_empty_pool_that_every_cluster_step_accepts(
    synthetic_train_data,
):
    """labels_per_class -1: every training image is labelled, so the pool is empty."""
    extractor = FeatureExtractor(
        config_from_params(FeaturesConfig, "features"), synthetic_train_data.info
    )
    extractor.prepare(synthetic_train_data, cpu_run())
    empty_images = synthetic_train_data.labelled_x[:0]
    assert extractor.embed(empty_images).shape == (0, 64)
    labelled = extractor.embed(synthetic_train_data.labelled_x)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no mean of an empty slice
        pseudo, _ = assign_pseudo_labels(
            labelled,
            synthetic_train_data.labelled_y,
            extractor.embed(empty_images),
            feature_weights=extractor.feature_weights(),
            num_classes=synthetic_train_data.info.num_classes,
            config=config_from_params(ClusterConfig, "cluster"),
        )
        report = pseudo_label_report(pseudo, np.zeros(0, dtype=np.int64), ("a", "b", "c"))
    assert len(pseudo.labels) == 0 and report["images"] == 0
    assert np.isnan(report["pseudo_label_accuracy"])


def test_the_report_says_there_are_no_pseudo_labels_when_every_image_is_labelled():
    from medssl.pipeline.report import pseudo_label_markdown

    empty = {"images": 0, "pseudo_label_accuracy": None, "per_class_accuracy": {"a": None}}
    assert "none, every training image is labelled" in pseudo_label_markdown(empty)
