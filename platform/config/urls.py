from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from wagtail import urls as wagtail_urls
from wagtail.admin import urls as wagtailadmin_urls
from wagtail.contrib.sitemaps.views import sitemap
from wagtail.documents import urls as wagtaildocs_urls

from accounts import views as account_views
from cms import views as cms_views
from config.api_fhir import fhir_api
from config.api_v1 import api
from core.views import api_accounts_docs, api_not_found, favicon, healthz

# Database down: 503 with Retry-After (JSON under /api/); anything else: a plain 500 (core.unavailable).
handler500 = "core.views.server_error"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    # Both staff logins go through allauth so that MFA cannot be side-stepped.
    path("admin/login/", account_views.staff_area_login, {"area": "admin"}, name="admin_login_redirect"),
    path("cms/login/", account_views.staff_area_login, {"area": "cms"}, name="cms_login_redirect"),
    path("admin/", admin.site.urls),
    path("cms/", include(wagtailadmin_urls)),
    path("documents/", include(wagtaildocs_urls)),
    path("accounts/", include("allauth.urls")),
    path("accounts/home/", account_views.accounts_home, name="accounts_home"),
    # sign-in codes over the app/browser API: by SMS to a patient's number only, as on the HTML page
    *(
        path(
            f"_allauth/{client}/v1/auth/code/request",
            account_views.PhoneLoginCodeView.as_api_view(client=client),
            name=f"{client}_request_login_code_by_phone",
        )
        for client in ("app", "browser")
    ),
    path("_allauth/", include("allauth.headless.urls")),
    path("api/v1/docs/accounts", api_accounts_docs, name="api_accounts_docs"),
    path("api/v1/", api.urls),
    path("api/fhir/", fhir_api.urls),
    re_path(r"^api/", api_not_found),  # unknown API paths answer in the API's JSON error shape
    path("i18n/setlang/", account_views.set_language, name="set_language"),
    path("portal/", include("portal.urls")),
    path("join/", include("portal.urls_join")),
    path(
        "calendar/", include("workflows.operations.urls")
    ),  # private calendar feeds (secret links)  # the public doctor application form
    path("board/", include("workflows.operations.urls_board")),  # waiting-room queue boards (secret links)
    # the public site's own views; its pages are served by Wagtail below
    path("hooks/sms/", include("workflows.messaging.urls")),  # SMS providers: status reports, STOP replies
    path("sitemap.xml", sitemap, name="sitemap"),
    path("robots.txt", cms_views.robots_txt, name="robots_txt"),
    # browsers and feed readers ask for /favicon.ico whatever the page says: the clinic's logo
    path("favicon.ico", favicon, name="favicon"),
    path("search/", cms_views.search, name="search"),
    path("find-a-doctor/", cms_views.find_a_doctor, name="find_a_doctor"),  # → the directory page
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

# Wagtail serves every other path: the public site.
urlpatterns.append(path("", include(wagtail_urls)))
