"""Querysets compiled to SQL once per process, for the hottest reads.

Building and compiling a queryset costs the ORM about as much CPU as the database spends answering
a small query (measured on the free-slot reads: 0.8 ms for a doctor by id, 2.3 ms for a day of free
slots, against 0.2 ms to run the same SQL). ``PreparedQuery`` keeps the ORM as the one place a read is
written: it builds the queryset once with placeholder values, compiles it, remembers where each
placeholder landed among the SQL parameters, and then runs that SQL with the real values, converting
the result columns exactly as the ORM does (``values_list`` rows: tuples).

Only parameters declared as placeholders vary; every other parameter (statuses, flags) is frozen into
the compiled query. A queryset whose *shape* depends on something else (a setting) gives that to
``key`` so each variant is compiled on its own.

``PreparedJoin`` answers several such reads with one statement (one round trip, one statement for the
database to plan), and both run a read the way a hot read should (``run_read``): on PostgreSQL as a
statement prepared once per connection (parsed once, planned once PostgreSQL trusts a generic plan)
when the database's ``OPTIONS`` set psycopg's ``prepare_threshold`` (the settings do, unless
``DB_PREPARED_READS=0``: only these reads bind on the server, Django's own cursors never prepare), and
without Django's per-request health-check ping (``CONN_HEALTH_CHECKS``): the statement itself is the
check. When it finds the connection gone, the connection is closed and the read runs once
more on a new one, which is what the ping would have done; a database that cannot be reached then
raises the usual error (the project's 503).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Hashable

from django.core.exceptions import ImproperlyConfigured
from django.db import InterfaceError, OperationalError, connections
from django.db.models import QuerySet

from core.unavailable import database_unavailable

#: placeholder values no real parameter takes (ids far beyond any table; instants in 1901)
_INT_BASE = 7_391_208_364_512_000
_WHEN_BASE = dt.datetime(1901, 1, 1, 0, 0, 0, tzinfo=dt.UTC)


class _Frozen:
    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value


class _Compiled:
    __slots__ = ("sql", "binding", "converters", "width")

    def __init__(self, sql: str, binding: list, converters: list, width: int) -> None:
        self.sql = sql
        self.binding = binding  # per SQL parameter: a placeholder's name, or a _Frozen constant
        self.converters = converters  # [(column index, [converter functions], expression)]
        self.width = width  # the columns the SQL answers (all of them wanted: see _compile)


class PreparedQuery:
    """``build(**placeholders)`` returns a ``values_list`` queryset; ``ints`` and ``datetimes`` name its
    placeholders. ``rows(**values)`` runs it with the real values (aware datetimes)."""

    def __init__(
        self,
        build: Callable[..., QuerySet],
        *,
        ints: tuple[str, ...] = (),
        datetimes: tuple[str, ...] = (),
        key: Callable[[], Hashable] = lambda: None,
        using: str = "default",
    ) -> None:
        self.build = build
        self.ints = ints
        self.datetimes = datetimes
        self.key = key
        self.using = using
        self._compiled: dict[Hashable, _Compiled] = {}

    def _placeholders(self) -> dict:
        values: dict = {name: _INT_BASE + number for number, name in enumerate(self.ints)}
        for number, name in enumerate(self.datetimes):
            values[name] = _WHEN_BASE + dt.timedelta(seconds=number + 1, microseconds=number + 1)
        return values

    def _adapt(self, connection, name: str, value):
        if name in self.datetimes:
            return connection.ops.adapt_datetimefield_value(value)
        return value

    def _compile(self, connection) -> _Compiled:
        placeholders = self._placeholders()
        queryset = self.build(**placeholders)
        compiler = queryset.query.get_compiler(connection=connection)
        sql, params = compiler.as_sql()
        adapted = [(name, self._adapt(connection, name, value)) for name, value in placeholders.items()]
        binding: list = []
        for param in params:
            name = next((name for name, value in adapted if type(param) is type(value) and param == value), None)
            binding.append(name if name is not None else _Frozen(param))
        missing = set(placeholders) - {name for name in binding if isinstance(name, str)}
        if missing:
            raise ImproperlyConfigured(f"placeholders {sorted(missing)} do not reach the SQL of {self.build!r}")
        if len(compiler.select) != compiler.col_count:
            # the SQL selects columns that the ORM would drop from each row (an ordering it had to add)
            raise ImproperlyConfigured(f"{self.build!r} selects columns beyond its values_list")
        fields = [column[0] for column in compiler.select[: compiler.col_count]]
        converters = [
            (index, functions, expression) for index, (functions, expression) in compiler.get_converters(fields).items()
        ]
        return _Compiled(sql, binding, converters, compiler.col_count)

    def compiled(self, connection) -> _Compiled:
        key = (connection.vendor, self.key())
        compiled = self._compiled.get(key)
        if compiled is None:
            compiled = self._compiled[key] = self._compile(connection)
        return compiled

    def params(self, connection, compiled: _Compiled, values: dict) -> list:
        return [
            item.value if isinstance(item, _Frozen) else self._adapt(connection, item, values[item])
            for item in compiled.binding
        ]

    def rows(self, **values) -> list[tuple]:
        connection = connections[self.using]
        compiled = self.compiled(connection)
        rows = run_read(connection, compiled.sql, self.params(connection, compiled, values))
        return _converted(rows, compiled.converters, connection)


class PreparedJoin:
    """Several ``PreparedQuery`` as one statement: each row of the first part joined with each row of
    the next (``LEFT JOIN … ON 1 = 1``, so a part without rows gives NULLs in its columns and the first
    part decides whether there are rows at all), ordered by ``order_by`` (0-based column numbers of
    the joined row). For a read that needs a few small answers at once, e.g. a record, a settings row
    and a list that hangs off them. ``rows(**values)`` gives every part the values it declares."""

    def __init__(self, *parts: PreparedQuery, order_by: tuple[int, ...] = ()) -> None:
        if len({part.using for part in parts}) != 1:
            raise ImproperlyConfigured("the parts of a PreparedJoin must read one database")
        self.parts = parts
        self.order_by = order_by
        self.using = parts[0].using
        self._compiled: dict[Hashable, tuple[str, list, list]] = {}

    def _combine(self, connection) -> tuple[str, list, list]:
        froms, converters, width = [], [], 0
        for number, part in enumerate(self.parts):
            compiled = part.compiled(connection)
            alias = f"part{number}"
            froms.append(f"({compiled.sql}) {alias}" if number == 0 else f"LEFT JOIN ({compiled.sql}) {alias} ON 1 = 1")
            converters += [
                (width + index, functions, expression) for index, functions, expression in compiled.converters
            ]
            width += compiled.width
        sql = "SELECT * FROM " + " ".join(froms)  # noqa: S608 - compiled querysets, no values
        if self.order_by:
            sql += " ORDER BY " + ", ".join(str(column + 1) for column in self.order_by)
        return sql, [part.compiled(connection) for part in self.parts], converters

    def rows(self, **values) -> list[tuple]:
        connection = connections[self.using]
        key = (connection.vendor, tuple(part.key() for part in self.parts))
        combined = self._compiled.get(key)
        if combined is None:
            combined = self._compiled[key] = self._combine(connection)
        sql, parts, converters = combined
        params: list = []
        for part, compiled in zip(self.parts, parts, strict=True):
            params += part.params(connection, compiled, values)
        return _converted(run_read(connection, sql, params), converters, connection)


def _converted(rows: list[tuple], converters: list, connection) -> list[tuple]:
    """``rows`` with each column converted as the ORM converts it (``converters``: see ``_Compiled``)."""
    if not converters:
        return rows
    converted = []
    for row in rows:
        row = list(row)
        for index, functions, expression in converters:
            value = row[index]
            for function in functions:
                value = function(value, expression, connection)
            row[index] = value
        converted.append(tuple(row))
    return converted


def _fetch(connection, sql: str, params: list) -> list[tuple]:
    if connection.vendor != "postgresql" or connection.settings_dict["OPTIONS"].get("prepare_threshold") is None:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()
    # Django's own cursor binds the parameters into the SQL text on the client, so PostgreSQL parses
    # and plans the statement on every run; a cursor that binds on the server has psycopg prepare it
    # (prepare_threshold). Wrapped as Django wraps its cursors: query logging, execute wrappers and
    # Django's database errors apply.
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    with connection.wrap_database_errors:
        cursor = connection._prepare_cursor(_server_binding_cursor()(connection.connection))
    with cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


@functools.cache
def _server_binding_cursor() -> type:
    from django.db.backends.postgresql.base import ServerBindingCursor

    class PreparingCursor(ServerBindingCursor):
        def _send_query_prepared(self, name, pgq, *, binary=None):
            # psycopg keeps the statement it ran (which Django's query log shows) only when it did not
            # prepare it
            self._query = pgq
            return super()._send_query_prepared(name, pgq, binary=binary)

    return PreparingCursor


def run_read(connection, sql: str, params: list) -> list[tuple]:
    """The rows of a read-only statement, without the per-request health-check ping; a connection found
    lost is replaced and the read run once more (see the module's doc). Inside a transaction nothing
    is skipped or retried: the transaction's connection is the one to use."""
    if connection.in_atomic_block or connection.connection is None:
        return _fetch(connection, sql, params)
    connection.health_check_done = True  # this read is the check
    try:
        return _fetch(connection, sql, params)
    except (OperationalError, InterfaceError) as error:
        if not database_unavailable(error):
            raise
    connection.close()
    return _fetch(connection, sql, params)
