"""Pydantic models of a scenario file (DESIGN §4): one model per YAML section.

Every model is frozen and forbids unknown keys. Units are in field names (``_t``, ``_days``,
``_usd_per_kg``) or descriptions. Named entities (buyers, suppliers, stockpiles, regions) are
mappings keyed by name so that timeline events and overrides can address them by dot path,
e.g. ``gate.regions.US.approval_prob.civil``.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

END_USES: tuple[str, ...] = ("civil", "dual_use", "defense")
REGIMES: tuple[str, ...] = ("open", "licensing", "embargo")
SECTORS: tuple[str, ...] = ("automotive", "wind", "defense", "electronics", "industrial")
CHINA = "china"

Regime = Literal["open", "licensing", "embargo"]
EndUse = Literal["civil", "dual_use", "defense"]
Sector = Literal["automotive", "wind", "defense", "electronics", "industrial"]
Allocation = Literal["fifo", "pro_rata", "priority"]
Date = Annotated[dt.date, Field(strict=False)]
"""A calendar date; ISO strings are accepted as well as YAML dates."""


class Section(BaseModel):
    """Base of every scenario section: frozen, unknown keys forbidden, no NaN or infinity."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, strict=True)


def _share(description: str, default: float | None = None) -> Any:
    kwargs: dict[str, Any] = {"ge": 0.0, "le": 1.0, "description": description}
    return Field(default, **kwargs) if default is not None else Field(..., **kwargs)


class Horizon(Section):
    """Simulated calendar span; day 0 is ``start``, the last simulated day is ``end``."""

    start: Date = Field(..., description="First simulated day (YYYY-MM-DD).")
    end: Date = Field(..., description="Last simulated day (YYYY-MM-DD), inclusive.")

    @model_validator(mode="after")
    def _ordered(self) -> Horizon:
        if self.end <= self.start:
            raise ValueError(f"end must be after start (got start {self.start}, end {self.end})")
        return self

    @property
    def days(self) -> int:
        """Number of simulated days (inclusive span)."""
        return (self.end - self.start).days + 1


class Delay(Section):
    """A random delay: ``dist`` with ``mean`` and ``cv``, floored at ``min``, in the unit of
    the field that holds it (calendar days for transit, working days for licence review).
    """

    dist: Literal["fixed", "lognormal", "gamma"] = Field(
        "lognormal", description="Distribution family; `fixed` always returns `mean`."
    )
    mean: float = Field(..., gt=0, description="Mean delay (days of the field's unit).")
    cv: float = Field(
        0.0, ge=0, le=5, description="Coefficient of variation, sd / mean (dimensionless).")
    min: float = Field(0.0, ge=0, description="Floor on every draw (days of the field's unit).")


class ByEndUse(Section):
    """A share per end-use class (civil, dual_use, defense), each in [0, 1]."""

    civil: float = _share("Share for civil end use.", 1.0)
    dual_use: float = _share("Share for dual-use end use.", 1.0)
    defense: float = _share("Share for defense end use.", 1.0)


class RegimeByEndUse(Section):
    """Licensing regime per end-use class."""

    civil: Regime = Field("open", description="open | licensing | embargo for civil buyers.")
    dual_use: Regime = Field("open", description="Regime for dual-use buyers.")
    defense: Regime = Field("open", description="Regime for defense buyers.")


class RegionGate(Section):
    """Gate state for one destination region."""

    regime: RegimeByEndUse = Field(
        default_factory=RegimeByEndUse,
        description="Regime per end use. `licensing` and `embargo` apply only to the"
        " `covered_share` of shipments; to cut a flow off entirely, set `embargo` and a"
        " `covered_share` of 1.",
    )
    covered_share: ByEndUse = Field(
        default_factory=ByEndUse,
        description="Probability (0-1) that a shipment contains controlled elements and needs"
        " a licence, under the `licensing` and the `embargo` regimes (under `embargo` such a"
        " shipment is denied without review); the other shipments pass as under `open`.",
    )
    approval_prob: ByEndUse = Field(
        default_factory=ByEndUse,
        description="Probability (0-1) that a reviewed application is approved.",
    )


class GeneralLicence(Section):
    """A general licence: the listed buyers skip review until ``expires``."""

    buyers: list[str] = Field(..., description="Buyer names covered by the licence.")
    expires: Date = Field(..., description="Last day (YYYY-MM-DD) the licence is valid.")
    source: str = Field("", description="Citation or `assumption: ...`.")


