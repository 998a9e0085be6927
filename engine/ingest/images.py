"""Images (.png, .jpg, .tif, .webp) to the text OCR finds in them.

Pillow decodes them (it comes with the OCR extra). The camera's orientation tag is applied
before reading, each frame of a multi-page TIFF is a page of its own, and an image is shrunk to
OCR_MAX_SIDE pixels on its long side first: the recogniser would shrink it anyway."""

from __future__ import annotations

import io
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine.errors import ErrorKind, NeedleError
from engine.ingest.document import PartialDocument, describe_pages
from engine.ingest.ocr import INSTALL_HINT, OCR_MAX_SIDE, OcrSession, ocr_status
from engine.models import ExtractedDocument, Section

# Larger images are refused before they are decoded: a 20000×20000 PNG of a few KB would
# otherwise take 1.2 GB of memory (a decompression bomb).
MAX_IMAGE_PIXELS = 80_000_000
# Multi-page TIFFs (fax and scanner output): at most this many frames are read.
MAX_FRAMES = 500


def extract_image(
    path: Path,
    data: bytes,
    *,
    ocr: OcrSession | None,
    on_page: Callable[[], None] | None = None,
) -> ExtractedDocument:
    """Raises NeedleError with kind ocr_unavailable | corrupt | too_large | no_text."""
    if ocr is None:
        status = ocr_status()
        raise NeedleError(
            ErrorKind.OCR_UNAVAILABLE,
            f"{path} is an image, and its text can only be read by OCR: "
            f"{status.reason or 'text recognition is turned off.'}",
            INSTALL_HINT,
        )
    frames = _frames(path, data)
    sections: list[Section] = []
    failed: list[int] = []
    reasons: list[str] = []
    offset = 0
    recognised = 0
    for number, frame in enumerate(frames, start=1):
        if on_page is not None:
            on_page()
        result = ocr.read(frame, page=number, pages=len(frames))
        if result.failed:
            failed.append(number)
            reasons.append(result.failed)
            continue
        if not result.text.strip():
            continue
        recognised += 1
        text = result.text.rstrip() + "\n\n"
        page = number if len(frames) > 1 else None
        sections.append(Section(text, offset, page=page, ocr=True))
        offset += len(text)
    if not sections:
        raise _no_text(path, failed, reasons)
    text = "".join(section.text for section in sections)
    title = path.stem
    page_count = len(frames) if len(frames) > 1 else None
    if failed:
        reason = (
            f"{path}: text recognition failed on {describe_pages(failed)} ({reasons[0]}); "
            "the other pages are indexed."
        )
        return PartialDocument(
            "image",
            title,
            text,
            tuple(sections),
            page_count,
            encoding="",
            ocr_pages=recognised,
            failed_pages=tuple(failed),
            reason=reason,
        )
    return ExtractedDocument(
        "image", title, text, tuple(sections), page_count, encoding="", ocr_pages=recognised
    )


def _no_text(path: Path, failed: list[int], reasons: list[str]) -> NeedleError:
    if failed:
        return NeedleError(
            ErrorKind.NO_TEXT,
            f"{path}: text recognition failed ({reasons[0]}).",
            "It is tried again when the file changes.",
        )
    return NeedleError(
        ErrorKind.NO_TEXT,
        f"{path} is an image in which text recognition (OCR) found no text.",
        "Nothing to index. If it does show text, it may be too small or faint to read.",
    )


def _frames(path: Path, data: bytes) -> list[Any]:
    """Every frame as a BGR pixel array, oriented as the camera held it."""
    import numpy as np
    from PIL import Image, ImageOps, UnidentifiedImageError

    with warnings.catch_warnings():
        # Pillow warns about large images; the explicit limit below decides instead.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data))
            width, height = image.size
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as error:
            raise _corrupt(path, error) from error
        except Image.DecompressionBombError as error:
            raise _too_many_pixels(path, 0, 0) from error
        if width * height > MAX_IMAGE_PIXELS:
            raise _too_many_pixels(path, width, height)
        frames = []
        try:
            count = min(getattr(image, "n_frames", 1), MAX_FRAMES)
            # An animated WebP is one picture moving, not pages: its first frame is read.
            if image.format == "WEBP":
                count = 1
            for index in range(count):
                image.seek(index)
                frame = ImageOps.exif_transpose(image) or image
                frame = frame.convert("RGB")
                frame.thumbnail((OCR_MAX_SIDE, OCR_MAX_SIDE))
                frames.append(np.asarray(frame)[:, :, ::-1].copy())
        except (OSError, ValueError, SyntaxError, EOFError) as error:
            if not frames:
                raise _corrupt(path, error) from error
    return frames


def _corrupt(path: Path, error: BaseException) -> NeedleError:
    detail = (
        str(error).strip().splitlines()[0][:160] if str(error).strip() else type(error).__name__
    )
    return NeedleError(
        ErrorKind.CORRUPT,
        f"{path} is not a readable image ({detail}).",
        "The file is probably damaged or not really an image; open it in an image viewer.",
    )


def _too_many_pixels(path: Path, width: int, height: int) -> NeedleError:
    size = f" ({width}×{height} pixels)" if width and height else ""
    return NeedleError(
        ErrorKind.TOO_LARGE,
        f"{path} is too large an image to read{size}: over "
        f"{MAX_IMAGE_PIXELS // 1_000_000} million pixels.",
        "Scale it down (a page needs no more than about 3000 pixels a side) to make it searchable.",
    )
