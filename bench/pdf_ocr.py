"""PDF text and OCR figures for bench/index_bench.py (also runnable alone):

    .venv/bin/python bench/pdf_ocr.py CORPUS_DIR [--json out.json]

- PDF pages/s of the text layer with each extractor (PDFium, the default; pypdf, the fallback)
  over CORPUS_DIR/pdfs, each file read 3 times, the best time kept; and the files each refuses;
- the share of those PDFs that become searchable: with the text layer alone, and with OCR of the
  pages that are images;
- OCR pages/s: on those image pages, and on two dense A4 pages made here (English essay text
  from CORPUS_DIR/pg-essays, and Chinese from CORPUS_DIR/weekly when Noto CJK is installed),
  rendered at 200 dpi, with their character error rate. CPU seconds are given beside wall
  seconds: on a shared machine the CPU figure is the stable one.
"""

from __future__ import annotations

import argparse
import difflib
import io
import json
import re
import sys
import time
import unicodedata
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script from the checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.errors import ErrorKind, NeedleError
from engine.ingest import pdf as pdf_module
from engine.ingest.extract import extract_file
from engine.ingest.ocr import OcrSession, ocr_status, shared_recogniser

REPEATS = 3
MB = 1024 * 1024
NOTO_CJK = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")


@dataclass
class ExtractorFigures:
    seconds: float
    pages: int
    pages_per_s: float
    refused: list[str]


@dataclass
class DensePage:
    language: str
    characters: int
    wall_seconds: float
    cpu_seconds: float
    character_error_rate: float


@dataclass
class PdfOcrReport:
    pdfs: int
    pdfium: ExtractorFigures
    pypdf: ExtractorFigures
    searchable_text_layer: int
    searchable_with_ocr: int
    ocr_engine: str
    gained_by_ocr: list[str] = field(default_factory=list)  # files OCR added text to
    ocr_image_pages: int = 0
    ocr_image_pages_per_s: float = 0.0
    dense_pages: list[DensePage] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def measure_extractor(paths: list[Path], reader: str) -> ExtractorFigures:
    total, pages, refused = 0.0, 0, []
    for path in paths:
        data = path.read_bytes()
        best = float("inf")
        for _ in range(REPEATS):
            started = time.perf_counter()
            try:
                if reader == "pdfium":
                    read = pdf_module._read_with_pdfium(path, data, None, None)
                    if read is None:
                        raise NeedleError(ErrorKind.CORRUPT, "PDFium cannot open it")
                else:
                    read = pdf_module._read_with_pypdf(path, data, None)
                count = read.count
            except NeedleError as error:
                count = 0
                if path.name not in refused:
                    refused.append(f"{path.name} ({error.kind})")
            best = min(best, time.perf_counter() - started)
        total += best
        pages += count
    return ExtractorFigures(round(total, 3), pages, round(pages / total, 1), sorted(set(refused)))


def searchable(paths: list[Path], ocr: OcrSession | None) -> dict[str, int]:
    """File name -> characters of recognised text, for the files that give any text."""
    found = {}
    for path in paths:
        try:
            document = extract_file(path, max_bytes=64 * MB, ocr=ocr)
        except NeedleError:
            continue
        if document.text.strip():
            found[path.name] = sum(len(s.text) for s in document.sections if s.ocr)
    return found


def cer(reference: str, hypothesis: str) -> float:
    def squeeze(text: str) -> str:
        return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))

    ref, hyp = squeeze(reference), squeeze(hypothesis)
    matcher = difflib.SequenceMatcher(None, ref, hyp, autojunk=False)
    edits = sum(
        max(i2 - i1, j2 - j1) for tag, i1, i2, j1, j2 in matcher.get_opcodes() if tag != "equal"
    )
    return round(edits / max(1, len(ref)), 4)