class Gate(Section):
    """China's export licensing gate (DESIGN §2.1)."""

    shipment_t: float = Field(5.0, gt=0, description="Largest shipment per licence (t).")
    reviewers: int = Field(
        10, gt=0, description="Parallel licence reviewers: applications reviewed at once (count).")
    review_working_days: Delay = Field(
        default_factory=lambda: Delay(mean=20.0, cv=0.5, min=5.0),
        description="Review time once a reviewer takes the application (working days).",
    )
    max_review_working_days: float = Field(
        45.0, gt=0, description="Statutory cap from filing to decision (working days)."
    )
    reapply_after_days: int = Field(
        14, ge=0, description="Delay before a denied shipment is filed again (days)."
    )
    holidays: list[Date] = Field(
        default_factory=list, description="Non-working dates besides Saturdays and Sundays."
    )
    regions: dict[str, RegionGate] = Field(
        ..., min_length=1, description="Gate state per destination region."
    )
    general_licences: dict[str, GeneralLicence] = Field(
        default_factory=dict, description="Named general licences."
    )

    @model_validator(mode="after")
    def _cap_after_min(self) -> Gate:
        if self.review_working_days.min > self.max_review_working_days:
            raise ValueError(
                "review_working_days.min must not exceed max_review_working_days "
                f"(got {self.review_working_days.min} > {self.max_review_working_days})"
            )
        return self


class China(Section):
    """China's export dispatch: capacity, allocation when short, transit per region."""

    export_capacity_t_per_day: float = Field(
        ..., gt=0, description="Tonnes China can dispatch for export per day (t/day)."
    )
    allocation: Allocation = Field("fifo", description="Rule splitting short capacity.")
    priority: list[str] = Field(
        default_factory=list,
        description="For `priority`: sectors or end uses, highest first; others come last.",
    )
    transit_days: dict[str, Delay] = Field(
        ..., description="Transit time from dispatch to arrival per region (calendar days)."
    )
    source: str = Field("", description="Citation or `assumption: ...`.")


class RampPoint(Section):
    """From ``date`` on, a supplier runs at ``share`` of its capacity."""

    date: Date = Field(..., description="Date the share takes effect.")
    share: float = _share("Share (0-1) of nameplate capacity in use.")


class Supplier(Section):
    """An ex-China magnet supplier or a recycler."""

    region: str = Field(..., description="Region where it produces.")
    capacity_t_per_year: float = Field(..., ge=0, description="Nameplate output (t/year).")
    ramp: list[RampPoint] = Field(
        default_factory=list, description="Dated capacity shares; full capacity if empty."
    )
    lead_time_days: int = Field(
        30, ge=0, description="Shipping to arrival (days): an order placed on day t ships from "
        "day t + 1, as output allows, and arrives this many days after it ships.")
    gated_feedstock_share: float = _share(
        "Share (0-1) of output that needs Chinese heavy rare earths through the gate.", 0.0
    )
    recycled: bool = Field(False, description="Fed by scrap and end-of-life magnets: its "
                           "feedstock is not gated (`gated_feedstock_share` must be 0).")
    yield_share: float = _share("Recovery yield (0-1) applied to capacity.", 1.0)
    premium_usd_per_kg: float = Field(0.0, ge=0, description="Price over China (USD/kg).")
    allocation: Allocation = Field("fifo", description="Rule splitting short output.")
    priority: list[str] = Field(
        default_factory=list,
        description="For `priority`: buyers' sectors or end uses, highest first; others "
        "come last.",
    )
    source: str = Field("", description="Citation or `assumption: ...`.")

    @model_validator(mode="after")
    def _recycler_ungated(self) -> Supplier:
        if self.recycled and self.gated_feedstock_share > 0:
            raise ValueError("a recycler's feedstock is not gated: gated_feedstock_share must "
                             "be 0 when recycled is true")
        return self

    @field_validator("ramp")
    @classmethod
    def _ramp_sorted(cls, ramp: list[RampPoint]) -> list[RampPoint]:
        dates = [p.date for p in ramp]
        if dates != sorted(dates):
            raise ValueError("ramp dates must be in increasing order")
        return ramp


