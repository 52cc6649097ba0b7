"""What any detector could reach on the volume attacks and purpose hopping of `make eval`,
window by window and instance by instance.

`make eval-bound` runs this on the windows `datapact-sim eval --units DIR` writes. It scores each
consumer window with the posterior odds that an attack is going on in it, from that window and
the ones before it (as the detector must), computed by oracles that know what no detector can:
- volume attacks: every consumer's rate hour by hour (from its unlabelled windows within a day
  either side, future included: the rate falls as agreements reach their caps and consents
  lapse), its daily rhythm (turned by 12 hours for a night shift), the generator's honest
  batch hours (1% of hours at 1.5-3 times the rate: `synth/play.rs`);
- purpose hopping: the honest rate of a mistaken purpose per access (over every consumer's
  unlabelled hours) and the hour's true rate of accesses, or the consumer's own honest
  mistakes per hour where it has few accesses to show (a suspended consumer keeps trying);
- both: the exact form of each attack in the history (`synth/schedule.rs`,
  `synth/variants/attacks.rs`: a burst's size, a plateau's height and length, a trickle's gaps
  and number of refusals), how many there are and which consumers they may pick.
Ranking windows by the posterior is the best ranking there is given that knowledge
(Neyman-Pearson), so the oracles' PR-AUC, and the recall they keep at an overall precision of
0.9, say what a detector reading the accesses and refusals could reach at most, up to their
approximations: the rate is an estimate (a few per cent), an attack's added accesses are taken
as Poisson, and the three addresses of a split burst are scored one by one.

`oracle*` is the volume oracle's posterior with the detector's own usual rates in place of the
truth (`usual_rates` in `features/spans.rs`, mirrored here): what knowing every attack's form is
worth once the rate is only what the past says.

Overall, the oracles score a window by the likelier of the two attacks, the other kinds (the
rules' kinds, laundering) are counted as ranked first and the other roles' windows as clean, so
the oracles' overall figures are upper bounds too. The detector's figures are from the same
CSVs, pooled over the histories (`make eval` averages seeds: the same to a few thousandths).

The generator's constants are repeated here (this file reads only the CSVs); if synth changes
its rhythm, its batch hours or an attack's form, change them here too. Every run first checks
the oracles on lives made by hand (`self_check`: a trickle is hopping by its third refusal, an
idle consumer's honest mistakes are not, a doubling is an attack by its middle).

    python eval_bound.py [DIR]      (--help for the arguments)
"""

import argparse
import csv
import glob
import math
import os
import re
import sys
from collections import defaultdict, namedtuple

import numpy as np
from scipy.special import gammaln, logsumexp

# synth/world.rs: rhythm(h) = 1 + 0.6 cos((h - 14) / 24 * 2 pi); synth/play.rs: an honest batch
# hour with probability 0.01, at 1.5-3 times the rate
SPIKE_P = 0.01
SPIKES = np.linspace(1.5, 3.0, 7)
# volume variants pick consumers of at least 3 accesses an hour (variants/attacks.rs `busy`)
BUSY = 3.0
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
        elif v == "pulsed-rise":
            # an hour at four times the volume every four hours, six times, as usual between
            t.append(dict(name=v, hours=21, count=PER_VARIANT,
                          lifts=[[3.0 if k % 4 == 0 else 0.0] for k in range(21)]))
        elif v == "sparse-pulses":
            # an hour at three times the volume every eight hours, eight times, as usual between
            t.append(dict(name=v, hours=57, count=PER_VARIANT,
                          lifts=[[2.0 if k % 8 == 0 else 0.0] for k in range(57)]))
        elif v == "low-pulses":
            # an hour at twice the volume every six hours, eight times, as usual between
            t.append(dict(name=v, hours=43, count=PER_VARIANT,
                          lifts=[[1.0 if k % 6 == 0 else 0.0] for k in range(43)]))
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


