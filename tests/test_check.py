"""`closeout check`: the first step of a new group, read-only against Toast and the ERP.

The command runs as a real subprocess against the Toast sandbox and each ERP sandbox: on a copy
of the seeds (`--seeds`) made to fit the shared sandbox's 3 locations, or on the repository's
own seeds against a sandbox with all 6 of their locations. What is asserted is what an operator
reads (one line per problem, naming the seed file and row) and what the sandboxes saw: one
Toast login, and only look-ups in the ERP.
"""

from __future__ import annotations

import csv
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from posting.connectors.registry import ERP_NAMES, ERPS
from tests.conftest import ROOT, start_sandbox, stop
from transform.build import PROJECT_DIR

# Intacct functions and M3 transactions that only read (everything else may write).
INTACCT_READS = {"getAPISession", "readByQuery", "readMore", "read", "readByName", "query"}
M3_READ_PREFIXES = ("Lst", "Get", "Sel", "Search")
SHOWN = 4000  # characters of the output an assertion message shows


def run_check(seeds: Path | None, *args: str) -> subprocess.CompletedProcess:
    """`closeout check` as the operator runs it, with the environment the fixtures set; no
    `seeds`: the repository's own (dbt_project/seeds)."""
    seeds_option = ["--seeds", str(seeds)] if seeds else []
    return subprocess.run(
        [sys.executable, "-m", "cli", "check", *seeds_option, *args],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
    )