class Demand(Section):
    """Magnet demand of a buyer: tonnes per year, or units per year x kg per unit."""

    t_per_year: float | None = Field(None, gt=0, description="Mean demand (t/year).")
    units_per_year: float | None = Field(
        None, gt=0, description="Units built per year (vehicles, MW, systems per year).")
    kg_per_unit: float | None = Field(None, gt=0, description="NdFeB per unit (kg/unit).")
    cv: float = Field(
        0.0, ge=0, le=3,
        description="Coefficient of variation of daily demand, sd / mean (dimensionless).")
    dist: Literal["gamma", "normal"] = Field(
        "gamma", description="Daily noise: gamma, or normal truncated at 0."
    )
    trend_per_year: float = Field(0.0, gt=-1, description="Growth of the mean (fraction/year).")
    seasonality: list[float] | None = Field(
        None,
        description="12 monthly factors (Jan..Dec, dimensionless) multiplying the mean; mean 1.",
    )

    @model_validator(mode="after")
    def _one_size(self) -> Demand:
        by_units = self.units_per_year is not None
        if self.t_per_year is None and not by_units:
            raise ValueError("give t_per_year, or units_per_year with kg_per_unit")
        if by_units and self.kg_per_unit is None:
            raise ValueError("units_per_year needs kg_per_unit")
        if by_units and self.t_per_year is not None:
            raise ValueError("give t_per_year or units_per_year, not both")
        if self.seasonality is not None:
            if len(self.seasonality) != 12 or min(self.seasonality) < 0:
                raise ValueError("seasonality needs 12 non-negative monthly factors")
            if not math.isclose(sum(self.seasonality) / 12, 1.0, abs_tol=1e-3):
                raise ValueError("seasonality factors must average 1")
        return self

    @property
    def mean_t_per_day(self) -> float:
        """Mean demand at day 0 (t/day)."""
        if self.t_per_year is not None:
            return self.t_per_year / 365.0
        assert self.units_per_year is not None and self.kg_per_unit is not None
        return self.units_per_year * self.kg_per_unit / 1000.0 / 365.0


class Policy(Section):
    """Replenishment policy on inventory position, reviewed every ``review_period_days``."""

    kind: Literal["base_stock", "sS", "days_of_cover"] = Field(
        "days_of_cover", description="base_stock (up to S), sS, or days_of_cover."
    )
    review_period_days: int = Field(7, gt=0, description="Calendar days between reviews (days).")
    order_up_to_t: float | None = Field(None, ge=0, description="S for base_stock and sS (t).")
    reorder_point_t: float | None = Field(None, ge=0, description="s for sS (t).")
    target_days: float | None = Field(
        None, gt=0, description="For days_of_cover: S = target_days x forecast (days)."
    )

    @model_validator(mode="after")
    def _parameters(self) -> Policy:
        if self.kind in ("base_stock", "sS") and self.order_up_to_t is None:
            raise ValueError(f"{self.kind} needs order_up_to_t")
        if self.kind == "sS":
            if self.reorder_point_t is None:
                raise ValueError("sS needs reorder_point_t")
            if self.order_up_to_t is not None and self.reorder_point_t > self.order_up_to_t:
                raise ValueError("reorder_point_t must not exceed order_up_to_t")
        if self.kind == "days_of_cover" and self.target_days is None:
            raise ValueError("days_of_cover needs target_days")
        return self


class Substitution(Section):
    """Move up to ``max_share`` of demand to magnet-free designs once cover falls low."""

    trigger_cover_days: float = Field(..., gt=0, description="Cover that starts it (days).")
    max_share: float = _share("Largest share (0-1) of demand substituted.")
    lead_days: int = Field(
        ..., gt=0, description="Calendar days to ramp from 0 to max_share (days).")


