"""The language switcher remembers the choice on the account of a logged-in user."""


def test_switching_language_is_saved_on_the_account(client, patient_dao):
    client.force_login(patient_dao)
    response = client.post("/i18n/setlang/", {"language": "vi", "next": "/portal/"})
    assert response.status_code == 302
    patient_dao.refresh_from_db()
    assert patient_dao.language == "vi"
    client.post("/i18n/setlang/", {"language": "xx", "next": "/portal/"})  # unknown: ignored
    patient_dao.refresh_from_db()
    assert patient_dao.language == "vi"


def test_anonymous_switch_only_sets_the_cookie(client, db):
    response = client.post("/i18n/setlang/", {"language": "vi", "next": "/"})
    assert response.cookies["django_language"].value == "vi"
