"""The ssldec method: see method.py."""
