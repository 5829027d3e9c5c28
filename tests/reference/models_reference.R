# Reference values for ikctrial.stats.rates and ikctrial.stats.mmrm (domain.md 7.3 and 7.4).
#
# Run from the repository root:  Rscript tests/reference/models_reference.R
# Writes the synthetic input data (fixed seed) to tests/reference/data/models_*.csv and the reference
# estimates to tests/reference/models_reference.json. Needs R >= 4.2 with MASS, nlme, jsonlite and
# emmeans (Debian: apt-get install r-cran-emmeans).
#
# Rate models: glm(poisson) and MASS::glm.nb with offset(log(exposure)); Wald CIs exp(b +- z * se).
# glm and glm.nb are run with a tightened convergence control (epsilon 1e-12) so that estimates (and
# glm.nb's ML theta) are precise well below the 1e-6 relative tolerance of the tests (R's default
# epsilon 1e-8 leaves ~1e-5 relative error in a coefficient near zero); the default-control theta
# is recorded too, to show how close the defaults come.
# The sandwich (HC0) covariance of the Poisson fit is computed by hand: bread %*% meat %*% bread.
#
# MMRM: nlme::gls(chg ~ base + visit * arm, corSymm(~ visit index | subject), varIdent(~ 1 | visit),
# method = "REML"), i.e. an unstructured covariance across visits. The least-squares means are
# L %*% beta with the covariate at its mean over the rows used in the fit (emmeans' default), their
# SEs sqrt(L V L'), t tests on the residual df N - p as summary.gls reports (emmeans' own
# "df.error" for gls is N - p - number of variance parameters, so its df differ). emmeans checks
# these LS means and gives the Satterthwaite df of the arm differences ("appx-satterthwaite",
# numerical derivatives on nlme's approximate variance-parameter covariance).
# gls runs with opt = "optim" (BFGS) and tight tolerances: the default nlminb stops ~3e-9 below the
# REML maximum, which moves coefficients by ~1e-6 relative; with optim it stops ~1e-11 below it
# (fixed effects and SEs within ~1e-7, variances within ~1e-5 of the maximum). That fit is then
# polished by Newton steps on nlme's own REML log-likelihood (gls re-evaluated with the correlation
# and variance-ratio parameters fixed; central-difference gradient), until the gradient is at the
# evaluation noise (~1e-8): variances within ~1e-9 of the maximum, so every value the tests compare
# is exact well below their 1e-6 relative tolerance. The reported fit is gls at those parameters.
# Satterthwaite df of each arm difference c'beta: 2 (c'Ac)^2 / (g'Wg), A = vcov(beta), g the
# gradient of c'Ac in all covariance parameters (correlations, log variance ratios, log sigma; gls
# with sigma fixed), W the inverse of minus the REML Hessian in them (central differences of nlme's
# log-likelihood with Richardson extrapolation), as the R mmrm package's default (its derivatives
# are automatic; df do not depend on how the covariance is parametrized).

suppressPackageStartupMessages({
  library(MASS)
  library(nlme)
  library(jsonlite)
  library(emmeans)
  library(numDeriv)
})

args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", args[grep("^--file=", args)])
here <- if (length(script)) dirname(normalizePath(script)) else "tests/reference"
z <- qnorm(0.975)

# ---------------------------------------------------------------------------------------------
# Rate data: 60 patients 1:1, repeat TACE sessions over follow-up (years), NB2 counts.
set.seed(20260302)
n <- 60
rate_data <- data.frame(
  subject = sprintf("S%03d", seq_len(n)),
  arm = rep(c("CONTROL", "IKC"), each = n / 2),
  bclc = sample(c("A", "B"), n, replace = TRUE),
  age = round(rnorm(n, 60, 9)),
  followup_years = round(runif(n, 0.3, 3.0), 4)
)
mu <- rate_data$followup_years * exp(0.4 - 0.45 * (rate_data$arm == "IKC") +
  0.35 * (rate_data$bclc == "B") + 0.01 * (rate_data$age - 60))