class Buyer(Section):
    """A magnet-consuming sector in a region, or one firm."""

    region: str = Field(..., description="Destination region (a key of gate.regions).")
    sector: Sector = Field(..., description="automotive | wind | defense | electronics | ...")
    end_use: EndUse = Field("civil", description="End-use class seen by the licensing gate.")
    unit_name: str = Field("units", description="What one lost unit is (vehicles, MW, ...).")
    demand: Demand = Field(..., description="Demand model.")
    initial_stock_t: float | None = Field(
        None, ge=0, description="On hand at day 0 (t); default: the policy's target level."
    )
    policy: Policy = Field(..., description="Replenishment policy.")
    sourcing: dict[str, float] = Field(
        default_factory=lambda: {CHINA: 1.0},
        description="Share (0-1) of each order to `china` or a named supplier; sums to 1.",
    )
    shortage: Literal["lost_sales", "backorder"] = Field(
        "lost_sales", description="Unmet demand is lost production or backordered."
    )
    on_denial: Literal["reapply", "resource", "lose"] = Field(
        "reapply", description="What a denied shipment does (after the gray-channel leak)."
    )
    resource_to: str | None = Field(
        None, description="Supplier taking denied tonnes under `resource`."
    )
    substitution: Substitution | None = Field(None, description="Optional substitution.")
    source: str = Field("", description="Citation for the sizing, or `assumption: ...`.")

    @field_validator("sourcing")
    @classmethod
    def _shares(cls, sourcing: dict[str, float]) -> dict[str, float]:
        for name, share in sourcing.items():
            if not (0.0 <= share <= 1.0) or math.isnan(share):
                raise ValueError(f"share of {name!r} must be in [0, 1] (got {share})")
        total = sum(sourcing.values())
        if not math.isclose(total, 1.0, abs_tol=1e-6):
            raise ValueError(f"shares must sum to 1 (got {total:g})")
        return sourcing

    @model_validator(mode="after")
    def _resource(self) -> Buyer:
        if self.on_denial == "resource" and self.resource_to is None:
            ex_china = [k for k, v in self.sourcing.items() if k != CHINA and v > 0]
            if not ex_china:
                raise ValueError("on_denial: resource needs resource_to or an ex-China source")
        return self

    @property
    def resource_supplier(self) -> str | None:
        """Supplier that takes re-sourced tonnes: ``resource_to`` or the largest ex-China one."""
        if self.resource_to is not None:
            return self.resource_to
        ex_china = {k: v for k, v in self.sourcing.items() if k != CHINA and v > 0}
        return max(ex_china, key=ex_china.__getitem__) if ex_china else None


class Release(Section):
    """Stockpile release rule."""

    trigger_cover_days: float = Field(..., gt=0, description="Release to eligible buyers "
                                      "whose cover is below this (days).")
    max_t_per_day: float = Field(..., gt=0, description="Largest release per day (t/day).")
    sectors: list[Sector] = Field(..., description="Eligible sectors.")
    regions: list[str] = Field(..., description="Eligible regions.")
    allocation: Allocation = Field("pro_rata", description="Rule splitting a short release.")


class Refill(Section):
    """Buying a stockpile back up after releases (off unless ``t_per_day`` > 0)."""

    t_per_day: float = Field(0.0, ge=0, description="Largest purchase per day (t/day); 0: "
                             "no refill.")
    target_t: float | None = Field(None, ge=0, description="Level bought back up to (t); "
                                   "default: `stock_t`.")


class Stockpile(Section):
    """A government stockpile of finished magnets."""

    stock_t: float = Field(..., ge=0, description="Tonnes held at day 0 (t).")
    release: Release = Field(..., description="Release rule.")
    lead_time_days: int = Field(0, ge=0, description="Release to arrival (days).")
    refill: Refill = Field(default_factory=Refill, description="Optional refill rule: on a "
                           "day when none of its eligible buyers is below the release trigger, "
                           "the stockpile buys up to `t_per_day` towards `target_t`, from "
                           "outside the modelled supply.")
    source: str = Field("", description="Citation or `assumption: ...`.")


class GrayChannel(Section):
    """Leakage of denied tonnes around the gate."""

    leak_share: float = _share("Share (0-1) of denied tonnes that arrive anyway.", 0.0)
    delay_days: int = Field(30, ge=0, description="Denial to arrival (days).")
    premium_usd_per_kg: float = Field(0.0, ge=0, description="Price over China (USD/kg).")
    source: str = Field("", description="Citation or `assumption: ...`.")


class TimelineEvent(Section):
    """A dated event that sets parameters by dot path (``*`` matches every key)."""

    date: Date = Field(..., description="Day the event applies (before anything else).")
    label: str = Field(..., description="Short name shown on figures.")
    source: str = Field(..., description="Citation of what happened, or `assumption: ...`.")
    set: dict[str, Any] = Field(..., description="Dot path -> new value.")
    shade: bool = Field(False, description="Number the event on figures (a control or truce); "
                        "others are drawn dotted.")


