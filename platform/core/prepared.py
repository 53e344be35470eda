"""Querysets compiled to SQL once per process, for the hottest reads.

Building and compiling a queryset costs the ORM about as much CPU as the database spends answering
a small query (measured on the free-slot reads: 0.8 ms for a doctor by id, 2.3 ms for a day of free
slots, against 0.2 ms to run the same SQL). ``PreparedQuery`` keeps the ORM as the one place a read is
written: it builds the queryset once with placeholder values, compiles it, remembers where each
placeholder landed among the SQL parameters, and then runs that SQL with the real values, converting
the result columns exactly as the ORM does (``values_list`` rows: tuples).

Only parameters declared as placeholders vary; every other parameter (statuses, flags) is frozen into
the compiled query: on PostgreSQL written into its SQL as a literal (a string, an integer or a boolean;
others stay parameters with their fixed value). That is what lets PostgreSQL plan a prepared statement
once: a generic plan can use a partial index (``WHERE status = 'pending_payment'``) only when the
statement names the status itself, and without one PostgreSQL found the generic plan dearer and planned
the statement again on every run. A queryset whose *shape* depends on something else (a setting) gives
that to ``key`` so each variant is compiled on its own.

``PreparedJoin`` answers several such reads with one statement (one round trip, one statement for the
database to plan), and both run a read the way a hot read should (``run_read``): on PostgreSQL as a
statement prepared once per connection (parsed once, planned once PostgreSQL trusts a generic plan)
when the database's ``OPTIONS`` set psycopg's ``prepare_threshold`` (the settings do, unless
``DB_PREPARED_STATEMENTS=0``: only these statements bind on the server, Django's own cursors never prepare), and
without Django's per-request health-check ping (``CONN_HEALTH_CHECKS``): the statement itself is the
check. When it finds the connection gone, the connection is closed and the read runs once
more on a new one, which is what the ping would have done; a database that cannot be reached then
raises the usual error (the project's 503).
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Callable, Hashable

from django.core.exceptions import ImproperlyConfigured
from django.db import InterfaceError, OperationalError, connections
from django.db.models import QuerySet

from core.unavailable import database_unavailable

#: placeholder values no real parameter takes (ids far beyond any table; instants in 1901)
_INT_BASE = 7_391_208_364_512_000
_WHEN_BASE = dt.datetime(1901, 1, 1, 0, 0, 0, tzinfo=dt.UTC)
_STR_BASE = "\x01prepared-placeholder:"


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
    """``build(**placeholders)`` returns a ``values_list`` queryset; ``ints``, ``datetimes`` and ``strs``
    name its placeholders (strings: compared with ``=`` only, never searched with LIKE).
    ``rows(**values)`` runs it with the real values (aware datetimes)."""

    def __init__(
        self,
        build: Callable[..., QuerySet],
        *,
        ints: tuple[str, ...] = (),
        datetimes: tuple[str, ...] = (),
        strs: tuple[str, ...] = (),
        key: Callable[[], Hashable] = lambda: None,
        using: str = "default",
    ) -> None:
        self.build = build
        self.ints = ints
        self.datetimes = datetimes
        self.strs = strs
        self.key = key
        self.using = using
        self._compiled: dict[Hashable, _Compiled] = {}

    def _placeholders(self) -> dict:
        values: dict = {name: _INT_BASE + number for number, name in enumerate(self.ints)}
        for number, name in enumerate(self.datetimes):
            values[name] = _WHEN_BASE + dt.timedelta(seconds=number + 1, microseconds=number + 1)
        for number, name in enumerate(self.strs):
            values[name] = f"{_STR_BASE}{number}:{name}"
        return values

    def _adapt(self, connection, name: str, value):
        if name in self.datetimes:
            return connection.ops.adapt_datetimefield_value(value)
        return value

    def _binding(self, connection, placeholders: dict, params) -> list:
        adapted = [(name, self._adapt(connection, name, value)) for name, value in placeholders.items()]
        binding: list = []
        for param in params:
            name = next((name for name, value in adapted if type(param) is type(value) and param == value), None)
            binding.append(name if name is not None else _Frozen(param))
        missing = set(placeholders) - {name for name in binding if isinstance(name, str)}
        if missing:
            raise ImproperlyConfigured(f"placeholders {sorted(missing)} do not reach the SQL of {self.build!r}")
        return binding

    def _compile(self, connection) -> _Compiled:
        placeholders = self._placeholders()
        queryset = self.build(**placeholders)
        compiler = queryset.query.get_compiler(connection=connection)
        sql, params = compiler.as_sql()
        sql, binding = _frozen_inlined(connection, sql, self._binding(connection, placeholders, params))
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

    def statement(self, connection, values: dict) -> tuple[str, list]:
        """The compiled SQL and its parameters for ``values`` (compiled on first use)."""
        compiled = self.compiled(connection)
        return compiled.sql, self.params(connection, compiled, values)

    def rows(self, **values) -> list[tuple]:
        connection = connections[self.using]
        sql, params = self.statement(connection, values)
        return self.converted(connection, run_read(connection, sql, params))

    def converted(self, connection, rows: list) -> list[tuple]:
        """``rows`` of this query's SQL (run by the caller, e.g. inside a larger statement) with their
        columns converted as the ORM converts them."""
        return _converted(rows, self.compiled(connection).converters, connection)


_PARAMETER = re.compile(r"(%%|%s)")


def _frozen_inlined(connection, sql: str, binding: list) -> tuple[str, list]:
    """On PostgreSQL: ``sql`` with the frozen parameters that are strings, integers or booleans written
    in as literals, and the binding of the parameters left (see the module's doc). Elsewhere unchanged."""
    if connection.vendor != "postgresql":
        return sql, binding
    from psycopg import sql as pgsql

    connection.ensure_connection()
    pieces, left, items = [], [], iter(binding)
    for piece in _PARAMETER.split(sql):
        if piece == "%s":
            item = next(items)
            if isinstance(item, _Frozen) and isinstance(item.value, str | int | bool):
                value = item.value  # an enum member (a str or int subclass) as its plain value
                value = (
                    value if isinstance(value, bool) else str.__str__(value) if isinstance(value, str) else int(value)
                )
                # a literal as psycopg quotes it for this connection; a % in it doubled (no placeholder)
                pieces.append(pgsql.Literal(value).as_string(connection.connection).replace("%", "%%"))
                continue
            left.append(item)
        pieces.append(piece)
    if next(items, _MISSING) is not _MISSING:  # pragma: no cover - Django's SQL names each parameter once
        raise ImproperlyConfigured("the compiled SQL has fewer placeholders than parameters")
    return "".join(pieces), left


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


def hot_cursor(connection):
    """A cursor for a statement run on every request: on PostgreSQL with ``prepare_threshold`` set in
    the database's ``OPTIONS`` (``DB_PREPARED_STATEMENTS``), a server-side-binding cursor that prepares
    its statements on the connection (parsed once per connection, planned once PostgreSQL trusts a
    generic plan); else the connection's own. Django's own cursor binds the parameters into the SQL
    text on the client, so PostgreSQL parses and plans it on every run. Either way Django's wrapper
    (query log, execute wrappers, error translation) is around it."""
    if (
        connection.vendor != "postgresql"
        or connection.settings_dict["OPTIONS"].get("prepare_threshold") is None
        or connection.queries_logged  # DEBUG or a test counting queries: a prepared statement is logged without its SQL
    ):
        return connection.cursor()
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    with connection.wrap_database_errors:
        return connection._prepare_cursor(_preparing_cursor_class()(connection.connection))


def _fetch(connection, sql: str, params: list) -> list[tuple]:
    with hot_cursor(connection) as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


@functools.cache
def _preparing_cursor_class() -> type:
    from django.db.backends.postgresql.base import ServerBindingCursor

    class PreparingCursor(ServerBindingCursor):
        _query_cls = _remembered_query_class()

        def execute(self, query, params=None, *, prepare=None, binary=None):
            return super().execute(query, params, prepare=True, binary=binary)

    return PreparingCursor


#: hot statements' texts as psycopg converted them (``%s`` to ``$n``): ``(text, encoding)`` → its parts
_CONVERTED: dict[tuple[str, str], tuple] = {}
_CONVERTED_MAX = 256
_MISSING = object()


@functools.cache
def _remembered_query_class() -> type:
    """psycopg's query conversion, remembered per statement text for the hot cursor: psycopg caches it
    only for statements shorter than 4 kB with at most 50 parameters, and a few hot statements (a
    claim with the re-read of its slot, a booking's inserts as one statement) are longer; converting
    them again on every run costs more than the rest of their Python work. The hot statements are a few
    texts fixed per process; anything psycopg does not convert plainly is left to it."""
    from psycopg._queries import PostgresQuery

    class RememberedQuery(PostgresQuery):
        __slots__ = ()

        def convert(self, query, vars) -> None:
            if vars is None or not isinstance(query, str):
                return super().convert(query, vars)
            key = (query, getattr(self._tx, "encoding", None))
            known = _CONVERTED.get(key)
            if known is None:
                super().convert(query, vars)
                parts = tuple(getattr(self, name, _MISSING) for name in ("query", "_want_formats", "_order", "_parts"))
                if len(_CONVERTED) < _CONVERTED_MAX and _MISSING not in parts:  # another psycopg: not remembered
                    _CONVERTED[key] = parts
                return None
            self.query, self._want_formats, self._order, self._parts = known
            self.dump(vars)
            return None

    return RememberedQuery


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


def _attnames(model) -> tuple[str, ...]:
    return tuple(field.attname for field in model._meta.concrete_fields)


class PreparedInstance(PreparedQuery):
    """``PreparedQuery`` for one model instance with some of its relations, as ``select_related`` gives
    them: ``build(**placeholders)`` returns a queryset of ``model`` (filters and annotations, no
    ``values_list``), ``related`` names the relations to load with it (``"doctor"``, ``"doctor__user"``;
    a parent before its children; a null foreign key leaves the relation ``None``), ``extra`` the
    annotations to set as attributes. ``get(**values)`` answers the first row's instance, or None."""

    def __init__(
        self,
        build: Callable[..., QuerySet],
        *,
        model,
        related: tuple[str, ...] = (),
        extra: tuple[str, ...] = (),
        **kwargs,
    ) -> None:
        self.model = model
        self.extra = extra
        self.layout: list[tuple[str, type, tuple[str, ...], str]] = [("", model, _attnames(model), "")]
        for path in related:
            parent_path, _, name = path.rpartition("__")
            parent = next(entry[1] for entry in self.layout if entry[0] == parent_path)
            field = parent._meta.get_field(name)
            self.layout.append((path, field.related_model, _attnames(field.related_model), field.cache_name))
        columns = [f"{path}__{name}" if path else name for path, _, names, _ in self.layout for name in names]
        super().__init__(lambda **placeholders: build(**placeholders).values_list(*columns, *extra), **kwargs)

    def get(self, **values):
        rows = self.rows(**values)
        return self.instance(rows[0]) if rows else None

    def instance(self, row: tuple):
        """The instance of one converted row."""
        start, made = 0, {}
        for path, model, names, cache_name in self.layout:
            chunk = row[start : start + len(names)]
            start += len(names)
            pk_value = chunk[names.index(model._meta.pk.attname)]
            made[path] = None if pk_value is None else model.from_db(self.using, names, chunk)
            if path:
                parent = made[path.rpartition("__")[0]]
                if parent is not None:
                    parent._state.fields_cache[cache_name] = made[path]
        instance = made[""]
        for name, value in zip(self.extra, row[start:], strict=True):
            setattr(instance, name, value)
        return instance


class PreparedUpdate(PreparedQuery):
    """An UPDATE compiled once: ``build(**placeholders)`` returns ``(queryset, {field: value})`` as
    ``queryset.update(**values)`` would take them (plain values, no expressions); ``run(**values)``
    executes it and answers the number of rows changed. Values that vary must be placeholders."""

    def _compile(self, connection) -> _Compiled:
        from django.db.models import sql

        placeholders = self._placeholders()
        queryset, changes = self.build(**placeholders)
        query = queryset.query.chain(sql.UpdateQuery)
        query.add_update_values(changes)
        query.annotations = {}
        compiler = query.get_compiler(connection=connection)
        statement, params = compiler.as_sql()
        if query.related_updates or not statement:
            raise ImproperlyConfigured(f"{self.build!r} is not a single-table UPDATE")
        statement, binding = _frozen_inlined(connection, statement, self._binding(connection, placeholders, params))
        return _Compiled(statement, binding, [], 0)

    def run(self, **values) -> int:
        connection = connections[self.using]
        statement, params = self.statement(connection, values)
        with hot_cursor(connection) as cursor:
            cursor.execute(statement, params)
            return cursor.rowcount


class PreparedInsert:
    """The INSERT of one new ``model`` row as ``instance.save()`` writes it, its SQL built once per
    process: the model's local concrete fields (the primary key too when the instance has one, e.g.
    reserved from the table's sequence), each value from the field's ``pre_save(add=True)`` (``auto_now``
    and the like) prepared by ``get_db_prep_save``, as the ORM's insert compiler does. ``pre_save`` and
    ``post_save`` are sent as ``save()`` sends them (``before``, ``after``). For the hottest writes,
    where building and compiling the insert costs more than the database's work; ``statement`` gives
    the SQL to use inside a larger one (a data-modifying ``WITH`` on PostgreSQL). Models whose rows
    get database-computed columns back, or whose fields need their own SQL placeholders, are refused."""

    def __init__(self, model, *, using: str = "default") -> None:
        self.model = model
        self.using = using
        self._sql: dict[Hashable, str] = {}

    def fields(self, *, with_pk: bool) -> list:
        meta = self.model._meta
        return [field for field in meta.local_concrete_fields if with_pk or field is not meta.auto_field]

    def _compile(self, connection, with_pk: bool) -> str:
        meta = self.model._meta
        if list(meta.db_returning_fields) != [meta.pk]:
            raise ImproperlyConfigured(f"{self.model!r} gets columns back from an INSERT besides its key")
        fields = self.fields(with_pk=with_pk)
        if any(hasattr(field, "get_placeholder") for field in fields):
            raise ImproperlyConfigured(f"{self.model!r} has a field with its own SQL placeholder")
        quote = connection.ops.quote_name
        columns = ", ".join(quote(field.column) for field in fields)
        values = ", ".join(["%s"] * len(fields))
        return f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES ({values})"  # noqa: S608 - names only

    def statement(self, connection, instance, *, only_if: str = "") -> tuple[str, list]:
        """The INSERT (no ``RETURNING``) of ``instance`` and its parameters; runs the fields' ``pre_save``.
        ``only_if``: an SQL condition without parameters; the row is inserted only when it holds
        (``INSERT … SELECT … WHERE``)."""
        with_pk = instance.pk is not None
        key = (connection.vendor, with_pk, only_if)
        sql = self._sql.get(key)
        if sql is None:
            sql = self._compile(connection, with_pk)
            if only_if:
                head, _, values = sql.partition(" VALUES (")
                sql = f"{head} SELECT {values[:-1]} WHERE {only_if}"
            self._sql[key] = sql
        params = []
        for field in self.fields(with_pk=with_pk):
            value = field.pre_save(instance, add=True)
            if hasattr(value, "resolve_expression"):
                raise ImproperlyConfigured(f"{field!r}: an expression; save() this instance instead")
            params.append(field.get_db_prep_save(value, connection=connection))
        return sql, params

    def before(self, instance) -> None:
        from django.db.models.signals import pre_save

        pre_save.send(sender=type(instance), instance=instance, raw=False, using=self.using, update_fields=None)

    def after(self, instance, pk) -> None:
        """``instance`` is the row with primary key ``pk`` now: its state as after ``save()``, and
        ``post_save`` sent."""
        from django.db.models.signals import post_save

        instance.pk = pk
        instance._state.adding = False
        instance._state.db = self.using
        post_save.send(
            sender=type(instance), instance=instance, created=True, update_fields=None, raw=False, using=self.using
        )

    def insert(self, instance, *, suffix: str = "") -> bool:
        """Insert ``instance`` (``suffix``: e.g. ``ON CONFLICT (…) DO NOTHING``); False when that made
        no row (``post_save`` is then not sent), else ``instance`` has its key as after ``save()``."""
        connection = connections[self.using]
        self.before(instance)
        sql, params = self.statement(connection, instance)
        pk = connection.ops.quote_name(self.model._meta.pk.column)
        with hot_cursor(connection) as cursor:
            cursor.execute(f"{sql} {suffix} RETURNING {pk}", params)
            row = cursor.fetchone()
        if row is None:
            return False
        self.after(instance, row[0])
        return True


@functools.cache
def insert_for(model, using: str = "default") -> PreparedInsert:
    """The process's one ``PreparedInsert`` of ``model`` on database ``using``."""
    return PreparedInsert(model, using=using)
