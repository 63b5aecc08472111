"""The patch_resnet34 method: see method.py."""
