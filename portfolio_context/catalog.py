"""Static catalogue of the synthetic bank: names, merchants, funds and life-event precursors."""

from __future__ import annotations

FIRST_NAMES = [
    "Ava",
    "Liam",
    "Maya",
    "Noah",
    "Priya",
    "Mateo",
    "Chloe",
    "Ethan",
    "Amara",
    "Lucas",
    "Sofia",
    "Omar",
    "Grace",
    "Diego",
    "Hannah",
    "Kenji",
    "Zoe",
    "Samuel",
    "Leila",
    "Owen",
    "Nora",
    "Isaac",
    "Fatima",
    "Elena",
    "Marcus",
    "Ruth",
    "Tariq",
    "Ingrid",
    "Jamal",
    "Mei",
]
LAST_NAMES = [
    "Okafor",
    "Lindqvist",
    "Garcia",
    "Nguyen",
    "Patel",
    "Johnson",
    "Kowalski",
    "Haddad",
    "Silva",
    "Brennan",
    "Yamamoto",
    "Adeyemi",
    "Fischer",
    "Romero",
    "Chen",
    "Walsh",
    "Moreau",
    "Ivanova",
    "Mensah",
    "Dubois",
    "Kaur",
    "Novak",
    "Reyes",
    "Schmidt",
]
STATES = ["CA", "TX", "NY", "FL", "IL", "WA", "MA", "GA", "CO", "OH", "NC", "AZ"]
EMPLOYERS = [
    "ACME LOGISTICS PAYROLL",
    "NORTHWIND HEALTH PAYROLL",
    "CONTOSO SOFTWARE PAYROLL",
    "FABRIKAM MFG PAYROLL",
    "CITY OF SPRINGFIELD PAYROLL",
    "LITWARE SCHOOLS PAYROLL",
]
GIG_PAYERS = ["UBER DRIVER PAYOUT", "DOORDASH DASHER PAY", "UPWORK ESCROW PAYOUT", "ETSY DEPOSIT"]

# category -> (merchants, visits per month (lo, hi), amount per visit (lo, hi), paid by card)
DISCRETIONARY: dict[str, tuple[list[str], tuple[int, int], tuple[float, float], bool]] = {
    "Groceries": (
        ["WHOLE FOODS", "TRADER JOE'S", "KROGER", "SAFEWAY", "ALDI"],
        (4, 7),
        (28, 140),
        False,
    ),
    "Dining": (
        ["CHIPOTLE", "STARBUCKS", "OLIVE GARDEN", "LOCAL BISTRO", "SUSHI GO"],
        (3, 10),
        (8, 75),
        True,
    ),
    "Fuel": (["SHELL", "CHEVRON", "EXXONMOBIL", "COSTCO GAS"], (2, 5), (30, 70), False),
    "Shopping": (["AMAZON", "TARGET", "BEST BUY", "IKEA", "MACY'S"], (1, 5), (15, 180), True),
    "Entertainment": (["AMC THEATRES", "TICKETMASTER", "STEAM GAMES"], (0, 3), (12, 90), True),
    "Health": (["CVS PHARMACY", "WALGREENS", "CITY DENTAL"], (0, 2), (10, 120), False),
    "Transport": (["METRO TRANSIT", "LYFT", "PARKWHIZ"], (0, 6), (3, 35), False),
}
# month -> multiplier on spending, for seasonality
SEASONAL: dict[str, dict[int, float]] = {
    "Shopping": {11: 1.6, 12: 2.4, 8: 1.3},
    "Groceries": {11: 1.25, 12: 1.3},
    "Dining": {12: 1.3, 2: 1.15},
    "Fuel": {6: 1.2, 7: 1.3, 8: 1.2},
}
TRAVEL_MERCHANTS = ["DELTA AIR LINES", "MARRIOTT", "AIRBNB", "HERTZ"]

# name, asset class, duration in years
FUNDS: list[tuple[str, str, str, float]] = [
    ("NBTM", "Northbank Total Market Index", "equity", 0.0),
    ("NBIN", "Northbank International Equity", "equity", 0.0),
    ("NBAG", "Northbank Aggregate Bond", "bond", 6.1),
    ("NBST", "Northbank Short-Term Treasury", "bond", 1.9),
    ("NBLT", "Northbank Long-Term Treasury", "bond", 16.4),
    ("NBMU", "Northbank Municipal Bond", "bond", 5.2),
    ("NBRE", "Northbank Real Estate Index", "real_estate", 0.0),
    ("NBMM", "Northbank Money Market", "cash", 0.1),
]

LIFE_EVENT_PRECURSORS: dict[str, list[tuple[str, str, float]]] = {
    "home_buying": [
        ("MORTGAGE PREAPPROVAL FEE", "Fees", 450.0),
        ("HOMESPECT INSPECTIONS", "Housing", 525.0),
        ("SUMMIT TITLE & ESCROW", "Housing", 2500.0),
    ],
    "marriage": [
        ("BLUE NILE JEWELERS", "Shopping", 3800.0),
        ("ROSEWOOD WEDDING VENUE", "Events", 4500.0),
        ("DAVID'S BRIDAL", "Shopping", 1200.0),
    ],
    "new_baby": [
        ("BUY BUY BABY", "Shopping", 640.0),
        ("OBGYN ASSOCIATES", "Health", 300.0),
        ("MATERNITY CLOSET", "Shopping", 180.0),
    ],
    "retirement": [
        ("401K CATCH-UP CONTRIBUTION", "Investments", 1500.0),
        ("RETIREMENT PLANNING CONSULT", "Fees", 350.0),
        ("AARP MEMBERSHIP", "Fees", 16.0),
    ],
    "job_change": [
        ("LINKEDIN PREMIUM", "Subscriptions", 39.99),
        ("PRO RESUME WRITERS", "Fees", 249.0),
    ],
}
