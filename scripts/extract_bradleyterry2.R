# extract_bradleyterry2.R -- one-off extraction of paired-comparison datasets
# and reference fits from the R package BradleyTerry2.
#
# How to run (from the repository root; R is needed only for this script,
# never when the Python package runs):
#
#     apt-get install r-base-core r-cran-bradleyterry2   # Debian
#     Rscript scripts/extract_bradleyterry2.R
#
# It writes
#   psipo_exact/datasets/data/{citations,baseball,football,icehockey}.csv
#   psipo_exact/datasets/data/PROVENANCE.md
#   psipo_exact/datasets/data/LICENSE-BradleyTerry2.txt
#   tests/data/bradleyterry2_reference.json
# and overwrites them if they exist. Its only inputs are the installed
# BradleyTerry2 package (its data, DESCRIPTION and help pages) and, where it
# exists, Debian's /usr/share/doc/r-cran-bradleyterry2/copyright. It needs no
# other R package: CSV and JSON are written by the small helpers below, the
# JSON numbers with sprintf("%.17g") so that every double round-trips.
# scripts/verify_bradleyterry2_extract.py refits everything independently.

suppressPackageStartupMessages(library(BradleyTerry2))

if (!file.exists("pyproject.toml") || !dir.exists("psipo_exact")) {
    stop("run this script from the repository root: Rscript scripts/extract_bradleyterry2.R")
}
data_dir <- file.path("psipo_exact", "datasets", "data")
ref_dir <- file.path("tests", "data")
dir.create(data_dir, recursive = TRUE, showWarnings = FALSE)
dir.create(ref_dir, recursive = TRUE, showWarnings = FALSE)

bt2_version <- packageDescription("BradleyTerry2")$Version
r_version <- paste(R.version$major, R.version$minor, sep = ".")
deb_version <- tryCatch(
    suppressWarnings(system2("dpkg-query", c("-W", shQuote("-f=${Version}"), "r-cran-bradleyterry2"),
                             stdout = TRUE, stderr = FALSE)),
    error = function(e) character(0))
deb_version <- if (length(deb_version) == 1 && nzchar(deb_version)) deb_version else "unknown"

## ---------------------------------------------------------------- CSV writer
## Plain UTF-8 CSV, header row, no row names, "\n" line ends; a field is
## quoted (RFC 4180 style, inner quotes doubled) only if it contains a comma,
## a double quote, a CR or LF, or leading/trailing blanks.
csv_field <- function(x) {
    x <- as.character(x)
    need <- grepl('[",\r\n]', x) | grepl("^\\s|\\s$", x)
    x[need] <- paste0('"', gsub('"', '""', x[need], fixed = TRUE), '"')
    x
}
csv_column <- function(v) {
    if (is.factor(v)) v <- as.character(v)
    if (is.logical(v)) v <- as.integer(v)
    if (is.double(v)) {
        out <- sprintf("%.15g", v)
        stopifnot(all(as.numeric(out) == v))   # exact for these data
        return(out)
    }
    csv_field(v)
}
write_csv_plain <- function(df, path) {
    stopifnot(!anyNA(df))
    cols <- lapply(df, csv_column)
    lines <- c(paste(csv_field(names(df)), collapse = ","),
               do.call(paste, c(cols, sep = ",")))
    con <- file(path, open = "wb")
    on.exit(close(con))
    writeLines(enc2utf8(lines), con, sep = "\n", useBytes = TRUE)
    invisible(path)
}

## --------------------------------------------------------------- JSON writer
## Named list -> object; unnamed list -> array; a vector of length one ->
## scalar; longer vectors -> arrays; named vectors -> objects. Doubles are
## printed with "%.17g" (exact round trip), NA/NaN as null.
json_string <- function(s) {
    s <- enc2utf8(as.character(s))
    s <- gsub("\\", "\\\\", s, fixed = TRUE)
    s <- gsub('"', '\\"', s, fixed = TRUE)
    s <- gsub("\n", "\\n", s, fixed = TRUE)
    s <- gsub("\r", "\\r", s, fixed = TRUE)
    s <- gsub("\t", "\\t", s, fixed = TRUE)
    stopifnot(!grepl("[\001-\037]", s))
    paste0('"', s, '"')
}
json_atom <- function(x) {
    if (is.factor(x)) x <- as.character(x)
    if (is.character(x)) return(ifelse(is.na(x), "null", json_string(x)))
    if (is.logical(x)) return(ifelse(is.na(x), "null", ifelse(x, "true", "false")))
    if (is.integer(x)) return(ifelse(is.na(x), "null", as.character(x)))
    if (is.double(x)) {
        if (any(is.infinite(x))) stop("infinite value in JSON output")
        return(ifelse(is.na(x), "null", sprintf("%.17g", x)))
    }
    stop("cannot write class ", class(x)[1], " to JSON")
}
to_json <- function(x, indent = 0) {
    pad <- strrep("  ", indent + 1)
    end <- strrep("  ", indent)
    if (is.null(x)) return("null")
    if (inherits(x, "json_row"))  # a short array of scalars on one line
        return(paste0("[", paste(vapply(unclass(x), json_atom, ""), collapse = ", "), "]"))
    if (is.list(x)) {
        if (length(x) == 0) return(if (is.null(names(x))) "[]" else "{}")
        items <- vapply(x, to_json, "", indent = indent + 1)
        if (!is.null(names(x))) {
            items <- paste0(json_string(names(x)), ": ", items)
            return(paste0("{\n", pad, paste(items, collapse = paste0(",\n", pad)), "\n", end, "}"))
        }
        return(paste0("[\n", pad, paste(items, collapse = paste0(",\n", pad)), "\n", end, "]"))
    }
    if (is.matrix(x)) stop("matrices are not written to JSON here")
    atoms <- json_atom(unname(x))
    if (!is.null(names(x))) {
        items <- paste0(json_string(names(x)), ": ", atoms)
        return(paste0("{\n", pad, paste(items, collapse = paste0(",\n", pad)), "\n", end, "}"))
    }
    if (length(x) == 1) return(atoms)
    paste0("[", paste(atoms, collapse = ", "), "]")
}
as_json_array <- function(x) as.list(unname(x))  # keeps length-1 vectors arrays

