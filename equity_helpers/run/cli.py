"""The ``equity-workbook`` command line.

Commands
--------
``sample``    write a synthetic state (``--children N`` for a larger one, for benchmarks)
``import``    NCANDS and AFCARS files (and a population) into a data folder the other commands read
``validate``  read and validate a data folder or mapping; print the data-quality table
``measures``  every measure from child-level records (``--data``, counted in DuckDB) or from counts
``batch``     every notebook for every jurisdiction, offline reports, index.html and manifest.json
``present``   the facilitator's dashboard (Voila, no code, English or Spanish) on this computer
``slides``    the same story for one place as an offline reveal.js slide deck (one HTML file)

Bad data produce the plain-language problem list and exit code 2, never a traceback.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import pandas as pd

from equity_helpers import settings
from equity_helpers.counting.load import load, validate
from equity_helpers.data import sample
from equity_helpers.data.checks import accounting_summary
from equity_helpers.data.federal import import_federal, read_accounting
from equity_helpers.data.sample import DEFAULT_SEED
from equity_helpers.data.sources import read_file
from equity_helpers.data.validate import check_counts_within_population
from equity_helpers.errors import DataValidationError, ParameterError
from equity_helpers.metrics.rates import measures
from equity_helpers.pages.i18n import LANGUAGES
from equity_helpers.privacy.suppression import DEFAULT_POLICY
from equity_helpers.run.pipeline import measures_from_records
from equity_helpers.run.present import MAX_KERNELS
from equity_helpers.safety import BatchInterrupted, OutputLocked
from equity_helpers.schema import STATE
from equity_helpers.survey.release import build_survey_release
from equity_helpers.survey.responses import answers_read, load_responses

__all__ = ["main"]


def _sample(args: argparse.Namespace) -> int:
    scale = args.scale
    if args.children:
        chosen = sample.COUNTIES if args.counties is None else sample.counties_for(args.counties)
        scale = sample.scale_for_children(args.children, chosen)
    paths = sample.write_sample(args.out, seed=args.seed, scale=scale, fmt=args.format, counties=args.counties)
    for name, p in paths.items():
        print(f"{name}: {p}")
    return 0


def _import(args: argparse.Namespace) -> int:
    result = import_federal(ncands=args.ncands, afcars=args.afcars, counties=args.counties,
                            population=args.population, out=args.out)
    for path, spelling in result.spellings.items():
        print(f"{Path(path).name}: NCANDS Child File, {spelling} layout")
    for r in result.summary.itertuples():
        print(f"{r.table}: {r.read:,} records read, {r.used:,} used, {r.excluded:,} left out")
    acc = result.accounting
    for r in acc[acc["kind"].isin(["excluded", "linking", "episodes"]) & (acc["message"] != "")].itertuples():
        print(f"  {r.message}")
    print("Not in these files (pages say so, never zero):")
    for r in acc[acc["kind"] == "not_in_files"].itertuples():
        print(f"  - {r.message}")
    first, last = result.years
    print(f"Wrote {result.out} (FY{first}-FY{last}) in {result.seconds:.1f} s. Next: equity-workbook validate --data "
          f"{result.out}, then equity-workbook batch --data {result.out} --out reports")
    return 0


def _validate(args: argparse.Namespace) -> int:
    data = load(args.data, mapping=args.mapping)
    print(data.accounting_summary().to_string(index=False))
    federal = read_accounting(args.data)
    if federal is not None:
        print("Imported from federal files (federal_accounting.csv). Not in these files:")
        for r in federal[federal["kind"] == "not_in_files"].itertuples():
            print(f"  - {r.message}")
    q = data.quality
    print("No data-quality problems found." if q.empty else q[["severity", "table", "rows", "message"]].to_string(index=False))
    return 0


def _write_table(table: pd.DataFrame, out: str) -> Path:
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".parquet":
        table.to_parquet(path, index=False)
    else:
        table.to_csv(path, index=False)
    return path


def _measures_from_records(args: argparse.Namespace) -> int:
    # Jupyter (papermill, nbconvert, kernels): imported only by the command that runs them

    steps: list[tuple[str, float]] = []
    table, data = measures_from_records(args.data, mapping=args.mapping, reference=args.reference,
                                        scheme=args.scheme, suppress=not args.no_suppression,
                                        cache_dir=args.extract_cache, progress=not args.quiet,
                                        on_step=lambda name, sec: steps.append((name, sec)), by=args.by,
                                        reference_level=args.reference_level)
    path = _write_table(table, args.out)
    acc = accounting_summary(data.accounting)
    for r in acc.itertuples():
        print(f"{r.table}: {r.read:,} rows read, {r.used:,} used, {r.excluded:,} left out")
    warnings = [p for p in data.problems if p.severity == "warning"]
    for p in warnings[:10]:
        print(f"  note ({p.table}): {p.message}")
    if len(warnings) > 10:
        print(f"  ... and {len(warnings) - 10} more notes (equity-workbook validate lists them all)")
    if table.attrs.get("no_population"):
        print(f"  {table.attrs['no_population']} Decision-based measures only.")
    if table.attrs.get("not_read"):
        print(f"  {table.attrs['not_read']}")
    print("  " + "; ".join(f"{name} {sec:.1f} s" for name, sec in steps))
    n_supp = int(table["suppressed"].sum())
    places = table["jurisdiction"].nunique()
    print(f"Wrote {len(table):,} rows ({places} places, FY{data.first_year}-FY{data.last_year}) to {path} "
          f"({'suppression off: for internal use only' if args.no_suppression else f'{n_supp:,} rows suppressed'}). "
          "For publication, use the batch's release table (equity-workbook batch).")
    return 0


def _measures(args: argparse.Namespace) -> int:
    if (args.counts is None) == (args.data is None and args.mapping is None):
        raise ParameterError("Give either --data (or --mapping) for child-level records, or --counts for an "
                             "aggregate counts table.")
    if args.counts is None:
        return _measures_from_records(args)

    raw = {"counts": read_file(Path(args.counts), {})}
    pop = None
    if args.population:
        pop_raw = read_file(Path(args.population), {})
        if "year" in pop_raw and "period" not in pop_raw:
            pop_raw = pop_raw.rename(columns={"year": "period"})
        missing = [c for c in ("jurisdiction", "period", "race_ethnicity", "population") if c not in pop_raw]
        if missing:
            raise ParameterError(f"The population file has no {missing} column(s); it needs jurisdiction, "
                                 "period, race_ethnicity and population.")
        pop = pop_raw.copy()
        for col in ("period", "population"):
            num = pd.to_numeric(pop[col], errors="coerce")
            bad = num.isna() | (num != num.round()) | (num < 0)
            if bad.any():
                raise ParameterError(f"The population file's {col} has {int(bad.sum()):,} rows that are not whole "
                                     f"numbers of 0 or more (e.g. {pop.loc[bad, col].iloc[0]!r}, row "
                                     f"{int(bad.to_numpy().argmax()) + 1}).")
            pop[col] = num.astype("int64")
    data = validate(raw)
    counts = data.counts.drop(columns=["_row"])
    if pop is not None:
        check_counts_within_population(data.counts, pop)
    counts["base"] = counts["base"].fillna("") if "base" in counts else ""
    dims = [c for c in counts.columns if c not in ("jurisdiction", "period", "race_ethnicity", "stage", "count", "base")]
    if pop is not None:
        pop = pop[["jurisdiction", "period", "race_ethnicity", *[d for d in dims if d in pop], "population"]]
    policy = None if args.no_suppression else DEFAULT_POLICY
    out = measures(counts, pop, reference=args.reference, policy=policy,
                   bases=("population", "decision") if pop is not None else ("decision",))
    _write_table(out, args.out)
    n_supp = int(out["suppressed"].sum())
    print(f"Wrote {len(out):,} rows to {args.out} "
          f"({'suppression off: for internal use only' if policy is None else f'{n_supp:,} rows suppressed'}).")
    return 0


def _years(text: str) -> tuple[int, int]:
    """``--years 2020-2025`` (or one year, ``2025``) as (first, last)."""
    try:
        a, _, b = text.partition("-")
        return int(a), int(b or a)
    except ValueError:
        raise ParameterError(f"--years must look like 2020-2025, not {text!r}.") from None


def _batch(args: argparse.Namespace) -> int:
    # Jupyter (papermill, nbconvert, kernels): imported only by the command that runs them
    from equity_helpers.run.batch import run_batch

    years = _years(args.years) if args.years else None
    split = (lambda v: "all" if v == "all" else [x.strip() for x in v.split(",") if x.strip()])
    manifest = run_batch(data_dir=args.data, mapping=args.mapping, jurisdictions=split(args.jurisdictions),
                         notebooks=split(args.notebooks), years=years, out=args.out, workers=args.workers,
                         scheduler=args.scheduler, force=args.force,
                         suppression_threshold=args.suppression_threshold, self_contained=args.self_contained,
                         map_group=args.map_group, map_stage=args.map_stage, fresh_kernels=args.fresh_kernels)
    runs = manifest["runs"]
    print(f"{len(runs)} runs ({manifest['skipped']} skipped as already complete), {manifest['failed']} failed, "
          f"{manifest['seconds']} s. Index: {Path(args.out) / 'index.html'}")
    for r in runs:
        if r["status"] == "failed":
            print(f"  FAILED {r['key']}: {r['error']}", file=sys.stderr)
    return 1 if manifest["failed"] else 0


def _survey(args: argparse.Namespace) -> int:
    data = load_responses(args.responses, args.instrument)
    rel = build_survey_release(data)
    path = rel.write(args.out)
    hidden = rel.groups[rel.groups["level"] != "all"]
    print(f"{answers_read(data.accounting)}; waves {', '.join(rel.waves)}.")
    for _, p in data.quality.iterrows():
        print(f"  {p['severity']}: {p['message']}")
    print(f"{int(hidden['hidden'].sum())} of {len(hidden)} sector and organisation groups (over all waves) are "
          f"hidden to protect respondents. Wrote {path}.")
    return 0


def _present(args: argparse.Namespace) -> int:
    # Jupyter (papermill, nbconvert, kernels): imported only by the command that runs them
    from equity_helpers.run.present import serve

    print("Checking the data and protecting small numbers (reused from the cache when the data have not changed) ...",
          flush=True)
    try:
        return serve(args.data, mapping=args.mapping, port=args.port, language=args.language,
                     server_log=args.server_log, max_kernels=args.max_kernels)
    except RuntimeError as exc:  # the server did not start: its last log lines say why
        print(f"Error: {exc}", file=sys.stderr)
        return 2


def _slides(args: argparse.Namespace) -> int:
    # Jupyter (papermill, nbconvert, kernels): imported only by the command that runs them
    from equity_helpers.run.present import open_workbook

    # Jupyter (papermill, nbconvert, kernels): imported only by the command that runs them
    from equity_helpers.run.slides import write_slides

    wb = open_workbook(args.data, mapping=args.mapping)
    places = [STATE, *wb.jurisdictions]
    if args.jurisdiction not in places:
        raise ParameterError(f"Unknown jurisdiction {args.jurisdiction!r}; the data have: {', '.join(places)}.")
    first, last = _years(args.years) if args.years else wb.years
    path = write_slides(wb, args.out, place=args.jurisdiction, first_year=first, last_year=last,
                        reference=args.reference, basis=args.basis, group=args.group, language=args.language)
    print(f"Wrote {path} ({path.stat().st_size / 1e6:.1f} MB; opens in a browser with no network: arrow keys move "
          "between slides, F is full screen).")
    return 0


DESCRIPTION = """The Child Welfare Racial Equity Workbook: where children and families of color are
over-represented or fare worse, decision point by decision point, how large and how certain each gap is,
and whether it is shrinking. Pick a command; "equity-workbook COMMAND --help" explains its options."""

EXAMPLES = """examples:
  equity-workbook sample --out data/mystate --seed 7        a synthetic state to try things on
  equity-workbook import --ncands ncands_*.csv --afcars afcars_*.csv --counties counties.csv \\
      --population population.csv --out data/mystate       your NCANDS and AFCARS files as a data folder
  equity-workbook validate --data data/sample               is my data readable? (problems, with row counts)
  equity-workbook measures --data data/sample --out m.csv   every measure, small numbers protected
  equity-workbook batch --data data/sample --out reports    offline reports for every place, and an index
  equity-workbook present --data reports                    the no-code dashboard for a learning exchange
  equity-workbook slides --data reports --jurisdiction Bluff --out bluff.html

