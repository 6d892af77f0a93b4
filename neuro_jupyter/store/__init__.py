"""The SQL job registry: SQLite by default, PostgreSQL by URL.

    from neuro_jupyter.store import JobStore

    store = JobStore(JobStore.default_url(jupyter_data_dir()))

Modules: ``tables`` (Core tables and column types), ``schema`` (engines,
SQLite pragmas, versioned schema), ``rows`` (records <-> rows), ``queries``
(listing in SQL), ``jobstore`` (the API).
"""

from __future__ import annotations

from .jobstore import JobStore
from .schema import SchemaVersionError
from .tables import SCHEMA_VERSION

__all__ = ["SCHEMA_VERSION", "JobStore", "SchemaVersionError"]