## ------------------------------------------------------------------ datasets
data("citations", "baseball", "football", "icehockey", package = "BradleyTerry2",
     envir = environment())
stopifnot(identical(names(dimnames(citations)), c("cited", "citing")),
          identical(rownames(citations), colnames(citations)))

journals <- rownames(citations)
## Long form, off-diagonal only. citations[i, j] = number of citations of
## journal i (row, "cited") made by journal j (column, "citing"). BradleyTerry2
## (?citations, countsToBinomial) reads rows as winners: the cited journal wins.
cit_long <- expand.grid(winner = journals, loser = journals, stringsAsFactors = FALSE)
cit_long <- cit_long[order(match(cit_long$winner, journals), match(cit_long$loser, journals)), ]
cit_long <- cit_long[cit_long$winner != cit_long$loser, ]
cit_long$count <- as.integer(citations[cbind(cit_long$winner, cit_long$loser)])
rownames(cit_long) <- NULL
self_cites <- setNames(as.integer(diag(citations)), journals)

baseball_csv <- data.frame(home_team = baseball$home.team, away_team = baseball$away.team,
                           home_wins = baseball$home.wins, away_wins = baseball$away.wins)
football_csv <- data.frame(season = football$season, home = football$home,
                           away = football$away, result = football$result)
icehockey_csv <- data.frame(date = icehockey$date, visitor = icehockey$visitor,
                            v_goals = icehockey$v_goals, opponent = icehockey$opponent,
                            o_goals = icehockey$o_goals, conference = icehockey$conference,
                            result = icehockey$result, home_ice = icehockey$home.ice)

## sanity checks of the codings documented in PROVENANCE.md
stopifnot(all(football$result %in% c(-1, 0, 1)),
          all(icehockey$result %in% c(0, 0.5, 1)),
          with(icehockey, all((result == 1) == (v_goals > o_goals))),
          with(icehockey, all((result == 0.5) == (v_goals == o_goals))),
          is.logical(icehockey$home.ice),
          identical(levels(football$home), levels(football$away)),
          identical(levels(icehockey$visitor), levels(icehockey$opponent)),
          identical(levels(baseball$home.team), levels(baseball$away.team)))

write_csv_plain(cit_long, file.path(data_dir, "citations.csv"))
write_csv_plain(baseball_csv, file.path(data_dir, "baseball.csv"))
write_csv_plain(football_csv, file.path(data_dir, "football.csv"))
write_csv_plain(icehockey_csv, file.path(data_dir, "icehockey.csv"))

## ---------------------------------------------------------------- model fits
## Each fit is given as R code, evaluated as written; the same text goes into
## the JSON ("r_code"), so the record says exactly what was run.
fit_env <- new.env()
citations.sf <- countsToBinomial(citations)
names(citations.sf)[1:2] <- c("journal1", "journal2")
assign("citations.sf", citations.sf, envir = fit_env)
assign("baseball", baseball, envir = fit_env)
baseball.home <- baseball
baseball.home$home.team <- data.frame(team = baseball$home.team, at.home = 1)
baseball.home$away.team <- data.frame(team = baseball$away.team, at.home = 0)
assign("baseball.home", baseball.home, envir = fit_env)
assign("icehockey", icehockey, envir = fit_env)
icehockey.decisive <- droplevels(subset(icehockey, result != 0.5))
stopifnot(identical(levels(icehockey.decisive$visitor), levels(icehockey$visitor)))
assign("icehockey.decisive", icehockey.decisive, envir = fit_env)
football.decisive <- subset(football, result != 0)
football.decisive$home.win <- as.integer(football.decisive$result == 1)
assign("football.decisive", football.decisive, envir = fit_env)

## Sufficient statistics of the plain BT model: total wins per ordered
## (winner, loser) pair; fractional for half-win ties.
pair_wins <- function(p1, p2, w1, w2) {
    p1 <- as.character(p1); p2 <- as.character(p2)
    d <- rbind(data.frame(winner = p1, loser = p2, count = w1, stringsAsFactors = FALSE),
               data.frame(winner = p2, loser = p1, count = w2, stringsAsFactors = FALSE))
    a <- aggregate(count ~ winner + loser, data = d, FUN = sum)
    a <- a[a$count > 0, ]
    a <- a[order(a$winner, a$loser), ]
    lapply(seq_len(nrow(a)), function(i)
        structure(list(a$winner[i], a$loser[i], as.numeric(a$count[i])), class = "json_row"))
}

