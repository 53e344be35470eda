"""A page's specific form (``page.specific``) for the site's own page types, read with SQL compiled once
per process (issue 19).

Routing a public request turns each page on the way (the language's home, then the page served)
into its specific type: Wagtail's ``get_specific`` reads the row with
``model_class._default_manager.get(id=...)``, building and compiling that queryset every time.
``install()`` answers that read for this app's page models from the same queryset compiled once
(``core.prepared``); everything else ``get_specific`` does (copying the generic page's attributes, the
deferred and missing-class cases, other apps' models) stays Wagtail's. The row is read on every
call: nothing is kept between reads.
"""

from __future__ import annotations

from core.prepared import PreparedInstance

_queries: dict[type, PreparedInstance] = {}


def _prepared(model) -> PreparedInstance:
    query = _queries.get(model)
    if query is None:
        query = _queries[model] = PreparedInstance(
            lambda *, page_id: model._default_manager.filter(pk=page_id).order_by(), model=model, ints=("page_id",)
        )
    return query


def _handled(model) -> bool:
    """This app's concrete page models whose default manager reads whole rows (no deferred fields)."""
    if model is None or model._meta.app_label != "cms" or model._meta.abstract or model._meta.proxy:
        return False
    query = model._default_manager.all().query
    fields, defer = query.deferred_loading
    return not fields and defer and not query.select_related


def install() -> None:
    """Route ``Page.get_specific``'s read of this app's page rows through compiled queries
    (``CmsConfig.ready``)."""
    from wagtail.models import Page

    get_specific = Page.get_specific
    if getattr(get_specific, "compiled_reads", False):
        return
    handled: dict[type, bool] = {}

    def compiled_get_specific(self, deferred=False, copy_attrs=None, copy_attrs_exclude=None):
        model = self.specific_class
        if deferred or model is None or isinstance(self, model):
            return get_specific(self, deferred, copy_attrs, copy_attrs_exclude)
        if model not in handled:
            handled[model] = _handled(model)
        if not handled[model]:
            return get_specific(self, deferred, copy_attrs, copy_attrs_exclude)
        specific = _prepared(model).get(page_id=self.id)
        if specific is None:
            raise model.DoesNotExist(f"{model._meta.object_name} matching query does not exist.")
        # Wagtail's copy of the generic page's non-field attributes (wagtail/models/specific.py)
        if copy_attrs is not None:
            for attr in (attr for attr in copy_attrs if attr in self.__dict__):
                setattr(specific, attr, getattr(self, attr))
        else:
            exclude = copy_attrs_exclude or ()
            for key, value in ((k, v) for k, v in self.__dict__.items() if k not in exclude):
                specific.__dict__.setdefault(key, value)
        return specific

    compiled_get_specific.compiled_reads = True
    compiled_get_specific.__doc__ = get_specific.__doc__
    Page.get_specific = compiled_get_specific
