"""What the generated clinic offers: its services with their lengths and prices, and
for each specialty what its visits look like (services, reasons, assessments,
plans, how often it prescribes). Data only; calendar.py, people.py and clinical.py
turn it into rows."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

# code: (name, minutes, price today)
SERVICES: dict[str, tuple[str, int, str]] = {
    "consult": ("Consultation", 30, "80.00"),
    "follow-up": ("Follow-up visit", 15, "45.00"),
    "extended-consult": ("Extended consultation", 45, "120.00"),
    "physical": ("Annual physical", 45, "150.00"),
    "vaccination": ("Vaccination", 15, "30.00"),
    "blood-draw": ("Blood draw", 15, "25.00"),
    "well-child": ("Well-child check", 30, "75.00"),
    "skin-check": ("Skin check", 20, "95.00"),
    "skin-procedure": ("Minor skin procedure", 30, "160.00"),
    "cardio-consult": ("Cardiology consultation", 45, "180.00"),
    "ecg": ("ECG", 15, "60.00"),
    "gyn-exam": ("Gynaecological exam", 30, "130.00"),
    "ortho-consult": ("Orthopaedic assessment", 30, "140.00"),
    "physio": ("Physiotherapy session", 45, "70.00"),
    "psych-consult": ("Psychiatric consultation", 60, "190.00"),
    "psych-review": ("Medication review", 30, "110.00"),
}
# Prices rise this much on each 1 January; a past visit is billed at its year's price.
YEARLY_PRICE_RISE = Decimal("1.03")


@dataclass(frozen=True)
class Profile:
    """What a specialty's visits look like."""

    visits: tuple[tuple[str, int], ...]  # (service code, weight)
    extras: tuple[str, ...]  # sometimes performed on top of the visit
    reasons: tuple[str, ...]
    assessments: tuple[str, ...]
    plans: tuple[str, ...]
    prescribes: float  # share of visits with a prescription
    children: bool = False