identifiability_note <- paste(
    "Identifiability: BTm fits a binomial GLM (logit link, no intercept) in which the",
    "ability of the reference category (the first level of the player factor unless",
    "refcat= is given) is fixed at 0 and only the other abilities are free parameters.",
    "The abilities and their standard errors are those of BTabilities(): the reference",
    "category has ability 0 and s.e. 0, and every other s.e. is the s.e. of that",
    "player's contrast with the reference category (from glm's vcov; see conventions on convergence).",
    "P(player1 beats player2) = plogis(lambda1 - lambda2 [+ contest-specific terms]).")

loglik_note <- paste(
    "loglik is R's logLik(): for binomial counts (cbind(win1, win2) with n = win1 + win2",
    "trials per row) it includes the constant sum over rows of log choose(n, win1);",
    "binomial_log_coefficient_constant records that constant and",
    "loglik_without_binomial_coefficients = sum(win1*log(p) + win2*log(1-p)) = loglik - constant,",
    "the log-likelihood of the individual comparisons. For 0/1 outcomes the constant is 0.")

record_fit <- function(name, code, dataset, rebuild, players_factor_note, extra_notes = NULL,
                       player_names = NULL) {
    warns <- character(0)
    model <- withCallingHandlers(eval(parse(text = code), envir = fit_env),
                                 warning = function(w) {
                                     warns <<- c(warns, conditionMessage(w))
                                     invokeRestart("muffleWarning")
                                 })
    stopifnot(inherits(model, "BTm"), isTRUE(model$converged), !isTRUE(model$boundary))
    ab <- BTabilities(model)
    refcat <- rownames(ab)[ab[, "ability"] == 0 & ab[, "s.e."] == 0]
    stopifnot(length(refcat) == 1, refcat == rownames(ab)[1])
    if (!is.null(player_names)) stopifnot(identical(rownames(ab), player_names))
    sm <- summary(model)$coefficients
    y <- model$y
    w <- model$prior.weights
    mu <- fitted(model)
    ## number of successes per row and log-likelihood without binomial constant
    succ <- y * w
    ll_seq <- sum(succ * log(mu) + (w - succ) * log1p(-mu))
    const <- if (all(succ == round(succ))) sum(lchoose(w, succ)) else NA_real_
    ll <- logLik(model)
    team_terms <- grepl(paste0("^", model$id), rownames(sm))
    other <- sm[!team_terms, , drop = FALSE]
    other_coefs <- lapply(seq_len(nrow(other)), function(i)
        list(estimate = unname(other[i, "Estimate"]), se = unname(other[i, "Std. Error"])))
    names(other_coefs) <- rownames(other)
    rec <- list(
        dataset = dataset,
        r_code = code,
        data_as_fitted = c(rebuild, list(
            n_rows = length(y),
            n_comparisons = sum(w),
            n_players = nrow(ab),
            players_in_factor_level_order = as_json_array(rownames(ab)),
            players_note = players_factor_note)),
        reference_category = refcat,
        abilities = setNames(unname(ab[, "ability"]), rownames(ab)),
        abilities_se = setNames(unname(ab[, "s.e."]), rownames(ab)),
        coefficients_as_named_by_R = setNames(unname(coef(model)), names(coef(model))),
        other_coefficients = if (length(other_coefs)) other_coefs else structure(list(), names = character(0)),
        loglik = as.numeric(ll),
        loglik_df = attr(ll, "df"),
        binomial_log_coefficient_constant = const,
        loglik_without_binomial_coefficients = ll_seq,
        deviance = model$deviance,
        null_deviance = model$null.deviance,
        df_residual = model$df.residual,
        df_null = model$df.null,
        aic = model$aic,
        rank = model$rank,
        convergence = list(converged = model$converged, iterations = model$iter,
                           boundary = model$boundary, epsilon = model$control$epsilon,
                           maxit = model$control$maxit,
                           criterion = "glm.fit IRLS: |dev - dev_old| / (|dev| + 0.1) < epsilon"),
        r_warnings = as_json_array(unique(warns)),
        notes = as_json_array(c(identifiability_note, loglik_note, extra_notes)))
    if (any(succ != round(succ))) {
        ## half-win (tie = 0.5) outcomes: logLik() is not the objective maximised
        rec$loglik_R_rounds_ties <- TRUE
        rec$loglik_half_win_objective <- ll_seq
        rec$loglik_check_sum_dbinom_round <- sum(dbinom(round(succ), w, mu, log = TRUE))
    }
    rec
}

fits <- list()

