"""The resnet method: see method.py."""
