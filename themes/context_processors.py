from django.conf import settings


def medbook(request):
    from booking.payments import sandbox_enabled

    return {
        "CLINIC_TIME_ZONE": settings.CLINIC_TIME_ZONE,
        "SITE_NAME": settings.CLINIC_NAME,
        # the sandbox gateway is on: every page says payments are not real
        "TEST_PAYMENTS": sandbox_enabled(),
    }