# Purpose hopping as the generator injects it (`synth/schedule.rs`,
# `synth/variants/attacks.rs`): each as (refusals per instance, hours between refusals,
# instances per history, growth); the base kind's refusals all fall in one hour. With a growth
# of 1 every gap is drawn from the hours given; otherwise the first is and each next is `growth`
# times the one before, rounded down, at least an hour.
HOPPING = {
    "": (range(6, 13), None, PER_BASE_KIND, 1),
    "trickle-refusals": (range(6, 13), (1,), PER_VARIANT, 1),
    "sparse-refusals": (range(5, 9), (2, 3, 4), PER_VARIANT, 1),
    "irregular-refusals": (range(4, 9), tuple(range(1, 9)), PER_VARIANT, 1),
    "slow-refusals": (range(4, 8), tuple(range(6, 13)), PER_VARIANT, 1),
    "daily-refusals": (range(4, 7), tuple(range(16, 31)), PER_VARIANT, 1),
    "slowing-refusals": (range(5, 7), (1, 2, 3), PER_VARIANT, 2),
    "quickening-refusals": (range(5, 7), tuple(range(16, 25)), PER_VARIANT, 0.5),
}


def trickle_pass(gain, counts, gaps_after, prior):
    """One trickle form's forward pass over one consumer's hours: per hour, the mass of an
    instance going on and of one that ended (both against all honest). `gaps_after(j)`: the
    hours the gap after the j-th refusal may take, each as likely."""
    n = len(gain)
    top = max(counts)
    # after its j-th refusal, the chance an instance stops there
    stop = {j: 1.0 / sum(1 for m in counts if m >= j) if j in counts else 0.0
            for j in range(1, top + 1)}
    longest = max(max(gaps_after(j)) for j in range(1, top + 1))
    # per state (j refusals, g hours since the last), the same every hour: the chance the next
    # gap ends now, of those still possible (absent: none is)
    due = {}
    for j in range(1, top + 1):
        gaps = gaps_after(j)
        for g in range(longest + 1):
            left = [x for x in gaps if x > g]
            if left:
                due[j, g] = sum(1 for x in left if x == g + 1) / len(left)
    labelled, ended = np.zeros(n), np.zeros(n)
    # alive[j, g]: mass after j refusals, g hours since the last, instance going on
    alive = np.zeros((top + 1, longest + 1))
    over = 0.0
    for t in range(n):
        nxt = np.zeros_like(alive)
        # an hour passes: the next refusal comes after a gap drawn from `gaps_after(j)`
        for j in range(1, top + 1):
            for g in range(longest + 1):
                m = alive[j, g]
                if m == 0.0:
                    continue
                if g == 0:
                    over += m * stop[j]
                    m *= 1.0 - stop[j]
                now = due.get((j, g))
                if now is None:
                    continue
                if j < top:
                    nxt[j + 1, 0] += m * now * gain[t]
                if g + 1 <= longest:
                    nxt[j, g + 1] += m * (1.0 - now)  # no refusal of its own this hour
        nxt[1, 0] += prior * gain[t]  # an instance starts with its first refusal
        alive = nxt
        labelled[t] += alive.sum()
        ended[t] += over
    return labelled, ended


def hopping_odds(refused, honest_mean, variants, consumers, span):
    """Per hour of one consumer's life: log odds that purpose hopping is going on in it (the
    hour is within an instance's first to last refusal), from that hour and the ones before it.
    `refused`: purpose refusals per hour; `honest_mean`: their honest mean per hour (see
    `exposure`). A forward pass over each form's states (refusals so far, hours since the
    last), as a hidden Markov model."""
    n = len(refused)
    if not refused.any():
        return np.full(n, -np.inf)
    gain = np.where(refused >= 1, refused / np.maximum(honest_mean, 1e-12), 0.0)  # P(c-1)/P(c)
    labelled = np.zeros(n)  # P(data up to t, hopping at t) / P(data up to t, all honest)
    ended = np.zeros(n)  # ... an instance that ended before t
    for name, (counts, gaps, per, growth) in HOPPING.items():
        if name and name not in variants:
            continue
        prior = per / max(consumers * span, 1.0)
        if gaps is None:
            # k refusals in one hour, k of `counts` equally likely
            ratio = np.zeros(n)
            for k in counts:
                rest = refused - k
                ok = rest >= 0
                ratio[ok] += np.exp(log_pois(rest[ok], honest_mean[ok])
                                    - log_pois(refused[ok], honest_mean[ok]))
            one = prior * ratio / len(counts)
            labelled += one
            ended[1:] += np.cumsum(one)[:-1]
            continue
        # the gaps possible after the j-th refusal: for a form that slows, one per first gap,
        # each followed as a form of its own
        if growth == 1:
            forms = [(prior, lambda j, gaps=gaps: gaps)]
        else:
            forms = [(prior / len(gaps),
                      lambda j, f=f: (max(1, int(f * growth ** (j - 1))),)) for f in gaps]
        for weight, gaps_after in forms:
            a, o = trickle_pass(gain, counts, gaps_after, weight)
            labelled += a
            ended += o
    return np.log(np.maximum(labelled, 1e-300)) - np.log1p(ended)


