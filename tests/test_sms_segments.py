"""SMS length in segments by the real encoding (clinic.kernel.sms): GSM-7 160/153,
UCS-2 70/67, the GSM extension characters two places, mixed texts UCS-2."""

from __future__ import annotations

import pytest

from clinic.kernel.sms import GSM7, UCS2, encoding_of, sms_length, sms_segments


def test_plain_english_is_gsm7_and_160_characters_fit_one_message():
    assert encoding_of("Riverside Clinic: see you Mon 30 Nov at 10:00.") == GSM7
    assert sms_segments("a" * 160) == 1
    assert sms_segments("a" * 161) == 2


def test_a_split_gsm7_text_carries_153_characters_a_segment():
    assert sms_segments("a" * 306) == 2
    assert sms_segments("a" * 307) == 3
    assert sms_length("a" * 307).per_segment == 153


def test_gsm_accents_of_the_alphabet_stay_gsm7():
    assert encoding_of("Señora Müller, ¿mañana a las 10? Å Ø é ü ñ à ¡ £ ¥ §") == GSM7


@pytest.mark.parametrize("character", ["€", "[", "]", "{", "}", "^", "~", "|", "\\"])
def test_the_extension_characters_take_two_places(character):
    length = sms_length(character * 80)

    assert (length.encoding, length.units, length.segments) == (GSM7, 160, 1)
    assert sms_segments(character * 81) == 2


def test_an_escaped_character_is_never_split_from_its_escape():
    # 152 letters, then a euro sign (two places): it does not fit the first 153.
    text = "a" * 152 + "€" + "a" * 10

    assert sms_length(text).units == 164
    assert sms_segments(text) == 2
    assert sms_segments("a" * 152 + "€" + "a" * 152) == 3


def test_arabic_is_ucs2_and_70_characters_fit_one_message():
    arabic = "موعدك غدًا"
    assert encoding_of(arabic) == UCS2
    assert sms_segments("ع" * 70) == 1
    assert sms_segments("ع" * 71) == 2
    assert sms_length("ع" * 71).per_segment == 67
    assert sms_segments("ع" * 134) == 2
    assert sms_segments("ع" * 135) == 3


def test_one_character_outside_the_alphabet_makes_a_mixed_text_ucs2():
    # A curly apostrophe, as a phone's keyboard types it: the whole text is UCS-2.
    text = "Riverside Clinic: we’ll see you at 10:00." + " " * 40

    length = sms_length(text)

    assert length.encoding == UCS2
    assert length.units == 81
    assert length.segments == 2
    assert sms_segments(text.replace("’", "'")) == 1


def test_spanish_with_letters_outside_gsm_is_ucs2():
    assert encoding_of("Cita confirmada: miércoles") == GSM7  # é is in the alphabet
    assert encoding_of("Cita confirmada: sábado") == UCS2  # á is not


def test_an_emoji_takes_two_places_and_is_never_split():
    assert sms_length("🙂").units == 2
    assert sms_segments("🙂" * 35) == 1
    # 66 letters then an emoji (two units): it does not fit the first 67.
    assert sms_segments("ع" * 66 + "🙂" + "ع" * 10) == 2
    assert sms_segments("ع" * 66 + "🙂" + "ع" * 66) == 3


def test_an_empty_text_is_one_empty_message():
    length = sms_length("")

    assert (length.encoding, length.units, length.segments) == (GSM7, 0, 1)
