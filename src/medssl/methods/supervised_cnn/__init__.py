"""The supervised_cnn method: see method.py."""
