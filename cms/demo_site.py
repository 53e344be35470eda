"""The demo public site, in English and Vietnamese: home, doctor directory with a published profile
per demo doctor, specialties, the clinics (a page per facility), two articles, about and legal pages,
and the clinic's details.

Called at the end of ``seed_demo``. Idempotent: it only creates what is missing (matched by slug under
the same parent, or by translation), so a second run changes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable

from django.db import transaction
from wagtail.models import Locale, Page, Site

from booking.models import Doctor, Facility, Specialty
from cms.models import (
    ArticleIndexPage,
    ArticlePage,
    ClinicSettings,
    DoctorDirectoryPage,
    DoctorProfilePage,
    FacilityIndexPage,
    FacilityPage,
    HomePage,
    SpecialtyIndexPage,
    SpecialtyPage,
    StandardPage,
)
from cms.services import doctor_profile_pages_sync


def _text(html: str) -> dict:
    return {"type": "text", "value": html}


def _faq(heading: str, items: list[tuple[str, str]]) -> dict:
    return {
        "type": "faq",
        "value": {"heading": heading, "items": [{"question": q, "answer": f"<p>{a}</p>"} for q, a in items]},
    }


def _cta(heading: str, text: str, label: str, *, page: Page | None = None, url: str = "") -> dict:
    return {
        "type": "call_to_action",
        "value": {
            "heading": heading,
            "text": text,
            "button_label": label,
            "page": page.pk if page else None,
            "url": url,
        },
    }


HOME = {
    "en": {
        "intro": "Book a visit with our doctors, in person or by video.",
        "cta_label": "Find a doctor",
        "seo_title": "Medbook clinic: book a doctor in person or by video",
        "search_description": "Find a doctor by name or specialty, see their free times and book online.",
        "faq": (
            "Questions patients ask",
            [
                ("Can I see a doctor by video?", "Yes. Most doctors offer video visits; the booking page says which."),
                ("How do I pay?", "Online when you book, or in cash at the clinic where the visit allows it."),
                ("Can I cancel?", "Yes, from your portal. Cancelling early gives a full refund."),
            ],
        ),
    },
    "vi": {
        "title": "Medbook",
        "intro": "Đặt lịch khám với bác sĩ của chúng tôi, tại phòng khám hoặc qua video.",
        "cta_label": "Tìm bác sĩ",
        "seo_title": "Phòng khám Medbook: đặt lịch khám trực tiếp hoặc qua video",
        "search_description": "Tìm bác sĩ theo tên hoặc chuyên khoa, xem giờ trống và đặt lịch trực tuyến.",
        "faq": (
            "Câu hỏi thường gặp",
            [
                ("Tôi có thể khám qua video không?", "Có. Hầu hết bác sĩ nhận khám qua video; trang đặt lịch ghi rõ."),
                ("Tôi thanh toán thế nào?", "Trực tuyến khi đặt lịch, hoặc tiền mặt tại phòng khám nếu được phép."),
                ("Tôi có thể hủy lịch không?", "Có, trong cổng bệnh nhân. Hủy sớm được hoàn tiền toàn bộ."),
            ],
        ),
    },
}

SECTIONS = {
    # slug: (model, {language: fields})
    "doctors": (
        DoctorDirectoryPage,
        {
            "en": {"title": "Find a doctor", "intro": "Search our doctors by name or specialty and book a free time."},
            "vi": {"title": "Tìm bác sĩ", "intro": "Tìm bác sĩ theo tên hoặc chuyên khoa và đặt giờ còn trống."},
        },
    ),
    "specialties": (
        SpecialtyIndexPage,
        {
            "en": {"title": "Specialties", "intro": "The care our clinic offers."},
            "vi": {"title": "Chuyên khoa", "intro": "Các chuyên khoa của phòng khám."},
        },
    ),
    "clinics": (
        FacilityIndexPage,
        {
            "en": {"title": "Our clinics", "intro": "Where we see patients in person: address, hours and photos."},
            "vi": {"title": "Phòng khám", "intro": "Nơi chúng tôi khám trực tiếp: địa chỉ, giờ mở cửa và hình ảnh."},
        },
    ),
    "news": (
        ArticleIndexPage,
        {
            "en": {"title": "Health news", "intro": "Advice from our doctors and news from the clinic."},
            "vi": {"title": "Tin sức khỏe", "intro": "Lời khuyên từ bác sĩ và tin tức của phòng khám."},
        },
    ),
    "about": (
        StandardPage,
        {
            "en": {
                "title": "About us",
                "intro": "A small clinic with doctors who take time to listen.",
                "body": [
                    _text("<p>Medbook brings general practice and specialists together, in person and by video.</p>")
                ],
            },
            "vi": {
                "title": "Về chúng tôi",
                "intro": "Một phòng khám nhỏ với những bác sĩ dành thời gian lắng nghe.",
                "body": [_text("<p>Medbook kết nối bác sĩ đa khoa và chuyên khoa, khám trực tiếp và qua video.</p>")],
            },
        },
    ),
    "privacy": (
        StandardPage,
        {
            "en": {
                "title": "Privacy policy",
                "body": [_text("<p>We keep your medical data confidential and use it only for your care.</p>")],
            },
            "vi": {
                "title": "Chính sách bảo mật",
                "body": [_text("<p>Chúng tôi bảo mật dữ liệu y tế của bạn và chỉ dùng cho việc chăm sóc bạn.</p>")],
            },
        },
    ),
    "terms": (
        StandardPage,
        {
            "en": {"title": "Terms of use", "body": [_text("<p>Bookings are confirmed when paid.</p>")]},
            "vi": {"title": "Điều khoản sử dụng", "body": [_text("<p>Lịch hẹn được xác nhận khi đã thanh toán.</p>")]},
        },
    ),
}
IN_MENUS = {"doctors", "specialties", "clinics", "news", "about"}

#: the intro of each clinic's page (the address, hours and photos come from the facility's record)
FACILITY_INTRO = {
    "en": "In the centre of the city, a short walk from Bến Thành market; visits in person on weekdays and Saturday mornings.",
    "vi": "Ở trung tâm thành phố, cách chợ Bến Thành vài phút đi bộ; khám trực tiếp các ngày trong tuần và sáng thứ Bảy.",
}

ARTICLES = {
    "video-visit-checklist": {
        "date": dt.date(2026, 10, 1),
        "en": {
            "title": "Getting ready for a video visit",
            "summary": "Five minutes of preparation make a video visit as good as one at the clinic.",
            "body": [
                _text("<p>Find a quiet, well-lit room, charge your phone and write down your questions.</p>"),
                _faq("Before you join", [("When can I join?", "The join button appears ten minutes before.")]),
            ],
        },
        "vi": {
            "title": "Chuẩn bị cho buổi khám qua video",
            "summary": "Năm phút chuẩn bị giúp buổi khám qua video tốt như khám tại phòng khám.",
            "body": [
                _text("<p>Chọn phòng yên tĩnh, đủ sáng, sạc điện thoại và ghi sẵn câu hỏi.</p>"),
                _faq("Trước khi vào phòng", [("Khi nào tôi vào được?", "Nút tham gia hiện ra trước mười phút.")]),
            ],
        },
    },
    "fever-in-children": {
        "date": dt.date(2026, 11, 2),
        "en": {
            "title": "Fever in children: when to see a doctor",
            "summary": "Most fevers pass by themselves; these signs mean your child should be seen today.",
            "body": [
                _text("<p>See a doctor if the fever lasts more than three days or your child is unusually drowsy.</p>")
            ],
        },
        "vi": {
            "title": "Trẻ bị sốt: khi nào cần đi khám",
            "summary": "Phần lớn cơn sốt tự khỏi; những dấu hiệu sau cho thấy trẻ cần được khám ngay.",
            "body": [_text("<p>Hãy cho trẻ đi khám nếu sốt kéo dài hơn ba ngày hoặc trẻ li bì bất thường.</p>")],
        },
    },
}

#: the demo doctors' About text in both languages (their records' biographies are in Vietnamese)
PROFILE_ABOUT = {
    "doctor1@example.com": {
        "en": "<p>General internist with twelve years of practice. Looks after long-term conditions such as "
        "high blood pressure and diabetes, at the clinic and by video.</p>",
        "vi": "<p>Bác sĩ nội tổng quát với 12 năm kinh nghiệm. Theo dõi bệnh mạn tính như tăng huyết áp và "
        "đái tháo đường, tại phòng khám và qua video.</p>",
    },
    "doctor2@example.com": {
        "en": "<p>Paediatrician with a special interest in nutrition and breathing problems in young children.</p>",
        "vi": "<p>Bác sĩ nhi khoa, chuyên về dinh dưỡng và bệnh hô hấp ở trẻ nhỏ.</p>",
    },
    "doctor3@example.com": {
        "en": "<p>Family doctor for adults and children alike; happy to advise by video.</p>",
        "vi": "<p>Bác sĩ gia đình khám cho cả người lớn và trẻ em; sẵn sàng tư vấn qua video.</p>",
    },
}

PROFILE_SUMMARY = {
    "en": "Sees patients at the clinic and by video.",
    "vi": "Khám tại phòng khám và qua video.",
}


def _publish(page: Page) -> None:
    page.save_revision().publish()


def _child(parent: Page, model, slug: str, fields: dict, counts: Counter):
    """``parent``'s child with ``slug``, created and published from ``fields`` when missing."""
    existing = model.objects.child_of(parent).filter(slug=slug).first()
    if existing is not None:
        return existing
    page = model(slug=slug, **fields)
    parent.add_child(instance=page)
    _publish(page)
    counts["pages"] += 1
    return page


