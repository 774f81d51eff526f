"""Results files never record absolute machine paths; committed figures share one plotly.js."""
from __future__ import annotations

import json
import re
import subprocess

from predgen_common.io import portable_path, portable_text, repo_root, write_results_json

# "/" + a machine-specific top folder, not inside a URL or a relative path
TMP = "/" + "tmp"  # spelled apart, so that this file passes its own grep
MACHINE_PATH = re.compile(r"(^|[^A-Za-z0-9_:/.~-])/(work|home|tmp|Users|root|mnt|scratch|private|var/folders)/")


def test_no_tracked_file_holds_an_absolute_machine_path():
    files = subprocess.run(["git", "ls-files"], cwd=repo_root(), capture_output=True, text=True, check=True).stdout
    offenders = []
    for name in files.split():
        if name.endswith("plotly.min.js"):
            continue  # the plotly.js library itself
        try:
            text = (repo_root() / name).read_text(encoding="utf-8")
        except (UnicodeDecodeError, FileNotFoundError, IsADirectoryError):
            continue
        offenders += [f"{name}: {m.group(0).strip()}" for m in MACHINE_PATH.finditer(text)][:1]
    assert not offenders, offenders[:10]


def test_portable_path_forms(monkeypatch, tmp_path):
    repo = repo_root()
    assert portable_path(repo / "runs" / "pg") == "runs/pg"
    assert portable_path(repo.parent / "shared" / "data") == "../shared/data"
    assert portable_path(f"{TMP}/scratch-1/sst2-predgen") == "sst2-predgen"
    assert portable_path("/elsewhere/clone/runs/pipeline/models/predgen") == "runs/pipeline/models/predgen"
    assert portable_path("smollm2-135m") == "smollm2-135m" and portable_path("runs/pg") == "runs/pg"
    monkeypatch.setenv("MI_TOOLKIT_DATA", str(tmp_path))
    assert portable_path(tmp_path / "sst2" / "train.tsv") == "$MI_TOOLKIT_DATA/sst2/train.tsv"
    text = f"SST-2 from {TMP}/x/runs/a; see https://arxiv.org/abs/2502.17817, /usr/bin/time, and/or 1/2/3"
    assert portable_text(text) == "SST-2 from runs/a; see https://arxiv.org/abs/2502.17817, /usr/bin/time, and/or 1/2/3"


def test_results_json_writer(tmp_path):
    out = write_results_json(tmp_path / "r.json", {"checkpoint": f"{TMP}/a/runs/pg", "mi": 0.123456789,
                                                   "paths": [f"{TMP}/b/c"], "n": 3})
    assert json.loads(out.read_text()) == {"checkpoint": "runs/pg", "mi": 0.123456789, "paths": ["c"], "n": 3}


def test_pages_inline_plotly_or_share_one_copy_beside_them(tmp_path, monkeypatch):
    import plotly.graph_objects as go
    from plotly.offline import get_plotlyjs

    from mi_toolkit.reports.html import PLOTLY_FILE, page, write_page

    monkeypatch.delenv("MI_PLOTLYJS", raising=False)
    text = page("t", [("s", f"<p>model {TMP}/q/runs/pg</p>")], [(0, go.Figure(go.Bar(x=[1], y=[2])))])
    inline = write_page(tmp_path / "user" / "a.html", text).read_text()
    assert get_plotlyjs() in inline and "runs/pg" in inline and f"{TMP}/" not in inline
    assert not (tmp_path / "user" / PLOTLY_FILE).exists()  # a page written for a user stands alone
    for name in ("a.html", "b.html"):
        shared = write_page(tmp_path / "committed" / name, text, plotlyjs="beside").read_text()
        assert get_plotlyjs() not in shared and f'src="{PLOTLY_FILE}"' in shared and len(shared) < 100_000
    assert (tmp_path / "committed" / PLOTLY_FILE).read_text() == get_plotlyjs()
