from django.conf import settings


def medbook(request):
    return {"CLINIC_TIME_ZONE": settings.CLINIC_TIME_ZONE, "SITE_NAME": "Medbook"}
