"""All tables. Every module in this package is imported here so Base.metadata is complete.

Add a new module per stage (``findings.py``, ``readiness.py`` …); it is picked up
automatically. Schema changes need an Alembic migration in ``db/migrations/versions``.
"""

import importlib
import pkgutil

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")
