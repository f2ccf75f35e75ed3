"""The kernel's plug-in points for the shared page frame: top-menu items with their count badges, and
the page each user lands on. Apps fill them from their wiring.py; the kernel names no app."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest
from django.urls import reverse

UserTest = Callable[[Any], bool]


def everyone(user: Any) -> bool:
    return True


@dataclass(frozen=True)
class Badge:
    """A count beside a menu item. The label is read out; shown_label also prints it ("3 urgent")."""

    count: int
    label: str
    colour: str  # an NHS tag colour: red, orange, blue...
    testid: str = ""
    shown_label: bool = False


@dataclass(frozen=True)
class MenuItem:
    label: str
    url_name: str
    order: int
    shown_to: UserTest = everyone
    badges: Callable[[Any], list[Badge]] | None = None
    testid: str = ""


@dataclass(frozen=True)
class MenuEntry:
    """A menu item as one user sees it."""

    label: str
    url: str
    badges: list[Badge]
    testid: str


@dataclass(frozen=True)
class Landing:
    """Where a user for whom `applies_to` holds lands after signing in; the lowest priority wins."""

    url_name: str
    priority: int
    applies_to: UserTest = everyone


_menu: dict[str, MenuItem] = {}
_landings: dict[str, Landing] = {}


def register_menu_item(item: MenuItem) -> None:
    _menu[item.url_name] = item


def register_landing(landing: Landing) -> None:
    _landings[f"{landing.priority}:{landing.url_name}"] = landing


def menu_for(user: Any) -> list[MenuEntry]:
    return [
        MenuEntry(
            label=item.label,
            url=reverse(item.url_name),
            badges=[b for b in (item.badges(user) if item.badges else []) if b.count],
            testid=item.testid,
        )
        for item in sorted(_menu.values(), key=lambda item: item.order)
        if item.shown_to(user)
    ]


def landing_url(user: Any) -> str:
    for landing in sorted(_landings.values(), key=lambda landing: landing.priority):
        if landing.applies_to(user):
            return reverse(landing.url_name)
    raise LookupError("No landing page is registered for this user (an app's wiring.py registers them).")


def menu(request: HttpRequest) -> dict[str, Any]:
    """Context processor: the signed-in user's menu, worked out only if the template shows it (a page,
    not an htmx fragment), so a fragment pays no query for the badges."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"menu": lambda: menu_for(user)}
