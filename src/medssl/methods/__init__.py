"""Methods: one folder per registered method (``methods/<name>/method.py``), code several methods
share in ``methods/shared/``, the interface in ``base.py``, the step loop in ``loop.py`` and the
lookup by name in ``registry.py``. Nothing here is imported on its own, so a stage imports only the
methods it runs."""
