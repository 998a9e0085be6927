"""Reading text in images: RapidOCR (PP-OCRv6 detection and recognition, English and Chinese) on
ONNX Runtime, installed by the optional `ocr` extra.

Why this engine (docs/benchmarks.md, "OCR"): Apache-2.0 code and models, the models ship inside
the wheel (nothing is downloaded: Needle passes their paths explicitly, so RapidOCR's download code
is never reached), English keeps its word spaces, and a dense page costs about 12-16 CPU seconds
on one core. Each extraction worker loads one engine on first use and keeps it for its life.

Everything heavy (numpy, OpenCV, ONNX Runtime) is imported only when a page is recognised, so the
CLI and the engine start without them."""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import logging
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from engine.ingest.deadline import TimeLimitExceeded, time_limit
from engine.ingest.ocr_cache import OcrCache
from engine.ingest.text import normalize
from engine.lang import CJK_LETTERS

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    PixelArray = NDArray[np.uint8]
else:
    PixelArray = Any

log = logging.getLogger(__name__)

# A page whose recognition takes more CPU seconds than this is given up (recorded, the rest go
# on). CPU, not wall time: a dense page needs 12-17 CPU seconds however busy the machine is.
OCR_PAGE_SECONDS: float = 60.0
# RapidOCR shrinks every image to this many pixels on its long side before detecting *and*
# cropping lines, so rendering or keeping more is wasted work.
OCR_MAX_SIDE = 2000
# Smaller than this on either side, an image cannot hold a readable line of text.
OCR_MIN_SIDE = 16
# Lines recognised with less confidence than this are dropped (RapidOCR's own default).
OCR_MIN_SCORE = 0.5
# Bumped when anything that changes the text of a page changes (rendering, models, ordering):
# cached texts of older versions are then never used.
# 2: the text keeps full-width punctuation as recognised (version 1 cached it NFKC-folded).
OCR_CACHE_VERSION = 2
MODEL_FILES: Final = (
    "PP-OCRv6_det_small.onnx",
    "ch_ppocr_mobile_v2.0_cls_mobile.onnx",
    "PP-OCRv6_rec_small.onnx",
)
INSTALL_HINT = "Install Needle's OCR extra (pip install 'needle[ocr]'), or use the packaged app."


@dataclass(frozen=True)
class OcrStatus:
    """Whether this installation can read text in images, and if not, why."""

    available: bool
    engine: str = ""  # "RapidOCR 3.10.0 (PP-OCRv6)" when available
    reason: str = ""  # why not, in plain words, when unavailable


@cache
def ocr_status() -> OcrStatus:
    """Cheap: looks for the packages and the model files without importing them."""
    missing = [name for name in ("rapidocr", "onnxruntime") if not _installed(name)]
    if missing:
        return OcrStatus(False, reason=f"OCR is not installed ({', '.join(missing)} missing).")
    models = _model_dir()
    absent = [name for name in MODEL_FILES if not (models / name).is_file()]
    if absent:
        return OcrStatus(False, reason=f"The OCR models are missing from {models}.")
    return OcrStatus(True, engine=f"RapidOCR {_version('rapidocr')} (PP-OCRv6)")


