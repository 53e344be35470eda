"""The public site's views outside the page tree: site search and robots.txt."""

from __future__ import annotations

from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_safe
from wagtail.models import Page

from cms import selectors
from cms.templatetags.cms_tags import served_home

SEARCH_PER_PAGE = 10
MAX_QUERY_LENGTH = 200

#: areas that are not public content: nothing there for a search engine to index
ROBOTS_DISALLOW = ("/admin/", "/cms/", "/portal/", "/accounts/", "/api/", "/_allauth/", "/i18n/", "/search/")


@require_safe
def search(request):
    """Search the public pages of the language being shown (Wagtail's database search backend)."""
    query = request.GET.get("q", "").strip()[:MAX_QUERY_LENGTH]
    home = served_home(request)
    results = None
    if query and home is not None:
        paginator = Paginator(selectors.search_pages(root=home, query=query), SEARCH_PER_PAGE)
        results = paginator.get_page(request.GET.get("page"))
        # one query per page type on this page of results, for their summaries
        specific = Page.objects.filter(pk__in=[page.pk for page in results]).defer_streamfields().specific()
        by_pk = {page.pk: page for page in specific}
        results.object_list = [by_pk.get(page.pk, page) for page in results]
    response = TemplateResponse(
        request,
        "cms/search.html",
        {"query": query, "search_query": urlencode({"q": query}), "results": results, "home": home},
    )
    patch_vary_headers(response, ("Cookie", "Accept-Language"))
    return response


@require_safe
@cache_control(max_age=3600, public=True)
def robots_txt(request):
    lines = ["User-agent: *", *[f"Disallow: {path}" for path in ROBOTS_DISALLOW], ""]
    lines.append(f"Sitemap: {request.build_absolute_uri(reverse('sitemap'))}")
    return HttpResponse("\n".join(lines) + "\n", content_type="text/plain; charset=utf-8")
