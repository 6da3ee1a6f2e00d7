"""Launchers: per-launcher magazines, launch intervals and reloads.

Every launcher of every battery is a row (L launchers). A launcher fires one
missile every `launch_interval_s` of its battery; the missiles assigned to a
(battery, type) in one decision cycle go to the earliest free launch slots of
that battery's launchers holding the type. An empty launcher is refilled with
its load from the battery's reserve, taking `reload_time_s`; its first new
launch slot is when the reload ends.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from skydome.arrays import F64, I64, rank_within_groups
from skydome.engagement.params import BatteryParams

__all__ = ["Launchers", "allocate_slots", "commit_launches", "start_reloads"]


@dataclass(frozen=True)
class Launchers:
    """All launchers, struct of arrays (L launchers, M missile types).

    Attributes:
        battery: (L,) battery of each launcher.
        stock: (L, M) missiles of each type on the launcher (a reloading
            launcher already counts its new load; its slots start at `ready_s`).
        ready_s: (L,) earliest time of the launcher's next launch.
        reserve: (B, M) reload missiles left at each battery.
    """

    battery: I64
    stock: I64
    ready_s: F64
    reserve: I64

    @staticmethod
    def from_params(bat: BatteryParams) -> Launchers:
        """Every launcher full and ready at t = 0."""
        battery = np.repeat(np.arange(bat.launchers.shape[0]), bat.launchers).astype(np.int64)
        return Launchers(
            battery=battery,
            stock=bat.load[battery].copy(),
            ready_s=np.zeros(battery.shape[0]),
            reserve=bat.reserve.copy(),
        )

    def battery_stock(self, n_batteries: int) -> I64:
        """(B, M) missiles on the launchers of each battery."""
        out = np.zeros((n_batteries, self.stock.shape[1]), dtype=np.int64)
        np.add.at(out, self.battery, self.stock)
        return out


def allocate_slots(
    ln: Launchers,
    bat: BatteryParams,
    b: I64,
    m: I64,
    earliest_s: F64,
) -> tuple[I64, F64]:
    """Earliest launch slots for K missiles, without changing the launchers.

    Missiles of one (battery, type) group take the group's k earliest slots
    among the battery's launchers holding the type: launcher l offers slots at
    max(ready_l, earliest) + j * interval for j < stock[l, m]. Groups are served
    in (battery, type) order, each seeing the slots the previous ones used.

    Args:
        ln: the launchers.
        bat: battery parameters (launch interval).
        b: (K,) battery of each missile.
        m: (K,) type of each missile.
        earliest_s: (K,) earliest launch time (decision time + reaction time).

    Returns:
        (launcher, t_launch_s), each (K,); launcher -1 where no slot exists.
    """
    k = b.shape[0]
    launcher = np.full(k, -1, dtype=np.int64)
    t_launch = np.full(k, np.inf)
    ready = ln.ready_s.copy()
    stock = ln.stock.copy()
    n_m = ln.stock.shape[1]
    groups = b * n_m + m
    # One pass per (battery, type) present this cycle: a handful, not per missile.
    for g in np.unique(groups):
        gb, gm = int(g // n_m), int(g % n_m)
        mine = np.flatnonzero(groups == g)
        cand = np.flatnonzero((ln.battery == gb) & (stock[:, gm] > 0))
        if cand.size == 0:
            continue
        dt = bat.launch_interval_s[gb]
        e = float(earliest_s[mine].min())
        n_slots = stock[cand, gm]
        lid = np.repeat(cand, n_slots)
        j = rank_within_groups(lid)
        t_slot = np.maximum(ready[lid], e) + dt * j
        order = np.lexsort((j, lid, t_slot))[: mine.size]
        launcher[mine[: order.size]] = lid[order]
        t_launch[mine[: order.size]] = t_slot[order]
        used = lid[order]
        np.subtract.at(stock[:, gm], used, 1)
        last = np.full(ready.shape[0], -np.inf)
        np.maximum.at(last, used, t_slot[order])
        ready = np.where(np.isfinite(last), np.maximum(ready, last + dt), ready)
    return launcher, t_launch


def commit_launches(
    ln: Launchers, bat: BatteryParams, launcher: I64, m: I64, t_launch_s: F64
) -> Launchers:
    """Take the launched missiles off their launchers and advance their ready times."""
    stock = ln.stock.copy()
    np.subtract.at(stock, (launcher, m), 1)
    last = np.full(ln.ready_s.shape[0], -np.inf)
    np.maximum.at(last, launcher, t_launch_s)
    dt = bat.launch_interval_s[ln.battery]
    ready = np.where(np.isfinite(last), np.maximum(ln.ready_s, last + dt), ln.ready_s)
    return Launchers(ln.battery, stock, ready, ln.reserve)


def start_reloads(ln: Launchers, bat: BatteryParams, t_s: float) -> tuple[Launchers, I64]:
    """Refill every empty, idle launcher from its battery's reserve.

    Launchers of a battery are served in order; each takes its load, or what
    is left of the reserve. The launcher is ready again after `reload_time_s`.

    Returns:
        The launchers after the reloads started, and the indices of the
        launchers that started one.
    """
    if not ln.reserve.any():  # late in a raid: nothing left to reload with
        return ln, np.zeros(0, dtype=np.int64)
    empty = (ln.stock.sum(axis=1) == 0) & (ln.ready_s <= t_s)
    if not empty.any():  # most decisions: no launcher to refill
        return ln, np.zeros(0, dtype=np.int64)
    want = np.where(empty[:, None], bat.load[ln.battery], 0)
    if not (want.sum(axis=0) > 0).any() or not ln.reserve.any():
        return ln, np.zeros(0, dtype=np.int64)
    # Cumulative demand per (battery, type) in launcher order, capped by the reserve.
    cum = np.zeros_like(want)
    for bi in np.unique(ln.battery[empty]):
        rows = np.flatnonzero(ln.battery == bi)
        cum[rows] = np.cumsum(want[rows], axis=0)
    avail = ln.reserve[ln.battery]
    give = np.clip(avail - (cum - want), 0, want)
    got = give.sum(axis=1) > 0
    reserve = ln.reserve.copy()
    np.subtract.at(reserve, ln.battery, give)
    stock = ln.stock + give
    ready = np.where(got, t_s + bat.reload_s[ln.battery], ln.ready_s)
    return Launchers(ln.battery, stock, ready, reserve), np.flatnonzero(got)
