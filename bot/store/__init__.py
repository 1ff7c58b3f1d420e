"""Embedded SQLite storage (aiosqlite). All SQL of the project lives in this package.

Open with `open_db(path)`, then build the repositories on the `Database`:
`SqliteWorkOrderRepo`, `SqliteEnterpriseRepo`, `SqlitePeopleRepo`. Callers depend on the
`WorkOrderRepo` / `EnterpriseRepo` / `PeopleRepo` Protocols, so tests can pass fakes.
"""

from bot.store.db import Database, MigrationError, StoreError, open_db
from bot.store.orders import ConcurrentUpdate, OrderNotFound, SqliteWorkOrderRepo, WorkOrderRepo
from bot.store.people import (
    Enterprise,
    EnterpriseRepo,
    IdentityConflict,
    PeopleRepo,
    Person,
    SqliteEnterpriseRepo,
    SqlitePeopleRepo,
)

__all__ = [
    "ConcurrentUpdate",
    "Database",
    "Enterprise",
    "EnterpriseRepo",
    "IdentityConflict",
    "MigrationError",
    "OrderNotFound",
    "PeopleRepo",
    "Person",
    "SqliteEnterpriseRepo",
    "SqlitePeopleRepo",
    "SqliteWorkOrderRepo",
    "StoreError",
    "WorkOrderRepo",
    "open_db",
]
