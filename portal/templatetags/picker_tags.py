"""``{% slot_picker picker %}``: the portal's one time picker (``portal.picker.picker_html``), with
``title=``, ``form_id=`` and ``choose_name=`` as the old include took them."""

from django import template

from portal.picker import picker_html

register = template.Library()


@register.simple_tag
def slot_picker(picker, title=None, form_id="", choose_name=""):
    return picker_html(picker, title=title, form_id=form_id, choose_name=choose_name)