def read_csv(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return [row for row in csv.reader(handle) if row]


def write_csv(path: Path, rows: list[list[str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)


def append_row(path: Path, row: list[str]) -> int:
    """Append a data row; its number as a spreadsheet shows it (the header is row 1)."""
    rows = read_csv(path) + [row]
    write_csv(path, rows)
    return len(rows)


def keep_active_only(seeds: Path, guids: list[str]) -> dict[str, tuple[int, list[str]]]:
    """Set is_active false on every locations.csv row whose guid is not in `guids` (the sandbox
    has 3 of the demo's 6 locations); guid -> (row number, row) of every location."""
    path = seeds / "locations.csv"
    rows = read_csv(path)
    header = rows[0]
    guid_at, active_at = header.index("restaurant_guid"), header.index("is_active")
    for row in rows[1:]:
        if row[guid_at] not in guids:
            row[active_at] = "false"
    write_csv(path, rows)
    return {row[guid_at]: (number, row) for number, row in enumerate(rows[1:], start=2)}


def place_of(seeds: Path, guid: str) -> str:
    """`company/division` of a location, as the check prints where it looked a value up."""
    rows = read_csv(seeds / "locations.csv")
    header = rows[0]
    row = next(row for row in rows[1:] if row[header.index("restaurant_guid")] == guid)
    company, division = row[header.index("erp_company")], row[header.index("erp_division")]
    return company + (f"/{division}" if division else "")


def erp_requests(sandbox, erp: str) -> tuple[list[str], list[str]]:
    """(read requests, other requests) the ERP sandbox answered, token requests left out."""
    stats = sandbox.erp_control(erp, "stats")
    if erp == "intacct":
        names = [name for name, n in stats["by_function"].items() for _ in range(n)]
        return [n for n in names if n in INTACCT_READS], [
            n for n in names if n not in INTACCT_READS
        ]
    if erp == "infor":
        names = [name for name, n in stats["transactions"].items() for _ in range(n)]
        reads = [n for n in names if n.split("/")[-1].startswith(M3_READ_PREFIXES)]
        return reads, [n for n in names if n not in reads]
    names = [name for name, n in stats["requests"].items() for _ in range(n)]
    return [n for n in names if n.startswith("GET ")], [
        n for n in names if not n.startswith("GET ")
    ]


def secrets_of(sandbox) -> list[str]:
    values = [sandbox.client_secret, *sandbox.erp_env.values()]
    return [v for v in values if len(v) >= 8 and not v.startswith(("http", "/"))]


def problem_lines(output: str) -> list[str]:
    """The lines naming a problem: `<where>: <what>: <problem> — <fix>`."""
    return [line.strip() for line in output.splitlines() if " \u2014 " in line]


def test_the_demo_seeds_fit_the_sandboxes(erp, toast_env, warehouse, seeds_copy):
    seeds = seeds_copy / "seeds"
    keep_active_only(seeds, toast_env.restaurants)

    result = run_check(seeds)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-SHOWN:]
    reached = [line.split()[1] for line in result.stdout.splitlines() if "  reached  " in line]
    assert sorted(reached) == sorted(toast_env.restaurants), out[-SHOWN:]
    assert problem_lines(out) == []
    assert result.stdout.rstrip().endswith(f"Toast and {ERP_NAMES[erp]} fit the seeds.")
    stats = toast_env.stats()
    assert (stats["logins"], stats["login_attempts"]) == (1, 1)  # one token for everything
    reads, others = erp_requests(toast_env, erp)
    assert reads, "the ERP was never asked"
    assert others == [], others
    assert not warehouse.exists()  # a first step: no warehouse needed, none made
    assert not any(secret in out for secret in secrets_of(toast_env))


def test_a_mapped_account_the_erp_lacks_is_one_line_naming_file_and_row(
    erp, toast_env, warehouse, seeds_copy
):
    seeds = seeds_copy / "seeds"
    keep_active_only(seeds, toast_env.restaurants)
    location = toast_env.restaurants[0]
    # In the chart of accounts (so the seeds alone find nothing wrong), not in the ERP.
    append_row(seeds / "chart_of_accounts.csv", ["4999", "Brunch Sales", "revenue", "true"])
    row = append_row(
        seeds / "sales_category_accounts.csv", [location, "Brunch", "", "4999", "4100"]
    )

    result = run_check(seeds)
    out = result.stdout + result.stderr
    assert result.returncode == 1, out[-SHOWN:]
    lines = problem_lines(out)
    assert len(lines) == 1, out[-SHOWN:]
    assert lines[0].startswith(
        f"sales_category_accounts.csv row {row}: account 4999 in {place_of(seeds, location)}: "
    ), lines
    assert f"1 problem(s) (1 {ERP_NAMES[erp]})" in result.stdout
    reads, others = erp_requests(toast_env, erp)
    assert others == [], others
    assert "Traceback" not in out


def test_toast_and_locations_csv_disagreeing_is_reported_both_ways(
    toast_env, warehouse, seeds_copy, monkeypatch
):
    for variable, value in toast_env.erp_env.items():  # CLOSEOUT_SECRET_KEY keeps the token
        monkeypatch.setenv(variable, value)
    seeds = seeds_copy / "seeds"
    rows = keep_active_only(seeds, toast_env.restaurants)
    unreached = next(guid for guid in rows if guid not in toast_env.restaurants)
    dropped = toast_env.restaurants[0]  # reached, but its row is taken out
    path = seeds / "locations.csv"
    header, *data = read_csv(path)
    for row in data:
        if row[0] == unreached:
            row[header.index("is_active")] = "true"  # the one unreached row still to post
    write_csv(path, [header, *[row for row in data if row[0] != dropped]])
    unreached_number = next(n for n, r in enumerate(read_csv(path), start=1) if r[0] == unreached)
    # An account no row of chart_of_accounts.csv has: found without asking the ERP.
    account_row = append_row(seeds / "sales_category_accounts.csv", ["*", "Brunch", "", "4998", ""])

    result = run_check(seeds, "--erp", "d365")
    out = result.stdout + result.stderr
    assert result.returncode == 1, out[-SHOWN:]
    lines = problem_lines(out)
    assert [line for line in lines if dropped in line] == [
        next(line for line in lines if line.startswith("Toast: restaurant "))
    ], out[-SHOWN:]
    assert "not in locations.csv" in next(line for line in lines if dropped in line)
    missing = [line for line in lines if unreached in line]
    assert len(missing) == 1 and missing[0].startswith(f"locations.csv row {unreached_number}: ")
    assert "do not reach it" in missing[0] and "set is_active false" in missing[0]
    assert (
        f"sales_category_accounts.csv row {account_row}: account 4998: is not in "
        "chart_of_accounts.csv" in "\n".join(lines)
    )
    assert "(1 seeds, 2 Toast" in result.stdout, out[-SHOWN:]
    reached = [line.split()[1] for line in result.stdout.splitlines() if "  reached  " in line]
    assert sorted(reached) == sorted(toast_env.restaurants[1:])
    assert toast_env.stats()["logins"] == 1

    run_check(seeds, "--erp", "d365")  # the next check reuses the kept token
    assert toast_env.stats()["login_attempts"] == 1


def test_toast_refusing_the_credentials_is_one_line_with_the_fix(
    toast_env, warehouse, seeds_copy, monkeypatch
):
    monkeypatch.setenv("SOURCES__TOAST__CLIENT_SECRET", "not-the-secret-at-all")
    result = run_check(seeds_copy / "seeds", "--erp", "d365")
    out = result.stdout + result.stderr
    assert result.returncode == 1
    toast = [line for line in problem_lines(out) if line.startswith("Toast: ")]
    assert len(toast) == 1, out[-SHOWN:]
    assert "Toast refused the client credentials" in toast[0]
    assert "SOURCES__TOAST__CLIENT_SECRET" in toast[0]
    assert "Traceback" not in out and "not-the-secret-at-all" not in out


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def point_erp_nowhere(erp: str, url: str, tmp_path: Path, monkeypatch) -> None:
    if erp == "d365":
        monkeypatch.setenv("ERP__D365__ENVIRONMENT_URL", url)
        monkeypatch.setenv("ERP__D365__TOKEN_URL", f"{url}/tenant/oauth2/v2.0/token")
    elif erp == "intacct":
        monkeypatch.setenv("ERP__INTACCT__ENDPOINT_URL", f"{url}/ia/xml/xmlgw.phtml")
    elif erp in ("exact", "freshbooks"):
        monkeypatch.setenv(f"ERP__{erp.upper()}__BASE_URL", url)
    else:
        ionapi = json.loads(Path(os.environ["ERP__INFOR__IONAPI_FILE"]).read_text())
        moved = tmp_path / "nowhere.ionapi"
        moved.write_text(json.dumps({**ionapi, "iu": url, "pu": f"{url}/{ionapi['ti']}/as/"}))
        monkeypatch.setenv("ERP__INFOR__IONAPI_FILE", str(moved))


def test_an_unreachable_erp_is_one_line_with_the_fix(
    erp, toast_env, warehouse, seeds_copy, tmp_path, monkeypatch
):
    seeds = seeds_copy / "seeds"
    keep_active_only(seeds, toast_env.restaurants)
    point_erp_nowhere(erp, closed_port_url(), tmp_path, monkeypatch)

    result = run_check(seeds)
    out = result.stdout + result.stderr
    assert result.returncode == 1, out[-SHOWN:]
    lines = problem_lines(out)
    assert len(lines) == 1, out[-SHOWN:]
    assert lines[0].startswith(f"{erp} settings: "), lines
    assert "could not be reached" in lines[0], lines
    assert "Traceback" not in out


def test_a_location_the_load_is_told_to_skip_is_reported(
    toast_env, warehouse, seeds_copy, monkeypatch
):
    for variable, value in toast_env.erp_env.items():
        monkeypatch.setenv(variable, value)
    seeds = seeds_copy / "seeds"
    rows = keep_active_only(seeds, toast_env.restaurants)
    loaded, skipped = toast_env.restaurants[:2], toast_env.restaurants[2]
    monkeypatch.setenv("SOURCES__TOAST__RESTAURANT_GUIDS", json.dumps(loaded))

    result = run_check(seeds, "--erp", "infor")
    out = result.stdout + result.stderr
    assert result.returncode == 1, out[-SHOWN:]
    toast = [line for line in problem_lines(out) if "restaurant_guids" in line]
    assert len(toast) == 1, out[-SHOWN:]
    assert toast[0].startswith(f"locations.csv row {rows[skipped][0]}: location ")
    assert skipped in toast[0]


def test_a_currency_other_than_toasts_is_reported(toast_env, warehouse, seeds_copy, monkeypatch):
    for variable, value in toast_env.erp_env.items():
        monkeypatch.setenv(variable, value)
    seeds = seeds_copy / "seeds"
    rows = keep_active_only(seeds, toast_env.restaurants)
    other = toast_env.restaurants[1]
    path = seeds / "locations.csv"
    header, *data = read_csv(path)
    for row in data:
        if row[0] == other:
            row[header.index("currency")] = "EUR"  # the sandbox's restaurants sell in USD
    write_csv(path, [header, *data])

    result = run_check(seeds, "--erp", "infor")
    out = result.stdout + result.stderr
    assert result.returncode == 1, out[-SHOWN:]
    lines = problem_lines(out)
    assert len(lines) == 1, out[-SHOWN:]
    assert lines[0].startswith(f"locations.csv row {rows[other][0]}: location ")
    assert "currency EUR differs from Toast's USD" in lines[0]


def references_by_place(seeds: Path):
    from posting.check_references import references_from_seeds

    found = references_from_seeds(seeds)
    places: dict[tuple, dict[tuple[str, str], str]] = {}
    for reference in found.references:
        place = (reference.company, reference.division)
        places.setdefault(place, {})[(reference.kind, reference.value)] = reference.used_by
    return found, places


def test_references_follow_the_seeds_matching_rules(seeds_copy):
    """A location's own mapping row overrides the '*' row for the same thing, column by column
    (an empty cell of the own row takes the '*' row's), a location without a labor journal needs
    no labor accounts, and each value is asked once per place,
    remembering the first row that names it."""
    seeds = seeds_copy / "seeds"
    locations = read_csv(seeds / "locations.csv")
    header = locations[0]
    own, other = locations[1], locations[2]
    own_place = (own[header.index("erp_company")], own[header.index("erp_division")] or None)
    other_place = (other[header.index("erp_company")], other[header.index("erp_division")] or None)
    guid = own[header.index("restaurant_guid")]
    food = next(r for r in read_csv(seeds / "sales_category_accounts.csv") if r[1] == "Food")
    append_row(seeds / "chart_of_accounts.csv", ["4005", "Food Sales (own)", "revenue", "true"])
    own_row = append_row(seeds / "sales_category_accounts.csv", [guid, "Food", "", "4005", ""])
    settings = read_csv(seeds / "settings.csv")
    labor_at = settings[0].index("labor_journal")
    append_row(
        seeds / "settings.csv",
        [guid if i == 0 else ("false" if i == labor_at else "") for i in range(len(settings[0]))],
    )
    job_accounts = {r[3] for r in read_csv(seeds / "job_accounts.csv")[1:]}

    found, places = references_by_place(seeds)

    assert found.problems == []
    own_refs, other_refs = places[own_place], places[other_place]
    assert own_refs[("account", "4005")] == f"sales_category_accounts.csv row {own_row}"
    assert ("account", food[3]) not in own_refs  # the '*' Food row's revenue is overridden here
    # ...but not its discount account: the own row's cell is empty, and dbt picks per column
    # (finance_mapping_pick: the first non-null value), so Food discounts still post to it.
    assert own_refs[("account", food[4])] == "sales_category_accounts.csv row 2"
    assert ("account", food[3]) in other_refs
    assert not job_accounts & {value for kind, value in own_refs if kind == "account"}
    assert job_accounts <= {value for kind, value in other_refs if kind == "account"}
    company = places[(own_place[0], None)]  # a company is one place, whatever its divisions
    assert company[("company", own_place[0])] == "locations.csv row 2"
    payment_rows = read_csv(seeds / "payment_type_accounts.csv")
    first_2100 = next(n for n, r in enumerate(payment_rows, start=1) if r[-1] == "2100")
    assert other_refs[("account", "2100")] == f"payment_type_accounts.csv row {first_2100}"
    keys = [(r.kind, r.value, r.company, r.division) for r in found.references]
    assert len(keys) == len(set(keys))


def blank_division(seeds: Path, guid: str, company: str | None = None) -> int:
    """Empty the erp_division of location `guid` (and set its erp_company); its row number."""
    path = seeds / "locations.csv"
    header, *data = read_csv(path)
    for number, row in enumerate(data, start=2):
        if row[header.index("restaurant_guid")] == guid:
            row[header.index("erp_division")] = ""
            if company is not None:
                row[header.index("erp_company")] = company
            found = number
    write_csv(path, [header, *data])
    return found


def test_a_location_without_a_division_is_refused_by_m3_only(erp, toast_env, warehouse, seeds_copy):
    """M3 posts per division: a location with no erp_division has every journal refused
    (InforConnector.company_division), so the check says so for M3; the other ERPs have no
    such thing, and a division reference with no value is no problem to them."""
    seeds = seeds_copy / "seeds"
    keep_active_only(seeds, toast_env.restaurants)
    location = toast_env.restaurants[0]
    row = blank_division(seeds, location)

    result = run_check(seeds)
    out = result.stdout + result.stderr
    lines = problem_lines(out)
    if erp != "infor":
        assert result.returncode == 0 and lines == [], out[-SHOWN:]
        return
    assert result.returncode == 1, out[-SHOWN:]
    assert lines == [
        f"locations.csv row {row}: division (empty) in {place_of(seeds, location)}: no M3 "
        "division (DIVI) is given, so M3 refuses every journal of this location \u2014 set "
        f"erp_division in locations.csv row {row} (or write erp_company as CONO/DIVI)"
    ], out[-SHOWN:]
    reads, others = erp_requests(toast_env, erp)
    assert others == [], others


def test_partners_api_answering_401_costs_no_second_toast_login(
    toast_env, warehouse, seeds_copy, monkeypatch
):
    """Toast may answer 401 on /partners/v1/restaurants to credentials that are no partner's.
    That is not a token Toast invalidated: no second login (Toast allows about two an hour),
    and the kept token stays for the next check."""
    for variable, value in toast_env.erp_env.items():  # CLOSEOUT_SECRET_KEY keeps the token
        monkeypatch.setenv(variable, value)
    seeds = seeds_copy / "seeds"
    keep_active_only(seeds, toast_env.restaurants)
    toast_env.fault(kind="status", status=401, path="/partners/v1/restaurants", times=-1)

    result = run_check(seeds, "--erp", "infor")
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-SHOWN:]
    assert "no partners API for these credentials" in result.stdout
    reached = [line.split()[1] for line in result.stdout.splitlines() if "  reached  " in line]
    assert sorted(reached) == sorted(toast_env.restaurants), out[-SHOWN:]
    stats = toast_env.stats()
    assert (stats["logins"], stats["login_attempts"]) == (1, 1), stats
    assert stats["requests"]["/partners/v1/restaurants"] == 1

    again = run_check(seeds, "--erp", "infor")  # the kept token is still there
    assert again.returncode == 0, (again.stdout + again.stderr)[-SHOWN:]
    assert toast_env.stats()["login_attempts"] == 1


def test_a_kept_token_toast_invalidated_is_replaced_and_the_partners_api_asked_again(
    toast_env, warehouse, seeds_copy, monkeypatch
):
    """The partners API's 401 may also be the kept token's, invalidated by Toast: the first
    restaurant record (read as the loader reads it) then replaces the token with one login,
    and the partners API is asked again with the new one, so Toast's list is still checked."""
    for variable, value in toast_env.erp_env.items():  # CLOSEOUT_SECRET_KEY keeps the token
        monkeypatch.setenv(variable, value)
    seeds = seeds_copy / "seeds"
    keep_active_only(seeds, toast_env.restaurants)
    first = run_check(seeds, "--erp", "infor")
    assert first.returncode == 0, (first.stdout + first.stderr)[-SHOWN:]
    toast_env.control("expire_token")  # Toast no longer takes the kept token

    result = run_check(seeds, "--erp", "infor")
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-SHOWN:]
    assert "no partners API" not in result.stdout
    reached = [line.split()[1] for line in result.stdout.splitlines() if "  reached  " in line]
    assert sorted(reached) == sorted(toast_env.restaurants), out[-SHOWN:]
    stats = toast_env.stats()
    assert stats["login_attempts"] == 2, stats  # one per run
    assert stats["requests"]["/partners/v1/restaurants"] == 3  # 1 + (refused, then answered)