fits[["citations"]] <- record_fit(
    "citations",
    paste("BTm(cbind(win1, win2), journal1, journal2, ~ journal, id = \"journal\",",
          "data = citations.sf)"),
    "citations",
    list(source = paste("citations.sf <- countsToBinomial(citations);",
                        "names(citations.sf)[1:2] <- c(\"journal1\", \"journal2\")"),
         from_csv = paste("citations.csv: every row is count wins of winner (cited journal)",
                          "over loser (citing journal); win1 for (journal1, journal2) is",
                          "count(winner = journal1, loser = journal2), win2 the reverse."),
         pair_wins = pair_wins(citations.sf$journal1, citations.sf$journal2,
                               citations.sf$win1, citations.sf$win2)),
    "journal factor levels: rownames(citations) in that order; the first is the reference.",
    extra_notes = c("The vignette's plain Bradley-Terry model for the Stigler (1994) data (vignette chunk citeModel).",
                    "A 'win' of journal i over journal j is one citation of i by j (cited beats citing)."),
    player_names = journals)

fits[["baseball"]] <- record_fit(
    "baseball",
    "BTm(cbind(home.wins, away.wins), home.team, away.team, data = baseball, id = \"team\")",
    "baseball",
    list(source = "baseball data frame as shipped (42 rows)",
         from_csv = paste("baseball.csv, all 42 rows: player1 = home_team, player2 = away_team,",
                          "win1 = home_wins, win2 = away_wins."),
         pair_wins = pair_wins(baseball$home.team, baseball$away.team,
                               baseball$home.wins, baseball$away.wins)),
    "team factor levels: levels(baseball$home.team) (alphabetical); the first is the reference.",
    extra_notes = "baseballModel1 of ?baseball and of the vignette: no home advantage.",
    player_names = levels(baseball$home.team))

fits[["baseball_home_advantage"]] <- record_fit(
    "baseball_home_advantage",
    paste("BTm(cbind(home.wins, away.wins), home.team, away.team, formula = ~ team + at.home,",
          "data = baseball.home, id = \"team\")"),
    "baseball",
    list(source = paste("baseball.home <- baseball;",
                        "baseball.home$home.team <- data.frame(team = baseball$home.team, at.home = 1);",
                        "baseball.home$away.team <- data.frame(team = baseball$away.team, at.home = 0)"),
         from_csv = paste("baseball.csv, all 42 rows: player1 = home_team (at.home = 1),",
                          "player2 = away_team (at.home = 0), win1 = home_wins, win2 = away_wins;",
                          "logit P(home team wins) = lambda_home - lambda_away + at.home.")),
    "team factor levels: levels(baseball$home.team) (alphabetical); the first is the reference.",
    extra_notes = c(paste("baseballModel2 of ?baseball and of the vignette, there written as",
                          "update(baseballModel1, formula = ~ team + at.home) after replacing",
                          "baseball$home.team/away.team by the data frames above; called directly",
                          "here on a copy (same model matrix, same fit)."),
                    "other_coefficients$at.home is the home-advantage effect on the logit scale."),
    player_names = levels(baseball$home.team))

fb_seasons <- levels(football$season)
for (s in fb_seasons) {
    sub_name <- paste0("football.decisive.", gsub("-", "_", s))
    sub <- droplevels(subset(football.decisive, season == s))
    assign(sub_name, sub, envir = fit_env)
    fits[[paste0("football_decisive_", s)]] <- record_fit(
        paste0("football_decisive_", s),
        sprintf("BTm(home.win, home, away, id = \"team\", data = %s)", sub_name),
        "football",
        list(source = sprintf(paste(
                 "football.decisive <- subset(football, result != 0);",
                 "football.decisive$home.win <- as.integer(football.decisive$result == 1);",
                 "%s <- droplevels(subset(football.decisive, season == \"%s\"))"), sub_name, s),
             from_csv = sprintf(paste(
                 "football.csv rows with season == \"%s\" and result != 0 (draws dropped):",
                 "player1 = home, player2 = away, outcome 1 if result == 1 (home win)",
                 "else 0 (away win); one Bernoulli comparison per game."), s),
             draws_dropped = sum(football$season == s & football$result == 0),
             pair_wins = pair_wins(sub$home, sub$away, sub$home.win, 1L - sub$home.win)),
        paste("team factor levels: the football team codes present in this season, in the",
              "order of levels(football$home) (alphabetical); the first is the reference."),
        extra_notes = c(paste("Plain Bradley-Terry model (no home advantage) on the decisive games",
                              "of season", s, "only; draws are dropped because BTm has no tie model.",
                              "Not a model from the BradleyTerry2 documentation (which fits a",
                              "Davidson tie model to football with gnm)."),
                        "Abilities are for this season only (the teams of this season)."))
}

fits[["football_decisive_pooled"]] <- record_fit(
    "football_decisive_pooled",
    "BTm(home.win, home, away, id = \"team\", data = football.decisive)",
    "football",
    list(source = paste("football.decisive <- subset(football, result != 0);",
                        "football.decisive$home.win <- as.integer(football.decisive$result == 1)"),
         from_csv = paste("football.csv rows with result != 0 (draws dropped), all five seasons:",
                          "player1 = home, player2 = away, outcome 1 if result == 1 else 0;",
                          "one Bernoulli comparison per game."),
         draws_dropped = sum(football$result == 0),
         pair_wins = pair_wins(football.decisive$home, football.decisive$away,
                               football.decisive$home.win, 1L - football.decisive$home.win)),
    "team factor levels: levels(football$home), all 29 codes (alphabetical); the first is the reference.",
    extra_notes = c(paste("Plain Bradley-Terry model (no home advantage) on all decisive games of",
                          "the five seasons pooled, ONE ability per team constant over seasons",
                          "(no season effects); draws dropped. Not a model from the",
                          "BradleyTerry2 documentation.")),
    player_names = levels(football$home))

