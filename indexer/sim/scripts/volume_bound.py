"""What any detector could reach on the volume attacks of `make eval`, window by window.

`make eval-bound` runs this on the windows `datapact-sim eval --units DIR` writes. It scores each
consumer window with the posterior odds that a volume attack is going on in it, from that
window's accesses and the ones before it (as the detector must), computed by an oracle that
knows what no detector can:
- every consumer's rate hour by hour: from its unlabelled windows within a day either side
  (the rate falls as agreements reach their caps and consents lapse), past and future;
- its daily rhythm (turned by 12 hours for a night shift) and the generator's honest batch
  hours (1% of hours at 1.5-3 times the rate: `synth/play.rs`);
- the exact shape of each volume attack in the history and how many there are
  (`synth/schedule.rs`, `synth/variants.rs`), and which consumers they may pick.
Ranking windows by the posterior is the best ranking there is given that knowledge
(Neyman-Pearson), so its PR-AUC, and the recall it keeps at a precision of 0.9, say what a
detector reading only the accesses could reach at most, up to the oracle's approximations: the
rate is an estimate (a few per cent), an attack's added accesses are taken as Poisson, and the
three addresses of a split burst are scored one by one.

Beside it (`oracle*`), the same posterior with the detector's own usual rates in place of the
truth (`usual_rates` in `features/spans.rs`, mirrored here): what knowing every attack's shape
is worth once the rate is only what the past says.

Overall, the other kinds (purpose hopping, the rules' kinds, laundering) are counted as ranked
first and the other roles' windows as clean, so the oracle's overall figures are upper bounds
too. The detector's figures are from the same CSVs, pooled over the histories.

The generator's constants are repeated here (this file reads only the CSVs); if synth changes
its rhythm, its batch hours or a volume attack's shape, change them here too.

    python volume_bound.py DIR
"""

import csv
import glob
import math
import os
import re
import sys
from collections import defaultdict

import numpy as np
from scipy.special import gammaln, logsumexp

# synth/world.rs: rhythm(h) = 1 + 0.6 cos((h - 14) / 24 * 2 pi); synth/play.rs: an honest batch
# hour with probability 0.01, at 1.5-3 times the rate
SPIKE_P = 0.01
SPIKES = np.linspace(1.5, 3.0, 7)
BUSY = 3.0  # volume variants pick consumers of at least 3 accesses an hour (variants.rs `busy`)
PER_BASE_KIND = 8  # instances per history of each base kind (synth)
PER_VARIANT = 4  # instances per history of each attack variant
PRECISION = 0.9
RATE_HOURS = 24  # the oracle's rate at an hour: the honest hours within a day either side


def rhythm(hour_of_day):
    return 1.0 + 0.6 * np.cos((hour_of_day - 14.0) / 24.0 * 2.0 * np.pi)


def log_pois(c, mu):
    mu = np.maximum(mu, 1e-9)
    return c * np.log(mu) - mu - gammaln(c + 1.0)


def log_hour(c, mu, extra=0.0):
    """log P(c) of an hour of mean `mu` (now and then a batch hour) with `extra` accesses on
    average added on top (Poisson: an attack's accesses go through the same agreements as the
    honest ones, and as many of them vanish past a cap or without a subject's consent)."""
    base = np.log1p(-SPIKE_P) + log_pois(c, mu + extra)
    spikes = [np.log(SPIKE_P / len(SPIKES)) + log_pois(c, mu * s + extra) for s in SPIKES]
    return logsumexp(np.stack([base] + spikes), axis=0)


# Each volume attack as a template: per hour of the attack, the `lifts` (times the usual volume,
# rate x rhythm by the hour of day, as `extra_traffic` adds it) or the added `counts` it may
# have, equally likely; `count` instances per history; `aligned`: starts at midnight only;
# `busy`: picks busy consumers only. `rate`: the consumer's own, as drawn.
def templates(variants, rate):
    t = []
    # the base burst (schedule.rs): 8-15 times the rate (at least 60) over one or two hours
    for span in (1, 2):
        ns = [max(rate * m, 60.0) for m in np.linspace(8.0, 15.0, 5)]
        t.append(dict(name="", hours=span, count=PER_BASE_KIND / 2, busy=False,
                      counts=[[n / span for n in ns]] * span))
    for v in variants:
        if v == "burst-sweep":
            for m in (2.0, 3.0, 5.0, 8.0):
                t.append(dict(name=v, hours=1, count=PER_VARIANT / 4, lifts=[[m - 1.0]]))
        elif v == "sustained-2x":
            t.append(dict(name=v, hours=24, count=PER_VARIANT, lifts=[[1.0]] * 24))
        elif v == "slow-ramp":
            t.append(dict(name=v, hours=12, count=PER_VARIANT,
                          lifts=[[3.0 * (k + 1) / 12.0] for k in range(12)]))
        elif v == "plateau-sweep":
            for m in (1.5, 2.0, 3.0, 4.0):
                t.append(dict(name=v, hours=8, count=PER_VARIANT / 4, lifts=[[m - 1.0]] * 8))
        elif v == "night-at-day-rates":
            # three nights (00-06) at the day's peak (1.6), a label each
            t.append(dict(name=v, hours=6, count=PER_VARIANT * 3, aligned=True,
                          lifts=[[1.6 / rhythm(h) - 1.0] for h in range(6)]))
        elif v == "split-addresses":
            # three addresses sharing 8-15 times one address's volume
            t.append(dict(name=v, hours=1, count=PER_VARIANT * 3,
                          lifts=[list(np.linspace(8.0, 15.0, 5) / 3.0)]))
    for x in t:
        x.setdefault("aligned", False)
        x.setdefault("busy", True)
    return t


