"""How many SMS segments a text takes, counted in its real encoding.

A text every character of which is in the GSM 03.38 alphabet goes as GSM-7: 160
characters in one message, or 153 a segment once it is split (the rest of each
segment carries the header that joins them). The characters of the alphabet's
extension table (€, [, ], {, }, ^, ~, |, \\ and form feed) take two places, an escape
and the character, and are never split from their escape. One character outside
the alphabet (an Arabic letter, "ç", an emoji, a curly apostrophe) sends the whole
text as UCS-2: 70 UTF-16 code units in one message, 67 a segment, and a character
outside the Basic Multilingual Plane (most emoji) takes two units, never split.
"""

from __future__ import annotations

from dataclasses import dataclass

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")

GSM7 = "GSM-7"
UCS2 = "UCS-2"
# Places in one whole message, and in each segment of a split one.
SINGLE = {GSM7: 160, UCS2: 70}
PER_SEGMENT = {GSM7: 153, UCS2: 67}


@dataclass(frozen=True)
class SmsLength:
    encoding: str  # GSM7 or UCS2
    units: int  # septets for GSM-7, UTF-16 code units for UCS-2
    segments: int

    @property
    def per_segment(self) -> int:
        """The places of each segment, for "120 / 160" beside a text."""
        return SINGLE[self.encoding] if self.segments <= 1 else PER_SEGMENT[self.encoding]


def encoding_of(text: str) -> str:
    """GSM-7 when every character is in the GSM alphabet or its extension, else UCS-2."""
    if all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in text):
        return GSM7
    return UCS2


def _width(character: str, encoding: str) -> int:
    if encoding == GSM7:
        return 2 if character in GSM7_EXTENSION else 1
    return 2 if ord(character) > 0xFFFF else 1


def sms_length(text: str) -> SmsLength:
    """The encoding, length and number of segments of `text` as a phone network sends
    it. An empty text is one (empty) message."""
    encoding = encoding_of(text)
    widths = [_width(c, encoding) for c in text]
    units = sum(widths)
    if units <= SINGLE[encoding]:
        return SmsLength(encoding=encoding, units=units, segments=1)
    # Split: fill each segment in turn, a character that does not fit whole (an
    # escaped GSM character, a surrogate pair) going to the next one.
    size, segments, used = PER_SEGMENT[encoding], 1, 0
    for width in widths:
        if used + width > size:
            segments, used = segments + 1, 0
        used += width
    return SmsLength(encoding=encoding, units=units, segments=segments)


def sms_segments(text: str) -> int:
    """How many SMS segments `text` takes (what a provider bills)."""
    return sms_length(text).segments