fits[["icehockey_decisive"]] <- record_fit(
    "icehockey_decisive",
    "BTm(result, visitor, opponent, id = \"team\", data = icehockey.decisive)",
    "icehockey",
    list(source = "icehockey.decisive <- droplevels(subset(icehockey, result != 0.5))",
         from_csv = paste("icehockey.csv rows with result != 0.5 (ties dropped): player1 = visitor,",
                          "player2 = opponent, outcome = result (1 visitor won, 0 visitor lost)."),
         ties_dropped = sum(icehockey$result == 0.5),
         pair_wins = pair_wins(icehockey.decisive$visitor, icehockey.decisive$opponent,
                               icehockey.decisive$result, 1 - icehockey.decisive$result)),
    paste("team factor levels: levels(icehockey$visitor), which are NOT alphabetical",
          "(first 'Alaska Anchorage'); the first is the reference."),
    extra_notes = "Plain Bradley-Terry model on decisive games only (no home ice).",
    player_names = levels(icehockey$visitor))

fits[["icehockey_decisive_home_ice"]] <- record_fit(
    "icehockey_decisive_home_ice",
    paste("BTm(result, data.frame(team = visitor, home.ice = 0),",
          "data.frame(team = opponent, home.ice = home.ice), ~ team + home.ice,",
          "id = \"team\", data = icehockey.decisive)"),
    "icehockey",
    list(source = "icehockey.decisive <- droplevels(subset(icehockey, result != 0.5))",
         from_csv = paste("icehockey.csv rows with result != 0.5: player1 = visitor (home.ice 0),",
                          "player2 = opponent (home.ice = home_ice, 1 on the opponent's ice, 0 neutral);",
                          "logit P(visitor wins) = lambda_visitor - lambda_opponent - home.ice * home_ice."),
         ties_dropped = sum(icehockey$result == 0.5)),
    paste("team factor levels: levels(icehockey$visitor), NOT alphabetical; the first is the reference."),
    extra_notes = paste("The help page's levelBT model (home-ice effect) but fitted on decisive",
                        "games only. other_coefficients$home.ice is the home-ice advantage of the",
                        "home team (the opponent) on the logit scale."),
    player_names = levels(icehockey$visitor))

half_win_note <- paste(
    "Ties are scored result = 0.5, i.e. half a win for each side, as in the help page;",
    "glm then maximises the half-win objective sum(y*log(p) + (1-y)*log(1-p)) with",
    "y in {0, 0.5, 1}, which is not the likelihood of any tie model (R warns about",
    "non-integer successes). Its maximum is loglik_half_win_objective",
    "(= loglik_without_binomial_coefficients). R's logLik() is NOT that objective:",
    "binomial()$aic evaluates dbinom(round(y), 1, p), and R rounds 0.5 to even, i.e. to 0,",
    "so logLik() scores every tie as a visitor loss at the fitted p",
    "(loglik_check_sum_dbinom_round reproduces it). binomial_log_coefficient_constant",
    "is null: it is undefined for half successes. Compare with the half-win objective",
    "or the deviance, not with loglik.")

fits[["icehockey_helppage_standardBT"]] <- record_fit(
    "icehockey_helppage_standardBT",
    "BTm(outcome = result, player1 = visitor, player2 = opponent, id = \"team\", data = icehockey)",
    "icehockey",
    list(source = "icehockey data frame as shipped, all 1083 games, ties included as result = 0.5",
         from_csv = paste("icehockey.csv, all rows: player1 = visitor, player2 = opponent,",
                          "y = result in {0, 0.5, 1}."),
         pair_wins = pair_wins(icehockey$visitor, icehockey$opponent,
                               icehockey$result, 1 - icehockey$result)),
    paste("team factor levels: levels(icehockey$visitor), NOT alphabetical; the first is the reference."),
    extra_notes = c("standardBT of ?icehockey exactly (the KRACH example).", half_win_note),
    player_names = levels(icehockey$visitor))

fits[["icehockey_helppage_levelBT"]] <- record_fit(
    "icehockey_helppage_levelBT",
    paste("BTm(result, data.frame(team = visitor, home.ice = 0),",
          "data.frame(team = opponent, home.ice = home.ice), ~ team + home.ice,",
          "id = \"team\", data = icehockey)"),
    "icehockey",
    list(source = "icehockey data frame as shipped, all 1083 games, ties included as result = 0.5",
         from_csv = paste("icehockey.csv, all rows: player1 = visitor (home.ice 0), player2 = opponent",
                          "(home.ice = home_ice), y = result in {0, 0.5, 1};",
                          "logit P(visitor wins) = lambda_visitor - lambda_opponent - home.ice * home_ice.")),
    paste("team factor levels: levels(icehockey$visitor), NOT alphabetical; the first is the reference."),
    extra_notes = c("levelBT of ?icehockey exactly (home-ice effect).", half_win_note),
    player_names = levels(icehockey$visitor))