class Disruption(Section):
    """A random on/off episode drawn per replication: a two-state Markov chain on days.

    While not in force it starts on a day with probability 1 - exp(-hazard_per_year / 365);
    while in force it ends on a day with probability 1 / mean_duration_days (geometric
    durations). In force, its ``set`` overrides apply on top of the timeline's parameters.
    Long-run share of days in force: a / (a + b) with a, b those two daily probabilities.
    """

    hazard_per_year: float = Field(..., ge=0, description="Start rate while not in force (1/year).")
    mean_duration_days: float = Field(..., ge=1, description="Mean days in force (days).")
    earliest: Date | None = Field(None, description="First date it may start (default: start).")
    set: dict[str, Any] = Field(..., description="Dot path -> value while in force.")
    label: str = Field(..., description="Short name shown on figures.")
    source: str = Field(..., description="Citation, or `assumption: ...`.")

    @property
    def start_prob(self) -> float:
        """Probability per day of starting while not in force."""
        return -math.expm1(-self.hazard_per_year / 365.0)

    @property
    def end_prob(self) -> float:
        """Probability per day of ending while in force."""
        return 1.0 / self.mean_duration_days


class Costs(Section):
    """Prices that turn tonnes and days into money (USD)."""

    magnet_usd_per_kg: float = Field(
        49.0, ge=0, description="Value of NdFeB magnets held in stock (USD/kg).")
    holding_rate_per_year: float = Field(
        0.2, ge=0, le=2,
            description="Holding cost of stock per year as a share of its value (1/year).")
    shortage_usd_per_unit: dict[Sector, float] = Field(
        default_factory=dict,
        description="Cost of one lost unit (vehicle, MW, system) by sector (USD/unit).")
    shortage_usd_per_t: dict[Sector, float] = Field(
        default_factory=dict,
        description="Cost of one tonne of unmet magnet demand by sector (USD/t), charged for "
                    "every buyer of the sector, on top of the cost of its lost units.")
    source: str = Field(
        "", description="Citations for the prices, or `assumption: ...`.")

    @field_validator("shortage_usd_per_unit", "shortage_usd_per_t")
    @classmethod
    def _non_negative(cls, values: dict[str, float]) -> dict[str, float]:
        for sector, v in values.items():
            if not v >= 0 or math.isinf(v):
                raise ValueError(f"cost of {sector!r} must be a finite value >= 0 (got {v})")
        return values


class Units(Section):
    """Units are fixed: tonnes, days, USD."""

    mass: Literal["t"] = Field("t", description="Mass unit: tonnes (fixed).")
    time: Literal["days"] = Field("days", description="Time unit: calendar days (fixed).")
    money: Literal["USD"] = Field("USD", description="Money unit: US dollars (fixed).")


class Scenario(Section):
    """A resolved scenario: what one run simulates."""

    name: str = Field(
        ..., min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][\w.-]*$",
        description="Scenario name (letters, digits, `_`, `-`, `.`; names the run directory).")
    description: str = Field("", description="What the scenario represents.")
    horizon: Horizon = Field(..., description="Simulated calendar span.")
    seed: int = Field(0, ge=0, description="Root seed of all random streams.")
    replications: int = Field(20, gt=0, description="Default Monte Carlo replications.")
    units: Units = Field(default_factory=Units, description="Fixed units (t, days, USD).")
    observed_exports: str | None = Field(
        None,
        description="CSV of observed exports: a path relative to the scenario file, or"
        " `builtin:china_magnet_exports`. Columns `month` (YYYY-MM), `destination`, `tonnes`"
        " (a number ≥ 0, or empty for no figure); `source` and `note` optional, other"
        " columns ignored. Of rows for the same month and destination the last with a"
        " figure counts. Checked when the scenario is loaded.",
    )
    gate: Gate = Field(..., description="Licensing gate.")
    china: China = Field(..., description="China's export dispatch.")
    suppliers: dict[str, Supplier] = Field(default_factory=dict, description="Ex-China supply.")
    buyers: dict[str, Buyer] = Field(..., min_length=1, description="Magnet buyers by name.")
    stockpiles: dict[str, Stockpile] = Field(default_factory=dict, description="Stockpiles.")
    gray_channel: GrayChannel = Field(default_factory=GrayChannel, description="Gray channel.")
    costs: Costs = Field(default_factory=Costs, description="Prices for the cost model.")
    timeline: list[TimelineEvent] = Field(default_factory=list, description="Dated events.")
    shock: Date | None = Field(
        None, description="Day the shock starts that `days_to_first_stockout` and "
        "`recovery_days` count from (in the horizon). Default: the first timeline event with "
        "`shade: true`, else the first event; without a timeline, the first day a random "
        "disruption is in force in each replication (none: no shock); else the first day.")
    disruptions: dict[str, Disruption] = Field(
        default_factory=dict, description="Random on/off episodes (stochastic events)."
    )
    variants: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="Named overrides (dot path -> value) for compare."
    )
    sweep: dict[str, list[Any]] = Field(
        default_factory=dict, description="Grid for `magsim sweep`: dot path -> values."
    )

    @model_validator(mode="after")
    def _references(self) -> Scenario:
        errors = list(_reference_errors(self))
        if errors:
            raise ValueError("; ".join(errors))
        return self