Bad data give a plain list of problems and exit code 2, never a traceback. Methods and privacy rules:
docs/methods.md and docs/privacy.md; reading agency files: docs/input.md."""

_DATA = "folder of the data files (children, reports, episodes, population; CSV, Parquet or Excel)"
_MAPPING = "mapping.yml describing the agency's own files or database (a mapping.yml in --data is read anyway)"


def _sub(sub, name: str, summary: str, examples: str = ""):
    """A command: ``summary`` in the top help and, as a sentence, atop its own; ``examples`` below it."""
    return sub.add_parser(name, help=summary, description=summary[0].upper() + summary[1:] + ".",
                          epilog=examples or None, formatter_class=_Formatter)


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Help with every option's default (unless the text already says it, or there is none to say), and
    examples kept as written."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        shown = action.default not in (None, False, argparse.SUPPRESS) and not action.required
        if shown and "default" not in text and action.option_strings:
            text += " (default: %(default)s)"
        return text


def build_parser() -> argparse.ArgumentParser:
    """The command line's parser: every option with its help text and default."""
    p = argparse.ArgumentParser(prog="equity-workbook", description=DESCRIPTION, epilog=EXAMPLES,
                                formatter_class=_Formatter)
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    s = _sub(sub, "sample", "write a synthetic sample state (made-up children, no real person)",
             "example: equity-workbook sample --out data/mystate --seed 7 --counties 30")
    s.add_argument("--out", required=True, help="folder to write the state's files into")
    s.add_argument("--children", type=int, default=None, help="about this many children in the records "
                   "(default: the sample's size)")
    s.add_argument("--scale", type=float, default=1.0, help="population scale (ignored with --children)")
    s.add_argument("--seed", type=int, default=None, help=f"random seed; another seed, another state "
                   f"(default: {DEFAULT_SEED}, the committed sample)")
    s.add_argument("--format", choices=("csv", "parquet"), default="csv", help="file format of the records")
    s.add_argument("--counties", type=int, default=None,
                   help="number of counties (default 12, the sample's; e.g. 87 for a large state)")
    s.set_defaults(func=_sample)

    im = _sub(sub, "import", "turn NCANDS and AFCARS files (and a population) into a data folder the workbook reads",
              "examples:\n  equity-workbook import --ncands ncands_2023.csv ncands_2024.csv --afcars afcars_2023.csv "
              "afcars_2024.csv \\\n      --counties counties.csv --population population.csv --out data/mystate\n"
              "  equity-workbook import --ncands CF2024.sas7bdat --afcars FC2023.dta FC2024.dta "
              "--population us.1990_2023.singleages.adjusted.txt --out data/mystate\n\n"
              "Then: equity-workbook validate --data data/mystate; equity-workbook batch --data data/mystate --out reports.\n"
              "What the federal files cannot carry (screened-out reports, first placement, exits of removals hidden "
              "within a year) is written\nto federal_accounting.csv and shown as \"not in these files\". "
              "Guide: docs/federal.md.")
    im.add_argument("--ncands", nargs="+", required=True, metavar="FILE",
                    help="NCANDS Child File(s), one or more years: CSV, SAS (.sas7bdat, .xpt), SPSS (.sav) or Stata "
                    "(.dta), in the state submission (RPTCNTY) or NDACAN (RptFIPS) spelling")
    im.add_argument("--afcars", nargs="+", required=True, metavar="FILE",
                    help="AFCARS Foster Care File(s), one per year or period, in the same formats")
    im.add_argument("--counties", default=None, help="CSV with columns fips (5-digit state and county code) and "
                    "jurisdiction (the place's name) (default: places named by their code)")
    im.add_argument("--population", default=None, help="the workbook's population.csv, or SEER's county population "
                    "file by single year of age (default: none; decision-based rates only)")
    im.add_argument("--out", required=True, help="folder to write the data folder into (new, or an earlier import's)")
    im.set_defaults(func=_import)

    v = _sub(sub, "validate", "validate a data folder or mapping.yml and print the data-quality table",
             "example: equity-workbook validate --data data/sample")
    v.add_argument("--data", default=None, help=_DATA)
    v.add_argument("--mapping", default=None, help=_MAPPING)
    v.set_defaults(func=_validate)

    m = _sub(sub, "measures", "rates, DI, RRI, intervals and excess from child-level records or counts",
             "examples:\n  equity-workbook measures --data data/sample --out measures.csv\n"
             "  equity-workbook measures --counts counts.csv --population population.csv --out m.csv")
    m.add_argument("--data", default=None, help=_DATA)
    m.add_argument("--mapping", default=None, help=_MAPPING)
    m.add_argument("--counts", default=None, help="an aggregate counts table instead of records")
    m.add_argument("--population", default=None, help="the population for --counts")
    m.add_argument("--reference", default="white", help="group code, all_other or overall")
    m.add_argument("--scheme", default="hispanic_first", help="race coding (with --data)")
    m.add_argument("--by", default=None, help="a breakdown column of the output (with --data): age_group, sex, "
                   "disability, lgbtq, immigrant_family, tribal_affiliation or dv_involved; race groups are compared "
                   "within each level")
    m.add_argument("--reference-level", default=None, help="with --by: compare the levels instead, each against "
                   "this one (e.g. no), within every race group")
    m.add_argument("--extract-cache", default=None, help="folder to keep the validated extract in (with --data; "
                   f"default ${settings.EXTRACTS.name}, else not kept)")
    m.add_argument("--out", required=True, help="CSV or .parquet")
    m.add_argument("--quiet", action="store_true", help="no progress bar")
    m.add_argument("--no-suppression", action="store_true", help="internal analysis only: show small cells")
    m.set_defaults(func=_measures)

    sv = _sub(sub, "survey", "score a collaboration survey: domain scores, change, agreement, alpha")
    sv.add_argument("--responses", required=True, help="tidy answers (CSV, Parquet or Excel)")
    sv.add_argument("--instrument", required=True, help="the instrument YAML (domains, items, scale, sectors)")
    sv.add_argument("--out", required=True, help="CSV (or .parquet) of every published survey number")
    sv.set_defaults(func=_survey)

    b = _sub(sub, "batch", "every notebook for every jurisdiction: offline reports, index and manifest",
             "examples:\n  equity-workbook batch --data data/sample --out reports\n"
             "  equity-workbook batch --data data/sample --out reports --jurisdictions Bluff,Granite --years 2023-2025")
    b.add_argument("--data", required=True, help=_DATA)
    b.add_argument("--mapping", default=None, help=_MAPPING)
    b.add_argument("--jurisdictions", default="all", help="all, or a comma-separated list")
    b.add_argument("--notebooks", default="all", help="all, or a comma-separated list of notebook names")
    b.add_argument("--years", default=None, help="e.g. 2020-2025 (default: every year in the data)")
    b.add_argument("--out", required=True, help="folder for the reports, index.html, manifest.json and release.csv")
    b.add_argument("--workers", type=int, default=2, help="notebooks run at once (one per core is plenty)")
    b.add_argument("--scheduler", default=None, help="address of a Dask scheduler, e.g. tcp://10.0.0.5:8786")
    b.add_argument("--force", action="store_true", help="run again even if a report is complete")
    b.add_argument("--suppression-threshold", type=int, default=10,
                   help="counts from 1 to this are hidden (and more cells so that none can be worked out)")
    b.add_argument("--self-contained", action="store_true",
                   help="inline the chart runtime in every report (single files to email; larger)")
    b.add_argument("--map-group", default=None, help="group on the index page's county map (default: the group "
                   "with the most children behind a gap statewide)")
    b.add_argument("--map-stage", default="entered_care", help="decision point on the county map")
    b.add_argument("--fresh-kernels", action="store_true", help="a new kernel for every notebook (default: each "
                   "worker runs its notebooks in one kernel, cleared between runs; the reports are the same)")
    b.set_defaults(func=_batch)
    pr = _sub(sub, "present", "a no-code dashboard for a learning exchange, served on this computer",
              "example: equity-workbook present --data reports --language es")
    pr.add_argument("--data", default=None, help="folder of child-level files, or a batch's reports folder "
                    "(release.csv)")
    pr.add_argument("--mapping", default=None, help=_MAPPING)
    pr.add_argument("--port", type=int, default=8866, help="port of the page on this computer (http://localhost:PORT)")
    pr.add_argument("--language", choices=LANGUAGES, default="en", help="language of the page")
    pr.add_argument("--max-kernels", type=int, default=MAX_KERNELS, metavar="N",
                    help="most pages open at once (each takes about 190 MB); one more gets a plain 'the room is full, "
                    "try again shortly' page; a closed page frees its place within seconds; 0: no limit")
    pr.add_argument("--server-log", default=None, help="keep the server's log (Voila and its kernels) in this "
                    "file, for troubleshooting a page that does not appear (default: a private file removed on exit)")
    pr.set_defaults(func=_present)
    sl = _sub(sub, "slides", "an offline reveal.js slide deck of one place's story",
              "example: equity-workbook slides --data reports --jurisdiction Bluff --language es --out bluff.html")
    sl.add_argument("--data", default=None, help="folder of child-level files, or a batch's reports folder")
    sl.add_argument("--mapping", default=None, help=_MAPPING)
    sl.add_argument("--jurisdiction", default="Statewide", help="the place the deck tells about")
    sl.add_argument("--years", default=None, help="a published window, e.g. 2023-2025 (default: every year)")
    sl.add_argument("--group", default=None, help="group the sentences follow (default: the group with the most "
                    "children behind a gap statewide)")
    sl.add_argument("--reference", default="white", help="group every other group is compared with")
    sl.add_argument("--basis", choices=("population", "decision"), default="population",
                    help="rates per child in the population, or per child at the decision point before")
    sl.add_argument("--language", choices=LANGUAGES, default="en", help="language of the deck")
    sl.add_argument("--out", required=True, help="the deck, an .html file")
    sl.set_defaults(func=_slides)
    return p