reference <- list(
    generated_by = "scripts/extract_bradleyterry2.R",
    R_version = r_version,
    BradleyTerry2_version = bt2_version,
    debian_package = paste0("r-cran-bradleyterry2 ", deb_version),
    conventions = as_json_array(c(
        identifiability_note, loglik_note,
        paste("Numbers are written with %.17g and round-trip to the doubles R computed.",
              "They are R's, not the exact maximum: glm.fit stops when the relative deviance",
              "change falls below epsilon = 1e-8, so the estimates can differ from the exact",
              "MLE in about the 7th decimal place, and the standard errors (vcov of glm) use",
              "the IRLS weights of the last iteration, computed at the second-to-last",
              "iterate, so they can differ from those at the exact MLE in about the 5th",
              "decimal place. Compare estimates at ~1e-6 and s.e. at ~1e-4, or replay",
              "glm.fit (start mu = (y + 0.5)/(n + 1), same stopping rule) to match exactly."),
        paste("players_in_factor_level_order gives the order of BTm's player factor; the",
              "first entry is the reference category. pair_wins (plain models only) lists",
              "[winner, loser, total wins of winner over loser] for every ordered pair with",
              "a positive total, the sufficient statistics of the plain model (totals are",
              "fractional where ties count half); data_as_fitted$from_csv says how to",
              "rebuild the fitted rows from the CSVs."))),
    fits = fits)

con <- file(file.path(ref_dir, "bradleyterry2_reference.json"), open = "wb")
writeLines(enc2utf8(to_json(reference)), con, sep = "\n", useBytes = TRUE)
close(con)

## ------------------------------------------------------------------- licence
desc <- packageDescription("BradleyTerry2")
copyright_file <- "/usr/share/doc/r-cran-bradleyterry2/copyright"
copyright_text <- if (file.exists(copyright_file)) readLines(copyright_file, warn = FALSE) else
    "(Debian copyright file not found on the machine that ran the script.)"
gpl2_file <- "/usr/share/common-licenses/GPL-2"
gpl2_text <- if (file.exists(gpl2_file)) readLines(gpl2_file, warn = FALSE) else
    "(GPL-2 text not found at /usr/share/common-licenses/GPL-2; see https://www.gnu.org/licenses/old-licenses/gpl-2.0.txt)"
lic <- c(
    "Licence of the data files citations.csv, baseball.csv, football.csv and icehockey.csv",
    "in this folder",
    "=====================================================================================",
    "",
    sprintf("These files were extracted from the R package BradleyTerry2 version %s", bt2_version),
    sprintf("(Debian package r-cran-bradleyterry2 %s) by scripts/extract_bradleyterry2.R.", deb_version),
    "",
    "From the package DESCRIPTION:",
    paste0("  Package: ", desc$Package),
    paste0("  Version: ", desc$Version),
    paste0("  Author: ", gsub("\\s+", " ", desc$Author)),
    paste0("  Maintainer: ", desc$Maintainer),
    paste0("  License: ", desc$License),
    paste0("  URL: ", desc$URL),
    "",
    sprintf("Debian's copyright file (%s), verbatim but indented by two spaces:", copyright_file),
    "",
    ifelse(nzchar(copyright_text), paste0("  ", copyright_text), ""),
    "",
    "The data files are therefore redistributed under the GNU General Public License,",
    "version 2 or (at your option) any later version. The text of version 2 follows;",
    "version 3 is at https://www.gnu.org/licenses/gpl-3.0.txt.",
    "",
    strrep("-", 78),
    "",
    gpl2_text)
con <- file(file.path(data_dir, "LICENSE-BradleyTerry2.txt"), open = "wb")
writeLines(enc2utf8(lic), con, sep = "\n", useBytes = TRUE)
close(con)

## ---------------------------------------------------------------- provenance
fmt <- function(x, d = 6) formatC(x, digits = d, format = "f")
fb_present <- tapply(as.character(football$season), football$home, function(v) paste(unique(v), collapse = ", "))
fb_names <- c(Ars = "Arsenal", Ast = "Aston Villa", Bir = "Birmingham City",
              Blb = "Blackburn Rovers", Blp = "Blackpool", Bol = "Bolton Wanderers",
              Bur = "Burnley", Che = "Chelsea", Eve = "Everton", Ful = "Fulham",
              Hul = "Hull City", Liv = "Liverpool", Mid = "Middlesbrough",
              MnC = "Manchester City", MnU = "Manchester United", New = "Newcastle United",
              Nor = "Norwich City", Por = "Portsmouth", QPR = "Queens Park Rangers",
              Rea = "Reading", Sou = "Southampton", Sto = "Stoke City", Sun = "Sunderland",
              Swa = "Swansea City", Tot = "Tottenham Hotspur", WBA = "West Bromwich Albion",
              WHU = "West Ham United", Wig = "Wigan Athletic", Wol = "Wolverhampton Wanderers")
stopifnot(setequal(names(fb_names), levels(football$home)))
fb_table <- paste0("| `", levels(football$home), "` | ", fb_names[levels(football$home)], " | ",
                   fb_present[levels(football$home)], " |")