def test_with_restaurant_guids_set_the_partners_api_is_not_asked(
    toast_env, warehouse, seeds_copy, monkeypatch
):
    """`closeout load` with sources.toast.restaurant_guids reads those guids without the
    partners API, and so does the check: it asks for each guid instead; a configured guid the
    credentials do not reach is reported against the setting."""
    for variable, value in toast_env.erp_env.items():
        monkeypatch.setenv(variable, value)
    seeds = seeds_copy / "seeds"
    keep_active_only(seeds, toast_env.restaurants)
    stranger = "00000000-0000-4000-8000-000000000000"  # no restaurant of the sandbox
    monkeypatch.setenv(
        "SOURCES__TOAST__RESTAURANT_GUIDS", json.dumps([*toast_env.restaurants, stranger])
    )
    # Were the partners API asked, this would make the check fail.
    toast_env.fault(kind="status", status=500, path="/partners/v1/restaurants", times=-1)

    result = run_check(seeds, "--erp", "infor")
    out = result.stdout + result.stderr
    assert result.returncode == 1, out[-SHOWN:]
    assert "sources.toast.restaurant_guids, as the load reads" in result.stdout
    reached = [line.split()[1] for line in result.stdout.splitlines() if "  reached  " in line]
    assert sorted(reached) == sorted(toast_env.restaurants), out[-SHOWN:]
    lines = problem_lines(out)
    assert len(lines) == 1, out[-SHOWN:]
    assert lines[0].startswith(f"sources.toast.restaurant_guids: restaurant {stranger}: ")
    assert "do not reach it" in lines[0] and "take it out of restaurant_guids" in lines[0]
    stats = toast_env.stats()
    assert stats["requests"].get("/partners/v1/restaurants", 0) == 0, stats["requests"]
    assert stats["login_attempts"] == 1