def _translation(page: Page, locale: Locale, fields: dict, counts: Counter):
    """``page``'s translation into ``locale``, copied, filled from ``fields`` and published when missing."""
    existing = page.get_translation_or_none(locale)
    if existing is not None:
        return existing
    copy = page.copy_for_translation(locale)
    for name, value in fields.items():
        setattr(copy, name, value)
    if "title" in fields:
        copy.draft_title = fields["title"]
    _publish(copy)
    counts["translations"] += 1
    return copy


def _home_content(language: str) -> dict:
    content = HOME[language]
    heading, items = content["faq"]
    return {
        "intro": content["intro"],
        "cta_label": content["cta_label"],
        "seo_title": content["seo_title"],
        "search_description": content["search_description"],
        "sections": [_faq(heading, items)],
    }


def seed_demo_site(*, doctor_emails: Iterable[str]) -> dict[str, int]:
    """Create whatever of the demo site is missing; ``doctor_emails`` are the demo doctors whose
    profile pages are published. Returns how many objects of each kind were created."""
    counts: Counter = Counter()
    with transaction.atomic():
        english = Locale.get_default()
        vietnamese, _ = Locale.objects.get_or_create(language_code="vi")
        site = Site.objects.select_related("root_page").get(is_default_site=True)
        home = site.root_page.specific
        if not isinstance(home, HomePage):
            raise RuntimeError("The default site's root page is not the Medbook home page.")
        if not home.sections:
            for name, value in _home_content("en").items():
                setattr(home, name, value)
            _publish(home)
            counts["pages updated"] += 1
        _translation(home, vietnamese, {"title": HOME["vi"]["title"], **_home_content("vi")}, counts)

        sections = {}
        for slug, (model, languages) in SECTIONS.items():
            fields = {**languages["en"], "show_in_menus": slug in IN_MENUS}
            sections[slug] = _child(home, model, slug, fields, counts)
            _translation(sections[slug], vietnamese, languages["vi"], counts)

        for slug, article in ARTICLES.items():
            en, vi = dict(article["en"]), dict(article["vi"])
            if slug == "video-visit-checklist":
                directory = sections["doctors"]
                en["body"] = [
                    *en["body"],
                    _cta("Ready?", "Choose a doctor and a time.", "Find a doctor", page=directory),
                ]
                vi["body"] = [*vi["body"], _cta("Sẵn sàng?", "Chọn bác sĩ và giờ khám.", "Tìm bác sĩ", page=directory)]
            page = _child(sections["news"], ArticlePage, slug, {"date": article["date"], **en}, counts)
            _translation(page, vietnamese, vi, counts)

        have_pages = set(SpecialtyPage.objects.values_list("specialty_id", flat=True))
        for specialty in Specialty.objects.filter(is_active=True).exclude(pk__in=have_pages).order_by("name"):
            fields = {"title": specialty.name, "specialty": specialty, "intro": specialty.description[:300]}
            page = _child(sections["specialties"], SpecialtyPage, specialty.slug, fields, counts)
            _translation(page, vietnamese, {"title": specialty.name_vi} if specialty.name_vi else {}, counts)

        have_pages = set(FacilityPage.objects.values_list("facility_id", flat=True))
        for facility in Facility.objects.filter(is_active=True).exclude(pk__in=have_pages).order_by("pk"):
            fields = {"title": facility.name, "facility": facility, "intro": FACILITY_INTRO["en"]}
            page = _child(sections["clinics"], FacilityPage, facility.slug, fields, counts)
            _translation(page, vietnamese, {"intro": FACILITY_INTRO["vi"]}, counts)

        demo_doctors = list(Doctor.objects.filter(user__email__in=list(doctor_emails), is_active=True))
        counts["profile drafts"] += len(doctor_profile_pages_sync(doctor_ids=[d.pk for d in demo_doctors]))
        pages = DoctorProfilePage.objects.filter(doctor__in=demo_doctors, locale=english).select_related("doctor__user")
        for page in pages.order_by("path"):
            about = PROFILE_ABOUT.get(page.doctor.user.email, {})
            if not page.live:
                page.summary = page.summary or PROFILE_SUMMARY["en"]
                page.about = page.about or about.get("en", "")
                _publish(page)
                counts["profiles published"] += 1
            _translation(page, vietnamese, {"summary": PROFILE_SUMMARY["vi"], "about": about.get("vi", "")}, counts)

        clinic = ClinicSettings.for_site(site)
        if not clinic.phone:
            clinic.clinic_name = "Medbook"
            clinic.phone = "+84 28 3822 0000"
            clinic.email = "hello@medbook.example"
            clinic.address = "12 Lê Lợi, Bến Nghé\nQuận 1, Thành phố Hồ Chí Minh"
            clinic.opening_hours = [
                *[{"type": "day", "value": {"day": str(d), "opens": "08:00", "closes": "17:00"}} for d in range(5)],
                {"type": "day", "value": {"day": "5", "opens": "08:00", "closes": "12:00"}},
                {"type": "day", "value": {"day": "6", "closed": True}},
            ]
            clinic.privacy_page = sections["privacy"]
            clinic.terms_page = sections["terms"]
            clinic.save()
            counts["site settings"] += 1
    return dict(counts)