rate_data$tace_repeats <- rnbinom(n, mu = mu, size = 1.6)
write.csv(rate_data, file.path(here, "data", "models_rate.csv"), row.names = FALSE)

coef_table <- function(fit, vc) {
  b <- coef(fit)
  se <- sqrt(diag(vc))
  setNames(lapply(seq_along(b), function(i) list(coef = unname(b[i]), se = unname(se[i]))), names(b))
}

rate_case <- function(name, model, covariates, fit, vc, theta = NULL, theta_default = NULL,
                      se_type = "model", data = rate_data, effect = "armIKC") {
  b <- coef(fit)[[effect]]
  se <- sqrt(vc[effect, effect])
  pois <- glm(fit$formula, family = poisson, data = data,
              control = glm.control(epsilon = 1e-12))
  list(
    name = name, model = model, covariates = covariates, se_type = se_type,
    coefficients = coef_table(fit, vc),
    rate_ratio = exp(b), ci = exp(b + c(-1, 1) * z * se), p = 2 * pnorm(-abs(b / se)),
    theta = theta, theta_default_control = theta_default,
    loglik = as.numeric(logLik(fit)), n = nobs(fit),
    pearson_chi2_df = sum(residuals(pois, type = "pearson")^2) / pois$df.residual
  )
}

crude <- with(rate_data, tapply(tace_repeats, arm, sum) / tapply(followup_years, arm, sum))
rate_cases <- list()
for (covs in list(character(0), c("bclc", "age"))) {
  rhs <- paste(c("arm", covs, "offset(log(followup_years))"), collapse = " + ")
  f <- as.formula(paste("tace_repeats ~", rhs))
  suffix <- if (length(covs)) "adjusted" else "unadjusted"

  pois <- glm(f, family = poisson, data = rate_data, control = glm.control(epsilon = 1e-12))
  pois$formula <- f
  rate_cases[[length(rate_cases) + 1]] <- rate_case(
    paste0("poisson_", suffix), "poisson", covs, pois, vcov(pois))

  X <- model.matrix(pois)
  bread <- vcov(pois)
  meat <- crossprod(X * (rate_data$tace_repeats - fitted(pois)))
  rate_cases[[length(rate_cases) + 1]] <- rate_case(
    paste0("poisson_robust_", suffix), "poisson", covs, pois, bread %*% meat %*% bread,
    se_type = "sandwich")

  nb <- glm.nb(f, data = rate_data, control = glm.control(epsilon = 1e-12, maxit = 200))
  nb$formula <- f
  nb_default <- glm.nb(f, data = rate_data)
  rate_cases[[length(rate_cases) + 1]] <- rate_case(
    paste0("negbin_", suffix), "negbin", covs, nb, vcov(nb), theta = nb$theta,
    theta_default = nb_default$theta)
}

# Public data shipped with MASS: days absent from school (MASS::quine, the glm.nb example of
# Venables & Ripley), with a unit exposure; Eth N vs A adjusted for Sex, Age (4 levels) and Lrn.
quine_data <- transform(MASS::quine, exposure = 1)
write.csv(quine_data, file.path(here, "data", "models_quine.csv"), row.names = FALSE)
quine_f <- Days ~ Eth + Sex + Age + Lrn + offset(log(exposure))
quine_pois <- glm(quine_f, family = poisson, data = quine_data,
                  control = glm.control(epsilon = 1e-12))
quine_pois$formula <- quine_f
quine_nb <- glm.nb(quine_f, data = quine_data, control = glm.control(epsilon = 1e-12, maxit = 200))
quine_nb$formula <- quine_f
quine_cases <- list(
  rate_case("quine_poisson", "poisson", c("Sex", "Age", "Lrn"), quine_pois, vcov(quine_pois),
            data = quine_data, effect = "EthN"),
  rate_case("quine_negbin", "negbin", c("Sex", "Age", "Lrn"), quine_nb, vcov(quine_nb),
            theta = quine_nb$theta, theta_default = glm.nb(quine_f, data = quine_data)$theta,
            data = quine_data, effect = "EthN")
)

