"""The public site's pages and settings. Pages hold content; doctors, specialties and free slots are
read live from ``booking`` through selectors (``cms.selectors``), and booking links point into the
portal (``cms.links``)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.http import Http404
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext_lazy as _
from wagtail.admin.panels import FieldPanel, MultiFieldPanel
from wagtail.contrib.settings.models import BaseSiteSetting, register_setting
from wagtail.fields import RichTextField, StreamField
from wagtail.models import Locale, Page
from wagtail.search import index
from wagtail.url_routing import RouteResult

from cms.blocks import ContentStreamBlock, OpeningHoursBlock
from cms.panels import PublicAboutPanel, TranslationStatusPanel
from core.prepared import PreparedInstance


def _one_page_per_language(page: Page, field: str, message) -> None:
    """A doctor, specialty or facility has at most one page per language (the page's ``field``)."""
    value = getattr(page, f"{field}_id")
    if value is None:
        return
    others = type(page).objects.filter(**{f"{field}_id": value, "locale_id": page.locale_id})
    if page.pk:
        others = others.exclude(pk=page.pk)
    if others.exists():
        raise ValidationError({field: message})


class PublicPageMixin:
    """What every public page shares: SEO fallbacks, social preview data and per-language serving.

    The same address serves the page in the visitor's language (chosen with the language switcher),
    so responses vary with the cookie that carries it.
    """

    og_type = "website"

    def summary_text(self) -> str:
        return getattr(self, "intro", "") or ""

    def meta_description(self) -> str:
        return (self.search_description or self.summary_text()).strip()[:300]

    def social_image(self):
        return getattr(self, "image", None)

    def serve(self, request, *args, **kwargs):
        response = super().serve(request, *args, **kwargs)
        patch_vary_headers(response, ("Cookie", "Accept-Language"))
        return response

    def translation_source(self) -> Page | None:
        """This page in the default language, when this page is a translation of it."""
        default = Locale.get_default()
        if self.locale_id == default.pk:
            return None
        return Page.objects.filter(translation_key=self.translation_key, locale=default).first()

    def translation_is_stale(self) -> bool:
        """A translation whose source was published after the translation was last edited. The page
        listings annotate ``source_published_at`` (``cms.wagtail_hooks``); elsewhere one query."""
        if self.locale_id == Locale.get_default().pk:
            return False
        if hasattr(self, "source_published_at"):
            source_at = self.source_published_at
        else:
            source = self.translation_source()
            source_at = source.last_published_at if source is not None else None
        edited_at = self.latest_revision_created_at or self.last_published_at
        return bool(source_at and edited_at and source_at > edited_at)

    @property
    def status_string(self):
        """Wagtail's status ("live", "draft"...), with stale translations flagged in the listings."""
        status = super().status_string
        if self.translation_is_stale():
            return _("%(status)s · source changed") % {"status": status}
        return status


def _content_stream(verbose_name=None) -> StreamField:
    """The pages' shared body: rich text, images, calls to action and FAQs."""
    return StreamField(ContentStreamBlock(), blank=True, verbose_name=verbose_name or _("body"))


class HomePage(PublicPageMixin, Page):
    """The public site's home page, one per language at the root (translations are siblings)."""

    intro = models.CharField(_("intro"), max_length=300, blank=True)
    body = RichTextField(_("body"), blank=True)
    cta_label = models.CharField(_("button label"), max_length=60, blank=True, default="")
    sections = _content_stream(verbose_name=_("sections"))

    content_panels = [
        TranslationStatusPanel(),
        *Page.content_panels,
        FieldPanel("intro"),
        FieldPanel("cta_label"),
        FieldPanel("body"),
        FieldPanel("sections"),
    ]
    search_fields = [*Page.search_fields, index.SearchField("intro"), index.SearchField("body")]
    parent_page_types = ["wagtailcore.Page"]
    subpage_types = [
        "cms.DoctorDirectoryPage",
        "cms.SpecialtyIndexPage",
        "cms.FacilityIndexPage",
        "cms.ArticleIndexPage",
        "cms.StandardPage",
    ]
    max_count_per_parent = 1
    template = "cms/home_page.html"

    class Meta:
        verbose_name = _("home page")

    def route(self, request, path_components):
        """Route ``path_components`` in this language's tree; an address that only exists in another
        language's tree (an untranslated page, or a slug changed in one language) still finds its
        page. Either way the visitor gets the page's live translation in the active language, if any.

        Routing a request starts at the served home page (the site's root in the active language):
        ``cms_tags.served_home`` takes it from here rather than looking it up again."""
        if not hasattr(request, "_wagtail_route_for_request"):  # Page.route_for_request is routing
            request.__dict__.setdefault("_medbook_served_home", self)
        try:
            result = super().route(request, path_components)
        except Http404:
            result = None
            for home in HomePage.objects.live().filter(translation_key=self.translation_key).exclude(pk=self.pk):
                try:
                    result = Page.route(home, request, path_components)
                    break
                except Http404:
                    continue
            if result is None:
                raise
        page, args, kwargs = result
        translated = page.localized
        if translated.pk != page.pk:
            return RouteResult(translated.specific, args=args, kwargs=kwargs)
        return result

    def get_context(self, request, *args, **kwargs):
        from cms import selectors

        context = super().get_context(request, *args, **kwargs)
        context.update(selectors.home_sections(home=self))
        return context


class DoctorDirectoryPage(PublicPageMixin, Page):
    """Find a doctor: search by name or specialty, "available this week", one page at a time."""

    intro = models.CharField(_("intro"), max_length=300, blank=True)
    per_page = models.PositiveSmallIntegerField(
        _("doctors per page"), default=12, validators=[MinValueValidator(1), MaxValueValidator(50)]
    )

    content_panels = [TranslationStatusPanel(), *Page.content_panels, FieldPanel("intro"), FieldPanel("per_page")]
    search_fields = [*Page.search_fields, index.SearchField("intro")]
    parent_page_types = ["cms.HomePage"]
    subpage_types = ["cms.DoctorProfilePage"]
    max_count_per_parent = 1
    template = "cms/doctor_directory_page.html"

    class Meta:
        verbose_name = _("doctor directory")

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        context.update(directory_context(request, per_page=self.per_page))
        return context


def directory_context(request, *, per_page: int) -> dict:
    """The directory's search form and one page of result cards, for the directory page (and for
    ``cms.views.find_a_doctor`` while no directory page is published)."""
    from cms import selectors
    from cms.forms import DirectoryFilterForm

    form = DirectoryFilterForm(
        request.GET or None,
        specialties=selectors.active_specialties(),
        facilities=selectors.active_facilities(),
        today=timezone.localdate(),
    )
    filters = form.filters()
    return {
        "form": form,
        "filters": filters,
        "result": selectors.doctor_directory(per_page=per_page, **filters),
        "query_without_page": form.query_string(exclude=("page",)),
        "more_filters": form.active_filter_count(),
    }


class DoctorProfilePage(PublicPageMixin, Page):
    """A doctor's public profile. Name, specialties, languages, fee and free slots come from the
    booking ``Doctor`` (owned by the clinic admin); the page adds the editorial content."""

    doctor = models.ForeignKey("booking.Doctor", on_delete=models.PROTECT, related_name="+", verbose_name=_("doctor"))
    summary = models.CharField(
        _("summary"), max_length=300, blank=True, help_text=_("One or two sentences for listings and search results.")
    )
    image = models.ForeignKey(
        "wagtailimages.Image",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("photo"),
        help_text=_("Empty: the photo from the doctor's record."),
    )
    about = RichTextField(
        _("about"),
        blank=True,
        features=["bold", "italic", "link", "ol", "ul"],
        help_text=_(
            "The doctor's introduction in this page's language. Empty: the biography on the doctor's "
            "record is shown instead."
        ),
    )
    body = _content_stream(verbose_name=_("about the doctor"))

    content_panels = [
        TranslationStatusPanel(),
        *Page.content_panels,
        FieldPanel("doctor"),
        FieldPanel("summary"),
        FieldPanel("image"),
        FieldPanel("about"),
        PublicAboutPanel(heading=_("What visitors see under About")),
        FieldPanel("body"),
    ]
    search_fields = [
        *Page.search_fields,
        index.SearchField("summary"),
        index.SearchField("about"),
        index.SearchField("body"),
    ]
    parent_page_types = ["cms.DoctorDirectoryPage"]
    subpage_types: list[str] = []
    template = "cms/doctor_profile_page.html"
    og_type = "profile"

    class Meta:
        verbose_name = _("doctor profile")

    def summary_text(self) -> str:
        return self.summary

    def clean(self):
        super().clean()
        _one_page_per_language(self, "doctor", _("This doctor already has a profile page in this language."))

    def get_context(self, request, *args, **kwargs):
        from cms import selectors, seo

        context = super().get_context(request, *args, **kwargs)
        now = timezone.now()
        doctor = selectors.profile_doctor(doctor_id=self.doctor_id)
        bookable = selectors.doctor_is_bookable(doctor)
        specialty_pages = selectors.specialty_pages_for([specialty.pk for specialty in doctor.specialties.all()])
        rating = selectors.profile_rating(doctor)
        slot_days = selectors.profile_slot_days(doctor=doctor, now=now) if bookable else []
        context.update(
            doctor=doctor,
            initials=selectors.doctor_initials(doctor),
            tone=doctor.pk % selectors.PLACEHOLDER_TONES,
            specialty_links=[
                {"specialty": specialty, "page": specialty_pages.get(specialty.pk)}
                for specialty in doctor.specialties.all()
            ],
            bookable=bookable,
            slot_days=slot_days,
            next_free=slot_days[0].slots[0] if slot_days else None,
            languages=selectors.language_names(doctor.language_list),
            rating=rating,
            rating_comments=selectors.profile_comments(doctor),
            jsonld=seo.physician_jsonld(page=self, doctor=doctor, request=request, bookable=bookable, rating=rating),
        )
        return context


class SpecialtyIndexPage(PublicPageMixin, Page):
    intro = models.CharField(_("intro"), max_length=300, blank=True)

    content_panels = [TranslationStatusPanel(), *Page.content_panels, FieldPanel("intro")]
    parent_page_types = ["cms.HomePage"]
    subpage_types = ["cms.SpecialtyPage"]
    max_count_per_parent = 1
    template = "cms/specialty_index_page.html"

    class Meta:
        verbose_name = _("specialty index")

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        context["specialty_pages"] = (
            SpecialtyPage.objects.child_of(self).live().public().select_related("specialty").order_by("title")
        )
        return context


class SpecialtyPage(PublicPageMixin, Page):
    """A specialty's page, linked to the booking ``Specialty``; lists its active doctors."""

    specialty = models.ForeignKey(
        "booking.Specialty", on_delete=models.PROTECT, related_name="+", verbose_name=_("specialty")
    )
    intro = models.CharField(_("intro"), max_length=300, blank=True)
    image = models.ForeignKey(
        "wagtailimages.Image",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("image"),
    )
    body = _content_stream()

    content_panels = [
        TranslationStatusPanel(),
        *Page.content_panels,
        FieldPanel("specialty"),
        FieldPanel("intro"),
        FieldPanel("image"),
        FieldPanel("body"),
    ]
    search_fields = [*Page.search_fields, index.SearchField("intro"), index.SearchField("body")]
    parent_page_types = ["cms.SpecialtyIndexPage"]
    subpage_types: list[str] = []
    template = "cms/specialty_page.html"

    class Meta:
        verbose_name = _("specialty page")

    def clean(self):
        super().clean()
        _one_page_per_language(self, "specialty", _("This specialty already has a page in this language."))

    def get_context(self, request, *args, **kwargs):
        from cms import selectors

        context = super().get_context(request, *args, **kwargs)
        context["entries"] = selectors.specialty_entries(specialty_id=self.specialty_id)
        context["directory"] = DoctorDirectoryPage.objects.live().filter(locale_id=self.locale_id).first()
        return context


class FacilityIndexPage(PublicPageMixin, Page):
    """Our clinics: every facility page below it, by city."""

    intro = models.CharField(_("intro"), max_length=300, blank=True)

    content_panels = [TranslationStatusPanel(), *Page.content_panels, FieldPanel("intro")]
    parent_page_types = ["cms.HomePage"]
    subpage_types = ["cms.FacilityPage"]
    max_count_per_parent = 1
    template = "cms/facility_index_page.html"

    class Meta:
        verbose_name = _("facility index")

    def get_context(self, request, *args, **kwargs):
        from cms import selectors

        context = super().get_context(request, *args, **kwargs)
        context["facility_pages"] = selectors.facility_pages(index=self)
        return context


class FacilityPage(PublicPageMixin, Page):
    """A facility's public page. Name, address, coordinates, phone and hours come from the booking
    ``Facility`` (kept by staff in the admin); the page adds the editorial content and lists the
    doctors with free times there."""

    facility = models.ForeignKey(
        "booking.Facility", on_delete=models.PROTECT, related_name="+", verbose_name=_("facility")
    )
    intro = models.CharField(_("intro"), max_length=300, blank=True)
    image = models.ForeignKey(
        "wagtailimages.Image",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("photo"),
        help_text=_(
            "Optional: a picture above the page. The clinic's photos are kept with the facility by the "
            "clinic's staff (admin: Facilities) and shown below it."
        ),
    )
    body = _content_stream(verbose_name=_("about the facility"))

    content_panels = [
        TranslationStatusPanel(),
        *Page.content_panels,
        FieldPanel("facility"),
        FieldPanel("intro"),
        FieldPanel("image"),
        FieldPanel("body"),
    ]
    search_fields = [*Page.search_fields, index.SearchField("intro"), index.SearchField("body")]
    parent_page_types = ["cms.FacilityIndexPage"]
    subpage_types: list[str] = []
    template = "cms/facility_page.html"

    class Meta:
        verbose_name = _("facility page")

    def clean(self):
        super().clean()
        _one_page_per_language(self, "facility", _("This facility already has a page in this language."))

    def get_context(self, request, *args, **kwargs):
        from cms import selectors, seo

        context = super().get_context(request, *args, **kwargs)
        facility = self.facility
        photos = selectors.facility_photos(facility=facility)
        context.update(
            facility=facility,
            photos=photos,
            entries=selectors.facility_doctors(facility=facility),
            jsonld=seo.medical_clinic_jsonld(page=self, facility=facility, request=request, photos=photos),
        )
        return context


class StandardPage(PublicPageMixin, Page):
    """A content page: about the clinic, prices, legal pages."""

    intro = models.CharField(_("intro"), max_length=300, blank=True)
    body = _content_stream()

    content_panels = [TranslationStatusPanel(), *Page.content_panels, FieldPanel("intro"), FieldPanel("body")]
    search_fields = [*Page.search_fields, index.SearchField("intro"), index.SearchField("body")]
    parent_page_types = ["cms.HomePage", "cms.StandardPage"]
    subpage_types = ["cms.StandardPage"]
    template = "cms/standard_page.html"

    class Meta:
        verbose_name = _("content page")


class ArticleIndexPage(PublicPageMixin, Page):
    intro = models.CharField(_("intro"), max_length=300, blank=True)
    per_page = models.PositiveSmallIntegerField(
        _("articles per page"), default=10, validators=[MinValueValidator(1), MaxValueValidator(50)]
    )

    content_panels = [TranslationStatusPanel(), *Page.content_panels, FieldPanel("intro"), FieldPanel("per_page")]
    parent_page_types = ["cms.HomePage"]
    subpage_types = ["cms.ArticlePage"]
    template = "cms/article_index_page.html"

    class Meta:
        verbose_name = _("article index")

    def get_context(self, request, *args, **kwargs):
        from django.core.paginator import Paginator

        from cms import selectors

        context = super().get_context(request, *args, **kwargs)
        articles = selectors.article_list(index=self)
        context["articles"] = Paginator(articles, self.per_page).get_page(request.GET.get("page"))
        return context


class ArticlePage(PublicPageMixin, Page):
    date = models.DateField(_("date"), default=timezone.localdate)
    summary = models.CharField(_("summary"), max_length=300, blank=True)
    image = models.ForeignKey(
        "wagtailimages.Image",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("image"),
    )
    body = _content_stream()

    content_panels = [
        TranslationStatusPanel(),
        *Page.content_panels,
        FieldPanel("date"),
        FieldPanel("summary"),
        FieldPanel("image"),
        FieldPanel("body"),
    ]
    search_fields = [*Page.search_fields, index.SearchField("summary"), index.SearchField("body")]
    parent_page_types = ["cms.ArticleIndexPage"]
    subpage_types: list[str] = []
    template = "cms/article_page.html"
    og_type = "article"

    class Meta:
        verbose_name = _("article")

    def summary_text(self) -> str:
        return self.summary


@register_setting(icon="site")
class ClinicSettings(BaseSiteSetting):
    """The clinic's contact details, opening hours and legal pages, shown in the public site's footer."""

    clinic_name = models.CharField(_("clinic name"), max_length=120, default="Medbook")
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    email = models.EmailField(_("email"), blank=True)
    address = models.TextField(_("address"), blank=True)
    map_url = models.URLField(_("map link"), blank=True)
    opening_hours = StreamField([("day", OpeningHoursBlock())], blank=True, verbose_name=_("opening hours"))
    privacy_page = models.ForeignKey(
        "wagtailcore.Page",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("privacy policy page"),
    )
    terms_page = models.ForeignKey(
        "wagtailcore.Page",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("terms of use page"),
    )
    default_social_image = models.ForeignKey(
        "wagtailimages.Image",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("default social preview image"),
        help_text=_("Shown when a shared page has no image of its own."),
    )

    select_related = ["privacy_page", "terms_page", "default_social_image"]
    panels = [
        MultiFieldPanel(
            [
                FieldPanel("clinic_name"),
                FieldPanel("phone"),
                FieldPanel("email"),
                FieldPanel("address"),
                FieldPanel("map_url"),
            ],
            heading=_("Contact"),
        ),
        FieldPanel("opening_hours"),
        MultiFieldPanel([FieldPanel("privacy_page"), FieldPanel("terms_page")], heading=_("Legal pages")),
        FieldPanel("default_social_image"),
    ]

    class Meta:
        verbose_name = _("clinic details")

    @classmethod
    def for_site(cls, site):
        """The site's settings with their ``select_related`` relations, as Wagtail's ``for_site`` reads them,
        from SQL compiled once per process (issue 19); the first read of a site without settings creates
        them (Wagtail's ``get_or_create``)."""
        if site is None:
            return super().for_site(site)
        instance = _clinic_settings_query().get(site_id=site.pk)
        return instance if instance is not None else super().for_site(site)


_clinic_settings: PreparedInstance | None = None


def _clinic_settings_query() -> PreparedInstance:
    global _clinic_settings
    if _clinic_settings is None:
        _clinic_settings = PreparedInstance(
            lambda *, site_id: ClinicSettings.objects.filter(site_id=site_id),
            model=ClinicSettings,
            related=tuple(ClinicSettings.select_related),
            ints=("site_id",),
        )
    return _clinic_settings