res_tab <- table(football$season, football$result)
fb_res <- paste0("| ", rownames(res_tab), " | ", res_tab[, "1"], " | ", res_tab[, "0"], " | ",
                 res_tab[, "-1"], " | ", rowSums(res_tab), " |")
ih_res <- table(icehockey$result)
ih_conf <- table(icehockey$conference)
n_cit <- sum(cit_long$count)

prov <- c(
"# Provenance of the paired-comparison datasets",
"",
"Generated by `scripts/extract_bradleyterry2.R` (run `Rscript scripts/extract_bradleyterry2.R`",
"from the repository root); do not edit by hand, rerun the script instead.",
"",
sprintf("* Extracted from the R package **BradleyTerry2 %s** (Heather Turner and David Firth),", bt2_version),
sprintf("  Debian package `r-cran-bradleyterry2` %s, R %s.", deb_version, r_version),
"* Package documentation: Turner, H. and Firth, D. (2012) Bradley-Terry models in R: The",
"  BradleyTerry2 package. *Journal of Statistical Software* 48(9), 1-21.",
"* Reference fits of `BTm` on these data: `tests/data/bradleyterry2_reference.json`",
"  (checked independently by `scripts/verify_bradleyterry2_extract.py`).",
"* All files: UTF-8 (all names are in fact ASCII), comma-separated, one header row, no",
"  row names, `\\n` line ends; a field is quoted only if it contains a comma, a double quote",
"  or a line break (none does). Names of teams and journals are exactly R's factor levels.",
"  Rows are in R's row order (citations.csv: by winner, then loser, in R's level order).",
"",
"## Licence",
"",
sprintf("BradleyTerry2's DESCRIPTION says `License: %s`; Debian's copyright file says", desc$License),
"`License: GPL-2+` (Copyright 2015 Heather Turner, 2015 David Firth). The data files here",
"are derived from the package's data and are redistributed under the same terms, the GNU",
"GPL version 2 or (at your option) any later version; the copyright text and the GPL-2 are",
"in `LICENSE-BradleyTerry2.txt` beside this file, which must travel with the data.",
"What this means: anyone may copy, modify and redistribute these files, provided the",
"copies stay under GPL-2-or-later, carry the copyright notice and licence, and modified",
"versions are marked as such. The underlying facts (match results, citation counts) are",
"public records, but the compilations are distributed by the package authors under the GPL,",
"so we treat the files as GPL-2+. Note that psipo_exact itself is declared Apache-2.0:",
"Apache-2.0 is compatible with GPL-3 but not with GPL-2, so a distribution that bundles",
"these files should state that they are GPL-2+ (taken as GPL-3 where combined), separately",
"from the Apache-2.0 code; whether that is acceptable is a decision for the maintainers.",
"",
"## citations.csv",
"",
"**Source** (`?citations`): Stigler, S. (1994) Citation patterns in the journals of",
"statistics and probability. *Statistical Science* 9, 94-108; extracted from a larger table",
"there, as used on p. 448 of Agresti, A. (2002) *Categorical Data Analysis* (2nd ed.),",
"New York: Wiley. Also Firth, D. (2005) Bradley-Terry models in R, *Journal of Statistical",
"Software* 12(1), 1-12.",
"",
"In R, `citations` is a 4 x 4 table with dimnames `cited` (rows) and `citing` (columns):",
"`citations[i, j]` is the number of citations of journal i made by papers in journal j",
"(e.g. Biometrika was cited 498 times by JASA). `?citations`: *\"In the context of paired",
"comparisons, the 'winner' is the cited journal and the 'loser' is the one doing the",
"citing.\"* `countsToBinomial(citations)` follows that: it reads rows as winners",
"(`win1 = xtab[player1, player2]`, `win2 = xtab[player2, player1]`).",
"",
"| column | meaning |",
"| --- | --- |",
"| `winner` | the **cited** journal (row of R's table) |",
"| `loser` | the **citing** journal (column of R's table) |",
"| `count` | number of citations of `winner` by `loser` = `citations[winner, loser]` |",
"",
sprintf("%d rows: all ordered pairs of distinct journals (%s), %d citations in all.",
        nrow(cit_long), paste(journals, collapse = ", "), n_cit),
"Self-citations (the diagonal, which BTm ignores) are **dropped**; they were",
paste0(paste(sprintf("%s %d", names(self_cites), self_cites), collapse = ", "), "."),
"",
"## baseball.csv",
"",
"**Source** (`?baseball`): page 438 of Agresti, A. (2002) *Categorical Data Analysis*",
"(2nd ed.), New York: Wiley. Results of games in the 1987 season between the 7 teams of",
"the Eastern Division of the American League. (The package notes that the format is simpler",
"than the one in Firth (2005).)",
"",
"| column (R name) | meaning |",
"| --- | --- |",
"| `home_team` (`home.team`) | home team |",
"| `away_team` (`away.team`) | away team |",
"| `home_wins` (`home.wins`) | games of this home/away pairing won by the home team |",
"| `away_wins` (`away.wins`) | games of this home/away pairing won by the away team |",
"",
sprintf("%d rows: every ordered (home, away) pair of the 7 teams (%s), %d games in all.",
        nrow(baseball_csv), paste(levels(baseball$home.team), collapse = ", "),
        sum(baseball$home.wins + baseball$away.wins)),
"There are no ties. Column names are R's with `.` replaced by `_`.",
"",
"## football.csv",
"",
"**Source** (`?football`): English Premier League results, seasons 2008/9 to 2012/13,",
"downloaded by the package authors from http://soccernet.espn.go.com in 2013 (the site has",
"since moved and has no equivalent source). Reference given there: Davidson, R. R. (1970) On",
"extending the Bradley-Terry model to accommodate ties in paired comparison experiments.",
"*JASA* 65, 317-328.",
"",
"| column | meaning |",
"| --- | --- |",
"| `season` | `2008-9`, `2009-10`, `2010-11`, `2011-12` or `2012-13` |",
"| `home` | home team (three-letter code, see below) |",
"| `away` | away team (same codes) |",
"| `result` | result **for the home team**: `1` home win, `0` draw, `-1` home loss (away win) |",
"",
sprintf("%d rows (%s games per season: 20 teams, each meets every other once at home and once away).",
        nrow(football_csv), paste(unique(table(football$season)), collapse = "/")),
"`?football` says \"1881 observations\", but the data frame shipped has 1900 rows",
"(5 x 380; none missing or duplicated); the CSV has all of them. R's row names",
"(e.g. `2008-9.2`) are not kept. **Draws are ties** (`result == 0`).",
"",
"| season | home wins (1) | draws (0) | away wins (-1) | games |",
"| --- | --- | --- | --- | --- |",
fb_res,
"",
"Team codes are R's factor levels (29). `?football` spells out only `Ars` (Arsenal) and",
"`Wol` (Wolverhampton); the other names below are our reading of the codes, consistent",
"with the seasons in which each code appears:",
"",
"| code | club (our reading) | seasons present |",
"| --- | --- | --- |",
fb_table,
"",
"## icehockey.csv",
"",
"**Source** (`?icehockey`): College Hockey Men's Division I 2009-10 composite schedule,",
"http://www.collegehockeystats.net/0910/schedules/men (regular season only). References",
"there: Schlobotnik, J., Build your own rankings,",
"http://www.elynah.com/tbrw/2010/rankings.diy.shtml; College Hockey News,",
"https://www.collegehockeynews.com/.",
"",
"| column (R name) | meaning |",
"| --- | --- |",
sprintf("| `date` | date of the game as an integer YYYYMMDD (%d to %d) |", min(icehockey$date), max(icehockey$date)),
"| `visitor` | visiting team |",
"| `v_goals` | goals scored by the visitor |",
"| `opponent` | the other team (the home team unless `home_ice` is 0) |",
"| `o_goals` | goals scored by the opponent |",
"| `conference` | `AH`, `CC`, `CH`, `EC`, `HE`, `NC` or `WC` (see below) |",
"| `result` | result **for the visitor**: `1` visitor won, `0.5` tie (draw), `0` visitor lost |",
"| `home_ice` (`home.ice`) | `1` if the opponent played on home ice, `0` if on neutral ground (R: logical TRUE/FALSE) |",
"",
sprintf("%d rows, %d teams. result: %d visitor wins, %d ties (0.5), %d visitor losses;",
        nrow(icehockey_csv), nlevels(icehockey$visitor), ih_res[["1"]], ih_res[["0.5"]], ih_res[["0"]]),
sprintf("home_ice: %d games on the opponent's ice, %d on neutral ground.",
        sum(icehockey$home.ice), sum(!icehockey$home.ice)),
"`result` agrees with the goals on every row (1 iff v_goals > o_goals, 0.5 iff equal).",
"**Ties are `result == 0.5`.** `?icehockey` says \"6 variables\" but lists and ships 8.",
"",
"Conferences (`?icehockey`): Atlantic Hockey, Central Collegiate Hockey Association, College",
"Hockey America, ECAC Hockey, Hockey East and the Western Collegiate Hockey Association; the",
"codes map to these as AH, CC, CH, EC, HE, WC (our reading). `NC` is not explained in the help",
"page; we take it to mark non-conference games. Counts:",
paste0(paste(sprintf("%s %d", names(ih_conf), ih_conf), collapse = ", "), "."),
"",
"R's team factor levels are **not** in alphabetical order (they start `Alaska Anchorage`,",
"`Air Force`, `Alab-Huntsville`, ...); BTm's reference category is the first level,",
"`Alaska Anchorage`. The JSON reference file lists the level order of every fit.",
"")
con <- file(file.path(data_dir, "PROVENANCE.md"), open = "wb")
writeLines(enc2utf8(prov), con, sep = "\n", useBytes = TRUE)
close(con)

cat("wrote", file.path(data_dir, c("citations.csv", "baseball.csv", "football.csv",
                                   "icehockey.csv", "PROVENANCE.md",
                                   "LICENSE-BradleyTerry2.txt")),
    file.path(ref_dir, "bradleyterry2_reference.json"), sep = "\n  ")
cat("\n")
for (nm in names(fits)) {
    f <- fits[[nm]]
    cat(sprintf("%-32s N=%5g players=%2d loglik=%.10g deviance=%.10g iter=%d\n", nm,
                f$data_as_fitted$n_comparisons, f$data_as_fitted$n_players, f$loglik,
                f$deviance, f$convergence$iterations))
}
