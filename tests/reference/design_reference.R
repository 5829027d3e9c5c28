# Reference values for ikctrial.design (domain.md 7.6): Schoenfeld events, sample size with accrual,
# follow-up and dropout, analytic power, and simulated power, all from rpact.
#
# Run from the repository root:  Rscript tests/reference/design_reference.R
# Writes tests/reference/design_reference.json. Needs R >= 4.2 with rpact (>= 3.3) and jsonlite.
#
# Conventions shared with ikctrial: time in months; allocation = experimental:control
# (rpact allocationRatioPlanned = n1 / n2, group 1 = treatment); dropout is rpact's dropoutRate
# within dropoutTime = 12 months; one-sided tests look for benefit (directionUpper = FALSE);
# simulated trials use rpact's evenly spaced entry times (ikctrial's regular_accrual = TRUE) and
# analyse at the planned number of events. Simulated power carries Monte-Carlo error: the tests
# compare within a few combined standard errors, never exactly.

suppressPackageStartupMessages({
  library(rpact)
  library(jsonlite)
})

args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", args[grep("^--file=", args)])
here <- if (length(script)) dirname(normalizePath(script)) else "tests/reference"

design_for <- function(alpha, sided, power = 0.8) {
  getDesignGroupSequential(kMax = 1, alpha = alpha, sided = sided, beta = 1 - power)
}

# --- Schoenfeld events (no accrual information) ----------------------------------------------
events_cases <- list(
  list(hazard_ratio = 0.6, alpha = 0.025, sided = 1, power = 0.8, allocation = c(1, 1)),
  list(hazard_ratio = 0.6, alpha = 0.05, sided = 2, power = 0.8, allocation = c(1, 1)),
  list(hazard_ratio = 0.7, alpha = 0.025, sided = 1, power = 0.9, allocation = c(2, 1)),
  list(hazard_ratio = 0.5, alpha = 0.05, sided = 1, power = 0.8, allocation = c(1, 1)),
  list(hazard_ratio = 0.4, alpha = 0.01, sided = 2, power = 0.95, allocation = c(1, 2)),
  list(hazard_ratio = 1.5, alpha = 0.025, sided = 1, power = 0.8, allocation = c(1, 1))
)
events <- lapply(events_cases, function(k) {
  s <- getSampleSizeSurvival(design_for(k$alpha, k$sided, k$power), hazardRatio = k$hazard_ratio,
    lambda2 = log(2) / 12, accrualTime = c(0, 24), followUpTime = 12,
    allocationRatioPlanned = k$allocation[1] / k$allocation[2])
  c(k, list(events_exact = s$maxNumberOfEvents[1]))
})

# --- Subjects that yield the events, uniform accrual, follow-up after accrual, dropout ----------
subjects_cases <- list(
  list(hazard_ratio = 0.6, alpha = 0.025, sided = 1, power = 0.8, allocation = c(1, 1),
       control_median_months = 7, accrual_months = 24, followup_months = 12, dropout_rate = 0.1),
  list(hazard_ratio = 0.6, alpha = 0.05, sided = 2, power = 0.8, allocation = c(2, 1),
       control_median_months = 7, accrual_months = 24, followup_months = 12, dropout_rate = 0),
  list(hazard_ratio = 0.5, alpha = 0.025, sided = 1, power = 0.9, allocation = c(1, 1),
       control_median_months = 9, accrual_months = 18, followup_months = 6, dropout_rate = 0.05),
  list(hazard_ratio = 0.75, alpha = 0.025, sided = 1, power = 0.8, allocation = c(1, 1),
       control_median_months = 20, accrual_months = 12, followup_months = 0, dropout_rate = 0.2)
)
subjects <- lapply(subjects_cases, function(k) {
  s <- getSampleSizeSurvival(design_for(k$alpha, k$sided, k$power), hazardRatio = k$hazard_ratio,
    lambda2 = log(2) / k$control_median_months, accrualTime = c(0, k$accrual_months),
    followUpTime = k$followup_months, dropoutRate1 = k$dropout_rate, dropoutRate2 = k$dropout_rate,
    dropoutTime = 12, allocationRatioPlanned = k$allocation[1] / k$allocation[2])
  c(k, list(events_exact = s$maxNumberOfEvents[1], subjects_exact = s$maxNumberOfSubjects[1]))
})

