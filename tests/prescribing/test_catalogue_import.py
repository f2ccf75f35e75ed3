"""Loading the dm+d release (prescribing/services/catalogue.py, manage.py import_dmd): every level and
its links, strengths, forms, routes and controlled-drug categories, pack GTINs as 14 digits, the
same release loaded twice changing nothing, and a newer release updating rows in place. The release
files are NHSBSA's, as OpenPrescribing keeps them for its own import tests (see EPR_TESTDATA in
tests/support.py); without them the tests that need them skip, and a small release written here
checks the rest."""

from __future__ import annotations

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from prescribing.models import AMP, AMPP, VMP, VMPP, VTM, DmdLookup, PackGTIN
from prescribing.services.catalogue import DmdImportError, dmd_import, product_for_gtin
from tests.support import third_party_testdata

DMD_FILES = "NHSBSA's dm+d release files as OpenPrescribing keeps them for its import tests"


@pytest.fixture
def release():
    return third_party_testdata("dmd/openprescribing_1", DMD_FILES)


def test_every_level_is_loaded_and_linked(db, release):
    report = dmd_import(release)
    assert report.rows["vmp"] == VMP.objects.count() == 7
    diclofenac = VMP.objects.get(dmd_id="22480211000001104")
    assert diclofenac.name == "Diclofenac 2.32% gel"
    assert diclofenac.vtm is not None and diclofenac.vtm.dmd_id == "32889211000001103"
    assert diclofenac.packs.count() == 3 and diclofenac.amps.count() == 3
    assert AMPP.objects.filter(amp__vmp=diclofenac).count() == 7
    assert VTM.objects.count() > 1000 and DmdLookup.objects.filter(kind="FORM").count() > 100


def test_strength_form_route_and_unit_dose_of_an_injection(db, release):
    dmd_import(release)
    adenosine = VMP.objects.get(dmd_id="35894711000001106")
    ingredient = adenosine.ingredients.get()
    assert (ingredient.strength_value, ingredient.per_value) == (Decimal("3"), Decimal("1"))
    assert DmdLookup.objects.get(kind="UNIT_OF_MEASURE", code=ingredient.strength_units).description == "mg"
    assert DmdLookup.objects.get(kind="UNIT_OF_MEASURE", code=ingredient.per_units).description == "ml"
    assert (
        DmdLookup.objects.get(kind="FORM", code=adenosine.form_code).description == "Solution for injection"
    )
    assert adenosine.discrete is True and adenosine.unit_dose_form_size == Decimal("2")
    assert adenosine.route_codes and adenosine.controlled_drug_category == "0000"


def test_pack_gtins_are_14_digits_and_find_their_pack(db, release):
    dmd_import(release)
    assert all(len(g) == 14 for g in PackGTIN.objects.values_list("gtin", flat=True))
    pack = product_for_gtin("08712400360258")  # a 13-digit GTIN in the release, padded
    assert pack is not None and pack.dmd_id == "1714711000001106"
    assert pack.amp.vmp.name == "Generic Nutrison liquid"
    assert product_for_gtin("00000000000000") is None


def test_loading_the_same_release_again_changes_nothing(db, release):
    dmd_import(release)
    counts = [m.objects.count() for m in (VTM, VMP, VMPP, AMP, AMPP, PackGTIN)]
    ids = dict(VMP.objects.values_list("dmd_id", "pk"))
    dmd_import(release)
    assert [m.objects.count() for m in (VTM, VMP, VMPP, AMP, AMPP, PackGTIN)] == counts
    assert dict(VMP.objects.values_list("dmd_id", "pk")) == ids  # updated in place, not replaced


def test_a_vmp_whose_identifier_changed_keeps_its_row_and_its_packs(db, release, tmp_path):
    newer = third_party_testdata("dmd/openprescribing_2", DMD_FILES)  # one VMP's VPID changed
    dmd_import(release)
    diclofenac = VMP.objects.get(dmd_id="22480211000001104")
    counts = [m.objects.count() for m in (VMP, VMPP, AMP, AMPP)]
    # The newer release ships the three files that changed; the others are as before.
    for path in release.glob("f_*.xml"):
        changed = newer / path.name
        (tmp_path / path.name).write_bytes((changed if changed.exists() else path).read_bytes())
    report = dmd_import(tmp_path)
    assert report.rows["vmp identifier changes"] == 1
    moved = VMP.objects.get(pk=diclofenac.pk)
    assert (moved.dmd_id, moved.previous_dmd_id) == ("12345", "22480211000001104")
    assert moved.packs.count() == 3 and moved.amps.count() == 3
    assert [m.objects.count() for m in (VMP, VMPP, AMP, AMPP)] == counts  # nothing doubled, nothing lost


def test_a_folder_without_the_release_files_is_refused(db, tmp_path):
    with pytest.raises(DmdImportError, match="no f_vtm, f_vmp, f_amp, f_vmpp, f_ampp file"):
        dmd_import(tmp_path)
    with pytest.raises(CommandError, match="not a dm\\+d release"):
        call_command("import_dmd", str(tmp_path))
    with pytest.raises(CommandError, match="is not a folder"):
        call_command("import_dmd", str(tmp_path / "missing"))


