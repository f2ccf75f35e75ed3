"""Vital-sign sets with known NEWS2 scores, shared by the observation, alert and ward tests."""

from decimal import Decimal

NORMAL = {
    "respiration_rate": 16,
    "spo2": 97,
    "on_oxygen": False,
    "systolic_bp": 125,
    "diastolic_bp": 80,
    "pulse": 72,
    "consciousness": "A",
    "temperature": Decimal("36.8"),
}
TWO = {**NORMAL, "pulse": 115}
RED_SCORE = {**NORMAL, "respiration_rate": 30}  # 3 in one parameter, total 3: an alert, low-medium risk
FIVE = {**NORMAL, "respiration_rate": 22, "pulse": 115, "temperature": Decimal("38.5")}  # 2+2+1
SEVEN = {**FIVE, "on_oxygen": True, "oxygen_device": "nasal"}  # +2 for oxygen
NINE = {**SEVEN, "systolic_bp": 100}  # +2 for the blood pressure
