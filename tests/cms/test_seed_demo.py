from django.core.management import call_command

from accounts.models import User
from cms.management.commands.seed_demo import DEMO_PASSWORD
from cms.models import HomePage


def snapshot():
    return sorted(User.objects.values_list("email", "role", "password", "is_staff", "is_superuser", "first_name"))


def test_seed_demo_creates_every_account_once_and_twice_changes_nothing(db):
    call_command("seed_demo", "--quiet")
    first = snapshot()
    emails = {row[0] for row in first}
    assert {"admin@example.com", "staff@example.com", "editor@example.com", "patient1@example.com"} <= emails
    assert {f"doctor{i}@example.com" for i in (1, 2, 3)} <= emails
    call_command("seed_demo", "--quiet")
    assert snapshot() == first
    admin = User.objects.get(email="admin@example.com")
    assert admin.check_password(DEMO_PASSWORD) and admin.is_superuser
    assert admin.emailaddress_set.get().verified
    assert User.objects.get(email="editor@example.com").groups.filter(name="Editors").exists()


def test_no_demo_login_exists_without_seed_demo(db):
    assert not User.objects.filter(email__endswith="@example.com").exists()


def test_home_page_is_served_at_the_root(client, db):
    assert HomePage.objects.live().count() == 1
    response = client.get("/")
    assert response.status_code == 200
    assert "Medbook" in response.content.decode()
