def test_admitted_patient_is_visible_to_ward_nurse(admitted, nurse, outsider):
    from records.access import Level, patient_access

    assert patient_access(nurse, admitted.patient).level == Level.CLINICAL
    assert patient_access(outsider, admitted.patient).level == Level.NONE
