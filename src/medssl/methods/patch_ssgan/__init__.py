"""The patch_ssgan method: see method.py."""