def exposure(refused, labelled, mu, shape, mistaken):
    """The honest mean of a consumer's purpose refusals per hour: the honest rate of a mistaken
    purpose per access times the hour's accesses (`mu`) or, where that says less, the
    consumer's own honest refusals per hour over its life, in its daily rhythm (`shape`). A
    mistake is made per attempt, and a consumer whose agreements are suspended, capped or
    without consents keeps attempting and mistaking with no access to show for it (seen: a
    consumer of no accesses with four honest mistakes in 14 days)."""
    honest = ~labelled
    per_hour = refused[honest].sum() / max(honest.sum(), 1)
    own = per_hour * shape / max(shape[honest].mean() if honest.any() else 1.0, 1e-9)
    return np.maximum(mistaken * mu, own)


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
    """An attack's windows, (4 scores, (seed, actor), window) each, grouped into its
    instances: an actor's windows at most 8 hours apart (an hour without an access or a
    refusal has no window, and an irregular trickle's refusals come up to 8 hours apart; the
    one actor's three nights at day rates are 18 hours apart)."""
    out = []
    last = None
    for w in sorted(windows, key=lambda w: (w[4], w[5])):
        if last is None or w[4] != last[4] or w[5] > last[5] + 8:
            out.append([])
        out[-1].append(w)
        last = w
    return out


# One consumer's life as read from the eval's windows, hour by hour from its first window:
# `shape` is its daily rhythm (turned by 12 hours for a night shift), `rate` its true rate
# (see `local_rate`).
Life = namedtuple("Life", "rows hours counts refused labelled shape rate")


def read_split(directory, split, seeds):
    """The oracles' and the detector's scores of one split's windows, pooled over its histories.
    Each window's scores: (volume oracle, volume oracle with the detector's usual rates,
    detector, purpose hopping oracle); per volume attack and per form of purpose hopping
    ("" the base kind), the windows' scores with ((seed, actor), window)."""
    volume, hopping = defaultdict(list), defaultdict(list)
    neg = []
    other = []  # the detector's scores of every other kind's consumer windows
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
            counts, refused = np.zeros(len(hours)), np.zeros(len(hours))
            labelled = np.zeros(len(hours), dtype=bool)
            for r in rs:
                counts[int(r["window"]) - w0] = float(r["accesses"])
                refused[int(r["window"]) - w0] = float(r["refused_purpose"])
                labelled[int(r["window"]) - w0] = bool(r["kinds"])
            # a night shift's rhythm is turned by 12 hours (the noise column marks it)
            phase = 12 if any("night-shift" in r["noise"] for r in rs) else 0
            shape = rhythm((hours + phase) % 24)
            rate = local_rate(counts, ~labelled, shape)
            lives[actor] = Life(rs, hours, counts, refused, labelled, shape, rate)
        lives = list(lives.values())
        span = max(l.hours[-1] for l in lives) - min(l.hours[0] for l in lives) + 1
        pools = {"busy": sum(1 for l in lives if l.rate.max() >= BUSY), "all": len(lives)}
        # the honest rate of a mistaken purpose per access, over every consumer's honest hours
        mistakes = sum(l.refused[~l.labelled].sum() for l in lives)
        mistaken = mistakes / max(sum(l.counts[~l.labelled].sum() for l in lives), 1.0)
        for rs, hours, counts, refused, labelled, shape, rate in lives:
            mu = rate * shape
            odds = posterior_odds(counts, mu, rate * rhythm(hours % 24), hours, rate.max(),
                                  pools, span, variants)
            # the same posterior with the detector's own usual rates in place of the truth
            usual = detector_usual(counts)
            past = posterior_odds(counts, usual, usual, hours, rate.max(), pools, span, variants)
            hop = hopping_odds(refused, exposure(refused, labelled, mu, shape, mistaken),
                               variants, len(lives), span)
            for r in rs:
                i = int(r["window"]) - hours[0]
                scores = (float(odds[i]), float(past[i]), float(r["score"]), float(hop[i]))
                where = ((seed, r["actor"]), int(r["window"]))
                kinds = [k for k in r["kinds"].split(";") if k]
                forms = [v for v in r["variants"].split(";") if v] or [""]
                if not kinds:
                    neg.append(scores)
                elif kinds == ["access_burst"]:
                    for v in forms:
                        volume[v].append(scores + where)
                elif kinds == ["purpose_hopping"]:
                    for v in forms:
                        hopping[v].append(scores + where)
                else:
                    other.append(float(r["score"]))
    return volume, hopping, neg, other, other_pos, other_neg


