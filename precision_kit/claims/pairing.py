"""Two arms' runs paired by seed, for the judges: a seed where either arm diverged leaves the
pair (a diverged model has no accuracy) and the note says which; accuracies per seed for
the ledger's typed `accuracies` (index = seed, None where it diverged)."""

from __future__ import annotations


def diverged_note(dropped: list[str]) -> str:
    """The note on seeds left out because a run diverged ("" when none was)."""
    return f"{len(dropped)} seed(s) diverged and left out ({'; '.join(dropped)})" if dropped else ""


def paired_runs(a_runs, b_runs) -> tuple[list[tuple], str]:
    """The (a, b) runs of each seed, leaving out every seed where either arm diverged (a
    diverged model has no accuracy); the note says which seeds left."""
    pairs, dropped = [], []
    for ra, rb in zip(a_runs, b_runs, strict=True):
        if ra.seed != rb.seed:
            raise ValueError(f"runs are not paired: seed {ra.seed} against seed {rb.seed}")
        if ra.diverged or rb.diverged:
            dropped.append(f"seed {ra.seed}: {ra.status if ra.diverged else rb.status}")
        else:
            pairs.append((ra, rb))
    return pairs, diverged_note(dropped)


def seed_accuracies(runs) -> list[float | None]:
    """An arm's test accuracy per seed for `ClaimResult.accuracies` (None where it diverged)."""
    return [None if r.diverged else r.accuracy for r in runs]


def by_seed(seeds, values) -> list:
    """`values` measured on `seeds` as a list indexed by seed (None where a seed is missing)."""
    out = [None] * (max(seeds, default=-1) + 1)
    for s, v in zip(seeds, values, strict=True):
        out[s] = v
    return out


def paired_accuracies(a_runs, b_runs) -> tuple[list[float], list[float], str]:
    """Accuracies of two arms' runs paired by seed (`paired_runs`)."""
    pairs, note = paired_runs(a_runs, b_runs)
    return [a.accuracy for a, _ in pairs], [b.accuracy for _, b in pairs], note
