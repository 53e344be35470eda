"""The content languages (en, vi) as Wagtail locales, and what the Editors group needs to run the site:
publish pages (not only submit them), translate them, and edit the clinic details in the footer."""

from django.conf import settings
from django.db import migrations

EDITORS = "Editors"


def forwards(apps, schema_editor):
    Locale = apps.get_model("wagtailcore", "Locale")
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    ContentType = apps.get_model("contenttypes", "ContentType")
    Page = apps.get_model("wagtailcore", "Page")
    GroupPagePermission = apps.get_model("wagtailcore", "GroupPagePermission")

    for code, _name in settings.WAGTAIL_CONTENT_LANGUAGES:
        Locale.objects.get_or_create(language_code=code)

    editors, _ = Group.objects.get_or_create(name=EDITORS)
    root = Page.objects.filter(depth=1).first()
    if root is not None:
        page_type = ContentType.objects.get(app_label="wagtailcore", model="page")
        for codename in ("add_page", "change_page", "publish_page"):
            permission = Permission.objects.filter(content_type=page_type, codename=codename).first()
            if permission is not None:
                GroupPagePermission.objects.get_or_create(group=editors, page=root, permission=permission)

    # Model permissions are normally created after migrate; create these two now so the group can have them.
    wanted = [
        ("simple_translation", "simpletranslation", "submit_translation", "Can submit translations"),
        ("cms", "clinicsettings", "change_clinicsettings", "Can change clinic details"),
    ]
    for app_label, model, codename, name in wanted:
        content_type, _ = ContentType.objects.get_or_create(app_label=app_label, model=model)
        permission, _ = Permission.objects.get_or_create(
            content_type=content_type, codename=codename, defaults={"name": name}
        )
        editors.permissions.add(permission)


class Migration(migrations.Migration):
    dependencies = [
        ("cms", "0003_public_site_pages"),
        ("wagtailcore", "0098_apitoken"),
        ("simple_translation", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
