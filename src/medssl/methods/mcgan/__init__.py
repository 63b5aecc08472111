"""The mcgan method: see method.py."""
