"""The ssgan method: see method.py."""
