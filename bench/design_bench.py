"""Simulated power of the registered NCT03592706 design: ikctrial vs rpact (speed, agreement).

Runs the whole ``ikctrial design simulate`` command (process start, imports, simulation, JSON) for
1 000 000 trials of the registered design (60 patients 1:1, control median PFS 7 months, HR 0.6,
24 months of accrual, analysis at the 45th event, one-sided alpha 0.025; rpact's evenly spaced
entry times), then rpact's ``getSimulationSurvival`` on the same design with fewer iterations
(it is much slower), and prints trials per second, the ratio, peak memory and both powers.

    .venv/bin/python bench/design_bench.py [--trials 1000000] [--rpact-trials 50000] [--threads 0]

rpact is timed twice: the simulation call alone inside R (its best case) and the whole Rscript
process (like-for-like with our whole command). Needs Rscript with rpact for the comparison; without
it only ikctrial's row is printed.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

DESIGN = {
    "n": 60,
    "allocation": (1, 1),
    "control_median": 7.0,
    "hazard_ratio": 0.6,
    "accrual_months": 24.0,
    "events": 45,
    "alpha": 0.025,
    "seed": 20260101,
}

RPACT_SCRIPT = """
suppressPackageStartupMessages(library(rpact))
args <- commandArgs(trailingOnly = TRUE)
iterations <- as.integer(args[1])
started <- Sys.time()
s <- getSimulationSurvival(getDesignGroupSequential(kMax = 1, alpha = {alpha}, sided = 1),
  lambda2 = log(2) / {control_median}, hazardRatio = {hazard_ratio}, directionUpper = FALSE,
  accrualTime = c(0, {accrual_months}), maxNumberOfSubjects = {n}, plannedEvents = {events},
  allocation1 = {allocation[0]}, allocation2 = {allocation[1]},
  maxNumberOfIterations = iterations, seed = {seed})
seconds <- as.numeric(Sys.time() - started, units = "secs")
cat(sprintf('{{"power": %.10f, "seconds": %.6f, "study_months": %.6f}}',
            s$overallReject[1], seconds, s$analysisTime[1]))
"""


def _children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_ikctrial(trials: int, threads: int) -> dict[str, float]:
    """Time the whole command (wall and CPU); peak RSS of the child process from getrusage."""
    command = shutil.which("ikctrial", path=str(Path(sys.executable).parent)) or "ikctrial"
    args = [
        command, "design", "simulate", "--n", str(DESIGN["n"]),
        "--allocation", "{}:{}".format(*DESIGN["allocation"]),
        "--control-median", str(DESIGN["control_median"]),
        "--hazard-ratio", str(DESIGN["hazard_ratio"]),
        "--accrual-months", str(DESIGN["accrual_months"]), "--events", str(DESIGN["events"]),
        "--alpha", str(DESIGN["alpha"]), "--sided", "1", "--seed", str(DESIGN["seed"]),
        "--trials", str(trials), "--regular-accrual", "--threads", str(threads), "--json",
    ]  # fmt: skip
    cpu, started = _children_cpu_seconds(), time.perf_counter()
    output = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    wall = time.perf_counter() - started
    cpu = _children_cpu_seconds() - cpu
    document = json.loads(output)
    peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {
        "trials": trials,
        "seconds": wall,
        "cpu_seconds": cpu,
        "inner_seconds": document["seconds"],
        "power": document["power"],
        "mc_se": document["mc_se"],
        "study_months": document["mean_study_months"],
        "peak_mib": peak_mib,
    }


def run_rpact(trials: int) -> dict[str, float] | None:
    """Time rpact's simulation inside R and the whole Rscript process; None without R/rpact."""
    if shutil.which("Rscript") is None:
        return None
    script = RPACT_SCRIPT.format(**DESIGN)
    cpu, started = _children_cpu_seconds(), time.perf_counter()
    result = subprocess.run(
        ["Rscript", "-e", script, str(trials)], capture_output=True, text=True, check=False
    )
    wall = time.perf_counter() - started
    cpu = _children_cpu_seconds() - cpu
    if result.returncode != 0:
        Console(stderr=True).print(f"rpact run failed: {result.stderr.strip()[-300:]}")
        return None
    document = json.loads(result.stdout.strip().splitlines()[-1])
    power = document["power"]
    return {
        "trials": trials,
        "seconds": wall,
        "cpu_seconds": cpu,
        "inner_seconds": document["seconds"],
        "power": power,
        "mc_se": math.sqrt(power * (1 - power) / trials),
        "study_months": document["study_months"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=1_000_000)
    parser.add_argument("--rpact-trials", type=int, default=50_000)
    parser.add_argument("--threads", type=int, default=0, help="0 = one per CPU")
    options = parser.parse_args()

    ours = run_ikctrial(options.trials, options.threads)
    theirs = run_rpact(options.rpact_trials)

    table = Table(title="Simulated power, registered NCT03592706 design (HR 0.6, 45 events)")
    for column in ("tool", "trials", "seconds", "trials/s", "power ± MC SE", "study months"):
        table.add_column(column, justify="right")
    table.add_row(
        "ikctrial (whole command)",
        f"{ours['trials']:,}",
        f"{ours['seconds']:.2f}",
        f"{ours['trials'] / ours['seconds']:,.0f}",
        f"{ours['power']:.4f} ± {ours['mc_se']:.4f}",
        f"{ours['study_months']:.2f}",
    )
    table.add_row(
        "ikctrial (simulation only)",
        f"{ours['trials']:,}",
        f"{ours['inner_seconds']:.2f}",
        f"{ours['trials'] / ours['inner_seconds']:,.0f}",
        "",
        "",
    )
    if theirs is not None:
        for label, key in (("rpact (whole Rscript)", "seconds"), ("rpact (in R)", "inner_seconds")):
            table.add_row(
                label,
                f"{theirs['trials']:,}",
                f"{theirs[key]:.2f}",
                f"{theirs['trials'] / theirs[key]:,.0f}",
                f"{theirs['power']:.4f} ± {theirs['mc_se']:.4f}" if key == "seconds" else "",
                f"{theirs['study_months']:.2f}" if key == "seconds" else "",
            )
    console = Console()
    console.print(table)
    console.print(f"ikctrial peak memory (max RSS of the command): {ours['peak_mib']:.0f} MiB")
    if theirs is not None:
        rate = ours["trials"] / ours["seconds"]
        whole = rate / (theirs["trials"] / theirs["seconds"])
        inner = rate / (theirs["trials"] / theirs["inner_seconds"])
        gap = abs(ours["power"] - theirs["power"]) / math.hypot(ours["mc_se"], theirs["mc_se"])
        per_cpu = (ours["trials"] / ours["cpu_seconds"]) / (
            theirs["trials"] / theirs["cpu_seconds"]
        )
        console.print(
            f"throughput ratio, ikctrial whole command vs rpact: {whole:.1f}x (whole Rscript), "
            f"{inner:.1f}x (rpact's simulation call alone; target 20x); per CPU-second of the "
            f"whole processes: {per_cpu:.1f}x (ikctrial {ours['cpu_seconds']:.1f} s, rpact "
            f"{theirs['cpu_seconds']:.1f} s of CPU)"
        )
        console.print(f"power difference: {gap:.2f} combined Monte-Carlo SE")


if __name__ == "__main__":
    main()
