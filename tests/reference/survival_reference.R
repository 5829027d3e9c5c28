# Reference values for ikctrial.stats (Kaplan-Meier, log-rank, Cox) from R survival.
# Run from the repository root:  Rscript tests/reference/survival_reference.R
# Writes tests/reference/survival_reference.json and the input tables under tests/reference/data/
# (R's public trial data sets, so the Python tests need no R). The CDISC pilot ADTTE is read from
# ../shared/data/cdiscpilot01/adtte.xpt, as the tests do.
suppressPackageStartupMessages({
  library(survival)
  library(jsonlite)
  library(foreign)
})

data_dir <- "tests/reference/data"
adtte_path <- "../shared/data/cdiscpilot01/adtte.xpt"

# --- input tables -------------------------------------------------------------------------------
lung_df <- na.omit(survival::lung[, c("time", "status", "age", "sex", "ph.ecog", "ph.karno", "inst")])
lung_df$event <- as.integer(lung_df$status == 2)
lung_df$status <- NULL
veteran_df <- survival::veteran
veteran_df$event <- veteran_df$status
veteran_df$status <- NULL
veteran_df$celltype <- as.character(veteran_df$celltype)  # CSV keeps no factor order
pbc_df <- survival::pbc[!is.na(survival::pbc$trt), c("id", "time", "status", "trt", "age", "edema", "bili", "albumin", "sex")]
pbc_df$event <- as.integer(pbc_df$status == 2)
pbc_df$status <- NULL
pbc_df$logbili <- log(pbc_df$bili)
# domain.md 7.5 worked example, plus tied events and censoring at event times in two arms
ties_df <- data.frame(
  time = c(2, 3, 4, 5, 5, 7, 8, 10, 12, 12, 1, 3, 3, 3, 5, 5, 8, 8, 9, 12),
  event = c(1, 1, 0, 1, 1, 0, 1, 1, 0, 0, 1, 1, 1, 0, 1, 0, 1, 1, 0, 1),
  arm = rep(c("A", "B"), each = 10),
  site = rep(c("s1", "s2"), 10)
)
# a group with no events (median and its CI undefined), and a group ending with S = 0
noevents_df <- data.frame(
  time = c(3, 5, 8, 9, 12, 2, 4, 4, 6, 7),
  event = c(0, 0, 0, 0, 0, 1, 1, 0, 1, 1),
  arm = rep(c("control", "treated"), each = 5)
)
adtte <- read.xport(adtte_path)

write.csv(lung_df, file.path(data_dir, "survival_lung.csv"), row.names = FALSE)
write.csv(veteran_df, file.path(data_dir, "survival_veteran.csv"), row.names = FALSE)
write.csv(pbc_df, file.path(data_dir, "survival_pbc.csv"), row.names = FALSE)
write.csv(ties_df, file.path(data_dir, "survival_ties.csv"), row.names = FALSE)
write.csv(noevents_df, file.path(data_dir, "survival_noevents.csv"), row.names = FALSE)

tables <- list(lung = lung_df, veteran = veteran_df, pbc = pbc_df, ties = ties_df,
               noevents = noevents_df, adtte = adtte)
case_data <- function(case) {
  d <- tables[[case$data]]
  if (is.null(case$filter)) d else d[with(d, eval(parse(text = case$filter))), ]
}
surv_formula <- function(case) {
  if (!is.null(case$censor)) sprintf("Surv(%s, 1 - %s)", case$time, case$censor)
  else sprintf("Surv(%s, %s)", case$time, case$event)
}