MINIMAL = {
    "f_vtm2_3000000.xml": "<VIRTUAL_THERAPEUTIC_MOIETIES><VTM><VTMID>1001</VTMID><NM>Atenolol</NM></VTM>"
    "</VIRTUAL_THERAPEUTIC_MOIETIES>",
    "f_vmp2_3000000.xml": "<VIRTUAL_MED_PRODUCTS><VMPS><VMP><VPID>2001</VPID><VTMID>1001</VTMID>"
    "<NM>Atenolol 100mg tablets</NM><DF_INDCD>1</DF_INDCD></VMP></VMPS>"
    "<CONTROL_DRUG_INFO><CONTROL_INFO><VPID>2001</VPID><CATCD>0000</CATCD></CONTROL_INFO></CONTROL_DRUG_INFO>"
    "</VIRTUAL_MED_PRODUCTS>",
    "f_vmpp2_3000000.xml": "<VIRTUAL_MED_PRODUCT_PACK><VMPPS><VMPP><VPPID>3001</VPPID><VPID>2001</VPID>"
    "<NM>Atenolol 100mg tablets 28 tablet</NM><QTYVAL>28</QTYVAL></VMPP>"
    "<VMPP><VPPID>3002</VPPID><VPID>9999</VPID><NM>Of an unknown VMP</NM></VMPP></VMPPS>"
    "</VIRTUAL_MED_PRODUCT_PACK>",
    "f_amp2_3000000.xml": "<ACTUAL_MEDICINAL_PRODUCTS><AMPS><AMP><APID>4001</APID><VPID>2001</VPID>"
    "<NM>Tenormin 100mg tablets</NM><DESC>Tenormin 100mg tablets (Atnahs)</DESC></AMP></AMPS>"
    "</ACTUAL_MEDICINAL_PRODUCTS>",
    "f_ampp2_3000000.xml": "<ACTUAL_MEDICINAL_PROD_PACKS><AMPPS><AMPP><APPID>5001</APPID><VPPID>3001</VPPID>"
    "<APID>4001</APID><NM>Tenormin 100mg tablets (Atnahs) 28 tablet</NM><LEGAL_CATCD>0003</LEGAL_CATCD>"
    "</AMPP></AMPPS></ACTUAL_MEDICINAL_PROD_PACKS>",
    "f_gtin2_0000000.xml": "<GTIN_DETAILS><AMPPS><AMPP><AMPPID>5001</AMPPID>"
    "<GTINDATA><GTIN>5012345678900</GTIN><STARTDT>2020-01-01</STARTDT></GTINDATA>"
    "<GTINDATA><GTIN>5012345678901</GTIN></GTINDATA></AMPP></AMPPS></GTIN_DETAILS>",
}


def test_a_small_release_loads_and_what_cannot_be_linked_is_reported(db, tmp_path):
    for name, text in MINIMAL.items():
        (tmp_path / name).write_text(text)
    out = StringIO()
    call_command("import_dmd", str(tmp_path), stdout=out)
    assert "vmp: 1 rows" in out.getvalue()
    assert "left out, VMPP of an unknown VMP: 1" in out.getvalue()
    assert "left out, GTIN with a wrong check digit or length: 1" in out.getvalue()
    pack = product_for_gtin("05012345678900")
    assert pack is not None and pack.amp.vmp.vtm.name == "Atenolol"
    assert pack.vmpp.quantity == Decimal("28") and pack.legal_category == "0003"
    # Renamed in the next release: the same row, the new name.
    (tmp_path / "f_amp2_3000000.xml").write_text(
        MINIMAL["f_amp2_3000000.xml"].replace("Tenormin", "Tenormin LS")
    )
    dmd_import(tmp_path)
    assert AMP.objects.get(dmd_id="4001").name == "Tenormin LS 100mg tablets"
    assert AMP.objects.count() == 1


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        (
            "f_amp2_3000000.xml",
            "<ACTUAL_MEDICINAL_PRODUCTS><AMPS><AMP>",
            "f_amp2_3000000.xml is not well-formed XML",
        ),
        (
            "f_vmp2_3000000.xml",
            "<VIRTUAL_MED_PRODUCTS><VMPS><VMP><NM>No identifier</NM></VMP></VMPS></VIRTUAL_MED_PRODUCTS>",
            "has no VPID element",
        ),
    ],
)
def test_a_broken_release_is_refused_with_the_reason_and_loads_nothing(db, tmp_path, name, text, message):
    for file_name, good in MINIMAL.items():
        (tmp_path / file_name).write_text(text if file_name == name else good)
    with pytest.raises(CommandError, match=message):
        call_command("import_dmd", str(tmp_path), stdout=StringIO())
    assert not VTM.objects.exists() and not AMP.objects.exists()  # the whole release rolled back
