"""Money flows of one synthetic customer: income, bills, spending, savings and life events."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from portfolio_context import catalog
from portfolio_context.dates import day_in_month, month_starts
from portfolio_context.synth import CustomerRows, cents

if TYPE_CHECKING:
    from portfolio_context.synth import CustomerSynth

RANGES = {  # profile -> (checking, savings, card utilisation, brokerage) target ranges
    "saver": ((4_000, 15_000), (20_000, 90_000), (0.02, 0.10), (40_000, 300_000)),
    "debt_heavy": ((150, 1_500), (0, 1_500), (0.60, 0.95), (0, 0)),
    "balanced": ((2_000, 8_000), (5_000, 25_000), (0.10, 0.40), (10_000, 80_000)),
    "gig_worker": ((300, 3_000), (500, 5_000), (0.20, 0.60), (0, 0)),
    "pre_retiree": ((5_000, 20_000), (30_000, 120_000), (0.02, 0.15), (200_000, 900_000)),
    "young_professional": ((1_000, 6_000), (2_000, 15_000), (0.10, 0.45), (3_000, 25_000)),
}
HOMEOWNER_SHARE = {"saver": 0.6, "pre_retiree": 0.8, "balanced": 0.5, "debt_heavy": 0.3}
SAVINGS_APY = 0.04


class FlowBuilder:
    """Fills a CustomerRows with accounts and twelve-plus months of transactions."""

    def __init__(self, synth: CustomerSynth, rows: CustomerRows) -> None:
        self.s, self.rows, self.rng = synth, rows, synth.rng
        self.ranges = RANGES[synth.profile]
        self.acct: dict[str, str] = {}
        self.months = month_starts(synth.start, synth.as_of)
        self.card_spend: dict[dt.date, float] = {}
        self.window = (synth.start, synth.as_of)

    def build(self) -> None:
        """Generate everything, in dependency order."""
        self._open_accounts()
        self._bills()
        self._income()
        self._spending()
        self._savings()
        self._card_payments()
        self._life_event()
        self._holdings()
        self._credit()

    def tx(self, kind: str, day: dt.date, amount: float, merchant: str, category: str) -> None:
        """Record one transaction if it falls inside the history window."""
        if self.window[0] <= day <= self.window[1] and kind in self.acct:
            self.rows.transactions.append(
                {
                    "account_id": self.acct[kind],
                    "posted": day,
                    "amount": cents(amount),
                    "merchant": merchant,
                    "category": category,
                    "memo": "",
                }
            )
            if kind == "credit_card" and amount < 0:
                key = day.replace(day=1)
                self.card_spend[key] = self.card_spend.get(key, 0.0) - amount

    def _account(self, kind: str, name: str, balance: float, **extra: object) -> None:
        """Open an account of the given kind."""
        aid = f"{self.s.cid}-{kind[:3].upper()}"
        self.acct[kind] = aid
        opened = self.s.start - dt.timedelta(days=self.rng.randint(30, 3000))
        self.rows.accounts.append(
            {
                "id": aid,
                "customer_id": self.s.cid,
                "type": kind,
                "name": name,
                "balance": cents(balance),
                "credit_limit": None,
                "apr": None,
                "opened": opened,
                **extra,
            }
        )

    def _open_accounts(self) -> None:
        """Checking always; savings, card, mortgage and brokerage by profile."""
        rng, (chk, sav, util, brk) = self.rng, self.ranges
        self._account("checking", "Everyday Checking", rng.uniform(*chk))
        if sav[1] > 0:
            self._account("savings", "High-Yield Savings", rng.uniform(*sav))
        limit = round(rng.uniform(2_000, 30_000), -2)
        self._account(
            "credit_card",
            "Rewards Visa",
            limit * rng.uniform(*util),
            credit_limit=cents(limit),
            apr=cents(rng.uniform(17.9, 28.9)),
        )
        if rng.random() < HOMEOWNER_SHARE.get(self.s.profile, 0.0):
            self._account(
                "mortgage",
                "30-Year Fixed Mortgage",
                rng.uniform(120_000, 450_000),
                apr=cents(rng.uniform(2.75, 7.0)),
            )
        if brk[1] > 0 and (self.s.profile in ("saver", "pre_retiree") or rng.random() < 0.4):
            self._account("brokerage", "Self-Directed Brokerage", 0.0)

    def _bill(self, payee: str, category: str, amount: float, day: int, debt: bool = False) -> None:
        """Add a recurring monthly bill and its past payments."""
        self.rows.bills.append(
            {
                "customer_id": self.s.cid,
                "account_id": self.acct["checking"],
                "payee": payee,
                "category": category,
                "amount": cents(amount),
                "day_of_month": day,
                "is_debt": debt,
            }
        )
        for first in self.months:
            factor = 1.0
            if category == "Utilities":
                factor = {12: 1.35, 1: 1.4, 2: 1.3, 7: 1.2, 8: 1.25}.get(first.month, 1.0)
            self.tx("checking", day_in_month(first, day), -amount * factor, payee, category)

    def _bills(self) -> None:
        """Housing, utilities, phone, internet, insurance, subscriptions and loans."""
        rng = self.rng
        if "mortgage" in self.acct:
            mortgage = next(a for a in self.rows.accounts if a["type"] == "mortgage")
            rate = float(mortgage["apr"]) / 1200
            payment = float(mortgage["balance"]) * rate / (1 - (1 + rate) ** -300)
            self._bill("NORTHBANK MORTGAGE PAYMENT", "Housing", payment, 1, debt=True)
        else:
            self._bill("PARKVIEW APARTMENTS RENT", "Housing", round(rng.uniform(900, 2800), -1), 1)
        self._bill("CITY POWER & LIGHT", "Utilities", rng.uniform(70, 190), rng.randint(5, 12))
        self._bill("VERIZON WIRELESS", "Phone & Internet", rng.uniform(45, 120), rng.randint(8, 18))
        self._bill("COMCAST XFINITY", "Phone & Internet", rng.uniform(50, 90), rng.randint(10, 20))
        self._bill("STATE FARM INSURANCE", "Insurance", rng.uniform(90, 260), rng.randint(2, 28))
        self._bill("NETFLIX", "Subscriptions", 15.49, rng.randint(1, 28))
        if self.s.profile in ("debt_heavy", "young_professional") or rng.random() < 0.25:
            self._bill("TOYOTA FINANCIAL", "Auto Loan", rng.uniform(280, 520), 15, debt=True)
        if self.s.profile in ("debt_heavy", "young_professional"):
            self._bill("NELNET STUDENT LOAN", "Student Loan", rng.uniform(180, 450), 22, debt=True)

    def _income(self) -> None:
        """Payroll every other Friday, or irregular gig payouts."""
        if self.s.profile == "gig_worker":
            self._gig_income()
            return
        employer = self.rng.choice(catalog.EMPLOYERS)
        net = self.s.salary * 0.73 / 26
        day = self.s.start + dt.timedelta(days=(4 - self.s.start.weekday()) % 7)
        if self.s.event == "job_change":  # the legacy plant's draw keeps the stream aligned
            self.rng.choice([e for e in catalog.EMPLOYERS if e != employer])
        while day <= self.s.as_of:
            self.tx("checking", day, net, employer, "Income")
            day += dt.timedelta(days=14)

    def _gig_income(self) -> None:
        """Two to four payouts a week from gig platforms, varying week to week."""
        weekly = self.s.salary * 0.85 / 52
        day = self.s.start
        while day <= self.s.as_of:
            payouts = self.rng.randint(2, 4)
            for _ in range(payouts):
                amount = weekly * self.rng.uniform(0.5, 1.5) / payouts
                when = day + dt.timedelta(days=self.rng.randint(0, 6))
                self.tx("checking", when, amount, self.rng.choice(catalog.GIG_PAYERS), "Income")
            day += dt.timedelta(days=7)

    def _spending(self) -> None:
        """Discretionary spending by category, with seasonality and profile habits."""
        rng = self.rng
        scale = {"saver": 0.8, "debt_heavy": 1.2, "pre_retiree": 0.9}.get(self.s.profile, 1.0)
        for first in self.months:
            for cat, (merchants, visits, amounts, by_card) in catalog.DISCRETIONARY.items():
                factor = catalog.SEASONAL.get(cat, {}).get(first.month, 1.0) * scale
                for _ in range(rng.randint(*visits)):
                    day = day_in_month(first, rng.randint(1, 28))
                    amount = rng.uniform(*amounts) * factor
                    kind = "credit_card" if by_card else "checking"
                    self.tx(kind, day, -amount, rng.choice(merchants), cat)
            if first.month in (6, 7, 8) and self.s.profile in ("saver", "balanced", "pre_retiree"):
                day = day_in_month(first, rng.randint(1, 28))
                self.tx(
                    "credit_card",
                    day,
                    -rng.uniform(300, 1400),
                    rng.choice(catalog.TRAVEL_MERCHANTS),
                    "Travel",
                )

    def _savings(self) -> None:
        """Monthly transfers into savings and the interest it earns."""
        if "savings" not in self.acct:
            return
        monthly = (
            self.s.salary / 12 * {"saver": 0.15, "pre_retiree": 0.12}.get(self.s.profile, 0.04)
        )
        balance = float(next(a for a in self.rows.accounts if a["type"] == "savings")["balance"])
        for first in self.months:
            day = day_in_month(first, 3)
            self.tx("checking", day, -monthly, "TRANSFER TO SAVINGS", "Transfer")
            self.tx("savings", day, monthly, "TRANSFER FROM CHECKING", "Transfer")
            self.tx(
                "savings",
                day_in_month(first, 28),
                balance * SAVINGS_APY / 12,
                "INTEREST PAID",
                "Interest",
            )

    def _card_payments(self) -> None:
        """Pay last month's card spending from checking (partly, for the indebted)."""
        share = 0.35 if self.s.profile == "debt_heavy" else 1.0
        for first in self.months[1:]:
            previous = (first - dt.timedelta(days=1)).replace(day=1)
            spent = self.card_spend.get(previous, 0.0) * share
            if spent > 0:
                day = day_in_month(first, 20)
                self.tx("checking", day, -spent, "REWARDS VISA PAYMENT", "Credit Card Payment")
                self.tx("credit_card", day, spent, "PAYMENT - THANK YOU", "Credit Card Payment")

    def _life_event(self) -> None:
        """Draw what the legacy planted event drew, writing nothing (keeps the main stream)."""
        event = self.s.event
        if event is None or (event == "job_change" and self.s.profile == "gig_worker"):
            return
        for _ in catalog.LIFE_EVENT_PRECURSORS[event]:
            self.rng.randint(5, 75)
            self.rng.uniform(0.8, 1.2)
        ahead = {"home_buying": (30, 90), "marriage": (20, 120), "new_baby": (30, 150)}
        if event != "job_change":
            self.rng.randint(*ahead.get(event, (60, 200)))

    def _holdings(self) -> None:
        """Fund positions in the brokerage account, bond-heavier with age."""
        if "brokerage" not in self.acct:
            return
        total = self.rng.uniform(*self.ranges[3])
        age = self.s.as_of.year - int(self.rows.customer["birth_year"])
        bond_share = min(0.7, max(0.1, (age - 20) / 60 + self.rng.uniform(-0.1, 0.1)))
        picks = self.rng.sample(catalog.FUNDS, k=self.rng.randint(3, 5))
        if not any(f[2] == "bond" for f in picks):
            picks.append(catalog.FUNDS[2])
        bonds = [f for f in picks if f[2] == "bond"]
        others = [f for f in picks if f[2] != "bond"]
        for fund in picks:
            pool = bond_share if fund in bonds else 1 - bond_share
            weight = pool / (len(bonds) if fund in bonds else max(1, len(others)))
            self.rows.holdings.append(
                {
                    "account_id": self.acct["brokerage"],
                    "symbol": fund[0],
                    "name": fund[1],
                    "asset_class": fund[2],
                    "market_value": cents(total * weight),
                    "duration_years": cents(fund[3]),
                }
            )
        brokerage = next(a for a in self.rows.accounts if a["type"] == "brokerage")
        brokerage["balance"] = sum(h["market_value"] for h in self.rows.holdings)

    def _credit(self) -> None:
        """A credit profile consistent with the customer's habits."""
        rng = self.rng
        lo, hi = {
            "saver": (740, 830),
            "debt_heavy": (560, 670),
            "gig_worker": (600, 720),
            "pre_retiree": (720, 820),
        }.get(self.s.profile, (660, 780))
        self.rows.credit = {
            "customer_id": self.s.cid,
            "score": rng.randint(lo, hi),
            "open_tradelines": rng.randint(2, 12),
            "delinquencies_24m": rng.randint(0, 3) if self.s.profile == "debt_heavy" else 0,
            "inquiries_6m": rng.randint(0, 2),
        }