def dense_page(text: str, font: Any, *, cjk: bool) -> tuple[Any, str]:
    """An A4 page at 200 dpi filled with `text` in 11 pt, and the text that fits on it."""
    from PIL import Image, ImageDraw

    width, height, margin, leading = 1654, 2339, 180, 46 if cjk else 44
    image = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(image)
    lines, line = [], ""
    for unit in text if cjk else text.split():
        candidate = line + unit if cjk else f"{line} {unit}".strip()
        if font.getlength(candidate) > width - 2 * margin:
            lines.append(line)
            line = unit
        else:
            line = candidate
    used = lines[: (height - 2 * margin) // leading]
    for number, content in enumerate(used):
        draw.text((margin, margin + number * leading), content, font=font, fill=0)
    return image, "\n".join(used)


def _simplified_chinese(size: int) -> Any:
    from PIL import ImageFont

    for index in range(10):
        font = ImageFont.truetype(str(NOTO_CJK), size, index=index)
        if font.getname()[0].endswith(" SC"):
            return font
    return ImageFont.truetype(str(NOTO_CJK), size)


def measure_dense(corpus: Path, report: PdfOcrReport) -> None:
    from PIL import Image, ImageFont

    essays = sorted((corpus / "pg-essays").glob("*.txt"))
    samples: list[tuple[str, str, Any, bool]] = []
    if essays:
        english = " ".join(essays[0].read_text("utf-8", errors="replace").split())
        font = ImageFont.truetype(str(NOTO_CJK), 30) if NOTO_CJK.exists() else None
        font = font or ImageFont.load_default(size=30)
        samples.append(("English", english, font, False))
    weekly = sorted((corpus / "weekly").glob("*.md"))
    if weekly and NOTO_CJK.exists():
        lines = weekly[0].read_text("utf-8").splitlines()
        skipped = ("#", "!", "http")
        chinese = "".join(line for line in lines if line.strip() and not line.startswith(skipped))
        samples.append(("Chinese", chinese, _simplified_chinese(30), True))
    elif weekly:
        report.notes.append("no Noto CJK font: the dense Chinese page was skipped")
    for language, text, font, cjk in samples:
        image, truth = dense_page(text, font, cjk=cjk)
        buffer = io.BytesIO()
        image.save(buffer, "PNG")
        page = Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")
        import numpy as np

        pixels = np.asarray(page)[:, :, ::-1].copy()
        session = OcrSession(shared_recogniser())
        wall, cpu = time.perf_counter(), time.process_time()
        result = session.read(pixels, page=1, pages=1)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        report.dense_pages.append(
            DensePage(language, len(truth), round(wall, 2), round(cpu, 2), cer(truth, result.text))
        )


def run(corpus: Path) -> PdfOcrReport:
    paths = sorted((corpus / "pdfs").rglob("*.pdf"))
    status = ocr_status()
    report = PdfOcrReport(
        pdfs=len(paths),
        pdfium=measure_extractor(paths, "pdfium"),
        pypdf=measure_extractor(paths, "pypdf"),
        searchable_text_layer=len(searchable(paths, None)),
        searchable_with_ocr=0,
        ocr_engine=status.engine or f"unavailable: {status.reason}",
    )
    if not status.available:
        report.notes.append("OCR is not installed: OCR figures were skipped")
        return report
    session = OcrSession(shared_recogniser())
    session.read(_blank(), page=1, pages=1)  # load the models outside the timed part
    session = OcrSession(shared_recogniser())
    with_ocr = searchable(paths, session)
    report.searchable_with_ocr = len(with_ocr)
    report.gained_by_ocr = sorted(name for name, recognised in with_ocr.items() if recognised)
    report.ocr_image_pages = session.pages_read
    if session.seconds:
        report.ocr_image_pages_per_s = round(session.pages_read / session.seconds, 2)
    measure_dense(corpus, report)
    return report


def _blank() -> Any:
    import numpy as np

    pixels = np.full((200, 400, 3), 255, dtype=np.uint8)
    pixels[90:110, 50:350] = 0  # one dark bar, so detection runs
    return pixels


def describe(report: PdfOcrReport) -> list[str]:
    lines = [
        f"sample PDFs           {report.pdfs} files",
        f"PDF text (PDFium)     {report.pdfium.pages_per_s:.0f} pages/s "
        f"({report.pdfium.pages} pages in {report.pdfium.seconds:.2f} s); "
        f"refuses {', '.join(report.pdfium.refused) or 'none'}",
        f"PDF text (pypdf)      {report.pypdf.pages_per_s:.0f} pages/s "
        f"({report.pypdf.pages} pages in {report.pypdf.seconds:.2f} s); "
        f"refuses {', '.join(report.pypdf.refused) or 'none'}",
        f"searchable PDFs       {report.searchable_text_layer} of {report.pdfs} by their text "
        f"layer, {report.searchable_with_ocr} of {report.pdfs} with OCR; OCR added text to "
        f"{', '.join(report.gained_by_ocr) or 'none'}",
        f"OCR engine            {report.ocr_engine}",
    ]
    if report.ocr_image_pages:
        lines.append(
            f"OCR, sample images    {report.ocr_image_pages_per_s:.2f} pages/s over "
            f"{report.ocr_image_pages} image pages"
        )
    for page in report.dense_pages:
        lines.append(
            f"OCR, dense {page.language:<10} {1 / page.wall_seconds:.3f} pages/s "
            f"({page.wall_seconds:.1f} s wall, {page.cpu_seconds:.1f} s CPU, "
            f"{page.characters} characters, CER {page.character_error_rate:.1%})"
        )
    return lines + [f"note                  {note}" for note in report.notes]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("corpus", type=Path, help="folder holding pdfs/ (and pg-essays/)")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    report = run(args.corpus.resolve())
    print("\n".join(describe(report)))
    if args.json:
        args.json.write_text(json.dumps(asdict(report), indent=2, ensure_ascii=False), "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