def test_a_listed_location_whose_record_toast_refuses_says_to_wait(
    toast_env, warehouse, seeds_copy, monkeypatch
):
    for variable, value in toast_env.erp_env.items():
        monkeypatch.setenv(variable, value)
    seeds = seeds_copy / "seeds"
    rows = keep_active_only(seeds, toast_env.restaurants)
    refused = toast_env.restaurants[1]
    toast_env.fault(
        kind="status", status=403, path="/restaurants/v1/restaurants/", restaurant=refused, times=-1
    )

    result = run_check(seeds, "--erp", "infor")
    out = result.stdout + result.stderr
    assert result.returncode == 1, out[-SHOWN:]
    lines = [line for line in problem_lines(out) if refused in line]
    assert len(lines) == 1, out[-SHOWN:]
    assert lines[0].startswith(f"locations.csv row {rows[refused][0]}: ")
    assert "refused its restaurant record (HTTP 403)" in lines[0]
    assert "15 minutes" in lines[0]


def test_credentials_without_the_partners_api_are_checked_per_location(
    toast_env, warehouse, seeds_copy, monkeypatch
):
    """A restaurant management group account may not use /partners/v1/restaurants (Toast
    answers 403): each locations.csv guid is asked for instead."""
    for variable, value in toast_env.erp_env.items():
        monkeypatch.setenv(variable, value)
    seeds = seeds_copy / "seeds"
    rows = read_csv(seeds / "locations.csv")
    unreached = [row[0] for row in rows[1:] if row[0] not in toast_env.restaurants]
    toast_env.fault(kind="status", status=403, path="/partners/v1/restaurants", times=-1)

    result = run_check(seeds, "--erp", "infor")
    out = result.stdout + result.stderr
    assert result.returncode == 1, out[-SHOWN:]
    assert "no partners API for these credentials" in result.stdout
    reached = [line.split()[1] for line in result.stdout.splitlines() if "  reached  " in line]
    assert sorted(reached) == sorted(toast_env.restaurants)
    missing = [line for line in problem_lines(out) if "do not reach it" in line]
    assert sorted(guid for guid in unreached if any(guid in line for line in missing)) == sorted(
        unreached
    )
    assert len(missing) == len(unreached)
    assert toast_env.stats()["requests"]["/restaurants/v1/restaurants"] == len(rows) - 1


