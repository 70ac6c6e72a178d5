// Progressive enhancement for the mapping form: refresh the preview while typing.
// Without JavaScript the Preview button does the same on the server.
(function () {
  "use strict";
  var form = document.getElementById("mapping-form");
  var section = document.getElementById("preview");
  if (!form || !section || !window.fetch) return;
  var timer = null;
  var inflight = null;  // the preview being fetched, aborted when the form is submitted
  var submitted = false;
  var ruleFields = ["code_system", "code", "topic_id", "scope", "priority", "min_age", "max_age", "gender", "reason"];
  // the context limits: one checkbox per code, sent as a list of the ticked ones
  var limitFields = ["audiences", "tasks", "settings", "languages", "age_groups"];
  // the preview context: form field -> infobutton request parameter (as admin_ui.PREVIEW_CONTEXT)
  var contextParams = {
    preview_age: "age.v.v",
    preview_gender: "patientPerson.administrativeGenderCode.c",
    preview_recipient: "informationRecipient",
    preview_task: "taskContext.c.c",
    preview_setting: "encounter.c.c",
    preview_language: "informationRecipient.languageCode.c",
    preview_age_group: "ageGroup.v.c"
  };

  function value(name) {
    var el = form.elements[name];
    return el && el.value !== undefined ? el.value.trim() : "";
  }

  function ticked(name) {
    return Array.prototype.map.call(
      form.querySelectorAll('input[type=checkbox][name="' + name + '"]:checked'),
      function (el) { return el.value; });
  }

  function list(id, matches) {
    var ol = document.createElement("ol");
    ol.id = id;
    if (!matches.length) {
      var none = document.createElement("li");
      none.className = "none";
      none.textContent = "no topic";
      ol.appendChild(none);
    }
    matches.forEach(function (m) {
      var li = document.createElement("li");
      li.textContent = m.title + " ";
      var small = document.createElement("small");
      small.textContent = "(" + m.topic_id + ")";
      li.appendChild(small);
      ol.appendChild(li);
    });
    return ol;
  }

  // what the preview is for, as the page says it ("For ICD-10-CM D47.9, reader PROV.")
  var contextWords = [["preview_age", "age"], ["preview_gender", "gender"], ["preview_age_group", "age group"],
    ["preview_recipient", "reader"], ["preview_language", "language"], ["preview_setting", "setting"],
    ["preview_task", "task"]];

  function describe() {
    var text = "For " + value("code_system") + " " + value("code");
    contextWords.forEach(function (pair) {
      if (value(pair[0])) text += ", " + pair[1] + " " + value(pair[0]);
    });
    return text + ".";
  }

  function show(data) {
    var hint = document.getElementById("preview-for");
    if (hint) hint.textContent = describe();
    ["preview-now", "preview-after"].forEach(function (id, i) {
      var old = document.getElementById(id);
      var fresh = list(id, i ? data.after : data.now);
      if (old) { old.replaceWith(fresh); }
    });
    var verdict = document.getElementById("preview-verdict");
    if (verdict) verdict.textContent = data.changed ? "The answer changes." : "The answer stays the same.";
  }

  function refresh() {
    if (submitted || !value("code") || !value("topic_id")) return;
    var rule = {};
    ruleFields.forEach(function (name) { rule[name] = value(name); });
    limitFields.forEach(function (name) { rule[name] = ticked(name); });
    var id = form.getAttribute("data-rule-id");
    var change = id ? { op: "update", id: parseInt(id, 10), rule: rule } : { op: "add", rule: rule };
    var params = new URLSearchParams();
    params.set("mainSearchCriteria.v.c", value("code"));
    params.set("mainSearchCriteria.v.cs", value("code_system"));
    Object.keys(contextParams).forEach(function (name) {
      if (value(name)) params.set(contextParams[name], value(name));
    });
    if (value("preview_age_group")) params.set("ageGroup.v.cs", "2.16.840.1.113883.6.177");
    params.set("with", JSON.stringify(change));
    if (inflight) inflight.abort();
    inflight = window.AbortController ? new AbortController() : null;
    fetch(form.getAttribute("data-preview-url") + "?" + params.toString(),
          { credentials: "same-origin", signal: inflight ? inflight.signal : undefined })
      .then(function (r) { return r.json().then(function (body) { return { ok: r.ok, body: body }; }); })
      .then(function (res) {
        var verdict = document.getElementById("preview-verdict");
        if (res.ok) {
          if (!document.getElementById("preview-now")) return;  // first preview: use the button
          show(res.body);
        } else if (verdict) {
          var errors = res.body.errors || [{ message: res.body.detail }];
          verdict.textContent = errors.map(function (e) { return (e.field ? e.field + ": " : "") + e.message; }).join("; ");
        }
      })
      .catch(function () {});
  }

  function later() {
    clearTimeout(timer);
    timer = setTimeout(refresh, 300);
  }
  form.addEventListener("input", later);
  form.addEventListener("change", later);  // checkboxes and selects
  // Once saved, a preview of "add this rule" would race the save and report it as a duplicate.
  form.addEventListener("submit", function () {
    submitted = true;
    clearTimeout(timer);
    if (inflight) inflight.abort();
  });
})();
