"""The pca_svm method: see method.py."""