WRONG_SECRET = "closeout-check-wrong-secret"


def give_erp_a_wrong_secret(erp: str, tmp_path: Path, monkeypatch) -> None:
    if erp == "infor":
        ionapi = json.loads(Path(os.environ["ERP__INFOR__IONAPI_FILE"]).read_text())
        wrong = tmp_path / "wrong.ionapi"
        wrong.write_text(json.dumps({**ionapi, "cs": WRONG_SECRET}))
        monkeypatch.setenv("ERP__INFOR__IONAPI_FILE", str(wrong))
    else:
        variable = "USER_PASSWORD" if erp == "intacct" else "CLIENT_SECRET"
        monkeypatch.setenv(f"ERP__{erp.upper()}__{variable}", WRONG_SECRET)


def test_erp_credentials_refused_are_one_line_with_the_fix(
    erp, toast_env, warehouse, seeds_copy, tmp_path, monkeypatch
):
    seeds = seeds_copy / "seeds"
    keep_active_only(seeds, toast_env.restaurants)
    give_erp_a_wrong_secret(erp, tmp_path, monkeypatch)

    result = run_check(seeds)
    out = result.stdout + result.stderr
    assert result.returncode == 1, out[-SHOWN:]
    lines = problem_lines(out)
    assert len(lines) == 1, out[-SHOWN:]
    assert lines[0].startswith(f"{erp} settings: "), lines
    assert "Traceback" not in out and WRONG_SECRET not in out