def posterior_odds(counts, mu, usual, hours, base_rate, pools, total_hours, variants):
    """Per hour of one consumer's life: log odds that a volume attack is going on in it, from
    that hour and the ones before it. `mu`: the honest mean of each hour; `usual`: what an
    attack's lift multiplies (by the clock's hour of day, whatever the consumer's phase);
    `base_rate`: the rate the consumer was drawn with."""
    n = len(counts)
    h0 = log_hour(counts, mu)
    going = []  # log P(hours up to t, an attack covering t) / P(all honest), per template
    over = []  # log P(hours up to t, an attack that ended before t) / P(all honest)
    for tp in templates(variants, base_rate):
        if tp["busy"] and base_rate < BUSY:
            continue
        d = tp["hours"]
        starts = pools["busy" if tp["busy"] else "all"] * total_hours / (24 if tp["aligned"] else 1)
        log_prior = math.log(tp["count"] / max(starts, 1.0))
        # r[s, k]: the log ratio of hour s + k as the attack's k-th hour (equally likely
        # extras: a mixture)
        r = np.full((n, d), -np.inf)
        for k in range(min(d, n)):
            c, m = counts[k:], mu[k:]
            if "counts" in tp:
                extras = [np.full(n - k, x) for x in tp["counts"][k]]
            else:
                extras = [lift * usual[k:] for lift in tp["lifts"][k]]
            v = logsumexp(np.stack([log_hour(c, m, x) for x in extras]), axis=0)
            r[: n - k, k] = v - np.log(len(extras)) - h0[k:]
        if tp["aligned"]:
            r[(hours % 24) != 0, :] = -np.inf
        cum = np.cumsum(r, axis=1)  # cum[s, k]: hours s..s+k as the attack's first k+1
        g = np.full(n, -np.inf)
        for k in range(d):
            vals = np.full(n, -np.inf)
            vals[k:] = cum[: n - k, k]
            g = np.logaddexp(g, vals)
        going.append(log_prior + g)
        # attacks over before t: the whole template at s, s + d <= t
        ended = np.full(n, -np.inf)
        if d <= n:
            whole = np.logaddexp.accumulate(cum[:, d - 1])
            ended[d:] = whole[: n - d]
        over.append(log_prior + ended)
    if not going:
        return np.full(n, -np.inf)
    num = logsumexp(np.stack(going), axis=0)
    den = np.logaddexp(0.0, logsumexp(np.stack(over), axis=0))
    return num - den


def detector_usual(counts):
    """The detector's usual rate of each hour, from the past only, as `usual_rates` in
    `indexer/analytics/src/features/spans.rs` computes it (mirrored here): the same time of
    day on up to 28 earlier days, shrunk towards the mean pace with 3 pseudo-days, from the
    hours before the last 24; none (here: so high that no attack is read) before that."""
    n = len(counts)
    first = int(np.argmax(counts > 0)) if (counts > 0).any() else n
    prefix = np.concatenate([[0.0], np.cumsum(counts)])
    out = np.full(n, 1e9)
    for j in range(first, n):
        end = j + 1 - 24  # the past: hours before `end`
        if end - first < 24:
            continue
        pace = (prefix[end] - prefix[first]) / (end - first)
        same = [x for x in range(j - 24, max(first, j - 24 * 28) - 1, -24) if first <= x < end]
        out[j] = max((counts[same].sum() + 3.0 * pace) / (len(same) + 3.0), 0.1)
    return out