def self_check():
    """The oracles' behaviour on lives made by hand, checked before every run (milliseconds)."""
    hours = np.arange(24 * 14)
    shape = rhythm(hours % 24)
    labelled = np.zeros(len(hours), dtype=bool)
    # purpose hopping: a refusal an hour from hour 100 to 107 by a consumer of 5 accesses an
    # hour is hopping by its third refusal, not at its first, and not once it has stopped
    refused = np.zeros(len(hours))
    refused[100:108] = 1.0
    mu = 5.0 * shape
    odds = hopping_odds(refused, exposure(refused, labelled, mu, shape, 0.002),
                        ["trickle-refusals"], 300, len(hours))
    assert odds[100] < 0.0 < odds[102], "a trickle of refusals reads as hopping by its third"
    assert odds[115] < 0.0, "a trickle that stopped is over"
    # a consumer with no accesses to show (suspended, capped, without consents) still makes
    # honest mistakes: four in two weeks are not hopping (the first form of this oracle read
    # each as near-certain hopping)
    idle = np.zeros(len(hours))
    idle[[50, 150, 250, 300]] = 1.0
    odds = hopping_odds(idle, exposure(idle, labelled, np.zeros(len(hours)), shape, 0.002),
                        ["trickle-refusals"], 300, len(hours))
    assert odds.max() < 0.0, "an idle consumer's honest mistakes are not hopping"
    # volume: twice the usual volume from hour 100 for a day is an attack by its middle, not
    # at its first hour, and an honest hour is not
    rate = np.full(len(hours), 5.0)
    counts = np.round(rate * shape)
    counts[100:124] *= 2.0
    odds = posterior_odds(counts, rate * shape, rate * shape, hours, 5.0,
                          {"busy": 100, "all": 300}, len(hours), ["sustained-2x"])
    assert odds[100] < 0.0 < odds[112], "a sustained doubling reads as one by its middle"
    assert odds[50] < 0.0 and odds[200] < 0.0, "honest hours are not"


