"""Every page template renders for the jobs a user has: created (never submitted), queued, running,
finished, failed, with and without a campaign. A page that fails to render is a 500 the user sees; the
browser tests only reach the states their jobs pass through."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import attrs
import pytest

from namdrunner_cli.web import html as web_app
from namdrunner_cli.web import views
from namdrunner_cli.web.state import UiState
from namdrunner_core.errors import ValidationError
from namdrunner_core.models import JobRecord
from namdrunner_core.slurm.resources import Resources
from namdrunner_core.slurm.states import JobStatus
from namdrunner_core.store import JobStore

NOW = dt.datetime(2026, 12, 7, tzinfo=dt.UTC)
CAMPAIGN = {"state": "running", "reason": "", "target_step": 24_000, "first_step": 0, "timestep_fs": 2.0,
            "walltime_s": 3600.0, "next_job": None,
            "attempts": [{"segment": 1, "attempt": 1, "slurm_id": "101", "state": "running", "start_step": 0,
                          "end_step": None, "outcome": None, "action": None, "reason": None,
                          "restartfreq": 600}]}  # fmt: skip


def _record(job_id: str, status: JobStatus, **kw: Any) -> JobRecord:
    res = Resources(cores=1, memory_gb=2.0, walltime="01:00:00")
    return JobRecord(job_id=job_id, job_name="<b>prod</b>", profile="loopback", remote_user="u", status=status,
                     template_id="t", template_values={}, resources=res, project_dir=f"/p/{job_id}",
                     scratch_dir=f"/s/{job_id}", created_at=NOW, updated_at=NOW, **kw)  # fmt: skip


@pytest.fixture
def state(tmp_path: Path) -> UiState:
    store = JobStore(tmp_path / "db.sqlite")
    records = [_record(f"j_{s.value.lower()}", s) for s in JobStatus]
    records += [attrs.evolve(_record("c_running", JobStatus.RUNNING), slurm_job_id="101", campaign=CAMPAIGN)]
    records += [attrs.evolve(_record("c_done", JobStatus.COMPLETED), slurm_job_id="102",
                             campaign={**CAMPAIGN, "state": "completed", "reason": "target reached"})]  # fmt: skip
    for r in records:
        store.add_job(r)
    return UiState("loopback", store)


def _render(state: UiState, name: str, ctx: dict[str, Any]) -> str:
    request = SimpleNamespace(app=SimpleNamespace(state=SimpleNamespace(ui=state)), url=None)
    response = web_app.page(request, name, **ctx)  # type: ignore[arg-type]
    return bytes(response.body).decode()


def test_every_job_page_renders(state: UiState) -> None:
    for job_id in state.store.job_ids():
        ctx = views.job_context(state, job_id)
        for name in ("job.html", "_job_live.html"):
            html = _render(state, name, ctx)
            assert "&lt;b&gt;prod&lt;/b&gt;" in html, (job_id, name)
            assert "<b>prod</b>" not in html
    assert "target reached" in _render(state, "job.html", views.job_context(state, "c_done"))


def test_the_jobs_table_renders(state: UiState) -> None:
    html = _render(state, "jobs.html", views.jobs_context(state, {}))
    assert all(job_id in html for job_id in state.store.job_ids())


def test_the_analysis_tab_shows_every_judged_series_and_its_chart(state: UiState) -> None:
    from namdrunner_cli.web import chart
    from namdrunner_core.analysis.report import analyze_log
    from tests.conftest import ROOT

    fixtures = ROOT / "tests" / "fixtures" / "namd"
    analysis = analyze_log(
        fixtures / "namd3.0.2_cpu_npt_inprogress.log", xst=fixtures / "namd3.0.2_cpu_npt_inprogress.xst"
    )
    state.analyses["j_completed"] = analysis
    html = _render(state, "job.html", views.job_context(state, "j_completed"))
    for s in analysis.series:
        assert f'data-series="{s.name}"' in html
        assert f"/jobs/j_completed/analysis/{s.name}.svg" in html
    svg = chart.analysis_svg(analysis, "TEMP", dark=True)
    assert svg.startswith("<svg")
    assert 'class="series"' in svg
    assert 'class="from"' in svg
    assert "TEMP: " + analysis.get("TEMP").verdict in svg  # type: ignore[union-attr]
    assert 'id="analysis-none"' in _render(state, "job.html", views.job_context(state, "j_running"))


def test_a_bug_and_an_unknown_address_get_the_sites_own_pages(state: UiState, caplog: pytest.LogCaptureFixture) -> None:
    def request(path: str, accept: str = "text/html") -> Any:
        return SimpleNamespace(app=SimpleNamespace(state=SimpleNamespace(ui=state)), method="GET",
                               url=SimpleNamespace(path=path), headers={"accept": accept})  # fmt: skip

    missing = web_app.not_found_page(request("/nope<x>"), Exception())
    assert missing.status_code == 404
    assert "There is no page &#39;/nope&lt;x&gt;&#39; here." in bytes(missing.body).decode()
    with caplog.at_level("ERROR", logger="namdrunner.ui"):
        bug = web_app.server_error_page(request("/jobs/x"), RuntimeError("boom"))
    assert bug.status_code == 500
    html = bytes(bug.body).decode()
    assert "Something went wrong on this server" in html
    assert "boom" not in html  # the traceback is for the terminal, not the page
    assert "boom" in caplog.text
    as_json = web_app.server_error_page(request("/jobs/x", "application/json"), RuntimeError("boom"))
    assert as_json.media_type == "application/json"


def test_the_jobs_table_finds_by_name_id_or_slurm_id_and_filters_by_status(state: UiState) -> None:
    state.store.add_job(attrs.evolve(_record("wat_50%_x", JobStatus.RUNNING), job_name="water 50%", slurm_job_id="777"))

    def ids(**params: str) -> set[str]:
        return {r["job_id"] for r in views.jobs_context(state, params)["rows"]}

    assert ids(q="WATER") == {"wat_50%_x"}
    assert ids(q="777") == {"wat_50%_x"}
    assert ids(q="50%") == {"wat_50%_x"}  # % is the user's text, not a wildcard
    assert ids(q="j_%") == set()
    assert ids(q="water_50") == set()  # _ too (as a wildcard it would match "water 50%")
    assert ids(status="Running") == {"j_running", "c_running", "wat_50%_x"}
    assert ids(status="Running", q="c_") == {"c_running"}
    ctx = views.jobs_context(state, {"q": "water 50%", "status": "Running"})
    assert ctx["filters"] == "&q=water+50%25&status=Running"  # kept by sort links, pages, the live refresh
    html = _render(state, "jobs.html", ctx)
    assert 'value="water 50%"' in html
    assert 'data-src="/fragments/jobs?sort=created&dir=desc&page=1&amp;q=water+50%25&amp;status=Running"' in html
    none = _render(state, "_jobs.html", views.jobs_context(state, {"q": "nothing like this"}))
    assert "No job matches" in none
    with pytest.raises(ValidationError, match="status: 'Sleeping': one of Created"):
        views.jobs_context(state, {"status": "Sleeping"})
    with pytest.raises(ValidationError, match="search: at most 200 characters"):
        views.jobs_context(state, {"q": "x" * 201})


def test_the_create_form_shows_every_mistake_at_its_field_in_one_round_trip(
    state: UiState, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import asyncio

    from namdrunner_cli.web import wizards

    monkeypatch.setenv("NAMDRUNNER_CONFIG_DIR", str(tmp_path / "cfg"))
    fields = {"template": "vacuum_optimization_v1", "name": "three mistakes", "cores": "1", "memory_gb": "lots",
              "walltime": "99:99", "steps": "-5", "execution_command": "minimize"}  # fmt: skip
    draft, planned = asyncio.run(wizards.review(state, fields, {}))
    assert not planned
    ctx = wizards.create_context(state, {"draft": draft})
    html = _render(state, "create.html", ctx)
    shown = dict(re.findall(r'<p class="error field-error" data-field="([^"]+)">([^<]+)</p>', html))
    assert shown["memory_gb"] == "Memory (GB): &#39;lots&#39; is not a number"  # the label beside the box
    assert shown["walltime"].startswith("Wall time: &#39;99:99&#39; is not HH:MM:SS")
    assert shown["steps"] == "Steps: -5 is below the minimum 12"
    assert "memory_gb:" not in html  # never the internal key
    assert {"structure", "coordinates", "parameters"} <= set(shown)  # the files not given, too
    assert 'value="lots"' in html  # what was typed is kept


def test_clone_into_a_new_job_keeps_values_and_copies_the_inputs_on_the_cluster(
    state: UiState, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import asyncio

    from namdrunner_cli.web import wizards
    from namdrunner_core.jobs.prepare import plan_job
    from namdrunner_core.profile import load_profile
    from tests.conftest import DATA

    monkeypatch.setenv("NAMDRUNNER_CONFIG_DIR", str(tmp_path / "cfg"))
    tiny = [DATA / "tiny" / n for n in ("tiny.psf", "tiny.pdb", "par_tiny.prm")]
    res = Resources(cores=2, memory_gb=1.5, walltime="00:30:00")
    parent = plan_job(load_profile("loopback"), state.store, name="original", template="vacuum_optimization_v1",
                      assignments=["steps=960", "execution_command=run"], files=tiny,
                      resources=res).plan.record  # fmt: skip
    parent = attrs.evolve(parent, status=JobStatus.COMPLETED)
    state.store.add_job(parent)
    # the form opens filled in like the original, files "kept"
    ctx = wizards.create_context(state, {"from": parent.job_id})
    html = _render(state, "create.html", ctx)
    assert ctx["template"].id == "vacuum_optimization_v1"
    assert 'value="original (copy)"' in html
    assert 'id="f-steps" value="960"' in html
    assert 'id="f-cores" inputmode="numeric" value="2"' in html
    assert "kept: tiny.psf" in html
    assert f'name="from" value="{parent.job_id}"' in html
    # reviewed with one value changed and no upload: the same files, copied from the original's project dir
    fields = {k: v for k, v in ctx["values"].items() if k not in ("structure", "coordinates", "parameters")}
    fields["steps"] = "1920"
    draft, planned = asyncio.run(wizards.review(state, fields, {}))
    assert planned, state.forms[draft]["errors"]
    plan = state.plans[draft].plan
    assert plan.record.template_values["steps"] == 1920
    assert plan.record.template_values["structure"] == "tiny.psf"
    got = plan.record.resources
    assert (got.cores, got.memory_gb, got.walltime) == (2, 1.5, "00:30:00")
    assert plan.remote_inputs == {n.name: f"{parent.project_dir}/input_files/{n.name}" for n in tiny}
    assert plan.files == {}  # nothing uploaded again


def test_an_action_done_is_said_in_a_toast_and_only_in_the_pages_own_words(state: UiState) -> None:
    def shown(done: str) -> str:
        request = SimpleNamespace(app=SimpleNamespace(state=SimpleNamespace(ui=state)), url=None,
                                  query_params={"done": done})  # fmt: skip
        return bytes(web_app.page(request, "job.html", **views.job_context(state, "j_cancelled")).body).decode()  # type: ignore[arg-type]

    assert '<div class="toast" id="toast" role="status">Cancelled.' in shown("cancelled")
    assert 'class="toast"' not in shown("<script>alert(1)</script>")  # an unknown word says nothing
    assert "alert(1)" not in shown("<script>alert(1)</script>")
    assert 'class="toast"' not in shown("")


def test_the_review_says_what_the_job_may_cost(state: UiState, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import asyncio

    from namdrunner_cli.web import wizards
    from tests.conftest import DATA

    monkeypatch.setenv("NAMDRUNNER_CONFIG_DIR", str(tmp_path / "cfg"))

    class Upload:
        def __init__(self, path: Path) -> None:
            self.filename, self._data = path.name, [path.read_bytes()]

        async def read(self, size: int = -1) -> bytes:
            return self._data.pop() if self._data else b""

    fields = {"template": "vacuum_optimization_v1", "name": "costed", "cores": "4", "memory_gb": "2",
              "walltime": "02:30:00", "steps": "120", "execution_command": "minimize"}  # fmt: skip
    uploads = {k: Upload(DATA / "tiny" / n) for k, n in (("structure", "tiny.psf"), ("coordinates", "tiny.pdb"),
                                                         ("parameters", "par_tiny.prm"))}  # fmt: skip
    draft, planned = asyncio.run(wizards.review(state, fields, uploads))  # type: ignore[arg-type]
    assert planned, state.forms[draft]["errors"]
    html = _render(state, "review.html", wizards.review_context(state, draft))
    # loopback bills a core-hour as 1 SU: 4 cores x 2.5 h (2 GB fits in 4 cores' memory)
    assert re.search(r'id="su-estimate">at most 10\.0 SU', html), html
    assert 'href="/create?draft=' in html  # Back to the form, everything kept
    assert "When would it start?" in html  # asked for by a person (a remote command), never on a GET
    from namdrunner_core.start_estimate import parse_start_estimate

    state.estimates[draft] = parse_start_estimate(
        "@@NOW 1796664000 +0000\nsbatch: Job 7 to start at 2026-12-07T19:20:00 using 4 processors on nodes n1 "
        "in partition amilan\n@@RC 0\n"
    )
    html = _render(state, "review.html", wizards.review_context(state, draft))
    assert "Slurm expects it to start in about 2.0 h" in html
    assert "2026-12-07 19:20 cluster time, on n1" in html


def test_the_settings_pages_render(state: UiState, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from namdrunner_core.diagnostics import Detection
    from namdrunner_core.profile_files import profile_text
    from namdrunner_core.slurm.inventory import Difference, Inventory

    monkeypatch.setenv("NAMDRUNNER_CONFIG_DIR", str(tmp_path / "cfg"))
    html = _render(
        state, "profile_edit.html", {"editing": profile_text("loopback"), "text": "port = <x>", "error": "bad"}
    )
    assert "port = &lt;x&gt;" in html  # what was typed, kept and escaped
    differs = [Difference("partitions[amilan].cores_per_node", 64, 16, "amilan: nodes have 16 cores")]
    found = Detection("loopback", "2026-12-07T17:39:47.562606Z", Inventory("u", [], [], [], []), differs, {})
    html = _render(state, "detected.html", {"found": found, "save_as": "loopback", "error": None})
    assert "amilan: nodes have 16 cores" in html
    assert "2026-12-07 17:39:47 UTC" in html


def test_restart_or_run_again_on_other_resources_every_mistake_at_its_field(state: UiState) -> None:
    """The job page's Restart / Run again form: the job's own resources shown (and kept where a field is
    left as it is), three mistakes named at once at their fields before any remote command, and the job
    page again with what was typed."""
    record = state.store.get_job("j_completed")
    assert views.again_plan(record, {"steps": "", "cores": "1", "memory_gb": "2", "walltime": "01:00:00"}) == (
        None,
        record.resources,
    )
    steps, moved = views.again_plan(record, {"steps": "4800", "cores": "4", "memory_gb": "2", "walltime": "04:00:00"})
    assert (steps, moved) == (4800, attrs.evolve(record.resources, cores=4, walltime="04:00:00"))
    typed = {"steps": "many", "cores": "1e999", "memory_gb": "2", "walltime": "01:00:00", "gpus": "two"}
    with pytest.raises(ValidationError) as err:
        views.again_plan(record, typed)
    from namdrunner_core.errors import problems_of

    mistakes = dict(problems_of(err.value))
    assert mistakes == {"steps": "'many' is not a number of steps (1, 2, ...)",
                        "cores": "'1e999' is not an integer", "gpus": "'two' is not an integer"}  # fmt: skip
    from namdrunner_core.profile import load_profile

    with pytest.raises(ValidationError) as err:  # the site's limits in the same round trip as the typing
        views.again_plan(
            record, {**typed, "steps": "x", "cores": "-3", "memory_gb": "1", "gpus": ""}, load_profile("loopback")
        )
    assert dict(problems_of(err.value)) == {"steps": "'x' is not a number of steps (1, 2, ...)",
                                            "cores": "-3 is not a positive whole number"}  # fmt: skip
    ctx = {**views.job_context(state, "j_completed"), "again_values": typed, "again_errors": mistakes}
    html = _render(state, "job.html", ctx)
    shown = dict(re.findall(r'<p class="error field-error" data-field="([^"]+)">([^<]+)</p>', html))
    assert shown == {"steps": "Steps: &#39;many&#39; is not a number of steps (1, 2, ...)",
                     "cores": "Cores: &#39;1e999&#39; is not an integer",
                     "gpus": "GPUs: &#39;two&#39; is not an integer"}  # fmt: skip
    assert '<details id="again-resources" open>' in html  # opened where the mistakes are
    assert 'id="again-cores" inputmode="numeric" value="1e999"' in html  # what was typed is kept
    calm = _render(state, "job.html", views.job_context(state, "j_completed"))
    assert '<details id="again-resources">' in calm
    assert 'id="again-memory" inputmode="decimal" value="2"' in calm  # the job's own resources to start from
    assert 'formaction="/jobs/j_completed/rerun"' in calm
    running = _render(state, "job.html", views.job_context(state, "j_running"))
    assert 'id="again"' not in running  # no restart of a job still running
