"""The words the generated clinic is written in: people's names and addresses,
allergies and conditions, medications, how complaints began, and the reasons given
for cancellations, voided invoices and refunds. Data only."""

from __future__ import annotations

# fmt: off
GIVEN_FEMALE = [
    "Olivia", "Emma", "Ava", "Sophia", "Isabella", "Mia", "Amelia", "Harper", "Evelyn",
    "Abigail", "Emily", "Ella", "Grace", "Chloe", "Zoe", "Nora", "Lily", "Hannah", "Layla",
    "Aria", "Leah", "Maya", "Sara", "Anna", "Ines", "Elena", "Priya", "Aisha", "Fatima",
    "Mei", "Yuki", "Sofia", "Lucia", "Rosa", "Clara", "Julia", "Alice", "Ruth", "Helen",
    "Margaret",
]
GIVEN_MALE = [
    "Liam", "Noah", "Oliver", "Elijah", "James", "William", "Benjamin", "Lucas", "Henry",
    "Alexander", "Daniel", "Michael", "Ethan", "Jacob", "Logan", "Jackson", "Samuel", "David",
    "Joseph", "Carlos", "Mateo", "Omar", "Ahmed", "Ravi", "Arjun", "Kenji", "Hiroshi", "Luca",
    "Marco", "Pedro", "Jamal", "Kwame", "Tomas", "Hugo", "Felix", "Peter", "George", "Frank",
    "Walter", "Arthur",
]
FAMILY = [
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor",
    "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez",
    "Clark", "Ramirez", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright",
    "Scott", "Torres", "Nguyen", "Hill", "Flores", "Green", "Adams", "Nelson", "Baker", "Hall",
    "Rivera", "Campbell", "Mitchell", "Carter", "Roberts", "Patel", "Kim", "Chen", "Wang",
    "Singh", "Khan", "Ali", "Cohen", "Murphy", "O'Brien", "Kelly", "Sullivan", "Rossi",
    "Russo", "Ferrari", "Muller", "Schmidt", "Fischer", "Weber", "Novak", "Kowalski", "Silva",
    "Santos", "Costa", "Okafor", "Mensah", "Haddad", "Nakamura", "Tanaka", "Sato", "Ivanova",
    "Petrov", "Larsen", "Hansen", "Berg", "Dubois", "Moreau", "Laurent", "Bianchi", "D'Arcy",
    "Fitzgerald", "Byrne",
]
STREETS = [
    "Main", "Oak", "Maple", "Cedar", "Pine", "Elm", "Washington", "Lake", "Hill", "Park",
    "River", "Church", "Spring", "Highland", "Sunset", "Willow", "Chestnut", "Walnut",
    "Franklin", "Lincoln",
]
STREET_KINDS = ("St", "Ave", "Rd", "Ln", "Dr", "Ct", "Blvd")
CITIES = ("Springfield", "Riverside", "Fairview", "Greenville", "Franklin", "Clinton")

MEDICATIONS = [
    # medication, strength, dose, route, frequency, duration, quantity, instructions
    ("Amoxicillin", "500 mg", "1 capsule", "oral", "three times a day", "7 days", 21,
     "Finish the course."),
    ("Ibuprofen", "400 mg", "1 tablet", "oral", "three times a day as needed", "5 days", 15,
     "Take after meals."),
    ("Paracetamol", "500 mg", "2 tablets", "oral", "every 6 hours as needed", "5 days", 40,
     "No more than 8 tablets in 24 hours."),
    ("Lisinopril", "10 mg", "1 tablet", "oral", "once a day", "3 months", 90, ""),
    ("Amlodipine", "5 mg", "1 tablet", "oral", "once a day", "3 months", 90, ""),
    ("Metformin", "500 mg", "1 tablet", "oral", "twice a day", "3 months", 180,
     "Take with food."),
    ("Atorvastatin", "20 mg", "1 tablet", "oral", "once a day at night", "3 months", 90, ""),
    ("Omeprazole", "20 mg", "1 capsule", "oral", "once a day before breakfast", "4 weeks", 28,
     ""),
    ("Salbutamol", "100 mcg", "2 puffs", "inhaled", "as needed", "", 1,
     "Shake the inhaler first."),
    ("Cetirizine", "10 mg", "1 tablet", "oral", "once a day", "30 days", 30, ""),
    ("Hydrocortisone cream", "1%", "thin layer", "topical", "twice a day", "2 weeks", 1,
     "Apply to affected skin only."),
    ("Sertraline", "50 mg", "1 tablet", "oral", "once a day", "30 days", 30,
     "Do not stop suddenly."),
    ("Melatonin", "2 mg", "1 tablet", "oral", "at bedtime", "3 weeks", 21, ""),
    ("Bisoprolol", "2.5 mg", "1 tablet", "oral", "once a day", "3 months", 90, ""),
    ("Doxycycline", "100 mg", "1 capsule", "oral", "once a day", "8 weeks", 56,
     "Avoid strong sunlight."),
    ("Adapalene gel", "0.1%", "thin layer", "topical", "once a day at night", "12 weeks", 1, ""),
    ("Naproxen", "250 mg", "1 tablet", "oral", "twice a day", "10 days", 20,
     "Take with food."),
    ("Fluticasone nasal spray", "50 mcg", "2 sprays", "nasal", "once a day", "1 month", 1, ""),
    ("Chloramphenicol eye drops", "0.5%", "1 drop", "ophthalmic", "four times a day",
     "5 days", 1, ""),
    ("Amoxicillin suspension", "250 mg/5 ml", "5 ml", "oral", "three times a day", "7 days", 1,
     "Shake well."),
]
ONSETS = ("Started a few days ago.", "On and off for weeks.", "Since the last visit.",
          "Worse at night.", "No other complaints.")
CANCELLATION_REASONS = ("Patient called to cancel", "Feeling better", "Clash with work",
                        "Unwell, will rebook", "Transport problem", "Booked by mistake",
                        "Doctor unavailable")
VOID_REASONS = ("Billed in error", "Duplicate visit record", "Fee waived by the manager")
REFUND_REASONS = ("Overcharged", "Service not provided in full", "Goodwill refund")
ALLERGIES = ("", "", "", "Penicillin", "Peanuts", "Latex", "Sulfonamides", "Shellfish",
             "Aspirin")
CONDITIONS = ("", "", "", "Hypertension", "Type 2 diabetes", "Asthma", "Hypothyroidism",
              "Migraine", "Osteoarthritis")
# fmt: on
