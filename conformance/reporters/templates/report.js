/* The report's behaviour: filters and the drill-down. Data comes from the JSON block and is
   only ever inserted with textContent, never parsed as HTML. */
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("report-data").textContent);
  var columns = data.columns, cells = data.cells, rowsData = data.rows;
  var PROBLEMS = { fail: 1, error: 1, crash: 1, xpass: 1 };
  var table = document.getElementById("matrix");
  var caseRows = Array.prototype.slice.call(table.querySelectorAll("tr.case"));
  var groups = Array.prototype.slice.call(table.querySelectorAll("tbody.group"));
  var spanHeads = Array.prototype.slice.call(table.querySelectorAll("th.grp-h[data-span]"));
  var colStyle = document.createElement("style");
  document.head.appendChild(colStyle);

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function byId(id) { return document.getElementById(id); }

  /* ---------------------------------------------------------------- filters */
  var f = {
    search: byId("f-search"), tag: byId("f-tag"), verdict: byId("f-verdict"),
    adapter: byId("f-adapter"), dtype: byId("f-dtype"), device: byId("f-device")
  };

  var tagRows = Array.prototype.slice.call(table.querySelectorAll("tr.tag-row"));
  var summaryRows = Array.prototype.slice.call(document.querySelectorAll("#summary-table tbody tr"));
  var histCards = Array.prototype.slice.call(document.querySelectorAll(".hist-card"));
  var originalSpans = spanHeads.map(function (th) { return th.colSpan; });

  function columnShown(c) {
    return (!f.adapter.value || c.adapter === f.adapter.value) &&
           (!f.dtype.value || c.dtype === f.dtype.value) &&
           (!f.device.value || c.device === f.device.value);
  }
  function verdictMatches(v, verdict) {
    return !verdict || (verdict === "@problem" ? PROBLEMS.hasOwnProperty(v) : v === verdict);
  }

  function applyFilters() {
    var q = f.search.value.trim().toLowerCase();
    var tag = f.tag.value, verdict = f.verdict.value;
    var visibleCol = columns.map(columnShown);
    var css = [];
    visibleCol.forEach(function (v, i) { if (!v) css.push('#matrix [data-col="' + i + '"]{display:none}'); });
    colStyle.textContent = css.join("\n");
    // the implementation headers span only their visible columns
    var start = 0;
    spanHeads.forEach(function (th, k) {
      var span = originalSpans[k], n = 0;
      for (var i = start; i < start + span; i++) if (visibleCol[i]) n++;
      th.colSpan = Math.max(n, 1);
      th.hidden = n === 0;
      start += span;
    });
    var shown = 0, subsShown = {};
    caseRows.forEach(function (tr) {
      var info = rowsData[parseInt(tr.dataset.row, 10)];
      var ok = true;
      if (q && info.search.indexOf(q) < 0) ok = false;
      if (ok && tag && info.tags.indexOf(tag) < 0) ok = false;
      var any = false, match = false;
      var tds = tr.querySelectorAll("td[data-i]");
      for (var k = 0; k < tds.length; k++) {
        var td = tds[k];
        var hit = verdictMatches(td.dataset.v, verdict);
        td.classList.toggle("dim", !hit);
        if (!visibleCol[parseInt(td.dataset.col, 10)]) continue;
        any = true;
        if (hit) match = true;
      }
      ok = ok && any && match;
      tr.hidden = !ok;
      if (ok) { shown++; subsShown[tr.dataset.sub] = true; }
    });
    tagRows.forEach(function (tr) { tr.hidden = !subsShown[tr.dataset.sub]; });
    groups.forEach(function (g) { g.hidden = !g.querySelector("tr.case:not([hidden])"); });
    summaryRows.concat(histCards).forEach(function (e) {
      e.hidden = !columnShown({ adapter: e.dataset.adapter, dtype: e.dataset.dtype, device: e.dataset.device });
    });
    byId("f-count").textContent = shown + " of " + caseRows.length + " cases";
    byId("no-rows").hidden = shown > 0;
  }
  ["search"].forEach(function (k) { f[k].addEventListener("input", applyFilters); });
  ["tag", "verdict", "adapter", "dtype", "device"].forEach(function (k) { f[k].addEventListener("change", applyFilters); });
  byId("filters").addEventListener("reset", function () { setTimeout(applyFilters, 0); });
  byId("filters").addEventListener("submit", function (e) { e.preventDefault(); });

  /* ---------------------------------------------------------------- drill-down */
  var dialog = byId("drill"), body = byId("drill-body");

  function kvTable(pairs) {
    var t = el("table", "kv");
    pairs.forEach(function (p) {
      var tr = el("tr");
      tr.appendChild(el("th", null, p[0]));
      tr.appendChild(el("td", null, p[1]));
      t.appendChild(tr);
    });
    return t;
  }
  function section(title, content) {
    body.appendChild(el("h3", null, title));
    body.appendChild(content);
  }

  function copyText(text, button) {
    function done(ok) {
      button.textContent = ok ? "Copied" : "Copy failed: select the text";
      setTimeout(function () { button.textContent = "Copy"; }, 1800);
    }
    function fallback() {
      var ta = el("textarea");
      ta.value = text;
      ta.setAttribute("readonly", "");
      ta.style.position = "fixed"; ta.style.top = "0"; ta.style.left = "0"; ta.style.opacity = "0";
      dialog.appendChild(ta);  // inside the modal dialog: the rest of the page is inert
      ta.select();
      var ok = false;
      try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
      dialog.removeChild(ta);
      return ok;
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () { done(true); }, function () { done(fallback()); });
    } else {
      done(fallback());
    }
  }

  function openCell(i) {
    var c = cells[i];
    if (!c) return;
    body.textContent = "";
    byId("drill-title").textContent = c.case;
    var sub = byId("drill-sub");
    sub.textContent = "";
    var badge = el("span", "badge v-" + c.verdict, c.verdict);
    sub.appendChild(badge);
    sub.appendChild(document.createTextNode(c.adapter + " · " + c.dtype + " · " + c.device + " — " + c.title));

    var overview = [["API", c.api], ["family", c.family], ["implementation", c.adapter], ["profile", c.profile],
                    ["dtype", c.dtype], ["device", c.device], ["verdict", c.verdict]];
    if (c.original_verdict) overview.push(["verdict before gating", c.original_verdict]);
    if (c.tags.length) overview.push(["tags", c.tags.join(", ")]);
    if (c.location) overview.push(["location", c.location]);
    if (c.output_dtype) overview.push(["output dtype", c.output_dtype]);
    if (c.shape) overview.push(["shape", c.shape]);
    if (c.expected_error) overview.push(["expected error", c.expected_error]);
    section("Cell", kvTable(overview));

    if (c.message) section("Message", el("pre", "msg", c.message));
    if (c.error.length) section("Error raised", kvTable(c.error));
    if (c.baseline_reason) section("Baseline reason", el("pre", "msg", c.baseline_reason));

    if (c.values.length) {
      var t = el("table", "vals");
      var head = el("tr");
      ["#", "truth (exact, mpmath)", "truth rounded to " + (c.output_dtype || c.dtype), "output"].forEach(function (h) { head.appendChild(el("th", null, h)); });
      t.appendChild(head);
      c.values.forEach(function (row) {
        var tr = el("tr");
        tr.appendChild(el("th", null, row[0]));
        tr.appendChild(el("td", "truth", row[1]));
        tr.appendChild(el("td", null, row[2]));
        tr.appendChild(el("td", "out", row[3]));
        t.appendChild(tr);
      });
      section("Values", t);
      if (c.values_more) body.appendChild(el("p", "note", "… and " + c.values_more + " more values in the results file."));
    }
    if (c.errors.length) section("Error vs truth", kvTable(c.errors));
    if (c.tolerance.length) section("Tolerance", kvTable(c.tolerance));
    if (c.documented.length) section("Documented value", kvTable(c.documented));
    if (c.args.length) section("Arguments", kvTable(c.args));
    if (c.inputs.length) section("Inputs (as received, in the case dtype)", kvTable(c.inputs));

    if (c.repro) {
      var bar = el("div", "repro-bar");
      bar.appendChild(el("h3", null, "Reproduce"));
      var btn = el("button", "copy", "Copy");
      btn.type = "button";
      btn.addEventListener("click", function () { copyText(c.repro, btn); });
      bar.appendChild(btn);
      body.appendChild(bar);
      body.appendChild(el("pre", "repro", c.repro));
    }
    if (!dialog.open) dialog.showModal();
    body.scrollTop = 0;
  }

  table.addEventListener("click", function (e) {
    var td = e.target.closest("td[data-i]");
    if (td) openCell(parseInt(td.dataset.i, 10));
  });
  table.addEventListener("keydown", function (e) {
    if (e.key !== "Enter" && e.key !== " ") return;
    var td = e.target.closest("td[data-i]");
    if (td) { e.preventDefault(); openCell(parseInt(td.dataset.i, 10)); }
  });
  byId("drill-close").addEventListener("click", function () { dialog.close(); });
  dialog.addEventListener("click", function (e) { if (e.target === dialog) dialog.close(); });

  applyFilters();
})();
