"""The bed board in chromium: a bed manager allocates a bed to an emergency department request while a
nurse watches the board in another browser, which changes without a reload (htmx polls its fragment,
every second here); and blocking a bed with a reason changes that and nothing else."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from records.models import Bed
from scheduling.models import BedRequest, BedRequestStatus, BedState
from scheduling.services.beds import bed_request_create
from tests.factories import BedFactory, PatientFactory

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/shots/bed-board")  # noqa: S108 - screenshots to look at, not data


@pytest.fixture
def quick_poll(settings) -> None:
    settings.BED_BOARD_POLL_SECONDS = 1


def _row(page: Page, bed: Bed):
    return page.get_by_test_id(f"bed-{bed.pk}")


def test_an_allocation_shows_on_another_persons_board_without_a_reload(
    quick_poll, log_in, axe, admitted, bed, second_bed, doctor, nurse, manager
):
    SHOTS.mkdir(parents=True, exist_ok=True)
    arriving = PatientFactory(family_name="Emergent", given_names="Erin")
    request = bed_request_create(
        requested_by=doctor, patient=arriving, source="ed", specialty="300", urgent=True, needs="Side room"
    )
    watcher = log_in("alice")
    watcher.goto("/bed-board/")
    expect(_row(watcher, second_bed)).to_have_attribute("data-state", "free")
    expect(watcher.get_by_test_id("waiting-count")).to_have_text("1")
    watcher.evaluate("window.notReloaded = true")
    axe(watcher, context="bed board")

    bed_manager = log_in("mona")
    bed_manager.goto("/bed-board/")
    waiting = bed_manager.get_by_test_id(f"request-{request.pk}")
    expect(waiting).to_contain_text("EMERGENT, Erin")
    expect(waiting).to_contain_text("Urgent")
    waiting.get_by_test_id(f"allocate-{request.pk}").click()
    expect(bed_manager.get_by_role("heading", name="Allocate a bed")).to_be_visible()
    axe(bed_manager, context="allocate a bed")
    bed_manager.get_by_label("Free bed").select_option(label=f"{second_bed.ward.name}: {second_bed}")
    bed_manager.screenshot(path=str(SHOTS / "allocate.png"), full_page=True)
    bed_manager.get_by_test_id("request-submit").click()
    expect(bed_manager.locator(".epr-message")).to_contain_text("Allocated Bay A bed 2")

    # The watcher's board changes by itself: the bed is allocated, the queue empty, no reload.
    expect(_row(watcher, second_bed)).to_have_attribute("data-state", "allocated")
    expect(_row(watcher, second_bed)).to_contain_text("Allocated")
    expect(watcher.get_by_test_id("waiting-count")).to_have_text("0")
    expect(watcher.get_by_test_id("allocated-requests")).to_contain_text("Bay A bed 2")
    assert watcher.evaluate("window.notReloaded") is True
    watcher.screenshot(path=str(SHOTS / "watcher.png"), full_page=True)
    request.refresh_from_db()
    assert request.status == BedRequestStatus.ALLOCATED and request.bed == second_bed


def test_blocking_a_bed_with_a_reason_changes_that_and_nothing_else(
    log_in, axe, admitted, bed, second_bed, nurse
):
    third = BedFactory(bay=bed.bay, label="3")
    before = {b.pk: (b.ward_id, b.bay_id, b.label, b.active) for b in Bed.objects.all()}
    page = log_in("alice")
    page.goto("/bed-board/")
    others_before = {b.pk: _row(page, b).inner_text() for b in (bed, third)}
    _row(page, second_bed).get_by_role("link").click()
    expect(page.get_by_test_id("bed-state")).to_have_text("Free")
    axe(page, context="a bed's page")
    page.get_by_label("Block it for now").check()
    page.get_by_label("Reason").fill("Leaking ceiling tile")
    page.get_by_test_id("close-bed-submit").click()
    expect(page.get_by_test_id("bed-state")).to_have_text("Blocked")
    expect(page.get_by_test_id("bed-reason")).to_have_text("Leaking ceiling tile")

    state = BedState.objects.get()
    assert (state.bed, state.condition, state.reason, state.version) == (
        second_bed,
        "blocked",
        "Leaking ceiling tile",
        1,
    )
    assert {b.pk: (b.ward_id, b.bay_id, b.label, b.active) for b in Bed.objects.all()} == before
    assert not BedRequest.objects.exists()
    page.goto("/bed-board/")
    assert {b.pk: _row(page, b).inner_text() for b in (bed, third)} == others_before
    expect(_row(page, second_bed)).to_contain_text("Leaking ceiling tile")
