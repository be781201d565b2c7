"""The sample explorer in a real headless Chromium (Debian's, driven by Playwright), opened from file:// as a
person opens it: a deep link, the answers side by side with their diff and the page image, the filters and
the address that keeps them, a link from report.html. One browser start for every check.

Chromium missing is a failure, not a skip (.ci/run installs it)."""

from __future__ import annotations

from urllib.parse import parse_qs

from tests.support.browser import chromium, chromium_path
from tests.support.synthetic_runs import make_config, write_run

XSS = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'
THINK = "<think>the number is on the second line</think>INV-1005"


def test_explorer_in_chromium(tmp_path):
    chromium_path()  # fails with what to install where there is no Chromium
    config = make_config(tmp_path, n=12, datasets=("docs-vqa", "docs-ocr"))
    run = write_run(
        tmp_path / "results",
        "r1",
        config,
        {"alpha": {1, 2}, "beta": {2}, "gamma": set()},
        datasets=("docs-vqa", "docs-ocr"),
        n=12,
        overrides={"alpha": {3: XSS}, "beta": {5: THINK}},
        errors={"gamma": {7: "ServerError: 503 overloaded"}},
    )
    base = (run.root / "samples.html").as_uri()
    problems: list[str] = []
    with chromium() as browser:
        page = browser.new_page()
        page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)

        # ---- a deep link opens one sample: every model's answer, side by side
        page.goto(base + "#sample=s002&dataset=docs-ocr")
        cards = page.locator('.answer[data-sample-id="s002"]')
        cards.first.wait_for(timeout=15_000)
        assert cards.evaluate_all("cs => cs.map(c => c.dataset.model)") == ["alpha", "beta", "gamma"]
        alpha = page.locator('.answer[data-sample-id="s002"][data-model="alpha"]')
        assert (
            alpha.locator(".prediction").inner_text()
            == "1NV0ICE No 1002 dated 2024-03-12 tota1 14.50 EUR pald"
        )
        # the character diff against the reference: what the answer has instead of what the reference has
        assert alpha.locator(".diff ins").all_inner_texts() == ["1", "0", "1", "l"]
        assert alpha.locator(".diff del").all_inner_texts() == ["I", "O", "l", "i"]
        assert "same as reference 1" in page.locator('.answer[data-model="gamma"]').inner_text()
        assert alpha.locator('tr[data-metric="cer"] td').inner_text() == "0.075"
        assert page.locator("pre.prompt").inner_text().startswith("Answer the question.")
        assert page.locator("pre.reference").all_inner_texts() == [
            "INVOICE No 1002 dated 2024-03-12 total 14.50 EUR paid"
        ]
        # the page image at full resolution, and its zoom
        image = page.locator("img.page")
        page.wait_for_function("document.querySelector('img.page').naturalWidth > 0")
        assert image.evaluate("i => [i.naturalWidth, i.naturalHeight]") == [620, 820]
        page.get_by_role("button", name="100 %").click()
        assert image.evaluate("i => i.getBoundingClientRect().width") == 620
        assert page.locator("tr.row.sel").get_attribute("data-row-sample") == "s002"

        # ---- filters: the list changes, and the address keeps them
        page.locator('input[name="failed"]').check()
        assert page.locator("tr.row").evaluate_all("rs => rs.map(r => r.dataset.rowSample)") == ["s007"]
        assert "✗" in page.locator("tr.row").inner_text()
        assert parse_qs(page.evaluate("location.hash.slice(1)"))["failed"] == ["1"]
        assert page.evaluate("window.VLMHB.lastFilterMs") < 300
        page.locator('input[name="failed"]').uncheck()
        page.locator('input[name="disagree"]').fill("0.05")
        page.locator('input[name="disagree"]').dispatch_event("change")
        page.select_option('select[name="sort"]', "worst")
        rows = page.locator("tr.row").evaluate_all("rs => rs.map(r => r.dataset.rowSample)")
        # worst first on the mean CER of the models shown: the markup answer (CER above 1), the failed request
        # (1 for gamma), the bare answer to a page's text, then the few wrong characters
        assert rows == ["s003", "s007", "s005", "s002", "s001"]
        assert page.locator("#count").inner_text() == "5 of 12 samples"
        # clicking a row opens its sample, and the address names it
        page.locator('tr.row[data-row-sample="s001"]').click()
        page.locator('.answer[data-sample-id="s001"]').first.wait_for()
        shared = page.url
        assert parse_qs(shared.split("#", 1)[1]) == {
            "dataset": ["docs-ocr"],
            "sample": ["s001"],
            "disagree": ["0.05"],
            "sort": ["worst"],
        }

        # ---- the address pasted elsewhere: the same view in a fresh page
        other = browser.new_page()
        other.goto(shared)
        other.locator('.answer[data-sample-id="s001"]').first.wait_for()
        assert other.locator("#count").inner_text() == "5 of 12 samples"
        assert other.locator('input[name="disagree"]').input_value() == "0.05"
        other.close()

        # ---- one model only; model output is text, never markup; a failed request shows its error
        page.goto(base + "#dataset=docs-vqa&models=alpha&sample=s003")
        page.locator('.answer[data-sample-id="s003"]').first.wait_for()
        assert page.locator(".answer").count() == 1
        assert page.locator('.answer[data-model="alpha"] .prediction').inner_text() == XSS
        assert page.evaluate("typeof window.__pwned") == "undefined"
        page.goto(base + "#dataset=docs-vqa&sample=s007")
        page.locator('.answer[data-sample-id="s007"][data-model="gamma"] .error').wait_for()
        assert (
            "ServerError: 503 overloaded" in page.locator('.answer[data-model="gamma"] .error').inner_text()
        )
        # reasoning removed before scoring is shown folded
        page.goto(base + "#dataset=docs-vqa&sample=s005")
        beta = page.locator('.answer[data-sample-id="s005"][data-model="beta"]')
        beta.wait_for()
        assert beta.locator(".prediction").inner_text() == "INV-1005"
        folded = beta.locator("details.reasoning")
        assert folded.evaluate("d => d.open") is False
        folded.locator("summary").click()
        assert folded.locator("pre").inner_text() == THINK

        # ---- report.html's worst samples open in the explorer
        page.goto((run.root / "report.html").as_uri())
        link = page.locator("#worst ~ ul.worst a").first
        target = link.inner_text()
        link.click()
        page.locator(f'.answer[data-sample-id="{target}"]').first.wait_for()
        assert page.url.split("#")[0].endswith("/samples.html")
    assert problems == []
