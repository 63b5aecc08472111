"""The patch_convnet method: see method.py."""