def _installed(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def _version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "?"  # a frozen bundle without the package's metadata


def _model_dir() -> Path:
    spec = importlib.util.find_spec("rapidocr")
    origin = spec.origin if spec is not None and spec.origin else ""
    return Path(origin).parent / "models"


@dataclass(frozen=True)
class OcrLine:
    """One recognised line and its box in image pixels."""

    text: str
    left: float
    top: float
    right: float
    bottom: float


def reading_order(lines: Sequence[OcrLine]) -> str:
    """Lines in reading order: boxes that overlap vertically by more than half the smaller one
    form one row, read left to right; rows top to bottom. Pieces of one row are joined with a
    space, except between two CJK characters (Chinese has no spaces between words)."""
    rows: list[list[OcrLine]] = []
    for line in sorted(lines, key=lambda item: (item.top, item.left)):
        row = rows[-1] if rows else None
        if row is not None and _same_row(row[-1], line):
            row.append(line)
        else:
            rows.append([line])
    texts = []
    for row in rows:
        row_text = ""
        for line in sorted(row, key=lambda item: item.left):
            row_text = _join(row_text, line.text.strip())
        texts.append(row_text)
    return "\n".join(text for text in texts if text)


def _same_row(previous: OcrLine, line: OcrLine) -> bool:
    overlap = min(previous.bottom, line.bottom) - max(previous.top, line.top)
    smaller = min(previous.bottom - previous.top, line.bottom - line.top)
    return smaller > 0 and overlap > smaller / 2


@cache
def _cjk_letter() -> re.Pattern[str]:
    return re.compile(f"[{CJK_LETTERS}]")


def _join(left: str, right: str) -> str:
    if not left or not right:
        return left or right
    if _cjk_letter().match(left[-1]) and _cjk_letter().match(right[0]):
        return left + right
    return left + " " + right


class Recogniser:
    """The OCR engine of this process, loaded on the first page (about 2 s and 300 MB)."""

    def __init__(self, threads: int = 1) -> None:
        self.threads = threads
        self._engine: Any = None

    def lines(self, image: PixelArray) -> list[OcrLine]:
        """The text lines of `image` (a BGR or grey pixel array). Raises OcrFailed when the
        engine cannot run."""
        engine = self.load()
        try:
            result = engine(image)
        except TimeLimitExceeded:
            raise
        except Exception as error:  # the engine's own errors, OpenCV's, ONNX Runtime's
            raise OcrFailed(f"{type(error).__name__}: {error}") from error
        texts = getattr(result, "txts", None) or ()
        boxes = getattr(result, "boxes", None)
        scores = getattr(result, "scores", None) or ()
        if boxes is None or not texts:
            return []
        found = []
        for text, box, score in zip(texts, boxes, scores, strict=False):
            if float(score) < OCR_MIN_SCORE or not str(text).strip():
                continue
            xs = [float(point[0]) for point in box]
            ys = [float(point[1]) for point in box]
            found.append(OcrLine(str(text), min(xs), min(ys), max(xs), max(ys)))
        return found

    def load(self) -> Any:
        """The engine, loaded on first use. Raises OcrFailed when it cannot be."""
        if self._engine is not None:
            return self._engine
        status = ocr_status()
        if not status.available:
            raise OcrFailed(status.reason)
        logging.getLogger("RapidOCR").setLevel(logging.CRITICAL)
        try:
            from rapidocr import RapidOCR
        except Exception as error:  # a broken install: a missing native library, say
            raise OcrFailed(f"the OCR engine cannot be loaded ({error})") from error
        models = _model_dir()
        self._engine = RapidOCR(
            params={
                "Global.log_level": "critical",
                "Global.text_score": OCR_MIN_SCORE,
                "Global.max_side_len": OCR_MAX_SIDE,
                "EngineConfig.onnxruntime.intra_op_num_threads": self.threads,
                "EngineConfig.onnxruntime.inter_op_num_threads": 1,
                # Explicit paths: RapidOCR then never looks for (or downloads) other models.
                "Det.model_path": str(models / MODEL_FILES[0]),
                "Cls.model_path": str(models / MODEL_FILES[1]),
                "Rec.model_path": str(models / MODEL_FILES[2]),
            }
        )
        return self._engine


class OcrFailed(Exception):
    """The OCR engine could not read a page (not installed, broken, or it raised)."""


_shared: Recogniser | None = None


def shared_recogniser() -> Recogniser:
    """This process's recogniser: extraction workers keep one for all the pages they read."""
    global _shared
    if _shared is None:
        _shared = Recogniser()
    return _shared


def page_key(image: PixelArray) -> str:
    """The cache key of a page: its pixels (so a renamed or re-saved file with the same pages
    hits the cache) and everything that decides what OCR makes of them."""
    digest = hashlib.blake2b(digest_size=20)
    digest.update(f"needle-ocr {OCR_CACHE_VERSION} {OCR_MAX_SIDE} {image.shape}".encode())
    digest.update(image.tobytes())
    return digest.hexdigest()


PageProgress = Callable[[int, int], None]  # (page number, pages to recognise in the document)


@dataclass
class PageText:
    """What OCR made of one page: its text (may be empty), or `failed` with a reason."""

    text: str
    seconds: float = 0.0
    cached: bool = False
    failed: str = ""


class OcrSession:
    """OCR for one document: the process's recogniser, the library's cache, and a report of
    each page before it is read (the status bar's "recognising text (page 3 of 40)")."""

    def __init__(
        self,
        recogniser: Recogniser,
        cache: OcrCache | None = None,
        progress: PageProgress | None = None,
        page_seconds: float = OCR_PAGE_SECONDS,
    ) -> None:
        self.recogniser = recogniser
        self.cache = cache
        self.progress = progress
        self.page_seconds = page_seconds
        self.pages_read = 0  # recognised now, not taken from the cache
        self.seconds = 0.0

    def read(self, image: PixelArray, *, page: int, pages: int) -> PageText:
        """The text of `image`, from the cache when this exact page was read before."""
        if min(image.shape[0], image.shape[1]) < OCR_MIN_SIDE:
            return PageText("")
        key = page_key(image)
        if self.cache is not None:
            cached = self.cache.get(key)
            if cached is not None:
                return PageText(cached, cached=True)
        if self.progress is not None:
            self.progress(page, pages)
        try:
            # Loading the models (seconds, more on a busy machine) is not the page's time.
            self.recogniser.load()
        except OcrFailed as error:
            return PageText("", failed=str(error))
        started = time.monotonic()
        try:
            with time_limit(self.page_seconds, cpu=True):
                lines = self.recogniser.lines(image)
        except TimeLimitExceeded:
            return PageText("", failed=f"took over {self.page_seconds:g} CPU seconds to recognise")
        except OcrFailed as error:
            return PageText("", failed=str(error))
        seconds = time.monotonic() - started
        self.pages_read += 1
        self.seconds += seconds
        text = normalize(reading_order(lines))
        if self.cache is not None:
            self.cache.put(key, text)
        return PageText(text, seconds=seconds)
