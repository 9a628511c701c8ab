"""Storage: the ORM models and the database handle (engine, sessions, migrations glue)."""
