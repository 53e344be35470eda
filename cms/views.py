"""The public site's views outside the page tree: the way into the doctor directory, site search and
robots.txt."""

from __future__ import annotations

from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_safe
from wagtail.models import Page

from cms import selectors
from cms.forms import FILTER_NAMES
from cms.models import DoctorDirectoryPage, directory_context
from cms.templatetags.cms_tags import served_home

SEARCH_PER_PAGE = 10
DEFAULT_PER_PAGE = DoctorDirectoryPage._meta.get_field("per_page").default
MAX_QUERY_LENGTH = 200

#: areas that are not public content: nothing there for a search engine to index
ROBOTS_DISALLOW = ("/admin/", "/cms/", "/portal/", "/accounts/", "/api/", "/_allauth/", "/i18n/", "/search/")


@require_safe
def find_a_doctor(request):
    """Every "Find a doctor" link (the header, the portal's old ``/portal/doctors/``) leads to the one
    directory: the published directory page, with the filters kept. Before a directory page is
    published, the same directory is served here."""
    directory = selectors.directory_page(home=served_home(request))
    if directory is not None:
        url = directory.get_url(request)
        query = urlencode({name: request.GET[name] for name in FILTER_NAMES + ("page",) if request.GET.get(name)})
        return redirect(f"{url}?{query}" if query else url)
    context = directory_context(request, per_page=DEFAULT_PER_PAGE)
    response = TemplateResponse(request, "cms/doctor_directory_page.html", context)
    patch_vary_headers(response, ("Cookie", "Accept-Language"))
    return response


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
