"""Alembic environment: always run programmatically by records.migrate, on a connection it
opened and locked (see records.migrate), never from an alembic.ini."""

from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
