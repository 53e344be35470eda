"""Pictures for the demo clinic's page, drawn here (no photo files in the repository, nothing downloaded):
flat drawings of a reception, a waiting room and a consulting room, as JPEG files."""

from __future__ import annotations

from io import BytesIO

from django.core.files.base import ContentFile
from PIL import Image, ImageDraw

SIZE = (1200, 900)
WALL, FLOOR, WOOD, TEAL, GREEN, WHITE, SKY = (
    "#e6f4f1",
    "#cbd5e1",
    "#b7835a",
    "#0f766e",
    "#16a34a",
    "#ffffff",
    "#bfe3f7",
)


def _room(draw: ImageDraw.ImageDraw) -> None:
    width, height = SIZE
    draw.rectangle((0, 0, width, height * 0.68), fill=WALL)
    draw.rectangle((0, height * 0.68, width, height), fill=FLOOR)
    draw.line((0, height * 0.68, width, height * 0.68), fill="#94a3b8", width=6)


def _window(draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int]) -> None:
    left, top, right, bottom = box
    draw.rectangle(box, fill=SKY, outline=WHITE, width=14)
    draw.line(((left + right) // 2, top, (left + right) // 2, bottom), fill=WHITE, width=10)
    draw.ellipse((left + 40, top + 40, left + 120, top + 120), fill="#fde68a")


def _plant(draw: ImageDraw.ImageDraw, x: int, floor: int) -> None:
    draw.rectangle((x - 40, floor - 110, x + 40, floor), fill="#9a6b4f")
    for dx, dy in ((-50, -220), (0, -280), (50, -220), (-20, -170), (30, -160)):
        draw.ellipse((x + dx - 45, floor + dy - 45, x + dx + 45, floor + dy + 45), fill=GREEN)


def _reception(draw: ImageDraw.ImageDraw) -> None:
    _room(draw)
    # a green cross over the desk
    draw.rectangle((560, 120, 640, 320), fill=GREEN)
    draw.rectangle((500, 180, 700, 260), fill=GREEN)
    draw.rounded_rectangle((260, 420, 940, 700), radius=24, fill=WOOD)
    draw.rectangle((260, 420, 940, 460), fill=TEAL)
    draw.rectangle((420, 330, 560, 420), fill="#334155")  # a screen on the desk
    _plant(draw, 1060, 740)


def _waiting_room(draw: ImageDraw.ImageDraw) -> None:
    _room(draw)
    _window(draw, (120, 110, 520, 430))
    draw.ellipse((820, 120, 960, 260), fill=WHITE, outline="#334155", width=8)  # a clock
    draw.line((890, 190, 890, 140), fill="#334155", width=8)
    draw.line((890, 190, 930, 200), fill="#334155", width=8)
    for x in range(140, 1100, 190):  # a row of chairs
        draw.rounded_rectangle((x, 470, x + 150, 610), radius=18, fill=TEAL)
        draw.rounded_rectangle((x, 590, x + 150, 650), radius=12, fill="#115e59")
        draw.rectangle((x + 15, 650, x + 30, 720), fill="#475569")
        draw.rectangle((x + 120, 650, x + 135, 720), fill="#475569")


def _consulting_room(draw: ImageDraw.ImageDraw) -> None:
    _room(draw)
    _window(draw, (760, 110, 1100, 420))
    draw.rounded_rectangle((120, 470, 640, 560), radius=20, fill=WHITE, outline="#94a3b8", width=6)  # the couch
    draw.rounded_rectangle((120, 430, 260, 490), radius=20, fill="#dbeafe")  # its pillow
    for x in (150, 580):
        draw.rectangle((x, 560, x + 24, 720), fill="#64748b")
    draw.rectangle((760, 480, 1040, 720), fill=WOOD)  # a cabinet with two drawers
    draw.line((760, 600, 1040, 600), fill="#8b5e3c", width=6)
    for y in (540, 660):
        draw.rectangle((880, y - 8, 920, y + 8), fill="#f8fafc")


DRAWINGS = {"reception": _reception, "waiting-room": _waiting_room, "consulting-room": _consulting_room}


def demo_photo(kind: str) -> ContentFile:
    """The drawing ``kind`` (a key of ``DRAWINGS``) as a JPEG file named after it."""
    image = Image.new("RGB", SIZE, WALL)
    DRAWINGS[kind](ImageDraw.Draw(image))
    out = BytesIO()
    image.save(out, "JPEG", quality=82, optimize=True)
    return ContentFile(out.getvalue(), name=f"demo-{kind}.jpg")