def main(directory):
    self_check()
    files = sorted(glob.glob(os.path.join(directory, "*-seed*-consumer.csv")))
    if not files:
        sys.exit(f"no *-seed*-consumer.csv in {directory}: run "
                 f"`datapact-sim eval --held-out-seeds 11,12,13 --units {directory}` first")
    splits = defaultdict(list)
    for f in files:
        m = re.match(r"(.+)-seed(\d+)-consumer\.csv", os.path.basename(f))
        splits[m.group(1)].append((int(m.group(2)), f))
    inf = float("inf")
    for split, seeds in splits.items():
        try:
            volume, hopping, neg, other, other_pos, other_neg = read_split(directory, split, seeds)
        except KeyError as e:
            sys.exit(f"{directory}: the {split} windows have no column {e}: written by another "
                     f"datapact-sim? run its eval with --units again")
        attacks = sorted(volume, key=lambda v: (v != "", v))
        forms = sorted(hopping, key=lambda v: (v != "", v))
        # the rows of both tables: (label, the windows' lists, one per form, the score columns
        # (volume oracle, oracle*, detector / hopping oracle, none, detector), one form alone)
        groups = [(v or "base burst", [volume[v]], (0, 1, 2), True) for v in attacks]
        groups += [("all volume attacks", [volume[v] for v in attacks], (0, 1, 2), False)]
        groups += [(f or "base purpose hopping", [hopping[f]], (3, None, 2), True) for f in forms]
        groups += [("all purpose hopping", [hopping[f] for f in forms], (3, None, 2), False)]
        print(f"\n{split}, {len(seeds)} histories pooled ({len(neg)} unlabelled consumer windows)")
        print("  (oracle*: the volume oracle's posterior with the detector's own usual rates, past only)")
        print(f"    {'PR-AUC':<24}{'windows':>8}{'oracle':>10}{'oracle*':>10}{'detector':>10}")
        beaten = []
        for label, lists, cols, alone in groups:
            rows = [x for windows in lists for x in windows]
            aps = [measure([(x[c], 1) for x in rows], [x[c] for x in neg])[0] if c is not None else None
                   for c in cols]
            print(f"    {label:<24}{len(rows):>8}"
                  + "".join(f"{a:>10.3f}" if a is not None else f"{'':>10}" for a in aps))
            if alone and aps[2] > aps[0]:
                beaten.append(label)
        # overall: the oracles score a window by the likelier of the two, rank every other kind
        # first and call every other role's windows clean; the detector is measured on all
        columns = {"oracle": lambda x: max(x[0], x[3]), "oracle*": lambda x: max(x[1], x[3]),
                   "detector": lambda x: x[2]}
        figures = {}
        for col, score in columns.items():
            pos = [(score(x), "volume") for v in attacks for x in volume[v]]
            pos += [(score(x), "hopping") for f in forms for x in hopping[f]]
            if col == "detector":
                pos += [(x, "other") for x in other + other_pos]
                negatives = [score(x) for x in neg] + other_neg
            else:
                pos += [(inf, "other")] * (len(other) + len(other_pos))
                negatives = [score(x) for x in neg]
            figures[col] = (score, measure(pos, negatives))
        print("  overall (the oracles: every other kind ranked first, every other role's windows clean)")
        print(f"    {'PR-AUC':<32}" + "".join(f"{f[1][0]:>10.3f}" for f in figures.values()))
        for tag in ("volume", "hopping"):
            print(f"    {tag + ' recall':<32}" + "".join(f"{f[1][1].get(tag, 0.0):>10.2f}" for f in figures.values()))
        print(f"      (recall: of the windows, at the lowest score where overall precision >= {PRECISION})")
        # per instance, at that score: a suspension needs one window of each
        print("  instances caught there (one window at or above it) and the median windows to the first")
        for label, lists, _, _ in groups:
            found = [g for windows in lists for g in instances(windows)]
            cells = []
            for score, (_, _, threshold) in figures.values():
                firsts = [next((k for k, w in enumerate(g) if score(w) >= threshold), None) for g in found]
                caught = sorted(f for f in firsts if f is not None)
                median = caught[len(caught) // 2] if caught else "-"
                cells.append(f"{len(caught):>3}/{len(found):<3} {median:>3}")
            print(f"    {label:<24}" + "".join(f"{x:>12}" for x in cells))
        # the oracles see counts only: where the detector ranks a form better, it reads
        # something else (accesses packed into blocks, many subjects) and the oracle is no
        # bound for it; if it is most of them, a constant here no longer matches synth
        if beaten:
            print(f"  the detector ranks better than the oracle: {', '.join(beaten)} "
                  f"(no bound for {'it' if len(beaten) == 1 else 'them'})")
        else:
            print("  the oracles rank every form at least as well as the detector")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="`make eval-bound` writes the windows and runs this; see the module's header "
        "(and docs/anomalies.md, 'What any detector could reach') for what the oracles know.",
    )
    parser.add_argument(
        "directory",
        nargs="?",
        default=".data/eval-units",
        help="the CSVs of `datapact-sim eval --seeds 1,2,3 --held-out-seeds 11,12,13 --units DIR` "
        "(default: %(default)s)",
    )
    main(parser.parse_args().directory)
