"""Copy the front-end packages installed by npm into .build/ for Django to serve.

- nhsuk-frontend CSS and JS go to .build/static/vendor/; its @font-face rules are dropped because
  they point at an NHS host a closed hospital network cannot reach (the CSS falls back to Arial).
  The JS is an ES module: static/js/epr.js imports initAll from it (no inline script), and the
  source-map comments are dropped because the maps are not copied (collectstatic would refuse them).
- nhsuk-frontend images go to .build/webroot/assets/, where its CSS expects them.
- htmx goes to .build/static/vendor/.
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NODE = ROOT / "node_modules"
BUILD = ROOT / ".build"


def main() -> int:
    nhsuk = NODE / "nhsuk-frontend" / "dist" / "nhsuk"
    htmx = NODE / "htmx.org" / "dist" / "htmx.min.js"
    if not nhsuk.is_dir() or not htmx.is_file():
        print("node_modules is missing: run `npm ci` (or `make install`) first.", file=sys.stderr)
        return 1
    vendor = BUILD / "static" / "vendor"
    vendor.mkdir(parents=True, exist_ok=True)
    css = (nhsuk / "nhsuk-frontend.min.css").read_text(encoding="utf-8")
    css = re.sub(r"@font-face\{[^}]*\}", "", css)
    css = re.sub(r"/\*# sourceMappingURL=[^*]*\*/", "", css)
    (vendor / "nhsuk-frontend.min.css").write_text(css, encoding="utf-8")
    js = (nhsuk / "nhsuk-frontend.min.js").read_text(encoding="utf-8")
    (vendor / "nhsuk-frontend.min.js").write_text(
        re.sub(r"//# sourceMappingURL=\S+", "", js), encoding="utf-8"
    )
    shutil.copyfile(htmx, vendor / "htmx.min.js")
    assets = BUILD / "webroot" / "assets"
    if assets.exists():
        shutil.rmtree(assets)
    shutil.copytree(nhsuk / "assets", assets)
    print(f"Front-end assets copied into {BUILD.relative_to(ROOT)}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
