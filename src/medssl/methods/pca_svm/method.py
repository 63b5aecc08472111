"""PCA + SVM, the PLAB-GAN paper's "PCA-based semi-supervised method" baseline.

The paper gives no details. Its semi-supervised part is taken here as the classic one: the PCA
basis is fitted without labels on the labelled and unlabelled images together, then an RBF SVM is
trained on the labelled images' PCA coordinates. C is chosen on the validation split.

Scores: the SVM's decision values through a logistic (binary) or softmax (multi-class). They rank
exactly like Platt-scaled probabilities, so AUC is the same, and their argmax is the SVM's own
prediction; Platt scaling's internal 5-fold fit is unstable with a handful of labels per class.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import joblib
import numpy as np
import torch
from scipy.special import expit, softmax
from sklearn.decomposition import PCA
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from medssl.core.config import NonEmpty, OneOf, PositiveFloat, PositiveInt
from medssl.core.io import atomic_path
from medssl.core.metrics import selection_key, validation_metrics
from medssl.data.prepared import TrainData
from medssl.methods.base import HistoryRow, Method, RunContext
from medssl.methods.registry import register


@dataclass(frozen=True)
class PcaSvmConfig:
    n_components: PositiveInt
    fit_pca_on_unlabelled: bool
    max_pca_images: PositiveInt  # PCA on a seeded subsample beyond this, to bound memory
    kernel: Annotated[str, OneOf("linear", "poly", "rbf", "sigmoid")]
    c_grid: Annotated[tuple[PositiveFloat, ...], NonEmpty()]


def _flatten(images: np.ndarray) -> np.ndarray:
    return images.reshape(len(images), -1).astype(np.float32) / 127.5 - 1.0


@register("pca_svm")
class PcaSvm(Method[PcaSvmConfig]):
    config_class = PcaSvmConfig

    def fit(self, data: TrainData, run: RunContext) -> list[HistoryRow]:
        rng = np.random.default_rng(run.seed)
        pool = (
            np.concatenate([data.labelled_x, data.unlabelled_x])
            if self.config.fit_pca_on_unlabelled
            else data.labelled_x
        )
        if len(pool) > self.config.max_pca_images:
            pool = pool[np.sort(rng.choice(len(pool), self.config.max_pca_images, replace=False))]
        components = min(self.config.n_components, len(pool) - 1, pool[0].size)
        self.pca = PCA(n_components=components, random_state=run.seed).fit(_flatten(pool))
        self.scaler = StandardScaler().fit(self.pca.transform(_flatten(data.labelled_x)))
        labelled = self._embed(data.labelled_x)
        val = self._embed(data.val_x)
        history, best_key = [], None
        for step, c in enumerate(self.config.c_grid, start=1):
            candidate = SVC(C=c, kernel=self.config.kernel, decision_function_shape="ovr").fit(
                labelled, data.labelled_y
            )
            metrics = validation_metrics(data.val_y, self._scores(candidate, val))
            history.append({"step": float(step), "C": c, **metrics})
            key = selection_key(run.selection_metric, metrics)
            if best_key is None or key > best_key:  # strict: ties keep the smaller C
                best_key, self.svm = key, candidate
        return history

    def _embed(self, images: np.ndarray) -> np.ndarray:
        return self.scaler.transform(self.pca.transform(_flatten(images)))

    @staticmethod
    def _scores(svm: SVC, features: np.ndarray) -> np.ndarray:
        decision = svm.decision_function(features)
        if decision.ndim == 1:
            positive = expit(decision)
            return np.stack([1.0 - positive, positive], axis=1)
        return softmax(decision, axis=1)

    def predict_proba(self, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
        return self._scores(self.svm, self._embed(images))

    def save(self, directory: Path) -> None:
        # joblib is scikit-learn's own persistence; files are read back only from this pipeline's
        # outputs.
        with atomic_path(directory / "model.joblib") as temporary:
            joblib.dump({"pca": self.pca, "scaler": self.scaler, "svm": self.svm}, temporary)

    def load(self, directory: Path, device: torch.device) -> None:
        state = joblib.load(directory / "model.joblib")
        self.pca, self.scaler, self.svm = state["pca"], state["scaler"], state["svm"]