# ---------------------------------------------------------------------------------------------
# MMRM data: 60 subjects, 4 post-baseline visits, change from baseline with an unstructured
# covariance, monotone dropout and a few intermittent missing visits.
set.seed(20260724)
visits <- c("WEEK 4", "WEEK 8", "WEEK 12", "WEEK 24")
sd_v <- c(1.0, 1.3, 1.7, 2.2)
corr <- matrix(c(1, .6, .45, .3, .6, 1, .55, .4, .45, .55, 1, .6, .3, .4, .6, 1), 4)
Sigma <- diag(sd_v) %*% corr %*% diag(sd_v)
R <- chol(Sigma)
rows <- list()
for (i in seq_len(n)) {
  arm <- if (i <= n / 2) "CONTROL" else "IKC"
  base <- round(rnorm(1, 25, 6), 2)
  mean_v <- c(0.2, 0.5, 0.7, 0.9) + (arm == "IKC") * c(0.3, 0.8, 1.2, 1.6) - 0.04 * (base - 25)
  y <- mean_v + drop(rnorm(4) %*% R)
  keep <- rep(TRUE, 4)
  drop_at <- sample(c(2:4, NA), 1, prob = c(.08, .08, .09, .75))
  if (!is.na(drop_at)) keep[drop_at:4] <- FALSE
  if (runif(1) < 0.1) keep[sample(1:3, 1)] <- FALSE
  if (!any(keep)) keep[1] <- TRUE
  rows[[i]] <- data.frame(subject = sprintf("P%03d", i), arm = arm, visit = visits[keep],
                          base = base, chg = round(y[keep], 4))
}
mmrm_data <- do.call(rbind, rows)
write.csv(mmrm_data, file.path(here, "data", "models_mmrm.csv"), row.names = FALSE)

# gls of formula f on d with the unstructured covariance held at par (correlations as corSymm
# orders them, then log variance ratios of the visits after the first), and sigma if given.
gls_at <- function(f, d, par, ratio_names, sigma = NULL) {
  k <- length(par) - length(ratio_names)
  # do.call puts the formula and data into the call itself, for emmeans to re-evaluate
  do.call(gls, list(
    model = f, data = d, method = "REML",
    correlation = corSymm(value = unname(par[seq_len(k)]), form = ~ visit_index | subject,
                          fixed = TRUE),
    weights = varIdent(form = ~ 1 | visit,
                       fixed = setNames(exp(unname(par[-seq_len(k)])), ratio_names)),
    control = if (is.null(sigma)) glsControl() else glsControl(sigma = sigma)))
}
central_gradient <- function(fn, x, h = 1e-5) {
  sapply(seq_along(x), function(i) {
    e <- replace(numeric(length(x)), i, h)
    (fn(x + e) - fn(x - e)) / (2 * h)
  })
}
# Hessian by central differences at steps h and 2h, Richardson-extrapolated (error O(h^4)).
central_hessian <- function(fn, x, h = 1e-3) {
  n <- length(x)
  f0 <- fn(x)
  at_step <- function(h) {
    H <- matrix(0, n, n)
    for (i in seq_len(n)) for (j in i:n) {
      ei <- replace(numeric(n), i, h)
      ej <- replace(numeric(n), j, h)
      H[i, j] <- H[j, i] <- if (i == j) (fn(x + ei) - 2 * f0 + fn(x - ei)) / h^2 else
        (fn(x + ei + ej) - fn(x + ei - ej) - fn(x - ei + ej) + fn(x - ei - ej)) / (4 * h^2)
    }
    H
  }
  (4 * at_step(h) - at_step(2 * h)) / 3
}
covariance_parameters <- function(fit) {
  ratios <- coef(fit$modelStruct$varStruct, unconstrained = FALSE)
  list(par = c(coef(fit$modelStruct$corStruct, unconstrained = FALSE), log(ratios)),
       ratio_names = names(ratios))
}
polish_reml <- function(fit, f, d) {
  start <- covariance_parameters(fit)
  par <- start$par
  loglik <- function(p) as.numeric(logLik(gls_at(f, d, p, start$ratio_names)))
  hessian <- central_hessian(loglik, par)
  for (step in 1:8) {
    gradient <- central_gradient(loglik, par)
    if (max(abs(gradient)) < 1e-7) break
    par <- par - solve(hessian, gradient)
  }
  stopifnot(max(abs(central_gradient(loglik, par))) < 1e-7, loglik(par) >= as.numeric(logLik(fit)))
  polished <- gls_at(f, d, par, start$ratio_names)
  polished$covariance_parameters <- list(par = par, ratio_names = start$ratio_names)
  polished
}
satterthwaite_df <- function(fit, f, d, contrasts) {
  start <- fit$covariance_parameters  # as polish_reml left them (fixed in the fit itself)
  k <- length(start$par)
  phi <- c(start$par, log(fit$sigma))
  at <- function(p) gls_at(f, d, p[seq_len(k)], start$ratio_names, sigma = exp(p[k + 1]))
  stopifnot(isTRUE(all.equal(vcov(at(phi)), vcov(fit), tolerance = 1e-12)))
  W <- solve(-central_hessian(function(p) as.numeric(logLik(at(p))), phi))
  h <- 1e-5
  dV <- lapply(seq_along(phi), function(i) {
    e <- replace(numeric(length(phi)), i, h)
    (vcov(at(phi + e)) - vcov(at(phi - e))) / (2 * h)
  })
  V <- vcov(fit)
  sapply(contrasts, function(L) {
    g <- sapply(dV, function(D) drop(t(L) %*% D %*% L))
    2 * drop(t(L) %*% V %*% L)^2 / drop(t(g) %*% W %*% g)
  })
}

