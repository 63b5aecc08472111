"""medssl: a reproducible DVC benchmark for few-label medical image classification with
semi-supervised GANs and clustering. See README.md for the pipeline and dvc.yaml for its stages."""

__version__ = "0.1.0"