# --- Analytic power for a number of events (includes the domain.md 7.6 table) ----------------
power_cases <- list(
  list(events = 30, hazard_ratio = 0.6, alpha = 0.025, sided = 1, allocation = c(1, 1)),
  list(events = 45, hazard_ratio = 0.6, alpha = 0.025, sided = 1, allocation = c(1, 1)),
  list(events = 60, hazard_ratio = 0.6, alpha = 0.025, sided = 1, allocation = c(1, 1)),
  list(events = 121, hazard_ratio = 0.6, alpha = 0.025, sided = 1, allocation = c(1, 1)),
  list(events = 45, hazard_ratio = 0.6, alpha = 0.05, sided = 2, allocation = c(1, 1)),
  list(events = 40, hazard_ratio = 0.5, alpha = 0.025, sided = 1, allocation = c(2, 1)),
  list(events = 20, hazard_ratio = 0.9, alpha = 0.1, sided = 2, allocation = c(1, 1))
)
power <- lapply(power_cases, function(k) {
  p <- getPowerSurvival(design_for(k$alpha, k$sided), hazardRatio = k$hazard_ratio,
    lambda2 = log(2) / 12, directionUpper = FALSE, maxNumberOfEvents = k$events,
    maxNumberOfSubjects = 200, accrualTime = c(0, 24),
    allocationRatioPlanned = k$allocation[1] / k$allocation[2])
  c(k, list(power = p$overallReject))
})

# --- Simulated power (getSimulationSurvival), 100 000 trials each ------------------------------
# rpact simulates one-sided tests only; ikctrial's two-sided simulation is checked against the
# analytic two-sided power instead.
iterations <- 100000
simulation_cases <- list(
  list(name = "registered_hr06", n = 60, allocation = c(1, 1), control_median_months = 7,
       hazard_ratio = 0.6, accrual_months = 24, events = 45, alpha = 0.025, sided = 1,
       dropout_rate = 0),
  list(name = "registered_null", n = 60, allocation = c(1, 1), control_median_months = 7,
       hazard_ratio = 1, accrual_months = 24, events = 45, alpha = 0.025, sided = 1,
       dropout_rate = 0),
  list(name = "alpha05_hr05", n = 60, allocation = c(1, 1), control_median_months = 7,
       hazard_ratio = 0.5, accrual_months = 18, events = 40, alpha = 0.05, sided = 1,
       dropout_rate = 0),
  list(name = "unequal_dropout", n = 120, allocation = c(2, 1), control_median_months = 10,
       hazard_ratio = 0.7, accrual_months = 24, events = 80, alpha = 0.025, sided = 1,
       dropout_rate = 0.1),
  list(name = "piecewise", n = 80, allocation = c(1, 1), piecewise_starts = c(0, 6),
       piecewise_hazards = c(0.08, 0.12), hazard_ratio = 0.6, accrual_months = 12, events = 60,
       alpha = 0.025, sided = 1, dropout_rate = 0)
)
simulation <- lapply(simulation_cases, function(k) {
  lambda2 <- if (is.null(k$piecewise_hazards)) log(2) / k$control_median_months else k$piecewise_hazards
  pst <- if (is.null(k$piecewise_starts)) NA_real_ else k$piecewise_starts
  started <- Sys.time()
  s <- getSimulationSurvival(design_for(k$alpha, k$sided),
    piecewiseSurvivalTime = pst, lambda2 = lambda2, hazardRatio = k$hazard_ratio,
    directionUpper = FALSE, accrualTime = c(0, k$accrual_months), maxNumberOfSubjects = k$n,
    plannedEvents = k$events, allocation1 = k$allocation[1], allocation2 = k$allocation[2],
    dropoutRate1 = k$dropout_rate, dropoutRate2 = k$dropout_rate, dropoutTime = 12,
    maxNumberOfIterations = iterations, seed = 20260101)
  seconds <- as.numeric(Sys.time() - started, units = "secs")
  power <- s$overallReject[1]
  c(k, list(trials = iterations, power = power, mc_se = sqrt(power * (1 - power) / iterations),
            mean_study_months = s$analysisTime[1], mean_events = s$eventsPerStage[1],
            events_not_reached = s$eventsNotAchieved[1], seconds = seconds))
})

out <- list(
  generated_by = "tests/reference/design_reference.R",
  rpact_version = as.character(packageVersion("rpact")),
  r_version = R.version.string,
  events = events, subjects = subjects, power = power, simulation = simulation
)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE),
           file.path(here, "design_reference.json"))
