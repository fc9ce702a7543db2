"""A seeded generator of layered stovepipe graphs, written as a native flows CSV.

streams -> commissioners -> pooled funds -> providers, with commissioner-to-commissioner transfers (some
returned, which makes small cycles), provider subcontracts, declared streams and credit lines.

    python benchmarks/generate.py 1000000 benchmarks/data/flows-1m.csv --seed 7
"""

from __future__ import annotations

import argparse
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl


def layered_flows(flows: int, seed: int = 7) -> pl.DataFrame:
    """About ``flows`` payment lines (exactly that many) on a layered stovepipe graph."""
    rng = np.random.default_rng(seed)
    streams = 50  # national funding streams
    regions = max(1, flows // 25_000)  # local health and care systems
    commissioners = regions * 50
    pools = regions * 5
    providers = max(50, flows // 10)
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []  # payer, payee, kinds, declared

    def block(payer: np.ndarray, payee: np.ndarray, payer_kind: str, payee_kind: str) -> None:
        parts.append((payer, payee, np.array([payer_kind, payee_kind]), np.full(payer.size, -1)))

    def local(region: np.ndarray, per_region: int) -> np.ndarray:
        """A random member (of a group numbered region + regions * k) in each given region."""
        return region + regions * rng.integers(0, per_region, region.size)

    # every commissioner is funded by three national streams
    c = np.repeat(np.arange(commissioners), 3)
    block(rng.integers(0, streams, c.size), c + streams, "stream", "commissioner")
    # pooled funds take money from six commissioners of their own region
    p = np.repeat(np.arange(pools), 6)
    block(local(p % regions, 50) + streams, p + streams + commissioners, "commissioner", "stream")
    # transfers between commissioners of a region, a tenth of them returned (a cycle)
    t = rng.integers(0, commissioners - regions, commissioners // 2)
    block(t + streams, t + regions + streams, "commissioner", "commissioner")
    back = t[: t.size // 10]
    block(back + regions + streams, back + streams, "commissioner", "commissioner")
    first_provider = streams + commissioners + pools
    fixed = sum(part[0].size for part in parts)
    remaining = flows - fixed
    direct, pooled = int(remaining * 0.70), int(remaining * 0.25)
    subcontract = remaining - direct - pooled
    payee = _skewed(rng, providers, direct)
    payer = local(payee % regions, 50) + streams
    parts.append(
        (
            payer,
            payee + first_provider,
            np.array(["commissioner", "provider"]),
            _declared(rng, payer, streams, parts[0]),
        )
    )
    payee = _skewed(rng, providers, pooled)
    block(local(payee % regions, 5) + streams + commissioners, payee + first_provider, "stream", "provider")
    lead = _skewed(rng, providers // 2, subcontract)
    partner = np.minimum(lead + regions * rng.integers(1, 50, subcontract), providers - 1)
    block(lead + first_provider, partner + first_provider, "provider", "provider")
    payer = np.concatenate([x[0] for x in parts])
    payee = np.concatenate([x[1] for x in parts])
    payer_kind = np.concatenate([np.full(x[0].size, x[2][0]) for x in parts])
    payee_kind = np.concatenate([np.full(x[0].size, x[2][1]) for x in parts])
    declared = np.concatenate([x[3] for x in parts])
    pence = (rng.lognormal(mean=10.5, sigma=1.3, size=payer.size)).astype(np.int64) + 100
    # the upper layers move large sums, so commissioners and pools mostly pass on money they received
    scales = [250, 200, 50, 50, 1, 1, 1]
    layer_scale = np.concatenate([np.full(x[0].size, s) for x, s in zip(parts, scales, strict=True)])
    pence *= layer_scale
    credit = rng.random(payer.size) < 0.01
    pence[credit] = -(pence[credit] // 10)
    start = date(2019, 4, 1)
    days = rng.integers(0, 730, payer.size)
    names = _names(streams, commissioners, pools, providers)
    return pl.DataFrame(
        {
            "payer_id": [f"org-{i}" for i in payer],
            "payer_name": names[payer],
            "payer_kind": payer_kind,
            "payee_id": [f"org-{i}" for i in payee],
            "payee_name": names[payee],
            "payee_kind": payee_kind,
            "amount": [
                f"{v // 100}.{abs(v) % 100:02d}" if v >= 0 else f"-{-v // 100}.{-v % 100:02d}" for v in pence
            ],
            "currency": "GBP",
            "date": [(start + timedelta(days=int(d))).isoformat() for d in days],
            "stream_id": [f"org-{s}" if s >= 0 else None for s in declared],
            "reference": [f"INV-{i}" for i in range(payer.size)],
        }
    )


def _skewed(rng: np.random.Generator, size: int, count: int) -> np.ndarray:
    """Indices in [0, size) where low indices are much more common (big providers get most contracts)."""
    return (rng.pareto(1.2, count) * size / 20).astype(np.int64) % size


def _declared(rng: np.random.Generator, payer: np.ndarray, streams: int, funding: tuple) -> np.ndarray:
    """For a tenth of direct payments, the stream the commissioner says it paid from."""
    funder_of = np.full(payer.max() + 1, -1)
    funder_of[funding[1]] = funding[0]
    declared = np.where(rng.random(payer.size) < 0.1, funder_of[payer], -1)
    return declared


def _names(streams: int, commissioners: int, pools: int, providers: int) -> np.ndarray:
    labels = (
        [f"Stream {i}" for i in range(streams)]
        + [f"Commissioner {i}" for i in range(commissioners)]
        + [f"Pooled fund {i}" for i in range(pools)]
        + [f"Provider {i}" for i in range(providers)]
    )
    return np.array(labels, dtype=object)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("flows", type=int)
    parser.add_argument("out", type=Path)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    layered_flows(args.flows, args.seed).write_csv(args.out)
    print(f"wrote {args.flows} flows to {args.out}")


if __name__ == "__main__":
    main()
