"""The plabgan method: see method.py."""