# fmt: off
PROFILES: dict[str, Profile] = {
    "General practice": Profile(
        visits=(("consult", 50), ("follow-up", 30), ("extended-consult", 8), ("physical", 7),
                ("vaccination", 5)),
        extras=("blood-draw", "vaccination", "ecg"),
        reasons=("Cough and sore throat", "Back pain", "Fatigue", "Blood pressure check",
                 "Headaches", "Flu-like symptoms", "Repeat prescription", "Rash",
                 "Abdominal pain", "Annual check-up", "Test results", "Ear pain"),
        assessments=("Upper respiratory tract infection", "Mechanical low back pain",
                     "Essential hypertension, controlled", "Tension-type headache",
                     "Viral illness", "Type 2 diabetes, stable", "Gastritis",
                     "Iron deficiency suspected", "Healthy adult"),
        plans=("Rest, fluids, paracetamol as needed. Review if not better in a week.",
               "Bloods ordered. Follow-up in two weeks with results.",
               "Continue current medication. Review in three months.",
               "Physiotherapy referral. Simple analgesia.",
               "Lifestyle advice given. Recheck blood pressure in one month."),
        prescribes=0.35,
    ),
    "Paediatrics": Profile(
        visits=(("well-child", 40), ("consult", 35), ("follow-up", 15), ("vaccination", 10)),
        extras=("vaccination",),
        reasons=("Fever", "Well-child visit", "Cough", "Ear pain", "Vaccinations due",
                 "Rash", "Poor feeding", "Sore throat"),
        assessments=("Otitis media", "Viral upper respiratory infection",
                     "Normal growth and development", "Eczema", "Tonsillitis",
                     "Gastroenteritis"),
        plans=("Fluids and antipyretics. Return if fever persists beyond 3 days.",
               "Vaccines given as per schedule. Next check in six months.",
               "Emollients twice daily. Review in four weeks.",
               "Antibiotics started. Review if no improvement in 48 hours."),
        prescribes=0.3,
        children=True,
    ),
    "Dermatology": Profile(
        visits=(("skin-check", 50), ("skin-procedure", 20), ("follow-up", 30)),
        extras=("skin-procedure",),
        reasons=("Mole check", "Acne", "Itchy rash", "Psoriasis review", "Skin lesion",
                 "Hair loss"),
        assessments=("Benign naevus", "Acne vulgaris", "Contact dermatitis",
                     "Plaque psoriasis", "Seborrhoeic keratosis", "Actinic keratosis"),
        plans=("Topical treatment, review in eight weeks.",
               "Lesion excised and sent for histology.",
               "Annual skin check recommended. Sun protection advice."),
        prescribes=0.45,
    ),
    "Cardiology": Profile(
        visits=(("cardio-consult", 55), ("follow-up", 35), ("ecg", 10)),
        extras=("ecg", "blood-draw"),
        reasons=("Chest pain", "Palpitations", "Hypertension review", "Shortness of breath",
                 "Follow-up after admission"),
        assessments=("Stable angina", "Paroxysmal atrial fibrillation",
                     "Hypertension, suboptimally controlled", "Non-cardiac chest pain",
                     "Heart failure, stable"),
        plans=("Echocardiogram requested. Continue beta blocker.",
               "24-hour Holter monitor. Review with results.",
               "Dose adjusted. Recheck in six weeks."),
        prescribes=0.4,
    ),
    "Gynaecology": Profile(
        visits=(("gyn-exam", 60), ("consult", 20), ("follow-up", 20)),
        extras=("blood-draw",),
        reasons=("Routine exam", "Irregular periods", "Pelvic pain", "Contraception advice",
                 "Menopause symptoms"),
        assessments=("Normal examination", "Dysmenorrhoea", "Perimenopause",
                     "Polycystic ovary syndrome suspected"),
        plans=("Ultrasound requested. Review with results.",
               "Routine screening in three years.", "Hormonal treatment discussed."),
        prescribes=0.3,
    ),
    "Orthopaedics": Profile(
        visits=(("ortho-consult", 60), ("follow-up", 40)),
        extras=(),
        reasons=("Knee pain", "Shoulder pain", "Sports injury", "Post-operative review",
                 "Hip pain"),
        assessments=("Osteoarthritis of the knee", "Rotator cuff tendinopathy",
                     "Ankle sprain", "Healing well after surgery"),
        plans=("Physiotherapy and analgesia. X-ray if no better.",
               "MRI requested.", "Steroid injection discussed."),
        prescribes=0.25,
    ),
    "Physiotherapy": Profile(
        visits=(("physio", 85), ("follow-up", 15)),
        extras=(),
        reasons=("Rehabilitation", "Neck pain", "Back pain", "Knee rehabilitation",
                 "Shoulder stiffness"),
        assessments=("Improving range of motion", "Muscular strain",
                     "Post-operative rehabilitation, on track"),
        plans=("Home exercise programme updated. Next session in one week.",
               "Manual therapy given. Continue exercises."),
        prescribes=0.03,
    ),
    "Psychiatry": Profile(
        visits=(("psych-consult", 45), ("psych-review", 55)),
        extras=(),
        reasons=("Low mood", "Anxiety", "Sleep problems", "Medication review",
                 "Follow-up"),
        assessments=("Moderate depressive episode", "Generalised anxiety disorder",
                     "Insomnia", "Stable on current treatment"),
        plans=("Continue SSRI. Review in four weeks.",
               "Referral for cognitive behavioural therapy.",
               "Sleep hygiene advice. Review in six weeks."),
        prescribes=0.6,
    ),
}
SPECIALTY_CYCLE = [
    "General practice", "General practice", "Paediatrics", "Dermatology",
    "General practice", "Cardiology", "Gynaecology", "Orthopaedics", "General practice",
    "Physiotherapy", "Paediatrics", "Psychiatry", "General practice", "Dermatology",
    "Cardiology", "General practice", "Gynaecology", "Paediatrics", "Physiotherapy",
    "General practice",
]
# fmt: on