def local_rate(counts, honest, shape, hours=RATE_HOURS):
    """A consumer's rate hour by hour: its honest accesses within `hours` either side against
    what its daily rhythm (and the batch hours) would give at rate 1; the whole life's where
    fewer than a day of honest hours are that near."""
    weight = shape * (1 - SPIKE_P + SPIKE_P * SPIKES.mean()) * honest
    box = np.ones(2 * hours + 1)
    num = np.convolve(counts * honest, box, mode="same")
    den = np.convolve(weight, box, mode="same")
    whole = (counts * honest).sum() / max(weight.sum(), 1e-9)
    near = np.convolve(honest.astype(float), box, mode="same") >= 24
    return np.where(near & (den > 0), num / np.maximum(den, 1e-9), whole)


def sweep(pos, neg):
    """Down the ranking of `pos` (score, tag) and `neg` (score) windows: at each distinct score,
    (the score, true positives by tag, false positives) so far."""
    items = sorted([(x, tag) for x, tag in pos] + [(x, None) for x in neg], key=lambda i: -i[0])
    tp, fp = defaultdict(int), 0
    i = 0
    while i < len(items):
        j = i
        while j < len(items) and items[j][0] == items[i][0]:
            tag = items[j][1]
            if tag is None:
                fp += 1
            else:
                tp[tag] += 1
            j += 1
        yield items[i][0], tp, fp
        i = j


def measure(pos, neg, precision=PRECISION):
    """PR-AUC (average precision) of all of `pos` against `neg`; the lowest score where
    precision over all of `pos` is still at least `precision`, and each tag's recall there."""
    total = len(pos)
    by_tag = defaultdict(int)
    for _, tag in pos:
        by_tag[tag] += 1
    ap, seen, recall, threshold = 0.0, 0, {tag: 0.0 for tag in by_tag}, float("inf")
    for score, tp, fp in sweep(pos, neg):
        n = sum(tp.values())
        ap += (n - seen) / max(total, 1) * n / (n + fp)
        seen = n
        if n / (n + fp) >= precision:
            recall = {tag: tp[tag] / by_tag[tag] for tag in by_tag}
            threshold = score
    return ap, recall, threshold


def instances(windows):
    """A volume attack's windows, (scores..., (seed, actor), window) each, grouped into its
    instances: an actor's windows less than a few hours apart (an hour without an access has
    no window)."""
    out = []
    last = None
    for w in sorted(windows, key=lambda w: (w[3], w[4])):
        if last is None or w[3] != last[3] or w[4] > last[4] + 3:
            out.append([])
        out[-1].append(w)
        last = w
    return out


def read_split(directory, split, seeds):
    """The oracle's and the detector's scores of one split's windows, pooled over its histories:
    per volume attack, and overall (every other kind's windows, every other role's)."""
    # per volume attack ("" the base burst) and for the unlabelled windows: each window's
    # (oracle, oracle with the detector's usual rates, detector) scores
    volume = defaultdict(list)
    neg = []
    other_pos, other_neg = [], []  # the detector's scores of the other roles' windows
    for seed, path in sorted(seeds):
        rows = list(csv.DictReader(open(path)))
        for role_path in glob.glob(os.path.join(directory, f"{split}-seed{seed}-*.csv")):
            if role_path != path:
                for r in csv.DictReader(open(role_path)):
                    (other_pos if r["kinds"] else other_neg).append(float(r["score"]))
        variants = sorted({v for r in rows for v in r["variants"].split(";") if v})
        by_actor = defaultdict(list)
        for r in rows:
            by_actor[r["actor"]].append(r)
        lives = {}
        for actor, rs in by_actor.items():
            w0 = min(int(r["window"]) for r in rs)
            hours = np.arange(w0, max(int(r["window"]) for r in rs) + 1)
            counts = np.zeros(len(hours))
            labelled = np.zeros(len(hours), dtype=bool)
            for r in rs:
                counts[int(r["window"]) - w0] = float(r["accesses"])
                labelled[int(r["window"]) - w0] = bool(r["kinds"])
            # a night shift's rhythm is turned by 12 hours (the noise column marks it)
            phase = 12 if any("night-shift" in r["noise"] for r in rs) else 0
            rate = local_rate(counts, ~labelled, rhythm((hours + phase) % 24))
            lives[actor] = (rs, hours, counts, rate, phase)
        span = max(l[1][-1] for l in lives.values()) - min(l[1][0] for l in lives.values()) + 1
        pools = {"busy": sum(1 for l in lives.values() if l[3].max() >= BUSY), "all": len(lives)}
        for rs, hours, counts, rate, phase in lives.values():
            mu = rate * rhythm((hours + phase) % 24)
            odds = posterior_odds(counts, mu, rate * rhythm(hours % 24), hours, rate.max(),
                                  pools, span, variants)
            # the same posterior with the detector's own usual rates in place of the truth
            usual = detector_usual(counts)
            past = posterior_odds(counts, usual, usual, hours, rate.max(), pools, span, variants)
            for r in rs:
                i = int(r["window"]) - hours[0]
                scores = (float(odds[i]), float(past[i]), float(r["score"]))
                kinds = [k for k in r["kinds"].split(";") if k]
                if not kinds:
                    neg.append(scores)
                elif kinds == ["access_burst"]:
                    for v in [v for v in r["variants"].split(";") if v] or [""]:
                        volume[v].append(scores + ((seed, r["actor"]), int(r["window"])))
                else:
                    volume["other kinds"].append((float("inf"),) * 2 + (float(r["score"]),))
    return volume, neg, other_pos, other_neg


