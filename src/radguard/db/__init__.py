"""Storage: SQLAlchemy 2 models, sessions and Alembic migrations (SQLite and PostgreSQL)."""

from radguard.db.base import Base
from radguard.db.session import Database, open_database

__all__ = ["Base", "Database", "open_database"]
