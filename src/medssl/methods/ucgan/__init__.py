"""The ucgan method: see method.py."""