mmrm_case <- function(name, with_baseline) {
  d <- mmrm_data
  d$visit <- factor(d$visit, levels = visits)
  d$arm <- factor(d$arm)
  d$visit_index <- as.integer(d$visit)
  f <- if (with_baseline) chg ~ base + visit * arm else chg ~ visit * arm
  fit <- gls(f, data = d,
             correlation = corSymm(form = ~ visit_index | subject),
             weights = varIdent(form = ~ 1 | visit), method = "REML",
             control = glsControl(tolerance = 1e-12, msTol = 1e-14, maxIter = 500, msMaxIter = 500,
                                  opt = "optim"))
  fit <- polish_reml(fit, f, d)
  beta <- coef(fit)
  V <- vcov(fit)
  df <- fit$dims$N - fit$dims$p
  base_mean <- mean(d$base)
  lsm_vector <- function(v, a) {
    L <- setNames(numeric(length(beta)), names(beta))
    L["(Intercept)"] <- 1
    if (with_baseline) L["base"] <- base_mean
    if (v != visits[1]) L[paste0("visit", v)] <- 1
    if (a == "IKC") L["armIKC"] <- 1
    if (v != visits[1] && a == "IKC") L[paste0("visit", v, ":armIKC")] <- 1
    L
  }
  visit_rows <- lapply(visits, function(v) {
    lc <- lsm_vector(v, "CONTROL")
    li <- lsm_vector(v, "IKC")
    dl <- li - lc
    est <- sum(dl * beta)
    se <- sqrt(drop(t(dl) %*% V %*% dl))
    list(visit = v, difference = est, se = se, df = df, contrast = dl,
         ci = est + c(-1, 1) * qt(0.975, df) * se, p = 2 * pt(-abs(est / se), df),
         lsmeans = list(CONTROL = sum(lc * beta), IKC = sum(li * beta)),
         lsmeans_se = list(CONTROL = sqrt(drop(t(lc) %*% V %*% lc)),
                           IKC = sqrt(drop(t(li) %*% V %*% li))))
  })
  # Cross-check the hand-made LS means with emmeans, and take its Satterthwaite df
  # (mode "appx-satterthwaite": numerical gradient of vcov(beta) and nlme's apVar for the variance
  # parameters, both finite-difference approximations).
  em <- emmeans(fit, ~ arm | visit, mode = "df.error", data = d)
  em_means <- as.data.frame(summary(em))
  hand_means <- unlist(lapply(visit_rows, function(r) unlist(r$lsmeans)), use.names = FALSE)
  stopifnot(isTRUE(all.equal(em_means$emmean, hand_means, tolerance = 1e-10)))
  # nlme's apVar (needed here) fails on the optim fit of the unadjusted model, so this part uses the
  # default-control (nlminb) fit, whose estimates agree with the tight fit to ~1e-6.
  # do.call puts the formula and data into the call itself: emmeans re-evaluates that call.
  fit_default <- do.call(gls, list(model = f, data = d,
                                   correlation = corSymm(form = ~ visit_index | subject),
                                   weights = varIdent(form = ~ 1 | visit), method = "REML"))
  sat <- as.data.frame(summary(contrast(emmeans(fit_default, ~ arm | visit, mode = "satterthwaite",
                                                data = d), "revpairwise"), infer = TRUE))
  stopifnot(isTRUE(all.equal(sat$estimate, sapply(visit_rows, `[[`, "difference"),
                             tolerance = 1e-5)))
  exact_df <- satterthwaite_df(fit, f, d, lapply(visit_rows, `[[`, "contrast"))
  stopifnot(isTRUE(all.equal(sat$df, exact_df, tolerance = 0.05)))
  for (j in seq_along(visits)) {
    r <- visit_rows[[j]]
    visit_rows[[j]]$satterthwaite <- list(
      df = exact_df[j], ci = r$difference + c(-1, 1) * qt(0.975, exact_df[j]) * r$se,
      p = 2 * pt(-abs(r$difference / r$se), exact_df[j]),
      emmeans_appx = list(df = sat$df[j], ci = c(sat$lower.CL[j], sat$upper.CL[j]),
                          p = sat$p.value[j]))
    visit_rows[[j]]$contrast <- NULL
  }
  # The unstructured covariance matrix: sd_j sd_k rho_jk.
  sds <- fit$sigma * c(1, coef(fit$modelStruct$varStruct, unconstrained = FALSE, allCoef = TRUE))
  sds <- sds[visits]
  full <- names(which.max(table(d$subject)))
  rho <- corMatrix(fit$modelStruct$corStruct)[[full]]
  covariance <- diag(sds) %*% rho %*% diag(sds)
  list(name = name, baseline = if (with_baseline) "base" else NULL,
       loglik_reml = as.numeric(logLik(fit)), n_obs = fit$dims$N, n_subjects = length(unique(d$subject)),
       coefficients = coef_table(fit, V), covariance = unname(covariance),
       visits = visit_rows)
}

reference <- list(
  generated_by = "tests/reference/models_reference.R",
  r_version = R.version.string,
  packages = list(MASS = as.character(packageVersion("MASS")),
                  nlme = as.character(packageVersion("nlme")),
                  emmeans = as.character(packageVersion("emmeans"))),
  rate = list(data = "data/models_rate.csv", count = "tace_repeats", exposure = "followup_years",
              group = "arm", crude_rates = as.list(crude), cases = rate_cases),
  quine = list(data = "data/models_quine.csv", count = "Days", exposure = "exposure", group = "Eth",
               crude_rates = as.list(with(quine_data, tapply(Days, Eth, sum) /
                                            tapply(exposure, Eth, sum))),
               cases = quine_cases),
  mmrm = list(data = "data/models_mmrm.csv", subject = "subject", visit = "visit", response = "chg",
              arm = "arm",
              cases = list(mmrm_case("baseline_adjusted", TRUE), mmrm_case("unadjusted", FALSE)))
)
writeLines(toJSON(reference, auto_unbox = TRUE, digits = NA, pretty = TRUE, null = "null"),
           file.path(here, "models_reference.json"))
