"""Wagtail's site-for-host lookup, compiled to SQL once per process (issue 19).

Every public page asks Wagtail which ``Site`` answers the request's host and port
(``Site.find_for_request``, once per request). Wagtail builds and compiles the same queryset each time
(a ``CASE`` ranking the candidate sites, with the root page joined), which costs more CPU than the
database spends answering it. ``install()`` answers ``wagtail.models.sites.get_site_for_hostname`` from
the very same queryset compiled once (``core.prepared``), with Wagtail's own choice among the rows.
Nothing is cached across requests: every call reads the sites table, so a site added, changed or
removed is seen by the next request.
"""

from __future__ import annotations

from django.db.models import Case, IntegerField, Q, When

from core.prepared import PreparedInstance


def _sites_for_host(*, hostname: str, port: int):
    """Wagtail's queryset of ``get_site_for_hostname`` (wagtail/models/sites.py), unchanged."""
    from wagtail.models import Site
    from wagtail.models.sites import MATCH_DEFAULT, MATCH_HOSTNAME, MATCH_HOSTNAME_DEFAULT, MATCH_HOSTNAME_PORT

    return (
        Site.objects.annotate(
            match=Case(
                When(hostname=hostname, port=port, then=MATCH_HOSTNAME_PORT),
                When(hostname=hostname, is_default_site=True, then=MATCH_HOSTNAME_DEFAULT),
                When(is_default_site=True, then=MATCH_DEFAULT),
                default=MATCH_HOSTNAME,
                output_field=IntegerField(),
            )
        )
        .filter(Q(hostname=hostname) | Q(is_default_site=True))
        .order_by("match")
    )


#: the compiled query per port (a port is frozen into the SQL: Django drops an out-of-range integer
#: such as ``core.prepared``'s placeholder from the SQL); a server answers on one port or a few
_queries: dict[int, PreparedInstance] = {}
_MAX_PORTS = 8


def _prepared(port: int) -> PreparedInstance | None:
    query = _queries.get(port)
    if query is None and len(_queries) < _MAX_PORTS:
        from wagtail.models import Site

        query = _queries[port] = PreparedInstance(
            lambda *, hostname: _sites_for_host(hostname=hostname, port=port),
            model=Site,
            related=("root_page",),
            extra=("match",),
            strs=("hostname",),
        )
    return query


def get_site_for_hostname(hostname, port):
    """The ``Site`` for ``hostname`` and ``port``, chosen exactly as Wagtail chooses it (its
    ``get_site_for_hostname``), from SQL compiled once."""
    from wagtail.models import Site
    from wagtail.models.sites import MATCH_DEFAULT, MATCH_HOSTNAME_DEFAULT, MATCH_HOSTNAME_PORT

    try:
        port_number = int(port)
    except (TypeError, ValueError):
        return _wagtail_get_site_for_hostname(hostname, port)  # Wagtail's own answer (or error)
    query = _prepared(port_number)
    if query is None:  # more ports than this process compiles queries for
        return _wagtail_get_site_for_hostname(hostname, port)
    sites = [query.instance(row) for row in query.rows(hostname=hostname)]
    if sites:
        if len(sites) == 1 or sites[0].match in (MATCH_HOSTNAME_PORT, MATCH_HOSTNAME_DEFAULT):
            return sites[0]
        if sites[0].match == MATCH_DEFAULT:
            return sites[len(sites) == 2]
    raise Site.DoesNotExist()


_wagtail_get_site_for_hostname = None


def install() -> None:
    """Route Wagtail's site lookup through the compiled query (``CmsConfig.ready``)."""
    global _wagtail_get_site_for_hostname
    from wagtail.models import sites

    if sites.get_site_for_hostname is get_site_for_hostname:
        return
    _wagtail_get_site_for_hostname = sites.get_site_for_hostname
    sites.get_site_for_hostname = get_site_for_hostname
