"""Datasets: the catalogue, downloads, loaders, the labelled-budget split and the prepared files."""
