"""Where each app's pages are mounted: an app registers its URLconf from its wiring.py, and the root
URLconf (epr/urls.py) includes whatever was registered, so the kernel names no app."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AppRoutes:
    module: str  # dotted path of the app's urls.py, which sets app_name
    prefix: str = ""


_routes: dict[str, AppRoutes] = {}


def register_app_urls(module: str, prefix: str = "") -> None:
    _routes[module] = AppRoutes(module=module, prefix=prefix)


def app_routes() -> list[AppRoutes]:
    return list(_routes.values())
