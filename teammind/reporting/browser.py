"""Screenshots of local HTML pages with headless Chromium (a check that a report really renders).

    screenshot("run/report.html", "run/report.png", width=1280)

The browser is found on PATH as chromium, chromium-browser, google-chrome or
google-chrome-stable (or named by $TEAMMIND_BROWSER). Chromium's command line
has no full-page mode, so the page is shot in a tall window and the empty
background below the content is cropped away; a page taller than the window
is retried in a taller one (up to MAX_HEIGHT).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from teammind.memory import InvalidFieldError

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FIRST_HEIGHT = 6000
MAX_HEIGHT = 24000
BOTTOM_MARGIN = 24  # pixels of background kept under the content


def find_browser() -> str | None:
    """Path of a Chromium-family browser, or None."""
    override = os.environ.get("TEAMMIND_BROWSER")
    if override:
        return shutil.which(override)
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    return None


def screenshot(html_path: str | Path, png_path: str | Path, width: int = 1280, height: int | None = None,
               timeout: float = 90.0) -> Path:
    """Render `html_path` at `width` CSS pixels and save a PNG of the page (cropped to its content unless `height` is given)."""
    browser = find_browser()
    if browser is None:
        raise InvalidFieldError("browser", f"no Chromium found on PATH (looked for {', '.join(BROWSERS)})",
                                "install one (Debian: apt install chromium) or set TEAMMIND_BROWSER to its name")
    html_path = Path(html_path).resolve()
    if not html_path.is_file():
        raise InvalidFieldError("html_path", f"{html_path} does not exist", "write the page first (teammind report RUN_DIR)")
    if width < 100:
        raise InvalidFieldError("width", f"is {width}", "pass a window width of at least 100 pixels")
    png_path = Path(png_path)
    png_path.parent.mkdir(parents=True, exist_ok=True)
    tall = height or FIRST_HEIGHT
    with tempfile.TemporaryDirectory(prefix="teammind-chromium-") as profile:
        shot = Path(profile) / "shot.png"
        while True:
            _run_browser(browser, html_path, shot, width, tall, Path(profile), timeout)
            if height is not None:
                break
            cropped = _crop_background(shot, BOTTOM_MARGIN)
            if cropped or tall >= MAX_HEIGHT:
                break
            tall = min(MAX_HEIGHT, tall * 2)  # the content reaches the bottom edge: shoot again, taller
        tmp = png_path.with_name(f".{png_path.name}.tmp")
        shutil.copyfile(shot, tmp)
        os.replace(tmp, png_path)
    return png_path


def _run_browser(browser: str, page: Path, shot: Path, width: int, height: int, profile: Path, timeout: float) -> None:
    shot.unlink(missing_ok=True)
    cmd = [browser, "--headless", "--disable-gpu", "--no-sandbox", "--hide-scrollbars", "--force-device-scale-factor=1",
           "--no-first-run", "--no-default-browser-check", "--disable-extensions", "--disable-dev-shm-usage",
           f"--user-data-dir={profile / 'profile'}", f"--window-size={width},{height}", f"--screenshot={shot}", page.as_uri()]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        output, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # its own session: the renderer and GPU helpers go too
        proc.communicate()
        raise InvalidFieldError("browser", f"{browser} took more than {timeout:.0f} s to render {page}",
                                "retry with a longer timeout, or check that the browser starts (run it with --headless by hand)") from None
    if not shot.is_file() or shot.stat().st_size == 0:
        tail = "\n".join(output.strip().splitlines()[-8:])
        raise InvalidFieldError("browser", f"{browser} exited {proc.returncode} without a screenshot of {page}: {tail}",
                                "check that the browser runs headless on this machine")


def _crop_background(path: Path, margin: int) -> bool:
    """Cut the rows below the content that have the bottom-right pixel's colour; False if content touches the bottom."""
    import numpy as np
    from PIL import Image

    with Image.open(path) as im:
        rgb = np.asarray(im.convert("RGB"))
    background = rgb[-1, -1]
    differs = np.any(rgb != background, axis=(1, 2))
    if differs[-margin:].any():
        return False
    rows = np.nonzero(differs)[0]
    last = int(rows[-1]) if rows.size else 0
    keep = min(rgb.shape[0], last + 1 + margin)
    Image.fromarray(rgb[:keep]).save(path)
    return True
