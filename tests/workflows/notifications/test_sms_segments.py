"""How many SMS parts a text costs: GSM-7 160/153 septets, UCS-2 70/67 units (Vietnamese is UCS-2),
extension characters count two septets, characters outside the BMP two units, and neither is split."""

from __future__ import annotations

import pytest

from workflows.sms import GSM7, UCS2, normalize_phone, sms_segments


def test_plain_english_fits_160_gsm_characters_in_one_part():
    assert sms_segments("a" * 160).encoding == GSM7
    assert (sms_segments("a" * 160).count, sms_segments("a" * 160).units) == (1, 160)
    long = sms_segments("a" * 161)
    assert (long.count, [len(part) for part in long.parts]) == (2, [153, 8])
    assert sms_segments("a" * 306).count == 2 and sms_segments("a" * 307).count == 3


def test_gsm_extension_characters_count_two_and_are_not_split():
    assert sms_segments("€" * 80).units == 160 and sms_segments("€" * 80).count == 1
    assert sms_segments("€" * 80 + "a").count == 2
    # 152 septets, then a two-septet "{": it cannot straddle the part boundary
    split = sms_segments("a" * 152 + "{" + "b" * 10)
    assert split.encoding == GSM7 and split.parts[0] == "a" * 152 and split.parts[1].startswith("{")


def test_vietnamese_with_diacritics_is_ucs2_70_then_67():
    text = "Lịch hẹn của bạn với bác sĩ Châu đã được xác nhận"
    assert sms_segments(text).encoding == UCS2
    assert sms_segments("ạ" * 70).count == 1
    two = sms_segments("ạ" * 71)
    assert (two.count, [len(part) for part in two.parts]) == (2, [67, 4])
    assert sms_segments("ạ" * 134).count == 2 and sms_segments("ạ" * 135).count == 3


def test_one_vietnamese_letter_makes_the_whole_text_ucs2():
    text = "Your appointment is confirmed, Đào"
    parts = sms_segments(text)
    assert parts.encoding == UCS2 and parts.units == len(text)
    assert sms_segments("a" * 100 + "ố").count == 2  # 101 units > 70


def test_characters_outside_the_bmp_count_two_units_and_stay_whole():
    assert sms_segments("😀" * 35).units == 70 and sms_segments("😀" * 35).count == 1
    assert sms_segments("😀" * 35 + "a").count == 2
    split = sms_segments("a" * 66 + "😀" + "b" * 5)  # 73 units: two parts of at most 67
    assert split.parts == ["a" * 66, "😀bbbbb"], "a surrogate pair is never cut in half"
    assert all(len(part.encode("utf-16-le")) // 2 <= 67 for part in sms_segments("😀ạ" * 100).parts)


def test_the_parts_join_back_into_the_text():
    text = "Nhắc lịch: khám lúc 10:00 ngày 4/6 tại phòng khám Medbook, Quận 1. 😀 " * 5
    parts = sms_segments(text)
    assert "".join(parts.parts) == text and parts.count >= -(-parts.units // 67)


def test_an_empty_text_is_no_part():
    assert sms_segments("").count == 0


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("+84 90 000 0001", "+84900000001"),
        ("0909-000-111", "+84909000111"),
        ("0084 909 000 111", "+84909000111"),
        ("(+33) 6.12.34.56.78", "+33612345678"),
    ],
)
def test_phone_numbers_are_written_in_e164(settings, raw, e164):
    settings.SMS_DEFAULT_COUNTRY_CODE = "84"
    assert normalize_phone(raw) == e164