@pytest.fixture(scope="module")
def demo_group(tmp_path_factory):
    """A Toast sandbox with as many locations as the demo's locations.csv has rows (the shared
    one has 3 of its 6), and the ERP sandboxes beside it."""
    locations = len(read_csv(PROJECT_DIR / "seeds" / "locations.csv")) - 1
    process, sandbox = start_sandbox(
        tmp_path_factory.mktemp("demo-group"), locations=locations, orders_per_day=5
    )
    yield sandbox
    stop(process)


@pytest.mark.parametrize("erp_name", ERPS)
def test_the_repositorys_seeds_fit_a_sandbox_with_all_their_locations(
    erp_name, demo_group, warehouse, monkeypatch
):
    demo_group.control("reset")
    demo_group.erp_control(erp_name, "reset")
    monkeypatch.setenv("SOURCES__TOAST__BASE_URL", demo_group.url)
    monkeypatch.setenv("SOURCES__TOAST__CLIENT_ID", demo_group.client_id)
    monkeypatch.setenv("SOURCES__TOAST__CLIENT_SECRET", demo_group.client_secret)
    for variable, value in demo_group.erp_env.items():
        monkeypatch.setenv(variable, value)

    result = run_check(None, "--erp", erp_name)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-SHOWN:]
    reached = [line.split()[1] for line in result.stdout.splitlines() if "  reached  " in line]
    guids = [row[0] for row in read_csv(PROJECT_DIR / "seeds" / "locations.csv")[1:]]
    assert sorted(reached) == sorted(guids) == sorted(demo_group.restaurants)
    assert demo_group.stats()["login_attempts"] == 1
    reads, others = erp_requests(demo_group, erp_name)
    assert reads and others == [], others
