# Reference Kaplan-Meier values for the CDISC pilot ADTTE (PARAMCD TTDE) from R survival.
# Run from the repository root:  Rscript tests/reference/pilot_km_reference.R
# Reads ../shared/data/cdiscpilot01/adtte.xpt (as the tests do) and writes
# tests/reference/pilot_km_reference.json: per TRTA, n, events, median (log-log CI) and the numbers
# at risk at days 0, 20, ..., 200 (the at-risk table under the published pilot KM plot).
suppressPackageStartupMessages({
  library(survival)
  library(jsonlite)
  library(foreign)
})

adtte <- foreign::read.xport("../shared/data/cdiscpilot01/adtte.xpt")
adtte <- adtte[adtte$PARAMCD == "TTDE", ]
adtte$EVENT <- 1 - adtte$CNSR
times <- seq(0, 200, by = 20)

fit <- survfit(Surv(AVAL, EVENT) ~ TRTA, data = adtte, conf.type = "log-log")
at <- summary(fit, times = times, extend = TRUE)
medians <- quantile(fit, probs = 0.5, conf.int = TRUE)

groups <- list()
for (k in seq_along(fit$strata)) {
  stratum <- names(fit$strata)[k]
  label <- sub("^TRTA=", "", stratum)
  rows <- at$strata == stratum
  groups[[label]] <- list(
    n = fit$n[k],
    events = sum(adtte$EVENT[adtte$TRTA == label]),
    median = unname(medians$quantile[k, 1]),
    median_lower = unname(medians$lower[k, 1]),
    median_upper = unname(medians$upper[k, 1]),
    at_risk = unname(at$n.risk[rows])
  )
}

out <- list(
  source = "CDISC pilot CDISCPILOT01 adtte.xpt, PARAMCD TTDE, event = 1 - CNSR, by TRTA",
  r_version = R.version.string,
  survival_version = as.character(packageVersion("survival")),
  conf_type = "log-log",
  times = times,
  groups = groups
)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE, na = "null"),
           "tests/reference/pilot_km_reference.json")