# --- Kaplan-Meier ---------------------------------------------------------------------------------
km_case <- function(case) {
  d <- case_data(case)
  rhs <- if (is.null(case$group)) "1" else case$group
  fit <- survfit(as.formula(paste(surv_formula(case), "~", rhs)), data = d,
                 conf.type = case$conf_type, conf.int = case$level)
  levels <- if (is.null(case$group)) list(NULL) else as.list(sort(unique(d[[case$group]])))
  groups <- lapply(seq_along(levels), function(i) {
    f <- if (is.null(case$group)) fit else fit[i]
    q <- quantile(f, probs = case$probs)
    s <- summary(f, times = case$times, extend = TRUE)
    beyond <- case$times > max(f$time)
    r <- summary(f, times = case$at_risk_times, extend = TRUE)
    tab <- summary(f, rmean = case$tau)$table
    list(
      group = levels[[i]], time = f$time, n_risk = f$n.risk, n_event = f$n.event,
      n_censor = f$n.censor, surv = f$surv, std_err = f$std.err, lower = f$lower, upper = f$upper,
      quantile = list(estimate = unname(q$quantile), lower = unname(q$lower), upper = unname(q$upper)),
      survival_at = list(surv = ifelse(beyond, NA, s$surv), lower = ifelse(beyond, NA, s$lower),
                         upper = ifelse(beyond, NA, s$upper)),
      at_risk = r$n.risk, rmean = unname(tab["rmean"]), se_rmean = unname(tab["se(rmean)"])
    )
  })
  c(case, list(groups = groups))
}
km_cases <- list(
  list(name = "worked_example", data = "ties", filter = "arm == 'A'", time = "time", event = "event", group = NULL,
       conf_type = "log-log", level = 0.95, times = c(0, 2, 5, 11, 13), at_risk_times = c(0, 5, 12, 13),
       tau = 10, probs = c(0.25, 0.5, 0.75)),
  list(name = "ties_by_arm_log", data = "ties", time = "time", event = "event", group = "arm",
       conf_type = "log", level = 0.9, times = c(0.5, 3, 8, 12), at_risk_times = c(0, 3, 8, 12),
       tau = 12, probs = c(0.25, 0.5, 0.75)),
  list(name = "noevents_plain", data = "noevents", time = "time", event = "event", group = "arm",
       conf_type = "plain", level = 0.95, times = c(1, 4, 7), at_risk_times = c(0, 4, 10),
       tau = 7, probs = c(0.25, 0.5, 0.75)),
  list(name = "noevents_loglog", data = "noevents", time = "time", event = "event", group = "arm",
       conf_type = "log-log", level = 0.95, times = c(1, 4, 7), at_risk_times = c(0, 4, 10),
       tau = 7, probs = c(0.25, 0.5, 0.75)),
  list(name = "lung_by_sex", data = "lung", time = "time", event = "event", group = "sex",
       conf_type = "log-log", level = 0.95, times = c(180, 365, 730), at_risk_times = c(0, 250, 500, 750, 1000),
       tau = 730, probs = c(0.25, 0.5, 0.75)),
  list(name = "veteran_by_trt_plain", data = "veteran", time = "time", event = "event", group = "trt",
       conf_type = "plain", level = 0.95, times = c(30, 90, 365), at_risk_times = c(0, 100, 200, 500),
       tau = 365, probs = c(0.25, 0.5, 0.75)),
  list(name = "pbc_by_trt_log", data = "pbc", time = "time", event = "event", group = "trt",
       conf_type = "log", level = 0.95, times = c(1000, 2000, 4000), at_risk_times = c(0, 1000, 3000, 5000),
       tau = 3650, probs = c(0.25, 0.5, 0.75)),
  list(name = "adtte_by_trtp", data = "adtte", time = "AVAL", censor = "CNSR", group = "TRTP",
       conf_type = "log-log", level = 0.95, times = c(14, 30, 60, 120), at_risk_times = c(0, 30, 90, 180),
       tau = 150, probs = c(0.25, 0.5, 0.75))
)

# --- log-rank -------------------------------------------------------------------------------------
logrank_case <- function(case) {
  d <- case_data(case)
  rhs <- if (is.null(case$strata)) case$group else sprintf("%s + strata(%s)", case$group, case$strata)
  test <- survdiff(as.formula(paste(surv_formula(case), "~", rhs)), data = d)
  df <- sum(diag(test$var)[-1] > 0)
  c(case, list(chisq = test$chisq, df = length(test$n) - 1,
               p = pchisq(test$chisq, length(test$n) - 1, lower.tail = FALSE),
               observed = unname(if (is.matrix(test$obs)) rowSums(test$obs) else test$obs),
               expected = unname(if (is.matrix(test$exp)) rowSums(test$exp) else test$exp),
               var = unname(test$var)))
}
logrank_cases <- list(
  list(name = "ties_two_arms", data = "ties", time = "time", event = "event", group = "arm"),
  list(name = "ties_stratified", data = "ties", time = "time", event = "event", group = "arm", strata = "site"),
  list(name = "noevents_two_arms", data = "noevents", time = "time", event = "event", group = "arm"),
  list(name = "lung_sex", data = "lung", time = "time", event = "event", group = "sex"),
  list(name = "veteran_celltype", data = "veteran", time = "time", event = "event", group = "celltype"),
  list(name = "veteran_trt_by_celltype", data = "veteran", time = "time", event = "event", group = "trt", strata = "celltype"),
  list(name = "pbc_trt_by_edema", data = "pbc", time = "time", event = "event", group = "trt", strata = "edema"),
  list(name = "adtte_trtp", data = "adtte", time = "AVAL", censor = "CNSR", group = "TRTP"),
  list(name = "adtte_xanomeline_doses", data = "adtte", filter = "TRTP != 'Placebo'", time = "AVAL", censor = "CNSR", group = "TRTP"),
  list(name = "adtte_trtp_by_sex", data = "adtte", time = "AVAL", censor = "CNSR", group = "TRTP", strata = "SEX")
)

