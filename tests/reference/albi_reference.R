# Reference values for ikctrial.clinical.albi (domain.md 4.2): the ALBI score of Johnson et al.
# (J Clin Oncol 2015) computed independently in R for a grid of bilirubin and albumin values.
#
# Run from the repository root:  Rscript tests/reference/albi_reference.R
# Writes tests/reference/albi_reference.json. Needs R >= 4.0 with jsonlite.
#
# ALBI = 0.66 * log10(bilirubin umol/L) - 0.085 * albumin g/L, with bilirubin mg/dL * 17.1 and
# albumin g/dL * 10. R works in binary doubles (about 16 significant digits), so the tests compare
# the score to 1e-12; grades are compared only where the score is farther than 1e-9 from a
# boundary (-2.60, -1.39), which is where doubles and exact decimals can disagree.

suppressPackageStartupMessages(library(jsonlite))

args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", args[grep("^--file=", args)])
here <- if (length(script)) dirname(normalizePath(script)) else "tests/reference"

albi <- function(bilirubin_umol_l, albumin_g_l) 0.66 * log10(bilirubin_umol_l) - 0.085 * albumin_g_l
grade <- function(score) ifelse(score <= -2.60, 1L, ifelse(score <= -1.39, 2L, 3L))

cases <- list()
for (bilirubin in c("3", "5.5", "8", "12", "17.1", "20", "25", "34.2", "51.3", "68", "100", "250")) {
  for (albumin in c("18", "22.5", "25", "28", "30", "33", "35", "38", "42", "45.5", "50")) {
    score <- albi(as.numeric(bilirubin), as.numeric(albumin))
    cases[[length(cases) + 1]] <- list(
      bilirubin = bilirubin, bilirubin_unit = "umol/L",
      albumin = albumin, albumin_unit = "g/L",
      score = score, grade = grade(score)
    )
  }
}
for (bilirubin in c("0.5", "1", "1.4", "2", "3", "4.2")) {
  for (albumin in c("2.5", "3", "3.4", "3.5", "4.1")) {
    score <- albi(as.numeric(bilirubin) * 17.1, as.numeric(albumin) * 10)
    cases[[length(cases) + 1]] <- list(
      bilirubin = bilirubin, bilirubin_unit = "mg/dL",
      albumin = albumin, albumin_unit = "g/dL",
      score = score, grade = grade(score)
    )
  }
}

out <- list(
  generated_by = "tests/reference/albi_reference.R",
  r_version = R.version.string,
  cases = cases
)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE),
           file.path(here, "albi_reference.json"))