def main(argv: list[str] | None = None, *, hard_exit: bool = False) -> int:
    """Run the command line; returns the exit status. ``hard_exit`` (the console command): a batch
    stopped by a signal leaves the process at once, with 130 / 143, once it has cleaned up."""
    args = build_parser().parse_args(argv)
    if getattr(args, "seed", "unset") is None:
        args.seed = DEFAULT_SEED

    try:
        return args.func(args)
    except BatchInterrupted as exc:
        m = getattr(exc, "manifest", {}).get("interrupted", {})
        print(f"Batch stopped by {exc.signal_name}: {m.get('interrupted', 0)} run(s) interrupted, "
              f"{m.get('not started', 0)} not started; completed reports are kept. Run the same command "
              f"again to finish the rest.", file=sys.stderr, flush=True)
        if hard_exit:
            # everything was stopped and cleaned up explicitly; do not let interpreter shutdown wait on
            # the stopped worker pool's threads
            sys.stdout.flush()
            os._exit(exc.exit_code)
        return exc.exit_code
    except OutputLocked as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 2
    except DataValidationError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except (ParameterError, FileNotFoundError) as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # never a traceback for a user: a plain message (the details on request)
        if settings.DEBUG.get() == "1":
            raise
        print(plain_error(exc), file=sys.stderr)
        return 2


def plain_error(exc: BaseException) -> str:
    """An unexpected error as a short plain message: what happened, and how to see the details."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    if len(text) > 300:
        text = text[:300] + " ..."
    return (f"Error: the workbook could not finish: {text}\nCheck the data files (equity-workbook validate lists "
            f"every problem it can find); set {settings.DEBUG.name}=1 to see the technical details.")


def entry() -> None:
    """The ``equity-workbook`` console command."""
    sys.exit(main(hard_exit=True))


if __name__ == "__main__":  # pragma: no cover
    entry()