def main(directory):
    files = sorted(glob.glob(os.path.join(directory, "*-seed*-consumer.csv")))
    if not files:
        sys.exit(f"no *-seed*-consumer.csv in {directory}: run "
                 f"`datapact-sim eval --held-out-seeds 11,12,13 --units {directory}` first")
    splits = defaultdict(list)
    for f in files:
        m = re.match(r"(.+)-seed(\d+)-consumer\.csv", os.path.basename(f))
        splits[m.group(1)].append((int(m.group(2)), f))
    columns = ("oracle", "oracle*", "detector")
    for split, seeds in splits.items():
        volume, neg, other_pos, other_neg = read_split(directory, split, seeds)
        attacks = sorted((v for v in volume if v != "other kinds"), key=lambda v: (v != "", v))
        print(f"\n{split}, {len(seeds)} histories pooled ({len(neg)} unlabelled consumer windows):")
        print("    (oracle*: the oracle's posterior with the detector's own usual rates, from the past only)")
        print(f"    {'PR-AUC':<22}{'windows':>8}" + "".join(f"{c:>10}" for c in columns))
        beaten = []
        every = []
        for v in attacks + ["all volume attacks"]:
            rows = every if v == "all volume attacks" else volume[v]
            aps = [measure([(x[c], v) for x in rows], [x[c] for x in neg])[0] for c in range(3)]
            print(f"    {v or 'base burst':<22}{len(rows):>8}" + "".join(f"{a:>10.3f}" for a in aps))
            if v != "all volume attacks":
                every += volume[v]
                if aps[2] > aps[0]:
                    beaten.append(v or "base burst")
        # overall: the oracles rank every other kind first and every other role's windows last;
        # the detector is measured on all of them
        print("    overall (the oracles: every other kind ranked first, every other role's windows clean):")
        figures = []
        for c in range(3):
            others = [(x[c], "other") for x in volume["other kinds"]]
            if c < 2:
                others += [(float("inf"), "other")] * len(other_pos)
                negatives = [x[c] for x in neg]
            else:
                others += [(float(x), "other") for x in other_pos]
                negatives = [x[c] for x in neg] + other_neg
            figures.append(measure([(x[c], "volume") for x in every] + others, negatives))
        print(f"    {'  PR-AUC':<30}" + "".join(f"{ap:>10.3f}" for ap, _, _ in figures))
        print(f"    {'  volume attacks recall':<30}" + "".join(f"{r.get('volume', 0.0):>10.2f}" for _, r, _ in figures))
        print(f"      (the volume attacks' share of windows at the lowest score where overall precision >= {PRECISION})")
        # per instance, at that score: what a suspension needs is one window of each
        print(f"    instances caught there (one window at or above it), and the median windows to the first:")
        for v in attacks + ["all volume attacks"]:
            groups = [g for x in (attacks if v == "all volume attacks" else [v])
                      for g in instances(volume[x])]
            cells = []
            for c, (_, _, threshold) in enumerate(figures):
                firsts = [next((k for k, w in enumerate(g) if w[c] >= threshold), None) for g in groups]
                caught = sorted(f for f in firsts if f is not None)
                median = caught[len(caught) // 2] if caught else "-"
                cells.append(f"{len(caught):>3}/{len(groups):<3} {median:>3}")
            print(f"    {'  ' + (v or 'base burst'):<30}" + "".join(f"{x:>10}" for x in cells))
        # the oracle sees counts only: where the detector ranks an attack better, it reads
        # something else (accesses packed into blocks, many subjects) and the oracle is no
        # bound for that attack; if it is most of them, a constant here no longer matches synth
        if beaten:
            print(f"    the detector ranks better than the oracle: {', '.join(beaten)} "
                  f"(no bound for {'it' if len(beaten) == 1 else 'them'})")
        else:
            print("    the oracle ranks every volume attack at least as well as the detector")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ".data/eval-units")
