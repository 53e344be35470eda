"""StreamField blocks shared by the public site's pages: rich text, image, call-to-action and FAQ."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.dates import WEEKDAYS
from django.utils.translation import gettext_lazy as _
from wagtail import blocks
from wagtail.blocks.struct_block import StructBlockValidationError
from wagtail.images.blocks import ImageBlock

TEXT_FEATURES = ["h2", "h3", "bold", "italic", "link", "ol", "ul", "hr"]
ANSWER_FEATURES = ["bold", "italic", "link", "ol", "ul"]


class FigureBlock(blocks.StructBlock):
    image = ImageBlock()
    caption = blocks.CharBlock(label=_("caption"), required=False, max_length=250)

    class Meta:
        icon = "image"
        label = _("Image")
        template = "cms/blocks/figure.html"


class CallToActionBlock(blocks.StructBlock):
    """A highlighted box with one button, to a page of this site or to any address (e.g. the portal)."""

    heading = blocks.CharBlock(label=_("heading"), max_length=120)
    text = blocks.TextBlock(label=_("text"), required=False, max_length=400)
    button_label = blocks.CharBlock(label=_("button label"), max_length=60)
    page = blocks.PageChooserBlock(label=_("link to a page"), required=False)
    url = blocks.CharBlock(
        label=_("or link to an address"),
        required=False,
        max_length=300,
        help_text=_("A full address (https://…) or a path on this site such as /portal/."),
    )

    class Meta:
        icon = "pick"
        label = _("Call to action")
        template = "cms/blocks/call_to_action.html"

    def clean(self, value):
        value = super().clean(value)
        has_page, url = bool(value.get("page")), (value.get("url") or "").strip()
        if has_page == bool(url):
            message = (
                _("Choose a page or type an address, not both.") if has_page else _("Choose a page or type an address.")
            )
            raise StructBlockValidationError(block_errors={"url": ValidationError(message)})
        if url and not (url.startswith("/") or url.startswith("https://") or url.startswith("http://")):
            raise StructBlockValidationError(
                block_errors={"url": ValidationError(_("Use a full address (https://…) or a path starting with /."))}
            )
        return value


class FAQItemBlock(blocks.StructBlock):
    question = blocks.CharBlock(label=_("question"), max_length=250)
    answer = blocks.RichTextBlock(label=_("answer"), features=ANSWER_FEATURES)

    class Meta:
        icon = "help"
        label = _("Question")


class FAQBlock(blocks.StructBlock):
    heading = blocks.CharBlock(label=_("heading"), required=False, max_length=120)
    items = blocks.ListBlock(FAQItemBlock(), label=_("questions"), min_num=1)

    class Meta:
        icon = "help"
        label = _("Frequently asked questions")
        template = "cms/blocks/faq.html"


class ContentStreamBlock(blocks.StreamBlock):
    text = blocks.RichTextBlock(label=_("Text"), features=TEXT_FEATURES, template="cms/blocks/text.html")
    image = FigureBlock()
    call_to_action = CallToActionBlock()
    faq = FAQBlock()


class OpeningHoursBlock(blocks.StructBlock):
    """One weekday's opening hours; the day's name is translated when shown, so one list serves every language."""

    day = blocks.ChoiceBlock(label=_("day"), choices=[(str(number), name) for number, name in sorted(WEEKDAYS.items())])
    closed = blocks.BooleanBlock(label=_("closed all day"), required=False)
    opens = blocks.TimeBlock(label=_("opens"), required=False)
    closes = blocks.TimeBlock(label=_("closes"), required=False)

    class Meta:
        icon = "time"
        label = _("Opening hours")

    def clean(self, value):
        value = super().clean(value)
        if not value.get("closed"):
            opens, closes = value.get("opens"), value.get("closes")
            if opens is None or closes is None:
                raise StructBlockValidationError(
                    block_errors={"closes": ValidationError(_("Give both times, or tick “closed all day”."))}
                )
            if opens >= closes:
                raise StructBlockValidationError(
                    block_errors={"closes": ValidationError(_("Closing time must be after opening time."))}
                )
        return value