def _reference_errors(s: Scenario) -> list[str]:
    """Cross-section checks: every name a section refers to exists."""
    errs: list[str] = []
    regions = set(s.gate.regions)
    for name, b in s.buyers.items():
        if b.region not in regions:
            errs.append(f"buyers.{name}.region: unknown region {b.region!r}")
        for src in b.sourcing:
            if src != CHINA and src not in s.suppliers:
                errs.append(f"buyers.{name}.sourcing: unknown supplier {src!r}")
        if b.resource_to is not None and b.resource_to not in s.suppliers:
            errs.append(f"buyers.{name}.resource_to: unknown supplier {b.resource_to!r}")
    errs += [f"china.transit_days: no entry for region {r!r}"
             for r in regions if r not in s.china.transit_days]
    errs += [f"china.transit_days.{r}: unknown region {r!r}"
             for r in s.china.transit_days if r not in regions]
    for name, lic in s.gate.general_licences.items():
        errs += [f"gate.general_licences.{name}.buyers: unknown buyer {b!r}"
                 for b in lic.buyers if b not in s.buyers]
    for name, sp in s.stockpiles.items():
        errs += [f"stockpiles.{name}.release.regions: unknown region {r!r}"
                 for r in sp.release.regions if r not in regions]
    for name, sup in s.suppliers.items():
        if sup.region not in regions:
            errs.append(f"suppliers.{name}.region: unknown region {sup.region!r}")
    known = set(SECTORS) | set(END_USES)
    errs += [f"china.priority: unknown sector or end use {p!r}"
             for p in s.china.priority if p not in known]
    errs += [f"suppliers.{name}.priority: unknown sector or end use {p!r}"
             for name, sup in s.suppliers.items() for p in sup.priority if p not in known]
    for i, ev in enumerate(s.timeline):
        if not (s.horizon.start <= ev.date <= s.horizon.end):
            errs.append(f"timeline.{i}.date: {ev.date} is outside the horizon "
                        f"{s.horizon.start}..{s.horizon.end}")
        if i and ev.date < s.timeline[i - 1].date:
            errs.append(f"timeline.{i}.date: events must be in date order "
                        f"({ev.date} comes after {s.timeline[i - 1].date})")
    if s.shock is not None and not s.horizon.start <= s.shock <= s.horizon.end:
        errs.append(f"shock: {s.shock} is outside the horizon {s.horizon.start}.."
                    f"{s.horizon.end}")
    errs += [f"disruptions.{name}.earliest: {d.earliest} is outside the horizon "
             f"{s.horizon.start}..{s.horizon.end} (it could never start)"
             for name, d in s.disruptions.items()
             if d.earliest is not None and not s.horizon.start <= d.earliest <= s.horizon.end]
    return errs


EXTENDS: dict[str, Any] = {
    "type": "string",
    "description": "Path of a base scenario file, relative to this file: this file is deep-"
    "merged over it (mappings merged, lists and values replaced).",
}
"""The ``extends`` key of a scenario file, which the loader removes before validation."""


def editor_schema() -> dict[str, Any]:
    """JSON Schema of a scenario *file*, for editors (``magsim schema``).

    :meth:`Scenario.model_json_schema` describes a merged scenario. A file that ``extends``
    another writes only what it changes, so this schema adds ``extends`` and requires no
    field; unknown keys, types, enums and bounds are flagged as before. Completeness is
    checked after merging, by ``magsim validate``.
    """
    schema = _optional(Scenario.model_json_schema())
    schema["properties"] = {"extends": EXTENDS, **schema["properties"]}
    schema["description"] = ("A scenario file: a whole scenario, or with `extends` the "
                             "changes to a base file.")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


def _optional(node: Any) -> Any:
    """A JSON Schema without its ``required`` lists (property names and values kept)."""
    if isinstance(node, list):
        return [_optional(n) for n in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("properties", "$defs", "patternProperties"):  # names -> schemas
            out[key] = {name: _optional(sub) for name, sub in value.items()}
        elif key in ("default", "const", "enum", "examples"):  # values, not schemas
            out[key] = value
        elif key != "required":
            out[key] = _optional(value)
    return out