# --- Cox ------------------------------------------------------------------------------------------
cox_case <- function(case) {
  d <- case_data(case)
  rhs <- paste(case$covariates, collapse = " + ")
  if (!is.null(case$strata)) rhs <- sprintf("%s + strata(%s)", rhs, case$strata)
  if (!is.null(case$cluster)) rhs <- sprintf("%s + cluster(%s)", rhs, case$cluster)
  # tight convergence so both sides report the maximum itself (R's default eps is 1e-9)
  fit <- coxph(as.formula(paste(surv_formula(case), "~", rhs)), data = d, ties = case$ties,
               robust = case$robust, control = coxph.control(eps = 1e-14, toler.chol = 1e-15, iter.max = 100))
  s <- summary(fit, conf.int = case$level)
  c(case, list(
    names = I(names(coef(fit))), coef = unname(coef(fit)), se = unname(sqrt(diag(fit$naive.var %||% fit$var))),
    robust_se = if (is.null(fit$naive.var)) NULL else unname(sqrt(diag(fit$var))),
    lower = unname(s$conf.int[, 3]), upper = unname(s$conf.int[, 4]), p = unname(s$coefficients[, ncol(s$coefficients)]),
    loglik = fit$loglik, score = unname(fit$score), wald = unname(fit$wald.test),
    lr = unname(2 * diff(fit$loglik)), n = fit$n, events = fit$nevent
  ))
}
`%||%` <- function(a, b) if (is.null(a)) b else a
cox_cases <- list(
  list(name = "veteran_efron", data = "veteran", time = "time", event = "event",
       covariates = c("trt", "karno", "age", "celltype"), ties = "efron", robust = FALSE, level = 0.95),
  list(name = "veteran_breslow_robust", data = "veteran", time = "time", event = "event",
       covariates = c("trt", "karno", "age"), ties = "breslow", robust = TRUE, level = 0.95),
  list(name = "veteran_strata_celltype", data = "veteran", time = "time", event = "event",
       covariates = c("trt", "karno"), strata = "celltype", ties = "efron", robust = FALSE, level = 0.9),
  list(name = "lung_efron_cluster_inst", data = "lung", time = "time", event = "event",
       covariates = c("age", "sex", "ph.ecog"), cluster = "inst", ties = "efron", robust = TRUE, level = 0.95),
  list(name = "pbc_efron", data = "pbc", time = "time", event = "event",
       covariates = c("age", "edema", "logbili", "albumin", "trt"), ties = "efron", robust = FALSE, level = 0.95),
  list(name = "ties_efron_strata_robust", data = "ties", time = "time", event = "event",
       covariates = I("arm"), strata = "site", ties = "efron", robust = TRUE, level = 0.95),
  list(name = "adtte_trtp_age_cluster_site", data = "adtte", time = "AVAL", censor = "CNSR",
       covariates = c("TRTP", "AGE"), cluster = "SITEID", ties = "efron", robust = TRUE, level = 0.95),
  list(name = "adtte_breslow_strata_sex", data = "adtte", time = "AVAL", censor = "CNSR",
       covariates = I("TRTP"), strata = "SEX", ties = "breslow", robust = FALSE, level = 0.95)
)

reference <- list(
  r_version = R.version.string,
  survival_version = as.character(packageVersion("survival")),
  km = lapply(km_cases, km_case),
  logrank = lapply(logrank_cases, logrank_case),
  cox = lapply(cox_cases, cox_case)
)
write_json(reference, "tests/reference/survival_reference.json", auto_unbox = TRUE, digits = NA,
           null = "null", na = "string", pretty = TRUE)
