"""The cgan_aug method: see method.py."""
