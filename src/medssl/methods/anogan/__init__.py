"""The anogan method: see method.py."""
